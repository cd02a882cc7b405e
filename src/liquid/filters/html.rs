//! HTML filters: escaping, `strip_html`, `newline_to_br`, and Jekyll's `markdownify`,
//! `smartify`.

use super::{Call, Filter, is_nil, nil, rs, str_v};
use minijinja::Value;

pub(super) const FILTERS: &[Filter] = &[
    Filter::new("escape", 0, 0, escape),
    Filter::new("h", 0, 0, escape),
    Filter::new("xml_escape", 0, 0, xml_escape),
    Filter::new("escape_once", 0, 0, escape_once),
    Filter::new("strip_html", 0, 0, strip_html),
    Filter::new("newline_to_br", 0, 0, newline_to_br),
    Filter::new("markdownify", 0, 0, markdownify),
    Filter::new("smartify", 0, 0, smartify),
];

type R = Result<Value, String>;

fn escape(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(if is_nil(input) {
        nil()
    } else {
        str_v(escape_html(&rs(input)))
    })
}

fn xml_escape(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(xml_escape_str(&rs(input))))
}

/// Ruby's `encode(xml: :attr)` without the quotes around it (Jekyll's `xml_escape`).
pub(super) fn xml_escape_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

fn escape_html(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn escape_once(_: &Call, input: &Value, _: &[Value]) -> R {
    let t = rs(input);
    let mut o = String::new();
    let mut i = 0;
    while i < t.len() {
        let c = t[i..].chars().next().unwrap_or(' ');
        if c == '&' {
            let rest = &t[i..];
            let ent = rest.find(';').filter(|e| *e < 10).map(|e| &rest[1..e]);
            if ent.is_some_and(|e| {
                !e.is_empty()
                    && (e.chars().all(char::is_alphanumeric)
                        || (e.starts_with('#')
                            && e[1..].chars().all(|c| c.is_ascii_alphanumeric())))
            }) {
                o.push('&');
            } else {
                o.push_str("&amp;");
            }
        } else {
            match c {
                '<' => o.push_str("&lt;"),
                '>' => o.push_str("&gt;"),
                '"' => o.push_str("&quot;"),
                '\'' => o.push_str("&#39;"),
                c => o.push(c),
            }
        }
        i += c.len_utf8();
    }
    Ok(str_v(o))
}

fn strip_html(_: &Call, input: &Value, _: &[Value]) -> R {
    let mut t = rs(input);
    for (open, close) in [
        ("<script", "</script>"),
        ("<!--", "-->"),
        ("<style", "</style>"),
    ] {
        t = remove_between(&t, open, close);
    }
    let mut res = String::new();
    let mut in_tag = false;
    for c in t.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => res.push(c),
            _ => {}
        }
    }
    Ok(str_v(res))
}

fn remove_between(t: &str, open: &str, close: &str) -> String {
    let mut out = String::new();
    let mut rest = t;
    while let Some(i) = rest.find(open) {
        out.push_str(&rest[..i]);
        match rest[i..].find(close) {
            Some(j) => rest = &rest[i + j + close.len()..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

fn newline_to_br(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(
        rs(input).replace("\r\n", "\n").replace('\n', "<br />\n"),
    ))
}

fn markdownify(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(markdown_html(&rs(input))))
}

/// Markdown to HTML (pulldown-cmark: kramdown's output cannot be reproduced).
pub fn markdown_html(src: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let mut out = String::new();
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES;
    html::push_html(&mut out, Parser::new_ext(src, opts));
    out
}

fn smartify(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(
        rs(input)
            .replace("---", "—")
            .replace("--", "–")
            .replace("...", "…"),
    ))
}
