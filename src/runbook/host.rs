//! Where a section's steps are meant to run: the host its text asks for. The rules are in
//! the module documentation of [`crate::runbook`] ("Where to run"); this file follows them
//! word for word.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

/// A host a text asks for: its name as written (a placeholder kept as `<name>`), and the
/// input offset of its first character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    pub host: String,
    pub at: usize,
}

/// What the text before a section's first runnable step says about where to run it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) enum Ask {
    /// Nothing: the section inherits what the section it is nested in asks for.
    #[default]
    Nothing,
    Host(Found),
    /// Two different hosts: the section asks for none, and inherits none.
    Unclear,
}

/// What the whole page tells about names: the commands its runnable steps run (a name the
/// page runs is a tool, not a host: "log in to `vault`") and the hosts it links to as web
/// addresses (`https://gitlab.example.org/...`: a web site).
pub(super) struct PageNames<'a> {
    pub commands: &'a HashMap<String, String>,
    pub web: HashSet<String>,
}

/// The host names the page writes after `http://` or `https://`, lowercased.
pub(super) fn web_hosts(input: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    // (`://` cannot overlap itself: finding each `:` finds every one, and faster)
    for (i, _) in input
        .match_indices(':')
        .filter(|(i, _)| input[*i..].starts_with("://"))
    {
        let before = input.as_bytes()[i.saturating_sub(5)..i].to_ascii_lowercase();
        if !before.ends_with(b"http") && !before.ends_with(b"https") {
            continue;
        }
        let rest = &input[i + 3..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '@')))
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        let host = authority.rsplit('@').next().unwrap_or("");
        if !host.is_empty() {
            out.insert(host.trim_end_matches('.').to_ascii_lowercase());
        }
    }
    out
}

/// A text that may ask for a host: a paragraph, or the text of a list item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Text {
    /// Its range in the input.
    pub range: Range<usize>,
    /// It is a list item's (where an inline `ssh HOST` is a step of the recipe).
    pub item: bool,
}

/// The host the texts (in page order) ask for.
pub(super) fn scan(input: &str, texts: &[Text], names: &PageNames) -> Ask {
    let mut found: Option<Found> = None;
    for t in texts {
        if !input.get(t.range.clone()).is_some_and(may_ask) {
            continue;
        }
        let clauses = clauses(input, t.range.clone());
        for (k, _) in clauses.iter().enumerate() {
            for f in clause_hosts(&clauses, k, t.item, names) {
                match &found {
                    None => found = Some(f),
                    Some(g) if g.host.eq_ignore_ascii_case(&f.host) => {}
                    Some(_) => return Ask::Unclear,
                }
            }
        }
    }
    found.map_or(Ask::Nothing, Ask::Host)
}

/// Whether `text` may ask for a host: a word in it starts with `log` (`login`, `log in`...),
/// `ssh` (`ssh to`, an inline `ssh HOST`) or `connect`, or is `on` or `from`, in any case.
/// Every phrase [`clause_hosts`] reads starts with such a word, and a word (markup and
/// punctuation around it removed) stands in the text between bytes that are not ASCII
/// letters or digits; most prose has none of them, and is not read word by word.
fn may_ask(text: &str) -> bool {
    const STARTS: &[&[u8]] = &[b"log", b"ssh", b"connect"];
    const WORDS: &[&[u8]] = &[b"on", b"from"];
    text.as_bytes()
        .split(|c| !c.is_ascii_alphanumeric())
        .any(|w| {
            STARTS
                .iter()
                .any(|s| w.len() >= s.len() && w[..s.len()].eq_ignore_ascii_case(s))
                || WORDS.iter().any(|s| w.eq_ignore_ascii_case(s))
        })
}

/// Where the characters of a token's text are in the input.
#[derive(Debug, Clone)]
enum Offsets {
    /// The text is the input from this offset on, byte for byte.
    From(usize),
    /// The input offset of each character (an escape or a line break made the text differ
    /// from the input).
    Each(Vec<usize>),
}

/// A word of prose (markup around it removed) or a code span (its content).
#[derive(Debug, Clone)]
struct Tok<'a> {
    code: bool,
    /// Word: the word without the emphasis, brackets, quotes and punctuation around it.
    /// Code: the span's content, line breaks as spaces, trimmed. Borrowed from the input
    /// when it is the input byte for byte (most tokens), so reading one allocates nothing.
    text: Cow<'a, str>,
    offs: Offsets,
    /// Link text (`[name](url)`): a web address, never a host.
    link: bool,
    /// The token reads as a plain word: a prose word, or a code span that is only `ssh`.
    plain: bool,
    /// That word lowercased, when lowercasing changes `text` (most words are lowercase
    /// already, and are not copied).
    lower: Option<String>,
}

