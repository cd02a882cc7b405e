//! YAML as Jekyll reads it (Ruby's Psych through SafeYAML: YAML 1.1 scalars).
//!
//! serde_yaml is archived; its forks (serde_yaml_ng, serde_norway) keep its YAML 1.2-ish
//! resolution and lose a scalar's style before we see it, so `yes` and `"yes"` can't be told
//! apart. We read saphyr-parser's event stream instead (maintained, pure Rust, spans on every
//! event) and resolve plain scalars with YAML 1.1 rules: `yes`/`on`/`true` are true,
//! `no`/`off`/`false` false, `~`/`null`/empty nil, `0x1F`/`017`/`0b101`/`1_000`/`1:30` integers,
//! `1.10` the float 1.1, `.inf`/`.nan` floats. Quoted and block scalars are strings.

use crate::error::Diagnostic;
use crate::source::SourceFile;
use minijinja::Value;
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;
use std::sync::Arc;

/// Nodes that aliases may add to one document when expanded. Values behind an alias are
/// shared, not copied, but rendering, `jsonify` or `list --json` walk them in full, so a
/// "billion laughs" (9 anchors of 9 aliases each: 9^9 strings) would take minutes and
/// gigabytes. Psych shares them too and has no limit (Jekyll then renders them in full, for
/// as long as that takes); real configs expand a few hundred nodes at most.
pub const MAX_ALIAS_EXPANSION: u64 = 1_000_000;

/// Where a YAML text sits inside its file, to report errors at the right place.
pub struct YamlSource<'a> {
    pub file: &'a Arc<SourceFile>,
    /// Byte offset of the YAML text inside the file.
    pub base: usize,
    pub text: &'a str,
}

/// Load the first document of a YAML text. An empty text is nil.
/// Returns the value and warnings (duplicate keys: the last one wins, as in Ruby).
pub fn load(src: &YamlSource) -> Result<(Value, Vec<Diagnostic>), Diagnostic> {
    let mut loader = Loader {
        src,
        anchors: HashMap::new(),
        expanded: 0,
        aliased: 0,
        warnings: Vec::new(),
        events: Parser::new_from_str(src.text),
    };
    let value = loader.document()?;
    Ok((value, loader.warnings))
}

struct Loader<'a, 'b> {
    src: &'b YamlSource<'a>,
    /// Each anchor's value and its size in nodes once expanded.
    anchors: HashMap<usize, (Value, u64)>,
    /// Nodes read so far, aliases counted as the nodes they stand for.
    expanded: u64,
    /// Of those, nodes added by aliases (bounded by MAX_ALIAS_EXPANSION).
    aliased: u64,
    warnings: Vec<Diagnostic>,
    events: Parser<'b, saphyr_parser::StrInput<'b>>,
}

enum Node {
    Value(Value),
    End,
}

impl<'a, 'b> Loader<'a, 'b> {
    fn offset(&self, span: &Span) -> usize {
        char_to_byte(self.src.text, span.start.index()) + self.src.base
    }

    fn next(&mut self) -> Result<Option<(Event<'b>, Span)>, Diagnostic> {
        match self.events.next() {
            None => Ok(None),
            Some(Ok(ev)) => Ok(Some(ev)),
            Some(Err(e)) => {
                let mut offset = char_to_byte(self.src.text, e.marker().index());
                if e.info().contains("tab")
                    && let Some(t) = self.src.text[offset.min(self.src.text.len())..].find('\t')
                {
                    // point at the tab itself, not where the scanner noticed it
                    offset += t;
                }
                let offset = offset + self.src.base;
                let mut d =
                    Diagnostic::error("invalid-yaml", format!("invalid YAML: {}", e.info()))
                        .at(self.src.file, offset);
                if self.src.text.contains('\t') {
                    d = d.hint("YAML does not allow tabs for indentation; use spaces");
                } else {
                    d = d.hint("check the indentation and quoting around this position");
                }
                Err(d)
            }
        }
    }

    fn document(&mut self) -> Result<Value, Diagnostic> {
        loop {
            match self.next()? {
                None => return Ok(Value::from(())),
                Some((Event::StreamEnd, _)) => return Ok(Value::from(())),
                Some((Event::DocumentStart(_), _)) => break,
                Some(_) => {}
            }
        }
        match self.node()? {
            Node::Value(v) => Ok(v),
            Node::End => Ok(Value::from(())),
        }
    }

