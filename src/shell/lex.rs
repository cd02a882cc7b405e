//! The bash lexer: one pass over a script, a line at a time, with a stack of quoting frames.
//! See the module documentation of [`crate::shell`] for the grammar.

use std::collections::VecDeque;

/// How the text around a spot is quoted: what a value placed there must be written as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quoting {
    /// An unquoted word: an argument, the command word, an assignment's value, an array
    /// element, a `case` pattern, a redirection target.
    Plain,
    /// Inside `'...'`.
    Single,
    /// Inside `$'...'`.
    AnsiC,
    /// Inside `"..."` (or `$"..."`).
    Double,
    /// The word of `${x:-word}` (and `-`, `=`, `:=`, `+`, `:+`, `?`, `:?`, `@`).
    ParamWord { double: bool },
    /// The pattern of `${x#pattern}`, `${x%pattern}`, `${x/pattern/...}`, `${x^pattern}`...
    ParamPattern { double: bool },
    /// The replacement of `${x/pattern/replacement}`.
    ParamReplace { double: bool },
    /// An arithmetic expression.
    Arith,
    /// Where a command takes a variable's name (`read NAME`, `unset NAME`).
    Name,
    /// A heredoc body: literal when its delimiter was quoted.
    Heredoc {
        quoted: bool,
        delim: String,
        strip_tabs: bool,
    },
}

/// Where a placeholder sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub quoting: Quoting,
    /// Levels of `` `...` `` around it: each level's text is unescaped once (`\\`, `` \` ``,
    /// `\$`) before it is parsed.
    pub backticks: u8,
    /// The command that parses this text as shell code a second time (`eval`, `ssh`, `sh -c`).
    pub reparsed_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// Offsets (in the caller's text) of the `<` and just after the `>`.
    pub start: usize,
    pub end: usize,
    pub name: String,
    pub context: Context,
    /// The variable whose value it is in (`MACHINE_NAME=<alimesosXX>`, `export T="<t>"`).
    pub assigned_to: Option<String>,
    /// Index of the line it is on (lines as fed to the lexer, from 0).
    pub line: usize,
}

/// A variable read (`$NAME`, `${NAME...}`, a name in arithmetic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    pub name: String,
    pub at: usize,
}

/// A variable set (`NAME=`, `export NAME=`, `declare NAME`, `read NAME`, `for NAME in`,
/// `mapfile NAME`, `printf -v NAME`, `getopts ... NAME`, `let NAME=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assign {
    pub name: String,
    pub at: usize,
    /// The value after quote removal, when it is known before running (no expansion, no
    /// placeholder, no glob): `DB_PASSWORD="correct horse"` gives `correct horse`.
    pub value: Option<String>,
    /// The builtin or keyword that sets it (`export`, `read`, `for`...), if any.
    pub via: Option<String>,
}

/// A word in command position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandWord {
    pub start: usize,
    pub end: usize,
    /// The command name after quote removal; None when it is computed (`$cmd`, `$(...)`,
    /// a placeholder).
    pub name: Option<String>,
}

/// What the lexer says about one line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInfo {
    /// The line starts a new command (it does not continue a quote, a `\` line, a `$(...)`
    /// or a heredoc).
    pub starts_command: bool,
    /// The line is a heredoc body line or its terminator.
    pub heredoc: bool,
    /// Byte offset in the line of a `#` that starts a comment.
    pub comment: Option<usize>,
    /// Byte offset in the line of a `(` that bash refuses (a syntax error): one among a
    /// simple command's arguments (`origin https://x (fetch)`), where bash expects a word.
    pub stray_paren: Option<usize>,
}

/// Everything the lexer found in a text.
#[derive(Debug, Clone, Default)]
pub struct Lexed {
    pub lines: Vec<LineInfo>,
    pub placeholders: Vec<Placeholder>,
    pub reads: Vec<Var>,
    pub assigns: Vec<Assign>,
    pub commands: Vec<CommandWord>,
    /// Functions defined (`name() {`, `function name`).
    pub functions: Vec<String>,
}

impl Lexed {
    /// The command names (static ones) in order of appearance.
    pub fn command_names(&self) -> impl Iterator<Item = &str> {
        self.commands.iter().filter_map(|c| c.name.as_deref())
    }
}

/// Lex a whole text (lines split at `\n`; offsets are byte offsets in `text`).
pub fn lex(text: &str) -> Lexed {
    let mut lx = Lexer::default();
    let mut at = 0;
    for piece in text.split_inclusive('\n') {
        let line = piece.strip_suffix('\n').unwrap_or(piece);
        lx.line(line, at);
        at += piece.len();
    }
    lx.finish(text)
}

const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time",
    "esac", "in", "]]",
];

const WRAPPERS: &[&str] = &[
    "sudo", "env", "exec", "command", "builtin", "nohup", "nice", "time", "timeout", "stdbuf",
    "doas", "ionice", "chrt", "taskset", "setsid",
];

const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox"];

const DECLARE: &[&str] = &["export", "local", "declare", "readonly", "typeset"];

/// HTML element names: `<b>` in a quoted string is markup, not a placeholder.
pub(crate) const HTML_TAGS: &[&str] = &[
    "a",
    "abbr",
    "b",
    "big",
    "blockquote",
    "body",
    "br",
    "button",
    "center",
    "cite",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "font",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "i",
    "iframe",
    "img",
    "ins",
    "kbd",
    "label",
    "li",
    "link",
    "main",
    "mark",
    "meta",
    "nav",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "script",
    "section",
    "small",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "title",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
];

#[derive(Debug, Clone)]
struct Heredoc {
    delim: String,
    quoted: bool,
    strip_tabs: bool,
    /// The body is fed to a shell (`bash <<EOF`, `ssh host <<EOF`): parsed again.
    reparsed_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    Top,
    CmdSubst,
    Subshell,
    ProcSubst,
    Array,
    Backtick(u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Normal,
    Redirect,
    HeredocDelim { strip_tabs: bool },
    ForVar,
    FunctionName,
    CaseWord,
    CaseIn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    /// Reading the word after `case` or waiting for `in`.
    Head,
    /// At a pattern (before its `)`).
    Pattern,
    /// In the commands of a pattern.
    Body,
}

/// A word of the simple command being read.
#[derive(Debug, Clone)]
struct WordRec {
    lit: Option<String>,
    /// It was in command position.
    command: bool,
    /// Placeholder indices in it.
    placeholders: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Cmd {
    words: Vec<WordRec>,
    /// A command word was seen: later words are arguments.
    command_seen: bool,
    /// After a wrapper: options are skipped until the next command word.
    wrapper: Option<String>,
    /// The wrapper's next word is an option's argument.
    wrapper_skip: bool,
    expect: Expect,
    case: Vec<Case>,
    dbl_bracket: bool,
    /// In `[[ ]]`: the next word is an arithmetic operand.
    arith_next: bool,
    /// Commands of the pipeline so far (for heredocs fed to a shell).
    pipeline: Vec<String>,
}

impl Default for Cmd {
    fn default() -> Self {
        Cmd {
            words: Vec::new(),
            command_seen: false,
            wrapper: None,
            wrapper_skip: false,
            expect: Expect::Normal,
            case: Vec::new(),
            dbl_bracket: false,
            arith_next: false,
            pipeline: Vec::new(),
        }
    }
}

impl Cmd {
    fn at_pattern(&self) -> bool {
        self.case.last() == Some(&Case::Pattern)
    }

    /// A new simple command starts (after `;`, `&&`, a newline...).
    fn next_command(&mut self, pipe: bool) {
        self.words.clear();
        self.command_seen = false;
        self.wrapper = None;
        self.wrapper_skip = false;
        self.expect = Expect::Normal;
        self.dbl_bracket = false;
        self.arith_next = false;
        if !pipe {
            self.pipeline.clear();
        }
    }

    fn command_names(&self) -> impl Iterator<Item = &str> {
        self.words
            .iter()
            .filter(|w| w.command)
            .filter_map(|w| w.lit.as_deref())
    }

