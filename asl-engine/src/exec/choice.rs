//! Choice states: JSONPath rules (comparisons, globs, And/Or/Not) and JSONata conditions.

use super::*;
use crate::compile::{Compared, Ordered};

impl Run<'_> {
    pub(super) fn choice(
        &self,
        st: &mut St<'_>,
        raw: Value,
        rules: &[crate::compile::Rule],
        default: Option<usize>,
        scope: &mut Scope,
    ) -> Result<(Value, Option<usize>), Thrown> {
        let io = &st.node.io;
        if io.jsonata {
            let states = self.states_value(&raw, st, None, None, None);
            let mut chosen = None;
            {
                let env = JEnv {
                    states: &states,
                    scope,
                };
                for (i, r) in rules.iter().enumerate() {
                    if self.eval_cond_jsonata(&r.cond, &env, i)? {
                        chosen = Some(r);
                        break;
                    }
                }
            }
            let (next, assign, output) = match chosen {
                Some(r) => (
                    r.next,
                    r.assign.as_ref(),
                    r.output.as_ref().or(io.output.as_ref()),
                ),
                None => match default {
                    Some(d) => (d, io.assign.as_ref(), io.output.as_ref()),
                    None => return Err(no_choice()),
                },
            };
            let out = match output {
                Some(o) => jsonata::eval_template(
                    o,
                    &JEnv {
                        states: &states,
                        scope,
                    },
                    "Output",
                )?,
                None => raw,
            };
            let assigned = self.assign(st, assign, &Value::Null, Some(&states), scope)?;
            self.commit(st, assigned, scope);
            return Ok((out, Some(next)));
        }
        let eff = self.input_path(st, &raw, scope)?.unwrap_or(raw);
        self.inspect(st, "afterInputPath", || eff.clone());
        let mut chosen = None;
        {
            let env = self.penv(&eff, scope, st, None);
            for r in rules {
                if eval_cond(&r.cond, &env)? {
                    chosen = Some(r);
                    break;
                }
            }
        }
        let (next, assign) = match chosen {
            Some(r) => (r.next, r.assign.as_ref()),
            None => match default {
                Some(d) => (d, io.assign.as_ref()),
                None => return Err(no_choice()),
            },
        };
        let assigned = self.assign(st, assign, &eff, None, scope)?;
        let out = self.output_path(st, eff, scope)?;
        self.commit(st, assigned, scope);
        Ok((out, Some(next)))
    }

    pub(super) fn eval_cond_jsonata(
        &self,
        c: &Cond,
        env: &JEnv<'_>,
        i: usize,
    ) -> Result<bool, Thrown> {
        match c {
            Cond::Jsonata(v) => match v {
                Value::Bool(b) => Ok(*b),
                other => Ok(jsonata::eval_typed(
                    other,
                    env,
                    &format!("Choices/{i}/Condition"),
                    "boolean",
                )?
                .as_bool()
                .unwrap_or(false)),
            },
            _ => Err(Thrown::runtime(
                names::QUERY_EVALUATION_ERROR,
                "JSONata Choice rules must use Condition",
            )),
        }
    }
}

pub(super) fn no_choice() -> Thrown {
    Thrown::runtime(
        names::NO_CHOICE_MATCHED,
        "No Choice rule matched and the Choice state has no Default",
    )
}

