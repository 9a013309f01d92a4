//! JSONata 2.0 functions that `jsonata-rs` lacks, registered on each evaluation: `$formatNumber`,
//! `$formatBase`, `$formatInteger`, `$parseInteger`, the four URL functions, `$shuffle`, `$spread`
//! and `$sift` (<https://docs.jsonata.org/2.0.0/overview>). AWS supports every JSONata 2.0.6
//! function but `$eval` (<https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html>),
//! so `$eval` stays undefined here too.

use bumpalo::Bump;
use jsonata_rs::{ArrayFlags, Error as JError, FunctionContext, JsonAta, Value as JValue};
use rand::seq::SliceRandom;

type JResult<'a> = jsonata_rs::Result<&'a JValue<'a>>;

/// Registers the functions on one compiled expression.
pub(crate) fn register(j: &JsonAta<'_>) {
    j.register_function("formatNumber", 3, fn_format_number);
    j.register_function("formatBase", 2, fn_format_base);
    j.register_function("formatInteger", 2, fn_format_integer);
    j.register_function("parseInteger", 2, fn_parse_integer);
    j.register_function("encodeUrlComponent", 1, fn_encode_url_component);
    j.register_function("encodeUrl", 1, fn_encode_url);
    j.register_function("decodeUrlComponent", 1, fn_decode_url_component);
    j.register_function("decodeUrl", 1, fn_decode_url);
    j.register_function("shuffle", 1, fn_shuffle);
    j.register_function("spread", 1, fn_spread);
    j.register_function("sift", 2, fn_sift);
}

fn arg<'a>(args: &[&'a JValue<'a>], i: usize) -> &'a JValue<'a> {
    args.get(i).copied().unwrap_or_else(JValue::undefined)
}

fn err(msg: impl Into<String>) -> JError {
    JError::D3137Error(msg.into())
}

fn string<'a>(arena: &'a Bump, s: &str) -> JResult<'a> {
    Ok(JValue::string(arena, s))
}

// ---------- URLs (ECMAScript encodeURIComponent/encodeURI and their inverses) ----------

/// Characters encodeURIComponent keeps.
fn unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c)
}

/// Characters encodeURI keeps besides the unreserved ones.
const URI_RESERVED: &str = ";,/?:@&=+$#";

fn encode(s: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if keep(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Percent-decodes `s`; a decoded character in `keep_escaped` stays as its escape (decodeURI).
fn decode(s: &str, keep_escaped: &str, name: &str) -> Result<String, JError> {
    let malformed = || err(format!("Malformed URL passed to ${name}(): \"{s}\""));
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        // One character: its first byte says how many escaped bytes follow.
        let byte_at = |k: usize| -> Option<u8> {
            let hex = s.get(k + 1..k + 3)?;
            if bytes[k] != b'%' {
                return None;
            }
            u8::from_str_radix(hex, 16).ok()
        };
        let first = byte_at(i).ok_or_else(malformed)?;
        let len = match first {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return Err(malformed()),
        };
        let mut char_bytes = vec![first];
        for k in 1..len {
            char_bytes.push(byte_at(i + 3 * k).ok_or_else(malformed)?);
        }
        let decoded = std::str::from_utf8(&char_bytes).map_err(|_| malformed())?;
        if decoded.chars().all(|c| keep_escaped.contains(c)) {
            out.extend_from_slice(&bytes[i..i + 3 * len]);
        } else {
            out.extend_from_slice(decoded.as_bytes());
        }
        i += 3 * len;
    }
    String::from_utf8(out).map_err(|_| malformed())
}

fn url_fn<'a>(
    ctx: &FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
    f: impl Fn(&str) -> Result<String, JError>,
) -> JResult<'a> {
    let v = arg(args, 0);
    if v.is_undefined() {
        return Ok(JValue::undefined());
    }
    if !v.is_string() {
        return Err(err(format!("${} expects a string", ctx.name)));
    }
    string(ctx.arena, &f(&v.as_str())?)
}

fn fn_encode_url_component<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> JResult<'a> {
    url_fn(&ctx, args, |s| Ok(encode(s, unreserved)))
}

fn fn_encode_url<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    url_fn(&ctx, args, |s| {
        Ok(encode(s, |c| unreserved(c) || URI_RESERVED.contains(c)))
    })
}

fn fn_decode_url_component<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> JResult<'a> {
    url_fn(&ctx, args, |s| decode(s, "", "decodeUrlComponent"))
}

fn fn_decode_url<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    url_fn(&ctx, args, |s| decode(s, URI_RESERVED, "decodeUrl"))
}

// ---------- arrays and objects ----------

