//! Property tests: whatever a step leaves in its shell is exactly what the next step sees.
//!
//! Each case runs a real bash through `Shell::run`: step 1 sets generated variables (values from
//! the whole byte range 0x01-0xFF, sometimes 100 KB; indexed and associative arrays; exported
//! or not), functions with generated bodies and a working directory with a generated name;
//! step 2 writes back what it sees (raw bytes, `declare -p`, `declare -f`, `$PWD`), which must
//! be byte for byte what step 1 wrote. The same again from the state rebuilt from the snapshot
//! file (a resume), and the values decoded from bash's declarations (used for secrets) must be
//! the values.

use super::secrets::Secrets;
use super::shell::Shell;
use super::shell::tests::step;
use super::state::{Delta, State, secret_values};
use proptest::prelude::*;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `$'...'` with every byte but letters and digits as an octal escape: any bytes, as ASCII text.
fn ansi_c(bytes: &[u8]) -> String {
    let mut s = String::from("$'");
    for &b in bytes {
        if b.is_ascii_alphanumeric() {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\{b:03o}"));
        }
    }
    s.push('\'');
    s
}

/// A byte of a value: any of 0x01-0xFF, the ones quoting trips over more often.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => 1u8..=255,
        1 => prop::sample::select(vec![b'\'', b'"', b'\\', b'\n', b'\r', 0x1b, b'$', b'`', b' ', b'!', 0xff, 0xe9, b']', b'=']),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(byte(), 0..48),
        prop::bool::weighted(0.06),
    )
        .prop_map(|(v, big)| {
            if big && !v.is_empty() {
                // about 100 KB
                v.iter().copied().cycle().take(100 * 1024).collect()
            } else {
                v
            }
        })
}

#[derive(Debug, Clone)]
enum Var {
    Scalar { value: Vec<u8>, exported: bool },
    Indexed(Vec<(u32, Vec<u8>)>),
    Assoc(Vec<(Vec<u8>, Vec<u8>)>),
}

fn var() -> impl Strategy<Value = Var> {
    prop_oneof![
        3 => (value(), any::<bool>()).prop_map(|(value, exported)| Var::Scalar { value, exported }),
        1 => prop::collection::vec((0u32..40, value()), 0..5).prop_map(Var::Indexed),
        1 => prop::collection::vec((prop::collection::vec(byte(), 1..12), value()), 0..5)
            .prop_map(Var::Assoc),
    ]
}

/// A function body: printf of a value, a heredoc, control flow.
fn function() -> impl Strategy<Value = String> {
    let line = prop::collection::vec(
        prop::sample::select((0x20u8..0x7f).collect::<Vec<u8>>()),
        0..30,
    )
    .prop_map(|v| String::from_utf8(v).unwrap())
    .prop_filter("not the heredoc's end", |l| l != "EOF");
    prop_oneof![
        value().prop_map(|v| format!("{{ printf '%s' {}; }}", ansi_c(&v))),
        line.prop_map(|l| format!("{{ cat <<'EOF'\n{l}\nEOF\n}}")),
        value().prop_map(|v| format!(
            "{{ local i; for i in 1 2; do case $i in 1) printf '%s|' \"a b\";; *) printf '%s' {} \"$@\";; esac; done; [ -n \"$1\" ] && echo \"${{1//x/y}}\" || :; }}",
            ansi_c(&v)
        )),
    ]
}

/// A directory name: bytes but `/` and NUL, with a space, an apostrophe or a newline often.
fn dir_name() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            2 => (1u8..=255).prop_filter("no slash", |b| *b != b'/'),
            1 => prop::sample::select(vec![b' ', b'\'', b'\n', b'"', b'\\', 0xe9]),
        ],
        1..16,
    )
    .prop_filter("not . or ..", |n| n != b"." && n != b"..")
}

#[derive(Debug, Clone)]
struct Case {
    vars: Vec<Var>,
    functions: Vec<String>,
    dir: Vec<u8>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(var(), 1..5),
        prop::collection::vec(function(), 0..3),
        dir_name(),
    )
        .prop_map(|(vars, functions, dir)| Case {
            vars,
            functions,
            dir,
        })
}

/// Step 1's command: set everything, enter the directory.
fn setting(c: &Case) -> String {
    let mut cmd = String::new();
    for (i, v) in c.vars.iter().enumerate() {
        match v {
            Var::Scalar { value, exported } => {
                let export = if *exported { "export " } else { "" };
                cmd.push_str(&format!("{export}V{i}={}\n", ansi_c(value)));
            }
            Var::Indexed(elems) => {
                cmd.push_str(&format!("V{i}=()\n"));
                for (k, e) in elems {
                    cmd.push_str(&format!("V{i}[{k}]={}\n", ansi_c(e)));
                }
            }
            Var::Assoc(elems) => {
                cmd.push_str(&format!("declare -A V{i}=()\n"));
                for (k, e) in elems {
                    cmd.push_str(&format!("V{i}[{}]={}\n", ansi_c(k), ansi_c(e)));
                }
            }
        }
    }
    for (i, f) in c.functions.iter().enumerate() {
        cmd.push_str(&format!("f{i} () {f}\n"));
    }
    cmd.push_str(&format!("cd -- {}\n", ansi_c(&c.dir)));
    cmd
}

