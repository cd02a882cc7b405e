//! Ansible inventories, read as Ansible reads them, for `runbook run PAGE --on TARGET`.
//!
//! Two forms, as Ansible's `ini` and `yaml` inventory plugins take them:
//!
//! - **INI**: host lines before any section are `ungrouped`; `[group]` lists hosts,
//!   `[group:vars]` sets `key=value` (values are strings, matching quotes stripped),
//!   `[group:children]` names child groups. `#` and `;` start comment lines. A host line is
//!   `name key=value key2="quoted value"`, split as Python's `shlex.split(comments=True)` does,
//!   its values read as Python literals (`ast.literal_eval`: `22` is an int, `True` a bool,
//!   `'x'` a string, anything else the text itself).
//! - **YAML**: `all: {hosts: {name: {vars}|null}, vars: {...}, children: {group: {...}}}` and
//!   other top-level groups, read with [`crate::yaml`] (YAML 1.1 scalars).
//!
//! In both, a host name may end with `:port` and may hold ranges (`www[01:50].example.com`,
//! `db-[a:f]`, `[1:10:2]`; several expand as a product). A host's variables are `all`'s, then
//! each group it is in (directly or through children) by depth from `all`, then
//! `ansible_group_priority`, then name, then its own: a child group overrides its parents.
//!
//! Not read: dynamic inventory scripts and plugins, `group_vars/`/`host_vars/` directories,
//! vault, Jinja templates in values, `ansible_connection` (everything is OpenSSH).

use crate::error::Diagnostic;
use crate::liquid::value::{is_map, is_nil, map_pairs};
use crate::source::SourceFile;
use minijinja::Value;
use minijinja::value::ValueKind;
use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Hosts one name may expand to (`web[0:99999999]` is refused rather than built).
pub const MAX_RANGE_HOSTS: usize = 100_000;

/// The environment variable naming an inventory when neither `--inventory` nor the site
/// config does.
pub const INVENTORY_ENV: &str = "RUNBOOK_INVENTORY";

/// One host of an inventory.
#[derive(Debug, Clone)]
pub struct Host {
    /// Its inventory name (`inventory_hostname`).
    pub name: String,
    /// Its variables merged as Ansible merges them (a map): what Liquid's `host.*` reads.
    pub vars: Value,
    /// 1-based line where the host first appears.
    pub line: usize,
    /// The groups it is in, directly or through children, in the order their variables
    /// were applied (`all` excluded).
    pub groups: Vec<String>,
    /// Byte offset of the host's first appearance.
    offset: usize,
    /// For each variable, the byte offset of the assignment that won.
    origins: HashMap<String, usize>,
}

/// One group of an inventory.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    /// The group's own variables (a map), `ansible_group_priority` left out.
    pub vars: Value,
    /// Child groups, in the order they were named.
    pub children: Vec<String>,
    /// Hosts listed in the group itself (not through children), in inventory order.
    pub hosts: Vec<String>,
    /// 1-based line where the group first appears; 0 for the implicit `all` and `ungrouped`.
    pub line: usize,
    /// Longest path from `all` (`all` is 0, a top-level group 1).
    pub depth: usize,
    /// `ansible_group_priority` (1 unless set).
    pub priority: i64,
}

/// A parsed inventory: hosts in the order they first appear, groups, warnings.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub file: Arc<SourceFile>,
    hosts: Vec<Host>,
    host_index: HashMap<String, usize>,
    groups: Vec<Group>,
    group_index: HashMap<String, usize>,
    warnings: Vec<Diagnostic>,
}

/// Where and how to reach a host with OpenSSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub host: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub identity: Option<PathBuf>,
    /// `ansible_ssh_common_args` then `ansible_ssh_extra_args`, split as shlex does.
    pub ssh_args: Vec<String>,
}

/// One host a run goes to.
#[derive(Debug, Clone)]
pub struct Target {
    /// The inventory name, or the destination as it was given.
    pub name: String,
    pub destination: Destination,
    /// The host's variables (a map; empty for a destination not in the inventory).
    pub vars: Value,
    pub from_inventory: bool,
}

impl Inventory {
    /// Read an inventory file. Errors carry `file:line:column` and a hint.
    pub fn load(path: &Path) -> Result<Inventory, Vec<Diagnostic>> {
        let empty = SourceFile::new(path.to_path_buf(), String::new());
        let unreadable = |msg: String, hint: &str| {
            vec![
                Diagnostic::error("unreadable", msg)
                    .at(&empty, 0)
                    .hint(hint.to_string()),
            ]
        };
        if path.is_dir() {
            return Err(unreadable(
                format!(
                    "inventory {} is a directory",
                    crate::source::display_path(path)
                ),
                "runbook reads one inventory file (INI or YAML), not an inventory directory",
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| {
            unreadable(
                format!(
                    "cannot read inventory {}: {e}",
                    crate::source::display_path(path)
                ),
                "check the path given with --inventory, the site config's runbook.inventory or $RUNBOOK_INVENTORY",
            )
        })?;
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                return Err(vec![
                    Diagnostic::error(
                        "not-utf8",
                        crate::page::not_utf8_message(path, e.as_bytes(), at),
                    )
                    .hint("save the inventory as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"),
                ]);
            }
        };
        let file = SourceFile::new(path.to_path_buf(), text);
        let mut inv = Inventory::parse(file)?;
        if let Some(dir) = path.parent() {
            for sub in ["group_vars", "host_vars"] {
                if dir.join(sub).is_dir() {
                    inv.warnings.push(
                        Diagnostic::warning(
                            "inventory-unsupported",
                            format!("{sub}/ beside the inventory is not read"),
                        )
                        .at(&inv.file, 0)
                        .hint(format!(
                            "runbook reads the inventory file only: move what {sub}/ sets into it"
                        )),
                    );
                }
            }
        }
        Ok(inv)
    }

    /// Parse an inventory's text: YAML if its name ends in `.yml`/`.yaml`/`.json` or its first
    /// significant line is a YAML mapping, INI otherwise.
    pub fn parse(file: Arc<SourceFile>) -> Result<Inventory, Vec<Diagnostic>> {
        let mut b = Builder::new(file.clone());
        if is_yaml(&file) {
            parse_yaml(&mut b);
        } else {
            parse_ini(&mut b);
        }
        b.finish()
    }

    /// Hosts in the order they first appear in the file.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.host_index.get(name).map(|&i| &self.hosts[i])
    }

    /// Groups, `all` and `ungrouped` first, then in the order they first appear.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.group_index.get(name).map(|&i| &self.groups[i])
    }

    /// Every host of a group, through its children too, in inventory order.
    pub fn group_hosts(&self, name: &str) -> Option<Vec<&Host>> {
        let start = *self.group_index.get(name)?;
        if self.groups[start].name == "all" {
            return Some(self.hosts.iter().collect());
        }
        let mut seen = vec![false; self.groups.len()];
        let mut queue = VecDeque::from([start]);
        let mut members = HashSet::new();
        while let Some(g) = queue.pop_front() {
            if std::mem::replace(&mut seen[g], true) {
                continue;
            }
            let group = &self.groups[g];
            members.extend(group.hosts.iter().map(String::as_str));
            queue.extend(
                group
                    .children
                    .iter()
                    .filter_map(|c| self.group_index.get(c)),
            );
        }
        Some(
            self.hosts
                .iter()
                .filter(|h| members.contains(h.name.as_str()))
                .collect(),
        )
    }

    /// What was read but is worth saying (a group used but never defined, keys that mean
    /// nothing, directories beside the file that are not read).
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// How to reach a host: its connection variables, located in the file when they are
    /// wrong.
    pub fn destination(&self, host: &Host) -> Result<Destination, Diagnostic> {
        let get = |key: &str| host.vars.get_attr(key).ok().filter(|v| !is_nil(v));
        let locate = |key: Option<&str>, msg: String, hint: &str| {
            let at = key
                .and_then(|k| host.origins.get(k).copied())
                .unwrap_or(host.offset);
            Diagnostic::error("inventory-connection", msg)
                .at(&self.file, at)
                .hint(hint.to_string())
        };
        // the `ansible_ssh_*` spelling wins, as in Ansible's ssh connection plugin
        let pick = |keys: [&'static str; 2]| -> Option<(&'static str, Value)> {
            keys.iter().find_map(|k| get(k).map(|v| (*k, v)))
        };
        let (host_key, address) = match pick(["ansible_ssh_host", "ansible_host"]) {
            Some((k, v)) => (
                Some(k),
                text_value(&v).map_err(|m| locate(Some(k), format!("`{k}` {m}"), HINT_TEXT))?,
            ),
            None => (None, host.name.clone()),
        };
        let mut dest = Destination::new(&address).map_err(|m| {
            locate(
                host_key,
                format!("host `{}`: {m}", host.name),
                "set ansible_host to the address ssh should connect to",
            )
        })?;
        if let Some((k, v)) = pick(["ansible_ssh_port", "ansible_port"]) {
            dest.port =
                Some(port_value(&v).map_err(|m| locate(Some(k), format!("`{k}` {m}"), HINT_PORT))?);
        }
        if let Some((k, v)) = pick(["ansible_ssh_user", "ansible_user"]) {
            let user = text_value(&v)
                .and_then(|u| check_user(&u).map(|_| u))
                .map_err(|m| locate(Some(k), format!("`{k}` {m}"), HINT_TEXT))?;
            dest.user = Some(user);
        }
        if let Some((k, v)) = pick(["ansible_ssh_private_key_file", "ansible_private_key_file"]) {
            let key =
                text_value(&v).map_err(|m| locate(Some(k), format!("`{k}` {m}"), HINT_TEXT))?;
            if !key.is_empty() {
                dest.identity = Some(expand_tilde(&key));
            }
        }
        for k in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
            if let Some(v) = get(k) {
                let args = text_value(&v)
                    .and_then(|t| shlex_split(&t))
                    .map_err(|m| locate(Some(k), format!("`{k}` {m}"), HINT_ARGS))?;
                dest.ssh_args.extend(args);
            }
        }
        Ok(dest)
    }
}

