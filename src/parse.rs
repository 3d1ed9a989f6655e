//! Log lines → failed-login events. Pure: no I/O, no clock.
//!
//! The attacker chooses the user name, so every pattern is anchored at the
//! fixed end of the message (or, for pam_unix, at its fixed leading fields)
//! and the user name is matched greedily: the source address is always the
//! one sshd or vsftpd wrote last, never one typed into the user name.
//!
//! A line is split by hand into timestamp, host, program and message; lines
//! from other programs, and messages whose first word cannot start a failure,
//! are rejected at once. That keeps noise lines almost free. sshd's messages
//! are then matched by hand from their fixed end, with exactly the meaning of
//! the patterns listed above `sshd_body` (a test holds the two together, the
//! patterns run by the regex engine); vsftpd's rarer lines still use `regex`.

use std::net::IpAddr;
use std::sync::LazyLock;

use regex::bytes::{Captures, Regex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Sshd,
    Vsftpd,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Sshd => "sshd",
            Service::Vsftpd => "vsftpd",
        }
    }
}

/// What kind of line an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Failed password|publickey|keyboard-interactive/pam|none|hostbased for …`
    Failed,
    InvalidUser,
    /// `pam_unix(sshd:auth): authentication failure; … rhost=IP`
    PamAuthFailure,
    /// `PAM K more authentication failures; … rhost=IP`
    PamMoreFailures,
    /// `error: PAM: Authentication failure for U from IP`
    PamError,
    MaxAuthExceeded,
    /// `User U from IP not allowed because …`
    NotAllowed,
    /// `Connection closed|reset by invalid|authenticating user U IP port N [preauth]`
    ConnectionClosed,
    /// `Disconnected from invalid|authenticating user U IP port N [preauth]`
    Disconnected,
    /// `Disconnecting invalid|authenticating user U IP port N: …`
    Disconnecting,
    /// vsftpd's `[U] FAIL LOGIN: Client "IP"`
    FtpFailLogin,
}

/// How a line counts toward the tries of its connection: tries = max(F, P, E, 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A `Failed …` guess (or vsftpd's FAIL LOGIN).
    F,
    /// A pam_unix authentication failure.
    P,
    /// sshd's own `error: PAM: Authentication failure`, which repeats the guess again.
    E,
    /// Evidence of an attack that is not itself a counted guess.
    Any,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Failed => "failed",
            Kind::InvalidUser => "invalid_user",
            Kind::PamAuthFailure => "pam_auth_failure",
            Kind::PamMoreFailures => "pam_more_failures",
            Kind::PamError => "pam_error",
            Kind::MaxAuthExceeded => "max_auth_exceeded",
            Kind::NotAllowed => "user_not_allowed",
            Kind::ConnectionClosed => "connection_closed",
            Kind::Disconnected => "disconnected",
            Kind::Disconnecting => "disconnecting",
            Kind::FtpFailLogin => "fail_login",
        }
    }

    pub fn slot(self) -> Slot {
        match self {
            Kind::Failed | Kind::FtpFailLogin => Slot::F,
            Kind::PamAuthFailure | Kind::PamMoreFailures => Slot::P,
            Kind::PamError => Slot::E,
            _ => Slot::Any,
        }
    }
}

/// Where the line's timestamp came from; decoded lazily (see `clock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp<'a> {
    /// `Nov 26 10:15:01`: local time, no year.
    Syslog(&'a [u8]),
    /// `2026-11-26T10:15:01.123456+00:00`
    Rfc3339(&'a [u8]),
    /// vsftpd's own `Thu Nov 26 10:15:01 2026`: local time.
    Vsftpd(&'a [u8]),
}

/// One failed-login line. Borrows from the line: parsing allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    pub service: Service,
    pub kind: Kind,
    /// For `Failed <method>`: the method, e.g. `password`.
    pub method: Option<&'a [u8]>,
    pub ip: IpAddr,
    pub user: Option<&'a [u8]>,
    pub stamp: Stamp<'a>,
    pub host: Option<&'a [u8]>,
    pub pid: Option<u32>,
    /// Guesses the line stands for (`message repeated 3 times` → 3).
    pub count: u32,
}

impl Event<'_> {
    /// The name printed by `parse`, e.g. `failed_password`, `invalid_user`.
    pub fn event_name(&self) -> String {
        match (self.kind, self.method) {
            (Kind::Failed, Some(m)) => {
                let m = String::from_utf8_lossy(m);
                let m: String = m
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                format!("failed_{m}")
            }
            (k, _) => k.as_str().to_string(),
        }
    }
}

struct Header<'a> {
    stamp: Stamp<'a>,
    host: Option<&'a [u8]>,
    prog: &'a [u8],
    /// The digits of the pid, decoded only for a line that turns out to matter.
    pid: Option<&'a [u8]>,
    msg: &'a [u8],
}

fn parse_u32(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, &c| n * 10 + (c - b'0') as u32))
}

/// The first `x` in `b`. Header fields are a few bytes long, where a plain
/// loop beats a call into `memchr`.
fn find_byte(b: &[u8], x: u8) -> Option<usize> {
    b.iter().position(|&c| c == x)
}

fn split_word(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = find_byte(b, b' ')?;
    Some((&b[..i], &b[i + 1..]))
}

/// `STAMP HOST PROG[PID]: MSG`, or vsftpd's own `STAMP [pid N] MSG`.
fn header(line: &[u8]) -> Option<Header<'_>> {
    let (stamp, rest) = if line.len() > 25
        && line[3] == b' '
        && line[7] == b' '
        && line[13] == b':'
        && line[24] == b' '
    {
        // vsftpd's own log: "Thu Nov 26 10:15:01 2026 [pid 1234] …"
        let rest = line[25..].strip_prefix(b"[pid ")?;
        let close = find_byte(rest, b']')?;
        let pid = Some(&rest[..close]);
        let msg = rest.get(close + 1..)?.strip_prefix(b" ")?;
        return Some(Header {
            stamp: Stamp::Vsftpd(&line[..24]),
            host: None,
            prog: b"vsftpd",
            pid,
            msg,
        });
    } else if line.len() > 16 && line[3] == b' ' && line[9] == b':' && line[15] == b' ' {
        (Stamp::Syslog(&line[..15]), &line[16..])
    } else if line.first().is_some_and(u8::is_ascii_digit) {
        let (stamp, rest) = split_word(line)?;
        (Stamp::Rfc3339(stamp), rest)
    } else {
        return None;
    };
    let (host, rest) = split_word(rest)?;
    // Only sshd's and vsftpd's lines can matter (see `parse`): the others, most
    // of a log, are dropped here before their tag is even looked for.
    if !(rest.starts_with(b"sshd") || rest.starts_with(b"vsftpd")) {
        return None;
    }
    let colon = find_byte(rest, b':')?;
    let tag = &rest[..colon];
    let msg = rest[colon + 1..]
        .strip_prefix(b" ")
        .unwrap_or(&rest[colon + 1..]);
    let (prog, pid) = match find_byte(tag, b'[') {
        Some(i) if tag.last() == Some(&b']') => (&tag[..i], Some(&tag[i + 1..tag.len() - 1])),
        _ => (tag, None),
    };
    Some(Header {
        stamp,
        host: Some(host),
        prog,
        pid,
        msg,
    })
}

/// Byte-oriented (`(?-u)`): a user name that is not UTF-8 still matches `.*`.
fn re(pattern: &str) -> Regex {
    Regex::new(&format!("(?-u){pattern}")).expect("built-in pattern compiles")
}

static REPEATED: LazyLock<Regex> =
    LazyLock::new(|| re(r"^message repeated (?P<n>\d+) times: \[ ?(?P<inner>.*)\]$"));
// vsftpd quotes the address last; an optional quoted reason may follow it.
static FTP_FAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"^(?:\[pid \d+\] )?\[(?P<user>.*)\] FAIL LOGIN: Client "(?P<ip>[0-9A-Fa-f:.]+)"(?:, "[^"]*")?$"#,
    )
});

/// Parses an address as sshd or vsftpd prints it. A hostname (UseDNS) is
/// rejected, never resolved. `::ffff:a.b.c.d` becomes `a.b.c.d`.
fn ip_from(text: &[u8]) -> Option<IpAddr> {
    parse_ip(text).map(|ip| ip.to_canonical())
}

