//! JSONPath as AWS Step Functions evaluates it (the Jayway dialect): compiled once, evaluated per state.
//!
//! Supported: `$`, `$$` (context object), `$name` (variables), `.field`, `['field']`, `[n]` (negative
//! counts from the end), `[*]`, `.*`, `[a:b]`, `[i,j]`, `..field` (deep scan) and `[?(...)]` filters with
//! `==, !=, <, <=, >, >=, &&, ||, !` over `@`-relative paths and literals.
//! A path is *definite* when it names at most one node; otherwise its result is an array of the matches
//! (empty when nothing matches), as in AWS (see
//! <https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html>).

use std::borrow::Cow;

use serde_json::Value;

/// Where a path starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Root {
    /// `$`: the state input (or whatever document the field applies to).
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable.
    Var(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Field(String),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Union(Vec<UnionItem>),
    Filter(Box<FilterExpr>),
    DeepField(String),
    DeepWildcard,
}

#[derive(Debug, Clone, PartialEq)]
enum UnionItem {
    Index(i64),
    Field(String),
}

#[derive(Debug, Clone, PartialEq)]
enum FilterExpr {
    Or(Box<FilterExpr>, Box<FilterExpr>),
    And(Box<FilterExpr>, Box<FilterExpr>),
    Not(Box<FilterExpr>),
    Cmp(Operand, CmpOp, Operand),
    Exists(Operand),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Current(Vec<Seg>),
    Literal(Value),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A compiled JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Where the path starts: `$`, `$$` or a variable.
    pub root: Root,
    segs: Vec<Seg>,
    definite: bool,
    text: String,
}

/// A path that could not be compiled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid JSONPath '{path}': {reason}")]
pub struct PathError {
    /// The path as written.
    pub path: String,
    /// Why it is not a valid path.
    pub reason: String,
}

impl Path {
    /// Compiles `text` (which must start with `$`).
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let err = |reason: &str| PathError {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            text,
        };
        if !p.eat(b'$') {
            return Err(err("a path must start with '$'"));
        }
        let root = if p.eat(b'$') {
            Root::Context
        } else if p
            .peek()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        {
            let start = p.i;
            while p
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
            {
                p.i += 1;
            }
            Root::Var(text[start..p.i].to_string())
        } else {
            Root::Input
        };
        let segs = p.segments(false).map_err(|r| err(&r))?;
        if p.i != p.s.len() {
            return Err(err(&format!("unexpected character at position {}", p.i)));
        }
        let definite = segs
            .iter()
            .all(|s| matches!(s, Seg::Field(_) | Seg::Index(_)));
        Ok(Path {
            root,
            segs,
            definite,
            text: text.to_string(),
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the path is only `$` (the whole document).
    pub fn is_root(&self) -> bool {
        self.root == Root::Input && self.segs.is_empty()
    }

    /// True when the path names at most one node.
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// True when the path can be used as a reference path (ResultPath): only fields and indexes.
    pub fn is_reference(&self) -> bool {
        self.definite && self.root == Root::Input
    }

    /// Evaluates the path against `doc` (the node its root designates). `None` when a definite path
    /// finds nothing; an indefinite path always yields an array.
    pub fn select<'v>(&self, doc: &'v Value) -> Option<Cow<'v, Value>> {
        if self.definite {
            let mut cur = doc;
            for seg in &self.segs {
                cur = match seg {
                    Seg::Field(f) => crate::value::member(cur.as_object()?, f)?,
                    Seg::Index(i) => {
                        let arr = cur.as_array()?;
                        let idx = if *i < 0 { arr.len() as i64 + i } else { *i };
                        if idx < 0 {
                            return None;
                        }
                        arr.get(idx as usize)?
                    }
                    _ => unreachable!("definite paths hold only fields and indexes"),
                };
            }
            Some(Cow::Borrowed(cur))
        } else {
            let mut out = Vec::new();
            collect(&self.segs, doc, &mut out);
            Some(Cow::Owned(Value::Array(out.into_iter().cloned().collect())))
        }
    }