fn fn_shuffle<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let v = arg(args, 0);
    if v.is_undefined() {
        return Ok(JValue::undefined());
    }
    let mut items: Vec<&'a JValue<'a>> = if v.is_array() {
        v.members().collect()
    } else {
        vec![v]
    };
    items.shuffle(&mut rand::rng());
    let out = JValue::array_with_capacity(ctx.arena, items.len(), ArrayFlags::empty());
    for x in items {
        out.push(x);
    }
    Ok(out)
}

/// The keys of an object in a stable order (`jsonata-rs` objects do not keep insertion order, so
/// they come sorted).
fn sorted_entries<'a>(v: &'a JValue<'a>) -> Vec<(String, &'a JValue<'a>)> {
    let mut entries: Vec<(String, &'a JValue<'a>)> =
        v.entries().map(|(k, x)| (k.to_string(), *x)).collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

fn spread_into<'a>(arena: &'a Bump, v: &'a JValue<'a>, out: &mut Vec<&'a JValue<'a>>) {
    if v.is_array() {
        for x in v.members() {
            spread_into(arena, x, out);
        }
    } else if v.is_object() {
        for (k, x) in sorted_entries(v) {
            let one = JValue::object_with_capacity(arena, 1);
            one.insert(&k, x);
            out.push(one);
        }
    } else if !v.is_undefined() {
        out.push(v);
    }
}

fn fn_spread<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let v = arg(args, 0);
    if v.is_undefined() {
        return Ok(JValue::undefined());
    }
    if !v.is_array() && !v.is_object() {
        return Ok(v);
    }
    let mut items = Vec::new();
    spread_into(ctx.arena, v, &mut items);
    let out = JValue::array_with_capacity(ctx.arena, items.len(), ArrayFlags::SEQUENCE);
    for x in items {
        out.push(x);
    }
    Ok(out)
}

fn fn_sift<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let (obj, func) = (arg(args, 0), arg(args, 1));
    if obj.is_undefined() {
        return Ok(JValue::undefined());
    }
    if !obj.is_object() || !func.is_function() {
        return Err(err("$sift expects an object and a function"));
    }
    let out = JValue::object(ctx.arena);
    let mut kept = 0;
    for (k, x) in sorted_entries(obj) {
        let mut call_args = vec![x];
        if func.arity() >= 2 {
            call_args.push(JValue::string(ctx.arena, &k));
        }
        if func.arity() >= 3 {
            call_args.push(obj);
        }
        if ctx.evaluate_function(func, &call_args)?.is_truthy() {
            out.insert(&k, x);
            kept += 1;
        }
    }
    if kept == 0 {
        return Ok(JValue::undefined());
    }
    Ok(out)
}

// ---------- $formatBase ----------

/// Rounds half to even, as JSONata's `$round` does.
fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

fn fn_format_base<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let (n, radix) = (arg(args, 0), arg(args, 1));
    if n.is_undefined() {
        return Ok(JValue::undefined());
    }
    if !n.is_number() {
        return Err(err("$formatBase expects a number"));
    }
    let radix = if radix.is_undefined() {
        10
    } else if radix.is_number() {
        radix.as_f64() as i64
    } else {
        return Err(err("The radix of the formatBase function must be a number"));
    };
    if !(2..=36).contains(&radix) {
        return Err(err(
            "The radix of the formatBase function must be between 2 and 36",
        ));
    }
    let value = round_half_even(n.as_f64());
    if !value.is_finite() || value.abs() > 9.007_199_254_740_992e15 {
        return Err(err("$formatBase: the number is out of range"));
    }
    let (neg, mut v) = (value < 0.0, value.abs() as u64);
    let mut digits = Vec::new();
    loop {
        let d = (v % radix as u64) as u32;
        digits.push(char::from_digit(d, radix as u32).unwrap_or('0'));
        v /= radix as u64;
        if v == 0 {
            break;
        }
    }
    let mut s: String = if neg { "-".into() } else { String::new() };
    s.extend(digits.iter().rev());
    string(ctx.arena, &s)
}

// ---------- $formatInteger / $parseInteger ----------

