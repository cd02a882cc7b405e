//! The binary on the corpus sites: a whole site rendered as Jekyll renders it, every page
//! dry-run without executing anything, and the seed fixture still the corpus page.

use crate::test::{Test, dry_run_executes_nothing};
use crate::{corpus, project};

#[test]
fn renders_a_whole_tree_identically_to_single_pages() {
    let site = corpus().join("sites/alisw+alisw.github.io@b32e9a6d");
    let out = Test::new()
        .args(&["render", site.to_str().unwrap(), "-o", "out"])
        .run();
    let golden = corpus().join("golden/alisw+alisw.github.io@b32e9a6d");
    let mut n = 0;
    for entry in std::fs::read_dir(&golden).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "markdown" || e == "md") {
            let ours = std::fs::read(out.dir.join("out").join(p.file_name().unwrap())).unwrap();
            assert_eq!(ours, std::fs::read(&p).unwrap(), "{}", p.display());
            n += 1;
        }
    }
    assert!(n >= 15, "{n} pages compared");
}

#[test]
fn dry_run_of_every_corpus_page_executes_nothing() {
    let pages = dry_run_executes_nothing(&[corpus().join("sites")]);
    assert!(pages >= 40, "{pages} pages");
}

/// tests/fixtures/seed is the corpus's seed page and Jekyll's output for it, byte for byte
/// (the unit tests' line numbers depend on it).
#[test]
fn seed_fixture_is_the_corpus_page() {
    for (fixture, original) in [
        (
            "tests/fixtures/seed/site/infrastructure-mesos.markdown",
            "sites/alisw+alisw.github.io/infrastructure-mesos.markdown",
        ),
        (
            "tests/fixtures/seed/golden/infrastructure-mesos.markdown",
            "golden/alisw+alisw.github.io/infrastructure-mesos.markdown",
        ),
    ] {
        assert!(
            std::fs::read(project(fixture)).unwrap()
                == std::fs::read(corpus().join(original)).unwrap(),
            "{fixture} differs from the corpus's {original}"
        );
    }
}
