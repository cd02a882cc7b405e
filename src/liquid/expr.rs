//! Liquid expressions: the strict lexer/parser of Liquid 5 and, when it fails, the lax
//! regular-expression reading Jekyll falls back to (with a warning), e.g.
//! `{{site.experiment Release Testing}}` reads as `site.experiment`.

use super::ast::*;
use regex_lite::Regex;
use std::ops::Range;
use std::sync::LazyLock;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Cmp(String),
    Str(String),
    Num(String),
    Id(String),
    DotDot,
    Pipe,
    Dot,
    Colon,
    Comma,
    OpenSq,
    CloseSq,
    OpenRound,
    CloseRound,
    Question,
    Dash,
    End,
}

#[derive(Debug)]
pub struct SyntaxError {
    pub message: String,
    /// Offset inside the markup.
    pub at: usize,
}

fn err<T>(message: impl Into<String>, at: usize) -> Result<T, SyntaxError> {
    Err(SyntaxError {
        message: message.into(),
        at,
    })
}

pub fn lex(src: &str) -> Result<Vec<(Tok, usize)>, SyntaxError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        // comparison
        // bytes: the next character may be multi-byte
        let two = &b[i..(i + 2).min(b.len())];
        if matches!(two, b"==" | b"!=" | b"<>" | b"<=" | b">=") {
            out.push((Tok::Cmp(String::from_utf8_lossy(two).into_owned()), start));
            i += 2;
            continue;
        }
        if c == b'<' || c == b'>' {
            out.push((Tok::Cmp((c as char).to_string()), start));
            i += 1;
            continue;
        }
        if src[i..].starts_with("contains") && b.get(i + 8).is_some_and(|c| c.is_ascii_whitespace())
        {
            out.push((Tok::Cmp("contains".into()), start));
            i += 8;
            continue;
        }
        if c == b'"' || c == b'\'' {
            match src[i + 1..].find(c as char) {
                Some(e) => {
                    out.push((Tok::Str(src[i + 1..i + 1 + e].to_string()), start));
                    i += e + 2;
                    continue;
                }
                None => return err(format!("Unexpected character {}", c as char), i),
            }
        }
        // number: -?\d+(\.\d+)?
        {
            let mut j = i;
            if b[j] == b'-' {
                j += 1;
            }
            if j < b.len() && b[j].is_ascii_digit() {
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
                    j += 1;
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                }
                out.push((Tok::Num(src[i..j].to_string()), start));
                i = j;
                continue;
            }
        }
        // identifier: [a-zA-Z_][\w-]*\??
        if c.is_ascii_alphabetic() || c == b'_' {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'-') {
                j += 1;
            }
            if j < b.len() && b[j] == b'?' {
                j += 1;
            }
            out.push((Tok::Id(src[i..j].to_string()), start));
            i = j;
            continue;
        }
        if src[i..].starts_with("..") {
            out.push((Tok::DotDot, start));
            i += 2;
            continue;
        }
        let t = match c {
            b'|' => Tok::Pipe,
            b'.' => Tok::Dot,
            b':' => Tok::Colon,
            b',' => Tok::Comma,
            b'[' => Tok::OpenSq,
            b']' => Tok::CloseSq,
            b'(' => Tok::OpenRound,
            b')' => Tok::CloseRound,
            b'?' => Tok::Question,
            b'-' => Tok::Dash,
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return err(format!("Unexpected character {ch}"), i);
            }
        };
        out.push((t, start));
        i += 1;
    }
    out.push((Tok::End, src.len()));
    Ok(out)
}

/// Strict parser over the tokens of one markup.
pub struct Parser<'a> {
    src: &'a str,
    toks: Vec<(Tok, usize)>,
    p: usize,
    /// Expressions open around the current token (`[` and `(` nest).
    depth: usize,
    /// Offset of the markup in the template source.
    base: usize,
}

