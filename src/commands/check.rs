//! `runbook check`: every problem in every page, strict, with file:line:column.

use super::{markdown_files, report, site_vars};
use crate::cli::SiteArgs;
use crate::error::{Diagnostic, EXIT_OK, EXIT_PROBLEMS, Error, Result};
use crate::liquid::{Engine, Mode};
use crate::site::Site;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// All problems of one page (strict Liquid).
pub fn check_page(engine: &Engine, site: &Site, path: &Path) -> Vec<Diagnostic> {
    let opts = super::render::RenderOpts {
        html: false,
        mode: Mode::Strict,
    };
    match super::render::render_page(engine, site, path, &opts) {
        Ok((_, diags)) | Err(diags) => diags,
    }
}

pub fn run(paths: &[PathBuf], json: bool, site_args: &SiteArgs) -> Result<i32> {
    let vars = site_vars(site_args)?;
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            files.extend(markdown_files(p));
        } else if p.exists() {
            files.push(p.clone());
        } else {
            return Err(Error::Usage(format!(
                "{} does not exist",
                crate::source::display_path(p)
            )));
        }
    }
    // one site (and engine) per config
    let mut engines: HashMap<Option<PathBuf>, (Site, Engine)> = HashMap::new();
    let mut all = Vec::new();
    for f in &files {
        let key = match &site_args.site {
            Some(s) => Some(s.clone()),
            None => crate::site::find_config(&std::path::absolute(f).unwrap_or(f.clone())),
        };
        if !engines.contains_key(&key) {
            let site = match Site::load(f, site_args.site.as_deref(), &vars) {
                Ok(s) => s,
                Err(Error::Input(d)) => {
                    all.extend(d);
                    continue;
                }
                Err(e) => return Err(e),
            };
            all.extend(site.warnings.clone());
            let engine = Engine::new(site.env.clone());
            engines.insert(key.clone(), (site, engine));
        }
        let (site, engine) = &engines[&key];
        all.extend(check_page(engine, site, f));
    }
    if json {
        let items: Vec<serde_json::Value> = all.iter().map(Diagnostic::to_json).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "pages": files.len(),
                "problems": items,
            }))
            .unwrap_or_default()
        );
    } else {
        report(&all);
        let n = all.len();
        eprintln!(
            "{} page{} checked, {n} problem{}",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            if n == 1 { "" } else { "s" }
        );
    }
    Ok(if all.is_empty() {
        EXIT_OK
    } else {
        EXIT_PROBLEMS
    })
}
