//! Liquid's tokenizer, as Liquid 5 splits a template.
//!
//! Grammar (what Jekyll's Liquid does, and so what we do):
//! - `{%` … first `%}` is a tag token; `{{` … first `}` (plus one more `}` if it follows) is an
//!   output token. A `{{` or `{%` with no terminator is a lone token and a fatal error.
//! - Everything else is text. Text can contain anything, `${#arr[@]}` and `{print $1}` included:
//!   only `{{` and `{%` are special.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Text,
    /// `{% ... %}` (or a lone `{%`)
    Tag,
    /// `{{ ... }}` (or an incomplete `{{ ... }` / lone `{{`)
    Output,
    /// One line of a `{% liquid %}` tag: a tag without delimiters (`assign x = 1`).
    Line,
}

#[derive(Debug, Clone, Copy)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

pub fn tokenize(src: &str) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while let Some(rel) = memchr(b'{', &b[i..]) {
        let at = i + rel;
        let kind = match b.get(at + 1) {
            Some(b'%') => TokenKind::Tag,
            Some(b'{') => TokenKind::Output,
            _ => {
                i = at + 1;
                continue;
            }
        };
        let end = match kind {
            TokenKind::Tag => find(b, at + 2, b"%}").map(|e| e + 2),
            _ => memchr(b'}', &b[at + 2..]).map(|e| {
                let e = at + 2 + e + 1;
                if b.get(e) == Some(&b'}') { e + 1 } else { e }
            }),
        }
        .unwrap_or(at + 2);
        if at > text_start {
            out.push(Token {
                kind: TokenKind::Text,
                start: text_start,
                end: at,
            });
        }
        out.push(Token {
            kind,
            start: at,
            end,
        });
        i = end;
        text_start = end;
    }
    if text_start < b.len() {
        out.push(Token {
            kind: TokenKind::Text,
            start: text_start,
            end: b.len(),
        });
    }
    out
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&c| c == needle)
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(TokenKind, &str)> {
        tokenize(src)
            .into_iter()
            .map(|t| (t.kind, &src[t.start..t.end]))
            .collect()
    }

    #[test]
    fn splits_like_liquid() {
        use TokenKind::*;
        assert_eq!(
            kinds("a {{ x }} b {% if y %}c{% endif %}"),
            vec![
                (Text, "a "),
                (Output, "{{ x }}"),
                (Text, " b "),
                (Tag, "{% if y %}"),
                (Text, "c"),
                (Tag, "{% endif %}")
            ]
        );
        // `{{ "a}b" }}` ends at the first `}`, as in Liquid
        assert_eq!(kinds("{{ \"a}b\" }}")[0], (Output, "{{ \"a}"));
        // bash that looks like templates is text
        assert_eq!(
            kinds("echo ${#arr[@]} | awk '{print $1}'"),
            vec![(Text, "echo ${#arr[@]} | awk '{print $1}'")]
        );
        assert_eq!(
            kinds("x {% y"),
            vec![(Text, "x "), (Tag, "{%"), (Text, " y")]
        );
    }
}
