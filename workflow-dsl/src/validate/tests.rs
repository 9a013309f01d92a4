//! Unit tests of the validator: one or more per rule, on small JSON documents.

use serde_json::{json, Value};

use super::{validate, validate_with, Options, Problem};
use crate::model::StateMachine;

fn problems_with(doc: Value, options: Options) -> Vec<Problem> {
    let machine = StateMachine::from_value(doc).expect("test document parses");
    validate_with(&machine, &options)
}

fn problems(doc: Value) -> Vec<String> {
    problems_with(doc, Options::default())
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Asserts that some problem contains every one of `needles`.
#[track_caller]
fn assert_problem(doc: Value, needles: &[&str]) {
    let found = problems(doc);
    assert!(
        found.iter().any(|p| needles.iter().all(|n| p.contains(n))),
        "no problem contains {needles:?}; found:\n{}",
        found.join("\n")
    );
}

#[track_caller]
fn assert_valid(doc: Value) {
    let found = problems(doc);
    assert!(
        found.is_empty(),
        "expected no problem, found:\n{}",
        found.join("\n")
    );
}

/// A one-state document with the given state `A`.
fn one(state: Value) -> Value {
    json!({"StartAt": "A", "States": {"A": state}})
}

/// `state` (named `A`) after a Pass state assigning `variables` (each to 1).
fn after_assigning(variables: &[&str], state: Value) -> Value {
    let assign: serde_json::Map<String, Value> = variables
        .iter()
        .map(|v| (v.to_string(), json!(1)))
        .collect();
    json!({"StartAt": "Set", "States": {
        "Set": {"Type": "Pass", "Assign": assign, "Next": "A"},
        "A": state,
    }})
}

fn task(extra: Value) -> Value {
    let mut state =
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true});
    merge(&mut state, extra);
    state
}

fn merge(target: &mut Value, extra: Value) {
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            target.as_object_mut().unwrap().remove(k);
        } else {
            target[k] = v.clone();
        }
    }
}

fn map_state(extra: Value) -> Value {
    let mut state = json!({
        "Type": "Map",
        "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": true}}},
        "End": true
    });
    merge(&mut state, extra);
    state
}

// --- Problem -------------------------------------------------------------------------------

#[test]
fn display_names_the_state_or_the_location() {
    let state = Problem {
        state: Some("A".into()),
        location: "States.A.Next".into(),
        message: "m".into(),
    };
    assert_eq!(state.to_string(), "State 'A': m");
    let top = Problem {
        state: None,
        location: "StartAt".into(),
        message: "m".into(),
    };
    assert_eq!(top.to_string(), "StartAt: m");
}

#[test]
fn a_small_valid_document_has_no_problem() {
    assert_valid(json!({
        "Comment": "ok", "Version": "1.0", "TimeoutSeconds": 60,
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "Next": "B"},
            "B": {"Type": "Choice", "Choices": [
                {"Variable": "$.r.x", "NumericEquals": 1, "Next": "C"},
                {"And": [{"Variable": "$.y", "IsPresent": true}, {"Not": {"Variable": "$.y", "StringMatches": "a*"}}], "Next": "D"}
            ], "Default": "D"},
            "C": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "f", "Payload.$": "$", "Id.$": "$$.Execution.Id", "S.$": "States.Format('{}', $.a)"},
                  "Retry": [{"ErrorEquals": ["Custom"], "IntervalSeconds": 2, "MaxAttempts": 0, "BackoffRate": 1.5, "MaxDelaySeconds": 5, "JitterStrategy": "FULL"},
                            {"ErrorEquals": ["States.ALL"]}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "D"}],
                  "TimeoutSeconds": 10, "HeartbeatSeconds": 5, "Next": "W"},
            "W": {"Type": "Wait", "Timestamp": "2024-02-29T23:59:59.5+01:00", "Next": "E"},
            "D": {"Type": "Fail", "Error": "Failed", "Cause": "because"},
            "E": {"Type": "Succeed"}
        }
    }));
}

#[test]
fn problems_come_in_document_order() {
    let found = problems_with(
        json!({
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "B", "Resultt": 1},
                "B": {"Type": "Parallel", "Branches": [
                    {"StartAt": "B1", "States": {"B1": {"Type": "Pass"}}}
                ], "Next": "C"},
                "C": {"Type": "Succeed", "End": true}
            }
        }),
        Options::default(),
    );
    let locations: Vec<&str> = found.iter().map(|p| p.location.as_str()).collect();
    assert_eq!(
        locations,
        [
            "States.A.Resultt",
            "States.B.Branches[0].States.B1",
            "States.C.End"
        ]
    );
    assert_eq!(found[1].state.as_deref(), Some("B1"));
    // Same input, same output.
    assert_eq!(
        found,
        problems_with(
            json!({
                "StartAt": "A",
                "States": {
                    "A": {"Type": "Pass", "Next": "B", "Resultt": 1},
                    "B": {"Type": "Parallel", "Branches": [
                        {"StartAt": "B1", "States": {"B1": {"Type": "Pass"}}}
                    ], "Next": "C"},
                    "C": {"Type": "Succeed", "End": true}
                }
            }),
            Options::default()
        )
    );
}

// --- Names -------------------------------------------------------------------------------

#[test]
fn state_names_are_unique_across_parallel_branches() {
    assert_problem(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}},
            {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}
        ]}}}),
        &[
            "State 'X'",
            "already used at States.P.Branches[0].States.X",
            "unique",
        ],
    );
}