const HINT_TEXT: &str = "give it as a plain string";
const HINT_PORT: &str = "a port is a number from 1 to 65535";
const HINT_ARGS: &str = "the value is split as a shell would split it: close every quote";

impl Destination {
    /// A destination with only its host, checked so that ssh cannot read it as an option.
    pub fn new(host: &str) -> Result<Destination, String> {
        check_host(host)?;
        Ok(Destination {
            host: host.to_string(),
            port: None,
            user: None,
            identity: None,
            ssh_args: Vec::new(),
        })
    }

    /// The ssh command line after `ssh`: `-p`, `-l`, `-i` with `-o IdentitiesOnly=yes`, the
    /// inventory's extra arguments, then `--` and the destination. Values are separate
    /// arguments after their option, so none is read as an option; `--` keeps the host (and
    /// the remote command appended after it) from being read as options too.
    pub fn ssh_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(port) = self.port {
            args.extend(["-p".to_string(), port.to_string()]);
        }
        if let Some(user) = &self.user {
            args.extend(["-l".to_string(), user.clone()]);
        }
        if let Some(key) = &self.identity {
            args.extend([
                "-i".to_string(),
                key.to_string_lossy().into_owned(),
                "-o".to_string(),
                "IdentitiesOnly=yes".to_string(),
            ]);
        }
        args.extend(self.ssh_args.iter().cloned());
        args.push("--".to_string());
        args.push(self.host.clone());
        args
    }
}

impl fmt::Display for Destination {
    /// `ssh://user@host:port` (the host in brackets when it is an IPv6 address).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ssh://")?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// A target that is not in the inventory: `host`, `user@host`, `ssh://[user@]host[:port]`
/// (`ssh://[::1]:2222` for IPv6), `[::1]` or a bare IPv6 address.
pub fn parse_destination(s: &str) -> Result<Destination, String> {
    if s.is_empty() {
        return Err("empty destination".into());
    }
    if let Some(rest) = s.strip_prefix("ssh://") {
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            return Err(format!(
                "`{s}`: an ssh:// destination has no path (ssh://user@host:port)"
            ));
        }
        let (user, hostport) = match rest.rfind('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        if let Some(u) = user
            && u.contains(':')
        {
            return Err(format!(
                "`{s}`: a password in the destination is not supported (use a key or an agent)"
            ));
        }
        let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
            let Some(close) = inner.find(']') else {
                return Err(format!("`{s}`: `[` without `]` around the address"));
            };
            let after = &inner[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(parse_port(p).map_err(|m| format!("`{s}`: {m}"))?),
                None if after.is_empty() => None,
                None => return Err(format!("`{s}`: unexpected `{after}` after `]`")),
            };
            (&inner[..close], port)
        } else {
            match hostport.matches(':').count() {
                0 => (hostport, None),
                1 => {
                    let (h, p) = hostport.split_once(':').unwrap_or((hostport, ""));
                    (h, Some(parse_port(p).map_err(|m| format!("`{s}`: {m}"))?))
                }
                _ => {
                    return Err(format!(
                        "`{s}`: an IPv6 address in an ssh:// destination goes in brackets (ssh://[{hostport}])"
                    ));
                }
            }
        };
        let mut dest = Destination::new(host).map_err(|m| format!("`{s}`: {m}"))?;
        dest.port = port;
        if let Some(u) = user {
            check_user(u).map_err(|m| format!("`{s}`: user {m}"))?;
            dest.user = Some(u.to_string());
        }
        return Ok(dest);
    }
    let (user, host) = match s.rfind('@') {
        Some(at) => (Some(&s[..at]), &s[at + 1..]),
        None => (None, s),
    };
    let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) => inner,
        None if host.matches(':').count() == 1 => {
            let (h, p) = host.split_once(':').unwrap_or((host, ""));
            return Err(format!(
                "`{s}`: a port goes in the ssh:// form (ssh://{}{h}:{p})",
                user.map(|u| format!("{u}@")).unwrap_or_default()
            ));
        }
        None => host,
    };
    let mut dest = Destination::new(host).map_err(|m| format!("`{s}`: {m}"))?;
    if let Some(u) = user {
        check_user(u).map_err(|m| format!("`{s}`: user {m}"))?;
        dest.user = Some(u.to_string());
    }
    Ok(dest)
}

/// The hosts `--on` names. Each value may be a comma-separated list; each name is a group
/// (all its hosts, through its children, in inventory order), a host of the inventory, `all`,
/// else an ssh destination. A host named twice runs once, where it was first named.
pub fn resolve(inv: Option<&Inventory>, on: &[String]) -> Result<Vec<Target>, Diagnostic> {
    let mut targets: Vec<Target> = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |t: Target, targets: &mut Vec<Target>| {
        if seen.insert(t.name.clone()) {
            targets.push(t);
        }
    };
    let from_host = |inv: &Inventory, h: &Host| -> Result<Target, Diagnostic> {
        Ok(Target {
            name: h.name.clone(),
            destination: inv.destination(h)?,
            vars: h.vars.clone(),
            from_inventory: true,
        })
    };
    for value in on {
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if let Some(inv) = inv {
                if let Some(hosts) = inv.group_hosts(name) {
                    for h in hosts {
                        push(from_host(inv, h)?, &mut targets);
                    }
                    continue;
                }
                if let Some(h) = inv.host(name) {
                    push(from_host(inv, h)?, &mut targets);
                    continue;
                }
            } else if name == "all" || name == "ungrouped" {
                return Err(Diagnostic::error(
                    "bad-target",
                    format!("`--on {name}` names an inventory group, and there is no inventory"),
                )
                .hint("give one with --inventory FILE, runbook.inventory in the site config, or $RUNBOOK_INVENTORY"));
            }
            if name.starts_with('~') || name.contains(['*', '?', '!', '&']) {
                return Err(Diagnostic::error(
                    "bad-target",
                    format!("`{name}`: Ansible host patterns are not supported"),
                )
                .hint("name hosts or groups, comma-separated (`--on web,db1`)"));
            }
            let destination = parse_destination(name).map_err(|m| {
                let d = Diagnostic::error("bad-target", m);
                match inv {
                    Some(_) => d.hint(format!(
                        "`{name}` is not a group or host of the inventory, so it was read as an ssh destination"
                    )),
                    None => d.hint("a target is host, user@host or ssh://user@host:port"),
                }
            })?;
            push(
                Target {
                    name: name.to_string(),
                    destination,
                    vars: Value::from_pairs(Vec::<(Value, Value)>::new()),
                    from_inventory: false,
                },
                &mut targets,
            );
        }
    }
    if targets.is_empty() {
        let what = match inv {
            Some(_) => "`--on` names no host (an empty group?)",
            None => "`--on` names no host",
        };
        return Err(Diagnostic::error("bad-target", what)
            .hint("name hosts, groups or ssh destinations, comma-separated"));
    }
    Ok(targets)
}

/// Which inventory file to read: `--inventory`, else the site config's
/// `runbook: {inventory: FILE}` (already resolved against the site root, see
/// [`site_inventory`]), else `$RUNBOOK_INVENTORY`. Empty values count as unset.
pub fn locate(
    explicit: Option<&Path>,
    site_config: Option<&Path>,
    env: Option<&OsStr>,
) -> Option<PathBuf> {
    explicit
        .or(site_config.filter(|p| !p.as_os_str().is_empty()))
        .map(Path::to_path_buf)
        .or_else(|| env.filter(|e| !e.is_empty()).map(PathBuf::from))
}

