//! Entry points for the `cargo fuzz` targets in `fuzz/` and their regression test
//! (`tests/fuzz.rs`). Each takes arbitrary bytes and drives the code the CLI runs on a page or
//! a journal; a panic, a hang or unbounded memory is a bug.
//!
//! Nothing here executes a command. The only files written are in a private directory under
//! the system temp dir (`runbook-fuzz-<pid>`): a small Jekyll site (config, `_data`,
//! `_includes`, a collection) and the page or journal being fuzzed.
//!
//! Non-UTF-8 input: `page_load` and `journal` write the bytes to a file and read them back
//! through the same functions as the CLI (`page::load` refuses binary and non-UTF-8 text with
//! a diagnostic; `exec::history` returns an error). `liquid` and `placeholders` take
//! the input lossily converted to UTF-8 (U+FFFD for bad bytes), so every input reaches the
//! parser.

use crate::document;
use crate::liquid::{self, Engine, Mode, PageTemplate};
use crate::page;
use crate::runbook::{self, ModelOptions};
use crate::site::Site;
use crate::source::SourceFile;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Inputs larger than this are ignored: the targets look for bugs, not for how slow a
/// megabyte page is.
const MAX_INPUT: usize = 64 * 1024;

const SITE_FILES: &[(&str, &str)] = &[
    (
        "_config.yml",
        include_str!("../tests/fixtures/liquid/site/_config.yml"),
    ),
    (
        "_data/machines.csv",
        include_str!("../tests/fixtures/liquid/site/_data/machines.csv"),
    ),
    (
        "_data/ports.yml",
        include_str!("../tests/fixtures/liquid/site/_data/ports.yml"),
    ),
    (
        "_data/team/members.json",
        include_str!("../tests/fixtures/liquid/site/_data/team/members.json"),
    ),
    (
        "_includes/assigns.html",
        include_str!("../tests/fixtures/liquid/site/_includes/assigns.html"),
    ),
    (
        "_includes/greet.html",
        include_str!("../tests/fixtures/liquid/site/_includes/greet.html"),
    ),
    (
        "_includes/loopvar.html",
        include_str!("../tests/fixtures/liquid/site/_includes/loopvar.html"),
    ),
    (
        "_includes/nested/inner.html",
        include_str!("../tests/fixtures/liquid/site/_includes/nested/inner.html"),
    ),
    (
        "_includes/nested/outer.html",
        include_str!("../tests/fixtures/liquid/site/_includes/nested/outer.html"),
    ),
    (
        "_includes/snips/cmd.snip",
        include_str!("../tests/fixtures/liquid/site/_includes/snips/cmd.snip"),
    ),
    (
        "_episodes/first.md",
        include_str!("../tests/fixtures/liquid/site/_episodes/first.md"),
    ),
    (
        "other.md",
        "---\ntitle: Other page\n---\n# Other\n\n```bash\necho <name>\n```\n",
    ),
];

/// Where the fuzzing site goes instead of the system temp dir (tests put it in the build's
/// own temp dir, so no run leaves anything in /tmp). The first call wins.
pub fn use_dir(base: &Path) {
    let _ = BASE.set(base.to_path_buf());
}

static BASE: OnceLock<PathBuf> = OnceLock::new();

/// The fuzzing site's root, written once per process.
fn site_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = BASE.get_or_init(std::env::temp_dir);
        let root = base.join(format!("runbook-fuzz-{}", std::process::id()));
        for (rel, text) in SITE_FILES {
            let path = root.join(rel);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).expect("create fuzz site directory");
            }
            std::fs::write(&path, text).expect("write fuzz site file");
        }
        std::fs::create_dir_all(root.join("pages")).expect("create fuzz pages directory");
        root
    })
}

/// A fresh site and engine for each input: nothing one input caches (the site index, include
/// parses, loop memos) can change what the next one does.
fn site_and_engine() -> (Site, Engine) {
    let site = Site::load(site_root(), None, &[]).expect("the fuzz site loads");
    let engine = Engine::new(site.env.clone());
    (site, engine)
}

/// A file of the fuzz site holding `data`, removed when dropped.
struct TempPage(PathBuf);

impl TempPage {
    fn new(dir: &str, ext: &str, data: &[u8]) -> TempPage {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = site_root().join(dir).join(format!("input-{n}.{ext}"));
        std::fs::write(&path, data).expect("write fuzz input");
        TempPage(path)
    }
}

