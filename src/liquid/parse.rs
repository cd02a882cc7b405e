//! Liquid tokens to a syntax tree, with Liquid 5's whitespace control and block rules.
//!
//! Tags understood: `if`/`elsif`/`else`/`unless`/`case`/`when`, `for` (with `limit:`, `offset:`,
//! `offset: continue`, `reversed`, `else`, `break`, `continue`, `forloop.*`), `tablerow`,
//! `assign`, `capture`, `raw`, `comment`, `#`, `liquid`, `increment`/`decrement`, `cycle`,
//! `ifchanged`, `echo`, and Jekyll's `include`, `include_relative` and `link`. Each body is
//! parsed with Liquid's blank-block rule (see `TemplateParser::body`). `{%-`/`-%}` and
//! `{{-`/`-}}` strip whitespace as Liquid does. A markup Liquid's strict parser rejects is read the lax way (as Jekyll's default `warn`
//! mode does) and reported as a warning; unknown tags, unterminated tags and unclosed blocks
//! are fatal, as they are for Jekyll.

use super::ast::*;
use super::expr::{self, Parser};
use super::lexer::{Token, TokenKind, tokenize};
use super::value;
use regex_lite::Regex;
use std::sync::LazyLock;

#[derive(Debug, Clone)]
pub struct ParseError {
    pub message: String,
    pub offset: usize,
    pub width: usize,
    pub hint: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ParseWarning {
    pub code: &'static str,
    /// For a malformed output tag: the expression Jekyll keeps, to show what it renders.
    pub kept: Option<String>,
    pub message: String,
    pub offset: usize,
    pub width: usize,
    pub hint: Option<String>,
}

pub struct Parsed {
    pub nodes: Vec<Node>,
    pub warnings: Vec<ParseWarning>,
}

pub fn parse(src: &str) -> Result<Parsed, ParseError> {
    let tokens = tokenize(src);
    let mut p = TemplateParser {
        src,
        tokens,
        i: 0,
        trim_next: false,
        warnings: Vec::new(),
        depth: 0,
        tag_blank: false,
    };
    let (nodes, end, _) = p.body(&[])?;
    if let Some((name, _, pos, _)) = end {
        return Err(ParseError {
            message: format!("Unknown tag '{name}'"),
            offset: pos,
            width: name.len() + 3,
            hint: Some(format!("`{name}` has no opening tag here")),
        });
    }
    Ok(Parsed {
        nodes,
        warnings: p.warnings,
    })
}

struct TemplateParser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    i: usize,
    trim_next: bool,
    warnings: Vec<ParseWarning>,
    /// Blocks open around the current position.
    depth: usize,
    /// Whether the tag `tag` just parsed is blank in Liquid's sense (see `body`).
    tag_blank: bool,
}

/// Blocks nested deeper than this are refused (Jekyll itself overflows its stack).
pub const MAX_DEPTH: usize = 100;

/// A tag that ended a body: (name, markup, offset of the tag, offset of the markup).
type EndTag = Option<Ending>;
type Ending = (String, String, usize, usize);

/// Ruby's `/\A\s*\z/`: the text Liquid's blank-block rule ignores.
fn ruby_blank(s: &str) -> bool {
    s.bytes().all(expr::is_space)
}

/// Liquid's `remove_blank_strings`: a control-flow block (`if`, `unless`, `case`, `for`)
/// whose bodies are all blank (whitespace, `assign`, `capture`, comments, nested blank
/// blocks) keeps none of their text, so `{% if x %}\n  {% assign a = 1 %}\n{% endif %}`
/// renders nothing.
fn remove_blank_strings(body: &mut Vec<Node>) {
    body.retain(|n| !matches!(n, Node::Text(_)));
}

fn rstrip(s: &mut String) {
    let n = s
        .trim_end_matches(['\t', '\n', '\x0b', '\x0c', '\r', ' ', '\0'])
        .len();
    s.truncate(n);
}