/// The site config's `runbook: {inventory: FILE}`, relative to the site root (an absolute
/// path as it is).
pub fn site_inventory(config: &Value, root: &Path) -> Option<PathBuf> {
    let v = config
        .get_attr("runbook")
        .ok()?
        .get_attr("inventory")
        .ok()?;
    let s = v.as_str()?;
    (!s.is_empty()).then(|| root.join(s))
}

/// Split a string as Python's `shlex.split(s)` does (POSIX mode): whitespace separates
/// words; `'...'` keeps everything; `"..."` keeps everything but `\"` and `\\`; a backslash
/// outside quotes keeps the next character; quotes inside a word join (`a"b c"` is `ab c`).
pub fn shlex_split(s: &str) -> Result<Vec<String>, String> {
    split_words(s, false)
        .map(|w| w.into_iter().map(|(w, _)| w).collect())
        .map_err(|(m, _)| m)
}

/// shlex's words with the byte offset where each starts; `comments`: `#` where a word would
/// start or inside an unquoted word ends the line (`shlex.split(s, comments=True)`).
/// The error holds shlex's message and the offset of the quote or backslash left open.
fn split_words(s: &str, comments: bool) -> Result<Vec<(String, usize)>, (String, usize)> {
    let mut words = Vec::new();
    let mut chars = s.char_indices().peekable();
    let mut word: Option<(String, usize)> = None;
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    while let Some((i, c)) = chars.next() {
        if is_space(c) {
            if let Some(w) = word.take() {
                words.push(w);
            }
            continue;
        }
        if comments && c == '#' {
            if let Some(w) = word.take() {
                words.push(w);
            }
            for (_, c) in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
            continue;
        }
        let (token, _) = word.get_or_insert_with(|| (String::new(), i));
        match c {
            '\\' => match chars.next() {
                Some((_, n)) => token.push(n),
                None => return Err(("No escaped character".into(), i)),
            },
            '\'' => loop {
                match chars.next() {
                    Some((_, '\'')) => break,
                    Some((_, n)) => token.push(n),
                    None => return Err(("No closing quotation".into(), i)),
                }
            },
            '"' => loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((j, '\\')) => match chars.next() {
                        Some((_, n @ ('"' | '\\'))) => token.push(n),
                        Some((_, n)) => {
                            token.push('\\');
                            token.push(n);
                        }
                        None => return Err(("No escaped character".into(), j)),
                    },
                    Some((_, n)) => token.push(n),
                    None => return Err(("No closing quotation".into(), i)),
                }
            },
            _ => token.push(c),
        }
    }
    if let Some(w) = word.take() {
        words.push(w);
    }
    Ok(words)
}

// ---------------------------------------------------------------------------------------
// Building an inventory

/// Variables with the byte offset of each assignment, in first-assignment order.
type Vars = Vec<(String, Value, usize)>;

fn set_var(vars: &mut Vars, key: &str, value: Value, at: usize) {
    match vars.iter_mut().find(|(k, _, _)| k == key) {
        Some(slot) => {
            slot.1 = value;
            slot.2 = at;
        }
        None => vars.push((key.to_string(), value, at)),
    }
}

struct GroupB {
    name: String,
    vars: Vars,
    children: Vec<usize>,
    parents: Vec<usize>,
    hosts: Vec<usize>,
    /// First appearance.
    offset: Option<usize>,
    /// `[g]`, `[g:children]` or a YAML group: not only named.
    defined: bool,
    /// Where it was only named (`[g:vars]` or in a `:children` list), for a warning.
    named_at: Option<(usize, String)>,
    priority: i64,
}

struct HostB {
    name: String,
    vars: Vars,
    groups: Vec<usize>,
    offset: usize,
}

struct Builder {
    file: Arc<SourceFile>,
    groups: Vec<GroupB>,
    group_index: HashMap<String, usize>,
    hosts: Vec<HostB>,
    host_index: HashMap<String, usize>,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

const ALL: usize = 0;
const UNGROUPED: usize = 1;

impl Builder {
    fn new(file: Arc<SourceFile>) -> Builder {
        let mut b = Builder {
            file,
            groups: Vec::new(),
            group_index: HashMap::new(),
            hosts: Vec::new(),
            host_index: HashMap::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        for name in ["all", "ungrouped"] {
            let g = b.group(name, None);
            b.define(g);
        }
        b
    }

    fn error(&mut self, code: &'static str, msg: String, at: usize, width: usize, hint: &str) {
        self.errors.push(
            Diagnostic::error(code, msg)
                .at(&self.file, at)
                .width(width)
                .hint(hint.to_string()),
        );
    }

    fn group(&mut self, name: &str, at: Option<usize>) -> usize {
        if let Some(&g) = self.group_index.get(name) {
            if self.groups[g].offset.is_none() {
                self.groups[g].offset = at;
            }
            return g;
        }
        self.groups.push(GroupB {
            name: name.to_string(),
            vars: Vec::new(),
            children: Vec::new(),
            parents: Vec::new(),
            hosts: Vec::new(),
            offset: at,
            defined: false,
            named_at: None,
            priority: 1,
        });
        self.group_index
            .insert(name.to_string(), self.groups.len() - 1);
        self.groups.len() - 1
    }

    fn define(&mut self, g: usize) {
        self.groups[g].defined = true;
    }

    fn name_only(&mut self, g: usize, at: usize, how: String) {
        let group = &mut self.groups[g];
        if !group.defined && group.named_at.is_none() {
            group.named_at = Some((at, how));
        }
    }

    fn add_host(&mut self, name: &str, group: usize, at: usize) -> usize {
        let h = match self.host_index.get(name) {
            Some(&h) => h,
            None => {
                self.hosts.push(HostB {
                    name: name.to_string(),
                    vars: Vec::new(),
                    groups: Vec::new(),
                    offset: at,
                });
                self.host_index
                    .insert(name.to_string(), self.hosts.len() - 1);
                self.hosts.len() - 1
            }
        };
        if !self.hosts[h].groups.contains(&group) {
            self.hosts[h].groups.push(group);
            self.groups[group].hosts.push(h);
        }
        h
    }

    /// Check a connection variable where it is set, whichever host it ends up on.
    fn check_var(&mut self, key: &str, value: &Value, at: usize) -> bool {
        match check_connection_var(key, value) {
            Ok(()) => true,
            Err((msg, hint)) => {
                self.error(
                    "inventory-value",
                    format!("`{key}` {msg}"),
                    at,
                    key.chars().count(),
                    hint,
                );
                false
            }
        }
    }

    fn set_host_var(&mut self, h: usize, key: &str, value: Value, at: usize) {
        if self.check_var(key, &value, at) {
            set_var(&mut self.hosts[h].vars, key, value, at);
        }
    }

    fn set_group_var(&mut self, g: usize, key: &str, value: Value, at: usize) {
        if key == "ansible_group_priority" {
            let n = match value.as_i64() {
                Some(n) if value.is_integer() => Some(n),
                _ => value.as_str().and_then(|s| s.trim().parse::<i64>().ok()),
            };
            match n {
                Some(n) => self.groups[g].priority = n,
                None => self.error(
                    "inventory-value",
                    format!("`ansible_group_priority` is not a number: `{value}`"),
                    at,
                    key.len(),
                    "give an integer: a higher priority is applied later and wins",
                ),
            }
            return;
        }
        if self.check_var(key, &value, at) {
            set_var(&mut self.groups[g].vars, key, value, at);
        }
    }

    /// `child` under `parent`, unless that closes a loop.
    fn add_child(&mut self, parent: usize, child: usize, at: usize, width: usize) {
        if child == ALL {
            self.error(
                "inventory-loop",
                format!(
                    "`all` cannot be a child of `{}`: every group is in `all`",
                    self.groups[parent].name
                ),
                at,
                width,
                "remove `all` from the children",
            );
            return;
        }
        if self.groups[parent].children.contains(&child) {
            return;
        }
        // a loop: `parent` is reachable from `child` already (or is `child`)
        if let Some(path) = self.path_down(child, parent) {
            let mut names: Vec<&str> = vec![&self.groups[parent].name];
            names.extend(path.iter().map(|&g| self.groups[g].name.as_str()));
            let chain = names.join(" → ");
            self.error(
                "inventory-loop",
                format!("group children loop: {chain}"),
                at,
                width,
                "a group cannot contain itself, directly or through its children: remove one link",
            );
            return;
        }
        self.groups[parent].children.push(child);
        self.groups[child].parents.push(parent);
    }

    /// The groups from `from` down to `to` through children, if `to` is below `from`.
    fn path_down(&self, from: usize, to: usize) -> Option<Vec<usize>> {
        let mut prev: HashMap<usize, usize> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        let mut seen = HashSet::from([from]);
        while let Some(g) = queue.pop_front() {
            if g == to {
                let mut path = vec![g];
                let mut cur = g;
                while let Some(&p) = prev.get(&cur) {
                    path.push(p);
                    cur = p;
                }
                path.reverse();
                return Some(path);
            }
            for &c in &self.groups[g].children {
                if seen.insert(c) {
                    prev.insert(c, g);
                    queue.push_back(c);
                }
            }
        }
        None
    }

    fn finish(mut self) -> Result<Inventory, Vec<Diagnostic>> {
        // groups only named: created empty (Ansible itself refuses them)
        for g in 2..self.groups.len() {
            if let (false, Some((at, how))) =
                (self.groups[g].defined, self.groups[g].named_at.clone())
            {
                let name = self.groups[g].name.clone();
                self.warnings.push(
                    Diagnostic::warning(
                        "undefined-group",
                        format!("group `{name}` {how} but never defined: it has no hosts of its own"),
                    )
                    .at(&self.file, at)
                    .width(name.chars().count())
                    .hint(format!("add a [{name}] section (Ansible refuses an inventory with an undefined group)")),
                );
            }
        }
        for h in &self.hosts {
            if let Some(&g) = self.group_index.get(&h.name)
                && g != ALL
                && g != UNGROUPED
            {
                self.warnings.push(
                    Diagnostic::warning(
                        "host-group-name",
                        format!(
                            "`{}` is both a group and a host: `--on {}` means the group",
                            h.name, h.name
                        ),
                    )
                    .at(&self.file, h.offset)
                    .width(h.name.chars().count())
                    .hint("rename the host or the group"),
                );
            }
        }
        if !self.errors.is_empty() {
            let mut errors = self.errors;
            errors.sort_by_key(|d| d.location.as_ref().map(|l| l.offset).unwrap_or(0));
            return Err(errors);
        }
        // every group without a parent is in `all`
        for g in 1..self.groups.len() {
            if self.groups[g].parents.is_empty() {
                self.groups[ALL].children.push(g);
                self.groups[g].parents.push(ALL);
            }
        }
        // a host in a group besides `all` and `ungrouped` leaves `ungrouped`; a host in none
        // joins it (Ansible's reconcile_inventory)
        for h in 0..self.hosts.len() {
            let others = self.hosts[h]
                .groups
                .iter()
                .any(|&g| g != ALL && g != UNGROUPED);
            let in_ungrouped = self.hosts[h].groups.contains(&UNGROUPED);
            if others && in_ungrouped {
                self.hosts[h].groups.retain(|&g| g != UNGROUPED);
                self.groups[UNGROUPED].hosts.retain(|&x| x != h);
            } else if !others && !in_ungrouped {
                self.hosts[h].groups.push(UNGROUPED);
                self.groups[UNGROUPED].hosts.push(h);
            }
        }
        for g in &mut self.groups {
            g.hosts.sort_unstable();
        }
        let depth = self.depths();
        let file = self.file.clone();
        let line = |at: usize| file.line_col(at).0;
        let mut hosts = Vec::with_capacity(self.hosts.len());
        for h in &self.hosts {
            // the host's groups and all their ancestors
            let mut mine: Vec<usize> = Vec::new();
            let mut queue: VecDeque<usize> = h.groups.iter().copied().collect();
            let mut seen = HashSet::new();
            while let Some(g) = queue.pop_front() {
                if seen.insert(g) {
                    mine.push(g);
                    queue.extend(self.groups[g].parents.iter().copied());
                }
            }
            mine.sort_by(|&a, &b| {
                let (ga, gb) = (&self.groups[a], &self.groups[b]);
                (depth[a], ga.priority, &ga.name).cmp(&(depth[b], gb.priority, &gb.name))
            });
            let mut merged: Vars = Vec::new();
            for &g in &mine {
                for (k, v, at) in &self.groups[g].vars {
                    set_var(&mut merged, k, v.clone(), *at);
                }
            }
            for (k, v, at) in &h.vars {
                set_var(&mut merged, k, v.clone(), *at);
            }
            hosts.push(Host {
                name: h.name.clone(),
                line: line(h.offset),
                offset: h.offset,
                groups: mine
                    .iter()
                    .filter(|&&g| g != ALL)
                    .map(|&g| self.groups[g].name.clone())
                    .collect(),
                origins: merged.iter().map(|(k, _, at)| (k.clone(), *at)).collect(),
                vars: Value::from_pairs(merged.into_iter().map(|(k, v, _)| (k, v))),
            });
        }
        let groups = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| Group {
                name: g.name.clone(),
                vars: Value::from_pairs(g.vars.iter().map(|(k, v, _)| (k.clone(), v.clone()))),
                children: g
                    .children
                    .iter()
                    .map(|&c| self.groups[c].name.clone())
                    .collect(),
                hosts: g
                    .hosts
                    .iter()
                    .map(|&h| self.hosts[h].name.clone())
                    .collect(),
                line: if i <= UNGROUPED && g.offset.is_none() {
                    0
                } else {
                    line(g.offset.unwrap_or(0))
                },
                depth: depth[i],
                priority: g.priority,
            })
            .collect();
        Ok(Inventory {
            file: self.file,
            hosts,
            host_index: self.host_index,
            groups,
            group_index: self.group_index,
            warnings: self.warnings,
        })
    }

