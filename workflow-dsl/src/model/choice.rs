//! Choice rules: Boolean combinations (And, Or, Not) of comparisons, or a JSONata `Condition`.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::Extra;

macro_rules! operators {
    ($($variant:ident),* $(,)?) => {
        /// Every comparison operator of a JSONPath Choice rule, in its literal and `...Path` forms
        /// (<https://states-language.net/spec.html#choice-state>).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ComparisonOperator {
            $($variant),*
        }

        impl ComparisonOperator {
            /// All operators, in specification order.
            pub const ALL: &'static [ComparisonOperator] = &[$(ComparisonOperator::$variant),*];

            /// The ASL field name of the operator (e.g. `NumericLessThanPath`).
            pub fn name(self) -> &'static str {
                match self {
                    $(ComparisonOperator::$variant => stringify!($variant)),*
                }
            }

            /// The operator named `name`, if it is one.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($variant) => Some(ComparisonOperator::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

operators!(
    StringEquals,
    StringEqualsPath,
    StringLessThan,
    StringLessThanPath,
    StringGreaterThan,
    StringGreaterThanPath,
    StringLessThanEquals,
    StringLessThanEqualsPath,
    StringGreaterThanEquals,
    StringGreaterThanEqualsPath,
    StringMatches,
    NumericEquals,
    NumericEqualsPath,
    NumericLessThan,
    NumericLessThanPath,
    NumericGreaterThan,
    NumericGreaterThanPath,
    NumericLessThanEquals,
    NumericLessThanEqualsPath,
    NumericGreaterThanEquals,
    NumericGreaterThanEqualsPath,
    BooleanEquals,
    BooleanEqualsPath,
    TimestampEquals,
    TimestampEqualsPath,
    TimestampLessThan,
    TimestampLessThanPath,
    TimestampGreaterThan,
    TimestampGreaterThanPath,
    TimestampLessThanEquals,
    TimestampLessThanEqualsPath,
    TimestampGreaterThanEquals,
    TimestampGreaterThanEqualsPath,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
);

impl ComparisonOperator {
    /// True for the `...Path` forms, whose operand is a path into the state input.
    pub fn is_path(self) -> bool {
        self.name().ends_with("Path")
    }

    /// True for the type tests (`IsNull`, `IsPresent`, ...), whose operand is a boolean.
    pub fn is_type_test(self) -> bool {
        self.name().starts_with("Is")
    }
}

/// One rule of a Choice state. Top-level rules have `Next`; rules nested in And/Or/Not do not.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRule {
    pub condition: ChoiceCondition,
    pub next: Option<String>,
    pub comment: Option<String>,
    /// JSONata or JSONPath `Assign` of a top-level rule (variables set when it matches).
    pub assign: Option<Value>,
    /// JSONata `Output` of a top-level rule.
    pub output: Option<Value>,
    /// Keys not recognised (reported by the validator).
    pub extra: Extra,
}

/// What a rule tests.
#[derive(Debug, Clone, PartialEq)]
pub enum ChoiceCondition {
    And(Vec<ChoiceRule>),
    Or(Vec<ChoiceRule>),
    Not(Box<ChoiceRule>),
    /// `Variable` compared with an operator; `operand` is the operator's value as written.
    Comparison {
        variable: String,
        operator: ComparisonOperator,
        operand: Value,
    },
    /// JSONata `Condition`: `true`/`false` or a `{% ... %}` expression.
    Jsonata(Value),
    /// A rule with no recognisable condition (reported by the validator).
    Missing {
        variable: Option<String>,
    },
}

impl ChoiceRule {
    /// A top-level rule going to `next` when `condition` holds.
    pub fn new(condition: ChoiceCondition, next: impl Into<String>) -> Self {
        ChoiceRule {
            condition,
            next: Some(next.into()),
            comment: None,
            assign: None,
            output: None,
            extra: Extra::new(),
        }
    }