impl Drop for TempPage {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Page loading: front matter (Jekyll's split, YAML 1.1), the Markdown model of the body,
/// the line map, then the whole `list`/`check` path (`document::load`: Liquid in lax mode,
/// model, source positions, unclosed fences).
pub fn page_load(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let (site, engine) = site_and_engine();
    let file = TempPage::new("pages", "md", data);
    // the CLI's reader: binary and non-UTF-8 files end here with a diagnostic
    let Ok(page) = page::load(&file.0) else {
        return;
    };
    let _ = page.front_str(&["title"]);
    let _ = page.front_value(&["runbook", "run_unlabelled"]);
    let body = page.body();
    let rb = runbook::build(body, &ModelOptions::default());
    check_model(body, &rb);
    let map = crate::linemap::LineMap::new(body, body);
    for line in 1..=map.len() {
        let _ = map.source_line(line);
        let _ = map.is_exact(line);
    }
    if let Ok(doc) = document::load(&engine, &site, &file.0, Mode::Lax) {
        let lines = doc.page.file.line_count();
        for step in doc.runbook.steps() {
            assert!(step.lines.0 <= step.lines.1, "step lines out of order");
            assert!(step.lines.1 <= lines, "step line past the end of the file");
            for p in &step.placeholders {
                assert!(
                    p.line >= 1 && p.line <= lines,
                    "placeholder line out of range"
                );
            }
        }
        for d in &doc.diagnostics {
            let _ = d.render(false);
        }
    }
}

/// The Liquid dialect: parse, translate to minijinja, and render in lax and strict mode with
/// a site that has data, includes and a collection.
pub fn liquid(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let text = String::from_utf8_lossy(data).into_owned();
    let _ = liquid::site_variables(&text);
    if let Ok(parsed) = liquid::parse::parse(&text) {
        let _ = liquid::translate::translate(&parsed.nodes, &text);
    }
    let (site, engine) = site_and_engine();
    // in the site (for `include_relative` and `page.*`) but never written: rendered from memory
    let file = SourceFile::new(site.root.join("pages").join("fuzz.md"), text);
    let Ok(page) = page::parse(file.clone()) else {
        return;
    };
    for mode in [Mode::Lax, Mode::Strict] {
        let tmpl = PageTemplate {
            file: &file,
            base: page.body_start,
            page: site.page_value(&page),
        };
        match engine.render(&tmpl, mode) {
            Ok(r) => {
                for d in &r.diagnostics {
                    let _ = d.render(false);
                }
            }
            Err(diags) => {
                for d in &diags {
                    let _ = d.render(false);
                }
            }
        }
    }
}

/// Placeholder detection: the input as a shell block's text (and as a page), its
/// placeholders found, checked against the text, and filled the way `runbook run --set` does.
pub fn placeholders(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    let text = String::from_utf8_lossy(data);
    check_spans(&text);
    let fence = if text.contains("```") {
        "~~~~~~"
    } else {
        "```"
    };
    for lang in ["bash", "console", ""] {
        let page = format!("# Steps\n\n{fence}{lang}\n{text}\n{fence}\n");
        let rb = runbook::build(&page, &ModelOptions::default());
        check_model(&page, &rb);
    }
    // the input as a whole page too: blocks in lists, quotes, indented code
    let rb = runbook::build(&text, &ModelOptions::default());
    check_model(&text, &rb);
}

/// Every step's placeholders are found again in its command and can be filled; the host a
/// section asks for is where the model says it is.
fn check_model(markdown: &str, rb: &runbook::Runbook) {
    let lines = markdown.split('\n').count().max(1);
    for section in &rb.sections {
        if let Some(a) = &section.asks_host {
            assert!(a.line >= 1 && a.line <= lines && a.column >= 1);
            let at = markdown
                .split('\n')
                .nth(a.line - 1)
                .and_then(|l| l.chars().nth(a.column - 1));
            assert_eq!(
                at,
                a.host.chars().next(),
                "the host is not where it is said"
            );
        }
    }
    for step in rb.steps() {
        assert!(step.lines.0 >= 1 && step.lines.0 <= step.lines.1);
        assert!(step.lines.1 <= lines, "step ends past the input");
        let spans = check_spans(&step.code);
        let mut values = HashMap::new();
        for p in &step.placeholders {
            assert!(p.line >= 1 && p.column >= 1);
            values.insert(p.name.clone(), format!("v'\"$`{}", p.name));
        }
        for s in &spans {
            values.insert(s.name.clone(), "a b;$(x)".to_string());
        }
        let filled = crate::plan::fill(step, &values);
        assert!(
            filled.missing.is_empty(),
            "a placeholder with a value is missing"
        );
        let filled = crate::plan::fill(step, &HashMap::new());
        assert_eq!(
            filled.missing.is_empty(),
            spans.is_empty(),
            "missing placeholders without values"
        );
        let _ = crate::plan::assigned_vars(&step.code);
        let _ = crate::plan::used_vars(&step.code);
        let _ = crate::plan::command_words(&step.code);
    }
}

/// The lexer's placeholders point at `<name>` in the text, in order, without overlaps.
fn check_spans(code: &str) -> Vec<crate::shell::Placeholder> {
    let spans = crate::shell::lex(code).placeholders;
    let mut last = 0;
    for s in &spans {
        assert!(s.start >= last && s.start < s.end && s.end <= code.len());
        assert!(code.is_char_boundary(s.start) && code.is_char_boundary(s.end));
        assert_eq!(&code[s.start..s.end], format!("<{}>", s.name));
        last = s.end;
    }
    spans
}

/// The journal reader (`run --resume`): the events of a run directory's
/// `journal.jsonl`, and what a resume makes of them.
pub fn journal(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = site_root()
        .join("runs")
        .join(format!("run-{}", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).expect("create fuzz run directory");
    let path = dir.join("journal.jsonl");
    std::fs::write(&path, data).expect("write fuzz journal");
    let (records, cut) = crate::exec::event::parse(data);
    let _ = (records.len(), cut);
    let _ = crate::exec::history(&dir).map(|h| (h.done.len(), h.cut));
    let _ = std::fs::remove_dir_all(&dir);
}