    /// Whether the word being read now (after `self.words`) is parsed again as shell code,
    /// and by what.
    fn reparse_position(&self) -> Option<String> {
        let lits: Vec<Option<&str>> = self.words.iter().map(|w| w.lit.as_deref()).collect();
        let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
        for (i, w) in self.words.iter().enumerate() {
            let Some(name) = w.lit.as_deref() else {
                continue;
            };
            let name = base(name);
            if w.command && name == "eval" {
                return Some("eval".into());
            }
            if w.command && name == "watch" {
                return Some("watch".into());
            }
            // the action of `trap`, an alias's value: parsed when they are used
            if w.command && matches!(name.as_str(), "trap" | "alias") {
                return Some(name);
            }
            // `script -c CMD`, `flock FILE -c CMD`
            if w.command
                && matches!(name.as_str(), "script" | "flock")
                && lits.last() == Some(&Some("-c"))
            {
                return Some(format!("{name} -c"));
            }
            if w.command && name == "ssh" {
                // options that take an argument
                let mut j = i + 1;
                let mut dest = None;
                while j < lits.len() {
                    match lits[j] {
                        Some(o) if o.starts_with('-') && o.len() > 1 => {
                            let takes = o.len() == 2 && "bcDEeFIiJLlmOopQRSWwB".contains(&o[1..]);
                            j += if takes { 2 } else { 1 };
                        }
                        _ => {
                            dest = Some(j);
                            break;
                        }
                    }
                }
                if dest.is_some_and(|d| d < lits.len()) {
                    return Some("ssh".into());
                }
            }
            if w.command
                && matches!(name.as_str(), "su" | "runuser")
                && lits.last() == Some(&Some("-c"))
            {
                return Some(name);
            }
            if w.command
                && name == "sudo"
                && lits[i + 1..]
                    .iter()
                    .any(|l| matches!(l, Some("-s" | "-i" | "--shell" | "--login")))
            {
                return Some("sudo -s".into());
            }
            if SHELLS.contains(&name.as_str()) {
                // `sh -c STRING`, `bash -lc STRING`, also behind `docker exec`, `kubectl exec`
                if let Some(Some(last)) = lits.last()
                    && i + 1 < lits.len()
                    && last.starts_with('-')
                    && !last.starts_with("--")
                    && last.contains('c')
                {
                    return Some(format!("{name} -c"));
                }
            }
        }
        None
    }

    /// Whether the word being read now is where a command takes a variable's name (`read
    /// NAME`, `printf -v NAME`, `unset NAME`, `declare NAME`, `for NAME`, `mapfile NAME`):
    /// bash evaluates a subscript there (`a[$(cmd)]` runs cmd).
    fn name_position(&self, word: Option<&Word>) -> bool {
        if self.expect == Expect::ForVar {
            return true;
        }
        let Some(cmd) = self.command_names().last() else {
            return false;
        };
        let cmd = cmd.rsplit('/').next().unwrap_or(cmd);
        let prev = self.words.last().and_then(|w| w.lit.as_deref());
        let assigning = word.is_some_and(|w| w.assign.is_some());
        match cmd {
            "read" => !matches!(prev, Some("-d" | "-i" | "-n" | "-N" | "-p" | "-t" | "-u")),
            "mapfile" | "readarray" => {
                !matches!(prev, Some("-d" | "-n" | "-O" | "-s" | "-u" | "-C" | "-c"))
            }
            "printf" => prev == Some("-v"),
            "unset" => true,
            "getopts" => self.words.iter().filter(|w| !w.command).count() == 1,
            // `declare -n REF=NAME`: the value of a nameref is a name too
            c if DECLARE.contains(&c) => {
                !assigning
                    || self.words.iter().any(|w| {
                        !w.command
                            && w.lit
                                .as_deref()
                                .is_some_and(|o| o.starts_with('-') && o[1..].contains('n'))
                    })
            }
            _ => false,
        }
    }

    /// Whether a heredoc of this pipeline is read by a shell.
    fn feeds_shell(&self) -> Option<String> {
        self.pipeline.iter().find_map(|c| {
            let b = c.rsplit('/').next().unwrap_or(c);
            (SHELLS.contains(&b) || b == "ssh" || b == "su" || b == "runuser")
                .then(|| b.to_string())
        })
    }
}

#[derive(Debug, Clone, Default)]
struct Word {
    start: usize,
    lit: Vec<u8>,
    dynamic: bool,
    quoted: bool,
    /// `=` of an assignment: (name, length of `lit` up to and including `=`).
    assign: Option<(String, usize)>,
    placeholders: Vec<usize>,
    /// Open parentheses of an extglob inside the word.
    parens: u32,
}

#[derive(Debug, Clone)]
struct List {
    kind: ListKind,
    cmd: Cmd,
    word: Option<Word>,
    /// The reserved words that close the compound commands open in this list, innermost
    /// last: `fi` for `if`, `done` for `for`/`select`/`while`/`until`, `esac` for `case`,
    /// `}` for `{`.
    open: Vec<&'static str>,
}

impl List {
    fn new(kind: ListKind) -> List {
        List {
            kind,
            cmd: Cmd::default(),
            word: None,
            open: Vec::new(),
        }
    }
}

/// A reserved word in command position opens or closes a compound command of a list whose
/// open compounds are `open`.
fn compound(open: &mut Vec<&'static str>, word: &str) {
    let closer = match word {
        "if" => "fi",
        "for" | "select" | "while" | "until" => "done",
        "case" => "esac",
        "{" => "}",
        "fi" | "done" | "esac" | "}" => {
            if open.last() == Some(&word) {
                open.pop();
            }
            return;
        }
        _ => return,
    };
    open.push(closer);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PStage {
    Start,
    Name,
    After,
    Word,
    Pattern { slash: bool },
    Replace,
}

#[derive(Debug, Clone)]
struct Param {
    stage: PStage,
    double: bool,
    name: String,
    braces: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArithKind {
    /// `$((...))` or `((...))`
    DoubleParen,
    /// `$[...]`
    Bracket,
    /// `a[...]`, `${a[...]}`
    Subscript,
    /// `${x:offset:length}`: ends at `:` or `}`
    Substr,
}

#[derive(Debug, Clone)]
struct Arith {
    kind: ArithKind,
    depth: u32,
}

#[derive(Debug, Clone)]
enum Frame {
    List(List),
    Single,
    AnsiC,
    Double,
    Param(Param),
    Arith(Arith),
    /// An unquoted heredoc body.
    Body,
}

/// The lexer, fed a line at a time; keeps its state between lines.
#[derive(Debug, Clone)]
pub struct Lexer {
    stack: Vec<Frame>,
    pending: VecDeque<Heredoc>,
    body: Option<Heredoc>,
    continued: bool,
    /// The last thing read at the top level is `|`, `|&`, `&&` or `||`: a command must follow.
    trailing_op: bool,
    out: Lexed,
    line_no: usize,
    line_off: usize,
    /// Placeholders in heredoc bodies, kept for the end-tag check in `finish`.
    body_placeholders: Vec<usize>,
}

impl Default for Lexer {
    fn default() -> Self {
        Lexer {
            stack: vec![Frame::List(List::new(ListKind::Top))],
            pending: VecDeque::new(),
            body: None,
            continued: false,
            trailing_op: false,
            out: Lexed::default(),
            line_no: 0,
            line_off: 0,
            body_placeholders: Vec::new(),
        }
    }
}

/// Whether byte `c` means something to a list (in [`Lexer::in_list`]) inside a word: it
/// ends the word, or opens a quote or an expansion, or is an operator.
fn special_in_list(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t'
            | b'\\'
            | b'\''
            | b'"'
            | b'`'
            | b'$'
            | b';'
            | b'&'
            | b'|'
            | b'<'
            | b'>'
            | b'('
            | b')'
            | b'='
            | b'['
    )
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && is_name_start(b[0]) && b.iter().all(|c| is_name_char(*c))
}

/// `NAME`, `NAME+`, `NAME[...]`: what may stand before the `=` of an assignment.
fn assign_name(lit: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(lit).ok()?;
    let s = s.strip_suffix('+').unwrap_or(s);
    let s = match s.find('[') {
        Some(b) if s.ends_with(']') => &s[..b],
        _ => s,
    };
    is_name(s).then(|| s.to_string())
}

/// Length of the UTF-8 character starting at `b[i]`.
fn char_len(b: &[u8], i: usize) -> usize {
    let c = b[i];
    let n = if c < 0x80 {
        1
    } else if c >= 0xF0 {
        4
    } else if c >= 0xE0 {
        3
    } else if c >= 0xC0 {
        2
    } else {
        1
    };
    n.min(b.len() - i)
}

/// If a placeholder starts at `line[i]` (a `<`), the offset after its `>` and its name.
pub(crate) fn placeholder_at(line: &str, i: usize, quoted: bool) -> Option<(usize, String)> {
    let rest = &line[i + 1..];
    let first = rest.chars().next()?;
    if !(first.is_alphabetic() || first == '_' || first == '{') {
        return None;
    }
    let close = rest.find('>')?;
    let content = &rest[..close];
    if content.chars().count() > 80
        || content.ends_with(char::is_whitespace)
        || content.ends_with('/')
        || content.contains(['<', '\'', '"', '`', '$', ';', '|', '&', '(', ')', '=', '\\'])
        || content.chars().any(char::is_control)
    {
        return None;
    }
    let end = i + 1 + close + 1;
    let after = line[end..].chars().next();
    let path_like = content.contains(['/', '.']) && !content.contains(char::is_whitespace);
    if path_like && after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
        return None; // `<in.txt>out.txt`: two redirections
    }
    let tag = tag_name(content);
    if line[end..]
        .to_ascii_lowercase()
        .contains(&format!("</{tag}>"))
    {
        return None; // markup with its end tag
    }
    if quoted && HTML_TAGS.contains(&tag.as_str()) {
        return None;
    }
    Some((end, content.to_string()))
}

fn tag_name(content: &str) -> String {
    content
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

impl Lexer {
    /// Whether the next line continues what this one started (a `\` at the end, an open
    /// quote, `$(`, `${`, a heredoc whose body is to come or being read).
    pub fn continuing(&self) -> bool {
        self.continued || self.body.is_some() || !self.pending.is_empty() || self.stack.len() > 1
    }

    /// The compound commands still open at the top level (`if` without its `fi`, `for`,
    /// `while`, `until` or `select` without `done`, `case` without `esac`, `{` without `}`):
    /// the words that would close them, innermost last.
    pub fn open_compounds(&self) -> &[&'static str] {
        match self.stack.first() {
            Some(Frame::List(l)) => &l.open,
            _ => &[],
        }
    }

    /// Whether bash, reading these lines interactively, would now wait for more input (print
    /// its PS2 prompt `> `): [`Lexer::continuing`], or a compound command still open, or the
    /// last line ended with `|`, `|&`, `&&` or `||`.
    pub fn waiting(&self) -> bool {
        self.continuing() || self.trailing_op || !self.open_compounds().is_empty()
    }

    /// Feed one line (without its `\n`) that starts at `offset` in the caller's text.
    pub fn line(&mut self, line: &str, offset: usize) -> LineInfo {
        self.line_off = offset;
        let mut info = LineInfo::default();
        if let Some(h) = self.body.clone() {
            info.heredoc = true;
            let t = if h.strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line
            };
            if t == h.delim {
                if !h.quoted {
                    self.pop_body();
                }
                self.body = None;
                self.next_body();
            } else if h.quoted {
                self.quoted_body_line(line, &h);
            } else {
                self.lex_bytes(line, &mut info);
            }
            self.out.lines.push(info.clone());
            self.line_no += 1;
            return info;
        }
        info.starts_command = !self.continuing();
        self.continued = false;
        self.lex_bytes(line, &mut info);
        self.end_of_line();
        self.out.lines.push(info.clone());
        self.line_no += 1;
        info
    }

    /// A line of a heredoc whose delimiter was quoted: literal text, where only placeholders
    /// are looked for.
    fn quoted_body_line(&mut self, line: &str, h: &Heredoc) {
        let mut i = 0;
        while let Some(j) = line[i..].find('<') {
            let at = i + j;
            match placeholder_at(line, at, true) {
                Some((end, name)) => {
                    let mut context = self.context();
                    context.quoting = Quoting::Heredoc {
                        quoted: true,
                        delim: h.delim.clone(),
                        strip_tabs: h.strip_tabs,
                    };
                    context.reparsed_by = h.reparsed_by.clone();
                    self.body_placeholders.push(self.out.placeholders.len());
                    self.out.placeholders.push(Placeholder {
                        start: self.abs(at),
                        end: self.abs(end),
                        name,
                        context,
                        assigned_to: None,
                        line: self.line_no,
                    });
                    i = end;
                }
                None => i = at + 1,
            }
        }
    }

    /// What was found, once every line is fed. `text` is the caller's whole text (for
    /// end tags later in a heredoc).
    pub fn finish(mut self, text: &str) -> Lexed {
        if !self.body_placeholders.is_empty() {
            let lower = text.to_ascii_lowercase();
            let drop: Vec<usize> = self
                .body_placeholders
                .iter()
                .copied()
                .filter(|&i| {
                    let p = &self.out.placeholders[i];
                    let tag = tag_name(&p.name);
                    lower
                        .get(p.end..)
                        .is_some_and(|rest| rest.contains(&format!("</{tag}>")))
                })
                .collect();
            for i in drop.into_iter().rev() {
                self.out.placeholders.remove(i);
            }
        }
        self.out
    }

    fn abs(&self, i: usize) -> usize {
        self.line_off + i
    }

    fn top(&mut self) -> &mut Frame {
        self.stack.last_mut().expect("the top list is never popped")
    }

    /// The nearest list frame.
    fn list(&mut self) -> &mut List {
        for f in self.stack.iter_mut().rev() {
            if let Frame::List(l) = f {
                return l;
            }
        }
        unreachable!("the top list is never popped")
    }

    fn backtick_depth(&self) -> u8 {
        self.stack
            .iter()
            .filter(|f| {
                matches!(
                    f,
                    Frame::List(List {
                        kind: ListKind::Backtick(_),
                        ..
                    })
                )
            })
            .count() as u8
    }

    /// The word that literal text goes to: the nearest list's open word, unless an expansion
    /// (`${`, `$((`) stands between (its text is not the word's literal).
    fn word_mut(&mut self) -> Option<&mut Word> {
        for f in self.stack.iter_mut().rev() {
            match f {
                Frame::List(l) => return l.word.as_mut(),
                Frame::Param(_) | Frame::Arith(_) | Frame::Body => return None,
                _ => {}
            }
        }
        None
    }

    fn lit(&mut self, bytes: &[u8]) {
        if let Some(w) = self.word_mut() {
            w.lit.extend_from_slice(bytes);
        }
    }

    /// The nearest list's word becomes computed (an expansion is in it).
    fn dynamic(&mut self) {
        for f in self.stack.iter_mut().rev() {
            if let Frame::List(l) = f {
                if let Some(w) = l.word.as_mut() {
                    w.dynamic = true;
                }
                return;
            }
        }
    }

    /// Open a word in the nearest list at `at` (absolute) if none is open.
    fn ensure_word(&mut self, at: usize) {
        let l = self.list();
        if l.word.is_none() {
            l.word = Some(Word {
                start: at,
                ..Word::default()
            });
        }
    }

    fn lex_bytes(&mut self, line: &str, info: &mut LineInfo) {
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            i = match self.top() {
                Frame::List(_) => self.in_list(line, i, info),
                Frame::Single => self.in_single(line, i),
                Frame::AnsiC => self.in_ansic(line, i),
                Frame::Double => self.in_double(line, i),
                Frame::Param(_) => self.in_param(line, i),
                Frame::Arith(_) => self.in_arith(line, i),
                Frame::Body => self.in_body(line, i),
            };
        }
    }

