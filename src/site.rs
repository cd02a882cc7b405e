//! A Jekyll site: its config (`site.yaml` or `_config.yml`), `_data/`, `_includes/`, its pages
//! and collections, and the variables each page sees.

use crate::error::{Diagnostic, Error};
use crate::liquid::SiteEnv;
use crate::liquid::time;
use crate::liquid::value as lv;
use crate::page::{self, Page};
use crate::source::display_path;
use crate::yaml::{self, YamlSource};
use minijinja::Value;
use minijinja::value::{Enumerator, Object, ObjectRepr};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub const CONFIG_NAMES: [&str; 2] = ["site.yaml", "_config.yml"];

/// `site.data`, read from `_data/` the first time a template looks into it (most runbook
/// pages never do, and a site's data can be large).
#[derive(Debug)]
pub struct LazyData {
    dir: PathBuf,
    /// The site root: data files that resolve outside it (symlinks) are not read.
    root: PathBuf,
    cell: OnceLock<DataResult>,
}

/// The data and the warnings reading it gave, or the errors that prevented it.
pub type DataResult = Result<(Value, Vec<Diagnostic>), Vec<Diagnostic>>;

impl LazyData {
    /// The folder the data is read from (`_data/`, or the config's `data_dir`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The data, or the problems that prevent reading it.
    pub fn load(&self) -> &DataResult {
        self.cell.get_or_init(|| {
            let mut warnings = Vec::new();
            let root = std::fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
            match load_data(&self.dir, &root, &mut warnings) {
                Ok(v) => Ok((v, warnings)),
                Err(Error::Input(d)) => Err(d),
                Err(e) => Err(vec![Diagnostic::error("unreadable-data", e.to_string())]),
            }
        })
    }

    fn value(&self) -> Option<&Value> {
        match self.load() {
            Ok((v, _)) => Some(v),
            Err(d) => {
                crate::liquid::fail_render(d.clone());
                None
            }
        }
    }
}

impl Object for LazyData {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.value()?
            .get_item(key)
            .ok()
            .filter(|v| !v.is_undefined())
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.value() {
            Some(v) => Enumerator::Values(lv::map_pairs(v).into_iter().map(|(k, _)| k).collect()),
            None => Enumerator::Empty,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Site {
    pub root: PathBuf,
    pub data: Arc<LazyData>,
    pub config_path: Option<PathBuf>,
    pub config: Value,
    pub env: SiteEnv,
    pub index: Arc<LazyIndex>,
    pub warnings: Vec<Diagnostic>,
}

/// The nearest `site.yaml` (preferred) or `_config.yml`, looking upward from `start`.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    let mut dir = if start.is_dir() {
        Some(start)
    } else {
        start.parent()
    };
    while let Some(d) = dir {
        for name in CONFIG_NAMES {
            let p = d.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
        dir = d.parent();
    }
    None
}

fn is_markdown(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("md" | "markdown" | "mkd" | "mkdn" | "mdown")
    )
}

fn get_str(v: &Value, key: &str) -> Option<String> {
    lv::lookup(v, &Value::from(key), false)
        .filter(|x| !lv::is_nil(x))
        .map(|x| lv::to_s(&x))
}

/// Set `path.to.key` in a map value, creating maps on the way.
pub fn set_path(v: &Value, path: &[&str], new: Value) -> Value {
    let Some((first, rest)) = path.split_first() else {
        return new;
    };
    let mut pairs = if lv::is_map(v) {
        lv::map_pairs(v)
    } else {
        Vec::new()
    };
    let key = Value::from(*first);
    let child = pairs
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, c)| c.clone())
        .unwrap_or_default();
    let updated = set_path(&child, rest, new);
    match pairs.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = updated,
        None => pairs.push((key, updated)),
    }
    Value::from_pairs(pairs)
}

fn merge(base: &Value, over: &Value) -> Value {
    let mut pairs = if lv::is_map(base) {
        lv::map_pairs(base)
    } else {
        Vec::new()
    };
    for (k, v) in lv::map_pairs(over) {
        match pairs.iter_mut().find(|(pk, _)| *pk == k) {
            Some(slot) => slot.1 = v,
            None => pairs.push((k, v)),
        }
    }
    Value::from_pairs(pairs)
}

fn load_yaml_file(path: &Path) -> Result<(Value, Vec<Diagnostic>), Error> {
    let file = page::read_text(path)?;
    let (v, w) = yaml::load(&YamlSource {
        file: &file,
        base: 0,
        text: &file.text,
    })?;
    Ok((v, w))
}

/// What a page or document contributes to the site: its `page` value and URL.
struct Described {
    name: String,
    value: Value,
    has_front: bool,
    url: String,
}

struct EntryCtx<'a> {
    defaults: &'a [Value],
    collections: &'a [(String, Value)],
    permalink_style: &'a str,
    time: &'a Value,
}

