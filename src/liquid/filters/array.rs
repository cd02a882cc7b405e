//! Array filters: Liquid's `join`, `first`, `last`, `reverse`, `compact`, `uniq`, `concat`,
//! `map`, `sort_natural`, `size`; Jekyll's `sort`, `where`, `find`, `group_by`, `push`, `pop`,
//! `shift`, `unshift`, `array_to_sentence_string` (Jekyll's replace Liquid's of the same name).
//!
//! Items are read as Ruby reads them: `item[property]` is a Hash's value, a String's
//! substring, and a `TypeError` (which stops the build) for an Array or an Integer. Liquid's
//! filters turn that error into `cannot select the property`; Jekyll's let it through.

use super::ruby::{self, NO_STRING_TO_INTEGER};
use super::{Call, Filter, arg, flatten, input_list, is_nil, nil, rs, s, seq, str_v};
use crate::liquid::value as lv;
use minijinja::Value;
use minijinja::value::ValueKind;
use std::cmp::Ordering;

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
    Filter::new("sort", 0, 2, sort),
    Filter::new("sort_natural", 0, 1, sort_natural),
    Filter::new("where", 2, 2, where_),
    Filter::new("find", 2, 2, find),
    Filter::new("group_by", 1, 1, group_by),
    Filter::new("push", 1, 1, push),
    Filter::new("unshift", 1, 1, unshift),
    Filter::new("pop", 0, 1, pop),
    Filter::new("shift", 0, 1, shift),
    Filter::new("array_to_sentence_string", 0, 1, array_to_sentence_string),
];

type R = Result<Value, String>;

fn property_error(property: &Value) -> String {
    format!("cannot select the property '{}'", s(property))
}

/// Liquid's `item[property]` inside a filter: Ruby's `TypeError` becomes Liquid's
/// `cannot select the property`; None when the item has no `[]` (nil, true, a float).
fn liquid_index(item: &Value, property: &Value) -> Result<Option<Value>, String> {
    ruby::index(item, &s(property)).map_err(|_| property_error(property))
}

fn join(_: &Call, input: &Value, args: &[Value]) -> R {
    let glue = args.first().map(rs).unwrap_or_else(|| " ".into());
    Ok(str_v(
        input_list(input)
            .iter()
            .map(s)
            .collect::<Vec<_>>()
            .join(&glue),
    ))
}

/// `size`: a String's characters, an Array's or Hash's items, 8 for an Integer (its bytes),
/// 0 for anything else.
fn size(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(Value::from(match lv::size(input) {
        Some(n) => n,
        None if input.is_integer() => 8,
        None => 0,
    }))
}

/// `first`: an Array's first item, a Hash's first pair; nil for anything else.
fn first(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(if lv::is_seq(input) {
        seq(input).first().cloned().unwrap_or(nil())
    } else if lv::is_map(input) {
        lv::map_pairs(input)
            .into_iter()
            .next()
            .map(|(k, v)| Value::from(vec![k, v]))
            .unwrap_or(nil())
    } else {
        nil()
    })
}

/// `last`: an Array's last item; nil for anything else (a Hash has no `last`).
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
    let list = input_list(input);
    let Some(p) = args.first().filter(|p| !is_nil(p)) else {
        return Ok(Value::from(
            list.into_iter().filter(|x| !is_nil(x)).collect::<Vec<_>>(),
        ));
    };
    let mut out = Vec::new();
    for x in list {
        match liquid_index(&x, p)? {
            Some(v) if is_nil(&v) => {}
            Some(_) => out.push(x),
            // NoMethodError on an item without `[]`: the filter gives nil
            None => return Ok(nil()),
        }
    }
    Ok(Value::from(out))
}

/// Ruby's `eql?` (what `uniq` compares): 1 and 1.0 differ.
fn eql(a: &Value, b: &Value) -> bool {
    a.kind() == b.kind() && a.is_integer() == b.is_integer() && lv::equal(a, b)
}

