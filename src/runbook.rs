//! The runbook model: sections of steps built from a rendered page.
//!
//! The page is first cut into blocks by [`crate::markdown`] (its module doc
//! describes the Markdown grammar). On top of those blocks:
//!
//! # Sections and steps
//!
//! * Every heading starts a [`Section`]; its id is the heading id (kramdown
//!   slug or custom id), made unique among the page's sections by appending
//!   `-1`, `-2`… when a page repeats an id. Blocks before the first heading
//!   belong to a section with id `top` and an empty title, which is left out
//!   when it has no steps.
//! * **Callouts**: a heading inside a block quote (a lesson's `> ## Exercise`,
//!   `> > ## Solution`) starts a section that ends with its block quote: after
//!   the quote, blocks belong again to the section the reader was in when the
//!   quote opened (nested quotes likewise, innermost first). So a section can
//!   have steps before and after a callout; its code steps are numbered in
//!   page order across both. [`Section::parent`] is the section a heading is
//!   nested in: the nearest heading before it of a lower level in the same
//!   quote, else, for a heading in a quote, the section the quote sits in;
//!   [`Section::quote_depth`] counts the quotes around the heading. A section
//!   brings along (in `--section` and recipes) every section nested in it,
//!   callouts included. Sections are listed in the order of their headings,
//!   steps in page order ([`Runbook::steps`]).
//! * Every code block (fenced or indented, at any depth, not inside an HTML
//!   comment) is a [`Step`] of kind `code`, runnable or not. Its id is
//!   `<section-id>-<n>`, `n` counting all code blocks of the section from 1,
//!   so ids do not move when a block's classification changes or manual steps
//!   come and go.
//! * Some list items are [`Step`]s of kind `manual` (see below), with ids
//!   `<section-id>-m<n>`, `n` counting the section's manual steps from 1.
//! * `index` counts all steps of the page from 0, code and manual, in page
//!   order (an item comes before the blocks inside it and after those before
//!   its start); each section's `steps` are in that order.
//! * A code step's prose is the nearest preceding paragraph or list-item text
//!   in the same section, whitespace collapsed to single spaces; empty if none.
//!
//! # Manual steps
//!
//! Recipes mix commands with things a person does ("Login to `aiadm.cern.ch`",
//! "Delete the previously attached volumes"). In a list that holds at least
//! one *runnable* code block (in one of its items, at any depth: nested lists
//! and block quotes included), every item that holds no code block at all
//! (at any depth) and has text is a manual step. A list without a runnable
//! block (links, notes, a list of commands written as inline code) has no
//! manual steps; a nested list is a list of its own, judged by its own blocks.
//! A manual step is never `runnable`; its `prose` is the item's text,
//! followed by the text of each item of its nested lists (which hold no
//! steps, the item holding no code) as `- text`, whitespace collapsed; its
//! `lines` are the item's, nested lists included.
//!
//! Its *inline command* ([`Step::inline`], its text in [`Step::code`], its
//! placeholders in [`Step::placeholders`], located in the input like a code
//! step's) is the first code span of that text whose first word, in
//! command position as the shell lexer reads it, is a command: the span holds
//! a placeholder and that word is a plausible command name (not a placeholder
//! itself: `` `<name>` `` alone is not a command), or a runnable step of the
//! page runs that word, or the word is on PATH (a name without `/`, looked up
//! where the page is read). `` `the file foo.conf` `` is not a command.
//!
//! # Where to run: the host a section asks for
//!
//! Recipes often start by sending the reader to another machine ("Login to
//! `aiadm.cern.ch`"). [`Section::asks_host`] records the host a section's text
//! asks to run its steps on, and where (line and column of the host's first
//! character); runbook itself still runs everything where it is started. False
//! hosts are worse than missed ones, so only these shapes count:
//!
//! * **Which text**: the prose of the section (paragraphs, the text of list
//!   items: its manual steps included) before its first runnable code step; all
//!   of it when it has none. Not its heading, not the text after that step (a
//!   hop in the middle of a recipe is not where the recipe runs), not a callout's
//!   (a callout is a section of its own). The text is read as the page writes it
//!   (before Markdown drops `<slave>` as HTML): an HTML comment says nothing, a
//!   `\` escape is the character it escapes.
//! * **Clauses**: a clause ends after a word that ends with `.` `,` `;` `:` `!`
//!   `?` or `)`, before a word that starts with `(`, at a dash standing alone
//!   (`-`, `--`, `–`, `—`), at an HTML tag or comment, and at the end of a
//!   paragraph or item. A phrase and its host are in one clause (line breaks
//!   inside a paragraph do not matter); words are compared without case and
//!   without the emphasis, brackets, quotes and punctuation around them.
//! * **Phrases**, each followed by the host (or by `the HOST host`, `machine`,
//!   `server` or `node`):
//!   * *log in*: `login to|into|on`, `log|logged|logging in to|on`,
//!     `log|logged|logging into|onto`, `log|logged|logging on to`;
//!   * *ssh*: `ssh|sshed|ssh'd to|into|onto`, or `ssh` (a word, or a code span
//!     holding only `ssh`) followed directly by the host when it opens its
//!     clause (lead words aside, see below): "ssh `bastion` first", not "your ssh
//!     `config`";
//!   * *an inline ssh command*, in the text of a list item (a step of the
//!     recipe, "* `ssh cvmfs.example.org`"; in a paragraph it is more often an
//!     aside): a code span that is `ssh [options] [user@]HOST` (or
//!     `ssh://[user@]HOST[:port]`) with nothing after the destination (`ssh host
//!     uptime` runs one command there) and none of the options that forward,
//!     background, control a master, refuse a terminal or only print (`-N -f -W
//!     -O -L -R -D -T -G -V`): `ssh -A ops@<hostXX>`;
//!   * *connect*: `connect|connected|connecting to`;
//!   * *on / from*: `on HOST`, `from HOST`, only where the clause is an
//!     instruction to run there: after *lead words* (`now then first next please
//!     also finally and so you we can could should must may need needs have has
//!     to will make sure that always only just simply`) it starts with `run`,
//!     `execute`, `type`, `issue`, `do`, `enter`, `perform`, `work`, `be`, `are`
//!     or `stay` ("Run the following on `db1.example.net`", "Make sure you are
//!     on …"; with `from`, only `the following these this those commands
//!     command steps step it them all everything below of recipe` may stand
//!     between the verb and `from`, and not after `be`, `are`, `stay`: "Run the
//!     installer from `dl.example.org`" says where it comes from); or, after
//!     `every each all the these this those our its of`, its
//!     subject is `recipe(s)`, `step(s)`, `command(s)`, `instruction(s)` or
//!     `everything` and a verb of running follows (`run runs execute executes
//!     executed typed done issued performed`: "Every recipe runs from
//!     `aiadm.cern.ch`"); or `on`/`from` opens the clause (lead words aside) and
//!     what follows the host in it, else the next clause, is such an
//!     instruction, or the text ends there ("On `aiadm.cern.ch`, run:", "From
//!     `aiadm.cern.ch`:"). "The service runs on `x.example.org`", "Click on
//!     `Save`", "on success", "from now on", "on the next page" ask for nothing.
//! * **A host** is a code span's content or a word (with a `user@` before it
//!   removed; the user may not be `git`) that is one of:
//!   * a name holding a placeholder (`<slave>`, `<hostXX>`, `<slave name>`,
//!     `` `<slave>.cern.ch` ``: a placeholder as the placeholder grammar reads
//!     one, not an HTML tag name), kept as written: the reader chooses the host;
//!   * a dotted DNS name: lowercase labels of letters, digits and inner `-`,
//!     ending in a label of two or more letters that is not a file extension
//!     (`setup.py`, `node.js`, `v1.2.3` are not hosts); written outside backticks
//!     it needs three labels or more (`aiadm.cern.ch`, not `github.com`);
//!   * an IPv4 address (not loopback, `0.0.0.0` or broadcast);
//!   * a bare name (one label of two characters or more, starting with a
//!     letter) only in backticks, and only after *log in* or *ssh* phrases, in an
//!     ssh command, or in ``the `NAME` host`` (not ``the `master` node``, a
//!     role: after `the`, only before `host`); never after `on`, `from` or
//!     `connect to` otherwise (`main`, `Save`, `db`).
//! * **Never a host**: a URL or link text, a name with a port or path, `localhost`
//!   (and `*.localhost`), loopback, `root`, `sudo`, `shell`, `bash`, `sh`, `zsh`,
//!   `ssh`; a name starting with `www.` or that the page links to as a web address
//!   (`https://NAME...`: a web site); a bare name that a runnable step of the page
//!   runs as a command ("log in to `vault`" is the tool).
//! * **Vetoes**: a clause holding `web website site webpage browser portal
//!   dashboard gui ui url vpn wifi wi-fi database db` asks for nothing (a web
//!   login, a database); nor does a phrase after `not don't never without
//!   instead no cannot can't needn't doesn't shouldn't mustn't won't avoid
//!   unless if whether rather except nor test check verify` in its clause ("Do
//!   not log in to …", "Check that you can ssh to …"). For `On HOST, …` the
//!   instruction that follows may not hold one either.
//! * **One host per section**: the first host found is the section's; when its
//!   text asks for two different hosts (a hop: "ssh to `gw`, then ssh to
//!   `node1`") it asks for none, and inherits none.
//! * **Inheritance**: a section whose text asks for nothing has the host of
//!   the section it is nested in ([`Section::parent`], callouts included); a
//!   section without a parent has the host the text before the page's first
//!   heading asks for (an introduction's "Every recipe runs from …"), whether
//!   or not that text is a section of its own (`top`).
//! * The manual step that says it ("Login to `aiadm.cern.ch`") stays a manual
//!   step, done by hand.
//!
//! # Which blocks are runnable
//!
//! Decided in this order, the first rule that applies wins (`why` says which):
//!
//! 1. An attribute `runbook=run` (or `yes`/`true`) / `runbook=skip` (or
//!    `no`/`false`) in the info string or in the block's IAL.
//! 2. A transcript (see below) without any command after its prompts (a bare
//!    `$`) is not runnable: there is nothing to run.
//! 3. The language, when the block has one (info string or IAL class):
//!    `bash`, `sh`, `shell`, `zsh`, `ksh`, `console`, `terminal`,
//!    `shell-session`, `shellsession`, `sh-session` are runnable, except a
//!    block of that language that is not a transcript and
//!    * is a file's content (rule 5), or
//!    * has no command line that reads as shell (4): program output labelled
//!      as shell (`Permission denied (publickey).`, `origin https://… (fetch)`),
//!      or only comments.
//!
//!    The known non-shell languages ([`NON_SHELL_LANGS`]: data formats,
//!    programming languages, `text`, `output`, `source`, `error`, non-POSIX
//!    shells, …) are not runnable. An unknown language falls through to the
//!    shape test (4).
//! 4. For blocks without any language, [`ModelOptions::default_runnable`]
//!    (from the page's front matter) when set.
//! 5. A block that is not a transcript is a *file's content*, shown to be
//!    saved, not run: when it starts with `#!` and holds scheduler directives
//!    (`#SBATCH`, `#PBS`, `#$ `, `#BSUB`, `#COBALT`, `#MSUB`, `#@`, `#OAR`,
//!    `#FLUX`: a job script), or when the prose before it asks to save it as a
//!    file (a file name such as `job.sh`, `~/bin/x.py` or `.bashrc`, with
//!    *save*, *paste*, *content(s)* or *containing*, or with *create*, *write*,
//!    *open*, *edit*, *make*, *new*, *put*, *add*, *type*, *copy* or *insert*
//!    and *file* or *script*) and the block does not name that file itself
//!    (`nano job.sh`, `sbatch job.sh` are what to do with it).
//! 6. The shape test, on the block's *command lines*: for a transcript (see
//!    below) the commands after a prompt, otherwise every logical line
//!    (backslash continuations, open quotes and heredoc bodies belong to the
//!    line that started them) that is not blank and not a `#` comment. An
//!    unlabelled block that is not a transcript and starts with `#!` is a
//!    script file's content: not runnable. A command line *reads as shell*
//!    when it is an assignment `NAME=value`, or its first word is a plausible
//!    command: a lowercase word of letters, digits, `_ . + -` (`eval`,
//!    `ai-bs-vm`, `python3`), an explicit path with arguments or starting
//!    with `./`/`../` (`/usr/sbin/x -d`, `./configure`), a `$VAR` expansion,
//!    a function definition `name() {`, or shell punctuation (`[`, `[[`, `(`,
//!    `{`, `!`, `.`, `:`); a lowercase sentence of three or more plain words
//!    ending with `.` does not count. Lone closers and keywords (`}`, `fi`,
//!    `done`, …) are neutral. Every other line *does not read as shell*, in
//!    particular: markup (`<…`), a YAML mapping or list item (`key: value`,
//!    `key:`, `- item`), JSON (`"key": …`), `key = value` settings and
//!    `def x = y` statements, `name {` blocks, C/JS comments and statements,
//!    lines ending with `:`, `$NAME=value`, a path on its own (`/eos/data`),
//!    a relative path or URL as first word, a file name as first word
//!    (`notes.txt`, [`FILE_EXTENSIONS`]), a `(` among a command's arguments
//!    (a syntax error for bash: `origin https://x (fetch)`), program output or
//!    prose (a leading digit or capitalised word). The block is runnable when at least
//!    one command line reads as shell and at least 80% of the classified ones
//!    do; `why` gives the count, or the first line that failed and why.
//!
//! # Transcripts (console / shell-session blocks, lessons' `$ ` blocks)
//!
//! A *prompt* starts a line: `$ ` (or a line that is just `$`); a virtual
//! environment before any prompt (`(env) `, `(base) `); `{local}$ `,
//! `{remote}$ `; a bracketed prompt (`[user@host ~]$ `, `[login1 ~]$ `, and
//! with `@` also `[root@host ~]# `); `user@host:path$ `, `user@host path $ `
//! (path optional, `#` for `$` too); `host$ `, `host:path$ `, `~/dir$ `;
//! macOS's `host:dir user$ `; a shell-version prompt (`bash-4.2$ `,
//! `-bash-4.2$ `, `sh-5.1# `). In `console`-family blocks `% ` and a bare
//! `# ` are prompts too. Elsewhere `# ` is a root prompt only before what
//! unmistakably reads as a command: it reads as shell, does not end like a
//! sentence, does not start with a word comments start with (`see`, `note`,
//! `run`, `the`, …) and has an option, a path, `=`, `|`, `>`, `<`, `;`, `&&`,
//! `$`, `~`, `*` or a quote (`# dnf install -y rsync`; `# Load the module
//! first` is a comment).
//!
//! A block is a *transcript* when its language is of the console family and
//! it has at least one prompt line; or when its first line that is neither
//! blank nor a `#` comment starts with a prompt (a comment before the first
//! `$ ` does not hide it); or when its first non-blank line is a root prompt
//! and no other line of it (comments aside) reads as shell (the rest is the
//! command's output).
//!
//! For transcripts, [`Step::code`] keeps only the command lines, prompt
//! removed, plus the lines that continue them: every line read while bash
//! would wait for more input ([`shell::Lexer::waiting`]: after a trailing
//! `\`, inside an open quote, `$(` or a heredoc, inside a compound command
//! not yet closed, `for …` / `> do` / `> done`, `if … fi`, `case … esac`,
//! `{ … }`, or after a line ending with `|`, `&&` or `||`), a leading PS2 `> `
//! removed there (a prompt typed there is removed too). Every other line is
//! output and dropped. For all other blocks `code` is the block text.
//!
//! # Placeholders
//!
//! A placeholder is a `<…>` in a step's code that the reader must replace
//! before running it, and that bash would otherwise read as a redirection. What
//! counts as one, and in which quoting context it sits, is decided by the shared
//! bash lexer: see [`crate::shell`] for the grammar (placeholders are found in
//! quotes, backticks, `${...}` words and heredoc bodies too; never in comments
//! or redirections).
//!
//! Each occurrence is listed with its 1-based line and column (in characters)
//! in the input text, the variable when it sits in the value of an assignment
//! (`MACHINE_NAME=<alibuildXX>` → `MACHINE_NAME`, also after `export`, for every
//! assignment of the line), and
//! the trailing `# comment` of its line as a hint. Placeholders are not
//! looked for in markup and output blocks (`html`, `xml`, `output`, `diff`, …).

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::markdown::{self, Block, CodeBlock, LineIndex};
use crate::shell;

