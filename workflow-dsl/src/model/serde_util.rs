//! Serde helpers that keep "absent" and "explicitly null" apart, so documents round-trip exactly.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// `"Field": null` becomes `Some(None)`; an absent field stays `None` (with `#[serde(default)]`).
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `"Field": null` becomes `Some(Value::Null)`; an absent field stays `None` (with `#[serde(default)]`).
pub fn present<'de, D>(deserializer: D) -> Result<Option<Value>, D::Error>
where
    D: Deserializer<'de>,
{
    Value::deserialize(deserializer).map(Some)
}