impl<'a> Parser<'a> {
    pub fn new(src: &'a str, base: usize) -> Result<Parser<'a>, SyntaxError> {
        Ok(Parser {
            src,
            toks: lex(src)?,
            p: 0,
            depth: 0,
            base,
        })
    }
    pub fn look(&self, t: &Tok) -> bool {
        &self.toks[self.p].0 == t
    }
    fn look_at(&self, ahead: usize) -> &Tok {
        &self.toks[(self.p + ahead).min(self.toks.len() - 1)].0
    }
    fn at(&self) -> usize {
        self.toks[self.p].1
    }
    fn bump(&mut self) -> Tok {
        let t = self.toks[self.p].0.clone();
        if self.p < self.toks.len() - 1 {
            self.p += 1;
        }
        t
    }
    pub fn consume(&mut self, t: &Tok) -> Result<(), SyntaxError> {
        if self.look(t) {
            self.bump();
            Ok(())
        } else {
            err(
                format!(
                    "Expected {} but found {}",
                    tok_name(t),
                    tok_name(&self.toks[self.p].0)
                ),
                self.at(),
            )
        }
    }
    pub fn consume_opt(&mut self, t: &Tok) -> bool {
        if self.look(t) {
            self.bump();
            true
        } else {
            false
        }
    }
    pub fn id(&mut self) -> Result<String, SyntaxError> {
        match self.bump() {
            Tok::Id(s) => Ok(s),
            other => err(
                format!("Expected id but found {}", tok_name(&other)),
                self.toks[self.p.saturating_sub(1)].1,
            ),
        }
    }
    /// Consume the identifier `word` if it is next.
    pub fn word(&mut self, word: &str) -> bool {
        if matches!(&self.toks[self.p].0, Tok::Id(s) if s == word) {
            self.bump();
            true
        } else {
            false
        }
    }
    pub fn end(&mut self) -> Result<(), SyntaxError> {
        self.consume(&Tok::End)
    }

    pub fn expression(&mut self) -> Result<Expr, SyntaxError> {
        if self.depth >= 50 {
            return err("expression nested too deep", self.at());
        }
        self.depth += 1;
        let e = self.expression_inner();
        self.depth -= 1;
        e
    }

    fn expression_inner(&mut self) -> Result<Expr, SyntaxError> {
        let start = self.at();
        match self.look_at(0).clone() {
            Tok::Id(name) => {
                self.bump();
                let keys = self.lookups()?;
                let text = self.text_from(start);
                Ok(literal_or_var(
                    &name,
                    Root::Name(name.clone()),
                    keys,
                    start + self.base,
                    text,
                ))
            }
            Tok::OpenSq => {
                self.bump();
                let inner = self.expression()?;
                self.consume(&Tok::CloseSq)?;
                let keys = self.lookups()?;
                let text = self.text_from(start);
                Ok(Expr::Var(Lookup {
                    root: Root::Dynamic(Box::new(inner)),
                    keys,
                    pos: start + self.base,
                    text,
                }))
            }
            Tok::Str(s) => {
                self.bump();
                Ok(Expr::Str(s))
            }
            Tok::Num(n) => {
                self.bump();
                Ok(number(&n))
            }
            Tok::OpenRound => {
                self.bump();
                let a = self.expression()?;
                self.consume(&Tok::DotDot)?;
                let b = self.expression()?;
                self.consume(&Tok::CloseRound)?;
                Ok(Expr::Range(Box::new(a), Box::new(b)))
            }
            other => err(
                format!("{} is not a valid expression", tok_name(&other)),
                start,
            ),
        }
    }

    fn text_from(&self, start: usize) -> String {
        let end = self.toks[self.p].1;
        self.src[start..end.max(start)].trim().to_string()
    }

    fn lookups(&mut self) -> Result<Vec<Key>, SyntaxError> {
        let mut keys = Vec::new();
        loop {
            if self.look(&Tok::OpenSq) {
                self.bump();
                keys.push(Key::Index(self.expression()?));
                self.consume(&Tok::CloseSq)?;
            } else if self.look(&Tok::Dot) {
                self.bump();
                // `page.[include.id]`: Liquid's strict parser refuses it, the lax one Jekyll
                // falls back to reads it as `page[include.id]`, which is what it means
                if self.consume_opt(&Tok::OpenSq) {
                    keys.push(Key::Index(self.expression()?));
                    self.consume(&Tok::CloseSq)?;
                    continue;
                }
                keys.push(Key::Dot(self.id()?));
            } else {
                return Ok(keys);
            }
        }
    }

    /// `expr (| name (: arg (, arg)*)?)*` then end of markup.
    pub fn filtered(&mut self) -> Result<Filtered, SyntaxError> {
        if self.look(&Tok::End) {
            return Ok(Filtered {
                expr: None,
                filters: vec![],
            });
        }
        let expr = self.expression()?;
        let mut filters = Vec::new();
        while self.consume_opt(&Tok::Pipe) {
            let pos = self.at() + self.base;
            let name = self.id()?;
            let mut args = Vec::new();
            let mut kwargs = Vec::new();
            if self.consume_opt(&Tok::Colon) {
                loop {
                    if matches!(self.look_at(0), Tok::Id(_)) && self.look_at(1) == &Tok::Colon {
                        let k = self.id()?;
                        self.bump();
                        kwargs.push((k, self.expression()?));
                    } else {
                        args.push(self.expression()?);
                    }
                    if !self.consume_opt(&Tok::Comma) {
                        break;
                    }
                }
            }
            filters.push(Filter {
                name,
                args,
                kwargs,
                pos,
            });
        }
        self.end()?;
        Ok(Filtered {
            expr: Some(expr),
            filters,
        })
    }

    /// `a (op b)? ((and|or) ...)*`, right-associative as Liquid evaluates it.
    pub fn condition(&mut self) -> Result<Cond, SyntaxError> {
        let left = self.expression()?;
        let (op, right) = match self.look_at(0).clone() {
            Tok::Cmp(op) => {
                self.bump();
                (Some(op), Some(self.expression()?))
            }
            _ => (None, None),
        };
        let test = Cond::Test { left, op, right };
        let and = self.word("and");
        if !and && !self.word("or") {
            return Ok(test);
        }
        if self.depth >= 50 {
            return err("condition with more than 50 `and`/`or`", self.at());
        }
        self.depth += 1;
        let rest = self.condition();
        self.depth -= 1;
        let rest = Box::new(rest?);
        Ok(if and {
            Cond::And(Box::new(test), rest)
        } else {
            Cond::Or(Box::new(test), rest)
        })
    }
}

fn tok_name(t: &Tok) -> String {
    match t {
        Tok::Cmp(s) => format!("comparison '{s}'"),
        Tok::Str(s) => format!("string \"{s}\""),
        Tok::Num(n) => format!("number {n}"),
        Tok::Id(s) => format!("id '{s}'"),
        Tok::DotDot => "'..'".into(),
        Tok::Pipe => "'|'".into(),
        Tok::Dot => "'.'".into(),
        Tok::Colon => "':'".into(),
        Tok::Comma => "','".into(),
        Tok::OpenSq => "'['".into(),
        Tok::CloseSq => "']'".into(),
        Tok::OpenRound => "'('".into(),
        Tok::CloseRound => "')'".into(),
        Tok::Question => "'?'".into(),
        Tok::Dash => "'-'".into(),
        Tok::End => "end of tag".into(),
    }
}

fn number(n: &str) -> Expr {
    if n.contains('.') {
        Expr::Float(n.parse().unwrap_or(0.0))
    } else {
        n.parse()
            .map(Expr::Int)
            .unwrap_or_else(|_| Expr::Float(n.parse().unwrap_or(0.0)))
    }
}

fn literal_or_var(name: &str, root: Root, keys: Vec<Key>, pos: usize, text: String) -> Expr {
    if keys.is_empty() {
        match name {
            "nil" | "null" => return Expr::Nil,
            "true" => return Expr::Bool(true),
            "false" => return Expr::Bool(false),
            "empty" => return Expr::Empty,
            "blank" => return Expr::Blank,
            _ => {}
        }
    }
    Expr::Var(Lookup {
        root,
        keys,
        pos,
        text,
    })
}

// ---- lax reading (Liquid's regular expressions) ----

pub const QF: &str = r#""[^"]*"|'[^']*'|(?:[^\s,|'"]|"[^"]*"|'[^']*')+"#;
static FILTER_PARSER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r#"(?:\s+|{QF}|,)+"#)).unwrap());
static FILTER_ARGS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r#"(?:[:,])\s*((?:\w+\s*:\s*)?(?:{QF}))"#)).unwrap());
static KEYWORD_ARG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r#"\A(\w[\w-]*)\s*:\s*((?:{QF}))\z"#)).unwrap());
static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\w+").unwrap());
static CONDITION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r#"({QF})\s*([=!<>a-z_]+)?\s*({QF})?"#)).unwrap());
static RANGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\A\(\s*(\S+)\s*\.\.\s*(\S+)\s*\)\z").unwrap());

// The two expressions every lax page reads are matched by hand: compiling their regular
// expressions was a twentieth of a one-page render. Tests hold them to the regexes.

/// Where the first match of [`QF`] (Liquid's `QuotedFragment`) in `s` is: a quoted string,
/// or a run of characters other than whitespace, `,`, `|` and quotes, with quoted strings in
/// it.
pub fn quoted_fragment(s: &str) -> Option<Range<usize>> {
    let b = s.as_bytes();
    // the end of the quoted string that starts at `i`, if it is closed
    let quoted = |i: usize| memchr::memchr(b[i], &b[i + 1..]).map(|k| i + 1 + k + 1);
    let plain = |c: u8| !(matches!(c, b',' | b'|' | b'\'' | b'"') || is_space(c));
    for i in 0..b.len() {
        if !s.is_char_boundary(i) {
            continue;
        }
        if matches!(b[i], b'"' | b'\'') {
            if let Some(end) = quoted(i) {
                return Some(i..end);
            }
            continue;
        }
        let mut j = i;
        while j < b.len() {
            if plain(b[j]) {
                j += 1;
            } else if let Some(end) = matches!(b[j], b'"' | b'\'').then(|| quoted(j)).flatten() {
                j = end;
            } else {
                break;
            }
        }
        if j > i {
            return Some(i..j);
        }
    }
    None
}

/// `\s` of Ruby's regular expressions, and of the regex crates Liquid's are translated to:
/// ASCII whitespace and vertical tab.
pub(super) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// The parts of a variable (`\[[^\]]+\]|[\w-]+\??`, Liquid's `VariableParser`): each
/// `[...]` holding something, and each run of word characters and `-` with an optional `?`.
fn variable_parts(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-';
    let mut parts = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'['
            && b.get(i + 1).is_some_and(|&c| c != b']')
            && let Some(k) = memchr::memchr(b']', &b[i + 2..])
        {
            let end = i + 2 + k + 1;
            parts.push(&s[i..end]);
            i = end;
            continue;
        }
        if word(b[i]) {
            let mut end = i + b[i..].iter().take_while(|&&c| word(c)).count();
            if b.get(end) == Some(&b'?') {
                end += 1;
            }
            parts.push(&s[i..end]);
            i = end;
            continue;
        }
        i += 1;
    }
    parts
}

