//! Loads the SAM template (`template.yaml`) as JSON, with CloudFormation short-form tags
//! (`!Ref`, `!GetAtt`, `!Sub`, ...) turned into their long forms (`{"Ref": ..}`, `{"Fn::GetAtt": ..}`),
//! and its `Fn::ForEach` loops (the `AWS::LanguageExtensions` transform) expanded.
//!
//! Short forms: <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html>.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};
use serde_yaml::Value as Yaml;

/// Reads and converts a CloudFormation/SAM YAML template.
pub fn load(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Converts CloudFormation/SAM YAML text to JSON, with its `Fn::ForEach` loops expanded.
pub fn parse(text: &str) -> Result<Value> {
    let yaml: Yaml = serde_yaml::from_str(text)?;
    let mut template = to_json(yaml)?;
    expand_for_each(&mut template)?;
    Ok(template)
}

const FOR_EACH: &str = "Fn::ForEach::";

/// Expands the `Fn::ForEach::<Loop>: [Identifier, [items], {OutputKey: OutputValue}]` entries of
/// the `Resources`, `Conditions` and `Outputs` sections (nested loops included) as the
/// `AWS::LanguageExtensions` transform does: one copy of the fragment per item, with every
/// `${Identifier}` in its keys and strings replaced by the item, every `&{Identifier}` by the
/// item without its non-alphanumeric characters, and every `{"Ref": "Identifier"}` by the item.
/// A `Ref` or `Fn::GetAtt` whose logical id became a plain `Fn::Sub` string is reduced to it
/// (the transform allows intrinsic functions there).
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-foreach.html>
///
/// Only literal collections are supported (not a `Ref` to a `CommaDelimitedList` parameter), and
/// loops inside resource properties are left as they are.
pub fn expand_for_each(template: &mut Value) -> Result<()> {
    for section in ["Resources", "Conditions", "Outputs"] {
        if let Some(entries) = template.get_mut(section).and_then(Value::as_object_mut) {
            *entries = expand_entries(std::mem::take(entries))
                .with_context(|| format!("expanding Fn::ForEach in {section}"))?;
        }
    }
    Ok(())
}

fn expand_entries(entries: Map<String, Value>) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for (key, value) in entries {
        if let Some(name) = key.strip_prefix(FOR_EACH) {
            let Some([identifier, items, fragment]) = value.as_array().map(Vec::as_slice) else {
                bail!("{key}: expected [Identifier, Collection, {{OutputKey: OutputValue}}]");
            };
            let identifier = identifier
                .as_str()
                .with_context(|| format!("{key}: the identifier is not a string"))?;
            let items = items.as_array().with_context(|| {
                format!("{key}: only a literal list is supported as the collection")
            })?;
            let fragment = fragment
                .as_object()
                .with_context(|| format!("{key}: the fragment is not a mapping"))?;
            for item in items {
                let item = match item {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => bail!("{key}: collection item {other} is not a scalar"),
                };
                let copy = substitute(&Value::Object(fragment.clone()), identifier, &item);
                let Value::Object(copy) = copy else {
                    unreachable!("a substituted mapping stays a mapping")
                };
                for (k, v) in expand_entries(copy)? {
                    if out.insert(k.clone(), v).is_some() {
                        bail!("Fn::ForEach::{name} makes {k} twice");
                    }
                }
            }
        } else if out.insert(key.clone(), value).is_some() {
            bail!("{key} is defined twice");
        }
    }
    Ok(out)
}

fn substitute_text(text: &str, identifier: &str, item: &str) -> String {
    let alphanumeric: String = item.chars().filter(char::is_ascii_alphanumeric).collect();
    text.replace(&format!("${{{identifier}}}"), item)
        .replace(&format!("&{{{identifier}}}"), &alphanumeric)
}

/// A logical id given as `{"Fn::Sub": "Name"}` with nothing left to substitute is `Name`.
fn plain_sub(value: &Value) -> Option<&str> {
    value
        .as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.get("Fn::Sub"))
        .and_then(Value::as_str)
        .filter(|s| !s.contains("${"))
}

fn substitute(value: &Value, identifier: &str, item: &str) -> Value {
    match value {
        Value::String(s) => Value::String(substitute_text(s, identifier, item)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute(v, identifier, item))
                .collect(),
        ),
        Value::Object(map) => {
            if map.len() == 1 && map.get("Ref").and_then(Value::as_str) == Some(identifier) {
                return Value::String(item.to_string());
            }
            let mut out = Map::new();
            for (k, v) in map {
                let mut v = substitute(v, identifier, item);
                if k == "Ref" {
                    if let Some(id) = plain_sub(&v) {
                        v = Value::String(id.to_string());
                    }
                } else if k == "Fn::GetAtt" {
                    if let Some(first) = v.get_mut(0) {
                        if let Some(id) = plain_sub(first) {
                            *first = Value::String(id.to_string());
                        }
                    }
                }
                out.insert(substitute_text(k, identifier, item), v);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn to_json(yaml: Yaml) -> Result<Value> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                json!(n.as_f64())
            }
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_>>()?)
        }
        Yaml::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Yaml::String(s) => s,
                    Yaml::Bool(b) => b.to_string(),
                    Yaml::Number(n) => n.to_string(),
                    other => bail!("unsupported mapping key {other:?}"),
                };
                object.insert(key, to_json(value)?);
            }
            Value::Object(object)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = to_json(tagged.value)?;
            match name {
                "Ref" | "Condition" => json!({ name: value }),
                // `!GetAtt Resource.Attribute` is the string form of `Fn::GetAtt: [Resource, Attribute]`.
                "GetAtt" => match value {
                    Value::String(s) => match s.split_once('.') {
                        Some((resource, attribute)) => {
                            json!({ "Fn::GetAtt": [resource, attribute] })
                        }
                        None => bail!("`!GetAtt {s}` is not of the form Resource.Attribute"),
                    },
                    other => json!({ "Fn::GetAtt": other }),
                },
                _ => json!({ format!("Fn::{name}"): value }),
            }
        }
    })
}

