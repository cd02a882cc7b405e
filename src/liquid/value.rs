//! Liquid's (Ruby's) view of values: printing, truthiness, lookups and comparisons.

use minijinja::Value;
use minijinja::value::{Object, ValueKind};
use std::cmp::Ordering;
use std::sync::Arc;

/// Liquid's `empty` and `blank` literals.
#[derive(Debug)]
pub struct Special(pub &'static str);

impl Object for Special {
    fn render(self: &Arc<Self>, _f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Ok(())
    }
}

pub fn special(v: &Value) -> Option<&'static str> {
    v.downcast_object_ref::<Special>().map(|s| s.0)
}

pub fn is_nil(v: &Value) -> bool {
    v.is_undefined() || v.is_none()
}

/// Only nil and false are false.
pub fn truthy(v: &Value) -> bool {
    !(is_nil(v) || (v.kind() == ValueKind::Bool && !v.is_true()))
}

pub fn is_float(v: &Value) -> bool {
    v.kind() == ValueKind::Number && !v.is_integer()
}

pub fn as_f64(v: &Value) -> Option<f64> {
    if v.kind() == ValueKind::Number {
        f64::try_from(v.clone()).ok()
    } else {
        None
    }
}

/// Ruby's Float#to_s.
pub fn ruby_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let abs = f.abs();
    if (1e-4..1e16).contains(&abs) {
        let s = format!("{f:?}");
        if s.contains('e') {
            // {:?} may still use exponent for some values; fall back to fixed
            let fixed = format!("{f}");
            return if fixed.contains('.') {
                fixed
            } else {
                format!("{fixed}.0")
            };
        }
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        // shortest digits, Ruby style: 1.0e+20, 1.5e-05
        let s = format!("{f:e}"); // e.g. 1e20, 1.5e-5
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = if mant.contains('.') {
            mant.to_string()
        } else {
            format!("{mant}.0")
        };
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    }
}

/// What `{{ value }}` prints.
pub fn to_s(v: &Value) -> String {
    let mut out = String::new();
    write_s(&mut out, v);
    out
}

pub fn write_s(out: &mut String, v: &Value) {
    // writing to a String cannot fail
    let _ = write_to(out, v);
}

/// What `{{ value }}` prints, written to any sink (the template output directly).
pub fn write_to<W: std::fmt::Write>(out: &mut W, v: &Value) -> std::fmt::Result {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => Ok(()),
        ValueKind::Bool => out.write_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => {
            if v.is_integer() {
                write!(out, "{v}")
            } else {
                out.write_str(&ruby_float(as_f64(v).unwrap_or(0.0)))
            }
        }
        ValueKind::String => out.write_str(v.as_str().unwrap_or("")),
        ValueKind::Seq | ValueKind::Iterable => {
            // Array#join, flattening nested arrays
            if let Ok(it) = v.try_iter() {
                for item in it {
                    write_to(out, &item)?;
                }
            }
            Ok(())
        }
        _ if special(v).is_some() => Ok(()),
        ValueKind::Map => out.write_str(&inspect(v)),
        _ => write!(out, "{v}"),
    }
}

/// Ruby's `inspect` (Hash#to_s and the `inspect` filter).
pub fn inspect(v: &Value) -> String {
    if let Some(t) = super::time::Time::of(v) {
        return t.inspect();
    }
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => "nil".into(),
        ValueKind::String => {
            let mut s = String::from("\"");
            let mut chars = v.as_str().unwrap_or("").chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '"' => s.push_str("\\\""),
                    '\\' => s.push_str("\\\\"),
                    '\n' => s.push_str("\\n"),
                    '\t' => s.push_str("\\t"),
                    '\r' => s.push_str("\\r"),
                    '\x1b' => s.push_str("\\e"),
                    '\x07' => s.push_str("\\a"),
                    '\x08' => s.push_str("\\b"),
                    '\x0b' => s.push_str("\\v"),
                    '\x0c' => s.push_str("\\f"),
                    // `#{`, `#$`, `#@` would interpolate in Ruby source
                    '#' if matches!(chars.peek(), Some('{' | '$' | '@')) => s.push_str("\\#"),
                    c if (c as u32) < 0x20 || c == '\x7f' => {
                        s.push_str(&format!("\\u{:04X}", c as u32))
                    }
                    c => s.push(c),
                }
            }
            s.push('"');
            s
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = v
                .try_iter()
                .map(|i| i.map(|x| inspect(&x)).collect())
                .unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let items: Vec<String> = map_pairs(v)
                .into_iter()
                .map(|(k, x)| format!("{}=>{}", inspect(&k), inspect(&x)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        _ => to_s(v),
    }
}

