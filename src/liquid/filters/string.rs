//! String filters: case, whitespace, search and replace, split, truncation, slices, Base64,
//! and Jekyll's `slugify`, `number_of_words`, `normalize_whitespace`.

use super::ruby;
use super::{Call, Filter, arg, is_nil, nil, rs, seq, str_v};
use crate::liquid::value as lv;
use minijinja::Value;

pub(super) const FILTERS: &[Filter] = &[
    Filter::new("append", 1, 1, append),
    Filter::new("prepend", 1, 1, prepend),
    Filter::new("downcase", 0, 0, downcase),
    Filter::new("upcase", 0, 0, upcase),
    Filter::new("capitalize", 0, 0, capitalize),
    Filter::new("strip", 0, 0, strip),
    Filter::new("lstrip", 0, 0, lstrip),
    Filter::new("rstrip", 0, 0, rstrip),
    Filter::new("strip_newlines", 0, 0, strip_newlines),
    Filter::new("replace", 1, 2, replace),
    Filter::new("replace_first", 1, 2, replace_first),
    Filter::new("replace_last", 2, 2, replace_last),
    Filter::new("remove", 1, 1, remove),
    Filter::new("remove_first", 1, 1, remove_first),
    Filter::new("remove_last", 1, 1, remove_last),
    Filter::new("split", 1, 1, split),
    Filter::new("slice", 1, 2, slice),
    Filter::new("truncate", 0, 2, truncate),
    Filter::new("truncatewords", 0, 2, truncatewords),
    Filter::new("base64_encode", 0, 0, base64_encode),
    Filter::new("base64_decode", 0, 0, base64_decode),
    Filter::new("base64_url_safe_encode", 0, 0, base64_url_safe_encode),
    Filter::new("base64_url_safe_decode", 0, 0, base64_url_safe_decode),
    Filter::new("slugify", 0, 1, slugify),
    Filter::new("number_of_words", 0, 1, number_of_words),
    Filter::new("normalize_whitespace", 0, 0, normalize_whitespace),
];

type R = Result<Value, String>;

fn append(_: &Call, input: &Value, args: &[Value]) -> R {
    Ok(str_v(rs(input) + &rs(&arg(args, 0))))
}

fn prepend(_: &Call, input: &Value, args: &[Value]) -> R {
    Ok(str_v(rs(&arg(args, 0)) + &rs(input)))
}

fn downcase(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(rs(input).to_lowercase()))
}

fn upcase(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(rs(input).to_uppercase()))
}

/// Ruby's `capitalize`: the first character in title case (`ß` is `Ss`), the rest lower.
fn capitalize(_: &Call, input: &Value, _: &[Value]) -> R {
    let t = rs(input);
    let mut c = t.chars();
    Ok(str_v(match c.next() {
        Some(f) => titlecase(f) + &c.as_str().to_lowercase(),
        None => String::new(),
    }))
}

fn titlecase(c: char) -> String {
    match c {
        'ß' => "Ss".into(),
        'Ǆ' | 'ǅ' | 'ǆ' => "ǅ".into(),
        'Ǉ' | 'ǈ' | 'ǉ' => "ǈ".into(),
        'Ǌ' | 'ǋ' | 'ǌ' => "ǋ".into(),
        'Ǳ' | 'ǲ' | 'ǳ' => "ǲ".into(),
        'ﬀ' => "Ff".into(),
        'ﬁ' => "Fi".into(),
        'ﬂ' => "Fl".into(),
        'ﬃ' => "Ffi".into(),
        'ﬄ' => "Ffl".into(),
        'ﬅ' | 'ﬆ' => "St".into(),
        c => c.to_uppercase().collect(),
    }
}

/// Ruby's strip set: ASCII whitespace and NUL (not Unicode spaces).
fn ruby_space(c: char) -> bool {
    c == ' ' || ('\t'..='\r').contains(&c) || c == '\0'
}

fn strip(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(rs(input).trim_matches(ruby_space).to_string()))
}

fn lstrip(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(rs(input).trim_start_matches(ruby_space).to_string()))
}

fn rstrip(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(rs(input).trim_end_matches(ruby_space).to_string()))
}

fn strip_newlines(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(rs(input).replace("\r\n", "").replace('\n', "")))
}

