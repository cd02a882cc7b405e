//! Filters on any value: Liquid's `default`, Jekyll's `jsonify` and `inspect`.

use super::{Call, Filter, arg, is_nil, s, seq, str_v};
use crate::liquid::value as lv;
use minijinja::Value;
use minijinja::value::ValueKind;

pub(super) const FILTERS: &[Filter] = &[
    Filter::new("default", 1, 1, default),
    Filter::new("jsonify", 0, 0, jsonify),
    Filter::new("inspect", 0, 0, inspect),
];

type R = Result<Value, String>;

fn default(call: &Call, input: &Value, args: &[Value]) -> R {
    let allow_false = call
        .kwargs
        .iter()
        .any(|(k, v)| k == "allow_false" && lv::truthy(v));
    let empty = is_nil(input)
        || (input.kind() == ValueKind::Bool && !input.is_true() && !allow_false)
        || lv::size(input) == Some(0) && !lv::is_map(input) && !input.is_integer();
    let empty = empty || (lv::is_map(input) && lv::size(input) == Some(0));
    Ok(if empty { arg(args, 0) } else { input.clone() })
}

fn jsonify(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(
        serde_json::to_string(&to_json(input)).unwrap_or_default(),
    ))
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

fn inspect(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(lv::inspect(input)))
}
