//! Liquid 5's standard filters and Jekyll 4's, with Ruby's behaviour.
//!
//! `apply` returns `Ok(None)` for a filter that does not exist (Jekyll then keeps the value
//! unchanged and we warn), and `Err` for what makes Liquid raise (`divided by 0`, wrong
//! number of arguments), which fails a Jekyll build.

use super::value::{self as lv, is_nil, seq, to_s};
use minijinja::Value;
use minijinja::value::ValueKind;

pub struct FilterCtx<'a> {
    pub baseurl: &'a str,
    pub url: &'a str,
}

const NAMES: &[&str] = &[
    "abs",
    "absolute_url",
    "append",
    "array_to_sentence_string",
    "at_least",
    "at_most",
    "capitalize",
    "ceil",
    "cgi_escape",
    "compact",
    "concat",
    "date",
    "date_to_long_string",
    "date_to_rfc822",
    "date_to_string",
    "date_to_xmlschema",
    "default",
    "divided_by",
    "downcase",
    "escape",
    "escape_once",
    "first",
    "floor",
    "group_by",
    "h",
    "inspect",
    "join",
    "jsonify",
    "last",
    "lstrip",
    "map",
    "markdownify",
    "minus",
    "modulo",
    "newline_to_br",
    "normalize_whitespace",
    "number_of_words",
    "plus",
    "pop",
    "prepend",
    "push",
    "relative_url",
    "remove",
    "remove_first",
    "replace",
    "replace_first",
    "reverse",
    "round",
    "rstrip",
    "shift",
    "size",
    "slice",
    "slugify",
    "smartify",
    "sort",
    "sort_natural",
    "split",
    "strip",
    "strip_html",
    "strip_index",
    "strip_newlines",
    "sum",
    "times",
    "to_integer",
    "truncate",
    "truncatewords",
    "uniq",
    "unshift",
    "upcase",
    "uri_escape",
    "url_decode",
    "url_encode",
    "where",
    "xml_escape",
    "find",
    "base64_encode",
    "base64_decode",
];

/// A known filter close to an unknown name.
pub fn suggest(name: &str) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|n| {
            let (a, b) = (n.as_bytes(), name.as_bytes());
            a.len().abs_diff(b.len()) <= 1
                && a.iter().zip(b).filter(|(x, y)| x != y).count() + a.len().abs_diff(b.len()) <= 2
                && **n != name
        })
        .copied()
}

fn arity(name: &str, args: &[Value], min: usize, max: usize) -> Result<(), String> {
    let given = args.len() + 1;
    if given < min + 1 || given > max + 1 {
        let expected = if min == max {
            format!("{}", min + 1)
        } else {
            format!("{}..{}", min + 1, max + 1)
        };
        return Err(format!(
            "wrong number of arguments (given {given}, expected {expected}) for filter `{name}`"
        ));
    }
    Ok(())
}

fn s(v: &Value) -> String {
    to_s(v)
}
fn arg(args: &[Value], i: usize) -> Value {
    args.get(i).cloned().unwrap_or(Value::from(()))
}
fn str_v(x: impl Into<String>) -> Value {
    Value::from(x.into())
}

/// Liquid's InputIterator: arrays stay, nil is empty, anything else is one element.
fn input_list(v: &Value) -> Vec<Value> {
    match v.kind() {
        ValueKind::Seq | ValueKind::Iterable => flatten(v),
        ValueKind::Undefined | ValueKind::None => vec![],
        _ => vec![v.clone()],
    }
}

fn flatten(v: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for x in seq(v) {
        if lv::is_seq(&x) {
            out.extend(flatten(&x));
        } else {
            out.push(x);
        }
    }
    out
}

