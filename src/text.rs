//! Making attacker-chosen bytes safe to store, print and post.

/// Longest user name kept, in characters; the rest is cut with an ellipsis.
pub const MAX_NAME_CHARS: usize = 48;

/// True for characters that would steer a terminal or reorder text:
/// C0/C1 controls, DEL, and Unicode bidi and other invisible format controls.
fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
            // The Arabic letter mark (a bidi control), and the line and paragraph
            // separators, which some terminals and clients take as a new line.
            | '\u{061C}' | '\u{2028}' | '\u{2029}')
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
    out
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
}
