//! Go to definition: a `site.`/`page.`/`site.data.` key to its line in the config, the
//! front matter or the data file; an include to its file.

use super::cursor::{Target, target_at};
use super::text::{LineIndex, path_to_uri};
use super::values;
use super::workspace::Workspace;
use crate::site::Site;
use lsp_types::{Location, Position, Range};
use std::path::{Path, PathBuf};

pub fn definition(ws: &Workspace, uri: &str, offset: usize) -> Option<Location> {
    let page = ws.pages.get(uri)?;
    let site = ws.site_of(page)?.site()?;
    match target_at(page.text(), offset)? {
        Target::Variable { path, .. } => {
            let d = values::defined(site, page, &path)?;
            let index = LineIndex::new(&d.text);
            Some(Location::new(
                path_to_uri(&d.path)?,
                index.range(d.start, d.end),
            ))
        }
        Target::Include { relative, name, .. } => {
            let file = include_path(site, &page.path, relative, &name)?;
            let start = Position::new(0, 0);
            Some(Location::new(path_to_uri(&file)?, Range::new(start, start)))
        }
    }
}

/// The file an include names: under the site's `_includes/`, or beside the page for
/// `include_relative`.
pub fn include_path(site: &Site, page: &Path, relative: bool, name: &str) -> Option<PathBuf> {
    let base = if relative {
        page.parent()?.to_path_buf()
    } else {
        site.env.includes_dir.clone()
    };
    let p = base.join(name);
    p.is_file().then_some(p)
}
