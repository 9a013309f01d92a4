//! JSONata expressions as ASL writes them, strings wrapped in `{% ... %}`
//! (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>): recognising
//! them, parsing them, and finding what they refer to (workflow variables, `$states` paths,
//! functions) so the validator and the path checker can check those references.

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

/// The functions of JSONata 2.0 (<https://docs.jsonata.org/overview.html>) that Step Functions
/// supports (all but `$eval`), and the functions Step Functions adds
/// (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>).
pub(crate) const FUNCTIONS: &[&str] = &[
    // String
    "string",
    "length",
    "substring",
    "substringBefore",
    "substringAfter",
    "uppercase",
    "lowercase",
    "trim",
    "pad",
    "contains",
    "split",
    "join",
    "match",
    "replace",
    "base64encode",
    "base64decode",
    "encodeUrlComponent",
    "encodeUrl",
    "decodeUrlComponent",
    "decodeUrl",
    "formatNumber",
    "formatBase",
    "formatInteger",
    "parseInteger",
    // Numeric and aggregation
    "number",
    "abs",
    "floor",
    "ceil",
    "round",
    "power",
    "sqrt",
    "random",
    "sum",
    "max",
    "min",
    "average",
    // Boolean
    "boolean",
    "not",
    "exists",
    // Array
    "count",
    "append",
    "sort",
    "reverse",
    "shuffle",
    "distinct",
    "zip",
    // Object
    "keys",
    "lookup",
    "spread",
    "merge",
    "sift",
    "each",
    "error",
    "assert",
    "type",
    // Date and time
    "now",
    "millis",
    "fromMillis",
    "toMillis",
    // Higher order
    "map",
    "filter",
    "single",
    "reduce",
    // Added by Step Functions
    "partition",
    "range",
    "hash",
    "uuid",
    "parse",
];

/// A name read by an expression, with the fields selected after it: `$order.total` is
/// `order` with path `["total"]`, `$states.input.id` is `states` with `["input", "id"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    pub name: String,
    pub path: Vec<String>,
    /// Character position in the expression (counting from the first character after `{%`).
    pub position: usize,
}

impl Reference {
    /// The reference as written: `$order.total`.
    pub fn text(&self) -> String {
        let mut out = format!("${}", self.name);
        for field in &self.path {
            out.push('.');
            out.push_str(field);
        }
        out
    }
}

/// What one JSONata expression refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct References {
    /// Workflow variables (not `$states`, not names bound inside the expression).
    pub variables: Vec<Reference>,
    /// Paths into the reserved `$states` variable.
    pub states: Vec<Reference>,
    /// Calls of functions neither JSONata nor Step Functions define.
    pub unknown_functions: Vec<Reference>,
    /// Positions of `$$` (JSONPath's context object, which ASL forbids in JSONata).
    pub root: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// `$name` (`$` alone is the context, `$$` the root: name `""` and `"$"`).
    Var(String),
    /// A field name, plain or in backquotes.
    Name(String),
    /// An operator or punctuation: `.`, `(`, `)`, `:=`, `@`, `#`, `,` and the rest.
    Punct(String),
    /// A string or number literal.
    Literal,
}

/// Splits a JSONata expression into tokens with their character positions. Literals and
/// comments are skipped over, so a `$name` inside a string is not a reference.
fn tokens(expression: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = expression.chars().collect();
    let name_char = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
            }
            '"' | '\'' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push((Token::Literal, start));
            }
            '`' => {
                i += 1;
                let from = i;
                while i < chars.len() && chars[i] != '`' {
                    i += 1;
                }
                let name: String = chars[from..i.min(chars.len())].iter().collect();
                i += 1;
                out.push((Token::Name(name), start));
            }
            '$' => {
                i += 1;
                if chars.get(i) == Some(&'$') {
                    i += 1;
                    out.push((Token::Var("$".to_owned()), start));
                } else {
                    let from = i;
                    while i < chars.len() && name_char(chars[i]) {
                        i += 1;
                    }
                    out.push((Token::Var(chars[from..i].iter().collect()), start));
                }
            }
            c if c.is_ascii_digit() => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    // `1..3` is a range, not a number with two dots.
                    if chars[i] == '.' && chars.get(i + 1) == Some(&'.') {
                        break;
                    }
                    i += 1;
                }
                out.push((Token::Literal, start));
            }
            c if name_char(c) => {
                while i < chars.len() && name_char(chars[i]) {
                    i += 1;
                }
                out.push((Token::Name(chars[start..i].iter().collect()), start));
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                out.push((Token::Punct(":=".to_owned()), start));
            }
            '.' if chars.get(i + 1) == Some(&'.') => {
                i += 2;
                out.push((Token::Punct("..".to_owned()), start));
            }
            other => {
                i += 1;
                out.push((Token::Punct(other.to_string()), start));
            }
        }
    }
    out
}

fn punct(token: Option<&(Token, usize)>, text: &str) -> bool {
    matches!(token, Some((Token::Punct(p), _)) if p == text)
}

/// Adds the parameters of a function definition (the tokens after its `(`) to `locals`.
fn bind_parameters<'t>(tokens: &'t [(Token, usize)], locals: &mut Vec<&'t str>) {
    for (token, _) in tokens {
        match token {
            Token::Var(name) => locals.push(name),
            Token::Punct(p) if p == ")" => break,
            _ => {}
        }
    }
}

