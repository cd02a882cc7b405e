//! A `site.*` or `page.*` variable: its value as the page sees it, and where it is defined
//! (the key's line in `_config.yml`, in a `_data/` file, or in the page's front matter).

use super::workspace::OpenPage;
use crate::liquid::value as lv;
use crate::site::Site;
use minijinja::Value;
use saphyr_parser::{Event, Parser};
use std::path::{Path, PathBuf};

/// Where a key is written: a file and a byte range in it (the key's text).
#[derive(Debug, Clone)]
pub struct Defined {
    pub path: PathBuf,
    /// The file's text (the editor's, for the page itself).
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// The value of `path` (`["site", "a", "b"]`) for the page; None when it is not defined.
pub fn value(site: &Site, page: &crate::page::Page, path: &[String]) -> Option<Value> {
    let (root, rest) = path.split_first()?;
    let mut v = match root.as_str() {
        "site" => site.env.site.clone(),
        "page" => site.page_value(page),
        _ => return None,
    };
    for key in rest {
        v = lv::lookup(&v, &Value::from(key.as_str()), true)?;
        if v.is_undefined() {
            return None;
        }
    }
    Some(v)
}

/// A value as hover shows it: text as Liquid prints it, maps and lists as Ruby inspects
/// them, cut after 1,000 characters.
pub fn shown(v: &Value) -> String {
    let s = if lv::is_map(v) || lv::is_seq(v) {
        lv::inspect(v)
    } else if lv::is_nil(v) {
        "nil".to_string()
    } else {
        lv::to_s(v)
    };
    if s.chars().count() > 1000 {
        let cut: String = s.chars().take(1000).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// Where `path` is defined for this page.
pub fn defined(site: &Site, page: &OpenPage, path: &[String]) -> Option<Defined> {
    let (root, rest) = path.split_first()?;
    match root.as_str() {
        "site" if rest.first().map(String::as_str) == Some("data") => {
            data_definition(site.data.dir(), &rest[1..])
        }
        "site" => {
            let config = site.config_path.as_ref()?;
            let config = std::path::absolute(config).unwrap_or(config.clone());
            let text = std::fs::read_to_string(&config).ok()?;
            let (start, end) = if rest.is_empty() {
                (0, 0)
            } else {
                key_span(&text, rest)?
            };
            Some(Defined {
                path: config,
                text,
                start,
                end,
            })
        }
        "page" => {
            let text = page.text();
            let (yaml, _) = crate::page::split_front_matter(text)?;
            let (start, end) = if rest.is_empty() {
                (yaml.start, yaml.start)
            } else {
                let (s, e) = key_span(&text[yaml.clone()], rest)?;
                (yaml.start + s, yaml.start + e)
            };
            Some(Defined {
                path: page.path.clone(),
                text: text.to_string(),
                start,
                end,
            })
        }
        _ => None,
    }
}

/// `site.data.a.b.c`: folders `a/`, `a/b/` under `_data/` as far as they go, then a file
/// `b.yml` (`.yaml`, `.json`, `.csv`, `.tsv`), then keys in it.
fn data_definition(dir: &Path, keys: &[String]) -> Option<Defined> {
    let mut here = dir.to_path_buf();
    for (i, key) in keys.iter().enumerate() {
        let sub = here.join(key);
        if sub.is_dir() {
            here = sub;
            continue;
        }
        for ext in ["yml", "yaml", "json", "csv", "tsv"] {
            let file = here.join(format!("{key}.{ext}"));
            if !file.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&file).ok()?;
            let inner = &keys[i + 1..];
            let (start, end) = if inner.is_empty() || matches!(ext, "csv" | "tsv") {
                (0, 0)
            } else {
                key_span(&text, inner).unwrap_or((0, 0))
            };
            return Some(Defined {
                path: file,
                text,
                start,
                end,
            });
        }
        return None;
    }
    // a folder of data files
    Some(Defined {
        path: here,
        text: String::new(),
        start: 0,
        end: 0,
    })
}

/// The byte range of the key at `path` (mapping keys, nested) in a YAML (or JSON) text.
pub fn key_span(text: &str, path: &[String]) -> Option<(usize, usize)> {
    let mut events = Parser::new_from_str(text).filter_map(Result::ok);
    // to the document's root node
    let first = loop {
        match events.next()? {
            (Event::StreamStart | Event::DocumentStart(_), _) => continue,
            (ev, _) => break ev,
        }
    };
    let mut next = Some(first);
    let mut path = path;
    loop {
        let Some(Event::MappingStart(..)) = next.take() else {
            return None;
        };
        let (want, deeper) = path.split_first()?;
        // key, value pairs until the mapping ends
        loop {
            let (key, span) = events.next()?;
            match key {
                Event::MappingEnd => return None,
                Event::Scalar(k, ..) if k.as_ref() == want.as_str() => {
                    let start = char_to_byte(text, span.start.index());
                    let end = char_to_byte(text, span.end.index()).max(start);
                    if deeper.is_empty() {
                        return Some((start, end));
                    }
                    next = Some(events.next()?.0);
                    path = deeper;
                    break;
                }
                other => {
                    // a key that is not the one: skip it (if complex) and its value
                    skip(&other, &mut events)?;
                    let (value, _) = events.next()?;
                    skip(&value, &mut events)?;
                }
            }
        }
    }
}

/// Consume the rest of a node that started with `ev`.
fn skip<'a>(
    ev: &Event<'a>,
    events: &mut impl Iterator<Item = (Event<'a>, saphyr_parser::Span)>,
) -> Option<()> {
    if !matches!(ev, Event::MappingStart(..) | Event::SequenceStart(..)) {
        return Some(());
    }
    let mut depth = 1usize;
    while depth > 0 {
        match events.next()?.0 {
            Event::MappingStart(..) | Event::SequenceStart(..) => depth += 1,
            Event::MappingEnd | Event::SequenceEnd => depth -= 1,
            _ => {}
        }
    }
    Some(())
}

fn char_to_byte(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map(|(i, _)| i)
        .unwrap_or(text.len())
}

/// The keys under `parent` for completion: of the site's config and data (`site.`,
/// `site.data.`, nested), of the page (`page.`); with a short description of each value.
pub fn keys(site: &Site, page: &crate::page::Page, parent: &[String]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let Some(v) = value(site, page, parent) else {
        return out;
    };
    let pairs: Vec<(Value, Value)> = if parent.len() == 1 && parent[0] == "site" {
        // the site object is computed: its config's keys, and Jekyll's own
        let mut p = lv::map_pairs(&site.config);
        for k in ["data", "pages", "posts", "collections", "documents", "time"] {
            if !p.iter().any(|(x, _)| lv::to_s(x) == k) {
                p.push((
                    Value::from(k),
                    lv::lookup(&v, &Value::from(k), true).unwrap_or_default(),
                ));
            }
        }
        p
    } else if lv::is_map(&v) || v.as_object().is_some() {
        lv::map_pairs(&v)
    } else {
        Vec::new()
    };
    for (k, val) in pairs {
        let key = lv::to_s(&k);
        let desc = if lv::is_map(&val) {
            "{…}".to_string()
        } else if lv::is_seq(&val) {
            format!("[{} items]", lv::size(&val).unwrap_or(0))
        } else {
            let s = shown(&val);
            if s.chars().count() > 60 {
                format!("{}…", s.chars().take(60).collect::<String>())
            } else {
                s
            }
        };
        if !out.iter().any(|(x, _)| *x == key) {
            out.push((key, desc));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::key_span;

    fn at(text: &str, path: &[&str]) -> Option<String> {
        let p: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        key_span(text, &p).map(|(s, e)| text[s..e].to_string() + "@" + &s.to_string())
    }

    #[test]
    fn keys_in_yaml() {
        let y = "a: 1\nb:\n  c: [1, 2]\n  d:\n    e: x\nf: {g: 1}\n";
        assert_eq!(at(y, &["a"]).unwrap(), "a@0");
        assert_eq!(
            at(y, &["b", "d", "e"]).unwrap(),
            format!("e@{}", y.find("e:").unwrap())
        );
        assert_eq!(
            at(y, &["f", "g"]).unwrap(),
            format!("g@{}", y.find("g:").unwrap())
        );
        assert_eq!(at(y, &["b", "x"]), None);
        assert_eq!(at("# é\nclé: 1\n", &["clé"]).unwrap(), "clé@5");
    }
}
