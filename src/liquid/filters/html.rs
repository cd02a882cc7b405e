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

/// Liquid's `escape_once`: like `escape`, but `&name;` and `&#123;` stay (not `&#x1F;`).
fn escape_once(_: &Call, input: &Value, _: &[Value]) -> R {
    let t = rs(input);
    let mut o = String::with_capacity(t.len());
    for (i, c) in t.char_indices() {
        match c {
            '&' => {
                let rest = &t[i + 1..];
                let end = rest.find(|c: char| !c.is_ascii_alphanumeric() && c != '#');
                let entity = end
                    .filter(|e| rest[*e..].starts_with(';'))
                    .map(|e| &rest[..e]);
                let named = |e: &str| !e.is_empty() && e.bytes().all(|b| b.is_ascii_alphabetic());
                let numeric = |e: &str| {
                    e.strip_prefix('#')
                        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                };
                if entity.is_some_and(|e| named(e) || numeric(e)) {
                    o.push('&');
                } else {
                    o.push_str("&amp;");
                }
            }
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    Ok(str_v(o))
}

/// Liquid's `strip_html`: `<script>`, `<style>` blocks and comments, then every `<...>`; a
/// `<` with no `>` after it stays.
fn strip_html(_: &Call, input: &Value, _: &[Value]) -> R {
    static BLOCKS: std::sync::OnceLock<regex_lite::Regex> = std::sync::OnceLock::new();
    static TAGS: std::sync::OnceLock<regex_lite::Regex> = std::sync::OnceLock::new();
    let blocks = BLOCKS.get_or_init(|| {
        regex_lite::Regex::new(r"(?s)<script.*?</script>|<!--.*?-->|<style.*?</style>")
            .expect("valid regex")
    });
    let tags = TAGS.get_or_init(|| regex_lite::Regex::new(r"(?s)<.*?>").expect("valid regex"));
    let t = rs(input);
    let t = blocks.replace_all(&t, "");
    Ok(str_v(tags.replace_all(&t, "").into_owned()))
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