fn uniq(_: &Call, input: &Value, args: &[Value]) -> R {
    let list = input_list(input);
    let mut out: Vec<Value> = Vec::new();
    let mut keys: Vec<Value> = Vec::new();
    let prop = args.first().filter(|p| !is_nil(p));
    if prop.is_some() && list.len() < 2 {
        // Ruby's uniq of one item calls no block
        return Ok(Value::from(list));
    }
    for x in list {
        let k = match prop {
            Some(p) => match liquid_index(&x, p)? {
                Some(v) => v,
                None => return Ok(nil()),
            },
            None => x.clone(),
        };
        if !keys.iter().any(|y| eql(y, &k)) {
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

/// `map`: each item's property (`to_liquid`: the item itself); nil for items without `[]`.
fn map(_: &Call, input: &Value, args: &[Value]) -> R {
    let p = arg(args, 0);
    let mut out = Vec::new();
    for x in input_list(input) {
        if s(&p) == "to_liquid" {
            out.push(x);
            continue;
        }
        out.push(liquid_index(&x, &p)?.unwrap_or(nil()));
    }
    Ok(Value::from(out))
}

/// Jekyll's `sort`: Ruby's `Array#sort` (incomparable items stop the build), or by a
/// property with nils `first` (default) or `last`, numbers-as-strings compared as numbers and
/// other mixed values by their text.
fn sort(_: &Call, input: &Value, args: &[Value]) -> R {
    if is_nil(input) {
        return Err("Cannot sort a null object.".into());
    }
    let property = args.first().filter(|p| !is_nil(p));
    let Some(property) = property else {
        let list = if lv::is_seq(input) {
            seq(input)
        } else if lv::is_map(input) {
            lv::map_pairs(input)
                .into_iter()
                .map(|(k, v)| Value::from(vec![k, v]))
                .collect()
        } else {
            return Err(ruby::no_method("sort", input));
        };
        let sorted = ruby::merge_sort(list, &mut |a, b| {
            ruby::spaceship(a, b).ok_or_else(|| ruby::cmp_error(a, b))
        })?;
        return Ok(Value::from(sorted));
    };
    let order = match args.get(1).map(s).as_deref() {
        None | Some("first") => -1,
        Some("last") => 1,
        Some(other) => {
            return Err(format!(
                "Invalid nils order: '{other}' is not a valid nils order. It must be 'first' or 'last'."
            ));
        }
    };
    let list = if lv::is_seq(input) {
        seq(input)
    } else if lv::is_map(input) {
        // Hash#map yields [key, value] pairs, which have no string properties
        return Err(NO_STRING_TO_INTEGER.into());
    } else {
        return Err(ruby::no_method("map", input));
    };
    let prop = s(property);
    let mut keyed = Vec::with_capacity(list.len());
    for x in list {
        let k = item_property(&x, &prop)?;
        keyed.push(Value::from(vec![k, x]));
    }
    let sorted = ruby::merge_sort::<String>(keyed, &mut |a, b| {
        let (ka, kb) = (
            a.get_item_by_index(0).unwrap_or_default(),
            b.get_item_by_index(0).unwrap_or_default(),
        );
        Ok(match (is_nil(&ka), is_nil(&kb)) {
            (false, true) => ord(-order),
            (true, false) => ord(order),
            _ => ruby::spaceship(&ka, &kb).unwrap_or_else(|| rs(&ka).cmp(&rs(&kb))),
        })
    })?;
    Ok(Value::from(
        sorted
            .into_iter()
            .map(|p| p.get_item_by_index(1).unwrap_or_default())
            .collect::<Vec<_>>(),
    ))
}

fn ord(n: i32) -> Ordering {
    n.cmp(&0)
}

/// Liquid's `sort_natural`: case-insensitive by text, nils last.
fn sort_natural(_: &Call, input: &Value, args: &[Value]) -> R {
    let list = input_list(input);
    if list.is_empty() {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    let cmp = |a: &Value, b: &Value| -> Ordering {
        if !is_nil(a) && !is_nil(b) {
            ruby::casecmp(&rs(a), &rs(b))
        } else if is_nil(a) {
            Ordering::Greater
        } else {
            Ordering::Less
        }
    };
    let Some(p) = args.first().filter(|p| !is_nil(p)) else {
        return Ok(Value::from(ruby::merge_sort::<String>(
            list,
            &mut |a, b| Ok(cmp(a, b)),
        )?));
    };
    if !list.iter().all(ruby::indexable) {
        return Ok(nil());
    }
    if list.len() < 2 {
        // Ruby sorts one item without calling the block
        return Ok(Value::from(list));
    }
    let mut keyed = Vec::with_capacity(list.len());
    for x in list {
        let k = liquid_index(&x, p)?.unwrap_or(nil());
        keyed.push(Value::from(vec![k, x]));
    }
    let sorted = ruby::merge_sort::<String>(keyed, &mut |a, b| {
        Ok(cmp(
            &a.get_item_by_index(0).unwrap_or_default(),
            &b.get_item_by_index(0).unwrap_or_default(),
        ))
    })?;
    Ok(Value::from(
        sorted
            .into_iter()
            .map(|p| p.get_item_by_index(1).unwrap_or_default())
            .collect::<Vec<_>>(),
    ))
}

/// Jekyll's `item_property`: `a.b.c` walks into hashes (a step from a value without `[]`
/// gives false), and a value that reads as a number becomes that number.
fn item_property(item: &Value, property: &str) -> Result<Value, String> {
    let v = if property.contains('.') {
        let mut data = item.clone();
        for key in property.split('.') {
            data = match ruby::index(&data, key)? {
                Some(v) => v,
                None => Value::from(false),
            };
        }
        data
    } else {
        match ruby::index(item, property)? {
            Some(v) => v,
            None => return Err(ruby::no_method("[]", item)),
        }
    };
    Ok(parse_sort_input(v))
}

/// Jekyll's `parse_sort_input`: `" 12 "` is 12, `"2.50"` is 2.5.
fn parse_sort_input(v: Value) -> Value {
    let text = rs(&v);
    let t = text.strip_suffix('\n').unwrap_or(&text);
    let t = t.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let body = t.strip_prefix('-').unwrap_or(t);
    let all_digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
    if all_digits(body) {
        return Value::from(t.parse::<i64>().unwrap_or(0));
    }
    let float_like = match body.split_once('.') {
        Some((i, f)) => {
            (all_digits(i) && (f.is_empty() || all_digits(f))) || (i.is_empty() && all_digits(f))
        }
        None => false,
    };
    if float_like {
        return Value::from(t.parse::<f64>().unwrap_or(0.0));
    }
    v
}

/// Jekyll's `compare_property_vs_target`.
fn matches_target(property: &Value, target: &Value) -> bool {
    if is_nil(target) {
        return is_nil(property);
    }
    if lv::special(target).is_some() {
        // `empty` / `blank`: their text is empty
        let joined = if lv::is_seq(property) {
            flatten(property).iter().map(s).collect::<String>()
        } else {
            s(property)
        };
        return (property.kind() == ValueKind::String && s(property).is_empty())
            || joined.is_empty();
    }
    let t = rs(target);
    if property.kind() == ValueKind::String {
        return s(property) == t;
    }
    let list = if lv::is_seq(property) {
        seq(property)
    } else if is_nil(property) {
        vec![]
    } else if lv::is_map(property) {
        lv::map_pairs(property)
            .into_iter()
            .map(|(k, v)| Value::from(vec![k, v]))
            .collect()
    } else {
        vec![property.clone()]
    };
    list.iter().any(|p| rs(p) == t)
}

/// Jekyll's `where` and `find` take hashes by their values, other values without `select`
/// back unchanged, and targets that are arrays or hashes as "no filter".
fn searchable(input: &Value, property: &Value, target: &Value) -> Option<Vec<Value>> {
    if !lv::truthy(property) || lv::is_seq(target) || lv::is_map(target) {
        return None;
    }
    if lv::is_map(input) {
        return Some(lv::map_pairs(input).into_iter().map(|(_, v)| v).collect());
    }
    if lv::is_seq(input) {
        return Some(seq(input));
    }
    None
}

fn where_(_: &Call, input: &Value, args: &[Value]) -> R {
    let (property, target) = (arg(args, 0), arg(args, 1));
    let Some(list) = searchable(input, &property, &target) else {
        return Ok(input.clone());
    };
    let prop = s(&property);
    let mut out = Vec::new();
    for x in list {
        if matches_target(&item_property(&x, &prop)?, &target) {
            out.push(x);
        }
    }
    Ok(Value::from(out))
}

fn find(_: &Call, input: &Value, args: &[Value]) -> R {
    let (property, target) = (arg(args, 0), arg(args, 1));
    let Some(list) = searchable(input, &property, &target) else {
        return Ok(input.clone());
    };
    let prop = s(&property);
    for x in list {
        if matches_target(&item_property(&x, &prop)?, &target) {
            return Ok(x);
        }
    }
    Ok(nil())
}

fn group_by(_: &Call, input: &Value, args: &[Value]) -> R {
    let list = if lv::is_seq(input) {
        seq(input)
    } else if lv::is_map(input) {
        return Err(NO_STRING_TO_INTEGER.into());
    } else {
        return Ok(input.clone());
    };
    let p = s(&arg(args, 0));
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for x in list {
        let k = rs(&item_property(&x, &p)?);
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

/// Jekyll's `push`/`unshift`/`pop`/`shift` return anything that is not an array unchanged.
fn push(_: &Call, input: &Value, args: &[Value]) -> R {
    if !lv::is_seq(input) {
        return Ok(input.clone());
    }
    let mut v = seq(input);
    v.push(arg(args, 0));
    Ok(Value::from(v))
}

fn unshift(_: &Call, input: &Value, args: &[Value]) -> R {
    if !lv::is_seq(input) {
        return Ok(input.clone());
    }
    let mut v = seq(input);
    v.insert(0, arg(args, 0));
    Ok(Value::from(v))
}

fn count(args: &[Value]) -> Result<usize, String> {
    let n = match args.first() {
        Some(x) => ruby::to_integer(x)?,
        None => 1,
    };
    usize::try_from(n).map_err(|_| "negative array size".to_string())
}

fn pop(_: &Call, input: &Value, args: &[Value]) -> R {
    if !lv::is_seq(input) {
        return Ok(input.clone());
    }
    let n = count(args)?;
    let mut v = seq(input);
    v.truncate(v.len().saturating_sub(n));
    Ok(Value::from(v))
}

fn shift(_: &Call, input: &Value, args: &[Value]) -> R {
    if !lv::is_seq(input) {
        return Ok(input.clone());
    }
    let n = count(args)?;
    let mut v = seq(input);
    v.drain(..n.min(v.len()));
    Ok(Value::from(v))
}

/// `a, b, and c`. Jekyll indexes its input: an array's items; a string's characters (and a
/// string of three or more stops the build, as `"abc"[0...-1].join` does); a hash's
/// `[0]` and `[1]` (nil).
fn array_to_sentence_string(_: &Call, input: &Value, args: &[Value]) -> R {
    let conn = args.first().map(rs).unwrap_or_else(|| "and".into());
    let items: Vec<String> = if lv::is_seq(input) {
        seq(input).iter().map(rs).collect()
    } else if let Some(text) = input.as_str() {
        let chars: Vec<String> = text.chars().map(String::from).collect();
        if chars.len() > 2 {
            let head: String = chars[..chars.len() - 1].concat();
            return Err(ruby::no_method("join", &Value::from(head)));
        }
        chars
    } else if lv::is_map(input) {
        let n = lv::size(input).unwrap_or(0);
        if n > 2 {
            return Err(ruby::no_method("join", &nil()));
        }
        vec![String::new(); n]
    } else {
        return Err(ruby::no_method("length", input));
    };
    Ok(str_v(match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        2 => format!("{} {conn} {}", items[0], items[1]),
        n => format!("{}, {conn} {}", items[..n - 1].join(", "), items[n - 1]),
    }))
}