const SMALL: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const SMALL_ORDINAL: [&str; 20] = [
    "zeroth",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
];
const TENS: [&str; 8] = [
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const SCALES: [(&str, u64); 4] = [
    ("trillion", 1_000_000_000_000),
    ("billion", 1_000_000_000),
    ("million", 1_000_000),
    ("thousand", 1_000),
];

/// English words for `n` as JSONata writes them: "two thousand, seven hundred and eighty-nine";
/// `ordinal` words end in "first", "second", ..., "ninetieth", "hundredth".
fn words(n: u64, ordinal: bool) -> String {
    fn below_hundred(n: u64, ordinal: bool) -> String {
        if n < 20 {
            let table = if ordinal { &SMALL_ORDINAL } else { &SMALL };
            return table[n as usize].to_string();
        }
        let tens = TENS[(n / 10 - 2) as usize];
        match (n % 10, ordinal) {
            (0, true) => format!("{}ieth", &tens[..tens.len() - 1]),
            (0, false) => tens.to_string(),
            (r, o) => format!("{tens}-{}", below_hundred(r, o)),
        }
    }
    fn below_thousand(n: u64, ordinal: bool) -> String {
        if n < 100 {
            return below_hundred(n, ordinal);
        }
        let head = format!("{} hundred", SMALL[(n / 100) as usize]);
        match n % 100 {
            0 if ordinal => format!("{head}th"),
            0 => head,
            r => format!("{head} and {}", below_hundred(r, ordinal)),
        }
    }
    fn any(n: u64, ordinal: bool) -> String {
        for (name, scale) in SCALES {
            if n >= scale {
                // Above the largest scale the count of trillions is itself in words.
                let head = format!("{} {name}", any(n / scale, false));
                let rest = n % scale;
                return match rest {
                    0 if ordinal => format!("{head}th"),
                    0 => head,
                    r if r < 100 => format!("{head} and {}", below_hundred(r, ordinal)),
                    r => format!("{head}, {}", any(r, ordinal)),
                };
            }
        }
        below_thousand(n, ordinal)
    }
    any(n, ordinal)
}

/// The value of English number words (the inverse of [`words`]), or `None`.
fn parse_words(s: &str) -> Option<u64> {
    let lower = s.to_lowercase();
    let mut total: u64 = 0;
    let mut current: u64 = 0;
    let mut seen = false;
    for token in lower
        .split(|c: char| c.is_whitespace() || c == ',' || c == '-')
        .filter(|t| !t.is_empty() && *t != "and")
    {
        seen = true;
        if let Some(i) = SMALL.iter().position(|w| *w == token) {
            current += i as u64;
        } else if let Some(i) = SMALL_ORDINAL.iter().position(|w| *w == token) {
            current += i as u64;
        } else if let Some(i) = TENS.iter().position(|w| *w == token) {
            current += (i as u64 + 2) * 10;
        } else if let Some(i) = TENS
            .iter()
            .position(|w| format!("{}ieth", &w[..w.len() - 1]) == token)
        {
            current += (i as u64 + 2) * 10;
        } else if token == "hundred" || token == "hundredth" {
            current = current.max(1) * 100;
        } else if let Some((_, scale)) = SCALES
            .iter()
            .find(|(w, _)| *w == token || format!("{w}th") == token)
        {
            total += current.max(1) * scale;
            current = 0;
        } else {
            return None;
        }
    }
    seen.then_some(total + current)
}

const ROMAN: [(u64, &str); 13] = [
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
];

fn roman(mut n: u64) -> String {
    let mut out = String::new();
    for (v, s) in ROMAN {
        while n >= v {
            out.push_str(s);
            n -= v;
        }
    }
    out
}

fn parse_roman(s: &str) -> Option<u64> {
    let upper = s.to_uppercase();
    let mut rest = upper.as_str();
    let mut total = 0;
    for (v, sym) in ROMAN {
        while let Some(r) = rest.strip_prefix(sym) {
            total += v;
            rest = r;
        }
    }
    (rest.is_empty() && !upper.is_empty()).then_some(total)
}

/// 1 → a, 26 → z, 27 → aa (bijective base 26).
fn letters(mut n: u64, base: char) -> String {
    let mut out = Vec::new();
    while n > 0 {
        n -= 1;
        out.push((base as u8 + (n % 26) as u8) as char);
        n /= 26;
    }
    out.iter().rev().collect()
}

fn parse_letters(s: &str, base: char) -> Option<u64> {
    let mut total: u64 = 0;
    for c in s.chars() {
        let d = (c as u32).checked_sub(base as u32).filter(|d| *d < 26)?;
        total = total.checked_mul(26)?.checked_add(d as u64 + 1)?;
    }
    (!s.is_empty()).then_some(total)
}

fn ordinal_suffix(n: u64) -> &'static str {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => "st",
        (2, r) if r != 12 => "nd",
        (3, r) if r != 13 => "rd",
        _ => "th",
    }
}

/// The primary token of an integer picture and whether `;o` asks for an ordinal.
fn integer_picture(picture: &str) -> (&str, bool) {
    match picture.rsplit_once(';') {
        Some((primary, modifier)) if !primary.is_empty() => (primary, modifier.starts_with('o')),
        _ => (picture, false),
    }
}

