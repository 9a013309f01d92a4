//! Resolves CloudFormation intrinsic functions in the loaded template the way CloudFormation
//! would for one stack: parameters (with `Stage` chosen), pseudo parameters, conditions, and the
//! `Ref`/`Fn::GetAtt` values of the resources created so far.
//!
//! Intrinsic function reference:
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html>.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The account moto uses unless told otherwise (its `DEFAULT_ACCOUNT_ID`).
pub const ACCOUNT_ID: &str = "123456789012";
/// The region of the local stack.
pub const REGION: &str = "us-east-1";

/// Why a value could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// It refers to a resource that has no physical id yet (create that one first).
    #[error("resource {0} is not created yet")]
    Pending(String),
    /// It is malformed, or uses something this resolver does not support.
    #[error("{0}")]
    Invalid(String),
}

/// The physical id (`Ref`) and attributes (`Fn::GetAtt`) of one created resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Physical {
    pub id: String,
    pub attributes: BTreeMap<String, String>,
}

impl Physical {
    pub fn new(id: impl Into<String>) -> Self {
        Physical {
            id: id.into(),
            attributes: BTreeMap::new(),
        }
    }

    pub fn with(mut self, attribute: &str, value: impl Into<String>) -> Self {
        self.attributes.insert(attribute.to_string(), value.into());
        self
    }
}

/// One stack's resolution context.
pub struct Stack<'t> {
    template: &'t Value,
    parameters: BTreeMap<String, String>,
    /// Physical ids and attributes of the resources created so far, by logical id.
    pub resources: BTreeMap<String, Physical>,
}

impl<'t> Stack<'t> {
    /// A stack of `template` with parameter defaults, overridden by `overrides` (`Stage=dev`).
    pub fn new(template: &'t Value, overrides: &[(&str, &str)]) -> Self {
        let mut parameters = BTreeMap::new();
        if let Some(params) = template["Parameters"].as_object() {
            for (name, spec) in params {
                if let Some(default) = scalar_text(&spec["Default"]) {
                    parameters.insert(name.clone(), default);
                }
            }
        }
        for (name, value) in overrides {
            parameters.insert(name.to_string(), value.to_string());
        }
        Stack {
            template,
            parameters,
            resources: BTreeMap::new(),
        }
    }

    /// The stack name CloudFormation would show (`shop-dev`).
    pub fn stack_name(&self) -> String {
        format!(
            "shop-{}",
            self.parameters.get("Stage").map_or("dev", String::as_str)
        )
    }

