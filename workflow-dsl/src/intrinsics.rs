//! Typed builders of the 18 ASL intrinsic functions (`States.Format(...)`, `States.UUID()`, ...),
//! with string literals quoted and escaped as the specification requires.
//!
//! Reference: <https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html>.
//! An intrinsic is written as the value of a `.$` field of `Parameters`/`ResultSelector`/
//! `ItemSelector`:
//!
//! ```
//! use serde_json::json;
//! use workflow_dsl::intrinsics::{self, path};
//!
//! let subject = intrinsics::format("Order {} is {}", [path("$.orderId"), path("$.status")]);
//! assert_eq!(subject.to_string(), "States.Format('Order {} is {}', $.orderId, $.status)");
//! let params = json!({ "Subject.$": subject.to_string() });
//! assert_eq!(params["Subject.$"], "States.Format('Order {} is {}', $.orderId, $.status)");
//! ```

use std::fmt;

use serde_json::Value;

/// One argument of an intrinsic function.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A JSONPath (`$.a.b`, `$$.Execution.Id`, `$var`), written as is.
    Path(String),
    /// A string literal, written quoted and escaped.
    Str(String),
    /// A number literal.
    Number(serde_json::Number),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// A nested intrinsic call.
    Call(Box<Intrinsic>),
}

/// A JSONPath argument.
pub fn path(path: impl Into<String>) -> Arg {
    Arg::Path(path.into())
}

/// A string literal argument.
pub fn lit(text: impl Into<String>) -> Arg {
    Arg::Str(text.into())
}

impl From<i64> for Arg {
    fn from(value: i64) -> Self {
        Arg::Number(value.into())
    }
}

impl From<i32> for Arg {
    fn from(value: i32) -> Self {
        Arg::Number(value.into())
    }
}

impl From<u32> for Arg {
    fn from(value: u32) -> Self {
        Arg::Number(value.into())
    }
}

impl From<bool> for Arg {
    fn from(value: bool) -> Self {
        Arg::Bool(value)
    }
}

impl From<Intrinsic> for Arg {
    fn from(value: Intrinsic) -> Self {
        Arg::Call(Box::new(value))
    }
}

/// Quotes a string literal: `'` `{` `}` and `\` are escaped with a backslash.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if matches!(c, '\'' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Path(p) => f.write_str(p),
            Arg::Str(s) => f.write_str(&quote(s)),
            Arg::Number(n) => write!(f, "{n}"),
            Arg::Bool(b) => write!(f, "{b}"),
            Arg::Null => f.write_str("null"),
            Arg::Call(call) => write!(f, "{call}"),
        }
    }
}

/// One intrinsic call; `to_string()` gives its ASL text.
#[derive(Debug, Clone, PartialEq)]
pub struct Intrinsic {
    name: &'static str,
    args: Vec<Arg>,
    /// `States.Format`'s template is written unescaped braces: kept apart to quote it right.
    format_template: Option<String>,
}

impl Intrinsic {
    fn call(name: &'static str, args: Vec<Arg>) -> Self {
        Intrinsic {
            name,
            args,
            format_template: None,
        }
    }

    /// The function name, e.g. `States.Format`.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl fmt::Display for Intrinsic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        let mut first = true;
        if let Some(template) = &self.format_template {
            // `{}` are placeholders here; only ' and \ are escaped.
            let mut quoted = String::from("'");
            for c in template.chars() {
                if matches!(c, '\'' | '\\') {
                    quoted.push('\\');
                }
                quoted.push(c);
            }
            quoted.push('\'');
            f.write_str(&quoted)?;
            first = false;
        }
        for arg in &self.args {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{arg}")?;
        }
        f.write_str(")")
    }
}

impl From<Intrinsic> for Value {
    fn from(value: Intrinsic) -> Self {
        Value::String(value.to_string())
    }
}

/// `States.Format(template, args...)`: `{}` in `template` are replaced by the arguments in order.
/// Literal braces cannot appear in the template (ASL has no escape for them there).
pub fn format(template: impl Into<String>, args: impl IntoIterator<Item = Arg>) -> Intrinsic {
    Intrinsic {
        name: "States.Format",
        args: args.into_iter().collect(),
        format_template: Some(template.into()),
    }
}