impl EntryCtx<'_> {
    /// Read a file's front matter and build its `page` value; None for files that are not
    /// pages (no front matter and not Markdown, or a collection file without front matter).
    /// A Markdown page that loads cleanly is returned too, so that rendering it later in the
    /// same build does not read and parse it again.
    fn describe_file(&self, e: &Entry) -> (Option<Described>, Option<Page>) {
        if is_markdown(&e.path)
            && let Ok(p) = page::load(&e.path)
        {
            let described = self.describe(e, p.has_front.then(|| p.front.clone()));
            return (described, Some(p));
        }
        let Ok(bytes) = std::fs::read(&e.path) else {
            return (None, None);
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return (None, None);
        };
        let front = page::split_front_matter(text).map(|(y, _)| {
            // only the front matter: a parse error here is reported when the page is rendered
            let file = crate::source::SourceFile::new(e.path.clone(), text[y].to_string());
            match yaml::load(&YamlSource {
                file: &file,
                base: 0,
                text: &file.text,
            }) {
                Ok((v, _)) => v,
                Err(_) => Value::from(()),
            }
        });
        (self.describe(e, front), None)
    }

    /// The `page` value of a file whose front matter (if it has one) is `front`.
    fn describe(&self, e: &Entry, front: Option<Value>) -> Option<Described> {
        let has_front = front.is_some();
        if !(has_front || is_markdown(&e.path) && e.collection.is_none()) {
            return None;
        }
        let kind = e.collection.as_deref().unwrap_or("pages");
        let mut data = Value::from_pairs(Vec::<(Value, Value)>::new());
        for d in self.defaults {
            let scope = lv::lookup(d, &Value::from("scope"), false).unwrap_or_default();
            let spath = get_str(&scope, "path").unwrap_or_default();
            if !e.rel.starts_with(spath.trim_start_matches('/')) {
                continue;
            }
            if get_str(&scope, "type").is_some_and(|t| t != kind) {
                continue;
            }
            if let Some(vals) = lv::lookup(d, &Value::from("values"), false) {
                data = merge(&data, &vals);
            }
        }
        if let Some(f) = front.filter(lv::is_map) {
            data = merge(&data, &f);
        }
        let url = page_url(e, &data, self.collections, self.permalink_style);
        let p = Path::new(&e.rel);
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut extra: Vec<(Value, Value)> = vec![
            (Value::from("url"), Value::from(url.clone())),
            (Value::from("path"), Value::from(e.rel.clone())),
            (Value::from("name"), Value::from(name.clone())),
        ];
        match &e.collection {
            None => {
                let dir = p
                    .parent()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default();
                let dir = if dir.is_empty() {
                    "/".to_string()
                } else {
                    format!("/{dir}/")
                };
                extra.push((Value::from("dir"), Value::from(dir)));
            }
            Some(label) => {
                let stem = p
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
                    .unwrap_or_default();
                let id = url
                    .trim_end_matches(".html")
                    .trim_end_matches("/index")
                    .to_string();
                extra.push((Value::from("collection"), Value::from(label.clone())));
                extra.push((Value::from("relative_path"), Value::from(e.rel.clone())));
                if get_str(&data, "slug").is_none() {
                    extra.push((Value::from("slug"), Value::from(stem.clone())));
                }
                extra.push((Value::from("id"), Value::from(id)));
                extra.push((Value::from("date"), document_date(&data, &e.rel, self.time)));
                if get_str(&data, "title").is_none() {
                    extra.push((Value::from("title"), Value::from(titleize(&stem))));
                }
            }
        }
        let value = merge(&data, &Value::from_pairs(extra));
        Some(Described {
            name,
            value,
            has_front,
            url,
        })
    }
}

/// `f` over `items` on every core, results in order.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if items.len() < 64 || workers == 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(workers);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker panicked"))
            .collect()
    })
}

struct Entry {
    rel: String,
    path: PathBuf,
    collection: Option<String>,
}

