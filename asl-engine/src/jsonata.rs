//! JSONata evaluation for `QueryLanguage: JSONata` states, on the `jsonata-rs` crate, with AWS's added
//! functions (`$partition`, `$range`, `$hash`, `$random`, `$uuid`, `$parse`) and AWS's error messages
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).

use std::borrow::Cow;
use std::collections::HashMap;

use bumpalo::Bump;
use jsonata_rs::{ArrayFlags, Error as JError, FunctionContext, JsonAta, Value as JValue};
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

use crate::error::{names, to_json, Thrown};
use crate::scope::Scope;
use crate::value::{f64_value, type_name};

/// The inner expression of a `{% ... %}` string, if it is one.
pub(crate) fn expr_of(s: &str) -> Option<&str> {
    // Exactly `{%` first and `%}` last: a string with anything around them (even spaces, as in
    // `" {% $x %} "`) is a plain string that AWS keeps as it is
    // (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).
    if s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}") {
        Some(s[2..s.len() - 2].trim())
    } else {
        None
    }
}

/// What an expression sees: `$states` and the workflow variables.
pub(crate) struct JEnv<'a> {
    pub states: &'a Value,
    pub scope: &'a Scope,
}

/// The result of an expression: a JSON value, nothing (`undefined`) or a function.
pub(crate) enum JOut {
    Value(Value),
    Undefined,
    Function,
}

/// Evaluates one expression (the text inside `{% %}`).
pub(crate) fn eval_raw(expr: &str, env: &JEnv<'_>, field: &str) -> Result<JOut, Thrown> {
    let arena = Bump::new();
    let fail = |e: JError| {
        Thrown::runtime(
            names::QUERY_EVALUATION_ERROR,
            format!(
                "The JSONata expression '{expr}' specified for the field '{field}' threw an error during evaluation. {}",
                error_text(&e)
            ),
        )
    };
    // jsonata-rs binds its own $random (no seed) over registered functions: route calls to AWS's.
    let source = rewrite_random(expr);
    let j = JsonAta::new(&source, &arena).map_err(fail)?;
    j.register_function("partition", 2, fn_partition);
    j.register_function("range", 3, fn_range);
    j.register_function("hash", 2, fn_hash);
    j.register_function("awsRandom__", 1, fn_random);
    j.register_function("parse", 1, fn_parse);
    // Standard JSONata functions jsonata-rs does not provide.
    j.register_function("average", 1, fn_average);
    j.register_function("type", 1, fn_type);
    crate::jsonata_fns::register(&j);
    let mut bindings: HashMap<&str, &Value> = HashMap::new();
    bindings.insert("states", env.states);
    for name in referenced_vars(expr) {
        if name != "states" {
            if let Some(v) = env.scope.get(name) {
                bindings.insert(name, v);
            }
        }
    }
    let out = j.evaluate(None, Some(&bindings)).map_err(fail)?;
    if out.is_undefined() {
        return Ok(JOut::Undefined);
    }
    if out.is_function() {
        return Ok(JOut::Function);
    }
    Ok(JOut::Value(to_json_value(out)))
}

/// Evaluates an expression that must yield a value.
pub(crate) fn eval_expr(expr: &str, env: &JEnv<'_>, field: &str) -> Result<Value, Thrown> {
    match eval_raw(expr, env, field)? {
        JOut::Value(v) => Ok(v),
        JOut::Undefined => Err(Thrown::runtime(
            names::QUERY_EVALUATION_ERROR,
            format!(
                "The JSONata expression '{expr}' specified for the field '{field}' returned nothing (undefined)."
            ),
        )),
        JOut::Function => Err(Thrown::runtime(
            names::QUERY_EVALUATION_ERROR,
            format!(
                "The JSONata expression '{expr}' specified for the field '{field}' returned an unsupported result type."
            ),
        )),
    }
}

/// Evaluates a JSON template: every `{% %}` string is replaced by its value; `field` names the
/// position for error messages (`Output/result`).
pub(crate) fn eval_template(v: &Value, env: &JEnv<'_>, field: &str) -> Result<Value, Thrown> {
    match v {
        Value::String(s) => match expr_of(s) {
            Some(e) => eval_expr(e, env, field),
            None => Ok(v.clone()),
        },
        Value::Array(a) => {
            let mut out = Vec::with_capacity(a.len());
            for (i, x) in a.iter().enumerate() {
                out.push(eval_template(x, env, &format!("{field}/{i}"))?);
            }
            Ok(Value::Array(out))
        }
        Value::Object(o) => {
            let mut m = Map::new();
            for (k, x) in o {
                m.insert(k.clone(), eval_template(x, env, &format!("{field}/{k}"))?);
            }
            Ok(Value::Object(m))
        }
        _ => Ok(v.clone()),
    }
}