    /// Writes `value` at this reference path inside `doc`, creating missing objects on the way.
    /// Returns false when the path cannot be applied (a non-object on the way, an index out of range).
    pub fn set(&self, doc: &mut Value, value: Value) -> bool {
        let mut cur = doc;
        let n = self.segs.len();
        for (k, seg) in self.segs.iter().enumerate() {
            let last = k + 1 == n;
            match seg {
                Seg::Field(f) => {
                    let Some(obj) = cur.as_object_mut() else {
                        return false;
                    };
                    if last {
                        obj.insert(f.clone(), value);
                        return true;
                    }
                    let entry = obj
                        .entry(f.clone())
                        .or_insert_with(|| Value::Object(Default::default()));
                    if !(entry.is_object() || entry.is_array()) {
                        *entry = Value::Object(Default::default());
                    }
                    cur = entry;
                }
                Seg::Index(i) => {
                    let Some(arr) = cur.as_array_mut() else {
                        return false;
                    };
                    let idx = if *i < 0 { arr.len() as i64 + i } else { *i };
                    if idx < 0 || idx as usize >= arr.len() {
                        return false;
                    }
                    let slot = &mut arr[idx as usize];
                    if last {
                        *slot = value;
                        return true;
                    }
                    cur = slot;
                }
                _ => return false,
            }
        }
        *cur = value;
        true
    }

    /// The path in Jayway's normalised bracket form, as AWS prints it in errors: `$['a']['b'][0]`.
    pub fn normalized(&self) -> String {
        let mut s = String::from("$");
        for seg in &self.segs {
            match seg {
                Seg::Field(f) => {
                    s.push_str("['");
                    s.push_str(f);
                    s.push_str("']");
                }
                Seg::Index(i) => s.push_str(&format!("[{i}]")),
                _ => s.push_str("[*]"),
            }
        }
        s
    }
}

fn collect<'v>(segs: &[Seg], node: &'v Value, out: &mut Vec<&'v Value>) {
    let Some((seg, rest)) = segs.split_first() else {
        out.push(node);
        return;
    };
    match seg {
        Seg::Field(f) => {
            if let Some(v) = node.as_object().and_then(|o| crate::value::member(o, f)) {
                collect(rest, v, out);
            }
        }
        Seg::Index(i) => {
            if let Some(arr) = node.as_array() {
                let idx = if *i < 0 { arr.len() as i64 + i } else { *i };
                if idx >= 0 {
                    if let Some(v) = arr.get(idx as usize) {
                        collect(rest, v, out);
                    }
                }
            }
        }
        Seg::Wildcard => match node {
            Value::Array(a) => a.iter().for_each(|v| collect(rest, v, out)),
            Value::Object(o) => o.values().for_each(|v| collect(rest, v, out)),
            _ => {}
        },
        Seg::Slice(start, end, step) => {
            if let Some(arr) = node.as_array() {
                let len = arr.len() as i64;
                let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                let step = step.unwrap_or(1).max(1);
                let mut i = start.map(norm).unwrap_or(0);
                let end = end.map(norm).unwrap_or(len);
                while i < end {
                    collect(rest, &arr[i as usize], out);
                    i += step;
                }
            }
        }
        Seg::Union(items) => {
            for item in items {
                match item {
                    UnionItem::Index(i) => {
                        if let Some(arr) = node.as_array() {
                            let idx = if *i < 0 { arr.len() as i64 + i } else { *i };
                            if idx >= 0 {
                                if let Some(v) = arr.get(idx as usize) {
                                    collect(rest, v, out);
                                }
                            }
                        }
                    }
                    UnionItem::Field(f) => {
                        if let Some(v) = node.as_object().and_then(|o| crate::value::member(o, f)) {
                            collect(rest, v, out);
                        }
                    }
                }
            }
        }
        Seg::Filter(expr) => match node {
            Value::Array(a) => {
                for v in a {
                    if filter_matches(expr, v) {
                        collect(rest, v, out);
                    }
                }
            }
            Value::Object(_) if filter_matches(expr, node) => collect(rest, node, out),
            _ => {}
        },
        Seg::DeepField(f) => {
            deep(node, &mut |v| {
                if let Some(x) = v.as_object().and_then(|o| crate::value::member(o, f)) {
                    collect(rest, x, out);
                }
            });
        }
        Seg::DeepWildcard => {
            deep(node, &mut |v| match v {
                Value::Array(a) => a.iter().for_each(|x| collect(rest, x, out)),
                Value::Object(o) => o.values().for_each(|x| collect(rest, x, out)),
                _ => {}
            });
        }
    }
}

