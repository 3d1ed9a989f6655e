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

mod addr;
mod header;
mod noise;
mod sshd;
mod vsftpd;

use std::net::IpAddr;
use std::sync::LazyLock;

use regex::bytes::{Captures, Regex};

pub(crate) use addr::parse_ip;
use header::{Header, header};
use sshd::sshd_body;
use vsftpd::vsftpd_body;

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
    /// `error: PAM: User not known to the underlying authentication module for U from IP`
    PamUserUnknown,
    /// `Disconnecting: Too many authentication failures [for U]`: no address.
    TooManyFailures,
    /// `ROOT LOGIN REFUSED FROM IP`
    RootRefused,
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
            Kind::PamUserUnknown => "pam_user_unknown",
            Kind::TooManyFailures => "too_many_failures",
            Kind::RootRefused => "root_login_refused",
            Kind::FtpFailLogin => "fail_login",
        }
    }

    pub fn slot(self) -> Slot {
        match self {
            Kind::Failed | Kind::FtpFailLogin => Slot::F,
            Kind::PamAuthFailure | Kind::PamMoreFailures => Slot::P,
            Kind::PamError | Kind::PamUserUnknown => Slot::E,
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
    /// The client's address; `None` for a message that does not name it
    /// (or names it ambiguously), whose address comes from its connection's
    /// other lines: the same host and pid.
    pub ip: Option<IpAddr>,
    /// At most `MAX_USER` bytes of the name the client sent.
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

fn parse_u32(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    // One pass: every line's pid comes through here.
    b.iter().try_fold(0, |n, &c| {
        let d = c.wrapping_sub(b'0');
        (d <= 9).then_some(n * 10 + d as u32)
    })
}

/// Byte-oriented (`(?-u)`): a user name that is not UTF-8 still matches `.*`.
fn re(pattern: &str) -> Regex {
    Regex::new(&format!("(?-u){pattern}")).expect("built-in pattern compiles")
}

static REPEATED: LazyLock<Regex> =
    LazyLock::new(|| re(r"^message repeated (?P<n>\d+) times: \[ ?(?P<inner>.*)\]$"));

#[cfg(test)]
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
    ip: LineAddr<'a>,
    user: Option<&'a [u8]>,
    count: u32,
}

/// A line's address, decoded or still as its text. Decoding is most of the
/// cost of an attack line, so the reading thread leaves it to the merging
/// one (see `ingest`): the line is an event only if the text decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineAddr<'a> {
    /// Decided already: the address, or none (it comes from the connection).
    Known(Option<IpAddr>),
    /// The address as sshd wrote it (`ip_with_zone` decodes it). With `keep`
    /// false the event does not take it (see `plausible`), but the text must
    /// still be an address for the line to count.
    Text { text: &'a [u8], keep: bool },
}

impl LineAddr<'_> {
    /// `None` when the text is no address: then the line is no event.
    #[inline]
    pub(crate) fn resolve(self) -> Option<Option<IpAddr>> {
        match self {
            LineAddr::Known(ip) => Some(ip),
            LineAddr::Text { text, keep } => {
                let ip = addr::ip_with_zone(text)?;
                Some(keep.then_some(ip))
            }
        }
    }

    /// The same address, which the event then does not take.
    fn dropped(self) -> Self {
        match self {
            LineAddr::Known(_) => LineAddr::Known(None),
            LineAddr::Text { text, .. } => LineAddr::Text { text, keep: false },
        }
    }
}

/// The most of a user name an event keeps: sshd prints no more (`%.100s`).
pub const MAX_USER: usize = sshd::SSHD_MAX_USER;

