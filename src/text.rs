//! Making attacker-chosen bytes safe to store, print and post.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

use serde::Serialize;

/// Longest user name kept, in characters; the rest is cut with an ellipsis.
pub const MAX_NAME_CHARS: usize = 48;

/// True for characters that would steer a terminal or reorder text:
/// C0/C1 controls, DEL, and Unicode bidi and other invisible format controls.
pub(crate) fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
            // The Arabic letter mark (a bidi control), and the line and paragraph
            // separators, which some terminals and clients take as a new line.
            | '\u{061C}' | '\u{2028}' | '\u{2029}')
}

/// `c` as it is printed: itself, or a hazard as a visible `\x1b` or
/// `\u{202e}` escape.
fn push_shown(out: &mut String, c: char) {
    if is_hazard(c) {
        let code = c as u32;
        if code < 0x100 {
            out.push_str(&format!("\\x{code:02x}"));
        } else {
            out.push_str(&format!("\\u{{{code:x}}}"));
        }
    } else {
        out.push(c);
    }
}

/// Turns bytes from a log into a printable string: invalid UTF-8 becomes
/// U+FFFD, controls and escape sequences become visible `\x1b`-style escapes,
/// and the result is cut to `max_chars`.
pub fn clean(bytes: &[u8], max_chars: usize) -> String {
    let lossy = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(lossy.len().min(max_chars.saturating_mul(2)));
    for (chars, c) in lossy.chars().enumerate() {
        if chars >= max_chars {
            out.push('…');
            break;
        }
        push_shown(&mut out, c);
    }
    out
}

/// `text` with its hazards made visible escapes, as `clean` makes them:
/// for whatever reaches a terminal from a log, a state or a service.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hazard) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        push_shown(&mut out, c);
    }
    Cow::Owned(out)
}

/// `s` as HTML or XML text or attribute value: `& < > " '` as references,
/// and what neither may hold dropped: control characters (the C1 range
/// too, which HTML rejects) and noncharacters. Attacker text reaches the
/// site's pages and the Atom feeds through here.
pub fn markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {}
            c if matches!(c as u32, 0xfdd0..=0xfdef) || (c as u32) & 0xfffe == 0xfffe => {}
            c => out.push(c),
        }
    }
    out
}

/// One line for people: `line` with its hazards escaped (a line break
/// inside it too), then a line break.
pub fn put_line(out: &mut impl Write, line: fmt::Arguments<'_>) -> io::Result<()> {
    let line = line.to_string();
    out.write_all(escape(&line).as_bytes())?;
    out.write_all(b"\n")
}

/// `value` as JSON with every hazard left in a string written as a
/// `\uXXXX` escape: the same JSON to a parser, inert on a terminal.
/// (serde_json escapes C0 controls itself, but not DEL, C1, bidi or
/// zero-width characters.)
pub fn write_json(out: &mut impl Write, value: &impl Serialize, pretty: bool) -> io::Result<()> {
    let json = match pretty {
        true => serde_json::to_string_pretty(value)?,
        false => serde_json::to_string(value)?,
    };
    out.write_all(json_safe(&json).as_bytes())
}

/// Serialized JSON with its hazards as `\uXXXX`. Outside strings JSON has
/// only ASCII punctuation and white space, and inside them serde_json has
/// escaped every line break: so a raw `\n` is layout, and kept.
fn json_safe(json: &str) -> Cow<'_, str> {
    let hazard = |c: char| c != '\n' && is_hazard(c);
    if !json.chars().any(hazard) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match hazard(c) {
            // Every hazard is in the Basic Multilingual Plane: one escape each.
            true => out.push_str(&format!("\\u{:04x}", c as u32)),
            false => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bad_utf8() {
        assert_eq!(clean(b"root", 48), "root");
        assert_eq!(clean(b"\x1b[31mred\x07", 48), "\\x1b[31mred\\x07");
        assert_eq!(clean(b"a\xffb", 48), "a\u{FFFD}b");
        assert_eq!(clean("x\u{202E}gpj".as_bytes(), 48), "x\\u{202e}gpj");
        assert_eq!(clean("\u{9b}31m".as_bytes(), 48), "\\x9b31m");
        assert_eq!(clean("a\u{61c}b".as_bytes(), 48), "a\\u{61c}b");
        assert_eq!(
            clean("l1\u{2028}l2\u{2029}".as_bytes(), 48),
            "l1\\u{2028}l2\\u{2029}"
        );
        assert_eq!(clean(b"abcdef", 3), "abc…");
        assert!(
            !clean(b"\x1b\x00\n\r\t\x7f", 48)
                .chars()
                .any(char::is_control)
        );
    }

    #[test]
    fn printed_lines_and_json_are_inert_and_json_means_the_same() {
        assert!(matches!(escape("plain é"), Cow::Borrowed("plain é")));
        assert_eq!(
            escape("a\u{202E}b\u{200B}\x1b]0;t\x07"),
            "a\\u{202e}b\\u{200b}\\x1b]0;t\\x07"
        );
        let mut out = Vec::new();
        put_line(&mut out, format_args!("x {}", "two\nlines\u{2066}")).unwrap();
        assert_eq!(out, b"x two\\x0alines\\u{2066}\n");

        let value = serde_json::json!({ "u": "a\u{202E}b\u{9b}c\x7f\u{FEFF}\n\x1b", "n": [1] });
        for pretty in [false, true] {
            let mut out = Vec::new();
            write_json(&mut out, &value, pretty).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(!text.chars().any(|c| c != '\n' && is_hazard(c)), "{text:?}");
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, value, "the same JSON");
        }
    }
}