impl<'a> Tok<'a> {
    /// The token of the characters `cs` (as [`chars`] gives them) of `input`.
    fn new(input: &'a str, cs: &[(usize, char)], code: bool, link: bool) -> Tok<'a> {
        let (text, offs) = token_text(input, cs, code);
        let plain = !code || text == "ssh";
        let lower = if code {
            None
        } else if text.is_ascii() {
            text.bytes()
                .any(|b| b.is_ascii_uppercase())
                .then(|| text.to_ascii_lowercase())
        } else {
            Some(text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'")).filter(|l| *l != text)
        };
        Tok {
            code,
            text,
            offs,
            link,
            plain,
            lower,
        }
    }

    /// The token read as a plain word, lowercased: a prose word, or a code span that is only
    /// `ssh`.
    fn word(&self) -> Option<&str> {
        self.plain
            .then(|| self.lower.as_deref().unwrap_or(&self.text))
    }

    /// The input offset of character `idx` of `text`.
    fn offset(&self, idx: usize) -> Option<usize> {
        match &self.offs {
            Offsets::From(at) => self.text.char_indices().nth(idx).map(|(i, _)| at + i),
            Offsets::Each(offs) => offs.get(idx).copied(),
        }
    }
}

/// The text of the characters `cs` of `input` (a code span's line breaks as spaces), and
/// where they are: a slice of the input when nothing between them was left out or changed.
fn token_text<'a>(input: &'a str, cs: &[(usize, char)], code: bool) -> (Cow<'a, str>, Offsets) {
    let Some((&(start, _), &(last, c))) = cs.first().zip(cs.last()) else {
        return (Cow::Borrowed(""), Offsets::Each(Vec::new()));
    };
    let end = last + c.len_utf8();
    let changed = |c: char| c == BREAK || (code && matches!(c, '\n' | '\r'));
    // the offsets only grow, so the characters fill `start..end` when their lengths do
    let len: usize = cs.iter().map(|&(_, c)| c.len_utf8()).sum();
    if len == end - start && !cs.iter().any(|&(_, c)| changed(c)) {
        return (Cow::Borrowed(&input[start..end]), Offsets::From(start));
    }
    let text = cs
        .iter()
        .map(|&(_, c)| {
            if code && matches!(c, '\n' | '\r') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let offs = cs.iter().map(|&(o, _)| o).collect();
    (Cow::Owned(text), Offsets::Each(offs))
}

/// Marks what ends a clause whatever the words: an HTML comment or tag.
const BREAK: char = '\u{0}';

/// The text of `range` as characters with their input offsets: HTML comments become a
/// break, a backslash escape the character it escapes.
fn chars(input: &str, range: Range<usize>) -> Vec<(usize, char)> {
    let Some(text) = input.get(range.clone()) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(text.len());
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let off = range.start + i;
        if c == '<' && text[i..].starts_with("<!--") {
            let end = text[i + 4..]
                .find("-->")
                .map_or(text.len(), |e| i + 4 + e + 3);
            out.push((off, BREAK));
            while it.next_if(|&(j, _)| j < end).is_some() {}
            continue;
        }
        if c == '\\'
            && let Some(&(_, next)) = it.peek()
            && next.is_ascii_punctuation()
        {
            continue;
        }
        out.push((off, c));
    }
    out
}

/// Where the placeholder `<name>` that starts at `cs[i]` ends (the index of its `>`): a
/// letter or `_`, then letters, digits, `_ - .` and single spaces, at most 80 characters,
/// not an HTML tag name.
fn placeholder_end(cs: &[(usize, char)], i: usize) -> Option<usize> {
    let first = cs.get(i + 1)?.1;
    if !(first.is_alphabetic() || first == '_') {
        return None;
    }
    let mut name = String::new();
    for (k, &(_, c)) in cs.iter().enumerate().skip(i + 1).take(81) {
        if c == '>' {
            if name.ends_with(' ') {
                return None;
            }
            let tag = name.split(' ').next().unwrap_or("").to_ascii_lowercase();
            if crate::shell::HTML_TAGS.contains(&tag.as_str()) {
                return None;
            }
            return Some(k);
        }
        if !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
            || (c == ' ' && name.ends_with(' '))
        {
            return None;
        }
        name.push(c);
    }
    None
}

/// Where the markup (`<tag ...>`, `</tag>`, `<https://...>`) that starts at `cs[i]` ends, on
/// its line.
fn markup_end(cs: &[(usize, char)], i: usize) -> Option<usize> {
    let first = cs.get(i + 1)?.1;
    if !(first.is_ascii_alphabetic() || matches!(first, '/' | '!' | '?')) {
        return None;
    }
    cs.iter()
        .enumerate()
        .skip(i + 1)
        .take_while(|(_, (_, c))| *c != '\n')
        .find(|(_, (_, c))| *c == '>')
        .map(|(k, _)| k)
}

/// The clauses of a text, each its tokens: a clause ends after a word that ends with `.`,
/// `,`, `;`, `:`, `!`, `?` or `)`, before a word that starts with `(`, at a dash standing
/// alone (`-`, `--`, `–`, `—`), at an HTML tag or comment, and with the text.
fn clauses(input: &str, range: Range<usize>) -> Vec<Vec<Tok<'_>>> {
    let cs = chars(input, range);
    let mut out: Vec<Vec<Tok>> = vec![Vec::new()];
    // the word being read is `cs[word..i]`: what goes into a word is always the characters
    // that follow it, and what is left out ends it
    let mut word = 0;
    let mut i = 0;
    while i < cs.len() {
        let (_, c) = cs[i];
        if c == BREAK {
            flush_word(input, &cs[word..i], &mut out);
            out.push(Vec::new());
            i += 1;
            word = i;
            continue;
        }
        if c.is_whitespace() {
            flush_word(input, &cs[word..i], &mut out);
            i += 1;
            word = i;
            continue;
        }
        if c == '`' {
            let n = cs[i..].iter().take_while(|(_, c)| *c == '`').count();
            let mut k = i + n;
            let mut close = None;
            while k < cs.len() {
                if cs[k].1 == '`' {
                    let m = cs[k..].iter().take_while(|(_, c)| *c == '`').count();
                    if m == n {
                        close = Some(k);
                        break;
                    }
                    k += m;
                } else {
                    k += 1;
                }
            }
            let Some(close) = close else {
                // the backticks are part of the word
                i += n;
                continue;
            };
            let link_before = cs[word..i].last().is_some_and(|&(_, c)| c == '[');
            flush_word(input, &cs[word..i], &mut out);
            // (a line break in the span reads as a space: whitespace either way)
            let inner = &cs[i + n..close];
            let start = inner.iter().position(|(_, c)| !c.is_whitespace());
            let end = inner.iter().rposition(|(_, c)| !c.is_whitespace());
            let inner = match (start, end) {
                (Some(s), Some(e)) => &inner[s..=e],
                _ => &[][..],
            };
            let after = cs.get(close + n).map(|&(_, c)| c);
            out.last_mut().expect("a clause").push(Tok::new(
                input,
                inner,
                true,
                link_before && after == Some(']'),
            ));
            i = close + n;
            word = i;
            continue;
        }
        if c == '<' {
            if let Some(end) = placeholder_end(&cs, i) {
                i = end + 1;
                continue;
            }
            if let Some(end) = markup_end(&cs, i) {
                flush_word(input, &cs[word..i], &mut out);
                out.push(Vec::new());
                i = end + 1;
                word = i;
                continue;
            }
        }
        i += 1;
    }
    flush_word(input, &cs[word..], &mut out);
    out.retain(|c| !c.is_empty());
    out
}

/// Whether `c` is emphasis, a bracket or a quote that may open a word.
fn opens_word(c: char) -> bool {
    matches!(
        c,
        '*' | '_' | '(' | '[' | '{' | '"' | '\'' | '\u{201c}' | '\u{2018}'
    )
}

/// Whether `c` is emphasis, a bracket, a quote or punctuation that may close a word.
fn closes_word(c: char) -> bool {
    matches!(
        c,
        '*' | '_'
            | ')'
            | ']'
            | '}'
            | '"'
            | '\''
            | '\u{201d}'
            | '\u{2019}'
            | '.'
            | ','
            | ';'
            | ':'
            | '!'
            | '?'
    )
}

/// End the word `w` (empty when none is being read): strip what is around it, and end or
/// start clauses as its punctuation says.
fn flush_word<'a>(input: &'a str, w: &[(usize, char)], out: &mut Vec<Vec<Tok<'a>>>) {
    if w.is_empty() {
        return;
    }
    if w.iter()
        .all(|&(_, c)| matches!(c, '-' | '\u{2013}' | '\u{2014}'))
    {
        out.push(Vec::new());
        return;
    }
    if w.iter().all(|&(_, c)| c == '>') {
        return; // a block quote's marker on a continued line
    }
    let lead = w.iter().take_while(|&&(_, c)| opens_word(c)).count();
    let trail = w[lead..]
        .iter()
        .rev()
        .take_while(|&&(_, c)| closes_word(c))
        .count();
    if w[..lead].iter().any(|&(_, c)| c == '(') {
        out.push(Vec::new());
    }
    let core = &w[lead..w.len() - trail];
    if !core.is_empty() {
        // `[name](url)`, `[name][ref]`
        let link = w[..lead].iter().any(|&(_, c)| c == '[')
            || core
                .windows(2)
                .any(|p| p[0].1 == ']' && matches!(p[1].1, '(' | '['));
        out.last_mut()
            .expect("a clause")
            .push(Tok::new(input, core, false, link));
    }
    if w[w.len() - trail..]
        .iter()
        .any(|&(_, c)| matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | ')'))
    {
        out.push(Vec::new());
    }
}

