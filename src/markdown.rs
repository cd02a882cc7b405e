//! Markdown front end: turns a rendered page (Liquid already resolved, front
//! matter removed) into a flat, document-ordered list of [`Block`]s. This is
//! the only module that talks to pulldown-cmark.
//!
//! # Grammar of a runbook page
//!
//! A page is read as CommonMark (plus GFM tables and strikethrough), with the
//! kramdown extensions Jekyll sites rely on layered on top:
//!
//! * **Headings** (`#`…`######`, setext too) start sections. Their id is the
//!   one kramdown's GFM parser (Jekyll's default) would give: the plain text of
//!   the heading, lowercased, every character that is not a Unicode word
//!   character (letter, mark, digit, `_`), `-`, space or tab removed, spaces
//!   and tabs turned into `-`; the n-th repeat of an id on a page gets `-n`
//!   appended (`setup`, `setup-1`, `setup-2`). kramdown's typographic
//!   conversion turns `--`/`---` in text (not in code spans) into dashes that
//!   the slug then drops, so they are dropped here too. A custom id overrides
//!   the slug and does not count as a repeat: either a trailing `{#custom-id}`
//!   on the heading line (removed from the text) or a kramdown block IAL
//!   `{: #custom-id}` on the line right after the heading.
//! * **Code blocks** are fenced (```` ``` ````/`~~~`) or indented (4 spaces
//!   relative to the container), at any depth: inside list items, block
//!   quotes, nested lists. The text is what pulldown-cmark gives as the
//!   block's content: container prefixes (`> `, list indentation) and the 4
//!   spaces of an indented block removed, everything else kept byte for byte.
//!   The language is the first word of the info string (`bash`, `.bash`,
//!   `language-bash` and `{.bash}` all give `bash`, lowercased). Attributes can
//!   follow the language in braces (```` ```bash {runbook=skip} ````), be the
//!   whole info string (```` ```{.bash runbook=run} ````), or be bare
//!   `key=value` words after the language.
//! * **Block IALs**: a paragraph line `{: …}` (kramdown inline attribute list,
//!   possibly inside a block quote) directly after a code block, in the same
//!   container and with nothing in between, adds its classes, id and
//!   `key=value` pairs to the block's attributes. When the info string gave no
//!   language, the language comes from the first `language-X` class, else
//!   from the first class that is not a known layout class (`.bash` → `bash`,
//!   `.output` → `output`, `.source` → `source`; `.challenge`, `.callout`, …
//!   are layout classes). IAL lines never produce prose; IALs anywhere else
//!   (after block quotes, lists, `{:toc}`) are dropped.
//! * **Prose** is the plain text of a paragraph, or of the text of a list
//!   item in a tight list: inline code is kept as its content, link and image
//!   texts are kept, URLs and inline HTML are dropped, line breaks are `\n`.
//!   Prose is what introduces the code block that follows it. Table cells are
//!   not prose.
//! * **Lists and items**: every bulleted or ordered list is a [`List`], and
//!   every item of it an [`Item`] (see [`parse_page`]); a list nested in an
//!   item is a list of its own, whose items name that item as their
//!   `parent`. An item's *text* is the prose of the item itself (its
//!   paragraphs, or the text of a tight item, and prose in block quotes inside
//!   it), joined by blank lines; the text of nested lists' items is not part
//!   of it. An item's *code spans* are the inline code of that same text, each
//!   with the byte range of its content in the input (backticks and the one
//!   padding space CommonMark strips are not part of it). An item *has code*
//!   when a code block sits anywhere inside it, nested lists and block quotes
//!   included. Items and lists inside an HTML comment do not exist.
//! * **Block quotes** (`> ...`) are recorded ([`Quote`], nested ones naming their parent),
//!   and every block and item says which quote it sits in (innermost): a heading inside a
//!   quote is a lesson's callout (`> ## Solution`), whose section ends with the quote (see
//!   [`crate::runbook`]). A `{: .solution}` IAL after a quote is dropped like any other.
//! * **HTML comments** hide everything they contain: from an opening `<!--`
//!   (in an HTML block, inline HTML or plain paragraph text) to the next
//!   `-->` in the input (or to the end of the input when there is none), no
//!   block is produced, even if the comment holds fenced code that the
//!   Markdown parser would otherwise read as code.
//!
//! What is a *step*, which blocks are runnable and what is a *placeholder* is
//! defined on top of these blocks in [`crate::runbook`].
//!
//! Every block carries a [`Span`]: its byte range in the input and the
//! 1-based lines of its first and last byte.

use std::collections::HashMap;
use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// Byte range of a block in the input, with its first and last line (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    /// Line of the first byte, 1-based.
    pub start_line: usize,
    /// Line of the last byte that is not a line terminator, 1-based.
    pub end_line: usize,
}

impl Span {
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// Maps byte offsets of a text to 1-based line and column numbers.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        LineIndex {
            starts: crate::source::line_starts(text),
            len: text.len(),
        }
    }

    /// 1-based line of the byte at `offset` (offsets past the end give the last line).
    pub fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.len);
        self.starts.partition_point(|&s| s <= offset)
    }

    /// Byte offset where 1-based `line` starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.starts[line.clamp(1, self.starts.len()) - 1]
    }

    /// 1-based line and 1-based column (counted in characters) of `offset` in `text`,
    /// which must be the text this index was built from.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.line(offset);
        let start = self.line_start(line);
        let col = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, col + 1)
    }

    /// A span for `range`, ignoring trailing line terminators for the end line.
    pub fn span(&self, text: &str, range: Range<usize>) -> Span {
        let bytes = text.as_bytes();
        let mut last = range.end.min(bytes.len());
        while last > range.start && matches!(bytes[last - 1], b'\n' | b'\r') {
            last -= 1;
        }
        let last = if last > range.start {
            last - 1
        } else {
            range.start
        };
        Span {
            start: range.start,
            end: range.end,
            start_line: self.line(range.start),
            end_line: self.line(last),
        }
    }
}

/// Attributes of a code block, from its info string and from a kramdown IAL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    pub id: Option<String>,
    /// Classes without the leading dot, in order of appearance.
    pub classes: Vec<String>,
    /// `key=value` pairs, quotes removed, in order of appearance.
    pub pairs: Vec<(String, String)>,
}

impl Attrs {
    /// Value of the last `key=value` pair with this key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_none() && self.classes.is_empty() && self.pairs.is_empty()
    }

    fn merge(&mut self, other: Attrs) {
        if other.id.is_some() {
            self.id = other.id;
        }
        self.classes.extend(other.classes);
        self.pairs.extend(other.pairs);
    }

    /// Language named by the classes: the first `language-X`, else the first
    /// class that is not a layout class.
    pub fn language(&self) -> Option<String> {
        if let Some(l) = self
            .classes
            .iter()
            .find_map(|c| c.strip_prefix("language-"))
            .filter(|l| !l.is_empty())
        {
            return Some(l.to_ascii_lowercase());
        }
        self.classes
            .iter()
            .find(|c| !LAYOUT_CLASSES.contains(&c.to_ascii_lowercase().as_str()))
            .map(|c| c.to_ascii_lowercase())
    }
}

