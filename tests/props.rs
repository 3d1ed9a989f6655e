//! Property tests over the two parsers of untrusted bytes: `parse::parse`
//! (one log line → an event) and `lines::for_each_line` (a byte stream →
//! lines). Arbitrary and mutated input never panics, an event's address is
//! never taken from the attacker-chosen user name, and the line reader's
//! output is exactly what a naive reference splitter says.
//!
//! 256 cases per property by default; `PROPTEST_CASES=200000 cargo test
//! --release --test props` for a long run.

use std::io::{self, BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use proptest::prelude::*;
use tweet_attacks::lines::{MAX_LINE, ReadStats, for_each_line};
use tweet_attacks::parse::{Event, parse};

#[path = "support/addr.rs"]
mod addr;
use addr::{addresses_in, client};

// ---------------------------------------------------------------------------
// parse

/// Real lines of every form, and noise around them.
const REAL: &[&str] = &[
    "Nov 26 00:00:03 web01 sshd[3504]: Failed password for invalid user administrator from 52.226.211.185 port 17641 ssh2",
    "Nov 26 00:00:06 web01 sshd-session[3835]: Failed password for root from 91.6.37.142 port 18066 ssh2",
    "2026-11-26T10:15:01.123456+00:00 bastion.example.org sshd[2211]: Failed publickey for git from 2a01:4f8:5d9d:c9f8::9531:985d port 50022 ssh2: ED25519 SHA256:oIRDcjzC0HOoVVkNyN1ziBxBgbEoulZglO3/z9V/EeI",
    "Nov 26 00:00:06 web01 sshd[4000]: Failed keyboard-interactive/pam for invalid user pi from 198.51.100.9 port 40000 ssh2",
    "Nov 26 00:03:42 web01 sshd[9963]: Failed none for invalid user admin from 129.231.78.245 port 55038 ssh2",
    "Nov 26 00:00:02 web01 sshd[3504]: Invalid user administrator from 52.226.211.185 port 17641",
    "Nov 26 00:00:02 web01 sshd[3504]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=52.226.211.185 ",
    "Nov 26 00:01:04 web01 sshd[5220]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=109.118.176.126  user=root",
    "Nov 26 00:00:11 web01 sshd[3668]: PAM 4 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=57.38.48.89 ",
    "Nov 26 00:00:11 web01 sshd[3670]: error: PAM: Authentication failure for root from 203.0.113.5",
    "Nov 26 00:00:59 web01 sshd-session[4480]: error: maximum authentication attempts exceeded for invalid user ubuntu from 163.143.213.71 port 17277 ssh2 [preauth]",
    "Nov 26 00:00:59 web01 sshd[4481]: User postgres from 203.0.113.7 not allowed because not listed in AllowUsers",
    "Nov 26 00:00:04 web01 sshd[3504]: Connection closed by invalid user administrator 52.226.211.185 port 17641 [preauth]",
    "Nov 26 00:00:24 web01 sshd[4154]: Connection reset by invalid user oracle 2a01:4f8:5d9d:c9f8::9531:985d port 64126 [preauth]",
    "Nov 26 00:00:48 web01 sshd[4692]: Disconnected from authenticating user root 82.230.180.56 port 32873 [preauth]",
    "Nov 26 00:00:59 web01 sshd-session[4480]: Disconnecting invalid user ubuntu 163.143.213.71 port 17277: Too many authentication failures [preauth]",
    "Nov 26 00:01:23 web01 sshd[5403]: message repeated 2 times: [ Failed password for invalid user teamspeak from 57.38.48.89 port 9387 ssh2]",
    r#"Thu Nov 26 00:00:01 2026 [pid 4165] [admin] FAIL LOGIN: Client "212.24.247.175""#,
    r#"Thu Nov 26 00:00:01 2026 [pid 4165] [admin] FAIL LOGIN: Client "::ffff:212.24.247.175", "Login incorrect.""#,
    r#"Nov 26 00:00:01 web01 vsftpd[1233]: [admin] FAIL LOGIN: Client "1.2.3.4""#,
    "Nov 26 00:00:01 web01 vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=admin rhost=198.51.100.33 ",
    "Nov 26 00:00:13 web01 sshd[3921]: Accepted password for deploy from 192.0.2.200 port 20311 ssh2",
    "Nov 26 00:00:03 web01 sshd[1]: Failed password for root from evil.example.com port 22 ssh2",
];

/// Text that moves an address into the attacker's user name, or looks like a
/// line's fixed part.
const TOKENS: &[&str] = &[
    " from 1.2.3.4 port 22 ssh2",
    " from 1.2.3.4",
    " port 22",
    " rhost=1.2.3.4",
    "  user=",
    "] FAIL LOGIN: Client \"1.2.3.4\"",
    "\", \"",
    " 1.2.3.4 port 22 [preauth]",
    ": Too many authentication failures",
    " not allowed because listed in DenyUsers",
    "invalid user ",
    "message repeated 9 times: [ ",
    "::ffff:",
    "[pid 1] ",
    "sshd[1]: ",
    "\r",
    "\x1b[2J",
    "\u{202e}",
    "\u{9b}",
    "4294967296",
    "\u{0}",
];

/// Where `part`, a slice borrowed from `line`, sits in it.
fn span_in(line: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - line.as_ptr() as usize;
    assert!(start + part.len() <= line.len(), "a slice of the line");
    start..start + part.len()
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// What holds for any event of any line: its address is written in the line,
/// outside the user name the attacker chose, and it counts at least one guess.
fn check_event(line: &[u8], ev: &Event) -> Result<(), TestCaseError> {
    prop_assert!(ev.count >= 1);
    let user = ev.user.map(|u| span_in(line, u));
    // A line without an address of its own blames nobody by itself.
    let Some(ev_ip) = ev.ip else {
        return Ok(());
    };
    let found = addresses_in(line)
        .into_iter()
        .any(|(ip, at)| ip == ev_ip && user.as_ref().is_none_or(|u| !overlaps(u, &at)));
    prop_assert!(
        found,
        "{} is not written outside the user name {:?} in {:?}",
        ev_ip,
        user,
        String::from_utf8_lossy(line)
    );
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Token(usize, usize),
    Delete(usize, usize),
    Splice(usize, usize, usize),
    /// Replace one number of the line (pid, port, count, time) with another.
    Number(usize, u64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(p, v)| Mutation::Insert(p, v)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(p, t)| Mutation::Token(p, t)),
        (any::<usize>(), 1usize..12).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), 0..REAL.len(), any::<usize>())
            .prop_map(|(p, l, q)| Mutation::Splice(p, l, q)),
        (
            any::<usize>(),
            // Around the limits of u32, and of the 9 digits a pid or count may have.
            prop_oneof![any::<u64>(), 0u64..3, 999_999_990u64..10_000_000_000]
        )
            .prop_map(|(p, n)| Mutation::Number(p, n)),
    ]
}

