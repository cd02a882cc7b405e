//! The engine: a minijinja environment whose functions carry Liquid's semantics, and the
//! per-render state (scopes, `assign`ed globals, diagnostics) they share.

use super::ast::{Expr, Filtered, Key, Node, Root};
use super::filters::{self, FilterCtx};
use super::parse::{self, ParseError, ParseWarning};
use super::translate::{self_contained, translate};
use super::value::{self as lv, Special};
use crate::error::{Diagnostic, Severity};
use crate::source::SourceFile;
use minijinja::value::{Object, Rest, Value, ValueKind};
use minijinja::{Environment, Error as MjError, ErrorKind, State};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// What Liquid needs to know of a site's pages besides its variables: where each page and
/// document is published (for `{% link %}`). The site implements it; Liquid does not depend
/// on the site.
pub trait Pages: std::fmt::Debug + Send + Sync {
    /// The URL of the page or document at `rel` (relative to the site root), if there is one.
    fn url(&self, rel: &str) -> Option<String>;
}

/// What a site gives every page's templates.
#[derive(Debug, Clone)]
pub struct SiteEnv {
    pub root: PathBuf,
    pub includes_dir: PathBuf,
    /// The `site` variable.
    pub site: Value,
    pub baseurl: String,
    pub url: String,
    /// the site's pages and documents, read when first needed (for `{% link %}`)
    pub index: Arc<dyn Pages>,
    /// `host`: the inventory variables of the host a run goes to (`--on`), when it has some.
    pub host: Option<Value>,
}

/// How to treat what Jekyll forgives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Jekyll's behaviour; undefined variables, malformed tags and unknown filters warn.
    Lax,
    /// The same problems are errors (rendering still goes on to find them all).
    Strict,
}

/// A parsed include, kept for its diagnostics.
struct IncludeInfo {
    file: Arc<SourceFile>,
    warnings: Vec<ParseWarning>,
    error: Option<ParseError>,
    /// Some(the variables it may assign) when its output depends only on its parameters
    /// and the site (see `translate::self_contained`): then it is rendered once per build
    /// for the same parameters.
    pure: Option<Vec<String>>,
}

/// A self-contained include rendered once: its output and the variables it assigned.
struct IncludeResult {
    output: String,
    assigns: Vec<(String, Value)>,
    /// where its `for` loops stopped (for a later `offset: continue`)
    offsets: Vec<(String, i64)>,
}

/// A memoized loop's output and where the loops in it stopped.
type LoopResult = (Value, Vec<(String, i64)>);

struct Shared {
    site: SiteEnv,
    includes: Mutex<HashMap<String, Arc<IncludeInfo>>>,
    /// Output of loops that depend on the site only, by fingerprint of their source.
    memo: Mutex<HashMap<String, LoopResult>>,
    /// Self-contained includes already rendered, by file and parameters.
    include_memo: Mutex<HashMap<String, Arc<IncludeResult>>>,
    /// Include paths as written -> the file they resolve to (symlinks followed), or None
    /// when there is no such file: resolving costs a system call per path component.
    resolved: Mutex<HashMap<PathBuf, Option<PathBuf>>>,
    /// The site root and its includes folder, symlinks resolved.
    /// The site root and includes folder with symlinks resolved, when an include needs them.
    canonical: OnceLock<(PathBuf, PathBuf)>,
}

#[derive(Clone)]
pub struct Engine {
    env: Environment<'static>,
    shared: Arc<Shared>,
}

pub struct Rendered {
    pub output: String,
    pub diagnostics: Vec<Diagnostic>,
    /// The template's Liquid, parsed (what [`super::site_variables_in`] reads).
    pub nodes: Vec<Node>,
}

/// The template of one page, to render with a given `page` value.
pub struct PageTemplate<'a> {
    pub file: &'a Arc<SourceFile>,
    /// Byte offset of the body (after front matter) in the file.
    pub base: usize,
    pub page: Value,
}

impl Shared {
    fn canonical(&self) -> &(PathBuf, PathBuf) {
        self.canonical.get_or_init(|| {
            let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            (canon(&self.site.root), canon(&self.site.includes_dir))
        })
    }

    /// The file an include path names, symlinks resolved; None if it is not a file.
    fn resolve(&self, path: &Path) -> Option<PathBuf> {
        if let Some(r) = self.resolved.lock().unwrap().get(path) {
            return r.clone();
        }
        let r = std::fs::canonicalize(path).ok().filter(|p| p.is_file());
        self.resolved
            .lock()
            .unwrap()
            .insert(path.to_path_buf(), r.clone());
        r
    }
}

impl Engine {
    pub fn new(site: SiteEnv) -> Engine {
        let shared = Arc::new(Shared {
            site,
            includes: Mutex::new(HashMap::new()),
            memo: Mutex::new(HashMap::new()),
            include_memo: Mutex::new(HashMap::new()),
            resolved: Mutex::new(HashMap::new()),
            canonical: OnceLock::new(),
        });
        let mut env = Environment::empty();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("default delimiters are valid");
        env.set_syntax(syntax);
        env.set_recursion_limit(1000);
        env.set_formatter(|out, _state, value| {
            lv::write_to(out, value)
                .map_err(|_| MjError::new(ErrorKind::WriteFailure, "write failed"))
        });
        let loader_shared = shared.clone();
        env.set_loader(move |name| {
            let path = PathBuf::from(name);
            let bytes = std::fs::read(&path)
                .map_err(|e| MjError::new(ErrorKind::TemplateNotFound, e.to_string()))?;
            let text = String::from_utf8(bytes).map_err(|e| {
                let at = e.utf8_error().valid_up_to();
                MjError::new(
                    ErrorKind::BadInclude,
                    crate::page::not_utf8_message(&path, e.as_bytes(), at),
                )
            })?;
            let file = SourceFile::new(path, text);
            let (source, info) = match parse::parse(&file.text) {
                Ok(p) => (
                    translate(&p.nodes, &file.text),
                    IncludeInfo {
                        file: file.clone(),
                        pure: self_contained(&p.nodes),
                        warnings: p.warnings,
                        error: None,
                    },
                ),
                Err(e) => (
                    String::new(),
                    IncludeInfo {
                        file: file.clone(),
                        warnings: vec![],
                        error: Some(e),
                        pure: None,
                    },
                ),
            };
            let failed = info.error.is_some();
            loader_shared
                .includes
                .lock()
                .unwrap()
                .insert(name.to_string(), Arc::new(info));
            if failed {
                return Err(MjError::new(
                    ErrorKind::BadInclude,
                    "include has a Liquid error",
                ));
            }
            Ok(Some(source))
        });
        register(&mut env);
        Engine { env, shared }
    }