    /// Longest path from `all` to each group (the child links have no loop).
    fn depths(&self) -> Vec<usize> {
        let n = self.groups.len();
        let mut depth = vec![0; n];
        let mut pending: Vec<usize> = self.groups.iter().map(|g| g.parents.len()).collect();
        let mut queue = VecDeque::from([ALL]);
        while let Some(g) = queue.pop_front() {
            for &c in &self.groups[g].children {
                depth[c] = depth[c].max(depth[g] + 1);
                pending[c] -= 1;
                if pending[c] == 0 {
                    queue.push_back(c);
                }
            }
        }
        depth
    }
}

// ---------------------------------------------------------------------------------------
// Connection variables

/// A value set for one of the variables runbook connects with: refused where it is set if
/// ssh could not use it.
fn check_connection_var(key: &str, v: &Value) -> Result<(), (String, &'static str)> {
    if is_nil(v) {
        return Ok(());
    }
    if let Some(s) = v.as_str()
        && (s.contains("{{") || s.contains("{%"))
        && is_connection_var(key)
    {
        return Err((
            format!("is a Jinja template (`{s}`)"),
            "runbook does not template inventory variables: write the value itself",
        ));
    }
    match key {
        "ansible_port" | "ansible_ssh_port" => {
            port_value(v).map(|_| ()).map_err(|m| (m, HINT_PORT))
        }
        "ansible_host" | "ansible_ssh_host" => text_value(v)
            .and_then(|t| check_host(&t))
            .map_err(|m| (m, "give the name or address ssh connects to")),
        "ansible_user" | "ansible_ssh_user" => text_value(v)
            .and_then(|t| check_user(&t))
            .map_err(|m| (m, "give the remote user name")),
        "ansible_ssh_private_key_file" | "ansible_private_key_file" => {
            text_value(v).map(|_| ()).map_err(|m| (m, HINT_TEXT))
        }
        "ansible_ssh_common_args" | "ansible_ssh_extra_args" => text_value(v)
            .and_then(|t| shlex_split(&t))
            .map(|_| ())
            .map_err(|m| (m, HINT_ARGS)),
        _ => Ok(()),
    }
}

fn is_connection_var(key: &str) -> bool {
    matches!(
        key,
        "ansible_port"
            | "ansible_ssh_port"
            | "ansible_host"
            | "ansible_ssh_host"
            | "ansible_user"
            | "ansible_ssh_user"
            | "ansible_ssh_private_key_file"
            | "ansible_private_key_file"
            | "ansible_ssh_common_args"
            | "ansible_ssh_extra_args"
    )
}

/// A string, or a number written as one.
fn text_value(v: &Value) -> Result<String, String> {
    match v.kind() {
        ValueKind::String => Ok(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Number if v.is_integer() => Ok(v.to_string()),
        _ => Err(format!("must be a string, not `{v}`")),
    }
}

fn port_value(v: &Value) -> Result<u16, String> {
    if v.is_integer() {
        return match v.as_i64() {
            Some(n @ 1..=65535) => Ok(n as u16),
            _ => Err(format!("is not a port from 1 to 65535: `{v}`")),
        };
    }
    match v.as_str().map(str::trim) {
        Some(s) => parse_port(s).map_err(|_| format!("is not a port from 1 to 65535: `{s}`")),
        None => Err(format!("is not a port from 1 to 65535: `{v}`")),
    }
}

fn parse_port(s: &str) -> Result<u16, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port `{s}` is not a number"));
    }
    match s.parse::<u32>() {
        Ok(n @ 1..=65535) => Ok(n as u16),
        _ => Err(format!("port `{s}` is not from 1 to 65535")),
    }
}

