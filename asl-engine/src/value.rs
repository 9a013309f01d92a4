//! Helpers on JSON values: equality with numbers compared by value, number normalisation, type names.

use serde_json::{Number, Value};

/// Deep equality where numbers compare by value (`1` equals `1.0`).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_eq(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn num_eq(x: &Number, y: &Number) -> bool {
    match (x.as_i64(), y.as_i64()) {
        (Some(a), Some(b)) => a == b,
        _ => match (x.as_u64(), y.as_u64()) {
            (Some(a), Some(b)) => a == b,
            _ => x.as_f64() == y.as_f64(),
        },
    }
}

/// A number as a JSON value (kept as parsed).
pub(crate) fn number_value(n: Number) -> Value {
    Value::Number(n)
}

/// A float as JSON: integral values become integers (as JSONata and AWS print them).
pub(crate) fn f64_value(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        Value::from(f as i64)
    } else {
        Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// The JSON type name AWS uses in messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether `v` serialized as compact JSON is longer than `limit` bytes. A cheap upper bound first
/// (no number formatting, every string byte counted as a six-byte escape); only when that bound
/// is over the limit is the text counted exactly, without building it, up to the first byte past
/// the limit.
pub(crate) fn json_len_exceeds(v: &Value, limit: usize) -> bool {
    let mut bound = 0;
    if !len_bound_exceeds(v, &mut bound, limit) {
        return false;
    }
    json_len_exact_exceeds(v, limit)
}

/// Adds an upper bound of `v`'s compact JSON length to `acc`; true once `acc` is over `cap`.
fn len_bound_exceeds(v: &Value, acc: &mut usize, cap: usize) -> bool {
    // Longest texts: `false`, an f64 such as -1.7976931348623157e308, `\uXXXX` per byte.
    *acc += match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 24,
        Value::String(s) => 6 * s.len() + 2,
        Value::Array(a) => 2 + a.len(),
        Value::Object(m) => 2 + m.len(),
    };
    if *acc > cap {
        return true;
    }
    match v {
        Value::Array(a) => a.iter().any(|x| len_bound_exceeds(x, acc, cap)),
        Value::Object(m) => m.iter().any(|(k, x)| {
            *acc += 6 * k.len() + 3;
            *acc > cap || len_bound_exceeds(x, acc, cap)
        }),
        _ => false,
    }
}

fn json_len_exact_exceeds(v: &Value, limit: usize) -> bool {
    struct Counter {
        n: usize,
        limit: usize,
    }
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.n += buf.len();
            if self.n > self.limit {
                return Err(std::io::Error::other("over the limit"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Counter { n: 0, limit };
    serde_json::to_writer(&mut c, v).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The bound never says "fits" for a text over the limit, and the answer is exact either way.
    #[test]
    fn payload_length_is_checked_exactly() {
        let values = [
            json!(null),
            json!({"a": [1, 2.5, "x\"y", {"b": null}], "é": true}),
            json!("\u{1}".repeat(40)),
            Value::Array(vec![json!("abc"); 30]),
            json!(-1.7976931348623157e308),
        ];
        for v in values {
            let len = serde_json::to_string(&v).unwrap().len();
            for limit in [0, len.saturating_sub(1), len, len + 1, len * 7] {
                assert_eq!(json_len_exceeds(&v, limit), len > limit, "{v} at {limit}");
            }
        }
    }
}