    pub fn site(&self) -> &SiteEnv {
        &self.shared.site
    }

    /// Render one page. Err holds the fatal problem(s); Ok holds output and warnings
    /// (in strict mode, problems Jekyll forgives come back as errors beside the output).
    pub fn render(&self, page: &PageTemplate, mode: Mode) -> Result<Rendered, Vec<Diagnostic>> {
        let body = &page.file.text[page.base..];
        let parsed = parse::parse(body).map_err(|e| vec![parse_error(page.file, page.base, &e)])?;
        let mut diags: Vec<Diagnostic> = parsed
            .warnings
            .iter()
            .map(|w| {
                let mut d = parse_warning(page.file, page.base, w, mode);
                // show what Jekyll prints for it, e.g. `ALICE`; only when the kept part is
                // itself well-formed (`{{.State}}` keeps `.State`: probing it would recurse)
                let probe_text = w.kept.as_ref().map(|kept| format!("{{{{ {kept} }}}}"));
                if let Some(kept) = &w.kept
                    && let Some(probe_text) = probe_text
                        .filter(|t| parse::parse(t).is_ok_and(|p| p.warnings.is_empty()))
                {
                    let probe = PageTemplate {
                        file: &SourceFile::new(page.file.path.clone(), probe_text),
                        base: 0,
                        page: page.page.clone(),
                    };
                    if let Ok(r) = self.render(&probe, Mode::Lax) {
                        d.hint = Some(format!(
                            "Jekyll keeps only `{kept}` and renders this as `{}`; write `{{{{ {kept} }}}}` plus literal text if that is what you mean",
                            r.output
                        ));
                    }
                }
                d
            })
            .collect();
        let rt = Arc::new(Runtime {
            mode,
            shared: self.shared.clone(),
            vars: Value::from_pairs(
                [
                    ("site", self.shared.site.site.clone()),
                    ("page", page.page.clone()),
                    (
                        "jekyll",
                        Value::from_pairs([("environment", "development"), ("version", "4.3.1")]),
                    ),
                    ("layout", Value::from_pairs(Vec::<(Value, Value)>::new())),
                    ("paginator", Value::from(())),
                    ("highlighter_prefix", Value::from("")),
                    ("highlighter_suffix", Value::from("")),
                ]
                .into_iter()
                .chain(self.shared.site.host.clone().map(|h| ("host", h))),
            ),
            state: Mutex::new(RtState {
                files: vec![(page.file.clone(), page.base)],
                ..RtState::default()
            }),
        });
        let _entered = Entered::new(&rt);
        let simple = parsed
            .nodes
            .iter()
            .all(|n| matches!(n, Node::Text(_) | Node::Raw(_) | Node::Output(..)));
        tracing::trace!(page = %page.file.path.display(), simple, "rendering");
        let result = if simple {
            // text and output tags only: no control flow, no minijinja program to compile
            let mut out = String::with_capacity(body.len());
            let mut failed = None;
            for n in &parsed.nodes {
                match n {
                    Node::Text(t) | Node::Raw(t) => out.push_str(t),
                    Node::Output(f, _) => match rt.eval_filtered(f) {
                        Ok(v) => lv::write_s(&mut out, &v),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    },
                    _ => {}
                }
            }
            match failed {
                Some(e) => Err(e),
                None => Ok(out),
            }
        } else {
            let source = translate(&parsed.nodes, body);
            let ctx = Value::from_pairs(Vec::<(Value, Value)>::new());
            self.env
                .template_from_str(&source)
                .and_then(|t| t.render(&ctx))
        };
        let mut st = rt.state.lock().unwrap();
        diags.append(&mut st.diags);
        if let Some(fatal) = st.fatal.take() {
            let mut all = vec![fatal];
            all.extend(diags.into_iter().filter(|d| d.severity == Severity::Error));
            return Err(all);
        }
        match result {
            Ok(output) => Ok(Rendered {
                output,
                diagnostics: diags,
                nodes: parsed.nodes,
            }),
            Err(e) => Err(vec![
                Diagnostic::error(
                    "render-failed",
                    format!("rendering failed: {}", e.detail().unwrap_or(&e.to_string())),
                )
                .at(page.file, page.base),
            ]),
        }
    }
}

fn parse_error(file: &Arc<SourceFile>, base: usize, e: &ParseError) -> Diagnostic {
    let mut d = Diagnostic::error(
        "liquid-syntax",
        format!("Liquid syntax error: {}", e.message),
    )
    .at(file, base + e.offset.min(file.text.len() - base))
    .width(e.width);
    if let Some(h) = &e.hint {
        d = d.hint(h.clone());
    }
    d
}

fn parse_warning(file: &Arc<SourceFile>, base: usize, w: &ParseWarning, mode: Mode) -> Diagnostic {
    let mut d = Diagnostic::warning(w.code, w.message.clone())
        .at(file, base + w.offset)
        .width(w.width);
    if let Some(h) = &w.hint {
        d = d.hint(h.clone());
    }
    if mode == Mode::Strict {
        d.as_error()
    } else {
        d
    }
}