/// Words that may come before what a clause asks the reader to do.
const LEADS: &[&str] = &[
    "now", "then", "first", "next", "please", "also", "finally", "and", "so", "you", "we", "can",
    "could", "should", "must", "may", "need", "needs", "have", "has", "to", "will", "make", "sure",
    "that", "always", "only", "just", "simply",
];

/// The verbs of an instruction to run something, or to be somewhere.
const RUN_VERBS: &[&str] = &[
    "run", "execute", "type", "issue", "do", "enter", "perform", "work", "be", "are", "stay",
];

/// What a page's own actions are called, as the subject of a clause ("every recipe runs
/// from ..."), and the determiners before it.
const SUBJECTS: &[&str] = &[
    "recipe",
    "recipes",
    "step",
    "steps",
    "command",
    "commands",
    "instruction",
    "instructions",
    "everything",
];
const DETERMINERS: &[&str] = &[
    "every", "each", "all", "the", "these", "this", "those", "our", "its", "of",
];
/// What an instruction may run `from` a host: "Run the following from `aiadm`", not "Run the
/// installer from `downloads.example.org`" (where it comes from).
const FROM_OBJECTS: &[&str] = &[
    "the",
    "following",
    "these",
    "this",
    "those",
    "commands",
    "command",
    "steps",
    "step",
    "it",
    "them",
    "all",
    "everything",
    "below",
    "of",
    "recipe",
];

