//! The shell state one step leaves to the next: variables (exported or not, arrays, every
//! attribute), functions and the working directory.
//!
//! It is kept as the bytes the shell printed, never as text: each variable is the line
//! `declare -p` printed for it (bash >= 4.4 prints every declaration on one line, quoting
//! control characters as `$'...'`), handed back to the next step's bash as it is; the
//! functions are `declare -f`'s output, one blob; the directory is `$PWD`'s bytes. To restore
//! them runbook reads only the variable names out of those lines (what changed, what must not
//! be restored: bash's own variables). It decodes a value only to compare an inherited
//! variable with the environment and to learn or find secret values (`secret_values`).
//!
//! What a step changed is a `Delta`: it is what goes to the run directory (`state/NNN-step.sh`,
//! only the public part), and a resume rebuilds the state by applying the files in order.
//!
//! The dump a step's shell writes when it exits (see `dump_code`), fields ended by NUL: a
//! header, `$PWD`, then for `rb-state-1 lines` (bash >= 4.4) `declare -p`'s lines, for
//! `rb-state-1 nul` (older bash) one `declare -p NAME` per variable, each ended by NUL, an
//! empty one last; then `declare -f`. `rb-state-1 posix` (other shells):
//! `set` and `export -p`.

use super::secrets::{Secrets, is_secret_name};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;
use std::os::unix::ffi::OsStringExt;

/// Exit status of a step that could not be given the state the steps before it left (its
/// working directory is gone): it did not run.
pub const EXIT_STATE_LOST: i32 = 125;

/// bash's own variables, which a new shell sets itself (or refuses to have set), and
/// runbook's (`__rb_*`, `RUNBOOK_STEP`). A match, not a list of patterns: it runs for every
/// variable of every step.
fn is_bash_special(name: &[u8]) -> bool {
    matches!(
        name,
        b"BASH"
            | b"BASHOPTS"
            | b"BASHPID"
            | b"COLUMNS"
            | b"DIRSTACK"
            | b"EPOCHREALTIME"
            | b"EPOCHSECONDS"
            | b"EUID"
            | b"FUNCNAME"
            | b"GROUPS"
            | b"HISTCMD"
            | b"HOSTNAME"
            | b"HOSTTYPE"
            | b"IFS"
            | b"LINENO"
            | b"LINES"
            | b"MACHTYPE"
            | b"OLDPWD"
            | b"OPTARG"
            | b"OPTERR"
            | b"OPTIND"
            | b"OSTYPE"
            | b"PIPESTATUS"
            | b"PPID"
            | b"PS4"
            | b"PWD"
            | b"RANDOM"
            | b"SECONDS"
            | b"SHELLOPTS"
            | b"SHLVL"
            | b"SRANDOM"
            | b"UID"
            | b"_"
            | b"RUNBOOK_STEP"
    ) || name.starts_with(b"BASH_")
        || name.starts_with(b"COMP_")
        || name.starts_with(b"__rb_")
}

/// The variables a POSIX shell's `set` lists that it sets itself, and runbook's.
fn is_posix_special(name: &[u8]) -> bool {
    matches!(
        name,
        b"PPID"
            | b"PWD"
            | b"OLDPWD"
            | b"IFS"
            | b"OPTIND"
            | b"LINENO"
            | b"PS1"
            | b"PS2"
            | b"PS4"
            | b"_"
            | b"RUNBOOK_STEP"
    ) || name.starts_with(b"__rb_")
}

fn is_special(name: &[u8], posix: bool) -> bool {
    if posix {
        is_posix_special(name)
    } else {
        is_bash_special(name)
    }
}

/// FxHash (as in rustc): the state's maps are keyed by short variable names, looked up for
/// every variable of every step; SipHash's protection against chosen keys is not needed for
/// names a step's shell printed.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().unwrap_or_default());
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;
type FastSet<K> = HashSet<K, std::hash::BuildHasherDefault<FxHasher>>;

/// `[A-Za-z_][A-Za-z0-9_]*`: the names a shell variable can have.
pub fn is_identifier(name: &[u8]) -> bool {
    name.first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// How the bash that runs the steps prints variables, once a dump said so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// bash >= 4.4: `declare -p` prints each variable on one line.
    Lines,
    /// Older bash: values with a newline span lines, one `declare -p NAME` at a time.
    Nul,
}

