//! Placeholder values are data in every shell context: generated values (every character
//! from U+0001 to U+00FF, quotes, backslashes, newlines, control characters, bidi overrides,
//! injection payloads) are filled into commands where the placeholder sits in each context
//! bash has, the command is run by a real bash, and the literal value must arrive, exactly,
//! with nothing else run (no canary file). Where no quoting can make a value data
//! (arithmetic, text parsed twice, a heredoc line that would end the heredoc) the value must
//! be refused, and only then.

use proptest::prelude::*;
use runbook::shell;
use std::path::Path;
use std::process::Command;

/// What a template's `out` file must hold for a value; None: only that nothing else ran.
type Expect = fn(&str) -> Option<Vec<u8>>;
/// Whether a value may be refused in this template (and must be).
type Refuse = fn(&str) -> bool;

fn same(v: &str) -> Option<Vec<u8>> {
    Some(v.as_bytes().to_vec())
}
/// Command substitution drops trailing newlines.
fn trimmed(v: &str) -> Option<Vec<u8>> {
    Some(v.trim_end_matches('\n').as_bytes().to_vec())
}
/// An unquoted substitution's result is split into words, printed without the blanks; a
/// word with a glob character is then matched against the files (the template's meaning,
/// whatever the value), so for such values only "nothing else ran" is checked.
fn split_words(v: &str) -> Option<Vec<u8>> {
    if v.contains(['*', '?', '[']) {
        return None;
    }
    let words: String = v.trim_end_matches('\n').split([' ', '\t', '\n']).collect();
    same(&words)
}
/// `<v>` with its first `<v>` replaced by `B` (an empty pattern replaces nothing).
fn replaced(v: &str) -> Option<Vec<u8>> {
    same(if v.is_empty() { "" } else { "B" })
}
fn never(_: &str) -> bool {
    false
}
fn not_integer(v: &str) -> bool {
    let d = v.strip_prefix(['-', '+']).unwrap_or(v);
    d.is_empty()
        || d.len() > 18
        || (d.len() > 1 && d.starts_with('0'))
        || !d.chars().all(|c| c.is_ascii_digit())
}
fn not_reparse_safe(v: &str) -> bool {
    v.is_empty()
        || v.starts_with('-')
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:@%+,-".contains(c))
}
fn not_a_name(v: &str) -> bool {
    let b = v.as_bytes();
    b.is_empty()
        || b[0].is_ascii_digit()
        || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}
fn ends_heredoc(v: &str) -> bool {
    v.split('\n').any(|l| l.starts_with("EOF"))
}
fn ends_stripped_heredoc(v: &str) -> bool {
    v.split('\n')
        .any(|l| l.starts_with('\t') || l.starts_with("EOF"))
}