fn apply(line: &mut Vec<u8>, m: &Mutation) {
    let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
    match m {
        Mutation::Flip(p, b) => {
            if !line.is_empty() {
                let i = p % line.len();
                line[i] = *b;
            }
        }
        Mutation::Insert(p, v) => {
            let i = at(*p, line.len());
            line.splice(i..i, v.iter().copied());
        }
        Mutation::Token(p, t) => {
            let i = at(*p, line.len());
            line.splice(i..i, TOKENS[*t].bytes());
        }
        Mutation::Delete(p, n) => {
            let i = at(*p, line.len());
            let end = (i + n).min(line.len());
            line.drain(i..end);
        }
        Mutation::Splice(p, l, q) => {
            // The head of this line, the tail of another.
            let other = REAL[*l].as_bytes();
            let i = at(*p, line.len());
            let j = at(*q, other.len());
            line.truncate(i);
            line.extend_from_slice(&other[j..]);
        }
        Mutation::Number(p, n) => {
            let mut runs = Vec::new();
            let mut i = 0;
            while i < line.len() {
                let start = i;
                while i < line.len() && line[i].is_ascii_digit() {
                    i += 1;
                }
                if i > start {
                    runs.push(start..i);
                }
                i += 1;
            }
            if !runs.is_empty() {
                let r = runs[p % runs.len()].clone();
                line.splice(r, n.to_string().into_bytes());
            }
        }
    }
}

