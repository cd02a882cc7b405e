//! GitHub Actions workflow commands: one `::error file=F,line=L,col=C,endLine=L,endColumn=E,
//! title=RULE::message` line per problem (`::warning`, `::notice` for those that do not fail
//! the check), so each shows on its line of the pull request. Paths are relative to the
//! repository root (the workspace GitHub checks out); values are escaped as the runner reads
//! them (`%`, CR, LF in the message; also `:` and `,` in properties).

use super::Report;

pub fn write(report: &Report) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = super::repository_root(&cwd);
    let mut out = String::new();
    for p in &report.problems {
        let command = match p.level() {
            "error" => "error",
            "warning" => "warning",
            _ => "notice",
        };
        let mut props = Vec::new();
        if let Some((path, line, col, end)) = p.span() {
            let rel = path.strip_prefix(&root).unwrap_or(&path);
            props.push(format!("file={}", property(&rel.to_string_lossy())));
            props.push(format!("line={line}"));
            props.push(format!("col={col}"));
            props.push(format!("endLine={line}"));
            props.push(format!("endColumn={end}"));
        }
        props.push(format!("title={}", property(p.diag.code)));
        let mut message = p.diag.message.clone();
        if let Some(h) = &p.diag.hint {
            message.push_str(&format!("\nhelp: {h}"));
        }
        out.push_str(&format!(
            "::{command} {}::{}\n",
            props.join(","),
            data(&message)
        ));
    }
    out
}

/// A command's message: `%`, CR and LF escaped.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A command's property value: as [`data`], and `:` and `,` too.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_runner() {
        assert_eq!(data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