#[test]
fn state_names_are_unique_across_map_processors() {
    assert_problem(
        json!({"StartAt": "A", "States": {
            "A": map_state(json!({"ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}}))
        }}),
        &["State 'A'", "already used at States.A"],
    );
}

#[test]
fn state_names_have_at_most_80_characters() {
    let long = "x".repeat(81);
    assert_problem(
        json!({"StartAt": long, "States": {long.clone(): {"Type": "Succeed"}}}),
        &["81 characters", "at most 80"],
    );
    let ok = "x".repeat(80);
    assert_valid(json!({"StartAt": ok, "States": {ok.clone(): {"Type": "Succeed"}}}));
}

#[test]
fn state_names_have_no_control_characters() {
    assert_problem(
        json!({"StartAt": "A\u{7}", "States": {"A\u{7}": {"Type": "Succeed"}}}),
        &["control character U+0007"],
    );
}

// --- Transitions --------------------------------------------------------------------------

#[test]
fn start_at_must_name_a_state() {
    assert_problem(
        json!({"StartAt": "Strat", "States": {"Start": {"Type": "Succeed"}}}),
        &[
            "StartAt: StartAt 'Strat' does not name any state",
            "did you mean 'Start'",
        ],
    );
}

#[test]
fn start_at_of_a_branch_must_name_a_state_of_the_branch() {
    assert_problem(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "Nope", "States": {"X": {"Type": "Pass", "End": true}}}
        ]}}}),
        &[
            "States.P.Branches[0].StartAt",
            "'Nope' does not name any state of this Parallel branch",
        ],
    );
}

#[test]
fn next_default_and_catch_next_must_resolve() {
    assert_problem(
        one(json!({"Type": "Pass", "Next": "Nowhere"})),
        &["State 'A'", "Next 'Nowhere' does not name any state"],
    );
    assert_problem(
        one(
            json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "A"}], "Default": "Gone"}),
        ),
        &["Default 'Gone' does not name any state"],
    );
    assert_problem(
        one(task(
            json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}]}),
        )),
        &["Next 'Handler' does not name any state"],
    );
}

#[test]
fn a_branch_cannot_transition_out_of_itself() {
    assert_problem(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Next": "After", "Branches": [
                {"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "After"}}}
            ]},
            "After": {"Type": "Succeed"}
        }}),
        &[
            "State 'X'",
            "Next 'After' names a state outside this Parallel branch",
            "declared in the top level",
        ],
    );
    assert_problem(
        json!({"StartAt": "M", "States": {
            "M": map_state(json!({"ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "M"}}}}))
        }}),
        &["names a state outside this Map state's ItemProcessor"],
    );
}

#[test]
fn the_top_level_cannot_transition_into_a_branch() {
    assert_problem(
        json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "X"},
            "P": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}
            ]}
        }}),
        &[
            "Next 'X' names a state outside the top level",
            "declared in States.P.Branches[0]",
        ],
    );
}

#[test]
fn unreachable_states_are_reported() {
    assert_problem(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "Orphan": {"Type": "Succeed"}}}),
        &["State 'Orphan'", "unreachable"],
    );
}

#[test]
fn states_that_transition_need_exactly_one_of_next_and_end() {
    assert_problem(
        one(json!({"Type": "Pass"})),
        &["neither Next nor \"End\": true"],
    );
    assert_problem(
        one(json!({"Type": "Pass", "End": false})),
        &["neither Next nor"],
    );
    assert_problem(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B", "End": true}, "B": {"Type": "Succeed"}}}),
        &["both Next and \"End\": true"],
    );
}

#[test]
fn choice_states_never_end_and_need_a_rule() {
    assert_problem(
        one(
            json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "A"}], "End": true}),
        ),
        &["field 'End' is not allowed in a Choice state"],
    );
    assert_problem(
        one(json!({"Type": "Choice", "Choices": [], "Default": "A"})),
        &["Choices is empty"],
    );
}

#[test]
fn succeed_and_fail_are_terminal() {
    assert_problem(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed", "Next": "B"}, "B": {"Type": "Succeed"}}}),
        &["field 'Next' is not allowed in a Succeed state", "terminal"],
    );
    assert_problem(
        one(json!({"Type": "Fail", "End": true})),
        &["field 'End' is not allowed in a Fail state"],
    );
}

// --- Fields and query languages ------------------------------------------------------------

#[test]
fn unknown_fields_are_named_with_a_suggestion() {
    assert_problem(
        one(json!({"Type": "Pass", "Resultt": 1, "End": true})),
        &[
            "State 'A': field 'Resultt' is not allowed in a Pass state",
            "did you mean 'Result'",
        ],
    );
    assert_problem(
        one(json!({"Type": "Pass", "ResultSelector": {}, "End": true})),
        &[
            "field 'ResultSelector' is not allowed in a Pass state",
            "only in Task, Parallel, Map states",
        ],
    );
    assert_problem(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "Timeout": 3}),
        &["Timeout: field 'Timeout' is not allowed in the top level"],
    );
    assert_problem(
        one(task(
            json!({"Retry": [{"ErrorEquals": ["E"], "MaxAttempt": 2}]}),
        )),
        &[
            "Retry[0]: field 'MaxAttempt' is not allowed in a retrier",
            "did you mean 'MaxAttempts'",
        ],
    );
    assert_problem(
        one(task(
            json!({"Catch": [{"ErrorEquals": ["E"], "Next": "A", "Nxt": "A"}]}),
        )),
        &["field 'Nxt' is not allowed in a catcher"],
    );
}

#[test]
fn jsonata_states_refuse_jsonpath_fields() {
    for field in ["InputPath", "OutputPath", "ResultPath"] {
        let mut state = json!({"Type": "Pass", "QueryLanguage": "JSONata", "End": true});
        state[field] = json!("$");
        assert_problem(
            one(state),
            &[&format!(
                "field '{field}' is a JSONPath field and is not allowed in a JSONata state"
            )],
        );
    }
    assert_problem(
        one(task(
            json!({"QueryLanguage": "JSONata", "Parameters": {"a": 1}}),
        )),
        &["field 'Parameters' is a JSONPath field", "use Arguments"],
    );
    assert_problem(
        one(task(
            json!({"QueryLanguage": "JSONata", "TimeoutSecondsPath": "$.t"}),
        )),
        &["field 'TimeoutSecondsPath' is a JSONPath field"],
    );
    assert_problem(
        one(map_state(
            json!({"QueryLanguage": "JSONata", "ItemsPath": "$.items"}),
        )),
        &["field 'ItemsPath' is a JSONPath field", "use Items"],
    );
    assert_problem(
        one(json!({"Type": "Fail", "QueryLanguage": "JSONata", "ErrorPath": "$.e"})),
        &["field 'ErrorPath' is a JSONPath field"],
    );
}