impl Site {
    /// Load the site a page belongs to. `config` overrides discovery; `vars` are
    /// `site.KEY=VALUE` overrides.
    pub fn load(
        page_or_dir: &Path,
        config: Option<&Path>,
        vars: &[(String, String)],
    ) -> Result<Site, Error> {
        let config_path = match config {
            Some(c) => {
                if !c.is_file() {
                    return Err(Error::Usage(format!(
                        "site config {} does not exist",
                        display_path(c)
                    )));
                }
                Some(c.to_path_buf())
            }
            None => {
                find_config(&std::path::absolute(page_or_dir).unwrap_or(page_or_dir.to_path_buf()))
            }
        };
        let root = match &config_path {
            Some(c) => std::path::absolute(c)
                .unwrap_or(c.clone())
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            None => {
                let p = std::path::absolute(page_or_dir).unwrap_or(page_or_dir.to_path_buf());
                if p.is_dir() {
                    p
                } else {
                    p.parent().map(Path::to_path_buf).unwrap_or_default()
                }
            }
        };
        let mut warnings = Vec::new();
        let mut config = match &config_path {
            Some(c) => {
                let (v, w) = load_yaml_file(c)?;
                warnings.extend(w);
                if lv::is_nil(&v) {
                    Value::from_pairs(Vec::<(Value, Value)>::new())
                } else {
                    v
                }
            }
            None => Value::from_pairs(Vec::<(Value, Value)>::new()),
        };
        if !lv::is_map(&config) {
            return Err(Error::Usage(format!(
                "site config {} must be a YAML mapping",
                config_path.as_deref().map(display_path).unwrap_or_default()
            )));
        }
        for (k, v) in vars {
            let path: Vec<&str> = k.split('.').collect();
            let val = yaml::resolve_scalar(v, saphyr_parser::ScalarStyle::Plain, None);
            config = set_path(&config, &path, val);
        }
        let data_dir = root.join(get_str(&config, "data_dir").unwrap_or_else(|| "_data".into()));
        let data = Arc::new(LazyData {
            dir: data_dir,
            root: root.clone(),
            cell: OnceLock::new(),
        });
        let includes_dir =
            root.join(get_str(&config, "includes_dir").unwrap_or_else(|| "_includes".into()));
        let baseurl = get_str(&config, "baseurl").unwrap_or_default();
        let url = get_str(&config, "url").unwrap_or_default();

        // collections
        let collections: Vec<(String, Value)> =
            lv::lookup(&config, &Value::from("collections"), false)
                .map(|c| {
                    if lv::is_seq(&c) {
                        lv::seq(&c)
                            .into_iter()
                            .map(|x| (lv::to_s(&x), Value::from(())))
                            .collect()
                    } else {
                        lv::map_pairs(&c)
                            .into_iter()
                            .map(|(k, v)| (lv::to_s(&k), v))
                            .collect()
                    }
                })
                .unwrap_or_default();
        let excludes: Vec<String> = lv::lookup(&config, &Value::from("exclude"), false)
            .map(|e| lv::seq(&e).iter().map(lv::to_s).collect())
            .unwrap_or_default();
        let defaults = lv::lookup(&config, &Value::from("defaults"), false)
            .map(|d| lv::seq(&d))
            .unwrap_or_default();
        let permalink_style = get_str(&config, "permalink").unwrap_or_else(|| "date".into());
        let time = site_time(&config);
        let index = Arc::new(LazyIndex {
            root: root.clone(),
            collections,
            excludes,
            defaults,
            permalink_style,
            time: time.clone(),
            cell: OnceLock::new(),
            renderer: OnceLock::new(),
        });
        tracing::debug!(root = %root.display(), config = ?config_path, "site loaded");
        let site = Value::from_object(SiteObject {
            config: config.clone(),
            data: data.clone(),
            index: index.clone(),
            time,
        });
        Ok(Site {
            env: SiteEnv {
                root: root.clone(),
                includes_dir,
                site,
                baseurl,
                url,
                index: index.clone(),
                host: None,
            },
            root,
            data,
            index,
            config_path,
            config,
            warnings,
        })
    }

    /// Whether the site's `exclude:` leaves `path` out (Jekyll builds no page from it).
    pub fn excludes(&self, path: &Path) -> bool {
        let abs = std::path::absolute(path).unwrap_or(path.to_path_buf());
        abs.strip_prefix(&self.root)
            .is_ok_and(|rel| excluded(&self.index.excludes, &rel.to_string_lossy()))
    }

    /// The `page` variable for a page file of this site (computed from the page alone: the
    /// rest of the site is read only if a template asks for it).
    pub fn page_value(&self, page: &Page) -> Value {
        let abs = std::path::absolute(&page.file.path).unwrap_or(page.file.path.clone());
        if let Ok(rel) = abs.strip_prefix(&self.root) {
            let rel = rel.to_string_lossy().to_string();
            let collection = rel
                .split_once('/')
                .and_then(|(first, _)| first.strip_prefix('_'))
                .filter(|l| self.index.collections.iter().any(|(c, _)| c == l))
                .map(str::to_string);
            let entry = Entry {
                rel,
                path: abs.clone(),
                collection,
            };
            if let Some(d) = self
                .index
                .ctx()
                .describe(&entry, page.has_front.then(|| page.front.clone()))
            {
                if entry.collection.is_some() {
                    // a document's previous and next come from its collection: read only if a
                    // template asks for them
                    return Value::from_object(DocObject {
                        value: d.value,
                        index: self.index.clone(),
                        label: entry.collection.unwrap_or_default(),
                        rel: entry.rel,
                    });
                }
                return d.value;
            }
        }
        // a page outside the site tree: its front matter, name and path
        let name = page
            .file
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let base = if lv::is_map(&page.front) {
            page.front.clone()
        } else {
            Value::from_pairs(Vec::<(Value, Value)>::new())
        };
        merge(
            &base,
            &Value::from_pairs([
                ("name", Value::from(name.clone())),
                ("path", Value::from(name)),
            ]),
        )
    }
}

