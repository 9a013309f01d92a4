//! Choice rules: Boolean combinations (And, Or, Not) of comparisons, or a JSONata `Condition`.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::Extra;

macro_rules! operators {
    ($($(#[doc = $doc:literal])* $variant:ident),* $(,)?) => {
        /// Every comparison operator of a JSONPath Choice rule, in its literal and `...Path` forms
        /// (<https://states-language.net/spec.html#choice-state>).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ComparisonOperator {
            $($(#[doc = $doc])* $variant),*
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
    /// `StringEquals`: the `Variable` value is a string equal to the operand.
    StringEquals,
    /// `StringEqualsPath`: `StringEquals`, compared with the value at the path the operand gives.
    StringEqualsPath,
    /// `StringLessThan`: the `Variable` value is a string sorting before the operand.
    StringLessThan,
    /// `StringLessThanPath`: `StringLessThan`, compared with the value at the path the operand
    /// gives.
    StringLessThanPath,
    /// `StringGreaterThan`: the `Variable` value is a string sorting after the operand.
    StringGreaterThan,
    /// `StringGreaterThanPath`: `StringGreaterThan`, compared with the value at the path the
    /// operand gives.
    StringGreaterThanPath,
    /// `StringLessThanEquals`: the `Variable` value is a string equal to or sorting before the
    /// operand.
    StringLessThanEquals,
    /// `StringLessThanEqualsPath`: `StringLessThanEquals`, compared with the value at the path the
    /// operand gives.
    StringLessThanEqualsPath,
    /// `StringGreaterThanEquals`: the `Variable` value is a string equal to or sorting after the
    /// operand.
    StringGreaterThanEquals,
    /// `StringGreaterThanEqualsPath`: `StringGreaterThanEquals`, compared with the value at the
    /// path the operand gives.
    StringGreaterThanEqualsPath,
    /// `StringMatches`: the `Variable` value is a string matching the operand, a pattern in which
    /// `*` matches any run of characters.
    StringMatches,
    /// `NumericEquals`: the `Variable` value is a number equal to the operand.
    NumericEquals,
    /// `NumericEqualsPath`: `NumericEquals`, compared with the value at the path the operand gives.
    NumericEqualsPath,
    /// `NumericLessThan`: the `Variable` value is a number less than the operand.
    NumericLessThan,
    /// `NumericLessThanPath`: `NumericLessThan`, compared with the value at the path the operand
    /// gives.
    NumericLessThanPath,
    /// `NumericGreaterThan`: the `Variable` value is a number greater than the operand.
    NumericGreaterThan,
    /// `NumericGreaterThanPath`: `NumericGreaterThan`, compared with the value at the path the
    /// operand gives.
    NumericGreaterThanPath,
    /// `NumericLessThanEquals`: the `Variable` value is a number less than or equal to the operand.
    NumericLessThanEquals,
    /// `NumericLessThanEqualsPath`: `NumericLessThanEquals`, compared with the value at the path
    /// the operand gives.
    NumericLessThanEqualsPath,
    /// `NumericGreaterThanEquals`: the `Variable` value is a number greater than or equal to the
    /// operand.
    NumericGreaterThanEquals,
    /// `NumericGreaterThanEqualsPath`: `NumericGreaterThanEquals`, compared with the value at the
    /// path the operand gives.
    NumericGreaterThanEqualsPath,
    /// `BooleanEquals`: the `Variable` value is a boolean equal to the operand.
    BooleanEquals,
    /// `BooleanEqualsPath`: `BooleanEquals`, compared with the value at the path the operand gives.
    BooleanEqualsPath,
    /// `TimestampEquals`: the `Variable` value is a timestamp equal to the operand.
    TimestampEquals,
    /// `TimestampEqualsPath`: `TimestampEquals`, compared with the value at the path the operand
    /// gives.
    TimestampEqualsPath,
    /// `TimestampLessThan`: the `Variable` value is a timestamp earlier than the operand.
    TimestampLessThan,
    /// `TimestampLessThanPath`: `TimestampLessThan`, compared with the value at the path the
    /// operand gives.
    TimestampLessThanPath,
    /// `TimestampGreaterThan`: the `Variable` value is a timestamp later than the operand.
    TimestampGreaterThan,
    /// `TimestampGreaterThanPath`: `TimestampGreaterThan`, compared with the value at the path the
    /// operand gives.
    TimestampGreaterThanPath,
    /// `TimestampLessThanEquals`: the `Variable` value is a timestamp equal to or earlier than the
    /// operand.
    TimestampLessThanEquals,
    /// `TimestampLessThanEqualsPath`: `TimestampLessThanEquals`, compared with the value at the
    /// path the operand gives.
    TimestampLessThanEqualsPath,
    /// `TimestampGreaterThanEquals`: the `Variable` value is a timestamp equal to or later than the
    /// operand.
    TimestampGreaterThanEquals,
    /// `TimestampGreaterThanEqualsPath`: `TimestampGreaterThanEquals`, compared with the value at
    /// the path the operand gives.
    TimestampGreaterThanEqualsPath,
    /// `IsNull`: the `Variable` value is `null` (operand `true`) or is not (operand `false`).
    IsNull,
    /// `IsPresent`: the `Variable` path exists in the input (operand `true`) or does not (`false`).
    IsPresent,
    /// `IsNumeric`: the `Variable` value is a number (operand `true`) or is not (operand `false`).
    IsNumeric,
    /// `IsString`: the `Variable` value is a string (operand `true`) or is not (operand `false`).
    IsString,
    /// `IsBoolean`: the `Variable` value is a boolean (operand `true`) or is not (operand `false`).
    IsBoolean,
    /// `IsTimestamp`: the `Variable` value is a timestamp string (operand `true`) or is not
    /// (`false`).
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

    /// The JSON type the operator compares (`"string"`, `"number"`, `"boolean"`, or
    /// `"timestamp"`, a string holding an RFC 3339 timestamp); `None` for the type tests.
    pub fn compared_type(self) -> Option<&'static str> {
        let name = self.name();
        if self.is_type_test() {
            None
        } else if name.starts_with("String") {
            Some("string")
        } else if name.starts_with("Numeric") {
            Some("number")
        } else if name.starts_with("Boolean") {
            Some("boolean")
        } else if name.starts_with("Timestamp") {
            Some("timestamp")
        } else {
            None
        }
    }
}

/// One rule of a Choice state. Top-level rules have `Next`; rules nested in And/Or/Not do not.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRule {
    /// What the rule tests: a comparison, an `And`/`Or`/`Not` of nested rules, or a JSONata
    /// `Condition`.
    pub condition: ChoiceCondition,
    /// `Next`: the state to move to when the rule matches (top-level rules only).
    pub next: Option<String>,
    /// `Comment`: a human-readable description of the rule.
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
    /// `And`: matches when every nested rule matches.
    And(Vec<ChoiceRule>),
    /// `Or`: matches when at least one nested rule matches.
    Or(Vec<ChoiceRule>),
    /// `Not`: matches when the nested rule does not.
    Not(Box<ChoiceRule>),
    /// `Variable` compared with an operator; `operand` is the operator's value as written.
    Comparison {
        /// `Variable`: the path to the value under test.
        variable: String,
        /// The comparison operator field (e.g. `NumericGreaterThan`).
        operator: ComparisonOperator,
        /// The operator's value: a literal, or a path for the `...Path` operators.
        operand: Value,
    },
    /// JSONata `Condition`: `true`/`false` or a `{% ... %}` expression.
    Jsonata(Value),
    /// A rule with no recognisable condition (reported by the validator).
    Missing {
        /// The rule's `Variable`, if it has one.
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
