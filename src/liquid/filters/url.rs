//! URL filters: Liquid's `url_encode`/`url_decode`, Jekyll's `cgi_escape`, `uri_escape`,
//! `relative_url`, `absolute_url`, `strip_index`.

use super::{Call, Filter, is_nil, nil, s, str_v};
use minijinja::Value;

pub(super) const FILTERS: &[Filter] = &[
    Filter::new("url_encode", 0, 0, url_encode),
    Filter::new("url_decode", 0, 0, url_decode),
    Filter::new("cgi_escape", 0, 0, cgi_escape),
    Filter::new("uri_escape", 0, 0, uri_escape),
    Filter::new("relative_url", 0, 0, relative_url_filter),
    Filter::new("absolute_url", 0, 0, absolute_url),
    Filter::new("strip_index", 0, 0, strip_index),
];

type R = Result<Value, String>;

fn url_encode(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(if is_nil(input) {
        nil()
    } else {
        str_v(encode(&s(input), true, ""))
    })
}

fn cgi_escape(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(encode(&s(input), true, "")))
}

fn uri_escape(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(encode(&s(input), false, "~!$&'()+,;=:@/?#[]%")))
}

/// `CGI.unescape`; bytes that are not UTF-8 stop the build, as in Liquid.
fn url_decode(_: &Call, input: &Value, _: &[Value]) -> R {
    if is_nil(input) {
        return Ok(nil());
    }
    String::from_utf8(decode(&s(input)))
        .map(str_v)
        .map_err(|_| "invalid byte sequence in UTF-8".to_string())
}

fn relative_url_filter(call: &Call, input: &Value, _: &[Value]) -> R {
    Ok(if is_nil(input) {
        nil()
    } else {
        str_v(relative_url(&s(input), call.site.baseurl))
    })
}

fn absolute_url(call: &Call, input: &Value, _: &[Value]) -> R {
    if is_nil(input) {
        return Ok(nil());
    }
    let t = s(input);
    Ok(if t.contains("://") {
        str_v(t)
    } else {
        str_v(format!(
            "{}{}",
            call.site.url.trim_end_matches('/'),
            relative_url(&t, call.site.baseurl)
        ))
    })
}

fn strip_index(_: &Call, input: &Value, _: &[Value]) -> R {
    let t = s(input);
    Ok(str_v(
        t.strip_suffix("/index.html")
            .or(t.strip_suffix("/index.htm"))
            .map(|x| format!("{x}/"))
            .unwrap_or(t),
    ))
}

/// Jekyll's `relative_url`: the site's baseurl before a path, normalized as Addressable does.
pub fn relative_url(input: &str, baseurl: &str) -> String {
    if input.contains("://") || input.starts_with("//") {
        return input.to_string();
    }
    let base = baseurl.trim_end_matches('/');
    let base = if base.is_empty() || base.starts_with('/') {
        base.to_string()
    } else {
        format!("/{base}")
    };
    let path = if input.starts_with('/') {
        input.to_string()
    } else {
        format!("/{input}")
    };
    uri_normalize(&format!("{base}{path}"))
}

fn uri_normalize(s: &str) -> String {
    // Addressable's normalize: percent-encode what may not appear in a path
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%?#[]".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn encode(s: &str, space_plus: bool, keep: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        let c = b as char;
        if c.is_ascii_alphanumeric() || "*-._".contains(c) || keep.contains(c) {
            o.push(c);
        } else if c == ' ' && space_plus {
            o.push('+');
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

fn decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(v)) => {
                out.push(v);
                i += 2;
            }
            (c, _) => out.push(c),
        }
        i += 1;
    }
    out
}
