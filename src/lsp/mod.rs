//! `runbook lsp`: a language server (LSP 3.17, stdio) for the Markdown pages of a Jekyll
//! site. Diagnostics are `check`'s, on the editor's text; hover, go to definition,
//! completion and document symbols read the same model `list` and `run` do.
//!
//! - [`server`]: the loop, initialize/shutdown/exit, watching the sites' files;
//! - [`workspace`]: the sites (loaded and indexed once) and the open pages;
//! - [`text`]: byte offsets ⇄ LSP positions (UTF-16), URIs ⇄ paths;
//! - [`cursor`]: what the source text at a position is (a Liquid variable, an include);
//! - [`values`]: a variable's value and where it is defined;
//! - [`diagnostics`], [`hover`], [`definition`], [`completion`], [`symbols`]: one feature each.

pub mod completion;
pub mod cursor;
pub mod definition;
pub mod diagnostics;
pub mod hover;
pub mod server;
pub mod symbols;
pub mod text;
pub mod values;
pub mod workspace;

pub use server::serve;
