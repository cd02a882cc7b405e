//! Liquid 5.4's standard filters and Jekyll 4.3's, with Ruby's behaviour.
//!
//! Every filter is a plain function in the module of its family (`string`, `html`, `url`,
//! `array`, `math`, `values`, `date`), listed in that module's `FILTERS` table with the
//! number of arguments it takes. [`apply`] finds a filter by name in one map built from the
//! families' tables, checks the argument count as Ruby does, and calls it. `ruby` holds what
//! they share of Ruby's object model (`obj[key]`, `<=>`, `Integer()`, error messages, the
//! merge sort of `Array#sort`).
//!
//! `apply` returns `Ok(None)` for a filter that does not exist (Jekyll then keeps the value
//! unchanged and we warn), and `Err` for what makes Liquid raise (`divided by 0`, wrong
//! number of arguments), which fails a Jekyll build.

mod array;
mod date;
mod html;
mod math;
mod ruby;
mod string;
mod url;
mod values;

pub use html::markdown_html;
pub use url::relative_url;

use super::value::{self as lv, is_nil, seq, to_s};
use minijinja::Value;
use minijinja::value::ValueKind;
use std::collections::HashMap;
use std::sync::LazyLock;

/// What the site gives filters.
pub struct FilterCtx<'a> {
    pub baseurl: &'a str,
    pub url: &'a str,
}

/// One filter call: the name it was called by, its keyword arguments, the site.
pub struct Call<'a> {
    pub name: &'a str,
    pub kwargs: &'a [(String, Value)],
    pub site: &'a FilterCtx<'a>,
}

/// A filter: `(call, input, positional arguments) -> output`; `Err` stops the render.
pub type FilterFn = fn(&Call, &Value, &[Value]) -> Result<Value, String>;

/// A filter's entry in its family's table.
pub struct Filter {
    pub name: &'static str,
    /// Arguments accepted (min, max), the input not counted, keyword arguments counting as
    /// one (Liquid passes them as a hash).
    pub args: (usize, usize),
    pub run: FilterFn,
}

impl Filter {
    const fn new(name: &'static str, min: usize, max: usize, run: FilterFn) -> Filter {
        Filter {
            name,
            args: (min, max),
            run,
        }
    }
}

/// Every family's table.
const FAMILIES: &[&[Filter]] = &[
    string::FILTERS,
    html::FILTERS,
    url::FILTERS,
    array::FILTERS,
    math::FILTERS,
    values::FILTERS,
    date::FILTERS,
];

/// Name -> filter, from the families' tables.
static TABLE: LazyLock<HashMap<&'static str, &'static Filter>> = LazyLock::new(|| {
    FAMILIES
        .iter()
        .flat_map(|family| family.iter())
        .map(|f| (f.name, f))
        .collect()
});

/// The filter of that name, if Jekyll has one.
pub fn lookup(name: &str) -> Option<&'static Filter> {
    TABLE.get(name).copied()
}

/// A known filter close to an unknown name.
pub fn suggest(name: &str) -> Option<&'static str> {
    let mut names: Vec<&'static str> = TABLE.keys().copied().collect();
    names.sort_unstable();
    names.into_iter().find(|n| {
        let (a, b) = (n.as_bytes(), name.as_bytes());
        a.len().abs_diff(b.len()) <= 1
            && a.iter().zip(b).filter(|(x, y)| x != y).count() + a.len().abs_diff(b.len()) <= 2
            && *n != name
    })
}

/// Ruby's check of a method's argument count: the input, the positional arguments and, when
/// there are keyword arguments, the hash Liquid passes them in.
fn arity(given: usize, min: usize, max: usize) -> Result<(), String> {
    if given < min + 1 || given > max + 1 {
        let expected = if min == max {
            format!("{}", min + 1)
        } else {
            format!("{}..{}", min + 1, max + 1)
        };
        return Err(format!(
            "wrong number of arguments (given {given}, expected {expected})"
        ));
    }
    Ok(())
}

/// Run filter `name` on `input`. `Ok(None)`: no such filter.
pub fn apply(
    name: &str,
    input: &Value,
    args: &[Value],
    kwargs: &[(String, Value)],
    ctx: &FilterCtx,
) -> Result<Option<Value>, String> {
    let Some(filter) = lookup(name) else {
        return Ok(None);
    };
    let (min, max) = filter.args;
    arity(1 + args.len() + usize::from(!kwargs.is_empty()), min, max)?;
    let call = Call {
        name,
        kwargs,
        site: ctx,
    };
    (filter.run)(&call, input, args).map(Some)
}

// Helpers the families share.

fn s(v: &Value) -> String {
    to_s(v)
}

/// Ruby's `to_s`, which the string filters apply to their input and arguments: an array
/// is its `inspect` (`[1, "a", nil]`), not the text Liquid prints for it.
fn rs(v: &Value) -> String {
    if lv::is_seq(v) {
        lv::inspect(v)
    } else {
        to_s(v)
    }
}

fn arg(args: &[Value], i: usize) -> Value {
    args.get(i).cloned().unwrap_or(Value::from(()))
}

fn str_v(x: impl Into<String>) -> Value {
    Value::from(x.into())
}

fn nil() -> Value {
    Value::from(())
}

/// Liquid's InputIterator: arrays flattened, nil empty, a Time its `to_a` (`[sec, min, hour,
/// day, month, year, wday, yday, isdst, zone]`), anything else (a hash too) one item.
fn input_list(v: &Value) -> Vec<Value> {
    if let Some(t) = super::time::Time::of(v)
        && let Some(parts) = t.to_a()
    {
        return parts;
    }
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
    fn every_name_is_in_one_family_only() {
        let total: usize = FAMILIES.iter().map(|f| f.len()).sum();
        assert_eq!(total, TABLE.len());
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