#[test]
fn jsonpath_states_refuse_jsonata_fields() {
    assert_problem(
        one(task(json!({"Arguments": {"a": 1}}))),
        &[
            "field 'Arguments' is only allowed in JSONata states",
            "use Parameters",
        ],
    );
    assert_problem(
        one(json!({"Type": "Pass", "Output": {}, "End": true})),
        &["field 'Output' is only allowed in JSONata states"],
    );
    assert_problem(
        one(map_state(json!({"Items": [1, 2]}))),
        &["field 'Items' is only allowed in JSONata states"],
    );
}

#[test]
fn the_top_level_query_language_applies_unless_a_state_overrides_it() {
    let doc = |state_ql: Option<&str>| {
        let mut state = json!({"Type": "Pass", "Output": {"a": "{% 1 %}"}, "End": true});
        if let Some(ql) = state_ql {
            state["QueryLanguage"] = json!(ql);
        }
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": state}})
    };
    assert_valid(doc(None));
    assert_valid(doc(Some("JSONata")));
    assert_problem(
        doc(Some("JSONPath")),
        &["field 'Output' is only allowed in JSONata states"],
    );
}

#[test]
fn jsonata_expressions_are_wrapped_in_percent_braces() {
    let jsonata =
        |state: Value| json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": state}});
    assert_problem(
        jsonata(json!({"Type": "Pass", "Output": {"x": "{% $states.input"}, "End": true})),
        &["not closed", "'%}'"],
    );
    assert_problem(
        jsonata(json!({"Type": "Pass", "Output": "{%  %}", "End": true})),
        &["is empty"],
    );
    assert_problem(
        jsonata(task(json!({"TimeoutSeconds": "$states.input.t"}))),
        &["TimeoutSeconds must be a number or a JSONata expression"],
    );
    assert_valid(jsonata(task(
        json!({"TimeoutSeconds": "{% $states.input.t %}", "Arguments": {"a": "{% 1 + 1 %}"}}),
    )));
    assert_problem(
        one(task(json!({"TimeoutSeconds": "{% 3 %}"}))),
        &[
            "TimeoutSeconds must be a number in a JSONPath state",
            "TimeoutSecondsPath",
        ],
    );
    assert_problem(
        jsonata(map_state(json!({"Items": "$states.input"}))),
        &["Items must be an array or a JSONata expression"],
    );
}

// --- Errors, Retry, Catch ------------------------------------------------------------------

#[test]
fn states_all_is_alone_and_last() {
    assert_problem(
        one(task(
            json!({"Retry": [{"ErrorEquals": ["States.ALL", "Custom"]}]}),
        )),
        &["Retry[0].ErrorEquals: 'States.ALL' must be the only error name"],
    );
    assert_problem(
        one(task(
            json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["Custom"]}]}),
        )),
        &["Retry[0]: a retrier matching 'States.ALL' must be the last retrier"],
    );
    assert_problem(
        one(task(
            json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "A"}, {"ErrorEquals": ["E"], "Next": "A"}]}),
        )),
        &["Catch[0]: a catcher matching 'States.ALL' must be the last catcher"],
    );
    assert_problem(
        one(task(json!({"Retry": [{"ErrorEquals": []}]}))),
        &["Retry[0].ErrorEquals is empty"],
    );
}

#[test]
fn user_error_names_do_not_start_with_states() {
    assert_problem(
        one(task(json!({"Retry": [{"ErrorEquals": ["States.Timeot"]}]}))),
        &[
            "'States.Timeot' is not a predefined error",
            "did you mean 'States.Timeout'",
        ],
    );
    assert_problem(
        one(json!({"Type": "Fail", "Error": "States.Mine"})),
        &["Error: 'States.Mine' is not a predefined error"],
    );
    // Every predefined name AWS documents, including the two the tables once lacked.
    for name in crate::typed::AslError::ALL_ERRORS
        .iter()
        .map(|e| e.name())
        .chain(["States.ALL"])
    {
        assert!(super::is_predefined_error(name), "{name}");
        assert_valid(one(task(json!({"Retry": [{"ErrorEquals": [name]}]}))));
    }
    for name in ["States.DataLimitExceeded", "States.Http.Socket"] {
        assert!(crate::typed::check_error_name(name).is_ok(), "{name}");
    }
}

#[test]
fn retrier_numbers_are_in_range() {
    let retry = |r: Value| {
        let mut retrier = json!({"ErrorEquals": ["E"]});
        merge(&mut retrier, r);
        one(task(json!({"Retry": [retrier]})))
    };
    assert_problem(
        retry(json!({"BackoffRate": 0.5})),
        &["Retry[0].BackoffRate is 0.5; it must be at least 1.0"],
    );
    assert_problem(
        retry(json!({"IntervalSeconds": 0})),
        &["Retry[0].IntervalSeconds is 0"],
    );
    assert_problem(
        retry(json!({"IntervalSeconds": 1.5})),
        &["IntervalSeconds is 1.5", "whole number"],
    );
    assert_problem(retry(json!({"MaxAttempts": -1})), &["MaxAttempts is -1"]);
    assert_problem(
        retry(json!({"MaxDelaySeconds": 0})),
        &["MaxDelaySeconds is 0"],
    );
    assert_valid(retry(
        json!({"BackoffRate": 1, "IntervalSeconds": 1, "MaxAttempts": 0, "MaxDelaySeconds": 1}),
    ));
}