/// Classes used for page layout (Jekyll themes, Carpentries lessons) that never name a language.
const LAYOUT_CLASSES: &[&str] = &[
    "callout",
    "challenge",
    "checklist",
    "discussion",
    "highlight",
    "highlighter-rouge",
    "keypoints",
    "no_toc",
    "objectives",
    "prereq",
    "solution",
    "testimonial",
    "toc",
    "warning",
    "note",
    "tip",
    "caution",
];

/// A fenced or indented code block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// Language from the info string, else from the IAL classes; lowercase.
    pub lang: Option<String>,
    /// Full info string as written after the fence (empty for indented blocks).
    pub info: String,
    /// Block content exactly as the parser gives it.
    pub text: String,
    pub fenced: bool,
    /// The whole block, fences included.
    pub span: Span,
    pub attrs: Attrs,
    /// Where each piece of `text` comes from in the input.
    pub pieces: Vec<TextPiece>,
}

/// A run of bytes of [`CodeBlock::text`] taken from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextPiece {
    /// Offset of the piece in the block text.
    pub text_start: usize,
    /// Offset of the piece in the input.
    pub src_start: usize,
    pub len: usize,
    /// The piece is a verbatim copy of the input (false for text the parser
    /// synthesised, e.g. spaces standing for part of a tab).
    pub exact: bool,
}

impl CodeBlock {
    /// Input offset of the byte at `text_offset` in [`CodeBlock::text`].
    pub fn source_offset(&self, text_offset: usize) -> usize {
        let idx = self
            .pieces
            .partition_point(|p| p.text_start <= text_offset)
            .saturating_sub(1);
        match self.pieces.get(idx) {
            Some(p) if p.exact => p.src_start + (text_offset - p.text_start).min(p.len),
            Some(p) => p.src_start,
            None => self.span.start,
        }
    }
}

/// One block of the page, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading {
        level: u8,
        /// Plain text of the heading, without a trailing `{#id}`.
        text: String,
        /// Custom id, or kramdown GFM slug made unique on the page.
        id: String,
        span: Span,
    },
    Code(CodeBlock),
    Prose {
        text: String,
        span: Span,
    },
}

impl Block {
    pub fn span(&self) -> Span {
        match self {
            Block::Heading { span, .. } | Block::Prose { span, .. } => *span,
            Block::Code(c) => c.span,
        }
    }
}

/// A bulleted or ordered list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    /// The number of the first item of an ordered list; None for a bulleted list.
    pub start: Option<u64>,
    /// The item this list is nested in, if any (an index into [`Parsed::items`]).
    pub parent: Option<usize>,
    pub span: Span,
}

impl List {
    pub fn ordered(&self) -> bool {
        self.start.is_some()
    }
}

/// Inline code (`` `...` ``) in an item's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSpan {
    /// The content as CommonMark gives it (backticks removed, line breaks as spaces).
    pub text: String,
    /// Byte range of the content in the input.
    pub start: usize,
    pub end: usize,
    /// `text` is the input's `start..end` byte for byte (false when a line break inside the
    /// span became a space, or the parser changed it otherwise).
    pub exact: bool,
}

/// One item of a [`List`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The list it belongs to (an index into [`Parsed::lists`]).
    pub list: usize,
    /// The item whose nested list this item belongs to, if any.
    pub parent: Option<usize>,
    /// The item's own prose (nested lists' items excluded), paragraphs joined by `\n\n`.
    pub text: String,
    /// The whole item, nested content included.
    pub span: Span,
    /// Inline code in the item's own prose, in order.
    pub code_spans: Vec<CodeSpan>,
    /// Code blocks directly in this item (not in a nested list's item): indices into
    /// [`Parsed::blocks`].
    pub code_blocks: Vec<usize>,
    /// A code block sits somewhere inside the item, nested lists included.
    pub has_code: bool,
    /// Index into [`Parsed::blocks`] of the first block after the item's start: the item
    /// comes after `blocks[..first_block]` in page order.
    pub first_block: usize,
    /// The innermost block quote the item sits in (an index into [`Parsed::quotes`]).
    pub quote: Option<usize>,
}

/// A block quote (`> ...`), e.g. a lesson's callout (`> ## Solution`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The block quote this one is nested in, if any.
    pub parent: Option<usize>,
    /// How many block quotes this one is in, itself included (1 for a quote on the page).
    pub depth: usize,
    pub span: Span,
}

/// A page cut into blocks, with the lists and items they sit in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub blocks: Vec<Block>,
    /// Lists in the order they start.
    pub lists: Vec<List>,
    /// Items in the order they start.
    pub items: Vec<Item>,
    /// Block quotes in the order they start.
    pub quotes: Vec<Quote>,
    /// For each block of `blocks`, the innermost block quote it sits in.
    pub block_quotes: Vec<Option<usize>>,
}

impl Parsed {
    /// The block quotes around quote `q`, innermost first (`q` included).
    pub fn quote_chain(&self, q: Option<usize>) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = q;
        while let Some(i) = at {
            out.push(i);
            at = self.quotes[i].parent;
        }
        out
    }
}

/// Block-level HTML elements whose content kramdown keeps as raw HTML.
const KRAMDOWN_BLOCK_HTML: &[&str] = &[
    "address",
    "article",
    "aside",
    "audio",
    "blockquote",
    "canvas",
    "dd",
    "details",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "header",
    "hgroup",
    "iframe",
    "li",
    "main",
    "map",
    "menu",
    "nav",
    "noscript",
    "ol",
    "pre",
    "script",
    "section",
    "style",
    "summary",
    "table",
    "textarea",
    "ul",
    "video",
];

/// Offset just past the end tag matching the `<name` opened at `start`,
/// counting nested elements of the same name.
fn matching_end_tag(src: &str, start: usize, name: &str) -> Option<usize> {
    let lower = src[start..].to_ascii_lowercase();
    let open = format!("<{name}");
    let close = format!("</{name}");
    let mut depth = 0usize;
    let mut pos = 0;
    while pos < lower.len() {
        let next = lower[pos..].find('<')? + pos;
        let after = |tag: &str| {
            lower[next + tag.len()..]
                .chars()
                .next()
                .is_none_or(|c| c.is_whitespace() || c == '>' || c == '/')
        };
        if lower[next..].starts_with(&close) && after(&close) {
            depth = depth.checked_sub(1)?;
            let gt = lower[next..]
                .find('>')
                .map_or(lower.len(), |i| next + i + 1);
            if depth == 0 {
                return Some(start + gt);
            }
            pos = gt;
        } else if lower[next..].starts_with(&open) && after(&open) {
            let gt = lower[next..]
                .find('>')
                .map_or(lower.len(), |i| next + i + 1);
            if !lower[next..gt].ends_with("/>") {
                depth += 1;
            } else if depth == 0 {
                return Some(start + gt);
            }
            pos = gt;
        } else {
            pos = next + 1;
        }
    }
    None
}