fn replace(_: &Call, input: &Value, args: &[Value]) -> R {
    let (from, to) = (rs(&arg(args, 0)), rs(&arg(args, 1)));
    Ok(str_v(rs(input).replace(&from, &to)))
}

fn replace_first(_: &Call, input: &Value, args: &[Value]) -> R {
    let (from, to) = (rs(&arg(args, 0)), rs(&arg(args, 1)));
    Ok(str_v(rs(input).replacen(&from, &to, 1)))
}

/// The last occurrence replaced; an empty search string matches at the end.
fn replace_last(_: &Call, input: &Value, args: &[Value]) -> R {
    let (text, from, to) = (rs(input), rs(&arg(args, 0)), rs(&arg(args, 1)));
    Ok(str_v(match text.rfind(&from) {
        Some(i) => format!("{}{to}{}", &text[..i], &text[i + from.len()..]),
        None => text,
    }))
}

fn remove_last(call: &Call, input: &Value, args: &[Value]) -> R {
    replace_last(call, input, &[arg(args, 0), Value::from("")])
}

fn remove(_: &Call, input: &Value, args: &[Value]) -> R {
    Ok(str_v(rs(input).replace(&rs(&arg(args, 0)), "")))
}

fn remove_first(_: &Call, input: &Value, args: &[Value]) -> R {
    Ok(str_v(rs(input).replacen(&rs(&arg(args, 0)), "", 1)))
}

fn split(_: &Call, input: &Value, args: &[Value]) -> R {
    let t = rs(input);
    let pat = rs(&arg(args, 0));
    let mut parts: Vec<Value> = if pat == " " {
        t.split_whitespace().map(Value::from).collect()
    } else if pat.is_empty() {
        t.chars().map(|c| Value::from(c.to_string())).collect()
    } else {
        t.split(pat.as_str()).map(Value::from).collect()
    };
    // Ruby's split drops trailing empty strings
    while parts.last().is_some_and(|p| p.as_str() == Some("")) {
        parts.pop();
    }
    Ok(Value::from(parts))
}

/// Ruby's `slice(start, length)` on an Array, else on the text: a negative start counts from
/// the end; past the end, or a negative length, gives an empty result.
fn slice(_: &Call, input: &Value, args: &[Value]) -> R {
    let start = ruby::to_integer(&arg(args, 0))?;
    let len = match args.get(1) {
        Some(l) => ruby::to_integer(l)?,
        None => 1,
    };
    let range = |n: usize| -> Option<(usize, usize)> {
        let st = if start < 0 { n as i64 + start } else { start };
        if st < 0 || st as usize > n || len < 0 {
            return None;
        }
        let st = st as usize;
        Some((st, st.saturating_add(len as usize).min(n)))
    };
    Ok(if lv::is_seq(input) {
        let items = seq(input);
        match range(items.len()) {
            Some((a, b)) => Value::from(items[a..b].to_vec()),
            None => Value::from(Vec::<Value>::new()),
        }
    } else {
        let chars: Vec<char> = rs(input).chars().collect();
        match range(chars.len()) {
            Some((a, b)) => str_v(chars[a..b].iter().collect::<String>()),
            None => str_v(""),
        }
    })
}

fn truncate(_: &Call, input: &Value, args: &[Value]) -> R {
    if is_nil(input) {
        return Ok(nil());
    }
    let len = match args.first() {
        Some(l) => ruby::to_integer(l)?,
        None => 50,
    };
    let ell = args.get(1).map(rs).unwrap_or_else(|| "...".into());
    let text = rs(input);
    let t: Vec<char> = text.chars().collect();
    let l = (len - ell.chars().count() as i64).max(0) as usize;
    Ok(if t.len() as i64 > len {
        str_v(t[..l.min(t.len())].iter().collect::<String>() + &ell)
    } else {
        str_v(text)
    })
}

fn truncatewords(_: &Call, input: &Value, args: &[Value]) -> R {
    if is_nil(input) {
        return Ok(nil());
    }
    let n = match args.first() {
        Some(w) => ruby::to_integer(w)?,
        None => 15,
    }
    .max(1) as usize;
    let ell = args.get(1).map(rs).unwrap_or_else(|| "...".into());
    let t = rs(input);
    let words: Vec<&str> = t.split(ruby_space).filter(|w| !w.is_empty()).collect();
    Ok(if words.len() > n {
        str_v(words[..n].join(" ") + &ell)
    } else {
        str_v(t)
    })
}

