//! JSON Schema utilities for path checking: schemas of Rust types with `$ref`s inlined, lookup of
//! a field or array item, `ResultPath`-style insertion and the schema of a JSON literal.
//!
//! Schemas are plain `serde_json::Value`s in the JSON Schema 2020-12 dialect that `schemars`
//! produces. `true` (or `{}`) means "anything": lookups below it cannot be checked and succeed.

use schemars::JsonSchema;
use serde_json::{json, Map, Value};

/// The schema of `T` with every `$ref` inlined (recursive types become `true` at the point of
/// recursion), so sub-schemas can be moved around freely.
pub fn of<T: JsonSchema>() -> Value {
    let root = schemars::SchemaGenerator::default()
        .into_root_schema_for::<T>()
        .to_value();
    inline(&root, &root, &mut Vec::new())
}

fn inline(node: &Value, root: &Value, stack: &mut Vec<String>) -> Value {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                if stack.contains(reference) || stack.len() > 32 {
                    return Value::Bool(true);
                }
                let Some(target) = reference
                    .strip_prefix('#')
                    .and_then(|pointer| root.pointer(pointer))
                else {
                    return Value::Bool(true);
                };
                stack.push(reference.clone());
                let resolved = inline(target, root, stack);
                stack.pop();
                return resolved;
            }
            let mut out = Map::new();
            for (key, value) in map {
                if matches!(key.as_str(), "$defs" | "definitions" | "$schema") {
                    continue;
                }
                out.insert(key.clone(), inline(value, root, stack));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| inline(i, root, stack)).collect()),
        other => other.clone(),
    }
}

/// One step of a JSONPath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `.name` or `['name']`.
    Field(String),
    /// `[3]` (negative: from the end).
    Index(i64),
    /// `[*]` or `.*`.
    Wildcard,
    /// Anything this checker does not follow (`..`, filters, slices): stops checking.
    Opaque,
}

/// Why a lookup failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Missing {
    /// The object has no such field; `available` are the ones it has.
    NoField {
        /// The fields the schema declares (including those of its alternatives).
        available: Vec<String>,
    },
    /// The value is not an object (its JSON types are given).
    NotObject {
        /// The types in the schema's `type` (empty when it declares none).
        types: Vec<String>,
    },
    /// The value is not an array.
    NotArray {
        /// The types in the schema's `type` (empty when it declares none).
        types: Vec<String>,
    },
    /// The schema allows nothing.
    Impossible,
}

/// The result of a lookup.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// The schema of the value found.
    Found(Value),
    /// The schema does not say (e.g. `true`, maps without declared fields).
    Unknown,
    /// The lookup failed, and why.
    Missing(Missing),
}

