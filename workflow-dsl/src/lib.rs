//! Typed Rust builder and serde model for the Amazon States Language (ASL).
//!
//! - [`model`]: the ASL document as Rust types; parses and re-emits any valid document.

pub mod model;

pub use model::StateMachine;