/// The `${Name}` placeholders in the strings of a JSON document (for `DefinitionSubstitutions`).
pub fn placeholders(document: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    collect_placeholders(document, &mut found);
    found
}

fn collect_placeholders(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                let after = &rest[start + 2..];
                match after.find('}') {
                    Some(end) => {
                        found.insert(after[..end].to_string());
                        rest = &after[end + 1..];
                    }
                    None => break,
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_placeholders(v, found)),
        Value::Object(object) => {
            for (key, value) in object {
                collect_placeholders(&Value::String(key.clone()), found);
                collect_placeholders(value, found);
            }
        }
        _ => {}
    }
}

/// The resources of a template of one type (`AWS::Serverless::Function`, ...), as (logical id, resource).
pub fn resources_of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_become_long_forms() {
        let template = parse(
            "A: !Ref Stage\nB: !GetAtt Queue.Arn\nC: !Sub '${AWS::StackName}-x'\nD: !Join ['-', [a, !Ref B]]\nE: !If [IsProd, 1, 2]\n",
        )
        .unwrap();
        assert_eq!(template["A"], json!({"Ref": "Stage"}));
        assert_eq!(template["B"], json!({"Fn::GetAtt": ["Queue", "Arn"]}));
        assert_eq!(template["C"], json!({"Fn::Sub": "${AWS::StackName}-x"}));
        assert_eq!(
            template["D"],
            json!({"Fn::Join": ["-", ["a", {"Ref": "B"}]]})
        );
        assert_eq!(template["E"], json!({"Fn::If": ["IsProd", 1, 2]}));
    }

    #[test]
    fn for_each_loops_are_expanded() {
        let template = parse(
            r#"
Resources:
  Kept: {Type: AWS::SNS::Topic}
  Fn::ForEach::Logs:
    - Fn
    - [Auth, GetOrder]
    - ${Fn}LogGroup:
        Type: AWS::Logs::LogGroup
        Properties:
          LogGroupName: !Sub /aws/lambda/${Fn}-${Stage}
          Binary: !FindInMap [Functions, !Ref Fn, Binary]
      ${Fn}Alarm:
        Type: AWS::CloudWatch::Alarm
        Properties:
          Function: {Ref: !Sub "${Fn}Function"}
          Arn: !GetAtt [!Sub "${Fn}Function", Arn]
  Fn::ForEach::Outer:
    - Size
    - [small, x-large]
    - Fn::ForEach::Inner:
        - Color
        - [Red]
        - '&{Size}${Color}Queue': {Type: AWS::SQS::Queue}
Outputs:
  Fn::ForEach::Out:
    - Name
    - [A]
    - ${Name}Out: {Value: !Ref Name}
"#,
        )
        .unwrap();
        let resources = template["Resources"].as_object().unwrap();
        let ids: BTreeSet<&str> = resources.keys().map(String::as_str).collect();
        assert_eq!(
            ids.into_iter().collect::<Vec<_>>(),
            [
                "AuthAlarm",
                "AuthLogGroup",
                "GetOrderAlarm",
                "GetOrderLogGroup",
                "Kept",
                "smallRedQueue",
                "xlargeRedQueue"
            ]
        );
        let group = &resources["GetOrderLogGroup"]["Properties"];
        assert_eq!(
            group["LogGroupName"],
            json!({"Fn::Sub": "/aws/lambda/GetOrder-${Stage}"})
        );
        assert_eq!(
            group["Binary"],
            json!({"Fn::FindInMap": ["Functions", "GetOrder", "Binary"]})
        );
        let alarm = &resources["AuthAlarm"]["Properties"];
        assert_eq!(alarm["Function"], json!({"Ref": "AuthFunction"}));
        assert_eq!(alarm["Arn"], json!({"Fn::GetAtt": ["AuthFunction", "Arn"]}));
        assert_eq!(template["Outputs"]["AOut"], json!({"Value": "A"}));
    }

    #[test]
    fn for_each_rejects_duplicates_and_parameter_collections() {
        let twice =
            "Resources:\n  A1: {Type: X}\n  Fn::ForEach::L: [N, ['1'], {'A${N}': {Type: X}}]\n";
        assert!(parse(twice).is_err());
        let by_ref = "Resources:\n  Fn::ForEach::L: [N, !Ref List, {'A${N}': {Type: X}}]\n";
        assert!(parse(by_ref).is_err());
    }

    #[test]
    fn finds_placeholders_in_nested_strings() {
        let asl =
            json!({"States": {"A": {"Resource": "${FnArn}", "Parameters": {"x": "a${B}c${C}"}}}});
        let found: Vec<_> = placeholders(&asl).into_iter().collect();
        assert_eq!(found, ["B", "C", "FnArn"]);
    }
}
