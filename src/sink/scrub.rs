//! The secrets of one service, kept out of everything it can make us say,
//! and remote text made safe to show (`sanitize`).
//!
//! A service's reply may quote a secret back: the token in an error
//! message, the webhook URL's path in a 404 page. It may quote it raw,
//! JSON-escaped (`\/`, `\u0041`), percent- or HTML-encoded, in another
//! letter case, or cut short by its own length limit or ours. So text
//! from a service is matched against the secrets in every decoding of it
//! (each escape undone, up to `PASSES` layers deep), and every run of
//! `MIN_PIECE` or more bytes that is a piece of a secret is replaced by
//! `<redacted>`, in the text as it was written. The same is done again
//! after each change to the text (sanitizing, cutting to length).
//!
//! The secrets are the credentials and, of every configured URL, the user
//! name, password, each path segment, each query value and the fragment
//! (Slack's and Discord's webhook URLs carry their token in the path,
//! ntfy's topic is its password), but for the words in `COMMON` and
//! segments of one or two characters, which any attacker could guess in a
//! few thousand requests and which would garble every number in a message
//! if hidden. The scheme, host and port stay: messages name them.

use std::collections::HashSet;
use std::fmt;

use anyhow::anyhow;

pub(crate) const REDACTED: &str = "<redacted>";

/// The shortest piece of a secret redacted wherever it appears; a secret
/// shorter than this is redacted only whole, as a word of its own.
pub(crate) const MIN_PIECE: usize = 6;

/// The most characters of remote text a message shows.
pub(crate) const MAX_DETAIL_CHARS: usize = 200;

/// A URL part shorter than this is not a secret.
const MIN_URL_PART: usize = 3;

/// Path segments that name an API, not a secret: left visible.
const COMMON: [&str; 9] = [
    "api", "hook", "hooks", "webhook", "webhooks", "services", "incoming", "xrpc", "json",
];

/// Layers of encoding undone: enough for a JSON string holding a
/// percent-encoded URL, escaped once more.
const PASSES: usize = 4;

#[derive(Clone, Default)]
pub(crate) struct Secrets {
    /// Each secret, its ASCII letters in lower case, and whether it is a
    /// credential (not a URL's part, which no message of ours quotes).
    whole: Vec<(Vec<u8>, bool)>,
    /// Every `MIN_PIECE`-byte window of every secret at least that long, lower case.
    pieces: HashSet<[u8; MIN_PIECE]>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} {REDACTED})", self.whole.len())
    }
}

impl Secrets {
    pub(crate) fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Secrets {
        let mut s = Secrets::default();
        for secret in secrets {
            s.add(secret.as_ref());
        }
        s
    }

    /// One more secret (a session token learnt at login); blank ones are none.
    pub(crate) fn add(&mut self, secret: &str) {
        self.add_as(secret, true);
    }

    fn add_as(&mut self, secret: &str, credential: bool) {
        let secret = secret.trim();
        if secret.is_empty() {
            return;
        }
        let lower = secret.to_ascii_lowercase().into_bytes();
        for w in lower.windows(MIN_PIECE) {
            self.pieces
                .insert(w.try_into().expect("a window of MIN_PIECE bytes"));
        }
        let decoded = percent_decoded(secret);
        match self.whole.iter_mut().find(|(w, _)| *w == lower) {
            Some((_, c)) => *c |= credential,
            None => self.whole.push((lower, credential)),
        }
        // As configured, `%2F` and all; echoed, perhaps decoded.
        if decoded != secret {
            self.add_as(&decoded, credential);
        }
    }

    /// The secret parts of `url` (see the module's header).
    pub(crate) fn add_url(&mut self, url: &str) {
        let rest = url.trim().split_once("://").map_or(url, |(_, r)| r);
        let (authority, rest) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        if let Some((user_info, _)) = authority.rsplit_once('@') {
            for part in user_info.split(':') {
                self.add_part(part);
            }
        }
        let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        self.add_part(fragment);
        for segment in path.split('/') {
            let word = segment.to_ascii_lowercase();
            let version = word
                .strip_prefix('v')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if !COMMON.contains(&word.as_str()) && !version {
                self.add_part(segment);
            }
        }
        for pair in query.split(['&', ';']) {
            // `?token` alone is a value too.
            self.add_part(pair.split_once('=').map_or(pair, |(_, v)| v));
        }
    }