#[test]
fn catcher_result_path_is_a_reference_path() {
    assert_problem(
        one(task(
            json!({"Catch": [{"ErrorEquals": ["E"], "Next": "A", "ResultPath": "$.errors[*]"}]}),
        )),
        &["Catch[0].ResultPath '$.errors[*]' is not a valid Reference Path"],
    );
}

// --- Fail, Task, Wait -----------------------------------------------------------------------

#[test]
fn fail_error_and_cause_are_static_or_path_not_both() {
    assert_problem(
        one(json!({"Type": "Fail", "Error": "E", "ErrorPath": "$.e"})),
        &["both Error and ErrorPath"],
    );
    assert_problem(
        one(json!({"Type": "Fail", "Cause": "c", "CausePath": "$.c"})),
        &["both Cause and CausePath"],
    );
    assert_valid(one(
        json!({"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('{}', $.c)"}),
    ));
    assert_problem(
        one(json!({"Type": "Fail", "CausePath": "States.Format('{}', $.c"})),
        &["CausePath", "never closed"],
    );
}

#[test]
fn task_timeouts_are_positive_and_heartbeat_is_shorter() {
    assert_problem(
        one(task(json!({"TimeoutSeconds": 0}))),
        &["TimeoutSeconds is 0; it must be a positive whole number"],
    );
    assert_problem(
        one(task(json!({"HeartbeatSeconds": 1.5}))),
        &["HeartbeatSeconds is 1.5"],
    );
    assert_problem(
        one(task(json!({"TimeoutSeconds": 10, "HeartbeatSeconds": 10}))),
        &["HeartbeatSeconds (10) must be smaller than TimeoutSeconds (10)"],
    );
    assert_problem(
        one(task(json!({"Resource": "not a uri"}))),
        &["Resource 'not a uri' is not a URI"],
    );
}

#[test]
fn a_value_and_its_path_form_are_never_both_set() {
    assert_problem(
        one(task(
            json!({"TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t"}),
        )),
        &["TimeoutSeconds and TimeoutSecondsPath cannot both be set"],
    );
    assert_problem(
        one(task(
            json!({"HeartbeatSeconds": 5, "HeartbeatSecondsPath": "$.t"}),
        )),
        &["HeartbeatSeconds and HeartbeatSecondsPath cannot both be set"],
    );
    assert_problem(
        one(map_state(
            json!({"MaxConcurrency": 5, "MaxConcurrencyPath": "$.m"}),
        )),
        &["MaxConcurrency and MaxConcurrencyPath cannot both be set"],
    );
    assert_problem(
        one(map_state(
            json!({"ToleratedFailureCount": 5, "ToleratedFailureCountPath": "$.m"}),
        )),
        &["ToleratedFailureCount and ToleratedFailureCountPath"],
    );
    assert_problem(
        one(map_state(
            json!({"ToleratedFailurePercentage": 5, "ToleratedFailurePercentagePath": "$.m"}),
        )),
        &["ToleratedFailurePercentage and ToleratedFailurePercentagePath"],
    );
    assert_problem(
        one(task(json!({"TimeoutSecondsPath": "$.t[*]"}))),
        &["TimeoutSecondsPath '$.t[*]' is not a valid Reference Path"],
    );
}

