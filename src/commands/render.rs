//! `runbook render`: a page or a whole tree, resolved as Jekyll resolves it.

use super::{markdown_files, replace_file, report, write_atomic};
use crate::cli::SiteArgs;
use crate::error::{Diagnostic, EXIT_INPUT, EXIT_OK, Error, Result, Severity};
use crate::liquid::{Engine, Mode, filters::markdown_html};
use crate::site::Site;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct RenderOpts {
    pub html: bool,
    pub mode: Mode,
}

/// Render one page with an engine of its site. Err: fatal problems (and strict errors).
pub fn render_page(
    engine: &Engine,
    site: &Site,
    path: &Path,
    opts: &RenderOpts,
) -> std::result::Result<(String, Vec<Diagnostic>), Vec<Diagnostic>> {
    let crate::document::RenderedPage {
        output,
        diagnostics: diags,
        ..
    } = crate::document::render(engine, site, path, opts.mode)?;
    if opts.mode == Mode::Strict && diags.iter().any(|d| d.severity == Severity::Error) {
        return Err(diags);
    }
    let out = if opts.html {
        markdown_html(&output)
    } else {
        output
    };
    Ok((out, diags))
}

pub fn run(
    path: &Path,
    output: Option<&Path>,
    opts: RenderOpts,
    site_args: &SiteArgs,
) -> Result<i32> {
    if !path.exists() {
        return Err(Error::Usage(format!(
            "{} does not exist",
            crate::source::display_path(path)
        )));
    }
    let (site, engine) = super::open_site(path, site_args)?;
    if path.is_dir() {
        let Some(out_dir) = output else {
            return Err(Error::Usage("rendering a directory needs -o OUT".into()));
        };
        let code = render_tree(&engine, &site, path, out_dir, &opts);
        // The process ends right after this; freeing every page value of a big site one by
        // one takes longer than rendering a good share of it.
        std::mem::forget(engine);
        std::mem::forget(site);
        return code;
    }
    match render_page(&engine, &site, path, &opts) {
        Ok((out, diags)) => {
            report(&diags);
            match output {
                Some(o) => write_atomic(o, out.as_bytes())?,
                None => {
                    let mut stdout = std::io::stdout().lock();
                    // a closed pipe (`| head`) is not an error worth reporting
                    let _ = stdout
                        .write_all(out.as_bytes())
                        .and_then(|_| stdout.flush());
                }
            }
            // the process ends here: its memory goes back whole, not value by value
            std::mem::forget((out, engine, site));
            Ok(EXIT_OK)
        }
        Err(diags) => {
            report(&diags);
            Ok(EXIT_INPUT)
        }
    }
}

fn render_tree(
    engine: &Engine,
    site: &Site,
    dir: &Path,
    out_dir: &Path,
    opts: &RenderOpts,
) -> Result<i32> {
    // an output folder inside the tree is not part of the input (on a second run, say)
    let out_abs = std::path::absolute(out_dir).unwrap_or(out_dir.to_path_buf());
    let files: Vec<PathBuf> = markdown_files(dir)
        .into_iter()
        .filter(|f| {
            !std::path::absolute(f)
                .unwrap_or(f.clone())
                .starts_with(&out_abs)
        })
        .collect();
    // A new output tree is built in a hidden sibling folder and renamed into place at the
    // end: it appears whole or not at all, and each page is one plain write. Into a folder
    // that already exists, each page is replaced on its own (temp file + rename).
    let stage = Stage::new(out_dir)?;
    let root = stage.root();
    // every output folder once, before the workers write into them
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| {
            root.join(f.strip_prefix(dir).unwrap_or(f))
                .parent()
                .map(Path::to_path_buf)
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let problems: Mutex<Vec<(PathBuf, Vec<Diagnostic>)>> = Mutex::new(Vec::new());
    let io_error: Mutex<Option<Error>> = Mutex::new(None);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(files.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let rel = file.strip_prefix(dir).unwrap_or(file);
                    let mut target = root.join(rel);
                    if opts.html {
                        target.set_extension("html");
                    }
                    match render_page(engine, site, file, opts) {
                        Ok((out, diags)) => {
                            if let Err(e) = stage.write(&target, out.as_bytes()) {
                                io_error.lock().unwrap().get_or_insert(e);
                            }
                            if !diags.is_empty() {
                                problems.lock().unwrap().push((file.clone(), diags));
                            }
                        }
                        Err(diags) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            problems.lock().unwrap().push((file.clone(), diags));
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = io_error.into_inner().unwrap() {
        return Err(e);
    }
    stage.finish()?;
    let mut problems = problems.into_inner().unwrap();
    problems.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, d) in &problems {
        report(d);
    }
    let failed = failed.into_inner();
    tracing::info!(pages = files.len(), failed, "rendered tree");
    if failed > 0 {
        errln!("{failed} of {} pages failed to render", files.len());
        Ok(EXIT_INPUT)
    } else {
        Ok(EXIT_OK)
    }
}

/// Where a tree render writes: a staging folder renamed to the output folder when done (the
/// output folder did not exist), or the output folder itself.
struct Stage {
    out: PathBuf,
    staging: Option<PathBuf>,
}

impl Stage {
    fn new(out: &Path) -> Result<Stage> {
        if out.exists() && !out.is_dir() {
            return Err(Error::Usage(format!(
                "-o {}: exists and is not a folder (give a folder for the rendered tree)",
                crate::source::display_path(out)
            )));
        }
        // a folder that exists (even empty: it may be a mount point, or a symlink) is
        // written into, never replaced
        let fresh = match std::fs::symlink_metadata(out) {
            Ok(_) => false,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => return Err(Error::io(out, e)),
        };
        if !fresh {
            return Ok(Stage {
                out: out.to_path_buf(),
                staging: None,
            });
        }
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "out".into());
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(p) = parent {
            std::fs::create_dir_all(p).map_err(|e| Error::io(p, e))?;
        }
        let dir = parent.unwrap_or(Path::new("."));
        // what renders that were killed left behind (their process is gone)
        let prefix = format!(".{name}.runbook-");
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let file_name = e.file_name();
            let pid = file_name.to_str().and_then(|n| n.strip_prefix(&prefix));
            if pid.is_some_and(|p| !Path::new("/proc").join(p).exists()) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let staging = dir.join(format!(".{name}.runbook-{}", std::process::id()));
        // a leftover of a killed render with the same pid
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
        Ok(Stage {
            out: out.to_path_buf(),
            staging: Some(staging),
        })
    }

    fn root(&self) -> &Path {
        self.staging.as_deref().unwrap_or(&self.out)
    }

    fn write(&self, target: &Path, data: &[u8]) -> Result<()> {
        match self.staging {
            // nobody sees the staging folder until it is complete
            Some(_) => std::fs::write(target, data).map_err(|e| Error::io(target, e)),
            None => replace_file(target, data),
        }
    }

    /// Put the staged tree in place.
    fn finish(mut self) -> Result<()> {
        if let Some(staging) = self.staging.take() {
            std::fs::rename(&staging, &self.out).map_err(|e| {
                let _ = std::fs::remove_dir_all(&staging);
                Error::io(&self.out, e)
            })?;
        }
        Ok(())
    }
}

impl Drop for Stage {
    /// A render that stopped on an error leaves no half-built tree behind.
    fn drop(&mut self) {
        if let Some(staging) = &self.staging {
            let _ = std::fs::remove_dir_all(staging);
        }
    }
}