/// Parse a rendered Markdown page into blocks.
pub fn parse(input: &str) -> Vec<Block> {
    parse_page(input).blocks
}

/// Parse a rendered Markdown page into blocks, lists and list items.
pub fn parse_page(input: &str) -> Parsed {
    parse_page_indexed(input, &LineIndex::new(input))
}

/// [`parse_page`] with the page's line index already built (`lines` must be
/// `LineIndex::new(input)`), for a caller that needs it too.
pub fn parse_page_indexed(input: &str, lines: &LineIndex) -> Parsed {
    let mut b = Builder::new(input, lines);
    let parser = Parser::new_ext(
        input,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    );
    for (event, range) in parser.into_offset_iter() {
        b.event(event, range);
    }
    b.flush_inline();
    b.finish()
}

/// Kramdown GFM id of a heading's plain text, before making it unique.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c == ' ' || c == '\t' {
            out.push('-');
        } else if c == '-' || is_word_char(c) {
            out.push(c);
        }
    }
    out
}

/// Ruby's `\p{Word}`: letters, marks, numbers, connector punctuation.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || c == '_'
        || matches!(c,
            '\u{0300}'..='\u{036F}'
            | '\u{0483}'..='\u{0489}'
            | '\u{0591}'..='\u{05BD}'
            | '\u{0610}'..='\u{061A}'
            | '\u{064B}'..='\u{065F}'
            | '\u{0900}'..='\u{0903}'
            | '\u{093A}'..='\u{094F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE20}'..='\u{FE2F}'
            | '\u{203F}' | '\u{2040}' | '\u{2054}' | '\u{FE33}' | '\u{FE34}'
            | '\u{FE4D}'..='\u{FE4F}' | '\u{FF3F}')
}

/// Parse the inside of an attribute list (`.class #id key=value key="v w" ref`).
fn parse_attr_list(s: &str) -> Attrs {
    let mut attrs = Attrs::default();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut tok = String::new();
        let mut value: Option<String> = None;
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            if c == '=' && value.is_none() {
                let mut v = String::new();
                if let Some(q) = chars.next_if(|&q| q == '"' || q == '\'') {
                    let mut escaped = false;
                    for c in chars.by_ref() {
                        if escaped {
                            v.push(c);
                            escaped = false;
                        } else if c == '\\' {
                            escaped = true;
                        } else if c == q {
                            break;
                        } else {
                            v.push(c);
                        }
                    }
                } else {
                    while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                        v.push(c);
                    }
                }
                value = Some(v);
                break;
            }
            tok.push(c);
        }
        match value {
            Some(v) if !tok.is_empty() => attrs.pairs.push((tok, v)),
            Some(_) => {}
            None => {
                if let Some(class) = tok.strip_prefix('.') {
                    if !class.is_empty() {
                        attrs.classes.push(class.to_string());
                    }
                } else if let Some(id) = tok.strip_prefix('#')
                    && !id.is_empty()
                {
                    attrs.id = Some(id.to_string());
                }
                // A bare word is a reference to an attribute list definition: ignored.
            }
        }
    }
    attrs
}

/// Language and attributes of a fenced block's info string.
pub fn parse_info(info: &str) -> (Option<String>, Attrs) {
    let info = info.trim();
    if let Some(rest) = info.strip_prefix('{') {
        let inner = rest.rsplit_once('}').map_or(rest, |(a, _)| a);
        let inner = inner.strip_prefix(':').unwrap_or(inner);
        let attrs = parse_attr_list(inner);
        return (attrs.language(), attrs);
    }
    let end = info
        .find(|c: char| c.is_whitespace() || c == '{')
        .unwrap_or(info.len());
    let word = &info[..end];
    let word = word.strip_prefix('.').unwrap_or(word);
    let word = word.strip_prefix("language-").unwrap_or(word);
    let lang = (!word.is_empty()).then(|| word.to_ascii_lowercase());
    let mut rest = info[end..].trim();
    let mut attrs = Attrs::default();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('{') {
            let (inner, after) = r.split_once('}').unwrap_or((r, ""));
            attrs.merge(parse_attr_list(inner.strip_prefix(':').unwrap_or(inner)));
            rest = after.trim_start();
        } else {
            let stop = rest.find('{').unwrap_or(rest.len());
            let mut bare = parse_attr_list(&rest[..stop]);
            // Outside braces only key=value pairs mean something.
            bare.classes.clear();
            bare.id = None;
            attrs.merge(bare);
            rest = &rest[stop..];
        }
    }
    (lang, attrs)
}

/// If `line` is a kramdown block IAL (`{: …}`), its attributes.
fn parse_ial(line: &str) -> Option<Attrs> {
    let inner = line.trim().strip_prefix("{:")?.strip_suffix('}')?;
    // `{:name: …}` defines a reference (ALD), it is not applied to anything.
    let first = inner.split_whitespace().next().unwrap_or("");
    if first.ends_with(':') && !first.starts_with(['.', '#']) {
        return Some(Attrs::default());
    }
    Some(parse_attr_list(inner))
}

/// Split a trailing kramdown header id (`Title {#id}`) off a heading text.
fn split_header_id(text: &str) -> (&str, Option<String>) {
    let t = text.trim_end();
    if let Some(body) = t.strip_suffix('}')
        && let Some(open) = body.rfind("{#")
    {
        let id = &body[open + 2..];
        let before = &body[..open];
        let valid = id.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && id
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == ':');
        if valid && (before.ends_with([' ', '\t'])) {
            return (before.trim_end(), Some(id.to_string()));
        }
    }
    (t, None)
}

struct Inline {
    text: String,
    start: usize,
    end: usize,
}

struct HeadingAcc {
    level: u8,
    text: String,
    slug_text: String,
    range: Range<usize>,
}

struct CodeAcc {
    fenced: bool,
    info: String,
    text: String,
    pieces: Vec<TextPiece>,
    range: Range<usize>,
}

#[derive(Clone, Copy)]
enum Attach {
    None,
    Code(usize),
    Heading(usize),
}

