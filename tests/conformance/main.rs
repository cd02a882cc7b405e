//! Comparisons against the shared corpus: other people's Jekyll sites and Jekyll's output for
//! them (`sites/`, `golden/`), which this repository may not hold and a fresh clone does not
//! have. Not part of `cargo test`; CI runs it with `cargo test --test conformance`, beside
//! `tests/conformance.sh`.
//!
//! The corpus is `$RUNBOOK_CORPUS`, else `../shared/corpus` beside the repository. Without it
//! every test here fails and says so: a check that cannot look must not pass.

use std::path::PathBuf;

#[allow(dead_code)]
#[path = "../test.rs"]
mod test;

mod model;
mod pages;

/// The corpus folder; panics with what to do when it is not there.
pub fn corpus() -> PathBuf {
    let dir = match std::env::var_os("RUNBOOK_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    };
    assert!(
        dir.join("sites").is_dir() && dir.join("golden").is_dir(),
        "conformance: no corpus at {} (it needs sites/ and golden/): set RUNBOOK_CORPUS to the \
         shared corpus, or check the project out beside ../shared. Plain `cargo test` needs no \
         corpus; this target does.",
        dir.display()
    );
    dir
}

/// A corpus file as text.
pub fn read(rel: &str) -> String {
    let path = corpus().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A file of this repository.
pub fn project(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}
