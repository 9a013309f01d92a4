//! Workflow definitions of the project, one module per workflow.

pub mod order_processing;

pub use order_processing::order_processing;