/// A host ssh can take as its destination and never as an option.
fn check_host(h: &str) -> Result<(), String> {
    if h.is_empty() {
        return Err("the host is empty".into());
    }
    if h.starts_with('-') {
        return Err(format!(
            "host `{h}` starts with `-`: ssh would read it as an option"
        ));
    }
    if h.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "host `{}` holds a space or control character",
            h.escape_debug()
        ));
    }
    Ok(())
}

fn check_user(u: &str) -> Result<(), String> {
    if u.is_empty() {
        return Err("the user is empty".into());
    }
    if u.starts_with('-') {
        return Err(format!("`{u}` starts with `-`"));
    }
    if u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{}` holds a space or control character",
            u.escape_debug()
        ));
    }
    Ok(())
}

/// `~` and `~/...` are under `$HOME` (as Python's `os.path.expanduser` reads them);
/// `~user/...` is left as written.
fn expand_tilde(p: &str) -> PathBuf {
    let rest = match p.strip_prefix('~') {
        Some(r) if r.is_empty() || r.starts_with('/') => r,
        _ => return PathBuf::from(p),
    };
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => {
            let mut s = home.into_encoded_bytes();
            while s.len() > 1 && s.ends_with(b"/") {
                s.pop();
            }
            let mut path = String::from_utf8_lossy(&s).into_owned();
            if path == "/" && !rest.is_empty() {
                path.clear();
            }
            path.push_str(rest);
            PathBuf::from(path)
        }
        None => PathBuf::from(p),
    }
}

// ---------------------------------------------------------------------------------------
// Host names: ports and ranges

/// A problem inside a host name, at a byte offset within it.
struct NameError {
    msg: String,
    hint: &'static str,
    at: usize,
    width: usize,
}

impl NameError {
    fn new(msg: String, hint: &'static str, at: usize, width: usize) -> NameError {
        NameError {
            msg,
            hint,
            at,
            width,
        }
    }
}

/// `name[:port]` expanded: the host names and the port (`[v6]:port` for IPv6 with a port).
fn expand_host_pattern(pattern: &str) -> Result<(Vec<String>, Option<u16>), NameError> {
    let (name, port) = split_port(pattern)?;
    let names = expand_ranges(name, 0)?;
    Ok((names, port))
}

fn split_port(pattern: &str) -> Result<(&str, Option<u16>), NameError> {
    if pattern.is_empty() {
        return Err(NameError::new(
            "empty host name".into(),
            "give a host name",
            0,
            1,
        ));
    }
    let port_of = |p: &str, at: usize| {
        parse_port(p).map_err(|m| {
            NameError::new(
                m,
                "write the port after the last `:` (`host:2222`, `[::1]:2222`)",
                at,
                p.len().max(1),
            )
        })
    };
    // a bracketed IPv6 address, `[2001:db8::1]:2222` (a range has no `::` and at most two `:`)
    if let Some(inner) = pattern.strip_prefix('[')
        && let Some(close) = inner.find(']')
        && (inner[..close].contains("::") || inner[..close].matches(':').count() > 2)
    {
        let after = &inner[close + 1..];
        return match after.strip_prefix(':') {
            None if after.is_empty() => Ok((&inner[..close], None)),
            Some(p) => Ok((&inner[..close], Some(port_of(p, close + 3)?))),
            None => Err(NameError::new(
                format!("unexpected `{after}` after the IPv6 address"),
                "an IPv6 address with a port is written `[2001:db8::1]:2222`",
                close + 2,
                after.len(),
            )),
        };
    }
    // colons outside ranges: one is a port, more make an IPv6 address
    let mut depth = 0usize;
    let mut colons = Vec::new();
    for (i, c) in pattern.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => colons.push(i),
            _ => {}
        }
    }
    match colons.as_slice() {
        [] => Ok((pattern, None)),
        [i] => {
            let (name, port) = (&pattern[..*i], &pattern[i + 1..]);
            if name.is_empty() {
                return Err(NameError::new(
                    "empty host name before the port".into(),
                    "write `host:port`",
                    0,
                    1,
                ));
            }
            Ok((name, Some(port_of(port, i + 1)?)))
        }
        _ => Ok((pattern, None)),
    }
}

const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const RANGE_HINT: &str =
    "a range is [begin:end] or [begin:end:step], begin <= end: [01:50], [a:f], [1:10:2]";

/// Expand `head[begin:end(:step)]tail`, the first range then the ranges in the tail (a
/// product). `base` is the name's offset in the pattern, for errors.
fn expand_ranges(name: &str, base: usize) -> Result<Vec<String>, NameError> {
    let Some(open) = name.find('[') else {
        return Ok(vec![name.to_string()]);
    };
    let Some(close) = name[open..].find(']').map(|c| open + c) else {
        return Err(NameError::new(
            format!("`[` without `]` in host name `{name}`"),
            RANGE_HINT,
            base + open,
            1,
        ));
    };
    let inner = &name[open + 1..close];
    let err = |msg: String| NameError::new(msg, RANGE_HINT, base + open, close - open + 1);
    let parts: Vec<&str> = inner.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(err(format!(
            "host range `[{inner}]` is not begin:end or begin:end:step"
        )));
    }
    let beg = if parts[0].is_empty() { "0" } else { parts[0] };
    let end = parts[1];
    if end.is_empty() {
        return Err(err(format!("host range `[{inner}]` has no end")));
    }
    let step = match parts.get(2) {
        None => 1,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n > 0 && s.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                return Err(err(format!(
                    "host range `[{inner}]`: the step `{s}` is not a number above 0"
                )));
            }
        },
    };
    let letter = |s: &str| {
        (s.len() == 1)
            .then(|| LETTERS.iter().position(|&l| l == s.as_bytes()[0]))
            .flatten()
    };
    let items: Vec<String> = match (letter(beg), letter(end)) {
        (Some(b), Some(e)) => {
            if b > e {
                return Err(err(format!(
                    "host range `[{inner}]` counts down: `{beg}` comes after `{end}`"
                )));
            }
            LETTERS[b..=e]
                .iter()
                .step_by(step)
                .map(|&c| (c as char).to_string())
                .collect()
        }
        _ => {
            let number = |s: &str| -> Option<u64> {
                s.bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| s.parse().ok())
                    .flatten()
            };
            let (Some(b), Some(e)) = (number(beg), number(end)) else {
                return Err(err(format!(
                    "host range `[{inner}]` is not two numbers or two letters"
                )));
            };
            if b > e {
                return Err(err(format!(
                    "host range `[{inner}]` counts down: {beg} is above {end}"
                )));
            }
            let width = if beg.len() > 1 && beg.starts_with('0') {
                if end.len() != beg.len() {
                    return Err(err(format!(
                        "host range `[{inner}]`: a zero-padded begin and its end have the same number of digits"
                    )));
                }
                beg.len()
            } else {
                0
            };
            let count = (e - b) / step as u64 + 1;
            if count > MAX_RANGE_HOSTS as u64 {
                return Err(err(format!(
                    "host range `[{inner}]` makes {count} hosts (at most {MAX_RANGE_HOSTS})"
                )));
            }
            (b..=e)
                .step_by(step)
                .map(|n| format!("{n:0width$}"))
                .collect()
        }
    };
    let head = &name[..open];
    let tails = expand_ranges(&name[close + 1..], base + close + 1)?;
    if items.len().saturating_mul(tails.len()) > MAX_RANGE_HOSTS {
        return Err(NameError::new(
            format!(
                "host name `{name}` makes {} hosts (at most {MAX_RANGE_HOSTS})",
                items.len().saturating_mul(tails.len())
            ),
            RANGE_HINT,
            base,
            name.len(),
        ));
    }
    let mut out = Vec::with_capacity(items.len() * tails.len());
    for item in &items {
        for tail in &tails {
            out.push(format!("{head}{item}{tail}"));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// INI

/// YAML when the name says so, or when the first line that is not blank or a comment is a
/// YAML mapping key (`all:`, `web: {...}`), a flow mapping or a document start.
fn is_yaml(file: &SourceFile) -> bool {
    let ext = file
        .path
        .extension()
        .and_then(OsStr::to_str)
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("yml" | "yaml" | "json") => return true,
        Some("ini" | "cfg") => return false,
        _ => {}
    }
    let Some(line) = file
        .text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
    else {
        return false;
    };
    if line.starts_with('[') {
        return false;
    }
    if line == "---"
        || line.starts_with("--- ")
        || line.starts_with('{')
        || line.starts_with("%YAML")
    {
        return true;
    }
    // `all:`, `all: {hosts: ...}`, `"web servers":`; never an INI host line (`host:22`,
    // `host note="a: b"`), where a name cannot end with `:`
    let word = line.split_whitespace().next().unwrap_or("");
    let quoted_key = line.starts_with(['"', '\'']) && (line.contains("\":") || line.contains("':"));
    (!word.contains('=') && word.ends_with(':')) || quoted_key
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    Hosts,
    Vars,
    Children,
}

/// `[name]`, `[name:kind]`, with an optional `#`/`;` comment after. `None`: not a section
/// header; `Some(Err)`: a header that is wrong.
fn parse_section(line: &str) -> Option<Result<(&str, Section), String>> {
    let inner_end = line.find(']')?;
    let rest = line[inner_end + 1..].trim_start();
    if !(rest.is_empty() || rest.starts_with('#') || rest.starts_with(';')) {
        return None;
    }
    let inner = &line[1..inner_end];
    let (name, kind) = match inner.split_once(':') {
        Some((n, k)) => (n, Some(k)),
        None => (inner, None),
    };
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Some(Err(format!("invalid section `[{inner}]`")));
    }
    let kind = match kind {
        None | Some("hosts") => Section::Hosts,
        Some("vars") => Section::Vars,
        Some("children") => Section::Children,
        Some(other) => {
            return Some(Err(format!(
                "section `[{inner}]` has unknown type `{other}`"
            )));
        }
    };
    Some(Ok((name, kind)))
}