fn base64_encode(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(base64(rs(input).as_bytes())))
}

fn base64_url_safe_encode(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(
        base64(rs(input).as_bytes())
            .replace('+', "-")
            .replace('/', "_"),
    ))
}

/// Ruby's `Base64.strict_decode64`: whole groups of four, padding only at the end, no other
/// characters; the text is read as UTF-8 (invalid bytes replaced).
fn base64_decode(_: &Call, input: &Value, _: &[Value]) -> R {
    strict_decode(&rs(input))
        .map(|b| str_v(String::from_utf8_lossy(&b).into_owned()))
        .ok_or_else(|| "invalid base64 provided to base64_decode".to_string())
}

/// `Base64.urlsafe_decode64`: `-_` for `+/`, padding optional.
fn base64_url_safe_decode(_: &Call, input: &Value, _: &[Value]) -> R {
    let mut t = rs(input);
    if !t.ends_with('=') && !t.len().is_multiple_of(4) {
        let pad = 4 - t.len() % 4;
        t.push_str(&"=".repeat(pad));
    }
    let t = t.replace('-', "+").replace('_', "/");
    strict_decode(&t)
        .map(|b| str_v(String::from_utf8_lossy(&b).into_owned()))
        .ok_or_else(|| "invalid base64 provided to base64_url_safe_decode".to_string())
}

