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
        '*' => {
            let r = lv::decimal_op(p, q, op);
            // BigDecimal keeps the sign of a zero product (0 | times: -0.5 is -0.0)
            if r == 0.0 && (p.is_sign_negative() != q.is_sign_negative()) {
                -0.0
            } else {
                r
            }
        }
        '+' | '-' => lv::decimal_op(p, q, op),
        '/' => {
            if q == 0.0 {
                return Err("divided by 0".into());
            }
            decimal_div(p, q).unwrap_or(p / q)
        }
        _ => {
            if q == 0.0 {
                return Err("divided by 0".into());
            }
            decimal_modulo(p, q).unwrap_or_else(|| p - q * (p / q).floor())
        }
    };
    Ok(Value::from(r))
}

/// `p / q` on the shortest decimal texts, to 40 digits, then the nearest float (BigDecimal's
/// quotient as `to_f` gives it: 0.1 / 7 is 0.014285714285714285, not ...287).
fn decimal_div(p: f64, q: f64) -> Option<f64> {
    fn parts(x: f64) -> Option<(u128, i32)> {
        // x = m * 10^-scale
        let s = format!("{:?}", x.abs());
        if s.contains(['e', 'i', 'N']) {
            return None;
        }
        let (i, f) = s.split_once('.').unwrap_or((&s, ""));
        let f = f.trim_end_matches('0');
        Some((format!("{i}{f}").parse().ok()?, f.len() as i32))
    }
    let ((a, sa), (b, sb)) = (parts(p)?, parts(q)?);
    if b == 0 {
        return None;
    }
    if a == 0 {
        return Some(if p.is_sign_negative() != q.is_sign_negative() {
            -0.0
        } else {
            0.0
        });
    }
    // long division: digits of a / b, and where the point goes
    let (mut digits, mut rem, mut exp) = (String::new(), a, 0i32);
    let int = rem / b;
    rem %= b;
    if int > 0 {
        digits.push_str(&int.to_string());
        exp = digits.len() as i32;
    }
    while digits.len() < 40 && rem != 0 {
        rem = rem.checked_mul(10)?;
        let d = rem / b;
        rem %= b;
        if digits.is_empty() && d == 0 {
            exp -= 1;
            continue;
        }
        digits.push(char::from(b'0' + d as u8));
    }
    let sign = if p.is_sign_negative() != q.is_sign_negative() {
        "-"
    } else {
        ""
    };
    // value = 0.digits * 10^exp * 10^(sb - sa)
    format!("{sign}0.{digits}e{}", exp + sb - sa).parse().ok()
}

/// `p % q` on the shortest decimal texts (BigDecimal's modulo: `3.7 % 2` is 1.7), the sign of
/// `q`; None when they do not fit in 18 digits.
fn decimal_modulo(p: f64, q: f64) -> Option<f64> {
    fn parts(x: f64) -> Option<(i128, u32)> {
        let s = format!("{x:?}");
        if s.contains(['e', 'i', 'N']) {
            return None;
        }
        let (i, f) = s.split_once('.').unwrap_or((&s, ""));
        let f = f.trim_end_matches('0');
        Some((format!("{i}{f}").parse().ok()?, f.len() as u32))
    }
    let ((a, sa), (b, sb)) = (parts(p)?, parts(q)?);
    let scale = sa.max(sb);
    if scale > 18 {
        return None;
    }
    let a = a.checked_mul(10i128.pow(scale - sa))?;
    let b = b.checked_mul(10i128.pow(scale - sb))?;
    let r = a.rem_euclid(b);
    let r = if b < 0 && r != 0 { r + b } else { r };
    format!("{r}e-{scale}").parse().ok()
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

/// `round`: Liquid reads the input as a BigDecimal (a float by its shortest text) and rounds
/// half away from zero; a float gives a float for `n > 0` and an integer otherwise, an
/// integer stays an integer (`1250 | round: -2` is 1300).
fn round(_: &Call, input: &Value, args: &[Value]) -> R {
    let n = lv::to_number(input);
    let digits = match args.first().map(lv::to_number) {
        Some(d) if d.is_integer() => d.as_i64().unwrap_or(0),
        Some(d) => lv::as_f64(&d).unwrap_or(0.0).trunc() as i64,
        None => 0,
    };
    if n.is_integer() {
        let i = n.as_i64().unwrap_or(0);
        if digits >= 0 {
            return Ok(n);
        }
        let Some(m) = 10i64.checked_pow((-digits) as u32) else {
            return Ok(Value::from(0));
        };
        let (q, r) = (i.unsigned_abs() / m as u64, i.unsigned_abs() % m as u64);
        let q = if r * 2 >= m as u64 { q + 1 } else { q };
        let v = (q as i64).saturating_mul(m);
        return Ok(Value::from(if i < 0 { -v } else { v }));
    }
    let f = lv::as_f64(&n).unwrap_or(0.0);
    if !f.is_finite() {
        return Err(if f.is_nan() {
            "NaN".into()
        } else {
            "Infinity".into()
        });
    }
    let text = decimal_round(f, digits);
    Ok(if digits > 0 {
        Value::from(text.parse::<f64>().unwrap_or(f))
    } else {
        match text.parse::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => Value::from(text.parse::<f64>().unwrap_or(f)),
        }
    })
}