#[test]
fn wait_has_exactly_one_duration() {
    assert_problem(
        one(json!({"Type": "Wait", "End": true})),
        &["exactly one of Seconds, SecondsPath, Timestamp and TimestampPath (found: none)"],
    );
    assert_problem(
        one(json!({"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true})),
        &["(found: Seconds, SecondsPath)"],
    );
    assert_problem(
        one(json!({"Type": "Wait", "Seconds": -1, "End": true})),
        &["Seconds is -1"],
    );
    assert_valid(one(json!({"Type": "Wait", "Seconds": 0, "End": true})));
    assert_valid(after_assigning(
        &["waitUntil"],
        json!({"Type": "Wait", "TimestampPath": "$waitUntil", "End": true}),
    ));
}

#[test]
fn wait_timestamps_are_rfc3339() {
    for bad in [
        "2016-03-14 01:59:00Z",
        "2016-03-14T01:59:00",
        "2016-02-30T01:59:00Z",
        "2016-03-14t01:59:00z",
        "yesterday",
    ] {
        assert_problem(
            one(json!({"Type": "Wait", "Timestamp": bad, "End": true})),
            &[&format!("Timestamp '{bad}' is not an RFC 3339 timestamp")],
        );
    }
    for good in [
        "2016-03-14T01:59:00Z",
        "2016-03-14T01:59:00.123456Z",
        "2016-03-14T01:59:00-05:30",
    ] {
        assert_valid(one(json!({"Type": "Wait", "Timestamp": good, "End": true})));
    }
}

// --- Payload templates, paths, intrinsic functions ----------------------------------------------

#[test]
fn dollar_keys_hold_paths_or_intrinsic_functions() {
    let params = |p: Value| one(task(json!({"Parameters": p})));
    assert_valid(after_assigning(
        &["myVar"],
        task(json!({"Parameters": {
            "a.$": "$.a", "b.$": "$$.Execution.Id", "c.$": "$myVar.field", "d.$": "States.Array($.a, 'x', 1, true, null)",
            "e.$": "States.MathAdd(States.ArrayLength($.a), -1)", "nested": {"f.$": "$.f"}, "list": [{"g.$": "$[0]"}],
            "h.$": "States.Format('it\\'s {} (really)', $.x)", "i.$": "States.UUID()"
        }})),
    ));
    assert_problem(
        params(json!({"a.$": "hello"})),
        &["Parameters: 'a.$' ends in '.$'", "found 'hello'"],
    );
    assert_problem(
        params(json!({"a.$": 3})),
        &["must be a string holding a path"],
    );
    assert_problem(
        params(json!({"nested": {"a.$": "$.a["}})),
        &["'a.$' holds an invalid path", "never closed"],
    );
    assert_problem(
        params(json!({"a.$": "States.Fromat('{}', $.a)"})),
        &[
            "'States.Fromat' is not an intrinsic function",
            "did you mean 'States.Format'",
        ],
    );
    assert_problem(
        params(json!({"a.$": "States.Format('{}', $.a"})),
        &["never closed"],
    );
    assert_problem(
        params(json!({"a.$": "States.Format('{}, $.a)"})),
        &["string argument", "never closed"],
    );
    assert_problem(
        params(json!({"a.$": "States.ArrayRange(1, 2)"})),
        &["States.ArrayRange takes 3 argument(s), found 2"],
    );
    assert_problem(
        params(json!({"a.$": "States.UUID() x"})),
        &["unexpected text after the closing ')'"],
    );
    assert_problem(
        one(task(json!({"ResultSelector": {"a.$": "x"}}))),
        &["ResultSelector: 'a.$' ends in '.$'"],
    );
    assert_problem(
        one(map_state(json!({"ItemSelector": {"a.$": "x"}}))),
        &["ItemSelector: 'a.$' ends in '.$'"],
    );
}

#[test]
fn pass_result_is_literal_and_not_checked_for_dollar_keys() {
    assert_valid(one(
        json!({"Type": "Pass", "Result": {"a.$": "not a path"}, "End": true}),
    ));
}

#[test]
fn paths_are_valid_jsonpath() {
    let input = |p: &str| {
        after_assigning(
            &["var"],
            json!({"Type": "Pass", "InputPath": p, "End": true}),
        )
    };
    for good in [
        "$",
        "$.a.b",
        "$['a b']",
        "$.a[0]",
        "$.a[-1]",
        "$.a[1:3]",
        "$.a[*].b",
        "$..b",
        "$.a[?(@.x == 'y')]",
        "$$.Map.Item.Value",
        "$var",
        "$.a-b",
        "$['Test\\\"Name']",
    ] {
        assert_valid(input(good));
    }
    for (bad, why) in [
        ("a.b", "must start with '$'"),
        ("$.", "missing field name"),
        ("$.a[", "never closed"),
        ("$.a[]", "empty brackets"),
        ("$ .a", "unexpected ' '"),
        ("$.a[x]", "not a valid index"),
    ] {
        assert_problem(
            input(bad),
            &[&format!("InputPath '{bad}' is not a valid path"), why],
        );
    }
}

#[test]
fn result_path_is_a_reference_path_into_the_input() {
    let result = |p: &str| one(json!({"Type": "Pass", "ResultPath": p, "End": true}));
    assert_valid(result("$.a['b'][0]"));
    for (bad, why) in [
        ("$.a[*]", "wildcard"),
        ("$..a", "deep scan"),
        ("$.a[?(@.x)]", "filter"),
        ("$.a[0:2]", "slice"),
        ("$$.Execution", "context object"),
        ("$var", "not a variable"),
    ] {
        assert_problem(
            result(bad),
            &[
                &format!("ResultPath '{bad}' is not a valid Reference Path"),
                why,
            ],
        );
    }
}

// --- Choice --------------------------------------------------------------------------------

fn choice(rule: Value) -> Value {
    json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [rule], "Default": "D"}, "D": {"Type": "Succeed"}}})
}

#[test]
fn top_level_rules_need_next_and_nested_rules_must_not_have_it() {
    assert_problem(
        choice(json!({"Variable": "$.a", "IsNull": true})),
        &["Choices[0] has no Next"],
    );
    assert_problem(
        choice(json!({"And": [{"Variable": "$.a", "IsNull": true, "Next": "D"}], "Next": "D"})),
        &["Choices[0].And[0] is nested inside And, Or or Not and cannot have Next"],
    );
    assert_problem(
        choice(json!({"Or": [], "Next": "D"})),
        &["Choices[0].Or is empty"],
    );
}

#[test]
fn a_comparison_has_exactly_one_operator() {
    assert_problem(
        choice(json!({"Variable": "$.a", "StringEquals": "x", "IsNull": true, "Next": "D"})),
        &["more than one comparison operator"],
    );
    assert_problem(
        choice(json!({"Variable": "$.a", "Next": "D"})),
        &["has a Variable but no comparison operator"],
    );
    assert_problem(
        choice(json!({"StringEquals": "a", "Next": "D"})),
        &["has StringEquals but no Variable"],
    );
    assert_problem(
        choice(json!({"Variable": "$.a", "StringEqual": "x", "Next": "D"})),
        &["did you mean 'StringEquals'"],
    );
}

#[test]
fn comparison_operands_have_the_operator_type() {
    for (op, operand, expected) in [
        ("StringEquals", json!(1), "must be a string"),
        ("StringMatches", json!(true), "must be a string"),
        ("NumericLessThan", json!("1"), "must be a number"),
        ("BooleanEquals", json!("true"), "must be true or false"),
        ("TimestampEquals", json!("2020-01-01"), "RFC 3339 timestamp"),
        ("IsPresent", json!("yes"), "must be true or false"),
        ("NumericEqualsPath", json!(3), "must be a path string"),
        ("StringEqualsPath", json!("value"), "is not a valid path"),
    ] {
        let mut rule = json!({"Variable": "$.a", "Next": "D"});
        rule[op] = operand;
        assert_problem(choice(rule), &[&format!("Choices[0].{op}"), expected]);
    }
    assert_problem(
        choice(json!({"Variable": "a", "IsNull": true, "Next": "D"})),
        &["Choices[0].Variable 'a' is not a valid path"],
    );
    assert_valid(choice(
        json!({"Variable": "$.a", "TimestampLessThan": "2020-01-01T00:00:00Z", "Next": "D"}),
    ));
}

