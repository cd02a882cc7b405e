//! The fuzz targets' regression inputs: every file under `tests/fuzz_regressions/<target>/`
//! (each a crash `cargo fuzz` found, minimized) and a few seed pages, replayed through the
//! same `runbook::fuzzing` entry points the fuzzers call. A panic fails the test.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of a directory, sorted; an absent directory has none.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| p.is_file());
    out.sort();
    out
}

fn replay(target: &str, run: fn(&[u8])) -> usize {
    // the targets' small site goes under target/tmp, not the system temp dir
    runbook::fuzzing::use_dir(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let inputs = files(&root().join("tests/fuzz_regressions").join(target));
    for path in &inputs {
        let data = std::fs::read(path).unwrap();
        let result = std::panic::catch_unwind(|| run(&data));
        assert!(
            result.is_ok(),
            "fuzz target {target} panics on {}",
            path.display()
        );
    }
    inputs.len()
}

/// Seed pages every target gets: the test fixtures' pages and the example runbooks.
fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for dir in ["tests/fixtures/liquid/site", "runbooks"] {
        for p in files(&root().join(dir)) {
            if p.extension().is_some_and(|e| e == "md") {
                out.push(std::fs::read(p).unwrap());
            }
        }
    }
    assert!(out.len() >= 3, "the seed pages are missing");
    out
}

#[test]
fn page_load_regressions() {
    replay("page_load", runbook::fuzzing::page_load);
    for s in seeds() {
        runbook::fuzzing::page_load(&s);
    }
    // not UTF-8, binary: refused with a diagnostic, no panic
    runbook::fuzzing::page_load(b"---\ntitle: \xff\n---\n");
    runbook::fuzzing::page_load(b"# x\0\n");
}

#[test]
fn liquid_regressions() {
    replay("liquid", runbook::fuzzing::liquid);
    for s in seeds() {
        runbook::fuzzing::liquid(&s);
    }
    runbook::fuzzing::liquid(b"{% include greet.html who=\"x\" %}{{ site.data.ports | jsonify }}");
}

#[test]
fn placeholders_regressions() {
    replay("placeholders", runbook::fuzzing::placeholders);
    for s in seeds() {
        runbook::fuzzing::placeholders(&s);
    }
    runbook::fuzzing::placeholders(b"ssh <user>@<host> # the machine\nX=<value here>\n");
}

#[test]
fn journal_regressions() {
    replay("journal", runbook::fuzzing::journal);
    runbook::fuzzing::journal(
        b"{\"event\":\"run-start\",\"steps\":[]}\n{\"event\":\"step-end\",\"id\":\"a-1\",\"status\":0}\n{\"ev",
    );
    runbook::fuzzing::journal(b"\xff\xfe\n");
}