struct Builder<'a> {
    src: &'a str,
    lines: &'a LineIndex,
    blocks: Vec<Block>,
    /// Custom ids of headings by block index (resolved in `finish`).
    custom_ids: HashMap<usize, String>,
    /// Input ranges whose content produces no blocks: HTML comments and
    /// kramdown raw HTML blocks.
    hidden: Vec<Range<usize>>,
    inline: Option<Inline>,
    paragraph: Option<Range<usize>>,
    heading: Option<HeadingAcc>,
    code: Option<CodeAcc>,
    table_depth: usize,
    attach: Attach,
    lists: Vec<List>,
    items: Vec<Item>,
    /// Lists and items open at this point, innermost last; None for one inside an HTML
    /// comment (not recorded).
    open_lists: Vec<Option<usize>>,
    open_items: Vec<Option<usize>>,
    quotes: Vec<Quote>,
    block_quotes: Vec<Option<usize>>,
    /// Block quotes open at this point, innermost last; None for one inside an HTML comment.
    open_quotes: Vec<Option<usize>>,
}

impl<'a> Builder<'a> {
    fn new(src: &'a str, lines: &'a LineIndex) -> Self {
        Builder {
            src,
            lines,
            blocks: Vec::new(),
            custom_ids: HashMap::new(),
            hidden: Vec::new(),
            inline: None,
            paragraph: None,
            heading: None,
            code: None,
            table_depth: 0,
            attach: Attach::None,
            lists: Vec::new(),
            items: Vec::new(),
            open_lists: Vec::new(),
            open_items: Vec::new(),
            quotes: Vec::new(),
            block_quotes: Vec::new(),
            open_quotes: Vec::new(),
        }
    }

    /// The innermost open block quote that is recorded.
    fn quote(&self) -> Option<usize> {
        self.open_quotes.iter().rev().find_map(|q| *q)
    }

    fn start_quote(&mut self, range: Range<usize>) {
        let id = (!self.hidden(range.start)).then(|| {
            let parent = self.quote();
            self.quotes.push(Quote {
                parent,
                depth: parent.map_or(0, |p| self.quotes[p].depth) + 1,
                span: self.lines.span(self.src, range),
            });
            self.quotes.len() - 1
        });
        self.open_quotes.push(id);
    }

    fn hidden(&self, offset: usize) -> bool {
        self.hidden.iter().any(|r| r.contains(&offset))
    }

    /// Record the HTML comments opened in `range` of the input.
    fn note_comments(&mut self, range: Range<usize>) {
        let mut pos = range.start;
        while pos < range.end {
            if let Some(r) = self.hidden.iter().find(|r| r.contains(&pos)) {
                pos = r.end;
                continue;
            }
            let Some(found) = self.src.get(pos..).and_then(|s| s.find("<!--")) else {
                break;
            };
            let open = pos + found;
            if open >= range.end {
                break;
            }
            let close = self.src[open + 4..]
                .find("-->")
                .map_or(self.src.len(), |i| open + 4 + i + 3);
            self.hidden.push(open..close);
            self.hidden.sort_by_key(|r| r.start);
            pos = close;
        }
    }

    /// kramdown reads a line starting with a block-level HTML element as raw
    /// HTML up to the matching end tag, blank lines included, unless the
    /// element has a `markdown` attribute; CommonMark stops at the first blank
    /// line and parses the rest as Markdown (often as indented code). Hide the
    /// whole element as kramdown would.
    fn note_html_block(&mut self, range: Range<usize>) {
        let Some(first) = self.src.get(range.clone()).and_then(|s| s.lines().next()) else {
            return;
        };
        let line = first.trim_start();
        let Some(rest) = line.strip_prefix('<') else {
            return;
        };
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let name = rest[..name_len].to_ascii_lowercase();
        if name.is_empty()
            || !KRAMDOWN_BLOCK_HTML.contains(&name.as_str())
            || !rest[name_len..].starts_with([' ', '\t', '>', '/']) && !rest[name_len..].is_empty()
        {
            return;
        }
        let start = range.start + (first.len() - line.len());
        if self.hidden(start) {
            return;
        }
        let Some(end) = matching_end_tag(self.src, start, &name) else {
            return;
        };
        // `markdown="1"` (or any markdown attribute) asks kramdown to parse the content.
        let open_tag_end = self.src[start..end].find('>').map_or(end, |i| start + i);
        if self.src[start..open_tag_end].contains("markdown=") {
            return;
        }
        self.hidden.push(start..end);
        self.hidden.sort_by_key(|r| r.start);
    }

    /// The innermost open item that is recorded.
    fn item(&self) -> Option<usize> {
        self.open_items.iter().rev().find_map(|i| *i)
    }

    fn start_list(&mut self, start: Option<u64>, range: Range<usize>) {
        let id = (!self.hidden(range.start)).then(|| {
            self.lists.push(List {
                start,
                parent: self.item(),
                span: self.lines.span(self.src, range),
            });
            self.lists.len() - 1
        });
        self.open_lists.push(id);
    }

    fn start_item(&mut self, range: Range<usize>) {
        let list = self.open_lists.last().copied().flatten();
        let id = list.filter(|_| !self.hidden(range.start)).map(|list| {
            self.items.push(Item {
                list,
                parent: self.item(),
                text: String::new(),
                span: self.lines.span(self.src, range),
                code_spans: Vec::new(),
                code_blocks: Vec::new(),
                has_code: false,
                first_block: self.blocks.len(),
                quote: self.quote(),
            });
            self.items.len() - 1
        });
        self.open_items.push(id);
    }

    fn end_item(&mut self) {
        if let Some(Some(i)) = self.open_items.pop()
            && self.items[i].has_code
            && let Some(parent) = self.items[i].parent
        {
            self.items[parent].has_code = true;
        }
    }

    /// Inline code at `range` (backticks included) with content `text`.
    fn code_span(&mut self, text: &str, range: Range<usize>) {
        if self.table_depth > 0 || self.hidden(range.start) {
            return;
        }
        let Some(item) = self.item() else {
            return;
        };
        let raw = self.src.get(range.clone()).unwrap_or("");
        let ticks = raw.len() - raw.trim_start_matches('`').len();
        let inner_start = range.start + ticks;
        let inner_end = range.end.saturating_sub(ticks).max(inner_start);
        let inner = self.src.get(inner_start..inner_end).unwrap_or("");
        let (start, exact) = match inner.find(text) {
            Some(i) => (inner_start + i, true),
            None => (
                inner_start + usize::from(inner.starts_with([' ', '\n'])),
                false,
            ),
        };
        let end = if exact {
            start + text.len()
        } else {
            inner_end.max(start)
        };
        self.items[item].code_spans.push(CodeSpan {
            text: text.to_string(),
            start,
            end,
            exact,
        });
    }

    fn push(&mut self, block: Block) -> Option<usize> {
        if self.hidden(block.span().start) {
            return None;
        }
        self.blocks.push(block);
        self.block_quotes.push(self.quote());
        Some(self.blocks.len() - 1)
    }