/// A decimal-digit picture (`0`, `000`, `#,##0`): the minimum digits and the grouping separators
/// (position counted from the right, separator).
fn decimal_picture(primary: &str) -> Result<(usize, Vec<(usize, char)>), JError> {
    let mut mandatory = 0;
    let mut digits = 0;
    let mut separators = Vec::new();
    for c in primary.chars().rev() {
        if c.is_ascii_digit() {
            mandatory += 1;
            digits += 1;
        } else if c == '#' {
            digits += 1;
        } else if c.is_alphanumeric() {
            return Err(err(format!(
                "The picture string '{primary}' of $formatInteger is not supported"
            )));
        } else {
            separators.push((digits, c));
        }
    }
    if mandatory == 0 {
        return Err(err(format!(
            "The picture '{primary}' needs at least one decimal digit"
        )));
    }
    // A grouping separator stands between two digits.
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '#');
    let between_digits = ends(primary.chars().next()) && ends(primary.chars().last());
    if !separators.is_empty() && !between_digits {
        return Err(err(format!(
            "The picture '{primary}' has a grouping separator that is not between two digits"
        )));
    }
    Ok((mandatory, separators))
}

/// Groups `digits` by the separators of the picture; evenly spaced ones repeat leftwards.
fn group(digits: &str, separators: &[(usize, char)]) -> String {
    let positions: Vec<usize> = separators.iter().map(|(p, _)| *p).collect();
    let regular = !separators.is_empty()
        && positions[0] > 0
        && separators.iter().all(|(_, c)| *c == separators[0].1)
        && positions
            .iter()
            .enumerate()
            .all(|(i, p)| *p == positions[0] * (i + 1));
    let chars: Vec<char> = digits.chars().collect();
    let mut out = Vec::new();
    for (i, c) in chars.iter().rev().enumerate() {
        if i > 0 {
            let sep = if regular {
                (i % positions[0] == 0).then_some(separators[0].1)
            } else {
                separators.iter().find(|(p, _)| *p == i).map(|(_, s)| *s)
            };
            if let Some(s) = sep {
                out.push(s);
            }
        }
        out.push(*c);
    }
    out.iter().rev().collect()
}

fn format_integer(n: i64, picture: &str) -> Result<String, JError> {
    let (primary, ordinal) = integer_picture(picture);
    let (neg, v) = (n < 0, n.unsigned_abs());
    let body = match primary {
        "w" => words(v, ordinal),
        "W" => words(v, ordinal).to_uppercase(),
        "Ww" => words(v, ordinal)
            .split(' ')
            .map(|w| {
                if w == "and" {
                    w.to_string()
                } else {
                    w.split('-')
                        .map(|part| {
                            let mut cs = part.chars();
                            match cs.next() {
                                Some(f) => f.to_uppercase().chain(cs).collect(),
                                None => String::new(),
                            }
                        })
                        .collect::<Vec<String>>()
                        .join("-")
                }
            })
            .collect::<Vec<String>>()
            .join(" "),
        "I" => roman(v),
        "i" => roman(v).to_lowercase(),
        "A" => letters(v, 'A'),
        "a" => letters(v, 'a'),
        _ => {
            let (min, separators) = decimal_picture(primary)?;
            let digits = format!("{v:0min$}");
            let mut s = group(&digits, &separators);
            if ordinal {
                s.push_str(ordinal_suffix(v));
            }
            s
        }
    };
    Ok(if neg { format!("-{body}") } else { body })
}

fn parse_integer(s: &str, picture: &str) -> Result<Option<i64>, JError> {
    let (primary, _) = integer_picture(picture);
    let unsigned = match primary {
        "w" | "W" | "Ww" => parse_words(s),
        "I" | "i" => parse_roman(s),
        "A" => parse_letters(s, 'A'),
        "a" => parse_letters(s, 'a'),
        _ => {
            decimal_picture(primary)?;
            // Digits only: grouping separators and an ordinal suffix are dropped.
            let body = s.trim().trim_start_matches('-');
            let digits: String = body
                .trim_end_matches(|c: char| c.is_alphabetic())
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            let value = digits.parse::<u64>().ok();
            return Ok(value.and_then(|v| i64::try_from(v).ok()).map(|v| {
                if s.trim().starts_with('-') {
                    -v
                } else {
                    v
                }
            }));
        }
    };
    Ok(unsigned.and_then(|v| i64::try_from(v).ok()))
}

