//! JUnit XML, as CI test reports read it: one test suite `runbook check`, a test case per page
//! checked (its class name the page's folder), failed when the page has a problem that fails
//! the check: the failure's message counts them, its type names their rules, its text lists
//! each (`file:line:column: level[rule]: message`), and each is also a property of the case.
//! Problems of files that are not pages (the site config, `_data`) get a case of their own.

use super::{Problem, Report};
use quick_junit::{
    NonSuccessKind, Property, Report as JReport, TestCase, TestCaseStatus, TestSuite,
};
use std::path::{Path, PathBuf};

pub fn write(report: &Report) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    // each page's problems, in page order, then the other files'
    let mut cases: Vec<(PathBuf, Vec<&Problem>)> = report
        .pages
        .iter()
        .map(|p| (p.clone(), Vec::new()))
        .collect();
    for p in &report.problems {
        let file = p
            .span()
            .map(|(f, ..)| f)
            .unwrap_or_else(|| PathBuf::from("(no file)"));
        match cases.iter_mut().find(|(f, _)| *f == file) {
            Some((_, list)) => list.push(p),
            None => cases.push((file, vec![p])),
        }
    }
    let mut suite = TestSuite::new("runbook check");
    for (file, problems) in &cases {
        let shown = shown(file, &cwd);
        let mut case = TestCase::new(shown.clone(), status(problems, &cwd));
        case.set_classname(
            Path::new(&shown)
                .parent()
                .map(|p| p.to_string_lossy().into_owned())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| ".".into()),
        );
        for p in problems {
            case.properties
                .push(Property::new(p.diag.code, line(p, &cwd)));
        }
        suite.add_test_case(case);
    }
    let mut out = JReport::new("runbook");
    out.add_test_suite(suite);
    out.to_string().unwrap_or_default()
}

fn status(problems: &[&Problem], cwd: &Path) -> TestCaseStatus {
    let failing: Vec<&&Problem> = problems.iter().filter(|p| p.fails).collect();
    if failing.is_empty() {
        return TestCaseStatus::success();
    }
    let mut rules: Vec<&str> = failing.iter().map(|p| p.diag.code).collect();
    rules.dedup();
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
    status.set_message(format!(
        "{} problem{}: {}",
        failing.len(),
        if failing.len() == 1 { "" } else { "s" },
        failing
            .iter()
            .map(|p| p.diag.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    ));
    status.set_type(rules.join(","));
    status.set_description(
        problems
            .iter()
            .map(|p| line(p, cwd))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    status
}

/// `file:line:column: level[rule]: message (help: ...)`
fn line(p: &Problem, cwd: &Path) -> String {
    let at = p
        .span()
        .map(|(f, l, c, _)| format!("{}:{l}:{c}: ", shown(&f, cwd)))
        .unwrap_or_default();
    let help = p
        .diag
        .hint
        .as_ref()
        .map(|h| format!(" (help: {h})"))
        .unwrap_or_default();
    format!(
        "{at}{}[{}]: {}{help}",
        p.level(),
        p.diag.code,
        p.diag.message
    )
}

fn shown(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}