#[derive(Default)]
struct RtState {
    /// (file, base offset) of the template being rendered, innermost last
    files: Vec<(Arc<SourceFile>, usize)>,
    /// include/loop bindings visible to includes, innermost last
    scopes: Vec<Vec<(String, Value)>>,
    globals: HashMap<String, Value>,
    diags: Vec<Diagnostic>,
    fatal: Option<Diagnostic>,
    /// `increment`/`decrement` counters: Liquid's first environment, read after assigned
    /// variables and before the site's
    counters: HashMap<String, i64>,
    /// Liquid's `registers[:cycle]`: the next position of each cycle, by its key
    cycles: HashMap<String, usize>,
    /// Liquid's `registers[:ifchanged]`: the last output of any `ifchanged`
    changed: Option<String>,
    /// Liquid's pending interrupts, a stack: 1 for `break`, 2 for `continue` (outside a loop
    /// one stops the rest of the template; the loop around takes the last one)
    interrupts: Vec<u8>,
    /// Liquid's `registers[:for]`: where each loop (by name) stopped, for `offset: continue`
    for_offsets: HashMap<String, i64>,
    reported_includes: HashSet<String>,
    /// diagnostics count and loop offsets when each memoizable loop started (its output is
    /// kept only if clean, with the offsets its loops left)
    memo_marks: Vec<(usize, HashMap<String, i64>)>,
    seen: HashSet<(usize, usize, &'static str)>,
}

struct Runtime {
    mode: Mode,
    shared: Arc<Shared>,
    /// site, page, jekyll, …
    vars: Value,
    state: Mutex<RtState>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Runtime")
    }
}

thread_local! {
    /// The runtime of the render in progress on this thread (innermost last). A render runs
    /// on one thread from start to end, includes included, so the runtime functions find
    /// their state here rather than through a template variable lookup on every call.
    static CURRENT: RefCell<Vec<Arc<Runtime>>> = const { RefCell::new(Vec::new()) };
}

/// Makes a runtime current for the duration of a render.
struct Entered;

impl Entered {
    fn new(rt: &Arc<Runtime>) -> Entered {
        CURRENT.with(|c| c.borrow_mut().push(rt.clone()));
        Entered
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().pop());
    }
}

/// Fail the render in progress on this thread with these problems (used by values that are
/// read lazily, such as `site.data`). Outside a render it does nothing.
pub fn fail_render(diags: Vec<Diagnostic>) {
    CURRENT.with(|c| {
        if let Some(rt) = c.borrow().last() {
            let mut st = rt.state.lock().unwrap();
            for d in diags {
                // a broken `_data` file fails every lookup into site.data: report it once
                let same = |o: &Diagnostic| {
                    o.message == d.message
                        && o.location.as_ref().map(|l| l.offset)
                            == d.location.as_ref().map(|l| l.offset)
                };
                if st.fatal.as_ref().is_some_and(same) || st.diags.iter().any(same) {
                    continue;
                }
                if st.fatal.is_none() {
                    st.fatal = Some(d);
                } else {
                    st.diags.push(d);
                }
            }
        }
    });
}

fn rt(_state: &State) -> Result<Arc<Runtime>, MjError> {
    CURRENT
        .with(|c| c.borrow().last().cloned())
        .ok_or_else(|| MjError::new(ErrorKind::InvalidOperation, "runtime missing"))
}

impl Runtime {
    /// Record a problem Jekyll forgives: a warning (lax) or an error (strict). Once per spot.
    fn problem(
        &self,
        code: &'static str,
        pos: usize,
        width: usize,
        message: String,
        hint: Option<String>,
    ) {
        self.diagnose(code, pos, width, message, hint, false);
    }

    /// A problem (a warning, an error in strict mode), or with `note` what is no problem.
    fn diagnose(
        &self,
        code: &'static str,
        pos: usize,
        width: usize,
        message: String,
        hint: Option<String>,
        note: bool,
    ) {
        let mut st = self.state.lock().unwrap();
        let Some((file, base)) = st.files.last().cloned() else {
            return;
        };
        let offset = (base + pos).min(file.text.len());
        if !st
            .seen
            .insert((Arc::as_ptr(&file) as *const u8 as usize, offset, code))
        {
            return;
        }
        let mut d = Diagnostic::warning(code, message)
            .at(&file, offset)
            .width(width);
        if let Some(h) = hint {
            d = d.hint(h);
        }
        if note {
            d.severity = Severity::Note;
        } else if self.mode == Mode::Strict {
            d = d.as_error();
        }
        st.diags.push(d);
    }

    /// Stop rendering with a located error (what makes `jekyll build` fail).
    fn fatal(&self, pos: usize, width: usize, message: String, hint: Option<String>) -> MjError {
        let mut st = self.state.lock().unwrap();
        if st.fatal.is_none()
            && let Some((file, base)) = st.files.last().cloned()
        {
            let mut d = Diagnostic::error("liquid-error", message.clone())
                .at(&file, (base + pos).min(file.text.len()))
                .width(width);
            if let Some(h) = hint {
                d = d.hint(h);
            }
            st.fatal = Some(d);
        }
        MjError::new(ErrorKind::InvalidOperation, message)
    }

    fn resolve_name(&self, name: &str) -> Option<Value> {
        {
            let st = self.state.lock().unwrap();
            for scope in st.scopes.iter().rev() {
                if let Some((_, v)) = scope.iter().find(|(k, _)| k == name) {
                    return Some(v.clone());
                }
            }
            if let Some(v) = st.globals.get(name) {
                return Some(v.clone());
            }
            if let Some(c) = st.counters.get(name) {
                return Some(Value::from(*c));
            }
        }
        lv::lookup(&self.vars, &Value::from(name), false)
    }