const TEMPLATES: &[(&str, Expect, Refuse)] = &[
    ("printf '%s' <val> > out", same, never),
    ("printf '%s' \"<val>\" > out", same, never),
    (
        "printf '%s' 'pre<val>post' > out",
        |v| same(&format!("pre{v}post")),
        never,
    ),
    (
        "printf '%s' $'pre<val>post' > out",
        |v| same(&format!("pre{v}post")),
        never,
    ),
    (
        "printf '%s' <val>\"<val>\"'<val>' > out",
        |v| same(&v.repeat(3)),
        never,
    ),
    ("printf '%s' \"`printf '%s' <val>`\" > out", trimmed, never),
    (
        "printf '%s' \"`printf '%s' \"<val>\"`\" > out",
        trimmed,
        never,
    ),
    (
        "printf '%s' \"`printf '%s' \\`printf '%s' <val>\\``\" > out",
        split_words,
        never,
    ),
    (
        "x=`printf '%s' '<val>'`; printf '%s' \"$x\" > out",
        trimmed,
        never,
    ),
    (
        "addr=`printf '%s' <val>`; printf '%s' \"$addr\" > out",
        trimmed,
        never,
    ),
    (
        "printf '%s' \"$(printf '%s' \"<val>\")\" > out",
        trimmed,
        never,
    ),
    (
        "printf '%s' \"$(printf '%s' `printf '%s' '<val>'`)\" > out",
        split_words,
        never,
    ),
    ("printf '%s' ${U:-<val>} > out", same, never),
    ("printf '%s' \"${U:-<val>}\" > out", same, never),
    ("printf '%s' \"${U:-\"<val>\"}\" > out", same, never),
    ("printf '%s' ${U:-\"<val>\"} > out", same, never),
    (
        "x=<val>tail; printf '%s' \"${x#<val>}\" > out",
        |_| same("tail"),
        never,
    ),
    (
        "x=<val>tail; y=${x#<val>}; printf '%s' \"$y\" > out",
        |_| same("tail"),
        never,
    ),
    (
        "x=tail<val>; y=${x%\"<val>\"}; printf '%s' \"$y\" > out",
        |_| same("tail"),
        never,
    ),
    (
        "x=abc; printf '%s' \"${x/b/<val>}\" > out",
        |v| same(&format!("a{v}c")),
        never,
    ),
    (
        "x=abc; y=${x/b/<val>}; printf '%s' \"$y\" > out",
        |v| same(&format!("a{v}c")),
        never,
    ),
    (
        "x=<val>; y=${x/<val>/B}; printf '%s' \"$y\" > out",
        replaced,
        never,
    ),
    (
        "x=<val>; printf '%s' \"${x/<val>/B}\" > out",
        replaced,
        never,
    ),
    (
        "cat > out <<EOF\n<val>\nEOF",
        |v| same(&format!("{v}\n")),
        ends_heredoc,
    ),
    (
        "cat > out <<'EOF'\npre <val>\nEOF",
        |v| same(&format!("pre {v}\n")),
        ends_heredoc,
    ),
    (
        "cat > out <<-EOF\n\t<val>\n\tEOF",
        |v| same(&format!("{v}\n")),
        ends_stripped_heredoc,
    ),
    (
        "x=\"$(cat <<EOF\n<val>\nEOF\n)\"; printf '%s' \"$x\" > out",
        trimmed,
        ends_heredoc,
    ),
    (
        "printf '%s' $(( <val> + 0 )) > out",
        |v| same(&v.parse::<i64>().map(|n| n.to_string()).unwrap_or_default()),
        not_integer,
    ),
    (
        "arr=(x <val> y); printf '%s\\n' \"${#arr[@]}\" \"${arr[1]}\" > out",
        |v| same(&format!("3\n{v}\n")),
        never,
    ),
    (
        "K=<val>x; case \"$K\" in <val>) printf yes > out;; *) printf no > out;; esac",
        |_| same("no"),
        never,
    ),
    (
        "K=<val>; case \"$K\" in <val>) printf yes > out;; *) printf no > out;; esac",
        |_| same("yes"),
        never,
    ),
    (
        "if [[ <val> -eq 5 ]]; then printf yes > out; else printf no > out; fi",
        |v| {
            same(if v.parse::<i64>() == Ok(5) {
                "yes"
            } else {
                "no"
            })
        },
        not_integer,
    ),
    (
        "[[ <val> == <val> ]] && printf yes > out",
        |_| same("yes"),
        never,
    ),
    ("eval \"printf '%s' <val>\" > out", same, not_reparse_safe),
    (
        "bash -c \"printf '%s' <val>\" > out",
        same,
        not_reparse_safe,
    ),
    ("f() { printf '%s' \"$1\" > out; }; f <val>", same, never),
    ("<val> 2>/dev/null", |_| None, never),
    (
        "trap \"printf '%s' <val> > out\" EXIT",
        same,
        not_reparse_safe,
    ),
    (
        "read -r <val> <<< hello && printf '%s' hello > out",
        |_| same("hello"),
        not_a_name,
    ),
    ("unset '<val>'; printf ok > out", |_| same("ok"), not_a_name),
    (
        "declare -n R=<val>; X=1; printf '%s' \"${R-}\" > out",
        |_| None,
        not_a_name,
    ),
    (
        "for <val> in a; do printf ok > out; done",
        |_| same("ok"),
        not_a_name,
    ),
    (
        "export TOKEN=\"<val>\" OTHER=<val>; printf '%s|%s' \"$TOKEN\" \"$OTHER\" > out",
        |v| same(&format!("{v}|{v}")),
        never,
    ),
];

/// One run of `script` in `dir`; (out file, whether the canary exists).
fn run(dir: &Path, script: &str) -> (Option<Vec<u8>>, bool) {
    let _ = std::fs::remove_file(dir.join("out"));
    let _ = std::fs::remove_file(dir.join("CANARY"));
    let status = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env_remove("U")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("bash");
    let _ = status;
    (
        std::fs::read(dir.join("out")).ok(),
        dir.join("CANARY").exists(),
    )
}

