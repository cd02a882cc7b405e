//! Array filters: Liquid's `join`, `first`, `last`, `reverse`, `compact`, `uniq`, `concat`,
//! `map`, `sort_natural`, `size`; Jekyll's `sort`, `where`, `find`, `group_by`, `push`, `pop`,
//! `shift`, `unshift`, `array_to_sentence_string` (Jekyll's replace Liquid's of the same name).

use super::{Call, Filter, arg, flatten, input_list, is_nil, math, nil, property, s, seq, str_v};
use crate::liquid::value as lv;
use minijinja::Value;
use minijinja::value::ValueKind;

pub(super) const FILTERS: &[Filter] = &[
    Filter::new("join", 0, 1, join),
    Filter::new("size", 0, 0, size),
    Filter::new("first", 0, 0, first),
    Filter::new("last", 0, 0, last),
    Filter::new("reverse", 0, 0, reverse),
    Filter::new("compact", 0, 1, compact),
    Filter::new("uniq", 0, 1, uniq),
    Filter::new("concat", 1, 1, concat),
    Filter::new("map", 1, 1, map),
    Filter::new("sum", 0, 1, sum),
    Filter::new("sort", 0, 2, sort),
    Filter::new("sort_natural", 0, 2, sort),
    Filter::new("where", 1, 2, where_),
    Filter::new("find", 2, 2, find),
    Filter::new("group_by", 1, 1, group_by),
    Filter::new("push", 1, 1, push),
    Filter::new("unshift", 1, 1, push),
    Filter::new("pop", 0, 1, pop),
    Filter::new("shift", 0, 1, pop),
    Filter::new("array_to_sentence_string", 0, 1, array_to_sentence_string),
];

type R = Result<Value, String>;

fn join(_: &Call, input: &Value, args: &[Value]) -> R {
    let glue = if args.is_empty() {
        " ".to_string()
    } else {
        s(&arg(args, 0))
    };
    Ok(if !lv::is_seq(input) {
        input.clone()
    } else {
        str_v(flatten(input).iter().map(s).collect::<Vec<_>>().join(&glue))
    })
}

fn size(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(Value::from(lv::size(input).unwrap_or(0)))
}

fn first(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(if lv::is_seq(input) {
        seq(input).first().cloned().unwrap_or(nil())
    } else {
        nil()
    })
}

fn last(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(if lv::is_seq(input) {
        seq(input).last().cloned().unwrap_or(nil())
    } else {
        nil()
    })
}

fn reverse(_: &Call, input: &Value, _: &[Value]) -> R {
    let mut v = input_list(input);
    v.reverse();
    Ok(Value::from(v))
}

fn compact(_: &Call, input: &Value, args: &[Value]) -> R {
    let items = input_list(input);
    let p = args.first().map(s);
    Ok(Value::from(
        items
            .into_iter()
            .filter(|x| match &p {
                Some(p) => !is_nil(&property(x, p)),
                None => !is_nil(x),
            })
            .collect::<Vec<_>>(),
    ))
}

fn uniq(_: &Call, input: &Value, args: &[Value]) -> R {
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
    Ok(Value::from(out))
}

fn concat(_: &Call, input: &Value, args: &[Value]) -> R {
    let other = arg(args, 0);
    if !lv::is_seq(&other) {
        return Err("concat filter requires an array argument".into());
    }
    let mut v = input_list(input);
    v.extend(seq(&other));
    Ok(Value::from(v))
}

fn map(_: &Call, input: &Value, args: &[Value]) -> R {
    let p = s(&arg(args, 0));
    Ok(Value::from(
        input_list(input)
            .iter()
            .map(|x| property(x, &p))
            .collect::<Vec<_>>(),
    ))
}

fn sum(_: &Call, input: &Value, args: &[Value]) -> R {
    let mut acc = Value::from(0);
    for x in input_list(input) {
        let v = match args.first() {
            Some(p) => property(&x, &s(p)),
            None => x,
        };
        acc = math::num_op(&acc, &v, '+')?;
    }
    Ok(acc)
}

fn sort(call: &Call, input: &Value, args: &[Value]) -> R {
    if is_nil(input) {
        return Err("Cannot sort a null object.".into());
    }
    let mut items = input_list(input);
    let natural = call.name == "sort_natural";
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
    Ok(Value::from(items))
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

fn where_(_: &Call, input: &Value, args: &[Value]) -> R {
    let p = s(&arg(args, 0));
    let target = arg(args, 1);
    let items = if lv::is_map(input) {
        lv::map_pairs(input).into_iter().map(|(_, v)| v).collect()
    } else {
        input_list(input)
    };
    Ok(if args.len() == 1 {
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
    })
}

fn find(_: &Call, input: &Value, args: &[Value]) -> R {
    let p = s(&arg(args, 0));
    let t = s(&arg(args, 1));
    Ok(input_list(input)
        .into_iter()
        .find(|x| s(&property(x, &p)) == t)
        .unwrap_or(nil()))
}

fn group_by(_: &Call, input: &Value, args: &[Value]) -> R {
    let p = s(&arg(args, 0));
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for x in input_list(input) {
        let k = s(&property(&x, &p));
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(x),
            None => groups.push((k, vec![x])),
        }
    }
    Ok(Value::from(
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
    ))
}

fn push(call: &Call, input: &Value, args: &[Value]) -> R {
    let mut v = input_list(input);
    if call.name == "push" {
        v.push(arg(args, 0))
    } else {
        v.insert(0, arg(args, 0))
    }
    Ok(Value::from(v))
}

fn pop(call: &Call, input: &Value, args: &[Value]) -> R {
    let mut v = input_list(input);
    let n = args
        .first()
        .map(|x| lv::to_number(x).as_i64().unwrap_or(1))
        .unwrap_or(1)
        .max(0) as usize;
    let n = n.min(v.len());
    if call.name == "pop" {
        v.truncate(v.len() - n)
    } else {
        v.drain(..n);
    }
    Ok(Value::from(v))
}

fn array_to_sentence_string(_: &Call, input: &Value, args: &[Value]) -> R {
    let conn = args.first().map(s).unwrap_or_else(|| "and".into());
    let items: Vec<String> = input_list(input).iter().map(s).collect();
    Ok(str_v(match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        2 => format!("{} {conn} {}", items[0], items[1]),
        n => format!("{}, {conn} {}", items[..n - 1].join(", "), items[n - 1]),
    }))
}