/// Exactly `IpAddr::from_str`, several times faster: no UTF-8 check, and
/// the common shapes decoded by hand. Also reads the state file's addresses.
pub(crate) fn parse_ip(text: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = ipv4_only(text) {
        return v4.map(IpAddr::V4);
    }
    if text.contains(&b':') && text.iter().all(|&b| is_ip_byte(b)) {
        // With a colon it can only be IPv6.
        return ipv6_from(text).map(IpAddr::V6);
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// `Ipv6Addr::from_str`, on bytes: the standard library's parser (which
/// spends thousands of instructions on one address) step by step.
fn ipv6_from(s: &[u8]) -> Option<std::net::Ipv6Addr> {
    // `read_number(10, Some(3), false)` as u8, from `i`: (value, end).
    fn dec_u8(s: &[u8], i: usize) -> Option<(u8, usize)> {
        let run = s[i.min(s.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if run == 0 || run > 3 || (run > 1 && s[i] == b'0') {
            return None;
        }
        let n = s[i..i + run]
            .iter()
            .fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
        Some((u8::try_from(n).ok()?, i + run))
    }
    // `read_ipv4_addr` from `i`.
    fn v4(s: &[u8], mut i: usize) -> Option<([u8; 4], usize)> {
        let mut o = [0u8; 4];
        for (k, slot) in o.iter_mut().enumerate() {
            if k > 0 {
                if s.get(i) != Some(&b'.') {
                    return None;
                }
                i += 1;
            }
            let (n, end) = dec_u8(s, i)?;
            *slot = n;
            i = end;
        }
        Some((o, i))
    }
    // `read_number(16, Some(4), true)` as u16, from `i`.
    fn hex(s: &[u8], i: usize) -> Option<(u16, usize)> {
        let run = s[i.min(s.len())..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if run == 0 || run > 4 {
            return None;
        }
        let n = s[i..i + run].iter().fold(0u16, |n, &d| {
            n * 16 + (d as char).to_digit(16).unwrap_or(0) as u16
        });
        Some((n, i + run))
    }
    // `read_groups`: (groups read, ended in IPv4, end).
    fn groups(s: &[u8], mut i: usize, out: &mut [u16]) -> (usize, bool, usize) {
        let limit = out.len();
        for k in 0..limit {
            let sep = if k > 0 {
                (s.get(i) == Some(&b':')).then_some(i + 1)
            } else {
                Some(i)
            };
            let Some(j) = sep else {
                return (k, false, i);
            };
            if k + 1 < limit
                && let Some(([a, b, c, d], end)) = v4(s, j)
            {
                out[k] = u16::from_be_bytes([a, b]);
                out[k + 1] = u16::from_be_bytes([c, d]);
                return (k + 2, true, end);
            }
            match hex(s, j) {
                Some((g, end)) => {
                    out[k] = g;
                    i = end;
                }
                None => return (k, false, i),
            }
        }
        (limit, false, i)
    }
    let mut head = [0u16; 8];
    let (head_size, head_v4, i) = groups(s, 0, &mut head);
    if head_size == 8 {
        return (i == s.len()).then_some(head.into());
    }
    if head_v4 || s.get(i..i + 2) != Some(b"::") {
        return None;
    }
    let mut tail = [0u16; 7];
    let limit = 8 - (head_size + 1);
    let (tail_size, _, end) = groups(s, i + 2, &mut tail[..limit]);
    head[8 - tail_size..].copy_from_slice(&tail[..tail_size]);
    (end == s.len()).then_some(head.into())
}

/// `Some(Ipv4Addr::from_str(text).ok())` when `text` holds only digits and
/// dots, which can only be IPv4 (four parts of one to three digits, at most
/// 255, no leading zero); `None` for anything else. No UTF-8 check.
fn ipv4_only(text: &[u8]) -> Option<Option<std::net::Ipv4Addr>> {
    // The shape of nearly every address, octet by octet; anything else goes the long way.
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, o) in octets.iter_mut().enumerate() {
        if k > 0 {
            if text.get(i) != Some(&b'.') {
                return ipv4_only_slow(text);
            }
            i += 1;
        }
        let start = i;
        let mut n = 0u32;
        while i < text.len() && i - start < 3 && text[i].is_ascii_digit() {
            n = n * 10 + u32::from(text[i] - b'0');
            i += 1;
        }
        if i == start || n > 255 || (i - start > 1 && text[start] == b'0') {
            return ipv4_only_slow(text);
        }
        *o = n as u8;
    }
    if i != text.len() {
        return ipv4_only_slow(text);
    }
    Some(Some(octets.into()))
}

/// `ipv4_only` for any text, in one pass.
fn ipv4_only_slow(text: &[u8]) -> Option<Option<std::net::Ipv4Addr>> {
    let mut octets = [0u8; 4];
    let mut part = 0;
    let mut n = 0u32;
    let mut digits = 0u32;
    let mut ok = true;
    for &b in text {
        if b.is_ascii_digit() {
            ok &= digits < 3 && !(digits == 1 && n == 0);
            n = (n * 10 + u32::from(b - b'0')).min(1000);
            digits += 1;
        } else if b == b'.' {
            ok &= digits > 0 && n <= 255 && part < 3;
            if ok {
                octets[part] = n as u8;
            }
            part += 1;
            n = 0;
            digits = 0;
        } else {
            return None;
        }
    }
    ok &= digits > 0 && n <= 255 && part == 3;
    Some(ok.then(|| {
        octets[3] = n as u8;
        octets.into()
    }))
}

fn ip_of(caps: &Captures) -> Option<IpAddr> {
    ip_from(caps.name("ip")?.as_bytes())
}

fn user_of<'a>(caps: &Captures<'a>) -> Option<&'a [u8]> {
    caps.name("user").map(|m| m.as_bytes())
}

fn count_of(caps: &Captures) -> Option<u32> {
    count_from(caps.name("n")?.as_bytes())
}

fn count_from(n: &[u8]) -> Option<u32> {
    let n = parse_u32(n)?;
    (n > 0).then_some(n)
}

struct Body<'a> {
    kind: Kind,
    method: Option<&'a [u8]>,
    ip: IpAddr,
    user: Option<&'a [u8]>,
    count: u32,
}

// sshd's messages are matched by hand, from their fixed end backwards, with
// exactly the meaning of these patterns (`(?-u)`, so `.` is any byte but
// `\n` and `\S` any byte but ASCII space, `\t\n\v\f\r`); the test
// `hand_matchers_equal_the_patterns` holds each matcher to its pattern.
//
//   Failed:      ^Failed (?P<method>password|publickey|keyboard-interactive/pam|none|hostbased|gssapi-with-mic) for (?:invalid user )?(?P<user>.*) from (?P<ip>[0-9A-Fa-f:.]+) port \d+ ssh2(?:: [A-Z0-9-]+ SHA256:[A-Za-z0-9+/=]+)?$
//   Invalid:     ^(?:Invalid|Illegal) user (?P<user>.*) from (?P<ip>[0-9A-Fa-f:.]+)(?: port \d+)?$
//   pam_unix:    ^pam_unix\(sshd:auth\): authentication failure; logname=\S* uid=\d+ euid=\d+ tty=\S* ruser=\S* rhost=(?P<ip>[0-9A-Fa-f:.]+)(?: +user=(?P<user>.*?))? *$
//   PAM more:    ^PAM (?P<n>\d+) more authentication failures?; logname=\S* uid=\d+ euid=\d+ tty=\S* ruser=\S* rhost=(?P<ip>[0-9A-Fa-f:.]+)(?: +user=(?P<user>.*?))? *$
//   PAM error:   ^error: PAM: Authentication failure for (?:(?:illegal|invalid) user )?(?P<user>.*) from (?P<ip>[0-9A-Fa-f:.]+)$
//   max auth:    ^(?:error: )?maximum authentication attempts exceeded for (?:invalid user )?(?P<user>.*) from (?P<ip>[0-9A-Fa-f:.]+) port \d+ ssh2(?: \[preauth\])?$
//   not allowed: ^User (?P<user>.*) from (?P<ip>[0-9A-Fa-f:.]+) not allowed because (?:not listed in AllowUsers|listed in DenyUsers|not in any group|none of user's groups are listed in AllowGroups|a group is listed in DenyGroups|shell \S+ (?:does not exist|is not executable))$
//   closed:      ^(?:Connection closed by|Connection reset by|Disconnected from) (?:invalid|authenticating) user (?P<user>.*) (?P<ip>[0-9A-Fa-f:.]+) port \d+(?: \[preauth\])?$
//   Disconnecting: ^Disconnecting (?:invalid|authenticating) user (?P<user>.*) (?P<ip>[0-9A-Fa-f:.]+) port \d+: (?:Too many authentication failures|Change of username or service not allowed|[A-Za-z ]+)(?: \[preauth\])?$
//   repeated:    ^message repeated (?P<n>\d+) times: \[ ?(?P<inner>.*)\]$
//
// Every part after the user name is a run of one byte class that cannot hold
// the separator before it (an address holds no space, a port no space, …), so
// reading from the end finds the one place the user name can stop: the
// greedy `.*` of the pattern. The address is always the one sshd wrote last.

fn is_ip_byte(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b':' || b == b'.'
}

/// `\S` of `(?-u)`: `\v` counts as space, unlike `u8::is_ascii_whitespace`.
fn is_nonspace(b: u8) -> bool {
    !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits off the longest suffix of bytes in the class.
fn split_run_back(s: &[u8], class: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    let n = s.iter().rev().take_while(|&&b| class(b)).count();
    s.split_at(s.len() - n)
}

/// Splits off the longest prefix of bytes in the class.
fn split_run(s: &[u8], class: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|&&b| class(b)).count();
    s.split_at(n)
}

/// `HEAD<sep>IP` at the end of `s` → (HEAD, IP text), IP non-empty.
fn addr_back<'a>(s: &'a [u8], sep: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let (head, ip) = split_run_back(s, is_ip_byte);
    if ip.is_empty() {
        return None;
    }
    Some((head.strip_suffix(sep)?, ip))
}