/// The site's pages and documents, read the first time a template needs them
/// (`site.pages`, a collection, `{% link %}`): most pages never do.
pub struct LazyIndex {
    root: PathBuf,
    collections: Vec<(String, Value)>,
    excludes: Vec<String>,
    defaults: Vec<Value>,
    permalink_style: String,
    /// `site.time`: documents without a date have it
    time: Value,
    cell: OnceLock<SiteIndex>,
    /// Renders a document's body (its `content` as other pages see it); set by whoever has
    /// the Liquid engine, so the site does not depend on it.
    renderer: OnceLock<Arc<DocRenderer>>,
}

/// What renders a document of the site (its path) to its body, Liquid resolved.
pub type DocRenderer = dyn Fn(&Path) -> Option<String> + Send + Sync;

impl std::fmt::Debug for LazyIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyIndex")
            .field("root", &self.root)
            .finish()
    }
}

#[derive(Debug)]
pub struct SiteIndex {
    pages: Value,
    html_pages: Value,
    collections: Value,
    documents: Value,
    docs: HashMap<String, Value>,
    /// relative path of every page and document -> its URL
    pub urls: HashMap<String, String>,
    /// Markdown pages read while building the index, and their `page` values, by absolute
    /// path
    loaded: HashMap<PathBuf, (Page, Value)>,
}

impl SiteIndex {
    /// The Markdown pages (and documents) read to build the index, front matter included.
    pub fn pages_read(&self) -> impl Iterator<Item = &Page> {
        self.loaded.values().map(|(p, _)| p)
    }
}

impl crate::liquid::Pages for LazyIndex {
    fn url(&self, rel: &str) -> Option<String> {
        self.get().urls.get(rel).cloned()
    }
}

impl LazyIndex {
    /// How documents' `content` is rendered (once per build: later calls are ignored).
    pub fn set_renderer(&self, f: Arc<DocRenderer>) {
        let _ = self.renderer.set(f);
    }

    fn ctx(&self) -> EntryCtx<'_> {
        EntryCtx {
            defaults: &self.defaults,
            collections: &self.collections,
            permalink_style: &self.permalink_style,
            time: &self.time,
        }
    }

    /// A page as the index read it, and its `page` value, if the index has been built (it is
    /// never built for this).
    pub fn loaded_page(&self, path: &Path) -> Option<(Page, Value)> {
        let index = self.cell.get()?;
        let abs = std::path::absolute(path).ok()?;
        index.loaded.get(&abs).cloned()
    }

    pub fn get(&self) -> &SiteIndex {
        self.cell.get_or_init(|| {
            let mut entries = Vec::new();
            scan(
                &self.root,
                &self.root,
                &self.collections,
                &self.excludes,
                &mut entries,
            );
            let ctx = self.ctx();
            // reading every page's front matter is the slow part of a big site: in parallel
            let started = std::time::Instant::now();
            let described: Vec<(Option<Described>, Option<Page>)> =
                parallel_map(&entries, |e| ctx.describe_file(e));
            tracing::debug!(files = entries.len(), elapsed = ?started.elapsed(), "site index built");
            let mut pages: Vec<(String, Value, bool)> = Vec::new();
            let mut docs: HashMap<String, Vec<Value>> = HashMap::new();
            let mut urls = HashMap::new();
            let mut loaded = HashMap::new();
            for (e, (d, page)) in entries.iter().zip(described) {
                let Some(d) = d else { continue };
                if let Some(p) = page {
                    loaded.insert(e.path.clone(), (p, d.value.clone()));
                }
                urls.insert(e.rel.clone(), d.url);
                match &e.collection {
                    None => pages.push((d.name, d.value, d.has_front)),
                    Some(l) => docs.entry(l.clone()).or_default().push(d.value),
                }
            }
            // Jekyll sorts pages by name; pages without front matter come after (plugin)
            let (mut with, mut without): (Vec<_>, Vec<_>) = pages.into_iter().partition(|p| p.2);
            with.sort_by(|a, b| a.0.cmp(&b.0));
            without.sort_by(|a, b| a.0.cmp(&b.0));
            let page_list: Vec<Value> = with.into_iter().chain(without).map(|p| p.1).collect();
            let html_pages: Vec<Value> = page_list
                .iter()
                .filter(|p| {
                    get_str(p, "url").is_some_and(|u| u.ends_with(".html") || u.ends_with('/'))
                })
                .cloned()
                .collect();
            let mut coll_values = Vec::new();
            let mut all_docs = Vec::new();
            let mut by_label = HashMap::new();
            for (label, _) in &self.collections {
                let mut items = docs.remove(label).unwrap_or_default();
                // Jekyll's Document#<=>: by date, then by path
                items.sort_by(|a, b| {
                    let date = |d: &Value| {
                        lv::lookup(d, &Value::from("date"), false)
                            .and_then(|v| time::Time::of(&v))
                    };
                    let by_date = match (date(a), date(b)) {
                        (Some(x), Some(y)) => x.cmp_instant(&y),
                        _ => std::cmp::Ordering::Equal,
                    };
                    by_date.then_with(|| get_str(a, "path").cmp(&get_str(b, "path")))
                });
                // each document's neighbours in its collection (Jekyll's previous and next)
                let items: Vec<Value> = items
                    .iter()
                    .enumerate()
                    .map(|(i, d)| with_neighbours(d, i.checked_sub(1).map(|j| &items[j]), items.get(i + 1)))
                    .map(|value| {
                        let path = self.root.join(get_str(&value, "path").unwrap_or_default());
                        // rendered from the index, a document sees its neighbours too
                        if let Some((_, v)) = loaded.get_mut(&path) {
                            *v = value.clone();
                        }
                        Value::from_object(DocValue {
                            value,
                            path,
                            renderer: self.renderer.get().cloned(),
                            content: OnceLock::new(),
                        })
                    })
                    .collect();
                all_docs.extend(items.iter().cloned());
                coll_values.push(Value::from_pairs([
                    ("label", Value::from(label.clone())),
                    ("docs", Value::from(items.clone())),
                ]));
                by_label.insert(label.clone(), Value::from(items));
            }
            SiteIndex {
                pages: Value::from(page_list),
                html_pages: Value::from(html_pages),
                collections: Value::from(coll_values),
                documents: Value::from(all_docs),
                docs: by_label,
                urls,
                loaded,
            }
        })
    }
}