/// Verbs of running in a clause whose subject is the page's recipes, steps or commands.
const RAN: &[&str] = &[
    "run",
    "runs",
    "execute",
    "executes",
    "executed",
    "typed",
    "done",
    "issued",
    "performed",
];

/// Before the phrase, they say the host is not (or not always) where to run.
const NEGATIONS: &[&str] = &[
    "not",
    "don't",
    "dont",
    "never",
    "without",
    "instead",
    "no",
    "cannot",
    "can't",
    "cant",
    "needn't",
    "doesn't",
    "shouldn't",
    "mustn't",
    "won't",
    "avoid",
    "unless",
    "if",
    "whether",
    "rather",
    "except",
    "nor",
    "test",
    "check",
    "verify",
];

/// Anywhere in the clause, they say the name is a web site or another kind of service.
const NOT_A_LOGIN: &[&str] = &[
    "web",
    "website",
    "site",
    "webpage",
    "browser",
    "portal",
    "dashboard",
    "gui",
    "ui",
    "url",
    "vpn",
    "wifi",
    "wi-fi",
    "database",
    "db",
];

/// Nouns after `the NAME` that make NAME the name of a machine.
const MACHINE_NOUNS: &[&str] = &["host", "machine", "server", "node"];

/// Names that are never the host a page asks for.
const NOT_HOSTS: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "root",
    "sudo",
    "shell",
    "bash",
    "sh",
    "zsh",
    "ssh",
];

/// File extensions that make a dotted word a file name (`setup.py`, `node.js`), not a host.
const NOT_TLDS: &[&str] = &[
    "txt", "csv", "tsv", "dat", "out", "err", "log", "md", "pdf", "png", "jpg", "jpeg", "gif",
    "svg", "html", "htm", "json", "yaml", "yml", "xml", "tar", "gz", "tgz", "zip", "bz2", "xz",
    "cfg", "conf", "ini", "doc", "docx", "xlsx", "sh", "py", "js", "ts", "rb", "go", "rs", "java",
    "php", "pl", "lock", "toml", "tf", "repo", "list", "key", "pem", "crt", "csr", "pub", "gpg",
    "asc", "deb", "rpm", "iso", "img", "env", "sql", "db", "bak", "old", "orig", "tmp", "pid",
    "css", "service", "timer", "socket", "mount", "target", "d", "so", "jar", "whl", "exe",
];

fn in_list(list: &[&str], w: Option<&str>) -> bool {
    w.is_some_and(|w| list.contains(&w))
}

/// Where the clause (its words, lowercased) becomes an instruction to run: after lead words,
/// a verb of running (its index); or, after determiners, a subject that is the page's
/// recipes, steps or commands, then a verb of running (the index of that verb). Linear in
/// the clause's length.
fn instruction(words: &[Option<&str>]) -> Option<usize> {
    let k = words.iter().take_while(|w| in_list(LEADS, **w)).count();
    if k < words.len() && in_list(RUN_VERBS, words[k]) {
        return Some(k);
    }
    let k = words
        .iter()
        .take_while(|w| in_list(DETERMINERS, **w))
        .count();
    if k < words.len() && in_list(SUBJECTS, words[k]) {
        return words[k + 1..]
            .iter()
            .position(|w| in_list(RAN, *w))
            .map(|p| k + 1 + p);
    }
    None
}

fn negated(words: &[Option<&str>]) -> bool {
    words.iter().any(|w| in_list(NEGATIONS, *w))
}

