//! The 18 intrinsic functions of Amazon States Language (`States.Format(...)`, ...), parsed once and
//! evaluated per use, with AWS's argument rules
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html>).

use std::borrow::Cow;

use base64::Engine as _;
use rand::{Rng, SeedableRng};
use serde_json::{Number, Value};

use crate::error::{names, to_json, Thrown};
use crate::jsonpath::Path;
use crate::value::{json_eq, number_value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Func {
    fn from_name(n: &str) -> Option<Func> {
        Some(match n {
            "Format" => Func::Format,
            "StringToJson" => Func::StringToJson,
            "JsonToString" => Func::JsonToString,
            "Array" => Func::Array,
            "ArrayPartition" => Func::ArrayPartition,
            "ArrayContains" => Func::ArrayContains,
            "ArrayRange" => Func::ArrayRange,
            "ArrayGetItem" => Func::ArrayGetItem,
            "ArrayLength" => Func::ArrayLength,
            "ArrayUnique" => Func::ArrayUnique,
            "Base64Encode" => Func::Base64Encode,
            "Base64Decode" => Func::Base64Decode,
            "Hash" => Func::Hash,
            "JsonMerge" => Func::JsonMerge,
            "MathRandom" => Func::MathRandom,
            "MathAdd" => Func::MathAdd,
            "StringSplit" => Func::StringSplit,
            "UUID" => Func::Uuid,
            _ => return None,
        })
    }

    /// (min, max) argument counts.
    fn arity(self) -> (usize, usize) {
        match self {
            Func::Format => (1, usize::MAX),
            Func::Array => (0, usize::MAX),
            Func::StringToJson
            | Func::JsonToString
            | Func::ArrayLength
            | Func::ArrayUnique
            | Func::Base64Encode
            | Func::Base64Decode => (1, 1),
            Func::ArrayPartition
            | Func::ArrayContains
            | Func::ArrayGetItem
            | Func::Hash
            | Func::MathAdd
            | Func::StringSplit => (2, 2),
            Func::ArrayRange | Func::JsonMerge => (3, 3),
            Func::MathRandom => (2, 3),
            Func::Uuid => (0, 0),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Func::Format => "States.Format",
            Func::StringToJson => "States.StringToJson",
            Func::JsonToString => "States.JsonToString",
            Func::Array => "States.Array",
            Func::ArrayPartition => "States.ArrayPartition",
            Func::ArrayContains => "States.ArrayContains",
            Func::ArrayRange => "States.ArrayRange",
            Func::ArrayGetItem => "States.ArrayGetItem",
            Func::ArrayLength => "States.ArrayLength",
            Func::ArrayUnique => "States.ArrayUnique",
            Func::Base64Encode => "States.Base64Encode",
            Func::Base64Decode => "States.Base64Decode",
            Func::Hash => "States.Hash",
            Func::JsonMerge => "States.JsonMerge",
            Func::MathRandom => "States.MathRandom",
            Func::MathAdd => "States.MathAdd",
            Func::StringSplit => "States.StringSplit",
            Func::Uuid => "States.UUID",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A literal; for strings, `raw` keeps the text with its escapes (States.Format needs `\{`).
    Literal {
        value: Value,
        raw: Option<String>,
    },
    Path(Path),
    Call(Box<Call>),
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub func: Func,
    pub args: Vec<Arg>,
    text: String,
}

impl Call {
    /// True when `s` looks like an intrinsic function call.
    pub fn looks_like(s: &str) -> bool {
        s.trim_start().starts_with("States.")
    }

    pub fn parse(text: &str) -> Result<Call, String> {
        let mut p = P {
            s: text.as_bytes(),
            t: text,
            i: 0,
        };
        p.ws();
        let call = p.call()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!(
                "unexpected text after the function call in '{text}'"
            ));
        }
        Ok(call)
    }

    /// Evaluates the call; `resolve` looks a path up (None when it matches nothing).
    pub fn eval(
        &self,
        resolve: &dyn Fn(&Path) -> Result<Option<Value>, Thrown>,
    ) -> Result<Value, Thrown> {
        let mut args = Vec::with_capacity(self.args.len());
        for a in &self.args {
            args.push(match a {
                Arg::Literal { value, .. } => Cow::Borrowed(value),
                Arg::Path(p) => match resolve(p)? {
                    Some(v) => Cow::Owned(v),
                    None => {
                        return Err(Thrown::runtime(
                            names::RUNTIME,
                            format!(
                                "The JsonPath argument for the field '{}' could not be found in the input",
                                p.as_str()
                            ),
                        ))
                    }
                },
                Arg::Call(c) => Cow::Owned(c.eval(resolve)?),
            });
        }
        self.apply(&args)
    }

    fn fail(&self, msg: impl std::fmt::Display) -> Thrown {
        Thrown::runtime(
            names::INTRINSIC_FAILURE,
            format!("Invalid arguments in {}: {msg}", self.func.name()),
        )
    }

    fn int_arg(&self, v: &Value, what: &str) -> Result<i64, Thrown> {
        match v {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(i)
                } else {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    if f.fract() == 0.0 && f.is_finite() {
                        Ok(f as i64)
                    } else {
                        Err(self.fail(format!("the {what} must be an integer, but was {n}")))
                    }
                }
            }
            other => Err(self.fail(format!(
                "the {what} must be an integer, but was {}",
                to_json(other)
            ))),
        }
    }

    fn str_arg<'v>(&self, v: &'v Value, what: &str) -> Result<&'v str, Thrown> {
        v.as_str().ok_or_else(|| {
            self.fail(format!(
                "the {what} must be a string, but was {}",
                to_json(v)
            ))
        })
    }

    fn array_arg<'v>(&self, v: &'v Value, what: &str) -> Result<&'v Vec<Value>, Thrown> {
        v.as_array().ok_or_else(|| {
            self.fail(format!(
                "the {what} must be an array, but was {}",
                to_json(v)
            ))
        })
    }

    fn apply(&self, args: &[Cow<'_, Value>]) -> Result<Value, Thrown> {
        let (min, max) = self.func.arity();
        if args.len() < min || args.len() > max {
            return Err(self.fail(format!(
                "expected {} argument(s), got {}",
                if min == max {
                    min.to_string()
                } else if max == usize::MAX {
                    format!("at least {min}")
                } else {
                    format!("{min} to {max}")
                },
                args.len()
            )));
        }
        let a = |i: usize| -> &Value { &args[i] };
        Ok(match self.func {
            Func::Format => {
                let template = match &self.args[0] {
                    Arg::Literal {
                        raw: Some(raw), ..
                    } => raw.clone(),
                    _ => self.str_arg(a(0), "format string")?.to_string(),
                };
                let mut out = String::new();
                let mut next = 1;
                let mut chars = template.chars().peekable();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                out.push(n);
                            }
                        }
                        '{' if chars.peek() == Some(&'}') => {
                            chars.next();
                            let Some(v) = args.get(next) else {
                                return Err(self.fail(
                                    "the number of arguments does not match the number of placeholders",
                                ));
                            };
                            next += 1;
                            format_arg(v.as_ref(), &mut out);
                        }
                        c => out.push(c),
                    }
                }
                if next != args.len() {
                    return Err(self.fail(
                        "the number of arguments does not match the number of placeholders",
                    ));
                }
                Value::String(out)
            }
            Func::StringToJson => {
                let s = self.str_arg(a(0), "argument")?;
                let t = s.trim();
                if t.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(t)
                        .map_err(|e| self.fail(format!("the string is not valid JSON: {e}")))?
                }
            }
            Func::JsonToString => Value::String(to_json(a(0))),
            Func::Array => Value::Array(args.iter().map(|v| v.as_ref().clone()).collect()),
            Func::ArrayPartition => {
                let arr = self.array_arg(a(0), "first argument")?;
                let size = self.int_arg(a(1), "chunk size")?;
                if size <= 0 {
                    return Err(self.fail(format!("the chunk size must be positive, but was {size}")));
                }
                Value::Array(
                    arr.chunks(size as usize)
                        .map(|c| Value::Array(c.to_vec()))
                        .collect(),
                )
            }
            Func::ArrayContains => {
                let arr = self.array_arg(a(0), "first argument")?;
                Value::Bool(arr.iter().any(|v| json_eq(v, a(1))))
            }
            Func::ArrayRange => {
                let start = self.int_arg(a(0), "start")?;
                let end = self.int_arg(a(1), "end")?;
                let step = self.int_arg(a(2), "step")?;
                if step == 0 {
                    return Err(self.fail("the step must not be 0"));
                }
                let mut out = Vec::new();
                let mut i = start;
                while (step > 0 && i <= end) || (step < 0 && i >= end) {
                    out.push(Value::from(i));
                    if out.len() > 1000 {
                        return Err(self.fail("the range holds more than 1000 items"));
                    }
                    i += step;
                }
                Value::Array(out)
            }
            Func::ArrayGetItem => {
                let arr = self.array_arg(a(0), "first argument")?;
                let idx = self.int_arg(a(1), "index")?;
                if idx < 0 || idx as usize >= arr.len() {
                    return Err(self.fail(format!("the index {idx} is out of bounds")));
                }
                arr[idx as usize].clone()
            }
            Func::ArrayLength => Value::from(self.array_arg(a(0), "argument")?.len()),
            Func::ArrayUnique => {
                let arr = self.array_arg(a(0), "argument")?;
                let mut out: Vec<Value> = Vec::with_capacity(arr.len());
                for v in arr {
                    if !out.iter().any(|o| json_eq(o, v)) {
                        out.push(v.clone());
                    }
                }
                Value::Array(out)
            }
            Func::Base64Encode => {
                let s = self.str_arg(a(0), "argument")?;
                if s.len() > 10_000 {
                    return Err(self.fail("the input exceeds 10000 characters"));
                }
                Value::String(base64::engine::general_purpose::STANDARD.encode(s.as_bytes()))
            }
            Func::Base64Decode => {
                let s = self.str_arg(a(0), "argument")?;
                if s.len() > 10_000 {
                    return Err(self.fail("the input exceeds 10000 characters"));
                }
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s.as_bytes())
                    .map_err(|e| self.fail(format!("the input is not valid Base64: {e}")))?;
                Value::String(String::from_utf8_lossy(&bytes).into_owned())
            }
            Func::Hash => {
                let data = match a(0) {
                    Value::String(s) => s.clone(),
                    other => to_json(other),
                };
                let algo = self.str_arg(a(1), "algorithm")?;
                Value::String(hash_hex(&data, algo).ok_or_else(|| {
                    self.fail(format!(
                        "the hash algorithm '{algo}' is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
                    ))
                })?)
            }
            Func::JsonMerge => {
                let (Some(l), Some(r)) = (a(0).as_object(), a(1).as_object()) else {
                    return Err(self.fail("the first two arguments must be JSON objects"));
                };
                match a(2) {
                    Value::Bool(false) => {}
                    Value::Bool(true) => {
                        return Err(self.fail("deep merging (true) is not supported"));
                    }
                    other => {
                        return Err(self.fail(format!(
                            "the third argument must be a boolean, but was {}",
                            to_json(other)
                        )))
                    }
                }
                let mut m = l.clone();
                for (k, v) in r {
                    m.insert(k.clone(), v.clone());
                }
                Value::Object(m)
            }
            Func::MathRandom => {
                let start = self.int_arg(a(0), "start")?;
                let end = self.int_arg(a(1), "end")?;
                if end <= start {
                    return Err(self.fail("the end must be greater than the start"));
                }
                let n = if args.len() == 3 {
                    let seed = self.int_arg(a(2), "seed")?;
                    rand::rngs::StdRng::seed_from_u64(seed as u64).random_range(start..end)
                } else {
                    rand::rng().random_range(start..end)
                };
                Value::from(n)
            }
            Func::MathAdd => {
                // AWS rounds each operand like Java's Math.round (half up) before adding.
                let round = |v: &Value, what: &str| -> Result<i64, Thrown> {
                    match v {
                        Value::Number(n) => Ok(match n.as_i64() {
                            Some(i) => i,
                            None => (n.as_f64().unwrap_or(0.0) + 0.5).floor() as i64,
                        }),
                        other => Err(self.fail(format!(
                            "the {what} must be a number, but was {}",
                            to_json(other)
                        ))),
                    }
                };
                let sum = round(a(0), "first argument")?
                    .checked_add(round(a(1), "second argument")?)
                    .ok_or_else(|| self.fail("the sum overflows"))?;
                Value::Number(Number::from(sum))
            }
            Func::StringSplit => {
                let s = self.str_arg(a(0), "string")?;
                let d = self.str_arg(a(1), "delimiter")?;
                // Like Java's StringTokenizer: every character of the delimiter splits; empty tokens are dropped.
                Value::Array(
                    s.split(|c: char| d.contains(c))
                        .filter(|t| !t.is_empty())
                        .map(|t| Value::String(t.to_string()))
                        .collect(),
                )
            }
            Func::Uuid => Value::String(uuid::Uuid::new_v4().to_string()),
        })
        .map(|v| match v {
            Value::Number(n) => number_value(n),
            other => other,
        })
    }

    /// The call as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Lower-case hex digest of `data` with one of AWS's hash algorithm names.