/// Evaluates a field that must produce a value of a given JSON type (`Items` must be an array...).
pub(crate) fn eval_typed(
    v: &Value,
    env: &JEnv<'_>,
    field: &str,
    expected: &str,
) -> Result<Value, Thrown> {
    let out = eval_template(v, env, field)?;
    if type_name(&out) != expected && !(expected == "number" && out.is_number()) {
        let expr = match v {
            Value::String(s) => expr_of(s).unwrap_or(s).to_string(),
            other => to_json(other),
        };
        return Err(Thrown::runtime(
            names::QUERY_EVALUATION_ERROR,
            format!(
                "The JSONata expression '{expr}' specified for the field '{field}' returned an unexpected result type. Expected '{expected}', but was '{}' for value: {}",
                type_name(&out),
                to_json(&out)
            ),
        ));
    }
    Ok(out)
}

/// Replaces `$random(` outside string literals with the AWS-compatible `$awsRandom__(`.
fn rewrite_random(expr: &str) -> Cow<'_, str> {
    if !expr.contains("$random(") {
        return Cow::Borrowed(expr);
    }
    let mut out = String::with_capacity(expr.len() + 16);
    let mut quote: Option<char> = None;
    let mut rest = expr;
    while let Some(c) = rest.chars().next() {
        if let Some(q) = quote {
            if c == '\\' {
                let n = rest[1..].chars().next().map(char::len_utf8).unwrap_or(0);
                out.push_str(&rest[..1 + n]);
                rest = &rest[1 + n..];
                continue;
            }
            if c == q {
                quote = None;
            }
        } else if c == '"' || c == '\'' {
            quote = Some(c);
        } else if rest.starts_with("$random(") {
            out.push_str("$awsRandom__(");
            rest = &rest["$random(".len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

fn error_text(e: &JError) -> String {
    // jsonata-rs prints "T1006 @ 0: message"; AWS prints "T1006: message".
    let s = e.to_string();
    match s.split_once(": ") {
        Some((_, msg)) => format!("{}: {msg}", e.code()),
        None => s,
    }
}

fn referenced_vars(expr: &str) -> Vec<&str> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let s = i + 1;
            let mut j = s;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > s {
                out.push(&expr[s..j]);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// Converts a jsonata-rs value to serde_json (numbers that are integral become integers).
fn to_json_value<'a>(v: &'a JValue<'a>) -> Value {
    if v.is_undefined() {
        return Value::Null;
    }
    if v.is_null() {
        return Value::Null;
    }
    if v.is_bool() {
        return Value::Bool(v.as_bool());
    }
    if v.is_number() {
        return f64_value(v.as_f64());
    }
    if v.is_string() {
        return Value::String(v.as_str().into_owned());
    }
    if v.is_array() {
        // A singleton sequence is its only member, as JSONata returns it.
        let items: Vec<Value> = v
            .members()
            .filter(|m| !m.is_undefined() && !m.is_function())
            .map(to_json_value)
            .collect();
        if v.has_flags(ArrayFlags::SEQUENCE)
            && !v.has_flags(ArrayFlags::SINGLETON)
            && items.len() == 1
        {
            return items.into_iter().next().unwrap_or(Value::Null);
        }
        return Value::Array(items);
    }
    if v.is_object() {
        // jsonata-rs objects keep no key order: with `preserve-order`, sort them so that an
        // output is the same from run to run (without it, serde_json's map sorts them anyway).
        #[allow(unused_mut)]
        let mut entries: Vec<_> = v
            .entries()
            .filter(|(_, x)| !x.is_undefined() && !x.is_function())
            .collect();
        #[cfg(feature = "preserve-order")]
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut m = Map::new();
        for (k, x) in entries {
            m.insert(k.to_string(), to_json_value(x));
        }
        return Value::Object(m);
    }
    Value::Null
}

fn from_json<'a>(arena: &'a Bump, v: &Value) -> &'a JValue<'a> {
    match v {
        Value::Null => JValue::null(arena),
        Value::Bool(b) => JValue::bool(*b),
        Value::Number(n) => JValue::number(arena, n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JValue::string(arena, s),
        Value::Array(a) => {
            let arr = JValue::array_with_capacity(arena, a.len(), ArrayFlags::empty());
            for x in a {
                arr.push(from_json(arena, x));
            }
            arr
        }
        Value::Object(o) => {
            let obj = JValue::object_with_capacity(arena, o.len());
            for (k, x) in o {
                obj.insert(k, from_json(arena, x));
            }
            obj
        }
    }
}

type JResult<'a> = jsonata_rs::Result<&'a JValue<'a>>;

fn arg<'a>(args: &[&'a JValue<'a>], i: usize) -> &'a JValue<'a> {
    args.get(i).copied().unwrap_or_else(JValue::undefined)
}

fn fn_partition<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let (arr, size) = (arg(args, 0), arg(args, 1));
    if !arr.is_array() || !size.is_number() || size.as_f64() < 1.0 || size.as_f64().fract() != 0.0 {
        return Err(JError::D3137Error(
            "$partition expects an array and a positive integer chunk size".into(),
        ));
    }
    let n = size.as_f64() as usize;
    let members: Vec<&'a JValue<'a>> = arr.members().collect();
    let out = JValue::array(ctx.arena, ArrayFlags::empty());
    for chunk in members.chunks(n) {
        let c = JValue::array_with_capacity(ctx.arena, chunk.len(), ArrayFlags::empty());
        for m in chunk {
            c.push(m);
        }
        out.push(c);
    }
    Ok(out)
}

fn fn_range<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let nums: Vec<f64> = (0..3)
        .map(|i| arg(args, i))
        .map(|v| if v.is_number() { v.as_f64() } else { f64::NAN })
        .collect();
    if nums.iter().any(|n| n.is_nan() || n.fract() != 0.0) || nums[2] == 0.0 {
        return Err(JError::D3137Error(
            "$range expects three integers (start, end, non-zero step)".into(),
        ));
    }
    let (start, end, step) = (nums[0] as i64, nums[1] as i64, nums[2] as i64);
    let out = JValue::array(ctx.arena, ArrayFlags::SEQUENCE);
    let mut i = start;
    let mut count = 0;
    while (step > 0 && i <= end) || (step < 0 && i >= end) {
        out.push(JValue::number(ctx.arena, i as f64));
        count += 1;
        if count > 1000 {
            return Err(JError::D3137Error(
                "$range yields more than 1000 items".into(),
            ));
        }
        i += step;
    }
    Ok(out)
}