/// A command that writes what the shell has into files of `out` (`tag` in their names).
fn reporting(c: &Case, out: &Path, tag: &str) -> String {
    let o = out.display();
    let mut cmd = String::new();
    for (i, v) in c.vars.iter().enumerate() {
        match v {
            Var::Scalar { exported, .. } => {
                cmd.push_str(&format!("printf '%s' \"$V{i}\" > {o}/{tag}-v{i}\n"));
                if *exported {
                    // what a child process gets in its environment
                    cmd.push_str(&format!(
                        "bash -c 'printf \"%s\" \"$V{i}\"' > {o}/{tag}-env{i}\n"
                    ));
                }
            }
            _ => {
                cmd.push_str(&format!(
                    "printf '%s\\0' \"${{!V{i}[@]}}\" > {o}/{tag}-k{i}; printf '%s\\0' \"${{V{i}[@]}}\" > {o}/{tag}-v{i}\n"
                ));
            }
        }
        // the attributes (exported, array, associative)
        cmd.push_str(&format!("printf '%s' \"${{V{i}@a}}\" > {o}/{tag}-a{i}\n"));
    }
    // as bash declares them: exactly the same text (an associative array's order may differ)
    for i in 0..c.vars.len() {
        cmd.push_str(&format!("declare -p V{i} > {o}/{tag}-d{i}\n"));
    }
    cmd.push_str(&format!("declare -f > {o}/{tag}-functions\n"));
    for i in 0..c.functions.len() {
        cmd.push_str(&format!("f{i} 'x y' > {o}/{tag}-call{i}\n"));
    }
    cmd.push_str(&format!("printf '%s' \"$PWD\" > {o}/{tag}-pwd\n"));
    cmd
}

/// What step `tag` reported; the elements of associative arrays as (key, value) pairs in order.
fn seen(c: &Case, out: &Path, tag: &str) -> Vec<(String, Vec<u8>)> {
    let mut f = files(out, tag);
    for (i, v) in c.vars.iter().enumerate() {
        if !matches!(v, Var::Assoc(_)) {
            continue;
        }
        let take = |f: &mut Vec<(String, Vec<u8>)>, n: String| {
            let at = f.iter().position(|(k, _)| *k == n).unwrap();
            f.remove(at).1
        };
        take(&mut f, format!("d{i}"));
        let keys = take(&mut f, format!("k{i}"));
        let vals = take(&mut f, format!("v{i}"));
        let mut pairs: Vec<(&[u8], &[u8])> = keys
            .split(|b| *b == 0)
            .zip(vals.split(|b| *b == 0))
            .collect();
        pairs.sort();
        let mut joined = Vec::new();
        for (k, v) in pairs {
            joined.extend_from_slice(k);
            joined.push(0);
            joined.extend_from_slice(v);
            joined.push(0);
        }
        f.push((format!("pairs{i}"), joined));
    }
    f.sort();
    f
}

fn files(out: &Path, tag: &str) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(out)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(&format!("{tag}-"))?.to_string();
            Some((rest, std::fs::read(e.path()).unwrap()))
        })
        .collect();
    v.sort();
    v
}

fn run_case(c: &Case, old_bash: bool) -> Result<(), TestCaseError> {
    let shell = Shell::new("bash", &[]);
    if old_bash {
        shell.dump_as_old_bash();
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let dir = tmp.path().join(std::ffi::OsStr::from_bytes(&c.dir));
    std::fs::create_dir(&dir).unwrap();
    let mut secrets = Secrets::default();
    let mut state = State::default();
    // step 1 sets it all and reports what it set; runbook's directory is tmp
    let cmd = format!(
        "cd {}\n{}{}",
        tmp.path().display(),
        setting(c),
        reporting(c, &out, "one")
    );
    let (o, output, delta) = step(&shell, &mut state, &mut secrets, &cmd);
    prop_assert_eq!(o.status, 0, "{}", String::from_utf8_lossy(&output));
    let one = files(&out, "one");
    prop_assert_eq!(
        one.iter().find(|(n, _)| n == "pwd").map(|(_, v)| v.clone()),
        Some(dir.as_os_str().as_bytes().to_vec())
    );
    // the values bash's declarations decode to (secrets are found that way)
    let file = |n: String| {
        one.iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    for (i, v) in c.vars.iter().enumerate() {
        let line = file(format!("d{i}"));
        let expected: Vec<Vec<u8>> = match v {
            Var::Scalar { value, .. } => vec![value.clone()],
            Var::Indexed(e) if e.is_empty() => vec![],
            Var::Assoc(e) if e.is_empty() => vec![],
            _ => {
                let mut parts: Vec<Vec<u8>> = file(format!("v{i}"))
                    .split(|b| *b == 0)
                    .map(|p| p.to_vec())
                    .collect();
                parts.pop(); // after the last NUL
                parts
            }
        };
        prop_assert_eq!(
            secret_values(&line),
            expected,
            "{}",
            String::from_utf8_lossy(&line)
        );
    }
    // step 2 sees exactly that
    let (o, output, _) = step(&shell, &mut state, &mut secrets, &reporting(c, &out, "two"));
    prop_assert_eq!(o.status, 0, "{}", String::from_utf8_lossy(&output));
    let one_seen = seen(c, &out, "one");
    prop_assert_eq!(&one_seen, &seen(c, &out, "two"));
    // and so does a resume, from the snapshot file
    let written = delta.to_bytes("step 1");
    let back = Delta::parse(&written);
    prop_assert_eq!(&back, &delta);
    let mut resumed = State::from_deltas([&back]);
    let (o, output, _) = step(
        &shell,
        &mut resumed,
        &mut secrets,
        &reporting(c, &out, "three"),
    );
    prop_assert_eq!(o.status, 0, "{}", String::from_utf8_lossy(&output));
    prop_assert_eq!(&one_seen, &seen(c, &out, "three"));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn what_a_step_leaves_is_what_the_next_one_sees(c in case()) {
        run_case(&c, false)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    /// The way a bash older than 4.4 is read (each declaration ended by NUL).
    #[test]
    fn the_same_read_as_from_an_older_bash(c in case()) {
        run_case(&c, true)?;
    }
}