/// `HEAD port \d+` at the end of `s` → HEAD.
fn port_back(s: &[u8]) -> Option<&[u8]> {
    let (head, digits) = split_run_back(s, |b| b.is_ascii_digit());
    if digits.is_empty() {
        return None;
    }
    head.strip_suffix(b" port ")
}

/// `.*` never crosses a newline.
fn user_text(u: &[u8]) -> Option<&[u8]> {
    (!u.contains(&b'\n')).then_some(u)
}

/// The matched parts of one sshd message: (address text, user name).
type Found<'a> = (&'a [u8], Option<&'a [u8]>);

/// `Failed METHOD for …`; returns (method, rest after ` for `).
fn failed_head(msg: &[u8]) -> Option<(&[u8], &[u8])> {
    const METHODS: [&[u8]; 6] = [
        b"password",
        b"publickey",
        b"keyboard-interactive/pam",
        b"none",
        b"hostbased",
        b"gssapi-with-mic",
    ];
    let rest = msg.strip_prefix(b"Failed ")?;
    METHODS.iter().find_map(|m| {
        let after = rest.strip_prefix(*m)?.strip_prefix(b" for ")?;
        Some((&rest[..m.len()], after))
    })
}

/// `… from IP port \d+ ssh2(?:: [A-Z0-9-]+ SHA256:[A-Za-z0-9+/=]+)?` → (ip, user).
fn failed_tail(r: &[u8]) -> Option<Found<'_>> {
    let body = match r.strip_suffix(b" ssh2") {
        Some(b) => b,
        None => {
            let (head, b64) = split_run_back(r, |b| {
                b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
            });
            if b64.is_empty() {
                return None;
            }
            let head = head.strip_suffix(b" SHA256:")?;
            let (head, key) = split_run_back(head, |b| {
                b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'
            });
            if key.is_empty() {
                return None;
            }
            head.strip_suffix(b" ssh2: ")?
        }
    };
    let (user, ip) = addr_back(port_back(body)?, b" from ")?;
    Some((
        ip,
        Some(user_text(
            user.strip_prefix(b"invalid user ").unwrap_or(user),
        )?),
    ))
}

/// `… from IP( port \d+)?` → (ip, user).
fn invalid_tail(r: &[u8]) -> Option<Found<'_>> {
    let (user, ip) = match port_back(r).and_then(|h| addr_back(h, b" from ")) {
        Some(found) => found,
        None => addr_back(r, b" from ")?,
    };
    Some((ip, Some(user_text(user)?)))
}

/// `logname=\S* uid=\d+ euid=\d+ tty=\S* ruser=\S* rhost=IP(?: +user=(.*?))? *$`, after `; `.
fn pam_tail(r: &[u8]) -> Option<Found<'_>> {
    let r = r.strip_prefix(b"logname=")?;
    let (_, r) = split_run(r, is_nonspace);
    let r = r.strip_prefix(b" uid=")?;
    let (uid, r) = split_run(r, |b| b.is_ascii_digit());
    let r = r.strip_prefix(b" euid=")?;
    let (euid, r) = split_run(r, |b| b.is_ascii_digit());
    if uid.is_empty() || euid.is_empty() {
        return None;
    }
    let r = r.strip_prefix(b" tty=")?;
    let (_, r) = split_run(r, is_nonspace);
    let r = r.strip_prefix(b" ruser=")?;
    let (_, r) = split_run(r, is_nonspace);
    let r = r.strip_prefix(b" rhost=")?;
    let (ip, r) = split_run(r, is_ip_byte);
    if ip.is_empty() {
        return None;
    }
    let (_, after_spaces) = split_run(r, |b| b == b' ');
    let user = match after_spaces.strip_prefix(b"user=") {
        Some(u) if after_spaces.len() < r.len() => {
            let (u, _) = split_run_back(u, |b| b == b' ');
            Some(user_text(u)?)
        }
        _ if after_spaces.is_empty() => None,
        _ => return None,
    };
    Some((ip, user))
}

/// `… from IP` → (ip, user), after an optional `illegal user ` or `invalid user `.
fn pam_error_tail(r: &[u8]) -> Option<Found<'_>> {
    let (user, ip) = addr_back(r, b" from ")?;
    let user = user
        .strip_prefix(b"illegal user ")
        .or_else(|| user.strip_prefix(b"invalid user "))
        .unwrap_or(user);
    Some((ip, Some(user_text(user)?)))
}

/// `… from IP port \d+ ssh2( \[preauth\])?` → (ip, user).
fn max_auth_tail(r: &[u8]) -> Option<Found<'_>> {
    let r = r.strip_suffix(b" [preauth]").unwrap_or(r);
    let (user, ip) = addr_back(port_back(r.strip_suffix(b" ssh2")?)?, b" from ")?;
    Some((
        ip,
        Some(user_text(
            user.strip_prefix(b"invalid user ").unwrap_or(user),
        )?),
    ))
}

/// `… from IP not allowed because REASON` → (ip, user).
fn not_allowed_tail(r: &[u8]) -> Option<Found<'_>> {
    const BECAUSE: &[u8] = b" not allowed because ";
    const REASONS: [&[u8]; 5] = [
        b"not listed in AllowUsers",
        b"listed in DenyUsers",
        b"not in any group",
        b"none of user's groups are listed in AllowGroups",
        b"a group is listed in DenyGroups",
    ];
    let head = match REASONS
        .iter()
        .find_map(|reason| r.strip_suffix(*reason)?.strip_suffix(BECAUSE))
    {
        Some(head) => head,
        None => {
            let h = r
                .strip_suffix(b" does not exist")
                .or_else(|| r.strip_suffix(b" is not executable"))?;
            let (h, shell) = split_run_back(h, is_nonspace);
            if shell.is_empty() {
                return None;
            }
            h.strip_suffix(b"shell ")?.strip_suffix(BECAUSE)?
        }
    };
    let (user, ip) = addr_back(head, b" from ")?;
    Some((ip, Some(user_text(user)?)))
}

/// `(?:invalid|authenticating) user … IP port \d+( \[preauth\])?` → (ip, user).
fn closed_tail(r: &[u8]) -> Option<Found<'_>> {
    let r = r
        .strip_prefix(b"invalid user ")
        .or_else(|| r.strip_prefix(b"authenticating user "))?;
    let body = r.strip_suffix(b" [preauth]").unwrap_or(r);
    let (user, ip) = addr_back(port_back(body)?, b" ")?;
    Some((ip, Some(user_text(user)?)))
}

/// `(?:invalid|authenticating) user … IP port \d+: [A-Za-z ]+( \[preauth\])?` → (ip, user).
fn disconnecting_tail(r: &[u8]) -> Option<Found<'_>> {
    let r = r
        .strip_prefix(b"invalid user ")
        .or_else(|| r.strip_prefix(b"authenticating user "))?;
    let body = r.strip_suffix(b" [preauth]").unwrap_or(r);
    // The reason's run of letters and spaces starts with the space of ": ".
    let (head, reason) = split_run_back(body, |b| b.is_ascii_alphabetic() || b == b' ');
    if reason.len() < 2 || reason[0] != b' ' {
        return None;
    }
    let (user, ip) = addr_back(port_back(head.strip_suffix(b":")?)?, b" ")?;
    Some((ip, Some(user_text(user)?)))
}