mod host;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Runbook {
    pub sections: Vec<Section>,
}

impl Runbook {
    /// All steps of the page in page order (`index` order).
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.steps_in_sections().into_iter().map(|(_, st)| st)
    }

    /// All steps of the page in page order, each with its section.
    pub fn steps_in_sections(&self) -> Vec<(&Section, &Step)> {
        let mut all: Vec<(&Section, &Step)> = self
            .sections
            .iter()
            .flat_map(|s| s.steps.iter().map(move |st| (s, st)))
            .collect();
        all.sort_by_key(|(_, st)| st.index);
        all
    }

    /// The positions in `sections` of section `i` and of the sections nested in it, at any
    /// depth (see [`Section::parent`]), in order.
    pub fn nested(&self, i: usize) -> Vec<usize> {
        let mut ids: Vec<&str> = vec![self.sections[i].id.as_str()];
        let mut out = vec![i];
        for (j, s) in self.sections.iter().enumerate().skip(i + 1) {
            if let Some(p) = s.parent.as_deref()
                && ids.contains(&p)
            {
                ids.push(&s.id);
                out.push(j);
            }
        }
        out
    }

    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.sections
            .iter()
            .flat_map(|s| s.steps.iter())
            .find(|s| s.id == id)
    }

    /// The section with this id.
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    /// Heading id (slug), unique on the page; `top` for blocks before the first heading.
    pub id: String,
    pub title: String,
    /// Heading level, 0 for `top`.
    pub level: u8,
    /// 1-based line of the heading in the input (1 for `top`).
    pub line: usize,
    /// The section this one is nested in: the nearest heading before it of a lower level in
    /// the same block quote, else, for a heading in a block quote (a callout), the section
    /// the quote sits in. None at the top.
    pub parent: Option<String>,
    /// Block quotes around the heading (`> ## Solution` is 1, `> > ## Solution` 2).
    pub quote_depth: usize,
    /// In page order; a section that holds a callout has steps before and after it.
    pub steps: Vec<Step>,
    /// The host the page asks to run this section's steps on (said in its text before its
    /// first runnable step, or inherited from the section it is nested in); None when it
    /// asks for none (see "Where to run" in the module documentation).
    pub asks_host: Option<AsksHost>,
}

/// A host a page asks to run a section on: "Login to `aiadm.cern.ch`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AsksHost {
    /// As the page writes it, without a `user@`: `aiadm.cern.ch`, or a placeholder such as
    /// `<slave>` (the reader chooses the host).
    pub host: String,
    /// 1-based line and column (in characters) of the host's first character in the input.
    pub line: usize,
    pub column: usize,
}

impl AsksHost {
    /// The page leaves the host to the reader: it holds a placeholder (`<slave>`).
    pub fn is_placeholder(&self) -> bool {
        self.host.contains('<')
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Code: `<section-id>-<n>`, n counting the section's code blocks from 1.
    /// Manual: `<section-id>-m<n>`, n counting the section's manual steps from 1.
    pub id: String,
    /// Position among all steps of the page (code and manual), from 0, in page order.
    pub index: usize,
    /// A code block, or something a person does (a list item).
    pub kind: StepKind,
    pub lang: Option<String>,
    /// The code block is run. Always false for a manual step: it is done by hand (its
    /// inline command, if any, runs only when the operator asks for it).
    pub runnable: bool,
    /// Short reason for the runnable decision (for a manual step: why it is one, and why
    /// its inline command is a command).
    pub why: String,
    /// Code: the text that introduces the block. Manual: the item's text, what to do.
    pub prose: String,
    /// Command text as it will run. Manual: the inline command, empty when there is none.
    pub code: String,
    /// Block text as in the page. Manual: the inline command.
    pub raw: String,
    /// First and last line of the block (fences included) or of the item in the input, 1-based.
    pub lines: (usize, usize),
    /// The placeholders of `code`.
    pub placeholders: Vec<Placeholder>,
    /// Manual: where the inline command is and why it counts as one.
    pub inline: Option<InlineCommand>,
    /// The input line of each line of `code` (for messages about a line of the command).
    #[serde(skip)]
    pub code_lines: Vec<usize>,
}

/// What a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// A code block (runnable or not).
    Code,
    /// A list item without a code block, in a list of runnable steps: done by hand.
    Manual,
}

impl Step {
    pub fn is_manual(&self) -> bool {
        self.kind == StepKind::Manual
    }
}