    fn add_inline(&mut self, text: &str, range: Range<usize>) {
        if self.table_depth > 0 {
            return;
        }
        let capacity = self.paragraph.as_ref().map_or(text.len(), |p| p.len());
        let inline = self.inline.get_or_insert_with(|| Inline {
            text: String::with_capacity(capacity),
            start: range.start,
            end: range.end,
        });
        inline.text.push_str(text);
        inline.start = inline.start.min(range.start);
        inline.end = inline.end.max(range.end);
    }

    fn flush_inline(&mut self) {
        let Some(inline) = self.inline.take() else {
            return;
        };
        let range = match self.paragraph.take() {
            Some(p) => p,
            None => inline.start..inline.end,
        };
        let mut text = inline.text.as_str();
        let mut start = range.start;
        // A leading `{: …}` line is a block IAL, not prose.
        let first = text.lines().next().unwrap_or("");
        if let Some(attrs) = parse_ial(first) {
            match self.attach {
                Attach::Code(i) => {
                    if let Some(Block::Code(c)) = self.blocks.get_mut(i) {
                        if c.lang.is_none() {
                            c.lang = attrs.language();
                        }
                        c.attrs.merge(attrs);
                    }
                }
                Attach::Heading(i) => {
                    if let Some(id) = attrs.id {
                        self.custom_ids.insert(i, id);
                    }
                }
                Attach::None => {}
            }
            self.attach = Attach::None;
            text = text
                .get(first.len()..)
                .unwrap_or("")
                .trim_start_matches('\n');
            if let Some(nl) = self.src[start..range.end].find('\n') {
                start += nl + 1;
            } else {
                start = range.end;
            }
        }
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        self.attach = Attach::None;
        let span = self.lines.span(self.src, start.min(range.end)..range.end);
        let pushed = self.push(Block::Prose {
            text: text.to_string(),
            span,
        });
        if pushed.is_some()
            && let Some(item) = self.item()
        {
            let own = &mut self.items[item].text;
            if !own.is_empty() {
                own.push_str("\n\n");
            }
            own.push_str(text);
        }
    }

    fn event(&mut self, event: Event<'_>, range: Range<usize>) {
        // Inside a code block everything is content.
        if let Some(code) = self.code.as_mut() {
            match event {
                Event::Text(t) => {
                    let exact = self.src.get(range.clone()) == Some(&*t);
                    code.pieces.push(TextPiece {
                        text_start: code.text.len(),
                        src_start: range.start,
                        len: t.len(),
                        exact,
                    });
                    code.text.push_str(&t);
                }
                Event::End(TagEnd::CodeBlock) => {
                    let code = self.code.take().expect("code block open");
                    let (lang, attrs) = if code.fenced {
                        parse_info(&code.info)
                    } else {
                        (None, Attrs::default())
                    };
                    let span = self.lines.span(self.src, code.range);
                    let idx = self.push(Block::Code(CodeBlock {
                        lang,
                        info: code.info,
                        text: code.text,
                        fenced: code.fenced,
                        span,
                        attrs,
                        pieces: code.pieces,
                    }));
                    if let Some(i) = idx
                        && let Some(item) = self.item()
                    {
                        self.items[item].code_blocks.push(i);
                        self.items[item].has_code = true;
                    }
                    self.attach = idx.map_or(Attach::None, Attach::Code);
                }
                _ => {}
            }
            return;
        }
        if let Some(h) = self.heading.as_mut() {
            match event {
                Event::Text(t) => {
                    h.text.push_str(&t);
                    // kramdown turns `--`/`---` into dashes the slug drops.
                    h.slug_text.push_str(&t.replace("--", ""));
                }
                Event::Code(t) => {
                    h.text.push_str(&t);
                    h.slug_text.push_str(&t);
                }
                Event::SoftBreak | Event::HardBreak => {
                    h.text.push(' ');
                    h.slug_text.push(' ');
                }
                Event::InlineHtml(_) | Event::Html(_) => self.note_comments(range),
                Event::End(TagEnd::Heading(_)) => {
                    let h = self.heading.take().expect("heading open");
                    let (text, custom) = split_header_id(&h.text);
                    let (slug_text, _) = split_header_id(&h.slug_text);
                    let span = self.lines.span(self.src, h.range);
                    let text = text.trim().to_string();
                    let slug_text = slug_text.trim().to_string();
                    let idx = self.push(Block::Heading {
                        level: h.level,
                        text,
                        // Temporarily the text to slug; resolved in `finish`.
                        id: slug_text,
                        span,
                    });
                    if let Some(i) = idx {
                        if let Some(id) = custom {
                            self.custom_ids.insert(i, id);
                        }
                        self.attach = Attach::Heading(i);
                    } else {
                        self.attach = Attach::None;
                    }
                }
                _ => {}
            }
            return;
        }
        match event {
            Event::Start(tag) => {
                let inline_tag = matches!(
                    tag,
                    Tag::Emphasis
                        | Tag::Strong
                        | Tag::Strikethrough
                        | Tag::Link { .. }
                        | Tag::Image { .. }
                        | Tag::Superscript
                        | Tag::Subscript
                );
                if inline_tag {
                    return;
                }
                self.flush_inline();
                match tag {
                    Tag::Paragraph => {
                        self.paragraph = Some(range);
                        return;
                    }
                    Tag::Heading { level, .. } => {
                        self.heading = Some(HeadingAcc {
                            level: level as u8,
                            text: String::new(),
                            slug_text: String::new(),
                            range,
                        });
                    }
                    Tag::CodeBlock(kind) => {
                        let (fenced, info) = match kind {
                            CodeBlockKind::Fenced(info) => (true, info.to_string()),
                            CodeBlockKind::Indented => (false, String::new()),
                        };
                        self.code = Some(CodeAcc {
                            fenced,
                            info,
                            // (the block's text is at most its source: one allocation)
                            text: String::with_capacity(range.len()),
                            pieces: Vec::new(),
                            range,
                        });
                    }
                    Tag::Table(_) => self.table_depth += 1,
                    Tag::HtmlBlock => self.note_html_block(range),
                    Tag::List(start) => self.start_list(start, range),
                    Tag::BlockQuote(_) => self.start_quote(range),
                    Tag::Item => self.start_item(range),
                    _ => {}
                }
                self.attach = Attach::None;
            }
            Event::End(end) => match end {
                TagEnd::Paragraph | TagEnd::Item => {
                    self.flush_inline();
                    if end == TagEnd::Item {
                        self.end_item();
                        self.attach = Attach::None;
                    }
                }
                TagEnd::List(_) => {
                    self.flush_inline();
                    self.open_lists.pop();
                    self.attach = Attach::None;
                }
                TagEnd::Table => {
                    self.table_depth = self.table_depth.saturating_sub(1);
                    self.attach = Attach::None;
                }
                TagEnd::BlockQuote(_) => {
                    self.flush_inline();
                    self.open_quotes.pop();
                    self.attach = Attach::None;
                }
                TagEnd::Emphasis
                | TagEnd::Strong
                | TagEnd::Strikethrough
                | TagEnd::Link
                | TagEnd::Image
                | TagEnd::Superscript
                | TagEnd::Subscript => {}
                _ => {
                    self.flush_inline();
                    self.attach = Attach::None;
                }
            },
            Event::Text(t) => {
                if t.contains("<!--") || self.src[range.start..].starts_with("<!--") {
                    self.note_comments(range.clone());
                }
                self.add_inline(&t, range);
            }
            Event::Code(t) => {
                self.code_span(&t, range.clone());
                self.add_inline(&t, range);
            }
            Event::SoftBreak | Event::HardBreak => self.add_inline("\n", range),
            Event::Html(_) | Event::InlineHtml(_) => self.note_comments(range),
            Event::Rule => {
                self.flush_inline();
                self.attach = Attach::None;
            }
            _ => {}
        }
    }