    fn apply_filter(
        &self,
        pos: usize,
        name: &str,
        input: Value,
        args: &[Value],
        kw: &[(String, Value)],
    ) -> Result<Value, MjError> {
        let site = &self.shared.site;
        let ctx = FilterCtx {
            baseurl: &site.baseurl,
            url: &site.url,
        };
        match filters::apply(name, &input, args, kw, &ctx) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => {
                let hint = match filters::suggest(name) {
                    Some(s) => format!("did you mean `{s}`? Jekyll ignores unknown filters"),
                    None => "Jekyll ignores unknown filters and keeps the value unchanged".into(),
                };
                self.problem(
                    "unknown-filter",
                    pos,
                    name.len(),
                    format!("unknown filter `{name}`"),
                    Some(hint),
                );
                Ok(input)
            }
            Err(m) => Err(self.fatal(pos, name.len(), format!("Liquid error: {m}"), None)),
        }
    }

    /// Evaluate an expression directly (the path for templates without tags, which need no
    /// minijinja program: the same lookups and filters as the generated code calls).
    fn eval(&self, e: &Expr, quiet: bool) -> Result<Value, MjError> {
        Ok(match e {
            Expr::Nil => Value::from(()),
            Expr::Bool(b) => Value::from(*b),
            Expr::Int(i) => Value::from(*i),
            Expr::Float(f) => Value::from(*f),
            Expr::Str(s) => Value::from(s.as_str()),
            Expr::Empty => Value::from_object(Special("empty")),
            Expr::Blank => Value::from_object(Special("blank")),
            Expr::Range(a, b) => range_value(&self.eval(a, quiet)?, &self.eval(b, quiet)?),
            Expr::Var(l) => {
                let mut keys = Vec::with_capacity(l.keys.len());
                for k in &l.keys {
                    keys.push(match k {
                        Key::Dot(s) => Value::from(s.as_str()),
                        Key::Index(e) => Value::from(vec![self.eval(e, true)?]),
                    });
                }
                let name = match &l.root {
                    Root::Name(n) => n.clone(),
                    Root::Dynamic(inner) => lv::to_s(&self.eval(inner, true)?),
                };
                let root = self.resolve_name(&name);
                self.lookup_keys(l.pos, quiet, &l.text, root, &name, &keys)
            }
        })
    }

    fn eval_filtered(&self, f: &Filtered) -> Result<Value, MjError> {
        let Some(e) = &f.expr else {
            return Ok(Value::from(()));
        };
        let mut acc = self.eval(e, f.input_is_optional())?;
        for fl in &f.filters {
            let args = fl
                .args
                .iter()
                .map(|a| self.eval(a, false))
                .collect::<Result<Vec<_>, _>>()?;
            let kw = fl
                .kwargs
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.eval(v, false)?)))
                .collect::<Result<Vec<_>, MjError>>()?;
            acc = self.apply_filter(fl.pos, &fl.name, acc, &args, &kw)?;
        }
        Ok(acc)
    }

    fn lookup_keys(
        &self,
        pos: usize,
        quiet: bool,
        text: &str,
        root: Option<Value>,
        root_name: &str,
        keys: &[Value],
    ) -> Value {
        let Some(mut cur) = root else {
            if !quiet {
                self.undefined(pos, text, root_name, None);
            }
            return Value::UNDEFINED;
        };
        for (i, k) in keys.iter().enumerate() {
            let found = match k.kind() {
                ValueKind::Seq => lv::lookup(
                    &cur,
                    &k.get_item(&Value::from(0)).unwrap_or_default(),
                    false,
                ),
                _ => lv::lookup(&cur, k, true),
            };
            match found {
                Some(v) => cur = v,
                // a key that exists with no value (`page.previous` of a collection's first
                // document): what follows it is nil, as in Jekyll, and no mistake of the page's
                None if lv::is_nil(&cur) => return Value::UNDEFINED,
                None => {
                    if !quiet {
                        // the path as far as it resolved, for the message
                        let mut path = root_name.to_string();
                        for k in &keys[..=i] {
                            let key = match k.kind() {
                                ValueKind::Seq => k.get_item(&Value::from(0)).unwrap_or_default(),
                                _ => k.clone(),
                            };
                            path.push('.');
                            path.push_str(&lv::to_s(&key));
                        }
                        if lv::is_nil(&cur) {
                            let parent = &path[..path.rfind('.').unwrap_or(path.len())];
                            self.undefined(pos, text, parent, None);
                        } else {
                            self.undefined(pos, text, &path, Some(&cur));
                        }
                    }
                    return Value::UNDEFINED;
                }
            }
        }
        cur
    }

    fn undefined(&self, pos: usize, text: &str, missing: &str, parent: Option<&Value>) {
        // `host` is the inventory's, given by a run on a host: without one it is no problem
        if self.shared.site.host.is_none() && (missing == "host" || missing.starts_with("host.")) {
            self.diagnose(
                "host-variable",
                pos,
                text.len(),
                format!("`{missing}` is a variable of the host the steps run on"),
                Some("a run with --on HOST and an inventory that gives it defines it".into()),
                true,
            );
            return;
        }
        let mut hint = None;
        if let Some(p) = parent.filter(|p| lv::is_map(p)) {
            let last = missing.rsplit('.').next().unwrap_or(missing);
            let keys: Vec<String> = lv::map_pairs(p)
                .into_iter()
                .map(|(k, _)| lv::to_s(&k))
                .collect();
            if let Some(best) = closest(last, &keys) {
                let prefix = &missing[..missing.len() - last.len()];
                hint = Some(format!("did you mean `{prefix}{best}`?"));
            }
        }
        if hint.is_none() {
            hint = Some(if missing.starts_with("site.") {
                "define it in the site config, or pass `--var site.KEY=VALUE`".to_string()
            } else if missing.starts_with("page.") {
                "define it in the page's front matter".to_string()
            } else {
                "Jekyll renders an undefined variable as an empty string".to_string()
            });
        }
        self.problem(
            "undefined-variable",
            pos,
            text.len(),
            if text.trim() == missing {
                format!("undefined variable `{missing}`")
            } else {
                format!("undefined variable `{missing}` in `{text}`")
            },
            hint,
        );
    }
}

fn closest<'a>(word: &str, options: &'a [String]) -> Option<&'a str> {
    options
        .iter()
        .map(|o| (levenshtein(word, o), o))
        .filter(|(d, o)| *d <= 2.max(o.len() / 4) && *d > 0)
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o.as_str())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn upos(pos: i64) -> usize {
    usize::try_from(pos).unwrap_or(0)
}