/// The command of a manual step: the first inline code of its item that is a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InlineCommand {
    /// 1-based line and column (in characters) of the command's first character in the input.
    pub line: usize,
    pub column: usize,
    /// Why the inline code counts as a command.
    pub because: InlineBecause,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InlineBecause {
    /// It holds a placeholder (`ai-kill-vm <alibuildXX>`).
    Placeholder,
    /// A runnable step of the page runs its first word.
    Page,
    /// Its first word is on PATH where the page is read.
    Path,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placeholder {
    /// Text inside the brackets, e.g. `alimesosXX`, `slave name`, `X`.
    pub name: String,
    /// 1-based line of the `<` in the input.
    pub line: usize,
    /// 1-based column (in characters) of the `<` in the input.
    pub column: usize,
    /// Shell variable when the placeholder is in the value of `VAR=<...>`.
    pub assigned_to: Option<String>,
    /// Trailing `# comment` of the placeholder's line, if any.
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelOptions {
    /// From front matter: force blocks without a language runnable or not.
    pub default_runnable: Option<bool>,
}

/// Languages whose blocks are run.
pub const SHELL_LANGS: &[&str] = &[
    "bash",
    "sh",
    "shell",
    "zsh",
    "ksh",
    "console",
    "terminal",
    "shell-session",
    "shell_session",
    "shellsession",
    "sh-session",
];

/// Languages whose blocks are transcripts (prompts, output).
const CONSOLE_LANGS: &[&str] = &[
    "console",
    "terminal",
    "shell-session",
    "shell_session",
    "shellsession",
    "sh-session",
];

/// Known languages (and kramdown classes) that are not run.
pub const NON_SHELL_LANGS: &[&str] = &[
    // text and program output
    "output",
    "text",
    "txt",
    "plain",
    "plaintext",
    "none",
    "nohighlight",
    "source",
    "error",
    "log",
    "fundamental",
    "diff",
    "patch",
    "raw",
    // data and configuration
    "yaml",
    "yml",
    "json",
    "jsonc",
    "json5",
    "toml",
    "ini",
    "cfg",
    "conf",
    "config",
    "properties",
    "xml",
    "html",
    "xhtml",
    "svg",
    "css",
    "scss",
    "sass",
    "less",
    "csv",
    "tsv",
    "hcl",
    "terraform",
    "tf",
    "nomad",
    "nginx",
    "apache",
    "apacheconf",
    "dockerfile",
    "docker",
    "makefile",
    "make",
    "cmake",
    "jinja",
    "jinja2",
    "liquid",
    "erb",
    "haml",
    "handlebars",
    "mustache",
    "markdown",
    "md",
    "rst",
    "tex",
    "latex",
    "sql",
    "graphql",
    "proto",
    "protobuf",
    "mermaid",
    "plantuml",
    "dot",
    "graphviz",
    "http",
    "jsonnet",
    "cue",
    "rego",
    "nix",
    "puppet",
    "pp",
    "ruby-puppet",
    "vim",
    "viml",
    "systemd",
    "crontab",
    "ssh-config",
    "sshconfig",
    // programming languages
    "python",
    "py",
    "python3",
    "ipython",
    "pycon",
    "ruby",
    "rb",
    "irb",
    "perl",
    "pl",
    "php",
    "javascript",
    "js",
    "jsx",
    "typescript",
    "ts",
    "tsx",
    "node",
    "go",
    "golang",
    "rust",
    "rs",
    "c",
    "h",
    "cpp",
    "c++",
    "cxx",
    "cc",
    "hpp",
    "objc",
    "objective-c",
    "swift",
    "java",
    "kotlin",
    "kt",
    "scala",
    "groovy",
    "gradle",
    "clojure",
    "clj",
    "lisp",
    "elisp",
    "scheme",
    "racket",
    "haskell",
    "hs",
    "ocaml",
    "ml",
    "fsharp",
    "csharp",
    "cs",
    "vb",
    "erlang",
    "elixir",
    "ex",
    "lua",
    "r",
    "julia",
    "jl",
    "matlab",
    "octave",
    "fortran",
    "f90",
    "pascal",
    "ada",
    "d",
    "dart",
    "zig",
    "nim",
    "crystal",
    "awk",
    "sed",
    "tcl",
    "asm",
    "nasm",
    "llvm",
    "wasm",
    "vue",
    "svelte",
    "coffeescript",
    "coffee",
    "cuda",
    "opencl",
    "glsl",
    "verilog",
    "vhdl",
    "prolog",
    "cobol",
    "smalltalk",
    "ansible",
    "jenkinsfile",
    "pipeline",
    "root",
    "cling",
    // shells runbook does not run
    "powershell",
    "ps1",
    "pwsh",
    "ps",
    "bat",
    "batch",
    "cmd",
    "dos",
    "fish",
    "csh",
    "tcsh",
];

/// Languages in which `<…>` is syntax or output, not a placeholder.
const NO_PLACEHOLDER_LANGS: &[&str] = &[
    "html",
    "xhtml",
    "xml",
    "svg",
    "vue",
    "svelte",
    "jsx",
    "tsx",
    "markdown",
    "md",
    "output",
    "error",
    "log",
    "diff",
    "patch",
    "erb",
    "liquid",
    "jinja",
    "jinja2",
    "handlebars",
];

/// Build the runbook of a rendered page.
pub fn build(markdown: &str, opts: &ModelOptions) -> Runbook {
    let index = LineIndex::new(markdown);
    let parsed = markdown::parse_page_indexed(markdown, &index);
    let blocks = &parsed.blocks;
    let items = &parsed.items;

    // Group blocks (and the list items that start among them) by section first: whether
    // `top` exists decides which ids are taken. Each entry keeps its place on the page
    // (`seq`): a section's entries are in page order, but a section can stop at a callout
    // (a block quote with its own headings) and go on after it.
    enum Entry<'b> {
        Block(usize, &'b Block),
        Item(usize),
    }
    struct Group<'b> {
        heading: Option<(u8, &'b str, &'b str, usize)>,
        /// The group this one is nested in.
        parent: Option<usize>,
        /// Block quotes around the heading.
        quote_depth: usize,
        entries: Vec<(usize, Entry<'b>)>,
    }
    /// A reading context: the page itself, or a block quote inside it.
    struct Frame {
        quote: Option<usize>,
        /// The section the reader was in when the quote opened: it resumes after the quote.
        base: Option<usize>,
        /// Headings of this context by level (innermost last), to find a heading's parent.
        headings: Vec<(u8, usize)>,
        current: usize,
    }
    let mut groups = vec![Group {
        heading: None,
        parent: None,
        quote_depth: 0,
        entries: Vec::new(),
    }];
    let mut frames = vec![Frame {
        quote: None,
        base: None,
        headings: Vec::new(),
        current: 0,
    }];
    // the frames for quote `q`: the quotes left are closed, those entered are opened. Frame
    // `d` is for a quote of depth `d`, so climbing from `q` stops at the first quote that
    // already has its frame: each quote is visited once, however deep the nesting.
    let enter = |frames: &mut Vec<Frame>, q: Option<usize>| {
        let mut entered = Vec::new();
        let mut at = q;
        while let Some(i) = at {
            let depth = parsed.quotes[i].depth;
            if frames.get(depth).is_some_and(|f| f.quote == Some(i)) {
                break;
            }
            entered.push(i);
            at = parsed.quotes[i].parent;
        }
        frames.truncate(at.map_or(0, |i| parsed.quotes[i].depth) + 1);
        for quote in entered.into_iter().rev() {
            let current = frames.last().expect("the page's frame").current;
            frames.push(Frame {
                quote: Some(quote),
                base: Some(current),
                headings: Vec::new(),
                current,
            });
        }
    };
    let current = |frames: &[Frame]| frames.last().expect("the page's frame").current;
    let mut seq = 0;
    // items are in the order they start, so their `first_block` never decreases
    let mut next_items = items.iter().enumerate().peekable();
    for (bi, block) in blocks.iter().enumerate() {
        while let Some((ii, it)) = next_items.next_if(|(_, it)| it.first_block <= bi) {
            enter(&mut frames, it.quote);
            groups[current(&frames)]
                .entries
                .push((seq, Entry::Item(ii)));
            seq += 1;
        }
        enter(&mut frames, parsed.block_quotes[bi]);
        match block {
            Block::Heading {
                level,
                text,
                id,
                span,
            } => {
                let depth = frames.len() - 1;
                let frame = frames.last_mut().expect("the page's frame");
                while frame.headings.last().is_some_and(|&(l, _)| l >= *level) {
                    frame.headings.pop();
                }
                let parent = frame.headings.last().map(|&(_, g)| g).or(frame.base);
                groups.push(Group {
                    heading: Some((*level, text, id, span.start_line)),
                    parent,
                    quote_depth: depth,
                    entries: Vec::new(),
                });
                frame.headings.push((*level, groups.len() - 1));
                frame.current = groups.len() - 1;
            }
            other => {
                groups[current(&frames)]
                    .entries
                    .push((seq, Entry::Block(bi, other)));
                seq += 1;
            }
        }
    }
    for (ii, it) in next_items {
        enter(&mut frames, it.quote);
        groups[current(&frames)]
            .entries
            .push((seq, Entry::Item(ii)));
        seq += 1;
    }
    let keep_top = groups[0]
        .entries
        .iter()
        .any(|(_, e)| matches!(e, Entry::Block(_, Block::Code(_))));

    // First the code steps (their ids count code blocks only), then which lists hold a
    // runnable one, then the manual steps, then every step's place on the page.
    enum Pending {
        /// A code step, and the command names it runs.
        Code(Box<Step>, Vec<String>),
        Item(usize),
    }
    let mut taken = HashSet::new();
    let mut sections = Vec::new();
    let mut runnable_block = vec![false; blocks.len()];
    let mut group_ids: Vec<Option<String>> = Vec::with_capacity(groups.len());
    // where each section's text may say where to run it: its prose before its first
    // runnable step (see "Where to run"); and the text before the first heading
    let mut asks_texts: Vec<Vec<host::Text>> = Vec::new();
    let mut top_texts: Vec<host::Text> = Vec::new();
    // the blocks that are the text of a list item (an inline `ssh HOST` counts there only)
    let mut in_item = vec![false; blocks.len()];
    for item in items {
        for (b, block) in blocks.iter().enumerate().skip(item.first_block) {
            if block.span().start >= item.span.end {
                break;
            }
            in_item[b] = true;
        }
    }
    let text = |bi: usize, span: &markdown::Span| host::Text {
        range: span.range(),
        item: in_item[bi],
    };
    for (gi, group) in groups.into_iter().enumerate() {
        if gi == 0 && !keep_top {
            // no code block: all of it comes before any runnable step
            for (_, entry) in &group.entries {
                if let Entry::Block(bi, Block::Prose { span, .. }) = entry {
                    top_texts.push(text(*bi, span));
                }
            }
            group_ids.push(None);
            continue;
        }
        let (level, title, base, line) = group.heading.unwrap_or((0, "", "top", 1));
        let base = if base.is_empty() { "section" } else { base };
        let mut id = base.to_string();
        let mut n = 0;
        while !taken.insert(id.clone()) {
            n += 1;
            id = format!("{base}-{n}");
        }
        group_ids.push(Some(id.clone()));
        let section = Section {
            id,
            title: title.to_string(),
            level,
            line,
            parent: group.parent.and_then(|p| group_ids[p].clone()),
            quote_depth: group.quote_depth,
            steps: Vec::new(),
            asks_host: None,
        };
        let mut pending = Vec::new();
        let mut codes = 0;
        // the text of the last prose block, collapsed when a code block follows it
        let mut prose: &str = "";
        let mut texts = Vec::new();
        let mut ran = false;
        for (at, entry) in group.entries {
            match entry {
                Entry::Block(bi, Block::Prose { text: t, span }) => {
                    prose = t;
                    if !ran {
                        texts.push(text(bi, span));
                    }
                }
                Entry::Block(bi, Block::Code(code)) => {
                    codes += 1;
                    let id = format!("{}-{codes}", section.id);
                    let (step, commands) =
                        make_step(markdown, &index, code, opts, id, &collapse(prose));
                    runnable_block[bi] = step.runnable;
                    ran |= step.runnable;
                    pending.push((at, Pending::Code(Box::new(step), commands)));
                }
                Entry::Block(_, Block::Heading { .. }) => unreachable!("headings start groups"),
                Entry::Item(ii) => pending.push((at, Pending::Item(ii))),
            }
        }
        sections.push((section, pending));
        asks_texts.push(texts);
    }

    // a list holds a runnable block when one sits in one of its items, at any depth
    let mut runnable_inside = vec![false; items.len()];
    for (ii, item) in items.iter().enumerate() {
        if item.code_blocks.iter().any(|&b| runnable_block[b]) {
            let mut at = Some(ii);
            while let Some(i) = at.filter(|&i| !runnable_inside[i]) {
                runnable_inside[i] = true;
                at = items[i].parent;
            }
        }
    }
    let mut runnable_list = vec![false; parsed.lists.len()];
    for (ii, item) in items.iter().enumerate() {
        if runnable_inside[ii] {
            runnable_list[item.list] = true;
        }
    }
    // the commands the page's runnable steps run, and the first step that runs each
    let mut page_commands: HashMap<String, String> = HashMap::new();
    for (_, pending) in &sections {
        for (_, p) in pending {
            if let Pending::Code(step, commands) = p
                && step.runnable
            {
                for name in commands {
                    if !page_commands.contains_key(name) {
                        page_commands.insert(name.clone(), step.id.clone());
                    }
                }
            }
        }
    }

    // the host each section's text asks for; the text before the first heading speaks for
    // the sections without a parent
    let names = host::PageNames {
        commands: &page_commands,
        web: host::web_hosts(markdown),
    };
    let own_asks: Vec<host::Ask> = asks_texts
        .iter()
        .map(|texts| host::scan(markdown, texts, &names))
        .collect();
    // (when `top` is a section, its ask is the first of `own_asks`)
    let top_ask = host::scan(markdown, &top_texts, &names);

    let mut out = Vec::with_capacity(sections.len());
    // (place on the page, section, step in it)
    let mut order = Vec::new();
    for (mut section, pending) in sections {
        let mut manual = 0;
        for (at, p) in pending {
            let step = match p {
                Pending::Code(step, _) => *step,
                Pending::Item(ii) => {
                    let item = &items[ii];
                    if !runnable_list[item.list] || item.has_code {
                        continue;
                    }
                    // an item without code holds no step in its nested lists: what they
                    // say is part of what to do (items start in order, so its nested
                    // items follow it)
                    let nested: Vec<&markdown::Item> = items[ii + 1..]
                        .iter()
                        .take_while(|n| n.span.start < item.span.end)
                        .collect();
                    let text = std::iter::once(collapse(&item.text))
                        .chain(
                            nested
                                .iter()
                                .map(|n| collapse(&n.text))
                                .filter(|t| !t.is_empty())
                                .map(|t| format!("- {t}")),
                        )
                        .filter(|t| !t.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ");
                    if text.is_empty() {
                        continue;
                    }
                    let mut spans: Vec<&markdown::CodeSpan> = item
                        .code_spans
                        .iter()
                        .chain(nested.iter().flat_map(|n| &n.code_spans))
                        .collect();
                    spans.sort_by_key(|c| c.start);
                    manual += 1;
                    let id = format!("{}-m{manual}", section.id);
                    make_manual(markdown, &index, item, &spans, text, id, &page_commands)
                }
            };
            order.push((at, out.len(), section.steps.len()));
            section.steps.push(step);
        }
        out.push(section);
    }
    order.sort_unstable();
    for (index, (_, si, k)) in order.into_iter().enumerate() {
        out[si].steps[k].index = index;
    }
    // a section that says nothing has the host of the section it is nested in (parents come
    // first); one without a parent, the host of the text before the first heading (of `top`
    // when that is a section)
    let located = |f: &host::Found| {
        let (line, column) = index.line_col(markdown, f.at);
        AsksHost {
            host: f.host.clone(),
            line,
            column,
        }
    };
    let page_ask = match if keep_top {
        own_asks.first()
    } else {
        Some(&top_ask)
    } {
        Some(host::Ask::Host(f)) => Some(located(f)),
        _ => None,
    };
    for si in 0..out.len() {
        let asks = match &own_asks[si] {
            host::Ask::Host(f) => Some(located(f)),
            host::Ask::Unclear => None,
            host::Ask::Nothing => match &out[si].parent {
                Some(p) => out[..si]
                    .iter()
                    .find(|s| s.id == *p)
                    .and_then(|s| s.asks_host.clone()),
                None => page_ask.clone(),
            },
        };
        out[si].asks_host = asks;
    }
    Runbook { sections: out }
}

/// Whitespace collapsed to single spaces.
fn collapse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A manual step from a list item: its text, and its inline command if it has one.
fn make_manual(
    input: &str,
    index: &LineIndex,
    item: &markdown::Item,
    spans: &[&markdown::CodeSpan],
    text: String,
    id: String,
    page_commands: &HashMap<String, String>,
) -> Step {
    let mut why =
        String::from("done by hand: a list item without a code block, in a list of steps");
    let mut code = String::new();
    let mut inline = None;
    let mut placeholders = Vec::new();
    for span in spans {
        let lexed = shell::lex(&span.text);
        let Some((because, reason)) = inline_command(&lexed, page_commands) else {
            continue;
        };
        let (line, column) = index.line_col(input, span.start);
        for p in &lexed.placeholders {
            // a span that is not the input byte for byte keeps its start only
            let off = if span.exact {
                span.start + p.start
            } else {
                span.start
            };
            let (l, c) = index.line_col(input, off);
            placeholders.push(Placeholder {
                name: p.name.clone(),
                line: l,
                column: c,
                assigned_to: p.assigned_to.clone(),
                hint: None,
            });
        }
        why.push_str(&format!("; `{}` can be run: {reason}", span.text));
        code = span.text.clone();
        inline = Some(InlineCommand {
            line,
            column,
            because,
        });
        break;
    }
    Step {
        id,
        index: 0,
        kind: StepKind::Manual,
        lang: None,
        runnable: false,
        why,
        prose: text,
        raw: code.clone(),
        code,
        lines: (item.span.start_line, item.span.end_line),
        placeholders,
        code_lines: vec![inline.as_ref().map_or(item.span.start_line, |c| c.line)],
        inline,
    }
}

/// Whether inline code (`lexed`) is a command, and why: its first word (in command
/// position, as the lexer reads it) is a plausible command name and the code holds a
/// placeholder, or that name is run by a runnable step of the page, or it is on PATH.
fn inline_command(
    lexed: &shell::Lexed,
    page_commands: &HashMap<String, String>,
) -> Option<(InlineBecause, String)> {
    let name = lexed.commands.first()?.name.as_deref()?;
    if name.is_empty() {
        return None;
    }
    if !lexed.placeholders.is_empty() && is_command_word(name) && !name.starts_with('$') {
        return Some((InlineBecause::Placeholder, "it holds a placeholder".into()));
    }
    if let Some(step) = page_commands.get(name) {
        return Some((InlineBecause::Page, format!("step {step} runs `{name}`")));
    }
    if !name.contains('/') && crate::plan::on_path(name) {
        return Some((InlineBecause::Path, format!("`{name}` is on PATH")));
    }
    None
}

/// A line of a step's code: a slice of the block text.
#[derive(Debug, Clone, Copy)]
struct CodeLine<'a> {
    text: &'a str,
    /// Offset of `text` in the block text.
    raw_off: usize,
}

fn make_step(
    input: &str,
    index: &LineIndex,
    block: &CodeBlock,
    opts: &ModelOptions,
    id: String,
    prose: &str,
) -> (Step, Vec<String>) {
    let lang = block.lang.clone();
    let lang_str = lang.as_deref().unwrap_or("");
    let console = CONSOLE_LANGS.contains(&lang_str);

    let raw_lines = split_lines(&block.text);
    let prompts = Prompts::of(&raw_lines, console);
    let transcript = prompts.is_some();

    let (code_lines, code) = if let Some(prompts) = prompts {
        let lines = transcript_commands(&raw_lines, prompts);
        let mut code = lines.iter().map(|l| l.text).collect::<Vec<_>>().join("\n");
        if !code.is_empty() {
            code.push('\n');
        }
        (lines, code)
    } else {
        (raw_lines, block.text.clone())
    };

    // the lines as the shell reads them, each at its offset in the lines joined by `\n`
    let mut lexer = shell::Lexer::default();
    let mut offsets = Vec::with_capacity(code_lines.len());
    let mut at = 0;
    let infos: Vec<shell::LineInfo> = code_lines
        .iter()
        .map(|l| {
            offsets.push(at);
            let info = lexer.line(l.text, at);
            at += l.text.len() + 1;
            info
        })
        .collect();
    let joined = code_lines
        .iter()
        .map(|l| l.text)
        .collect::<Vec<_>>()
        .join("\n");
    let lexed = lexer.finish(&joined);
    // the commands it runs, as `shell::lex(&code)` reads them: it feeds the lexer the same
    // lines, unless a `\r` was cut from their ends
    let commands = if code.contains('\r') {
        shell::lex(&code)
            .command_names()
            .map(String::from)
            .collect()
    } else {
        lexed.command_names().map(String::from).collect()
    };
    let (runnable, why) = decide(block, transcript, &code_lines, &infos, opts, index, prose);

    let mut placeholders = Vec::new();
    if !NO_PLACEHOLDER_LANGS.contains(&lang_str) {
        for p in &lexed.placeholders {
            let line = &code_lines[p.line];
            let info = &infos[p.line];
            let off = block.source_offset(line.raw_off + p.start - offsets[p.line]);
            let (l, c) = index.line_col(input, off);
            placeholders.push(Placeholder {
                name: p.name.clone(),
                line: l,
                column: c,
                assigned_to: p.assigned_to.clone(),
                hint: info
                    .comment
                    .map(|at| line.text[at..].trim_start_matches('#').trim().to_string())
                    .filter(|h| !h.is_empty()),
            });
        }
    }

    let step = Step {
        id,
        index: 0,
        kind: StepKind::Code,
        lang,
        runnable,
        why,
        prose: prose.to_string(),
        code,
        raw: block.text.clone(),
        lines: (block.span.start_line, block.span.end_line),
        placeholders,
        inline: None,
        code_lines: code_lines
            .iter()
            .map(|l| index.line(block.source_offset(l.raw_off)))
            .collect(),
    };
    (step, commands)
}

fn split_lines(text: &str) -> Vec<CodeLine<'_>> {
    let mut out = Vec::new();
    let mut off = 0;
    for piece in text.split_inclusive('\n') {
        let line = piece.strip_suffix('\n').unwrap_or(piece);
        let line = line.strip_suffix('\r').unwrap_or(line);
        out.push(CodeLine {
            text: line,
            raw_off: off,
        });
        off += piece.len();
    }
    out
}

/// Length of the shell prompt that starts `line`, if it starts with one (a bare `# ` root
/// prompt aside: see [`Prompts`]). `console`: the block is of the console family, where
/// `% ` is a prompt too.
fn prompt_len(line: &str, console: bool) -> Option<usize> {
    // (env) [user@host ~]$ cmd, (base) $ cmd: a virtual environment's name before the prompt
    if let Some(rest) = line.strip_prefix('(')
        && let Some(close) = rest.find(") ")
        && close > 0
        && !rest[..close].contains(['(', ' '])
    {
        let skip = 1 + close + 2;
        let after = &line[skip..];
        return prompt_len(after, console)
            .filter(|_| !after.starts_with("# ") && after != "#")
            .map(|n| skip + n);
    }
    if line == "$" || (console && line == "%") {
        return Some(line.len());
    }
    if line.starts_with("$ ") || (console && line.starts_with("% ")) {
        return Some(2);
    }
    // {local}$ cmd, {remote}$ cmd
    if let Some(rest) = line.strip_prefix('{')
        && let Some(close) = rest.find('}')
        && close > 0
        && rest[..close]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        let after = &rest[close + 1..];
        if after.starts_with("$ ") {
            return Some(1 + close + 1 + 2);
        }
        if after == "$" {
            return Some(line.len());
        }
    }
    // [user@host dir]$ cmd, [root@host ~]# cmd, [login1 ~]$ cmd
    if let Some(rest) = line.strip_prefix('[')
        && let Some(close) = rest.find(']')
        && close > 0
        && !rest[..close].contains('[')
        && !rest.starts_with(char::is_whitespace)
    {
        let at = rest[..close].contains('@');
        let after = &rest[close + 1..];
        if after.starts_with("$ ") || (at && after.starts_with("# ")) {
            return Some(1 + close + 1 + 2);
        }
        if after == "$" || (at && after == "#") {
            return Some(line.len());
        }
    }
    let word_end = line.find(char::is_whitespace).unwrap_or(line.len());
    let word = &line[..word_end];
    let skip_word = || {
        Some(if word_end < line.len() {
            word_end + 1
        } else {
            word_end
        })
    };
    // bash-4.2$ cmd, -bash-4.2$ cmd, sh-5.1# cmd, zsh$ cmd
    if let Some(body) = word.strip_suffix(['$', '#']) {
        let body = body.strip_prefix('-').unwrap_or(body);
        let (shell, version) = body.split_once('-').unwrap_or((body, ""));
        if matches!(shell, "bash" | "sh" | "zsh" | "ksh")
            && version.chars().all(|c| c.is_ascii_digit() || c == '.')
        {
            return skip_word();
        }
    }
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    };
    // a path as a prompt shows it: `~`, `~/dir`, `/dir`, without spaces
    let path_ok = |s: &str| s.is_empty() || s.starts_with(['~', '/']);
    // user@host:~/dir$ cmd, user@host:~/dir $ cmd
    if let Some(at) = word.find('@') {
        let user = &word[..at];
        if let Some(body) = word.strip_suffix(['$', '#']) {
            let (host, path) = body[at + 1..]
                .split_once(':')
                .unwrap_or((&body[at + 1..], ""));
            if name_ok(user) && name_ok(host) && path_ok(path) {
                return skip_word();
            }
        } else if name_ok(user) {
            let (host, path) = word[at + 1..]
                .split_once(':')
                .unwrap_or((&word[at + 1..], ""));
            if name_ok(host) && path_ok(path) {
                // user@host ~/dir $ cmd (the directory is optional)
                let mut pos = word_end;
                let mut rest = &line[pos..];
                for _ in 0..2 {
                    let trimmed = rest.trim_start_matches(' ');
                    pos += rest.len() - trimmed.len();
                    rest = trimmed;
                    if rest.starts_with("$ ") || rest.starts_with("# ") {
                        return Some(pos + 2);
                    }
                    if rest == "$" || rest == "#" {
                        return Some(line.len());
                    }
                    if !rest.starts_with(['~', '/']) {
                        break;
                    }
                    let w = rest.find(' ').unwrap_or(rest.len());
                    pos += w;
                    rest = &rest[w..];
                }
            }
        }
        return None;
    }
    // host$ cmd, host:~/dir$ cmd, ~/dir$ cmd, and macOS's `host:dir user$ cmd`
    if let Some(body) = word.strip_suffix('$') {
        let (host, path) = body.split_once(':').unwrap_or((body, ""));
        if (name_ok(host) && path_ok(path) && !host.starts_with('-')) || body.starts_with('~') {
            return skip_word();
        }
    }
    if let Some((host, path)) = word.split_once(':')
        && name_ok(host)
        && path_ok(path)
        && !path.is_empty()
    {
        let rest = &line[word_end..];
        let trimmed = rest.trim_start_matches(' ');
        let user_end = trimmed.find(' ').unwrap_or(trimmed.len());
        if let Some(user) = trimmed[..user_end].strip_suffix('$')
            && name_ok(user)
        {
            let pos = line.len() - trimmed.len() + user_end;
            return Some(if pos < line.len() { pos + 1 } else { pos });
        }
    }
    None
}

