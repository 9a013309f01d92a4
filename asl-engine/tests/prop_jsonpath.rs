//! Property tests of the engine's JSONPath parser and evaluator, and of compiling paths and
//! intrinsic functions in a definition: arbitrary path strings never panic in `Path::parse`,
//! `select`, `set` or `normalized`; definite paths select what `set` stored; arbitrary strings
//! in a Pass state's paths and `Parameters` never panic the compiler.

use asl_engine::jsonpath::Path;
use asl_engine::CompiledMachine;
use proptest::prelude::*;
use serde_json::{json, Value};
use workflow_dsl::StateMachine;

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        "[a-z]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-c]{1,2}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Strings shaped like JSONPath (with its operators), plus any text.
fn path_text() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        "\\.[a-c]{1,2}",
        "\\.\\*",
        "\\.\\.[a-c]?",
        "\\[-?[0-9]{1,3}\\]",
        "\\[\\*\\]",
        "\\[-?[0-9]?:-?[0-9]?(:-?[0-9])?\\]",
        "\\[[0-9],[0-9]\\]",
        "\\['[a-c ]{0,3}'\\]",
        "\\[\\?\\(@\\.[a-c] ?(==|!=|<|<=|>|>=) ?(-?[0-9]{1,2}|'[a-c]'|true)\\)\\]",
        "\\[\\?\\(@\\.[a-c]\\)\\]",
        "\\[\\(@\\.length-1\\)\\]",
        "[\\[\\]().*?@'\"$,:!<=>a-c0-9 -]{1,3}",
    ];
    prop_oneof![
        4 => ("\\$\\$?", prop::collection::vec(segment, 0..5))
            .prop_map(|(root, segs)| format!("{root}{}", segs.concat())),
        1 => "\\$[a-z_]{1,4}(\\.[a-c]{1,2}){0,2}",
        1 => ".{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_paths_never_panic(text in path_text(), doc in any_json(), value in any_json()) {
        if let Ok(path) = Path::parse(&text) {
            let _ = path.normalized();
            let _ = path.is_definite();
            let _ = path.select(&doc);
            let mut target = doc.clone();
            let _ = path.set(&mut target, value);
            // The normalized form is a path too.
            let normalized = path.normalized();
            if normalized.starts_with('$') {
                let _ = Path::parse(&normalized);
            }
        }
    }

    #[test]
    fn definite_paths_select_what_set_stored(
        fields in prop::collection::vec("[a-z]{1,5}", 1..5),
        value in any_json(),
    ) {
        let text = format!("$.{}", fields.join("."));
        let path = Path::parse(&text).expect("a dotted path parses");
        prop_assert!(path.is_definite());
        let mut doc = json!({});
        prop_assert!(path.set(&mut doc, value.clone()), "set {text} on an empty object");
        let selected = path.select(&doc).map(|v| v.into_owned());
        prop_assert_eq!(selected, Some(value));
    }

    #[test]
    fn index_paths_select_the_element(items in prop::collection::vec(any_json(), 1..6), pick in 0usize..6) {
        let index = pick % items.len();
        let doc = json!({ "list": items.clone() });
        let path = Path::parse(&format!("$.list[{index}]")).expect("index path parses");
        let selected = path.select(&doc).map(|v| v.into_owned());
        prop_assert_eq!(selected, Some(items[index].clone()));
        let out_of_range = Path::parse(&format!("$.list[{}]", items.len())).expect("parses");
        prop_assert!(out_of_range.select(&doc).is_none());
    }

    #[test]
    fn compiling_arbitrary_paths_and_intrinsics_never_panics(
        input_path in path_text(),
        result_path in path_text(),
        parameter in prop_oneof![
            path_text(),
            "States\\.(Format|Array|ArrayPartition|ArrayContains|ArrayRange|ArrayGetItem|ArrayLength|ArrayUnique|Base64Encode|Base64Decode|Hash|JsonMerge|StringToJson|JsonToString|MathRandom|MathAdd|StringSplit|UUID)\\([ $.a-z0-9',{}\\\\()-]{0,24}\\)?",
            ".{0,30}",
        ],
    ) {
        let definition = json!({
            "StartAt": "P",
            "States": {"P": {
                "Type": "Pass",
                "InputPath": input_path,
                "ResultPath": result_path,
                "Parameters": {"x.$": parameter},
                "End": true
            }}
        });
        if let Ok(machine) = StateMachine::from_value(definition) {
            let _ = CompiledMachine::new(&machine);
        }
    }
}
