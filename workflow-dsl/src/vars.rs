//! Typed workflow variables: a [`Var<T>`] names a variable (`Assign`, read as `$name`) and
//! declares the Rust type of its value, so every assignment and every `$name.field` read is
//! checked against `T`'s schema when the workflow is emitted
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).
//!
//! ```
//! use workflow_dsl::vars::Var;
//!
//! let total: Var<i64> = Var::new("totalCents");
//! assert_eq!(total.to_string(), "$totalCents");
//! assert_eq!(total.expr(), "{% $totalCents %}");
//! assert_eq!(total.at("value"), "{% $totalCents.value %}");
//! ```

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use schemars::JsonSchema;
use serde_json::Value;

use crate::schema::Declared;

/// A workflow variable whose value is a `T`.
pub struct Var<T> {
    name: Cow<'static, str>,
    _value: PhantomData<fn() -> T>,
}

impl<T> Clone for Var<T> {
    fn clone(&self) -> Self {
        Var {
            name: self.name.clone(),
            _value: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Var<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Var(${})", self.name)
    }
}

impl<T> Var<T> {
    /// The variable called `name` (a letter or `_`, then letters, digits or `_`; at most 80
    /// characters; not `states`: checked when the workflow is emitted).
    pub const fn new(name: &'static str) -> Self {
        Var {
            name: Cow::Borrowed(name),
            _value: PhantomData,
        }
    }

    /// The variable's name, without `$`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A JSONata expression reading the whole variable: `{% $name %}`.
    pub fn expr(&self) -> String {
        format!("{{% ${} %}}", self.name)
    }

    /// A JSONata expression reading `path` (`field.sub`) of the variable: `{% $name.path %}`.
    pub fn at(&self, path: &str) -> String {
        format!("{{% ${}.{path} %}}", self.name)
    }
}

/// `$name`, as expressions and JSONPath write it.
impl<T> fmt::Display for Var<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}", self.name)
    }
}

/// One `Assign` entry made through the builder: the variable, its declared type and the value
/// (a literal, a JSONata template, or in JSONPath a path).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assignment {
    /// The `Assign` key (`name`, or `name.$` for a JSONPath path).
    pub key: String,
    pub name: String,
    pub value: Value,
    pub declared: Declared,
}

impl Assignment {
    pub(crate) fn of<T: JsonSchema>(var: &Var<T>, value: Value, path: bool) -> Self {
        let key = if path {
            format!("{}.$", var.name)
        } else {
            var.name.to_string()
        };
        Assignment {
            key,
            name: var.name.to_string(),
            value,
            declared: Declared::of::<T>(),
        }
    }
}

/// Writes `assignments` into an `Assign` object (creating it when needed).
pub(crate) fn write_assign(target: &mut Option<Value>, assignments: &[Assignment]) {
    if assignments.is_empty() {
        return;
    }
    let object = target.get_or_insert_with(|| Value::Object(Default::default()));
    if let Value::Object(map) = object {
        for assignment in assignments {
            map.insert(assignment.key.clone(), assignment.value.clone());
        }
    }
}
