//! Writing a value so that, placed at a spot of a command, bash reads it as that literal
//! string and nothing else; and showing a command so that what is on the screen is what runs.

use super::lex::{Context, Placeholder, Quoting, lex};
use std::borrow::Cow;

/// Quote `value` for bash so that it is one word whatever it holds: bare when it is made only
/// of characters no context gives a meaning (letters, digits, `- _ . / : @ + ,`), else in
/// single quotes.
pub fn shell_quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@+,".contains(c))
    {
        return value.to_string();
    }
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Characters a value may hold where bash parses the text a second time (`eval`, `ssh`,
/// `sh -c`): none of them means anything to a shell, at any depth.
fn reparse_safe(value: &str) -> bool {
    !value.is_empty()
        && !value.starts_with('-')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:@%+,-".contains(c))
}

/// Backslash before each of `chars` in `value`.
fn escape(value: &str, chars: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if chars.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `value` for the inside of `"..."`. Inside a `${...}` bash sees `<(` and `>(` as process
/// substitutions even in double quotes, so they are split by an empty `""` (harmless
/// elsewhere).
fn in_double(value: &str) -> String {
    escape(value, "\\\"$`")
        .replace("<(", "<\"\"(")
        .replace(">(", ">\"\"(")
}

/// A value refused for its spot, and why (shown to the operator with the spot's location).
pub type Refusal = String;

/// `value` written for `ctx`: bash reads it back as exactly `value`, and runs nothing of it.
/// Refused where no quoting can make it data: a non-number in arithmetic, a value with shell
/// syntax where the text is parsed twice, a heredoc line that would end the heredoc.
pub fn quote(value: &str, ctx: &Context) -> Result<String, Refusal> {
    if let Some(by) = &ctx.reparsed_by
        && !reparse_safe(value)
    {
        return Err(format!(
            "`{by}` parses this text as shell code again, so the value may hold only letters, digits and `_ . / : @ % + , -` (not first), and no quoting can make other characters safe there"
        ));
    }
    let q = match &ctx.quoting {
        Quoting::Plain => shell_quote(value),
        Quoting::Single => value.replace('\'', r"'\''"),
        Quoting::AnsiC => escape(value, "\\'"),
        Quoting::Double => in_double(value),
        Quoting::ParamWord { double: false } | Quoting::ParamReplace { double: false } => {
            shell_quote(value)
        }
        // always quoted: a bare `/`, `#` or `%` at the start of a pattern is an operator
        Quoting::ParamPattern { double: false } => format!("'{}'", value.replace('\'', r"'\''")),
        // inside `"${...}"` a nested double-quoted string is literal in every part (a `'`
        // or `}` alone breaks bash's parse there, `\'` keeps its backslash, `&` in a
        // replacement is the match unless quoted); bash still sees `<(` and `>(` there as
        // process substitutions, so they are split by an empty `""`
        Quoting::ParamWord { double: true }
        | Quoting::ParamPattern { double: true }
        | Quoting::ParamReplace { double: true } => format!("\"{}\"", in_double(value)),
        Quoting::Arith => {
            let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
            // a leading 0 would be octal, more than 18 digits would overflow
            if digits.is_empty()
                || digits.len() > 18
                || (digits.len() > 1 && digits.starts_with('0'))
                || !digits.chars().all(|c| c.is_ascii_digit())
            {
                return Err(
                    "it sits in arithmetic, which bash evaluates (an expression there can run commands), so the value must be a whole number (decimal, no leading 0)"
                        .into(),
                );
            }
            value.to_string()
        }
        Quoting::Name => {
            let b = value.as_bytes();
            if b.is_empty()
                || b[0].is_ascii_digit()
                || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                return Err(
                    "it is where a command takes a variable's name, and bash evaluates a subscript there (`a[$(cmd)]` runs cmd), so the value must be a name (letters, digits, `_`)"
                        .into(),
                );
            }
            value.to_string()
        }
        Quoting::Heredoc {
            quoted,
            delim,
            strip_tabs,
        } => {
            for line in value.split('\n') {
                let t = if *strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                // bash ends a heredoc inside `$(...)` at a line that only starts with the
                // delimiter (`EOF)`), so any such line is refused
                if t.starts_with(delim.as_str()) {
                    return Err(format!(
                        "it sits in a heredoc ending at a line `{delim}`, and a line of the value starts with `{delim}`: the heredoc would end there and the rest run as commands"
                    ));
                }
                if *strip_tabs && line.starts_with('\t') {
                    return Err(
                        "it sits in a `<<-` heredoc, which removes the tabs that start the value's lines"
                            .into(),
                    );
                }
            }
            if *quoted {
                value.to_string()
            } else {
                escape(value, "\\$`")
            }
        }
    };
    // each level of backquotes unescapes `\\`, `` \` `` and `\$` once before parsing
    let mut q = q;
    for _ in 0..ctx.backticks {
        q = escape(&q, "\\`$");
    }
    Ok(q)
}

/// A command with placeholder values filled in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filled {
    pub text: String,
    /// Placeholders left as they are: no value.
    pub missing: Vec<Placeholder>,
    /// Placeholders whose value cannot be placed where they sit, and why.
    pub refused: Vec<(Placeholder, Refusal)>,
}

