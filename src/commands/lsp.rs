//! `runbook lsp`: the language server on stdin/stdout (see [`crate::lsp`]).

use crate::cli::SiteArgs;
use crate::error::Result;

pub fn run(site_args: &SiteArgs) -> Result<i32> {
    crate::lsp::serve(site_args.clone())
}