/// `States.StringToJson(string)`.
pub fn string_to_json(value: Arg) -> Intrinsic {
    Intrinsic::call("States.StringToJson", vec![value])
}

/// `States.JsonToString(path)`.
pub fn json_to_string(value: Arg) -> Intrinsic {
    Intrinsic::call("States.JsonToString", vec![value])
}

/// `States.Array(values...)`.
pub fn array(values: impl IntoIterator<Item = Arg>) -> Intrinsic {
    Intrinsic::call("States.Array", values.into_iter().collect())
}

/// `States.ArrayPartition(array, chunkSize)`.
pub fn array_partition(array: Arg, chunk_size: Arg) -> Intrinsic {
    Intrinsic::call("States.ArrayPartition", vec![array, chunk_size])
}

/// `States.ArrayContains(array, value)`.
pub fn array_contains(array: Arg, value: Arg) -> Intrinsic {
    Intrinsic::call("States.ArrayContains", vec![array, value])
}

/// `States.ArrayRange(start, end, step)`.
pub fn array_range(start: Arg, end: Arg, step: Arg) -> Intrinsic {
    Intrinsic::call("States.ArrayRange", vec![start, end, step])
}

/// `States.ArrayGetItem(array, index)`.
pub fn array_get_item(array: Arg, index: Arg) -> Intrinsic {
    Intrinsic::call("States.ArrayGetItem", vec![array, index])
}

/// `States.ArrayLength(array)`.
pub fn array_length(array: Arg) -> Intrinsic {
    Intrinsic::call("States.ArrayLength", vec![array])
}

/// `States.ArrayUnique(array)`.
pub fn array_unique(array: Arg) -> Intrinsic {
    Intrinsic::call("States.ArrayUnique", vec![array])
}

/// `States.Base64Encode(string)`.
pub fn base64_encode(value: Arg) -> Intrinsic {
    Intrinsic::call("States.Base64Encode", vec![value])
}

/// `States.Base64Decode(string)`.
pub fn base64_decode(value: Arg) -> Intrinsic {
    Intrinsic::call("States.Base64Decode", vec![value])
}

/// Hash algorithms of `States.Hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// The MD5 digest (`MD5`).
    Md5,
    /// The SHA-1 digest (`SHA-1`).
    Sha1,
    /// The SHA-256 digest (`SHA-256`).
    Sha256,
    /// The SHA-384 digest (`SHA-384`).
    Sha384,
    /// The SHA-512 digest (`SHA-512`).
    Sha512,
}

impl HashAlgorithm {
    /// The name ASL expects, e.g. `SHA-256`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Md5 => "MD5",
            HashAlgorithm::Sha1 => "SHA-1",
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha384 => "SHA-384",
            HashAlgorithm::Sha512 => "SHA-512",
        }
    }
}

/// `States.Hash(data, 'algorithm')`.
pub fn hash(data: Arg, algorithm: HashAlgorithm) -> Intrinsic {
    Intrinsic::call("States.Hash", vec![data, lit(algorithm.name())])
}

/// `States.JsonMerge(a, b, false)` (ASL only supports the shallow merge).
pub fn json_merge(a: Arg, b: Arg) -> Intrinsic {
    Intrinsic::call("States.JsonMerge", vec![a, b, Arg::Bool(false)])
}

/// `States.MathRandom(start, end)`.
pub fn math_random(start: Arg, end: Arg) -> Intrinsic {
    Intrinsic::call("States.MathRandom", vec![start, end])
}

/// `States.MathRandom(start, end, seed)`.
pub fn math_random_seeded(start: Arg, end: Arg, seed: Arg) -> Intrinsic {
    Intrinsic::call("States.MathRandom", vec![start, end, seed])
}

/// `States.MathAdd(a, b)`.
pub fn math_add(a: Arg, b: Arg) -> Intrinsic {
    Intrinsic::call("States.MathAdd", vec![a, b])
}

/// `States.StringSplit(string, delimiters)`.
pub fn string_split(value: Arg, delimiters: Arg) -> Intrinsic {
    Intrinsic::call("States.StringSplit", vec![value, delimiters])
}