    fn node(&mut self) -> Result<Node, Diagnostic> {
        let Some((ev, span)) = self.next()? else {
            return Ok(Node::End);
        };
        let before = self.expanded;
        if matches!(
            ev,
            Event::Scalar(..) | Event::SequenceStart(..) | Event::MappingStart(..)
        ) {
            self.expanded += 1;
        }
        Ok(match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let v = resolve_scalar(&text, style, tag.as_deref().map(|t| t.suffix.as_str()));
                if anchor > 0 {
                    self.anchors.insert(anchor, (v.clone(), 1));
                }
                Node::Value(v)
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((v, size)) => {
                    let (v, size) = (v.clone(), *size);
                    self.expanded += size;
                    self.aliased += size;
                    if self.aliased > MAX_ALIAS_EXPANSION {
                        let off = self.offset(&span);
                        return Err(Diagnostic::error(
                            "invalid-yaml",
                            format!(
                                "YAML aliases expand to more than {MAX_ALIAS_EXPANSION} values"
                            ),
                        )
                        .at(self.src.file, off)
                        .hint("an alias of an alias of an alias… (\"billion laughs\"): write the values out"));
                    }
                    Node::Value(v)
                }
                None => {
                    let off = self.offset(&span);
                    return Err(Diagnostic::error(
                        "invalid-yaml",
                        "YAML alias to an unknown anchor",
                    )
                    .at(self.src.file, off));
                }
            },
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                while let Node::Value(v) = self.node()? {
                    items.push(v);
                }
                let v = Value::from(items);
                if anchor > 0 {
                    self.anchors
                        .insert(anchor, (v.clone(), self.expanded - before));
                }
                Node::Value(v)
            }
            Event::MappingStart(anchor, _) => {
                let mut pairs: Vec<(Value, Value)> = Vec::new();
                loop {
                    let key_span_offset;
                    let key = match self.peek_key_offset()? {
                        Some(off) => {
                            key_span_offset = off;
                            match self.node()? {
                                Node::Value(k) => k,
                                Node::End => break,
                            }
                        }
                        None => break,
                    };
                    let value = match self.node()? {
                        Node::Value(v) => v,
                        Node::End => Value::from(()),
                    };
                    if key.as_str() == Some("<<") {
                        merge_into(&mut pairs, &value);
                        continue;
                    }
                    if let Some(slot) = pairs.iter_mut().find(|(k, _)| *k == key) {
                        self.warnings.push(
                            Diagnostic::warning(
                                "duplicate-key",
                                format!("duplicate YAML key `{key}`: the last value wins"),
                            )
                            .at(
                                self.src.file,
                                char_to_byte(self.src.text, key_span_offset) + self.src.base,
                            )
                            .hint("remove one of the two keys"),
                        );
                        slot.1 = value;
                    } else {
                        pairs.push((key, value));
                    }
                }
                let v = Value::from_pairs(pairs);
                if anchor > 0 {
                    self.anchors
                        .insert(anchor, (v.clone(), self.expanded - before));
                }
                Node::Value(v)
            }
            Event::SequenceEnd | Event::MappingEnd | Event::DocumentEnd | Event::StreamEnd => {
                Node::End
            }
            _ => return self.node(),
        })
    }

    /// Character index of the next event, if it starts a key (i.e. is not the end of the
    /// mapping); converted to a byte offset only when a message needs it.
    fn peek_key_offset(&mut self) -> Result<Option<usize>, Diagnostic> {
        match self.events.peek() {
            Some(Ok((Event::MappingEnd, _))) | None => {
                // consume the end
                self.next()?;
                Ok(None)
            }
            Some(Ok((_, span))) => Ok(Some(span.start.index())),
            Some(Err(_)) => {
                self.next()?;
                Ok(None)
            }
        }
    }
}

fn merge_into(pairs: &mut Vec<(Value, Value)>, value: &Value) {
    let sources: Vec<Value> = match value.kind() {
        minijinja::value::ValueKind::Seq => {
            value.try_iter().map(|i| i.collect()).unwrap_or_default()
        }
        _ => vec![value.clone()],
    };
    for src in sources {
        if let Ok(keys) = src.try_iter() {
            for k in keys {
                if !pairs.iter().any(|(pk, _)| *pk == k) {
                    let v = src.get_item(&k).unwrap_or_default();
                    pairs.push((k, v));
                }
            }
        }
    }
}

fn char_to_byte(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map(|(i, _)| i)
        .unwrap_or(text.len())
}

/// Resolve one scalar the way Psych/SafeYAML do for YAML 1.1.
pub fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    match tag {
        Some("str") => return Value::from(text),
        Some("int") => {
            if let Some(i) = parse_int(text) {
                return Value::from(i);
            }
        }
        Some("float") => {
            if let Some(f) = parse_float(text).or_else(|| parse_int(text).map(|i| i as f64)) {
                return Value::from(f);
            }
        }
        Some("bool") => {
            if let Some(b) = parse_bool(text) {
                return Value::from(b);
            }
        }
        Some("null") => return Value::from(()),
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Value::from(text);
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Value::from(());
    }
    if let Some(b) = parse_bool(text) {
        return Value::from(b);
    }
    // timestamps: Psych (with Jekyll's permitted Date and Time classes) makes them Ruby
    // Times and Dates
    if let Some(v) = crate::liquid::time::from_yaml(text) {
        return v;
    }
    if let Some(i) = parse_int(text) {
        return Value::from(i);
    }
    if let Some(f) = parse_float(text) {
        return Value::from(f);
    }
    Value::from(text)
}

