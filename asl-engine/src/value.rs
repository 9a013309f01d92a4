//! Helpers on JSON values: equality with numbers compared by value, number normalisation, type names.

use serde_json::{Map, Number, Value};

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
                    .all(|(k, v)| member(y, k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Objects of at most this many members are scanned for a key rather than looked up.
const SCAN_MEMBERS: usize = 8;

/// The member `key` of `map`. With `preserve-order`, an object is an index map whose lookup
/// hashes the key with SipHash: a payload object is small, and comparing its few keys costs less
/// (the interpreter looks up a member on almost every path it reads). A sorted map (the default)
/// is searched as it is.
#[inline]
pub(crate) fn member<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if cfg!(feature = "preserve-order") && map.len() <= SCAN_MEMBERS {
        map.iter().find_map(|(k, v)| (k == key).then_some(v))
    } else {
        map.get(key)
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

/// Whether `v` serialized as compact JSON is longer than `limit` bytes, in up to three passes, each
/// only when the one before found the value too long: a walk with a quick upper bound (every
/// string byte counted as a six-byte escape, every number as the longest float), a walk that counts
/// the text's length exactly except for floats, and the exact count of the text's bytes (without
/// building it, up to the first byte past the limit).
pub(crate) fn json_len_exceeds(v: &Value, limit: usize) -> bool {
    len_bound_exceeds(v, &mut 0, limit, &|s| 6 * s.len() + 2, &|_| 24)
        && len_bound_exceeds(v, &mut 0, limit, &escaped_len, &number_len_bound)
        && json_len_exact_exceeds(v, limit)
}

/// Adds an upper bound of `v`'s compact JSON length to `acc`, with `string_len` and `number_len`
/// bounding (or counting) the length of a string literal and of a number; true once `acc` is over
/// `cap`.
fn len_bound_exceeds<S, N>(
    v: &Value,
    acc: &mut usize,
    cap: usize,
    string_len: &S,
    number_len: &N,
) -> bool
where
    S: Fn(&str) -> usize,
    N: Fn(&serde_json::Number) -> usize,
{
    *acc += match v {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => number_len(n),
        Value::String(s) => string_len(s),
        // Brackets and the commas between items.
        Value::Array(a) => 2 + a.len().saturating_sub(1),
        Value::Object(m) => 2 + m.len().saturating_sub(1),
    };
    if *acc > cap {
        return true;
    }
    match v {
        Value::Array(a) => a
            .iter()
            .any(|x| len_bound_exceeds(x, acc, cap, string_len, number_len)),
        Value::Object(m) => m.iter().any(|(k, x)| {
            *acc += string_len(k) + 1;
            *acc > cap || len_bound_exceeds(x, acc, cap, string_len, number_len)
        }),
        _ => false,
    }
}

/// The length of an integer's text; for a float, its longest (`-1.7976931348623157e308`).
fn number_len_bound(n: &serde_json::Number) -> usize {
    let digits = |mut x: u64| {
        let mut d = 1;
        while x >= 10 {
            x /= 10;
            d += 1;
        }
        d
    };
    if let Some(u) = n.as_u64() {
        digits(u)
    } else if let Some(i) = n.as_i64() {
        1 + digits(i.unsigned_abs())
    } else {
        24
    }
}

/// The length of `s` as a JSON string literal, as serde_json writes it: quoted, `"` and `\`
/// and the control characters escaped (`\n`-style where JSON has one, `\u00XX` otherwise), the
/// rest as is.
fn escaped_len(s: &str) -> usize {
    let extra: usize = s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | 0x08 | 0x09 | 0x0A | 0x0C | 0x0D => 1,
            0x00..=0x1F => 5,
            _ => 0,
        })
        .sum();
    s.len() + 2 + extra
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
            json!([
                0,
                9,
                10,
                u64::MAX,
                i64::MIN,
                -1,
                -10,
                1.5e-7,
                true,
                false,
                null
            ]),
            json!({"ctl": "\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}", "q": "\"\\/", "ü€😀": "ü€😀"}),
            json!([[], {}, [[]], {"": {}}]),
        ];
        for v in values {
            let len = serde_json::to_string(&v).unwrap().len();
            for limit in [0, len.saturating_sub(1), len, len + 1, len * 7] {
                assert_eq!(json_len_exceeds(&v, limit), len > limit, "{v} at {limit}");
            }
        }
    }

    /// Without floats the walk counts the text's exact length, so the exact count (which
    /// serializes) only runs for payloads with floats near the limit.
    #[test]
    fn the_walk_is_exact_without_floats() {
        let values = [
            json!({"a": [1, -20, "x\"y", {"b": null}], "é": true, "f": false}),
            json!({"ctl": "\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}", "q": "\"\\/", "ü€😀": "ü€😀"}),
            json!([u64::MAX, i64::MIN, 0, [], {}, [[]], {"": {}}]),
        ];
        for v in values {
            let mut counted = 0;
            assert!(!len_bound_exceeds(
                &v,
                &mut counted,
                usize::MAX,
                &escaped_len,
                &number_len_bound
            ));
            assert_eq!(counted, serde_json::to_string(&v).unwrap().len(), "{v}");
        }
    }
}
