//! Secrets: which variables are secret, and masking their values wherever text is shown or
//! written (terminal, journal, transcript, log).
//!
//! Masking works on bytes (a step's output need not be UTF-8, and a read may end inside a
//! character): [`Masker`] holds back only the tail of a stream that could be the start of a
//! secret, so other output is never delayed or altered. A secret is also looked for as a pty
//! prints it (`\n` as `\r\n`), and each line of a multi-line secret on its own.

/// Variables named like `*PASSWORD*`, `*TOKEN*`, `*SECRET*`, `*KEY*` (any case), or named
/// with `--secret`.
pub fn is_secret_name(name: &str, extra: &[String]) -> bool {
    let up = name.to_ascii_uppercase();
    ["PASSWORD", "TOKEN", "SECRET", "KEY"]
        .iter()
        .any(|p| up.contains(p))
        || extra.iter().any(|e| e == name)
}

pub const MASK: &str = "********";

/// Values shorter than this found by their variable's name are not masked: they would mask
/// ordinary text everywhere. A value given for `--secret` must be at least this long.
pub const MIN_LEN: usize = 4;

/// The secret values known so far; masks them in any text.
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    /// Byte patterns to mask, longest first.
    patterns: Vec<Vec<u8>>,
}

impl Secrets {
    /// Secrets of runbook's own environment (e.g. an operator's `AWS_SECRET_ACCESS_KEY`), also
    /// when names or values are not UTF-8.
    pub fn from_env(extra: &[String]) -> Secrets {
        let mut s = Secrets::default();
        for (k, v) in std::env::vars_os() {
            if is_secret_name(&k.to_string_lossy(), extra) {
                s.add_bytes(v.as_encoded_bytes());
            }
        }
        s
    }

    /// A secret value: masked from now on, with its variants. Returns false when it is too
    /// short to be masked without hiding ordinary output (see [`MIN_LEN`]).
    pub fn add(&mut self, value: &str) -> bool {
        self.add_bytes(value.as_bytes())
    }

    pub fn add_bytes(&mut self, value: &[u8]) -> bool {
        if value.len() < MIN_LEN {
            return value.is_empty();
        }
        self.insert(value.to_vec());
        if value.contains(&b'\n') {
            // a pty prints a newline as CR LF
            let mut crlf = Vec::with_capacity(value.len() + 8);
            for &b in value {
                if b == b'\n' {
                    crlf.push(b'\r');
                }
                crlf.push(b);
            }
            self.insert(crlf);
            // a line of it printed alone (`head -1 key`) is part of the secret too
            for line in value.split(|b| *b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.len() >= MIN_LEN {
                    self.insert(line.to_vec());
                }
            }
        }
        true
    }

    fn insert(&mut self, p: Vec<u8>) {
        if !self.patterns.contains(&p) {
            let at = self.patterns.partition_point(|q| q.len() >= p.len());
            self.patterns.insert(at, p);
        }
    }