/// How a transcript's lines are told apart: which prompts it has.
#[derive(Debug, Clone, Copy)]
struct Prompts {
    console: bool,
}

impl Prompts {
    /// Whether `lines` are a transcript, and how its prompts look.
    ///
    /// A console-family block is one when any line starts with a prompt (a bare `# ` is a
    /// root prompt there). Any other block is one when its first line that is not blank
    /// and not a `#` comment starts with a `$`-style prompt, or when its first non-blank
    /// line is a root prompt `# COMMAND` and no other line of the block (comments aside)
    /// reads as shell: the rest is output. Outside console blocks a `# ` line is a root
    /// prompt only when what follows reads as a command ([`root_command`]).
    fn of(lines: &[CodeLine<'_>], console: bool) -> Option<Prompts> {
        let p = Prompts { console };
        if console {
            return lines.iter().any(|l| p.len(l.text).is_some()).then_some(p);
        }
        let mut nonblank = lines.iter().filter(|l| !l.text.trim().is_empty());
        let first = nonblank.clone().find(|l| {
            !l.text.starts_with('#') || prompt_len(l.text, false).is_some() || root_command(l.text)
        })?;
        if prompt_len(first.text, false).is_some() {
            return Some(p);
        }
        let first = nonblank.next()?;
        if !root_command(first.text) {
            return None;
        }
        let script = lines.iter().any(|l| {
            !l.text.starts_with('#') && !l.text.trim().is_empty() && shape(l.text) == Shape::Shell
        });
        (!script).then_some(p)
    }

    /// Length of the prompt that starts `line`, if it starts with one.
    fn len(&self, line: &str) -> Option<usize> {
        if let Some(n) = prompt_len(line, self.console) {
            return Some(n);
        }
        if line == "#" && self.console {
            return Some(1);
        }
        (line.starts_with("# ") && (self.console || root_command(line))).then_some(2)
    }
}

/// Words that start a `#` comment, not a root command (`# see /etc/hosts`, `# run ./x`).
const COMMENT_WORDS: &[&str] = &[
    "a",
    "after",
    "also",
    "an",
    "and",
    "before",
    "check",
    "do",
    "e.g.",
    "finally",
    "first",
    "for",
    "here",
    "i.e.",
    "if",
    "in",
    "it",
    "next",
    "note",
    "now",
    "on",
    "only",
    "optional",
    "optionally",
    "or",
    "replace",
    "run",
    "see",
    "should",
    "that",
    "the",
    "then",
    "these",
    "this",
    "to",
    "todo",
    "fixme",
    "use",
    "we",
    "when",
    "where",
    "with",
    "without",
    "you",
    "your",
];

/// `# COMMAND` where COMMAND reads as a command line rather than a comment: it reads as
/// shell, does not end like a sentence, does not start with a word comments start with,
/// and has something only commands have (an option `-x`, a path, `=`, `|`, `>`, `<`, `;`,
/// `&&`, `$`, `~`, `*` or a quote).
fn root_command(line: &str) -> bool {
    let Some(cmd) = line.strip_prefix("# ") else {
        return false;
    };
    let cmd = cmd.trim();
    let first = cmd.split_whitespace().next().unwrap_or("");
    if cmd.is_empty()
        || shape(cmd) != Shape::Shell
        || cmd.ends_with(['.', ':', '?', '!', ','])
        || COMMENT_WORDS.contains(&first.to_ascii_lowercase().as_str())
    {
        return false;
    }
    cmd.split_whitespace().skip(1).any(|w| {
        (w.starts_with('-') && w.len() > 1)
            || (w.contains('/') && !w.contains("://"))
            || w.contains(['=', '|', '>', '<', ';', '$', '~', '*', '"', '\''])
            || w == "&&"
    })
}

/// The command lines of a transcript, prompts removed, with their continuations: the lines
/// bash would read while waiting for more input ([`shell::Lexer::waiting`]: an open quote,
/// `\`, heredoc, `$(`, compound command, a trailing `|`/`&&`/`||`), a leading PS2 `> `
/// removed. Everything else is output.
fn transcript_commands<'a>(lines: &[CodeLine<'a>], prompts: Prompts) -> Vec<CodeLine<'a>> {
    let mut out = Vec::new();
    let mut lexer = shell::Lexer::default();
    for line in lines {
        let waiting = lexer.waiting();
        if waiting {
            let mut l = *line;
            if let Some(rest) = l.text.strip_prefix("> ") {
                l = CodeLine {
                    text: rest,
                    raw_off: l.raw_off + 2,
                };
            } else if l.text == ">" {
                l = CodeLine {
                    text: "",
                    raw_off: l.raw_off + 1,
                };
            } else if !lexer.continuing()
                && let Some(p) = prompts.len(line.text)
            {
                // a prompt where bash would still wait: the page's author typed on
                l = CodeLine {
                    text: &line.text[p..],
                    raw_off: line.raw_off + p,
                };
            }
            lexer.line(l.text, l.raw_off);
            out.push(l);
        } else if let Some(p) = prompts.len(line.text) {
            let l = CodeLine {
                text: &line.text[p..],
                raw_off: line.raw_off + p,
            };
            if l.text.trim().is_empty() {
                continue;
            }
            lexer.line(l.text, l.raw_off);
            out.push(l);
        }
    }
    out
}