pub(crate) fn hash_hex(data: &str, algo: &str) -> Option<String> {
    use sha2::Digest;
    let bytes: Vec<u8> = match algo {
        "MD5" => md5::Md5::digest(data.as_bytes()).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data.as_bytes()).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data.as_bytes()).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data.as_bytes()).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data.as_bytes()).to_vec(),
        _ => return None,
    };
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

struct P<'a> {
    s: &'a [u8],
    t: &'a str,
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn call(&mut self) -> Result<Call, String> {
        let start = self.i;
        if !self.t[self.i..].starts_with("States.") {
            return Err(format!("expected 'States.' at position {}", self.i));
        }
        self.i += "States.".len();
        let ns = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric())
        {
            self.i += 1;
        }
        let name = &self.t[ns..self.i];
        let func = Func::from_name(name)
            .ok_or_else(|| format!("unknown intrinsic function 'States.{name}'"))?;
        self.ws();
        if self.s.get(self.i) != Some(&b'(') {
            return Err(format!("expected '(' after 'States.{name}'"));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b')') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                args.push(self.arg()?);
                self.ws();
                match self.s.get(self.i) {
                    Some(b',') => self.i += 1,
                    Some(b')') => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(format!("expected ',' or ')' at position {}", self.i)),
                }
            }
        }
        Ok(Call {
            func,
            args,
            text: self.t[start..self.i].to_string(),
        })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        match self.s.get(self.i) {
            Some(b'\'') => {
                self.i += 1;
                let mut value = String::new();
                let start = self.i;
                loop {
                    match self.t[self.i..].chars().next() {
                        None => return Err("unterminated string literal".into()),
                        Some('\\') => {
                            self.i += 1;
                            let Some(n) = self.t[self.i..].chars().next() else {
                                return Err("unterminated escape".into());
                            };
                            value.push(n);
                            self.i += n.len_utf8();
                        }
                        Some('\'') => {
                            let raw = self.t[start..self.i].to_string();
                            self.i += 1;
                            return Ok(Arg::Literal {
                                value: Value::String(value),
                                raw: Some(raw),
                            });
                        }
                        Some(c) => {
                            value.push(c);
                            self.i += c.len_utf8();
                        }
                    }
                }
            }
            Some(b'$') => {
                let start = self.i;
                let mut depth = 0i32;
                let mut quote: Option<u8> = None;
                while let Some(&c) = self.s.get(self.i) {
                    if let Some(q) = quote {
                        if c == q {
                            quote = None;
                        }
                    } else {
                        match c {
                            b'\'' | b'"' => quote = Some(c),
                            b'[' | b'(' => depth += 1,
                            b']' => depth -= 1,
                            b')' if depth == 0 => break,
                            b')' => depth -= 1,
                            b',' if depth == 0 => break,
                            _ => {}
                        }
                    }
                    self.i += 1;
                }
                let text = self.t[start..self.i].trim_end();
                Ok(Arg::Path(Path::parse(text).map_err(|e| e.to_string())?))
            }
            Some(b'S') if self.t[self.i..].starts_with("States.") => {
                Ok(Arg::Call(Box::new(self.call()?)))
            }
            _ => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
                {
                    self.i += 1;
                }
                let word = &self.t[start..self.i];
                let value: Value = serde_json::from_str(word)
                    .map_err(|_| format!("invalid intrinsic function argument '{word}'"))?;
                if value.is_object() || value.is_array() || value.is_string() {
                    return Err(format!("invalid intrinsic function argument '{word}'"));
                }
                Ok(Arg::Literal { value, raw: None })
            }
        }
    }
}