/// A source address as sshd or vsftpd may print it, and what it stands for.
fn address() -> impl Strategy<Value = (String, IpAddr)> {
    prop_oneof![
        any::<u32>().prop_map(|n| {
            let ip = Ipv4Addr::from(n);
            (ip.to_string(), IpAddr::V4(ip))
        }),
        any::<u128>().prop_map(|n| {
            let ip = Ipv6Addr::from(n);
            (ip.to_string(), client(IpAddr::V6(ip)))
        }),
        any::<u32>().prop_map(|n| {
            let ip = Ipv4Addr::from(n);
            (format!("::ffff:{ip}"), IpAddr::V4(ip))
        }),
    ]
}

/// Pieces of an attacker's user name carrying the address `a`.
fn injections(a: &str) -> Vec<Vec<u8>> {
    [
        format!(" from {a} port 22 ssh2"),
        format!(" from {a} port 22"),
        format!(" from {a}"),
        format!("x from {a} port 22 ssh2: RSA SHA256:abc"),
        format!(" from {a} port 22 ssh2: RSA-CERT SHA256:z ID "),
        format!(" rhost={a}"),
        format!(" rhost={a}  user="),
        format!("  user=x rhost={a} "),
        format!("] FAIL LOGIN: Client \"{a}\""),
        format!("] FAIL LOGIN: Client \"{a}\", \"Login incorrect.\""),
        format!(" {a} port 22 [preauth]"),
        format!(" {a} port 22: Too many authentication failures"),
        format!(" from {a} not allowed because listed in DenyUsers"),
        format!("invalid user x from {a}"),
        a.to_string(),
        "\" ".to_string(),
        "] ".to_string(),
        "\x1b]0;pwned\x07".to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .chain([b"\xff\xfe".to_vec(), b"\xc2\x9b".to_vec()])
    .collect()
}

/// The attacker's user name: injection pieces and random bytes, no newline.
fn user_name(a: String) -> impl Strategy<Value = Vec<u8>> {
    let pieces = injections(&a);
    let piece = prop_oneof![
        3 => (0..pieces.len()).prop_map(move |i| pieces[i].clone()),
        1 => prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..6),
        1 => "[a-z]{0,8}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|v| v.concat())
}

/// Every form, with `{U}` the attacker's user name and `{R}` the real source.
const FORMS: &[&str] = &[
    "Nov 26 00:00:03 web01 sshd[1]: Failed password for {U} from {R} port 4711 ssh2",
    "Nov 26 00:00:03 web01 sshd[1]: Failed password for invalid user {U} from {R} port 4711 ssh2",
    "Nov 26 00:00:03 web01 sshd[1]: Failed publickey for {U} from {R} port 4711 ssh2: ED25519 SHA256:oIRDcjzC0HOoVVkNyN1ziBxBgbEoulZglO3/z9V/EeI",
    "Nov 26 00:00:03 web01 sshd[1]: Failed keyboard-interactive/pam for invalid user {U} from {R} port 4711 ssh2",
    "Nov 26 00:00:03 web01 sshd[1]: Invalid user {U} from {R} port 4711",
    "Nov 26 00:00:03 web01 sshd[1]: Invalid user {U} from {R}",
    "Nov 26 00:00:03 web01 sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={R}  user={U}",
    "Nov 26 00:00:03 web01 sshd[1]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={R}  user={U}",
    "Nov 26 00:00:03 web01 sshd[1]: error: PAM: Authentication failure for {U} from {R}",
    "Nov 26 00:00:03 web01 sshd[1]: error: PAM: Authentication failure for illegal user {U} from {R}",
    "Nov 26 00:00:03 web01 sshd[1]: error: maximum authentication attempts exceeded for invalid user {U} from {R} port 4711 ssh2 [preauth]",
    "Nov 26 00:00:03 web01 sshd[1]: User {U} from {R} not allowed because not listed in AllowUsers",
    "Nov 26 00:00:03 web01 sshd[1]: Connection closed by invalid user {U} {R} port 4711 [preauth]",
    "Nov 26 00:00:03 web01 sshd-session[1]: Connection closed by authenticating user {U} {R} port 4711 [preauth]",
    "Nov 26 00:00:03 web01 sshd[1]: Connection reset by invalid user {U} {R} port 4711 [preauth]",
    "Nov 26 00:00:03 web01 sshd[1]: Disconnected from authenticating user {U} {R} port 4711 [preauth]",
    "Nov 26 00:00:03 web01 sshd[1]: Disconnecting invalid user {U} {R} port 4711: Too many authentication failures [preauth]",
    "Nov 26 00:00:03 web01 sshd[1]: message repeated 3 times: [ Failed password for invalid user {U} from {R} port 4711 ssh2]",
    "2026-11-26T10:15:01.123456+00:00 host.example.org sshd-session[1]: Failed password for {U} from {R} port 4711 ssh2",
    "Thu Nov 26 00:00:01 2026 [pid 9] [{U}] FAIL LOGIN: Client \"{R}\"",
    "Thu Nov 26 00:00:01 2026 [pid 9] [{U}] FAIL LOGIN: Client \"{R}\", \"Login incorrect.\"",
    "Nov 26 00:00:01 web01 vsftpd[9]: [{U}] FAIL LOGIN: Client \"{R}\"",
    // pam_unix for vsftpd: ruser is the FTP user name; `user=` follows when the account exists.
    "Nov 26 00:00:01 web01 vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser={U} rhost={R} ",
    "Nov 26 00:00:01 web01 vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser={U} rhost={R}  user={U}",
];

/// A name can make a line ambiguous, and then it is rejected (never
/// misread): vsftpd's pam_unix line has the user name before the address
/// (` rhost=`); a disconnect's reason and vsftpd's words after the address
/// may be the client's (a fake ` port N: ` or `FAIL LOGIN`).
fn may_reject(form: &str, user: &[u8]) -> bool {
    let holds = |part: &[u8]| user.windows(part.len()).any(|w| w == part);
    (form.contains("ruser={U}") && holds(b" rhost="))
        || (form.contains("Disconnecting") && holds(b" port "))
        || (form.contains("FAIL LOGIN") && holds(b"FAIL LOGIN"))
}

/// The line, and where the user name sits in it (vsftpd's pam_unix line has it twice).
/// sshd prints at most 100 bytes of the name (`%.100s`), or 200 of the
/// connection's name that holds it (`invalid user U`).
fn fill(form: &str, user: &[u8], real: &str) -> (Vec<u8>, Vec<Range<usize>>) {
    let limit = if !form.contains("sshd") || form.contains("pam_unix") || form.contains("PAM 2") {
        usize::MAX
    } else if form.contains(" user {U} {R}") {
        200 - form
            .split(" user {U}")
            .next()
            .map_or(0, |h| if h.ends_with("invalid") { 13 } else { 20 })
    } else {
        100
    };
    let user = &user[..user.len().min(limit)];
    let mut out = Vec::new();
    let mut typed = Vec::new();
    let mut rest = form.as_bytes();
    while let Some(i) = rest.iter().position(|&b| b == b'{') {
        out.extend_from_slice(&rest[..i]);
        match &rest[i..i + 3] {
            b"{U}" => {
                typed.push(out.len()..out.len() + user.len());
                out.extend_from_slice(user)
            }
            b"{R}" => out.extend_from_slice(real.as_bytes()),
            other => out.extend_from_slice(other),
        }
        rest = &rest[i + 3..];
    }
    out.extend_from_slice(rest);
    (out, typed)
}

/// The other end of a `Failed publickey` line: a certificate's key ID, which
/// the client also chooses, printed after sshd's own address.
const CERT_FORMS: &[&str] = &[
    "Nov 26 00:00:03 web01 sshd[1]: Failed publickey for {U} from {R} port 4711 ssh2: RSA-CERT SHA256:abc ID {K} (serial 1) CA RSA SHA256:def",
    "Nov 26 00:00:03 web01 sshd[1]: Failed publickey for invalid user {U} from {R} port 4711 ssh2: ED25519-CERT ID {K} (serial 9) CA ED25519 2b:4c:6d:8e:9f:a0:b1:c2:d3:e4:f5:06:17:28:39:4a",
];

/// A key ID, in pieces: the user name's, whole fake certificate suffixes,
/// and padding that pushes sshd's end past a syslog line limit.
fn key_id(a: String) -> impl Strategy<Value = Vec<Vec<u8>>> {
    let mut pieces = injections(&a);
    pieces.extend(
        [
            format!("x from {a} port 22 ssh2: RSA-CERT ID y (serial 1) CA RSA SHA256:q"),
            " (serial 1) CA RSA SHA256:q".to_string(),
        ]
        .map(String::into_bytes),
    );
    let piece = prop_oneof![
        4 => (0..pieces.len()).prop_map(move |i| pieces[i].clone()),
        2 => Just(b"A".repeat(300)),
        1 => "[a-z@.]{0,8}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 0..6)
}

proptest! {
    /// A key ID, whole or cut by syslog's line limit (256 bytes or more)
    /// after any of its pieces, never blames any address but the real one.
    #[test]
    fn injected_key_ids_never_move_the_blame(
        form in 0..CERT_FORMS.len(),
        ((real, real_ip), user, key) in (address(), address())
            .prop_flat_map(|(real, (fake, _))| (Just(real), user_name(fake.clone()), key_id(fake))),
        cut_after in any::<prop::sample::Index>(),
        cut in any::<bool>(),
    ) {
        let (head, tail) = CERT_FORMS[form].split_once("{K}").unwrap();
        let (mut line, _) = fill(head, &user, &real);
        let mut ends = Vec::new();
        for p in &key {
            line.extend_from_slice(p);
            ends.push(line.len());
        }
        line.extend_from_slice(tail.as_bytes());
        if cut && !ends.is_empty() {
            let at = ends[cut_after.index(ends.len())];
            if at >= 256 {
                line.truncate(at);
            }
        }
        if let Some(ev) = parse(&line) {
            prop_assert!(
                ev.ip.is_none() || ev.ip == Some(real_ip),
                "{:?} blamed in {:?}",
                ev.ip,
                String::from_utf8_lossy(&line)
            );
            check_event(&line, &ev)?;
        }
    }

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(line in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Some(ev) = parse(&line) {
            check_event(&line, &ev)?;
        }
    }

    #[test]
    fn parse_holds_on_mutated_real_lines(
        base in 0..REAL.len(),
        muts in prop::collection::vec(mutation(), 0..6),
    ) {
        let mut line = REAL[base].as_bytes().to_vec();
        for m in &muts {
            apply(&mut line, m);
        }
        if let Some(ev) = parse(&line) {
            check_event(&line, &ev)?;
        }
    }

    /// Log injection: whatever address the user name carries, the event's
    /// address is the real one, and the user name is the attacker's text.
    #[test]
    fn injected_user_names_never_move_the_blame(
        form in 0..FORMS.len(),
        ((real, real_ip), user) in (address(), address())
            .prop_flat_map(|(real, (fake, _))| (Just(real), user_name(fake))),
    ) {
        let form = FORMS[form];
        let (line, typed) = fill(form, &user, &real);
        let Some(ev) = parse(&line) else {
            prop_assert!(
                may_reject(form, &user),
                "not recognised: {:?}",
                String::from_utf8_lossy(&line)
            );
            return Ok(());
        };
        // A failure whose name holds a whole fake end of the line (its
        // address, then the client's auth info) is ambiguous: such a line
        // blames nobody by itself (its connection's address counts).
        if ev.ip.is_none() {
            prop_assert_eq!(ev.user, None);
            return Ok(());
        }
        prop_assert_eq!(ev.ip, Some(real_ip), "{:?}", String::from_utf8_lossy(&line));
        check_event(&line, &ev)?;
        // The user name the event reports is part of what the attacker typed.
        if let Some(u) = ev.user {
            let at = span_in(&line, u);
            prop_assert!(
                typed.iter().any(|t| t.start <= at.start && at.end <= t.end),
                "user {:?} is not within the typed name in {:?}",
                String::from_utf8_lossy(u),
                String::from_utf8_lossy(&line)
            );
        }
    }
}

// ---------------------------------------------------------------------------
// for_each_line

/// The reference: split on every newline, skip pieces over MAX_LINE.
fn reference(input: &[u8], final_line: bool) -> (Vec<&[u8]>, ReadStats) {
    let mut lines = Vec::new();
    let mut st = ReadStats::default();
    let mut start = 0;
    for (i, &b) in input.iter().enumerate() {
        if b == b'\n' {
            let piece = &input[start..i];
            if piece.len() > MAX_LINE {
                st.too_long += 1;
            } else {
                lines.push(piece);
            }
            st.lines += 1;
            start = i + 1;
        }
    }
    st.consumed = start as u64;
    let rest = &input[start..];
    if !rest.is_empty() {
        if final_line {
            if rest.len() > MAX_LINE {
                st.too_long += 1;
            } else {
                lines.push(rest);
            }
            st.lines += 1;
            st.consumed = input.len() as u64;
        } else {
            st.partial = rest.len() as u64;
        }
    }
    (lines, st)
}

/// A reader that hands out at most the next chunk size per read and is
/// sometimes interrupted (EINTR), as a pipe or a slow disk would be; never
/// twice in a row, so every retry makes progress.
struct Chunky<'a> {
    data: &'a [u8],
    chunks: Vec<usize>,
    next: usize,
    interrupted: bool,
}

impl Read for Chunky<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let c = self.chunks[self.next % self.chunks.len()];
        self.next += 1;
        if c == 0 && !self.data.is_empty() && !self.interrupted {
            self.interrupted = true;
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        self.interrupted = false;
        let n = c.max(1).min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Input built from segments, so that lines near and over MAX_LINE are common.
fn segmented_input() -> impl Strategy<Value = Vec<u8>> {
    let len = prop_oneof![
        6 => 0usize..40,
        1 => Just(MAX_LINE - 1),
        1 => Just(MAX_LINE),
        1 => Just(MAX_LINE + 1),
        1 => (MAX_LINE - 300)..(3 * MAX_LINE),
    ];
    let segment = (
        len,
        any::<u8>(),
        any::<bool>(),
        prop::option::of(any::<u8>()),
    );
    prop::collection::vec(segment, 0..12).prop_map(|segs| {
        let mut out = Vec::new();
        for (len, fill, newline, odd) in segs {
            let fill = if fill == b'\n' { b'x' } else { fill };
            out.extend(std::iter::repeat_n(fill, len));
            if let Some(b) = odd {
                out.push(b); // may itself be a newline
            }
            if newline {
                out.push(b'\n');
            }
        }
        out
    })
}

fn capacity() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..16, 16usize..5000, Just(MAX_LINE), 1usize..(1 << 20)]
}