/// What a line's user name and address can be believed to be. sshd prints
/// at most 100 bytes of a name in most of its messages, so a longer one there
/// is not sshd's output: such a line counts without a name, and with the
/// address of its connection's other lines. The matchers of `Failed` and of
/// the lines that name a connection (`Connection closed by …`) hold their
/// names to sshd's own limits themselves; pam_unix and vsftpd print names
/// whole. The first 100 bytes are kept, so that nothing downstream copies a
/// huge name.
#[inline]
fn plausible(service: Service, mut body: Body<'_>) -> Body<'_> {
    let whole = matches!(service, Service::Vsftpd)
        || matches!(
            body.kind,
            Kind::PamAuthFailure
                | Kind::PamMoreFailures
                | Kind::Failed
                | Kind::ConnectionClosed
                | Kind::Disconnected
                | Kind::Disconnecting
        );
    body.user = match body.user {
        Some(u) if u.len() > MAX_USER && !whole && sshd::raw_len(u) > MAX_USER => {
            body.ip = body.ip.dropped();
            None
        }
        Some(u) if !u.is_empty() => Some(&u[..u.len().min(MAX_USER)]),
        _ => None,
    };
    body
}

/// Parses one log line (without its newline). `None` for anything that is
/// not a failed login from a remote address.
pub fn parse(line: &[u8]) -> Option<Event<'_>> {
    let (mut ev, ip) = parse_pending(line)?;
    ev.ip = ip.resolve()?;
    Some(ev)
}

/// `parse`, but the address is left to decode: the event's `ip` is `None`
/// until `LineAddr::resolve` gives it, and the line is an event only if that
/// does not fail.
pub(crate) fn parse_pending(line: &[u8]) -> Option<(Event<'_>, LineAddr<'_>)> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    event(&header(line)?)
}

/// The timestamp of any line of a syslog file, whichever program wrote it.
pub(crate) fn stamp_of(line: &[u8]) -> Option<Stamp<'_>> {
    header::stamp_of(line.strip_suffix(b"\r").unwrap_or(line))
}

/// What `parse` makes of a line, for the `parse` subcommand's summary.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen<'a> {
    Event(Event<'a>),
    /// A line of sshd, sshd-session or vsftpd that names an address but is
    /// neither a failure nor one of their known harmless messages
    /// (`noise::harmless`): a form this tool may not know yet.
    Missed,
    /// A line the daemon may have written in more than one way, one of them a
    /// failure, that does not say whose it is (text the client chose imitates
    /// a failure, or a failure carries another address in the client's
    /// text): counted for nobody.
    Ambiguous,
    /// Any other line.
    Other,
}

/// `parse`, telling a missed line from the others.
pub fn examine(line: &[u8]) -> Seen<'_> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(h) = header(line) else {
        return Seen::Other;
    };
    if let Some((mut ev, ip)) = event(&h)
        && let Some(ip) = ip.resolve()
    {
        ev.ip = ip;
        return Seen::Event(ev);
    }
    let ours = matches!(
        h.prog,
        b"sshd" | b"sshd-session" | b"sshd-auth" | b"sshd(pam_unix)" | b"vsftpd"
    );
    let ambiguous = match h.prog {
        b"sshd" | b"sshd-session" | b"sshd-auth" => sshd::ambiguous(h.msg),
        b"vsftpd" => vsftpd::ambiguous(h.msg),
        _ => false,
    };
    if ambiguous {
        return Seen::Ambiguous;
    }
    match ours && !noise::harmless(h.prog, h.msg) && noise::names_address(h.msg) {
        true => Seen::Missed,
        false => Seen::Other,
    }
}

fn event<'a>(h: &Header<'a>) -> Option<(Event<'a>, LineAddr<'a>)> {
    let (service, body) = match h.prog {
        b"sshd" | b"sshd-session" | b"sshd-auth" => (Service::Sshd, sshd_body(h.msg)?),
        b"sshd(pam_unix)" => (Service::Sshd, sshd::pam_unix_tag_body(h.msg)?),
        b"vsftpd" => (Service::Vsftpd, vsftpd_body(h.msg)?),
        _ => return None,
    };
    let body = plausible(service, body);
    let ev = Event {
        service,
        kind: body.kind,
        method: body.method,
        ip: None,
        user: body.user,
        stamp: h.stamp,
        host: h.host,
        pid: h.pid.and_then(parse_u32),
        count: body.count,
    };
    Some((ev, body.ip))
}

/// xorshift64*: deterministic, no dependency.
#[cfg(test)]
pub(super) struct Rng(pub(super) u64);

