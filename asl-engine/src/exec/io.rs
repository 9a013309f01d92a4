//! The input/output pipeline of a state: InputPath, Parameters/Arguments, ResultSelector,
//! ResultPath, OutputPath and Assign (or JSONata's Output and Assign), Pass states and number fields.

use super::*;

impl Run<'_> {
    /// InputPath: `None` when the effective input is the raw input itself.
    pub(super) fn input_path(
        &self,
        st: &St<'_>,
        raw: &Value,
        scope: &Scope,
    ) -> Result<Option<Value>, Thrown> {
        match &st.node.io.input_path {
            OptPath::Default => Ok(None),
            OptPath::Null => Ok(Some(Value::Object(Map::new()))),
            OptPath::Path(p) => {
                let env = self.penv(raw, scope, st, None);
                match env.resolve(p)? {
                    Some(v) => Ok(Some(v.into_owned())),
                    None => Err(invalid_path(p)),
                }
            }
        }
    }

    pub(super) fn output_path(
        &self,
        st: &St<'_>,
        out: Value,
        scope: &Scope,
    ) -> Result<Value, Thrown> {
        match &st.node.io.output_path {
            OptPath::Default => Ok(out),
            OptPath::Null => Ok(Value::Object(Map::new())),
            OptPath::Path(p) => {
                let env = self.penv(&out, scope, st, None);
                match env.resolve(p)? {
                    Some(v) => Ok(v.into_owned()),
                    None => Err(invalid_path(p)),
                }
            }
        }
    }

    pub(super) fn result_path(rp: &OptPath, raw: Value, result: Value) -> Result<Value, Thrown> {
        match rp {
            OptPath::Default => Ok(result),
            OptPath::Null => Ok(raw),
            OptPath::Path(p) => {
                let mut raw = raw;
                if !p.is_reference() || !p.set(&mut raw, result) {
                    return Err(Thrown::runtime(
                        names::RESULT_PATH_MATCH_FAILURE,
                        format!(
                            "Unable to apply ResultPath \"{}\" to input \"{}\"",
                            p.as_str(),
                            to_json(&raw)
                        ),
                    ));
                }
                Ok(raw)
            }
        }
    }

    /// Evaluates an Assign block, every value with the variables as they were on entering the
    /// state; [`Run::commit`] assigns them once the state's output is made (OutputPath and Output
    /// also see the variables as they were)
    /// (<https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).
    pub(super) fn assign(
        &self,
        st: &St<'_>,
        a: Option<&Assign>,
        dollar: &Value,
        jsonata_states: Option<&Value>,
        scope: &Scope,
    ) -> Result<Vec<(String, Value)>, Thrown> {
        let Some(a) = a else { return Ok(Vec::new()) };
        let mut values = Vec::new();
        match a {
            Assign::Path(fields) => {
                let env = self.penv(dollar, scope, st, None);
                for (k, t) in fields {
                    values.push((k.clone(), t.eval(&env)?));
                }
            }
            Assign::Jsonata(v) => {
                let states = jsonata_states.expect("JSONata assign gets $states");
                let env = JEnv { states, scope };
                let Value::Object(m) = v else {
                    return Err(Thrown::runtime(
                        names::QUERY_EVALUATION_ERROR,
                        "The Assign field must be a JSON object",
                    ));
                };
                for (k, x) in m {
                    values.push((
                        k.clone(),
                        jsonata::eval_template(x, &env, &format!("Assign/{k}"))?,
                    ));
                }
            }
        }
        Ok(values)
    }

    /// Assigns the values an Assign block evaluated to (the state's `assignedVariables`).
    pub(super) fn commit(&self, st: &mut St<'_>, values: Vec<(String, Value)>, scope: &mut Scope) {
        for (k, v) in values {
            if self.rec.enabled() {
                st.assigned.push((k.clone(), v.clone()));
            }
            scope.set(k, v);
        }
    }

    // ---------- Pass, Succeed, Choice, Wait, Fail ----------

    pub(super) fn pass(
        &self,
        st: &mut St<'_>,
        raw: Value,
        result: Option<&Value>,
        scope: &mut Scope,
    ) -> Result<Value, Thrown> {
        let io = &st.node.io;
        if io.jsonata {
            return self.jsonata_finish(st, raw, None, scope);
        }
        let eff = self.input_path(st, &raw, scope)?;
        // With a Result, the input takes no part in the result: no input steps to show.
        if result.is_none() {
            self.inspect(st, "afterInputPath", || {
                eff.clone().unwrap_or_else(|| raw.clone())
            });
        }
        let res: Option<Value> = if let Some(r) = result {
            Some(r.clone())
        } else if let Some(p) = &io.parameters {
            let input = eff.as_ref().unwrap_or(&raw);
            let v = p.eval(&self.penv(input, scope, st, None))?;
            self.inspect(st, "afterParameters", || v.clone());
            Some(v)
        } else {
            eff
        };
        if let Some(r) = result {
            self.inspect(st, "result", || r.clone());
        }
        // A Pass state has no Parameters or ResultSelector step of its own to show otherwise.
        if result.is_none() {
            self.inspect(st, "afterParameters", || {
                res.clone().unwrap_or_else(|| raw.clone())
            });
        }
        self.inspect(st, "afterResultSelector", || {
            res.clone().unwrap_or_else(|| raw.clone())
        });
        let assigned = self.assign(
            st,
            io.assign.as_ref(),
            res.as_ref().unwrap_or(&raw),
            None,
            scope,
        )?;
        let out = match (&io.result_path, res) {
            (OptPath::Default, Some(r)) => r,
            (OptPath::Default, None) => raw,
            (OptPath::Null, _) => raw,
            (rp, r) => {
                let r = r.unwrap_or_else(|| raw.clone());
                Self::result_path(rp, raw, r)?
            }
        };
        self.inspect(st, "afterResultPath", || out.clone());
        let out = self.output_path(st, out, scope)?;
        self.commit(st, assigned, scope);
        Ok(out)
    }

    /// States whose output is their effective input (Succeed, Wait): InputPath then OutputPath.
    pub(super) fn passthrough(
        &self,
        st: &mut St<'_>,
        raw: Value,
        scope: &mut Scope,
    ) -> Result<Value, Thrown> {
        if st.node.io.jsonata {
            return self.jsonata_finish(st, raw, None, scope);
        }
        let eff = self.input_path(st, &raw, scope)?;
        let eff = eff.unwrap_or(raw);
        self.inspect(st, "afterInputPath", || eff.clone());
        let assigned = self.assign(st, st.node.io.assign.as_ref(), &eff, None, scope)?;
        let out = self.output_path(st, eff, scope)?;
        self.commit(st, assigned, scope);
        Ok(out)
    }

    /// JSONata states: Assign and Output see `$states.input` and (for tasks) `$states.result`.
    pub(super) fn jsonata_finish(
        &self,
        st: &mut St<'_>,
        raw: Value,
        result: Option<Value>,
        scope: &mut Scope,
    ) -> Result<Value, Thrown> {
        let io = &st.node.io;
        if io.assign.is_none() && io.output.is_none() {
            return Ok(result.unwrap_or(raw));
        }
        let states = self.states_value(&raw, st, None, result.as_ref(), None);
        let out = match &io.output {
            Some(o) => jsonata::eval_template(
                o,
                &JEnv {
                    states: &states,
                    scope,
                },
                "Output",
            )?,
            None => result.unwrap_or(raw),
        };
        let assigned = self.assign(st, io.assign.as_ref(), &Value::Null, Some(&states), scope)?;
        self.commit(st, assigned, scope);
        Ok(out)
    }

    /// ResultSelector, Assign, ResultPath and OutputPath (or JSONata's Assign and Output) after a
    /// successful attempt.
    pub(super) fn finish(
        &self,
        st: &mut St<'_>,
        raw: Value,
        result: Value,
        scope: &mut Scope,
    ) -> Result<Value, Thrown> {
        let io = &st.node.io;
        if !matches!(st.node.kind, Kind::Map(_)) {
            self.inspect(st, "result", || result.clone());
        }
        if io.jsonata {
            return self.jsonata_finish(st, raw, Some(result), scope);
        }
        let selected = match &io.result_selector {
            Some(t) => t.eval(&self.penv(&result, scope, st, None))?,
            None => result,
        };
        self.inspect(st, "afterResultSelector", || selected.clone());
        let assigned = self.assign(st, io.assign.as_ref(), &selected, None, scope)?;
        let out = Self::result_path(&io.result_path, raw, selected)?;
        self.inspect(st, "afterResultPath", || out.clone());
        let out = self.output_path(st, out, scope)?;
        self.commit(st, assigned, scope);
        Ok(out)
    }

    /// A number field: literal, `*Path` (must be a non-negative integer) or JSONata.
    pub(super) fn num_spec(
        &self,
        st: &St<'_>,
        raw: &Value,
        n: &NumSpec,
        scope: &Scope,
        field: &str,
    ) -> Result<f64, Thrown> {
        match n {
            NumSpec::Lit(x) => Ok(*x),
            NumSpec::Path(p) => {
                let env = self.penv(raw, scope, st, None);
                let v = env.resolve(p)?.ok_or_else(|| invalid_path(p))?;
                match v.as_ref() {
                    Value::Number(num) if num.as_u64().is_some() => Ok(num.as_u64().unwrap_or(0) as f64),
                    Value::Number(num) if num.as_f64().is_some_and(|f| f >= 0.0 && f.fract() == 0.0) => {
                        Ok(num.as_f64().unwrap_or(0.0))
                    }
                    // A Map state's MaxConcurrencyPath, ToleratedFailureCountPath and
                    // ToleratedFailurePercentagePath take an integer written as a string too, as a
                    // workflow variable assigned "1" (AWS-recorded; the Map state's fields:
                    // <https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html>,
                    // variables in them:
                    // <https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).
                    Value::String(text)
                        if MAP_NUMBER_FIELDS.contains(&field)
                            && text.parse::<u64>().is_ok() =>
                    {
                        Ok(text.parse::<u64>().unwrap_or(0) as f64)
                    }
                    other => Err(Thrown::runtime(
                        names::RUNTIME,
                        format!(
                            "The {field}Path field refers to value \"{}\" which is not a valid integer: {}",
                            other.as_str().map(str::to_string).unwrap_or_else(|| to_json(other)),
                            p.as_str()
                        ),
                    )),
                }
            }
            NumSpec::Expr(e) => {
                let states = self.states_value(raw, st, None, None, None);
                let v = jsonata::eval_typed(
                    e,
                    &JEnv {
                        states: &states,
                        scope,
                    },
                    field,
                    "number",
                )?;
                Ok(v.as_f64().unwrap_or(0.0))
            }
        }
    }
}