impl<'a> TemplateParser<'a> {
    fn token_text(&self, t: &Token) -> &'a str {
        &self.src[t.start..t.end]
    }

    fn whitespace(&mut self, text: &str, nodes: &mut [Node]) {
        let b = text.as_bytes();
        if b.len() > 2
            && b[2] == b'-'
            && let Some(Node::Text(prev)) = nodes.last_mut()
        {
            rstrip(prev);
        }
        self.trim_next = b.len() >= 5 && b[b.len() - 3] == b'-';
    }

    /// Parse nodes until one of `until` tags (returned) or the end of the template.
    /// Also says whether the body is blank, Liquid's `BlockBody#blank?`: all its text is
    /// whitespace, it has no `{{ }}`, and each of its tags is blank (`assign`, `capture`,
    /// `comment`, `{% # %}`, an empty `raw`, a block whose bodies are all blank; not
    /// `echo`, `increment`, `cycle`, `include`, `break`...).
    fn body(&mut self, until: &[&str]) -> Result<(Vec<Node>, EndTag, bool), ParseError> {
        self.body_with(until, false)
    }

    /// `body`; with `skip_unknown` (a comment's body) tags Liquid does not know and end tags
    /// of other blocks are ignored, while the tags it knows are parsed as anywhere else.
    fn body_with(
        &mut self,
        until: &[&str],
        skip_unknown: bool,
    ) -> Result<(Vec<Node>, EndTag, bool), ParseError> {
        let mut nodes: Vec<Node> = Vec::new();
        let mut blank = true;
        while self.i < self.tokens.len() {
            let tok = self.tokens[self.i];
            self.i += 1;
            let text = self.token_text(&tok);
            match tok.kind {
                TokenKind::Text => {
                    let t = if self.trim_next {
                        text.trim_start_matches(['\t', '\n', '\x0b', '\x0c', '\r', ' '])
                    } else {
                        text
                    };
                    self.trim_next = false;
                    blank &= ruby_blank(t);
                    if !t.is_empty() {
                        nodes.push(Node::Text(t.to_string()));
                    }
                }
                TokenKind::Output => {
                    self.whitespace(text, &mut nodes);
                    blank = false;
                    if !(text.len() >= 4 && text.ends_with("}}")) {
                        return Err(ParseError {
                            message: format!(
                                "Variable '{}' was not properly terminated with regexp: /\\}}\\}}/",
                                first_line(text)
                            ),
                            offset: tok.start,
                            width: 2,
                            hint: Some(
                                "close it with `}}`; to show a literal `{{` write {{ \"{{\" }} or wrap the text in {% raw %}…{% endraw %}"
                                    .into(),
                            ),
                        });
                    }
                    let (inner, inner_start) = strip_delims(text, tok.start);
                    let f = self.filtered(inner, inner_start, tok.start, text)?;
                    nodes.push(Node::Output(f, tok.start));
                }
                TokenKind::Tag | TokenKind::Line => {
                    let split = if tok.kind == TokenKind::Tag {
                        self.whitespace(text, &mut nodes);
                        split_tag(text, tok.start)
                    } else {
                        line_tag(text, tok.start)
                    };
                    let Some((name, markup, markup_start)) = split else {
                        if skip_unknown && tok.kind == TokenKind::Line {
                            continue;
                        }
                        if tok.kind == TokenKind::Line {
                            return Err(ParseError {
                                message: format!("Unknown tag '{}'", text.trim()),
                                offset: tok.start + text.len() - text.trim_start().len(),
                                width: text.trim_end().len().max(1),
                                hint: Some(
                                    "each line of `{% liquid %}` is one tag without `{%` `%}` (`assign x = 1`, `echo x`)"
                                        .into(),
                                ),
                            });
                        }
                        return Err(ParseError {
                            message: format!(
                                "Tag '{}' was not properly terminated with regexp: /\\%\\}}/",
                                first_line(text)
                            ),
                            offset: tok.start,
                            width: 2,
                            hint: Some("close the tag with `%}`; to show a literal `{%` use {% raw %}…{% endraw %}".into()),
                        });
                    };
                    if name == "liquid" && tok.kind == TokenKind::Tag {
                        // its tags join this body, one per line
                        let (inner, inner_blank) = self.liquid_tag(markup, markup_start)?;
                        blank &= inner_blank;
                        nodes.extend(inner);
                        continue;
                    }
                    if until.contains(&name) {
                        return Ok((
                            nodes,
                            Some((
                                name.to_string(),
                                markup.to_string(),
                                tok.start,
                                markup_start,
                            )),
                            blank,
                        ));
                    }
                    self.tag_blank = false;
                    match self.tag(name, markup, markup_start, tok.start, until)? {
                        Some(node) => {
                            blank &= self.tag_blank;
                            nodes.push(node);
                        }
                        None if skip_unknown => {}
                        None => {
                            if let Some(ended) = until.last() {
                                return Err(unknown_in_block(name, ended, tok.start));
                            }
                            return Err(ParseError {
                                message: format!("Unknown tag '{name}'"),
                                offset: tok.start,
                                width: text.len().min(name.len() + 6),
                                hint: Some(
                                    "runbook knows Liquid's and Jekyll's standard tags; check the spelling or wrap literal text in {% raw %}…{% endraw %}"
                                        .into(),
                                ),
                            });
                        }
                    }
                }
            }
        }
        if let Some(end) = until.last() {
            // the caller reports which block was never closed
            return Err(ParseError {
                message: format!("missing `{{% {end} %}}`"),
                offset: self.src.len(),
                width: 1,
                hint: None,
            });
        }
        Ok((nodes, None, blank))
    }

    /// `{% liquid %}`: each non-blank line of the markup is a tag (blocks open and close
    /// inside it). Its nodes, and whether they are all blank.
    fn liquid_tag(&mut self, markup: &str, mstart: usize) -> Result<(Vec<Node>, bool), ParseError> {
        let mut tokens = Vec::new();
        let mut at = mstart;
        for line in markup.split('\n') {
            if !ruby_blank(line) {
                tokens.push(Token {
                    kind: TokenKind::Line,
                    start: at,
                    end: at + line.len(),
                });
            }
            at += line.len() + 1;
        }
        let mut sub = TemplateParser {
            src: self.src,
            tokens,
            i: 0,
            trim_next: false,
            warnings: Vec::new(),
            depth: self.depth,
            tag_blank: false,
        };
        let result = sub.body(&[]);
        self.warnings.append(&mut sub.warnings);
        let (nodes, _, blank) = result?;
        Ok((nodes, blank))
    }

    fn block(
        &mut self,
        name: &str,
        pos: usize,
        until: &[&str],
    ) -> Result<(Vec<Node>, Ending, bool), ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(ParseError {
                message: format!("blocks are nested more than {MAX_DEPTH} deep"),
                offset: pos,
                width: name.len() + 6,
                hint: Some("close some blocks, or move the inner part to an include".into()),
            });
        }
        self.depth += 1;
        let body = self.body(until);
        self.depth -= 1;
        match body {
            Ok((nodes, Some(end), blank)) => Ok((nodes, end, blank)),
            Ok((_, None, _)) => unreachable_close(name, pos),
            Err(e) if e.message.starts_with("missing `") => Err(ParseError {
                message: format!("'{name}' tag was never closed"),
                offset: pos,
                width: name.len() + 6,
                hint: Some(format!(
                    "add `{{% {} %}}` where the block ends",
                    until.last().unwrap_or(&"end")
                )),
            }),
            Err(e) => Err(e),
        }
    }

    /// Jekyll's `warn` mode: a markup the strict parser rejects is read the lax way.
    fn warn_lax(&mut self, kind: &str, markup: &str, at: usize, e: &expr::SyntaxError) {
        self.warnings.push(ParseWarning {
            code: "malformed-tag",
            kept: None,
            message: format!(
                "Liquid syntax error: {} in \"{}\"",
                e.message,
                markup.trim()
            ),
            offset: at,
            width: markup.trim_end().len().max(1),
            hint: Some(format!("{kind}: read the lax way, as Jekyll does")),
        });
    }

    fn filtered(
        &mut self,
        inner: &str,
        inner_start: usize,
        tag_pos: usize,
        text: &str,
    ) -> Result<Filtered, ParseError> {
        let strict = Parser::new(inner, inner_start).and_then(|mut p| p.filtered());
        match strict {
            Ok(f) => Ok(f),
            Err(e) => {
                let lax = expr::filtered_lax(inner, inner_start);
                let shown = lax
                    .expr
                    .as_ref()
                    .map(describe)
                    .unwrap_or_else(|| "nothing".into());
                self.warnings.push(ParseWarning {
                    code: "malformed-tag",
                    kept: lax.expr.as_ref().map(describe),
                    message: format!(
                        "Liquid syntax error: {} in \"{}\"",
                        e.message,
                        text.replace('\n', " ")
                    ),
                    offset: tag_pos,
                    width: text.lines().next().unwrap_or("").len(),
                    hint: Some(format!(
                        "Jekyll reads this as `{{{{ {} }}}}` and drops the rest{}",
                        shown,
                        if lax.filters.is_empty() {
                            String::new()
                        } else {
                            " except the filters".into()
                        }
                    )),
                });
                Ok(lax)
            }
        }
    }

    fn condition(&mut self, kind: &str, markup: &str, start: usize) -> Result<Cond, ParseError> {
        match Parser::new(markup, start).and_then(|mut p| {
            let c = p.condition()?;
            p.end()?;
            Ok(c)
        }) {
            Ok(c) => Ok(c),
            Err(e) => match expr::condition_lax(markup, start) {
                Some(c) => {
                    self.warn_lax(kind, markup, start, &e);
                    Ok(c)
                }
                None => Err(ParseError {
                    message: format!(
                        "Syntax Error in tag '{kind}' - Valid syntax: {kind} [expression]"
                    ),
                    offset: start,
                    width: markup.len().max(1),
                    hint: Some(e.message),
                }),
            },
        }
    }

    /// One tag. Sets `self.tag_blank` when the tag is blank for Liquid's blank-block rule.
    fn tag(
        &mut self,
        name: &str,
        markup: &str,
        mstart: usize,
        pos: usize,
        _until: &[&str],
    ) -> Result<Option<Node>, ParseError> {
        let mut blank = false;
        let node = match name {
            "if" | "unless" => {
                let end = if name == "if" { "endif" } else { "endunless" };
                let mut branches = Vec::new();
                let mut cond = self.condition(name, markup, mstart)?;
                let mut otherwise = None;
                let mut all_blank = true;
                loop {
                    let (nodes, (t, m, _, ms), b) =
                        self.block(name, pos, &["elsif", "else", end])?;
                    all_blank &= b;
                    branches.push((cond, nodes));
                    match t.as_str() {
                        "elsif" => cond = self.condition("elsif", &m, ms)?,
                        "else" => {
                            let (nodes, (mut t, mut m, _, mut ms), b) =
                                self.block(name, pos, &["elsif", "else", end])?;
                            all_blank &= b;
                            otherwise = Some(nodes);
                            // Liquid 5 takes more `else`/`elsif` after the `else`: they are
                            // parsed, but the first `else` always wins, so they never render
                            while t != end {
                                if t == "elsif" {
                                    self.condition("elsif", &m, ms)?;
                                }
                                let (_, next, b) =
                                    self.block(name, pos, &["elsif", "else", end])?;
                                all_blank &= b;
                                (t, m, _, ms) = next;
                            }
                            break;
                        }
                        _ => break,
                    }
                }
                if all_blank {
                    branches
                        .iter_mut()
                        .for_each(|(_, b)| remove_blank_strings(b));
                    otherwise.iter_mut().for_each(remove_blank_strings);
                }
                blank = all_blank;
                Node::If {
                    branches,
                    negate_first: name == "unless",
                    otherwise,
                    pos,
                }
            }
            "case" => {
                let subject = self.expression("case", markup, mstart)?;
                let mut arms = Vec::new();
                // text before the first `when` is dropped, as in Liquid (but it counts for
                // the blank-block rule)
                let (_, (mut t, mut m, mut tpos, mut ms), mut all_blank) =
                    self.block("case", pos, &["when", "else", "endcase"])?;
                loop {
                    match t.as_str() {
                        "when" => {
                            let values = self.when_values(&m, ms)?;
                            let (nodes, next, b) =
                                self.block("case", pos, &["when", "else", "endcase"])?;
                            all_blank &= b;
                            arms.push(CaseArm::When(values, nodes));
                            (t, m, tpos, ms) = next;
                        }
                        "else" => {
                            if !ruby_blank(&m) {
                                return Err(ParseError {
                                    message: "Syntax Error in tag 'case' - Valid else condition: {% else %} (no parameters) ".into(),
                                    offset: tpos,
                                    width: m.trim_end().len() + 8,
                                    hint: Some("write `{% else %}`, or `{% when value %}` for another case".into()),
                                });
                            }
                            let (nodes, next, b) =
                                self.block("case", pos, &["when", "else", "endcase"])?;
                            all_blank &= b;
                            arms.push(CaseArm::Else(nodes));
                            (t, m, tpos, ms) = next;
                        }
                        _ => break,
                    }
                }
                if all_blank {
                    for arm in &mut arms {
                        match arm {
                            CaseArm::When(_, b) | CaseArm::Else(b) => remove_blank_strings(b),
                        }
                    }
                }
                blank = all_blank;
                Node::Case(subject, arms, pos)
            }
            "for" => {
                let (node, b) = self.for_tag(markup, mstart, pos)?;
                blank = b;
                node
            }
            "tablerow" => {
                let (node, b) = self.tablerow(markup, mstart, pos)?;
                blank = b;
                node
            }
            "assign" => {
                let Some(eq) = markup.find('=') else {
                    return Err(ParseError {
                        message: "Syntax Error in 'assign' - Valid syntax: assign [var] = [source]"
                            .into(),
                        offset: pos,
                        width: markup.len() + 10,
                        hint: Some("write `{% assign name = value %}`".into()),
                    });
                };
                let var = markup[..eq].trim().to_string();
                if var.is_empty()
                    || !var
                        .chars()
                        .all(|c| c.is_alphanumeric() || "_-.[]()".contains(c))
                {
                    return Err(ParseError {
                        message: "Syntax Error in 'assign' - Valid syntax: assign [var] = [source]"
                            .into(),
                        offset: mstart,
                        width: eq.max(1),
                        hint: Some(
                            "the name on the left of `=` must be a plain variable name".into(),
                        ),
                    });
                }
                let rhs = &markup[eq + 1..];
                let rstart = mstart + eq + 1;
                let text = format!("{{% assign {markup} %}}");
                let f = self.filtered(rhs, rstart, pos, &text)?;
                blank = true;
                Node::Assign(var, f, pos)
            }
            "capture" => {
                let var = markup
                    .trim()
                    .trim_matches(|c| c == '"' || c == '\'')
                    .to_string();
                if var.is_empty() {
                    return Err(ParseError {
                        message: "Syntax Error in 'capture' - Valid syntax: capture [var]".into(),
                        offset: pos,
                        width: 10,
                        hint: None,
                    });
                }
                let (nodes, _, _) = self.block("capture", pos, &["endcapture"])?;
                blank = true;
                Node::Capture(var, nodes, pos)
            }
            "raw" => {
                if !ruby_blank(markup) {
                    return Err(ParseError {
                        message: "Syntax Error in 'raw' - Valid syntax: raw".into(),
                        offset: pos,
                        width: markup.trim_end().len() + 7,
                        hint: Some("`raw` takes nothing after its name: `{% raw %}`".into()),
                    });
                }
                let body = self.raw(pos)?;
                blank = body.is_empty();
                Node::Raw(body)
            }
            "comment" => {
                self.comment(pos)?;
                blank = true;
                Node::Text(String::new())
            }
            "#" => {
                // `{% # note %}`; each further line of it must start with `#` too
                if let Some(bad) = markup.split('\n').skip(1).position(|l| {
                    l.trim_start_matches([' ', '\t', '\x0b', '\x0c', '\r'])
                        .chars()
                        .next()
                        .is_some_and(|c| c != '#')
                }) {
                    let line_start = markup
                        .match_indices('\n')
                        .nth(bad)
                        .map(|(i, _)| {
                            let line = &markup[i + 1..];
                            mstart + i + 1 + line.len() - line.trim_start().len()
                        })
                        .unwrap_or(mstart);
                    return Err(ParseError {
                        message: "Syntax error in tag '#' - Each line of comments must be prefixed by the '#' character".into(),
                        offset: line_start,
                        width: 1,
                        hint: Some("start every line of the comment with `#`, or use {% comment %}…{% endcomment %}".into()),
                    });
                }
                blank = true;
                Node::Text(String::new())
            }
            "echo" => {
                let text = format!("{{% echo {markup} %}}");
                Node::Output(self.filtered(markup, mstart, pos, &text)?, pos)
            }
            "increment" | "decrement" => {
                Node::Increment(markup.trim().to_string(), pos, name == "increment")
            }
            "cycle" => self.cycle(markup, mstart, pos)?,
            "ifchanged" => {
                let (nodes, _, b) = self.block("ifchanged", pos, &["endifchanged"])?;
                blank = b;
                Node::IfChanged(nodes)
            }
            "break" => Node::Break,
            "continue" => Node::Continue,
            "include" | "include_relative" => {
                Node::Include(self.include(name, markup, mstart, pos)?, pos)
            }
            "link" => Node::Link(markup.trim().to_string(), pos),
            _ => return Ok(None),
        };
        self.tag_blank = blank;
        Ok(Some(node))
    }

    fn expression(&mut self, kind: &str, markup: &str, start: usize) -> Result<Expr, ParseError> {
        match Parser::new(markup, start).and_then(|mut p| {
            let e = p.expression()?;
            p.end()?;
            Ok(e)
        }) {
            Ok(e) => Ok(e),
            Err(e) => {
                self.warn_lax(kind, markup, start, &e);
                Ok(expr::parse_expression_lax(markup, start))
            }
        }
    }

    fn when_values(&mut self, markup: &str, start: usize) -> Result<Vec<Expr>, ParseError> {
        let strict = Parser::new(markup, start).and_then(|mut p| {
            let mut v = vec![p.expression()?];
            while p.consume_opt(&expr::Tok::Comma) || p.word("or") {
                v.push(p.expression()?);
            }
            p.end()?;
            Ok(v)
        });
        match strict {
            Ok(v) => Ok(v),
            Err(e) => {
                self.warn_lax("when", markup, start, &e);
                Ok(markup
                    .split([','])
                    .flat_map(|s| s.split(" or "))
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| expr::parse_expression_lax(s, start))
                    .collect())
            }
        }
    }

    fn for_tag(
        &mut self,
        markup: &str,
        mstart: usize,
        pos: usize,
    ) -> Result<(Node, bool), ParseError> {
        let strict = Parser::new(markup, mstart).and_then(|mut p| {
            let var = p.id()?;
            if !p.word("in") {
                return Err(expr::SyntaxError {
                    message: "For loops require an 'in' clause".into(),
                    at: 0,
                });
            }
            let coll = p.expression()?;
            let reversed = p.word("reversed");
            let mut limit = None;
            let mut offset = None;
            loop {
                p.consume_opt(&expr::Tok::Comma);
                if p.word("limit") {
                    p.consume(&expr::Tok::Colon)?;
                    limit = Some(p.expression()?);
                } else if p.word("offset") {
                    p.consume(&expr::Tok::Colon)?;
                    offset = Some(p.expression()?);
                } else {
                    break;
                }
            }
            p.end()?;
            Ok((var, coll, reversed, limit, offset))
        });
        let (var, collection, reversed, limit, offset) = match strict {
            Ok(x) => x,
            Err(e) => {
                // lax: `var in collection [reversed] [limit:x] [offset:x]`
                let words: Vec<&str> = markup.split_whitespace().collect();
                if words.len() < 3 || words[1] != "in" {
                    return Err(ParseError {
                        message:
                            "Syntax Error in 'for loop' - Valid syntax: for [item] in [collection]"
                                .into(),
                        offset: pos,
                        width: markup.len() + 6,
                        hint: Some(e.message),
                    });
                }
                self.warn_lax("for", markup, mstart, &e);
                let attr = |k: &str| {
                    markup.find(&format!("{k}:")).map(|i| {
                        let rest = markup[i + k.len() + 1..].trim_start();
                        let v = rest.split([' ', ',']).next().unwrap_or("");
                        expr::parse_expression_lax(v, mstart + i)
                    })
                };
                (
                    words[0].to_string(),
                    expr::parse_expression_lax(words[2], mstart),
                    words.get(3) == Some(&"reversed"),
                    attr("limit"),
                    attr("offset"),
                )
            }
        };
        let (mut body, (t, _, _, _), mut blank) = self.block("for", pos, &["else", "endfor"])?;
        let mut otherwise = if t == "else" {
            let (nodes, _, b) = self.block("for", pos, &["endfor"])?;
            blank &= b;
            Some(nodes)
        } else {
            None
        };
        if blank {
            remove_blank_strings(&mut body);
            otherwise.iter_mut().for_each(remove_blank_strings);
        }
        let resume = matches!(&offset, Some(Expr::Var(l))
            if l.keys.is_empty() && matches!(&l.root, Root::Name(n) if n == "continue"));
        let name = format!("{var}-{}", describe(&collection));
        let end = self.tokens[self.i - 1].end;
        Ok((
            Node::For {
                var,
                collection,
                limit,
                offset: if resume { None } else { offset },
                resume,
                name,
                reversed,
                body,
                otherwise,
                pos,
                end,
            },
            blank,
        ))
    }

    /// `{% tablerow var in collection cols: 2 limit: 3 offset: 1 %}`, read as Liquid reads
    /// it (always the lax way: a `var in collection` anywhere, then every `key: value`).
    fn tablerow(
        &mut self,
        markup: &str,
        mstart: usize,
        pos: usize,
    ) -> Result<(Node, bool), ParseError> {
        let Some(c) = TABLEROW.captures(markup) else {
            return Err(ParseError {
                message: "Syntax Error in 'table_row loop' - Valid syntax: table_row [item] in [collection] cols=3".into(),
                offset: pos,
                width: markup.trim_end().len() + 12,
                hint: Some("write `{% tablerow item in collection cols: 3 %}`".into()),
            });
        };
        let var = c[1].to_string();
        let coll = c.get(2).expect("the pattern has two groups");
        let collection = expr::parse_expression_lax(coll.as_str(), mstart + coll.start());
        let attrs = TAG_ATTRIBUTES
            .captures_iter(markup)
            .map(|a| {
                let v = a.get(2).expect("the pattern has two groups");
                (
                    a[1].to_string(),
                    expr::parse_expression_lax(v.as_str(), mstart + v.start()),
                )
            })
            .collect();
        let (body, _, blank) = self.block("tablerow", pos, &["endtablerow"])?;
        Ok((
            Node::TableRow {
                var,
                collection,
                attrs,
                body,
                pos,
            },
            blank,
        ))
    }

    /// `{% cycle a, b %}` / `{% cycle group: a, b %}`, read with Liquid's patterns: the
    /// group is the longest fragment followed by a colon; the values are the markup split
    /// at every comma (inside quotes too), each read as its first fragment.
    fn cycle(&mut self, markup: &str, mstart: usize, pos: usize) -> Result<Node, ParseError> {
        let (group, values_src, values_start) = match CYCLE_NAMED.captures(markup) {
            Some(c) => {
                let g = c.get(1).expect("the pattern has two groups");
                let v = c.get(2).expect("the pattern has two groups");
                (
                    Some(expr::parse_expression_lax(g.as_str(), mstart + g.start())),
                    v.as_str(),
                    v.start(),
                )
            }
            None if CYCLE_SIMPLE.is_match(markup) => (None, markup, 0),
            None => {
                return Err(ParseError {
                    message: "Syntax Error in 'cycle' - Valid syntax: cycle [name :] var [, var2, var3 ...]".into(),
                    offset: pos,
                    width: markup.trim_end().len() + 9,
                    hint: Some("write `{% cycle 'a', 'b' %}`".into()),
                });
            }
        };
        let mut values = Vec::new();
        let mut at = mstart + values_start;
        for piece in values_src.split(',') {
            if let Some(f) = expr::quoted_fragment(piece) {
                values.push(expr::parse_expression_lax(&piece[f.clone()], at + f.start));
            }
            at += piece.len() + 1;
        }
        // Liquid keys a cycle without a group by its values' `to_s`: the same literals share
        // a counter; a variable is an object of its own, so such a tag counts alone
        let key = if group.is_none() {
            values
                .iter()
                .map(ruby_inspect_literal)
                .collect::<Option<Vec<_>>>()
                .map(|v| format!("[{}]", v.join(", ")))
        } else {
            None
        };
        Ok(Node::Cycle {
            group,
            values,
            key,
            pos,
        })
    }

    fn include(
        &mut self,
        name: &str,
        markup: &str,
        mstart: usize,
        pos: usize,
    ) -> Result<Include, ParseError> {
        let m = markup.trim();
        let lead = markup.len() - markup.trim_start().len();
        // a file name with `{{ }}` runs until the last `}}` followed by non-space characters
        let (file, params) = if m.contains("{{") {
            let close = m.rfind("}}").map(|i| i + 2).unwrap_or(m.len());
            let end = m[close..]
                .find(char::is_whitespace)
                .map(|e| close + e)
                .unwrap_or(m.len());
            (m[..end].trim().to_string(), Some(m[end..].trim()))
        } else {
            match m.split_once(char::is_whitespace) {
                Some((f, p)) => (f.to_string(), Some(p.trim())),
                None => (m.to_string(), None),
            }
        };
        if file.is_empty() {
            return Err(ParseError {
                message: format!("'{name}' needs a file name"),
                offset: pos,
                width: name.len() + 3,
                hint: Some(format!("write `{{% {name} file.html %}}`")),
            });
        }
        let mut out = Vec::new();
        let params_text = params.unwrap_or("");
        let params_start = mstart + lead + m.find(params_text).unwrap_or(0);
        let mut rest = params_text;
        while !rest.trim().is_empty() {
            let r = rest.trim_start();
            let Some((key, after)) = parse_param(r) else {
                return Err(ParseError {
                    message: format!("Invalid syntax for include tag: {params_text}"),
                    offset: params_start + (params_text.len() - rest.len()),
                    width: r.len().min(40),
                    hint: Some(
                        "parameters are `key=\"value\"`, `key='value'` or `key=variable`".into(),
                    ),
                });
            };
            out.push(key);
            rest = after;
        }
        Ok(Include {
            file,
            file_pos: mstart + lead,
            params: out,
            has_params: params.is_some(),
            relative: name == "include_relative",
        })
    }

    /// The body of `{% raw %}`, up to a token that Liquid's `FullTokenPossiblyInvalid`
    /// reads as `endraw`. `{%- endraw %}` is not one (Liquid 5 wants `{%` then spaces then
    /// the name), so such a raw is never closed; the `-%}` of `{% raw -%}` strips the text
    /// after `endraw`, not the raw's own text, and `{% endraw -%}` strips nothing.
    fn raw(&mut self, pos: usize) -> Result<String, ParseError> {
        let trim_after = self.trim_next;
        let mut body = String::new();
        while self.i < self.tokens.len() {
            let tok = self.tokens[self.i];
            self.i += 1;
            let text = self.token_text(&tok);
            if let Some(before) = raw_end(text) {
                self.trim_next = trim_after;
                body.push_str(before);
                return Ok(body);
            }
            body.push_str(text);
        }
        Err(ParseError {
            message: "'raw' tag was never closed".into(),
            offset: pos,
            width: 9,
            hint: Some(
                "add `{% endraw %}` where the literal text ends (Liquid does not read `{%- endraw` as its end)".into(),
            ),
        })
    }

    /// A comment's body is parsed as Liquid 5 parses it: the tags it knows must be
    /// well-formed and closed (`{% comment %}{% if %}{% endcomment %}` is an error for
    /// Jekyll), the others are ignored. Nothing in it renders.
    fn comment(&mut self, pos: usize) -> Result<(), ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(ParseError {
                message: format!("blocks are nested more than {MAX_DEPTH} deep"),
                offset: pos,
                width: 13,
                hint: Some("close some blocks, or move the inner part to an include".into()),
            });
        }
        self.depth += 1;
        let body = self.body_with(&["endcomment"], true);
        self.depth -= 1;
        match body {
            Ok((_, Some(_), _)) => Ok(()),
            Ok((_, None, _)) => unreachable_close("comment", pos),
            Err(e) if e.message.starts_with("missing `") => Err(ParseError {
                message: "'comment' tag was never closed".into(),
                offset: pos,
                width: 13,
                hint: Some("add `{% endcomment %}`".into()),
            }),
            Err(e) => Err(e),
        }
    }
}

