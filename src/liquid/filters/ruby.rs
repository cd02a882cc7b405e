//! The pieces of Ruby's object model the filters need: `obj[key]`, `<=>`, the messages of
//! the errors Ruby raises, `Integer()`, and the merge sort Ruby's `Array#sort` runs on
//! (glibc's `qsort_r`), whose order of comparisons decides which pair a failing sort names.

use crate::liquid::value::{self as lv, is_nil, seq};
use minijinja::Value;
use minijinja::value::ValueKind;
use std::cmp::Ordering;

/// Ruby's class name of a value.
pub fn class(v: &Value) -> &'static str {
    if let Some(t) = crate::liquid::time::Time::of(v) {
        return t.class();
    }
    if lv::special(v).is_some() {
        return "Liquid::Expression::MethodLiteral";
    }
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => "NilClass",
        ValueKind::Bool if v.is_true() => "TrueClass",
        ValueKind::Bool => "FalseClass",
        ValueKind::Number if v.is_integer() => "Integer",
        ValueKind::Number => "Float",
        ValueKind::String => "String",
        ValueKind::Seq | ValueKind::Iterable => "Array",
        ValueKind::Map => "Hash",
        _ => "Object",
    }
}

/// How Ruby names a value in `comparison of X with Y failed` and `undefined method`: special
/// constants (nil, true, false, small integers) and floats by their `inspect`, others by class.
pub fn describe(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None | ValueKind::Bool | ValueKind::Number
            if lv::special(v).is_none() =>
        {
            lv::inspect(v)
        }
        _ => class(v).to_string(),
    }
}

/// `comparison of A with B failed` (Ruby's ArgumentError from `sort`).
pub fn cmp_error(a: &Value, b: &Value) -> String {
    format!("comparison of {} with {} failed", class(a), describe(b))
}

/// `undefined method `NAME' for VALUE` (Ruby's NoMethodError).
pub fn no_method(name: &str, v: &Value) -> String {
    let shown = lv::inspect(v);
    let who = match v.kind() {
        ValueKind::Undefined | ValueKind::None => "nil:NilClass".to_string(),
        // Ruby leaves the class out where inspect already names it (`#<Date: ...>`)
        _ if shown.starts_with("#<") => shown,
        _ => format!("{shown}:{}", class(v)),
    };
    format!("undefined method `{name}' for {who}")
}

/// `no implicit conversion of X into String` (Ruby's TypeError where a String is needed).
pub fn no_conversion(v: &Value) -> String {
    let what = match v.kind() {
        ValueKind::Undefined | ValueKind::None | ValueKind::Bool => lv::inspect(v),
        _ => class(v).to_string(),
    };
    format!("no implicit conversion of {what} into String")
}

pub const NO_STRING_TO_INTEGER: &str = "no implicit conversion of String into Integer";

/// Whether the value responds to `[]` (String, Array, Hash, Integer).
pub fn indexable(v: &Value) -> bool {
    lv::special(v).is_none()
        && (matches!(
            v.kind(),
            ValueKind::String | ValueKind::Seq | ValueKind::Iterable | ValueKind::Map
        ) || v.is_integer())
}

/// Ruby's `item[key]` for a string key: a Hash's value, a String's substring (when it holds
/// it), and `TypeError` for an Array or Integer. `Ok(None)`: the value has no `[]` at all.
pub fn index(item: &Value, key: &str) -> Result<Option<Value>, String> {
    if !indexable(item) {
        return Ok(None);
    }
    Ok(Some(match item.kind() {
        ValueKind::Map => lv::lookup(item, &Value::from(key), false).unwrap_or(Value::from(())),
        ValueKind::String => {
            if item.as_str().unwrap_or("").contains(key) {
                Value::from(key)
            } else {
                Value::from(())
            }
        }
        _ => return Err(NO_STRING_TO_INTEGER.into()),
    }))
}

/// Ruby's `a <=> b`: None where Ruby gives nil (incomparable values).
pub fn spaceship(a: &Value, b: &Value) -> Option<Ordering> {
    use ValueKind::{Bool, Iterable, Map, Number, Seq, String};
    if let (Some(x), Some(y)) = (
        crate::liquid::time::Time::of(a),
        crate::liquid::time::Time::of(b),
    ) {
        return x.cmp_ruby(&y);
    }
    match (a.kind(), b.kind()) {
        (Number, Number) => {
            if a.is_integer() && b.is_integer() {
                a.as_i64().zip(b.as_i64()).map(|(x, y)| x.cmp(&y))
            } else {
                lv::as_f64(a).partial_cmp(&lv::as_f64(b))
            }
        }
        (String, String) => Some(a.as_str().unwrap_or("").cmp(b.as_str().unwrap_or(""))),
        (Seq | Iterable, Seq | Iterable) => {
            let (x, y) = (seq(a), seq(b));
            for (p, q) in x.iter().zip(&y) {
                match spaceship(p, q)? {
                    Ordering::Equal => {}
                    o => return Some(o),
                }
            }
            Some(x.len().cmp(&y.len()))
        }
        // Object#<=>: 0 for equal objects, nil otherwise
        _ if is_nil(a) && is_nil(b) => Some(Ordering::Equal),
        (Bool, Bool) | (Map, Map) if lv::equal(a, b) => Some(Ordering::Equal),
        _ => None,
    }
}

pub use crate::liquid::value::to_integer;

/// Sort as Ruby's `Array#sort` does on glibc (a top-down merge sort that takes from the left
/// run on ties). `cmp` may fail; the sort stops at the first failure, as Ruby's does, so the
/// pair it names is the one Ruby names.
pub fn merge_sort<E>(
    items: Vec<Value>,
    cmp: &mut dyn FnMut(&Value, &Value) -> Result<Ordering, E>,
) -> Result<Vec<Value>, E> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mut items = items;
    let right = items.split_off(items.len() / 2);
    let left = merge_sort(items, cmp)?;
    let right = merge_sort(right, cmp)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        if cmp(a, b)? != Ordering::Greater {
            out.extend(l.next());
        } else {
            out.extend(r.next());
        }
    }
    out.extend(l);
    out.extend(r);
    Ok(out)
}

/// Ruby's `String#casecmp`: ASCII letters folded, then bytes compared.
pub fn casecmp(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sort_names_the_pair_ruby_names() {
        let v: Vec<Value> = vec![
            Value::from(3),
            Value::from(1),
            Value::from(2),
            Value::from("x"),
            Value::from(5),
            Value::from(4),
        ];
        let r = merge_sort(v, &mut |a, b| {
            spaceship(a, b).ok_or_else(|| cmp_error(a, b))
        });
        assert_eq!(r.unwrap_err(), "comparison of String with 4 failed");
    }
}