fn parse_ini(b: &mut Builder) {
    let file = b.file.clone();
    let text = file.text.as_str();
    let mut group = UNGROUPED;
    let mut section = Section::Hosts;
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        let at = line_start + (line.len() - line.trim_start().len());
        if l.starts_with('[') {
            match parse_section(l) {
                Some(Ok((name, kind))) => {
                    let g = b.group(name, Some(at + 1));
                    match kind {
                        Section::Hosts | Section::Children => b.define(g),
                        Section::Vars => {
                            b.name_only(g, at + 1, format!("has a [{name}:vars] section"))
                        }
                    }
                    group = g;
                    section = kind;
                    continue;
                }
                Some(Err(msg)) => {
                    b.error(
                        "inventory-syntax",
                        msg,
                        at,
                        l.chars().count(),
                        "a section is [group], [group:vars] or [group:children], without spaces",
                    );
                    // what follows belongs to no section we know: skip it
                    group = usize::MAX;
                    continue;
                }
                None if l.ends_with(']') => {
                    b.error(
                        "inventory-syntax",
                        format!("invalid section `{l}`"),
                        at,
                        l.chars().count(),
                        "a section is [group], [group:vars] or [group:children], without spaces",
                    );
                    group = usize::MAX;
                    continue;
                }
                None => {} // a host line: `[::1]:22`, `[1:3].example.com`
            }
        }
        if group == usize::MAX {
            continue;
        }
        match section {
            Section::Hosts => ini_host_line(b, group, l, at),
            Section::Vars => ini_var_line(b, group, l, at),
            Section::Children => ini_child_line(b, group, l, at),
        }
    }
}

fn ini_host_line(b: &mut Builder, group: usize, l: &str, at: usize) {
    let words = match split_words(l, true) {
        Ok(w) => w,
        Err((msg, i)) => {
            b.error(
                "inventory-syntax",
                format!("host line: {msg}"),
                at + i,
                1,
                "close the quote (or escape it with a backslash): values with spaces are written key=\"a b\"",
            );
            return;
        }
    };
    let Some(((pattern, p_at), vars)) = words.split_first() else {
        return;
    };
    let (names, port) = match expand_host_pattern(pattern) {
        Ok(x) => x,
        Err(e) => {
            b.error("inventory-syntax", e.msg, at + p_at + e.at, e.width, e.hint);
            return;
        }
    };
    let mut parsed = Vec::new();
    for (word, w_at) in vars {
        match word.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                let value = python_literal(v).unwrap_or_else(|| Value::from(v));
                parsed.push((k.to_string(), value, at + w_at));
            }
            _ => b.error(
                "inventory-syntax",
                format!("expected key=value after the host name, got `{word}`"),
                at + w_at,
                word.chars().count(),
                "host variables are key=value; quote a value with spaces: key=\"a b\"",
            ),
        }
    }
    for name in names {
        let h = b.add_host(&name, group, at + p_at);
        if let Some(port) = port {
            b.set_host_var(h, "ansible_port", Value::from(port), at + p_at);
        }
        for (k, v, v_at) in &parsed {
            b.set_host_var(h, k, v.clone(), *v_at);
        }
    }
}

fn ini_var_line(b: &mut Builder, group: usize, l: &str, at: usize) {
    let Some((k, v)) = l.split_once('=') else {
        b.error(
            "inventory-syntax",
            format!("expected key=value in a [:vars] section, got `{l}`"),
            at,
            l.chars().count(),
            "one variable per line: key=value",
        );
        return;
    };
    let key = k.trim();
    if key.is_empty() {
        b.error(
            "inventory-syntax",
            "a variable without a name".into(),
            at,
            1,
            "one variable per line: key=value",
        );
        return;
    }
    let value = ini_string(v);
    b.set_group_var(group, key, Value::from(value), at);
}

/// A `[:vars]` value: text, a ` #` comment after it dropped, matching quotes around it removed.
fn ini_string(v: &str) -> &str {
    let mut quote = None;
    let mut prev_space = false;
    let mut end = v.len();
    for (i, c) in v.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev_space => {
                end = i;
                break;
            }
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    let v = v[..end].trim();
    for q in ['"', '\''] {
        if v.len() >= 2
            && let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q))
        {
            return inner;
        }
    }
    v
}

fn ini_child_line(b: &mut Builder, group: usize, l: &str, at: usize) {
    let end = l
        .find(|c: char| c.is_whitespace() || c == '#')
        .unwrap_or(l.len());
    let (name, rest) = l.split_at(end);
    let rest = rest.trim_start();
    if name.is_empty() || name.contains([':', ']']) || !(rest.is_empty() || rest.starts_with('#')) {
        b.error(
            "inventory-syntax",
            format!("expected a group name in a [:children] section, got `{l}`"),
            at,
            l.chars().count(),
            "one child group per line, its name without spaces",
        );
        return;
    }
    let child = b.group(name, Some(at));
    let parent = b.groups[group].name.clone();
    b.name_only(child, at, format!("is named in [{parent}:children]"));
    b.add_child(group, child, at, name.chars().count());
}

// ---------------------------------------------------------------------------------------
// YAML

fn parse_yaml(b: &mut Builder) {
    let file = b.file.clone();
    let (value, warnings) = match crate::yaml::load(&crate::yaml::YamlSource {
        file: &file,
        base: 0,
        text: &file.text,
    }) {
        Ok(x) => x,
        Err(d) => {
            b.errors.push(d);
            return;
        }
    };
    b.warnings.extend(warnings);
    let keys = YamlKeys::index(&file.text);
    if is_nil(&value) {
        b.warnings.push(
            Diagnostic::warning("empty-inventory", "the inventory has no hosts")
                .at(&file, 0)
                .hint("a YAML inventory starts with `all:` and its hosts and children"),
        );
        return;
    }
    if !is_map(&value) {
        b.error(
            "inventory-syntax",
            "a YAML inventory is a mapping of groups".into(),
            0,
            1,
            "start with `all:`, then `hosts:`, `vars:` and `children:` under it",
        );
        return;
    }
    let pairs = map_pairs(&value);
    if pairs.iter().any(|(k, _)| k.as_str() == Some("plugin")) {
        let at = keys.at(&["plugin".into()]).unwrap_or(0);
        b.error(
            "inventory-unsupported",
            "an inventory plugin's configuration (`plugin:`), not an inventory".into(),
            at,
            6,
            "runbook reads static inventories: export one with `ansible-inventory -i FILE --list -y`",
        );
        return;
    }
    for (k, v) in pairs {
        let name = k.to_string();
        yaml_group(b, &keys, &mut vec![name.clone()], &name, &v);
    }
}