fn fn_format_integer<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let (n, picture) = (arg(args, 0), arg(args, 1));
    if n.is_undefined() {
        return Ok(JValue::undefined());
    }
    if !n.is_number() || !picture.is_string() {
        return Err(err("$formatInteger expects a number and a picture string"));
    }
    let v = round_half_even(n.as_f64());
    if !v.is_finite() || v.abs() > 9.007_199_254_740_992e15 {
        return Err(err("$formatInteger: the number is out of range"));
    }
    string(ctx.arena, &format_integer(v as i64, &picture.as_str())?)
}

fn fn_parse_integer<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let (s, picture) = (arg(args, 0), arg(args, 1));
    if s.is_undefined() {
        return Ok(JValue::undefined());
    }
    if !s.is_string() || !picture.is_string() {
        return Err(err("$parseInteger expects a string and a picture string"));
    }
    match parse_integer(&s.as_str(), &picture.as_str())? {
        Some(v) => Ok(JValue::number(ctx.arena, v as f64)),
        None => Ok(JValue::undefined()),
    }
}

// ---------- $formatNumber (XPath F&O 3.1 format-number, as JSONata 2.0 uses it) ----------

/// The decimal format: the options' properties or their defaults.
struct Format {
    decimal: char,
    grouping: char,
    exponent: char,
    minus: String,
    infinity: String,
    nan: String,
    percent: String,
    per_mille: String,
    zero: char,
    digit: char,
    pattern: char,
}

impl Format {
    fn from_options<'a>(options: &'a JValue<'a>) -> Result<Format, JError> {
        let mut f = Format {
            decimal: '.',
            grouping: ',',
            exponent: 'e',
            minus: "-".into(),
            infinity: "Infinity".into(),
            nan: "NaN".into(),
            percent: "%".into(),
            per_mille: "\u{2030}".into(),
            zero: '0',
            digit: '#',
            pattern: ';',
        };
        if options.is_undefined() {
            return Ok(f);
        }
        if !options.is_object() {
            return Err(err("The options of $formatNumber must be an object"));
        }
        for (key, value) in options.entries() {
            if !value.is_string() {
                return Err(err(format!(
                    "The option '{key}' of $formatNumber must be a string"
                )));
            }
            let text = value.as_str().to_string();
            let one = || {
                text.chars()
                    .next()
                    .ok_or_else(|| err(format!("The option '{key}' of $formatNumber is empty")))
            };
            match key.as_str() {
                "decimal-separator" => f.decimal = one()?,
                "grouping-separator" => f.grouping = one()?,
                "exponent-separator" => f.exponent = one()?,
                "zero-digit" => f.zero = one()?,
                "digit" => f.digit = one()?,
                "pattern-separator" => f.pattern = one()?,
                "minus-sign" => f.minus = text.clone(),
                "infinity" => f.infinity = text.clone(),
                "NaN" => f.nan = text.clone(),
                "percent" => f.percent = text.clone(),
                "per-mille" => f.per_mille = text.clone(),
                _ => {}
            }
        }
        Ok(f)
    }

    fn family(&self, c: char) -> Option<u32> {
        (c as u32).checked_sub(self.zero as u32).filter(|d| *d < 10)
    }

    fn digit_char(&self, d: u32) -> char {
        char::from_u32(self.zero as u32 + d).unwrap_or('?')
    }
}

/// One analysed sub-picture.
struct SubPicture {
    prefix: String,
    suffix: String,
    percent: bool,
    per_mille: bool,
    min_int: usize,
    int_groups: Vec<usize>,
    regular_group: Option<usize>,
    min_frac: usize,
    max_frac: usize,
    frac_groups: Vec<usize>,
    min_exp: Option<usize>,
}

fn picture_error(picture: &str, what: &str) -> JError {
    err(format!(
        "The picture string '{picture}' of $formatNumber {what}"
    ))
}

