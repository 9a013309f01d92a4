//! JSONPath payload templates (`Parameters`, `ResultSelector`, `ItemSelector`, `Assign`): keys ending in
//! `.$` take their value from a path or an intrinsic function; everything else is literal
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html>).

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::error::{names, to_json, Thrown};
use crate::intrinsics::Call;
use crate::jsonpath::Path;

/// Resolves paths for template evaluation (`$`, `$$`, `$var`).
pub(crate) trait Resolver {
    fn resolve(&self, path: &Path) -> Result<Option<Cow<'_, Value>>, Thrown>;
    /// The document `$` designates, for error messages.
    fn input(&self) -> &Value;
}

#[derive(Debug, Clone)]
pub(crate) enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path { path: Path, field: String },
    Intrinsic { call: Call },
}

/// A value taken from a path or an intrinsic function (the value of a `.$` key or a `*Path` field).
#[derive(Debug, Clone)]
pub(crate) enum Dynamic {
    Path(Path),
    Intrinsic(Call),
}

impl Dynamic {
    pub fn parse(text: &str) -> Result<Dynamic, String> {
        if text.starts_with('$') {
            Path::parse(text)
                .map(Dynamic::Path)
                .map_err(|e| e.to_string())
        } else if Call::looks_like(text) {
            Call::parse(text).map(Dynamic::Intrinsic)
        } else {
            Err(format!(
                "'{text}' is neither a JSONPath nor an intrinsic function"
            ))
        }
    }

    pub fn text(&self) -> &str {
        match self {
            Dynamic::Path(p) => p.as_str(),
            Dynamic::Intrinsic(c) => c.as_str(),
        }
    }

    /// Evaluates; `Ok(None)` when a path matches nothing.
    pub fn eval(&self, r: &dyn Resolver) -> Result<Option<Value>, Thrown> {
        match self {
            Dynamic::Path(p) => Ok(r.resolve(p)?.map(Cow::into_owned)),
            Dynamic::Intrinsic(c) => c
                .eval(&|p: &Path| Ok(r.resolve(p)?.map(Cow::into_owned)))
                .map(Some),
        }
    }
}

impl Template {
    pub fn compile(v: &Value) -> Result<Template, String> {
        let t = Self::compile_inner(v)?;
        Ok(t)
    }

    fn compile_inner(v: &Value) -> Result<Template, String> {
        match v {
            Value::Object(m) => {
                let mut fields = Vec::with_capacity(m.len());
                let mut all_literal = true;
                for (k, val) in m {
                    if let Some(stripped) = k.strip_suffix(".$") {
                        let Value::String(s) = val else {
                            return Err(format!(
                                "the value of field '{k}' must be a string holding a path or an intrinsic function"
                            ));
                        };
                        all_literal = false;
                        let t = match Dynamic::parse(s).map_err(|e| format!("field '{k}': {e}"))? {
                            Dynamic::Path(path) => Template::Path {
                                path,
                                field: k.clone(),
                            },
                            Dynamic::Intrinsic(call) => Template::Intrinsic { call },
                        };
                        fields.push((stripped.to_string(), t));
                    } else {
                        let t = Self::compile_inner(val)?;
                        if !matches!(t, Template::Literal(_)) {
                            all_literal = false;
                        }
                        fields.push((k.clone(), t));
                    }
                }
                if all_literal {
                    Ok(Template::Literal(v.clone()))
                } else {
                    Ok(Template::Object(fields))
                }
            }
            Value::Array(items) => {
                let ts = items
                    .iter()
                    .map(Self::compile_inner)
                    .collect::<Result<Vec<_>, _>>()?;
                if ts.iter().all(|t| matches!(t, Template::Literal(_))) {
                    Ok(Template::Literal(v.clone()))
                } else {
                    Ok(Template::Array(ts))
                }
            }
            other => Ok(Template::Literal(other.clone())),
        }
    }

    pub fn eval(&self, r: &dyn Resolver) -> Result<Value, Thrown> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(fields) => {
                let mut m = Map::with_capacity(fields.len());
                for (k, t) in fields {
                    m.insert(k.clone(), t.eval(r)?);
                }
                Ok(Value::Object(m))
            }
            Template::Array(items) => Ok(Value::Array(
                items.iter().map(|t| t.eval(r)).collect::<Result<_, _>>()?,
            )),
            Template::Path { path, field } => match r.resolve(path)? {
                Some(v) => Ok(v.into_owned()),
                None => Err(Thrown::runtime(
                    names::RUNTIME,
                    format!(
                        "The JSONPath '{}' specified for the field '{}' could not be found in the input '{}'",
                        path.as_str(),
                        field,
                        to_json(r.input())
                    ),
                )),
            },
            Template::Intrinsic { call, .. } => {
                call.eval(&|p: &Path| Ok(r.resolve(p)?.map(Cow::into_owned)))
            }
        }
    }

    /// For `Assign`: the (variable name, template) pairs of a top-level object.
    pub fn fields(&self) -> Vec<(String, Template)> {
        match self {
            Template::Object(f) => f.clone(),
            Template::Literal(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), Template::Literal(v.clone())))
                .collect(),
            _ => Vec::new(),
        }
    }
}