fn register(env: &mut Environment<'static>) {
    env.add_function(
        "_v",
        |state: &State,
         pq: i64,
         text: &str,
         name: Value,
         keys: Rest<Value>|
         -> Result<Value, MjError> {
            let rt = rt(state)?;
            let (pos, quiet) = (pq >> 1, pq & 1 == 1);
            let root = match name.as_str() {
                Some(n) => rt.resolve_name(n),
                None => rt.resolve_name(&lv::to_s(&name)),
            };
            let name = name
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| lv::to_s(&name));
            Ok(rt.lookup_keys(upos(pos), quiet, text, root, &name, &keys))
        },
    );
    env.add_function(
        "_vl",
        |state: &State,
         pq: i64,
         text: &str,
         root: Value,
         keys: Rest<Value>|
         -> Result<Value, MjError> {
            let rt = rt(state)?;
            let (pos, quiet) = (pq >> 1, pq & 1 == 1);
            let name = text.split(['.', '[']).next().unwrap_or("");
            Ok(rt.lookup_keys(upos(pos), quiet, text, Some(root), name, &keys))
        },
    );
    env.add_function(
        "_p",
        |state: &State, pq: i64, path: &str| -> Result<Value, MjError> {
            let rt = rt(state)?;
            let (pos, quiet) = (pq >> 1, pq & 1 == 1);
            let mut parts = path.split('.');
            let name = parts.next().unwrap_or("");
            let keys: Vec<Value> = parts.map(Value::from).collect();
            let root = rt.resolve_name(name);
            Ok(rt.lookup_keys(upos(pos), quiet, path, root, name, &keys))
        },
    );
    env.add_function(
        "_pl",
        |state: &State, pq: i64, path: &str, root: Value| -> Result<Value, MjError> {
            let rt = rt(state)?;
            let (pos, quiet) = (pq >> 1, pq & 1 == 1);
            let mut parts = path.split('.');
            let name = parts.next().unwrap_or("");
            let keys: Vec<Value> = parts.map(Value::from).collect();
            Ok(rt.lookup_keys(upos(pos), quiet, path, Some(root), name, &keys))
        },
    );
    env.add_function(
        "_memo_get",
        |state: &State, key: &str| -> Result<Value, MjError> {
            let rt = rt(state)?;
            let hit = rt.shared.memo.lock().unwrap().get(key).cloned();
            let mut st = rt.state.lock().unwrap();
            if let Some((out, offsets)) = hit {
                st.for_offsets.extend(offsets);
                return Ok(out);
            }
            let n = st.diags.len() + usize::from(st.fatal.is_some());
            let offsets = st.for_offsets.clone();
            st.memo_marks.push((n, offsets));
            Ok(Value::from(()))
        },
    );
    env.add_function(
        "_memo_put",
        |state: &State, key: &str, out: Value| -> Result<Value, MjError> {
            let rt = rt(state)?;
            let clean = {
                let mut st = rt.state.lock().unwrap();
                let n = st.diags.len() + usize::from(st.fatal.is_some());
                match st.memo_marks.pop() {
                    Some((mark, before)) if mark == n => {
                        Some(offsets_since(&before, &st.for_offsets))
                    }
                    _ => None,
                }
            };
            // a loop that reported something is computed again on each page, to report it there
            if let Some(offsets) = clean {
                rt.shared
                    .memo
                    .lock()
                    .unwrap()
                    .insert(key.to_string(), (out.clone(), offsets));
            }
            Ok(out)
        },
    );
    env.add_function("_str", |v: Value| Value::from(lv::to_s(&v)));
    env.add_function("_t", |v: Value| lv::truthy(&v));
    env.add_function("_special", |k: String| {
        Value::from_object(Special(if k == "empty" { "empty" } else { "blank" }))
    });
    env.add_function(
        "_cmp",
        |state: &State, pos: i64, a: Value, op: String, b: Value| -> Result<bool, MjError> {
            lv::compare(&a, &op, &b).map_err(|m| {
                rt(state)
                    .map(|rt| {
                        rt.fatal(
                            upos(pos),
                            1,
                            format!("Liquid error: {m}"),
                            Some("compare values of the same kind".into()),
                        )
                    })
                    .unwrap_or_else(|e| e)
            })
        },
    );
    env.add_function("_range", |a: Value, b: Value| range_value(&a, &b));
    env.add_function(
        "_set",
        |state: &State, name: String, value: Value| -> Result<Value, MjError> {
            let rt = rt(state)?;
            rt.state.lock().unwrap().globals.insert(name, value);
            Ok(Value::from(""))
        },
    );
    env.add_function(
        "_f",
        |state: &State,
         pos: i64,
         name: String,
         input: Value,
         rest: Rest<Value>|
         -> Result<Value, MjError> {
            let rt = rt(state)?;
            let args = rest.first().map(lv::seq).unwrap_or_default();
            let kwargs = rest.get(1).cloned().unwrap_or_default();
            let kw: Vec<(String, Value)> = lv::map_pairs(&kwargs)
                .into_iter()
                .map(|(k, v)| (lv::to_s(&k), v))
                .collect();
            rt.apply_filter(upos(pos), &name, input, &args, &kw)
        },
    );
    env.add_function(
        "_iter",
        |state: &State,
         meta: Vec<Value>,
         coll: Value,
         offset: Value,
         limit: Value|
         -> Result<Value, MjError> {
            let rt = rt(state)?;
            let flag = |i: usize| meta.get(i).is_some_and(|v| v.is_true());
            let pos = upos(meta.first().and_then(|v| v.as_i64()).unwrap_or(0));
            let (reversed, resume) = (flag(1), flag(2));
            let name = meta.get(3).map(lv::to_s).unwrap_or_default();
            let integer = |v: &Value, what: &str| {
                lv::to_integer(v).map_err(|m| {
                    rt.fatal(
                        pos,
                        3,
                        format!("Liquid error: {m}"),
                        Some(format!(
                            "`{what}:` takes a whole number; Jekyll stops on {}",
                            lv::inspect(v)
                        )),
                    )
                })
            };
            let from = if resume {
                let st = rt.state.lock().unwrap();
                st.for_offsets.get(&name).copied().unwrap_or(0)
            } else if lv::is_nil(&offset) {
                0
            } else {
                integer(&offset, "offset")?
            };
            let to = if lv::is_nil(&limit) {
                None
            } else {
                Some(integer(&limit, "limit")?.saturating_add(from))
            };
            let seg = if coll.kind() == ValueKind::Seq && from == 0 && to.is_none() && !reversed {
                // the common case: iterate the list itself, no copy
                coll
            } else {
                let mut seg = slice_collection(&coll, from, to);
                if reversed {
                    seg.reverse();
                }
                Value::from(seg)
            };
            let len = seg.len().unwrap_or_else(|| lv::seq(&seg).len()) as i64;
            rt.state
                .lock()
                .unwrap()
                .for_offsets
                .insert(name, from.saturating_add(len));
            Ok(seg)
        },
    );
    env.add_function(
        "_intr_set",
        |state: &State, kind: u8| -> Result<Value, MjError> {
            rt(state)?.state.lock().unwrap().interrupts.push(kind);
            Ok(Value::from(""))
        },
    );
    env.add_function("_pending", |state: &State| -> Result<bool, MjError> {
        Ok(!rt(state)?.state.lock().unwrap().interrupts.is_empty())
    });
    env.add_function("_intr_take", |state: &State| -> Result<u8, MjError> {
        Ok(rt(state)?
            .state
            .lock()
            .unwrap()
            .interrupts
            .pop()
            .unwrap_or(0))
    });
    env.add_function("_empty", |seg: Value| {
        seg.len().unwrap_or_else(|| lv::seq(&seg).len()) == 0
    });
    env.add_function("_count", |tests: Rest<Value>| {
        tests.iter().filter(|t| t.is_true()).count() as i64
    });
    env.add_function("_times", |n: i64| {
        Value::from(vec![Value::from(()); usize::try_from(n).unwrap_or(0)])
    });
    env.add_function(
        "_trseg",
        |state: &State,
         meta: Vec<i64>,
         coll: Value,
         offset: Value,
         limit: Value|
         -> Result<Value, MjError> {
            let rt = rt(state)?;
            let pos = upos(meta.first().copied().unwrap_or(0));
            if !lv::truthy(&coll) {
                return Ok(Value::from(()));
            }
            let to_i = |v: &Value| {
                lv::ruby_to_i(v).map_err(|m| rt.fatal(pos, 3, format!("Liquid error: {m}"), None))
            };
            let from = if meta.get(1) == Some(&1) {
                to_i(&offset)?
            } else {
                0
            };
            let to = if meta.get(2) == Some(&1) {
                Some(to_i(&limit)?.saturating_add(from))
            } else {
                None
            };
            Ok(Value::from(slice_collection(&coll, from, to)))
        },
    );
    env.add_function(
        "_to_i",
        |state: &State, pos: i64, v: Value| -> Result<i64, MjError> {
            let rt = rt(state)?;
            lv::ruby_to_i(&v)
                .map_err(|m| rt.fatal(upos(pos), 3, format!("Liquid error: {m}"), None))
        },
    );
    env.add_function("_trloop", |index0: i64, length: i64, cols: i64| {
        Value::from_object(TableRowLoop {
            index0,
            length,
            cols,
        })
    });
    env.add_function("_forloop", |lp: Value, parent: Value| -> Value {
        Value::from_object(ForLoop { lp, parent })
    });
    env.add_function(
        "_incr",
        |state: &State, name: String, up: bool| -> Result<Value, MjError> {
            let rt = rt(state)?;
            let mut st = rt.state.lock().unwrap();
            let c = st.counters.entry(name).or_insert(0);
            if up {
                let v = *c;
                *c += 1;
                Ok(Value::from(v))
            } else {
                *c -= 1;
                Ok(Value::from(*c))
            }
        },
    );
    env.add_function(
        "_cycle",
        |state: &State,
         meta: Vec<Value>,
         group: Value,
         values: Vec<Value>|
         -> Result<Value, MjError> {
            let rt = rt(state)?;
            let pos = meta.first().and_then(|v| v.as_i64()).unwrap_or(0);
            let mut st = rt.state.lock().unwrap();
            // Liquid's key: the group's value (a string or another value), else the values'
            // text (the same literals share a counter), else the tag itself
            let key = if meta.get(1).is_some_and(|v| v.is_true()) {
                match group.as_str() {
                    Some(s) => format!("s:{s}"),
                    None => format!("v:{}", lv::inspect(&group)),
                }
            } else if let Some(k) = meta.get(2).and_then(|v| v.as_str()) {
                format!("s:{k}")
            } else {
                let file = st
                    .files
                    .last()
                    .map(|(f, _)| f.path.to_string_lossy().to_string())
                    .unwrap_or_default();
                format!("i:{file}:{pos}")
            };
            let i = st.cycles.get(&key).copied().unwrap_or(0);
            let v = values.get(i).cloned().unwrap_or_default();
            let next = if i + 1 >= values.len() { 0 } else { i + 1 };
            st.cycles.insert(key, next);
            Ok(v)
        },
    );
    env.add_function(
        "_ifchanged",
        |state: &State, captured: String| -> Result<Value, MjError> {
            let rt = rt(state)?;
            let mut st = rt.state.lock().unwrap();
            if st.changed.as_ref() == Some(&captured) {
                Ok(Value::from(""))
            } else {
                st.changed = Some(captured.clone());
                Ok(Value::from(captured))
            }
        },
    );
    env.add_function(
        "_include",
        |state: &State,
         meta: Vec<i64>,
         file: String,
         params: Value,
         bindings: Value|
         -> Result<Value, MjError> {
            let rt = rt(state)?;
            let flag = |i: usize| meta.get(i).copied().unwrap_or(0) != 0;
            let pos = upos(meta.first().copied().unwrap_or(0));
            include(state, &rt, pos, &file, flag(1), params, bindings, flag(2))
        },
    );
    env.add_function("_link", |state: &State, pos: i64, path: String| -> Result<Value, MjError> {
        let rt = rt(state)?;
        let site = &rt.shared.site;
        let trimmed = path.trim();
        let key = trimmed.trim_start_matches('/');
        match site.index.url(key) {
            Some(url) => Ok(Value::from(filters::relative_url(&url, &site.baseurl))),
            None => Err(rt.fatal(
                upos(pos),
                6,
                format!("Could not find document '{trimmed}' in tag 'link'."),
                Some("Make sure the document exists and the path is correct (relative to the site root, e.g. `_posts/x.md`)".into()),
            )),
        }
    });
}