/// Fill the placeholders of `code` for which `value` gives a value, each written for its
/// context ([`quote`]).
pub fn fill(code: &str, value: impl Fn(&Placeholder) -> Option<String>) -> Filled {
    let lexed = lex(code);
    let mut out = Filled {
        text: String::with_capacity(code.len()),
        ..Filled::default()
    };
    let mut last = 0;
    for p in lexed.placeholders {
        let Some(v) = value(&p) else {
            out.missing.push(p);
            continue;
        };
        match quote(&v, &p.context) {
            Ok(q) => {
                out.text.push_str(&code[last..p.start]);
                out.text.push_str(&q);
                last = p.end;
            }
            Err(why) => out.refused.push((p, why)),
        }
    }
    out.text.push_str(&code[last..]);
    out
}

/// Whether `c` changes what a terminal shows without being seen: C0 controls but tab and
/// newline, DEL, C1 controls, and the Unicode bidirectional overrides and isolates.
pub fn invisible(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether a text holds characters [`display`] would make visible.
pub fn has_control(text: &str) -> bool {
    // an ASCII byte decides alone (a byte loop the compiler vectorises); only a text with
    // other characters is also read character by character
    let ascii_control = |b: &u8| (*b < 0x20 && *b != b'\n' && *b != b'\t') || *b == 0x7f;
    text.as_bytes().iter().any(ascii_control) || (!text.is_ascii() && text.chars().any(invisible))
}

/// `text` with every control character shown as an escape (`\e`, `\r`, `\b`, `\x07`,
/// `\u{202e}`), so what is on the screen is what runs; newlines and tabs stay.
pub fn display(text: &str) -> Cow<'_, str> {
    if !has_control(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !invisible(c) {
            out.push(c);
            continue;
        }
        match c {
            '\u{1b}' => out.push_str("\\e"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte scan finds what reading characters finds, for every character, alone and
    /// between ASCII letters.
    #[test]
    fn has_control_is_any_invisible_character() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let alone = c.to_string();
            let between = format!("a{c}b");
            assert_eq!(has_control(&alone), invisible(c), "{c:?}");
            assert_eq!(has_control(&between), invisible(c), "{c:?}");
        }
    }

    #[test]
    fn quoting_by_context() {
        assert_eq!(shell_quote("abc-1"), "abc-1");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("a=b"), "'a=b'");
        assert_eq!(shell_quote(""), "''");
        let f = fill("echo \"x <aa>\" 'y <bb>' <c> `d <e>`", |p| {
            Some(format!("{}$'`\"", p.name))
        });
        assert_eq!(
            f.text,
            r#"echo "x aa\$'\`\"" 'y bb$'\''`"' 'c$'\''`"' `d 'e\$'\\''\`"'`"#
        );
    }

    #[test]
    fn refusals() {
        let f = fill("echo $(( <n> + 1 ))\neval \"echo <m>\"\n", |p| {
            Some(if p.name == "n" { "1+1" } else { "a b" }.to_string())
        });
        assert_eq!(f.refused.len(), 2);
        let f = fill("echo $(( <n> + 1 ))\neval \"echo <m>\"\n", |p| {
            Some(
                if p.name == "n" {
                    "-12"
                } else {
                    "host-1.cern.ch"
                }
                .to_string(),
            )
        });
        assert_eq!(
            f.text,
            "echo $(( -12 + 1 ))\neval \"echo host-1.cern.ch\"\n"
        );
        let f = fill("cat <<EOF\n<v>\nEOF\n", |_| Some("a\nEOF\ntouch x".into()));
        assert_eq!(f.refused.len(), 1);
    }

    #[test]
    fn display_shows_control_characters() {
        assert_eq!(
            display("touch PWNED; echo ok # \u{1b}[2K\r df -h /"),
            "touch PWNED; echo ok # \\e[2K\\r df -h /"
        );
        assert_eq!(display("a\u{202e}b\u{7f}\u{85}"), "a\\u{202e}b\\x7f\\x85");
        assert!(matches!(display("plain\n\ttext"), Cow::Borrowed(_)));
    }
}