/// `message repeated N times: [ INNER]` → (N, INNER).
fn repeated(msg: &[u8]) -> Option<(u32, &[u8])> {
    let r = msg.strip_prefix(b"message repeated ")?;
    let (n, r) = split_run(r, |b| b.is_ascii_digit());
    if n.is_empty() {
        return None;
    }
    let r = r.strip_prefix(b" times: [")?;
    let inner = r.strip_prefix(b" ").unwrap_or(r).strip_suffix(b"]")?;
    user_text(inner)?;
    Some((count_from(n)?, inner))
}

fn sshd_body(msg: &[u8]) -> Option<Body<'_>> {
    let mut method = None;
    let mut count = 1;
    let (kind, (ip, user)) = match msg.first()? {
        b'F' if msg.starts_with(b"Failed ") => {
            let (m, rest) = failed_head(msg)?;
            method = Some(m);
            (Kind::Failed, failed_tail(rest)?)
        }
        b'I' if msg.starts_with(b"Invalid user ") || msg.starts_with(b"Illegal user ") => {
            (Kind::InvalidUser, invalid_tail(&msg[13..])?)
        }
        b'p' if msg.starts_with(b"pam_unix(sshd:auth): authentication failure;") => {
            let rest = msg.strip_prefix(b"pam_unix(sshd:auth): authentication failure; ")?;
            (Kind::PamAuthFailure, pam_tail(rest)?)
        }
        b'P' if msg.starts_with(b"PAM ") => {
            let (n, rest) = split_run(&msg[4..], |b| b.is_ascii_digit());
            let rest = rest.strip_prefix(b" more authentication failure")?;
            let rest = rest.strip_prefix(b"s").unwrap_or(rest);
            let found = pam_tail(rest.strip_prefix(b"; ")?)?;
            count = count_from(n)?;
            (Kind::PamMoreFailures, found)
        }
        b'e' if msg.starts_with(b"error: PAM: Authentication failure") => {
            let rest = msg.strip_prefix(b"error: PAM: Authentication failure for ")?;
            (Kind::PamError, pam_error_tail(rest)?)
        }
        b'e' | b'm'
            if msg.starts_with(b"error: maximum authentication attempts")
                || msg.starts_with(b"maximum authentication attempts") =>
        {
            let rest = msg.strip_prefix(b"error: ").unwrap_or(msg);
            let rest = rest.strip_prefix(b"maximum authentication attempts exceeded for ")?;
            (Kind::MaxAuthExceeded, max_auth_tail(rest)?)
        }
        b'U' if msg.starts_with(b"User ") => (Kind::NotAllowed, not_allowed_tail(&msg[5..])?),
        b'C' if msg.starts_with(b"Connection closed by ") => {
            (Kind::ConnectionClosed, closed_tail(&msg[21..])?)
        }
        b'C' if msg.starts_with(b"Connection reset by ") => {
            (Kind::ConnectionClosed, closed_tail(&msg[20..])?)
        }
        b'D' if msg.starts_with(b"Disconnected from ") => {
            (Kind::Disconnected, closed_tail(&msg[18..])?)
        }
        b'D' if msg.starts_with(b"Disconnecting ") => {
            (Kind::Disconnecting, disconnecting_tail(&msg[14..])?)
        }
        b'm' if msg.starts_with(b"message repeated ") => {
            let (n, inner) = repeated(msg)?;
            let inner = sshd_body(inner)?;
            return Some(Body {
                count: inner.count.saturating_mul(n),
                ..inner
            });
        }
        _ => return None,
    };
    Some(Body {
        kind,
        method,
        ip: ip_from(ip)?,
        user,
        count,
    })
}

/// The patterns the hand matchers implement, run by the regex engine, and a
/// differential test that holds the two to the same answers.
#[cfg(test)]
mod oracle {
    use super::*;

