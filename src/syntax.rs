//! Does a step's command parse? `bash -n` says, without running anything.
//!
//! `check` and `run --dry-run` ask bash to read each runnable step's command with `-n`
//! (read commands but do not execute them), `--norc --noprofile`, `BASH_ENV` and `ENV`
//! removed from its environment, the command on its standard input. Bash parses and stops:
//! nothing in the command runs, no file is read or written by it. Placeholders are filled
//! with a plain word first (`<X>` unfilled is a redirection to bash, and a `<X>` at the end
//! of a line a syntax error), so only the page's own shell text is judged.
//!
//! One bash reads many steps at once: the steps whose text the shared lexer
//! ([`crate::shell`]) sees end at a command boundary (no open quote, heredoc, `$(`, compound
//! command or trailing `|`) are joined, and a batch that bash refuses is split in halves
//! until each refused step stands alone; a step that does not end at a boundary is read
//! alone. A page whose steps all parse costs one bash.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::runbook::Step;
use crate::shell;

/// A step bash refuses to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Position of the step in the slice given to [`check`].
    pub step: usize,
    /// The page line bash names (through [`Step::code_lines`]).
    pub line: usize,
    /// Bash's message, without its `bash: line N: ` prefix.
    pub message: String,
}

/// The step's command as bash -n reads it: placeholders filled with a plain word.
pub fn filled(step: &Step) -> String {
    let lexed = shell::lex(&step.code);
    let mut text = step.code.clone();
    let mut spots: Vec<(usize, usize)> = lexed
        .placeholders
        .iter()
        .map(|p| (p.start, p.end))
        .collect();
    spots.sort_unstable();
    for (start, end) in spots.into_iter().rev() {
        if text.is_char_boundary(start) && text.is_char_boundary(end) && start < end {
            text.replace_range(start..end, "PLACEHOLDER");
        }
    }
    text
}

/// The steps of `steps` that bash refuses, each with the page line of its first error. None
/// when bash cannot be started (nothing is said then: a missing bash is the run's problem).
pub fn check(steps: &[&Step]) -> Option<Vec<SyntaxError>> {
    let texts: Vec<String> = steps.iter().map(|s| filled(s)).collect();
    let mut batch = Vec::new();
    let mut alone = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        if ends_clean(t) {
            batch.push(i);
        } else {
            alone.push(i);
        }
    }
    let mut refused = Vec::new();
    split(&texts, &batch, &mut refused)?;
    for i in alone {
        split(&texts, &[i], &mut refused)?;
    }
    refused.sort_unstable_by_key(|(i, _, _)| *i);
    Some(
        refused
            .into_iter()
            .map(|(i, n, message)| {
                let lines = &steps[i].code_lines;
                let line = lines
                    .get(n.saturating_sub(1).min(lines.len().saturating_sub(1)))
                    .copied()
                    .unwrap_or(steps[i].lines.0);
                SyntaxError {
                    step: i,
                    line,
                    message,
                }
            })
            .collect(),
    )
}

/// Whether `shell` (a name or path) is bash, whose `-n` these checks use.
pub fn is_bash(shell: &str) -> bool {
    std::path::Path::new(shell)
        .file_name()
        .is_some_and(|n| n == "bash")
}

/// A `shell-syntax` error for each of `steps` that bash refuses, at the page line it names.
pub fn diagnostics(
    file: &std::sync::Arc<crate::source::SourceFile>,
    steps: &[&Step],
) -> Vec<crate::error::Diagnostic> {
    let Some(errors) = check(steps) else {
        return Vec::new();
    };
    errors
        .into_iter()
        .map(|e| {
            let step = steps[e.step];
            crate::error::Diagnostic::error(
                "shell-syntax",
                format!(
                    "step {} does not parse as bash: {}",
                    step.id,
                    crate::shell::display(&e.message)
                ),
            )
            .at(file, file.line_start(e.line))
            .hint(
                "`bash -n` (it parses, runs nothing) refuses the command as runbook reads it: \
                 program output or a file's content taken for a command? mark the block \
                 {runbook=skip}, or fix the command",
            )
        })
        .collect()
}

