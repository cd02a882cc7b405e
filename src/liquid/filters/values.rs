//! Filters on any value: Liquid's `default`, Jekyll's `jsonify` and `inspect`.

use super::{Call, Filter, html, is_nil, s, seq, str_v};
use crate::liquid::time::Time;
use crate::liquid::value as lv;
use minijinja::Value;
use minijinja::value::ValueKind;

pub(super) const FILTERS: &[Filter] = &[
    Filter::new("default", 0, 2, default),
    Filter::new("jsonify", 0, 0, jsonify),
    Filter::new("inspect", 0, 0, inspect),
];

type R = Result<Value, String>;

/// The default (`""` when none is given) for nil, false, and empty strings, arrays and
/// hashes; with `allow_false: true`, false is kept.
fn default(call: &Call, input: &Value, args: &[Value]) -> R {
    let allow_false = call
        .kwargs
        .iter()
        .any(|(k, v)| k == "allow_false" && lv::truthy(v));
    let missing = if allow_false {
        is_nil(input)
    } else {
        !lv::truthy(input)
    };
    let empty = match input.kind() {
        ValueKind::String | ValueKind::Seq | ValueKind::Iterable => lv::size(input) == Some(0),
        ValueKind::Map if lv::special(input).is_none() => lv::size(input) == Some(0),
        _ => false,
    };
    Ok(if missing || empty {
        args.first().cloned().unwrap_or_else(|| Value::from(""))
    } else {
        input.clone()
    })
}

fn jsonify(_: &Call, input: &Value, _: &[Value]) -> R {
    let mut out = String::new();
    write_json(&mut out, input);
    Ok(str_v(out))
}

/// Ruby's `to_json`: floats as Ruby prints them (`1.0e+20`), times as their text.
fn write_json(out: &mut String, v: &Value) {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool | ValueKind::Number => out.push_str(&s(v)),
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            for (i, x) in seq(v).iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, x);
            }
            out.push(']');
        }
        ValueKind::Map if lv::special(v).is_none() => {
            out.push('{');
            for (i, (k, x)) in lv::map_pairs(v).iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, &s(k));
                out.push(':');
                write_json(out, x);
            }
            out.push('}');
        }
        _ => json_string(out, &s(v)),
    }
}

fn json_string(out: &mut String, text: &str) {
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
}

/// Ruby's `inspect`, XML-escaped (Jekyll's).
fn inspect(_: &Call, input: &Value, _: &[Value]) -> R {
    let text = match Time::of(input) {
        Some(t) => t.inspect(),
        None => lv::inspect(input),
    };
    Ok(str_v(html::xml_escape_str(&text)))
}