    // ---- placeholders ----

    fn context(&self) -> Context {
        let mut quoting = None;
        let mut backticks = 0;
        let mut reparsed_by = None;
        // only quotes between the placeholder and the nearest list: it is that list's word
        let mut in_word = true;
        let mut nearest_list = true;
        let n = self.stack.len();
        for idx in (0..n).rev() {
            if matches!(
                self.stack[idx],
                Frame::Body | Frame::Arith(_) | Frame::Param(_)
            ) {
                in_word = false;
            }
            match &self.stack[idx] {
                Frame::Single => {
                    quoting.get_or_insert(Quoting::Single);
                }
                Frame::AnsiC => {
                    quoting.get_or_insert(Quoting::AnsiC);
                }
                Frame::Double => {
                    quoting.get_or_insert(Quoting::Double);
                }
                Frame::Body => {
                    let h = self.body.as_ref().expect("a body frame has its heredoc");
                    quoting.get_or_insert(Quoting::Heredoc {
                        quoted: false,
                        delim: h.delim.clone(),
                        strip_tabs: h.strip_tabs,
                    });
                    if reparsed_by.is_none() {
                        reparsed_by = h.reparsed_by.clone();
                    }
                }
                Frame::Arith(_) => {
                    quoting.get_or_insert(Quoting::Arith);
                }
                Frame::Param(p) => {
                    let double = p.double;
                    quoting.get_or_insert(match p.stage {
                        PStage::Word => Quoting::ParamWord { double },
                        PStage::Pattern { .. } => Quoting::ParamPattern { double },
                        PStage::Replace => Quoting::ParamReplace { double },
                        _ => Quoting::Arith,
                    });
                }
                Frame::List(l) => {
                    // `declare -i N=<v>`: bash evaluates the value as arithmetic
                    let integer_decl = l.word.as_ref().is_some_and(|w| w.assign.is_some())
                        && l.cmd
                            .command_names()
                            .last()
                            .is_some_and(|c| DECLARE.contains(&c))
                        && l.cmd.words.iter().any(|w| {
                            !w.command
                                && w.lit
                                    .as_deref()
                                    .is_some_and(|o| o.starts_with('-') && o[1..].contains('i'))
                        });
                    let arith = (l.cmd.dbl_bracket && l.cmd.arith_next)
                        || l.cmd.command_names().any(|c| c == "let")
                        || integer_decl;
                    // where a variable's name goes, quoting does not make a value a name
                    if std::mem::take(&mut nearest_list)
                        && in_word
                        && l.cmd.command_seen
                        && l.cmd.name_position(l.word.as_ref())
                    {
                        quoting = Some(Quoting::Name);
                    }
                    quoting.get_or_insert(if arith {
                        Quoting::Arith
                    } else {
                        Quoting::Plain
                    });
                    if reparsed_by.is_none() && l.word.is_some() {
                        reparsed_by = l.cmd.reparse_position();
                    }
                    if let ListKind::Backtick(_) = l.kind {
                        backticks += 1;
                    }
                }
            }
        }
        Context {
            quoting: quoting.unwrap_or(Quoting::Plain),
            backticks,
            reparsed_by,
        }
    }