/// Liquid's `Expression.parse` of a markup fragment.
pub fn parse_expression_lax(markup: &str, pos: usize) -> Expr {
    // brackets nest by recursion: far past what a page needs, read nothing (nil)
    if markup
        .bytes()
        .take_while(|b| *b == b'[' || b.is_ascii_whitespace())
        .filter(|b| *b == b'[')
        .count()
        > 50
        || markup.matches('[').count() > 200
    {
        return Expr::Nil;
    }
    let m = markup.trim();
    if m.len() >= 2
        && ((m.starts_with('"') && m.ends_with('"')) || (m.starts_with('\'') && m.ends_with('\'')))
    {
        return Expr::Str(m[1..m.len() - 1].to_string());
    }
    match m {
        "" | "nil" | "null" => return Expr::Nil,
        "true" => return Expr::Bool(true),
        "false" => return Expr::Bool(false),
        "empty" => return Expr::Empty,
        "blank" => return Expr::Blank,
        _ => {}
    }
    let b = m.as_bytes();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(|c| c.is_ascii_digit());
    let body = if b[0] == b'-' { &b[1..] } else { b };
    if digits(body) {
        return m
            .parse()
            .map(Expr::Int)
            .unwrap_or(Expr::Float(m.parse().unwrap_or(0.0)));
    }
    if let Some(c) = (m.starts_with('(') && m.ends_with(')'))
        .then(|| RANGE.captures(m))
        .flatten()
    {
        return Expr::Range(
            Box::new(parse_expression_lax(&c[1], pos)),
            Box::new(parse_expression_lax(&c[2], pos)),
        );
    }
    if !body.is_empty()
        && body[0].is_ascii_digit()
        && body.len() > 1
        && body[1..].iter().all(|c| c.is_ascii_digit() || *c == b'.')
    {
        // Ruby: "1.2.3".to_f == 1.2
        let mut seen_dot = false;
        let end = m
            .char_indices()
            .find(|&(i, c)| {
                if c == '.' {
                    if seen_dot {
                        return true;
                    }
                    seen_dot = true;
                    false
                } else {
                    !(c.is_ascii_digit() || (i == 0 && c == '-'))
                }
            })
            .map(|(i, _)| i)
            .unwrap_or(m.len());
        return Expr::Float(m[..end].trim_end_matches('.').parse().unwrap_or(0.0));
    }
    let parts = variable_parts(m);
    let Some((first, rest)) = parts.split_first() else {
        return Expr::Nil;
    };
    let root = if first.starts_with('[') {
        Root::Dynamic(Box::new(parse_expression_lax(
            &first[1..first.len() - 1],
            pos,
        )))
    } else {
        Root::Name(first.to_string())
    };
    let keys = rest
        .iter()
        .map(|p| {
            if p.starts_with('[') {
                Key::Index(parse_expression_lax(&p[1..p.len() - 1], pos))
            } else {
                Key::Dot(p.to_string())
            }
        })
        .collect();
    Expr::Var(Lookup {
        root,
        keys,
        pos,
        text: m.to_string(),
    })
}