fn yaml_group(
    b: &mut Builder,
    keys: &YamlKeys,
    path: &mut Vec<String>,
    name: &str,
    data: &Value,
) -> Option<usize> {
    let at = keys.at(path).unwrap_or(0);
    if !(is_nil(data) || is_map(data)) {
        b.warnings.push(
            Diagnostic::warning(
                "inventory-skipped",
                format!("`{name}` is not a group (a group is a mapping): skipped"),
            )
            .at(&b.file, at)
            .width(name.chars().count())
            .hint("a group holds `hosts:`, `vars:` and `children:`"),
        );
        return None;
    }
    let g = b.group(name, Some(at));
    b.define(g);
    for (section, value) in map_pairs(data) {
        let section = section.to_string();
        path.push(section.clone());
        let s_at = keys.at(path).unwrap_or(at);
        // `hosts: web1` is `hosts: {web1: null}`
        let entries: Vec<(String, Value)> = if let Some(s) = value.as_str() {
            vec![(s.to_string(), Value::from(()))]
        } else if is_map(&value) {
            map_pairs(&value)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect()
        } else if is_nil(&value) {
            Vec::new()
        } else if matches!(section.as_str(), "hosts" | "vars" | "children") {
            b.error(
                "inventory-syntax",
                format!("`{section}` of group `{name}` is not a mapping: `{value}`"),
                s_at,
                section.len(),
                "write `hosts:`, `vars:` and `children:` as mappings (name: value, one per line)",
            );
            path.pop();
            continue;
        } else {
            Vec::new()
        };
        match section.as_str() {
            "vars" => {
                for (k, v) in entries {
                    path.push(k.clone());
                    let v_at = keys.at(path).unwrap_or(s_at);
                    path.pop();
                    b.set_group_var(g, &k, v, v_at);
                }
            }
            "children" => {
                for (child, data) in entries {
                    path.push(child.clone());
                    let c_at = keys.at(path).unwrap_or(s_at);
                    if let Some(c) = yaml_group(b, keys, path, &child, &data) {
                        b.add_child(g, c, c_at, child.chars().count());
                    }
                    path.pop();
                }
            }
            "hosts" => {
                for (pattern, vars) in entries {
                    path.push(pattern.clone());
                    let h_at = keys.at(path).unwrap_or(s_at);
                    yaml_host(b, keys, path, g, &pattern, &vars, h_at);
                    path.pop();
                }
            }
            other => b.warnings.push(
                Diagnostic::warning(
                    "inventory-skipped",
                    format!("unexpected key `{other}` in group `{name}`: skipped"),
                )
                .at(&b.file, s_at)
                .width(other.chars().count())
                .hint("a group holds only `hosts:`, `vars:` and `children:`"),
            ),
        }
        path.pop();
    }
    Some(g)
}

fn yaml_host(
    b: &mut Builder,
    keys: &YamlKeys,
    path: &mut Vec<String>,
    g: usize,
    pattern: &str,
    vars: &Value,
    at: usize,
) {
    let (names, port) = match expand_host_pattern(pattern) {
        Ok(x) => x,
        Err(e) => {
            b.error("inventory-syntax", e.msg, at + e.at, e.width, e.hint);
            return;
        }
    };
    if !(is_nil(vars) || is_map(vars)) {
        b.error(
            "inventory-syntax",
            format!("the variables of host `{pattern}` are not a mapping: `{vars}`"),
            at,
            pattern.chars().count(),
            "write a host's variables as `name: value` under it, or nothing",
        );
        return;
    }
    let pairs: Vec<(String, Value, usize)> = map_pairs(vars)
        .into_iter()
        .map(|(k, v)| {
            let k = k.to_string();
            path.push(k.clone());
            let v_at = keys.at(path).unwrap_or(at);
            path.pop();
            (k, v, v_at)
        })
        .collect();
    for name in names {
        let h = b.add_host(&name, g, at);
        if let Some(port) = port {
            b.set_host_var(h, "ansible_port", Value::from(port), at);
        }
        for (k, v, v_at) in &pairs {
            b.set_host_var(h, k, v.clone(), *v_at);
        }
    }
}

/// Where each mapping key of a YAML text is (by its path of keys), for messages and
/// `Host::line`: the loader gives values without positions.
struct YamlKeys(HashMap<Vec<String>, usize>);