fn unreachable_close<T>(name: &str, pos: usize) -> Result<T, ParseError> {
    Err(ParseError {
        message: format!("'{name}' tag was never closed"),
        offset: pos,
        width: name.len() + 6,
        hint: None,
    })
}

fn unknown_in_block(tag: &str, block_end: &str, pos: usize) -> ParseError {
    let block = block_end.trim_start_matches("end");
    let (message, hint) = if tag == "else" {
        (format!("{block} tag does not expect 'else' tag"), None)
    } else if tag.starts_with("end") {
        (
            format!("'{tag}' is not a valid delimiter for {block} tags. use {block_end}"),
            Some(format!(
                "close the open `{block}` first with `{{% {block_end} %}}`"
            )),
        )
    } else {
        (format!("Unknown tag '{tag}'"), None)
    };
    ParseError {
        message,
        offset: pos,
        width: tag.len() + 6,
        hint,
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// `{{- x -}}` → (" x ", offset of " x ")
fn strip_delims(text: &str, start: usize) -> (&str, usize) {
    let mut inner = &text[2..text.len() - 2];
    let mut s = start + 2;
    if let Some(r) = inner.strip_prefix('-') {
        inner = r;
        s += 1;
    }
    if let Some(r) = inner.strip_suffix('-') {
        inner = r;
    }
    (inner, s)
}

/// `{%- name markup -%}` → (name, markup, offset of markup)
fn split_tag(text: &str, start: usize) -> Option<(&str, &str, usize)> {
    if text.len() < 4 || !text.ends_with("%}") {
        return None;
    }
    let (inner, s) = strip_delims(text, start);
    let lead = inner.len() - inner.trim_start().len();
    let rest = &inner[lead..];
    // Liquid's tag name: `#` (an inline comment) or a word
    let name_len = if rest.starts_with('#') {
        1
    } else {
        rest.bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count()
    };
    if name_len == 0 {
        return None;
    }
    let name = &rest[..name_len];
    let after = &rest[name_len..];
    let ws = after.len() - after.trim_start().len();
    Some((name, &after[ws..], s + lead + name_len + ws))
}

/// Whether a token inside `raw` ends it (Liquid's `/\A(.*){%\s*(\w+)\s*(.*)?%}\z/m` with
/// `endraw` as the name): the text before its `{%`.
fn raw_end(token: &str) -> Option<&str> {
    if !token.ends_with("%}") {
        return None;
    }
    // `(.*)` is greedy: the last `{%` that reads as the tag
    token.rmatch_indices("{%").find_map(|(at, _)| {
        let after = token[at + 2..].trim_start_matches(['\t', '\n', '\x0b', '\x0c', '\r', ' ']);
        let word = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        (word > 0 && &after[..word] == "endraw" && after.len() >= word + 2).then(|| &token[..at])
    })
}

/// One line of `{% liquid %}` (Liquid's `/\A\s*(#|\w+)\s*(.*?)\z/`) → (name, markup, offset
/// of the markup).
fn line_tag(line: &str, start: usize) -> Option<(&str, &str, usize)> {
    let lead = line.len() - line.trim_start().len();
    let rest = &line[lead..];
    let name_len = if rest.starts_with('#') {
        1
    } else {
        rest.bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count()
    };
    if name_len == 0 {
        return None;
    }
    let after = &rest[name_len..];
    let ws = after.len() - after.trim_start().len();
    Some((
        &rest[..name_len],
        &after[ws..],
        start + lead + name_len + ws,
    ))
}

static TABLEROW: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(\w+)\s+in\s+((?:{})+)", expr::QF)).unwrap());
static TAG_ATTRIBUTES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(\w[\w-]*)\s*:\s*({})", expr::QF)).unwrap());
static CYCLE_NAMED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?s)\A({})\s*:\s*(.*)", expr::QF)).unwrap());
static CYCLE_SIMPLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"\A(?:{})+", expr::QF)).unwrap());