    static FAILED: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^Failed (?P<method>password|publickey|keyboard-interactive/pam|none|hostbased|gssapi-with-mic) for (?:(?P<invalid>invalid user) )?(?P<user>.*) from (?P<ip>[0-9A-Fa-f:.]+) port \d+ ssh2(?:: [A-Z0-9-]+ SHA256:[A-Za-z0-9+/=]+)?$",
        )
    });
    static INVALID_USER: LazyLock<Regex> = LazyLock::new(|| {
        re(r"^(?:Invalid|Illegal) user (?P<user>.*) from (?P<ip>[0-9A-Fa-f:.]+)(?: port \d+)?$")
    });
    static PAM_AUTH: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^pam_unix\((?:sshd|vsftpd):auth\): authentication failure; logname=\S* uid=\d+ euid=\d+ tty=\S* ruser=\S* rhost=(?P<ip>[0-9A-Fa-f:.]+)(?: +user=(?P<user>.*?))? *$",
        )
    });
    static PAM_MORE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^PAM (?P<n>\d+) more authentication failures?; logname=\S* uid=\d+ euid=\d+ tty=\S* ruser=\S* rhost=(?P<ip>[0-9A-Fa-f:.]+)(?: +user=(?P<user>.*?))? *$",
        )
    });
    static PAM_ERROR: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^error: PAM: Authentication failure for (?:(?:illegal|invalid) user )?(?P<user>.*) from (?P<ip>[0-9A-Fa-f:.]+)$",
        )
    });
    static MAX_AUTH: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^(?:error: )?maximum authentication attempts exceeded for (?:invalid user )?(?P<user>.*) from (?P<ip>[0-9A-Fa-f:.]+) port \d+ ssh2(?: \[preauth\])?$",
        )
    });
    static NOT_ALLOWED: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^User (?P<user>.*) from (?P<ip>[0-9A-Fa-f:.]+) not allowed because (?:not listed in AllowUsers|listed in DenyUsers|not in any group|none of user's groups are listed in AllowGroups|a group is listed in DenyGroups|shell \S+ (?:does not exist|is not executable))$",
        )
    });
    static PREAUTH_CLOSE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^(?P<what>Connection closed by|Connection reset by|Disconnected from) (?:invalid|authenticating) user (?P<user>.*) (?P<ip>[0-9A-Fa-f:.]+) port \d+(?: \[preauth\])?$",
        )
    });
    static DISCONNECTING: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"^Disconnecting (?:invalid|authenticating) user (?P<user>.*) (?P<ip>[0-9A-Fa-f:.]+) port \d+: (?:Too many authentication failures|Change of username or service not allowed|[A-Za-z ]+)(?: \[preauth\])?$",
        )
    });

    type Answer<'a> = Option<(Kind, Option<&'a [u8]>, IpAddr, Option<&'a [u8]>, u32)>;

    /// The regex version of `sshd_body`, as it was before the hand matchers.
    fn sshd_body_regex(msg: &[u8]) -> Answer<'_> {
        let (kind, re): (Kind, &Regex) = match msg.first()? {
            b'F' if msg.starts_with(b"Failed ") => (Kind::Failed, &FAILED),
            b'I' if msg.starts_with(b"Invalid user ") || msg.starts_with(b"Illegal user ") => {
                (Kind::InvalidUser, &INVALID_USER)
            }
            b'p' if msg.starts_with(b"pam_unix(sshd:auth): authentication failure;") => {
                (Kind::PamAuthFailure, &PAM_AUTH)
            }
            b'P' if msg.starts_with(b"PAM ") => (Kind::PamMoreFailures, &PAM_MORE),
            b'e' if msg.starts_with(b"error: PAM: Authentication failure") => {
                (Kind::PamError, &PAM_ERROR)
            }
            b'e' | b'm'
                if msg.starts_with(b"error: maximum authentication attempts")
                    || msg.starts_with(b"maximum authentication attempts") =>
            {
                (Kind::MaxAuthExceeded, &MAX_AUTH)
            }
            b'U' if msg.starts_with(b"User ") => (Kind::NotAllowed, &NOT_ALLOWED),
            b'C' if msg.starts_with(b"Connection closed by ")
                || msg.starts_with(b"Connection reset by ") =>
            {
                (Kind::ConnectionClosed, &PREAUTH_CLOSE)
            }
            b'D' if msg.starts_with(b"Disconnected from ") => (Kind::Disconnected, &PREAUTH_CLOSE),
            b'D' if msg.starts_with(b"Disconnecting ") => (Kind::Disconnecting, &DISCONNECTING),
            b'm' if msg.starts_with(b"message repeated ") => {
                let caps = REPEATED.captures(msg)?;
                let n = count_of(&caps)?;
                let (k, m, ip, u, c) = sshd_body_regex(caps.name("inner")?.as_bytes())?;
                return Some((k, m, ip, u, c.saturating_mul(n)));
            }
            _ => return None,
        };
        let caps = re.captures(msg)?;
        let count = match kind {
            Kind::PamMoreFailures => count_of(&caps)?,
            _ => 1,
        };
        Some((
            kind,
            caps.name("method").map(|m| m.as_bytes()),
            ip_of(&caps)?,
            user_of(&caps),
            count,
        ))
    }

    fn sshd_body_hand(msg: &[u8]) -> Answer<'_> {
        sshd_body(msg).map(|b| (b.kind, b.method, b.ip, b.user, b.count))
    }

    /// Messages of every form, plain and with the traps an attacker can set.
    const SEEDS: &[&str] = &[
        "Failed password for invalid user administrator from 52.226.211.185 port 17641 ssh2",
        "Failed password for root from 91.6.37.142 port 18066 ssh2",
        "Failed publickey for git from 2a01:4f8:5d9d:c9f8::9531:985d port 50022 ssh2: ED25519 SHA256:oIRDcjzC0HOoVVkNyN1ziBxBgbEoulZglO3/z9V/EeI",
        "Failed keyboard-interactive/pam for invalid user pi from 198.51.100.9 port 40000 ssh2",
        "Failed none for invalid user admin from 129.231.78.245 port 55038 ssh2",
        "Failed gssapi-with-mic for invalid user  from 1.2.3.4 port 1 ssh2",
        "Failed hostbased for invalid user from 1.2.3.4 port 1 ssh2: RSA-CERT SHA256:a+/=",
        "Failed password for invalid user x from 1.2.3.4 port 22 ssh2 from 203.0.113.99 port 4711 ssh2",
        "Failed publickey for x from 1.2.3.4 port 22 ssh2: RSA SHA256:abc from 203.0.113.99 port 4711 ssh2: RSA SHA256:def",
        "Invalid user administrator from 52.226.211.185 port 17641",
        "Illegal user a from ::ffff:1.2.3.4",
        "Invalid user x from 1.2.3.4 port 22 from 203.0.113.99 port 4711",
        "Invalid user x from 1.2.3.4 from 203.0.113.99",
        "Invalid user  from 1234",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=52.226.211.185 ",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=109.118.176.126  user=root",
        "pam_unix(sshd:auth): authentication failure; logname=a\x0bb uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.99  user=x rhost=1.2.3.4",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4 user=  ",
        "PAM 4 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=57.38.48.89 ",
        "PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=57.38.48.89  user=root",
        "PAM 0 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=57.38.48.89",
        "PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.99  user=x rhost=1.2.3.4 ",
        "PAM service(sshd) ignoring max retries; 5 > 3",
        "error: PAM: Authentication failure for root from 203.0.113.5",
        "error: PAM: Authentication failure for illegal user x from 1.2.3.4 from 203.0.113.99",
        "error: PAM: Authentication failure for invalid user  from 1.2.3.4",
        "error: maximum authentication attempts exceeded for invalid user ubuntu from 163.143.213.71 port 17277 ssh2 [preauth]",
        "maximum authentication attempts exceeded for root from 1.2.3.4 port 22 ssh2",
        "User postgres from 203.0.113.7 not allowed because not listed in AllowUsers",
        "User x from 1.2.3.4 not allowed because listed in DenyUsers from 203.0.113.99 not allowed because not listed in AllowUsers",
        "User a from 1.2.3.4 not allowed because shell /bin/false does not exist",
        "User a from 1.2.3.4 not allowed because shell /bin/x is not executable",
        "User a from 1.2.3.4 not allowed because none of user's groups are listed in AllowGroups",
        "User a from 1.2.3.4 not allowed because a group is listed in DenyGroups",
        "User a from 1.2.3.4 not allowed because not in any group",
        "Connection closed by invalid user administrator 52.226.211.185 port 17641 [preauth]",
        "Connection closed by authenticating user root 91.6.37.142 port 18066 [preauth]",
        "Connection reset by invalid user oracle 2a01:4f8:5d9d:c9f8::9531:985d port 64126 [preauth]",
        "Connection closed by 82.230.180.56 port 59852 [preauth]",
        "Connection closed by invalid user x 1.2.3.4 port 22 [preauth] 203.0.113.99 port 4711 [preauth]",
        "Disconnected from authenticating user root 82.230.180.56 port 32873 [preauth]",
        "Disconnected from user deploy 192.0.2.200 port 20311",
        "Disconnected from invalid user  1.2.3.4 port 2",
        "Disconnecting invalid user ubuntu 163.143.213.71 port 17277: Too many authentication failures [preauth]",
        "Disconnecting authenticating user root 1.2.3.4 port 22: Change of username or service not allowed",
        "Disconnecting invalid user x 1.2.3.4 port 22: Too many authentication failures 203.0.113.99 port 4711: Too many authentication failures [preauth]",
        "Disconnecting invalid user x 1.2.3.4 port 22:  ",
        "message repeated 2 times: [ Failed password for invalid user teamspeak from 57.38.48.89 port 9387 ssh2]",
        "message repeated 3 times: [Invalid user a from 1.2.3.4]",
        "message repeated 0 times: [ Failed password for root from 57.38.48.89 port 9387 ssh2]",
        "message repeated 9999999999 times: [ Failed password for root from 57.38.48.89 port 9387 ssh2]",
        "message repeated 2 times: [ message repeated 3 times: [ Invalid user a from 1.2.3.4 port 5]]",
        "Accepted password for deploy from 192.0.2.200 port 20311 ssh2",
    ];

    /// Fragments that sit on the boundaries the matchers look for.
    const PIECES: &[&[u8]] = &[
        b" ",
        b"  ",
        b":",
        b".",
        b"1",
        b"22",
        b"a",
        b"f",
        b"Z",
        b"-",
        b"+",
        b"/",
        b"=",
        b"[",
        b"]",
        b"\n",
        b"\r",
        b"\t",
        b"\x0b",
        b"\xff",
        b" from ",
        b" port ",
        b" ssh2",
        b"ssh2: ",
        b" SHA256:",
        b"RSA",
        b" [preauth]",
        b"invalid user ",
        b"illegal user ",
        b"authenticating user ",
        b" user=",
        b"user=",
        b" rhost=",
        b"1.2.3.4",
        b"::1",
        b"::ffff:",
        b" not allowed because ",
        b"shell ",
        b" does not exist",
        b"listed in DenyUsers",
        b"s",
        b"; ",
        b" uid=",
        b"0",
        b"message repeated 2 times: [ ",
        b"\"",
    ];

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn mutate(rng: &mut Rng, msg: &mut Vec<u8>) {
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(msg.len() + 1);
            match rng.below(4) {
                0 => {
                    let p = PIECES[rng.below(PIECES.len())];
                    msg.splice(at..at, p.iter().copied());
                }
                1 if at < msg.len() => {
                    let end = (at + 1 + rng.below(8)).min(msg.len());
                    msg.drain(at..end);
                }
                2 if at < msg.len() => {
                    let p = PIECES[rng.below(PIECES.len())];
                    msg[at] = p[0];
                }
                _ => {
                    // Cut or keep the end: the matchers start there.
                    let cut = rng.below(6);
                    msg.truncate(msg.len().saturating_sub(cut));
                }
            }
        }
    }

    /// `PARSE_ORACLE_ITERATIONS=5000000 cargo test --release oracle` for a longer run.
    fn iterations() -> usize {
        std::env::var("PARSE_ORACLE_ITERATIONS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(200_000)
    }

    #[test]
    fn hand_matchers_equal_the_patterns() {
        for seed in SEEDS {
            let msg = seed.as_bytes();
            assert_eq!(sshd_body_hand(msg), sshd_body_regex(msg), "{seed}");
        }
        let mut rng = Rng(1 | std::env::var("PARSE_ORACLE_SEED")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0x9e37_79b9_7f4a_7c15));
        let mut matched = 0;
        for i in 0..iterations() {
            let mut msg = SEEDS[i % SEEDS.len()].as_bytes().to_vec();
            mutate(&mut rng, &mut msg);
            if rng.below(4) == 0 {
                mutate(&mut rng, &mut msg);
            }
            let want = sshd_body_regex(&msg);
            matched += want.is_some() as usize;
            assert_eq!(
                sshd_body_hand(&msg),
                want,
                "{:?}",
                String::from_utf8_lossy(&msg)
            );
        }
        assert!(
            matched > 10_000,
            "the mutations keep many lines valid: {matched}"
        );
    }

    #[test]
    fn ipv6_by_hand_equals_the_standard_library() {
        let std_parse = |t: &[u8]| -> Option<IpAddr> {
            let ip: IpAddr = std::str::from_utf8(t).ok()?.parse().ok()?;
            Some(ip.to_canonical())
        };
        for t in [
            "::",
            "::1",
            "1::",
            "2a01:4f8:5d9d:c9f8::9531:985d",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "1.2.3.4::",
            "::1.2.3.4:5",
            "12345::1",
            "0000:0:00:000::",
            ":::",
            "1:::2",
            ":1::",
            "1::2::3",
            "::ffff:01.2.3.4",
            "::ffff:1.2.3",
            "fe80::1%",
            "FFFF::ABCD",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1::3:4:5:6:7:8",
            "1.2.3.4:1",
            "a:b",
            "a::b.c",
            "::256.1.1.1",
            "1:2:3:4:5:1.2.3.4",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7",
            "::1:2:3:4:5:6:7:8",
        ] {
            assert_eq!(ip_from(t.as_bytes()), std_parse(t.as_bytes()), "{t}");
        }
        let mut rng = Rng(11);
        let pieces: &[&[u8]] = &[
            b":",
            b"::",
            b"0",
            b"1",
            b"ff",
            b"FFFF",
            b"12345",
            b"a",
            b"00",
            b"0000",
            b"1.2.3.4",
            b".",
            b"255",
            b"256",
            b"01",
            b"9",
            b"abc",
            b"ffff",
            b"10.0.0.1",
            b"4f8",
        ];
        let mut valid = 0;
        for _ in 0..300_000 {
            let mut t = Vec::new();
            for _ in 0..rng.below(12) {
                t.extend_from_slice(pieces[rng.below(pieces.len())]);
                if rng.below(3) > 0 {
                    t.push(b':');
                }
            }
            let want = std_parse(&t);
            valid += want.is_some() as usize;
            assert_eq!(ip_from(&t), want, "{:?}", String::from_utf8_lossy(&t));
        }
        assert!(valid > 3_000, "enough valid addresses among them: {valid}");
    }

    #[test]
    fn ipv4_by_hand_equals_the_standard_library() {
        let std_parse = |t: &[u8]| -> Option<IpAddr> {
            let ip: IpAddr = std::str::from_utf8(t).ok()?.parse().ok()?;
            Some(ip.to_canonical())
        };
        for t in [
            "1.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3",
            "1..2.3",
            "1.2.3.4.5",
            "1234.1.1.1",
            "001.1.1.1",
            "1.2.3.04",
            "",
            ".",
            "1",
            "10.0.0.10",
            "199.99.9.0",
        ] {
            assert_eq!(ip_from(t.as_bytes()), std_parse(t.as_bytes()), "{t}");
        }
        let mut rng = Rng(7);
        for _ in 0..200_000 {
            let len = rng.below(17);
            let t: Vec<u8> = (0..len)
                .map(|_| match rng.below(4) {
                    0 => b'.',
                    1 => b'0',
                    2 => b'2' + rng.below(4) as u8,
                    _ => b'0' + rng.below(10) as u8,
                })
                .collect();
            assert_eq!(
                ip_from(&t),
                std_parse(&t),
                "{:?}",
                String::from_utf8_lossy(&t)
            );
        }
    }
}