/// Verdict on one command line of a block without a known language.
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    Shell,
    Neutral,
    NotShell(&'static str),
}

fn is_assignment(t: &str) -> bool {
    let Some(eq) = t.find('=') else {
        return false;
    };
    let name = t[..eq].strip_suffix('+').unwrap_or(&t[..eq]);
    let name = match name.find('[') {
        Some(b) if name.ends_with(']') => &name[..b],
        _ => name,
    };
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_command_word(tok: &str) -> bool {
    let tok = tok.trim_end_matches(';');
    if matches!(tok, "[" | "[[" | "(" | "((" | "{" | "!" | "." | ":") {
        return true;
    }
    // a subshell written against its first command: `(cd /tmp && ls)`
    if let Some(inner) = tok.strip_prefix('(')
        && !inner.starts_with('(')
    {
        return is_command_word(inner.trim_end_matches(')'));
    }
    if tok.starts_with('$') || tok.starts_with("\"$") {
        return true;
    }
    for prefix in ["/", "./", "../", "~/"] {
        if let Some(rest) = tok.strip_prefix(prefix) {
            return !rest.is_empty() && !rest.starts_with('/') && !rest.contains(':');
        }
    }
    let mut chars = tok.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
}

fn shape(line: &str) -> Shape {
    let t = line.trim();
    if t.is_empty()
        || matches!(
            t,
            "{" | "}"
                | "["
                | "]"
                | "};"
                | "},"
                | "],"
                | ")"
                | ";;"
                | "fi"
                | "done"
                | "esac"
                | "then"
                | "else"
                | "do"
                | "in"
        )
    {
        return Shape::Neutral;
    }
    if is_assignment(t) {
        return Shape::Shell;
    }
    let mut words = t.split_whitespace();
    let tok = words.next().unwrap_or("");
    let second = words.next();
    if t.starts_with('<') {
        return Shape::NotShell("looks like markup");
    }
    if t.starts_with('"') && t.contains("\":") {
        return Shape::NotShell("looks like JSON");
    }
    if t.starts_with("//") || t.starts_with("/*") {
        return Shape::NotShell("looks like a code comment");
    }
    if t.starts_with(|c: char| c.is_ascii_digit()) {
        return Shape::NotShell("starts with a number (output?)");
    }
    if t == "-" || t.starts_with("- ") {
        return Shape::NotShell("looks like a YAML list item");
    }
    if (tok.len() > 1 && tok.ends_with(':')) || is_yaml_key(t) {
        return Shape::NotShell("looks like `key: value` (YAML or output)");
    }
    if second == Some("=") && !matches!(tok, "[" | "[[" | "test") {
        return Shape::NotShell("looks like a `key = value` setting");
    }
    let is_ident = |w: &str| {
        w.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    };
    let function_def = tok
        .strip_suffix("()")
        .is_some_and(|name| is_ident(name) && matches!(second, None | Some("{")));
    if function_def || tok == "function" {
        return Shape::Shell;
    }
    if !matches!(tok, "[" | "[[" | "test") && t.split_whitespace().skip(1).take(3).any(|w| w == "=")
    {
        return Shape::NotShell("looks like an assignment with spaces (not shell)");
    }
    if tok.starts_with('$') && tok.contains('=') {
        return Shape::NotShell("`$NAME=` is not an assignment");
    }
    if second.is_none()
        && (tok.starts_with(['/', '$']) || tok.starts_with("~/"))
        && tok.contains('/')
    {
        return Shape::NotShell("is a path on its own");
    }
    if second == Some("{") {
        return Shape::NotShell("looks like a `name {` block");
    }
    if t.ends_with(':') {
        return Shape::NotShell("ends with `:`");
    }
    if t.ends_with(';') && t.contains('(') {
        return Shape::NotShell("looks like a C-like statement");
    }
    if tok
        .rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && FILE_EXTENSIONS.contains(&ext))
        && !tok.contains('/')
    {
        return Shape::NotShell("starts with a file name (output?)");
    }
    if is_command_word(tok) {
        let words: Vec<&str> = t.split_whitespace().collect();
        let plain = words.iter().all(|w| {
            w.trim_end_matches(['.', ','])
                .chars()
                .all(|c| c.is_alphabetic() || c == '\'')
        });
        if words.len() >= 3 && t.ends_with('.') && plain {
            return Shape::NotShell("reads as a sentence");
        }
        return Shape::Shell;
    }
    if tok.starts_with(|c: char| c.is_uppercase()) {
        return Shape::NotShell("starts with a capitalised word (prose or output)");
    }
    if tok.contains("://") {
        return Shape::NotShell("starts with a URL");
    }
    if tok.contains('/') {
        return Shape::NotShell("starts with a relative path, not a command");
    }
    Shape::NotShell("first word is not a command")
}

/// Extensions of files that a listing shows and no one runs as a command (`notes.txt`).
const FILE_EXTENSIONS: &[&str] = &[
    "txt", "csv", "tsv", "dat", "out", "err", "log", "md", "pdf", "png", "jpg", "jpeg", "gif",
    "svg", "html", "json", "yaml", "yml", "xml", "tar", "gz", "tgz", "zip", "bz2", "xz", "fastq",
    "fq", "fasta", "fa", "bam", "sam", "vcf", "pdb", "nc", "h5", "hdf5", "npy", "cfg", "conf",
    "ini", "doc", "docx", "xlsx", "sh", "py", "c", "h", "cpp", "f90", "o",
];

/// `key: value` with a simple key (letters, digits, `_ - .`, spaces inside).
fn is_yaml_key(t: &str) -> bool {
    let Some(colon) = t.find(": ") else {
        return false;
    };
    let key = &t[..colon];
    !key.is_empty()
        && !key.starts_with(char::is_whitespace)
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '))
        && !key.contains("  ")
        && key.split(' ').count() <= 3
}

/// How the command lines of a block read: how many read as shell, how many do not, and the
/// first that does not (its input line and why).
struct Tally {
    shell: usize,
    bad: usize,
    first_bad: Option<(usize, &'static str)>,
}

/// `lenient` (for blocks labelled as shell): a line whose first word is a plausible command
/// reads as shell unless bash would refuse it or it reads as a sentence or starts with a
/// file name (`openssl x509 ... | grep Subject:` is a command, though it ends with `:`).
fn tally(
    block: &CodeBlock,
    lines: &[CodeLine<'_>],
    scanned: &[shell::LineInfo],
    index: &LineIndex,
    lenient: bool,
) -> Tally {
    let mut t = Tally {
        shell: 0,
        bad: 0,
        first_bad: None,
    };
    for (line, info) in lines.iter().zip(scanned) {
        if !info.starts_command || info.heredoc {
            continue;
        }
        let text = match info.comment {
            Some(at) => &line.text[..at],
            None => line.text,
        };
        let verdict = match shape(text) {
            _ if info.stray_paren.is_some() => {
                Shape::NotShell("has a `(` among its arguments, which bash refuses (output?)")
            }
            Shape::NotShell(why)
                if lenient
                    && is_command_word(text.split_whitespace().next().unwrap_or(""))
                    && !matches!(
                        why,
                        "reads as a sentence" | "starts with a file name (output?)"
                    ) =>
            {
                Shape::Shell
            }
            v => v,
        };
        match verdict {
            Shape::Shell => t.shell += 1,
            Shape::Neutral => {}
            Shape::NotShell(reason) => {
                t.bad += 1;
                if t.first_bad.is_none() {
                    let off = block.source_offset(line.raw_off);
                    t.first_bad = Some((index.line(off), reason));
                }
            }
        }
    }
    t
}

/// Scheduler directives that make a `#!` script a job script (Slurm, PBS/Torque, SGE, LSF,
/// Cobalt, Moab, LoadLeveler, OAR, Flux).
const JOB_DIRECTIVES: &[&str] = &[
    "#SBATCH", "#PBS", "#$ ", "#BSUB", "#COBALT", "#MSUB", "#@", "# @", "#OAR", "#FLUX",
];

/// Whether a block is a file's content shown to be saved rather than commands to run, and
/// why: it starts with `#!` and holds scheduler directives (a job script), or the prose
/// before it asks to save it as a file (see [`saved_file_name`]) that the block itself does
/// not name (a block naming it, `nano job.sh`, `sbatch job.sh`, is what to do with it).
fn file_contents(lines: &[CodeLine<'_>], prose: &str) -> Option<String> {
    let first = lines.iter().find(|l| !l.text.trim().is_empty())?;
    if first.text.starts_with("#!")
        && let Some(d) = lines.iter().find_map(|l| {
            let t = l.text.trim_start();
            JOB_DIRECTIVES
                .iter()
                .find(|d| t.starts_with(**d))
                .map(|d| d.trim())
        })
    {
        return Some(format!(
            "starts with `#!` and holds `{d}` directives: a job script's content, to be saved"
        ));
    }
    let name = saved_file_name(prose)?;
    let base = name.rsplit('/').next().unwrap_or(&name);
    // (the code is joined only here: most prose names no file)
    let code = lines.iter().map(|l| l.text).collect::<Vec<_>>().join("\n");
    if code.contains(base) {
        return None;
    }
    Some(format!(
        "the text before it asks to save it as `{name}`: a file's content"
    ))
}

/// Whether `c` is a quote, a bracket or punctuation around a word of prose.
fn around_word(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '`' | '(' | ')' | '[' | ']' | '{' | '}' | ',' | ':' | ';' | '!' | '?' | '*'
    )
}

/// The file the prose before a block asks to save it as: a file name (`job.sh`, `~/x.py`,
/// `.bashrc`) in a text that says to save, paste, or write contents, or to create, write,
/// open or edit a file or script ("Save this as job.sh:", "Create a file called run.sh
/// containing:").
fn saved_file_name(prose: &str) -> Option<String> {
    let lower = prose.to_lowercase();
    // every word `asks` looks for below holds one of these: most prose holds none, and is
    // not cut into words
    const CUES: &[&str] = &["sav", "paste", "cont", "file", "script"];
    if !CUES.iter().any(|c| lower.contains(c)) {
        return None;
    }
    let words: Vec<&str> = lower
        .split_whitespace()
        .map(|w| w.trim_matches(around_word))
        .collect();
    let has = |set: &[&str]| words.iter().any(|w| set.contains(&w.trim_end_matches('.')));
    let asks = has(&[
        "save",
        "saved",
        "saving",
        "paste",
        "contents",
        "content",
        "containing",
    ]) || (has(&[
        "create", "write", "open", "edit", "make", "new", "put", "add", "type", "copy", "insert",
    ]) && has(&["file", "script"]));
    if !asks {
        return None;
    }
    words.iter().find_map(|w| {
        let w = w.trim_end_matches('.');
        if w.contains("://") || matches!(w, "e.g" | "i.e" | "etc") {
            return None;
        }
        let base = w.rsplit('/').next().unwrap_or(w);
        let (stem, ext) = base.rsplit_once('.')?;
        let name_ok = |s: &str| {
            s.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        };
        let file = !ext.is_empty()
            && ext.len() <= 8
            && ext.chars().all(|c| c.is_ascii_alphanumeric())
            && !ext.chars().all(|c| c.is_ascii_digit())
            && name_ok(stem)
            && w.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '~'));
        file.then(|| prose_case(prose, w))
    })
}