fn check_lines<R: BufRead>(input: &[u8], reader: R, final_line: bool) -> Result<(), TestCaseError> {
    let mut got: Vec<Vec<u8>> = Vec::new();
    let st = for_each_line(reader, final_line, |l| got.push(l.to_vec())).unwrap();
    let (want, want_st) = reference(input, final_line);
    prop_assert_eq!(st, want_st);
    prop_assert!(got.len() == want.len() && got.iter().zip(&want).all(|(g, w)| g == w));
    prop_assert!(
        got.iter()
            .all(|l| l.len() <= MAX_LINE && !l.contains(&b'\n'))
    );
    prop_assert_eq!(st.consumed + st.partial, input.len() as u64);
    if st.too_long == 0 {
        // Lines and their newlines are exactly the consumed prefix.
        let mut joined = got.join(&b"\n"[..]);
        if !got.is_empty() && (st.consumed as usize) > joined.len() {
            joined.push(b'\n');
        }
        prop_assert!(joined == input[..st.consumed as usize]);
    }
    Ok(())
}

proptest! {
    #[test]
    fn lines_of_arbitrary_bytes(
        input in prop::collection::vec(any::<u8>(), 0..2000),
        cap in capacity(),
        final_line in any::<bool>(),
    ) {
        check_lines(&input, BufReader::with_capacity(cap, &input[..]), final_line)?;
    }

    #[test]
    fn lines_near_the_limit_with_any_buffer(
        input in segmented_input(),
        cap in capacity(),
        final_line in any::<bool>(),
    ) {
        check_lines(&input, BufReader::with_capacity(cap, &input[..]), final_line)?;
    }

    #[test]
    fn lines_through_short_and_interrupted_reads(
        input in segmented_input(),
        // 0 stands for a read interrupted by a signal (EINTR).
        chunks in prop::collection::vec(prop_oneof![Just(0usize), 1usize..16, 16usize..70_000], 1..8),
        cap in capacity(),
        final_line in any::<bool>(),
    ) {
        let reader = Chunky { data: &input, chunks, next: 0, interrupted: false };
        check_lines(&input, BufReader::with_capacity(cap, reader), final_line)?;
    }
}