fn parse_bool(t: &str) -> Option<bool> {
    match t.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" => Some(true),
        "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

fn parse_int(t: &str) -> Option<i64> {
    let (neg, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if body.is_empty() {
        return None;
    }
    let clean = |s: &str| s.replace('_', "");
    let mag: i64 = if let Some(b) = body.strip_prefix("0b") {
        if b.is_empty() || !b.chars().all(|c| matches!(c, '0' | '1' | '_')) {
            return None;
        }
        i64::from_str_radix(&clean(b), 2).ok()?
    } else if let Some(h) = body.strip_prefix("0x") {
        if h.is_empty() || !h.chars().all(|c| c.is_ascii_hexdigit() || c == '_') {
            return None;
        }
        i64::from_str_radix(&clean(h), 16).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        if !body.chars().all(|c| matches!(c, '0'..='7' | '_')) {
            return None;
        }
        i64::from_str_radix(&clean(body), 8).ok()?
    } else if body.contains(':') {
        // sexagesimal: 1:30 == 90
        let mut parts = body.split(':');
        let first = parts.next()?;
        if first.is_empty() || !first.chars().all(|c| c.is_ascii_digit() || c == '_') {
            return None;
        }
        let mut acc: i64 = clean(first).parse().ok()?;
        for p in parts {
            if p.is_empty() || p.len() > 2 || !p.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let v: i64 = p.parse().ok()?;
            if v > 59 {
                return None;
            }
            acc = acc.checked_mul(60)?.checked_add(v)?;
        }
        acc
    } else {
        let first = body.as_bytes()[0];
        if !first.is_ascii_digit()
            || !body
                .chars()
                .all(|c| c.is_ascii_digit() || c == '_' || c == ',')
            || body.ends_with('_')
        {
            return None;
        }
        body.replace(['_', ','], "").parse().ok()?
    };
    Some(if neg { -mag } else { mag })
}

fn parse_float(t: &str) -> Option<f64> {
    let lower = t.to_ascii_lowercase();
    match lower.as_str() {
        ".inf" | "+.inf" => return Some(f64::INFINITY),
        "-.inf" => return Some(f64::NEG_INFINITY),
        ".nan" => return Some(f64::NAN),
        _ => {}
    }
    // [-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let int_start = i;
    if i < b.len() && b[i].is_ascii_digit() {
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_' || b[i] == b',') {
            i += 1;
        }
    }
    let had_int = i > int_start;
    if i >= b.len() || b[i] != b'.' {
        return None;
    }
    i += 1;
    let frac_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if !had_int && i == frac_start {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i >= b.len() || !(b[i] == b'-' || b[i] == b'+') {
            return None;
        }
        i += 1;
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    t.replace(['_', ','], "").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(s: &str) -> Value {
        let file = SourceFile::new("t.yml".into(), s.to_string());
        load(&YamlSource {
            file: &file,
            base: 0,
            text: &file.text,
        })
        .unwrap()
        .0
    }

    #[test]
    fn yaml_1_1_scalars() {
        let v = load_str(
            "a: yes\nb: off\nc: 1.10\nd: \"yes\"\ne: 017\nf: 0x1F\ng: 1_000\nh: ~\ni: 1:30\nj: 1e3\nk: .5\n",
        );
        assert_eq!(v.get_attr("a").unwrap(), Value::from(true));
        assert_eq!(v.get_attr("b").unwrap(), Value::from(false));
        assert_eq!(v.get_attr("c").unwrap(), Value::from(1.1));
        assert_eq!(v.get_attr("d").unwrap(), Value::from("yes"));
        assert_eq!(v.get_attr("e").unwrap(), Value::from(15));
        assert_eq!(v.get_attr("f").unwrap(), Value::from(31));
        assert_eq!(v.get_attr("g").unwrap(), Value::from(1000));
        assert!(v.get_attr("h").unwrap().is_none());
        assert_eq!(v.get_attr("i").unwrap(), Value::from(90));
        assert_eq!(v.get_attr("j").unwrap(), Value::from("1e3"));
        assert_eq!(v.get_attr("k").unwrap(), Value::from(0.5));
    }

    #[test]
    fn keeps_order_anchors_and_merges() {
        let v = load_str("z: 1\na: &x {p: 1, q: 2}\nb:\n  <<: *x\n  q: 3\n");
        let keys: Vec<String> = v.try_iter().unwrap().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["z", "a", "b"]);
        let b = v.get_attr("b").unwrap();
        assert_eq!(b.get_attr("p").unwrap(), Value::from(1));
        assert_eq!(b.get_attr("q").unwrap(), Value::from(3));
    }

    #[test]
    fn reports_errors_with_position() {
        let file = SourceFile::new("t.yml".into(), "x: 1\ny: [1, 2\n".to_string());
        let err = load(&YamlSource {
            file: &file,
            base: 0,
            text: &file.text,
        })
        .unwrap_err();
        let (_, line, _) = err.position().unwrap();
        assert!(line >= 2, "{line}");
    }

    #[test]
    fn duplicate_keys_warn_last_wins() {
        let file = SourceFile::new("t.yml".into(), "a: 1\na: 2\n".to_string());
        let (v, w) = load(&YamlSource {
            file: &file,
            base: 0,
            text: &file.text,
        })
        .unwrap();
        assert_eq!(v.get_attr("a").unwrap(), Value::from(2));
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].position().unwrap().1, 2);
    }
}
