//! Typed Rust builder and serde model for the Amazon States Language (ASL).