/// `States.UUID()`.
pub fn uuid() -> Intrinsic {
    Intrinsic::call("States.UUID", Vec::new())
}

/// The JSONPaths an intrinsic expression refers to (arguments outside string literals that start
/// with `$`), for path checking. Returns an empty list for text that is not an intrinsic call.
pub fn referenced_paths(expression: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some(open) = expression.find('(') else {
        return out;
    };
    let chars: Vec<char> = expression[open..].chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\'' => {
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            '$' => {
                let start = i;
                let mut depth = 0i32;
                while i < chars.len() {
                    match chars[i] {
                        '[' => depth += 1,
                        ']' => depth -= 1,
                        ',' | ')' | ' ' if depth <= 0 => break,
                        _ => {}
                    }
                    i += 1;
                }
                out.push(chars[start..i].iter().collect());
            }
            _ => i += 1,
        }
    }
    out
}

/// The JSON type an intrinsic returns, when fixed (`States.Format` -> string, ...).
pub(crate) fn result_type(expression: &str) -> Option<&'static str> {
    let name = expression.split('(').next()?.trim();
    Some(match name {
        "States.Format"
        | "States.JsonToString"
        | "States.Base64Encode"
        | "States.Base64Decode"
        | "States.Hash"
        | "States.UUID" => "string",
        "States.Array"
        | "States.ArrayPartition"
        | "States.ArrayRange"
        | "States.ArrayUnique"
        | "States.StringSplit" => "array",
        "States.ArrayContains" => "boolean",
        "States.ArrayLength" | "States.MathRandom" | "States.MathAdd" => "integer",
        "States.JsonMerge" => "object",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_eighteen_render() {
        let p = || path("$.a");
        let rendered = [
            format("x {} y", [p()]).to_string(),
            string_to_json(p()).to_string(),
            json_to_string(p()).to_string(),
            array([p(), 1.into(), lit("s")]).to_string(),
            array_partition(p(), 2.into()).to_string(),
            array_contains(p(), lit("v")).to_string(),
            array_range(1.into(), 9.into(), 2.into()).to_string(),
            array_get_item(p(), 0.into()).to_string(),
            array_length(p()).to_string(),
            array_unique(p()).to_string(),
            base64_encode(p()).to_string(),
            base64_decode(p()).to_string(),
            hash(p(), HashAlgorithm::Sha256).to_string(),
            json_merge(p(), path("$.b")).to_string(),
            math_random(1.into(), 10.into()).to_string(),
            math_add(p(), (-1).into()).to_string(),
            string_split(p(), lit(",")).to_string(),
            uuid().to_string(),
        ];
        assert_eq!(
            rendered,
            [
                "States.Format('x {} y', $.a)",
                "States.StringToJson($.a)",
                "States.JsonToString($.a)",
                "States.Array($.a, 1, 's')",
                "States.ArrayPartition($.a, 2)",
                "States.ArrayContains($.a, 'v')",
                "States.ArrayRange(1, 9, 2)",
                "States.ArrayGetItem($.a, 0)",
                "States.ArrayLength($.a)",
                "States.ArrayUnique($.a)",
                "States.Base64Encode($.a)",
                "States.Base64Decode($.a)",
                "States.Hash($.a, 'SHA-256')",
                "States.JsonMerge($.a, $.b, false)",
                "States.MathRandom(1, 10)",
                "States.MathAdd($.a, -1)",
                "States.StringSplit($.a, ',')",
                "States.UUID()",
            ]
        );
    }

    #[test]
    fn literals_are_escaped() {
        assert_eq!(quote(r"it's {x} \ "), r"'it\'s \{x\} \\ '");
        let nested = format("{}", [array_length(path("$.items")).into()]);
        assert_eq!(
            nested.to_string(),
            "States.Format('{}', States.ArrayLength($.items))"
        );
    }

    #[test]
    fn finds_paths_outside_literals() {
        let text =
            "States.Format('a $.not, {}', $.x[0].y, States.ArrayLength($$.Execution.Input.items))";
        assert_eq!(
            referenced_paths(text),
            ["$.x[0].y", "$$.Execution.Input.items"]
        );
    }
}
