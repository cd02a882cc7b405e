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
        return render_tree(&engine, &site, path, out_dir, &opts);
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
    // every output folder once, before the workers write into them
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| {
            out_dir
                .join(f.strip_prefix(dir).unwrap_or(f))
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
                    let mut target = out_dir.join(rel);
                    if opts.html {
                        target.set_extension("html");
                    }
                    match render_page(engine, site, file, opts) {
                        Ok((out, diags)) => {
                            if let Err(e) = replace_file(&target, out.as_bytes()) {
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
    let mut problems = problems.into_inner().unwrap();
    problems.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, d) in &problems {
        report(d);
    }
    let failed = failed.into_inner();
    tracing::info!(pages = files.len(), failed, "rendered tree");
    if failed > 0 {
        eprintln!("{failed} of {} pages failed to render", files.len());
        Ok(EXIT_INPUT)
    } else {
        Ok(EXIT_OK)
    }
}