    /// A placeholder at `line[i]`, if there is one: recorded; returns the offset after it.
    fn placeholder(&mut self, line: &str, i: usize, quoted: bool) -> Option<usize> {
        let (end, name) = placeholder_at(line, i, quoted)?;
        let context = self.context();
        let start = self.abs(i);
        // the variable it is assigned to: the nearest list's word is `NAME=...`
        let mut assigned_to = None;
        for f in self.stack.iter().rev() {
            if let Frame::List(l) = f {
                if let Some(w) = &l.word {
                    assigned_to = w.assign.as_ref().map(|a| a.0.clone());
                }
                break;
            }
        }
        let idx = self.out.placeholders.len();
        let in_body = matches!(context.quoting, Quoting::Heredoc { .. });
        self.out.placeholders.push(Placeholder {
            start,
            end: self.abs(end),
            name,
            context,
            assigned_to,
            line: self.line_no,
        });
        if in_body {
            self.body_placeholders.push(idx);
        }
        // the word holding it is not known before the run
        for f in self.stack.iter_mut().rev() {
            if let Frame::List(l) = f {
                if let Some(w) = l.word.as_mut() {
                    w.dynamic = true;
                    w.placeholders.push(idx);
                }
                break;
            }
        }
        Some(end)
    }

    // ---- frames ----

    fn in_list(&mut self, line: &str, i: usize, info: &mut LineInfo) -> usize {
        let b = line.as_bytes();
        let c = b[i];
        let next = b.get(i + 1).copied();
        let word_open = self.list().word.is_some();
        if !matches!(c, b' ' | b'\t') && (c != b'#' || word_open) {
            self.trailing_op = false;
        }
        match c {
            b' ' | b'\t' => {
                self.finish_word();
                // the blanks after it end no other word
                i + 1
                    + b[i + 1..]
                        .iter()
                        .take_while(|c| matches!(c, b' ' | b'\t'))
                        .count()
            }
            b'#' if !word_open => {
                info.comment = Some(i);
                b.len()
            }
            b'\\' => {
                if self.backtick_depth() > 0
                    && let Some(j) = self.backtick_run(line, i)
                {
                    return j;
                }
                if i + 1 == b.len() {
                    self.continued = true;
                    return i + 1;
                }
                self.ensure_word(self.abs(i));
                let n = char_len(b, i + 1);
                self.lit(&b[i + 1..i + 1 + n]);
                if let Some(w) = self.word_mut() {
                    w.quoted = true;
                }
                i + 1 + n
            }
            b'\'' => {
                self.ensure_word(self.abs(i));
                if let Some(w) = self.word_mut() {
                    w.quoted = true;
                }
                self.stack.push(Frame::Single);
                i + 1
            }
            b'"' => {
                self.ensure_word(self.abs(i));
                if let Some(w) = self.word_mut() {
                    w.quoted = true;
                }
                self.stack.push(Frame::Double);
                i + 1
            }
            b'`' => self.backtick(i, 0),
            b'$' => {
                self.ensure_word(self.abs(i));
                self.dollar(line, i)
            }
            b';' => {
                self.finish_word();
                let l = self.list();
                if next == Some(b';') || next == Some(b'&') {
                    // `;;`, `;&`, `;;&`: the next pattern of a case
                    if let Some(c) = l.cmd.case.last_mut() {
                        *c = Case::Pattern;
                    }
                    l.cmd.next_command(false);
                    let mut j = i + 2;
                    if next == Some(b';') && b.get(j) == Some(&b'&') {
                        j += 1;
                    }
                    return j;
                }
                l.cmd.next_command(false);
                i + 1
            }
            b'&' => {
                if next == Some(b'>') {
                    // &> and &>>
                    self.finish_word();
                    self.list().cmd.expect = Expect::Redirect;
                    return if b.get(i + 2) == Some(&b'>') {
                        i + 3
                    } else {
                        i + 2
                    };
                }
                self.finish_word();
                self.list().cmd.next_command(false);
                if next == Some(b'&') {
                    self.trailing_op = true;
                    i + 2
                } else {
                    i + 1
                }
            }
            b'|' => {
                self.finish_word();
                let pipe = next != Some(b'|');
                self.list().cmd.next_command(pipe);
                self.trailing_op = true;
                if next == Some(b'|') || next == Some(b'&') {
                    i + 2
                } else {
                    i + 1
                }
            }
            b'<' => {
                if next == Some(b'<') {
                    self.redirect_fd();
                    if b.get(i + 2) == Some(&b'<') {
                        self.list().cmd.expect = Expect::Redirect;
                        return i + 3;
                    }
                    let strip_tabs = b.get(i + 2) == Some(&b'-');
                    self.list().cmd.expect = Expect::HeredocDelim { strip_tabs };
                    return i + 2 + usize::from(strip_tabs);
                }
                if next == Some(b'(') {
                    self.ensure_word(self.abs(i));
                    self.dynamic();
                    self.stack.push(Frame::List(List::new(ListKind::ProcSubst)));
                    return i + 2;
                }
                if matches!(next, Some(b'&' | b'>')) {
                    self.redirect_fd();
                    self.list().cmd.expect = Expect::Redirect;
                    return i + 2;
                }
                let at = self.abs(i);
                let had_word = self.list().word.is_some();
                self.ensure_word(at);
                if let Some(end) = self.placeholder(line, i, false) {
                    return end;
                }
                if !had_word {
                    // not a placeholder: the word opened for it is not a word
                    self.list().word = None;
                }
                self.redirect_fd();
                self.list().cmd.expect = Expect::Redirect;
                i + 1
            }
            b'>' => {
                if next == Some(b'(') {
                    self.ensure_word(self.abs(i));
                    self.dynamic();
                    self.stack.push(Frame::List(List::new(ListKind::ProcSubst)));
                    return i + 2;
                }
                self.redirect_fd();
                self.list().cmd.expect = Expect::Redirect;
                if matches!(next, Some(b'>' | b'&' | b'|')) {
                    i + 2
                } else {
                    i + 1
                }
            }
            b'(' => self.open_paren(line, i, info),
            b')' => {
                let l = self.list();
                if let Some(w) = l.word.as_mut()
                    && w.parens > 0
                {
                    w.parens -= 1;
                    w.lit.push(b')');
                    return i + 1;
                }
                if l.cmd.at_pattern() {
                    self.finish_word();
                    let l = self.list();
                    if let Some(c) = l.cmd.case.last_mut() {
                        *c = Case::Body;
                    }
                    l.cmd.next_command(false);
                    return i + 1;
                }
                match l.kind {
                    ListKind::CmdSubst | ListKind::ProcSubst | ListKind::Array => {
                        self.finish_word();
                        self.stack.pop();
                    }
                    ListKind::Subshell => {
                        self.finish_word();
                        self.stack.pop();
                        let l = self.list();
                        l.cmd.command_seen = true;
                    }
                    _ => self.finish_word(),
                }
                i + 1
            }
            b'=' => {
                self.ensure_word(self.abs(i));
                let l = self.list();
                let eligible = !l.cmd.command_seen
                    || l.cmd
                        .command_names()
                        .last()
                        .is_some_and(|c| DECLARE.contains(&c) || c == "let");
                let w = l.word.as_mut().expect("opened above");
                if eligible
                    && w.assign.is_none()
                    && !w.dynamic
                    && !w.quoted
                    && let Some(name) = assign_name(&w.lit)
                {
                    w.assign = Some((name, w.lit.len() + 1));
                }
                w.lit.push(b'=');
                if w.assign.is_some()
                    && w.lit.len() == w.assign.as_ref().map(|a| a.1).unwrap_or(0)
                    && next == Some(b'(')
                {
                    // NAME=( ... ): an array
                    self.stack.push(Frame::List(List::new(ListKind::Array)));
                    return i + 2;
                }
                i + 1
            }
            b'[' => {
                self.ensure_word(self.abs(i));
                let l = self.list();
                let w = l.word.as_mut().expect("opened above");
                w.lit.push(b'[');
                if !l.cmd.command_seen && !w.dynamic && !w.quoted && w.assign.is_none() {
                    let name = &w.lit[..w.lit.len() - 1];
                    if std::str::from_utf8(name).is_ok_and(is_name) {
                        self.stack.push(Frame::Arith(Arith {
                            kind: ArithKind::Subscript,
                            depth: 0,
                        }));
                    }
                }
                i + 1
            }
            _ => {
                self.ensure_word(self.abs(i));
                // this byte and the plain bytes after it go to the word at once (a `#` inside
                // a word is plain; what is not plain is ASCII, so the run ends on a character)
                let n = 1 + b[i + 1..]
                    .iter()
                    .take_while(|c| !special_in_list(**c))
                    .count();
                let run = &b[i..i + n];
                self.lit(run);
                if run.iter().any(|c| matches!(c, b'*' | b'?')) {
                    // a glob: not a literal value
                    if let Some(w) = self.word_mut() {
                        w.dynamic = true;
                    }
                }
                i + n
            }
        }
    }