/// Liquid's lax `Variable` parse: first fragment is the value, filters after the first `|`.
pub fn filtered_lax(markup: &str, base: usize) -> Filtered {
    let Some(m) = quoted_fragment(markup) else {
        return Filtered {
            expr: None,
            filters: vec![],
        };
    };
    let expr = parse_expression_lax(&markup[m.clone()], base + m.start);
    let rest = &markup[m.end..];
    let mut filters = Vec::new();
    if let Some(bar) = rest.find('|') {
        let after = &rest[bar + 1..];
        let after_start = m.end + bar + 1;
        for f in FILTER_PARSER.find_iter(after) {
            let chunk = f.as_str();
            let Some(name) = WORD.find(chunk) else {
                continue;
            };
            let mut args = Vec::new();
            let mut kwargs = Vec::new();
            for a in FILTER_ARGS.captures_iter(chunk) {
                let a = a.get(1).map(|x| x.as_str()).unwrap_or("");
                if let Some(kw) = KEYWORD_ARG.captures(a) {
                    kwargs.push((kw[1].to_string(), parse_expression_lax(&kw[2], base)));
                } else {
                    args.push(parse_expression_lax(a, base));
                }
            }
            filters.push(Filter {
                name: name.as_str().to_string(),
                args,
                kwargs,
                pos: base + after_start + f.start() + name.start(),
            });
        }
    }
    Filtered {
        expr: Some(expr),
        filters,
    }
}

