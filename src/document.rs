//! A page made ready for listing, checking and running: rendered, cut into sections and
//! steps, with every step and placeholder located in the source file.

use crate::error::{Diagnostic, Error};
use crate::linemap::LineMap;
use crate::liquid::{Engine, Mode, PageTemplate};
use crate::page::{self, Page};
use crate::runbook::{self, ModelOptions, Runbook};
use crate::site::Site;
use crate::source::SourceFile;
use std::path::Path;
use std::sync::Arc;

pub struct Document {
    pub page: Page,
    pub rendered: String,
    /// The model, with lines and columns already mapped to the source file.
    pub runbook: Runbook,
    /// `site.*` variables the page uses, in order of first use.
    pub site_variables: Vec<String>,
    pub diagnostics: Vec<Diagnostic>,
}

fn model_options(page: &Page) -> ModelOptions {
    // front matter `runbook: {run_unlabelled: true|false}` decides for unlabelled blocks
    ModelOptions {
        default_runnable: page
            .front_value(&["runbook", "run_unlabelled"])
            .filter(|x| !crate::liquid::value::is_nil(x))
            .map(|x| crate::liquid::value::truthy(&x)),
    }
}

/// A page read and rendered: where every command starts.
pub struct RenderedPage {
    pub page: Page,
    pub output: String,
    /// Front matter warnings, then what rendering reported.
    pub diagnostics: Vec<Diagnostic>,
    /// The page's Liquid, parsed.
    pub nodes: Vec<crate::liquid::ast::Node>,
}

/// Read a page and render it (in `mode`) with its site's engine. Err holds fatal problems.
pub fn render(
    engine: &Engine,
    site: &Site,
    path: &Path,
    mode: Mode,
) -> Result<RenderedPage, Vec<Diagnostic>> {
    // a tree render has usually read the page already, for `site.pages`
    let (page, page_value) = match site.index.loaded_page(path) {
        Some(loaded) => loaded,
        None => {
            let page = page::load(path).map_err(|e| match e {
                Error::Input(d) => d,
                other => vec![Diagnostic::error("unreadable", other.to_string())],
            })?;
            let value = site.page_value(&page);
            (page, value)
        }
    };
    render_page(engine, page, page_value, mode)
}

/// A page whose text is given (an editor's buffer), rendered as [`render`] renders the file
/// at its path: the file on disk, and the site's index of it, are not read.
pub fn render_text(
    engine: &Engine,
    site: &Site,
    file: Arc<SourceFile>,
    mode: Mode,
) -> Result<RenderedPage, Vec<Diagnostic>> {
    let page = page::parse(file).map_err(|e| match e {
        Error::Input(d) => d,
        other => vec![Diagnostic::error("unreadable", other.to_string())],
    })?;
    let value = site.page_value(&page);
    render_page(engine, page, value, mode)
}

fn render_page(
    engine: &Engine,
    page: Page,
    page_value: minijinja::Value,
    mode: Mode,
) -> Result<RenderedPage, Vec<Diagnostic>> {
    let tmpl = PageTemplate {
        file: &page.file,
        base: page.body_start,
        page: page_value,
    };
    let rendered = engine.render(&tmpl, mode)?;
    let mut diagnostics = page.warnings.clone();
    diagnostics.extend(rendered.diagnostics);
    Ok(RenderedPage {
        page,
        output: rendered.output,
        diagnostics,
        nodes: rendered.nodes,
    })
}

/// Load, render (in `mode`) and model a page. Err holds fatal problems.
pub fn load(
    engine: &Engine,
    site: &Site,
    path: &Path,
    mode: Mode,
) -> Result<Document, Vec<Diagnostic>> {
    Ok(model(render(engine, site, path, mode)?))
}

/// [`load`] for a page whose text is given (an editor's buffer) rather than read from its
/// path.
pub fn load_text(
    engine: &Engine,
    site: &Site,
    file: Arc<SourceFile>,
    mode: Mode,
) -> Result<Document, Vec<Diagnostic>> {
    Ok(model(render_text(engine, site, file, mode)?))
}