fn deep<'v>(node: &'v Value, f: &mut dyn FnMut(&'v Value)) {
    f(node);
    match node {
        Value::Array(a) => a.iter().for_each(|v| deep(v, f)),
        Value::Object(o) => o.values().for_each(|v| deep(v, f)),
        _ => {}
    }
}

fn operand_value<'v>(op: &'v Operand, cur: &'v Value) -> Option<Cow<'v, Value>> {
    match op {
        Operand::Literal(v) => Some(Cow::Borrowed(v)),
        Operand::Current(segs) => {
            let mut out = Vec::new();
            collect(segs, cur, &mut out);
            let definite = segs
                .iter()
                .all(|s| matches!(s, Seg::Field(_) | Seg::Index(_)));
            if definite {
                out.pop().map(Cow::Borrowed)
            } else {
                Some(Cow::Owned(Value::Array(out.into_iter().cloned().collect())))
            }
        }
    }
}

fn filter_matches(expr: &FilterExpr, cur: &Value) -> bool {
    match expr {
        FilterExpr::Or(a, b) => filter_matches(a, cur) || filter_matches(b, cur),
        FilterExpr::And(a, b) => filter_matches(a, cur) && filter_matches(b, cur),
        FilterExpr::Not(a) => !filter_matches(a, cur),
        FilterExpr::Exists(op) => operand_value(op, cur).is_some(),
        FilterExpr::Cmp(l, op, r) => {
            let (Some(l), Some(r)) = (operand_value(l, cur), operand_value(r, cur)) else {
                return false;
            };
            compare(&l, *op, &r)
        }
    }
}