/// A document as other pages see it (`site.episodes`, `site.documents`): its values, and its
/// `content`, rendered the first time a template asks for it (Jekyll renders documents
/// before pages, so a page reads a document's rendered body).
struct DocValue {
    value: Value,
    path: PathBuf,
    renderer: Option<Arc<DocRenderer>>,
    content: OnceLock<Value>,
}

thread_local! {
    /// Documents whose content is being rendered on this thread: one that reads its own
    /// content (through a loop over its collection) gets nothing instead of recursing.
    static RENDERING: std::cell::RefCell<Vec<PathBuf>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl std::fmt::Debug for DocValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocValue")
            .field("path", &self.path)
            .finish()
    }
}

impl DocValue {
    fn content(&self) -> Value {
        self.content
            .get_or_init(|| {
                let Some(render) = &self.renderer else {
                    return Value::from(());
                };
                if RENDERING.with(|r| r.borrow().contains(&self.path)) {
                    return Value::from("");
                }
                RENDERING.with(|r| r.borrow_mut().push(self.path.clone()));
                let out = render(&self.path);
                RENDERING.with(|r| r.borrow_mut().retain(|p| p != &self.path));
                out.map(Value::from).unwrap_or_default()
            })
            .clone()
    }
}

impl Object for DocValue {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str() {
            Some("content") => Some(self.content()),
            _ => lv::lookup(&self.value, key, false),
        }
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<Value> = lv::map_pairs(&self.value)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        keys.push(Value::from("content"));
        Enumerator::Values(keys)
    }
}

/// The `page` variable of a collection document: its values, and `previous`/`next` from the
/// site's index, built only when a template asks for them.
#[derive(Debug)]
struct DocObject {
    value: Value,
    index: Arc<LazyIndex>,
    label: String,
    rel: String,
}

impl Object for DocObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str() {
            Some(k @ ("previous" | "next")) => {
                let docs = self.index.get().docs.get(&self.label)?;
                let me = lv::seq(docs)
                    .into_iter()
                    .find(|d| get_str(d, "path").as_deref() == Some(self.rel.as_str()))?;
                Some(lv::lookup(&me, &Value::from(k), false).unwrap_or_default())
            }
            _ => lv::lookup(&self.value, key, false),
        }
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<Value> = lv::map_pairs(&self.value)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        keys.extend(["previous", "next"].map(Value::from));
        Enumerator::Values(keys)
    }
}

/// `site.time`, the build's time: the config's `time:` read as Jekyll reads it (Ruby's
/// `Time.parse`, in local time), else now (`SOURCE_DATE_EPOCH` when set). The config's
/// `timezone:` becomes the local time zone first, as Jekyll sets `TZ` from it.
fn site_time(config: &Value) -> Value {
    time::set_local_zone(get_str(config, "timezone").as_deref());
    match lv::lookup(config, &Value::from("time"), false).filter(|v| !lv::is_nil(v)) {
        Some(v) => time::parse(&lv::to_s(&v))
            .map(|t| t.to_local().value())
            .unwrap_or(v),
        None => time::Time::now().value(),
    }
}