pub(super) fn eval_cond(c: &Cond, env: &PEnv<'_>) -> Result<bool, Thrown> {
    match c {
        Cond::And(cs) => {
            for c in cs {
                if !eval_cond(c, env)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Cond::Or(cs) => {
            for c in cs {
                if eval_cond(c, env)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Cond::Not(c) => Ok(!eval_cond(c, env)?),
        Cond::Jsonata(_) => Err(Thrown::runtime(
            names::RUNTIME,
            "A Condition is only valid in a JSONata Choice state",
        )),
        Cond::Cmp {
            var,
            op,
            operand,
            ordering,
        } => {
            let value = env.resolve(var)?;
            if *op == Op::IsPresent {
                let expect = matches!(operand, Operand::Value(Value::Bool(true)));
                return Ok(value.is_some() == expect);
            }
            let Some(value) = value else {
                return Err(Thrown::runtime(
                    names::RUNTIME,
                    format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        var.as_str()
                    ),
                ));
            };
            compare(&value, *op, *ordering, operand, env)
        }
    }
}

pub(super) fn compare(
    v: &Value,
    op: Op,
    ordering: Option<Ordered>,
    operand: &Operand,
    env: &PEnv<'_>,
) -> Result<bool, Thrown> {
    use std::cmp::Ordering;
    let is_test = |b: bool| -> bool {
        let expect = matches!(operand, Operand::Value(Value::Bool(true)));
        b == expect
    };
    match op {
        Op::IsNull => return Ok(is_test(v.is_null())),
        Op::IsNumeric => return Ok(is_test(v.is_number())),
        Op::IsString => return Ok(is_test(v.is_string())),
        Op::IsBoolean => return Ok(is_test(v.is_boolean())),
        Op::IsTimestamp => return Ok(is_test(v.as_str().and_then(parse_timestamp).is_some())),
        Op::StringMatches => {
            let (Some(s), Operand::Glob(g)) = (v.as_str(), operand) else {
                return Ok(false);
            };
            return Ok(glob_match(g, &s.chars().collect::<Vec<_>>()));
        }
        _ => {}
    }
    // The other operand, literal or from a path.
    let other: Cow<'_, Value> = match operand {
        Operand::Value(x) => Cow::Borrowed(x),
        Operand::Path(p) => match env.resolve(p)? {
            Some(x) => x,
            None => {
                return Err(Thrown::runtime(
                    names::RUNTIME,
                    format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        p.as_str()
                    ),
                ))
            }
        },
        Operand::Timestamp(t) => {
            let (Some(a), Some(b)) = (v.as_str().and_then(parse_timestamp), t) else {
                return Ok(false);
            };
            return Ok(ordering.is_some_and(|c| c.relation.holds(a.cmp(b))));
        }
        Operand::Glob(_) => return Ok(false),
    };
    let Some(Ordered { compared, relation }) = ordering else {
        return Ok(false);
    };
    let ord: Option<Ordering> = match compared {
        Compared::String => match (v, other.as_ref()) {
            (Value::String(a), Value::String(b)) => Some(a.as_str().cmp(b.as_str())),
            _ => None,
        },
        Compared::Numeric => match (v, other.as_ref()) {
            (Value::Number(a), Value::Number(b)) => {
                if json_eq(v, other.as_ref()) {
                    Some(Ordering::Equal)
                } else {
                    a.as_f64().partial_cmp(&b.as_f64())
                }
            }
            _ => None,
        },
        Compared::Boolean => match (v, other.as_ref()) {
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            _ => None,
        },
        Compared::Timestamp => match (
            v.as_str().and_then(parse_timestamp),
            other.as_str().and_then(parse_timestamp),
        ) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => None,
        },
    };
    Ok(ord.is_some_and(|o| relation.holds(o)))
}

pub(super) fn glob_match(p: &[GlobTok], s: &[char]) -> bool {
    // Iterative wildcard matching with backtracking to the last star.
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(GlobTok::Lit(c)) if *c == s[si] => {
                pi += 1;
                si += 1;
            }
            Some(GlobTok::Star) => {
                star = Some((pi, si));
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|t| *t == GlobTok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::glob;

    #[test]
    fn string_matches() {
        let m = |p: &str, s: &str| glob_match(&glob(p), &s.chars().collect::<Vec<_>>());
        assert!(m("log-*.txt", "log-2024.txt"));
        assert!(!m("log-*.txt", "log-2024.csv"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("*", ""));
        assert!(m("a*b*c", "aXXbYYc"));
    }
}