static VSFTPD_PAM_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^pam_unix\(vsftpd:auth\): authentication failure; logname=\S* uid=\d+ euid=\d+ tty=\S* ruser=",
    )
});

/// pam_unix for vsftpd: `… ruser=U rhost=IP ` or `… ruser=U rhost=IP  user=U`.
/// Here U, the FTP user name, comes before the address and may hold spaces and
/// ` rhost=`, so no regex can anchor it. Every split of the text after
/// `ruser=` into that shape is tried; the line counts only if they all agree
/// on the address (an attacker can make it ambiguous, never make it lie).
fn vsftpd_pam(msg: &[u8]) -> Option<Body<'_>> {
    let tail = &msg[VSFTPD_PAM_HEAD.find(msg)?.end()..];
    // Trailing blanks are not compared: `parse` has already cut a final `\r`.
    let trim_end = |b: &[u8]| {
        b.len()
            - b.iter()
                .rev()
                .take_while(|&&c| c == b' ' || c == b'\r')
                .count()
    };
    let mut found: Option<(IpAddr, Option<&[u8]>)> = None;
    for i in memchr::memmem::find_iter(tail, b" rhost=") {
        let ruser = &tail[..trim_end(&tail[..i])];
        let after = &tail[i + b" rhost=".len()..];
        let len = after
            .iter()
            .take_while(|b| b.is_ascii_hexdigit() || **b == b':' || **b == b'.')
            .count();
        let Some(ip) = std::str::from_utf8(&after[..len])
            .ok()
            .and_then(|t| t.parse::<IpAddr>().ok())
        else {
            continue;
        };
        let rest = &after[len..trim_end(after).max(len)];
        let user = match rest.strip_prefix(b"  user=") {
            _ if rest.is_empty() => None,
            Some(u) if u == ruser => Some(u),
            _ => continue,
        };
        match found {
            Some((seen, _)) if seen != ip.to_canonical() => return None,
            Some(_) => {}
            None => found = Some((ip.to_canonical(), user)),
        }
    }
    let (ip, user) = found?;
    Some(Body {
        kind: Kind::PamAuthFailure,
        method: None,
        ip,
        user,
        count: 1,
    })
}

fn vsftpd_body(msg: &[u8]) -> Option<Body<'_>> {
    let (kind, re): (Kind, &Regex) = if msg.starts_with(b"pam_unix(vsftpd:auth): ") {
        return vsftpd_pam(msg);
    } else if memchr::memmem::find(msg, b"] FAIL LOGIN: ").is_some() {
        (Kind::FtpFailLogin, &FTP_FAIL)
    } else if msg.starts_with(b"message repeated ") {
        let caps = REPEATED.captures(msg)?;
        let n = count_of(&caps)?;
        let inner = vsftpd_body(caps.name("inner")?.as_bytes())?;
        return Some(Body {
            count: inner.count.saturating_mul(n),
            ..inner
        });
    } else {
        return None;
    };
    let caps = re.captures(msg)?;
    Some(Body {
        kind,
        method: None,
        ip: ip_of(&caps)?,
        user: user_of(&caps),
        count: 1,
    })
}