    /// Literal values a command assigns to secret-named variables (`export API_TOKEN=abc`,
    /// `DB_PASSWORD="correct horse battery staple"`), known before it runs, so that the
    /// step's own output is masked too. The shell lexer decides where a value ends.
    pub fn add_assigned(&mut self, command: &str, extra: &[String]) {
        for a in crate::shell::lex(command).assigns {
            if is_secret_name(&a.name, extra)
                && let Some(v) = a.value
            {
                self.add(&v);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The secrets that occur in `data`, as (start, end) ranges, leftmost first, longest at
    /// each place, not overlapping.
    fn matches(&self, data: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if self.patterns.is_empty() {
            return out;
        }
        let mut firsts = [false; 256];
        for p in &self.patterns {
            firsts[p[0] as usize] = true;
        }
        let mut i = 0;
        while i < data.len() {
            if firsts[data[i] as usize]
                && let Some(p) = self.patterns.iter().find(|p| data[i..].starts_with(p))
            {
                out.push((i, i + p.len()));
                i += p.len();
                continue;
            }
            i += 1;
        }
        out
    }

    /// Bytes with every secret replaced by [`MASK`]; everything else as it was.
    pub fn mask_bytes(&self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len());
        let mut last = 0;
        for (s, e) in self.matches(data) {
            out.extend_from_slice(&data[last..s]);
            out.extend_from_slice(MASK.as_bytes());
            last = e;
        }
        out.extend_from_slice(&data[last..]);
        out
    }

    pub fn mask(&self, text: &str) -> String {
        if self.patterns.is_empty() {
            return text.to_string();
        }
        // a secret is whole bytes of the text, and MASK is ASCII: the result is UTF-8 unless
        // a secret ended inside a character, which lossy decoding then marks
        String::from_utf8(self.mask_bytes(text.as_bytes()))
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// How many bytes at the end of `data` could be the start of a secret.
    fn prefix_tail(&self, data: &[u8]) -> usize {
        let mut hold = 0;
        for p in &self.patterns {
            let max = (p.len() - 1).min(data.len());
            for k in (hold + 1..=max).rev() {
                if data[data.len() - k..] == p[..k] {
                    hold = k;
                    break;
                }
            }
        }
        hold
    }

    /// The command with each secret replaced by a token (`[[secret 1]]`), and the tokens'
    /// values: what an editor's file may hold.
    pub fn tokenize(&self, text: &str) -> (String, Vec<(String, String)>) {
        let mut out = String::new();
        let mut tokens: Vec<(String, String)> = Vec::new();
        let mut last = 0;
        let bytes = text.as_bytes();
        for (s, e) in self.matches(bytes) {
            let (Some(before), Some(value)) = (text.get(last..s), text.get(s..e)) else {
                continue;
            };
            out.push_str(before);
            let token = match tokens.iter().find(|(_, v)| v == value) {
                Some((t, _)) => t.clone(),
                None => {
                    let t = format!("[[secret {}]]", tokens.len() + 1);
                    tokens.push((t.clone(), value.to_string()));
                    t
                }
            };
            out.push_str(&token);
            last = e;
        }
        out.push_str(&text[last..]);
        (out, tokens)
    }
}

/// Put back the values of [`Secrets::tokenize`]'s tokens.
pub fn detokenize(text: &str, tokens: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (t, v) in tokens {
        out = out.replace(t.as_str(), v);
    }
    out
}

/// Masks a stream (a step's output) as it comes: what may be the start of a secret is held
/// back until the next bytes tell, everything else passes at once.
#[derive(Debug, Default)]
pub struct Masker {
    pending: Vec<u8>,
}

impl Masker {
    /// The part of `pending + data` that can be shown now, masked.
    pub fn push(&mut self, secrets: &Secrets, data: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(data);
        if secrets.is_empty() {
            return std::mem::take(&mut self.pending);
        }
        let buf = &self.pending;
        let mut cut = buf.len() - secrets.prefix_tail(buf);
        let matches = secrets.matches(buf);
        // a secret found across the cut is kept whole
        if let Some(&(s, _)) = matches.iter().find(|(s, e)| *s < cut && *e > cut) {
            cut = s;
        }
        let mut out = Vec::with_capacity(cut + 16);
        let mut last = 0;
        for &(s, e) in matches.iter().filter(|(_, e)| *e <= cut) {
            out.extend_from_slice(&buf[last..s]);
            out.extend_from_slice(MASK.as_bytes());
            last = e;
        }
        out.extend_from_slice(&buf[last..cut]);
        self.pending.drain(..cut);
        out
    }

    /// Whatever is held back, masked: the stream has ended.
    pub fn finish(&mut self, secrets: &Secrets) -> Vec<u8> {
        secrets.mask_bytes(&std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assigned_values_end_with_the_shell_word() {
        let mut s = Secrets::default();
        s.add_assigned("export B_TOKEN=zzzz9999; echo \"$B_TOKEN\"", &[]);
        s.add_assigned("API_KEY='k-1234'&& next", &[]);
        s.add_assigned("DB_PASSWORD=\"correct horse battery staple\" cmd", &[]);
        assert_eq!(
            s.mask("zzzz9999; k-1234; correct horse battery staple"),
            "********; ********; ********"
        );
    }

    #[test]
    fn names_and_masking() {
        assert!(is_secret_name("OS_PASSWORD", &[]));
        assert!(is_secret_name("github_token", &[]));
        assert!(is_secret_name("API_KEY", &[]));
        assert!(!is_secret_name("MACHINE_NAME", &[]));
        assert!(is_secret_name("pin", &["pin".to_string()]));
        let mut s = Secrets::default();
        assert!(s.add("hunter2hunter2"));
        assert!(!s.add("abc"));
        assert_eq!(s.mask("pw=hunter2hunter2 abc"), "pw=******** abc");
    }

    #[test]
    fn multi_line_secrets_and_pty_newlines() {
        let mut s = Secrets::default();
        s.add("-----BEGIN KEY-----\nAAAAbbbbCCCC\n-----END KEY-----");
        assert_eq!(
            s.mask_bytes(b"k=-----BEGIN KEY-----\r\nAAAAbbbbCCCC\r\n-----END KEY-----\r\n"),
            b"k=********\r\n"
        );
        assert_eq!(s.mask("first: AAAAbbbbCCCC"), "first: ********");
    }

    /// Any split of a stream gives the same masked bytes, and non-UTF-8 or long UTF-8
    /// output around a secret is passed through unchanged.
    #[test]
    fn streaming_masks_across_reads_without_touching_other_bytes() {
        let mut s = Secrets::default();
        s.add("s3cr3t-value");
        s.add("ABCD");
        s.add("CDEF");
        let mut input: Vec<u8> = "é中".repeat(3000).into_bytes();
        input.extend_from_slice(b"\xff\xfe s3cr3t-value x ABCDEF s3cr3t-va");
        input.extend_from_slice("…".repeat(10).as_bytes());
        let whole = s.mask_bytes(&input);
        assert!(!whole.windows(12).any(|w| w == b"s3cr3t-value"));
        assert!(whole.starts_with("é中".repeat(3000).as_bytes()));
        for step in [1, 2, 3, 5, 7, 13, 4096] {
            let mut m = Masker::default();
            let mut out = Vec::new();
            for chunk in input.chunks(step) {
                out.extend(m.push(&s, chunk));
            }
            out.extend(m.finish(&s));
            assert_eq!(out, whole, "split every {step} bytes");
        }
    }

    #[test]
    fn tokens_keep_secrets_out_of_an_editor_file() {
        let mut s = Secrets::default();
        s.add("p4ss w0rd");
        let (t, tokens) = s.tokenize("login -p 'p4ss w0rd' && echo 'p4ss w0rd'");
        assert_eq!(t, "login -p '[[secret 1]]' && echo '[[secret 1]]'");
        assert_eq!(
            detokenize(&t.replace("echo", "printf"), &tokens),
            "login -p 'p4ss w0rd' && printf 'p4ss w0rd'"
        );
    }
}
