//! Math filters: `plus`, `minus`, `times`, `divided_by`, `modulo`, `abs`, `ceil`, `floor`,
//! `round`, `at_least`, `at_most`, and Jekyll's `to_integer`.

use super::{Call, Filter, arg};
use crate::liquid::value as lv;
use minijinja::Value;
use minijinja::value::ValueKind;

pub(super) const FILTERS: &[Filter] = &[
    Filter::new("plus", 1, 1, plus),
    Filter::new("minus", 1, 1, minus),
    Filter::new("times", 1, 1, times),
    Filter::new("divided_by", 1, 1, divided_by),
    Filter::new("modulo", 1, 1, modulo),
    Filter::new("abs", 0, 0, abs),
    Filter::new("ceil", 0, 0, ceil),
    Filter::new("floor", 0, 0, floor),
    Filter::new("round", 0, 1, round),
    Filter::new("at_least", 1, 1, at_least),
    Filter::new("at_most", 1, 1, at_most),
    Filter::new("to_integer", 0, 0, to_integer),
];

type R = Result<Value, String>;

fn plus(_: &Call, input: &Value, args: &[Value]) -> R {
    num_op(input, &arg(args, 0), '+')
}

fn minus(_: &Call, input: &Value, args: &[Value]) -> R {
    num_op(input, &arg(args, 0), '-')
}

fn times(_: &Call, input: &Value, args: &[Value]) -> R {
    num_op(input, &arg(args, 0), '*')
}

fn divided_by(_: &Call, input: &Value, args: &[Value]) -> R {
    num_op(input, &arg(args, 0), '/')
}

fn modulo(_: &Call, input: &Value, args: &[Value]) -> R {
    num_op(input, &arg(args, 0), '%')
}

pub(super) fn num_op(a: &Value, b: &Value, op: char) -> R {
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
                Some(floor_div(p, q))
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

fn abs(_: &Call, input: &Value, _: &[Value]) -> R {
    let n = lv::to_number(input);
    Ok(if n.is_integer() {
        Value::from(n.as_i64().unwrap_or(0).abs())
    } else {
        Value::from(lv::as_f64(&n).unwrap_or(0.0).abs())
    })
}

fn ceil(_: &Call, input: &Value, _: &[Value]) -> R {
    let f = lv::as_f64(&lv::to_number(input)).unwrap_or(0.0);
    Ok(Value::from(f.ceil() as i64))
}

fn floor(_: &Call, input: &Value, _: &[Value]) -> R {
    let f = lv::as_f64(&lv::to_number(input)).unwrap_or(0.0);
    Ok(Value::from(f.floor() as i64))
}

fn round(_: &Call, input: &Value, args: &[Value]) -> R {
    let n = lv::to_number(input);
    let d = args
        .first()
        .map(|x| lv::to_number(x).as_i64().unwrap_or(0))
        .unwrap_or(0);
    Ok(if d == 0 {
        if n.is_integer() {
            n
        } else {
            Value::from(lv::as_f64(&n).unwrap_or(0.0).round() as i64)
        }
    } else {
        let m = 10f64.powi(d as i32);
        Value::from((lv::as_f64(&n).unwrap_or(0.0) * m).round() / m)
    })
}

fn at_least(_: &Call, input: &Value, args: &[Value]) -> R {
    let (x, y) = (lv::to_number(input), lv::to_number(&arg(args, 0)));
    let less = lv::compare(&x, "<", &y).unwrap_or(false);
    Ok(if less { y } else { x })
}

fn at_most(_: &Call, input: &Value, args: &[Value]) -> R {
    let (x, y) = (lv::to_number(input), lv::to_number(&arg(args, 0)));
    let less = lv::compare(&x, "<", &y).unwrap_or(false);
    Ok(if less { x } else { y })
}

fn to_integer(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(match input.kind() {
        ValueKind::Bool => Value::from(i64::from(input.is_true())),
        _ => {
            let n = lv::to_number(input);
            if n.is_integer() {
                n
            } else {
                Value::from(lv::as_f64(&n).unwrap_or(0.0) as i64)
            }
        }
    })
}
