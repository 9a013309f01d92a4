//! JSONata expressions as ASL writes them: strings wrapped in `{% ... %}`
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).

use serde_json::Value;

/// True when `text` is a JSONata expression string `{% ... %}`.
pub(crate) fn is_expression(text: &str) -> bool {
    text.len() >= 4 && text.starts_with("{%") && text.ends_with("%}")
}

/// What is wrong with a string that looks like a JSONata expression, if anything.
pub(crate) fn expression_problem(text: &str) -> Option<String> {
    if text.starts_with("{%") && !is_expression(text) {
        return Some(format!(
            "the JSONata expression '{}' is not closed: it must end with '%}}'",
            shorten(text)
        ));
    }
    if is_expression(text) {
        let inner = &text[2..text.len() - 2];
        if inner.trim().is_empty() {
            return Some("the JSONata expression '{% %}' is empty".to_owned());
        }
        // Parsed with the JSONata implementation the engine evaluates with; a syntax error says
        // where (the position counts from the first character after `{%`).
        let arena = bumpalo::Bump::new();
        if let Err(error) = jsonata_rs::JsonAta::new(inner, &arena) {
            return Some(format!(
                "the JSONata expression '{}' does not parse: {error}",
                shorten(text)
            ));
        }
    }
    None
}

/// Walks a JSONata template (Arguments, Output, Assign...) and returns `(location suffix,
/// message)` for every malformed `{% ... %}` string.
pub(crate) fn check_template(value: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

fn walk(value: &Value, at: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(text) => {
            if let Some(message) = expression_problem(text) {
                out.push((at, message));
            }
        }
        Value::Object(map) => {
            for (key, child) in map {
                walk(child, format!("{at}.{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// At most 60 characters of `text`, for messages.
pub(crate) fn shorten(text: &str) -> String {
    if text.chars().count() <= 60 {
        text.to_owned()
    } else {
        let head: String = text.chars().take(57).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_are_parsed() {
        assert_eq!(expression_problem("{% $states.input.total * 2 %}"), None);
        assert_eq!(
            expression_problem("{% $partition($states.input.items, 2) %}"),
            None
        );
        let problem = expression_problem("{% $x > %}").expect("a syntax error");
        assert!(problem.contains("does not parse"), "{problem}");
        assert!(expression_problem("{% (1 + %}").is_some());
        assert!(expression_problem("{% $x").is_some());
        assert!(expression_problem("{%   %}").is_some());
    }
}
