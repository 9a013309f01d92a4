//! Typed Rust builder and serde model for the Amazon States Language (ASL).
//!
//! - [`model`]: the ASL document as Rust types; parses and re-emits any valid document.
//! - [`validate`]: every static rule of the ASL specification, with messages naming the state and field.

pub mod model;
pub mod validate;

pub use model::StateMachine;