/// A States.Format argument as AWS renders it: a string as is, a number or boolean as its JSON
/// text, `null`, and objects and arrays the way a Java map and list print, `{a=1, b=[x, y]}`
/// (strings inside unquoted), not as JSON (AWS-recorded: `{"Arg1": 1, "Arg2": []}` formats as
/// `{Arg1=1, Arg2=[]}`;
/// <https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html#asl-intrsc-func-generic>).
fn format_arg(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                format_arg(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push('=');
                format_arg(x, out);
            }
            out.push('}');
        }
        other => out.push_str(&to_json(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(expr: &str, input: Value) -> Result<Value, Thrown> {
        let call = Call::parse(expr).unwrap();
        call.eval(&|p: &Path| Ok(p.select(&input).map(|c| c.into_owned())))
    }

    #[test]
    fn format_and_nesting() {
        assert_eq!(
            run(
                "States.Format('Hello {}, {}!', $.a, $.b)",
                json!({"a": "x", "b": 1.5})
            )
            .unwrap(),
            json!("Hello x, 1.5!")
        );
        assert_eq!(
            run(
                "States.Format('\\{\\} {}', States.ArrayLength($.l))",
                json!({"l": [1, 2]})
            )
            .unwrap(),
            json!("{} 2")
        );
    }

    #[test]
    fn math_add_rounds_like_java() {
        for (a, b, r) in [
            (1.49, 1.5, 3),
            (-0.5, 0.5, 1),
            (-2.5, 0.0, -2),
            (-1.5, 0.0, -1),
        ] {
            assert_eq!(
                run("States.MathAdd($.a, $.b)", json!({"a": a, "b": b})).unwrap(),
                json!(r)
            );
        }
    }

    #[test]
    fn arrays_and_hash() {
        assert_eq!(
            run("States.ArrayRange(1, 9, 2)", json!({})).unwrap(),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            run("States.ArrayPartition($.a, 2)", json!({"a": [1, 2, 3]})).unwrap(),
            json!([[1, 2], [3]])
        );
        assert_eq!(
            run("States.ArrayUnique($.a)", json!({"a": [1, 1, 2, 1.0]})).unwrap(),
            json!([1, 2])
        );
        assert_eq!(
            run("States.Hash('input data', 'SHA-384')", json!({})).unwrap(),
            json!("d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562")
        );
        assert_eq!(
            run("States.StringSplit('a,,b', ',')", json!({})).unwrap(),
            json!(["a", "b"])
        );
        assert!(run("States.ArrayPartition($.a, 0)", json!({"a": [1]})).is_err());
    }
}