fn value() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::char::range('\u{1}', '\u{ff}').prop_map(String::from),
        2 => proptest::sample::select(vec![
            "'", "\"", "\\", "`", "$", "(", ")", "{", "}", "[", "]", "<", ">", "|", "&", ";", "*",
            "?", "~", "#", "!", "=", "%", "^", ",", " ", "\t", "\n", "\r", "\u{1b}[2K", "-",
        ]).prop_map(String::from),
        2 => "[a-z0-9]{1,6}",
        1 => proptest::sample::select(vec![
            "$(touch CANARY)", "`touch CANARY`", "'; touch CANARY; '", "\"; touch CANARY; \"",
            "}; touch CANARY; {", "\nEOF\ntouch CANARY\n", "a[$(touch CANARY)]", "\\`touch CANARY\\`",
            "\\$(touch CANARY)", "x`;touch CANARY;`", "EOF", "\u{202e}", "é中", "5", "-3", "010",
        ]).prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

fn check(dir: &Path, v: &str) -> Result<(), TestCaseError> {
    for (template, expect, may_refuse) in TEMPLATES {
        let filled = shell::fill(template, |_| Some(v.to_string()));
        if !filled.refused.is_empty() {
            prop_assert!(
                may_refuse(v),
                "refused without cause: {template:?} with {v:?}: {:?}",
                filled.refused
            );
            continue;
        }
        prop_assert!(
            !may_refuse(v),
            "should have been refused: {template:?} with {v:?} gave {:?}",
            filled.text
        );
        prop_assert!(
            filled.missing.is_empty(),
            "{template:?}: {:?}",
            filled.missing
        );
        let (out, canary) = run(dir, &filled.text);
        prop_assert!(
            !canary,
            "the value ran: {template:?} with {v:?} as {:?}",
            filled.text
        );
        if let Some(want) = expect(v) {
            prop_assert_eq!(
                out.as_deref().map(String::from_utf8_lossy),
                Some(String::from_utf8_lossy(&want)),
                "{:?} with {:?} ran as {:?}",
                template,
                v,
                filled.text
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, .. ProptestConfig::default() })]

    #[test]
    fn placeholder_values_are_data_in_every_context(v in value()) {
        let dir = tempfile::tempdir().unwrap();
        check(dir.path(), &v)?;
    }
}

#[test]
fn known_attacks_are_data() {
    let dir = tempfile::tempdir().unwrap();
    for v in [
        "x`;touch CANARY;`",
        "$(touch CANARY)",
        "'$(touch CANARY)'",
        "}';touch CANARY;'{",
        "a\nEOF\ntouch CANARY",
        "a[$(touch CANARY)]",
        "\\",
        "",
        "Can't reach\nstale",
    ] {
        check(dir.path(), v).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The issue's attacks through `runbook run`: the values arrive as data, nothing else runs,
/// and what cannot be data is refused before anything runs.
#[test]
fn run_fills_values_as_data_in_backticks_heredocs_and_defaults() {
    use crate::test::Test;
    let page = "# Steps\n\n```bash\naddr=`printf '%s' <host name>`\nprintf '[%s]\\n' \"$addr\" \"`echo <words>`\" \"${FALLBACK:-<default>}\"\ncat > conf.txt <<EOF\nserver = <host name>\nEOF\ncat conf.txt\n```\n";
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&[
            "run",
            "page.md",
            "--yes",
            "--set",
            "host name=x`;touch CANARY;`",
            "--set",
            "words=$(touch CANARY) '\"",
            "--set",
            "default=a}b'c",
        ])
        .stdout_contains(
            "[x`;touch CANARY;`]\n[$(touch CANARY) '\"]\n[a}b'c]\nserver = x`;touch CANARY;`\n",
        )
        .run();
    assert!(!out.dir.join("CANARY").exists(), "a value ran");
    // arithmetic can only hold a number: refused before anything runs, located
    let out = Test::new()
        .site("x: 1\n")
        .page("# Steps\n\n```bash\ntouch started\necho $(( <count> + 1 ))\n```\n")
        .args(&[
            "run",
            "page.md",
            "--yes",
            "--set",
            "count=a[$(touch CANARY)]",
        ])
        .status(1)
        .stderr_contains("page.md:5:10")
        .stderr_contains("must be a whole number")
        .run();
    assert!(!out.dir.join("CANARY").exists());
    assert!(
        !out.dir.join("started").exists(),
        "nothing runs on a refused value"
    );
}