    fn finish(mut self) -> Parsed {
        let mut counts: HashMap<String, i64> = HashMap::new();
        for (i, block) in self.blocks.iter_mut().enumerate() {
            if let Block::Heading { id, .. } = block {
                *id = match self.custom_ids.remove(&i) {
                    Some(custom) => custom,
                    None => {
                        let base = slug(id);
                        let n = counts.entry(base.clone()).or_insert(-1);
                        *n += 1;
                        if *n > 0 { format!("{base}-{n}") } else { base }
                    }
                };
            }
        }
        Parsed {
            blocks: self.blocks,
            lists: self.lists,
            items: self.items,
            quotes: self.quotes,
            block_quotes: self.block_quotes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file under `tests/fixtures/`: the seed page's Jekyll output, or a page written
    /// for these tests.
    fn fixture(rel: &str) -> String {
        let path = format!("{}/tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The seed page as Jekyll renders it.
    fn seed() -> String {
        fixture("seed/golden/infrastructure-mesos.markdown")
    }

    fn codes(blocks: &[Block]) -> Vec<&CodeBlock> {
        blocks
            .iter()
            .filter_map(|b| match b {
                Block::Code(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    fn headings(blocks: &[Block]) -> Vec<(u8, &str, &str)> {
        blocks
            .iter()
            .filter_map(|b| match b {
                Block::Heading {
                    level, text, id, ..
                } => Some((*level, text.as_str(), id.as_str())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn seed_page_headings_and_indented_blocks() {
        let src = seed();
        let blocks = parse(&src);
        let hs = headings(&blocks);
        assert_eq!(
            hs,
            vec![
                (
                    1,
                    "Cluster architecture description:",
                    "cluster-architecture-description"
                ),
                (1, "Useful recipes:", "useful-recipes"),
                (
                    3,
                    "Setting up the OpenStack environment:",
                    "setting-up-the-openstack-environment"
                ),
                (3, "Creating a master", "creating-a-master"),
                (3, "Creating a slave", "creating-a-slave"),
                (3, "Deleting a slave", "deleting-a-slave"),
                (3, "Rebooting a slave", "rebooting-a-slave"),
            ]
        );
        let cs = codes(&blocks);
        assert_eq!(cs.len(), 9);
        assert!(cs.iter().all(|c| !c.fenced && c.lang.is_none()));
        // Indented block in a list item: the 6 spaces (2 of the item + 4) are gone.
        assert_eq!(cs[1].text, "eval $(ai-rc \"ALICE Release Testing\")\n");
        assert_eq!(cs[1].span.start_line, 74);
        assert_eq!(cs[1].span.end_line, 74);
        assert!(cs[2].text.starts_with(
            "MACHINE_NAME=<alimesosXX>\nZONE=cern-geneva-<X> # <X> needs to be in {a,b,c}\n                     # make sure"
        ));
        assert_eq!((cs[2].span.start_line, cs[2].span.end_line), (79, 91));
        // Outside a list only 4 spaces go; the other 2 stay.
        assert_eq!(
            cs[8].text,
            "  eval $(ai-rc \"ALICE Release Testing\")\n  openstack server reboot --hard <slave name>\n"
        );
        // Offsets map back into the input.
        let off = cs[2].source_offset(cs[2].text.find("<X>").unwrap());
        assert_eq!(&src[off..off + 3], "<X>");
        assert_eq!(LineIndex::new(&src).line_col(&src, off), (80, 24));
    }

    #[test]
    fn prose_introduces_blocks() {
        let src = seed();
        let blocks = parse(&src);
        let i = blocks
            .iter()
            .position(|b| matches!(b, Block::Code(c) if c.text.starts_with("openstack volume")))
            .unwrap();
        match &blocks[i - 1] {
            Block::Prose { text, span } => {
                assert_eq!(
                    text,
                    "Create a data volume which will be used as build scratch space and\nfor build artifacts:"
                );
                assert_eq!((span.start_line, span.end_line), (108, 109));
            }
            other => panic!("expected prose, got {other:?}"),
        }
        // Inline code is kept as its content, link URLs are dropped.
        assert!(blocks.iter().any(|b| matches!(b,
            Block::Prose { text, .. } if text == "Delete the machine with ai-kill-vm <alibuildXX>")));
        assert!(blocks.iter().any(|b| matches!(b,
            Block::Prose { text, .. } if text.starts_with("The Mesos Master service: Mesos is used to"))));
    }

    #[test]
    fn slugs_follow_kramdown_gfm() {
        assert_eq!(
            slug("Setting up the OpenStack environment:"),
            "setting-up-the-openstack-environment"
        );
        assert_eq!(slug("Héllo Wörld_x (beta) 2.0"), "héllo-wörld_x-beta-20");
        assert_eq!(slug("a  b\tc"), "a--b-c");
        let md = "# Setup\n\n## Setup\n\n### Setup\n\n## Other {#mine}\n\n## Setup\n{: #custom}\n\n## A -- B `x--y`\n\n## Setup\n";
        let hs = headings(&parse(md))
            .into_iter()
            .map(|(_, t, id)| (t.to_string(), id.to_string()))
            .collect::<Vec<_>>();
        let expect = [
            ("Setup", "setup"),
            ("Setup", "setup-1"),
            ("Setup", "setup-2"),
            ("Other", "mine"),
            ("Setup", "custom"),
            ("A -- B x--y", "a--b-x--y"),
            ("Setup", "setup-3"),
        ];
        assert_eq!(
            hs,
            expect
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn ial_after_heading_sets_id() {
        let src = fixture("pages/ial-headings.md");
        let blocks = parse(&src);
        let hs = headings(&blocks);
        assert_eq!(
            hs,
            vec![
                (
                    1,
                    "Looking after the batch cluster",
                    "looking-after-the-batch-cluster"
                ),
                (
                    2,
                    "Getting access to the cloud / configuration tools",
                    "access"
                ),
                (2, "Adding a scheduler node", "add-scheduler"),
                (2, "Draining a worker", "drain-worker"),
            ]
        );
        // The IAL line is not prose.
        assert!(
            !blocks
                .iter()
                .any(|b| matches!(b, Block::Prose { text, .. } if text.contains("{:")))
        );
        // Fenced blocks keep their language, at the top level and inside list items
        // (bulleted and numbered).
        let cs = codes(&blocks);
        let eval: Vec<_> = cs
            .iter()
            .filter(|c| c.text == "eval $(cloud-env \"Example Project\")\n")
            .collect();
        assert_eq!(eval.len(), 2);
        let drain = cs
            .iter()
            .find(|c| c.text == "batchctl drain <worker>\n")
            .unwrap();
        for c in eval.into_iter().chain([drain]) {
            assert_eq!(c.lang.as_deref(), Some("bash"), "{c:?}");
            assert!(c.fenced);
        }
    }

    #[test]
    fn ial_language_in_lesson_block_quotes() {
        let src = fixture("pages/queue-lesson.md");
        let cs = codes(&parse(&src)).into_iter().cloned().collect::<Vec<_>>();
        // `> {: .language-bash}` after a fence inside a block quote.
        let sinfo = cs
            .iter()
            .find(|c| c.text.contains("sinfo -n node04"))
            .unwrap();
        assert_eq!(sinfo.lang.as_deref(), Some("bash"));
        assert_eq!(sinfo.attrs.classes, vec!["language-bash".to_string()]);
        assert_eq!(sinfo.info, "");
        let nano = cs
            .iter()
            .find(|c| c.text.contains("nano greet-job.sh"))
            .unwrap();
        assert_eq!(nano.lang.as_deref(), Some("bash"));
        let out = cs
            .iter()
            .find(|c| c.text == "Submitted batch job 4127\n")
            .unwrap();
        assert_eq!(out.lang.as_deref(), Some("output"));
        // Doubly nested block quote.
        let sol = cs
            .iter()
            .find(|c| c.text == "[learner@hpc-head ~]$ ./greet-job.sh\n")
            .unwrap();
        assert_eq!(sol.lang.as_deref(), Some("bash"));
        // Every fenced block of the lesson is followed by a language IAL,
        // except one whose IAL is malformed (`> > : .bash}`).
        let unlabelled = cs.iter().filter(|c| c.lang.is_none()).collect::<Vec<_>>();
        assert_eq!(unlabelled.len(), 1, "{unlabelled:#?}");
        assert_eq!(unlabelled[0].text, "[learner@hpc-head ~]$ man squeue\n");
        // The `<figure>` element is raw HTML for kramdown, blank lines included:
        // its indented `<a href="">` line is not a code block.
        assert!(!cs.iter().any(|c| c.text.contains("<a href")));
        // ... and hides nothing after it: every fence of the lesson is a block.
        assert!(cs.len() > 20);
        assert_eq!(cs.len(), src.matches("```").count() / 2);
    }

    #[test]
    fn ial_does_not_cross_containers() {
        let md = "> ```\n> code\n> ```\n{: .challenge}\n\n```\nx\n```\n\ntext\n\n{: .bash}\n";
        let cs = codes(&parse(md)).into_iter().cloned().collect::<Vec<_>>();
        assert_eq!(cs.len(), 2);
        assert!(cs[0].attrs.is_empty() && cs[0].lang.is_none());
        assert!(cs[1].attrs.is_empty() && cs[1].lang.is_none());
        // Tight list item: the IAL is plain item text right after the block.
        let md = "- two\n  ```\n  c\n  ```\n  {: .output}\n- three\n";
        let blocks = parse(md);
        let cs = codes(&blocks);
        assert_eq!(cs[0].lang.as_deref(), Some("output"));
        assert_eq!(
            blocks
                .iter()
                .filter(|b| matches!(b, Block::Prose { .. }))
                .count(),
            2
        );
    }

    #[test]
    fn info_string_attributes() {
        let (lang, attrs) = parse_info("bash {runbook=skip}");
        assert_eq!(lang.as_deref(), Some("bash"));
        assert_eq!(attrs.get("runbook"), Some("skip"));
        let (lang, attrs) = parse_info("{.bash runbook=run #id title=\"a b\"}");
        assert_eq!(lang.as_deref(), Some("bash"));
        assert_eq!(attrs.get("runbook"), Some("run"));
        assert_eq!(attrs.get("title"), Some("a b"));
        assert_eq!(attrs.id.as_deref(), Some("id"));
        let (lang, attrs) = parse_info("Shell runbook=skip");
        assert_eq!(lang.as_deref(), Some("shell"));
        assert_eq!(attrs.get("runbook"), Some("skip"));
        assert_eq!(parse_info("language-yaml").0.as_deref(), Some("yaml"));
        assert_eq!(parse_info("").0, None);
        let blocks = parse("```console {runbook=run}\n$ ls\n```\n");
        let cs = codes(&blocks);
        assert_eq!(cs[0].info, "console {runbook=run}");
        assert_eq!(cs[0].lang.as_deref(), Some("console"));
        assert_eq!(cs[0].attrs.get("runbook"), Some("run"));
        assert_eq!((cs[0].span.start_line, cs[0].span.end_line), (1, 3));
    }

    #[test]
    fn html_comments_hide_code() {
        let md = "intro\n\n<!--\n```bash\nrm -rf /\n```\n\n    indented too\n\n# Hidden heading\n-->\n\n```bash\nshown\n```\n\nSome <!-- inline\n\n```\nhidden as well\n```\n-->after\n\n    visible\n";
        let blocks = parse(md);
        let cs = codes(&blocks);
        assert_eq!(
            cs.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
            vec!["shown\n", "visible\n"]
        );
        assert!(headings(&blocks).is_empty());
        // Comment in a list item, one line.
        let md = "- a <!-- note --> b\n\n      kept\n";
        let blocks = parse(md);
        assert_eq!(codes(&blocks).len(), 1);
        assert!(matches!(&blocks[0], Block::Prose { text, .. } if text == "a  b"));
    }

    #[test]
    fn comment_before_template_block_hides_nothing_else() {
        let src = r#"## Secrets in jobs

A job reads its secrets from Vault with a `template` block in its task:

<!-- The braces below are escaped in the source so that Jekyll leaves them alone. -->

```hcl
template {
  data = <<-EOT
    {{ with secret "kv/data/app-settings" }}
    DB_PASSWORD={{ .Data.data.db_password | toJSON }}
    {{ end }}
    EOT
  destination = "${NOMAD_SECRETS_DIR}/app.env"
  env         = true
}
```

The policy that lets the job read it:

```json
{
  "path": { "kv/data/app-settings": { "capabilities": ["read"] } }
}
```

Load the policy with:

```bash
vault policy write app-settings app-settings.hcl
```
"#;
        let blocks = parse(src);
        let cs = codes(&blocks);
        let hcl = cs
            .iter()
            .find(|c| c.lang.as_deref() == Some("hcl") && c.text.contains("with secret"))
            .unwrap();
        assert!(
            hcl.text
                .contains("{{ with secret \"kv/data/app-settings\" }}")
        );
        assert!(cs.iter().any(|c| c.lang.as_deref() == Some("json")));
        assert_eq!(cs.len(), 3);
    }

    #[test]
    fn seed_list_items() {
        let src = seed();
        let page = parse_page(&src);
        let start = src.find("the recipe for destoying slaves").unwrap();
        let items: Vec<&Item> = page
            .items
            .iter()
            .filter(|i| i.span.start > start && i.span.start < src.find("### Rebooting").unwrap())
            .collect();
        let texts: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Login to aiadm.cern.ch.",
                "Set up your OpenStack environment by doing:",
                "Delete the machine with ai-kill-vm <alibuildXX>",
                "Delete the previously attached volumes."
            ]
        );
        assert_eq!(
            items.iter().map(|i| i.has_code).collect::<Vec<_>>(),
            [false, true, false, false]
        );
        // one list, not nested, bulleted
        assert!(
            items
                .iter()
                .all(|i| i.list == items[0].list && i.parent.is_none())
        );
        assert!(!page.lists[items[0].list].ordered());
        let kill = &items[2];
        assert_eq!(kill.code_spans.len(), 1);
        let cs = &kill.code_spans[0];
        assert_eq!(cs.text, "ai-kill-vm <alibuildXX>");
        assert!(cs.exact);
        assert_eq!(&src[cs.start..cs.end], cs.text);
        assert_eq!(LineIndex::new(&src).line_col(&src, cs.start), (146, 28));
        assert_eq!((kill.span.start_line, kill.span.end_line), (146, 146));
        // the code block is the item's own, and the item comes before it
        let eval = &items[1];
        assert_eq!(eval.code_blocks.len(), 1);
        assert!(
            matches!(&page.blocks[eval.code_blocks[0]], Block::Code(c) if c.text.starts_with("eval"))
        );
        assert!(eval.first_block <= eval.code_blocks[0]);
        assert!(kill.first_block > eval.code_blocks[0]);
        // parse() gives the same blocks
        assert_eq!(parse(&src), page.blocks);
    }

    #[test]
    fn nested_and_ordered_lists() {
        let md = "3. First, see `the file foo.conf`:\n\n   > quoted `q`\n\n4. Then:\n   - inner `a`\n\n     ```bash\n     ls\n     ```\n   - other ``x ` y``\n\n   and more `b`\n5. Last\n\n<!--\n- hidden\n-->\n\n* `multi\n  line`\n";
        let page = parse_page(md);
        assert_eq!(page.lists.len(), 3, "{:#?}", page.lists);
        assert_eq!(page.lists[0].start, Some(3));
        assert!(page.lists[0].ordered());
        assert_eq!(page.lists[1].parent, Some(1));
        assert!(!page.lists[1].ordered());
        let summary: Vec<(usize, Option<usize>, &str, bool)> = page
            .items
            .iter()
            .map(|i| (i.list, i.parent, i.text.as_str(), i.has_code))
            .collect();
        assert_eq!(
            summary,
            [
                (0, None, "First, see the file foo.conf:\n\nquoted q", false),
                (0, None, "Then:\n\nand more b", true),
                (1, Some(1), "inner a", true),
                (1, Some(1), "other x ` y", false),
                (0, None, "Last", false),
                (2, None, "multi line", false),
            ]
        );
        // the code block belongs to the inner item; the outer one has it at depth
        assert_eq!(page.items[2].code_blocks.len(), 1);
        assert!(page.items[1].code_blocks.is_empty());
        // code spans: the item's own, with offsets of their content
        let spans = |i: usize| -> Vec<&str> {
            page.items[i]
                .code_spans
                .iter()
                .map(|c| c.text.as_str())
                .collect()
        };
        assert_eq!(spans(0), ["the file foo.conf", "q"]);
        assert_eq!(spans(1), ["b"]);
        assert_eq!(spans(3), ["x ` y"]);
        for item in &page.items {
            for c in item.code_spans.iter().filter(|c| c.exact) {
                assert_eq!(&md[c.start..c.end], c.text);
            }
        }
        // a line break inside a span is a space: not exact, but it starts where the text does
        let multi = &page.items[5].code_spans[0];
        assert_eq!(multi.text, "multi line");
        assert!(!multi.exact);
        assert!(md[multi.start..].starts_with("multi"));
    }

    #[test]
    fn block_quotes_and_what_sits_in_them() {
        let md = "# A\n\n> ## Callout\n>\n> ```\n> ls\n> ```\n>\n> > ## Solution\n> > - item\n> {: .solution}\n\n```\npwd\n```\n";
        let p = parse_page(md);
        assert_eq!(p.quotes.len(), 2);
        assert_eq!(p.quotes[0].parent, None);
        assert_eq!(p.quotes[1].parent, Some(0));
        assert_eq!(
            (p.quotes[0].span.start_line, p.quotes[0].span.end_line),
            (3, 11)
        );
        let kinds: Vec<(&str, Option<usize>)> = p
            .blocks
            .iter()
            .zip(&p.block_quotes)
            .map(|(b, q)| {
                let k = match b {
                    Block::Heading { .. } => "heading",
                    Block::Code(_) => "code",
                    Block::Prose { .. } => "prose",
                };
                (k, *q)
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("heading", None),
                ("heading", Some(0)),
                ("code", Some(0)),
                ("heading", Some(1)),
                ("prose", Some(1)),
                ("code", None),
            ]
        );
        assert_eq!(p.items[0].quote, Some(1));
        assert_eq!(p.quote_chain(Some(1)), [1, 0]);
    }

    #[test]
    fn line_index() {
        let text = "ab\ncé\n\nx";
        let li = LineIndex::new(text);
        assert_eq!(li.line(0), 1);
        assert_eq!(li.line(2), 1);
        assert_eq!(li.line(3), 2);
        assert_eq!(li.line(7), 3);
        assert_eq!(li.line(8), 4);
        assert_eq!(li.line_col(text, 6), (2, 3));
        let s = li.span(text, 3..8);
        assert_eq!((s.start_line, s.end_line), (2, 2));
        let s = li.span(text, 3..9);
        assert_eq!((s.start_line, s.end_line), (2, 4));
    }
}