/// A collection document's `date`, as Jekyll gives it: the front matter's (read with
/// `Time.parse`, in local time), else the date its file name starts with
/// (`2016-03-14-title.md`), else the site's time.
fn document_date(data: &Value, rel: &str, site_time: &Value) -> Value {
    static NAME_DATE: OnceLock<regex_lite::Regex> = OnceLock::new();
    let re = NAME_DATE.get_or_init(|| {
        regex_lite::Regex::new(r"\A(?:.+/)*?(\d{2,4}-\d{1,2}-\d{1,2})-[^/]*\.[^.]+\z")
            .expect("valid regex")
    });
    let parse = |text: &str| time::parse(text).map(|t| t.to_local().value());
    if let Some(d) = lv::lookup(data, &Value::from("date"), false).filter(|v| !lv::is_nil(v)) {
        return parse(&lv::to_s(&d)).unwrap_or(d);
    }
    re.captures(rel)
        .and_then(|c| parse(&c[1]))
        .unwrap_or_else(|| site_time.clone())
}

/// The `site` variable: the config, plus `data`, `pages` and collections read on demand.
#[derive(Debug)]
struct SiteObject {
    config: Value,
    data: Arc<LazyData>,
    index: Arc<LazyIndex>,
    time: Value,
}

const SITE_EXTRA_KEYS: [&str; 8] = [
    "time",
    "data",
    "pages",
    "html_pages",
    "collections",
    "documents",
    "posts",
    "static_files",
];

impl Object for SiteObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let k = key.as_str();
        match k {
            Some("data") => return Some(Value::from_dyn_object(self.data.clone())),
            Some("pages") => return Some(self.index.get().pages.clone()),
            Some("html_pages") => return Some(self.index.get().html_pages.clone()),
            Some("collections") => return Some(self.index.get().collections.clone()),
            Some("documents") => return Some(self.index.get().documents.clone()),
            Some("time") => return Some(self.time.clone()),
            Some(label) if self.index.collections.iter().any(|(l, _)| l == label) => {
                return self.index.get().docs.get(label).cloned();
            }
            _ => {}
        }
        match lv::lookup(&self.config, key, false) {
            Some(v) => Some(v),
            None => match k {
                Some("posts" | "static_files") => Some(Value::from(Vec::<Value>::new())),
                Some("baseurl") => Some(Value::from("")),
                _ => None,
            },
        }
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<Value> = lv::map_pairs(&self.config)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        for k in SITE_EXTRA_KEYS
            .iter()
            .map(|k| k.to_string())
            .chain(self.index.collections.iter().map(|(l, _)| l.clone()))
        {
            let v = Value::from(k);
            if !keys.contains(&v) {
                keys.push(v);
            }
        }
        Enumerator::Values(keys)
    }
}

/// A document's value with `previous` and `next`: the documents before and after it in its
/// collection (nil at the ends).
fn with_neighbours(doc: &Value, previous: Option<&Value>, next: Option<&Value>) -> Value {
    merge(
        doc,
        &Value::from_pairs([
            ("previous", previous.cloned().unwrap_or(Value::from(()))),
            ("next", next.cloned().unwrap_or(Value::from(()))),
        ]),
    )
}

fn titleize(slug: &str) -> String {
    slug.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Jekyll's `Utils.slugify`: runs of characters other than letters and digits (and, in
/// `pretty` mode, `._~!$&'()+,;=@`) become one `-`, trimmed at both ends; lowercased unless
/// `cased`.
pub fn slugify(text: &str, pretty: bool, cased: bool) -> String {
    let keep = |c: char| c.is_alphanumeric() || (pretty && "._~!$&'()+,;=@".contains(c));
    let mut out = String::with_capacity(text.len());
    let mut dash = false;
    for c in text.chars() {
        if keep(c) {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c);
        } else {
            dash = true;
        }
    }
    if cased { out } else { out.to_lowercase() }
}

/// Jekyll's `Utils.add_permalink_suffix`: what a page's URL ends with under the site's
/// `permalink` style.
fn permalink_suffix(style: &str) -> &'static str {
    match style {
        "pretty" => "/",
        "date" | "ordinal" | "none" | "weekdate" => ":output_ext",
        s if s.ends_with('/') => "/",
        s if s.ends_with(":output_ext") => ":output_ext",
        _ => "",
    }
}

/// Jekyll's URL sanitising: placeholders filled, doubled slashes and `..` removed, a leading
/// slash.
fn sanitize_url(url: &str) -> String {
    let mut out = url.replace("..", "/");
    while out.contains("//") {
        out = out.replace("//", "/");
    }
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    out
}