    /// `(` in a list: a subshell, `((`, a function definition `name()`, an extglob, a case
    /// pattern's optional `(`.
    fn open_paren(&mut self, line: &str, i: usize, info: &mut LineInfo) -> usize {
        let b = line.as_bytes();
        let rest = &line[i + 1..];
        let l = self.list();
        if let Some(w) = l.word.as_mut() {
            let is_fn = !l.cmd.command_seen
                && !w.dynamic
                && !w.quoted
                && w.assign.is_none()
                && rest.trim_start().starts_with(')');
            if is_fn {
                let name = String::from_utf8_lossy(&w.lit).into_owned();
                l.word = None;
                self.out.functions.push(name);
                let close = i + 1 + rest.find(')').expect("checked");
                self.list().cmd.next_command(false);
                return close + 1;
            }
            // extglob `@(a|b)`, `!(x)`
            w.parens += 1;
            w.lit.push(b'(');
            w.dynamic = true;
            return i + 1;
        }
        if l.cmd.at_pattern() {
            return i + 1;
        }
        if l.cmd.command_seen && l.cmd.words.len() == 1 && rest.trim_start().starts_with(')') {
            // `name ()`: the command word was a function name
            if let Some(Some(name)) = l.cmd.words.first().map(|w| w.lit.clone()) {
                self.out.commands.pop();
                self.out.functions.push(name);
            }
            let close = i + 1 + rest.find(')').expect("checked");
            self.list().cmd.next_command(false);
            return close + 1;
        }
        if !l.cmd.command_seen && b.get(i + 1) == Some(&b'(') {
            self.stack.push(Frame::Arith(Arith {
                kind: ArithKind::DoubleParen,
                depth: 0,
            }));
            return i + 2;
        }
        if l.cmd.command_seen
            && !l.cmd.dbl_bracket
            && l.cmd.expect == Expect::Normal
            && l.cmd.case.last() != Some(&Case::Head)
            && info.stray_paren.is_none()
        {
            // `cmd arg (x)`: bash stops with "syntax error near unexpected token `('"
            info.stray_paren = Some(i);
        }
        self.stack.push(Frame::List(List::new(ListKind::Subshell)));
        i + 1
    }

    /// A run of backslashes followed by a backtick inside backticks: a nested level opens or
    /// closes. Returns the offset after it, or None when the run is not followed by one.
    fn backtick_run(&mut self, line: &str, i: usize) -> Option<usize> {
        let b = line.as_bytes();
        let k = b[i..].iter().take_while(|c| **c == b'\\').count();
        if b.get(i + k) != Some(&b'`') {
            return None;
        }
        Some(self.backtick(i + k, k))
    }

    /// A backtick at `line[i]`, after `k` backslashes: opens a nested level, closes the
    /// current one, or is a literal.
    fn backtick(&mut self, i: usize, k: usize) -> usize {
        let depth = self.backtick_depth() as u32;
        let opens = k + 1 == 1usize << depth.min(16);
        let closes = depth > 0 && k + 1 == 1usize << (depth - 1).min(16);
        if closes {
            // pop to and including the innermost backtick list
            while let Some(f) = self.stack.pop() {
                if let Frame::List(mut l) = f {
                    if let Some(w) = l.word.take() {
                        finish_word_in(&mut self.out, &mut self.pending, &mut l, w);
                    }
                    if matches!(l.kind, ListKind::Backtick(_)) {
                        break;
                    }
                }
            }
            if self.stack.is_empty() {
                self.stack.push(Frame::List(List::new(ListKind::Top)));
            }
            return i + 1;
        }
        if opens {
            let at = self.abs(i - k);
            if matches!(self.top(), Frame::List(_)) {
                self.ensure_word(at);
            }
            self.dynamic();
            self.stack
                .push(Frame::List(List::new(ListKind::Backtick(depth as u8 + 1))));
            return i + 1;
        }
        self.lit(b"`");
        i + 1
    }

    /// `$` at `line[i]`: an expansion, a `$'...'` or `$"..."` string, or a literal `$`.
    fn dollar(&mut self, line: &str, i: usize) -> usize {
        let b = line.as_bytes();
        let in_double = matches!(self.top(), Frame::Double | Frame::Body)
            || matches!(self.top(), Frame::Param(p) if p.double);
        match b.get(i + 1).copied() {
            Some(b'(') => {
                self.dynamic();
                if b.get(i + 2) == Some(&b'(') {
                    self.stack.push(Frame::Arith(Arith {
                        kind: ArithKind::DoubleParen,
                        depth: 0,
                    }));
                    i + 3
                } else {
                    self.stack.push(Frame::List(List::new(ListKind::CmdSubst)));
                    i + 2
                }
            }
            Some(b'{') => {
                self.dynamic();
                self.stack.push(Frame::Param(Param {
                    stage: PStage::Start,
                    double: in_double,
                    name: String::new(),
                    braces: 0,
                }));
                i + 2
            }
            Some(b'[') => {
                self.dynamic();
                self.stack.push(Frame::Arith(Arith {
                    kind: ArithKind::Bracket,
                    depth: 0,
                }));
                i + 2
            }
            Some(b'\'') if !in_double && !matches!(self.top(), Frame::Arith(_)) => {
                if let Some(w) = self.word_mut() {
                    w.quoted = true;
                }
                self.stack.push(Frame::AnsiC);
                i + 2
            }
            Some(b'"') if !in_double => {
                if let Some(w) = self.word_mut() {
                    w.quoted = true;
                }
                self.stack.push(Frame::Double);
                i + 2
            }
            Some(c) if is_name_start(c) => {
                let len = b[i + 1..].iter().take_while(|c| is_name_char(**c)).count();
                self.out.reads.push(Var {
                    name: line[i + 1..i + 1 + len].to_string(),
                    at: self.abs(i),
                });
                self.dynamic();
                i + 1 + len
            }
            Some(c) if c.is_ascii_digit() || b"@*#?-$!".contains(&c) => {
                self.dynamic();
                i + 2
            }
            _ => {
                self.lit(b"$");
                i + 1
            }
        }
    }

    fn in_single(&mut self, line: &str, i: usize) -> usize {
        let b = line.as_bytes();
        match b[i] {
            b'\'' => {
                self.stack.pop();
                i + 1
            }
            b'<' => self.placeholder(line, i, true).unwrap_or_else(|| {
                self.lit(b"<");
                i + 1
            }),
            _ => {
                // up to the next quote or `<` (ASCII: the run ends on a character)
                let n = b[i..]
                    .iter()
                    .take_while(|c| !matches!(c, b'\'' | b'<'))
                    .count();
                self.lit(&b[i..i + n]);
                i + n
            }
        }
    }

    fn in_ansic(&mut self, line: &str, i: usize) -> usize {
        let b = line.as_bytes();
        match b[i] {
            b'\'' => {
                self.stack.pop();
                i + 1
            }
            b'\\' => {
                // escapes are decoded by bash; the literal is not tracked exactly here
                if let Some(w) = self.word_mut() {
                    w.dynamic = true;
                }
                (i + 2).min(b.len())
            }
            b'<' => self.placeholder(line, i, true).unwrap_or_else(|| {
                self.lit(b"<");
                i + 1
            }),
            _ => {
                let n = char_len(b, i);
                self.lit(&b[i..i + n]);
                i + n
            }
        }
    }

    fn in_double(&mut self, line: &str, i: usize) -> usize {
        let b = line.as_bytes();
        match b[i] {
            b'"' => {
                self.stack.pop();
                i + 1
            }
            b'\\' => {
                if self.backtick_depth() > 0
                    && let Some(j) = self.backtick_run(line, i)
                {
                    return j;
                }
                match b.get(i + 1) {
                    None => {
                        self.continued = true;
                        i + 1
                    }
                    Some(&c) if b"$`\"\\".contains(&c) => {
                        self.lit(&[c]);
                        i + 2
                    }
                    _ => {
                        self.lit(b"\\");
                        i + 1
                    }
                }
            }
            b'$' => self.dollar(line, i),
            b'`' => self.backtick(i, 0),
            b'<' => self.placeholder(line, i, true).unwrap_or_else(|| {
                self.lit(b"<");
                i + 1
            }),
            _ => {
                // up to the next byte that means something here (ASCII: the run ends on a
                // character)
                let n = b[i..]
                    .iter()
                    .take_while(|c| !matches!(c, b'"' | b'\\' | b'$' | b'`' | b'<'))
                    .count();
                self.lit(&b[i..i + n]);
                i + n
            }
        }
    }

    fn in_body(&mut self, line: &str, i: usize) -> usize {
        let b = line.as_bytes();
        match b[i] {
            b'\\' => {
                if self.backtick_depth() > 0
                    && let Some(j) = self.backtick_run(line, i)
                {
                    return j;
                }
                if i + 1 == b.len() { i + 1 } else { i + 2 }
            }
            b'$' => self.dollar(line, i),
            b'`' => self.backtick(i, 0),
            b'<' => self.placeholder(line, i, true).unwrap_or(i + 1),
            _ => i + char_len(b, i),
        }
    }