/// Ruby's `inspect` of a literal as Liquid parses it (`1`, `"a"`, `1.5`, `nil`, `1..3`);
/// None for a variable, whose `inspect` is an object's address.
fn ruby_inspect_literal(e: &Expr) -> Option<String> {
    Some(match e {
        Expr::Nil => "nil".into(),
        Expr::Bool(b) => b.to_string(),
        Expr::Int(i) => i.to_string(),
        Expr::Float(f) => value::ruby_float(*f),
        Expr::Str(s) => value::inspect(&minijinja::Value::from(s.as_str())),
        // Liquid 5 parses `empty` and `blank` outside conditions as ""
        Expr::Empty | Expr::Blank => "\"\"".into(),
        Expr::Range(a, b) => {
            let bound = |e: &Expr| match e {
                Expr::Int(i) => Some(*i),
                Expr::Float(f) => Some(f.trunc() as i64),
                Expr::Nil => Some(0),
                _ => None,
            };
            format!("{}..{}", bound(a)?, bound(b)?)
        }
        Expr::Var(_) => return None,
    })
}

/// One `key=value` include parameter; returns it and the rest of the markup.
fn parse_param(s: &str) -> Option<((String, IncludeValue), &str)> {
    let klen = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
        .count();
    if klen == 0 {
        return None;
    }
    let key = &s[..klen];
    let rest = s[klen..].trim_start().strip_prefix('=')?.trim_start();
    let q = rest.as_bytes().first().copied()?;
    if q == b'"' || q == b'\'' {
        let mut i = 1;
        let b = rest.as_bytes();
        while i < b.len() && b[i] != q {
            if b[i] == b'\\' {
                i += 1;
            }
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        let raw = &rest[1..i];
        let esc = if q == b'"' { "\\\"" } else { "\\'" };
        let value = raw.replace(esc, &(q as char).to_string());
        let after = &rest[i + 1..];
        if !(after.is_empty() || after.starts_with(char::is_whitespace)) {
            return None;
        }
        Some(((key.to_string(), IncludeValue::Str(value)), after))
    } else {
        let vlen = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-' || *b == b'.')
            .count();
        if vlen == 0 {
            return None;
        }
        let after = &rest[vlen..];
        if !(after.is_empty() || after.starts_with(char::is_whitespace)) {
            return None;
        }
        Some((
            (
                key.to_string(),
                IncludeValue::Var(expr::parse_expression_lax(&rest[..vlen], 0)),
            ),
            after,
        ))
    }
}

/// Short text of an expression, for hints.
pub fn describe(e: &Expr) -> String {
    match e {
        Expr::Var(l) => l.text.clone(),
        Expr::Str(s) => format!("\"{s}\""),
        Expr::Int(i) => i.to_string(),
        Expr::Float(f) => f.to_string(),
        Expr::Bool(b) => b.to_string(),
        Expr::Nil => "nil".into(),
        Expr::Empty => "empty".into(),
        Expr::Blank => "blank".into(),
        Expr::Range(a, b) => format!("({}..{})", describe(a), describe(b)),
    }
}
