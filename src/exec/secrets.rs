//! Secrets: which variables are secret, and masking their values wherever text is shown or
//! written (terminal, journal, transcript, log).

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

/// The secret values known so far; masks them in any text.
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    /// Secrets of runbook's own environment (e.g. an operator's `AWS_SECRET_ACCESS_KEY`).
    /// An environment need not be UTF-8: names and values are read as bytes.
    pub fn from_env(extra: &[String]) -> Secrets {
        let mut s = Secrets::default();
        for (k, v) in std::env::vars_os() {
            if is_secret_name(&k.to_string_lossy(), extra) {
                s.add(&v.to_string_lossy());
            }
        }
        s
    }

    pub fn add(&mut self, value: &str) {
        // very short values would mask ordinary text everywhere
        if value.chars().count() >= 4 && !self.values.iter().any(|v| v == value) {
            self.values.push(value.to_string());
            self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    /// Literal values a command assigns to secret-named variables (`export API_TOKEN=abc`),
    /// known before it runs, so that the step's own output is masked too.
    pub fn add_assigned(&mut self, command: &str, extra: &[String]) {
        for line in command.lines() {
            for word in line.split_whitespace() {
                let Some((name, value)) = word.split_once('=') else {
                    continue;
                };
                if !is_secret_name(name, extra)
                    || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    continue;
                }
                // the value ends where the shell word does (`export T=abc; next`)
                let value = value.split([';', '&', '|', ')']).next().unwrap_or("");
                let v = value.trim_matches(|c| c == '"' || c == '\'');
                if !v.contains(['$', '`']) {
                    self.add(v);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        out
    }

    /// Bytes (command output) masked; invalid UTF-8 is kept as is around the secrets.
    pub fn mask_bytes(&self, data: &[u8]) -> Vec<u8> {
        if self.values.is_empty() {
            return data.to_vec();
        }
        match std::str::from_utf8(data) {
            Ok(s) => self.mask(s).into_bytes(),
            Err(_) => self.mask(&String::from_utf8_lossy(data)).into_bytes(),
        }
    }

    /// The longest secret, in bytes: how much of a stream to hold back so that a secret
    /// split across two reads is still masked.
    pub fn longest(&self) -> usize {
        self.values.first().map(String::len).unwrap_or(0)
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
        assert_eq!(s.mask("zzzz9999; k-1234"), "********; ********");
    }

    #[test]
    fn names_and_masking() {
        assert!(is_secret_name("OS_PASSWORD", &[]));
        assert!(is_secret_name("github_token", &[]));
        assert!(is_secret_name("API_KEY", &[]));
        assert!(!is_secret_name("MACHINE_NAME", &[]));
        assert!(is_secret_name("pin", &["pin".to_string()]));
        let mut s = Secrets::default();
        s.add("hunter2hunter2");
        s.add("abc");
        assert_eq!(s.mask("pw=hunter2hunter2 abc"), "pw=******** abc");
    }
}