    fn in_param(&mut self, line: &str, i: usize) -> usize {
        let b = line.as_bytes();
        let c = b[i];
        let next = b.get(i + 1).copied();
        let Frame::Param(p) = self.top() else {
            unreachable!()
        };
        match p.stage {
            PStage::Start => {
                p.stage = PStage::Name;
                if matches!(c, b'!' | b'#')
                    && next.is_some_and(|n| is_name_char(n) || b"@*#?-$!".contains(&n))
                {
                    return i + 1;
                }
                i
            }
            PStage::Name => {
                let digits = p.name.bytes().all(|d| d.is_ascii_digit());
                let continues = if p.name.is_empty() {
                    is_name_char(c)
                } else if digits {
                    c.is_ascii_digit()
                } else {
                    is_name_char(c) && is_name_start(p.name.as_bytes()[0])
                };
                if continues {
                    p.name.push(c as char);
                    return i + 1;
                }
                if p.name.is_empty() && b"@*#?-$!".contains(&c) {
                    p.name.push(c as char);
                    return i + 1;
                }
                let name = std::mem::take(&mut p.name);
                p.stage = PStage::After;
                if is_name(&name) {
                    let at = self.abs(i);
                    self.out.reads.push(Var { name, at });
                }
                i
            }
            PStage::After => match c {
                b'[' => {
                    self.stack.push(Frame::Arith(Arith {
                        kind: ArithKind::Subscript,
                        depth: 0,
                    }));
                    i + 1
                }
                b'}' => {
                    self.stack.pop();
                    i + 1
                }
                b':' if next.is_some_and(|n| b"-=+?".contains(&n)) => {
                    p.stage = PStage::Word;
                    i + 2
                }
                b':' => {
                    self.stack.push(Frame::Arith(Arith {
                        kind: ArithKind::Substr,
                        depth: 0,
                    }));
                    i + 1
                }
                b'-' | b'=' | b'+' | b'?' | b'@' => {
                    p.stage = PStage::Word;
                    i + 1
                }
                b'#' | b'%' | b'^' | b',' => {
                    p.stage = PStage::Pattern { slash: false };
                    if next == Some(c) { i + 2 } else { i + 1 }
                }
                b'/' => {
                    p.stage = PStage::Pattern { slash: true };
                    if matches!(next, Some(b'/' | b'#' | b'%')) {
                        i + 2
                    } else {
                        i + 1
                    }
                }
                _ => {
                    p.stage = PStage::Word;
                    i
                }
            },
            PStage::Word | PStage::Pattern { .. } | PStage::Replace => {
                let double = p.double;
                match c {
                    b'}' => {
                        if p.braces > 0 {
                            p.braces -= 1;
                        } else {
                            self.stack.pop();
                        }
                        i + 1
                    }
                    b'{' => {
                        p.braces += 1;
                        i + 1
                    }
                    b'/' if p.stage == (PStage::Pattern { slash: true }) => {
                        p.stage = PStage::Replace;
                        i + 1
                    }
                    b'\\' => {
                        if self.backtick_depth() > 0
                            && let Some(j) = self.backtick_run(line, i)
                        {
                            return j;
                        }
                        if i + 1 == b.len() {
                            self.continued = true;
                            i + 1
                        } else {
                            i + 1 + char_len(b, i + 1)
                        }
                    }
                    b'\'' if !double => {
                        self.stack.push(Frame::Single);
                        i + 1
                    }
                    b'"' => {
                        self.stack.push(Frame::Double);
                        i + 1
                    }
                    b'$' => self.dollar(line, i),
                    b'`' => self.backtick(i, 0),
                    b'<' => self.placeholder(line, i, double).unwrap_or(i + 1),
                    _ => i + char_len(b, i),
                }
            }
        }
    }

    fn in_arith(&mut self, line: &str, i: usize) -> usize {
        let b = line.as_bytes();
        let c = b[i];
        let next = b.get(i + 1).copied();
        let Frame::Arith(a) = self.top() else {
            unreachable!()
        };
        match c {
            b'(' | b'[' => {
                a.depth += 1;
                i + 1
            }
            b')' if a.depth > 0 => {
                a.depth -= 1;
                i + 1
            }
            b')' if a.kind == ArithKind::DoubleParen => {
                self.stack.pop();
                if next == Some(b')') { i + 2 } else { i + 1 }
            }
            b']' if a.depth > 0 => {
                a.depth -= 1;
                i + 1
            }
            b']' if matches!(a.kind, ArithKind::Bracket | ArithKind::Subscript) => {
                self.stack.pop();
                i + 1
            }
            b':' if a.kind == ArithKind::Substr && a.depth == 0 => {
                // offset done; the length follows
                a.depth = 0;
                i + 1
            }
            b'}' if a.kind == ArithKind::Substr && a.depth == 0 => {
                self.stack.pop();
                i // the parameter's frame closes it
            }
            b'$' => self.dollar(line, i),
            b'`' => self.backtick(i, 0),
            b'"' => {
                self.stack.push(Frame::Double);
                i + 1
            }
            b'\'' => {
                self.stack.push(Frame::Single);
                i + 1
            }
            b'\\' => {
                if i + 1 == b.len() {
                    self.continued = true;
                }
                i + 2
            }
            b'<' if next == Some(b'<') => i + 2,
            b'<' => self.placeholder(line, i, false).unwrap_or(i + 1),
            c if is_name_start(c) => {
                let len = b[i..].iter().take_while(|c| is_name_char(**c)).count();
                let at = self.abs(i);
                self.out.reads.push(Var {
                    name: line[i..i + len].to_string(),
                    at,
                });
                i + len
            }
            c if c.is_ascii_digit() => {
                // a number, also 0x1f and 16#ff
                let len = b[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'#' || **c == b'_')
                    .count();
                i + len
            }
            _ => i + char_len(b, i),
        }
    }

    // ---- words and lines ----

    /// A redirection operator follows: a word of digits right before it is its fd, not a word.
    fn redirect_fd(&mut self) {
        let l = self.list();
        if let Some(w) = &l.word
            && !w.dynamic
            && !w.quoted
            && !w.lit.is_empty()
            && w.lit.iter().all(u8::is_ascii_digit)
        {
            l.word = None;
            return;
        }
        self.finish_word();
    }

    fn finish_word(&mut self) {
        // (the list is classified where it stands: its frame is not moved out and back)
        for f in self.stack.iter_mut().rev() {
            if let Frame::List(l) = f {
                if let Some(w) = l.word.take() {
                    finish_word_in(&mut self.out, &mut self.pending, l, w);
                }
                return;
            }
        }
    }

    /// The end of a line (its newline).
    fn end_of_line(&mut self) {
        if self.continued {
            return;
        }
        match self.top() {
            Frame::List(_) => {
                self.finish_word();
                let l = self.list();
                let feeds = l.cmd.feeds_shell();
                if !matches!(
                    l.cmd.expect,
                    Expect::CaseWord | Expect::CaseIn | Expect::ForVar
                ) {
                    l.cmd.next_command(false);
                }
                for h in self.pending.iter_mut() {
                    if h.reparsed_by.is_none() {
                        h.reparsed_by = feeds.clone();
                    }
                }
                if self.body.is_none() {
                    self.next_body();
                }
            }
            _ => self.newline_in_frame(),
        }
    }

    /// A newline inside a quote: part of the word's text.
    fn newline_in_frame(&mut self) {
        if matches!(self.top(), Frame::Single | Frame::Double | Frame::AnsiC) {
            self.lit(b"\n");
        }
    }

    /// Start reading the next announced heredoc body, if any.
    fn next_body(&mut self) {
        if let Some(h) = self.pending.pop_front() {
            if !h.quoted {
                self.stack.push(Frame::Body);
            }
            self.body = Some(h);
        }
    }