/// `f` (by its shortest decimal text) rounded half away from zero to `digits` decimals,
/// as decimal text (an integer's text when `digits <= 0`).
fn decimal_round(f: f64, digits: i64) -> String {
    let sci = format!("{:e}", f.abs()); // "1.2345e3"
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let ds: Vec<u8> = mant
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    // value = 0.d1d2d3... * 10^(exp + 1); keep the digits before 10^-digits
    let keep = exp + 1 + digits;
    let mut kept: Vec<u8> = if keep <= 0 {
        Vec::new()
    } else {
        (0..keep as usize)
            .map(|i| ds.get(i).copied().unwrap_or(0))
            .collect()
    };
    let next = if keep < 0 {
        0
    } else {
        ds.get(keep as usize).copied().unwrap_or(0)
    };
    if next >= 5 {
        // add one to the last kept digit, carrying
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, 1);
                break;
            }
            i -= 1;
            if kept[i] == 9 {
                kept[i] = 0;
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let mut int: String = kept.iter().map(|d| char::from(b'0' + d)).collect();
    if int.is_empty() || int.bytes().all(|b| b == b'0') {
        int = "0".into();
    }
    // a float stays signed (-0.0); an integer zero has no sign
    let sign = if f < 0.0 && (digits > 0 || int != "0") {
        "-"
    } else {
        ""
    };
    if digits <= 0 {
        return format!(
            "{sign}{int}{}",
            "0".repeat((-digits) as usize * usize::from(int != "0"))
        );
    }
    let d = digits as usize;
    let padded = format!("{int:0>w$}", w = d + 1);
    let (a, b) = padded.split_at(padded.len() - d);
    format!("{sign}{a}.{b}")
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

/// Jekyll's `to_integer`: true 1, false 0, otherwise Ruby's `to_i` (leading digits of a
/// text, a float truncated, nil 0); arrays and hashes have no `to_i`.
fn to_integer(_: &Call, input: &Value, _: &[Value]) -> R {
    if let Some(t) = crate::liquid::time::Time::of(input) {
        if t.class() == "Date" {
            return Err(super::ruby::no_method("to_i", input));
        }
        return Ok(Value::from(t.strftime("%s").parse::<i64>().unwrap_or(0)));
    }
    Ok(match input.kind() {
        ValueKind::Bool => Value::from(i64::from(input.is_true())),
        ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => {
            return Err(super::ruby::no_method("to_i", input));
        }
        ValueKind::String => {
            let t = input.as_str().unwrap_or("").trim_start();
            let n = lv::to_number(&Value::from(t.split('.').next().unwrap_or("")));
            Value::from(n.as_i64().unwrap_or(0))
        }
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

#[cfg(test)]
mod tests {
    use super::decimal_round;

    #[test]
    fn rounds_decimals_half_away_from_zero() {
        assert_eq!(decimal_round(2.675, 2), "2.68");
        assert_eq!(decimal_round(-2.675, 2), "-2.68");
        assert_eq!(decimal_round(1.005, 2), "1.01");
        assert_eq!(decimal_round(1234.5678, -2), "1200");
        assert_eq!(decimal_round(1234.5, -1), "1230");
        assert_eq!(decimal_round(0.5, -1), "0");
        assert_eq!(decimal_round(4.6, 0), "5");
        assert_eq!(decimal_round(9.99, 1), "10.0");
        assert_eq!(decimal_round(0.04, 1), "0.0");
        assert_eq!(decimal_round(-0.04, 1), "-0.0");
        assert_eq!(decimal_round(-0.4, 0), "0");
        assert_eq!(decimal_round(2.5, 0), "3");
        assert_eq!(decimal_round(-2.5, 0), "-3");
    }
}