/// Parses one log line (without its newline). `None` for anything that is
/// not a failed login from a remote address.
pub fn parse(line: &[u8]) -> Option<Event<'_>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let h = header(line)?;
    let (service, body) = match h.prog {
        b"sshd" | b"sshd-session" | b"sshd-auth" => (Service::Sshd, sshd_body(h.msg)?),
        b"vsftpd" => (Service::Vsftpd, vsftpd_body(h.msg)?),
        _ => return None,
    };
    Some(Event {
        service,
        kind: body.kind,
        method: body.method,
        ip: body.ip,
        user: body.user.filter(|u| !u.is_empty()),
        stamp: h.stamp,
        host: h.host,
        pid: h.pid.and_then(parse_u32),
        count: body.count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(line: &str) -> Event<'_> {
        parse(line.as_bytes()).unwrap_or_else(|| panic!("not parsed: {line}"))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn user<'a>(e: &Event<'a>) -> Option<&'a str> {
        e.user.map(|u| std::str::from_utf8(u).unwrap())
    }

    // Real lines, as Debian's sshd 9.2 / 9.8+ and vsftpd 3.0 write them.
    const FAILED_PW: &str = "Nov 26 00:00:03 web01 sshd[3504]: Failed password for invalid user administrator from 52.226.211.185 port 17641 ssh2";
    const FAILED_ROOT: &str = "Nov 26 00:00:06 web01 sshd-session[3835]: Failed password for root from 91.6.37.142 port 18066 ssh2";
    const FAILED_PUBKEY: &str = "2026-11-26T10:15:01.123456+00:00 bastion.example.org sshd[2211]: Failed publickey for git from 2a01:4f8:5d9d:c9f8::9531:985d port 50022 ssh2: ED25519 SHA256:oIRDcjzC0HOoVVkNyN1ziBxBgbEoulZglO3/z9V/EeI";
    const FAILED_KBD: &str = "Nov 26 00:00:06 web01 sshd[4000]: Failed keyboard-interactive/pam for invalid user pi from 198.51.100.9 port 40000 ssh2";
    const FAILED_NONE: &str = "Nov 26 00:03:42 web01 sshd[9963]: Failed none for invalid user admin from 129.231.78.245 port 55038 ssh2";
    const INVALID: &str = "Nov 26 00:00:02 web01 sshd[3504]: Invalid user administrator from 52.226.211.185 port 17641";
    const PAM_FAIL: &str = "Nov 26 00:00:02 web01 sshd[3504]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=52.226.211.185 ";
    const PAM_FAIL_USER: &str = "Nov 26 00:01:04 web01 sshd[5220]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=109.118.176.126  user=root";
    const PAM_MORE: &str = "Nov 26 00:00:11 web01 sshd[3668]: PAM 4 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=57.38.48.89 ";
    const PAM_ONE_MORE: &str = "Nov 26 00:00:11 web01 sshd[3668]: PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=57.38.48.89  user=root";
    const PAM_ERROR: &str = "Nov 26 00:00:11 web01 sshd[3670]: error: PAM: Authentication failure for root from 203.0.113.5";
    const MAX_AUTH: &str = "Nov 26 00:00:59 web01 sshd-session[4480]: error: maximum authentication attempts exceeded for invalid user ubuntu from 163.143.213.71 port 17277 ssh2 [preauth]";
    const NOT_ALLOWED: &str = "Nov 26 00:00:59 web01 sshd[4481]: User postgres from 203.0.113.7 not allowed because not listed in AllowUsers";
    const CLOSED_INVALID: &str = "Nov 26 00:00:04 web01 sshd[3504]: Connection closed by invalid user administrator 52.226.211.185 port 17641 [preauth]";
    const CLOSED_AUTH: &str = "Nov 26 00:00:06 web01 sshd-session[3835]: Connection closed by authenticating user root 91.6.37.142 port 18066 [preauth]";
    const RESET_INVALID: &str = "Nov 26 00:00:24 web01 sshd[4154]: Connection reset by invalid user oracle 2a01:4f8:5d9d:c9f8::9531:985d port 64126 [preauth]";
    const DISCONNECTED: &str = "Nov 26 00:00:48 web01 sshd[4692]: Disconnected from authenticating user root 82.230.180.56 port 32873 [preauth]";
    const DISCONNECTING: &str = "Nov 26 00:00:59 web01 sshd-session[4480]: Disconnecting invalid user ubuntu 163.143.213.71 port 17277: Too many authentication failures [preauth]";
    const REPEATED: &str = "Nov 26 00:01:23 web01 sshd[5403]: message repeated 2 times: [ Failed password for invalid user teamspeak from 57.38.48.89 port 9387 ssh2]";
    const FTP_NATIVE: &str =
        r#"Thu Nov 26 00:00:01 2026 [pid 4165] [admin] FAIL LOGIN: Client "212.24.247.175""#;
    const FTP_NATIVE_REASON: &str = r#"Thu Nov 26 00:00:01 2026 [pid 4165] [admin] FAIL LOGIN: Client "::ffff:212.24.247.175", "Login incorrect.""#;
    const FTP_SYSLOG: &str =
        r#"Nov 26 00:00:01 web01 vsftpd[1233]: [admin] FAIL LOGIN: Client "1.2.3.4""#;
    const FTP_PAM: &str = "Nov 26 00:00:01 web01 vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=admin rhost=198.51.100.33 ";

    #[test]
    fn every_sshd_form() {
        let cases: &[(&str, &str, &str, Option<&str>, u32)] = &[
            (
                FAILED_PW,
                "failed_password",
                "52.226.211.185",
                Some("administrator"),
                1,
            ),
            (
                FAILED_ROOT,
                "failed_password",
                "91.6.37.142",
                Some("root"),
                1,
            ),
            (
                FAILED_PUBKEY,
                "failed_publickey",
                "2a01:4f8:5d9d:c9f8::9531:985d",
                Some("git"),
                1,
            ),
            (
                FAILED_KBD,
                "failed_keyboard_interactive_pam",
                "198.51.100.9",
                Some("pi"),
                1,
            ),
            (
                FAILED_NONE,
                "failed_none",
                "129.231.78.245",
                Some("admin"),
                1,
            ),
            (
                INVALID,
                "invalid_user",
                "52.226.211.185",
                Some("administrator"),
                1,
            ),
            (PAM_FAIL, "pam_auth_failure", "52.226.211.185", None, 1),
            (
                PAM_FAIL_USER,
                "pam_auth_failure",
                "109.118.176.126",
                Some("root"),
                1,
            ),
            (PAM_MORE, "pam_more_failures", "57.38.48.89", None, 4),
            (
                PAM_ONE_MORE,
                "pam_more_failures",
                "57.38.48.89",
                Some("root"),
                1,
            ),
            (PAM_ERROR, "pam_error", "203.0.113.5", Some("root"), 1),
            (
                MAX_AUTH,
                "max_auth_exceeded",
                "163.143.213.71",
                Some("ubuntu"),
                1,
            ),
            (
                NOT_ALLOWED,
                "user_not_allowed",
                "203.0.113.7",
                Some("postgres"),
                1,
            ),
            (
                CLOSED_INVALID,
                "connection_closed",
                "52.226.211.185",
                Some("administrator"),
                1,
            ),
            (
                CLOSED_AUTH,
                "connection_closed",
                "91.6.37.142",
                Some("root"),
                1,
            ),
            (
                RESET_INVALID,
                "connection_closed",
                "2a01:4f8:5d9d:c9f8::9531:985d",
                Some("oracle"),
                1,
            ),
            (
                DISCONNECTED,
                "disconnected",
                "82.230.180.56",
                Some("root"),
                1,
            ),
            (
                DISCONNECTING,
                "disconnecting",
                "163.143.213.71",
                Some("ubuntu"),
                1,
            ),
            (
                REPEATED,
                "failed_password",
                "57.38.48.89",
                Some("teamspeak"),
                2,
            ),
        ];
        for &(line, name, addr, who, count) in cases {
            let e = ev(line);
            assert_eq!(e.service, Service::Sshd, "{line}");
            assert_eq!(e.event_name(), name, "{line}");
            assert_eq!(e.ip, ip(addr), "{line}");
            assert_eq!(user(&e), who, "{line}");
            assert_eq!(e.count, count, "{line}");
        }
    }

    #[test]
    fn header_fields() {
        let e = ev(FAILED_PUBKEY);
        assert_eq!(e.host, Some(&b"bastion.example.org"[..]));
        assert_eq!(e.pid, Some(2211));
        assert_eq!(e.stamp, Stamp::Rfc3339(b"2026-11-26T10:15:01.123456+00:00"));
        let e = ev(FAILED_ROOT);
        assert_eq!(e.pid, Some(3835));
        assert_eq!(e.stamp, Stamp::Syslog(b"Nov 26 00:00:06"));
    }

    #[test]
    fn vsftpd_forms() {
        let e = ev(FTP_NATIVE);
        assert_eq!((e.service, e.kind), (Service::Vsftpd, Kind::FtpFailLogin));
        assert_eq!(
            (e.ip, user(&e), e.pid),
            (ip("212.24.247.175"), Some("admin"), Some(4165))
        );
        assert_eq!(e.host, None);
        assert_eq!(e.stamp, Stamp::Vsftpd(b"Thu Nov 26 00:00:01 2026"));
        let e = ev(FTP_NATIVE_REASON);
        assert_eq!(e.ip, ip("212.24.247.175"), "v4-mapped address is unmapped");
        let e = ev(FTP_SYSLOG);
        assert_eq!(
            (e.service, e.ip, e.pid),
            (Service::Vsftpd, ip("1.2.3.4"), Some(1233))
        );
        let e = ev(FTP_PAM);
        assert_eq!((e.service, e.kind), (Service::Vsftpd, Kind::PamAuthFailure));
        assert_eq!((e.ip, e.pid), (ip("198.51.100.33"), None));
        let known = format!("{FTP_PAM} user=admin");
        let e = ev(&known);
        assert_eq!((e.ip, user(&e)), (ip("198.51.100.33"), Some("admin")));
    }

    #[test]
    fn noise_is_not_an_event() {
        for line in [
            "Nov 26 00:00:00 web01 sshd[3596]: Connection closed by 82.230.180.56 port 59852 [preauth]",
            "Nov 26 00:00:04 web01 sshd[3750]: Received disconnect from 82.230.180.56 port 42751:11: Bye Bye [preauth]",
            "Nov 26 00:00:06 web01 sshd[3750]: Disconnected from 82.230.180.56 port 42751 [preauth]",
            "Nov 26 00:00:13 web01 sshd[3921]: Accepted password for deploy from 192.0.2.200 port 20311 ssh2",
            "Nov 26 00:00:23 web01 sshd[3921]: Disconnected from user deploy 192.0.2.200 port 20311",
            "Nov 26 00:00:02 web01 sshd[3504]: pam_unix(sshd:auth): check pass; user unknown",
            "Nov 26 00:00:12 web01 sshd[3668]: PAM service(sshd) ignoring max retries; 5 > 3",
            "Nov 26 00:05:38 web01 sudo: pam_unix(sudo:auth): authentication failure; logname=bob uid=1001 euid=0 tty=/dev/pts/2 ruser=bob rhost=  user=bob",
            r#"Nov 26 00:00:06 web01 sudo:    alice : TTY=pts/2 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/grep -c "Failed password" /var/log/auth.log"#,
            "Nov 26 00:00:10 web01 sshd[845]: drop connection #5 from [91.6.37.142]:16114 on [192.0.2.1]:22 penalty: failed authentication",
            r#"Thu Nov 26 00:00:00 2026 [pid 4156] CONNECT: Client "185.64.103.237""#,
            r#"Thu Nov 26 00:00:09 2026 [pid 1233] [alice] OK LOGIN: Client "1.2.3.4""#,
            "",
            "garbage",
            "Nov 26 00:00:02 web01",
        ] {
            assert_eq!(parse(line.as_bytes()), None, "{line}");
        }
    }

    #[test]
    fn hostnames_are_never_counted() {
        // UseDNS yes: sshd logs the resolved name, which the attacker's DNS controls.
        for line in [
            "Nov 26 00:00:03 web01 sshd[1]: Failed password for root from evil.example.com port 22 ssh2",
            "Nov 26 00:00:03 web01 sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4.evil.example  user=root",
            "Nov 26 00:00:03 web01 sshd[1]: Invalid user a from deadbeef.example port 22",
        ] {
            assert_eq!(parse(line.as_bytes()), None, "{line}");
        }
    }

    /// The user name is attacker input: whatever address it carries, the
    /// event's address is the one sshd or vsftpd wrote in the fixed part.
    #[test]
    fn injected_addresses_are_never_blamed() {
        let real = ip("203.0.113.99");
        let cases = [
            "Nov 26 00:00:03 web01 sshd[1]: Failed password for invalid user x from 1.2.3.4 port 22 ssh2 from 203.0.113.99 port 4711 ssh2",
            "Nov 26 00:00:03 web01 sshd[1]: Failed password for x from 1.2.3.4 port 22 ssh2 from 203.0.113.99 port 4711 ssh2",
            "Nov 26 00:00:03 web01 sshd[1]: Failed publickey for x from 1.2.3.4 port 22 ssh2: RSA SHA256:abc from 203.0.113.99 port 4711 ssh2: RSA SHA256:def",
            "Nov 26 00:00:03 web01 sshd[1]: Invalid user x from 1.2.3.4 port 22 from 203.0.113.99 port 4711",
            "Nov 26 00:00:03 web01 sshd[1]: Invalid user x from 1.2.3.4 from 203.0.113.99 port 4711",
            "Nov 26 00:00:03 web01 sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.99  user=x rhost=1.2.3.4",
            "Nov 26 00:00:03 web01 sshd[1]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.99  user=x rhost=1.2.3.4 ",
            "Nov 26 00:00:03 web01 sshd[1]: error: PAM: Authentication failure for x from 1.2.3.4 from 203.0.113.99",
            "Nov 26 00:00:03 web01 sshd[1]: error: maximum authentication attempts exceeded for invalid user x from 1.2.3.4 port 22 ssh2 from 203.0.113.99 port 4711 ssh2 [preauth]",
            "Nov 26 00:00:03 web01 sshd[1]: User x from 1.2.3.4 not allowed because listed in DenyUsers from 203.0.113.99 not allowed because not listed in AllowUsers",
            "Nov 26 00:00:03 web01 sshd[1]: Connection closed by invalid user x 1.2.3.4 port 22 [preauth] 203.0.113.99 port 4711 [preauth]",
            "Nov 26 00:00:03 web01 sshd[1]: Connection closed by authenticating user x 1.2.3.4 port 22 203.0.113.99 port 4711 [preauth]",
            "Nov 26 00:00:03 web01 sshd[1]: Disconnected from invalid user x 1.2.3.4 port 22 [preauth] 203.0.113.99 port 4711 [preauth]",
            "Nov 26 00:00:03 web01 sshd[1]: Disconnecting invalid user x 1.2.3.4 port 22: Too many authentication failures 203.0.113.99 port 4711: Too many authentication failures [preauth]",
            "Nov 26 00:00:03 web01 sshd[1]: message repeated 3 times: [ Failed password for invalid user x from 1.2.3.4 port 22 ssh2 from 203.0.113.99 port 4711 ssh2]",
            r#"Thu Nov 26 00:00:01 2026 [pid 9] [x] FAIL LOGIN: Client "1.2.3.4"] FAIL LOGIN: Client "203.0.113.99""#,
            r#"Thu Nov 26 00:00:01 2026 [pid 9] [x] FAIL LOGIN: Client "1.2.3.4", "y"] FAIL LOGIN: Client "203.0.113.99""#,
            r#"Nov 26 00:00:01 web01 vsftpd[9]: [x] FAIL LOGIN: Client "1.2.3.4"] FAIL LOGIN: Client "203.0.113.99", "Login incorrect.""#,
        ];
        for line in cases {
            let e = ev(line);
            assert_eq!(e.ip, real, "{line}");
            let u = user(&e).unwrap_or("");
            assert!(
                u.contains("1.2.3.4") || line.contains("rhost=1.2.3.4"),
                "the injected text stays in the user name: {line}"
            );
        }
        // vsftpd's pam_unix line holds the FTP user name twice, before the address
        // (ruser=) and after it (user=, for an existing account).
        let vsftpd_pam = [
            "Nov 26 00:00:01 web01 vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=a rhost=1.2.3.4  user=x rhost=203.0.113.99 ",
            "Nov 26 00:00:01 web01 vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser= rhost=1.2.3.4  user= rhost=203.0.113.99 ",
            "Nov 26 00:00:01 web01 vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=a rhost=1.2.3.4  user= rhost=203.0.113.99  user=a rhost=1.2.3.4  user=",
        ];
        for line in vsftpd_pam {
            assert_eq!(ev(line).ip, real, "{line}");
        }
        // A name that ends in `\r`, whose last one `parse` cuts with the line's CRLF.
        let cr = "Nov 26 00:00:01 web01 vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=x\r rhost=203.0.113.99  user=x\r";
        assert_eq!(ev(cr).ip, real);
        // Made ambiguous (the name `a rhost=R  rhost=F  user=a`, unknown account):
        // rather nobody than the wrong one.
        let ambiguous = "Nov 26 00:00:01 web01 vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=a rhost=203.0.113.99  rhost=1.2.3.4  user=a rhost=203.0.113.99 ";
        assert_eq!(parse(ambiguous.as_bytes()), None);
        // A name that ends in what looks like a complete line, with the real suffix missing,
        // is not a failure line at all.
        let fake_only =
            "Nov 26 00:00:03 web01 sshd[1]: Invalid user x from 1.2.3.4 port 22 trailing";
        assert_eq!(parse(fake_only.as_bytes()), None);
    }

    #[test]
    fn repeated_counts_its_multiplier_and_rejects_zero() {
        let line = "Nov 26 00:01:23 web01 sshd[5403]: message repeated 5 times: [ Failed password for root from 57.38.48.89 port 9387 ssh2]";
        assert_eq!(ev(line).count, 5);
        let zero = line.replace("5 times", "0 times");
        assert_eq!(parse(zero.as_bytes()), None);
        let noise = "Nov 26 00:01:23 web01 sshd[5403]: message repeated 5 times: [ Accepted password for root from 57.38.48.89 port 9387 ssh2]";
        assert_eq!(parse(noise.as_bytes()), None);
    }

    #[test]
    fn non_utf8_and_control_bytes_in_user_names() {
        let mut line = b"Nov 26 00:00:02 web01 sshd[3504]: Invalid user \xff\xfe\x1b[31mred from 52.226.211.185 port 17641".to_vec();
        let e = parse(&line).unwrap();
        assert_eq!(e.ip, ip("52.226.211.185"));
        assert_eq!(e.user, Some(&b"\xff\xfe\x1b[31mred"[..]));
        line.push(b'\r');
        assert!(parse(&line).is_some(), "a CRLF line still parses");
    }

    #[test]
    fn other_programs_are_ignored() {
        let line =
            "Nov 26 00:00:03 web01 notsshd[1]: Failed password for root from 1.2.3.4 port 22 ssh2";
        assert_eq!(parse(line.as_bytes()), None);
    }
}
