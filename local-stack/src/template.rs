//! Loads the SAM template (`template.yaml`) as JSON, with CloudFormation short-form tags
//! (`!Ref`, `!GetAtt`, `!Sub`, ...) turned into their long forms (`{"Ref": ..}`, `{"Fn::GetAtt": ..}`).
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

/// Converts CloudFormation/SAM YAML text to JSON.
pub fn parse(text: &str) -> Result<Value> {
    let yaml: Yaml = serde_yaml::from_str(text)?;
    to_json(yaml)
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
    fn finds_placeholders_in_nested_strings() {
        let asl =
            json!({"States": {"A": {"Resource": "${FnArn}", "Parameters": {"x": "a${B}c${C}"}}}});
        let found: Vec<_> = placeholders(&asl).into_iter().collect();
        assert_eq!(found, ["B", "C", "FnArn"]);
    }
}