    /// A nested rule (inside And/Or/Not), without `Next`.
    pub fn nested(condition: ChoiceCondition) -> Self {
        ChoiceRule {
            condition,
            next: None,
            comment: None,
            assign: None,
            output: None,
            extra: Extra::new(),
        }
    }

    fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        if let Some(comment) = &self.comment {
            map.insert("Comment".into(), Value::String(comment.clone()));
        }
        match &self.condition {
            ChoiceCondition::And(rules) => {
                map.insert(
                    "And".into(),
                    Value::Array(rules.iter().map(|r| Value::Object(r.to_map())).collect()),
                );
            }
            ChoiceCondition::Or(rules) => {
                map.insert(
                    "Or".into(),
                    Value::Array(rules.iter().map(|r| Value::Object(r.to_map())).collect()),
                );
            }
            ChoiceCondition::Not(rule) => {
                map.insert("Not".into(), Value::Object(rule.to_map()));
            }
            ChoiceCondition::Comparison {
                variable,
                operator,
                operand,
            } => {
                map.insert("Variable".into(), Value::String(variable.clone()));
                map.insert(operator.name().into(), operand.clone());
            }
            ChoiceCondition::Jsonata(condition) => {
                map.insert("Condition".into(), condition.clone());
            }
            ChoiceCondition::Missing { variable } => {
                if let Some(variable) = variable {
                    map.insert("Variable".into(), Value::String(variable.clone()));
                }
            }
        }
        if let Some(assign) = &self.assign {
            map.insert("Assign".into(), assign.clone());
        }
        if let Some(output) = &self.output {
            map.insert("Output".into(), output.clone());
        }
        if let Some(next) = &self.next {
            map.insert("Next".into(), Value::String(next.clone()));
        }
        for (k, v) in &self.extra {
            map.insert(k.clone(), v.clone());
        }
        map
    }

    fn from_map(mut map: Map<String, Value>) -> Result<Self, String> {
        fn take_string(map: &mut Map<String, Value>, key: &str) -> Result<Option<String>, String> {
            match map.remove(key) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(other) => Err(format!(
                    "Choice rule field '{key}' must be a string, found {other}"
                )),
            }
        }
        fn take_rules(value: Value, key: &str) -> Result<Vec<ChoiceRule>, String> {
            match value {
                Value::Array(items) => items.into_iter().map(ChoiceRule::from_value).collect(),
                other => Err(format!(
                    "Choice rule field '{key}' must be an array of rules, found {other}"
                )),
            }
        }
        let comment = take_string(&mut map, "Comment")?;
        let next = take_string(&mut map, "Next")?;
        let assign = map.remove("Assign");
        let output = map.remove("Output");
        let condition = if let Some(rules) = map.remove("And") {
            ChoiceCondition::And(take_rules(rules, "And")?)
        } else if let Some(rules) = map.remove("Or") {
            ChoiceCondition::Or(take_rules(rules, "Or")?)
        } else if let Some(rule) = map.remove("Not") {
            ChoiceCondition::Not(Box::new(ChoiceRule::from_value(rule)?))
        } else if let Some(condition) = map.remove("Condition") {
            ChoiceCondition::Jsonata(condition)
        } else {
            let variable = take_string(&mut map, "Variable")?;
            let operator = map.keys().find_map(|k| ComparisonOperator::from_name(k));
            match (variable, operator) {
                (Some(variable), Some(operator)) => {
                    let operand = map.remove(operator.name()).expect("key was found above");
                    ChoiceCondition::Comparison {
                        variable,
                        operator,
                        operand,
                    }
                }
                (variable, _) => ChoiceCondition::Missing { variable },
            }
        };
        Ok(ChoiceRule {
            condition,
            next,
            comment,
            assign,
            output,
            extra: map,
        })
    }

    fn from_value(value: Value) -> Result<Self, String> {
        match value {
            Value::Object(map) => ChoiceRule::from_map(map),
            other => Err(format!(
                "a Choice rule must be a JSON object, found {other}"
            )),
        }
    }
}

impl Serialize for ChoiceRule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ChoiceRule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        ChoiceRule::from_map(map).map_err(D::Error::custom)
    }
}
