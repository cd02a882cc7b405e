//! The Liquid dialect Jekyll pages are written in, run on minijinja.
pub mod ast;
pub mod expr;
pub mod filters;
pub mod lexer;
pub mod parse;
pub mod runtime;
pub mod translate;
pub mod value;

pub use runtime::{Engine, Mode, PageTemplate, Rendered, SiteEnv};
