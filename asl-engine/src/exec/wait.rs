//! Wait states: how long to wait (Seconds, Timestamp, their paths and JSONata forms).

use super::*;

impl Run<'_> {
    pub(super) fn wait_duration(
        &self,
        st: &St<'_>,
        raw: &Value,
        spec: &WaitSpec,
        scope: &Scope,
    ) -> Result<chrono::Duration, Thrown> {
        let jsonata = st.node.io.jsonata;
        let until = |t: DateTime<chrono::FixedOffset>| {
            let d = t.with_timezone(&Utc) - self.clock.now();
            d.max(chrono::Duration::zero())
        };
        match spec {
            WaitSpec::Seconds(n) => {
                let secs = self.num_spec(st, raw, n, scope, "Seconds")?;
                if secs < 0.0 {
                    return Err(Thrown::runtime(
                        if jsonata {
                            names::QUERY_EVALUATION_ERROR
                        } else {
                            names::RUNTIME
                        },
                        format!("The Seconds field must be a non-negative integer, but was {secs}"),
                    ));
                }
                Ok(chrono::Duration::milliseconds((secs * 1000.0) as i64))
            }
            WaitSpec::TimestampPath(p) => {
                let env = self.penv(raw, scope, st, None);
                let v = env.resolve(p)?.ok_or_else(|| invalid_path(p))?;
                match v.as_str().and_then(parse_timestamp) {
                    Some(t) => Ok(until(t)),
                    None => Err(Thrown::runtime(
                        names::RUNTIME,
                        format!(
                            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {}",
                            p.as_str(),
                            v.as_str().map(str::to_string).unwrap_or_else(|| to_json(&v))
                        ),
                    )),
                }
            }
            WaitSpec::Timestamp(s) => {
                let text = match s {
                    StrSpec::Lit(t) => t.clone(),
                    StrSpec::Expr(e) => {
                        let states = self.states_value(raw, st, None, None, None);
                        let v = jsonata::eval_template(
                            e,
                            &JEnv {
                                states: &states,
                                scope,
                            },
                            "Timestamp",
                        )?;
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| to_json(&v))
                    }
                    _ => String::new(),
                };
                match parse_timestamp(&text) {
                    Some(t) => Ok(until(t)),
                    None => Err(Thrown::runtime(
                        if jsonata { names::QUERY_EVALUATION_ERROR } else { names::RUNTIME },
                        format!("The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {text}"),
                    )),
                }
            }
        }
    }
}