fn sub_picture(p: &str, f: &Format) -> Result<SubPicture, JError> {
    let chars: Vec<char> = p.chars().collect();
    let is_digit = |c: char| c == f.digit || f.family(c).is_some();
    let active = |c: char| is_digit(c) || c == f.decimal || c == f.grouping;
    let first = chars
        .iter()
        .position(|c| active(*c))
        .ok_or_else(|| picture_error(p, "has no digit"))?;
    let last = chars.iter().rposition(|c| active(*c)).unwrap_or(first);
    let prefix: String = chars[..first].iter().collect();
    let suffix: String = chars[last + 1..].iter().collect();
    let region = &chars[first..=last];
    // The exponent separator splits the region when only family digits follow it.
    let exp_at = region.iter().position(|c| *c == f.exponent).filter(|i| {
        region[i + 1..].iter().all(|c| f.family(*c).is_some()) && *i + 1 < region.len()
    });
    let (mantissa, exponent) = match exp_at {
        Some(i) => (&region[..i], Some(&region[i + 1..])),
        None => (region, None),
    };
    if mantissa.iter().any(|c| !active(*c)) {
        return Err(picture_error(
            p,
            "has a passive character between active ones",
        ));
    }
    let count = |s: &str, what: &str| {
        if what.is_empty() {
            0
        } else {
            s.matches(what).count()
        }
    };
    let outer = format!("{prefix}{suffix}");
    let (percents, per_milles) = (count(&outer, &f.percent), count(&outer, &f.per_mille));
    if percents > 1 || per_milles > 1 || percents + per_milles > 1 {
        return Err(picture_error(
            p,
            "has more than one percent or per-mille sign",
        ));
    }
    if exponent.is_some() && percents + per_milles > 0 {
        return Err(picture_error(
            p,
            "has an exponent and a percent or per-mille sign",
        ));
    }
    let decimals = mantissa.iter().filter(|c| **c == f.decimal).count();
    if decimals > 1 {
        return Err(picture_error(p, "has more than one decimal separator"));
    }
    let split = mantissa.iter().position(|c| *c == f.decimal);
    let (int_part, frac_part) = match split {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, &mantissa[mantissa.len()..]),
    };
    if int_part.last() == Some(&f.grouping) || frac_part.first() == Some(&f.grouping) {
        return Err(picture_error(
            p,
            "has a grouping separator next to the decimal separator or at the end",
        ));
    }
    // Optional digits come before mandatory ones in the integer part, after them in the fraction.
    let int_digits: Vec<char> = int_part.iter().copied().filter(|c| is_digit(*c)).collect();
    if int_digits
        .windows(2)
        .any(|w| f.family(w[0]).is_some() && w[1] == f.digit)
    {
        return Err(picture_error(
            p,
            "has an optional digit after a mandatory one in the integer part",
        ));
    }
    let frac_digits: Vec<char> = frac_part.iter().copied().filter(|c| is_digit(*c)).collect();
    if frac_digits
        .windows(2)
        .any(|w| w[0] == f.digit && f.family(w[1]).is_some())
    {
        return Err(picture_error(
            p,
            "has a mandatory digit after an optional one in the fraction",
        ));
    }
    let mut int_groups = Vec::new();
    let mut seen = 0;
    for c in int_part.iter().rev() {
        if *c == f.grouping {
            int_groups.push(seen);
        } else {
            seen += 1;
        }
    }
    let total_int = seen;
    let regular_group = int_groups.iter().min().copied().filter(|g| {
        *g > 0
            && int_groups.iter().all(|p| p % g == 0)
            && (1..)
                .map(|k| k * g)
                .take_while(|m| *m < total_int)
                .all(|m| int_groups.contains(&m))
    });
    let mut frac_groups = Vec::new();
    let mut seen = 0;
    for c in frac_part {
        if *c == f.grouping {
            frac_groups.push(seen);
        } else {
            seen += 1;
        }
    }
    let mut min_int = int_digits
        .iter()
        .filter(|c| f.family(**c).is_some())
        .count();
    let mut min_frac = frac_digits
        .iter()
        .filter(|c| f.family(**c).is_some())
        .count();
    let mut max_frac = frac_digits.len();
    let any_family = min_int + min_frac > 0;
    if !any_family && split.is_none() {
        min_int = 1;
    }
    if exponent.is_some() && min_int == 0 && int_digits.contains(&f.digit) {
        min_int = 1;
    }
    if min_int == 0 && max_frac == 0 {
        if exponent.is_some() {
            min_frac = 1;
            max_frac = 1;
        } else {
            min_int = 1;
        }
    }
    Ok(SubPicture {
        prefix,
        suffix,
        percent: percents == 1,
        per_mille: per_milles == 1,
        min_int,
        int_groups,
        regular_group,
        min_frac,
        max_frac,
        frac_groups,
        min_exp: exponent.map(|e| e.len()),
    })
}

/// A non-negative decimal: 0.d1d2d3... × 10^point.
struct Decimal {
    digits: Vec<u8>,
    point: i32,
}

