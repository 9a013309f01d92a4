//! Syntax of JSONPath paths, Reference Paths, intrinsic function calls, payload templates and
//! variable names (<https://states-language.net/spec.html#path>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html>).

use serde_json::Value;

/// The intrinsic functions of Step Functions with their accepted argument counts (min, max).
pub const INTRINSIC_FUNCTIONS: [(&str, usize, usize); 18] = [
    ("States.Format", 1, usize::MAX),
    ("States.StringToJson", 1, 1),
    ("States.JsonToString", 1, 1),
    ("States.Array", 0, usize::MAX),
    ("States.ArrayPartition", 2, 2),
    ("States.ArrayContains", 2, 2),
    ("States.ArrayRange", 3, 3),
    ("States.ArrayGetItem", 2, 2),
    ("States.ArrayLength", 1, 1),
    ("States.ArrayUnique", 1, 1),
    ("States.Base64Encode", 1, 1),
    ("States.Base64Decode", 1, 1),
    ("States.Hash", 2, 2),
    ("States.JsonMerge", 3, 3),
    ("States.MathRandom", 2, 3),
    ("States.MathAdd", 2, 2),
    ("States.StringSplit", 2, 2),
    ("States.UUID", 0, 0),
];

/// Which flavour of path a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathKind {
    /// Any JSONPath into the input (`$...`), the context object (`$$...`) or a variable (`$name...`).
    Path,
    /// A Reference Path (a single node: no `..`, `*`, filters, slices or unions) into the input,
    /// the context object or a variable: `TimeoutSecondsPath`, `ItemsPath`, ...
    Reference,
    /// `ResultPath`: a Reference Path into the state input only.
    Result,
}

/// Checks the syntax of a path; the error says what is wrong.
pub(crate) fn check_path(text: &str, kind: PathKind) -> Result<(), String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.first() != Some(&'$') {
        return Err("a path must start with '$'".to_owned());
    }
    let reference = kind != PathKind::Path;
    let mut i = 1;
    if chars.get(1) == Some(&'$') {
        if kind == PathKind::Result {
            return Err("ResultPath cannot write into the context object ($$)".to_owned());
        }
        i = 2;
    } else if chars.get(1).is_some_and(|c| c.is_alphabetic() || *c == '_') {
        if kind == PathKind::Result {
            return Err(
                "ResultPath must be a path into the state input ($...), not a variable (use Assign to set variables)"
                    .to_owned(),
            );
        }
        i = 2;
        while chars
            .get(i)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
        {
            i += 1;
        }
    }
    while i < chars.len() {
        match chars[i] {
            '.' => {
                if chars.get(i + 1) == Some(&'.') {
                    if reference {
                        return Err(
                            "'..' (deep scan) is not allowed in a Reference Path".to_owned()
                        );
                    }
                    i += 2;
                    if chars.get(i) == Some(&'[') {
                        continue;
                    }
                } else {
                    i += 1;
                }
                if chars.get(i) == Some(&'*') {
                    if reference {
                        return Err("'*' (wildcard) is not allowed in a Reference Path".to_owned());
                    }
                    i += 1;
                    continue;
                }
                let start = i;
                while i < chars.len() && !matches!(chars[i], '.' | '[') {
                    if matches!(chars[i], ']' | '\'' | '"' | '(' | ')') || chars[i].is_whitespace()
                    {
                        return Err(format!(
                            "unexpected '{}' at position {i} in a field name (quote unusual names: $['my name'])",
                            chars[i]
                        ));
                    }
                    i += 1;
                }
                if i == start {
                    return Err(format!("missing field name at position {start}"));
                }
            }
            '[' => {
                let end = closing_bracket(&chars, i)
                    .ok_or_else(|| format!("'[' at position {i} is never closed"))?;
                let content: String = chars[i + 1..end].iter().collect();
                check_bracket(content.trim(), reference)?;
                i = end + 1;
            }
            c => {
                return Err(format!(
                    "unexpected '{c}' at position {i}; expected '.' or '['"
                ))
            }
        }
    }
    Ok(())
}

/// Index of the `]` closing the `[` at `open`, skipping quoted text and parentheses.
fn closing_bracket(chars: &[char], open: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let mut i = open + 1;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some(q) => {
                if c == '\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' | '[' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ']' if depth == 0 => return Some(i),
                ']' => depth -= 1,
                _ => {}
            },
        }
        i += 1;
    }
    None
}

fn is_int(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

fn is_quoted(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 2 || !matches!(chars[0], '\'' | '"') || chars[chars.len() - 1] != chars[0] {
        return false;
    }
    let quote = chars[0];
    let mut i = 1;
    while i < chars.len() - 1 {
        if chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] == quote {
            return false;
        }
        i += 1;
    }
    i == chars.len() - 1
}

