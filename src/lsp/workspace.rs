//! What the server knows: the sites of the open pages (each loaded once, its index built
//! once, reloaded when its `_config.yml`, `_data/` or `_includes/` change on disk) and the
//! open pages themselves (the editor's text, not the file on disk).

use crate::cli::SiteArgs;
use crate::document::Document;
use crate::error::Diagnostic;
use crate::liquid::{Engine, Mode};
use crate::site::Site;
use crate::source::SourceFile;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// A site as loaded for the server, or why it could not be (an invalid `_config.yml`: then
/// its pages show that problem until the config is fixed).
pub struct SiteState {
    pub config: Option<PathBuf>,
    pub loaded: Result<(Site, Engine), Vec<Diagnostic>>,
    /// The watched files and folders and their modification times when the site was read.
    stamps: Vec<(PathBuf, Stamp)>,
}

impl SiteState {
    fn load(page: &Path, args: &SiteArgs, vars: &[(String, String)]) -> SiteState {
        let loaded = match Site::load(page, args.site.as_deref(), vars) {
            Ok(site) => {
                let engine = crate::commands::engine_for(&site);
                Ok((site, engine))
            }
            Err(crate::error::Error::Input(d)) => Err(d),
            Err(e) => Err(vec![Diagnostic::error("invalid-site", e.to_string())]),
        };
        let config = match &loaded {
            Ok((site, _)) => site.config_path.clone(),
            Err(_) => args.site.clone().or_else(|| crate::site::find_config(page)),
        };
        let config = config.map(|c| std::path::absolute(&c).unwrap_or(c));
        let mut state = SiteState {
            config,
            loaded,
            stamps: Vec::new(),
        };
        state.stamps = state.watched_stamps();
        state
    }

    pub fn site(&self) -> Option<&Site> {
        self.loaded.as_ref().ok().map(|(s, _)| s)
    }

    /// The site's root folder (the config's folder).
    pub fn root(&self) -> Option<PathBuf> {
        match &self.loaded {
            Ok((site, _)) => Some(site.root.clone()),
            Err(_) => self
                .config
                .as_ref()
                .and_then(|c| c.parent().map(Path::to_path_buf)),
        }
    }

    /// Folders whose files the site reads: `_data/` and `_includes/` (as the config names them).
    pub fn watched_dirs(&self) -> Vec<PathBuf> {
        match &self.loaded {
            Ok((site, _)) => vec![site.data.dir().to_path_buf(), site.env.includes_dir.clone()],
            Err(_) => self
                .root()
                .map(|r| vec![r.join("_data"), r.join("_includes")])
                .unwrap_or_default(),
        }
    }

    /// Every watched path with its mtime and size: the config, and each file and folder under the
    /// watched folders (a folder's mtime changes when a file is added or removed).
    fn watched_stamps(&self) -> Vec<(PathBuf, Stamp)> {
        let mut out = Vec::new();
        let stamp = |p: &Path| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.modified().ok(), m.len()))
        };
        if let Some(c) = &self.config {
            out.push((c.clone(), stamp(c)));
        }
        for dir in self.watched_dirs() {
            out.push((dir.clone(), stamp(&dir)));
            let mut stack = vec![dir];
            while let Some(d) = stack.pop() {
                let Ok(rd) = std::fs::read_dir(&d) else {
                    continue;
                };
                let mut entries: Vec<_> = rd.flatten().collect();
                entries.sort_by_key(|e| e.file_name());
                for e in entries {
                    let p = e.path();
                    let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
                    out.push((p.clone(), stamp(&p)));
                    if is_dir {
                        stack.push(p);
                    }
                }
            }
        }
        out
    }

    /// Whether any watched file changed, appeared or went away since the site was read.
    fn changed(&self) -> bool {
        self.watched_stamps() != self.stamps
    }
}

/// A file's modification time and size (two writes within the clock's tick still differ
/// when their sizes do); None when it does not exist.
type Stamp = Option<(Option<SystemTime>, u64)>;

/// An open page: the editor's text, and its model computed when first asked for.
pub struct OpenPage {
    pub path: PathBuf,
    pub file: Arc<SourceFile>,
    pub version: i32,
    /// The key of its site in [`Workspace::sites`].
    pub site: PathBuf,
    /// The page modelled in lax mode (what `list` and `run --lax` see), for hover and
    /// symbols; None until asked for after a change.
    model: Option<Result<Arc<Document>, Vec<Diagnostic>>>,
}

impl OpenPage {
    pub fn text(&self) -> &str {
        &self.file.text
    }
}

pub struct Workspace {
    pub args: SiteArgs,
    vars: Vec<(String, String)>,
    /// By site key: the config's path, or the folder of a page without a config.
    pub sites: HashMap<PathBuf, SiteState>,
    /// By URI (as the client spells it).
    pub pages: HashMap<String, OpenPage>,
}