fn page_url(e: &Entry, data: &Value, collections: &[(String, Value)], style: &str) -> String {
    let p = Path::new(&e.rel);
    let ext = p
        .extension()
        .map(|x| x.to_string_lossy().to_string())
        .unwrap_or_default();
    let out_ext = if is_markdown(p) {
        ".html".to_string()
    } else if ext.is_empty() {
        String::new()
    } else {
        format!(".{ext}")
    };
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    if let Some(pl) = get_str(data, "permalink") {
        return pl;
    }
    match &e.collection {
        Some(label) => {
            let rel_in = e.rel.trim_start_matches(&format!("_{label}/")).to_string();
            let path_no_ext = match rel_in.rfind('.') {
                Some(i) => rel_in[..i].to_string(),
                None => rel_in.clone(),
            };
            // a collection's permalink is a template as written (Jekyll 4.3 does not expand
            // the style names there: `pretty` gives `/pretty`)
            let template = collections
                .iter()
                .find(|(l, _)| l == label)
                .and_then(|(_, c)| get_str(c, "permalink"))
                .unwrap_or_else(|| "/:collection/:path:output_ext".into());
            let slug_src = get_str(data, "slug");
            let slug = slugify(slug_src.as_deref().unwrap_or(&stem), false, false);
            let title = slugify(slug_src.as_deref().unwrap_or(&stem), true, true);
            let categories = lv::lookup(data, &Value::from("categories"), false)
                .map(|c| {
                    if lv::is_seq(&c) {
                        lv::seq(&c)
                            .iter()
                            .map(lv::to_s)
                            .collect::<Vec<_>>()
                            .join("/")
                    } else {
                        lv::to_s(&c)
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join("/")
                    }
                })
                .unwrap_or_default();
            // longest placeholders first: `:path` must not eat `:path_x`
            let mut url = template;
            for (k, v) in [
                (":collection", label.as_str()),
                (":categories", categories.as_str()),
                (":output_ext", out_ext.as_str()),
                (":path", path_no_ext.as_str()),
                (":name", &slugify(&stem, false, false)),
                (":title", title.as_str()),
                (":slug", slug.as_str()),
            ] {
                url = url.replace(k, v);
            }
            sanitize_url(&url)
        }
        None => {
            let dir = p
                .parent()
                .map(|d| d.to_string_lossy().to_string())
                .unwrap_or_default();
            let dir = if dir.is_empty() {
                String::new()
            } else {
                format!("/{dir}")
            };
            // Jekyll's Page#template
            if out_ext != ".html" {
                return format!("{dir}/{stem}{out_ext}");
            }
            if stem == "index" {
                return format!("{dir}/");
            }
            match permalink_suffix(style) {
                "/" => format!("{dir}/{stem}/"),
                ":output_ext" => format!("{dir}/{stem}{out_ext}"),
                _ => format!("{dir}/{stem}"),
            }
        }
    }
}

/// Whether `rel` (a path relative to the site root) is excluded: Jekyll's `exclude:` entries
/// are paths (a folder excludes what is under it) or `File.fnmatch` globs.
fn excluded(excludes: &[String], rel: &str) -> bool {
    excludes.iter().any(|x| {
        let x = x.trim_start_matches("./").trim_end_matches('/');
        !x.is_empty() && (rel == x || rel.starts_with(&format!("{x}/")) || glob_match(x, rel))
    })
}

/// `File.fnmatch(pattern, path)` without flags: `*` and `?` match any character, `/` included;
/// `[...]` classes; `\` escapes.
fn glob_match(pattern: &str, text: &str) -> bool {
    if !pattern.contains(['*', '?', '[']) {
        return false;
    }
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (0..=t.len()).any(|i| go(&p[1..], &t[i..])),
            Some('?') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some('[') => {
                let Some(close) = p.iter().skip(1).position(|c| *c == ']').map(|i| i + 1) else {
                    return t.first() == Some(&'[') && go(&p[1..], &t[1..]);
                };
                let Some(c) = t.first() else { return false };
                let class = &p[1..close];
                let (neg, class) = match class.first() {
                    Some('!' | '^') => (true, &class[1..]),
                    _ => (false, class),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        hit |= class[i] <= *c && *c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == *c;
                        i += 1;
                    }
                }
                hit != neg && go(&p[close + 1..], &t[1..])
            }
            Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && go(&p[2..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}

fn scan(
    root: &Path,
    dir: &Path,
    collections: &[(String, Value)],
    excludes: &[String],
    out: &mut Vec<Entry>,
) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut items: Vec<_> = rd.flatten().collect();
    items.sort_by_key(|e| e.file_name());
    for item in items {
        let name = item.file_name().to_string_lossy().to_string();
        let path = item.path();
        let rel = path
            .strip_prefix(root)
            .map(|r| r.to_string_lossy().to_string())
            .unwrap_or_default();
        if excluded(excludes, &rel) {
            continue;
        }
        if matches!(
            name.as_str(),
            "node_modules" | "vendor" | "Gemfile" | "Gemfile.lock" | "_site"
        ) {
            continue;
        }
        let Ok(ft) = item.file_type() else { continue };
        if ft.is_dir() {
            if name.starts_with('.') {
                continue;
            }
            if let Some(label) = name.strip_prefix('_') {
                if collections.iter().any(|(l, _)| l == label) && dir == root {
                    scan_collection(root, &path, label, out);
                }
                continue;
            }
            scan(root, &path, collections, excludes, out);
        } else if !(name.starts_with('_')
            || name.starts_with('.')
            || name.starts_with('#')
            || name.ends_with('~'))
        {
            out.push(Entry {
                rel,
                path,
                collection: None,
            });
        }
    }
}