#[cfg(test)]
impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(line: &str) -> Event<'_> {
        parse(line.as_bytes()).unwrap_or_else(|| panic!("not parsed: {line}"))
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
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

    /// Forms of other platforms and releases, each as a whole line.
    #[test]
    fn every_other_form() {
        let no = None;
        let cases: &[(&str, &str, Option<&str>, Option<&str>)] = &[
            // FreeBSD's and macOS's OpenPAM, and the case variants.
            (
                "Nov 26 00:00:11 fbsd sshd[3670]: error: PAM: authentication error for illegal user admin from 203.0.113.5",
                "pam_error",
                Some("203.0.113.5"),
                Some("admin"),
            ),
            (
                "Nov 26 00:00:11 fbsd sshd[3670]: error: PAM: authentication error for root from 203.0.113.5",
                "pam_error",
                Some("203.0.113.5"),
                Some("root"),
            ),
            (
                "Nov 26 00:00:11 web01 sshd[3670]: error: PAM: Authentication error for root from 203.0.113.5",
                "pam_error",
                Some("203.0.113.5"),
                Some("root"),
            ),
            (
                "Nov 26 00:00:11 sol10 sshd[3670]: error: PAM: Authentication failed for root from 203.0.113.5",
                "pam_error",
                Some("203.0.113.5"),
                Some("root"),
            ),
            (
                "Nov 26 00:00:11 web01 sshd[3670]: error: PAM: User not known to the underlying authentication module for illegal user oracle from 203.0.113.5",
                "pam_user_unknown",
                Some("203.0.113.5"),
                Some("oracle"),
            ),
            // Any method sshd logs.
            (
                "Nov 26 00:00:06 web01 sshd[4000]: Failed keyboard-interactive for invalid user pi from 198.51.100.9 port 40000 ssh2",
                "failed_keyboard_interactive",
                Some("198.51.100.9"),
                Some("pi"),
            ),
            (
                "Nov 26 00:00:06 obsd sshd[4000]: Failed keyboard-interactive/bsdauth for root from 198.51.100.9 port 40000 ssh2",
                "failed_keyboard_interactive_bsdauth",
                Some("198.51.100.9"),
                Some("root"),
            ),
            (
                "Nov 26 00:00:06 web01 sshd[4000]: Failed hostbased for root from 198.51.100.9 port 40000 ssh2: ECDSA SHA256:3q3bW8ZbYqW2n0dq8oVd2JjM5y2zGeG0mQ5f4f2D1kA",
                "failed_hostbased",
                Some("198.51.100.9"),
                Some("root"),
            ),
            (
                "Nov 26 00:00:06 web01 sshd[4000]: Failed gssapi-with-mic for invalid user test from 198.51.100.9 port 40000 ssh2",
                "failed_gssapi_with_mic",
                Some("198.51.100.9"),
                Some("test"),
            ),
            // Old fingerprints, certificates, SSH-1.
            (
                "Nov 26 00:00:06 old sshd[4000]: Failed publickey for root from 192.0.2.4 port 51234 ssh2: RSA 2b:4c:6d:8e:9f:a0:b1:c2:d3:e4:f5:06:17:28:39:4a",
                "failed_publickey",
                Some("192.0.2.4"),
                Some("root"),
            ),
            (
                "Nov 26 00:00:06 web01 sshd[4000]: Failed publickey for root from 192.0.2.4 port 51234 ssh2: RSA MD5:2b:4c:6d:8e:9f:a0:b1:c2:d3:e4:f5:06:17:28:39:4a",
                "failed_publickey",
                Some("192.0.2.4"),
                Some("root"),
            ),
            (
                "Nov 26 00:00:06 web01 sshd[4000]: Failed publickey for deploy from 192.0.2.4 port 51234 ssh2: ED25519-CERT SHA256:Qm9ndXNLZXlGaW5nZXJwcmludEhlcmUxMjM0NTY3 ID ci-runner@example.org (serial 42) CA ED25519 SHA256:Q0FLZXlGaW5nZXJwcmludEhlcmUxMjM0NTY3ODk",
                "failed_publickey",
                Some("192.0.2.4"),
                Some("deploy"),
            ),
            (
                "Nov 26 00:00:06 old sshd[4000]: Failed publickey for deploy from 192.0.2.4 port 51234 ssh2: RSA-CERT ID ci-runner (serial 7) CA RSA 2b:4c:6d:8e:9f:a0:b1:c2:d3:e4:f5:06:17:28:39:4a",
                "failed_publickey",
                Some("192.0.2.4"),
                Some("deploy"),
            ),
            (
                "Nov 26 00:00:06 old sshd[4000]: Failed password for root from 192.0.2.4 port 1022 ssh1",
                "failed_password",
                Some("192.0.2.4"),
                Some("root"),
            ),
            (
                "Nov 26 00:00:06 old sshd[4000]: ROOT LOGIN REFUSED FROM 192.0.2.4",
                "root_login_refused",
                Some("192.0.2.4"),
                no,
            ),
            (
                "Nov 26 00:00:06 old sshd[4000]: ROOT LOGIN REFUSED FROM 192.0.2.4 port 1022",
                "root_login_refused",
                Some("192.0.2.4"),
                no,
            ),
            // No address: it comes from the connection's other lines.
            (
                "Nov 26 00:00:06 old sshd[4000]: Disconnecting: Too many authentication failures for root [preauth]",
                "too_many_failures",
                no,
                Some("root"),
            ),
            (
                "Nov 26 00:00:06 old sshd[4000]: Disconnecting: Too many authentication failures [preauth]",
                "too_many_failures",
                no,
                no,
            ),
            // A link-local client, with its zone.
            (
                "Nov 26 00:00:06 web01 sshd[4000]: Failed password for root from fe80::5054:ff:fe12:3456%eth0 port 51234 ssh2",
                "failed_password",
                Some("fe80::5054:ff:fe12:3456"),
                Some("root"),
            ),
            (
                "Nov 26 00:00:06 web01 sshd[4000]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=fe80::1%enp0s3  user=root",
                "pam_auth_failure",
                Some("fe80::1"),
                Some("root"),
            ),
            // Old Red Hat's tag.
            (
                "Nov 23 21:50:37 rh9 sshd(pam_unix)[8148]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=192.0.2.9  user=root",
                "pam_auth_failure",
                Some("192.0.2.9"),
                Some("root"),
            ),
            (
                "Nov 23 21:50:37 rh9 sshd(pam_unix)[8148]: 2 more authentication failures; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=192.0.2.9  user=root",
                "pam_more_failures",
                Some("192.0.2.9"),
                Some("root"),
            ),
            // Header shapes, whole.
            (
                "Nov 23 21:50:37 sol10 sshd[8148]: [ID 800047 auth.info] Failed keyboard-interactive for root from 192.0.2.9 port 51234 ssh2",
                "failed_keyboard_interactive",
                Some("192.0.2.9"),
                Some("root"),
            ),
            (
                "Jun 20 02:18:39 vps auth.info sshd[13482]: Failed password for root from 192.0.2.9 port 51234 ssh2",
                "failed_password",
                Some("192.0.2.9"),
                Some("root"),
            ),
            (
                "Nov 23 21:50:37 sshd[8148]: Invalid user admin from 192.0.2.9 port 51234",
                "invalid_user",
                Some("192.0.2.9"),
                Some("admin"),
            ),
            (
                "Nov 2 15:40:14 web01 sshd[8148]: Invalid user admin from 192.0.2.9 port 51234",
                "invalid_user",
                Some("192.0.2.9"),
                Some("admin"),
            ),
            (
                "2026-11-26 10:15:01 -0700 web01 sshd[8148]: Invalid user admin from 192.0.2.9 port 51234",
                "invalid_user",
                Some("192.0.2.9"),
                Some("admin"),
            ),
            (
                "<38>1 2022-01-19T14:23:55+00:00 web01 sshd 44255 - - Invalid user admin from 192.0.2.9 port 51234",
                "invalid_user",
                Some("192.0.2.9"),
                Some("admin"),
            ),
            (
                r#"<38>1 2022-01-19T14:23:55.003Z web01 sshd 44255 - [meta sequenceId="1"] Failed password for root from 192.0.2.9 port 51234 ssh2"#,
                "failed_password",
                Some("192.0.2.9"),
                Some("root"),
            ),
            (
                r#"Thu Nov 2 00:00:01 2026 [pid 4165] [admin] FAIL LOGIN: Client "192.0.2.9""#,
                "fail_login",
                Some("192.0.2.9"),
                Some("admin"),
            ),
        ];
        for &(line, name, addr, who) in cases {
            let e = ev(line);
            assert_eq!(e.event_name(), name, "{line}");
            assert_eq!(e.ip, addr.and_then(ip), "{line}");
            assert_eq!(user(&e), who, "{line}");
        }
    }

    /// A certificate's key ID is the client's, like the user name: a fake
    /// `from A port N ssh2` in either never names the address.
    #[test]
    fn crafted_certificate_suffixes_blame_nobody() {
        let real = "Nov 26 00:00:03 web01 sshd[7]: Failed publickey for root from 203.0.113.5 port 22 ssh2: RSA-CERT SHA256:aaa ID ";
        // Fake whole prefixes in the key ID or the user name: ambiguous.
        for line in [
            format!("{real}x from 10.10.1.2 port 55555 ssh2: RSA-CERT SHA256:c ID y (serial 1) CA RSA SHA256:bbb"),
            "Nov 26 00:00:03 web01 sshd[7]: Failed publickey for x from 10.10.1.2 port 5 ssh2: RSA-CERT SHA256:c ID y from 203.0.113.5 port 22 ssh2: RSA-CERT SHA256:aaa ID k (serial 1) CA RSA SHA256:bbb".to_string(),
            // A key ID cut after a fake suffix.
            format!("{real}x from 10.10.1.2 port 55555 ssh2"),
            format!("{real}x from 10.10.1.2 port 55555 ssh2: RSA SHA256:zzz"),
            // … or cut inside a fake fingerprint that takes up the padding.
            format!("{real}x from 10.10.1.2 port 55555 ssh2: RSA SHA256:{}", "A".repeat(900)),
        ] {
            let e = ev(&line);
            assert_eq!((e.kind, e.ip, e.user), (Kind::Failed, None, None), "{line}");
        }
        // sshd prints at most 100 bytes of a user name, so a fake that would
        // need a longer one is no reading.
        let line = format!("{real}{}x from 10.10.1.2 port 55555 ssh2", "A".repeat(300));
        assert_eq!(
            (ev(&line).ip, user(&ev(&line))),
            (ip("203.0.113.5"), Some("root"))
        );
        // sshd hands syslog 500 bytes of a message: a longer line may have
        // lost its end, so it names no address of its own.
        for line in [
            format!("{real}{}x from 10.10.1.2 port 55555 ssh2", "A".repeat(900)),
            format!(
                "{real}{} from 10.10.1.2 port 55555 ssh2: RSA SHA256:zzz",
                "A".repeat(900)
            ),
        ] {
            let e = ev(&line);
            assert_eq!((e.kind, e.ip, e.user), (Kind::Failed, None, None), "{line}");
        }
        // A fake that is not a whole prefix changes nothing.
        let line = format!("{real}x from 10.10.1.2 port 55555 ssh2 (serial 1) CA RSA SHA256:bbb");
        assert_eq!(ev(&line).ip, ip("203.0.113.5"));
        assert_eq!(user(&ev(&line)), Some("root"));
        // Fakes that agree with the real one.
        let line = "Nov 26 00:00:03 web01 sshd[7]: Failed publickey for x from 203.0.113.5 port 5 ssh2: RSA-CERT SHA256:c ID y from 203.0.113.5 port 22 ssh2: RSA-CERT SHA256:aaa ID k (serial 1) CA RSA SHA256:bbb";
        assert_eq!((ev(line).ip, ev(line).user), (ip("203.0.113.5"), None));
    }

    #[test]
    fn names_longer_than_sshd_prints() {
        let long = "a".repeat(101);
        let ok = "a".repeat(100);
        let line = |u: &str| {
            format!("Nov 26 00:00:03 web01 sshd[7]: Invalid user {u} from 203.0.113.5 port 22")
        };
        let l = line(&ok);
        let e = parse(l.as_bytes()).unwrap();
        assert_eq!((e.ip, user(&e)), (ip("203.0.113.5"), Some(ok.as_str())));
        let l = line(&long);
        let e = parse(l.as_bytes()).unwrap();
        assert_eq!(
            (e.ip, e.user),
            (None, None),
            "not sshd's: nor is its address"
        );
        // pam_unix and vsftpd print whole names: 100 bytes are kept.
        let pam = format!(
            "Nov 26 00:00:03 web01 sshd[7]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5  user={long}"
        );
        let e = parse(pam.as_bytes()).unwrap();
        assert_eq!((e.ip, user(&e)), (ip("203.0.113.5"), Some(ok.as_str())));
        let ftp = format!(
            r#"Thu Nov 26 00:00:01 2026 [pid 4165] [{long}] FAIL LOGIN: Client "203.0.113.5""#
        );
        let e = parse(ftp.as_bytes()).unwrap();
        assert_eq!((e.ip, user(&e)), (ip("203.0.113.5"), Some(ok.as_str())));
        let huge = format!(
            r#"Thu Nov 26 00:00:01 2026 [pid 4165] [{}] FAIL LOGIN: Client "203.0.113.5""#,
            "b".repeat(65536)
        );
        assert_eq!(
            parse(huge.as_bytes()).unwrap().user.map(<[u8]>::len),
            Some(MAX_USER)
        );
    }

    #[test]
    fn missed_lines() {
        assert_eq!(
            examine(b"Nov 26 00:00:03 web01 sshd[7]: Frobnicated root from 203.0.113.5 port 22"),
            Seen::Missed
        );
        assert_eq!(
            examine(br#"Thu Nov 26 00:00:01 2026 [pid 4165] [x] FAIL LOGON: Client "203.0.113.5""#),
            Seen::Missed
        );
        for line in [
            "Nov 26 00:00:03 web01 sshd[7]: Accepted password for deploy from 192.0.2.200 port 20311 ssh2",
            "Nov 26 00:00:03 web01 sshd[7]: Server listening on 0.0.0.0 port 22.",
            "Nov 26 00:00:03 web01 sshd[7]: Frobnicated root from evil.example.com",
            "Nov 26 00:00:03 web01 cron[7]: Frobnicated root from 203.0.113.5 port 22",
        ] {
            assert_eq!(examine(line.as_bytes()), Seen::Other, "{line}");
        }
        assert!(matches!(examine(FAILED_PW.as_bytes()), Seen::Event(_)));
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
            "Nov 26 00:00:03 web01 sshd[1]: message repeated 3 times: [ Failed password for invalid user x from 1.2.3.4 port 22 ssh2 from 203.0.113.99 port 4711 ssh2]",
            r#"Thu Nov 26 00:00:01 2026 [pid 9] [x] FAIL LOGIN: Client "1.2.3.4"] FAIL LOGIN: Client "203.0.113.99""#,
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
        // Where the client's text after the address can hold a whole fake
        // reading, the line says nothing of its own: a failure takes its
        // connection's address, and a line that may be no failure at all
        // (a disconnect for another reason; another FTP action) counts for
        // nobody.
        let failed = "Nov 26 00:00:03 web01 sshd[1]: Failed publickey for x from 1.2.3.4 port 22 ssh2: RSA SHA256:abc from 203.0.113.99 port 4711 ssh2: RSA SHA256:def";
        assert_eq!((ev(failed).ip, ev(failed).user), (None, None));
        for line in [
            "Nov 26 00:00:03 web01 sshd[1]: Disconnecting invalid user x 1.2.3.4 port 22: Too many authentication failures 203.0.113.99 port 4711: Too many authentication failures [preauth]",
            r#"Thu Nov 26 00:00:01 2026 [pid 9] [x] FAIL LOGIN: Client "1.2.3.4", "y"] FAIL LOGIN: Client "203.0.113.99""#,
        ] {
            assert_eq!(parse(line.as_bytes()), None, "{line}");
            assert_eq!(examine(line.as_bytes()), Seen::Ambiguous, "{line}");
        }
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