/// Splits on commas outside quotes.
fn split_union(s: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quote.is_some() {
            escaped = true;
        } else if let Some(q) = quote {
            if c == q {
                quote = None;
            }
        } else if c == '\'' || c == '"' {
            quote = Some(c);
        } else if c == ',' {
            parts.push(String::new());
            continue;
        }
        parts.last_mut().expect("never empty").push(c);
    }
    parts.into_iter().map(|p| p.trim().to_owned()).collect()
}

fn check_bracket(content: &str, reference: bool) -> Result<(), String> {
    let not_reference = |what: &str| -> Result<(), String> {
        if reference {
            Err(format!("{what} is not allowed in a Reference Path"))
        } else {
            Ok(())
        }
    };
    if content.is_empty() {
        return Err("empty brackets '[]'".to_owned());
    }
    if let Some(filter) = content.strip_prefix('?') {
        let filter = filter.trim();
        if !(filter.starts_with('(') && filter.ends_with(')')) {
            return Err(format!("filter '[{content}]' must be written [?(...)]"));
        }
        return not_reference("a filter [?(...)]");
    }
    if content.starts_with('(') {
        if !content.ends_with(')') {
            return Err(format!("script '[{content}]' must be written [(...)]"));
        }
        return not_reference("a script expression [(...)]");
    }
    if content == "*" {
        return not_reference("'[*]' (wildcard)");
    }
    if is_int(content) {
        if reference && content.starts_with('-') {
            return Err("a negative index is not allowed in a Reference Path".to_owned());
        }
        return Ok(());
    }
    if content.contains(':') && !content.starts_with(['\'', '"']) {
        let parts: Vec<&str> = content.split(':').map(str::trim).collect();
        if parts.len() > 3 || parts.iter().any(|p| !p.is_empty() && !is_int(p)) {
            return Err(format!(
                "'[{content}]' is not a valid array slice [start:end:step]"
            ));
        }
        return not_reference("an array slice");
    }
    let parts = split_union(content);
    if parts.iter().all(|p| is_quoted(p)) {
        if parts.len() > 1 {
            return not_reference("a union of names");
        }
        return Ok(());
    }
    if parts.iter().all(|p| is_int(p)) {
        return not_reference("a union of indexes");
    }
    Err(format!(
        "'[{content}]' is not a valid index, slice, quoted name, wildcard or filter"
    ))
}

/// Checks an intrinsic function call such as `States.Format('{}', $.a)`.
pub(crate) fn check_intrinsic(text: &str) -> Result<(), String> {
    let mut parser = IntrinsicParser {
        chars: text.chars().collect(),
        i: 0,
    };
    parser.call()?;
    parser.skip_ws();
    if parser.i < parser.chars.len() {
        return Err(format!(
            "unexpected text after the closing ')' at position {}",
            parser.i
        ));
    }
    Ok(())
}

struct IntrinsicParser {
    chars: Vec<char>,
    i: usize,
}