fn num_op(a: &Value, b: &Value, op: char) -> Result<Value, String> {
    let (x, y) = (lv::to_number(a), lv::to_number(b));
    if x.is_integer() && y.is_integer() {
        let (p, q) = (x.as_i64().unwrap_or(0), y.as_i64().unwrap_or(0));
        let r = match op {
            '+' => p.checked_add(q),
            '-' => p.checked_sub(q),
            '*' => p.checked_mul(q),
            '/' => {
                if q == 0 {
                    return Err("divided by 0".into());
                }
                Some(p.div_euclid(q) - if (p % q != 0) && (q < 0) { 1 } else { 0 })
                    .map(|_| floor_div(p, q))
            }
            _ => {
                if q == 0 {
                    return Err("divided by 0".into());
                }
                Some(p - q * floor_div(p, q))
            }
        };
        return Ok(r
            .map(Value::from)
            .unwrap_or_else(|| Value::from((p as f64) + (q as f64))));
    }
    let (p, q) = (lv::as_f64(&x).unwrap_or(0.0), lv::as_f64(&y).unwrap_or(0.0));
    let r = match op {
        '+' | '-' | '*' => lv::decimal_op(p, q, op),
        '/' => {
            if q == 0.0 {
                return Err("divided by 0".into());
            }
            p / q
        }
        _ => {
            if q == 0.0 {
                return Err("divided by 0".into());
            }
            p - q * (p / q).floor()
        }
    };
    Ok(Value::from(r))
}

fn floor_div(p: i64, q: i64) -> i64 {
    let d = p / q;
    if (p % q != 0) && ((p < 0) != (q < 0)) {
        d - 1
    } else {
        d
    }
}

fn round_half_away(f: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (f * m).round() / m
}

pub fn relative_url(input: &str, baseurl: &str) -> String {
    if input.contains("://") || input.starts_with("//") {
        return input.to_string();
    }
    let base = baseurl.trim_end_matches('/');
    let base = if base.is_empty() || base.starts_with('/') {
        base.to_string()
    } else {
        format!("/{base}")
    };
    let path = if input.starts_with('/') {
        input.to_string()
    } else {
        format!("/{input}")
    };
    uri_normalize(&format!("{base}{path}"))
}

