//! URL filters: Liquid's `url_encode`/`url_decode`, Jekyll's `cgi_escape`, `uri_escape`,
//! `relative_url`, `absolute_url`, `strip_index`.

use super::{Call, Filter, is_nil, nil, rs, ruby, str_v};
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
        str_v(encode(&rs(input), true, ""))
    })
}

/// Jekyll's `cgi_escape` hands its input to `CGI.escape`, which takes only a String.
fn cgi_escape(_: &Call, input: &Value, _: &[Value]) -> R {
    let Some(text) = input.as_str() else {
        return Err(ruby::no_conversion(input));
    };
    Ok(str_v(encode(text, true, "")))
}

/// Jekyll's `uri_escape` (Addressable's `normalize_component`): nil stays nil, other
/// non-strings stop the build.
fn uri_escape(_: &Call, input: &Value, _: &[Value]) -> R {
    if is_nil(input) {
        return Ok(nil());
    }
    let Some(text) = input.as_str() else {
        return Err(format!("Can't convert {} into String.", ruby::class(input)));
    };
    Ok(str_v(encode(text, false, "~!$&'()+,;=:@/?#[]%")))
}

/// `CGI.unescape`; bytes that are not UTF-8 stop the build, as in Liquid.
fn url_decode(_: &Call, input: &Value, _: &[Value]) -> R {
    if is_nil(input) {
        return Ok(nil());
    }
    String::from_utf8(decode(&rs(input)))
        .map(str_v)
        .map_err(|_| "invalid byte sequence in UTF-8".to_string())
}

fn relative_url_filter(call: &Call, input: &Value, _: &[Value]) -> R {
    if is_nil(input) {
        return Ok(nil());
    }
    Ok(str_v(try_relative_url(&rs(input), call.site.baseurl)?))
}

/// Jekyll's `absolute_url`: an absolute URL as it is, else the site's `url` before the
/// relative URL.
fn absolute_url(call: &Call, input: &Value, _: &[Value]) -> R {
    if is_nil(input) {
        return Ok(nil());
    }
    let t = rs(input);
    if scheme(&t)?.is_some() {
        return Ok(str_v(t));
    }
    Ok(str_v(format!(
        "{}{}",
        call.site.url.trim_end_matches('/'),
        try_relative_url(&t, call.site.baseurl)?
    )))
}

fn strip_index(_: &Call, input: &Value, _: &[Value]) -> R {
    let t = rs(input);
    Ok(str_v(
        t.strip_suffix("/index.html")
            .or(t.strip_suffix("/index.htm"))
            .map(|x| format!("{x}/"))
            .unwrap_or(t),
    ))
}

/// Jekyll's `relative_url`: the site's baseurl before a path, normalized as Addressable does.
pub fn relative_url(input: &str, baseurl: &str) -> String {
    try_relative_url(input, baseurl).unwrap_or_else(|_| input.to_string())
}

/// Addressable's scheme of a URL: `Some` for an absolute URL (`https:`, `mailto:`), `Err`
/// where Addressable raises (`10:30` has the scheme `10`).
fn scheme(url: &str) -> Result<Option<&str>, String> {
    let Some(end) = url.find([':', '/', '?', '#']) else {
        return Ok(None);
    };
    if end == 0 || !url[end..].starts_with(':') {
        return Ok(None);
    }
    let s = &url[..end];
    let mut chars = s.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if valid {
        Ok(Some(s))
    } else {
        Err(format!("Invalid scheme format: '{s}'"))
    }
}

fn try_relative_url(input: &str, baseurl: &str) -> Result<String, String> {
    if scheme(input)?.is_some() {
        return Ok(input.to_string());
    }
    let base = baseurl.trim_end_matches('/');
    let base = if base.is_empty() || base.starts_with('/') {
        base.to_string()
    } else {
        format!("/{base}")
    };
    let path = if input.starts_with('/') || input.is_empty() {
        input.to_string()
    } else {
        format!("/{input}")
    };
    let joined = format!("{base}{path}");
    let joined = joined.trim_matches(|c: char| c.is_ascii_whitespace());
    // Addressable's normalize: `.` and `..` segments of the path go
    let cut = joined.find(['?', '#']).unwrap_or(joined.len());
    let (p, rest) = joined.split_at(cut);
    Ok(uri_normalize(&format!("{}{rest}", remove_dot_segments(p))))
}

/// RFC 3986's remove_dot_segments.
fn remove_dot_segments(path: &str) -> String {
    if !path.split('/').any(|s| s == "." || s == "..") {
        return path.to_string();
    }
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i == segments.len() - 1;
        match *seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    out.join("/")
}

fn uri_normalize(s: &str) -> String {
    // Addressable's normalize: percent-encode what may not appear in a path
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%?#".contains(c) {
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