fn scan_collection(root: &Path, dir: &Path, label: &str, out: &mut Vec<Entry>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut items: Vec<_> = rd.flatten().collect();
    items.sort_by_key(|e| e.file_name());
    for item in items {
        let path = item.path();
        // a symlinked folder is not followed (it could loop back); symlinked files are read
        if item.file_type().is_ok_and(|t| t.is_dir()) {
            scan_collection(root, &path, label, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .map(|r| r.to_string_lossy().to_string())
                .unwrap_or_default();
            out.push(Entry {
                rel,
                path,
                collection: Some(label.to_string()),
            });
        }
    }
}

/// `_data/`: YAML, JSON and CSV files (and folders of them) as nested maps.
fn load_data(dir: &Path, root: &Path, warnings: &mut Vec<Diagnostic>) -> Result<Value, Error> {
    let mut pairs: Vec<(Value, Value)> = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(Value::from_pairs(pairs));
    };
    let mut items: Vec<_> = rd.flatten().collect();
    items.sort_by_key(|e| e.file_name());
    for item in items {
        let path = item.path();
        let name = item.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        if item.file_type().is_ok_and(|t| t.is_dir()) {
            pairs.push((Value::from(name), load_data(&path, root, warnings)?));
            continue;
        }
        // a symlink may point anywhere: a page must not read files outside its site
        if item.file_type().is_ok_and(|t| t.is_symlink())
            && !std::fs::canonicalize(&path).is_ok_and(|t| t.starts_with(root))
        {
            warnings.push(
                Diagnostic::warning(
                    "data-outside-site",
                    format!(
                        "{}: links outside the site; not read",
                        crate::source::display_path(&path)
                    ),
                )
                .hint("data files must be inside the site root (copy the file into _data)"),
            );
            continue;
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let v = match path.extension().and_then(|e| e.to_str()) {
            Some("yml" | "yaml") => {
                let (v, w) = load_yaml_file(&path)?;
                warnings.extend(w);
                v
            }
            Some("json") => {
                let file = page::read_text(&path)?;
                match serde_json::from_str::<serde_json::Value>(&file.text) {
                    Ok(j) => json_value(&j),
                    Err(e) => {
                        let off = file.line_start(e.line()) + e.column().saturating_sub(1);
                        return Err(Error::Input(vec![
                            Diagnostic::error("invalid-json", format!("invalid JSON: {e}"))
                                .at(&file, off),
                        ]));
                    }
                }
            }
            Some("csv") | Some("tsv") => {
                let file = page::read_text(&path)?;
                csv_value(
                    &file.text,
                    if path.extension().is_some_and(|e| e == "tsv") {
                        '\t'
                    } else {
                        ','
                    },
                )
            }
            _ => continue,
        };
        pairs.push((Value::from(stem), v));
    }
    Ok(Value::from_pairs(pairs))
}

pub fn json_value(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Value::from)
            .unwrap_or_else(|| Value::from(n.as_f64().unwrap_or(0.0))),
        serde_json::Value::String(s) => Value::from(s.clone()),
        serde_json::Value::Array(a) => Value::from(a.iter().map(json_value).collect::<Vec<_>>()),
        serde_json::Value::Object(o) => Value::from_pairs(
            o.iter()
                .map(|(k, v)| (Value::from(k.clone()), json_value(v)))
                .collect::<Vec<_>>(),
        ),
    }
}

fn csv_value(text: &str, sep: char) -> Value {
    let mut rows = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| split_csv(l, sep));
    let Some(header) = rows.next() else {
        return Value::from(Vec::<Value>::new());
    };
    Value::from(
        rows.map(|r| {
            Value::from_pairs(
                header
                    .iter()
                    .enumerate()
                    .map(|(i, h)| {
                        (
                            Value::from(h.clone()),
                            r.get(i).map(|x| Value::from(x.clone())).unwrap_or_default(),
                        )
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .collect::<Vec<_>>(),
    )
}

fn split_csv(line: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == sep && !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jekyll_slugs_and_excludes() {
        assert_eq!(slugify("Power User", false, false), "power-user");
        assert_eq!(slugify("  A & B's (draft)!  ", false, false), "a-b-s-draft");
        assert_eq!(slugify("A & B's (draft)", true, true), "A-&-B's-(draft)");
        let ex = [
            "drafts".to_string(),
            "*.tmp.md".into(),
            "notes/[ab]?.md".into(),
        ];
        assert!(excluded(&ex, "drafts"));
        assert!(excluded(&ex, "drafts/wip.md"));
        assert!(excluded(&ex, "notes/scratch.tmp.md"));
        assert!(excluded(&ex, "notes/a1.md"));
        assert!(!excluded(&ex, "notes/c1.md"));
        assert!(!excluded(&ex, "drafts-old/x.md"));
        assert_eq!(permalink_suffix("/:categories/:title/"), "/");
        assert_eq!(permalink_suffix("/:categories/:title"), "");
        assert_eq!(permalink_suffix("date"), ":output_ext");
    }
}
