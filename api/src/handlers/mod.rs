//! Route handlers: each takes the ports it needs and an [`ApiRequest`](crate::http::ApiRequest)
//! and returns a response or an [`ApiError`](crate::error::ApiError).

pub mod auth;
pub mod catalog;
pub mod orders;
pub mod paging;
pub mod products;
pub mod upload;