/// `word` (found in the lowercased `prose`) as the prose writes it.
fn prose_case(prose: &str, word: &str) -> String {
    let lower = prose.to_lowercase();
    match lower.find(word) {
        Some(i) if lower.len() == prose.len() => prose[i..i + word.len()].to_string(),
        _ => word.to_string(),
    }
}

#[allow(clippy::too_many_arguments)]
fn decide(
    block: &CodeBlock,
    transcript: bool,
    lines: &[CodeLine<'_>],
    scanned: &[shell::LineInfo],
    opts: &ModelOptions,
    index: &LineIndex,
    prose: &str,
) -> (bool, String) {
    if let Some(v) = block.attrs.get("runbook") {
        match v.to_ascii_lowercase().as_str() {
            "run" | "yes" | "true" => return (true, format!("attribute runbook={v}")),
            "skip" | "no" | "false" => return (false, format!("attribute runbook={v}")),
            _ => {}
        }
    }
    if transcript && lines.iter().all(|l| l.text.trim().is_empty()) {
        return (
            false,
            "a transcript without a command after its prompts (a bare `$`)".into(),
        );
    }
    let prefix = match block.lang.as_deref() {
        Some(l) if SHELL_LANGS.contains(&l) => {
            if transcript {
                return (true, format!("language `{l}`"));
            }
            if let Some(reason) = file_contents(lines, prose) {
                return (false, format!("language `{l}`, but {reason}"));
            }
            let t = tally(block, lines, scanned, index, true);
            if t.shell == 0 {
                return match t.first_bad {
                    Some((line, reason)) => (
                        false,
                        format!(
                            "language `{l}`, but no line reads as shell: output, not commands (line {line} {reason})"
                        ),
                    ),
                    None => (
                        false,
                        format!("language `{l}`, but it holds no command (only comments)"),
                    ),
                };
            }
            return (true, format!("language `{l}`"));
        }
        Some(l) if NON_SHELL_LANGS.contains(&l) => {
            return (false, format!("language `{l}` is not shell"));
        }
        Some(l) => format!("unknown language `{l}`; "),
        None => {
            if let Some(d) = opts.default_runnable {
                return (d, format!("no language; front matter default_runnable={d}"));
            }
            String::from("no language; ")
        }
    };
    if !transcript && lines.first().is_some_and(|l| l.text.starts_with("#!")) {
        return (
            false,
            format!("{prefix}starts with `#!`: a script file's content"),
        );
    }
    if !transcript && let Some(reason) = file_contents(lines, prose) {
        return (false, format!("{prefix}{reason}"));
    }
    let what = if transcript {
        "commands after a prompt"
    } else {
        "command lines"
    };
    let Tally {
        shell,
        bad,
        first_bad,
    } = tally(block, lines, scanned, index, false);
    if shell > 0 && shell * 5 >= (shell + bad) * 4 {
        let total = shell + bad;
        (
            true,
            format!("{prefix}{shell} of {total} {what} read as shell"),
        )
    } else if let Some((line, reason)) = first_bad {
        (
            false,
            format!("{prefix}does not read as shell (line {line} {reason})"),
        )
    } else {
        (false, format!("{prefix}no {what}"))
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

    fn seed() -> (String, Runbook) {
        let src = fixture("seed/golden/infrastructure-mesos.markdown");
        let rb = build(&src, &ModelOptions::default());
        (src, rb)
    }

    fn one(md: &str) -> Step {
        let rb = build(md, &ModelOptions::default());
        let steps: Vec<_> = rb.steps().cloned().collect();
        assert_eq!(steps.len(), 1, "{steps:#?}");
        steps.into_iter().next().unwrap()
    }

    fn names(step: &Step) -> Vec<&str> {
        step.placeholders.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn seed_sections_and_steps() {
        let (_, rb) = seed();
        let summary: Vec<(&str, usize, usize)> = rb
            .sections
            .iter()
            .map(|s| {
                let manual = s.steps.iter().filter(|st| st.is_manual()).count();
                (s.id.as_str(), s.steps.len() - manual, manual)
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("cluster-architecture-description", 0, 0),
                ("useful-recipes", 0, 0),
                ("setting-up-the-openstack-environment", 1, 0),
                ("creating-a-master", 2, 1),
                ("creating-a-slave", 4, 1),
                ("deleting-a-slave", 1, 3),
                ("rebooting-a-slave", 1, 0),
            ]
        );
        let master = rb.section("creating-a-master").unwrap();
        assert_eq!(master.title, "Creating a master");
        assert_eq!(master.level, 3);
        assert_eq!(master.line, 65);
        // the code blocks' ids are those they had before manual steps existed
        let ids: Vec<&str> = rb
            .steps()
            .filter(|s| s.kind == StepKind::Code)
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(
            ids,
            vec![
                "setting-up-the-openstack-environment-1",
                "creating-a-master-1",
                "creating-a-master-2",
                "creating-a-slave-1",
                "creating-a-slave-2",
                "creating-a-slave-3",
                "creating-a-slave-4",
                "deleting-a-slave-1",
                "rebooting-a-slave-1",
            ]
        );
        assert!(rb.steps().enumerate().all(|(i, s)| s.index == i));
        // Every block of the seed page is a shell recipe.
        for s in rb.steps().filter(|s| s.kind == StepKind::Code) {
            assert!(s.runnable, "{} not runnable: {}", s.id, s.why);
            assert_eq!(s.lang, None);
            assert_eq!(s.code, s.raw);
        }
    }

    #[test]
    fn seed_deleting_a_slave_has_manual_steps() {
        let (src, rb) = seed();
        let steps = &rb.section("deleting-a-slave").unwrap().steps;
        let summary: Vec<(&str, StepKind, &str, &str)> = steps
            .iter()
            .map(|s| (s.id.as_str(), s.kind, s.prose.as_str(), s.code.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "deleting-a-slave-m1",
                    StepKind::Manual,
                    "Login to aiadm.cern.ch.",
                    ""
                ),
                (
                    "deleting-a-slave-1",
                    StepKind::Code,
                    "Set up your OpenStack environment by doing:",
                    "eval $(ai-rc \"ALICE Release Testing\")\n"
                ),
                (
                    "deleting-a-slave-m2",
                    StepKind::Manual,
                    "Delete the machine with ai-kill-vm <alibuildXX>",
                    "ai-kill-vm <alibuildXX>"
                ),
                (
                    "deleting-a-slave-m3",
                    StepKind::Manual,
                    "Delete the previously attached volumes.",
                    ""
                ),
            ]
        );
        // page order across the page; the code step keeps its index order
        let indexes: Vec<usize> = steps.iter().map(|s| s.index).collect();
        assert!(indexes.windows(2).all(|w| w[1] == w[0] + 1));
        let login = &steps[0];
        assert!(!login.runnable && login.inline.is_none() && login.placeholders.is_empty());
        assert_eq!(login.lines, (142, 142));
        let kill = &steps[2];
        assert!(!kill.runnable);
        assert_eq!(
            kill.inline,
            Some(InlineCommand {
                line: 146,
                column: 28,
                because: InlineBecause::Placeholder
            })
        );
        assert_eq!(
            kill.placeholders,
            vec![Placeholder {
                name: "alibuildXX".into(),
                line: 146,
                column: 39,
                assigned_to: None,
                hint: None,
            }]
        );
        assert_eq!(&src.lines().nth(145).unwrap()[38..50], "<alibuildXX>");
        assert!(kill.why.contains("it holds a placeholder"), "{}", kill.why);
        assert!(steps[3].inline.is_none());
        // the other recipes' "Login to" items are manual too; the "To spawn" items hold code
        let manual: Vec<&str> = rb
            .steps()
            .filter(|s| s.is_manual())
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(
            manual,
            [
                "creating-a-master-m1",
                "creating-a-slave-m1",
                "deleting-a-slave-m1",
                "deleting-a-slave-m2",
                "deleting-a-slave-m3"
            ]
        );
        // lists of links and of `openstack ...` commands hold no runnable block: no steps
        assert!(
            rb.section("cluster-architecture-description")
                .unwrap()
                .steps
                .is_empty()
        );
        assert_eq!(
            rb.section("setting-up-the-openstack-environment")
                .unwrap()
                .steps
                .len(),
            1
        );
    }

    #[test]
    fn manual_steps_in_lists_of_steps_only() {
        let md = "# Do\n\nSee:\n\n- [docs](https://x)\n- `ls` for files\n\n1. Edit the file `foo.conf`.\n2. Run:\n\n   ```bash\n   systemctl restart foo\n   ```\n3. Check with `systemctl status foo`, then `cat x`.\n4. Tell the team\n   - by mail\n   - on chat:\n     ```bash\n     chat-send <channel> done\n     ```\n5. ```yaml\n   a: 1\n   ```\n\n```text\nnot run\n```\n\n- an item beside a block that does not run\n\n  ```yaml\n  b: 2\n  ```\n";
        let rb = build(md, &ModelOptions::default());
        let got: Vec<(&str, StepKind, &str, &str)> = rb
            .steps()
            .map(|s| (s.id.as_str(), s.kind, s.prose.as_str(), s.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                // `foo.conf` is not a command
                ("do-m1", StepKind::Manual, "Edit the file foo.conf.", ""),
                ("do-1", StepKind::Code, "Run:", "systemctl restart foo\n"),
                // run elsewhere on the page: the first span that is a command
                (
                    "do-m2",
                    StepKind::Manual,
                    "Check with systemctl status foo, then cat x.",
                    "systemctl status foo"
                ),
                // holds code at depth: not manual; its nested list has a runnable block
                ("do-m3", StepKind::Manual, "by mail", ""),
                (
                    "do-2",
                    StepKind::Code,
                    "on chat:",
                    "chat-send <channel> done\n"
                ),
                // item 5 holds a (not runnable) block: not manual
                ("do-3", StepKind::Code, "on chat:", "a: 1\n"),
                ("do-4", StepKind::Code, "on chat:", "not run\n"),
                (
                    "do-5",
                    StepKind::Code,
                    "an item beside a block that does not run",
                    "b: 2\n"
                ),
            ]
        );
        let check = rb.step("do-m2").unwrap();
        assert_eq!(
            check.inline.as_ref().map(|i| (i.because, i.line, i.column)),
            Some((InlineBecause::Page, 14, 16))
        );
        assert!(
            check.why.contains("step do-1 runs `systemctl`"),
            "{}",
            check.why
        );
        assert!(rb.steps().enumerate().all(|(i, s)| s.index == i));
    }

    #[test]
    fn a_manual_item_says_what_its_nested_list_says() {
        let md = "1. Run:\n\n       echo hi\n\n2. Make sure that you:\n   - ping it\n   - run `sh -c true` until it works\n\n     twice\n3. Done\n";
        let rb = build(md, &ModelOptions::default());
        let manual: Vec<(&str, &str, usize, usize)> = rb
            .steps()
            .filter(|s| s.is_manual())
            .map(|s| (s.prose.as_str(), s.code.as_str(), s.lines.0, s.lines.1))
            .collect();
        assert_eq!(
            manual,
            [
                (
                    "Make sure that you: - ping it - run sh -c true until it works twice",
                    "sh -c true",
                    5,
                    9
                ),
                ("Done", "", 10, 10),
            ]
        );
    }

    #[test]
    fn inline_commands_on_path_and_not() {
        let md = "- Look with `sh -c true` or `nosuchcommand-xyz --all`\n- `<host>` is yours; run `nosuchcommand-xyz <host>`\n- Replace `<name>`\n- Run:\n\n      echo hi\n";
        let rb = build(md, &ModelOptions::default());
        let inline: Vec<(&str, Option<InlineBecause>)> = rb
            .steps()
            .filter(|s| s.is_manual())
            .map(|s| (s.code.as_str(), s.inline.as_ref().map(|i| i.because)))
            .collect();
        assert_eq!(
            inline,
            [
                ("sh -c true", Some(InlineBecause::Path)),
                ("nosuchcommand-xyz <host>", Some(InlineBecause::Placeholder)),
                // a placeholder alone is not a command
                ("", None),
            ]
        );
        assert_eq!(rb.sections[0].id, "top");
    }

    #[test]
    fn seed_eval_blocks_and_prose() {
        let (_, rb) = seed();
        let s = rb.step("creating-a-master-1").unwrap();
        assert_eq!(s.code, "eval $(ai-rc \"ALICE Release Testing\")\n");
        assert_eq!(s.lines, (74, 74));
        assert_eq!(s.prose, "Set up your OpenStack environment by doing:");
        assert!(s.runnable);
        assert_eq!(s.why, "no language; 1 of 1 command lines read as shell");
        let s = rb.step("setting-up-the-openstack-environment-1").unwrap();
        assert_eq!(s.code, "eval $(ALICE)\n");
        assert!(s.runnable);
        assert!(
            s.prose
                .ends_with("obtain the OpenStack credentials by doing:")
        );
        let s = rb.step("creating-a-slave-3").unwrap();
        assert_eq!(
            s.prose,
            "Create a data volume which will be used as build scratch space and for build artifacts:"
        );
        assert!(s.placeholders.is_empty());
        let s = rb.step("rebooting-a-slave-1").unwrap();
        assert_eq!(
            s.code,
            "  eval $(ai-rc \"ALICE Release Testing\")\n  openstack server reboot --hard <slave name>\n"
        );
        assert_eq!(s.why, "no language; 2 of 2 command lines read as shell");
    }

    #[test]
    fn seed_placeholders() {
        let (src, rb) = seed();
        let s = rb.step("creating-a-master-2").unwrap();
        assert_eq!(s.lines, (79, 91));
        assert_eq!(
            s.placeholders,
            vec![
                Placeholder {
                    name: "alimesosXX".into(),
                    line: 79,
                    column: 20,
                    assigned_to: Some("MACHINE_NAME".into()),
                    hint: None,
                },
                Placeholder {
                    name: "X".into(),
                    line: 80,
                    column: 24,
                    assigned_to: Some("ZONE".into()),
                    hint: Some("<X> needs to be in {a,b,c}".into()),
                },
            ]
        );
        // Line and column point at the `<` in the input.
        let line = src.lines().nth(79).unwrap();
        assert_eq!(&line[23..26], "<X>");
        let s = rb.step("creating-a-slave-2").unwrap();
        assert_eq!(names(s), vec!["alibuildXX"]);
        assert_eq!(
            s.placeholders[0].assigned_to.as_deref(),
            Some("MACHINE_NAME")
        );
        assert_eq!(
            (s.placeholders[0].line, s.placeholders[0].column),
            (106, 20)
        );
        let s = rb.step("rebooting-a-slave-1").unwrap();
        assert_eq!(
            s.placeholders,
            vec![Placeholder {
                name: "slave name".into(),
                line: 156,
                column: 38,
                assigned_to: None,
                hint: None,
            }]
        );
    }

    #[test]
    fn console_block_with_prompts_and_output() {
        let md = "Check it:\n\n```console\n$ ls -l \\\n>   /tmp\ntotal 0\n$ cat <<EOF > f\n> a <b> c\n> EOF\n# apt-get install foo\nE: some output\n$\n```\n";
        let s = one(md);
        assert!(s.runnable);
        assert_eq!(s.why, "language `console`");
        assert_eq!(
            s.code,
            "ls -l \\\n  /tmp\ncat <<EOF > f\na <b> c\nEOF\napt-get install foo\n"
        );
        assert!(s.placeholders.is_empty(), "{:?}", s.placeholders);
        assert_eq!(s.prose, "Check it:");
        assert_eq!(s.lines, (3, 13));

        // A client guide: a bash block with a prompt and output.
        let src = fixture("pages/job-client.md");
        let rb = build(&src, &ModelOptions::default());
        let s = rb
            .steps()
            .find(|s| s.raw.starts_with("$ skyq-admin"))
            .unwrap();
        assert_eq!(s.code, "skyq-admin show-config main\n");
        assert!(s.runnable);
        // Unlabelled indented transcript with indented output lines.
        let s = rb
            .steps()
            .find(|s| s.raw.starts_with("$ skyq job create"))
            .unwrap();
        assert_eq!(
            s.code,
            "skyq job create main/demo/devel/sleepy sleepy.skyq\n"
        );
        assert!(s.runnable, "{}", s.why);
        assert_eq!(
            s.why,
            "no language; 1 of 1 commands after a prompt read as shell"
        );
        // Program output in an unlabelled block is not runnable, but its placeholder is listed.
        let s = rb
            .steps()
            .find(|s| s.raw.starts_with("Credentials cache"))
            .unwrap();
        assert!(!s.runnable);
        assert!(
            s.why.contains("line 23 looks like `key: value`"),
            "{}",
            s.why
        );
        assert_eq!(names(s), vec!["your-cern-user-name"]);
        // A file path alone is not a command.
        let s = rb
            .steps()
            .find(|s| s.raw == "skyq-jobs/examples/sleepy.skyq\n")
            .unwrap();
        assert!(!s.runnable);
        let json = rb
            .steps()
            .find(|s| s.lang.as_deref() == Some("json"))
            .unwrap();
        assert!(!json.runnable);
        assert_eq!(json.why, "language `json` is not shell");
    }

    #[test]
    fn bracket_prompts_in_lesson() {
        let src = fixture("pages/queue-lesson.md");
        let rb = build(&src, &ModelOptions::default());
        let s = rb
            .steps()
            .find(|s| s.raw.contains("nano greet-job.sh"))
            .unwrap();
        assert_eq!(s.lang.as_deref(), Some("bash"));
        assert!(s.runnable);
        assert_eq!(
            s.code,
            "nano greet-job.sh\nchmod u+x greet-job.sh\ncat greet-job.sh\n"
        );
        let out = rb
            .steps()
            .find(|s| s.raw == "Submitted batch job 4127\n")
            .unwrap();
        assert!(!out.runnable);
        assert_eq!(out.why, "language `output` is not shell");
        // Every `.bash` block runs; no `.output` block does.
        assert!(
            rb.steps()
                .filter(|s| s.lang.as_deref() == Some("bash"))
                .all(|s| s.runnable)
        );
        assert!(
            rb.steps()
                .filter(|s| s.lang.as_deref() == Some("output"))
                .all(|s| !s.runnable)
        );
        // The script body `#!/bin/bash ... echo` in an `.output` block is not a step to run.
        let script = rb
            .steps()
            .find(|s| s.raw.starts_with("#!/bin/bash"))
            .unwrap();
        assert!(!script.runnable);
    }

    #[test]
    fn html_comment_blocks_are_not_steps() {
        let md = "# Title\n\n<!--\nOld way:\n\n```bash\nrm -rf /old\n```\n-->\n\nNew way:\n\n```bash\nls /new\n```\n";
        let rb = build(md, &ModelOptions::default());
        let steps: Vec<_> = rb.steps().collect();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].code, "ls /new\n");
        assert_eq!(steps[0].id, "title-1");
        assert_eq!(steps[0].prose, "New way:");
    }

    #[test]
    fn heredoc_bodies_have_placeholders_but_not_markup() {
        let md = "```bash\ncat << EOF > /etc/apt/sources.list.d/<repo>.list\ndeb [arch=amd64] https://apt.example <codename> main\n<not-a-placeholder>\nEOF\ncat <<-'END' | tee x\n\t<nor-this>\n\tEND\ngrep -q x <<< \"<here>\"\necho <after>\n```\n";
        let s = one(md);
        // a `<...>` in a heredoc body is written to the file as it is: the reader fills it in
        assert_eq!(
            names(&s),
            vec![
                "repo",
                "codename",
                "not-a-placeholder",
                "nor-this",
                "here",
                "after"
            ]
        );
        assert!(s.runnable);
        let s = one(
            "```bash\ncat > index.html <<EOF\n<html>\n<site-header>\n</site-header>\n<p>Owner: <owner name></p>\nEOF\n```\n",
        );
        assert_eq!(names(&s), vec!["owner name"]);
        // A page's recipe: heredocs in a fenced block inside a numbered list item, one
        // writing an apt source with `<...>` in a comment, one a config with a Nomad template.
        let md = r#"## Setting up a worker outside the cloud

1. Add the vendor's package repository and the agent's configuration:
   ```bash
   curl -fsSL https://pkg.example.org/key.asc | gpg --dearmor -o /usr/share/keyrings/example.gpg
   cat << EOF > /etc/apt/sources.list.d/example.list
   # Added on <date> by <your name>.
   deb [signed-by=/usr/share/keyrings/example.gpg] https://pkg.example.org/apt $(lsb_release -cs) main
   EOF
   cat > /etc/example/agent.hcl <<'EOF'
   name     = "{{ env "attr.unique.hostname" }}"
   data_dir = "<data dir>"
   EOF
   apt update
   apt install example-agent
   ```
2. Start the agent:
   ```bash
   systemctl enable --now example-agent
   ```
"#;
        let rb = build(md, &ModelOptions::default());
        let s = rb
            .steps()
            .find(|s| {
                s.raw
                    .contains("cat << EOF > /etc/apt/sources.list.d/example.list")
            })
            .unwrap();
        assert!(s.runnable);
        // `#` starts no comment in a heredoc body: `<date>` goes into the file as it is
        assert_eq!(names(s), vec!["date", "your name", "data dir"]);
        assert!(s.placeholders.iter().all(|p| p.hint.is_none()));
    }

    #[test]
    fn redirections_are_not_placeholders() {
        let s = one(
            "```bash\nmake 2>&1 | tee log\nsort < file.txt > out\nwc -l <input.txt\ndiff <(ls a) <(ls b)\nexec 3<>/dev/tcp/h/80\ncat 0<&3\nsort <in.txt>out.txt\n[ $a -lt 3 ] && echo ok\n```\n",
        );
        assert!(s.placeholders.is_empty(), "{:?}", s.placeholders);
        let s = one(
            "```bash\necho '<b>bold</b>' \"<br/>\" '<i>'\nssh <user>@<host>.cern.ch # <user> is your login\ncurl -H 'Authorization: Bearer <token>' <url>/api\ncp <path/to/src> <dest dir>/\n```\n",
        );
        assert_eq!(
            names(&s),
            vec!["user", "host", "token", "url", "path/to/src", "dest dir"]
        );
        assert_eq!(
            s.placeholders[0].hint.as_deref(),
            Some("<user> is your login")
        );
        assert_eq!(
            s.placeholders[1].hint.as_deref(),
            Some("<user> is your login")
        );
        assert_eq!((s.placeholders[0].line, s.placeholders[0].column), (3, 5));
        assert_eq!(s.placeholders[0].assigned_to, None);
        let s = one("```sh\nexport TOKEN=\"<api token>\" OTHER=<x>\nFOO=bar cmd <arg>\n```\n");
        let got: Vec<_> = s
            .placeholders
            .iter()
            .map(|p| (p.name.as_str(), p.assigned_to.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("api token", Some("TOKEN")),
                ("x", Some("OTHER")),
                ("arg", None)
            ]
        );
    }

    #[test]
    fn runnable_rules() {
        // Languages.
        for (lang, run) in [
            ("bash", true),
            ("sh", true),
            ("shell", true),
            ("zsh", true),
            ("yaml", false),
            ("python", false),
            ("hcl", false),
            ("text", false),
        ] {
            let s = one(&format!("```{lang}\nls\n```\n"));
            assert_eq!(s.runnable, run, "{lang}: {}", s.why);
            assert_eq!(s.lang.as_deref(), Some(lang));
        }
        // Attributes win over the language.
        let s = one("```bash {runbook=skip}\nrm -rf /\n```\n");
        assert!(!s.runnable);
        assert_eq!(s.why, "attribute runbook=skip");
        let s = one("```{.yaml runbook=run}\nkey: value\n```\n");
        assert!(s.runnable);
        let s = one("```\nls\n```\n{: .bash runbook=skip}\n");
        assert!(!s.runnable);
        assert_eq!(s.lang.as_deref(), Some("bash"));
        // Shape test on unlabelled blocks.
        assert!(!one("    name: foo\n    image: bar\n").runnable);
        assert!(!one("```\n{\n  \"a\": 1\n}\n```\n").runnable);
        assert!(!one("```\n<div class=\"x\">hi</div>\n```\n").runnable);
        assert!(!one("```\nThis is just some text.\n```\n").runnable);
        assert!(!one("```\nresource \"x\" \"y\" {\n  a = 1\n}\n```\n").runnable);
        assert!(!one("```\nhttps://example.org/page\n```\n").runnable);
        assert!(one("```\n# comment\nexport A=1\n./configure --prefix=/x && make\nsudo make install\n```\n").runnable);
        assert!(one("```\nfor f in *; do\n  echo \"$f\"\ndone\n```\n").runnable);
        // An unknown language falls back to the shape test.
        let s = one("```open\nopen https://ca.cern.ch/x?a=b\n```\n");
        assert!(s.runnable);
        assert!(s.why.starts_with("unknown language `open`"), "{}", s.why);
        let s = one("```fundamental\nScheduler dry-run:\n- WARNING: x\n```\n");
        assert!(!s.runnable);
        // Front matter default for unlabelled blocks only.
        let force = ModelOptions {
            default_runnable: Some(false),
        };
        let rb = build("    ls\n\n```bash\nls\n```\n", &force);
        let runs: Vec<bool> = rb.steps().map(|s| s.runnable).collect();
        assert_eq!(runs, vec![false, true]);
        assert_eq!(rb.sections[0].id, "top");
        let force = ModelOptions {
            default_runnable: Some(true),
        };
        assert!(
            build("    Some output\n", &force)
                .steps()
                .all(|s| s.runnable)
        );
    }

    #[test]
    fn duplicate_section_ids_and_top() {
        let md = "```bash\nls\n```\n\n# Top\n\n    pwd\n\n## Setup\n\n    a\n\n## Setup\n\n    b\n\nthen\n\n    c\n";
        let rb = build(md, &ModelOptions::default());
        let ids: Vec<&str> = rb.sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, vec!["top", "top-1", "setup", "setup-1"]);
        let steps: Vec<&str> = rb.steps().map(|s| s.id.as_str()).collect();
        assert_eq!(
            steps,
            vec!["top-1", "top-1-1", "setup-1", "setup-1-1", "setup-1-2"]
        );
        // Without steps before the first heading there is no `top` section.
        let rb = build("intro\n\n# Top\n\n    ls\n", &ModelOptions::default());
        assert_eq!(rb.sections[0].id, "top");
        assert_eq!(rb.sections.len(), 1);
    }

    #[test]
    fn ps2_lines_continue_a_command_while_bash_waits() {
        let s = one(
            "```bash\n$ for f in *.dat\n> do\n>   echo $f\n> done\na.dat\n$ if [ -e x ]; then\n>   cat x |\n>   wc -l\n> fi\n3\n$ ls |\n> sort\n> not a continuation\n$ case $1 in\n>   a) echo a ;;\n> esac\n$ f() {\n>   echo hi\n> }\n```\n",
        );
        assert_eq!(
            s.code,
            "for f in *.dat\ndo\n  echo $f\ndone\nif [ -e x ]; then\n  cat x |\n  wc -l\nfi\nls |\nsort\ncase $1 in\n  a) echo a ;;\nesac\nf() {\n  echo hi\n}\n"
        );
        // each line of the command knows its line in the page
        assert_eq!(s.code_lines[..4], [2, 3, 4, 5]);
        assert_eq!(s.code_lines[8..10], [12, 13]);
        // a prompt typed where bash still waits, and continuation lines without `> `
        let s = one("```console\n$ for i in 1 2\n$ do echo $i\n  done\n1\n2\n```\n");
        assert_eq!(s.code, "for i in 1 2\ndo echo $i\n  done\n");
        // output that starts with `>` after a finished command stays output
        let s = one("```bash\n$ echo '> quoted'\n> quoted\n```\n");
        assert_eq!(s.code, "echo '> quoted'\n");
    }

    #[test]
    fn a_comment_before_the_first_prompt_keeps_the_transcript() {
        let s = one("```bash\n# where are we?\n\n$ pwd\n/home/learner\n```\n");
        assert_eq!(s.code, "pwd\n");
        assert!(s.runnable);
        // the same in an unlabelled block
        let s = one("```\n# see what is running\n$ ps ux\nUSER PID\n```\n");
        assert_eq!(s.code, "ps ux\n");
        assert!(s.runnable, "{}", s.why);
        // a script with comments is not a transcript
        let s = one("```bash\n# set up\nexport A=1\necho $A\n```\n");
        assert_eq!(s.code, "# set up\nexport A=1\necho $A\n");
    }

    #[test]
    fn prompts_people_write() {
        for (line, cmd) in [
            ("(env) [user@host ~]$ ls -l", "ls -l"),
            ("(base) $ conda list", "conda list"),
            ("(venv) user@host:~/x$ pip list", "pip list"),
            ("{local}$ scp a host:", "scp a host:"),
            ("{remote}$ squeue", "squeue"),
            ("[login1 ~]$ hostname", "hostname"),
            ("[root@node01 ~]# systemctl status", "systemctl status"),
            ("user@host:~$ uptime", "uptime"),
            ("user@host:~ $ uptime", "uptime"),
            ("root@host:/etc# cat hosts", "cat hosts"),
            ("user@host ~ $ uptime", "uptime"),
            ("laptop$ whoami", "whoami"),
            ("~/work$ git log", "git log"),
            ("MacBook-Pro:~ alice$ brew list", "brew list"),
            ("bash-4.2$ env", "env"),
            ("$ echo $HOME", "echo $HOME"),
        ] {
            let s = one(&format!("```bash\n{line}\nsome output\n```\n"));
            assert_eq!(s.code, format!("{cmd}\n"), "{line}");
            assert!(s.runnable, "{line}: {}", s.why);
        }
        // not prompts
        for line in [
            "[ -f x ]$ ls",
            "( cd x ) && ls",
            "echo $ HOME",
            "a=$ b",
            "$HOME/bin/tool",
        ] {
            assert!(
                prompt_len(line, false).is_none(),
                "{line}: {:?}",
                prompt_len(line, false)
            );
        }
        // `# ` is a root prompt outside console blocks only before what reads as a command
        let s =
            one("```\n# dnf install -y rsync\nLast metadata expiration check: 0:01:02 ago.\n```\n");
        assert_eq!(s.code, "dnf install -y rsync\n");
        let s = one(
            "```bash\n$ sudo -i\n# systemctl restart --now slurmd\n# now check it\n$ exit\n```\n",
        );
        assert_eq!(s.code, "sudo -i\nsystemctl restart --now slurmd\nexit\n");
        for comment in [
            "# Load the module first\nmodule load x\n",
            "# see /etc/hosts\nmodule load x\n",
            "# cp -r a b\nmake\n",
        ] {
            let s = one(&format!("```bash\n{comment}```\n"));
            assert_eq!(s.code, comment, "{comment}");
        }
    }

    #[test]
    fn labelled_blocks_of_output_or_file_contents_are_not_steps() {
        for out in [
            "Permission denied (publickey).\n",
            "origin  https://example.org/x.git (fetch)\norigin  https://example.org/x.git (push)\n",
            "notes.txt\nresults.csv\n",
            "Hello World\n",
        ] {
            let s = one(&format!("```bash\n{out}```\n"));
            assert!(!s.runnable, "{out}");
            assert!(
                s.why
                    .starts_with("language `bash`, but no line reads as shell"),
                "{}",
                s.why
            );
        }
        // output with one line that reads as shell: kept, as the language says
        assert!(one("```bash\nHello\nls -l\n```\n").runnable);
        // a command that ends with `:` is still a command in a bash block
        assert!(
            one("```bash\nopenssl x509 -in c.pem -noout -text | grep Subject:\n```\n").runnable
        );
        // a job script, with or without prose
        for d in ["#SBATCH -t 10", "#PBS -l nodes=1", "#$ -cwd", "#BSUB -n 4"] {
            let s = one(&format!("```bash\n#!/bin/bash\n{d}\necho hi\n```\n"));
            assert!(!s.runnable, "{d}");
            assert!(s.why.contains("job script"), "{}", s.why);
        }
        // a `#!` script without directives in a bash block still runs as its language says
        assert!(one("```bash\n#!/bin/bash\necho hi\n```\n").runnable);
        // prose that asks to save the block as a file
        for prose in [
            "Save the following as `job.sh`:",
            "Create a file called hello.sh containing:",
            "Open a new file `run.sh` in your editor and type:",
            "Paste this into ~/bin/setup.sh:",
        ] {
            let s = one(&format!(
                "{prose}\n\n```bash\nmodule load x\nrun-it --fast\n```\n"
            ));
            assert!(!s.runnable, "{prose}");
            assert!(s.why.contains("a file's content"), "{}", s.why);
        }
        // ...but not a block that does something with that file, nor other prose
        for (prose, code) in [
            (
                "Save the script as `job.sh` and submit it:",
                "sbatch job.sh",
            ),
            ("Create the file `notes.txt` with nano:", "nano notes.txt"),
            ("This creates `output.txt`:", "python3 make.py"),
            (
                "Download the file from example.org:",
                "wget https://example.org/x",
            ),
        ] {
            let s = one(&format!("{prose}\n\n```bash\n{code}\n```\n"));
            assert!(s.runnable, "{prose}: {}", s.why);
        }
        // unlabelled blocks too
        let s = one("Save it as `job.sh`:\n\n```\nmodule load x\nrun-it\n```\n");
        assert!(!s.runnable, "{}", s.why);
        // a bare `$`, a prompt without a command, is not an (empty) step
        let s = one("```bash\n$\n```\n");
        assert!(!s.runnable);
        assert_eq!(s.code, "");
        let s = one("```console\n$ \n```\n");
        assert!(!s.runnable);
        // a bash block of comments only runs nothing
        assert!(!one("```bash\n# nothing to do here\n```\n").runnable);
    }

    #[test]
    fn callouts_are_sections_and_the_reader_returns() {
        let md = "# Lesson\n\nintro\n\n```bash\n$ ls\n```\n\n> ## Exercise\n>\n> Try:\n>\n> ```bash\n> $ pwd\n> ```\n>\n> > ## Solution\n> >\n> > ```bash\n> > $ cd ~ && pwd\n> > ```\n> {: .solution}\n>\n> Then:\n>\n> - check it\n> - run it\n>\n>   ```bash\n>   $ echo done\n>   ```\n{: .challenge}\n\nBack in the lesson:\n\n```bash\n$ date\n```\n\n## Next\n\n```bash\n$ uptime\n```\n";
        let rb = build(md, &ModelOptions::default());
        let sections: Vec<(&str, Option<&str>, usize, u8)> = rb
            .sections
            .iter()
            .map(|s| (s.id.as_str(), s.parent.as_deref(), s.quote_depth, s.level))
            .collect();
        assert_eq!(
            sections,
            [
                ("lesson", None, 0, 1),
                ("exercise", Some("lesson"), 1, 2),
                ("solution", Some("exercise"), 2, 2),
                ("next", Some("lesson"), 0, 2),
            ]
        );
        let steps: Vec<(&str, &str, usize)> = rb
            .steps_in_sections()
            .into_iter()
            .map(|(s, st)| (s.id.as_str(), st.id.as_str(), st.index))
            .collect();
        assert_eq!(
            steps,
            [
                ("lesson", "lesson-1", 0),
                ("exercise", "exercise-1", 1),
                ("solution", "solution-1", 2),
                ("exercise", "exercise-m1", 3),
                ("exercise", "exercise-2", 4),
                ("lesson", "lesson-2", 5),
                ("next", "next-1", 6),
            ]
        );
        assert_eq!(rb.step("lesson-2").unwrap().prose, "Back in the lesson:");
        assert_eq!(rb.step("exercise-2").unwrap().prose, "run it");
        let ids: Vec<&str> = rb.steps().map(|s| s.id.as_str()).collect();
        assert_eq!(ids[5], "lesson-2");
        // nested: the section, its callouts, and the sections under it
        let nested: Vec<&str> = rb
            .nested(0)
            .into_iter()
            .map(|i| rb.sections[i].id.as_str())
            .collect();
        assert_eq!(nested, ["lesson", "exercise", "solution", "next"]);
        let nested: Vec<&str> = rb
            .nested(1)
            .into_iter()
            .map(|i| rb.sections[i].id.as_str())
            .collect();
        assert_eq!(nested, ["exercise", "solution"]);
        // a quote without a heading changes nothing; a callout before any heading returns
        // to `top`
        let rb = build(
            "```bash\nls\n```\n\n> ## Note\n> ```bash\n> pwd\n> ```\n\n```bash\ndate\n```\n\n> plain quote\n> ```bash\n> id\n> ```\n",
            &ModelOptions::default(),
        );
        let steps: Vec<(&str, &str)> = rb
            .steps_in_sections()
            .into_iter()
            .map(|(s, st)| (s.id.as_str(), st.id.as_str()))
            .collect();
        assert_eq!(
            steps,
            [
                ("top", "top-1"),
                ("note", "note-1"),
                ("top", "top-2"),
                ("top", "top-3")
            ]
        );
    }

    #[test]
    fn the_transcript_lesson_page() {
        let rb = build(
            &fixture("pages/transcript-lesson.md"),
            &ModelOptions::default(),
        );
        let runnable: Vec<(&str, &str)> = rb
            .steps_in_sections()
            .into_iter()
            .filter(|(_, st)| st.runnable)
            .map(|(s, st)| (s.id.as_str(), st.code.as_str()))
            .collect();
        assert_eq!(
            runnable,
            [
                (
                    "looping-over-files",
                    "for f in *.csv\ndo\n  echo \"$f\"\n  head -n 2 \"$f\" | tail -n 1\ndone\n"
                ),
                ("looping-over-files", "ls -F\n"),
                (
                    "looping-over-files",
                    "python3 -m pip list\ncd ~/work && \\\ngit status\nscp results.tar.gz learner@cluster:\ncat /etc/hostname\n"
                ),
                ("looping-over-files", "sbatch weather-job.sh\n"),
                ("solution", "wc -l *.csv\n"),
                ("counting-lines", "wc -l *.csv | sort -n | tail -n 1\n"),
                ("looping-over-files", "rm -f *.tmp\n"),
                ("root-commands", "dnf install -y rsync\n"),
                (
                    "root-commands",
                    "# Load the module first\nmodule load rsync\n"
                ),
            ]
        );
    }

    #[test]
    fn serializes_to_json() {
        let (_, rb) = seed();
        let v = serde_json::to_value(&rb).unwrap();
        let step = &v["sections"][3]["steps"][2];
        assert_eq!(step["id"], "creating-a-master-2");
        assert_eq!(step["kind"], "code");
        assert_eq!(v["sections"][3]["steps"][0]["kind"], "manual");
        assert_eq!(step["lines"], serde_json::json!([79, 91]));
        assert_eq!(step["placeholders"][0]["assigned_to"], "MACHINE_NAME");
    }
}
