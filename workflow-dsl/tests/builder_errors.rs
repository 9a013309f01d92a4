//! Emission refuses broken workflows, and each message says what to fix.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use workflow_dsl::builder::{task, workflow, Cond, Fail, Flow, Map, Pass, Task};
use workflow_dsl::emit::{emit, EmitError, EmitProblem};
use workflow_dsl::integrations::{dynamodb, placeholder};
use workflow_dsl::typed::{AnyError, Catch, ErrorName, NoErrors, Retry, TaskStep};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: String,
    pub payment_token: Option<String>,
    pub total_cents: i64,
    pub items: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StepFailure {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause")]
    pub cause: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailedOrder {
    pub order_id: String,
    pub error: StepFailure,
}

pub struct Charge;
impl TaskStep for Charge {
    const NAME: &'static str = "charge";
    type Input = Order;
    type Output = Order;
    type Error = NoErrors;
}

fn messages(error: EmitError) -> Vec<String> {
    error.problems.iter().map(ToString::to_string).collect()
}

#[test]
fn a_misspelt_parameter_path_names_the_state_path_and_existing_fields() {
    let flow = workflow::<Order>("typo").then_keep(Task::call(
        "Save",
        dynamodb::put_item(
            &placeholder("OrdersTableName"),
            json!({ "orderId": dynamodb::s_path("$.orderId"), "token": dynamodb::s_path("$.paymnetToken") }),
        ),
    ));
    let error = emit(flow).unwrap_err();
    assert_eq!(
        messages(error.clone()),
        [
            "State 'Save': path '$.paymnetToken' in Parameters.Item.token.S.$ does not exist; \
          fields at '$': items, orderId, paymentToken, totalCents"
        ]
    );
    let EmitProblem::Path(path) = &error.problems[0] else {
        panic!("a path problem")
    };
    assert_eq!(path.state, "Save");
    assert_eq!(path.path, "$.paymnetToken");
    assert_eq!(path.location, "Parameters.Item.token.S.$");
    assert!(error
        .to_string()
        .starts_with("the workflow cannot be emitted (1 problem):\n  - State 'Save'"));
}

#[test]
fn choice_variables_items_paths_and_task_outputs_are_checked() {
    let flow = workflow::<Order>("checks")
        .then(task::<Charge>("Charge"))
        .choice("Big?", |c| {
            c.when(Cond::numeric_greater_than("$.total", 100), |f| f)
                .when(
                    Cond::string_equals_path("$.orderId", "$.items.first"),
                    |f| f,
                )
                .otherwise(|f| f)
        })
        .map(
            Map::new("Each").items_path("$.orderId"),
            |item: Flow<String>| item.pass(Pass::new("Item")),
        )
        .succeed("Done");
    let errors = messages(emit(flow).unwrap_err());
    assert_eq!(
        errors,
        [
            "State 'Big?': path '$.total' in Choices[0].Variable does not exist; fields at '$': \
             items, orderId, paymentToken, totalCents",
            "State 'Big?': path '$.items.first' in Choices[1].StringEqualsPath does not exist: \
             '$.items' is an array, not an object",
            "State 'Each': ItemsPath '$.orderId' must select an array, but it is a string",
        ]
    );
}

#[test]
fn a_declared_type_that_does_not_match_the_data_is_reported() {
    // The catcher has no ResultPath: the error output replaces the order, so the failure chain
    // does not receive the `FailedOrder` it declares.
    let flow = workflow::<Order>("declared")
        .then(task::<Charge>("Charge").catch(Catch::all(), "Record failure"))
        .succeed("Done")
        .detached_ended(|f: Flow<FailedOrder>| {
            f.pass(Pass::new("Record failure"))
                .fail(Fail::new("Failed").error(ErrorName::custom("OrderFailed")))
        });
    let errors = messages(emit(flow).unwrap_err());
    assert_eq!(
        errors,
        [
            "State 'Record failure': the state input is declared as `FailedOrder` but field \
             '$.orderId' is missing; fields at '$': Cause, Error; fix the data flow \
             (Parameters, ResultPath, OutputPath) or the declared type",
            "State 'Record failure': the state input is declared as `FailedOrder` but field \
             '$.error' is missing; fields at '$': Cause, Error; fix the data flow (Parameters, \
             ResultPath, OutputPath) or the declared type",
        ]
    );
}

#[test]
fn builder_mistakes_are_reported_with_the_fix() {
    let long = "x".repeat(81);
    let flow = workflow::<Order>("mistakes")
        .pass(Pass::new("Same"))
        .pass(Pass::new("Same"))
        .pass(Pass::new(&long))
        .then_keep(
            Task::resource("Call", "arn:aws:lambda:us-east-1:123456789012:function:f")
                .retry(Retry::<AnyError>::on(ErrorName::custom("States.Bogus")))
                .catch(Catch::all(), "Same")
                .catch(Catch::all(), "Same"),
        )
        .choice("Dangling", |c| c.when(Cond::is_present("$.orderId"), |f| f))
        .goto("Same");
    let errors = messages(emit(flow).unwrap_err());
    let expected = [
        "state name 'Same' is used twice; state names must be unique in the workflow",
        &format!("state name '{long}' is 81 characters long; ASL allows at most 80"),
        "State 'Call': 2 Catch::all() catchers; keep one (States.ALL must be last)",
        "State 'Call': 'States.Bogus' is not a predefined error and names starting with 'States.' are reserved",
    ];
    for fragment in expected {
        assert!(
            errors.iter().any(|e| e.contains(fragment)),
            "missing {fragment:?} in {errors:#?}"
        );
    }
}

#[test]
fn states_after_an_end_and_dangling_choice_rules_are_reported() {
    let flow = workflow::<Order>("unreachable")
        .choice("Route", |c| {
            c.when(Cond::is_present("$.orderId"), |f: Flow<Order>| {
                f.succeed("Ok")
            })
            .when(Cond::is_null("$.orderId"), |f| f)
        })
        .succeed("Done");
    // The second rule continues to "Done": fine.
    assert!(emit(flow).is_ok());

    let ended = workflow::<Order>("unreachable")
        .choice("Route", |c| {
            c.when(Cond::is_present("$.orderId"), |f| f)
                .otherwise(|f: Flow<Order>| f.succeed("Ok"))
        })
        .pass(Pass::new("Next"));
    assert!(emit(ended).is_ok());

    let empty = workflow::<Order>("dangling")
        .choice("Route", |c: workflow_dsl::builder::Choice<Order, Order>| c);
    let errors = messages(emit(empty).unwrap_err());
    assert!(
        errors
            .iter()
            .any(|e| e.contains("Choice 'Route' has no rules; add one with `when`")),
        "{errors:#?}"
    );
}

#[test]
fn a_missing_catch_target_is_a_spec_problem() {
    let flow = workflow::<Order>("missing target")
        .then(task::<Charge>("Charge").catch(Catch::all(), "Nowhere"))
        .succeed("Done");
    let error = emit(flow).unwrap_err();
    assert!(
        error
            .problems
            .iter()
            .any(|p| matches!(p, EmitProblem::Spec(s) if s.message.contains("Nowhere"))),
        "{error}"
    );
}