fn compare(l: &Value, op: CmpOp, r: &Value) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (l, r) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => {
            return match op {
                CmpOp::Eq => l == r,
                CmpOp::Ne => l != r,
                _ => false,
            }
        }
    };
    let Some(ord) = ord else { return false };
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c == b' ') {
            self.i += 1;
        }
    }
    fn name(&mut self) -> String {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b'.'
                || c == b'['
                || (self.in_filter()
                    && matches!(c, b' ' | b')' | b'=' | b'!' | b'<' | b'>' | b'&' | b'|'))
            {
                break;
            }
            self.i += 1;
        }
        self.text[start..self.i].to_string()
    }
    fn in_filter(&self) -> bool {
        false
    }

    /// Segments until the end of the text, or (inside a filter) until a character that cannot continue a path.
    fn segments(&mut self, in_filter: bool) -> Result<Vec<Seg>, String> {
        let mut segs = Vec::new();
        loop {
            match self.peek() {
                None => break,
                Some(b'.') => {
                    self.i += 1;
                    if self.eat(b'.') {
                        if self.eat(b'*') {
                            segs.push(Seg::DeepWildcard);
                        } else if self.peek() == Some(b'[') {
                            // `..['x']` behaves like `..x`.
                            let inner = self.bracket()?;
                            match inner {
                                Seg::Field(f) => segs.push(Seg::DeepField(f)),
                                Seg::Wildcard => segs.push(Seg::DeepWildcard),
                                other => {
                                    segs.push(Seg::DeepWildcard);
                                    segs.push(other)
                                }
                            }
                        } else {
                            let n = self.filter_name(in_filter);
                            if n.is_empty() {
                                return Err("empty name after '..'".into());
                            }
                            segs.push(Seg::DeepField(n));
                        }
                    } else if self.eat(b'*') {
                        segs.push(Seg::Wildcard);
                    } else {
                        let n = self.filter_name(in_filter);
                        if n.is_empty() {
                            return Err("empty field name".into());
                        }
                        segs.push(Seg::Field(n));
                    }
                }
                Some(b'[') => segs.push(self.bracket()?),
                Some(_) if in_filter => break,
                Some(c) => return Err(format!("unexpected character '{}'", c as char)),
            }
        }
        Ok(segs)
    }

    fn filter_name(&mut self, in_filter: bool) -> String {
        if !in_filter {
            return self.name();
        }
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b'.'
                || c == b'['
                || matches!(c, b' ' | b')' | b'=' | b'!' | b'<' | b'>' | b'&' | b'|')
            {
                break;
            }
            self.i += 1;
        }
        self.text[start..self.i].to_string()
    }

    fn quoted(&mut self, q: u8) -> Result<String, String> {
        // Jayway takes a quoted name literally up to the closing quote that precedes ']' or ','.
        let start = self.i;
        loop {
            match self.peek() {
                None => return Err("unterminated quoted name".into()),
                Some(c) if c == q => {
                    let after = self.s.get(self.i + 1).copied();
                    if matches!(after, Some(b']') | Some(b',')) || after.is_none() {
                        let name = self.text[start..self.i].to_string();
                        self.i += 1;
                        return Ok(name);
                    }
                    self.i += 1;
                }
                Some(_) => self.i += 1,
            }
        }
    }

    fn int(&mut self) -> Option<i64> {
        self.skip_ws();
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let r = self.text[start..self.i].parse().ok();
        if r.is_none() {
            self.i = start;
        }
        self.skip_ws();
        r
    }

    fn bracket(&mut self) -> Result<Seg, String> {
        self.i += 1; // '['
        self.skip_ws();
        let seg = match self.peek() {
            Some(b'*') => {
                self.i += 1;
                Seg::Wildcard
            }
            Some(q @ (b'\'' | b'"')) => {
                let mut names = Vec::new();
                loop {
                    self.skip_ws();
                    if !self.eat(q) {
                        return Err("expected a quoted name".into());
                    }
                    names.push(self.quoted(q)?);
                    self.skip_ws();
                    if !self.eat(b',') {
                        break;
                    }
                }
                if names.len() == 1 {
                    Seg::Field(names.pop().expect("one name"))
                } else {
                    Seg::Union(names.into_iter().map(UnionItem::Field).collect())
                }
            }
            Some(b'?') => {
                self.i += 1;
                self.skip_ws();
                if !self.eat(b'(') {
                    return Err("expected '(' after '?'".into());
                }
                let expr = self.filter_or()?;
                self.skip_ws();
                if !self.eat(b')') {
                    return Err("expected ')' closing the filter".into());
                }
                Seg::Filter(Box::new(expr))
            }
            _ => {
                let first = self.int();
                if self.peek() == Some(b':') {
                    self.i += 1;
                    let end = self.int();
                    let step = if self.eat(b':') { self.int() } else { None };
                    Seg::Slice(first, end, step)
                } else if self.peek() == Some(b',') {
                    let mut items = vec![UnionItem::Index(first.ok_or("expected an index")?)];
                    while self.eat(b',') {
                        items.push(UnionItem::Index(self.int().ok_or("expected an index")?));
                    }
                    Seg::Union(items)
                } else {
                    Seg::Index(first.ok_or("expected an index, a quoted name, '*' or a filter")?)
                }
            }
        };
        self.skip_ws();
        if !self.eat(b']') {
            return Err("expected ']'".into());
        }
        Ok(seg)
    }

    fn filter_or(&mut self) -> Result<FilterExpr, String> {
        let mut left = self.filter_and()?;
        loop {
            self.skip_ws();
            if self.s[self.i..].starts_with(b"||") {
                self.i += 2;
                let right = self.filter_and()?;
                left = FilterExpr::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn filter_and(&mut self) -> Result<FilterExpr, String> {
        let mut left = self.filter_unary()?;
        loop {
            self.skip_ws();
            if self.s[self.i..].starts_with(b"&&") {
                self.i += 2;
                let right = self.filter_unary()?;
                left = FilterExpr::And(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn filter_unary(&mut self) -> Result<FilterExpr, String> {
        self.skip_ws();
        if self.peek() == Some(b'!') && self.s.get(self.i + 1) != Some(&b'=') {
            self.i += 1;
            return Ok(FilterExpr::Not(Box::new(self.filter_unary()?)));
        }
        if self.eat(b'(') {
            let e = self.filter_or()?;
            self.skip_ws();
            if !self.eat(b')') {
                return Err("expected ')'".into());
            }
            return Ok(e);
        }
        let left = self.operand()?;
        self.skip_ws();
        let op = if self.s[self.i..].starts_with(b"==") {
            self.i += 2;
            Some(CmpOp::Eq)
        } else if self.s[self.i..].starts_with(b"!=") {
            self.i += 2;
            Some(CmpOp::Ne)
        } else if self.s[self.i..].starts_with(b"<=") {
            self.i += 2;
            Some(CmpOp::Le)
        } else if self.s[self.i..].starts_with(b">=") {
            self.i += 2;
            Some(CmpOp::Ge)
        } else if self.eat(b'<') {
            Some(CmpOp::Lt)
        } else if self.eat(b'>') {
            Some(CmpOp::Gt)
        } else {
            None
        };
        match op {
            None => Ok(FilterExpr::Exists(left)),
            Some(op) => {
                let right = self.operand()?;
                Ok(FilterExpr::Cmp(left, op, right))
            }
        }
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_ws();
        match self.peek() {
            Some(b'@') => {
                self.i += 1;
                Ok(Operand::Current(self.segments(true)?))
            }
            Some(q @ (b'\'' | b'"')) => {
                self.i += 1;
                let start = self.i;
                while self.peek().is_some_and(|c| c != q) {
                    if self.peek() == Some(b'\\') {
                        self.i += 1;
                    }
                    self.i += 1;
                }
                let s = self.text[start..self.i.min(self.s.len())].to_string();
                if !self.eat(q) {
                    return Err("unterminated string literal in filter".into());
                }
                Ok(Operand::Literal(Value::String(s)))
            }
            _ => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
                {
                    self.i += 1;
                }
                let word = &self.text[start..self.i];
                let v: Value = serde_json::from_str(word)
                    .map_err(|_| format!("unsupported filter operand '{word}'"))?;
                Ok(Operand::Literal(v))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(p: &str, v: &Value) -> Option<Value> {
        Path::parse(p).unwrap().select(v).map(|c| c.into_owned())
    }

    #[test]
    fn definite_and_indefinite() {
        let doc = json!({"a": {"b": [1, 2, 3]}, "users": [{"s": 0, "n": "x"}, {"s": 1, "n": "y"}], "delivery-partner": "UQS"});
        assert_eq!(sel("$.a.b[1]", &doc), Some(json!(2)));
        assert_eq!(sel("$.a.b[-1]", &doc), Some(json!(3)));
        assert_eq!(sel("$['a']['b'][0]", &doc), Some(json!(1)));
        assert_eq!(sel("$.delivery-partner", &doc), Some(json!("UQS")));
        assert_eq!(sel("$.missing", &doc), None);
        assert_eq!(sel("$.a.b[*]", &doc), Some(json!([1, 2, 3])));
        assert_eq!(sel("$.a.b[1:]", &doc), Some(json!([2, 3])));
        assert_eq!(sel("$.a.b[:1]", &doc), Some(json!([1])));
        assert_eq!(sel("$.nothing[*]", &doc), Some(json!([])));
        assert_eq!(
            sel("$.users[?(@.s == 0)]", &doc),
            Some(json!([{"s": 0, "n": "x"}]))
        );
        assert_eq!(sel("$.users[?(@.n == 'y')].s", &doc), Some(json!([1])));
        assert_eq!(sel("$..n", &doc), Some(json!(["x", "y"])));
    }

    #[test]
    fn roots() {
        assert_eq!(Path::parse("$$.Execution.Id").unwrap().root, Root::Context);
        assert_eq!(Path::parse("$var.x").unwrap().root, Root::Var("var".into()));
        assert!(Path::parse("$").unwrap().is_root());
    }

    #[test]
    fn set_creates_objects() {
        let mut doc = json!({"a": 1});
        assert!(Path::parse("$.b.c").unwrap().set(&mut doc, json!(2)));
        assert_eq!(doc, json!({"a": 1, "b": {"c": 2}}));
        let mut s = json!("str");
        assert!(!Path::parse("$.x").unwrap().set(&mut s, json!(1)));
    }
}