/// The code a step's shell runs once, when it exits, to write its state to `target` (a
/// redirection target). Only double quotes inside: the EXIT trap keeps it in a single-quoted
/// variable (`__rb_t`) for `eval`; it empties the variable first, so it runs once. `unwatch` first removes
/// runbook's own DEBUG trap and function, so that `declare -f` lists the step's functions
/// only. `format`: how this bash prints variables, when known (else the dump checks
/// `BASH_VERSINFO`).
pub fn dump_code(bash: bool, target: &str, unwatch: bool, format: Option<Format>) -> String {
    if !bash {
        return format!(
            r#"__rb_t=; {{ printf "rb-state-1 posix\0%s\0" "${{PWD:-$(pwd)}}"; set; printf "\0"; export -p; printf "\0"; }} >{target}"#
        );
    }
    let lines =
        r#"builtin printf "rb-state-1 lines\0%s\0" "${PWD:-$(builtin pwd)}"; builtin declare -p"#;
    // older bash prints a value with a newline on several lines: one variable at a time
    // then, each ended by NUL, the names enumerated without a fork
    let names: String = ('A'..='Z')
        .chain('a'..='z')
        .chain(['_'])
        .map(|c| format!(r#" "${{!{c}@}}""#))
        .collect();
    let nul = format!(
        r#"builtin printf "rb-state-1 nul\0%s\0" "${{PWD:-$(builtin pwd)}}"; for __rb_n in{names}; do builtin declare -p "$__rb_n" || :; builtin printf "\0"; done"#
    );
    let vars = match format {
        Some(Format::Lines) => lines.to_string(),
        Some(Format::Nul) => nul,
        None => format!(
            r#"case ${{BASH_VERSINFO[0]}}.${{BASH_VERSINFO[1]}} in [0-3].*|4.[0-3]) {nul};; *) {lines};; esac"#
        ),
    };
    let unwatch = if unwatch {
        "builtin trap - DEBUG; builtin unset -f __rb_watch; "
    } else {
        ""
    };
    format!(
        r#"__rb_t=; {unwatch}{{ {vars}; builtin printf "\0"; builtin declare -f; builtin printf "\0"; }} >{target}"#
    )
}

/// `'...'` quoting of any bytes (a `'` becomes `'\''`).
pub fn push_single_quoted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'\'');
    for &b in bytes {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
}

/// The variables and exported functions every step inherits from runbook's environment (bytes:
/// an environment need not be UTF-8).
#[derive(Debug, Default, Clone)]
pub struct Inherited {
    vars: FastMap<Vec<u8>, Vec<u8>>,
    /// Functions bash imports from `BASH_FUNC_NAME%%` variables.
    functions: Vec<Vec<u8>>,
}

impl Inherited {
    pub fn from_env() -> Inherited {
        let mut inh = Inherited::default();
        for (k, v) in std::env::vars_os() {
            let (k, v) = (k.into_vec(), v.into_vec());
            if let Some(f) = k
                .strip_prefix(b"BASH_FUNC_")
                .and_then(|r| r.strip_suffix(b"%%"))
            {
                inh.functions.push(f.to_vec());
            } else if is_identifier(&k) {
                inh.vars.insert(k, v);
            }
        }
        inh
    }

    fn has(&self, name: &[u8]) -> bool {
        self.vars.contains_key(name)
    }

    /// Whether `decl` is how the shell prints the variable `name` as it inherited it (exported,
    /// no other attribute, the same value): the next step inherits it as it is.
    fn unchanged(&self, name: &[u8], decl: &[u8], posix: bool) -> bool {
        let Some(value) = self.vars.get(name) else {
            return false;
        };
        let prefix: &[u8] = if posix { b"export " } else { b"declare -x " };
        decl.strip_prefix(prefix)
            .and_then(|r| r.strip_prefix(name))
            .and_then(|r| r.strip_prefix(b"="))
            .and_then(decode_word)
            .is_some_and(|v| v == *value)
    }
}

/// One variable of the state: its declaration as the shell printed it.
#[derive(Debug, Clone)]
struct Var {
    decl: Vec<u8>,
    /// Kept in memory only: a secret-named variable, or one whose value holds a secret.
    secret: bool,
    /// The last dump that had it unchanged (see `State::advance`).
    seen: u64,
}

#[derive(Debug, Clone, Default)]
struct Functions {
    /// `declare -f`'s output: every function of the step's shell but runbook's own.
    blob: Vec<u8>,
    /// The blob holds a secret value: kept in memory only.
    secret: bool,
}

/// The shell state after a step: what the next step starts with.
#[derive(Debug, Default, Clone)]
pub struct State {
    vars: FastMap<Vec<u8>, Var>,
    /// Inherited variables the steps unset: they stay unset.
    gone: BTreeSet<Vec<u8>>,
    /// None until a shell that lists functions (bash) has run.
    functions: Option<Functions>,
    /// None: runbook's own directory (nothing ran yet).
    cwd: Option<Vec<u8>>,
    generation: u64,
}

/// A step's state as its shell printed it (see the module documentation).
pub struct Dump {
    buf: Vec<u8>,
    posix: bool,
    /// How the shell printed its variables (bash).
    pub format: Option<Format>,
    /// (name, declaration) ranges in `buf`
    vars: Vec<(Range<usize>, Range<usize>)>,
    functions: Option<Range<usize>>,
    cwd: Range<usize>,
}

impl Dump {
    fn vars(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.vars
            .iter()
            .map(|(n, d)| (&self.buf[n.clone()], &self.buf[d.clone()]))
    }
}

/// The next field ended by NUL from `pos`: its range, and where the one after starts.
fn field(buf: &[u8], pos: usize) -> Option<(Range<usize>, usize)> {
    let len = buf.get(pos..)?.iter().position(|b| *b == 0)?;
    Some((pos..pos + len, pos + len + 1))
}

/// `range` without the newline it ends with, if any.
fn trim_nl(buf: &[u8], r: Range<usize>) -> Range<usize> {
    if r.end > r.start && buf[r.end - 1] == b'\n' {
        r.start..r.end - 1
    } else {
        r
    }
}

/// What a step's shell wrote to the state pipe; None when it wrote nothing, or not all of it
/// (it was killed while writing).
pub fn parse_dump(buf: Vec<u8>) -> Option<Dump> {
    let (head, pos) = field(&buf, 0)?;
    let (cwd, mut pos) = field(&buf, pos)?;
    let mut vars = Vec::new();
    let add = |buf: &[u8], decl: Range<usize>, vars: &mut Vec<_>| {
        if let Some((name, _)) = decl_name(&buf[decl.clone()]) {
            let name = decl.start + name.start..decl.start + name.end;
            vars.push((name, decl));
        }
    };
    let format = match &buf[head] {
        b"rb-state-1 lines" => {
            let (section, next) = field(&buf, pos)?;
            pos = next;
            let mut start = section.start;
            for line in buf[section.clone()].split(|b| *b == b'\n') {
                let r = start..start + line.len();
                start = r.end + 1;
                if !line.is_empty() {
                    add(&buf, r, &mut vars);
                }
            }
            Format::Lines
        }
        b"rb-state-1 nul" => {
            loop {
                let (record, next) = field(&buf, pos)?;
                pos = next;
                if record.is_empty() {
                    break;
                }
                let r = trim_nl(&buf, record);
                add(&buf, r, &mut vars);
            }
            Format::Nul
        }
        b"rb-state-1 posix" => {
            let (set, next) = field(&buf, pos)?;
            let (exports, end) = field(&buf, next)?;
            let mut at: HashMap<Vec<u8>, usize> = HashMap::new();
            for section in [set, exports] {
                for decl in shell_entries(&buf, section) {
                    if let Some((name, _)) = decl_name(&buf[decl.clone()]) {
                        let name = decl.start + name.start..decl.start + name.end;
                        // an export's line (it has the value too) replaces the `set` one
                        match at.get(&buf[name.clone()]) {
                            Some(&i) => vars[i] = (name, decl),
                            None => {
                                at.insert(buf[name.clone()].to_vec(), vars.len());
                                vars.push((name, decl));
                            }
                        }
                    }
                }
            }
            if end != buf.len() {
                return None;
            }
            return Some(Dump {
                buf,
                posix: true,
                format: None,
                vars,
                functions: None,
                cwd,
            });
        }
        _ => return None,
    };
    let (functions, end) = field(&buf, pos)?;
    if end != buf.len() {
        return None;
    }
    Some(Dump {
        buf,
        posix: false,
        format: Some(format),
        vars,
        functions: Some(functions),
        cwd,
    })
}

/// The names of the functions `declare -f` printed: each definition starts with a line
/// `NAME () ` followed by `{ ` (only to name them in a message: a heredoc in a body could
/// hold such lines too).
fn function_names(blob: &[u8]) -> Vec<Vec<u8>> {
    let mut names = Vec::new();
    let mut lines = blob.split(|b| *b == b'\n').peekable();
    while let Some(line) = lines.next() {
        if let Some(name) = line.strip_suffix(b" () ")
            && !name.is_empty()
            && !name.contains(&b' ')
            && lines.peek() == Some(&&b"{ "[..])
        {
            names.push(name.to_vec());
        }
    }
    names
}

/// A POSIX shell's `set` or `export -p` output cut into entries: a line, or more while a
/// quote is open.
fn shell_entries(buf: &[u8], section: Range<usize>) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = section.start;
    let mut i = section.start;
    let mut quote: Option<u8> = None;
    while i < section.end {
        let c = buf[i];
        match (quote, c) {
            (None, b'\\') | (Some(b'"'), b'\\') => i += 1,
            (None, b'\'' | b'"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, b'\n') => {
                if i > start {
                    out.push(start..i);
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if section.end > start {
        out.push(start..section.end);
    }
    out
}

/// The name a declaration sets (`declare -FLAGS NAME=...`, `export NAME=...`, `NAME=...`),
/// as a range, and where its value starts (after the `=`), if it has one.
fn decl_name(decl: &[u8]) -> Option<(Range<usize>, Option<usize>)> {
    let mut i = 0;
    for prefix in [
        &b"declare "[..],
        &b"typeset "[..],
        &b"export "[..],
        &b"readonly "[..],
    ] {
        if decl.starts_with(prefix) {
            i = prefix.len();
            while decl.get(i) == Some(&b'-') {
                while i < decl.len() && decl[i] != b' ' {
                    i += 1;
                }
                i += 1;
            }
            break;
        }
    }
    let start = i;
    while i < decl.len() && (decl[i].is_ascii_alphanumeric() || decl[i] == b'_') {
        i += 1;
    }
    if !is_identifier(decl.get(start..i)?) {
        return None;
    }
    match decl.get(i) {
        None | Some(b'\n') => Some((start..i, None)),
        Some(b'=') => Some((start..i, Some(i + 1))),
        _ => None,
    }
}

/// One shell word as the shell printed it (`"..."`, `$'...'`, `'...'`, backslashes, plain
/// bytes, concatenated) decoded to its bytes; None unless `text` is exactly one word.
pub fn decode_word(text: &[u8]) -> Option<Vec<u8>> {
    let (word, end) = read_word(text, 0, |_| false)?;
    (end == text.len()).then_some(word)
}

/// Read a word from `pos` up to an unquoted blank, newline or a byte `stop` accepts.
fn read_word(text: &[u8], mut pos: usize, stop: impl Fn(u8) -> bool) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    while let Some(&c) = text.get(pos) {
        match c {
            b' ' | b'\t' | b'\n' => break,
            c if stop(c) => break,
            b'\'' => {
                let len = text[pos + 1..].iter().position(|b| *b == b'\'')?;
                out.extend_from_slice(&text[pos + 1..pos + 1 + len]);
                pos += len + 2;
            }
            b'$' if text.get(pos + 1) == Some(&b'\'') => {
                pos = read_ansi_c(text, pos + 2, &mut out)?
            }
            b'"' => {
                pos += 1;
                loop {
                    match *text.get(pos)? {
                        b'"' => break,
                        b'\\' => match *text.get(pos + 1)? {
                            b'\n' => pos += 1,
                            n @ (b'"' | b'\\' | b'$' | b'`') => {
                                out.push(n);
                                pos += 1;
                            }
                            _ => out.push(b'\\'),
                        },
                        b => out.push(b),
                    }
                    pos += 1;
                }
                pos += 1;
            }
            b'\\' => {
                match *text.get(pos + 1)? {
                    b'\n' => {}
                    n => out.push(n),
                }
                pos += 2;
            }
            b => {
                out.push(b);
                pos += 1;
            }
        }
    }
    Some((out, pos))
}

/// The inside of `$'...'` from `pos` (after the quote) into `out`; where it ends.
fn read_ansi_c(text: &[u8], mut pos: usize, out: &mut Vec<u8>) -> Option<usize> {
    let digits = |pos: usize, max: usize, radix: u32| -> (u32, usize) {
        let mut v = 0;
        let mut n = 0;
        while n < max {
            match text.get(pos + n).and_then(|c| (*c as char).to_digit(radix)) {
                Some(d) => v = v * radix + d,
                None => break,
            }
            n += 1;
        }
        (v, n)
    };
    loop {
        match *text.get(pos)? {
            b'\'' => return Some(pos + 1),
            b'\\' => {
                let e = *text.get(pos + 1)?;
                pos += 2;
                match e {
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'e' | b'E' => out.push(27),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(11),
                    b'\\' | b'\'' | b'"' | b'?' => out.push(e),
                    b'0'..=b'7' => {
                        let (v, n) = digits(pos - 1, 3, 8);
                        out.push(v as u8);
                        pos += n - 1;
                    }
                    b'x' => {
                        let (v, n) = digits(pos, 2, 16);
                        if n == 0 {
                            out.extend_from_slice(b"\\x");
                        } else {
                            out.push(v as u8);
                        }
                        pos += n;
                    }
                    b'u' | b'U' => {
                        let (v, n) = digits(pos, if e == b'u' { 4 } else { 8 }, 16);
                        match char::from_u32(v).filter(|_| n > 0) {
                            Some(ch) => {
                                out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes())
                            }
                            None => out.extend_from_slice(&[b'\\', e]),
                        }
                        pos += n;
                    }
                    b'c' => {
                        let c = *text.get(pos)?;
                        out.push(c & 0x1f);
                        pos += 1;
                    }
                    other => out.extend_from_slice(&[b'\\', other]),
                }
            }
            b => {
                out.push(b);
                pos += 1;
            }
        }
    }
}

/// The values a declaration holds, decoded: one for a scalar, each element's for an array
/// (`([0]="a" [k]=$'b\n')`, or old bash's `'([0]="a")'`). Used to learn the values of secret
/// variables (to mask them) and to find a secret's value in another variable.
pub fn secret_values(decl: &[u8]) -> Vec<Vec<u8>> {
    let Some((_, Some(start))) = decl_name(decl) else {
        return Vec::new();
    };
    let value = &decl[start..];
    let value = value.strip_suffix(b"\n").unwrap_or(value);
    if value.starts_with(b"'(") {
        // bash < 4.4 quoted a whole array
        return match decode_word(value) {
            Some(inner) if inner.starts_with(b"(") => array_values(&inner),
            Some(v) => vec![v],
            None => Vec::new(),
        };
    }
    if value.starts_with(b"(") {
        return array_values(value);
    }
    read_word(value, 0, |_| false)
        .map(|(w, _)| vec![w])
        .unwrap_or_default()
}

/// The element values of `([key]=value ...)`.
fn array_values(text: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 1;
    loop {
        while matches!(text.get(pos), Some(b' ' | b'\t' | b'\n')) {
            pos += 1;
        }
        match text.get(pos) {
            Some(b'[') => {
                let Some((_, end)) = read_word(text, pos + 1, |c| c == b']') else {
                    break;
                };
                if text.get(end) != Some(&b']') || text.get(end + 1) != Some(&b'=') {
                    break;
                }
                pos = end + 2;
            }
            Some(b')') | None => break,
            _ => {}
        }
        match read_word(text, pos, |c| c == b')') {
            Some((v, end)) => {
                out.push(v);
                pos = end;
            }
            None => break,
        }
    }
    out
}

/// Whether a declaration (`declare -n REF="NAME"`) makes a nameref.
fn is_nameref(decl: &[u8]) -> bool {
    decl.strip_prefix(b"declare -")
        .and_then(|r| r.split(|b| *b == b' ').next())
        .is_some_and(|flags| flags.contains(&b'n'))
}

/// Whether two declarations of an associative array hold the same elements: bash lists them
/// in its hash table's order, which a restore may change (keys of one bucket come out the
/// other way round after each restore).
fn same_assoc(a: &[u8], b: &[u8]) -> bool {
    let items = |d: &[u8]| -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
        let (_, Some(start)) = decl_name(d)? else {
            return None;
        };
        let text = &d[start..];
        if !d.starts_with(b"declare -A") || !text.starts_with(b"(") {
            return None;
        }
        let mut out = Vec::new();
        let mut pos = 1;
        loop {
            while matches!(text.get(pos), Some(b' ')) {
                pos += 1;
            }
            match text.get(pos) {
                Some(b')') => break,
                Some(b'[') => {
                    let (_, end) = read_word(text, pos + 1, |c| c == b']')?;
                    if text.get(end..end + 2) != Some(&b"]="[..]) {
                        return None;
                    }
                    let (_, end) = read_word(text, end + 2, |c| c == b')')?;
                    out.push(text.get(pos..end)?.to_vec());
                    pos = end;
                }
                _ => return None,
            }
        }
        out.sort();
        Some((d[..start].to_vec(), out))
    };
    match (items(a), items(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Whether the text of a declaration holds a known secret value: as it is, or once the
/// shell's quoting is undone (`\"`, `\$`, octal escapes...).
fn holds_secret(decl: &[u8], secrets: &Secrets) -> bool {
    if secrets.is_empty() {
        return false;
    }
    let found = |b: &[u8]| {
        let t = lossy(b);
        secrets.mask(&t) != t
    };
    found(decl) || secret_values(decl).iter().any(|v| found(v))
}

/// Whether function definitions hold a known secret value, as written or with the
/// backslashes of double quotes undone.
fn blob_holds_secret(blob: &[u8], secrets: &Secrets) -> bool {
    if secrets.is_empty() {
        return false;
    }
    let found = |b: &[u8]| {
        let t = lossy(b);
        secrets.mask(&t) != t
    };
    if found(blob) {
        return true;
    }
    let mut plain = Vec::with_capacity(blob.len());
    let mut i = 0;
    while i < blob.len() {
        if blob[i] == b'\\' && matches!(blob.get(i + 1), Some(b'"' | b'\\' | b'$' | b'`')) {
            i += 1;
        }
        plain.push(blob[i]);
        i += 1;
    }
    found(&plain)
}

/// What became of a variable, as a snapshot file says it.
#[derive(Debug, Clone, PartialEq)]
enum Change {
    /// Its new declaration.
    Set(Vec<u8>),
    /// Unset: removed, or now kept in memory only (what the files said before must not stand
    /// in for it on resume).
    Unset,
    /// Back to what the environment gives it (or never changed): the files say nothing of
    /// its value.
    Inherit,
}

/// What one step changed in the public part of the state: what its snapshot file holds.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Delta {
    vars: BTreeMap<Vec<u8>, Change>,
    /// The new functions blob (empty: none are public), and the functions it no longer has.
    functions: Option<(Vec<u8>, BTreeSet<Vec<u8>>)>,
    cwd: Option<Vec<u8>>,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty() && self.functions.is_none() && self.cwd.is_none()
    }

    /// `later` applied after `self`, as one delta (a step run again after a failure).
    pub fn merge(&mut self, later: Delta) {
        self.vars.extend(later.vars);
        if let Some((blob, mut gone)) = later.functions {
            if let Some((_, before)) = self.functions.take() {
                gone.extend(before);
            }
            self.functions = Some((blob, gone));
        }
        if later.cwd.is_some() {
            self.cwd = later.cwd;
        }
    }

    /// The snapshot file: shell commands, each declaration framed by its length so that
    /// runbook reads it back exactly whatever bytes it holds.
    pub fn to_bytes(&self, title: &str) -> Vec<u8> {
        let title: String = title
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut out = format!(
            "# runbook: changes to the shell state made by {title}\n# (a resume applies the files of state/ in order)\n"
        )
        .into_bytes();
        if let Some(dir) = &self.cwd {
            let mut cd = b"cd -- ".to_vec();
            push_single_quoted(&mut cd, dir);
            out.extend_from_slice(format!("#rb-cwd {}\n", cd.len()).as_bytes());
            out.extend_from_slice(&cd);
            out.push(b'\n');
        }
        let names = |which: &Change| -> Vec<&[u8]> {
            self.vars
                .iter()
                .filter(|(_, c)| *c == which)
                .map(|(n, _)| n.as_slice())
                .collect()
        };
        for (prefix, which) in [
            (&b"unset -v "[..], Change::Unset),
            (&b"#rb-inherit "[..], Change::Inherit),
        ] {
            let list = names(&which);
            if !list.is_empty() {
                out.extend_from_slice(prefix);
                out.extend_from_slice(&list.join(&b' '));
                out.push(b'\n');
            }
        }
        for (name, change) in &self.vars {
            if let Change::Set(decl) = change {
                out.extend_from_slice(b"#rb-set ");
                out.extend_from_slice(name);
                out.extend_from_slice(format!(" {}\n", decl.len()).as_bytes());
                out.extend_from_slice(decl);
                out.push(b'\n');
            }
        }
        if let Some((blob, gone)) = &self.functions {
            if !gone.is_empty() {
                out.extend_from_slice(b"unset -f");
                for name in gone {
                    out.push(b' ');
                    push_single_quoted(&mut out, name);
                }
                out.push(b'\n');
            }
            out.extend_from_slice(format!("#rb-functions {}\n", blob.len()).as_bytes());
            out.extend_from_slice(blob);
            out.push(b'\n');
        }
        out
    }

    /// A snapshot file read back (see `to_bytes`); what cannot be read is left out.
    pub fn parse(bytes: &[u8]) -> Delta {
        let mut d = Delta::default();
        let mut pos = 0;
        while pos < bytes.len() {
            let end = bytes[pos..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(bytes.len(), |n| pos + n);
            let line = &bytes[pos..end];
            pos = end + 1;
            let framed = |rest: &[u8]| -> Option<(Vec<u8>, usize)> {
                let sp = rest.iter().rposition(|b| *b == b' ');
                let len_text = match sp {
                    Some(sp) => &rest[sp + 1..],
                    None => rest,
                };
                let len: usize = std::str::from_utf8(len_text).ok()?.parse().ok()?;
                Some((rest[..sp.unwrap_or(0)].to_vec(), len))
            };
            if let Some(rest) = line.strip_prefix(b"#rb-set ") {
                let Some((name, len)) = framed(rest) else {
                    break;
                };
                let Some(decl) = pos.checked_add(len).and_then(|end| bytes.get(pos..end)) else {
                    break;
                };
                d.vars.insert(name, Change::Set(decl.to_vec()));
                pos += len + 1;
            } else if let Some(rest) = line.strip_prefix(b"#rb-functions ") {
                let Some((_, len)) = framed(rest) else {
                    break;
                };
                let Some(blob) = pos.checked_add(len).and_then(|end| bytes.get(pos..end)) else {
                    break;
                };
                d.functions = Some((blob.to_vec(), BTreeSet::new()));
                pos += len + 1;
            } else if let Some(rest) = line.strip_prefix(b"unset -v ") {
                for name in rest.split(|b| *b == b' ').filter(|n| !n.is_empty()) {
                    d.vars.insert(name.to_vec(), Change::Unset);
                }
            } else if let Some(rest) = line.strip_prefix(b"#rb-inherit ") {
                for name in rest.split(|b| *b == b' ').filter(|n| !n.is_empty()) {
                    d.vars.insert(name.to_vec(), Change::Inherit);
                }
            } else if let Some(rest) = line.strip_prefix(b"#rb-cwd ") {
                let Some((_, len)) = framed(rest) else {
                    break;
                };
                let Some(cd) = pos.checked_add(len).and_then(|end| bytes.get(pos..end)) else {
                    break;
                };
                d.cwd = cd.strip_prefix(b"cd -- ").and_then(decode_word);
                pos += len + 1;
            }
        }
        d
    }
}

impl State {
    /// The state the snapshot files of a run rebuild, applied in order.
    pub fn from_deltas<'a>(deltas: impl IntoIterator<Item = &'a Delta>) -> State {
        let mut s = State::default();
        for d in deltas {
            s.apply(d);
        }
        s
    }

    fn apply(&mut self, d: &Delta) {
        for (name, change) in &d.vars {
            match change {
                Change::Set(decl) => {
                    self.gone.remove(name);
                    self.vars.insert(
                        name.clone(),
                        Var {
                            decl: decl.clone(),
                            secret: false,
                            seen: 0,
                        },
                    );
                }
                Change::Unset => {
                    self.vars.remove(name);
                    self.gone.insert(name.clone());
                }
                Change::Inherit => {
                    self.vars.remove(name);
                    self.gone.remove(name);
                }
            }
        }
        if let Some((blob, _)) = &d.functions {
            self.functions = Some(Functions {
                blob: blob.clone(),
                secret: false,
            });
        }
        if let Some(dir) = &d.cwd {
            self.cwd = Some(dir.clone());
        }
    }

    /// A secret the operator typed again on resume: exported, kept in memory only.
    pub fn put_secret(&mut self, name: &str, value: &[u8], bash: bool) {
        self.put_var(name, value, true, bash);
    }

    /// A variable given from outside the steps (`--set` for a variable the selection reads
    /// and only unselected steps set): exported, as the environment would give it; a secret
    /// one is kept in memory only.
    pub fn put_var(&mut self, name: &str, value: &[u8], secret: bool, bash: bool) {
        let mut decl = if bash {
            b"declare -x ".to_vec()
        } else {
            b"export ".to_vec()
        };
        decl.extend_from_slice(name.as_bytes());
        decl.push(b'=');
        push_single_quoted(&mut decl, value);
        self.gone.remove(name.as_bytes());
        self.vars.insert(
            name.as_bytes().to_vec(),
            Var {
                decl,
                secret,
                seen: self.generation,
            },
        );
    }

    /// This state, then what the snapshot files of a run changed, applied in order.
    pub fn with_deltas<'a>(mut self, deltas: impl IntoIterator<Item = &'a Delta>) -> State {
        for d in deltas {
            self.apply(d);
        }
        self
    }

    /// The working directory the next step starts in (None: runbook's own).
    pub fn cwd(&self) -> Option<&[u8]> {
        self.cwd.as_deref()
    }

    /// Names of what is kept in memory only: secret variables, and `NAME()` for the
    /// functions when their definitions hold a secret.
    pub fn secret_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .vars
            .iter()
            .filter(|(_, v)| v.secret)
            .map(|(n, _)| lossy(n).into_owned())
            .collect();
        names.sort();
        if let Some(f) = self.functions.as_ref().filter(|f| f.secret) {
            names.extend(
                function_names(&f.blob)
                    .iter()
                    .map(|n| format!("{}()", lossy(n))),
            );
        }
        names
    }

    /// Shell code that gives a new shell this state: the variables, then the functions. (The
    /// directory is not in it: the shell is started there, see `Shell::run`.)
    pub fn restore_script(&self, inh: &Inherited, bash: bool) -> Vec<u8> {
        let size: usize = self.vars.values().map(|v| v.decl.len() + 1).sum::<usize>()
            + self.functions.as_ref().map_or(0, |f| f.blob.len() + 200)
            + 512;
        let mut s = Vec::with_capacity(size);
        // one group, its errors hidden (a variable a shell would not take)
        s.extend_from_slice(b"{\n");
        // inherited variables the state unsets, or declares otherwise (an export removed with
        // `export -n`, another type): unset first, so no attribute of the inherited one stays
        let mut unset: Vec<&[u8]> = self
            .gone
            .iter()
            .filter(|n| inh.has(n))
            .map(|n| n.as_slice())
            .collect();
        let mut decls: Vec<&[u8]> = Vec::with_capacity(self.vars.len());
        for (name, v) in &self.vars {
            if inh.has(name) {
                if inh.unchanged(name, &v.decl, !bash) {
                    continue;
                }
                unset.push(name);
            }
            decls.push(&v.decl);
        }
        if !unset.is_empty() {
            s.extend_from_slice(b"unset -v ");
            s.extend_from_slice(&unset.join(&b' '));
            s.push(b'\n');
        }
        if bash {
            // a variable without attributes (`declare -- X=...`) or only exported is restored by
            // its assignment word as bash printed it, all in one command: bash runs one
            // command of 2,000 assignments several times faster than 2,000 `declare`s
            let mut exported: Vec<&[u8]> = Vec::new();
            let mut assigned = false;
            for d in &decls {
                let (word, export) = if let Some(w) = d.strip_prefix(b"declare -- ") {
                    (w, false)
                } else if let Some(w) = d.strip_prefix(b"declare -x ") {
                    (w, true)
                } else {
                    continue;
                };
                let Some(eq) = word.iter().position(|b| *b == b'=') else {
                    continue;
                };
                s.extend_from_slice(word);
                s.push(b' ');
                assigned = true;
                if export {
                    exported.push(&word[..eq]);
                }
            }
            if assigned {
                s.push(b'\n');
            }
            if !exported.is_empty() {
                s.extend_from_slice(b"export ");
                s.extend_from_slice(&exported.join(&b' '));
                s.push(b'\n');
            }
            for d in decls {
                let plain = (d.starts_with(b"declare -- ") || d.starts_with(b"declare -x "))
                    && d.contains(&b'=');
                if !plain {
                    s.extend_from_slice(d);
                    s.push(b'\n');
                }
            }
        } else {
            for d in decls {
                s.extend_from_slice(d);
                s.push(b'\n');
            }
        }
        if s.len() == 2 {
            s.clear(); // nothing to restore: not even the group
        } else {
            s.extend_from_slice(b"} 2>/dev/null\n");
        }
        if let (true, Some(f)) = (bash, &self.functions) {
            if !inh.functions.is_empty() {
                // imported from the environment: the state's own definitions say whether they
                // are still there
                s.extend_from_slice(b"builtin unset -f");
                for name in &inh.functions {
                    s.push(b' ');
                    push_single_quoted(&mut s, name);
                }
                s.extend_from_slice(b" 2>/dev/null\n");
            }
            if !f.blob.is_empty() {
                // through eval: a definition that does not parse loses the functions, not the
                // step; extglob on for the patterns a function may hold
                s.extend_from_slice(
                    b"if builtin shopt -q extglob; then __rb_eg=; else __rb_eg=1; builtin shopt -s extglob; fi\n{ builtin eval ",
                );
                push_single_quoted(&mut s, &f.blob);
                s.extend_from_slice(
                    b"; } 2>/dev/null\n[ -z \"$__rb_eg\" ] || builtin shopt -u extglob\n",
                );
            }
        }
        s
    }

    /// Take in the state a step's shell printed: returns what changed in the public part.
    /// The values of secret variables it finds are added to `secrets`; a variable or a
    /// function whose text holds a secret value is kept in memory only.
    pub fn advance(
        &mut self,
        dump: &Dump,
        inh: &Inherited,
        secret_names: &[String],
        secrets: &mut Secrets,
    ) -> Delta {
        self.generation += 1;
        let g = self.generation;
        let posix = dump.posix;
        let mut delta = Delta::default();
        let mut changed: Vec<(&[u8], &[u8])> = Vec::new();
        let mut present: FastSet<&[u8]> = FastSet::default();
        // inherited variables as they were inherited: not part of the state
        let mut as_inherited: FastMap<&[u8], &[u8]> = FastMap::default();
        for (name, decl) in dump.vars() {
            if is_special(name, posix) {
                continue;
            }
            if inh.has(name) {
                present.insert(name);
                if inh.unchanged(name, decl, posix) {
                    as_inherited.insert(name, decl);
                    continue;
                }
            }
            match self.vars.get_mut(name) {
                Some(v) if v.decl == decl || same_assoc(&v.decl, decl) => v.seen = g,
                _ => changed.push((name, decl)),
            }
        }
        let named_secret = |name: &[u8]| is_secret_name(&lossy(name), secret_names);
        // the secrets first: a copy of one in another variable set by the same step is found
        // (a nameref's value is the name of another variable, not a secret)
        for (name, decl) in &changed {
            if named_secret(name) && !is_nameref(decl) {
                for v in secret_values(decl) {
                    secrets.add(&lossy(&v));
                }
            }
        }
        for (name, decl) in changed {
            let secret = named_secret(name) || holds_secret(decl, secrets);
            let was_public = self.vars.get(name).is_some_and(|v| !v.secret);
            if !secret {
                delta.vars.insert(name.to_vec(), Change::Set(decl.to_vec()));
            } else if was_public || inh.has(name) {
                // what the files said before (or the environment) must not stand in for it
                delta.vars.insert(name.to_vec(), Change::Unset);
            }
            self.vars.insert(
                name.to_vec(),
                Var {
                    decl: decl.to_vec(),
                    secret,
                    seen: g,
                },
            );
        }
        // gone from the dump, or back to what the environment gives them
        let mut removed: Vec<(Vec<u8>, bool)> = Vec::new();
        self.vars.retain(|name, v| {
            let keep = v.seen == g;
            if !keep {
                removed.push((name.clone(), v.secret));
            }
            keep
        });
        for (name, secret) in removed {
            if as_inherited.contains_key(name.as_slice()) {
                delta.vars.insert(name, Change::Inherit);
            } else if !secret {
                delta.vars.insert(name, Change::Unset);
            }
        }
        // inherited variables the step unset, or set again
        for name in inh.vars.keys() {
            if is_special(name, posix) {
                continue;
            }
            let gone_now = !present.contains(name.as_slice());
            if gone_now && !self.gone.contains(name) {
                self.gone.insert(name.clone());
                delta.vars.insert(name.clone(), Change::Unset);
            } else if !gone_now
                && self.gone.remove(name)
                && as_inherited.contains_key(name.as_slice())
            {
                delta.vars.insert(name.clone(), Change::Inherit);
            }
        }
        if let Some(range) = &dump.functions {
            let blob = &dump.buf[range.clone()];
            let before = self.functions.take().unwrap_or_default();
            let secret = if before.blob == blob {
                before.secret
            } else {
                let secret = blob_holds_secret(blob, secrets);
                let was_public = !before.secret && !before.blob.is_empty();
                if !secret || was_public {
                    let now = function_names(blob);
                    let gone = if before.secret {
                        BTreeSet::new()
                    } else {
                        function_names(&before.blob)
                            .into_iter()
                            .filter(|n| secret || !now.contains(n))
                            .collect()
                    };
                    let public = if secret { Vec::new() } else { blob.to_vec() };
                    delta.functions = Some((public, gone));
                }
                secret
            };
            self.functions = Some(Functions {
                blob: if before.blob == blob {
                    before.blob
                } else {
                    blob.to_vec()
                },
                secret,
            });
        }
        let cwd = &dump.buf[dump.cwd.clone()];
        if self.cwd.as_deref() != Some(cwd) {
            self.cwd = Some(cwd.to_vec());
            delta.cwd = Some(cwd.to_vec());
        }
        delta
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `'...'` quoting as text, for test commands.
    pub(crate) fn single_quoted(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        push_single_quoted(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn words_decode_as_bash_prints_them() {
        assert_eq!(decode_word(br#""a\"b\$c\\d\`e""#).unwrap(), b"a\"b$c\\d`e");
        assert_eq!(
            decode_word(br"$'Can\'t reach\nstale\E\001\377'").unwrap(),
            b"Can't reach\nstale\x1b\x01\xff"
        );
        assert_eq!(decode_word(b"'it'\\''s'").unwrap(), b"it's");
        assert_eq!(decode_word(b"a b"), None);
        assert_eq!(decode_word(b"\"open"), None);
    }

    #[test]
    fn values_of_scalars_and_arrays() {
        assert_eq!(
            secret_values(b"declare -x TOKEN=\"a\\\"b\\$c\""),
            [b"a\"b$c".to_vec()]
        );
        assert_eq!(
            secret_values(b"declare -A K=([$'k\\n']=$'v\\nal' [\"a b\"]=\"1\" [plain]=\"2\" )"),
            [b"v\nal".to_vec(), b"1".to_vec(), b"2".to_vec()]
        );
        assert_eq!(
            secret_values(b"declare -a A='([0]=\"x\" [1]=\"y z\")'"),
            [b"x".to_vec(), b"y z".to_vec()]
        );
        assert!(secret_values(b"declare -a A").is_empty());
    }

    #[test]
    fn names_of_declarations() {
        let n = |d: &[u8]| decl_name(d).map(|(r, v)| (d[r].to_vec(), v.is_some()));
        assert_eq!(n(b"declare -- X=\"1\""), Some((b"X".to_vec(), true)));
        assert_eq!(n(b"declare -ax A"), Some((b"A".to_vec(), false)));
        assert_eq!(n(b"export B='2'"), Some((b"B".to_vec(), true)));
        assert_eq!(n(b"C='x'"), Some((b"C".to_vec(), true)));
        assert_eq!(n(b"  echo"), None);
    }

    #[test]
    fn a_secret_is_found_however_bash_quotes_it() {
        let mut s = Secrets::default();
        s.add("p\"w$1\nx");
        s.add("q\"r$2`z");
        assert!(holds_secret(b"declare -- A=$'p\"w$1\\nx'", &s));
        assert!(holds_secret(b"declare -x B=\"q\\\"r\\$2\\`z\"", &s));
        assert!(holds_secret(
            b"declare -a C=([0]=\"\" [1]=\"q\\\"r\\$2\\`z\")",
            &s
        ));
        assert!(!holds_secret(b"declare -- D=\"harmless\"", &s));
        assert!(blob_holds_secret(
            b"f () \n{ \n    echo \"q\\\"r\\$2\\`z\"\n}\n",
            &s
        ));
        assert!(!blob_holds_secret(b"f () \n{ \n    echo hi\n}\n", &s));
    }

    #[test]
    fn an_associative_array_in_another_order_is_the_same() {
        let a = b"declare -A a=([$'\\021fS']=\"2\" [H]=\"1\" [y]=\"4\" )";
        let b = b"declare -A a=([H]=\"1\" [$'\\021fS']=\"2\" [y]=\"4\" )";
        let c = b"declare -A a=([H]=\"1\" [$'\\021fS']=\"3\" [y]=\"4\" )";
        assert!(same_assoc(a, b));
        assert!(!same_assoc(a, c));
        assert!(!same_assoc(
            b"declare -a a=([0]=\"1\")",
            b"declare -a a=([0]=\"1\")"
        ));
    }

    #[test]
    fn a_secret_named_nameref_does_not_make_a_name_a_secret() {
        assert!(is_nameref(b"declare -n API_KEY_REF=\"API_KEY\""));
        assert!(!is_nameref(b"declare -x API_KEY=\"abcd\""));
        assert!(!is_nameref(b"declare -- n=\"1\""));
    }

    #[test]
    fn function_names_from_their_definitions() {
        let blob = b"f () \n{ \n    echo hi\n}\ndeclare -fx f\nmy-fn () \n{ \n    cat <<EOF\nx () \nEOF\n\n}\n";
        assert_eq!(function_names(blob), [b"f".to_vec(), b"my-fn".to_vec()]);
    }

    proptest::proptest! {
        /// Whatever the bytes (a damaged snapshot file, a dump cut short), reading them does
        /// not panic.
        #[test]
        fn readers_take_any_bytes(b in proptest::prop_oneof![
            proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            // the bytes the readers look for, so that they get past their first checks
            proptest::collection::vec(
                proptest::sample::select(b"[]=()\"'$\\ \n\0#abrX-012345-dceflnstux".to_vec()),
                0..300,
            ),
        ]) {
            let _ = Delta::parse(&b);
            let _ = parse_dump(b.clone());
            let _ = secret_values(&b);
            let _ = decode_word(&b);
            let _ = same_assoc(&b, &b);
            let _ = function_names(&b);
            let mut framed = b"rb-state-1 lines\0/\0".to_vec();
            framed.extend_from_slice(&b);
            let _ = parse_dump(framed);
            let mut set = b"#rb-set X 5\n".to_vec();
            set.extend_from_slice(&b);
            let _ = Delta::parse(&set);
            let mut decl = b"declare -A X=(".to_vec();
            decl.extend_from_slice(&b);
            let _ = same_assoc(&decl, &decl);
            let _ = secret_values(&decl);
        }
    }

    #[test]
    fn a_delta_reads_back_as_written() {
        let mut d = Delta::default();
        d.vars.insert(
            b"X".to_vec(),
            Change::Set(b"declare -- X=$'a\\nb\n#rb-set Y 3'".to_vec()),
        );
        d.vars.insert(b"GONE".to_vec(), Change::Unset);
        d.vars.insert(b"HOME".to_vec(), Change::Inherit);
        d.functions = Some((b"f () \n{ \n    echo hi\n}\n".to_vec(), BTreeSet::new()));
        d.cwd = Some(b"/tmp/it's\nhere".to_vec());
        let back = Delta::parse(&d.to_bytes("step 1 (s-1)"));
        assert_eq!(back, d);
    }
}