impl Decimal {
    fn from_f64(x: f64) -> Decimal {
        // The shortest text that reads back as x: "1.2345e3".
        let text = format!("{:e}", x.abs());
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let mut digits: Vec<u8> = mantissa
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            return Decimal { digits, point: 0 };
        }
        Decimal {
            digits,
            point: exp + 1,
        }
    }

    fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Rounds to `frac` digits after the point, half to even.
    fn round(&mut self, frac: usize) {
        let keep = self.point + frac as i32;
        if keep < 0 {
            self.digits.clear();
            return;
        }
        let keep = keep as usize;
        if keep >= self.digits.len() {
            return;
        }
        let next = self.digits[keep];
        let rest_nonzero = self.digits[keep + 1..].iter().any(|d| *d != 0);
        let prev_odd = keep > 0 && self.digits[keep - 1] % 2 == 1;
        let up = next > 5 || (next == 5 && (rest_nonzero || prev_odd));
        self.digits.truncate(keep);
        if up {
            let mut i = keep;
            loop {
                if i == 0 {
                    self.digits.insert(0, 1);
                    self.point += 1;
                    break;
                }
                i -= 1;
                if self.digits[i] == 9 {
                    self.digits[i] = 0;
                } else {
                    self.digits[i] += 1;
                    break;
                }
            }
        }
        while self.digits.last() == Some(&0) {
            self.digits.pop();
        }
        if self.digits.is_empty() {
            self.point = 0;
        }
    }

    /// The digits before and after the point.
    fn parts(&self) -> (Vec<u8>, Vec<u8>) {
        let p = self.point;
        if p <= 0 {
            let mut frac = vec![0; (-p) as usize];
            frac.extend(&self.digits);
            (Vec::new(), frac)
        } else {
            let p = p as usize;
            let mut int: Vec<u8> = self.digits.iter().take(p).copied().collect();
            int.resize(p, 0);
            let frac = self.digits.iter().skip(p).copied().collect();
            (int, frac)
        }
    }
}

fn format_number(x: f64, picture: &str, f: &Format) -> Result<String, JError> {
    let subs: Vec<&str> = picture.split(f.pattern).collect();
    if subs.len() > 2 {
        return Err(picture_error(picture, "has more than two sub-pictures"));
    }
    let pictures = subs
        .iter()
        .map(|s| sub_picture(s, f))
        .collect::<Result<Vec<_>, _>>()?;
    if x.is_nan() {
        return Ok(f.nan.clone());
    }
    let negative = x < 0.0;
    let sub = if negative && pictures.len() == 2 {
        &pictures[1]
    } else {
        &pictures[0]
    };
    let sign = if negative && pictures.len() == 1 {
        f.minus.as_str()
    } else {
        ""
    };
    if x.is_infinite() {
        return Ok(format!("{sign}{}{}{}", sub.prefix, f.infinity, sub.suffix));
    }
    let mut d = Decimal::from_f64(x);
    if sub.percent {
        d.point += 2;
    } else if sub.per_mille {
        d.point += 3;
    }
    let mut exponent = 0i32;
    if sub.min_exp.is_some() && !d.is_zero() {
        let scale = sub.min_int as i32;
        exponent = d.point - scale;
        d.point = scale;
        d.round(sub.max_frac);
        if d.point > scale {
            d.point -= 1;
            exponent += 1;
        }
    } else {
        d.round(sub.max_frac);
    }
    let (mut int, mut frac) = d.parts();
    while int.first() == Some(&0) {
        int.remove(0);
    }
    while int.len() < sub.min_int {
        int.insert(0, 0);
    }
    while frac.len() > sub.min_frac && frac.last() == Some(&0) {
        frac.pop();
    }
    while frac.len() < sub.min_frac {
        frac.push(0);
    }
    let mut mantissa = String::new();
    let n = int.len();
    for (i, digit) in int.iter().enumerate() {
        let from_right = n - i;
        if i > 0 {
            let grouped = match sub.regular_group {
                Some(g) => from_right % g == 0,
                None => sub.int_groups.contains(&from_right),
            };
            if grouped {
                mantissa.push(f.grouping);
            }
        }
        mantissa.push(f.digit_char(*digit as u32));
    }
    if !frac.is_empty() {
        mantissa.push(f.decimal);
        for (i, digit) in frac.iter().enumerate() {
            if i > 0 && sub.frac_groups.contains(&i) {
                mantissa.push(f.grouping);
            }
            mantissa.push(f.digit_char(*digit as u32));
        }
    }
    let mut out = format!("{sign}{}{mantissa}", sub.prefix);
    if let Some(min_exp) = sub.min_exp {
        out.push(f.exponent);
        if exponent < 0 {
            out.push_str(&f.minus);
        }
        let digits = exponent.unsigned_abs().to_string();
        for _ in digits.len()..min_exp {
            out.push(f.zero);
        }
        for c in digits.chars() {
            out.push(f.digit_char(c.to_digit(10).unwrap_or(0)));
        }
    }
    out.push_str(&sub.suffix);
    Ok(out)
}