fn uri_normalize(s: &str) -> String {
    // Addressable's normalize: percent-encode what may not appear in a path
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%?#[]".contains(c) {
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

fn escape_html(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn url_encode(s: &str, space_plus: bool, keep: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        let c = b as char;
        if c.is_ascii_alphanumeric() || "*-._".contains(c) || keep.contains(c) {
            o.push(c);
        } else if c == ' ' && space_plus {
            o.push('+');
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(v)) => {
                out.push(v);
                i += 2;
            }
            (c, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn to_json(v: &Value) -> serde_json::Value {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => serde_json::Value::Null,
        ValueKind::Bool => serde_json::Value::Bool(v.is_true()),
        ValueKind::Number => {
            if v.is_integer() {
                serde_json::Value::from(v.as_i64().unwrap_or(0))
            } else {
                serde_json::Number::from_f64(lv::as_f64(v).unwrap_or(0.0))
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::Null)
            }
        }
        ValueKind::String => serde_json::Value::String(s(v)),
        ValueKind::Seq | ValueKind::Iterable => {
            serde_json::Value::Array(seq(v).iter().map(to_json).collect())
        }
        ValueKind::Map => serde_json::Value::Object(
            lv::map_pairs(v)
                .into_iter()
                .map(|(k, x)| (s(&k), to_json(&x)))
                .collect(),
        ),
        _ => serde_json::Value::String(s(v)),
    }
}

fn property(item: &Value, prop: &str) -> Value {
    if lv::is_map(item) {
        lv::lookup(item, &Value::from(prop), false).unwrap_or(Value::from(()))
    } else {
        Value::from(())
    }
}

fn ruby_sort(items: &mut [Value]) -> Result<(), String> {
    let mut err = None;
    items.sort_by(|a, b| {
        if lv::compare(a, "<", b).is_err() && err.is_none() {
            err = Some(format!(
                "comparison of {} with {} failed",
                lv::inspect(a),
                lv::inspect(b)
            ));
        }
        cmp_values(a, b)
    });
    match err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn cmp_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    if lv::compare(a, "<", b).unwrap_or(false) {
        Less
    } else if lv::compare(a, ">", b).unwrap_or(false) {
        Greater
    } else {
        Equal
    }
}

fn slugify(input: &str, mode: &str) -> String {
    let keep = |c: char| -> bool {
        match mode {
            "raw" => !c.is_whitespace(),
            "pretty" => c.is_alphanumeric() || "._~!$&'()+,;=@".contains(c),
            "ascii" => c.is_ascii_alphanumeric(),
            _ => c.is_alphanumeric(),
        }
    };
    if mode == "none" {
        return input.to_string();
    }
    let mut out = String::new();
    let mut dash = false;
    for c in input.chars() {
        if keep(c) {
            out.push(c);
            dash = false;
        } else if !dash {
            out.push('-');
            dash = true;
        }
    }
    out.trim_matches('-').to_lowercase()
}

pub fn markdown_html(src: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let mut out = String::new();
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES;
    html::push_html(&mut out, Parser::new_ext(src, opts));
    out
}

pub fn apply(
    name: &str,
    input: &Value,
    args: &[Value],
    kwargs: &[(String, Value)],
    ctx: &FilterCtx,
) -> Result<Option<Value>, String> {
    let a = |n: usize, m: usize| arity(name, args, n, m);
    let text = || s(input);
    let v: Value = match name {
        "default" => {
            a(1, 1)?;
            let allow_false = kwargs
                .iter()
                .any(|(k, v)| k == "allow_false" && lv::truthy(v));
            let empty = is_nil(input)
                || (input.kind() == ValueKind::Bool && !input.is_true() && !allow_false)
                || lv::size(input) == Some(0) && !lv::is_map(input) && !input.is_integer();
            let empty = empty || (lv::is_map(input) && lv::size(input) == Some(0));
            if empty { arg(args, 0) } else { input.clone() }
        }
        "append" => {
            a(1, 1)?;
            str_v(text() + &s(&arg(args, 0)))
        }
        "prepend" => {
            a(1, 1)?;
            str_v(s(&arg(args, 0)) + &text())
        }
        "downcase" => {
            a(0, 0)?;
            str_v(text().to_lowercase())
        }
        "upcase" => {
            a(0, 0)?;
            str_v(text().to_uppercase())
        }
        "capitalize" => {
            a(0, 0)?;
            let t = text();
            let mut c = t.chars();
            str_v(match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
                None => String::new(),
            })
        }
        "strip" => {
            a(0, 0)?;
            str_v(
                text()
                    .trim_matches(|c: char| c.is_whitespace() || c == '\0')
                    .to_string(),
            )
        }
        "lstrip" => {
            a(0, 0)?;
            str_v(text().trim_start().to_string())
        }
        "rstrip" => {
            a(0, 0)?;
            str_v(
                text()
                    .trim_end_matches(|c: char| c.is_whitespace() || c == '\0')
                    .to_string(),
            )
        }
        "strip_newlines" => {
            a(0, 0)?;
            str_v(text().replace("\r\n", "").replace('\n', ""))
        }
        "newline_to_br" => {
            a(0, 0)?;
            str_v(text().replace("\r\n", "\n").replace('\n', "<br />\n"))
        }
        "strip_html" => {
            a(0, 0)?;
            let mut t = text();
            for (open, close) in [
                ("<script", "</script>"),
                ("<!--", "-->"),
                ("<style", "</style>"),
            ] {
                t = remove_between(&t, open, close);
            }
            let mut res = String::new();
            let mut in_tag = false;
            for c in t.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' if in_tag => in_tag = false,
                    c if !in_tag => res.push(c),
                    _ => {}
                }
            }
            str_v(res)
        }
        "escape" | "h" | "xml_escape" => {
            a(0, 0)?;
            if is_nil(input) && name != "xml_escape" {
                Value::from(())
            } else {
                str_v(escape_html(&text()))
            }
        }
        "escape_once" => {
            a(0, 0)?;
            let t = text();
            let mut o = String::new();
            let mut i = 0;
            let b = t.as_bytes();
            while i < t.len() {
                let c = t[i..].chars().next().unwrap_or(' ');
                if c == '&' {
                    let rest = &t[i..];
                    let ent = rest.find(';').filter(|e| *e < 10).map(|e| &rest[1..e]);
                    if ent.is_some_and(|e| {
                        !e.is_empty()
                            && (e.chars().all(char::is_alphanumeric)
                                || (e.starts_with('#')
                                    && e[1..].chars().all(|c| c.is_ascii_alphanumeric())))
                    }) {
                        o.push('&');
                    } else {
                        o.push_str("&amp;");
                    }
                } else {
                    match c {
                        '<' => o.push_str("&lt;"),
                        '>' => o.push_str("&gt;"),
                        '"' => o.push_str("&quot;"),
                        '\'' => o.push_str("&#39;"),
                        c => o.push(c),
                    }
                }
                let _ = b;
                i += c.len_utf8();
            }
            str_v(o)
        }
        "url_encode" => {
            a(0, 0)?;
            if is_nil(input) {
                Value::from(())
            } else {
                str_v(url_encode(&text(), true, ""))
            }
        }
        "cgi_escape" => {
            a(0, 0)?;
            str_v(url_encode(&text(), true, ""))
        }
        "uri_escape" => {
            a(0, 0)?;
            str_v(url_encode(&text(), false, "~!$&'()+,;=:@/?#[]%"))
        }
        "url_decode" => {
            a(0, 0)?;
            if is_nil(input) {
                Value::from(())
            } else {
                str_v(url_decode(&text()))
            }
        }
        "replace" | "replace_first" => {
            a(1, 2)?;
            let (from, to) = (s(&arg(args, 0)), s(&arg(args, 1)));
            str_v(if name == "replace" {
                text().replace(&from, &to)
            } else {
                text().replacen(&from, &to, 1)
            })
        }
        "remove" | "remove_first" => {
            a(1, 1)?;
            let from = s(&arg(args, 0));
            str_v(if name == "remove" {
                text().replace(&from, "")
            } else {
                text().replacen(&from, "", 1)
            })
        }
        "split" => {
            a(1, 1)?;
            let t = text();
            let pat = s(&arg(args, 0));
            let mut parts: Vec<Value> = if pat == " " {
                t.split_whitespace().map(Value::from).collect()
            } else if pat.is_empty() {
                t.chars().map(|c| Value::from(c.to_string())).collect()
            } else {
                t.split(pat.as_str()).map(Value::from).collect()
            };
            // Ruby's split drops trailing empty strings
            while parts.last().is_some_and(|p| p.as_str() == Some("")) {
                parts.pop();
            }
            Value::from(parts)
        }
        "join" => {
            a(0, 1)?;
            let glue = if args.is_empty() {
                " ".to_string()
            } else {
                s(&arg(args, 0))
            };
            if !lv::is_seq(input) {
                input.clone()
            } else {
                str_v(flatten(input).iter().map(s).collect::<Vec<_>>().join(&glue))
            }
        }
        "size" => {
            a(0, 0)?;
            Value::from(lv::size(input).unwrap_or(0))
        }
        "first" | "last" => {
            a(0, 0)?;
            if lv::is_seq(input) {
                let items = seq(input);
                let x = if name == "first" {
                    items.first()
                } else {
                    items.last()
                };
                x.cloned().unwrap_or(Value::from(()))
            } else {
                Value::from(())
            }
        }
        "reverse" => {
            a(0, 0)?;
            let mut v = input_list(input);
            v.reverse();
            Value::from(v)
        }
        "compact" => {
            a(0, 1)?;
            let items = input_list(input);
            let p = args.first().map(s);
            Value::from(
                items
                    .into_iter()
                    .filter(|x| match &p {
                        Some(p) => !is_nil(&property(x, p)),
                        None => !is_nil(x),
                    })
                    .collect::<Vec<_>>(),
            )
        }
        "uniq" => {
            a(0, 1)?;
            let mut out: Vec<Value> = Vec::new();
            let mut keys: Vec<Value> = Vec::new();
            for x in input_list(input) {
                let k = match args.first() {
                    Some(p) => property(&x, &s(p)),
                    None => x.clone(),
                };
                if !keys
                    .iter()
                    .any(|y| lv::equal(y, &k) && (k.kind() == y.kind()))
                {
                    keys.push(k);
                    out.push(x);
                }
            }
            Value::from(out)
        }
        "concat" => {
            a(1, 1)?;
            let other = arg(args, 0);
            if !lv::is_seq(&other) {
                return Err("concat filter requires an array argument".into());
            }
            let mut v = input_list(input);
            v.extend(seq(&other));
            Value::from(v)
        }
        "map" => {
            a(1, 1)?;
            let p = s(&arg(args, 0));
            // Integer#[] takes no property name: Liquid raises
            if input_list(input).iter().any(|x| x.is_integer()) {
                return Err(format!("cannot select the property '{p}'"));
            }
            Value::from(
                input_list(input)
                    .iter()
                    .map(|x| property(x, &p))
                    .collect::<Vec<_>>(),
            )
        }
        "sum" => {
            a(0, 1)?;
            let mut acc = Value::from(0);
            for x in input_list(input) {
                let v = match args.first() {
                    Some(p) => property(&x, &s(p)),
                    None => x,
                };
                acc = num_op(&acc, &v, '+')?;
            }
            acc
        }
        "sort" | "sort_natural" => {
            a(0, 2)?;
            if is_nil(input) {
                return Err("Cannot sort a null object.".into());
            }
            let mut items = input_list(input);
            let natural = name == "sort_natural";
            let key = |x: &Value| -> Value {
                let v = match args.first() {
                    Some(p) => property(x, &s(p)),
                    None => x.clone(),
                };
                if natural && v.kind() == ValueKind::String {
                    Value::from(s(&v).to_lowercase())
                } else {
                    v
                }
            };
            if args.is_empty() && !natural {
                ruby_sort(&mut items)?;
            } else {
                let nils_last = args.get(1).map(s).as_deref() == Some("last");
                items.sort_by(|x, y| {
                    let (kx, ky) = (key(x), key(y));
                    match (is_nil(&kx), is_nil(&ky)) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => {
                            if nils_last {
                                std::cmp::Ordering::Greater
                            } else {
                                std::cmp::Ordering::Less
                            }
                        }
                        (false, true) => {
                            if nils_last {
                                std::cmp::Ordering::Less
                            } else {
                                std::cmp::Ordering::Greater
                            }
                        }
                        _ => cmp_values(&kx, &ky),
                    }
                });
            }
            Value::from(items)
        }
        "where" => {
            // Jekyll's where(input, property, value) replaces Liquid's one-argument form
            a(2, 2)?;
            let p = s(&arg(args, 0));
            let target = arg(args, 1);
            let items = if lv::is_map(input) {
                lv::map_pairs(input).into_iter().map(|(_, v)| v).collect()
            } else {
                input_list(input)
            };
            if args.len() == 1 {
                Value::from(
                    items
                        .into_iter()
                        .filter(|x| lv::truthy(&property(x, &p)))
                        .collect::<Vec<_>>(),
                )
            } else if lv::is_seq(&target) || lv::is_map(&target) {
                input.clone()
            } else {
                let t = s(&target);
                Value::from(
                    items
                        .into_iter()
                        .filter(|x| {
                            let prop = property(x, &p);
                            if is_nil(&target) {
                                is_nil(&prop)
                            } else if prop.kind() == ValueKind::String {
                                s(&prop) == t
                            } else if lv::is_seq(&prop) {
                                seq(&prop).iter().any(|y| s(y) == t)
                            } else {
                                !is_nil(&prop) && s(&prop) == t
                            }
                        })
                        .collect::<Vec<_>>(),
                )
            }
        }
        "find" => {
            a(2, 2)?;
            let p = s(&arg(args, 0));
            let t = s(&arg(args, 1));
            input_list(input)
                .into_iter()
                .find(|x| s(&property(x, &p)) == t)
                .unwrap_or(Value::from(()))
        }
        "group_by" => {
            a(1, 1)?;
            let p = s(&arg(args, 0));
            let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
            for x in input_list(input) {
                let k = s(&property(&x, &p));
                match groups.iter_mut().find(|(g, _)| *g == k) {
                    Some((_, v)) => v.push(x),
                    None => groups.push((k, vec![x])),
                }
            }
            Value::from(
                groups
                    .into_iter()
                    .map(|(k, items)| {
                        let size = items.len();
                        Value::from_pairs([
                            ("name", Value::from(k)),
                            ("items", Value::from(items)),
                            ("size", Value::from(size)),
                        ])
                    })
                    .collect::<Vec<_>>(),
            )
        }
        "push" | "unshift" => {
            a(1, 1)?;
            let mut v = input_list(input);
            if name == "push" {
                v.push(arg(args, 0))
            } else {
                v.insert(0, arg(args, 0))
            }
            Value::from(v)
        }
        "pop" | "shift" => {
            a(0, 1)?;
            let mut v = input_list(input);
            let n = args
                .first()
                .map(|x| lv::to_number(x).as_i64().unwrap_or(1))
                .unwrap_or(1)
                .max(0) as usize;
            let n = n.min(v.len());
            if name == "pop" {
                v.truncate(v.len() - n)
            } else {
                v.drain(..n);
            }
            Value::from(v)
        }
        "plus" | "minus" | "times" | "divided_by" | "modulo" => {
            a(1, 1)?;
            let op = match name {
                "plus" => '+',
                "minus" => '-',
                "times" => '*',
                "divided_by" => '/',
                _ => '%',
            };
            num_op(input, &arg(args, 0), op)?
        }
        "abs" => {
            a(0, 0)?;
            let n = lv::to_number(input);
            if n.is_integer() {
                Value::from(n.as_i64().unwrap_or(0).abs())
            } else {
                Value::from(lv::as_f64(&n).unwrap_or(0.0).abs())
            }
        }
        "ceil" | "floor" => {
            a(0, 0)?;
            let f = lv::as_f64(&lv::to_number(input)).unwrap_or(0.0);
            Value::from(if name == "ceil" { f.ceil() } else { f.floor() } as i64)
        }
        "round" => {
            a(0, 1)?;
            let n = lv::to_number(input);
            let d = args
                .first()
                .map(|x| lv::to_number(x).as_i64().unwrap_or(0))
                .unwrap_or(0);
            if d == 0 {
                if n.is_integer() {
                    n
                } else {
                    Value::from(lv::as_f64(&n).unwrap_or(0.0).round() as i64)
                }
            } else {
                Value::from(round_half_away(lv::as_f64(&n).unwrap_or(0.0), d as i32))
            }
        }
        "at_least" | "at_most" => {
            a(1, 1)?;
            let (x, y) = (lv::to_number(input), lv::to_number(&arg(args, 0)));
            let less = lv::compare(&x, "<", &y).unwrap_or(false);
            if (name == "at_least") == less { y } else { x }
        }
        "to_integer" => {
            a(0, 0)?;
            match input.kind() {
                ValueKind::Bool => Value::from(i64::from(input.is_true())),
                _ => {
                    let n = lv::to_number(input);
                    if n.is_integer() {
                        n
                    } else {
                        Value::from(lv::as_f64(&n).unwrap_or(0.0) as i64)
                    }
                }
            }
        }
        "slice" => {
            a(1, 2)?;
            // Utils.to_integer: `slice: 2.2` stops Jekyll ("invalid integer")
            let start = lv::to_integer(&arg(args, 0))?;
            let len = match args.get(1).filter(|x| lv::truthy(x)) {
                Some(x) => lv::to_integer(x)?,
                None => 1,
            };
            let slice = |n: usize| -> Option<(usize, usize)> {
                let st = if start < 0 { n as i64 + start } else { start };
                if st < 0 || st as usize > n || len < 0 {
                    return None;
                }
                let st = st as usize;
                Some((st, (st + len as usize).min(n)))
            };
            if lv::is_seq(input) {
                let items = seq(input);
                match slice(items.len()) {
                    Some((a, b)) => Value::from(items[a..b].to_vec()),
                    None => Value::from(()),
                }
            } else {
                let chars: Vec<char> = text().chars().collect();
                match slice(chars.len()) {
                    Some((a, b)) => str_v(chars[a..b].iter().collect::<String>()),
                    None => Value::from(()),
                }
            }
        }
        "truncate" => {
            a(0, 2)?;
            if is_nil(input) {
                return Ok(Some(Value::from(())));
            }
            let len = args
                .first()
                .map(|x| lv::to_number(x).as_i64().unwrap_or(50))
                .unwrap_or(50);
            let ell = args.get(1).map(s).unwrap_or_else(|| "...".into());
            let t: Vec<char> = text().chars().collect();
            let l = (len - ell.chars().count() as i64).max(0) as usize;
            if t.len() as i64 > len {
                str_v(t[..l.min(t.len())].iter().collect::<String>() + &ell)
            } else {
                str_v(text())
            }
        }
        "truncatewords" => {
            a(0, 2)?;
            if is_nil(input) {
                return Ok(Some(Value::from(())));
            }
            let n = args
                .first()
                .map(|x| lv::to_number(x).as_i64().unwrap_or(15))
                .unwrap_or(15)
                .max(1) as usize;
            let ell = args.get(1).map(s).unwrap_or_else(|| "...".into());
            let t = text();
            let words: Vec<&str> = t.split_whitespace().collect();
            if words.len() > n {
                str_v(words[..n].join(" ") + &ell)
            } else {
                str_v(t)
            }
        }
        "slugify" => {
            a(0, 1)?;
            if is_nil(input) {
                return Ok(Some(Value::from(())));
            }
            let mode = args.first().map(s).unwrap_or_else(|| "default".into());
            str_v(slugify(&text(), &mode))
        }
        "jsonify" => {
            a(0, 0)?;
            str_v(serde_json::to_string(&to_json(input)).unwrap_or_default())
        }
        "inspect" => {
            a(0, 0)?;
            str_v(lv::inspect(input))
        }
        "number_of_words" => {
            a(0, 1)?;
            Value::from(text().split_whitespace().count())
        }
        "normalize_whitespace" => {
            a(0, 0)?;
            str_v(text().split_whitespace().collect::<Vec<_>>().join(" "))
        }
        "array_to_sentence_string" => {
            a(0, 1)?;
            let conn = args.first().map(s).unwrap_or_else(|| "and".into());
            let items: Vec<String> = input_list(input).iter().map(s).collect();
            str_v(match items.len() {
                0 => String::new(),
                1 => items[0].clone(),
                2 => format!("{} {conn} {}", items[0], items[1]),
                n => format!("{}, {conn} {}", items[..n - 1].join(", "), items[n - 1]),
            })
        }
        "markdownify" => {
            a(0, 0)?;
            str_v(markdown_html(&text()))
        }
        "smartify" => {
            a(0, 0)?;
            str_v(
                text()
                    .replace("---", "—")
                    .replace("--", "–")
                    .replace("...", "…"),
            )
        }
        "relative_url" => {
            a(0, 0)?;
            if is_nil(input) {
                Value::from(())
            } else {
                str_v(relative_url(&text(), ctx.baseurl))
            }
        }
        "absolute_url" => {
            a(0, 0)?;
            if is_nil(input) {
                Value::from(())
            } else {
                let t = text();
                if t.contains("://") {
                    str_v(t)
                } else {
                    str_v(format!(
                        "{}{}",
                        ctx.url.trim_end_matches('/'),
                        relative_url(&t, ctx.baseurl)
                    ))
                }
            }
        }
        "strip_index" => {
            a(0, 0)?;
            let t = text();
            str_v(
                t.strip_suffix("/index.html")
                    .or(t.strip_suffix("/index.htm"))
                    .map(|x| format!("{x}/"))
                    .unwrap_or(t),
            )
        }
        "date_to_xmlschema"
        | "date_to_rfc822"
        | "date_to_string"
        | "date_to_long_string"
        | "date" => {
            // dates are kept as written: a faithful strftime needs the page's timezone
            input.clone()
        }
        "base64_encode" => {
            a(0, 0)?;
            str_v(base64(text().as_bytes()))
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}