#[test]
fn jsonata_choice_rules_use_condition() {
    let jsonata = |rule: Value| {
        let mut doc = choice(rule);
        doc["QueryLanguage"] = json!("JSONata");
        doc
    };
    assert_valid(jsonata(
        json!({"Condition": "{% $states.input.a > 1 %}", "Next": "D"}),
    ));
    assert_valid(jsonata(json!({"Condition": true, "Next": "D"})));
    assert_problem(
        jsonata(json!({"Variable": "$.a", "IsNull": true, "Next": "D"})),
        &["Variable is a JSONPath Choice field"],
    );
    assert_problem(
        jsonata(json!({"Condition": "$states.input.a", "Next": "D"})),
        &["Condition must be true, false or a JSONata expression"],
    );
    assert_problem(
        choice(json!({"Condition": true, "Next": "D"})),
        &["Condition is only allowed in JSONata states"],
    );
}

// --- Map, Parallel --------------------------------------------------------------------------

#[test]
fn map_needs_a_processor() {
    assert_problem(
        one(json!({"Type": "Map", "End": true})),
        &["a Map state needs an ItemProcessor (or the legacy Iterator)"],
    );
    let processor = json!({"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}});
    assert_valid(one(
        json!({"Type": "Map", "Iterator": processor, "End": true}),
    ));
}

#[test]
fn map_limits() {
    assert_problem(
        one(map_state(json!({"ToleratedFailurePercentage": 150}))),
        &["ToleratedFailurePercentage is 150; it must be a number from 0 to 100"],
    );
    assert_problem(
        one(map_state(json!({"MaxConcurrency": -1}))),
        &["MaxConcurrency is -1"],
    );
    assert_problem(
        one(map_state(json!({"ToleratedFailureCount": 0.5}))),
        &["ToleratedFailureCount is 0.5"],
    );
    assert_valid(one(map_state(
        json!({"MaxConcurrency": 0, "ToleratedFailurePercentage": 12.5}),
    )));
}

fn distributed(extra: Value) -> Value {
    map_state(json!({"ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": true}}
    }}))
    .as_object()
    .cloned()
    .map(|mut m| {
        for (k, v) in extra.as_object().unwrap() {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    })
    .unwrap()
}

#[test]
fn reader_batcher_and_writer_need_distributed_mode() {
    let reader = json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"}, "Parameters": {"Bucket": "b", "Key": "k"}});
    assert_problem(
        one(map_state(json!({"ItemReader": reader}))),
        &["ItemReader is only allowed in a Distributed Map"],
    );
    assert_problem(
        one(map_state(json!({"ItemBatcher": {"MaxItemsPerBatch": 2}}))),
        &["ItemBatcher is only allowed"],
    );
    assert_problem(
        one(map_state(
            json!({"ResultWriter": {"Resource": "arn:aws:states:::s3:putObject"}}),
        )),
        &["ResultWriter is only allowed"],
    );
    assert_valid(one(distributed(
        json!({"ItemReader": reader, "ItemBatcher": {"MaxItemsPerBatch": 2}, "Label": "Batch1"}),
    )));
    assert_problem(
        one(distributed(
            json!({"ItemBatcher": {"MaxInputBytesPerBatch": 300000}}),
        )),
        &["MaxInputBytesPerBatch is 300000"],
    );
    // ResultWriter.WriterConfig: Transformation NONE/COMPACT/FLATTEN, OutputType JSON/JSONL
    // (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html).
    assert_valid(one(distributed(json!({"ResultWriter": {
        "WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSONL"}}}))));
    assert_problem(
        one(distributed(json!({"ResultWriter": {
            "WriterConfig": {"Transformation": "flatten"}}}))),
        &["Transformation must be one of NONE, COMPACT, FLATTEN, not \"flatten\""],
    );
    assert_problem(
        one(distributed(json!({"ResultWriter": {
            "WriterConfig": {"OutputType": "CSV"}}}))),
        &["OutputType must be one of JSON, JSONL"],
    );
    assert_problem(
        one(distributed(json!({"ResultWriter": {
            "WriterConfig": {"Compression": "GZIP"}}}))),
        &["WriterConfig has no field 'Compression'"],
    );
    assert_problem(
        one(map_state(
            json!({"ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}}),
        )),
        &["needs ProcessorConfig.ExecutionType"],
    );
    assert_problem(
        one(map_state(
            json!({"ItemProcessor": {"ProcessorConfig": {"Mode": "PARALLEL"}, "StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}}),
        )),
        &["ProcessorConfig.Mode is 'PARALLEL'"],
    );
}

#[test]
fn map_labels_are_short_and_plain() {
    assert_problem(
        one(distributed(json!({"Label": "x".repeat(41)}))),
        &["Label is 41 characters long"],
    );
    assert_problem(
        one(distributed(json!({"Label": "a b"}))),
        &["Label contains ' '"],
    );
    assert_problem(
        one(distributed(json!({"Label": "a/b"}))),
        &["Label contains '/'"],
    );
}

#[test]
fn processor_config_belongs_to_map_processors_only() {
    assert_problem(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}
        ]}}}),
        &["ProcessorConfig is only allowed in a Map state's ItemProcessor"],
    );
}

#[test]
fn parallel_needs_branches() {
    assert_problem(
        one(json!({"Type": "Parallel", "Branches": [], "End": true})),
        &["Branches is empty"],
    );
}

// --- Express ---------------------------------------------------------------------------------