fn fn_format_number<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> JResult<'a> {
    let (n, picture, options) = (arg(args, 0), arg(args, 1), arg(args, 2));
    if n.is_undefined() {
        return Ok(JValue::undefined());
    }
    if !n.is_number() || !picture.is_string() {
        return Err(err("$formatNumber expects a number and a picture string"));
    }
    let format = Format::from_options(options)?;
    string(
        ctx.arena,
        &format_number(n.as_f64(), &picture.as_str(), &format)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(x: f64, picture: &str) -> String {
        format_number(
            x,
            picture,
            &Format::from_options(JValue::undefined()).unwrap(),
        )
        .unwrap()
    }

    /// The examples of <https://docs.jsonata.org/numeric-functions#formatnumber>.
    #[test]
    fn format_number_follows_the_jsonata_examples() {
        assert_eq!(fmt(12345.6, "#,###.00"), "12,345.60");
        assert_eq!(fmt(1234.5678, "00.000e0"), "12.346e2");
        assert_eq!(fmt(34.555, "#0.00;(#0.00)"), "34.56");
        assert_eq!(fmt(-34.555, "#0.00;(#0.00)"), "(34.56)");
        assert_eq!(fmt(0.14, "01%"), "14%");
        assert_eq!(fmt(-6.0, "#0"), "-6");
        assert_eq!(fmt(1234567.891, "#,##0.0"), "1,234,567.9");
        assert_eq!(fmt(0.5, ".00"), ".50");
        assert_eq!(fmt(0.0, "#"), "0");
        assert_eq!(fmt(2.5, "0"), "2");
        assert_eq!(fmt(3.5, "0"), "4");
        assert_eq!(fmt(99.99, "0.0e0"), "1.0e2");
    }

    #[test]
    fn format_number_refuses_bad_pictures() {
        let f = Format::from_options(JValue::undefined()).unwrap();
        for bad in ["", "abc", "0.0.0", "0;0;0", "#0%%", "0a0"] {
            assert!(format_number(1.0, bad, &f).is_err(), "{bad}");
        }
        // Odd pictures and extreme values answer (a text or an error), never panic.
        for picture in [
            "e0",
            "0e",
            "0.e0",
            ".",
            "#.#e00",
            "\u{2030}0",
            "##0.0##",
            "0,",
            ",0",
            "#e#",
        ] {
            for x in [0.0, -1.5, 1e300, 1e-300, f64::NAN, f64::INFINITY, 0.5] {
                let _ = format_number(x, picture, &f);
            }
        }
    }

    #[test]
    fn integers_in_words_roman_letters_and_digits() {
        assert_eq!(
            format_integer(2789, "w").unwrap(),
            "two thousand, seven hundred and eighty-nine"
        );
        assert_eq!(format_integer(1999, "I").unwrap(), "MCMXCIX");
        assert_eq!(format_integer(12, "0001").unwrap(), "0012");
        assert_eq!(format_integer(1234567, "#,##0").unwrap(), "1,234,567");
        assert_eq!(format_integer(28, "A").unwrap(), "AB");
        assert_eq!(format_integer(21, "0;o").unwrap(), "21st");
        assert_eq!(format_integer(12, "w;o").unwrap(), "twelfth");
        assert_eq!(format_integer(90, "Ww;o").unwrap(), "Ninetieth");
        assert_eq!(format_integer(-5, "0").unwrap(), "-5");
        for (n, picture) in [
            (2789, "w"),
            (1_000_002, "W"),
            (1999, "I"),
            (28, "a"),
            (12345, "#,##0"),
        ] {
            let text = format_integer(n, picture).unwrap();
            assert_eq!(parse_integer(&text, picture).unwrap(), Some(n), "{text}");
        }
        assert_eq!(
            parse_integer("12,345,678", "#,##0").unwrap(),
            Some(12_345_678)
        );
        assert_eq!(parse_integer("nonsense", "w").unwrap(), None);
        for bad in ["#,##0,", "0,", ",0", "", "0x0"] {
            assert!(format_integer(1234, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_encode_and_decode_like_ecmascript() {
        assert_eq!(encode("?x=test", unreserved), "%3Fx%3Dtest");
        assert_eq!(
            encode("https://mozilla.org/?x=шеллы", |c| unreserved(c)
                || URI_RESERVED.contains(c)),
            "https://mozilla.org/?x=%D1%88%D0%B5%D0%BB%D0%BB%D1%8B"
        );
        assert_eq!(decode("%3Fx%3Dtest", "", "d").unwrap(), "?x=test");
        assert_eq!(
            decode("%3Fx%3Dtest", URI_RESERVED, "d").unwrap(),
            "%3Fx%3Dtest"
        );
        assert_eq!(decode("%D1%88", "", "d").unwrap(), "ш");
        for bad in ["%", "%zz", "%D1", "%FF%FF"] {
            assert!(decode(bad, "", "d").is_err(), "{bad}");
        }
    }
}