    fn add_part(&mut self, part: &str) {
        if part.chars().count() >= MIN_URL_PART {
            self.add_as(part, false);
        }
    }

    /// `text` with every echo of a secret redacted, however encoded or cut.
    pub(crate) fn scrub(&self, text: &str) -> String {
        self.redact(text, true)
    }

    /// Remote text made fit for a message: scrubbed, sanitized and cut
    /// (`sanitize`), and scrubbed again, since cutting can leave a piece.
    pub(crate) fn shown(&self, remote: &str) -> String {
        self.scrub(&sanitize(&self.scrub(remote)))
    }

    /// An error with our own message, which may quote scrubbed remote
    /// text: a whole credential in it is redacted, but not a piece, nor a
    /// URL's part, so that a word of ours a secret happens to hold
    /// ("Mastodon", an instance at `https://host/mastodon`) stays.
    pub(crate) fn error(&self, msg: impl fmt::Display) -> anyhow::Error {
        anyhow!(self.redact(&msg.to_string(), false))
    }

    fn redact(&self, text: &str, pieces: bool) -> String {
        if self.whole.is_empty() || text.is_empty() {
            return text.to_owned();
        }
        let mut hit = vec![false; text.len()];
        let mut view: Vec<Unit> = text
            .bytes()
            .enumerate()
            .map(|(i, b)| Unit {
                byte: b,
                from: i,
                to: i + 1,
            })
            .collect();
        let original = view.clone();
        // Twice: `\b` may be C's backspace, or a backslash the layer below
        // escaped followed by a `b` of the secret (`\\\u0062` read twice).
        // And with and without percent-decoding: a secret may hold `%aa`,
        // which the layer that undoes its JSON escapes would also turn into
        // a byte of its own.
        for (letters, percent) in [(true, true), (false, true), (true, false), (false, false)] {
            view.clone_from(&original);
            for pass in 0..=PASSES {
                self.mark(&view, &mut hit, pieces);
                if pass == PASSES {
                    break;
                }
                match decode(&view, letters, percent) {
                    Some(next) => view = next,
                    None => break,
                }
            }
        }
        // A piece may start or end inside a character: the whole character goes.
        for (i, c) in text.char_indices() {
            let bytes = i..i + c.len_utf8();
            if hit[bytes.clone()].contains(&true) {
                hit[bytes].fill(true);
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut in_secret = false;
        for (i, c) in text.char_indices() {
            match (hit[i], in_secret) {
                (true, false) => out.push_str(REDACTED),
                (true, true) => {}
                (false, _) => out.push(c),
            }
            in_secret = hit[i];
        }
        out
    }

    /// Marks in `hit` the bytes of the original text behind each echo in `view`.
    fn mark(&self, view: &[Unit], hit: &mut [bool], pieces: bool) {
        let lower: Vec<u8> = view.iter().map(|u| u.byte.to_ascii_lowercase()).collect();
        let mut cover = |from: usize, to: usize| {
            for h in &mut hit[view[from].from..view[to - 1].to] {
                *h = true;
            }
        };
        if pieces && !self.pieces.is_empty() {
            for (i, w) in lower.windows(MIN_PIECE).enumerate() {
                if self
                    .pieces
                    .contains(<&[u8; MIN_PIECE]>::try_from(w).expect("a window"))
                {
                    cover(i, i + MIN_PIECE);
                }
            }
        }
        let word = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
        for (secret, credential) in &self.whole {
            // Long ones are found by their pieces; short ones must be a word of their own.
            if pieces && secret.len() >= MIN_PIECE
                || !pieces && !credential
                || secret.len() > lower.len()
            {
                continue;
            }
            let short = secret.len() < MIN_PIECE;
            for i in 0..=lower.len() - secret.len() {
                let end = i + secret.len();
                if lower[i..end] == secret[..]
                    && !(short && (word(lower.get(end)) || i > 0 && word(lower.get(i - 1))))
                {
                    cover(i, end);
                }
            }
        }
    }
}

/// A byte of a decoded text, with the bytes of the original it came from.
#[derive(Clone, Copy)]
struct Unit {
    byte: u8,
    from: usize,
    to: usize,
}

/// `view` with one layer of escapes undone: JSON's and C's backslash
/// escapes (`\/`, `\"`, `\u0041`, `\x41`, `\u{41}`), percent-encoding
/// (`%41`) and HTML's character references (`&#65;`, `&#x41;`, `&amp;`);
/// `None` if there was none. Without `letters`, C's one-letter escapes
/// (`\n`, `\b`, …) are left as they are, and without `percent`, `%XX`.
fn decode(view: &[Unit], letters: bool, percent: bool) -> Option<Vec<Unit>> {
    let bytes: Vec<u8> = view.iter().map(|u| u.byte).collect();
    let mut out = Vec::with_capacity(view.len());
    let mut changed = false;
    let mut i = 0;
    while i < view.len() {
        let kept = |rest: &[u8]| {
            (!letters && is_letter_escape(rest)) || (!percent && rest.first() == Some(&b'%'))
        };
        match escape_at(&bytes, i).filter(|_| !kept(&bytes[i..])) {
            Some((decoded, len)) => {
                let (from, to) = (view[i].from, view[i + len - 1].to);
                out.extend(decoded.iter().map(|&byte| Unit { byte, from, to }));
                changed = true;
                i += len;
            }
            None => {
                out.push(view[i]);
                i += 1;
            }
        }
    }
    changed.then_some(out)
}

/// `\n`, `\r`, `\t`, `\b` or `\f`.
fn is_letter_escape(rest: &[u8]) -> bool {
    matches!(rest, [b'\\', e, ..] if b"nrtbf".contains(e))
}

/// The escape starting at `bytes[i]`, if any: what it stands for, and its length.
fn escape_at(bytes: &[u8], i: usize) -> Option<(Vec<u8>, usize)> {
    let rest = &bytes[i..];
    let hex = |s: &[u8]| {
        std::str::from_utf8(s)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|s| u32::from_str_radix(s, 16).ok())
    };
    let utf8 = |c: char| c.to_string().into_bytes();
    match rest {
        [b'\\', b'u', b'{', ..] => {
            let end = rest.iter().take(12).position(|&b| b == b'}')?;
            let c = char::from_u32(hex(&rest[3..end])?)?;
            Some((utf8(c), end + 1))
        }
        [b'\\', b'u', a, b, c, d, ..] => {
            let high = hex(&[*a, *b, *c, *d])?;
            if (0xD800..0xDC00).contains(&high) {
                // A surrogate pair: `\ud83d\ude00`.
                if let [b'\\', b'u', a, b, c, d, ..] = &rest[6..] {
                    let low = hex(&[*a, *b, *c, *d])?;
                    let code = 0x10000 + ((high - 0xD800) << 10) + low.checked_sub(0xDC00)?;
                    return Some((utf8(char::from_u32(code)?), 12));
                }
                return None;
            }
            Some((utf8(char::from_u32(high)?), 6))
        }
        [b'\\', b'x', a, b, ..] => Some((vec![hex(&[*a, *b])? as u8], 4)),
        [b'\\', e, ..] if b"/\\\"'nrtbf".contains(e) => {
            let byte = match e {
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'b' => 8,
                b'f' => 12,
                other => *other,
            };
            Some((vec![byte], 2))
        }
        [b'%', a, b, ..] => Some((vec![hex(&[*a, *b])? as u8], 3)),
        [b'&', ..] => {
            let end = rest.iter().take(10).position(|&b| b == b';')?;
            let name = &rest[1..end];
            let c = match name {
                b"amp" => '&',
                b"lt" => '<',
                b"gt" => '>',
                b"quot" => '"',
                b"apos" => '\'',
                [b'#', b'x' | b'X', h @ ..] => char::from_u32(hex(h)?)?,
                [b'#', d @ ..] => {
                    let d = std::str::from_utf8(d).ok()?;
                    char::from_u32(d.parse().ok()?)?
                }
                _ => return None,
            };
            Some((utf8(c), end + 1))
        }
        _ => None,
    }
}

/// `s` with its `%XX` escapes decoded, where the result is UTF-8.
fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match escape_at(bytes, i).filter(|_| bytes[i] == b'%') {
            Some((b, len)) => {
                out.extend(b);
                i += len;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

/// Remote text goes into logs and terminals: control characters become
/// spaces, bidi and zero-width ones visible escapes, and its length is
/// bounded. Never shown but through `Secrets::shown`, which scrubs it
/// before and after.
pub(crate) fn sanitize(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let clean = crate::text::escape(&spaced);
    match clean.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &clean[..cut]),
        None => clean.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOKEN: &str = "tok3n-Zq81/xYw";

    /// Every piece of `secret` of `MIN_PIECE` bytes or more that `text` holds.
    fn pieces_in(text: &str, secret: &str) -> Vec<String> {
        let (text, secret) = (text.to_ascii_lowercase(), secret.to_ascii_lowercase());
        (0..secret.len())
            .flat_map(|i| (i + MIN_PIECE..=secret.len()).map(move |j| (i, j)))
            .filter_map(|(i, j)| secret.get(i..j))
            .filter(|p| text.contains(p))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn echoes_are_found_however_they_are_encoded() {
        let s = Secrets::new([TOKEN]);
        for echo in [
            TOKEN.to_string(),
            TOKEN.replace('/', "\\/"),
            TOKEN.to_uppercase(),
            "\\u0074\\u006F\\u006b3n-Zq81\\/xYw".to_string(),
            "tok3n-Zq81%2FxYw".to_string(),
            "tok3n-Zq81%252FxYw".to_string(),
            "\\\\u0074ok3n-Zq81\\\\/xYw".to_string(),
            "&#116;ok3n-Zq81&#x2F;xYw".to_string(),
            "\\u{74}ok3n-Zq81\\x2fxYw".to_string(),
        ] {
            let text = format!("bad token \"{echo}\" here");
            assert_eq!(s.scrub(&text), "bad token \"<redacted>\" here", "{echo}");
        }
    }

    #[test]
    fn a_cut_echo_is_redacted_down_to_six_bytes() {
        let s = Secrets::new([TOKEN]);
        assert_eq!(s.scrub("token tok3n-Z…"), "token <redacted>…");
        assert_eq!(s.scrub("token \\u0074ok3n-…"), "token <redacted>…");
        assert_eq!(s.scrub("…Zq81/xYw was bad"), "…<redacted> was bad");
        // Five bytes tell next to nothing, and would garble ordinary words.
        assert_eq!(s.scrub("token tok3n…"), "token tok3n…");
        // Cut by our own limit: scrubbed again after cutting.
        let long = format!("{}{TOKEN}", "y".repeat(MAX_DETAIL_CHARS - 8));
        let shown = s.shown(&long);
        assert!(pieces_in(&shown, TOKEN).is_empty(), "{shown}");
    }

    #[test]
    fn a_urls_secret_parts_are_its_path_query_and_user_info() {
        let mut s = Secrets::default();
        s.add_url("https://bob:pa55word@hooks.example:8443/api/v1/hooks/T0/B0123/XYZ%2Fsecret?token=qv4lue&x=1#frag");
        for secret in ["bob", "pa55word", "B0123", "XYZ/secret", "qv4lue", "frag"] {
            assert_eq!(s.scrub(&format!("[{secret}]")), "[<redacted>]", "{secret}");
        }
        // The host, the API's words and parts too short to be secret stay.
        assert_eq!(
            s.scrub("POST https://hooks.example:8443/api/v1/hooks/T0/B0123 (x=1)"),
            "POST https://hooks.example:8443/api/v1/hooks/T0/<redacted> (x=1)"
        );
        // A short secret only as a word of its own: "bob" in "bobcat" stays.
        assert_eq!(s.scrub("bobcat bob"), "bobcat <redacted>");
    }

    #[test]
    fn our_own_words_are_kept_in_an_error_but_a_whole_secret_is_not() {
        let s = Secrets::new(["MTOKEN-mastodon-7f3a"]);
        let e = s.error("Mastodon refused it; Mastodon says: MTOKEN-mastodon-7f3a");
        assert_eq!(
            e.to_string(),
            "Mastodon refused it; Mastodon says: <redacted>"
        );
        let mut s = Secrets::default();
        s.add_url("https://social.example/mastodon");
        let e = s.error("Mastodon at https://social.example refused it");
        assert_eq!(
            e.to_string(),
            "Mastodon at https://social.example refused it"
        );
        assert_eq!(s.scrub("no /mastodon here"), "no /<redacted> here");
        assert_eq!(s.scrub("Mastodon is down"), "<redacted> is down");
        assert!(!format!("{s:?}").contains("MTOKEN"));
    }

    #[test]
    fn multibyte_text_and_secrets_are_cut_at_characters() {
        let s = Secrets::new(["ключ-секрет-42"]);
        assert_eq!(s.scrub("é ключ-секрет-42 é"), "é <redacted> é");
        assert_eq!(
            s.scrub("xx\u{43a}\u{43b}\u{44e}\u{447}-\u{441}"),
            "xx<redacted>"
        );
        assert_eq!(Secrets::default().scrub("plain"), "plain");
    }

    /// `text`, and it with one, two and three layers of the escapes
    /// `encode` writes undone: an independent reading, to check the
    /// scrubber's.
    fn readings(text: &str) -> Vec<String> {
        let mut all = readings_with(text, true);
        all.extend(readings_with(text, false));
        all
    }

    /// `readings`, with or without `%XX` undone.
    fn readings_with(text: &str, percent: bool) -> Vec<String> {
        let mut t = text.to_string();
        let mut all = vec![t.clone()];
        for _ in 0..3 {
            let mut out = String::new();
            let mut rest = t.as_str();
            while let Some(c) = rest.chars().next() {
                let num = |s: Option<&str>, radix| {
                    s.and_then(|h| u32::from_str_radix(h, radix).ok())
                        .and_then(char::from_u32)
                };
                let entity = rest
                    .find(';')
                    .filter(|&end| rest.starts_with("&#") && end < 10);
                let (ch, len) = match (c, rest.get(1..2)) {
                    ('\\', Some("u")) => (num(rest.get(2..6), 16), 6),
                    ('\\', Some(e)) if "/\\\"".contains(e) => (e.chars().next(), 2),
                    ('%', _) if percent => (num(rest.get(1..3), 16), 3),
                    ('&', _) if entity.is_some() => {
                        let end = entity.unwrap_or(0);
                        (num(rest.get(2..end), 10), end + 1)
                    }
                    _ => (None, 0),
                };
                match ch {
                    Some(ch) => {
                        out.push(ch);
                        rest = &rest[len..];
                    }
                    None => {
                        out.push(c);
                        rest = &rest[c.len_utf8()..];
                    }
                }
            }
            t = out;
            all.push(t.clone());
        }
        all
    }

    /// A secret that holds `%00`, echoed JSON-escaped after a backslash: the
    /// test's own reading lost it to percent-decoding (found by the property
    /// below in CI); the scrubber removes it.
    #[test]
    fn a_secret_holding_a_percent_escape_is_found_behind_a_backslash() {
        let s = Secrets::new(["!%00!A"]);
        let text = format!("\\{}", encode("!%00!A", 2));
        assert!(echoes(&text, "!%00!A"), "{text}");
        assert!(
            !echoes(&s.scrub(&text), "!%00!A"),
            "{text} -> {}",
            s.scrub(&text)
        );
    }

    /// A secret holding `%aa`, echoed with every other character escaped:
    /// the layer that undoes the JSON escapes would also undo `%aa`.
    #[test]
    fn a_secret_holding_a_percent_escape_is_found_between_json_escapes() {
        let s = Secrets::new(["aaA0a%aa"]);
        let text = encode("aaA0a%aa", 7);
        assert!(echoes(&text, "aaA0a%aa"), "{text}");
        assert!(
            !echoes(&s.scrub(&text), "aaA0a%aa"),
            "{text} -> {}",
            s.scrub(&text)
        );
    }

    /// A backslash before an echo escaped twice pairs with the first escape's
    /// own backslash: read once, `\\\u0062` is `\b`, which C would read
    /// as a backspace (found by the property below at 5,000 cases).
    #[test]
    fn a_backslash_before_a_twice_escaped_echo_does_not_hide_it() {
        let s = Secrets::new(["baAaA!"]);
        let text = format!("\\{}", encode("baAaA!", 6));
        assert!(echoes(&text, "baAaA!"), "{text}");
        assert!(
            !echoes(&s.scrub(&text), "baAaA!"),
            "{text} -> {}",
            s.scrub(&text)
        );
    }

    /// Whether any reading of `text` holds a piece of `secret`.
    fn echoes(text: &str, secret: &str) -> bool {
        readings(text)
            .iter()
            .any(|r| !pieces_in(r, secret).is_empty())
    }

    /// How a service might write `secret` back.
    fn encode(secret: &str, how: u8) -> String {
        let json = |c: char| match c {
            '/' => "\\/".to_string(),
            '"' => "\\\"".to_string(),
            '\\' => "\\\\".to_string(),
            c => c.to_string(),
        };
        match how % 8 {
            0 => secret.to_string(),
            1 => secret.chars().map(json).collect(),
            2 => secret
                .chars()
                .map(|c| format!("\\u{:04x}", c as u32))
                .collect(),
            3 => secret.bytes().map(|b| format!("%{b:02X}")).collect(),
            4 => secret.chars().map(|c| format!("&#{};", c as u32)).collect(),
            5 => secret.to_ascii_uppercase(),
            // JSON-escaped twice, as a JSON string inside a JSON string.
            6 => secret
                .chars()
                .map(|c| format!("\\\\u{:04X}", c as u32))
                .collect(),
            // Every other character escaped.
            _ => secret
                .chars()
                .enumerate()
                .map(|(i, c)| match i % 2 {
                    0 => format!("\\u{:04x}", c as u32),
                    _ => json(c),
                })
                .collect(),
        }
    }

    proptest! {
        #[test]
        fn no_echo_survives(
            secret in "[!-~]{6,40}",
            how in any::<u8>(),
            cut in any::<prop::sample::Index>(),
            keep_head in any::<bool>(),
            before in "[ -~]{0,30}",
            after in "[ -~]{0,30}",
        ) {
            let s = Secrets::new([&secret]);
            let chars: Vec<char> = secret.chars().collect();
            let at = MIN_PIECE + cut.index(chars.len() - MIN_PIECE + 1);
            // The whole secret, or a cut of it, from its start or up to its end.
            let part: String = match keep_head {
                true => chars[..at].iter().collect(),
                false => chars[chars.len() - at..].iter().collect(),
            };
            let text = format!("{before}{}{after}", encode(&part, how));
            let scrubbed = s.scrub(&text);
            let shown = s.shown(&text);
            let e = s.error(format!("refused; says: {shown}")).to_string();
            // Judged only where the independent reading finds the echo: a
            // backslash before it can pair with the echo's own escapes in
            // ways no single reading undoes (the unit tests above hold the
            // cases found so far).
            prop_assume!(echoes(&text, &part));
            for out in [&scrubbed, &shown, &e] {
                prop_assert!(!echoes(out, &part), "{text:?} -> {out:?}");
            }
            // Escaped once more, as a JSON body quoting the text.
            let body = serde_json::json!({ "error": text }).to_string();
            let twice = s.scrub(&body);
            prop_assert!(!twice.to_ascii_lowercase().contains(&part.to_ascii_lowercase()), "{body:?} -> {twice:?}");
        }

        #[test]
        fn no_part_of_a_url_echoes(
            segments in prop::collection::vec("[A-Za-z0-9_.~-]{6,24}", 1..4),
            value in "[A-Za-z0-9_.~-]{6,24}",
            how in any::<u8>(),
        ) {
            let url = format!("https://hooks.example/api/{}?token={value}", segments.join("/"));
            let mut s = Secrets::default();
            s.add_url(&url);
            let mut parts = segments.clone();
            parts.push(value.clone());
            let quoted: Vec<String> = parts.iter().map(|p| encode(p, how)).collect();
            let text = format!("invalid token {} for hook {}", quoted.join(" "), encode(&url, how));
            let (scrubbed, shown) = (s.scrub(&text), s.shown(&text));
            for part in &parts {
                prop_assert!(!echoes(&scrubbed, part), "{text:?} -> {scrubbed:?}");
                prop_assert!(!echoes(&shown, part), "{text:?} -> {shown:?}");
            }
            // The host and the API's words stay.
            let kept = readings(&scrubbed)
                .iter()
                .any(|r| r.to_ascii_lowercase().contains("hooks.example/api/"));
            prop_assert!(kept, "{scrubbed}");
        }

        #[test]
        fn text_without_a_secret_is_left_alone(
            secret in "[A-Za-z0-9]{16,40}",
            // No escapes: text that decodes to a piece would rightly be redacted.
            text in "[ -$'-\\[\\]-~]{0,80}",
        ) {
            let s = Secrets::new([&secret]);
            prop_assume!(pieces_in(&text, &secret).is_empty());
            prop_assert_eq!(s.scrub(&text), text);
        }
    }
}