#[test]
fn express_workflows_refuse_sync_and_callback_resources() {
    let express = Options { express: true };
    for resource in [
        "arn:aws:states:::states:startExecution.sync:2",
        "arn:aws:states:::ecs:runTask.sync",
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    ] {
        let doc = one(task(json!({"Resource": resource,
            "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}}})));
        let found = problems_with(doc.clone(), express);
        assert!(
            found
                .iter()
                .any(|p| p.message.contains("Express workflows do not support")),
            "{resource}: {found:?}"
        );
        assert!(
            problems(doc).is_empty(),
            "a standard workflow accepts {resource}"
        );
    }
    let activity = one(task(
        json!({"Resource": "arn:aws:states:us-east-1:123456789012:activity:a"}),
    ));
    assert!(problems_with(activity, express)[0]
        .message
        .contains("activity"));
    assert!(!problems_with(one(distributed(json!({}))), express).is_empty());
}

#[test]
fn express_children_of_a_distributed_map_refuse_sync_resources() {
    let doc = one(map_state(json!({"ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "T", "States": {"T": task(json!({"Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken"}))}
    }})));
    assert_problem(doc, &["State 'T'", "Express workflows do not support"]);
}

// --- Top level, Assign --------------------------------------------------------------------------

#[test]
fn top_level_timeout_and_version() {
    let doc = |extra: Value| {
        let mut doc = json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}});
        merge(&mut doc, extra);
        doc
    };
    assert_problem(
        doc(json!({"TimeoutSeconds": 0})),
        &["TimeoutSeconds: TimeoutSeconds must be a positive integer"],
    );
    assert_problem(
        doc(json!({"Version": "2.0"})),
        &["Version: Version is '2.0'"],
    );
    assert_problem(
        json!({"StartAt": "A", "States": {}}),
        &["States of the top level of the state machine is empty"],
    );
}

#[test]
fn assign_keys_are_variable_names() {
    let assign = |a: Value| one(json!({"Type": "Pass", "Assign": a, "End": true}));
    assert_valid(assign(
        json!({"total": 1, "_x9": {"a": [1]}, "fromInput.$": "$.a", "sum.$": "States.MathAdd($.a, 1)"}),
    ));
    assert_problem(
        assign(json!({"$x": 1})),
        &["Assign: variable name '$x' must not start with '$'"],
    );
    assert_problem(
        assign(json!({"9lives": 1})),
        &["variable name '9lives' is not valid"],
    );
    assert_problem(
        assign(json!({"a-b": 1})),
        &["variable name 'a-b' is not valid"],
    );
    assert_problem(
        assign(json!({"x".repeat(81): 1})),
        &["longer than 80 characters"],
    );
    assert_problem(
        assign(json!({"x.$": "nope"})),
        &["Assign: 'x.$' ends in '.$'"],
    );
    assert_problem(assign(json!([1])), &["Assign must be an object"]);
    let jsonata = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"x.$": "{% 1 %}", "y": "{% 2"}, "End": true}}});
    let found = problems(jsonata);
    assert!(
        found
            .iter()
            .any(|p| p.contains("variable name 'x.$' is not valid")),
        "{found:?}"
    );
    assert!(found.iter().any(|p| p.contains("not closed")), "{found:?}");
}

#[test]
fn validate_defaults_to_a_standard_workflow() {
    let machine = StateMachine::from_value(one(task(
        json!({"Resource": "arn:aws:states:::ecs:runTask.sync"}),
    )))
    .unwrap();
    assert!(validate(&machine).is_empty());
}

#[test]
fn a_jsonpath_state_under_a_jsonata_top_level_is_refused() {
    let machine = |top: &str, state: &str| {
        StateMachine::from_value(json!({
            "QueryLanguage": top,
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "QueryLanguage": state, "End": true}}
        }))
        .unwrap()
    };
    let problems = validate(&machine("JSONata", "JSONPath"));
    assert!(
        problems
            .iter()
            .any(|p| p.to_string().contains("top-level QueryLanguage is JSONata")),
        "{problems:?}"
    );
    assert!(validate(&machine("JSONPath", "JSONata")).is_empty());
}

#[test]
fn a_task_resource_may_be_a_sam_placeholder() {
    for resource in ["${ValidateFunctionArn}", "arn:aws:states:::lambda:invoke"] {
        assert_valid(one(
            json!({"Type": "Task", "Resource": resource, "End": true}),
        ));
    }
    for resource in ["${}", "ValidateFunctionArn", "${A}${B}"] {
        let found = problems(one(
            json!({"Type": "Task", "Resource": resource, "End": true}),
        ));
        assert!(!found.is_empty(), "{resource}");
    }
}

// --- Variables and JSONata references ------------------------------------------------------------

fn lint_messages(doc: Value) -> Vec<String> {
    let machine = StateMachine::from_value(doc).expect("test document parses");
    super::lint(&machine)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn states_result_and_error_output_only_where_aws_provides_them() {
    // ASL: Arguments "MUST NOT reference $states.result or $states.errorOutput"
    // (https://states-language.net/spec.html); AWS refuses it at creation
    // (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html).
    let jsonata =
        |state: Value| json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": state}});
    assert_problem(
        jsonata(task(json!({"Arguments": {"x": "{% $states.result.id %}"}}))),
        &[
            "Arguments.x reads $states.result.id",
            "only available in the Output and Assign of Task",
        ],
    );
    assert_problem(
        jsonata(json!({"Type": "Pass", "Output": "{% $states.errorOutput %}", "End": true})),
        &["$states.errorOutput is only available in the Output and Assign of a Catch"],
    );
    assert_problem(
        jsonata(json!({"Type": "Pass", "Output": "{% $states.inptu %}", "End": true})),
        &["$states has no field 'inptu'"],
    );
    assert_problem(
        jsonata(json!({"Type": "Pass", "Output": "{% $$.Execution.Id %}", "End": true})),
        &["cannot read $$", "$states.context"],
    );
    assert_valid(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
          "B": {"Type": "Succeed"},
          "A": task(json!({
            "Arguments": {"x": "{% $states.input.id %}", "at": "{% $states.context.State.EnteredTime %}"},
            "Output": "{% $states.result %}",
            "Assign": {"r": "{% $states.result %}"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "B",
                       "Output": "{% $states.errorOutput %}", "Assign": {"e": "{% $states.errorOutput.Error %}"}}],
            "End": true,
        }))}}),
    );
}

#[test]
fn inner_scopes_cannot_assign_an_outer_variable() {
    // ASL: "states in inner scopes MUST NOT assign to a variable with the same name as a
    // variable in an outer scope" (https://states-language.net/spec.html).
    let doc = json!({"StartAt": "Set", "States": {
        "Set": {"Type": "Pass", "Assign": {"total": 0}, "Next": "Each"},
        "Each": {"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "Add", "States": {
            "Add": {"Type": "Pass", "Assign": {"total": 1, "own": 2}, "End": true}}}}
    }});
    assert_problem(
        doc,
        &[
            "State 'Add'",
            "assigns 'total', a variable of an enclosing scope",
        ],
    );
}

