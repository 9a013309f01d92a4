//! The builder in JSONata: typed steps written with Arguments/Output, typed variables, and the
//! emit-time checks of `$states.input`, variable reads and step arguments
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use workflow_dsl::builder::{task, workflow, Parallel, Pass};
use workflow_dsl::emit::emit;
use workflow_dsl::typed::{NoErrors, TaskStep};
use workflow_dsl::vars::Var;

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Request {
    order_id: String,
    amount_cents: i64,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: String,
    total_cents: i64,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Key {
    order_id: String,
}

struct LookUp;
impl TaskStep for LookUp {
    const NAME: &'static str = "look-up";
    type Input = Key;
    type Output = Order;
    type Error = NoErrors;
}

struct Check;
impl TaskStep for Check {
    const NAME: &'static str = "check";
    type Input = Request;
    type Output = Request;
    type Error = NoErrors;
}

fn emitted(flow: impl workflow_dsl::builder::IntoWorkflow) -> Value {
    let emitted = emit(flow).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&emitted.json).unwrap()
}

fn problems(flow: impl workflow_dsl::builder::IntoWorkflow) -> String {
    match emit(flow) {
        Ok(_) => panic!("expected emit to fail"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn a_typed_step_in_a_jsonata_workflow_is_written_with_arguments_and_output() {
    let asl = emitted(
        workflow::<Request>("typed")
            .jsonata()
            .then(task::<Check>("Check")),
    );
    assert_eq!(asl["QueryLanguage"], "JSONata");
    let state = &asl["States"]["Check"];
    assert_eq!(state["Arguments"]["Payload"], "{% $states.input %}");
    assert_eq!(state["Output"], "{% $states.result.Payload %}");
    assert!(state.get("Parameters").is_none() && state.get("OutputPath").is_none());
}

#[test]
fn typed_steps_in_parallel_branches_follow_the_workflow_language() {
    let flow = workflow::<Request>("branches").jsonata().parallel(
        Parallel::new("Both")
            .branch(|b: workflow_dsl::builder::Flow<Request>| b.then(task::<Check>("Check A")))
            .branch(|b| b.then_for_effect(task::<Check>("Check B"))),
    );
    let asl = emitted(flow);
    let branches = &asl["States"]["Both"]["Branches"];
    assert_eq!(
        branches[0]["States"]["Check A"]["Output"],
        "{% $states.result.Payload %}"
    );
    assert_eq!(
        branches[1]["States"]["Check B"]["Output"],
        "{% $states.input %}"
    );
}

#[test]
fn arguments_and_variables_are_checked_against_the_rust_types() {
    let order: Var<Order> = Var::new("order");
    // A step's input built by arguments must have every required field.
    let text =
        problems(workflow::<Request>("args").jsonata().then(
            task::<LookUp>("Look up").arguments(json!({ "id": "{% $states.input.orderId %}" })),
        ));
    assert!(
        text.contains(
            "State 'Look up': the step's input (built by its arguments) is declared as `Key`"
        ),
        "{text}"
    );
    // `$states.input.<field>` must exist in the state's input.
    let text = problems(workflow::<Request>("typo").jsonata().then(
        task::<LookUp>("Look up").arguments(json!({ "orderId": "{% $states.input.ordrId %}" })),
    ));
    assert!(
        text.contains("State 'Look up': Arguments.Payload.orderId reads $states.input.ordrId, which does not exist; fields at '$states.input': amountCents, orderId"),
        "{text}"
    );
    // A typed variable's fields are known.
    let text = problems(
        workflow::<Request>("var typo")
            .jsonata()
            .then(
                task::<LookUp>("Look up")
                    .arguments(json!({ "orderId": "{% $states.input.orderId %}" }))
                    .assign_result(&order),
            )
            .pass(Pass::new("Use").output(json!({ "t": order.at("totl") }))),
    );
    assert!(
        text.contains("State 'Use': Output.t reads $order.totl, which does not exist; fields at '$order': orderId, totalCents"),
        "{text}"
    );
    // An assignment must fit the variable's type.
    let total: Var<i64> = Var::new("total");
    let text = problems(
        workflow::<Request>("wrong type")
            .jsonata()
            .pass(Pass::new("Set").assign(&total, "{% $states.input.orderId %}")),
    );
    assert!(
        text.contains("State 'Set': the variable 'total' is declared as `i64`"),
        "{text}"
    );
}

#[test]
fn variables_read_before_any_assignment_or_with_two_types_do_not_emit() {
    let late: Var<i64> = Var::new("late");
    let text = problems(
        workflow::<Request>("late")
            .jsonata()
            .pass(Pass::new("Read").output(json!({ "x": late.expr() })))
            .pass(Pass::new("Set").assign(&late, 1)),
    );
    assert!(
        text.contains("State 'Read': Output.x reads $late, but no path to 'Read' assigns 'late'"),
        "{text}"
    );
    let as_text: Var<String> = Var::new("value");
    let as_number: Var<i64> = Var::new("value");
    let text = problems(
        workflow::<Request>("two types")
            .jsonata()
            .pass(Pass::new("A").assign(&as_text, "x"))
            .pass(Pass::new("B").assign(&as_number, 1)),
    );
    assert!(
        text.contains("variable 'value' is assigned as `i64` here and as `String` elsewhere"),
        "{text}"
    );
}

#[test]
fn jsonata_is_set_before_the_first_state() {
    let text = problems(
        workflow::<Request>("late language")
            .pass(Pass::new("First"))
            .jsonata(),
    );
    assert!(
        text.contains("call it right after `workflow(...)`"),
        "{text}"
    );
}