fn types_of(map: &Map<String, Value>) -> Vec<String> {
    match map.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// True for `{"type": "null"}` (the `None` alternative of an `Option`).
fn is_null_only(schema: &Value) -> bool {
    schema
        .as_object()
        .map(|m| types_of(m) == ["null"] || m.get("const") == Some(&Value::Null))
        .unwrap_or(false)
}

fn union(mut schemas: Vec<Value>) -> Value {
    schemas.dedup();
    if schemas.len() == 1 {
        schemas.pop().expect("one element")
    } else {
        json!({ "anyOf": schemas })
    }
}

/// The schema of the value one step below `schema`.
pub fn child(schema: &Value, step: &Step) -> Lookup {
    let map = match schema {
        Value::Bool(true) => return Lookup::Unknown,
        Value::Bool(false) => return Lookup::Missing(Missing::Impossible),
        Value::Object(map) => map,
        _ => return Lookup::Unknown,
    };
    if *step == Step::Opaque {
        return Lookup::Unknown;
    }
    // Declared fields first.
    if let (Step::Field(name), Some(Value::Object(props))) = (step, map.get("properties")) {
        if let Some(found) = props.get(name) {
            return Lookup::Found(found.clone());
        }
    }
    // Combinators: found in any alternative (ignoring the null alternative of an Option).
    let mut missing_available: Vec<String> = Vec::new();
    let mut saw_combinator = false;
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(alternatives)) = map.get(key) {
            saw_combinator = true;
            let mut found = Vec::new();
            for alternative in alternatives.iter().filter(|a| !is_null_only(a)) {
                match child(alternative, step) {
                    Lookup::Found(value) => found.push(value),
                    Lookup::Unknown => return Lookup::Unknown,
                    Lookup::Missing(Missing::NoField { available }) => {
                        for field in available {
                            if !missing_available.contains(&field) {
                                missing_available.push(field);
                            }
                        }
                    }
                    Lookup::Missing(_) => {}
                }
            }
            if !found.is_empty() {
                return Lookup::Found(union(found));
            }
        }
    }
    let types = types_of(map);
    match step {
        Step::Field(_) => {
            if map.contains_key("patternProperties") {
                return Lookup::Unknown;
            }
            let has_props = map.contains_key("properties");
            match map.get("additionalProperties") {
                Some(Value::Bool(false)) => {}
                Some(schema) => return Lookup::Found(schema.clone()),
                None if !has_props && !saw_combinator && types.iter().any(|t| t == "object") => {
                    return Lookup::Unknown
                }
                None => {}
            }
            if has_props || saw_combinator {
                let mut available = fields(schema);
                for field in missing_available {
                    if !available.contains(&field) {
                        available.push(field);
                    }
                }
                return Lookup::Missing(Missing::NoField { available });
            }
            if !types.is_empty() && !types.iter().any(|t| t == "object") {
                return Lookup::Missing(Missing::NotObject { types });
            }
            Lookup::Unknown
        }
        Step::Index(_) | Step::Wildcard => {
            if let Some(Value::Array(prefix)) = map.get("prefixItems") {
                return match step {
                    Step::Index(i) if *i >= 0 && (*i as usize) < prefix.len() => {
                        Lookup::Found(prefix[*i as usize].clone())
                    }
                    Step::Wildcard if !prefix.is_empty() => Lookup::Found(union(prefix.clone())),
                    _ => Lookup::Unknown,
                };
            }
            if let Some(items) = map.get("items") {
                return Lookup::Found(items.clone());
            }
            if saw_combinator {
                return Lookup::Missing(Missing::NotArray { types });
            }
            if !types.is_empty() && !types.iter().any(|t| t == "array") {
                return Lookup::Missing(Missing::NotArray { types });
            }
            Lookup::Unknown
        }
        Step::Opaque => Lookup::Unknown,
    }
}

/// The declared field names of an object schema (including those of its alternatives).
pub fn fields(schema: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(map) = schema.as_object() {
        if let Some(Value::Object(props)) = map.get("properties") {
            out.extend(props.keys().cloned());
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(Value::Array(alternatives)) = map.get(key) {
                for alternative in alternatives {
                    for field in fields(alternative) {
                        if !out.contains(&field) {
                            out.push(field);
                        }
                    }
                }
            }
        }
    }
    out
}

/// The required field names of an object schema.
pub fn required(schema: &Value) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The JSON types a schema definitely has (`[]` when it does not say).
pub fn types(schema: &Value) -> Vec<String> {
    schema.as_object().map(types_of).unwrap_or_default()
}

/// `schema` with `value` placed at `steps` (what `ResultPath` does to the state input).
pub fn set_at(schema: &Value, steps: &[Step], value: Value) -> Value {
    let Some((first, rest)) = steps.split_first() else {
        return value;
    };
    let Step::Field(name) = first else {
        return Value::Bool(true);
    };
    if let Some(Value::Array(alternatives)) = schema.get("anyOf").or_else(|| schema.get("oneOf")) {
        if schema.get("properties").is_none() {
            let non_null: Vec<Value> = alternatives
                .iter()
                .filter(|a| !is_null_only(a))
                .map(|a| set_at(a, steps, value.clone()))
                .collect();
            return union(non_null);
        }
    }
    match schema {
        Value::Object(map) if map.contains_key("properties") => {
            let mut map = map.clone();
            let inner = map
                .get("properties")
                .and_then(|p| p.get(name))
                .cloned()
                .unwrap_or(Value::Bool(true));
            let props = map
                .get_mut("properties")
                .and_then(Value::as_object_mut)
                .expect("checked above");
            props.insert(name.clone(), set_at(&inner, rest, value));
            let mut required = required(&Value::Object(map.clone()));
            if !required.contains(name) {
                required.push(name.clone());
            }
            map.insert("required".into(), json!(required));
            map.remove("additionalProperties");
            Value::Object(map)
        }
        _ => json!({
            "type": "object",
            "properties": { name.clone(): set_at(&Value::Bool(true), rest, value) },
            "required": [name],
            "additionalProperties": true,
        }),
    }
}

