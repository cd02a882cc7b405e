//! Map lines of the Liquid-rendered page back to lines of its source.
//!
//! The model is built on the rendered text, but a user editing the page needs
//! the source line. The two texts are aligned line by line in two passes:
//!
//! 1. Myers' O((N+M)·D) difference algorithm (linear-space, middle-snake
//!    variant, after taking off the common prefix and suffix) finds a longest
//!    common subsequence of equal lines. Its non-blank lines are the anchors.
//! 2. Between two anchors (a changed hunk), lines are paired by similarity:
//!    equal lines score 1, other pairs the length of their common prefix and
//!    suffix over the longer of the two lines (the source line counted without
//!    its `{{ … }}`/`{% … %}` markup), and a source line that is only Liquid
//!    tags against a blank rendered line scores 0.6. An increasing pairing of
//!    pairs scoring at least 0.5 with the largest total is kept (dynamic
//!    programming; hunks above 2^20 line pairs keep the diff's equal lines
//!    instead). Blank lines are too common to anchor anything, which is why
//!    they are only paired here.
//!
//! Each rendered line paired with a source line maps to it (exactly when the
//! lines are equal). The remaining lines between two pairs (rendered lines
//! `r0..r1` facing source lines `s0..s1`) map proportionally,
//! `s0 + (r - r0) * (s1 - s0) / (r1 - r0)`, so an include that expanded to
//! many lines maps to the line of its tag; rendered lines facing no source
//! line map to the source line before them (the first line at the top). For
//! example `eval $(ai-rc "{{site.experiment}} Release Testing")` rendered as
//! `eval $(ai-rc "ALICE Release Testing")` maps to its own source line.
//!
//! Source lines are counted in `source_body`, the page after its front
//! matter: add the front matter's line count to get a line of the file.

use std::collections::HashMap;

/// Rendered line → best source line.
#[derive(Debug, Clone)]
pub struct LineMap {
    /// For rendered line `i + 1`: (source line, exact match).
    map: Vec<(usize, bool)>,
}

impl LineMap {
    pub fn new(source_body: &str, rendered: &str) -> Self {
        let src = crate::source::lines(source_body);
        let out = crate::source::lines(rendered);
        // Without tags, Liquid changes lines but never their number: line i is line i.
        if src.len() == out.len() && !source_body.contains("{%") {
            let map = src
                .iter()
                .zip(&out)
                .enumerate()
                .map(|(i, (s, o))| (i + 1, s.trim_end_matches('\r') == o.trim_end_matches('\r')))
                .collect();
            return LineMap { map };
        }
        // The diff costs up to (N+M)² on pages whose every line changed: a huge page maps
        // its lines proportionally between the common start and end instead.
        if src.len() + out.len() > 20_000 {
            return Self::proportional(&src, &out);
        }
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let mut a = Vec::with_capacity(src.len());
        for l in &src {
            let next = ids.len() as u32;
            a.push(*ids.entry(l.trim_end_matches('\r')).or_insert(next));
        }
        let mut b = Vec::with_capacity(out.len());
        for l in &out {
            let next = ids.len() as u32;
            b.push(*ids.entry(l.trim_end_matches('\r')).or_insert(next));
        }
        // Equal non-blank lines found by the diff anchor the alignment; between
        // two anchors, lines are paired by similarity (blank lines included,
        // as they are too common to anchor anything).
        let pairs = diff(&a, &b);
        let mut anchors: Vec<(usize, usize, bool)> = Vec::new();
        let (mut ps, mut pr) = (0usize, 0usize);
        let mut weak = Vec::new();
        let strong = pairs
            .iter()
            .copied()
            .filter(|&(i, _)| !src[i].trim().is_empty())
            .chain(std::iter::once((a.len(), b.len())));
        let mut all = pairs.iter().copied().peekable();
        for (i, j) in strong {
            weak.clear();
            while let Some(&(wi, wj)) = all.peek() {
                if wi >= i {
                    break;
                }
                if wi >= ps {
                    weak.push((wi, wj));
                }
                all.next();
            }
            match similar_pairs(&src[ps..i], &out[pr..j]) {
                Some(found) => anchors.extend(
                    found
                        .into_iter()
                        .map(|(si, rj)| (ps + si, pr + rj, a[ps + si] == b[pr + rj])),
                ),
                None => anchors.extend(weak.iter().map(|&(wi, wj)| (wi, wj, true))),
            }
            if j < b.len() {
                anchors.push((i, j, true));
            }
            (ps, pr) = (i + 1, j + 1);
        }

        let mut map = Vec::with_capacity(b.len());
        let (mut ps, mut pr) = (0usize, 0usize);
        let last_src = a.len().saturating_sub(1);
        for &(i, j, exact) in anchors
            .iter()
            .chain(std::iter::once(&(a.len(), b.len(), false)))
        {
            let (src_len, out_len) = (i - ps, j - pr);
            for r in 0..out_len {
                let s = if src_len > 0 {
                    ps + r * src_len / out_len
                } else {
                    ps.saturating_sub(1)
                };
                map.push((s.min(last_src) + 1, false));
            }
            if j < b.len() {
                map.push((i + 1, exact));
            }
            (ps, pr) = (i + 1, j + 1);
        }
        debug_assert_eq!(map.len(), b.len());
        LineMap { map }
    }