#[test]
fn lint_finds_reads_of_variables_no_path_assigns() {
    // AWS accepts these at creation; every run reaching the read fails
    // (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html).
    let doc = json!({"QueryLanguage": "JSONata", "StartAt": "Look", "States": {
        "Look": {"Type": "Pass", "Assign": {"order": "{% $states.input %}", "x": "{% $order %}"}, "Next": "Gate"},
        "Gate": {"Type": "Choice", "Choices": [
            {"Condition": "{% $order.total > 0 %}", "Next": "Paid", "Assign": {"paid": true}}],
            "Default": "Done"},
        "Paid": {"Type": "Pass", "Next": "Done"},
        "Done": {"Type": "Pass", "Output": {"paid": "{% $paid %}", "typo": "{% $ordr %}"}, "Next": "Each"},
        "Each": {"Type": "Map", "Items": "{% $order.lines %}", "Next": "After",
                 "ItemProcessor": {"StartAt": "Line", "States": {
                     "Line": {"Type": "Pass", "Assign": {"line": "{% $states.input %}"},
                              "Output": "{% $order.id %}", "End": true}}}},
        "After": {"Type": "Pass", "Output": "{% $line %}", "End": true}
    }});
    let found = lint_messages(doc);
    let text = found.join("\n");
    // `x` reads $order in the state that assigns it.
    assert!(
        text.contains(
            "State 'Look': Assign.x reads $order, but 'order' is only assigned by 'Look' itself"
        ),
        "{text}"
    );
    // `$paid` is assigned on one path to Done: accepted (may be assigned).
    assert!(!text.contains("$paid"), "{text}");
    assert!(
        text.contains(
            "State 'Done': Output.typo reads $ordr, but no state assigns the variable 'ordr'"
        ),
        "{text}"
    );
    // The Map iteration reads the outer $order: fine; $line is not visible after the Map.
    assert!(!text.contains("State 'Line'"), "{text}");
    assert!(
        text.contains(
            "State 'After': Output reads $line, but 'line' is only assigned inside 'Each'"
        ),
        "{text}"
    );
    assert_eq!(found.len(), 3, "{text}");
}

#[test]
fn lint_finds_unknown_functions_eval_and_context_typos() {
    let doc = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass",
        "Output": {"a": "{% $eval('1') %}", "b": "{% $sum2([1]) %}", "c": "{% $states.context.Task.Tokn %}",
                   "d": "{% $partition([1,2], 1) %}", "e": "{% $states.context.Execution.Input.anything %}"},
        "End": true}}});
    let text = lint_messages(doc).join("\n");
    assert!(
        text.contains("Output.a calls $eval, which Step Functions does not provide; use $parse"),
        "{text}"
    );
    assert!(
        text.contains("Output.b calls $sum2, which is neither a JSONata function"),
        "{text}"
    );
    assert!(text.contains("Output.c reads $states.context.Task.Tokn: the context object's Task has no field 'Tokn'; it has Token"), "{text}");
    assert!(
        !text.contains("Output.d") && !text.contains("Output.e"),
        "{text}"
    );
}

#[test]
fn distributed_map_children_read_no_outer_variable() {
    let doc = json!({"StartAt": "Set", "States": {
        "Set": {"Type": "Pass", "Assign": {"bucket": "b"}, "Next": "Each"},
        "Each": {"Type": "Map", "End": true, "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Use", "States": {"Use": {"Type": "Pass", "Parameters": {"b.$": "$bucket"}, "End": true}}}}
    }});
    let text = lint_messages(doc).join("\n");
    assert!(
        text.contains("a distributed Map's child workflow cannot read the variables"),
        "{text}"
    );
}

#[test]
fn callback_tasks_must_pass_the_task_token() {
    // https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html: the token
    // is read in the request ($$.Task.Token, $states.context.Task.Token); AWS CDK refuses a
    // callback Task without it at synth.
    let resource = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";
    assert_problem(
        one(task(
            json!({"Resource": resource, "Parameters": {"QueueUrl": "q", "MessageBody.$": "$"}}),
        )),
        &[
            "a .waitForTaskToken Task must pass the task token",
            "\"TaskToken.$\": \"$$.Task.Token\"",
        ],
    );
    assert_problem(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": task(json!({"Resource": resource,
            "Arguments": {"QueueUrl": "q", "MessageBody": "{% $states.input %}"}}))}}),
        &["Arguments", "{% $states.context.Task.Token %}"],
    );
    assert_valid(one(task(
        json!({"Resource": resource, "Parameters": {"QueueUrl": "q",
        "MessageBody": {"token.$": "States.Format('{}', $$.Task.Token)"}}}),
    )));
    assert_valid(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": task(json!({"Resource": resource,
        "Arguments": {"QueueUrl": "q", "MessageBody": {"t": "{% $states.context.Task.Token %}", "x": 1}}}))}}),
    );
}

#[test]
fn reader_batcher_and_writer_are_refused_on_an_inline_map() {
    // An Inline Map has none of them
    // (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html). AWS does
    // accept ToleratedFailure* on an Inline Map (recorded in the corpus), so they pass here.
    for (field, value) in [
        (
            "ItemReader",
            json!({"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "b"}}),
        ),
        ("ItemBatcher", json!({"MaxItemsPerBatch": 2})),
        (
            "ResultWriter",
            json!({"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b", "Prefix": "p"}}),
        ),
    ] {
        let mut map = json!({"Type": "Map", "End": true, "ItemProcessor": {
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}});
        map[field] = value;
        assert_problem(
            one(map),
            &[&format!("{field} is only allowed in a Distributed Map")],
        );
    }
}