/// The schema of a JSON literal (a Pass `Result`, a fixed template field).
pub fn of_value(value: &Value) -> Value {
    match value {
        Value::Null => json!({ "type": "null" }),
        Value::Bool(_) => json!({ "type": "boolean" }),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({ "type": "integer" }),
        Value::Number(_) => json!({ "type": "number" }),
        Value::String(_) => json!({ "type": "string" }),
        Value::Array(items) => {
            let schemas: Vec<Value> = items.iter().map(of_value).collect();
            if schemas.is_empty() {
                json!({ "type": "array" })
            } else {
                json!({ "type": "array", "prefixItems": schemas, "items": union(items.iter().map(of_value).collect()) })
            }
        }
        Value::Object(map) => {
            let props: Map<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), of_value(v))).collect();
            let keys: Vec<&String> = map.keys().collect();
            json!({ "type": "object", "properties": props, "required": keys })
        }
    }
}

/// A type declared for the data at some point, checked against the computed schema at emit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Declared {
    pub type_name: String,
    pub schema: Value,
}

impl Declared {
    pub(crate) fn of<T: JsonSchema>() -> Self {
        Declared {
            type_name: short_type_name::<T>(),
            schema: of::<T>(),
        }
    }
}

fn short_type_name<T>() -> String {
    // `alloc::vec::Vec<shop_model::OrderLine>` -> `Vec<OrderLine>`
    let full = std::any::type_name::<T>();
    let mut out = String::new();
    let mut segment = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            out.push_str(segment.rsplit("::").next().unwrap_or(""));
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(segment.rsplit("::").next().unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    struct Line {
        product_id: String,
        quantity: u32,
    }

    #[derive(Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    struct Order {
        order_id: String,
        items: Vec<Line>,
        first: Option<Line>,
        tags: std::collections::BTreeMap<String, String>,
        next: Option<Box<Order>>,
    }

    fn field(name: &str) -> Step {
        Step::Field(name.into())
    }

    #[test]
    fn lookups_follow_refs_options_arrays_and_maps() {
        let order = of::<Order>();
        assert!(!order.to_string().contains("$ref"));
        let Lookup::Found(items) = child(&order, &field("items")) else {
            panic!()
        };
        let Lookup::Found(line) = child(&items, &Step::Index(0)) else {
            panic!()
        };
        assert!(matches!(child(&line, &field("quantity")), Lookup::Found(_)));
        match child(&line, &field("qty")) {
            Lookup::Missing(Missing::NoField { available }) => {
                assert_eq!(available, ["productId", "quantity"])
            }
            other => panic!("{other:?}"),
        }
        let Lookup::Found(first) = child(&order, &field("first")) else {
            panic!()
        };
        assert!(matches!(
            child(&first, &field("productId")),
            Lookup::Found(_)
        ));
        let Lookup::Found(tags) = child(&order, &field("tags")) else {
            panic!()
        };
        assert!(matches!(child(&tags, &field("any")), Lookup::Found(_)));
        let Lookup::Found(id) = child(&order, &field("orderId")) else {
            panic!()
        };
        assert!(matches!(
            child(&id, &field("x")),
            Lookup::Missing(Missing::NotObject { .. })
        ));
        assert!(matches!(
            child(&id, &Step::Wildcard),
            Lookup::Missing(Missing::NotArray { .. })
        ));
    }

    #[test]
    fn set_at_adds_fields() {
        let order = of::<Order>();
        let merged = set_at(
            &order,
            &[field("payment"), field("id")],
            json!({"type": "string"}),
        );
        let Lookup::Found(payment) = child(&merged, &field("payment")) else {
            panic!()
        };
        assert!(matches!(child(&payment, &field("id")), Lookup::Found(_)));
        assert!(matches!(
            child(&merged, &field("orderId")),
            Lookup::Found(_)
        ));
    }

    #[test]
    fn literal_schemas() {
        let schema = of_value(&json!({ "a": [1, 2], "b": "x" }));
        assert!(matches!(child(&schema, &field("a")), Lookup::Found(_)));
        assert!(matches!(child(&schema, &field("c")), Lookup::Missing(_)));
    }
}