    fn proportional(src: &[&str], out: &[&str]) -> Self {
        let prefix = src.iter().zip(out).take_while(|(a, b)| a == b).count();
        let suffix = src[prefix..]
            .iter()
            .rev()
            .zip(out[prefix..].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        let (s_mid, o_mid) = (src.len() - prefix - suffix, out.len() - prefix - suffix);
        let mut map = Vec::with_capacity(out.len());
        map.extend((0..prefix).map(|i| (i + 1, true)));
        for r in 0..o_mid {
            let s = if s_mid > 0 {
                prefix + r * s_mid / o_mid
            } else {
                prefix.saturating_sub(1)
            };
            map.push((s.min(src.len().saturating_sub(1)) + 1, false));
        }
        map.extend((0..suffix).map(|k| (src.len() - suffix + k + 1, true)));
        LineMap { map }
    }

    /// Best 1-based source line for a 1-based rendered line (clamped to the
    /// rendered text; 1 when the rendered text is empty).
    pub fn source_line(&self, rendered_line: usize) -> usize {
        match self.entry(rendered_line) {
            Some((s, _)) => s,
            None => 1,
        }
    }

    /// Whether the rendered line is identical to the source line it maps to.
    pub fn is_exact(&self, rendered_line: usize) -> bool {
        self.entry(rendered_line).is_some_and(|(_, exact)| exact)
    }

    /// Number of rendered lines.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn entry(&self, rendered_line: usize) -> Option<(usize, bool)> {
        if self.map.is_empty() {
            return None;
        }
        let i = rendered_line.clamp(1, self.map.len()) - 1;
        Some(self.map[i])
    }
}

/// Largest hunk (source lines × rendered lines) aligned by similarity.
const MAX_FUZZY_CELLS: usize = 1 << 20;

/// A line prepared for [`similarity`].
struct Prepared {
    chars: Vec<char>,
    /// Length in chars once Liquid markup is removed (the line itself for rendered lines).
    plain_len: usize,
    /// Blank once Liquid markup is removed.
    blank: bool,
}

impl Prepared {
    fn new(line: &str, liquid: bool) -> Self {
        let line = line.trim_end();
        let plain = if liquid {
            strip_liquid(line)
        } else {
            line.to_string()
        };
        Prepared {
            chars: line.chars().collect(),
            plain_len: plain.trim_end().chars().count(),
            blank: plain.trim().is_empty(),
        }
    }
}