/// Liquid's `forloop`, read from minijinja's `loop` when a template asks for a field.
#[derive(Debug)]
struct ForLoop {
    lp: Value,
    parent: Value,
}

const FORLOOP_KEYS: [&str; 8] = [
    "length",
    "index",
    "index0",
    "rindex",
    "rindex0",
    "first",
    "last",
    "parentloop",
];

impl Object for ForLoop {
    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let jinja = match key.as_str()? {
            "rindex" => "revindex",
            "rindex0" => "revindex0",
            "parentloop" => return Some(self.parent.clone()),
            k @ ("length" | "index" | "index0" | "first" | "last") => k,
            _ => return None,
        };
        self.lp.get_attr(jinja).ok()
    }
    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Str(&FORLOOP_KEYS)
    }
}

/// Liquid's `tablerowloop`.
#[derive(Debug)]
struct TableRowLoop {
    index0: i64,
    length: i64,
    cols: i64,
}

const TABLEROWLOOP_KEYS: [&str; 12] = [
    "length",
    "col",
    "row",
    "index",
    "index0",
    "col0",
    "rindex",
    "rindex0",
    "first",
    "last",
    "col_first",
    "col_last",
];

impl TableRowLoop {
    /// (col, row), 1-based: a new row after `cols` columns (never when cols < 1).
    fn place(&self) -> (i64, i64) {
        if self.cols >= 1 {
            (self.index0 % self.cols + 1, self.index0 / self.cols + 1)
        } else {
            (self.index0 + 1, 1)
        }
    }
}