/// A rendered page cut into sections and steps, located in its source.
fn model(rendered: RenderedPage) -> Document {
    let RenderedPage {
        page,
        output,
        mut diagnostics,
        nodes,
    } = rendered;
    let mut rb = runbook::build(&output, &model_options(&page));
    let map = LineMap::new(page.body(), &output);
    let first = page.file.line_col(page.body_start).0 - 1;
    // (only a placeholder on a line that Liquid changed needs its rendered line's text)
    let rendered_lines = std::cell::OnceCell::new();
    for section in &mut rb.sections {
        if section.level > 0 {
            section.line = map.source_line(section.line) + first;
        }
        if let Some(asks) = &mut section.asks_host {
            let rendered_line = asks.line;
            asks.line = map.source_line(rendered_line) + first;
            if !map.is_exact(rendered_line) {
                // the source line holds Liquid: the host as written there, else the Liquid
                // that writes it
                let src = page.file.line_text(asks.line);
                if let Some(i) = src.find(&asks.host).or_else(|| src.find("{{")) {
                    asks.column = src[..i].chars().count() + 1;
                }
            }
        }
        for step in &mut section.steps {
            step.lines = (
                map.source_line(step.lines.0) + first,
                map.source_line(step.lines.1) + first,
            );
            for line in &mut step.code_lines {
                *line = map.source_line(*line) + first;
            }
            for p in &mut step.placeholders {
                let rendered_line = p.line;
                p.line = map.source_line(rendered_line) + first;
                if !map.is_exact(rendered_line) {
                    // the source line holds Liquid: find the placeholder there if it is literal
                    let src = page.file.line_text(p.line);
                    let text = rendered_lines
                        .get_or_init(|| crate::source::lines(&output))
                        .get(rendered_line - 1)
                        .copied()
                        .unwrap_or("");
                    let needle = format!("<{}>", p.name);
                    if let Some(i) = src.find(&needle) {
                        p.column = src[..i].chars().count() + 1;
                    } else if let Some(i) = src.find('<').filter(|_| text.contains(&needle)) {
                        p.column = src[..i].chars().count() + 1;
                    }
                }
            }
            if let Some(inline) = &mut step.inline {
                let rendered_line = inline.line;
                inline.line = map.source_line(rendered_line) + first;
                if !map.is_exact(rendered_line) {
                    // the source line holds Liquid: find the command's first word there
                    let src = page.file.line_text(inline.line);
                    let word = step.code.split_whitespace().next().unwrap_or("");
                    if let Some(i) = src.find(word).filter(|_| !word.is_empty()) {
                        inline.column = src[..i].chars().count() + 1;
                    }
                }
            }
        }
    }
    diagnostics.extend(unclosed_fences(&page, &output, &map, first));
    // (the body rendered is the page's body: its Liquid is parsed once)
    let site_variables = crate::liquid::site_variables_in(&nodes);
    Document {
        page,
        rendered: output,
        runbook: rb,
        site_variables,
        diagnostics,
    }
}

/// A fence that is never closed swallows the rest of the page (CommonMark); say so.
fn unclosed_fences(page: &Page, rendered: &str, map: &LineMap, first: usize) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String, usize)> = None; // (line, fence, indent)
    for (i, line) in rendered.lines().enumerate() {
        let trimmed = line.trim_start_matches([' ', '>']);
        let indent = line.len() - trimmed.len();
        let fence: String = trimmed
            .chars()
            .take_while(|c| *c == '`' || *c == '~')
            .collect();
        let is_fence = fence.len() >= 3
            && fence
                .chars()
                .all(|c| c == fence.chars().next().unwrap_or('`'));
        match &open {
            None if is_fence && indent < 4 + line.matches('>').count() * 2 => {
                open = Some((i + 1, fence, indent));
            }
            Some((_, f, _))
                if is_fence
                    && fence.starts_with(f.as_str())
                    && trimmed[fence.len()..].trim().is_empty() =>
            {
                open = None;
            }
            _ => {}
        }
    }
    if let Some((line, fence, _)) = open {
        let src_line = map.source_line(line) + first;
        let offset = page.file.line_start(src_line);
        let col = page.file.line_text(src_line).find(&fence).unwrap_or(0);
        out.push(
            Diagnostic::warning(
                "unclosed-fence",
                format!("code fence {fence} is never closed: the rest of the page becomes code"),
            )
            .at(&page.file, offset + col)
            .width(fence.len())
            .hint(format!("close the block with a line {fence}")),
        );
    }
    out
}

/// Control characters in a page (ESC sequences, CR, backspace, other C0/C1, bidi overrides):
/// a terminal does not show them, so a command holding one is not what it looks like. A CR
/// that ends a line of a CRLF file is a line ending, not one of them.
pub fn control_characters(
    file: &std::sync::Arc<crate::source::SourceFile>,
) -> Vec<crate::error::Diagnostic> {
    let text = &file.text;
    let mut out = Vec::new();
    for (i, c) in text.char_indices() {
        if !crate::shell::invisible(c) || (c == '\r' && text[i + 1..].starts_with('\n')) {
            continue;
        }
        out.push(
            crate::error::Diagnostic::error(
                "control-character",
                format!(
                    "control character `{}` (U+{:04X}) in the page: a terminal does not show it, so the text around it is not what it looks like",
                    crate::shell::display(&c.to_string()),
                    c as u32
                ),
            )
            .at(file, i)
            .width(1)
            .hint("remove it; runbook shows it escaped, but other readers of the page do not"),
        );
    }
    out
}
