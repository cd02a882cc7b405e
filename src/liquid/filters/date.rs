//! Date filters: Liquid's `date` (Ruby's `strftime`), Jekyll's `date_to_string`,
//! `date_to_long_string`, `date_to_xmlschema`, `date_to_rfc822`.
//!
//! Inputs are read as Liquid's `Utils.to_date` reads them: a Time or Date as it is, `"now"`
//! and `"today"` as the build's time, digits and integers as seconds since the epoch, other
//! text through Ruby's `Time.parse`. Liquid's `date` gives back what it cannot read; Jekyll's
//! filters stop the build (`Invalid Date`).

use super::{Call, Filter, arg, s, str_v};
use crate::liquid::time::{self, Time};
use crate::liquid::value as lv;
use minijinja::Value;
use minijinja::value::ValueKind;

pub(super) const FILTERS: &[Filter] = &[
    Filter::new("date", 1, 1, date),
    Filter::new("date_to_string", 0, 2, date_to_string),
    Filter::new("date_to_long_string", 0, 2, date_to_long_string),
    Filter::new("date_to_xmlschema", 0, 0, date_to_xmlschema),
    Filter::new("date_to_rfc822", 0, 0, date_to_rfc822),
];

type R = Result<Value, String>;

/// Liquid's `Utils.to_date`.
pub fn to_date(v: &Value) -> Option<Time> {
    if let Some(t) = Time::of(v) {
        return Some(t);
    }
    match v.kind() {
        ValueKind::String => {
            let text = v.as_str().unwrap_or("").to_lowercase();
            if text.is_empty() {
                return None;
            }
            if text == "now" || text == "today" {
                return Some(Time::now());
            }
            if text.bytes().all(|c| c.is_ascii_digit()) {
                return Time::at(text.parse().ok()?);
            }
            time::parse(&text)
        }
        ValueKind::Number if v.is_integer() => Time::at(v.as_i64()?),
        _ => None,
    }
}

fn date(_: &Call, input: &Value, args: &[Value]) -> R {
    let format = s(&arg(args, 0));
    if format.is_empty() {
        return Ok(input.clone());
    }
    Ok(match to_date(input) {
        Some(t) => str_v(t.try_strftime(&format)?),
        None => input.clone(),
    })
}

/// Jekyll's `time`: the input as local time, or `Invalid Date`.
fn local_time(input: &Value) -> Result<Time, String> {
    match to_date(input) {
        Some(t) => Ok(t.to_local()),
        None => Err(format!(
            "Invalid Date: '{}' is not a valid datetime.",
            lv::inspect(input)
        )),
    }
}

fn date_to_string(_: &Call, input: &Value, args: &[Value]) -> R {
    stringify(input, "%b", args)
}

fn date_to_long_string(_: &Call, input: &Value, args: &[Value]) -> R {
    stringify(input, "%B", args)
}

/// `14 Mar 2016`; with `"ordinal"`: `14th Mar 2016`, and with `"US"` as well: `Mar 14th, 2016`.
fn stringify(input: &Value, month: &str, args: &[Value]) -> R {
    if s(input).is_empty() {
        return Ok(input.clone());
    }
    let t = local_time(input)?;
    let ordinal = args.first().is_some_and(|a| a.as_str() == Some("ordinal"));
    let us = args.get(1).is_some_and(|a| a.as_str() == Some("US"));
    if ordinal {
        let day: i64 = t.strftime("%-d").parse().unwrap_or(0);
        let suffix = match (day % 100, day % 10) {
            (11..=13, _) => "th",
            (_, 1) => "st",
            (_, 2) => "nd",
            (_, 3) => "rd",
            _ => "th",
        };
        let fmt = if us {
            format!("{month} {day}{suffix}, %Y")
        } else {
            format!("{day}{suffix} {month} %Y")
        };
        return Ok(str_v(t.strftime(&fmt)));
    }
    Ok(str_v(t.strftime(&format!("%d {month} %Y"))))
}

fn date_to_xmlschema(_: &Call, input: &Value, _: &[Value]) -> R {
    if s(input).is_empty() {
        return Ok(input.clone());
    }
    Ok(str_v(local_time(input)?.xmlschema()))
}

fn date_to_rfc822(_: &Call, input: &Value, _: &[Value]) -> R {
    if s(input).is_empty() {
        return Ok(input.clone());
    }
    Ok(str_v(local_time(input)?.rfc822()))
}