/// How much a source line and a rendered line look alike, in 0..=1: 1 when
/// equal; else the common prefix and suffix against the longer of the
/// rendered line and the source line without its Liquid markup. Two lines
/// blank once Liquid tags are removed (`{% if %}` rendered as an empty line)
/// score 0.6.
fn similarity(s: &Prepared, r: &Prepared) -> f32 {
    if s.chars == r.chars {
        return 1.0;
    }
    if s.blank || r.blank {
        return if s.blank && r.blank { 0.6 } else { 0.0 };
    }
    let (s, r, plain_len) = (&s.chars, &r.chars, s.plain_len);
    let prefix = s.iter().zip(r).take_while(|(x, y)| x == y).count();
    let max_suffix = s.len().min(r.len()) - prefix;
    let suffix = s
        .iter()
        .rev()
        .zip(r.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    let denom = r.len().max(plain_len).max(1);
    (prefix + suffix) as f32 / denom as f32
}

/// The line with `{{ … }}` and `{% … %}` removed.
fn strip_liquid(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find(['{']) {
        let tail = &rest[open..];
        let close = if tail.starts_with("{{") {
            tail.find("}}").map(|c| c + 2)
        } else if tail.starts_with("{%") {
            tail.find("%}").map(|c| c + 2)
        } else {
            None
        };
        match close {
            Some(c) => {
                out.push_str(&rest[..open]);
                rest = &tail[c..];
            }
            None => {
                out.push_str(&rest[..open + 1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Inside a changed hunk: an increasing alignment of lines that look alike
/// (similarity at least 0.5; equal lines score 1), maximising the total
/// similarity.
/// `None` when the hunk is too large to align this way.
fn similar_pairs(src: &[&str], out: &[&str]) -> Option<Vec<(usize, usize)>> {
    let (n, m) = (src.len(), out.len());
    if n == 0 || m == 0 {
        return Some(Vec::new());
    }
    if n * m > MAX_FUZZY_CELLS {
        return None;
    }
    let src: Vec<Prepared> = src.iter().map(|l| Prepared::new(l, true)).collect();
    let out: Vec<Prepared> = out.iter().map(|l| Prepared::new(l, false)).collect();
    let score: Vec<f32> = src
        .iter()
        .flat_map(|s| out.iter().map(move |r| similarity(s, r)))
        .collect();
    let w = m + 1;
    let mut dp = vec![0f32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let sc = score[i * m + j];
            let mut best = dp[(i + 1) * w + j].max(dp[i * w + j + 1]);
            if sc >= 0.5 {
                best = best.max(dp[(i + 1) * w + j + 1] + sc);
            }
            dp[i * w + j] = best;
        }
    }
    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        let sc = score[i * m + j];
        if sc >= 0.5 && dp[i * w + j] == dp[(i + 1) * w + j + 1] + sc {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if dp[i * w + j] == dp[(i + 1) * w + j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    Some(pairs)
}

/// Pairs `(i, j)` with `a[i] == b[j]` of a longest common subsequence, increasing.
fn diff(a: &[u32], b: &[u32]) -> Vec<(usize, usize)> {
    let max_d = (a.len() + b.len()).div_ceil(2) + 1;
    let mut vf = V::new(max_d);
    let mut vb = V::new(max_d);
    let mut out = Vec::new();
    conquer(a, 0..a.len(), b, 0..b.len(), &mut vf, &mut vb, &mut out);
    out
}

/// Furthest-reaching x per diagonal k, indexable by negative k.
struct V {
    offset: isize,
    v: Vec<usize>,
}

impl V {
    fn new(max_d: usize) -> Self {
        V {
            offset: max_d as isize + 1,
            v: vec![0; 2 * max_d + 3],
        }
    }
}

impl std::ops::Index<isize> for V {
    type Output = usize;
    fn index(&self, k: isize) -> &usize {
        &self.v[(k + self.offset) as usize]
    }
}

impl std::ops::IndexMut<isize> for V {
    fn index_mut(&mut self, k: isize) -> &mut usize {
        &mut self.v[(k + self.offset) as usize]
    }
}

fn conquer(
    a: &[u32],
    mut ar: std::ops::Range<usize>,
    b: &[u32],
    mut br: std::ops::Range<usize>,
    vf: &mut V,
    vb: &mut V,
    out: &mut Vec<(usize, usize)>,
) {
    // Common prefix.
    while ar.start < ar.end && br.start < br.end && a[ar.start] == b[br.start] {
        out.push((ar.start, br.start));
        ar.start += 1;
        br.start += 1;
    }
    // Common suffix, emitted after the middle part.
    let mut suffix = 0;
    while ar.end - suffix > ar.start
        && br.end - suffix > br.start
        && a[ar.end - suffix - 1] == b[br.end - suffix - 1]
    {
        suffix += 1;
    }
    let (a_end, b_end) = (ar.end, br.end);
    ar.end -= suffix;
    br.end -= suffix;
    if !ar.is_empty()
        && !br.is_empty()
        && let Some((x, y)) = middle_snake(a, ar.clone(), b, br.clone(), vf, vb)
    {
        conquer(a, ar.start..x, b, br.start..y, vf, vb, out);
        conquer(a, x..ar.end, b, y..br.end, vf, vb, out);
    }
    for k in (1..=suffix).rev() {
        out.push((a_end - k, b_end - k));
    }
}

/// A split point on an optimal path through the edit graph of `a[ar]` vs
/// `b[br]` (both non-empty, no common prefix or suffix), such that both halves
/// are strictly smaller than the whole.
fn middle_snake(
    a: &[u32],
    ar: std::ops::Range<usize>,
    b: &[u32],
    br: std::ops::Range<usize>,
    vf: &mut V,
    vb: &mut V,
) -> Option<(usize, usize)> {
    let n = ar.len();
    let m = br.len();
    let delta = n as isize - m as isize;
    let odd = delta & 1 == 1;
    vf[1] = 0;
    vb[1] = 0;
    let max_d = (n + m).div_ceil(2) as isize + 1;
    for d in 0..max_d {
        let mut k = d;
        while k >= -d {
            let mut x = if k == -d || (k != d && vf[k - 1] < vf[k + 1]) {
                vf[k + 1]
            } else {
                vf[k - 1] + 1
            };
            let y = (x as isize - k) as usize;
            let (x0, y0) = (x, y);
            let mut y = y;
            while x < n && y < m && a[ar.start + x] == b[br.start + y] {
                x += 1;
                y += 1;
            }
            vf[k] = x;
            if odd && (k - delta).abs() < d && vf[k] + vb[delta - k] >= n {
                return Some((ar.start + x0, br.start + y0));
            }
            k -= 2;
        }
        let mut k = d;
        while k >= -d {
            let mut x = if k == -d || (k != d && vb[k - 1] < vb[k + 1]) {
                vb[k + 1]
            } else {
                vb[k - 1] + 1
            };
            let mut y = (x as isize - k) as usize;
            while x < n && y < m && a[ar.end - x - 1] == b[br.end - y - 1] {
                x += 1;
                y += 1;
            }
            vb[k] = x;
            if !odd && (k - delta).abs() <= d && vb[k] + vf[delta - k] >= n {
                return Some((ar.end - x, br.end - y));
            }
            k -= 2;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcs_len(a: &[u32], b: &[u32]) -> usize {
        let mut dp = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                dp[i][j] = if a[i] == b[j] {
                    dp[i + 1][j + 1] + 1
                } else {
                    dp[i + 1][j].max(dp[i][j + 1])
                };
            }
        }
        dp[0][0]
    }

    fn check(a: &[u32], b: &[u32]) {
        let pairs = diff(a, b);
        assert_eq!(
            pairs.len(),
            lcs_len(a, b),
            "a={a:?} b={b:?} pairs={pairs:?}"
        );
        for w in pairs.windows(2) {
            assert!(w[0].0 < w[1].0 && w[0].1 < w[1].1, "{pairs:?}");
        }
        for &(i, j) in &pairs {
            assert_eq!(a[i], b[j]);
        }
    }

    #[test]
    fn diff_is_a_longest_common_subsequence() {
        check(&[], &[]);
        check(&[1, 2, 3], &[]);
        check(&[], &[1]);
        check(&[1, 2, 3], &[1, 2, 3]);
        check(&[1, 2, 3, 4], &[1, 9, 3, 4]);
        check(&[1, 2, 3], &[4, 5, 6]);
        check(&[1, 2], &[2, 1]);
        // Pseudo-random sequences over small alphabets (many repeats).
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |modulo: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % modulo) as u32
        };
        for round in 0..300 {
            let alpha = 2 + (round % 6) as u64;
            let n = next(30) as usize;
            let m = next(30) as usize;
            let a: Vec<u32> = (0..n).map(|_| next(alpha)).collect();
            let b: Vec<u32> = (0..m).map(|_| next(alpha)).collect();
            check(&a, &b);
        }
    }

    #[test]
    fn small_hand_made_example() {
        let source = "# Title\n\nThe {{site.experiment}} build:\n\n{% if site.x %}\n    eval $(ai-rc \"{{site.experiment}} Release Testing\")\n{% endif %}\n{% include steps.md %}\nend\n";
        let rendered = "# Title\n\nThe ALICE build:\n\n\n    eval $(ai-rc \"ALICE Release Testing\")\n\nstep one\nstep two\nstep three\nend\n";
        let map = LineMap::new(source, rendered);
        assert_eq!(map.len(), 11);
        let got: Vec<usize> = (1..=11).map(|l| map.source_line(l)).collect();
        assert_eq!(got, vec![1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 9]);
        assert!(map.is_exact(1));
        assert!(!map.is_exact(3));
        assert!(!map.is_exact(6));
        assert!(map.is_exact(11));
        // Out of range lines clamp.
        assert_eq!(map.source_line(0), 1);
        assert_eq!(map.source_line(99), 9);
        // Lines added with nothing facing them map to the line before.
        let map = LineMap::new("a\nb\n", "a\nx\ny\nb\n");
        let got: Vec<usize> = (1..=4).map(|l| map.source_line(l)).collect();
        assert_eq!(got, vec![1, 1, 1, 2]);
        let map = LineMap::new("", "");
        assert!(map.is_empty());
        assert_eq!(map.source_line(1), 1);
    }

    fn body_after_front_matter(text: &str) -> &str {
        let rest = text.strip_prefix("---\n").expect("front matter");
        let end = rest.find("\n---\n").expect("front matter end");
        &rest[end + 5..]
    }

    #[test]
    fn seed_page_source_against_golden() {
        // The seed page and Jekyll's output for it, kept in tests/fixtures/seed.
        let root = format!("{}/tests/fixtures/seed", env!("CARGO_MANIFEST_DIR"));
        let file =
            std::fs::read_to_string(format!("{root}/site/infrastructure-mesos.markdown")).unwrap();
        let source = body_after_front_matter(&file);
        let rendered =
            std::fs::read_to_string(format!("{root}/golden/infrastructure-mesos.markdown"))
                .unwrap();
        let map = LineMap::new(source, &rendered);
        let src_lines: Vec<&str> = source.lines().collect();
        let out_lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(map.len(), out_lines.len());
        // The source body starts with a blank line Jekyll dropped: everything is one line off.
        assert_eq!(map.source_line(1), 2);
        assert_eq!(src_lines[1], "**WORK IN PROGRESS -- do not use**");
        for (i, line) in out_lines.iter().enumerate() {
            let s = map.source_line(i + 1);
            // Line counts agree, so every line maps to the line below it in the source.
            assert_eq!(s, i + 2, "rendered line {} {line:?}", i + 1);
            assert_eq!(map.is_exact(i + 1), src_lines[s - 1] == *line);
        }
        // The changed lines, Liquid resolved.
        let eval = out_lines
            .iter()
            .position(|l| l.trim() == "eval $(ai-rc \"ALICE Release Testing\")")
            .unwrap();
        assert_eq!(
            src_lines[map.source_line(eval + 1) - 1].trim(),
            "eval $(ai-rc \"{{site.experiment}} Release Testing\")"
        );
        let machine = out_lines
            .iter()
            .position(|l| l.trim() == "MACHINE_NAME=<alimesosXX>")
            .unwrap();
        assert_eq!(
            src_lines[map.source_line(machine + 1) - 1].trim(),
            "MACHINE_NAME=<{{site.exp_prefix}}mesosXX>"
        );
    }

    #[test]
    fn large_pages_are_fast() {
        // 3000 lines with a change every 7 lines and a shifted block.
        let source: String = (0..3000)
            .map(|i| format!("line {i} {{{{site.x}}}}\n"))
            .collect();
        let rendered: String = (0..3000)
            .map(|i| {
                if i % 7 == 0 {
                    format!("line {i} X\n")
                } else {
                    format!("line {i} {{{{site.x}}}}\n")
                }
            })
            .collect();
        let start = std::time::Instant::now();
        let map = LineMap::new(&source, &rendered);
        assert!(start.elapsed().as_secs() < 5);
        assert_eq!(map.source_line(701), 701);
        assert_eq!(map.source_line(702), 702);
        assert!(!map.is_exact(701));
        assert!(map.is_exact(702));
        // Completely different texts: worst case for the diff.
        let other: String = (0..3000).map(|i| format!("other {i}\n")).collect();
        let map = LineMap::new(&source, &other);
        assert_eq!(map.source_line(1500), 1500);
        // Every line changed (one big hunk aligned by similarity), with an
        // extra rendered line in the middle.
        let source: String = (0..1000)
            .map(|i| format!("run {i} {{{{site.x}}}}\n"))
            .collect();
        let rendered: String = (0..1000)
            .flat_map(|i| {
                let extra = (i == 500).then(|| "inserted\n".to_string());
                extra.into_iter().chain([format!("run {i} X\n")])
            })
            .collect();
        let map = LineMap::new(&source, &rendered);
        assert_eq!(map.source_line(500), 500);
        assert_eq!(map.source_line(502), 501);
        assert_eq!(map.source_line(1001), 1000);
        assert!(start.elapsed().as_secs() < 5);
    }
}