/// The hosts clause `k` of `clauses` asks for; `item`: the text is a list item's.
fn clause_hosts(clauses: &[Vec<Tok<'_>>], k: usize, item: bool, names: &PageNames) -> Vec<Found> {
    let cl = &clauses[k];
    let words: Vec<Option<&str>> = cl.iter().map(Tok::word).collect();
    if words.iter().any(|t| in_list(NOT_A_LOGIN, *t)) {
        return Vec::new();
    }
    let w = |j: usize| words.get(j).copied().flatten();
    let is = |j: usize, set: &[&str]| in_list(set, w(j));
    // the words before `leads` are all lead words: a phrase there opens the clause
    let leads = words.iter().take_while(|w| in_list(LEADS, **w)).count();
    let runs_from = instruction(&words);
    let mut out = Vec::new();
    for i in 0..cl.len() {
        // a negation before a phrase stops the clause
        if i > 0 && in_list(NEGATIONS, w(i - 1)) {
            break;
        }
        let opens = i <= leads;
        // (where the host is, a bare name in backticks may be it)
        let at: Option<(usize, bool)> = if is(i, &["login"]) && is(i + 1, &["to", "into", "on"]) {
            Some((i + 2, true))
        } else if is(i, &["log", "logged", "logging"]) {
            if is(i + 1, &["in"]) && is(i + 2, &["to", "on"]) {
                Some((i + 3, true))
            } else if is(i + 1, &["into", "onto"]) {
                Some((i + 2, true))
            } else if is(i + 1, &["on"]) && is(i + 2, &["to"]) {
                Some((i + 3, true))
            } else {
                None
            }
        } else if is(i, &["ssh", "sshed", "ssh'd", "ssh-ed"]) && is(i + 1, &["to", "into", "onto"])
        {
            Some((i + 2, true))
        } else if w(i) == Some("ssh") && opens {
            Some((i + 1, true))
        } else if is(i, &["connect", "connected", "connecting"]) && is(i + 1, &["to"]) {
            Some((i + 2, false))
        } else if is(i, &["on", "from"]) {
            // `On HOST, run:`: what follows the host says to run, or the text ends
            let then_runs = || {
                let after_host = if w(i + 1) == Some("the") {
                    i + 4
                } else {
                    i + 2
                };
                let rest: &[Option<&str>] = if after_host < cl.len() {
                    &words[after_host..]
                } else {
                    match clauses.get(k + 1) {
                        None => return true,
                        Some(next) => &next.iter().map(Tok::word).collect::<Vec<_>>(),
                    }
                };
                !negated(rest) && instruction(rest).is_some()
            };
            // `from` says where to run only of the page's own steps ("Run the following
            // from"), not of a thing it names ("Run the installer from")
            let runs = runs_from.is_some_and(|at| {
                at < i
                    && (w(i) == Some("on")
                        || !in_list(RUN_VERBS, w(at))
                        || (!is(at, &["be", "are", "stay"])
                            && (at + 1..i).all(|j| is(j, FROM_OBJECTS))))
            });
            (runs || (opens && then_runs())).then_some((i + 1, false))
        } else {
            None
        };
        if let Some((j, bare_ok)) = at
            && let Some(f) = host_at(cl, j, bare_ok, names)
        {
            out.push(f);
        }
        // an inline `ssh HOST`, in a list item (a step of the recipe)
        if item
            && cl[i].code
            && !cl[i].link
            && let Some((host, idx)) = ssh_destination(&cl[i].text)
            && let Some(f) = found(&cl[i], &host, idx, names)
        {
            out.push(f);
        }
    }
    out
}

/// The host at `cl[j]`: the token itself, or `the NAME host` (`machine`, `server`, `node`).
/// `bare_ok`: a bare name in backticks may be the token (after `the`, it may before `host`
/// only).
fn host_at(cl: &[Tok<'_>], j: usize, bare_ok: bool, names: &PageNames) -> Option<Found> {
    let tok = cl.get(j)?;
    if tok.word() == Some("the") {
        let noun = cl.get(j + 2).and_then(Tok::word)?;
        if !MACHINE_NOUNS.contains(&noun) {
            return None;
        }
        let t = cl.get(j + 1)?;
        if t.link {
            return None;
        }
        // `the `master` node` names a role; `the `aiadm` host` a machine
        let (host, idx) = host_shape(&t.text, t.code, noun == "host")?;
        return found(t, &host, idx, names);
    }
    if tok.link {
        return None;
    }
    let (host, idx) = host_shape(&tok.text, tok.code, bare_ok)?;
    found(tok, &host, idx, names)
}

/// A host the page's other names do not rule out, located in the input.
fn found(tok: &Tok<'_>, host: &str, idx: usize, names: &PageNames) -> Option<Found> {
    let lower = host.to_ascii_lowercase();
    if NOT_HOSTS.contains(&lower.as_str()) || lower.ends_with(".localhost") {
        return None;
    }
    if !host.contains('<') && (names.web.contains(&lower) || lower.starts_with("www.")) {
        return None;
    }
    if !host.contains(['.', '<']) && names.commands.contains_key(host) {
        return None;
    }
    Some(Found {
        host: host.to_string(),
        at: tok.offset(idx)?,
    })
}

/// `text` with every placeholder replaced by `x`; None when a `<` starts no placeholder.
fn mask_placeholders(text: &str) -> Option<(String, bool)> {
    let cs: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = String::new();
    let mut had = false;
    let mut i = 0;
    while i < cs.len() {
        if cs[i].1 == '<' {
            let end = placeholder_end(&cs, i)?;
            out.push('x');
            had = true;
            i = end + 1;
            continue;
        }
        if cs[i].1 == '>' {
            return None;
        }
        out.push(cs[i].1);
        i += 1;
    }
    Some((out, had))
}

/// Whether `text` (a word, or a code span's content when `code`) looks like a host name:
/// the name (a user before `@` removed) and the index (in characters) where it starts.
/// `bare_ok`: a name without dots in backticks counts.
fn host_shape(text: &str, code: bool, bare_ok: bool) -> Option<(String, usize)> {
    if text.is_empty() || text.contains("://") {
        return None;
    }
    let (user, host) = match text.rfind('@') {
        Some(at) => (Some(&text[..at]), &text[at + 1..]),
        None => (None, text),
    };
    if let Some(user) = user {
        let (masked, _) = mask_placeholders(user)?;
        if masked.is_empty()
            || !masked
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            || user == "git"
        {
            return None;
        }
    }
    let idx = text.chars().count() - host.chars().count();
    let (masked, placeholder) = mask_placeholders(host)?;
    if masked.is_empty()
        || !masked
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
    {
        return None;
    }
    let labels: Vec<&str> = masked.split('.').collect();
    let label_ok =
        |l: &&str| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-');
    if !labels.iter().all(label_ok) {
        return None;
    }
    if placeholder {
        return Some((host.to_string(), idx));
    }
    if masked.chars().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    if labels.len() == 4 && labels.iter().all(|l| l.parse::<u8>().is_ok()) {
        let loopback = labels[0] == "127" || masked == "0.0.0.0" || masked == "255.255.255.255";
        return (!loopback).then(|| (host.to_string(), idx));
    }
    if labels.len() == 1 {
        let ok = code
            && bare_ok
            && masked.len() >= 2
            && masked.starts_with(|c: char| c.is_ascii_alphabetic());
        return ok.then(|| (host.to_string(), idx));
    }
    let tld = labels[labels.len() - 1];
    let dns = tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic())
        && !NOT_TLDS.contains(&tld)
        && (code || labels.len() >= 3);
    dns.then(|| (host.to_string(), idx))
}

/// The host of an inline `ssh [options] [user@]HOST` that opens a session there: nothing
/// after the destination (a remote command), no option that forwards, backgrounds, controls
/// a master or refuses a terminal (`-N -f -W -O -L -R -D -T`). The host and its index in
/// characters.
fn ssh_destination(code: &str) -> Option<(String, usize)> {
    // words with their start (in characters), a placeholder's spaces kept inside it
    let cs: Vec<(usize, char)> = code.chars().enumerate().collect();
    let mut words: Vec<(usize, String)> = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        if cs[i].1.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let mut w = String::new();
        while i < cs.len() && !cs[i].1.is_whitespace() {
            if cs[i].1 == '<'
                && let Some(end) = placeholder_end(&cs, i)
            {
                w.extend(cs[i..=end].iter().map(|&(_, c)| c));
                i = end + 1;
                continue;
            }
            w.push(cs[i].1);
            i += 1;
        }
        words.push((start, w));
    }
    let (first, rest) = words.split_first()?;
    if first.1 != "ssh" {
        return None;
    }
    const WITH_ARG: &str = "BbcDEeFIiJLlmOoPpQRSWw";
    const REFUSED: &str = "NfWOLRDTGV";
    let mut k = 0;
    while k < rest.len() && rest[k].1.starts_with('-') && rest[k].1.len() > 1 {
        let flags: Vec<char> = rest[k].1[1..].chars().collect();
        for (n, f) in flags.iter().enumerate() {
            if REFUSED.contains(*f) {
                return None;
            }
            if WITH_ARG.contains(*f) {
                if n + 1 == flags.len() {
                    k += 1; // its argument is the next word
                }
                break;
            }
        }
        k += 1;
    }
    let [dest] = &rest[k.min(rest.len())..] else {
        return None;
    };
    let (mut text, mut start) = (dest.1.as_str(), dest.0);
    if let Some(url) = text.strip_prefix("ssh://") {
        start += 6;
        text = url;
        if let Some((h, port)) = text.rsplit_once(':')
            && port.chars().all(|c| c.is_ascii_digit())
        {
            text = h;
        }
    }
    let (host, idx) = host_shape(text, true, true)?;
    Some((host, start + idx))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(text: &str) -> Option<String> {
        ask_with(text, &HashMap::new())
    }

    fn ask_with(text: &str, commands: &HashMap<String, String>) -> Option<String> {
        let names = PageNames {
            commands,
            web: web_hosts(text),
        };
        let whole = Text {
            range: 0..text.len(),
            item: true,
        };
        match scan(text, &[whole], &names) {
            Ask::Host(f) => {
                // the offset is where the host is written
                assert!(
                    text[f.at..].starts_with(&f.host[..1]),
                    "{text:?}: {f:?} not at its offset"
                );
                Some(f.host)
            }
            Ask::Unclear => Some("?".into()),
            Ask::Nothing => None,
        }
    }

    #[test]
    fn phrasings_that_ask_for_a_host() {
        for (text, host) in [
            ("Login to `aiadm.cern.ch`.", "aiadm.cern.ch"),
            ("Log in to `aiadm`", "aiadm"),
            ("log into lxplus.cern.ch and run:", "lxplus.cern.ch"),
            (
                "Logged in on `build01.example.org`, run",
                "build01.example.org",
            ),
            ("ssh to `gw.example.org`", "gw.example.org"),
            ("SSH into `head`:", "head"),
            ("ssh `bastion` first", "bastion"),
            (
                "Open a session with `ssh deploy@app1.example.org`",
                "app1.example.org",
            ),
            ("`ssh -A -p 2222 ops@<hostXX>`", "<hostXX>"),
            ("`ssh ssh://me@node7.example.net:2200`", "node7.example.net"),
            ("Run the following on `db1.example.net`:", "db1.example.net"),
            (
                "Run the following on build.example.org:",
                "build.example.org",
            ),
            ("On `aiadm.cern.ch`, run:", "aiadm.cern.ch"),
            ("From `aiadm.cern.ch`:", "aiadm.cern.ch"),
            ("Run the following from `aiadm.cern.ch`:", "aiadm.cern.ch"),
            (
                "You need to run these commands from `10.1.2.3`.",
                "10.1.2.3",
            ),
            ("Run this on the `aiadm` host.", "aiadm"),
            ("Log in to the `aiadm` host.", "aiadm"),
            ("Log in to the `<slave>` node.", "<slave>"),
            (
                "Run this on the build7.example.org machine.",
                "build7.example.org",
            ),
            ("Connect to `vm3.example.org` and run", "vm3.example.org"),
            ("Every recipe runs from `aiadm.cern.ch`.", "aiadm.cern.ch"),
            (
                "All commands below are executed on `h.example.com`",
                "h.example.com",
            ),
            ("Make sure you are on `aiadm.cern.ch`.", "aiadm.cern.ch"),
            ("Login to <slave>", "<slave>"),
            ("Login to <slave name>.", "<slave name>"),
            ("Log in to `<slave>.cern.ch`", "<slave>.cern.ch"),
            ("Log in to `root@aiadm.cern.ch` (as root)", "aiadm.cern.ch"),
            ("First, **log in** to `aiadm.cern.ch`", "aiadm.cern.ch"),
            (
                "Login to `aiadm.cern.ch` and `ssh aiadm.cern.ch` both",
                "aiadm.cern.ch",
            ),
            ("Login\nto `aiadm.cern.ch`", "aiadm.cern.ch"),
        ] {
            assert_eq!(ask(text).as_deref(), Some(host), "{text:?}");
        }
    }

    #[test]
    fn plain_english_is_no_host() {
        for text in [
            "on success, go on",
            "from now on, use the new name",
            "as shown on the next page",
            "Do this on your laptop.",
            "Run it on this machine.",
            "Run it locally.",
            "Log in to the machine.",
            "Login to aiadm and run", // a bare word outside backticks
            "Click on `Save`.",
            "It depends on `libfoo.so`.",
            "Run the tests on `main`.",      // a bare name after on
            "Log in to the `master` node.",  // a role
            "Run the build on `v1.2.3`.",    // a version
            "Run the script on `setup.py`.", // a file
            "Run the installer from `downloads.example.org`.", // where it comes from
            "We are from `cern.example.org`.",
            "The service runs on `mesos01.example.org`.", // describes, asks nothing
            "Do not log in to `prod.example.org`.",
            "Check that you can ssh to `gw.example.org`.",
            "Log in to the `portal.example.org` web interface.",
            "Log in to github.com", // two labels outside backticks
            "Log in to `www.example.org`",
            "Log in to [aiadm.cern.ch](https://aiadm.cern.ch)",
            "Connect to `db`.",                 // a bare name after connect
            "Connect to `db.example.org:5432`", // a port
            "ssh to `localhost`",
            "`ssh gw.example.org uptime`", // a remote command
            "`ssh -L 8080:localhost:80 gw.example.org`",
            "`ssh -T git@github.com`",
            "Add it to your ssh `config`",
            "Log in to <b>aiadm.cern.ch</b>",
            "Log in to `127.0.0.1`",
            "<!-- Login to `aiadm.cern.ch` -->",
            "On `github.com`, create a token.",
        ] {
            assert_eq!(ask(text), None, "{text:?}");
        }
    }

    #[test]
    fn an_inline_ssh_counts_in_a_list_item_only() {
        let text = "Then run `ssh node7.example.org`.";
        let names = PageNames {
            commands: &HashMap::new(),
            web: HashSet::new(),
        };
        let paragraph = Text {
            range: 0..text.len(),
            item: false,
        };
        assert_eq!(scan(text, &[paragraph], &names), Ask::Nothing);
        assert_eq!(ask(text).as_deref(), Some("node7.example.org"));
    }

    #[test]
    fn a_web_address_on_the_page_is_no_host() {
        assert_eq!(
            ask("Log in to `gitlab.example.org`; see https://gitlab.example.org/help"),
            None
        );
    }

    #[test]
    fn a_name_the_page_runs_is_a_tool() {
        let mut commands = HashMap::new();
        commands.insert("vault".to_string(), "s-1".to_string());
        assert_eq!(ask_with("Log in to `vault`", &commands), None);
        assert_eq!(
            ask_with("Log in to `aiadm`", &commands).as_deref(),
            Some("aiadm")
        );
    }

    #[test]
    fn two_hosts_are_unclear_and_one_said_twice_is_one() {
        assert_eq!(
            ask("ssh to `gw.example.org`, then ssh to `node1.example.org`").as_deref(),
            Some("?")
        );
        assert_eq!(
            ask("Login to `aiadm.cern.ch`. Run the following on `aiadm.cern.ch`:").as_deref(),
            Some("aiadm.cern.ch")
        );
    }

    #[test]
    fn escapes_and_odd_bytes_do_not_break_it() {
        assert_eq!(ask("Login to \\<slave\\>").as_deref(), Some("<slave>"));
        for text in [
            "`",
            "``x",
            "<",
            "<a",
            "Login to `",
            "Login to <",
            "é `ssh é`",
            "ssh",
            "on",
        ] {
            let _ = ask(text);
        }
    }
}