    fn pop_body(&mut self) {
        // frames opened inside the body and left open are closed with it
        while let Some(f) = self.stack.pop() {
            if matches!(f, Frame::Body) {
                break;
            }
        }
        if self.stack.is_empty() {
            self.stack.push(Frame::List(List::new(ListKind::Top)));
        }
    }
}

/// Classify a finished word of list `l`, recording what it tells in `out` and the
/// heredocs it announces in `pending`.
fn finish_word_in(out: &mut Lexed, pending: &mut VecDeque<Heredoc>, l: &mut List, mut w: Word) {
    if l.kind == ListKind::Array {
        return; // an element of `NAME=(...)`
    }
    let plain = !w.quoted && !w.dynamic;
    let cmd = &mut l.cmd;
    match std::mem::replace(&mut cmd.expect, Expect::Normal) {
        Expect::Normal => {}
        Expect::Redirect => return,
        Expect::HeredocDelim { strip_tabs } => {
            let delim = String::from_utf8_lossy(&w.lit).into_owned();
            pending.push_back(Heredoc {
                delim,
                quoted: w.quoted,
                strip_tabs,
                reparsed_by: None,
            });
            return;
        }
        Expect::ForVar => {
            if let Some(name) = literal(&w).filter(|n| is_name(n)) {
                out.assign(name, w.start, None, Some("for".into()));
            }
            return;
        }
        Expect::FunctionName => {
            if let Some(name) = literal(&w) {
                let name = name.trim_end_matches("()").to_string();
                out.functions.push(name);
            }
            cmd.command_seen = false;
            return;
        }
        Expect::CaseWord => {
            cmd.expect = Expect::CaseIn;
            return;
        }
        Expect::CaseIn => {
            if let Some(c) = cmd.case.last_mut() {
                *c = Case::Pattern;
            }
            cmd.next_command(false);
            return;
        }
    }
    if cmd.at_pattern() {
        if plain && w.lit == b"esac" {
            cmd.case.pop();
            cmd.command_seen = true;
            compound(&mut l.open, "esac");
        }
        return;
    }
    // the word as recorded; what follows reads its text there rather than copying it
    let mut rec = WordRec {
        lit: literal(&w),
        command: false,
        placeholders: std::mem::take(&mut w.placeholders),
    };
    let lit = rec.lit.as_deref();
    if !cmd.command_seen {
        // assignments before the command
        if let Some((name, len)) = &w.assign {
            let value = (!w.dynamic).then(|| String::from_utf8_lossy(&w.lit[*len..]).into_owned());
            if cmd.wrapper.as_deref() != Some("env") {
                out.assign(name.clone(), w.start, value, None);
            }
            return;
        }
        // a wrapper's options
        if let Some(wr) = cmd.wrapper.as_deref() {
            let opt = lit.unwrap_or("");
            if std::mem::take(&mut cmd.wrapper_skip) {
                cmd.words.push(rec);
                return;
            }
            if opt.starts_with('-') && opt != "-" {
                cmd.wrapper_skip = match wr {
                    "sudo" => matches!(
                        opt,
                        "-u" | "-g" | "-h" | "-p" | "-C" | "-D" | "-r" | "-t" | "-U" | "-T"
                    ),
                    "nice" | "ionice" => matches!(opt, "-n" | "-c"),
                    "timeout" => matches!(opt, "-s" | "-k"),
                    "env" => matches!(opt, "-u" | "-C" | "-S"),
                    "stdbuf" => opt.len() == 2,
                    "exec" => opt == "-a",
                    _ => false,
                };
                cmd.words.push(rec);
                return;
            }
            if wr == "timeout" && opt.starts_with(|c: char| c.is_ascii_digit()) {
                cmd.words.push(rec);
                return;
            }
            if wr == "taskset" || wr == "chrt" {
                // a mask or priority before the command
                if opt.starts_with(|c: char| c.is_ascii_digit()) {
                    cmd.words.push(rec);
                    return;
                }
            }
        }
        if plain && let Some(word) = lit {
            if RESERVED.contains(&word) || matches!(word, "for" | "select" | "case") {
                compound(&mut l.open, word);
            }
            match word {
                "for" | "select" => {
                    cmd.expect = Expect::ForVar;
                    cmd.command_seen = true;
                    return;
                }
                "case" => {
                    cmd.case.push(Case::Head);
                    cmd.expect = Expect::CaseWord;
                    cmd.command_seen = true;
                    return;
                }
                "function" => {
                    cmd.expect = Expect::FunctionName;
                    return;
                }
                "[[" => {
                    cmd.dbl_bracket = true;
                    cmd.command_seen = true;
                    return;
                }
                "esac" => {
                    cmd.case.pop();
                    return;
                }
                w if RESERVED.contains(&w) => return,
                _ => {}
            }
        }
        out.commands.push(CommandWord {
            start: w.start,
            end: w.start + w.lit.len(),
            name: lit
                .filter(|_| rec.placeholders.is_empty())
                .map(String::from),
        });
        if let Some(name) = lit {
            cmd.pipeline.push(name.to_string());
        }
        let base = lit.map(|n| n.rsplit('/').next().unwrap_or(n));
        if base.is_some_and(|b| WRAPPERS.contains(&b)) {
            cmd.wrapper = base.map(String::from);
            cmd.command_seen = false;
        } else {
            cmd.wrapper = None;
            cmd.command_seen = true;
        }
        rec.command = true;
        cmd.words.push(rec);
        return;
    }
    // arguments
    if cmd.dbl_bracket {
        let op = lit.filter(|_| plain);
        if matches!(op, Some("-eq" | "-ne" | "-lt" | "-le" | "-gt" | "-ge")) {
            if let Some(prev) = cmd.words.last() {
                for &p in &prev.placeholders {
                    out.placeholders[p].context.quoting = Quoting::Arith;
                }
            }
            cmd.arith_next = true;
            cmd.words.push(rec);
            return;
        }
        if op == Some("]]") {
            cmd.dbl_bracket = false;
        }
        cmd.arith_next = false;
        cmd.words.push(rec);
        return;
    }
    let command = cmd
        .command_names()
        .last()
        .map(|c| c.rsplit('/').next().unwrap_or(c));
    match command {
        Some(c) if DECLARE.contains(&c) => {
            if let Some((name, len)) = &w.assign {
                let value =
                    (!w.dynamic).then(|| String::from_utf8_lossy(&w.lit[*len..]).into_owned());
                out.assign(name.clone(), w.start, value, Some(c.to_string()));
            } else if let Some(name) = lit.filter(|n| is_name(n)) {
                out.assign(name.to_string(), w.start, None, Some(c.to_string()));
            }
        }
        Some("let") => {
            if let Some((name, _)) = &w.assign {
                out.assign(name.clone(), w.start, None, Some("let".into()));
            }
        }
        Some("read") => {
            let prev = cmd.words.last().and_then(|p| p.lit.as_deref());
            let option_arg = matches!(prev, Some("-d" | "-i" | "-n" | "-N" | "-p" | "-t" | "-u"));
            if let Some(name) = lit
                && (prev == Some("-a") || (!option_arg && !name.starts_with('-')))
                && is_name(name)
            {
                out.assign(name.to_string(), w.start, None, Some("read".into()));
            }
        }
        Some("mapfile" | "readarray") => {
            let prev = cmd.words.last().and_then(|p| p.lit.as_deref());
            let option_arg = matches!(prev, Some("-d" | "-n" | "-O" | "-s" | "-u" | "-C" | "-c"));
            if let Some(name) = lit
                && !option_arg
                && is_name(name)
            {
                out.assign(name.to_string(), w.start, None, Some("mapfile".into()));
            }
        }
        Some("printf") => {
            let prev = cmd.words.last().and_then(|p| p.lit.as_deref());
            let options_done = !cmd
                .words
                .iter()
                .skip(1)
                .any(|w| w.lit.as_deref() == Some("--"));
            if prev == Some("-v")
                && options_done
                && let Some(name) = lit.filter(|n| is_name(n))
            {
                out.assign(name.to_string(), w.start, None, Some("printf".into()));
            }
        }
        Some("getopts") => {
            let args = cmd.words.iter().filter(|w| !w.command).count();
            if args == 1
                && let Some(name) = lit.filter(|n| is_name(n))
            {
                out.assign(name.to_string(), w.start, None, Some("getopts".into()));
            }
        }
        _ => {}
    }
    cmd.words.push(rec);
}

/// The text of a word when it is literal (no expansion in it).
fn literal(w: &Word) -> Option<String> {
    (!w.dynamic).then(|| String::from_utf8_lossy(&w.lit).into_owned())
}

impl Lexed {
    /// Record a variable set by the text.
    fn assign(&mut self, name: String, at: usize, value: Option<String>, via: Option<String>) {
        self.assigns.push(Assign {
            name,
            at,
            value,
            via,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(l: &Lexed) -> Vec<&str> {
        l.placeholders.iter().map(|p| p.name.as_str()).collect()
    }

    fn quoting(l: &Lexed) -> Vec<(&str, Quoting, u8, Option<&str>)> {
        l.placeholders
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.context.quoting.clone(),
                    p.context.backticks,
                    p.context.reparsed_by.as_deref(),
                )
            })
            .collect()
    }

    #[test]
    fn contexts_of_placeholders() {
        use Quoting::*;
        let l = lex("echo <a> \"<bb>\" '<c>' $'<d>' \"$(f <e>)\" `g <f>` \"`h \\`i <g>\\``\"\n");
        assert_eq!(
            quoting(&l),
            vec![
                ("a", Plain, 0, None),
                ("bb", Double, 0, None),
                ("c", Single, 0, None),
                ("d", AnsiC, 0, None),
                ("e", Plain, 0, None),
                ("f", Plain, 1, None),
                ("g", Plain, 2, None),
            ]
        );
        let l = lex(
            "x=${Y:-<a>} \"${Y:-<bb>}\" ${v#<c>} \"${v/<d>/<e>}\" $(( <f> + 1 )) ${arr[<g>]}\n",
        );
        assert_eq!(
            quoting(&l),
            vec![
                ("a", ParamWord { double: false }, 0, None),
                ("bb", ParamWord { double: true }, 0, None),
                ("c", ParamPattern { double: false }, 0, None),
                ("d", ParamPattern { double: true }, 0, None),
                ("e", ParamReplace { double: true }, 0, None),
                ("f", Arith, 0, None),
                ("g", Arith, 0, None),
            ]
        );
        let l = lex(
            "[[ <a> -eq 3 && <b> == x ]]\nlet n=<c>\narr=(<d> \"<e>\")\ncase $x in <f>) echo;; esac\ndeclare -ix N=<g> M=x\nlocal -r S=<h>\n",
        );
        assert_eq!(
            quoting(&l),
            vec![
                ("a", Arith, 0, None),
                ("b", Plain, 0, None),
                ("c", Arith, 0, None),
                ("d", Plain, 0, None),
                ("e", Double, 0, None),
                ("f", Plain, 0, None),
                ("g", Arith, 0, None),
                ("h", Plain, 0, None),
            ]
        );
        let l = lex(
            "eval \"echo <aa>\"\nssh -p 22 host ls <b>\nssh <c>\nbash -c \"<d>\"\nsudo -u x sh -c '<e>' arg\n",
        );
        let r: Vec<_> = l
            .placeholders
            .iter()
            .map(|p| (p.name.as_str(), p.context.reparsed_by.as_deref()))
            .collect();
        assert_eq!(
            r,
            vec![
                ("aa", Some("eval")),
                ("b", Some("ssh")),
                ("c", None),
                ("d", Some("bash -c")),
                ("e", Some("sh -c")),
            ]
        );
    }

