//! The kinds of problem runbook reports, each with a stable rule id: the `code` of every
//! [`Diagnostic`](crate::error::Diagnostic), shown in every output format (`error: ...
//! [undefined-variable]`, JSON's `rule`, GitHub's `title`, SARIF's `ruleId`, JUnit's
//! `type`) and named by `check --deny RULE` / `--allow RULE`. An id, once published, keeps
//! its meaning; a test checks that every id the code reports is listed here.

/// A kind of problem: its id, what it means in a line, and how to fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub summary: &'static str,
    pub help: &'static str,
}

const fn rule(id: &'static str, summary: &'static str, help: &'static str) -> Rule {
    Rule { id, summary, help }
}

/// Every rule, the page's own first, then the site's, then those of a run and an inventory.
pub const RULES: &[Rule] = &[
    rule(
        "liquid-syntax",
        "Liquid that Jekyll cannot parse",
        "Fix the tag or output as the message says: an unclosed `{% if %}`, `{% for %}` or `{{`, a tag Liquid does not know, an expression it cannot read. Jekyll stops on it (or, in lax mode, renders it away).",
    ),
    rule(
        "malformed-tag",
        "A malformed Liquid tag that Jekyll renders as text",
        "Jekyll's lax parser renders a malformed tag (such as `{{site.x }` or `{ site.x }}`) as literal or partial text, which is rarely what the page meant: close it as `{{ site.x }}`.",
    ),
    rule(
        "liquid-error",
        "Liquid that fails while rendering",
        "A filter or tag fails on its input (a division by zero, a filter on the wrong type, a bad argument): fix the value or the expression, as Jekyll would stop on it too.",
    ),
    rule(
        "undefined-variable",
        "A variable the site does not define",
        "Define it in the site config (`_config.yml`), a `_data` file or the page's front matter, or fix its name; Jekyll renders it as empty text.",
    ),
    rule(
        "unknown-filter",
        "A Liquid filter that neither Liquid nor Jekyll has",
        "Fix the filter's name; Jekyll leaves the value unfiltered (lax) or stops (strict).",
    ),
    rule(
        "host-variable",
        "`host.*`, known only when the steps run on an inventory host",
        "Not a problem: `host.*` are the inventory variables of the host a run goes to (`runbook run --on HOST --inventory FILE`).",
    ),
    rule(
        "render-failed",
        "The page or an include cannot be rendered",
        "An include or a layout cannot be read or rendered: check its path under `_includes` and the message.",
    ),
    rule(
        "placeholder-unfilled",
        "A placeholder (`<hostXX>`) to fill at run time",
        "Not a problem by default: the run asks for its value, or give it with `--set 'NAME=VALUE'`. `--deny placeholder-unfilled` makes it fail the check.",
    ),
    rule(
        "shell-syntax",
        "A step that bash cannot parse (`bash -n`)",
        "Fix the command as bash says (an unclosed quote, `do` without `done`, a transcript's prompt left in); nothing is run to find this.",
    ),
    rule(
        "control-character",
        "A control character in a command",
        "An escape sequence or carriage return can hide part of a command on a terminal: remove it from the page, or from the site variable it comes from.",
    ),
    rule(
        "unclosed-fence",
        "A code fence that is never closed",
        "Close the block with a fence of the same character and at least the same length (```` ``` ````); the rest of the page is read as code until then.",
    ),
    rule(
        "invalid-front-matter",
        "Front matter that is not valid YAML",
        "Fix the YAML between the `---` lines as the message says.",
    ),
    rule(
        "unclosed-front-matter",
        "Front matter without its closing `---`",
        "End the front matter with a line `---`; Jekyll reads the page as having none.",
    ),
    rule(
        "invalid-site",
        "The site cannot be loaded",
        "The site's config or folders cannot be read (the message says which and why): until they can, its pages cannot be checked.",
    ),
    rule(
        "invalid-yaml",
        "A site config or data file that is not valid YAML",
        "Fix the YAML as the message says (indentation, a tab, an unclosed quote).",
    ),
    rule(
        "invalid-json",
        "A `_data` JSON file that is not valid JSON",
        "Fix the JSON as the message says.",
    ),
    rule(
        "duplicate-key",
        "A key given twice in one YAML mapping",
        "Remove one of them: the last one wins, silently, in Jekyll.",
    ),
    rule(
        "data-outside-site",
        "A `_data` entry that points outside the site",
        "A symbolic link in `_data` leads outside the site folder; Jekyll does not follow it.",
    ),
    rule(
        "unreadable-data",
        "A `_data` file that cannot be read",
        "Check the file's permissions and encoding.",
    ),
    rule(
        "not-utf8",
        "A file that is not UTF-8 text",
        "Save the file as UTF-8.",
    ),
    rule(
        "binary-file",
        "A binary file where a page was expected",
        "Name a Markdown page, or exclude the file from the site.",
    ),
    rule(
        "unreadable",
        "A file that cannot be read",
        "Check that it exists and that its permissions let you read it.",
    ),
    rule(
        "command-not-found",
        "A step's command that is not on PATH here",
        "Install the command, or run the page where it is (`--on HOST`); the step would fail with status 127.",
    ),
    rule(
        "missing-value",
        "A placeholder without a value when the run cannot ask",
        "Give it with `--set 'NAME=VALUE'`, or run on a terminal to be asked.",
    ),
    rule(
        "unset-input",
        "A variable the selection reads that only an unselected step sets",
        "Select the step that sets it too, or give the value with `--set 'NAME=VALUE'`.",
    ),
    rule(
        "value-refused",
        "A placeholder value that cannot be used where it goes",
        "The value would change the command's meaning there (a quote, a newline, a glob): give another value.",
    ),
    rule(
        "shell-not-found",
        "The shell the page names is not installed",
        "Install it, or choose another with `--shell`.",
    ),
    rule(
        "bad-target",
        "An `--on` target that is neither an inventory host or group nor an ssh destination",
        "Name a host or group of the inventory, or an ssh destination (`host`, `user@host`, `ssh://user@host:port`).",
    ),
    rule(
        "inventory-syntax",
        "An Ansible inventory line that cannot be read",
        "Fix the line as the message says (an unclosed quote, a bad host range, an unknown section type).",
    ),
    rule(
        "inventory-value",
        "An inventory variable runbook cannot use",
        "Fix the value as the message says.",
    ),
    rule(
        "inventory-connection",
        "An inventory connection variable ssh could not use",
        "Fix `ansible_host`, `ansible_port`, `ansible_user` or the key file as the message says.",
    ),
    rule(
        "inventory-loop",
        "Inventory groups that are children of each other",
        "Break the loop in the `:children` sections the message names.",
    ),
    rule(
        "inventory-unsupported",
        "An inventory feature runbook does not read",
        "Dynamic inventories, plugins, vault values and templated connection variables are not read: give a static INI or YAML inventory.",
    ),
    rule(
        "inventory-skipped",
        "Inventory files runbook does not read",
        "`group_vars/` and `host_vars/` beside the inventory are not read: put the variables in the inventory.",
    ),
    rule(
        "empty-inventory",
        "An inventory without hosts",
        "Add hosts to the inventory, or name another file.",
    ),
    rule(
        "undefined-group",
        "A group named only in `:children` or `:vars`",
        "Define the group with its hosts (Ansible refuses such a file).",
    ),
    rule(
        "host-group-name",
        "A host named like a group",
        "Rename the host or the group: `--on NAME` would be ambiguous.",
    ),
];

/// The rule with this id.
pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// The ids of every rule, for a message.
pub fn ids() -> String {
    RULES.iter().map(|r| r.id).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every id the code reports (the first argument of `Diagnostic::error`/`warning`/
    /// `note` and of the Liquid renderer's `problem`/`diagnose`, or a `code:` field) is a rule of the table, and the table has no twice-named
    /// rule.
    #[test]
    fn every_reported_id_is_a_rule() {
        let re = regex_lite::Regex::new(
            r#"\b(?:error|warning|note|problem|diagnose)\(\s*"([a-z0-9-]+)"|code: "([a-z0-9-]+)""#,
        )
        .unwrap();
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        let mut seen = 0;
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("rules.rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    for c in re.captures_iter(&text) {
                        let id = c.get(1).or(c.get(2)).unwrap().as_str();
                        assert!(
                            find(id).is_some(),
                            "{}: `{id}` is not in RULES",
                            p.display()
                        );
                        seen += 1;
                    }
                }
            }
        }
        assert!(seen > 30, "the scan found only {seen} ids");
        for (k, r) in RULES.iter().enumerate() {
            assert!(!RULES[..k].iter().any(|o| o.id == r.id), "{} twice", r.id);
        }
    }
}