fn fn_hash<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let (data, algo) = (arg(args, 0), arg(args, 1));
    if !data.is_string() || !algo.is_string() {
        return Err(JError::D3137Error(
            "$hash expects a string and an algorithm name".into(),
        ));
    }
    match crate::intrinsics::hash_hex(&data.as_str(), &algo.as_str()) {
        Some(h) => Ok(JValue::string(ctx.arena, &h)),
        None => Err(JError::D3137Error(format!(
            "$hash: unsupported algorithm '{}'",
            algo.as_str()
        ))),
    }
}

fn fn_random<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let seed = arg(args, 0);
    let r: f64 = if seed.is_number() {
        rand::rngs::StdRng::seed_from_u64(seed.as_f64() as i64 as u64).random()
    } else {
        rand::rng().random()
    };
    Ok(JValue::number(ctx.arena, r))
}

fn fn_parse<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let s = arg(args, 0);
    if !s.is_string() {
        return Err(JError::D3137Error("$parse expects a string".into()));
    }
    let v: Value = serde_json::from_str(&s.as_str())
        .map_err(|e| JError::D3137Error(format!("$parse: invalid JSON: {e}")))?;
    Ok(from_json(ctx.arena, &v))
}

fn fn_average<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let a = arg(args, 0);
    if a.is_undefined() {
        return Ok(JValue::undefined());
    }
    let nums: Vec<f64> = if a.is_array() {
        a.members()
            .map(|m| if m.is_number() { m.as_f64() } else { f64::NAN })
            .collect()
    } else if a.is_number() {
        vec![a.as_f64()]
    } else {
        vec![f64::NAN]
    };
    if nums.iter().any(|n| n.is_nan()) {
        return Err(JError::D3137Error(
            "$average expects an array of numbers".into(),
        ));
    }
    if nums.is_empty() {
        return Ok(JValue::undefined());
    }
    Ok(JValue::number(
        ctx.arena,
        nums.iter().sum::<f64>() / nums.len() as f64,
    ))
}

