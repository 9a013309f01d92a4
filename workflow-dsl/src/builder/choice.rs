//! Choice states: conditions for every comparison operator, And/Or/Not, and the branch builder.

use std::marker::PhantomData;

use serde_json::{Number, Value};

use super::{Branch, Flow, Graph, Hole};
use crate::model::{ChoiceCondition, ChoiceRule, ComparisonOperator, State};

/// A Choice condition. `variable` arguments are JSONPaths into the state input (checked at emit).
///
/// ```
/// use workflow_dsl::builder::Cond;
///
/// let paid = Cond::string_equals("$.status", "PAID")
///     .and(Cond::numeric_greater_than("$.totalCents", 0))
///     .and(!Cond::is_null("$.paymentId"));
/// let either = Cond::or([Cond::is_present("$.coupon"), Cond::boolean_equals("$.vip", true)]);
/// # let _ = (paid, either);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Cond(ChoiceCondition);

macro_rules! literal_ops {
    ($($(#[$m:meta])* $fn:ident => $op:ident ($ty:ty, $conv:expr);)*) => {
        $(
            $(#[$m])*
            pub fn $fn(variable: &str, value: $ty) -> Cond {
                #[allow(clippy::redundant_closure_call)]
                Cond::compare(variable, ComparisonOperator::$op, ($conv)(value))
            }
        )*
    };
}

macro_rules! path_ops {
    ($($fn:ident => $op:ident;)*) => {
        $(
            #[doc = concat!("`", stringify!($op), "`: compares `variable` with the value at `other_path`.")]
            pub fn $fn(variable: &str, other_path: &str) -> Cond {
                Cond::compare(variable, ComparisonOperator::$op, Value::String(other_path.to_owned()))
            }
        )*
    };
}

macro_rules! type_tests {
    ($($fn:ident => $op:ident;)*) => {
        $(
            #[doc = concat!("`", stringify!($op), ": true` (negate with `!`).")]
            pub fn $fn(variable: &str) -> Cond {
                Cond::compare(variable, ComparisonOperator::$op, Value::Bool(true))
            }
        )*
    };
}

fn string(value: &str) -> Value {
    Value::String(value.to_owned())
}

fn number(value: impl NumericOperand) -> Value {
    value.into_operand()
}

/// A number a `Numeric*` comparison takes: any Rust integer or float (`12`, `9.99`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a number a Numeric comparison can take",
    note = "pass an integer or a float literal, or compare with another field using the `*_path` form"
)]
pub trait NumericOperand {
    /// The operand as ASL writes it. A float that is not finite (NaN, infinity) has no JSON form:
    /// it becomes `null`, which the emitted workflow's validation reports.
    fn into_operand(self) -> Value;
}

macro_rules! integer_operands {
    ($($t:ty),*) => {$(
        impl NumericOperand for $t {
            fn into_operand(self) -> Value {
                Value::Number(Number::from(self))
            }
        }
    )*};
}
integer_operands!(i8, i16, i32, i64, u8, u16, u32, u64, isize, usize);

impl NumericOperand for f64 {
    fn into_operand(self) -> Value {
        Number::from_f64(self).map_or(Value::Null, Value::Number)
    }
}

impl NumericOperand for f32 {
    fn into_operand(self) -> Value {
        f64::from(self).into_operand()
    }
}

impl NumericOperand for Number {
    fn into_operand(self) -> Value {
        Value::Number(self)
    }
}

impl Cond {
    /// Any comparison, given the operator and its operand as written in ASL.
    pub fn compare(variable: &str, operator: ComparisonOperator, operand: Value) -> Cond {
        Cond(ChoiceCondition::Comparison {
            variable: variable.to_owned(),
            operator,
            operand,
        })
    }

    /// A JSONata `Condition` (for JSONata states).
    pub fn jsonata(condition: &str) -> Cond {
        Cond(ChoiceCondition::Jsonata(Value::String(
            condition.to_owned(),
        )))
    }

    /// All of `conditions` hold.
    pub fn all(conditions: impl IntoIterator<Item = Cond>) -> Cond {
        Cond(ChoiceCondition::And(
            conditions.into_iter().map(Cond::nested).collect(),
        ))
    }

    /// At least one of `conditions` holds.
    pub fn or(conditions: impl IntoIterator<Item = Cond>) -> Cond {
        Cond(ChoiceCondition::Or(
            conditions.into_iter().map(Cond::nested).collect(),
        ))
    }

    /// `self` and `other` hold (flattens nested `And`s).
    pub fn and(self, other: Cond) -> Cond {
        match self.0 {
            ChoiceCondition::And(mut rules) => {
                rules.push(other.nested());
                Cond(ChoiceCondition::And(rules))
            }
            first => Cond(ChoiceCondition::And(vec![
                Cond(first).nested(),
                other.nested(),
            ])),
        }
    }

    /// `self` or `other` holds (flattens nested `Or`s).
    pub fn or_else(self, other: Cond) -> Cond {
        match self.0 {
            ChoiceCondition::Or(mut rules) => {
                rules.push(other.nested());
                Cond(ChoiceCondition::Or(rules))
            }
            first => Cond(ChoiceCondition::Or(vec![
                Cond(first).nested(),
                other.nested(),
            ])),
        }
    }

    /// The negation (also available as `!cond`).
    pub fn negate(self) -> Cond {
        Cond(ChoiceCondition::Not(Box::new(self.nested())))
    }

    /// `IsPresent: false`.
    pub fn is_absent(variable: &str) -> Cond {
        Cond::compare(variable, ComparisonOperator::IsPresent, Value::Bool(false))
    }

    fn nested(self) -> ChoiceRule {
        ChoiceRule::nested(self.0)
    }

    /// The model condition.
    pub fn into_condition(self) -> ChoiceCondition {
        self.0
    }

    literal_ops! {
        /// `StringEquals`.
        string_equals => StringEquals(&str, string);
        /// `StringLessThan`.
        string_less_than => StringLessThan(&str, string);
        /// `StringGreaterThan`.
        string_greater_than => StringGreaterThan(&str, string);
        /// `StringLessThanEquals`.
        string_less_than_equals => StringLessThanEquals(&str, string);
        /// `StringGreaterThanEquals`.
        string_greater_than_equals => StringGreaterThanEquals(&str, string);
        /// `StringMatches`: `*` is a wildcard, `\*` a literal star.
        string_matches => StringMatches(&str, string);
        /// `NumericEquals` (an integer or a float: `Cond::numeric_equals("$.price", 9.99)`).
        numeric_equals => NumericEquals(impl NumericOperand, number);
        /// `NumericLessThan`.
        numeric_less_than => NumericLessThan(impl NumericOperand, number);
        /// `NumericGreaterThan`.
        numeric_greater_than => NumericGreaterThan(impl NumericOperand, number);
        /// `NumericLessThanEquals`.
        numeric_less_than_equals => NumericLessThanEquals(impl NumericOperand, number);
        /// `NumericGreaterThanEquals`.
        numeric_greater_than_equals => NumericGreaterThanEquals(impl NumericOperand, number);
        /// `BooleanEquals`.
        boolean_equals => BooleanEquals(bool, Value::Bool);
        /// `TimestampEquals` (RFC 3339).
        timestamp_equals => TimestampEquals(&str, string);
        /// `TimestampLessThan`.
        timestamp_less_than => TimestampLessThan(&str, string);
        /// `TimestampGreaterThan`.
        timestamp_greater_than => TimestampGreaterThan(&str, string);
        /// `TimestampLessThanEquals`.
        timestamp_less_than_equals => TimestampLessThanEquals(&str, string);
        /// `TimestampGreaterThanEquals`.
        timestamp_greater_than_equals => TimestampGreaterThanEquals(&str, string);
    }

    path_ops! {
        string_equals_path => StringEqualsPath;
        string_less_than_path => StringLessThanPath;
        string_greater_than_path => StringGreaterThanPath;
        string_less_than_equals_path => StringLessThanEqualsPath;
        string_greater_than_equals_path => StringGreaterThanEqualsPath;
        numeric_equals_path => NumericEqualsPath;
        numeric_less_than_path => NumericLessThanPath;
        numeric_greater_than_path => NumericGreaterThanPath;
        numeric_less_than_equals_path => NumericLessThanEqualsPath;
        numeric_greater_than_equals_path => NumericGreaterThanEqualsPath;
        boolean_equals_path => BooleanEqualsPath;
        timestamp_equals_path => TimestampEqualsPath;
        timestamp_less_than_path => TimestampLessThanPath;
        timestamp_greater_than_path => TimestampGreaterThanPath;
        timestamp_less_than_equals_path => TimestampLessThanEqualsPath;
        timestamp_greater_than_equals_path => TimestampGreaterThanEqualsPath;
    }

    type_tests! {
        is_null => IsNull;
        is_present => IsPresent;
        is_numeric => IsNumeric;
        is_string => IsString;
        is_boolean => IsBoolean;
        is_timestamp => IsTimestamp;
    }
}

impl std::ops::Not for Cond {
    type Output = Cond;
    fn not(self) -> Cond {
        self.negate()
    }
}

/// The rules of a Choice state under construction; branches receive `T` and continue with `U`.
#[must_use]
pub struct Choice<T, U> {
    graph: Graph,
    name: String,
    rules: usize,
    holes: Vec<Hole>,
    _types: PhantomData<fn(T) -> U>,
}

impl<T, U> Choice<T, U> {
    pub(super) fn new(graph: Graph, name: String) -> Self {
        Choice {
            graph,
            name,
            rules: 0,
            holes: Vec::new(),
            _types: PhantomData,
        }
    }

    fn state(&mut self) -> &mut crate::model::ChoiceState {
        match self.graph.states.get_mut(&self.name) {
            Some(State::Choice(c)) => c,
            _ => unreachable!("the Choice state was inserted by Flow::choice"),
        }
    }

    fn run_branch<B: Branch<U>>(&mut self, hole: Hole, branch: impl FnOnce(Flow<T>) -> B) {
        let graph = std::mem::take(&mut self.graph);
        let (graph, holes) = branch(Flow::with(graph, vec![hole])).into_parts().split();
        self.graph = graph;
        self.holes.extend(holes);
    }

    /// A rule: when `condition` holds, continue with `branch` (which may be `|f| f` to continue
    /// right after the choice).
    pub fn when<B: Branch<U>>(
        mut self,
        condition: Cond,
        branch: impl FnOnce(Flow<T>) -> B,
    ) -> Self {
        let index = self.rules;
        self.rules += 1;
        self.state()
            .choices
            .push(ChoiceRule::nested(condition.into_condition()));
        let name = self.name.clone();
        self.run_branch(Hole::Rule(name, index), branch);
        self
    }

    /// A rule going to an existing state.
    pub fn when_goto(mut self, condition: Cond, state: &str) -> Self {
        self.rules += 1;
        self.state()
            .choices
            .push(ChoiceRule::new(condition.into_condition(), state));
        self
    }

    /// The `Default` branch, taken when no rule matches.
    pub fn otherwise<B: Branch<U>>(mut self, branch: impl FnOnce(Flow<T>) -> B) -> Self {
        if self.state().default.is_some() {
            let name = self.name.clone();
            self.graph.problem(format!(
                "Choice '{name}' has two `otherwise` branches; keep one"
            ));
        }
        let name = self.name.clone();
        self.run_branch(Hole::Default(name), branch);
        self
    }

    /// The `Default` going to an existing state.
    pub fn otherwise_goto(mut self, state: &str) -> Self {
        self.state().default = Some(state.to_owned());
        self
    }

    /// `Comment` of the Choice state.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.state().comment = Some(comment.into());
        self
    }

    /// Assigns `value` (a literal, or a JSONata template over `$states.input`) to `var` when the
    /// Choice state is left (checked at emit against `V`).
    pub fn assign<V: schemars::JsonSchema>(
        mut self,
        var: &crate::vars::Var<V>,
        value: impl Into<Value>,
    ) -> Self {
        let assignment = crate::vars::Assignment::of(var, value.into(), false);
        let name = self.name.clone();
        self.graph.meta.declare_variable(
            &name,
            assignment.name.clone(),
            assignment.declared.clone(),
        );
        crate::vars::write_assign(&mut self.state().assign, &[assignment]);
        self
    }

    /// `Output` of the Choice state (JSONata states): what every branch receives. The branches'
    /// data type `T` must then describe it (checked at emit).
    pub fn output(mut self, output: impl Into<Value>) -> Self {
        self.state().output = Some(output.into());
        self
    }

    pub(super) fn finish(mut self) -> (Graph, Vec<Hole>) {
        if self.rules == 0 {
            let name = self.name.clone();
            self.graph
                .problem(format!("Choice '{name}' has no rules; add one with `when`"));
        }
        (self.graph, self.holes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_comparisons_take_integers_and_floats() {
        let operand = |c: Cond| match c.into_condition() {
            ChoiceCondition::Comparison { operand, .. } => operand,
            other => panic!("a comparison, not {other:?}"),
        };
        assert_eq!(
            operand(Cond::numeric_less_than("$.price", 9.99)),
            serde_json::json!(9.99)
        );
        assert_eq!(
            operand(Cond::numeric_equals("$.count", 3)),
            serde_json::json!(3)
        );
        assert_eq!(
            operand(Cond::numeric_greater_than("$.x", 0.5f32)),
            serde_json::json!(0.5)
        );
        assert_eq!(operand(Cond::numeric_equals("$.x", f64::NAN)), Value::Null);
    }

    #[test]
    fn a_non_finite_float_fails_at_emit() {
        let flow =
            crate::builder::workflow::<serde_json::Value>("nan").choice_ended("Check", |c| {
                c.when(Cond::numeric_equals("$.x", f64::NAN), |f| f.succeed("Yes"))
                    .otherwise(|f| f.succeed("No"))
            });
        let error = crate::emit::emit(flow).unwrap_err().to_string();
        assert!(error.contains("NumericEquals"), "{error}");
    }
}