impl YamlKeys {
    fn index(text: &str) -> YamlKeys {
        use saphyr_parser::{Event, Parser};
        enum Frame {
            Map {
                path: Vec<String>,
                key: Option<String>,
            },
            Seq {
                path: Vec<String>,
                n: usize,
            },
        }
        let mut map = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut bytes = CharToByte::new(text);
        // the path a node starting now sits at (and, for a key, that it is one)
        fn child_path(stack: &mut [Frame]) -> Option<Vec<String>> {
            match stack.last_mut() {
                None => Some(Vec::new()),
                Some(Frame::Map { path, key }) => key.take().map(|k| {
                    let mut p = path.clone();
                    p.push(k);
                    p
                }),
                Some(Frame::Seq { path, n }) => {
                    let mut p = path.clone();
                    p.push(n.to_string());
                    *n += 1;
                    Some(p)
                }
            }
        }
        for ev in Parser::new_from_str(text) {
            let Ok((ev, span)) = ev else { break };
            match ev {
                Event::Scalar(value, ..) => {
                    if let Some(Frame::Map {
                        path,
                        key: key @ None,
                    }) = stack.last_mut()
                    {
                        // a key
                        let mut p = path.clone();
                        p.push(value.to_string());
                        map.entry(p).or_insert_with(|| bytes.at(span.start.index()));
                        *key = Some(value.to_string());
                    } else {
                        child_path(&mut stack);
                    }
                }
                Event::Alias(_) => {
                    if let Some(Frame::Map {
                        key: key @ None, ..
                    }) = stack.last_mut()
                    {
                        *key = Some(String::new());
                    } else {
                        child_path(&mut stack);
                    }
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    let is_map = matches!(ev, Event::MappingStart(..));
                    let path = match stack.last() {
                        // a complex key: its keys go nowhere we look
                        Some(Frame::Map { key: None, .. }) => vec!["\0".to_string()],
                        _ => child_path(&mut stack).unwrap_or_default(),
                    };
                    stack.push(if is_map {
                        Frame::Map { path, key: None }
                    } else {
                        Frame::Seq { path, n: 0 }
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    let done = stack.pop();
                    if let (Some(Frame::Map { path, .. }), Some(Frame::Map { key, .. })) =
                        (&done, stack.last_mut())
                        && path.first().map(String::as_str) == Some("\0")
                    {
                        // the complex key just ended: its value comes next
                        *key = Some("\0".into());
                    }
                }
                _ => {}
            }
        }
        YamlKeys(map)
    }

    fn at(&self, path: &[String]) -> Option<usize> {
        self.0.get(path).copied()
    }
}

/// Character index to byte offset, walking forward (events come in order).
struct CharToByte<'a> {
    text: &'a str,
    chars: usize,
    bytes: usize,
}

impl<'a> CharToByte<'a> {
    fn new(text: &'a str) -> CharToByte<'a> {
        CharToByte {
            text,
            chars: 0,
            bytes: 0,
        }
    }
    fn at(&mut self, chars: usize) -> usize {
        if chars < self.chars {
            self.chars = 0;
            self.bytes = 0;
        }
        for c in self.text[self.bytes..].chars() {
            if self.chars == chars {
                break;
            }
            self.chars += 1;
            self.bytes += c.len_utf8();
        }
        self.bytes
    }
}

// ---------------------------------------------------------------------------------------
// Python literals (`ast.literal_eval`), for INI host-line values

/// The value `ast.literal_eval` gives for `s`, as Ansible keeps it: ints, floats, `True`,
/// `False`, `None`, strings (quoted, prefixed, adjacent ones joined), lists, tuples and sets
/// as lists, dicts. `None` when it is not a literal (Ansible then keeps the text).
pub fn python_literal(s: &str) -> Option<Value> {
    let mut p = Py {
        s: s.trim_start_matches([' ', '\t']),
        i: 0,
        depth: 0,
    };
    p.ws();
    let first = p.item()?;
    p.ws();
    let value = if p.eat(',') {
        let mut items = vec![first];
        loop {
            p.ws();
            if p.at_end() {
                break;
            }
            items.push(p.item()?);
            p.ws();
            if !p.eat(',') {
                break;
            }
        }
        Value::from(items)
    } else {
        first
    };
    p.ws();
    while p.eat('\n') || p.eat('\r') {
        p.ws();
    }
    p.at_end().then_some(value)
}

struct Py<'a> {
    s: &'a str,
    i: usize,
    depth: usize,
}

impl Py<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }
    fn peek_at(&self, n: usize) -> Option<char> {
        self.s[self.i..].chars().nth(n)
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += c.len_utf8();
        Some(c)
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += c.len_utf8();
            true
        } else {
            false
        }
    }
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }
    /// Spaces and comments; newlines too inside brackets.
    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\x0c' => self.i += 1,
                '\n' | '\r' if self.depth > 0 => self.i += 1,
                '\\' if self.peek_at(1) == Some('\n') => self.i += 2,
                '#' => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.i += c.len_utf8();
                    }
                }
                _ => break,
            }
        }
    }

    fn item(&mut self) -> Option<Value> {
        if self.depth > 64 {
            return None;
        }
        match self.peek()? {
            '[' => {
                self.i += 1;
                self.depth += 1;
                let items = self.items(']')?;
                self.depth -= 1;
                Some(Value::from(items))
            }
            '(' => {
                self.i += 1;
                self.depth += 1;
                self.ws();
                if self.eat(')') {
                    self.depth -= 1;
                    return Some(Value::from(Vec::<Value>::new()));
                }
                let first = self.item()?;
                self.ws();
                let v = if self.eat(')') {
                    first
                } else if self.eat(',') {
                    let mut rest = self.items(')')?;
                    rest.insert(0, first);
                    Value::from(rest)
                } else {
                    return None;
                };
                self.depth -= 1;
                Some(v)
            }
            '{' => {
                self.i += 1;
                self.depth += 1;
                let v = self.dict_or_set()?;
                self.depth -= 1;
                Some(v)
            }
            '-' | '+' => {
                let neg = self.bump()? == '-';
                self.ws();
                match self.peek()? {
                    c if c.is_ascii_digit() || c == '.' => self.number(neg),
                    _ => None,
                }
            }
            c if c.is_ascii_digit() => self.number(false),
            '.' if self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => self.number(false),
            _ => {
                if let Some(v) = self.strings() {
                    return v;
                }
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.bump();
                }
                match &self.s[start..self.i] {
                    "True" => Some(Value::from(true)),
                    "False" => Some(Value::from(false)),
                    "None" => Some(Value::from(())),
                    _ => None,
                }
            }
        }
    }

    /// Items up to `close` (a trailing comma allowed).
    fn items(&mut self, close: char) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        loop {
            self.ws();
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.item()?);
            self.ws();
            if !self.eat(',') {
                self.ws();
                return self.eat(close).then_some(items);
            }
        }
    }

    fn dict_or_set(&mut self) -> Option<Value> {
        self.ws();
        if self.eat('}') {
            return Some(Value::from_pairs(Vec::<(Value, Value)>::new()));
        }
        let first = self.item()?;
        self.ws();
        if self.eat(':') {
            let mut pairs = Vec::new();
            self.ws();
            pairs.push((first, self.item()?));
            loop {
                self.ws();
                if self.eat('}') {
                    return Some(Value::from_pairs(pairs));
                }
                if !self.eat(',') {
                    return None;
                }
                self.ws();
                if self.eat('}') {
                    return Some(Value::from_pairs(pairs));
                }
                let k = self.item()?;
                self.ws();
                if !self.eat(':') {
                    return None;
                }
                self.ws();
                let v = self.item()?;
                match pairs.iter_mut().find(|(pk, _)| *pk == k) {
                    Some(slot) => slot.1 = v,
                    None => pairs.push((k, v)),
                }
            }
        }
        // a set: Ansible makes it a list
        let mut items = vec![first];
        if self.eat(',') {
            items.extend(self.items('}')?);
        } else if !self.eat('}') {
            return None;
        }
        let mut unique: Vec<Value> = Vec::new();
        for v in items {
            if !unique.contains(&v) {
                unique.push(v);
            }
        }
        Some(Value::from(unique))
    }

    /// A number after its sign.
    fn number(&mut self, neg: bool) -> Option<Value> {
        let sign = if neg { "-" } else { "" };
        let rest = &self.s[self.i..];
        let radix = match rest.get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("0x") => Some(16),
            Some("0o") => Some(8),
            Some("0b") => Some(2),
            _ => None,
        };
        let digits = |s: &str, radix: u32, allow_leading_underscore: bool| -> usize {
            // digit ( '_'? digit )*
            let b = s.as_bytes();
            let is = |c: u8| (c as char).is_digit(radix);
            let mut i = 0;
            if allow_leading_underscore
                && b.first() == Some(&b'_')
                && b.get(1).copied().is_some_and(is)
            {
                i = 1;
            }
            if !b.get(i).copied().is_some_and(is) {
                return 0;
            }
            i += 1;
            loop {
                if b.get(i).copied().is_some_and(is) {
                    i += 1;
                } else if b.get(i) == Some(&b'_') && b.get(i + 1).copied().is_some_and(is) {
                    i += 2;
                } else {
                    return i;
                }
            }
        };
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if let Some(radix) = radix {
            let n = digits(&rest[2..], radix, true);
            if n == 0 || ident(rest[2 + n..].chars().next()) {
                return None;
            }
            let text = rest[2..2 + n].replace('_', "");
            self.i += 2 + n;
            return int_value(i128::from_str_radix(&text, radix).ok()?, neg);
        }
        let int_len = digits(rest, 10, false);
        let mut end = int_len;
        let mut is_float = false;
        if rest[end..].starts_with('.') {
            let frac = digits(&rest[end + 1..], 10, false);
            if int_len == 0 && frac == 0 {
                return None;
            }
            end += 1 + frac;
            is_float = true;
        } else if int_len == 0 {
            return None;
        }
        if rest[end..].starts_with(['e', 'E']) {
            let mut e = end + 1;
            if rest[e..].starts_with(['+', '-']) {
                e += 1;
            }
            let n = digits(&rest[e..], 10, false);
            if n == 0 {
                return None;
            }
            end = e + n;
            is_float = true;
        }
        let next = rest[end..].chars().next();
        if ident(next) || next == Some('.') {
            return None; // `1j`, `1abc`, `1_`, `1.2.3`
        }
        let text = rest[..end].replace('_', "");
        self.i += end;
        if is_float {
            let f: f64 = format!("{sign}{text}").parse().ok()?;
            return Some(Value::from(f));
        }
        // `007` is not a Python int; `000` is
        if text.len() > 1 && text.starts_with('0') && text.bytes().any(|b| b != b'0') {
            return None;
        }
        int_value(text.parse().ok()?, neg)
    }

    /// Adjacent string literals, joined. `None`: not a string here; `Some(None)`: a string
    /// that is not a literal (an f-string, a bad escape).
    fn strings(&mut self) -> Option<Option<Value>> {
        let mut out = String::new();
        let mut kind: Option<bool> = None; // Some(true): bytes
        let mut any = false;
        loop {
            let save = self.i;
            if any {
                self.ws();
            }
            let Some((raw, bytes, fstring)) = self.string_prefix() else {
                self.i = save;
                break;
            };
            any = true;
            if fstring || kind.is_some_and(|k| k != bytes) {
                return Some(None);
            }
            kind = Some(bytes);
            match self.string_body(raw, bytes) {
                Some(s) => out.push_str(&s),
                None => return Some(None),
            }
        }
        any.then_some(Some(Value::from(out)))
    }

    /// A string's prefix and opening quote ahead: (raw, bytes, f-string), the prefix consumed.
    fn string_prefix(&mut self) -> Option<(bool, bool, bool)> {
        let rest = &self.s[self.i..];
        let n = rest
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .count()
            .min(3);
        let prefix = rest[..n].to_ascii_lowercase();
        if !rest[n..].starts_with(['\'', '"']) {
            return None;
        }
        let (raw, bytes, f) = match prefix.as_str() {
            "" | "u" => (false, false, false),
            "r" => (true, false, false),
            "b" => (false, true, false),
            "br" | "rb" => (true, true, false),
            "f" | "fr" | "rf" => (false, false, true),
            _ => return None,
        };
        self.i += n;
        Some((raw, bytes, f))
    }

    fn string_body(&mut self, raw: bool, bytes: bool) -> Option<String> {
        let q = self.bump()?;
        let triple = self.s[self.i..].starts_with([q, q]) && {
            let mut it = self.s[self.i..].chars();
            it.next() == Some(q) && it.next() == Some(q)
        };
        if triple {
            self.i += 2;
        }
        let mut out = String::new();
        loop {
            let c = self.bump()?;
            if c == q {
                if !triple {
                    break;
                }
                if self.s[self.i..].starts_with(q) && self.s[self.i + 1..].starts_with(q) {
                    self.i += 2;
                    break;
                }
                out.push(c);
                continue;
            }
            if c == '\n' && !triple {
                return None;
            }
            if bytes && !c.is_ascii() {
                return None;
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let n = self.bump()?;
            if raw {
                out.push('\\');
                out.push(n);
                continue;
            }
            match n {
                '\n' => {}
                '\\' | '\'' | '"' => out.push(n),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\x0b'),
                '0'..='7' => {
                    let mut v = n.to_digit(8)?;
                    for _ in 0..2 {
                        match self.peek().and_then(|c| c.to_digit(8)) {
                            Some(d) => {
                                v = v * 8 + d;
                                self.i += 1;
                            }
                            None => break,
                        }
                    }
                    if bytes && v > 0xff {
                        return None;
                    }
                    out.push(char::from_u32(v)?);
                }
                'x' | 'u' | 'U' if n == 'x' || !bytes => {
                    let len = match n {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex = self.s.get(self.i..self.i + len)?;
                    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return None;
                    }
                    self.i += len;
                    out.push(char::from_u32(u32::from_str_radix(hex, 16).ok()?)?);
                }
                'N' if !bytes => return None,
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
        if bytes {
            // Ansible decodes bytes as UTF-8
            let raw: Vec<u8> = out.chars().map(|c| c as u32 as u8).collect();
            return String::from_utf8(raw).ok();
        }
        Some(out)
    }
}

fn int_value(n: i128, neg: bool) -> Option<Value> {
    let n = if neg { -n } else { n };
    Some(match i64::try_from(n) {
        Ok(small) => Value::from(small),
        Err(_) => Value::from(n),
    })
}

#[cfg(test)]
mod tests;
