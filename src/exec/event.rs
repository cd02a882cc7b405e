//! What happens in a run, as typed events: written to the journal as JSON lines (the
//! serialised form of [`Event`], with the time), read back by a resume, and handed to every
//! [`Reporter`] (terminal, journal, transcript) as ripgrep's searcher hands matches to its
//! printers. The execution decides; a reporter only records or shows.
//!
//! The JSON form: one object per line, `"event"` naming the kind in kebab case
//! (`run-start`, `step-start`, `step-end`, `step`, `manual`, `run-resume`, `run-end`), the
//! fields below in snake case, and `"time"` (UTC, RFC 3339).

use serde::{Deserialize, Serialize};

/// How a run started: what a resume needs to go on the same way, and who ran what, where.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    pub run: String,
    /// The page, as an absolute path.
    pub page: String,
    pub page_hash: String,
    pub shell: String,
    #[serde(default)]
    pub lax: bool,
    #[serde(default)]
    pub keep_going: bool,
    /// `--timeout`, in seconds.
    #[serde(default)]
    pub timeout: Option<f64>,
    #[serde(default)]
    pub selection: Selection,
    /// The planned steps and a hash of each one's command, to tell a changed page.
    #[serde(default)]
    pub steps: Vec<StepRef>,
    /// Who ran it (the OS user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Where (this machine's host name). In the journal `machine`: `host` is the tag of a
    /// line of a run on several hosts (see [`Record`]).
    #[serde(default, rename = "machine", skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The host the steps ran on (`--on`), when not this machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    /// A run on several hosts (a fleet): each host in order. Each one's steps run in a run
    /// of its own under `hosts/` (see `exec::fleet`), whose events this journal repeats,
    /// tagged with the host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// A fleet's `--parallel` and `--max-fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fail: Option<usize>,
    /// The inventory `on` was looked up in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<String>,
    /// The ssh configuration file given with `--ssh-config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_config: Option<String>,
    /// runbook's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The page's revision, when it is in a git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<Revision>,
    /// The placeholder values (secret ones masked).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub values: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    #[serde(default)]
    pub sections: Vec<String>,
    #[serde(default)]
    pub steps: Vec<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRef {
    pub id: String,
    pub hash: String,
}

/// A page's git revision: the commit, and whether the page differs from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub commit: String,
    pub dirty: bool,
}

/// What the operator decided for a step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    #[default]
    Run,
    Skip,
    Quit,
    /// A manual step the operator says is done.
    Done,
    /// A manual step passed by `--yes`: shown, not confirmed by anyone.
    NotConfirmed,
}

/// A step's execution ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepEnd {
    pub id: String,
    /// The command as it ran (secrets masked).
    pub command: String,
    /// The command as the page gave it, when the operator edited it (secrets masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_command: Option<String>,
    #[serde(default)]
    pub decision: Decision,
    pub start: String,
    pub end: String,
    /// How long the step ran, in seconds.
    #[serde(default)]
    pub elapsed: f64,
    pub status: i32,
    #[serde(default)]
    pub signal: Option<i32>,
    #[serde(default)]
    pub interrupted: bool,
    #[serde(default)]
    pub timed_out: bool,
    #[serde(default)]
    pub leftovers_stopped: usize,
    #[serde(default)]
    pub output_bytes: usize,
    /// Secret variables the state held after the step (names only: their values were never
    /// written).
    #[serde(default)]
    pub secret_names: Vec<String>,
    /// The step's state could not be given to it (its directory is gone): it did not run.
    #[serde(default, rename = "error", skip_serializing_if = "Option::is_none")]
    pub state_error: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Ok,
    Failed,
    Quit,
    Interrupted,
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Quit => "quit",
            Outcome::Interrupted => "interrupted",
            Outcome::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    RunStart(Box<RunStart>),
    RunResume {
        from: String,
    },
    /// A step that was not run: skipped, or the run quit at it.
    Step {
        id: String,
        decision: Decision,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<String>,
    },
    StepStart {
        id: String,
        command: String,
        decision: Decision,
        attempt: u32,
        /// The marker in the environment of every process of this execution.
        token: String,
    },
    StepEnd(Box<StepEnd>),
    /// A manual step: what the operator was asked to do, and what they said.
    Manual {
        id: String,
        text: String,
        decision: Decision,
    },
    RunEnd {
        result: Outcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

impl Event {
    /// The step the event is about, if any.
    pub fn step_id(&self) -> Option<&str> {
        match self {
            Event::Step { id, .. } | Event::StepStart { id, .. } | Event::Manual { id, .. } => {
                Some(id)
            }
            Event::StepEnd(e) => Some(&e.id),
            _ => None,
        }
    }
}

/// A journal line: an event and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(flatten)]
    pub event: Event,
    #[serde(default)]
    pub time: String,
    /// The host the event happened on, in a run on several hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A journal line to write: the event, borrowed.
#[derive(Serialize)]
pub struct RecordRef<'a> {
    #[serde(flatten)]
    pub event: &'a Event,
    pub time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<&'a str>,
}

/// The records of a journal's bytes, and whether a line was cut off (runbook killed while
/// writing it) or unreadable; never fails, whatever the bytes.
pub fn parse(bytes: &[u8]) -> (Vec<Record>, bool) {
    let mut records = Vec::new();
    let mut cut = false;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Record>(line) {
            Ok(r) if line.ends_with(b"\n") => records.push(r),
            _ => cut = true,
        }
    }
    (records, cut)
}

/// Where the events of a run go: the journal, the transcript, the terminal.
pub trait Reporter {
    /// An event of the run.
    fn event(&mut self, event: &Event) -> crate::error::Result<()>;
    /// Output of the running step, as it comes (secrets already masked), and the stream it
    /// came on.
    fn output(&mut self, _stream: super::shell::Stream, _data: &[u8]) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_line_loses_only_itself() {
        let good = "{\"event\":\"run-resume\",\"from\":\"a\",\"time\":\"t\"}\n";
        let mut bytes = format!("{good}{{\"event\":\"run-end\"\n{good}[1]\n").into_bytes();
        bytes.extend_from_slice(b"\xff\n{\"event\":\"nope\"}\n");
        let (records, cut) = parse(&bytes);
        assert_eq!(records.len(), 2);
        assert!(cut);
        let (records, cut) = parse(format!("{good}{{\"event\":\"run-end\",\"res").as_bytes());
        assert_eq!(records.len(), 1);
        assert!(cut);
    }

    #[test]
    fn events_round_trip_and_keep_the_journal_format() {
        let end = Event::StepEnd(Box::new(StepEnd {
            id: "s-1".into(),
            command: "ls".into(),
            status: 3,
            ..StepEnd::default()
        }));
        let json = serde_json::to_value(&end).unwrap();
        assert_eq!(json["event"], "step-end");
        assert_eq!(json["status"], 3);
        assert!(json.get("page_command").is_none());
        let line = format!(
            "{}\n",
            serde_json::to_string(&Record {
                event: end.clone(),
                time: "t".into(),
                host: None,
            })
            .unwrap()
        );
        let (records, cut) = parse(format!("{line}{{\"event\":\"run-end\",\"res").as_bytes());
        assert!(cut);
        assert_eq!(records[0].event, end);
        assert_eq!(records[0].time, "t");
        let (records, cut) =
            parse(b"{\"event\":\"run-end\",\"result\":\"interrupted\",\"time\":\"x\"}\n");
        assert!(!cut);
        assert!(matches!(
            records[0].event,
            Event::RunEnd {
                result: Outcome::Interrupted,
                ..
            }
        ));
    }
}