pub fn map_pairs(v: &Value) -> Vec<(Value, Value)> {
    match v.try_iter() {
        Ok(keys) => keys
            .map(|k| {
                let val = v.get_item(&k).unwrap_or_default();
                (k, val)
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

pub fn is_map(v: &Value) -> bool {
    v.kind() == ValueKind::Map && special(v).is_none()
}

pub fn is_seq(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable)
}

pub fn seq(v: &Value) -> Vec<Value> {
    v.try_iter().map(|i| i.collect()).unwrap_or_default()
}

/// Size as Liquid's `size` sees it (String#size in characters, Array, Hash).
pub fn size(v: &Value) -> Option<usize> {
    match v.kind() {
        ValueKind::String => Some(v.as_str().unwrap_or("").chars().count()),
        ValueKind::Seq | ValueKind::Iterable => Some(seq(v).len()),
        ValueKind::Map if special(v).is_none() => v.len(),
        _ => None,
    }
}

/// One step of a variable lookup. `dot` allows `size`/`first`/`last` as commands.
pub fn lookup(obj: &Value, key: &Value, dot: bool) -> Option<Value> {
    match obj.kind() {
        ValueKind::Map if special(obj).is_none() => {
            if let Ok(v) = obj.get_item(key)
                && !v.is_undefined()
            {
                return Some(v);
            }
            // YAML keys may be integers while the lookup is a string, or the other way round
            if dot && key.as_str() == Some("size") {
                return obj.len().map(Value::from);
            }
            None
        }
        ValueKind::Seq | ValueKind::Iterable => {
            if let Some(i) = key.as_i64().filter(|_| key.is_integer()) {
                let items = seq(obj);
                let idx = if i < 0 { items.len() as i64 + i } else { i };
                return items.get(usize::try_from(idx).ok()?).cloned();
            }
            if dot {
                let items = seq(obj);
                return match key.as_str()? {
                    "size" => Some(Value::from(items.len())),
                    "first" => items.first().cloned().or(Some(Value::from(()))),
                    "last" => items.last().cloned().or(Some(Value::from(()))),
                    _ => None,
                };
            }
            None
        }
        ValueKind::String if dot => match key.as_str()? {
            "size" => Some(Value::from(obj.as_str().unwrap_or("").chars().count())),
            // String#first / #last exist only with ActiveSupport: Jekyll has none
            _ => None,
        },
        ValueKind::Number if dot && key.as_str() == Some("size") && obj.is_integer() => {
            Some(Value::from(8))
        }
        _ => {
            if let Some(o) = obj.as_object() {
                let _ = o;
                if let Ok(v) = obj.get_item(key)
                    && !v.is_undefined()
                {
                    return Some(v);
                }
            }
            None
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => "NilClass",
        ValueKind::Bool => {
            if v.is_true() {
                "TrueClass"
            } else {
                "FalseClass"
            }
        }
        ValueKind::Number => {
            if v.is_integer() {
                "Integer"
            } else {
                "Float"
            }
        }
        ValueKind::String => "String",
        ValueKind::Seq | ValueKind::Iterable => "Array",
        ValueKind::Map => "Hash",
        _ => "Object",
    }
}

/// Ruby's `==`.
pub fn equal(a: &Value, b: &Value) -> bool {
    if is_nil(a) || is_nil(b) {
        return is_nil(a) && is_nil(b);
    }
    if let (Some(x), Some(y)) = (super::time::Time::of(a), super::time::Time::of(b)) {
        // a Time equals a Time at the same instant, a Date the same day
        return matches!(
            (&x, &y),
            (super::time::Time::At { .. }, super::time::Time::At { .. })
                | (super::time::Time::Date(_), super::time::Time::Date(_))
        ) && x.cmp_instant(&y) == Ordering::Equal;
    }
    match (a.kind(), b.kind()) {
        (ValueKind::Number, ValueKind::Number) => {
            if a.is_integer() && b.is_integer() {
                a == b
            } else {
                as_f64(a) == as_f64(b)
            }
        }
        (ValueKind::Seq, ValueKind::Seq) => {
            let (x, y) = (seq(a), seq(b));
            x.len() == y.len() && x.iter().zip(&y).all(|(p, q)| equal(p, q))
        }
        (ValueKind::Bool, ValueKind::Bool) | (ValueKind::String, ValueKind::String) => a == b,
        (ValueKind::Map, ValueKind::Map) => a == b,
        _ => false,
    }
}

fn method_literal(kind: &str, v: &Value) -> Option<bool> {
    match kind {
        "empty" => match v.kind() {
            ValueKind::String => Some(v.as_str().unwrap_or("").is_empty()),
            ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => Some(size(v) == Some(0)),
            _ => None,
        },
        _ => match v.kind() {
            // `blank`: nil, false, whitespace-only strings and empty collections
            ValueKind::Undefined | ValueKind::None => Some(true),
            ValueKind::Bool => Some(!v.is_true()),
            ValueKind::String => Some(v.as_str().unwrap_or("").trim().is_empty()),
            ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => Some(size(v) == Some(0)),
            _ => Some(false),
        },
    }
}

/// A Liquid condition `a op b`. Err is Liquid's "comparison of X with Y failed".
pub fn compare(a: &Value, op: &str, b: &Value) -> Result<bool, String> {
    let eq = || {
        if let Some(k) = special(a) {
            return method_literal(k, b).unwrap_or(false);
        }
        if let Some(k) = special(b) {
            return method_literal(k, a).unwrap_or(false);
        }
        equal(a, b)
    };
    match op {
        "==" => Ok(eq()),
        "!=" | "<>" => Ok(!eq()),
        "contains" => Ok(match a.kind() {
            ValueKind::String if !is_nil(b) => a.as_str().unwrap_or("").contains(&to_s(b)),
            ValueKind::Seq | ValueKind::Iterable if !is_nil(b) => {
                seq(a).iter().any(|x| equal(x, b))
            }
            ValueKind::Map if !is_nil(b) && special(a).is_none() => lookup(a, b, false).is_some(),
            _ => false,
        }),
        "<" | ">" | "<=" | ">=" => {
            let times = (super::time::Time::of(a), super::time::Time::of(b));
            let ord = match (a.kind(), b.kind()) {
                _ if times.0.is_some() && times.1.is_some() => {
                    let (Some(x), Some(y)) = (&times.0, &times.1) else {
                        return Ok(false);
                    };
                    match x.cmp_ruby(y) {
                        Some(o) => Some(o),
                        None => {
                            return Err(format!(
                                "comparison of {} with {} failed",
                                x.class(),
                                y.class()
                            ));
                        }
                    }
                }
                (ValueKind::Number, ValueKind::Number) => as_f64(a).partial_cmp(&as_f64(b)),
                (ValueKind::String, ValueKind::String) => Some(a.as_str().cmp(&b.as_str())),
                _ if is_nil(a) || is_nil(b) || is_map(a) || is_map(b) => return Ok(false),
                (ValueKind::Seq, ValueKind::Seq) if op == "<" || op == ">" => return Ok(false),
                _ => {
                    return Err(format!(
                        "comparison of {} with {} failed",
                        type_name(a),
                        if b.kind() == ValueKind::Number || b.kind() == ValueKind::String {
                            inspect(b)
                        } else {
                            type_name(b).to_string()
                        }
                    ));
                }
            };
            let Some(ord) = ord else { return Ok(false) };
            Ok(match op {
                "<" => ord == Ordering::Less,
                ">" => ord == Ordering::Greater,
                "<=" => ord != Ordering::Greater,
                _ => ord != Ordering::Less,
            })
        }
        other => Err(format!("Unknown operator {other}")),
    }
}

/// Liquid's `Utils.to_number`: decimals stay decimal, other strings are `to_i`.
pub fn to_number(v: &Value) -> Value {
    match v.kind() {
        ValueKind::Number => v.clone(),
        ValueKind::String => {
            let s = v.as_str().unwrap_or("").trim();
            let b = s.as_bytes();
            let body = s.strip_prefix('-').unwrap_or(s);
            if let Some((i, f)) = body.split_once('.')
                && !i.is_empty()
                && !f.is_empty()
                && i.bytes().all(|c| c.is_ascii_digit())
                && f.bytes().all(|c| c.is_ascii_digit())
            {
                return Value::from(s.parse::<f64>().unwrap_or(0.0));
            }
            // Ruby's to_i: optional sign then leading digits (underscores allowed between)
            let mut end = 0;
            if !b.is_empty() && (b[0] == b'-' || b[0] == b'+') {
                end = 1;
            }
            let digits_start = end;
            while end < b.len()
                && (b[end].is_ascii_digit() || (b[end] == b'_' && end > digits_start))
            {
                end += 1;
            }
            let t = s[..end].replace('_', "");
            Value::from(t.parse::<i64>().unwrap_or(0))
        }
        _ => Value::from(0),
    }
}

/// Exact decimal arithmetic for `+ - *` on the shortest representations, as Liquid's
/// BigDecimal does (0.1 | plus: 0.2 is 0.3).
pub fn decimal_op(a: f64, b: f64, op: char) -> f64 {
    fn parse(x: f64) -> Option<(i128, u32)> {
        let s = format!("{x:?}");
        if s.contains('e') || s.contains("inf") || s.contains("NaN") {
            return None;
        }
        let (neg, s) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s.as_str()),
        };
        let (i, f) = s.split_once('.').unwrap_or((s, ""));
        let m: i128 = format!("{i}{f}").parse().ok()?;
        Some((if neg { -m } else { m }, f.len() as u32))
    }
    let plain = match op {
        '+' => a + b,
        '-' => a - b,
        _ => a * b,
    };
    let (Some((ma, sa)), Some((mb, sb))) = (parse(a), parse(b)) else {
        return plain;
    };
    let (m, scale) = match op {
        '*' => match ma.checked_mul(mb) {
            Some(m) => (m, sa + sb),
            None => return plain,
        },
        _ => {
            let s = sa.max(sb);
            let (Some(xa), Some(xb)) = (
                ma.checked_mul(10i128.pow(s - sa)),
                mb.checked_mul(10i128.pow(s - sb)),
            ) else {
                return plain;
            };
            (if op == '+' { xa + xb } else { xa - xb }, s)
        }
    };
    let neg = m < 0;
    let digits = m.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{}", "0".repeat(scale - digits.len() + 1), digits)
    } else {
        digits
    };
    let (ip, fp) = padded.split_at(padded.len() - scale);
    format!("{}{ip}.{fp}0", if neg { "-" } else { "" })
        .parse()
        .unwrap_or(plain)
}

/// Ruby's `Integer(string)`: surrounding whitespace, a sign, `0x`/`0b`/`0o`/`0d` prefixes, a
/// leading `0` for octal, `_` between digits. None when Ruby raises.
fn ruby_integer(s: &str) -> Option<i64> {
    let s = s.trim_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = s.to_ascii_lowercase();
    let (radix, digits) = if let Some(r) = lower.strip_prefix("0x") {
        (16, r)
    } else if let Some(r) = lower.strip_prefix("0b") {
        (2, r)
    } else if let Some(r) = lower.strip_prefix("0o") {
        (8, r)
    } else if let Some(r) = lower.strip_prefix("0d") {
        (10, r)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let b = digits.as_bytes();
    if b.is_empty()
        || b[0] == b'_'
        || b[b.len() - 1] == b'_'
        || digits.contains("__")
        || !b.iter().all(|c| *c == b'_' || (*c as char).is_digit(radix))
    {
        return None;
    }
    let n = i64::from_str_radix(&digits.replace('_', ""), radix).ok()?;
    Some(if neg { -n } else { n })
}

/// Liquid's `Utils.to_integer` (for `limit:`, `offset:`, `slice`): an integer as it is,
/// anything else through Ruby's `Integer(value.to_s)`, which refuses `2.5`, `"foo"`, nil.
pub fn to_integer(v: &Value) -> Result<i64, String> {
    if v.is_integer() {
        return v.as_i64().ok_or_else(|| "invalid integer".to_string());
    }
    let text = match v.kind() {
        ValueKind::String => v.as_str().unwrap_or("").to_string(),
        ValueKind::Number => to_s(v),
        // nil.to_s is "", true.to_s "true": none is an integer
        _ => return Err("invalid integer".into()),
    };
    ruby_integer(&text).ok_or_else(|| "invalid integer".into())
}

/// Ruby's `to_i` (for `tablerow`'s `cols:`, `limit:`, `offset:`): nil is 0, a float is
/// truncated, a string is read up to its first non-digit; other values have no `to_i`.
pub fn ruby_to_i(v: &Value) -> Result<i64, String> {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => Ok(0),
        ValueKind::Number if v.is_integer() => {
            v.as_i64().ok_or_else(|| "integer out of range".into())
        }
        ValueKind::Number => {
            let f = as_f64(v).unwrap_or(0.0);
            if f.is_finite() {
                Ok(f.trunc() as i64)
            } else {
                Err(ruby_float(f))
            }
        }
        ValueKind::String => {
            let s = v.as_str().unwrap_or("");
            let s = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
            Ok(to_number(&Value::from(s.split('.').next().unwrap_or("")))
                .as_i64()
                .unwrap_or(0))
        }
        ValueKind::Bool => Err(format!(
            "undefined method `to_i' for {}:{}",
            v.is_true(),
            if v.is_true() {
                "TrueClass"
            } else {
                "FalseClass"
            }
        )),
        _ => Err(format!("undefined method `to_i' for {}", inspect(v))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_parses_as_ruby() {
        assert_eq!(ruby_integer(" 12 "), Some(12));
        assert_eq!(ruby_integer("0x1A"), Some(26));
        assert_eq!(ruby_integer("010"), Some(8));
        assert_eq!(ruby_integer("1_000"), Some(1000));
        assert_eq!(ruby_integer("2.2"), None);
        assert_eq!(ruby_integer(""), None);
        assert_eq!(ruby_integer("09"), None);
    }

    #[test]
    fn ruby_floats() {
        assert_eq!(ruby_float(1.1), "1.1");
        assert_eq!(ruby_float(3.0), "3.0");
        assert_eq!(ruby_float(1e20), "1.0e+20");
        assert_eq!(ruby_float(0.00001), "1.0e-05");
        assert_eq!(ruby_float(0.0001), "0.0001");
        assert_eq!(ruby_float(-2.5), "-2.5");
    }

    #[test]
    fn printing_and_truth() {
        assert_eq!(
            to_s(&Value::from(vec![
                Value::from("a"),
                Value::from(vec![1, 2])
            ])),
            "a12"
        );
        assert_eq!(to_s(&Value::from(())), "");
        assert!(truthy(&Value::from("")));
        assert!(truthy(&Value::from(0)));
        assert!(!truthy(&Value::from(false)));
        assert_eq!(inspect(&Value::from_pairs([("a", 1)])), "{\"a\"=>1}");
    }

    #[test]
    fn comparisons() {
        assert!(compare(&Value::from(1), "==", &Value::from(1.0)).unwrap());
        assert!(!compare(&Value::from("1"), "==", &Value::from(1)).unwrap());
        assert!(compare(&Value::from("abc"), "contains", &Value::from("b")).unwrap());
        assert!(
            compare(
                &Value::from(""),
                "==",
                &Value::from_object(Special("empty"))
            )
            .unwrap()
        );
        assert!(compare(&Value::from(1), "<", &Value::from("a")).is_err());
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal_op(0.1, 0.2, '+'), 0.3);
        assert_eq!(decimal_op(1.1, 3.0, '*'), 3.3);
        assert_eq!(to_number(&Value::from("12abc")), Value::from(12));
        assert_eq!(to_number(&Value::from("1.5")), Value::from(1.5));
    }

    #[test]
    fn integers_as_ruby_reads_them() {
        let int = |v: Value| to_integer(&v).ok();
        assert_eq!(int(Value::from(3)), Some(3));
        assert_eq!(int(Value::from(" 12 ")), Some(12));
        assert_eq!(int(Value::from("-0x1A")), Some(-26));
        assert_eq!(int(Value::from("017")), Some(15));
        assert_eq!(int(Value::from("1_000")), Some(1000));
        for bad in ["2.5", "foo", "", "1__0", "08", "_1"] {
            assert_eq!(int(Value::from(bad)), None, "{bad}");
        }
        assert_eq!(int(Value::from(2.0)), None);
        assert_eq!(int(Value::from(())), None);
        assert_eq!(int(Value::from(true)), None);
        let to_i = |v: Value| ruby_to_i(&v).ok();
        assert_eq!(to_i(Value::from(())), Some(0));
        assert_eq!(to_i(Value::from(2.7)), Some(2));
        assert_eq!(to_i(Value::from("1x")), Some(1));
        assert_eq!(to_i(Value::from("x")), Some(0));
        assert_eq!(to_i(Value::from(true)), None);
    }
}