#[cfg(test)]
mod stress {
    /// Pages made of the phrases' own pieces in random order: the model never panics and
    /// every host it finds is where it says (see `fuzzing::placeholders`).
    #[test]
    fn random_pages_of_phrase_pieces() {
        let pieces = [
            "Login",
            "log",
            "in",
            "to",
            "into",
            "on",
            "from",
            "ssh",
            "the",
            "host",
            "run",
            "Run",
            "connect",
            "not",
            "`",
            "``",
            "<",
            ">",
            "<slave>",
            "<slave name>",
            "\\",
            "aiadm.cern.ch",
            "a.b",
            "10.0.0.1",
            "@",
            "root@",
            "`ssh x.example.org`",
            ",",
            ".",
            ":",
            "(",
            ")",
            "\n",
            "\n\n",
            "\n- ",
            "\n> ",
            "\n# H\n",
            "\n## S\n",
            "<!--",
            "-->",
            "é",
            "—",
            "-",
            "```bash\nls\n```",
            "\n    uptime\n",
            "[",
            "](https://x.y.z)",
            "{{",
            "*",
            "_",
            "every",
            "recipe",
            "runs",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut hosts = 0;
        for _ in 0..1500 {
            let n = (next() % 40) as usize;
            let mut page = String::new();
            for _ in 0..n {
                page.push_str(pieces[(next() % pieces.len() as u64) as usize]);
                if next() % 3 > 0 {
                    page.push(' ');
                }
            }
            crate::fuzzing::placeholders(page.as_bytes());
            let rb = crate::runbook::build(&page, &Default::default());
            hosts += rb.sections.iter().filter(|s| s.asks_host.is_some()).count();
        }
        assert!(hosts > 20, "only {hosts} hosts: the pages test little");
    }

    /// A text `may_ask` passes over holds no word that starts a phrase `clause_hosts` reads,
    /// and no code span that starts with `ssh`, however it is marked up.
    #[test]
    fn texts_passed_over_start_no_phrase() {
        use super::{clauses, may_ask};
        let pieces = [
            "on",
            "On",
            "ON",
            "from",
            "FROM",
            "login",
            "LOGIN",
            "Log",
            "logged",
            "logging",
            "ssh",
            "SSH",
            "sshed",
            "ssh'd",
            "ssh\\'d",
            "ssh’d",
            "ssh-ed",
            "connect",
            "Connected",
            "connecting",
            "one",
            "only",
            "front",
            "blog",
            "to",
            "x",
            "é",
            "\\",
            "*",
            "_",
            "**",
            "(",
            ")",
            "[",
            "](u)",
            "\"",
            "'",
            "‘",
            "’",
            "“",
            "”",
            ".",
            ",",
            ":",
            "!",
            "?",
            "`",
            "``",
            "<",
            ">",
            "<b>",
            "</b>",
            "<x>",
            "<!--",
            "-->",
            "—",
            "-",
            "\n",
            "\t",
            "\u{a0}",
        ];
        let triggers = [
            "login",
            "log",
            "logged",
            "logging",
            "ssh",
            "sshed",
            "ssh'd",
            "ssh-ed",
            "connect",
            "connected",
            "connecting",
            "on",
            "from",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut passed_over = 0;
        for _ in 0..20000 {
            let n = (next() % 12) as usize;
            let mut text = String::new();
            for _ in 0..n {
                text.push_str(pieces[(next() % pieces.len() as u64) as usize]);
                if next() % 3 == 0 {
                    text.push(' ');
                }
            }
            if may_ask(&text) {
                continue;
            }
            passed_over += 1;
            for tok in clauses(&text, 0..text.len()).iter().flatten() {
                let starts = tok.word().is_some_and(|w| triggers.contains(&w))
                    || (tok.code && tok.text.starts_with("ssh"));
                assert!(!starts, "{text:?} passed over, but {tok:?} starts a phrase");
            }
        }
        assert!(passed_over > 1000, "only {passed_over} texts passed over");
    }
}