impl Object for TableRowLoop {
    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let (col, row) = self.place();
        let i = self.index0;
        Some(match key.as_str()? {
            "length" => Value::from(self.length),
            "col" => Value::from(col),
            "row" => Value::from(row),
            "index" => Value::from(i + 1),
            "index0" => Value::from(i),
            "col0" => Value::from(col - 1),
            "rindex" => Value::from(self.length - i),
            "rindex0" => Value::from(self.length - i - 1),
            "first" => Value::from(i == 0),
            "last" => Value::from(i == self.length - 1),
            "col_first" => Value::from(col == 1),
            "col_last" => Value::from(col == self.cols),
            _ => return None,
        })
    }
    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Str(&TABLEROWLOOP_KEYS)
    }
}

/// Liquid's `Utils.slice_collection`: the items at `from <= index < to` (a string is one
/// item whatever the bounds; a hash gives `[key, value]` pairs; other values nothing).
fn slice_collection(coll: &Value, from: i64, to: Option<i64>) -> Vec<Value> {
    let items: Vec<Value> = match coll.kind() {
        ValueKind::String => {
            return if coll.as_str().unwrap_or("").is_empty() {
                vec![]
            } else {
                vec![coll.clone()]
            };
        }
        ValueKind::Map if lv::special(coll).is_none() => lv::map_pairs(coll)
            .into_iter()
            .map(|(k, v)| Value::from(vec![k, v]))
            .collect(),
        ValueKind::Seq | ValueKind::Iterable => lv::seq(coll),
        _ => vec![],
    };
    items
        .into_iter()
        .enumerate()
        .take_while(|(i, _)| to.is_none_or(|t| (*i as i64) < t))
        .filter(|(i, _)| *i as i64 >= from)
        .map(|(_, v)| v)
        .collect()
}

/// The loop offsets that changed since `before`.
fn offsets_since(before: &HashMap<String, i64>, now: &HashMap<String, i64>) -> Vec<(String, i64)> {
    now.iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

/// Liquid's `(a..b)`, as the list it iterates.
fn range_value(a: &Value, b: &Value) -> Value {
    let (a, b) = (int_of(a), int_of(b));
    if b < a || b - a > 1_000_000 {
        return Value::from(Vec::<Value>::new());
    }
    (a..=b).map(Value::from).collect()
}

fn int_of(v: &Value) -> i64 {
    let n = lv::to_number(v);
    if n.is_integer() {
        n.as_i64().unwrap_or(0)
    } else {
        lv::as_f64(&n).unwrap_or(0.0) as i64
    }
}

/// Includes within includes, at most.
const MAX_INCLUDE_DEPTH: usize = 100;

/// Jekyll's file-name rule for includes.
fn valid_include_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "_/.-()+~#@".contains(c))
        && !name
            .as_bytes()
            .windows(2)
            .any(|w| matches!(w, [b'.' | b'/', b'.' | b'/']))
}

