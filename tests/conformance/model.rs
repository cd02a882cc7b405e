//! The Markdown front end and the runbook model on real pages of the corpus (Jekyll's output
//! for them): the shapes the unit tests check on pages written for them, here where they were
//! first seen.

use crate::read;
use runbook::markdown::{Block, CodeBlock, parse};
use runbook::runbook::{ModelOptions, Step, build};

fn codes(blocks: &[Block]) -> Vec<&CodeBlock> {
    blocks
        .iter()
        .filter_map(|b| match b {
            Block::Code(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn headings(blocks: &[Block]) -> Vec<(u8, &str, &str)> {
    blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading {
                level, text, id, ..
            } => Some((*level, text.as_str(), id.as_str())),
            _ => None,
        })
        .collect()
}

fn names(step: &Step) -> Vec<&str> {
    step.placeholders.iter().map(|p| p.name.as_str()).collect()
}

#[test]
fn ial_after_heading_sets_id_on_real_page() {
    let src = read("golden/alisw+alisw.github.io@b32e9a6d/infrastructure-mesos.markdown");
    let blocks = parse(&src);
    let hs = headings(&blocks);
    assert!(hs.contains(&(2, "Creating a master", "create-master")));
    assert!(hs.contains(&(
        2,
        "Getting access to the OpenStack / Puppet infrastructure",
        "setup"
    )));
    // The IAL line is not prose.
    assert!(
        !blocks
            .iter()
            .any(|b| matches!(b, Block::Prose { text, .. } if text.contains("{:")))
    );
    // Fenced blocks inside list items keep their language.
    let cs = codes(&blocks);
    let eval = cs
        .iter()
        .find(|c| c.text == "eval $(ai-rc \"ALICE Release Testing\")\n")
        .unwrap();
    assert_eq!(eval.lang.as_deref(), Some("bash"));
    assert!(eval.fenced);
}

#[test]
fn ial_language_on_hpc_carpentry_page() {
    let src = read("golden/hpc-carpentry+hpc-intro/_episodes/12-cluster.md");
    let blocks = parse(&src);
    let cs = codes(&blocks);
    // `> {: .language-bash}` after a fence inside a block quote.
    let sinfo = cs
        .iter()
        .find(|c| c.text.contains("sinfo -n aci-377"))
        .unwrap();
    assert_eq!(sinfo.lang.as_deref(), Some("bash"));
    assert_eq!(sinfo.attrs.classes, vec!["language-bash".to_string()]);
    assert_eq!(sinfo.info, "");
    let src = read("golden/hpc-carpentry+hpc-intro/_episodes/13-scheduler.md");
    let cs = codes(&parse(&src)).into_iter().cloned().collect::<Vec<_>>();
    let nano = cs
        .iter()
        .find(|c| c.text.contains("nano example-job.sh"))
        .unwrap();
    assert_eq!(nano.lang.as_deref(), Some("bash"));
    let out = cs
        .iter()
        .find(|c| c.text == "Submitted batch job 36855\n")
        .unwrap();
    assert_eq!(out.lang.as_deref(), Some("output"));
    // Doubly nested block quote.
    let sol = cs
        .iter()
        .find(|c| c.text == "[yourUsername@gra-login1 ~]$ ./example-job.sh\n")
        .unwrap();
    assert_eq!(sol.lang.as_deref(), Some("bash"));
    // Every fenced block of the lesson is followed by a language IAL,
    // except one whose IAL is malformed in the page (`> > : .bash}`).
    let unlabelled = cs.iter().filter(|c| c.lang.is_none()).collect::<Vec<_>>();
    assert_eq!(unlabelled.len(), 1, "{unlabelled:#?}");
    assert_eq!(
        unlabelled[0].text,
        "[yourUsername@gra-login1 ~]$ man sbatch\n"
    );
    // The `<figure>` element is raw HTML for kramdown, blank lines included:
    // its indented `<a href="">` line is not a code block.
    assert!(!cs.iter().any(|c| c.text.contains("<a href")));
    assert!(cs.len() > 20);
}

#[test]
fn real_comment_in_nomad_page_hides_nothing_else() {
    let src = read("golden/alisw+alisw.github.io@567f5cfb/infrastructure-nomad.md");
    let blocks = parse(&src);
    let cs = codes(&blocks);
    let hcl = cs
        .iter()
        .find(|c| c.lang.as_deref() == Some("hcl") && c.text.contains("with secret"))
        .unwrap();
    assert!(
        hcl.text
            .contains("{{ with secret \"kv/data/my-secret-name\" }}")
    );
    assert!(cs.iter().any(|c| c.lang.as_deref() == Some("json")));
}

#[test]
fn transcripts_and_output_on_aurora_page() {
    let src = read("golden/alisw+alisw.github.io@b32e9a6d/infrastructure-aurora.markdown");
    let rb = build(&src, &ModelOptions::default());
    // A bash block with a prompt and output.
    let s = rb
        .steps()
        .find(|s| s.raw.starts_with("$ aurora_admin"))
        .unwrap();
    assert_eq!(s.code, "aurora_admin get_cluster_config build\n");
    assert!(s.runnable);
    // Unlabelled indented transcript with indented output lines.
    let s = rb
        .steps()
        .find(|s| s.raw.starts_with("$ aurora job create"))
        .unwrap();
    assert_eq!(
        s.code,
        "aurora job create build/mesostest/devel/hello hello.aurora\n"
    );
    assert!(s.runnable, "{}", s.why);
    assert_eq!(
        s.why,
        "no language; 1 of 1 commands after a prompt read as shell"
    );
    // Program output in an unlabelled block is not runnable, but its placeholder is listed.
    let s = rb
        .steps()
        .find(|s| s.raw.starts_with("Credentials cache"))
        .unwrap();
    assert!(!s.runnable);
    assert!(
        s.why.contains("line 75 looks like `key: value`"),
        "{}",
        s.why
    );
    assert_eq!(names(s), vec!["your-cern-user-name"]);
    // A file path alone is not a command.
    let s = rb
        .steps()
        .find(|s| s.raw == "ali-marathon/aurora/hello.aurora\n")
        .unwrap();
    assert!(!s.runnable);
    let json = rb
        .steps()
        .find(|s| s.lang.as_deref() == Some("json"))
        .unwrap();
    assert!(!json.runnable);
    assert_eq!(json.why, "language `json` is not shell");
}

#[test]
fn bracket_prompts_on_hpc_carpentry_page() {
    let src = read("golden/hpc-carpentry+hpc-intro/_episodes/13-scheduler.md");
    let rb = build(&src, &ModelOptions::default());
    let s = rb
        .steps()
        .find(|s| s.raw.contains("nano example-job.sh"))
        .unwrap();
    assert_eq!(s.lang.as_deref(), Some("bash"));
    assert!(s.runnable);
    assert_eq!(
        s.code,
        "nano example-job.sh\nchmod +x example-job.sh\ncat example-job.sh\n"
    );
    let out = rb
        .steps()
        .find(|s| s.raw == "Submitted batch job 36855\n")
        .unwrap();
    assert!(!out.runnable);
    assert_eq!(out.why, "language `output` is not shell");
    // Every `.bash` block runs; no `.output` block does.
    assert!(
        rb.steps()
            .filter(|s| s.lang.as_deref() == Some("bash"))
            .all(|s| s.runnable)
    );
    assert!(
        rb.steps()
            .filter(|s| s.lang.as_deref() == Some("output"))
            .all(|s| !s.runnable)
    );
    // The script body `#!/bin/bash ... echo` in an `.output` block is not a step to run.
    let script = rb
        .steps()
        .find(|s| s.raw.starts_with("#!/bin/bash"))
        .unwrap();
    assert!(!script.runnable);
}

#[test]
fn heredoc_bodies_on_nomad_host_page_have_their_placeholders() {
    let src = read("golden/alisw+alisw.github.io@567f5cfb/infrastructure-nomad-host.markdown");
    let rb = build(&src, &ModelOptions::default());
    let s = rb
        .steps()
        .find(|s| {
            s.raw
                .contains("cat << EOF > /etc/apt/sources.list.d/hashicorp.list")
        })
        .unwrap();
    assert!(s.runnable);
    // `# Added <date> by <you>.` is a line of the apt file the heredoc writes
    let names: Vec<&str> = s.placeholders.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["date", "you"]);
}

#[test]
fn callouts_on_hpc_carpentry_page_end_with_their_quote() {
    let src = read("golden/hpc-carpentry+hpc-intro/_episodes/13-scheduler.md");
    let rb = build(&src, &ModelOptions::default());
    let section_of = |line: usize| {
        rb.steps_in_sections()
            .into_iter()
            .find(|(_, st)| st.lines.0 == line)
            .map(|(s, st)| (s.id.clone(), st.code.clone()))
            .unwrap()
    };
    // inside `> ## Creating our test job` / `> > ## Solution`
    assert_eq!(
        section_of(110),
        ("solution".into(), "./example-job.sh\n".into())
    );
    // after the callout, the reader is back in "Running a batch job"
    assert_eq!(
        section_of(127),
        (
            "running-a-batch-job".into(),
            "sbatch  example-job.sh\n".into()
        )
    );
    // after `> ## Job environment variables`, back in "Resource requests"
    assert_eq!(section_of(347).0, "resource-requests");
    let solution = rb.section("solution").unwrap();
    assert_eq!(solution.parent.as_deref(), Some("creating-our-test-job"));
    assert_eq!(solution.quote_depth, 2);
    // the job scripts shown with `cat` are output blocks; none is runnable
    assert!(
        rb.steps()
            .filter(|s| s.raw.starts_with("#!/bin/bash"))
            .all(|s| !s.runnable)
    );
}

/// Every section of the corpus that asks for a host (see "Where to run" in the model's
/// documentation), as (page, section, host): these and no other. Each is a recipe that
/// starts "Login to `aiadm.cern.ch`", "SSH to `...`", "On `aiadm.cern.ch` enter ..." or
/// lists `ssh HOST` as its first step; the lessons' "log in to the cluster", "ssh to it",
/// "run `ssh nodename`" (an aside in a paragraph) and "login to [gitlab.cern.ch](...) using
/// your browser" ask for nothing.
#[test]
fn the_hosts_corpus_recipes_ask_for() {
    let golden = crate::corpus().join("golden");
    let mut pages = Vec::new();
    let mut stack = vec![golden.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md" || x == "markdown") {
                pages.push(p);
            }
        }
    }
    pages.sort();
    assert!(pages.len() >= 40, "{} pages", pages.len());
    let mut found = Vec::new();
    for p in &pages {
        let rb = build(
            &std::fs::read_to_string(p).unwrap(),
            &ModelOptions::default(),
        );
        let rel = p
            .strip_prefix(&golden)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for s in &rb.sections {
            if let Some(a) = &s.asks_host {
                found.push(format!(
                    "{rel} #{} {} {}:{}",
                    s.id, a.host, a.line, a.column
                ));
            }
        }
    }
    let expected = [
        "alisw+alisw.github.io/infrastructure-frontend.markdown #starting-the-frontend aiadm.cern.ch 19:13",
        "alisw+alisw.github.io/infrastructure-jenkins.markdown #start-the-jenkins-master aiadm.cern.ch 28:13",
        "alisw+alisw.github.io/infrastructure-mesos.markdown #creating-a-master aiadm.cern.ch 71:13",
        "alisw+alisw.github.io/infrastructure-mesos.markdown #creating-a-slave aiadm.cern.ch 99:13",
        "alisw+alisw.github.io/infrastructure-mesos.markdown #deleting-a-slave aiadm.cern.ch 142:13",
        "alisw+alisw.github.io@567f5cfb/infrastructure-machines.markdown #create-master aiadm.cern.ch 92:13",
        "alisw+alisw.github.io@567f5cfb/infrastructure-machines.markdown #create-agent aiadm.cern.ch 139:13",
        "alisw+alisw.github.io@567f5cfb/infrastructure-machines.markdown #rebuild-master aiadm.cern.ch 228:13",
        "alisw+alisw.github.io@567f5cfb/infrastructure-machines.markdown #rebuild-master-1 aiadm.cern.ch 260:13",
        "alisw+alisw.github.io@567f5cfb/infrastructure-machines.markdown #delete-agent aiadm.cern.ch 298:13",
        "alisw+alisw.github.io@567f5cfb/infrastructure-machines.markdown #reboot-server aiadm.cern.ch 314:13",
        "alisw+alisw.github.io@567f5cfb/infrastructure-publisher.markdown #issue-with-missing-root-libraries cvmfs-alice.cern.ch 30:8",
        "alisw+alisw.github.io@b32e9a6d/infrastructure-alibi-user-guide.markdown #query-work-queues alibi.cern.ch 33:13",
        "alisw+alisw.github.io@b32e9a6d/infrastructure-alibi-user-guide.markdown #query-for-jobs alibi.cern.ch 45:13",
        "alisw+alisw.github.io@b32e9a6d/infrastructure-alibi-user-guide.markdown #requesting-an-interactive-shell-session alibi.cern.ch 57:13",
        "alisw+alisw.github.io@b32e9a6d/infrastructure-alibi.markdown #alibi-head-node aiadm.cern.ch 17:7",
        "alisw+alisw.github.io@b32e9a6d/infrastructure-frontend.markdown #starting-the-frontend aiadm.cern.ch 17:13",
        "alisw+alisw.github.io@b32e9a6d/infrastructure-jenkins.markdown #create-jenkins aiadm.cern.ch 31:13",
        "alisw+alisw.github.io@b32e9a6d/infrastructure-mesos.markdown #create-master aiadm.cern.ch 98:13",
        "alisw+alisw.github.io@b32e9a6d/infrastructure-mesos.markdown #create-agent aiadm.cern.ch 133:13",
        "alisw+alisw.github.io@b32e9a6d/infrastructure-mesos.markdown #rebuild-master aiadm.cern.ch 213:13",
        "alisw+alisw.github.io@b32e9a6d/infrastructure-mesos.markdown #rebuild-master-1 aiadm.cern.ch 247:13",
        "alisw+alisw.github.io@b32e9a6d/infrastructure-mesos.markdown #delete-agent aiadm.cern.ch 288:13",
        "alisw+alisw.github.io@b32e9a6d/infrastructure-mesos.markdown #reboot-server aiadm.cern.ch 304:13",
        "alisw+alisw.github.io@b32e9a6d/infrastructure-publisher.markdown #troubleshooting-alien alimonitor.cern.ch 18:11",
    ];
    assert_eq!(found, expected, "{}", found.join("\n"));
}