fn fn_type<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let a = arg(args, 0);
    let t = if a.is_undefined() {
        return Ok(JValue::undefined());
    } else if a.is_null() {
        "null"
    } else if a.is_bool() {
        "boolean"
    } else if a.is_number() {
        "number"
    } else if a.is_string() {
        "string"
    } else if a.is_function() {
        "function"
    } else if a.is_array() {
        "array"
    } else {
        "object"
    };
    Ok(JValue::string(ctx.arena, t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(e: &str, states: Value) -> Result<Value, Thrown> {
        let scope = Scope::default();
        eval_expr(
            e,
            &JEnv {
                states: &states,
                scope: &scope,
            },
            "Output",
        )
    }

    #[test]
    fn aws_functions() {
        assert_eq!(
            ev("$partition([0,1,2], 2)", json!({})).unwrap(),
            json!([[0, 1], [2]])
        );
        assert_eq!(ev("$range(1, 9, 9)", json!({})).unwrap(), json!(1));
        assert_eq!(
            ev("$range(0, 9, 3)", json!({})).unwrap(),
            json!([0, 3, 6, 9])
        );
        assert_eq!(
            ev("$parse('{\"a\": [1]}')", json!({})).unwrap(),
            json!({"a": [1]})
        );
        assert_eq!(
            ev("$states.input.x + 1", json!({"input": {"x": 1}})).unwrap(),
            json!(2)
        );
        assert_eq!(
            rewrite_random("$random() & '$random('"),
            "$awsRandom__() & '$random('"
        );
        let r = ev("$random()", json!({})).unwrap().as_f64().unwrap();
        assert!((0.0..1.0).contains(&r));
        assert_eq!(
            ev("$random(7) = $random(7)", json!({})).unwrap(),
            json!(true)
        );
        assert_eq!(ev("$length($uuid())", json!({})).unwrap(), json!(36));
        assert_eq!(ev("$hash('input data', 'SHA-384')", json!({})).unwrap(), json!("d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562"));
        assert_eq!(ev("$average([1, 2, 6])", json!({})).unwrap(), json!(3));
        assert_eq!(ev("$type({})", json!({})).unwrap(), json!("object"));
        let err = ev("$nope(1)", json!({})).unwrap_err();
        assert!(err
            .failure
            .cause
            .unwrap()
            .ends_with("T1006: Attempted to invoke a non-function"));
    }

    /// The JSONata 2.0 functions jsonata-rs lacks are callable in expressions; `$eval` is not,
    /// as on AWS ("$eval is not available—use $parse instead",
    /// <https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).
    #[test]
    fn jsonata_2_functions_missing_from_jsonata_rs_are_registered() {
        let cases = [
            ("$formatNumber(12345.6, '#,###.00')", json!("12,345.60")),
            (
                "$formatNumber(0.14, '###pm', {'per-mille': 'pm'})",
                json!("140pm"),
            ),
            ("$formatNumber(1234.5678, '00.000e0')", json!("12.346e2")),
            ("$formatBase(100, 2)", json!("1100100")),
            ("$formatBase(2555, 16)", json!("9fb")),
            (
                "$formatInteger(2789, 'w')",
                json!("two thousand, seven hundred and eighty-nine"),
            ),
            ("$formatInteger(1999, 'I')", json!("MCMXCIX")),
            (
                "$parseInteger('twelve thousand, four hundred and seventy-six', 'w')",
                json!(12476),
            ),
            ("$parseInteger('12,345,678', '#,##0')", json!(12345678)),
            ("$encodeUrlComponent('?x=test')", json!("%3Fx%3Dtest")),
            (
                "$encodeUrl('https://mozilla.org/?x=шеллы')",
                json!("https://mozilla.org/?x=%D1%88%D0%B5%D0%BB%D0%BB%D1%8B"),
            ),
            ("$decodeUrlComponent('%3Fx%3Dtest')", json!("?x=test")),
            (
                "$decodeUrl('https://mozilla.org/?x=%D1%88%D0%B5%D0%BB%D0%BB%D1%8B')",
                json!("https://mozilla.org/?x=шеллы"),
            ),
            ("$spread({'a': 1, 'b': 2})", json!([{"a": 1}, {"b": 2}])),
            (
                "$sift({'a': 1, 'b': 2, 'c': 3}, function($v) { $v > 1 })",
                json!({"b": 2, "c": 3}),
            ),
            ("$sort($shuffle([3, 1, 2]))", json!([1, 2, 3])),
            ("$count($shuffle([1, 2, 3, 4]))", json!(4)),
        ];
        for (expr, expected) in cases {
            assert_eq!(ev(expr, json!({})).unwrap(), expected, "{expr}");
        }
        assert!(ev("$decodeUrl('%E0%A4%A')", json!({})).is_err());
        assert!(ev("$formatBase(1, 40)", json!({})).is_err());
        let err = ev("$eval('1 + 1')", json!({})).unwrap_err();
        assert!(
            err.failure.cause.unwrap().contains("T1006"),
            "$eval is not available"
        );
    }
}