    #[test]
    fn heredocs() {
        let text = "cat <<EOF > /etc/<repo>.list\ndeb https://x <codename> main\n$(echo <inner>)\nEOF\ncat <<-'END' | tee x\n\t<lit>\n\tEND\ngrep -q x <<< \"<here>\"\nbash <<EOF\nrm <f>\nEOF\necho <after>\n";
        let l = lex(text);
        assert_eq!(
            names(&l),
            vec!["repo", "codename", "inner", "lit", "here", "f", "after"]
        );
        let q: Vec<_> = l.placeholders.iter().map(|p| &p.context.quoting).collect();
        assert!(matches!(q[1], Quoting::Heredoc { quoted: false, delim, .. } if delim == "EOF"));
        assert_eq!(*q[2], Quoting::Plain);
        assert!(matches!(
            q[3],
            Quoting::Heredoc {
                quoted: true,
                strip_tabs: true,
                ..
            }
        ));
        assert_eq!(
            l.placeholders[5].context.reparsed_by.as_deref(),
            Some("bash")
        );
        assert!(l.lines[1].heredoc && l.lines[3].heredoc && !l.lines[4].heredoc);
        assert!(!l.lines[1].starts_command && l.lines[4].starts_command);
        // html in a body with its end tag later
        let l = lex("cat > i.html <<EOF\n<html>\n<main-page>\n</main-page>\n<host name>\nEOF\n");
        assert_eq!(names(&l), vec!["host name"]);
        // a terminator only when exact, as bash reads it
        let l = lex("cat <<EOF\n  EOF\n<x>\nEOF\necho <y>\n");
        assert_eq!(names(&l), vec!["x", "y"]);
        assert!(l.lines[2].heredoc);
    }

    #[test]
    fn variables_commands_and_assignments() {
        let l = lex(
            "MACHINE_NAME=x\nexport ZONE=a OTHER=\"b c\" # comment\nread -r -p 'q? ' ANSWER\nfor h in a b; do ssh $h; done\nDB_PASSWORD=\"correct horse battery staple\" cmd\nprintf -v OUT '%s' x\ny=$(( n + ${m:-1} ))\n",
        );
        let a: Vec<_> = l
            .assigns
            .iter()
            .map(|a| (a.name.as_str(), a.value.as_deref()))
            .collect();
        assert_eq!(
            a,
            vec![
                ("MACHINE_NAME", Some("x")),
                ("ZONE", Some("a")),
                ("OTHER", Some("b c")),
                ("ANSWER", None),
                ("h", None),
                ("DB_PASSWORD", Some("correct horse battery staple")),
                ("OUT", None),
                ("y", None),
            ]
        );
        let r: Vec<_> = l.reads.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(r, vec!["h", "n", "m"]);
        let c: Vec<_> = l.command_names().collect();
        assert_eq!(c, vec!["export", "read", "ssh", "cmd", "printf"]);
        assert_eq!(l.lines[1].comment, Some(26));
    }

    #[test]
    fn command_words() {
        let l = lex(
            "eval $(ai-rc \"x\")\nai-bs-vm -g g \\\n   --flag $X\nFOO=1 openstack server list | grep x\ncat <<EOF\nnot a command\nEOF\nsudo -u root systemctl restart x && env A=1 B=2 make\nf() { helper; }\nfunction g { :; }\necho \"has $(count_words greeting.txt) words\" > out.txt 2>&1 # wc x\nif true; then uptime; fi\n`which ls`\n",
        );
        let c: Vec<_> = l.command_names().collect();
        assert_eq!(
            c,
            vec![
                "eval",
                "ai-rc",
                "ai-bs-vm",
                "openstack",
                "grep",
                "cat",
                "sudo",
                "systemctl",
                "env",
                "make",
                "helper",
                ":",
                "echo",
                "count_words",
                "true",
                "uptime",
                "which"
            ]
        );
        assert_eq!(l.functions, vec!["f", "g"]);
    }

    #[test]
    fn redirections_and_continuations() {
        let l = lex(
            "make 2>&1 | tee log\nsort < file.txt > out\nwc -l <input.txt\ndiff <(ls a) <(ls b)\nexec 3<>/dev/tcp/h/80\ncat 0<&3\nsort <in.txt>out.txt\n[ $a -lt 3 ] && echo ok\n",
        );
        assert!(l.placeholders.is_empty(), "{:?}", l.placeholders);
        let mut lx = Lexer::default();
        lx.line("echo 'a", 0);
        assert!(lx.continuing());
        lx.line("b' \\", 8);
        assert!(lx.continuing());
        lx.line("c", 13);
        assert!(!lx.continuing());
        lx.line("x=$(", 15);
        assert!(lx.continuing());
        lx.line(")", 20);
        assert!(!lx.continuing());
    }

    /// Feed lines one by one; after each, whether bash would wait for more input.
    fn waits(lines: &[&str]) -> Vec<bool> {
        let mut lx = Lexer::default();
        let mut at = 0;
        lines
            .iter()
            .map(|l| {
                lx.line(l, at);
                at += l.len() + 1;
                lx.waiting()
            })
            .collect()
    }

    #[test]
    fn compound_commands_and_trailing_operators_wait_for_more() {
        assert_eq!(
            waits(&["for f in *.dat", "do", "  echo $f", "done", "ls"]),
            [true, true, true, false, false]
        );
        assert_eq!(
            waits(&[
                "if [ -e x ]; then",
                "  while read l; do echo \"$l\"; done < x",
                "fi"
            ]),
            [true, true, false]
        );
        assert_eq!(
            waits(&["case $1 in", "  a) echo a ;;", "  (b|c) echo b ;;", "esac"]),
            [true, true, true, false]
        );
        assert_eq!(waits(&["f() {", "  echo }", "}"]), [true, true, false]);
        assert_eq!(waits(&["{ echo a; echo b; }"]), [false]);
        assert_eq!(
            waits(&["ls |", "", "wc -l &&", "echo ok ||", "echo no"]),
            [true, true, true, true, false]
        );
        // `|` inside quotes, a comment, `$(...)`, or a background `&` ends nothing
        assert_eq!(
            waits(&["echo 'a |' # done |", "sleep 1 &", "x=$(ls | wc -l)"]),
            [false, false, false]
        );
        // words that are reserved only in command position
        assert_eq!(
            waits(&["echo if for do {", "echo done fi }"]),
            [false, false]
        );
        assert_eq!(waits(&["for ((i=0; i<3; i++)); do echo $i; done"]), [false]);
        // continuing() stays about quotes, `\`, heredocs and open `$(`
        let mut lx = Lexer::default();
        lx.line("for f in a; do", 0);
        assert!(!lx.continuing() && lx.waiting());
        assert_eq!(lx.open_compounds(), ["done"]);
        let info = lx.line("  echo $f", 15);
        assert!(info.starts_command);
    }

    #[test]
    fn a_paren_among_arguments_is_a_syntax_error() {
        let l = lex("origin https://example.org/x.git (fetch)\n");
        assert_eq!(l.lines[0].stray_paren, Some(33));
        for ok in [
            "(cd x && ls)",
            "ls && (cd x)",
            "f() { echo; }",
            "f () { echo; }",
            "a=(1 2)",
            "declare -a a=(1 2)",
            "[[ ( -n $x ) ]]",
            "case $x in (a) echo ;; esac",
            "echo $(date) <(ls) @(a|b)",
            "for ((i=0; i<3; i++)); do :; done",
            "if (true); then :; fi",
        ] {
            assert_eq!(lex(ok).lines[0].stray_paren, None, "{ok}");
        }
    }

    #[test]
    fn assigned_to() {
        let l = lex("export TOKEN=\"<api token>\" OTHER=<x>\nFOO=bar cmd <arg>\nM=<m>-$(f <n>)\n");
        let got: Vec<_> = l
            .placeholders
            .iter()
            .map(|p| (p.name.as_str(), p.assigned_to.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("api token", Some("TOKEN")),
                ("x", Some("OTHER")),
                ("arg", None),
                ("m", Some("M")),
                ("n", None)
            ]
        );
    }
}