/// Lax reading of an `if` condition (Liquid's `ExpressionsAndOperators` scan).
pub fn condition_lax(markup: &str, base: usize) -> Option<Cond> {
    // split on standalone `and` / `or` words outside quotes
    let mut parts: Vec<(String, Option<String>)> = Vec::new();
    let mut cur = String::new();
    let words: Vec<&str> = split_keep_quotes(markup);
    for w in words {
        if w == "and" || w == "or" {
            parts.push((std::mem::take(&mut cur), Some(w.to_string())));
        } else {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(w);
        }
    }
    parts.push((cur, None));
    if parts.len() > 50 {
        return None; // the condition nests one level per operator
    }
    let syntax = &*CONDITION;
    let mut conds: Vec<(Cond, Option<String>)> = Vec::new();
    for (text, op) in parts {
        let c = syntax.captures(&text)?;
        let left = parse_expression_lax(c.get(1)?.as_str(), base);
        let cmp = c.get(2).map(|x| x.as_str().to_string());
        let right = c.get(3).map(|x| parse_expression_lax(x.as_str(), base));
        conds.push((
            Cond::Test {
                left,
                op: cmp,
                right,
            },
            op,
        ));
    }
    let mut iter = conds.into_iter().rev();
    let (mut acc, _) = iter.next()?;
    for (c, op) in iter {
        acc = match op.as_deref() {
            Some("and") => Cond::And(Box::new(c), Box::new(acc)),
            _ => Cond::Or(Box::new(c), Box::new(acc)),
        };
    }
    Some(acc)
}

fn split_keep_quotes(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() {
            if b[i] == b'"' || b[i] == b'\'' {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
            }
            i += 1;
        }
        out.push(&s[start..i.min(b.len())]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text of up to `n` characters drawn from `alphabet`.
    fn texts(alphabet: &[char], n: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..n {
            last = last
                .iter()
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn quoted_fragment_is_liquids_regex() {
        let re = Regex::new(QF).unwrap();
        let all = texts(&['"', '\'', ' ', ',', '|', 'a', 'é', '\u{b}'], 6);
        assert!(all.len() > 250_000);
        for t in &all {
            assert_eq!(quoted_fragment(t), re.find(t).map(|m| m.range()), "{t:?}");
        }
    }

    #[test]
    fn variable_parts_are_liquids_regex() {
        let re = Regex::new(r"\[[^\]]+\]|[\w-]+\??").unwrap();
        let all = texts(&['[', ']', 'a', '-', '?', '.', 'é', ' '], 6);
        for t in &all {
            let want: Vec<&str> = re.find_iter(t).map(|m| m.as_str()).collect();
            assert_eq!(variable_parts(t), want, "{t:?}");
        }
    }
}