/// Finds the variables, `$states` paths and unknown functions `expression` (the text between
/// `{%` and `%}`) refers to. Names bound inside the expression (`$x := ...`, function
/// parameters, `@$x` and `#$i`) are not workflow variables.
pub(crate) fn references(expression: &str) -> References {
    let tokens = tokens(expression);
    let mut locals: Vec<&str> = Vec::new();
    for (i, (token, _)) in tokens.iter().enumerate() {
        match token {
            Token::Var(name) => {
                let bound = punct(tokens.get(i + 1), ":=")
                    || (i > 0 && (punct(tokens.get(i - 1), "@") || punct(tokens.get(i - 1), "#")));
                if bound {
                    locals.push(name);
                }
            }
            // `function($a, $b)` or `λ($a)` (a Greek letter: read as a name).
            Token::Name(word)
                if (word == "function" || word == "λ") && punct(tokens.get(i + 1), "(") =>
            {
                bind_parameters(&tokens[i + 2..], &mut locals);
            }
            _ => {}
        }
    }
    let mut out = References::default();
    for (i, (token, position)) in tokens.iter().enumerate() {
        let Token::Var(name) = token else { continue };
        if name == "$" {
            out.root.push(*position);
            continue;
        }
        if name.is_empty() || locals.contains(&name.as_str()) {
            continue;
        }
        // A function passed as a value (`$map($items, $string)`) is not a variable.
        if FUNCTIONS.contains(&name.as_str()) && !punct(tokens.get(i + 1), ".") {
            continue;
        }
        if punct(tokens.get(i + 1), "(") {
            if !FUNCTIONS.contains(&name.as_str()) {
                out.unknown_functions.push(Reference {
                    name: name.clone(),
                    path: Vec::new(),
                    position: *position,
                });
            }
            continue;
        }
        let mut path = Vec::new();
        let mut j = i + 1;
        while punct(tokens.get(j), ".") {
            match tokens.get(j + 1) {
                Some((Token::Name(field), _)) => path.push(field.clone()),
                _ => break,
            }
            j += 2;
        }
        let reference = Reference {
            name: name.clone(),
            path,
            position: *position,
        };
        if name == "states" {
            out.states.push(reference);
        } else {
            out.variables.push(reference);
        }
    }
    out
}

/// The reference `expression` consists of, if it is nothing but one (`$states.input.a.b`,
/// `$order.total`): its value is then the referenced value, whose type the path checker knows.
pub(crate) fn sole_reference(expression: &str) -> Option<Reference> {
    let tokens = tokens(expression);
    let (Token::Var(name), position) = tokens.first()? else {
        return None;
    };
    if name.is_empty() || name == "$" {
        return None;
    }
    let mut path = Vec::new();
    let mut rest = &tokens[1..];
    while let [(Token::Punct(dot), _), (Token::Name(field), _), tail @ ..] = rest {
        if dot != "." {
            return None;
        }
        path.push(field.clone());
        rest = tail;
    }
    rest.is_empty().then(|| Reference {
        name: name.clone(),
        path,
        position: *position,
    })
}

/// The inner text of every `{% ... %}` string in `value` (a template or an expression), with
/// the location suffix of the string (`.a.b[0]`; empty for `value` itself).
pub(crate) fn expressions(value: &Value) -> Vec<(String, &str)> {
    fn walk<'v>(value: &'v Value, at: String, out: &mut Vec<(String, &'v str)>) {
        match value {
            Value::String(text) if is_expression(text) => out.push((at, &text[2..text.len() - 2])),
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
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
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

    #[test]
    fn references_name_variables_states_paths_and_unknown_functions() {
        let text =
            " $merge([$order, {'total': $states.input.lines.price ~> $sum()}]) & \"$notAVar\" \
             & $states.context.Task.Token & $xx & $ghost(1) /* $comment */ ";
        let found = references(text);
        let variables: Vec<String> = found.variables.iter().map(Reference::text).collect();
        assert_eq!(variables, ["$order", "$xx"]);
        let states: Vec<String> = found.states.iter().map(Reference::text).collect();
        assert_eq!(
            states,
            ["$states.input.lines.price", "$states.context.Task.Token"]
        );
        let unknown: Vec<&str> = found
            .unknown_functions
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(unknown, ["ghost"]);
        // ASCII text: the character position is the byte offset.
        assert_eq!(found.variables[1].position, text.find("$xx").unwrap());
    }

    #[test]
    fn names_bound_in_the_expression_are_not_workflow_variables() {
        let found = references(
            "($rate := 2; $map($states.input.items, function($item, $i) { $item.price * $rate \
             + $i }) ~> $filter(λ($v) { $v > $limit }); items@$it#$pos.{'x': $it, 'p': $pos})",
        );
        let variables: Vec<String> = found.variables.iter().map(Reference::text).collect();
        assert_eq!(variables, ["$limit"]);
        assert!(found.unknown_functions.is_empty());
    }

    #[test]
    fn functions_passed_as_values_are_not_variables() {
        let found = references("$map($states.input.ids, $string) ~> $join(',')");
        assert!(found.variables.is_empty(), "{:?}", found.variables);
        assert!(found.unknown_functions.is_empty());
    }

    #[test]
    fn sole_references_are_recognised() {
        let found = sole_reference(" $states.input.order.`line items` ").unwrap();
        assert_eq!(found.path, ["input", "order", "line items"]);
        assert_eq!(sole_reference("$order").unwrap().name, "order");
        assert_eq!(sole_reference("$order.total * 2"), None);
        assert_eq!(sole_reference("$sum($order)"), None);
        assert_eq!(sole_reference("$states.input[0]"), None);
    }

    #[test]
    fn eval_is_not_a_step_functions_function() {
        let found = references("$eval('1 + 1')");
        assert_eq!(found.unknown_functions[0].name, "eval");
    }
}
