//! One module per subcommand; each returns an exit code or an error printed by `lib::run`.
pub mod check;
pub mod list;
pub mod lsp;
pub mod render;
pub mod run;

use crate::cli::SiteArgs;
use crate::error::{Diagnostic, Error, Result, Severity};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// `--var site.KEY=VALUE` pairs, validated.
pub fn site_vars(args: &SiteArgs) -> Result<Vec<(String, String)>> {
    args.vars
        .iter()
        .map(|v| {
            let (k, val) = v
                .split_once('=')
                .ok_or_else(|| Error::Usage(format!("--var {v}: expected site.KEY=VALUE")))?;
            let key = k.strip_prefix("site.").ok_or_else(|| {
                Error::Usage(format!(
                    "--var {v}: only site values can be set (site.KEY=VALUE)"
                ))
            })?;
            if key.is_empty() {
                return Err(Error::Usage(format!("--var {v}: the key is empty")));
            }
            Ok((key.to_string(), val.to_string()))
        })
        .collect()
}

static QUIET: AtomicBool = AtomicBool::new(false);

/// `-q`: only errors reach stderr.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

static VERBOSE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// `-v` given this many times.
pub fn set_verbose(count: u8) {
    VERBOSE.store(count, Ordering::Relaxed);
}

/// How much runbook says on the terminal: -1 with `-q`, else the number of `-v`.
pub fn verbosity() -> i8 {
    if QUIET.load(Ordering::Relaxed) {
        -1
    } else {
        VERBOSE.load(Ordering::Relaxed).min(100) as i8
    }
}

/// The site of `path` (config from `--site` or found upward), its warnings reported, and an
/// engine to render its pages.
pub fn open_site(
    path: &Path,
    args: &SiteArgs,
) -> Result<(crate::site::Site, crate::liquid::Engine)> {
    let vars = site_vars(args)?;
    let site = crate::site::Site::load(path, args.site.as_deref(), &vars)?;
    report(&site.warnings);
    let engine = engine_for(&site);
    Ok((site, engine))
}

/// The site and engine again, with `host.*` (the inventory variables of the host a run goes
/// to) defined for the page; as they were when there are none.
pub fn with_host(
    site: crate::site::Site,
    engine: crate::liquid::Engine,
    host: Option<&crate::exec::config::RemoteHost>,
) -> (crate::site::Site, crate::liquid::Engine) {
    match host.and_then(|h| h.vars.clone()) {
        Some(vars) => {
            let mut site = site;
            site.env.host = Some(vars);
            let engine = engine_for(&site);
            (site, engine)
        }
        None => (site, engine),
    }
}

/// The Liquid engine of a site; a page that reads a document's `content` gets its rendered
/// body, as in Jekyll.
pub fn engine_for(site: &crate::site::Site) -> crate::liquid::Engine {
    let engine = crate::liquid::Engine::new(site.env.clone());
    let (e, s) = (engine.clone(), site.clone());
    site.index
        .set_renderer(std::sync::Arc::new(move |path: &Path| {
            crate::document::render(&e, &s, path, crate::liquid::Mode::Lax)
                .ok()
                .map(|r| r.output)
        }));
    engine
}

/// A usage error unless `path` is a file: says whether it is missing or a directory.
pub fn require_page(path: &Path) -> Result<()> {
    if path.is_file() {
        return Ok(());
    }
    let shown = crate::source::display_path(path);
    Err(Error::Usage(if path.is_dir() {
        format!(
            "{shown} is a directory, not a page (`runbook run {shown}` lists the pages it could run; `check` takes directories)"
        )
    } else if path.exists() {
        format!("{shown} is not a page")
    } else {
        format!("{shown} does not exist")
    }))
}

/// Print diagnostics on stderr (coloured on a terminal); with `-q`, errors only.
pub fn report(diags: &[Diagnostic]) {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let quiet = QUIET.load(Ordering::Relaxed);
    let mut out = String::new();
    for d in diags
        .iter()
        .filter(|d| !quiet || d.severity == Severity::Error)
    {
        out.push_str(&d.render(color));
    }
    err!("{out}");
}

/// Markdown pages under a directory, skipping Jekyll's special folders.
pub fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let path = e.path();
        if name.starts_with('.') {
            continue;
        }
        // a symlinked folder is not followed (it could loop back)
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            if matches!(
                name.as_str(),
                "_includes" | "_layouts" | "_data" | "_site" | "node_modules" | "vendor" | "_sass"
            ) {
                continue;
            }
            walk(&path, out);
        } else if matches!(
            path.extension().and_then(|x| x.to_str()),
            Some("md" | "markdown")
        ) {
            out.push(path);
        }
    }
}

/// Write a file so that it is either complete or absent: temp file, then rename.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    replace_file(path, data)
}

/// `write_atomic` into a directory that exists.
pub fn replace_file(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.runbook-tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    ));
    std::fs::write(&tmp, data).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}