/// The text ends where a new command could start.
fn ends_clean(text: &str) -> bool {
    let mut lx = shell::Lexer::default();
    let mut at = 0;
    for piece in text.split_inclusive('\n') {
        let line = piece.strip_suffix('\n').unwrap_or(piece);
        lx.line(line, at);
        at += piece.len();
    }
    !lx.waiting()
}

/// Parse the steps `which` of `texts` together; a refused batch is split in two until each
/// refused step is found alone: (step, 1-based line in it, message).
fn split(
    texts: &[String],
    which: &[usize],
    refused: &mut Vec<(usize, usize, String)>,
) -> Option<()> {
    if which.is_empty() {
        return Some(());
    }
    let joined: String = which
        .iter()
        .map(|&i| {
            let t = &texts[i];
            if t.ends_with('\n') {
                t.clone()
            } else {
                format!("{t}\n")
            }
        })
        .collect();
    let Some(err) = bash_n(&joined)? else {
        return Some(());
    };
    if let [one] = which {
        refused.push((*one, err.0, err.1));
        return Some(());
    }
    let (a, b) = which.split_at(which.len() / 2);
    split(texts, a, refused)?;
    split(texts, b, refused)
}

/// `bash -n` on `script`: None when bash cannot be started, Some(None) when it parses, else
/// the first error's line and message.
#[allow(clippy::option_option)]
fn bash_n(script: &str) -> Option<Option<(usize, String)>> {
    let mut child = Command::new("bash")
        .args(["--norc", "--noprofile", "-n"])
        .env_remove("BASH_ENV")
        .env_remove("ENV")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    // bash reads all of it or stops at an error; a closed pipe is not a problem
    let writer = {
        let script = script.to_string();
        std::thread::spawn(move || {
            let _ = stdin.write_all(script.as_bytes());
        })
    };
    let out = child.wait_with_output().ok()?;
    let _ = writer.join();
    if out.status.success() {
        return Some(None);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or("").to_string();
    // bash: line 3: syntax error near unexpected token `fi'
    let rest = first.strip_prefix("bash: ").unwrap_or(&first);
    let (line, message) = match rest
        .strip_prefix("line ")
        .and_then(|r| r.split_once(": "))
        .and_then(|(n, m)| Some((n.parse::<usize>().ok()?, m.to_string())))
    {
        Some((n, m)) => (n, m),
        None => (1, rest.to_string()),
    };
    Some(Some((line, message)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::{ModelOptions, build};

    fn errors(md: &str) -> Vec<(String, usize, String)> {
        let rb = build(md, &ModelOptions::default());
        let steps: Vec<&Step> = rb.steps().filter(|s| s.runnable).collect();
        check(&steps)
            .expect("bash")
            .into_iter()
            .map(|e| (steps[e.step].id.clone(), e.line, e.message))
            .collect()
    }

    #[test]
    fn bash_n_finds_the_steps_it_refuses_at_their_lines() {
        let md = "# A\n\n```bash\nls\n```\n\n```bash\necho ok\nif true; then\n  echo x\nfi fi\n```\n\n```bash\ncp <src> <dest>\nssh <host>\n```\n\n```bash\necho 'open\n```\n\n```bash\nfor f in *; do\n```\n\n```bash\ndate\n```\n";
        let got = errors(md);
        let ids: Vec<&str> = got.iter().map(|(id, _, _)| id.as_str()).collect();
        assert_eq!(ids, ["a-2", "a-4", "a-5"], "{got:?}");
        // `fi fi` on the block's 4th line: page line 11
        assert_eq!(got[0].1, 11, "{got:?}");
        assert!(got[0].2.contains("syntax error"), "{got:?}");
    }

    #[test]
    fn nothing_runs() {
        let dir = std::env::temp_dir().join(format!("rb-syntax-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let canary = dir.join("canary");
        let md = format!(
            "```bash\ntouch {0}\necho $(touch {0})\n```\n\n```bash\ntouch {0}; fi\n```\n",
            canary.display()
        );
        let got = errors(&md);
        assert_eq!(got.len(), 1);
        assert!(!canary.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