impl Workspace {
    pub fn new(args: SiteArgs) -> crate::error::Result<Workspace> {
        let vars = crate::commands::site_vars(&args)?;
        Ok(Workspace {
            args,
            vars,
            sites: HashMap::new(),
            pages: HashMap::new(),
        })
    }

    /// The key of the site a page (or folder) belongs to, its site loaded if it was not.
    pub fn site_for(&mut self, path: &Path) -> PathBuf {
        let abs = std::path::absolute(path).unwrap_or(path.to_path_buf());
        let key = match &self.args.site {
            Some(c) => std::path::absolute(c).unwrap_or(c.clone()),
            None => crate::site::find_config(&abs).unwrap_or_else(|| {
                if abs.is_dir() {
                    abs.clone()
                } else {
                    abs.parent().map(Path::to_path_buf).unwrap_or_default()
                }
            }),
        };
        if !self.sites.contains_key(&key) {
            let started = std::time::Instant::now();
            let state = SiteState::load(&abs, &self.args, &self.vars);
            tracing::info!(site = %key.display(), elapsed = ?started.elapsed(), "site loaded");
            self.sites.insert(key.clone(), state);
        }
        key
    }

    /// Build a site's index of pages (every page's front matter) on another thread: front
    /// matter completion and `site.pages` need it; nothing waits for it unless it needs it.
    pub fn index_in_background(&self, key: &Path) {
        if let Some(site) = self.sites.get(key).and_then(SiteState::site) {
            let index = site.index.clone();
            let _ = std::thread::Builder::new()
                .name("runbook-index".into())
                .spawn(move || {
                    let started = std::time::Instant::now();
                    let pages = index.get().pages_read().count();
                    tracing::info!(pages, elapsed = ?started.elapsed(), "site indexed");
                });
        }
    }

    /// Open a page or replace its text.
    pub fn set_text(&mut self, uri: &str, path: PathBuf, text: String, version: i32) {
        let site = match self.pages.get(uri) {
            Some(p) => p.site.clone(),
            None => {
                let key = self.site_for(&path);
                self.index_in_background(&key);
                key
            }
        };
        let file = SourceFile::new(path.clone(), text);
        self.pages.insert(
            uri.to_string(),
            OpenPage {
                path,
                file,
                version,
                site,
                model: None,
            },
        );
    }

    pub fn close(&mut self, uri: &str) {
        self.pages.remove(uri);
    }

    pub fn site_of(&self, page: &OpenPage) -> Option<&SiteState> {
        self.sites.get(&page.site)
    }

    /// What `runbook check` finds in the page's text.
    pub fn check(&self, uri: &str) -> Vec<Diagnostic> {
        let Some(page) = self.pages.get(uri) else {
            return Vec::new();
        };
        match self.site_of(page).map(|s| &s.loaded) {
            Some(Ok((site, engine))) => {
                // as `check PAGE` reports them: the site's own problems first (its config's
                // warnings, its data's), then the page's
                let mut all = site.warnings.clone();
                match site.data.load() {
                    Ok((_, warnings)) => all.extend(warnings.iter().cloned()),
                    Err(d) => all.extend(d.iter().cloned()),
                }
                all.extend(crate::commands::check::check_text(
                    engine,
                    site,
                    page.file.clone(),
                ));
                all
            }
            Some(Err(d)) => d.clone(),
            None => Vec::new(),
        }
    }

    /// The page modelled (lax), computed once per change.
    pub fn model(&mut self, uri: &str) -> Option<Arc<Document>> {
        let page = self.pages.get(uri)?;
        if page.model.is_none() {
            let (site, engine) = self.sites.get(&page.site)?.loaded.as_ref().ok()?;
            let doc = crate::document::load_text(engine, site, page.file.clone(), Mode::Lax)
                .map(Arc::new);
            let page = self.pages.get_mut(uri)?;
            page.model = Some(doc);
        }
        self.pages.get(uri)?.model.as_ref()?.as_ref().ok().cloned()
    }

    /// Reload every site whose watched files changed; returns the URIs of the open pages of
    /// those sites (to check again).
    pub fn reload_changed(&mut self) -> Vec<String> {
        let changed: Vec<PathBuf> = self
            .sites
            .iter()
            .filter(|(_, s)| s.changed())
            .map(|(k, _)| k.clone())
            .collect();
        let mut uris = Vec::new();
        for key in changed {
            // a page of the site names where it is: the site is loaded again from there
            let from = self
                .pages
                .values()
                .find(|p| p.site == key)
                .map(|p| p.path.clone())
                .unwrap_or_else(|| key.clone());
            tracing::info!(site = %key.display(), "site changed on disk: reloading");
            let state = SiteState::load(&from, &self.args, &self.vars);
            self.sites.insert(key.clone(), state);
            self.index_in_background(&key);
            for (uri, page) in self.pages.iter_mut() {
                if page.site == key {
                    page.model = None;
                    uris.push(uri.clone());
                }
            }
        }
        uris.sort();
        uris
    }
}