    /// The template this stack resolves.
    pub fn template(&self) -> &'t Value {
        self.template
    }

    /// Records a created resource.
    pub fn insert(&mut self, logical_id: &str, physical: Physical) {
        self.resources.insert(logical_id.to_string(), physical);
    }

    /// The resource definition of a logical id.
    pub fn resource(&self, logical_id: &str) -> Option<&'t Value> {
        self.template["Resources"].get(logical_id)
    }

    /// Resolves every intrinsic function in `value`.
    pub fn resolve(&self, value: &Value) -> Result<Value, ResolveError> {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().expect("one entry");
                match key.as_str() {
                    "Ref" => self.reference(text(arg, "Ref")?).map(Value::String),
                    "Fn::GetAtt" => self.get_att(arg).map(Value::String),
                    "Fn::Sub" => self.sub(arg).map(Value::String),
                    "Fn::Join" => self.join(arg).map(Value::String),
                    "Fn::If" => self.if_(arg),
                    "Fn::FindInMap" => self.find_in_map(arg),
                    "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" | "Condition" => {
                        self.condition_value(value).map(Value::Bool)
                    }
                    "Fn::Select" => self.select(arg),
                    other if other.starts_with("Fn::") => {
                        Err(ResolveError::Invalid(format!("{other} is not supported")))
                    }
                    _ => Ok(Value::Object(self.resolve_map(map)?)),
                }
            }
            Value::Object(map) => Ok(Value::Object(self.resolve_map(map)?)),
            Value::Array(items) => Ok(Value::Array(
                items
                    .iter()
                    .map(|v| self.resolve(v))
                    .collect::<Result<_, _>>()?,
            )),
            other => Ok(other.clone()),
        }
    }

    /// Resolves `value` to a string (numbers and booleans as CloudFormation prints them).
    pub fn resolve_string(&self, value: &Value) -> Result<String, ResolveError> {
        let resolved = self.resolve(value)?;
        scalar_text(&resolved)
            .ok_or_else(|| ResolveError::Invalid(format!("expected a string, got {resolved}")))
    }

    fn resolve_map(&self, map: &Map<String, Value>) -> Result<Map<String, Value>, ResolveError> {
        let mut out = Map::new();
        for (key, value) in map {
            let resolved = self.resolve(value)?;
            // `!If [cond, x, !Ref AWS::NoValue]` removes the property.
            if resolved != Value::Null || value.is_null() {
                out.insert(key.clone(), resolved);
            }
        }
        Ok(out)
    }

    /// `Ref`: a parameter, a pseudo parameter, or a resource's physical id.
    pub fn reference(&self, name: &str) -> Result<String, ResolveError> {
        if let Some(value) = self.parameters.get(name) {
            return Ok(value.clone());
        }
        match name {
            "AWS::AccountId" => return Ok(ACCOUNT_ID.into()),
            "AWS::Region" => return Ok(REGION.into()),
            "AWS::Partition" => return Ok("aws".into()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".into()),
            "AWS::StackName" => return Ok(self.stack_name()),
            "AWS::StackId" => {
                return Ok(format!(
                    "arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{}/local",
                    self.stack_name()
                ))
            }
            "AWS::NoValue" => return Err(ResolveError::Invalid("AWS::NoValue".into())),
            _ => {}
        }
        if let Some(physical) = self.resources.get(name) {
            return Ok(physical.id.clone());
        }
        if self.resource(name).is_some() {
            return Err(ResolveError::Pending(name.into()));
        }
        Err(ResolveError::Invalid(format!(
            "Ref to unknown parameter or resource {name}"
        )))
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, ResolveError> {
        match self.resources.get(resource) {
            Some(physical) => physical.attributes.get(attribute).cloned().ok_or_else(|| {
                ResolveError::Invalid(format!("{resource} has no attribute {attribute} locally"))
            }),
            None if self.resource(resource).is_some() => {
                Err(ResolveError::Pending(resource.into()))
            }
            None => Err(ResolveError::Invalid(format!(
                "Fn::GetAtt of unknown resource {resource}"
            ))),
        }
    }

    fn get_att(&self, arg: &Value) -> Result<String, ResolveError> {
        match arg.as_array().map(Vec::as_slice) {
            Some([resource, attribute]) => self.attribute(
                text(resource, "Fn::GetAtt")?,
                &self.resolve_string(attribute)?,
            ),
            _ => Err(ResolveError::Invalid(format!(
                "Fn::GetAtt needs [resource, attribute], got {arg}"
            ))),
        }
    }

    fn sub(&self, arg: &Value) -> Result<String, ResolveError> {
        let (pattern, variables) = match arg {
            Value::String(s) => (s.as_str(), Map::new()),
            Value::Array(items) if items.len() == 2 => (
                text(&items[0], "Fn::Sub")?,
                items[1].as_object().cloned().unwrap_or_default(),
            ),
            _ => return Err(ResolveError::Invalid(format!("malformed Fn::Sub {arg}"))),
        };
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(ResolveError::Invalid(format!(
                    "unclosed ${{ in Fn::Sub {pattern:?}"
                )));
            };
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                // `${!Literal}` is the literal text `${Literal}`.
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.get(name) {
                out.push_str(&self.resolve_string(value)?);
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&self.attribute(resource, attribute)?);
            } else {
                out.push_str(&self.reference(name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn join(&self, arg: &Value) -> Result<String, ResolveError> {
        match arg.as_array().map(Vec::as_slice) {
            Some([separator, items]) => {
                let separator = text(separator, "Fn::Join")?;
                let items = self.resolve(items)?;
                let parts = items
                    .as_array()
                    .ok_or_else(|| ResolveError::Invalid("Fn::Join needs a list".into()))?
                    .iter()
                    .map(|v| {
                        scalar_text(v).ok_or_else(|| {
                            ResolveError::Invalid(format!("Fn::Join of a non-string {v}"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(parts.join(separator))
            }
            _ => Err(ResolveError::Invalid(format!("malformed Fn::Join {arg}"))),
        }
    }

    fn select(&self, arg: &Value) -> Result<Value, ResolveError> {
        match arg.as_array().map(Vec::as_slice) {
            Some([index, items]) => {
                let index: usize = self
                    .resolve_string(index)?
                    .parse()
                    .map_err(|_| ResolveError::Invalid(format!("bad Fn::Select index {index}")))?;
                let items = self.resolve(items)?;
                items.get(index).cloned().ok_or_else(|| {
                    ResolveError::Invalid(format!("Fn::Select index {index} out of range"))
                })
            }
            _ => Err(ResolveError::Invalid(format!("malformed Fn::Select {arg}"))),
        }
    }

    fn if_(&self, arg: &Value) -> Result<Value, ResolveError> {
        match arg.as_array().map(Vec::as_slice) {
            Some([condition, then, otherwise]) => {
                let chosen = if self.condition(text(condition, "Fn::If")?)? {
                    then
                } else {
                    otherwise
                };
                if chosen == &serde_json::json!({"Ref": "AWS::NoValue"}) {
                    return Ok(Value::Null);
                }
                self.resolve(chosen)
            }
            _ => Err(ResolveError::Invalid(format!("malformed Fn::If {arg}"))),
        }
    }

    fn find_in_map(&self, arg: &Value) -> Result<Value, ResolveError> {
        match arg.as_array().map(Vec::as_slice) {
            Some([map, top, second]) => {
                let (map, top, second) = (
                    self.resolve_string(map)?,
                    self.resolve_string(top)?,
                    self.resolve_string(second)?,
                );
                let value = &self.template["Mappings"][&map][&top][&second];
                if value.is_null() {
                    return Err(ResolveError::Invalid(format!(
                        "Fn::FindInMap [{map}, {top}, {second}] has no value"
                    )));
                }
                Ok(value.clone())
            }
            _ => Err(ResolveError::Invalid(format!(
                "malformed Fn::FindInMap {arg}"
            ))),
        }
    }

    /// The value of a named condition of the template's `Conditions`.
    pub fn condition(&self, name: &str) -> Result<bool, ResolveError> {
        let definition = self.template["Conditions"]
            .get(name)
            .ok_or_else(|| ResolveError::Invalid(format!("unknown condition {name}")))?;
        self.condition_value(definition)
    }

    fn condition_value(&self, value: &Value) -> Result<bool, ResolveError> {
        let Some((key, arg)) = value.as_object().and_then(|m| m.iter().next()) else {
            return Err(ResolveError::Invalid(format!("not a condition: {value}")));
        };
        let items = || {
            arg.as_array()
                .ok_or_else(|| ResolveError::Invalid(format!("{key} needs a list")))
        };
        match key.as_str() {
            "Condition" => self.condition(text(arg, "Condition")?),
            "Fn::Equals" => match items()?.as_slice() {
                [a, b] => Ok(self.resolve(a)? == self.resolve(b)?),
                _ => Err(ResolveError::Invalid("Fn::Equals needs two values".into())),
            },
            "Fn::Not" => match items()?.as_slice() {
                [a] => Ok(!self.condition_value(a)?),
                _ => Err(ResolveError::Invalid("Fn::Not needs one condition".into())),
            },
            "Fn::And" => {
                let mut all = true;
                for item in items()? {
                    all &= self.condition_value(item)?;
                }
                Ok(all)
            }
            "Fn::Or" => {
                let mut any = false;
                for item in items()? {
                    any |= self.condition_value(item)?;
                }
                Ok(any)
            }
            other => Err(ResolveError::Invalid(format!(
                "{other} is not a condition function"
            ))),
        }
    }
}

fn text<'a>(value: &'a Value, function: &str) -> Result<&'a str, ResolveError> {
    value
        .as_str()
        .ok_or_else(|| ResolveError::Invalid(format!("{function} needs a string, got {value}")))
}

/// A scalar as CloudFormation turns it into a string.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::template;

    const TEMPLATE: &str = r#"
Parameters:
  Stage: {Type: String, Default: prod}
Mappings:
  Settings:
    dev: {Days: 14}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
Resources:
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub "shop-${Stage}-q"}}
  Dlq: {Type: AWS::SQS::Queue}
"#;

    #[test]
    fn resolves_parameters_pseudo_parameters_and_sub() {
        let template = template::parse(TEMPLATE).unwrap();
        let stack = Stack::new(&template, &[("Stage", "dev")]);
        let name = &template["Resources"]["Queue"]["Properties"]["QueueName"];
        assert_eq!(stack.resolve_string(name).unwrap(), "shop-dev-q");
        let sub =
            json!({"Fn::Sub": "arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${!Keep}"});
        assert_eq!(
            stack.resolve_string(&sub).unwrap(),
            "arn:aws:x:us-east-1:123456789012:${Keep}"
        );
        let with_vars = json!({"Fn::Sub": ["${A}-${Stage}", {"A": {"Ref": "AWS::Region"}}]});
        assert_eq!(stack.resolve_string(&with_vars).unwrap(), "us-east-1-dev");
    }

    #[test]
    fn conditions_mappings_and_if() {
        let template = template::parse(TEMPLATE).unwrap();
        let stack = Stack::new(&template, &[("Stage", "dev")]);
        assert!(!stack.condition("IsProd").unwrap());
        assert!(stack.condition("NotProd").unwrap());
        let value = json!({"Fn::If": ["IsProd", "ACTIVE", "INACTIVE"]});
        assert_eq!(stack.resolve(&value).unwrap(), json!("INACTIVE"));
        let mapped = json!({"Fn::FindInMap": ["Settings", {"Ref": "Stage"}, "Days"]});
        assert_eq!(stack.resolve(&mapped).unwrap(), json!(14));
        let removed = json!({"A": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]}, "B": 2});
        assert_eq!(stack.resolve(&removed).unwrap(), json!({"B": 2}));
    }

    #[test]
    fn resources_are_pending_until_created() {
        let template = template::parse(TEMPLATE).unwrap();
        let mut stack = Stack::new(&template, &[("Stage", "dev")]);
        let arn = json!({"Fn::GetAtt": ["Dlq", "Arn"]});
        assert_eq!(
            stack.resolve(&arn),
            Err(ResolveError::Pending("Dlq".into()))
        );
        assert!(matches!(
            stack.resolve(&json!({"Ref": "Nope"})),
            Err(ResolveError::Invalid(_))
        ));
        stack.insert("Dlq", Physical::new("http://q/dlq").with("Arn", "arn:dlq"));
        assert_eq!(stack.resolve(&arn).unwrap(), json!("arn:dlq"));
        assert_eq!(
            stack
                .resolve_string(&json!({"Fn::Sub": "${Dlq}|${Dlq.Arn}"}))
                .unwrap(),
            "http://q/dlq|arn:dlq"
        );
    }
}
