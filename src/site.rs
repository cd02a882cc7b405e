//! A Jekyll site: its config (`site.yaml` or `_config.yml`), `_data/`, `_includes/`, its pages
//! and collections, and the variables each page sees.

use crate::error::{Diagnostic, Error};
use crate::liquid::SiteEnv;
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
    cell: OnceLock<DataResult>,
}

/// The data and the warnings reading it gave, or the errors that prevented it.
pub type DataResult = Result<(Value, Vec<Diagnostic>), Vec<Diagnostic>>;

impl LazyData {
    /// The data, or the problems that prevent reading it.
    pub fn load(&self) -> &DataResult {
        self.cell.get_or_init(|| {
            let mut warnings = Vec::new();
            match load_data(&self.dir, &mut warnings) {
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
                crate::liquid::runtime::fail_render(d.clone());
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

#[derive(Debug)]
pub struct Site {
    pub root: PathBuf,
    pub data: Arc<LazyData>,
    pub config_path: Option<PathBuf>,
    pub config: Value,
    pub env: SiteEnv,
    /// relative path -> the `page` value of every page and document
    pub page_values: HashMap<String, Value>,
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
        let mut entries = Vec::new();
        scan(&root, &root, &collections, &excludes, &mut entries);

        let defaults = lv::lookup(&config, &Value::from("defaults"), false)
            .map(|d| lv::seq(&d))
            .unwrap_or_default();
        let permalink_style = get_str(&config, "permalink").unwrap_or_else(|| "date".into());
        let mut pages: Vec<(String, Value, bool)> = Vec::new();
        let mut docs: HashMap<String, Vec<Value>> = HashMap::new();
        let mut urls = HashMap::new();
        let mut page_values = HashMap::new();
        for e in entries {
            let front = match std::fs::read(&e.path) {
                Ok(bytes) => match std::str::from_utf8(&bytes) {
                    Ok(text) => match page::split_front_matter(text) {
                        Some((y, _)) => {
                            let file =
                                crate::source::SourceFile::new(e.path.clone(), text.to_string());
                            match yaml::load(&YamlSource {
                                file: &file,
                                base: y.start,
                                text: &text[y],
                            }) {
                                Ok((v, _)) => Some(v),
                                Err(_) => Some(Value::from(())),
                            }
                        }
                        None => None,
                    },
                    Err(_) => None,
                },
                Err(_) => None,
            };
            let has_front = front.is_some();
            if !(has_front || is_markdown(&e.path) && e.collection.is_none()) {
                continue;
            }
            let kind = e.collection.clone().unwrap_or_else(|| "pages".into());
            let mut data = Value::from_pairs(Vec::<(Value, Value)>::new());
            for d in &defaults {
                let scope = lv::lookup(d, &Value::from("scope"), false).unwrap_or_default();
                let spath = get_str(&scope, "path").unwrap_or_default();
                let stype = get_str(&scope, "type");
                if !e.rel.starts_with(spath.trim_start_matches('/')) {
                    continue;
                }
                if let Some(t) = stype
                    && t != kind
                {
                    continue;
                }
                if let Some(vals) = lv::lookup(d, &Value::from("values"), false) {
                    data = merge(&data, &vals);
                }
            }
            if let Some(f) = front.filter(lv::is_map) {
                data = merge(&data, &f);
            }
            let url = page_url(&e, &data, &collections, &permalink_style);
            let p = Path::new(&e.rel);
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let mut extra: Vec<(&str, Value)> = vec![
                ("url", Value::from(url.clone())),
                ("path", Value::from(e.rel.clone())),
                ("name", Value::from(name.clone())),
            ];
            match &e.collection {
                None => {
                    let dir = p
                        .parent()
                        .map(|d| format!("/{}", d.display()))
                        .unwrap_or_default();
                    let dir = if dir == "/" || dir.is_empty() {
                        "/".to_string()
                    } else {
                        format!("{dir}/")
                    };
                    extra.push(("dir", Value::from(dir)));
                }
                Some(label) => {
                    let stem = p
                        .file_stem()
                        .map(|s| s.to_string_lossy().to_string())
                        .unwrap_or_default();
                    extra.push(("collection", Value::from(label.clone())));
                    extra.push(("relative_path", Value::from(e.rel.clone())));
                    extra.push(("slug", Value::from(stem.clone())));
                    extra.push((
                        "id",
                        Value::from(
                            url.trim_end_matches(".html")
                                .trim_end_matches("/index")
                                .to_string(),
                        ),
                    ));
                    if get_str(&data, "title").is_none() {
                        extra.push(("title", Value::from(titleize(&stem))));
                    }
                }
            }
            let mut value = data;
            for (k, v) in extra {
                value = set_path(&value, &[k], v);
            }
            urls.insert(e.rel.clone(), url);
            page_values.insert(e.rel.clone(), value.clone());
            match &e.collection {
                None => pages.push((name, value, has_front)),
                Some(l) => docs.entry(l.clone()).or_default().push(value),
            }
        }
        // Jekyll sorts pages by name; pages without front matter are added after (plugin)
        let (mut with, mut without): (Vec<_>, Vec<_>) = pages.into_iter().partition(|p| p.2);
        with.sort_by(|a, b| a.0.cmp(&b.0));
        without.sort_by(|a, b| a.0.cmp(&b.0));
        let page_list: Vec<Value> = with.into_iter().chain(without).map(|p| p.1).collect();

        let mut site = config.clone();
        site = set_path(&site, &["data"], Value::from_dyn_object(data.clone()));
        site = set_path(&site, &["pages"], Value::from(page_list.clone()));
        site = set_path(
            &site,
            &["html_pages"],
            Value::from(
                page_list
                    .into_iter()
                    .filter(|p| {
                        get_str(p, "url").is_some_and(|u| u.ends_with(".html") || u.ends_with('/'))
                    })
                    .collect::<Vec<_>>(),
            ),
        );
        let mut coll_values = Vec::new();
        for (label, _) in &collections {
            let mut items = docs.remove(label).unwrap_or_default();
            items.sort_by_key(|d| get_str(d, "path").unwrap_or_default());
            site = set_path(&site, &[label], Value::from(items.clone()));
            coll_values.push(Value::from_pairs([
                ("label", Value::from(label.clone())),
                ("docs", Value::from(items)),
            ]));
        }
        site = set_path(&site, &["collections"], Value::from(coll_values));
        for k in ["posts", "static_files", "documents"] {
            if lv::lookup(&site, &Value::from(k), false).is_none() {
                site = set_path(&site, &[k], Value::from(Vec::<Value>::new()));
            }
        }
        if lv::lookup(&site, &Value::from("baseurl"), false).is_none() {
            site = set_path(&site, &["baseurl"], Value::from(""));
        }

        Ok(Site {
            env: SiteEnv {
                root: root.clone(),
                includes_dir,
                site,
                baseurl,
                url,
                urls,
            },
            root,
            data,
            config_path,
            config,
            page_values,
            warnings,
        })
    }

    /// The `page` variable for a page file of this site.
    pub fn page_value(&self, page: &Page) -> Value {
        let abs = std::path::absolute(&page.file.path).unwrap_or(page.file.path.clone());
        if let Ok(rel) = abs.strip_prefix(&self.root)
            && let Some(v) = self.page_values.get(&rel.to_string_lossy().to_string())
        {
            return v.clone();
        }
        // a page outside the scanned tree: its front matter and a URL
        let name = page
            .file
            .path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut v = if lv::is_map(&page.front) {
            page.front.clone()
        } else {
            Value::from_pairs(Vec::<(Value, Value)>::new())
        };
        v = set_path(&v, &["name"], Value::from(name.clone()));
        v = set_path(&v, &["path"], Value::from(name));
        v
    }
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
            let template = collections
                .iter()
                .find(|(l, _)| l == label)
                .and_then(|(_, c)| get_str(c, "permalink"))
                .unwrap_or_else(|| "/:collection/:path:output_ext".into());
            template
                .replace(":collection", label)
                .replace(":path", &path_no_ext)
                .replace(":name", &stem)
                .replace(":title", &stem)
                .replace(":output_ext", &out_ext)
                .replace("//", "/")
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
            if stem == "index" && out_ext == ".html" {
                return format!("{dir}/");
            }
            if out_ext == ".html" && style == "pretty" {
                format!("{dir}/{stem}/")
            } else {
                format!("{dir}/{stem}{out_ext}")
            }
        }
    }
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
        if excludes.iter().any(|x| {
            rel == x.trim_end_matches('/')
                || rel.starts_with(&format!("{}/", x.trim_end_matches('/')))
        }) {
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
        if path.is_dir() {
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
fn load_data(dir: &Path, warnings: &mut Vec<Diagnostic>) -> Result<Value, Error> {
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
        if path.is_dir() {
            pairs.push((Value::from(name), load_data(&path, warnings)?));
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
