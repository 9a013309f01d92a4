#![warn(missing_docs)]
//! Typed Rust builder and serde model for the Amazon States Language (ASL).
//!
//! - [`model`]: the ASL document as Rust types; parses and re-emits any valid document.
//! - [`step`]: a Task step as one Rust item ([`step::Step`]): contract and handler.
//! - [`builder`], [`typed`]: a typed builder of workflows ([`builder::workflow`], [`typed::TaskStep`]).
//! - [`integrations`], [`intrinsics`]: optimized service integrations and intrinsic functions.
//! - [`paths`], [`schema`]: path checking against the JSON Schema of the data at each state.
//! - [`emit`], [`mermaid`]: checked emission of canonical JSON and a Mermaid flowchart.
//! - [`vars`]: typed workflow variables ([`vars::Var`]).
//! - [`validate`]: every static rule of the ASL specification, with messages naming the state and field.

pub mod builder;
pub mod emit;
pub mod integrations;
pub mod intrinsics;
mod jsonata;
pub mod mermaid;
pub mod model;
pub mod paths;
pub mod schema;
pub mod step;
pub mod typed;
pub mod validate;
pub mod vars;

pub use model::StateMachine;