fn strict_decode(t: &str) -> Option<Vec<u8>> {
    let b = t.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (i, q) in b.chunks(4).enumerate() {
        let last = i == b.len() / 4 - 1;
        let pads = q.iter().rev().take_while(|c| **c == b'=').count();
        if pads > 2 || (pads > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &q[..4 - pads] {
            n = (n << 6) | val(c)?;
        }
        match pads {
            0 => out.extend([(n >> 16) as u8, (n >> 8) as u8, n as u8]),
            1 => {
                if n & 0x3 != 0 {
                    return None;
                }
                let n = n >> 2;
                out.extend([(n >> 8) as u8, n as u8]);
            }
            _ => {
                if n & 0xf != 0 {
                    return None;
                }
                out.push((n >> 4) as u8);
            }
        }
    }
    Some(out)
}

fn base64(b: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                o.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

/// Jekyll's `slugify`: runs of what the mode does not keep become `-`, one `-` goes from each
/// end, the result is lower case; `latin` first transliterates as I18n does (accents go,
/// other non-ASCII letters become `?`); a mode Jekyll does not know only lowercases.
fn slugify(_: &Call, input: &Value, args: &[Value]) -> R {
    if is_nil(input) {
        return Ok(nil());
    }
    let mode = match args.first().filter(|m| !is_nil(m)) {
        Some(m) => rs(m),
        None => "default".into(),
    };
    let Some(text) = input.as_str() else {
        let method = if matches!(
            mode.as_str(),
            "raw" | "default" | "pretty" | "ascii" | "latin"
        ) {
            "gsub"
        } else {
            "downcase"
        };
        return Err(ruby::no_method(method, input));
    };
    Ok(str_v(slugify_str(text, &mode)))
}

/// I18n's default approximations of Latin letters (`transliterate`).
const TRANSLITERATIONS: &str = "ÀA ÁA ÂA ÃA ÄA ÅA ÆAE ÇC ÈE ÉE ÊE ËE ÌI ÍI ÎI ÏI ÐD ÑN ÒO ÓO ÔO ÕO ÖO ×x ØO ÙU ÚU ÛU ÜU ÝY ÞTh ßss àa áa âa ãa äa åa æae çc èe ée êe ëe ìi íi îi ïi ðd ñn òo óo ôo õo öo øo ùu úu ûu üu ýy þth ÿy ĀA āa ĂA ăa ĄA ąa ĆC ćc ĈC ĉc ĊC ċc ČC čc ĎD ďd ĐD đd ĒE ēe ĔE ĕe ĖE ėe ĘE ęe ĚE ěe ĜG ĝg ĞG ğg ĠG ġg ĢG ģg ĤH ĥh ĦH ħh ĨI ĩi ĪI īi ĬI ĭi ĮI įi İI ıi ĲIJ ĳij ĴJ ĵj ĶK ķk ĸk ĹL ĺl ĻL ļl ĽL ľl ĿL ŀl ŁL łl ŃN ńn ŅN ņn ŇN ňn ŉ'n ŊNG ŋng ŌO ōo ŎO ŏo ŐO őo ŒOE œoe ŔR ŕr ŖR ŗr ŘR řr ŚS śs ŜS ŝs ŞS şs ŠS šs ŢT ţt ŤT ťt ŦT ŧt ŨU ũu ŪU ūu ŬU ŭu ŮU ůu ŰU űu ŲU ųu ŴW ŵw ŶY ŷy ŸY ŹZ źz ŻZ żz ŽZ žz";

fn transliterate(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        let found = TRANSLITERATIONS.split(' ').find_map(|pair| {
            let mut cs = pair.chars();
            (cs.next() == Some(c)).then_some(cs.as_str())
        });
        out.push_str(found.unwrap_or("?"));
    }
    out
}

fn slugify_str(input: &str, mode: &str) -> String {
    if !matches!(mode, "raw" | "default" | "pretty" | "ascii" | "latin") {
        return input.to_lowercase();
    }
    let latin;
    let input = if mode == "latin" {
        latin = transliterate(input);
        latin.as_str()
    } else {
        input
    };
    // \p{M}\p{L}\p{Nd}: marks, letters, decimal digits
    // (combining marks by their main blocks; numbers but the Latin-1 superscripts and
    // fractions, which are not decimal digits)
    let word = |c: char| {
        c.is_alphabetic()
            || matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
            || (c.is_numeric() && !matches!(c, '¹' | '²' | '³' | '¼' | '½' | '¾'))
    };
    let keep = |c: char| -> bool {
        match mode {
            "raw" => !(c.is_ascii_whitespace() || c == '\x0b'),
            "pretty" => word(c) || "._~!$&'()+,;=@".contains(c),
            "ascii" => c.is_ascii_alphanumeric(),
            _ => word(c),
        }
    };
    let mut out = String::new();
    let mut dash = false;
    for c in input.chars() {
        if keep(c) {
            out.push(c);
            dash = false;
        } else if !dash {
            out.push('-');
            dash = true;
        }
    }
    let out = out.strip_prefix('-').unwrap_or(&out);
    let out = out.strip_suffix('-').unwrap_or(out);
    out.to_lowercase()
}

/// Jekyll's `number_of_words`: words between ASCII whitespace; with `"cjk"` every Han, kana or
/// Hangul character counts as a word too, and `"auto"` does that only where there are some.
fn number_of_words(_: &Call, input: &Value, args: &[Value]) -> R {
    let Some(text) = input.as_str() else {
        return Err(ruby::no_method("split", input));
    };
    let plain = || text.split(ruby_space).filter(|w| !w.is_empty()).count();
    let cjk_count = text.chars().filter(|c| is_cjk(*c)).count();
    // runs of what is neither CJK nor whitespace
    let others = || {
        text.split(|c: char| is_cjk(c) || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .count()
    };
    Ok(Value::from(match args.first().and_then(|m| m.as_str()) {
        Some("cjk") => cjk_count + others(),
        Some("auto") if cjk_count > 0 => cjk_count + others(),
        _ => plain(),
    }))
}

/// `\p{Han}\p{Katakana}\p{Hiragana}\p{Hangul}`, by their main blocks.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF | 0x3005 | 0x3007 | 0x3021..=0x3029 | 0x3038..=0x303B
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F
        | 0x3041..=0x3096 | 0x309D..=0x309F | 0x30A1..=0x30FA | 0x30FD..=0x30FF
        | 0x31F0..=0x31FF | 0x32D0..=0x32FE | 0x3300..=0x3357 | 0xFF66..=0xFF6F
        | 0xFF71..=0xFF9D | 0x1100..=0x11FF | 0x3131..=0x318E | 0xA960..=0xA97F
        | 0xAC00..=0xD7A3 | 0xD7B0..=0xD7FF | 0xFFA0..=0xFFDC | 0x3200..=0x321E
        | 0x3260..=0x327E)
}

fn normalize_whitespace(_: &Call, input: &Value, _: &[Value]) -> R {
    Ok(str_v(
        rs(input)
            .split(ruby_space)
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    ))
}