fn remove_between(t: &str, open: &str, close: &str) -> String {
    let mut out = String::new();
    let mut rest = t;
    while let Some(i) = rest.find(open) {
        out.push_str(&rest[..i]);
        match rest[i..].find(close) {
            Some(j) => rest = &rest[i + j + close.len()..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

fn base64(b: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                o.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, input: Value, args: &[Value]) -> Value {
        apply(
            name,
            &input,
            args,
            &[],
            &FilterCtx {
                baseurl: "/home",
                url: "https://x.org",
            },
        )
        .unwrap()
        .unwrap()
    }

    #[test]
    fn string_filters() {
        assert_eq!(
            f("default", Value::from(()), &[Value::from("x")]),
            Value::from("x")
        );
        assert_eq!(
            f("default", Value::from(""), &[Value::from("x")]),
            Value::from("x")
        );
        assert_eq!(
            f("default", Value::from(0), &[Value::from("x")]),
            Value::from(0)
        );
        assert_eq!(
            f(
                "replace",
                Value::from("a-b-c"),
                &[Value::from("-"), Value::from("+")]
            ),
            Value::from("a+b+c")
        );
        assert_eq!(
            f("slugify", Value::from("Hello, World!"), &[]),
            Value::from("hello-world")
        );
        assert_eq!(
            f("relative_url", Value::from("/fig/a b.svg"), &[]),
            Value::from("/home/fig/a%20b.svg")
        );
        assert_eq!(
            f("truncate", Value::from("abcdefghij"), &[Value::from(5)]),
            Value::from("ab...")
        );
        assert_eq!(
            f("capitalize", Value::from("hELLO"), &[]),
            Value::from("Hello")
        );
    }

    #[test]
    fn numbers_and_lists() {
        assert_eq!(
            f("plus", Value::from("2"), &[Value::from(0)]),
            Value::from(2)
        );
        assert_eq!(
            f("divided_by", Value::from(7), &[Value::from(2)]),
            Value::from(3)
        );
        assert_eq!(
            f("divided_by", Value::from(-7), &[Value::from(2)]),
            Value::from(-4)
        );
        assert_eq!(
            f("plus", Value::from(0.1), &[Value::from(0.2)]),
            Value::from(0.3)
        );
        assert_eq!(f("size", Value::from(vec![1, 2, 3]), &[]), Value::from(3));
        assert_eq!(
            lv::to_s(&f("split", Value::from("a,b,,"), &[Value::from(",")])),
            "ab"
        );
        assert_eq!(
            f("join", Value::from(vec!["a", "b"]), &[Value::from("-")]),
            Value::from("a-b")
        );
        assert!(
            apply(
                "divided_by",
                &Value::from(1),
                &[Value::from(0)],
                &[],
                &FilterCtx {
                    baseurl: "",
                    url: ""
                }
            )
            .is_err()
        );
        assert!(
            apply(
                "to_s",
                &Value::from(1),
                &[],
                &[],
                &FilterCtx {
                    baseurl: "",
                    url: ""
                }
            )
            .unwrap()
            .is_none()
        );
    }
}