#[allow(clippy::too_many_arguments)]
fn include(
    state: &State,
    rt: &Arc<Runtime>,
    pos: usize,
    file: &str,
    has_params: bool,
    params: Value,
    bindings: Value,
    relative: bool,
) -> Result<Value, MjError> {
    let site = &rt.shared.site;
    let name = file.trim();
    let tag = if relative {
        "include_relative"
    } else {
        "include"
    };
    if !valid_include_name(name) {
        return Err(rt.fatal(
            pos,
            tag.len() + 3,
            format!("Invalid syntax for include tag. File contains invalid characters or sequences: {name}"),
            Some("an include names a file under the site's `_includes/` with letters, digits and `_/.-()+~#@`, no `..` or `//`".into()),
        ));
    }
    let dir: PathBuf = if relative {
        let st = rt.state.lock().unwrap();
        st.files
            .first()
            .and_then(|(f, _)| f.path.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| site.root.clone())
    } else {
        site.includes_dir.clone()
    };
    let path = dir.join(name.trim_start_matches('/'));
    let shown_dir = crate::source::display_path(&dir);
    let canon = match rt.shared.resolve(&path) {
        Some(p) => p,
        None => {
            return Err(rt.fatal(
                pos,
                tag.len() + 3,
                format!("Could not locate the included file '{name}' in any of [\"{shown_dir}\"]."),
                Some(format!(
                    "create {}, or fix the file name",
                    crate::source::display_path(&path)
                )),
            ));
        }
    };
    let (root, includes) = rt.shared.canonical();
    if !canon.starts_with(root) || (!relative && !canon.starts_with(includes)) {
        return Err(rt.fatal(
            pos,
            tag.len() + 3,
            format!(
                "included file '{name}' is outside the site ({})",
                crate::source::display_path(&canon)
            ),
            Some(
                "includes may only read files inside the site root (symlinks are resolved)".into(),
            ),
        ));
    }
    let key = canon.to_string_lossy().to_string();
    {
        let st = rt.state.lock().unwrap();
        let recursion = st.files.iter().skip(1).any(|(f, _)| f.path == canon);
        if recursion || st.files.len() > MAX_INCLUDE_DEPTH {
            let chain: Vec<String> = st
                .files
                .iter()
                .map(|(f, _)| crate::source::display_path(&f.path))
                .chain(std::iter::once(crate::source::display_path(&canon)))
                .collect();
            drop(st);
            let (message, hint) = if recursion {
                (
                    format!("include recursion: {}", chain.join(" -> ")),
                    "an include must not include itself, directly or through others".to_string(),
                )
            } else {
                (
                    format!("includes nested more than {MAX_INCLUDE_DEPTH} deep"),
                    format!(
                        "the chain starts {} -> …",
                        chain
                            .iter()
                            .take(3)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(" -> ")
                    ),
                )
            };
            return Err(rt.fatal(pos, tag.len() + 3, message, Some(hint)));
        }
    }
    let template = state.env().get_template(&key);
    let info = rt.shared.includes.lock().unwrap().get(&key).cloned();
    let template = match (template, &info) {
        (Ok(t), _) => t,
        (Err(_), Some(info)) if info.error.is_some() => {
            let e = info.error.as_ref().unwrap();
            let d = parse_error(&info.file, 0, e);
            let mut st = rt.state.lock().unwrap();
            if st.fatal.is_none() {
                st.fatal = Some(d);
            }
            return Err(MjError::new(ErrorKind::BadInclude, "include failed"));
        }
        (Err(e), _) => {
            return Err(rt.fatal(
                pos,
                tag.len() + 3,
                format!(
                    "cannot read included file '{name}': {}",
                    e.detail().unwrap_or("")
                ),
                None,
            ));
        }
    };
    let info = info.expect("loader records every include");
    // the same self-contained include with the same parameters: its output is known
    let memo_key = memo_key(rt, &info, &key, has_params, &params, &bindings);
    if let Some(k) = &memo_key
        && let Some(done) = rt.shared.include_memo.lock().unwrap().get(k).cloned()
    {
        tracing::debug!(include = %key, "include output reused");
        let mut st = rt.state.lock().unwrap();
        for (name, v) in &done.assigns {
            st.globals.insert(name.clone(), v.clone());
        }
        st.for_offsets
            .extend(done.offsets.iter().map(|(k, v)| (k.clone(), *v)));
        return Ok(Value::from(done.output.as_str()));
    }
    let before = memo_key.as_ref().map(|_| {
        let st = rt.state.lock().unwrap();
        let assigned = info.pure.as_deref().unwrap_or_default();
        let values: Vec<Option<Value>> = assigned
            .iter()
            .map(|n| st.globals.get(n).cloned())
            .collect();
        (st.diags.len(), values, st.for_offsets.clone())
    });
    let mut scope: Vec<(String, Value)> = lv::map_pairs(&bindings)
        .into_iter()
        .map(|(k, v)| (lv::to_s(&k), v))
        .collect();
    if has_params {
        scope.push(("include".into(), params));
    }
    {
        let mut st = rt.state.lock().unwrap();
        if st.reported_includes.insert(key.clone()) {
            for w in &info.warnings {
                let d = parse_warning(&info.file, 0, w, rt.mode);
                st.diags.push(d);
            }
        }
        st.scopes.push(scope);
        st.files.push((info.file.clone(), 0));
    }
    let out = template.render(Value::from_pairs(Vec::<(Value, Value)>::new()));
    let mut st = rt.state.lock().unwrap();
    st.scopes.pop();
    st.files.pop();
    // kept only when it reported nothing: a warning must show on every page that has it
    if let (Some(k), Some((diags, values, offsets)), Ok(output)) = (memo_key, before, &out)
        && st.diags.len() == diags
        && st.fatal.is_none()
    {
        let assigned = info.pure.as_deref().unwrap_or_default();
        let assigns = assigned
            .iter()
            .zip(values)
            .filter_map(|(n, old)| {
                let now = st.globals.get(n).cloned();
                (now != old).then(|| now.map(|v| (n.clone(), v)))?
            })
            .collect();
        tracing::debug!(include = %key, "include output kept for the build");
        rt.shared.include_memo.lock().unwrap().insert(
            k,
            Arc::new(IncludeResult {
                output: output.clone(),
                assigns,
                offsets: offsets_since(&offsets, &st.for_offsets),
            }),
        );
    }
    drop(st);
    out.map(Value::from)
}

/// The key under which an include's output is kept, when it can be: the include is
/// self-contained, called at the top of a page (no loop or include around it whose variables
/// it could see) with parameters that are plain data, and the page has not assigned `site`.
fn memo_key(
    rt: &Runtime,
    info: &IncludeInfo,
    file: &str,
    has_params: bool,
    params: &Value,
    bindings: &Value,
) -> Option<String> {
    info.pure.as_ref()?;
    if !has_params || !info.warnings.is_empty() || !lv::map_pairs(bindings).is_empty() {
        return None;
    }
    {
        let st = rt.state.lock().unwrap();
        if !st.scopes.is_empty() || st.globals.contains_key("site") {
            return None;
        }
    }
    // the parameters are the map the tag builds: its values must be plain data
    let mut key = format!("{file}\0");
    for (k, v) in lv::map_pairs(params) {
        if !plain_data(&k, &mut key, 0) || !plain_data(&v, &mut key, 0) {
            return None;
        }
    }
    Some(key)
}

/// Write `v` to `out` if it is plain data (nil, booleans, numbers, strings, and lists of
/// those): a text that tells such values apart. False for anything else (maps may be the
/// site's own lazy objects).
fn plain_data(v: &Value, out: &mut String, depth: usize) -> bool {
    use std::fmt::Write as _;
    if depth > 8 {
        return false;
    }
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push('~'),
        ValueKind::Bool => out.push(if v.is_true() { 'T' } else { 'F' }),
        ValueKind::Number => {
            let _ = write!(out, "#{v}");
        }
        ValueKind::String => {
            let s = v.as_str().unwrap_or("");
            let _ = write!(out, "s{}:{s}", s.len());
        }
        ValueKind::Seq if lv::special(v).is_none() => {
            let items = lv::seq(v);
            let _ = write!(out, "[{}:", items.len());
            for item in &items {
                if !plain_data(item, out, depth + 1) {
                    return false;
                }
            }
            out.push(']');
        }
        _ => return false,
    }
    true
}