impl IntrinsicParser {
    fn skip_ws(&mut self) {
        while self.chars.get(self.i).is_some_and(|c| c.is_whitespace()) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn call(&mut self) -> Result<(), String> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_')
        {
            self.i += 1;
        }
        let name: String = self.chars[start..self.i].iter().collect();
        let Some((_, min, max)) = INTRINSIC_FUNCTIONS.iter().find(|(n, _, _)| *n == name) else {
            let mut message = format!("'{name}' is not an intrinsic function");
            if let Some(close) =
                super::names::suggest(&name, INTRINSIC_FUNCTIONS.iter().map(|(n, _, _)| *n))
            {
                message.push_str(&format!(" (did you mean '{close}'?)"));
            } else {
                message.push_str(" (they are States.Format, States.StringToJson, States.JsonToString, States.Array, States.ArrayPartition, States.ArrayContains, States.ArrayRange, States.ArrayGetItem, States.ArrayLength, States.ArrayUnique, States.Base64Encode, States.Base64Decode, States.Hash, States.JsonMerge, States.MathRandom, States.MathAdd, States.StringSplit and States.UUID)");
            }
            return Err(message);
        };
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(format!(
                "'{name}' must be followed by '(' and its arguments"
            ));
        }
        self.i += 1;
        let mut count = 0usize;
        self.skip_ws();
        if self.peek() == Some(')') {
            self.i += 1;
        } else {
            loop {
                self.argument()?;
                count += 1;
                self.skip_ws();
                match self.peek() {
                    Some(',') => self.i += 1,
                    Some(')') => {
                        self.i += 1;
                        break;
                    }
                    Some(c) => {
                        return Err(format!(
                            "unexpected '{c}' at position {} in the arguments of {name}; expected ',' or ')'",
                            self.i
                        ))
                    }
                    None => return Err(format!("the '(' of {name} is never closed")),
                }
            }
        }
        if count < *min || count > *max {
            let expected = if min == max {
                format!("{min}")
            } else if *max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(format!(
                "{name} takes {expected} argument(s), found {count}"
            ));
        }
        Ok(())
    }

    fn argument(&mut self) -> Result<(), String> {
        self.skip_ws();
        match self.peek() {
            Some('\'') => {
                self.i += 1;
                loop {
                    match self.peek() {
                        None => return Err("a string argument '...' is never closed".to_owned()),
                        Some('\\') => self.i += 2,
                        Some('\'') => {
                            self.i += 1;
                            return Ok(());
                        }
                        Some(_) => self.i += 1,
                    }
                }
            }
            Some('$') => {
                let start = self.i;
                let mut quote: Option<char> = None;
                let mut depth = 0usize;
                while let Some(c) = self.peek() {
                    match quote {
                        Some(q) => {
                            if c == '\\' {
                                self.i += 1;
                            } else if c == q {
                                quote = None;
                            }
                        }
                        None => match c {
                            '\'' | '"' => quote = Some(c),
                            '[' | '(' => depth += 1,
                            ']' | ')' if depth > 0 => depth -= 1,
                            ',' | ')' => break,
                            _ => {}
                        },
                    }
                    self.i += 1;
                }
                let path: String = self.chars[start..self.i.min(self.chars.len())]
                    .iter()
                    .collect();
                let path = path.trim_end();
                check_path(path, PathKind::Path)
                    .map_err(|e| format!("argument '{path}' is not a valid path: {e}"))
            }
            Some('S') => self.call(),
            Some(c) if c == '-' || c.is_ascii_digit() => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                {
                    self.i += 1;
                }
                let number: String = self.chars[start..self.i].iter().collect();
                number
                    .parse::<f64>()
                    .map(|_| ())
                    .map_err(|_| format!("'{number}' is not a valid number"))
            }
            Some(_) => {
                for literal in ["true", "false", "null"] {
                    let end = self.i + literal.len();
                    if end <= self.chars.len()
                        && self.chars[self.i..end].iter().copied().eq(literal.chars())
                    {
                        self.i = end;
                        return Ok(());
                    }
                }
                Err(format!(
                    "unexpected text at position {}: an argument is a 'string', a number, true, false, null, a path or another intrinsic function",
                    self.i
                ))
            }
            None => Err("missing argument before the end of the text".to_owned()),
        }
    }
}

/// Checks the value of a `key.$` field: a path, a variable or an intrinsic function call.
pub(crate) fn check_dynamic_value(key: &str, value: &Value) -> Result<(), String> {
    let Value::String(text) = value else {
        return Err(format!(
            "'{key}' ends in '.$', so its value must be a string holding a path or an intrinsic function, found {value}"
        ));
    };
    if text.starts_with("States.") {
        return check_intrinsic(text)
            .map_err(|e| format!("'{key}' holds an invalid intrinsic function call: {e}"));
    }
    if text.starts_with('$') {
        return check_path(text, PathKind::Path)
            .map_err(|e| format!("'{key}' holds an invalid path '{text}': {e}"));
    }
    Err(format!(
        "'{key}' ends in '.$', so its value must be a path ($...), a context path ($$...), a variable ($name) or an intrinsic function (States.Format(...)), found '{text}'"
    ))
}

/// Walks a JSONPath payload template (Parameters, ResultSelector, ItemSelector...) and returns
/// `(location suffix, message)` for every `key.$` whose value is not a path or intrinsic call.
pub(crate) fn check_payload_template(value: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk_template(value, String::new(), &mut out);
    out
}

fn walk_template(value: &Value, at: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_at = format!("{at}.{key}");
                if key.ends_with(".$") {
                    if let Err(message) = check_dynamic_value(key, child) {
                        out.push((child_at, message));
                    }
                } else {
                    walk_template(child, child_at, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_template(item, format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Longest variable name AWS accepts.
pub(crate) const MAX_VARIABLE_NAME: usize = 80;

/// Checks a variable name of `Assign` (without a trailing `.$`).
pub(crate) fn check_variable_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a variable name cannot be empty".to_owned());
    }
    if name.starts_with('$') {
        return Err(format!(
            "variable name '{name}' must not start with '$' (assign 'x' and read it as $x)"
        ));
    }
    if name.chars().count() > MAX_VARIABLE_NAME {
        return Err(format!(
            "variable name '{name}' is longer than {MAX_VARIABLE_NAME} characters"
        ));
    }
    let mut chars = name.chars();
    let first = chars.next().expect("not empty");
    if !(first.is_alphabetic() || first == '_') || !chars.all(|c| c.is_alphanumeric() || c == '_') {
        return Err(format!(
            "variable name '{name}' is not valid: it must start with a letter or '_' and contain only letters, digits and '_'"
        ));
    }
    if name == "states" {
        return Err("'states' is reserved for the $states variable of JSONata".to_owned());
    }
    Ok(())
}
