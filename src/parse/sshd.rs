//! sshd's failure messages, matched by hand from their fixed end.

use std::net::IpAddr;
use std::sync::LazyLock;

use memchr::memmem;

use super::addr::{ip_with_zone, is_addr_byte};
use super::{Body, Kind, LineAddr, count_from};

// sshd's messages are matched by hand, from their fixed end backwards, with
// exactly the meaning of these patterns (`(?-u)`, so `.` is any byte but
// `\n` and `\S` any byte but ASCII space, `\t\n\v\f\r`; IP stands for
// `[0-9A-Fa-f:.]+(?:%[0-9A-Za-z_.-]+)?`, an address with an IPv6 zone, FP for
// `(?:SHA256:[A-Za-z0-9+/=]+|(?:MD5:)?[0-9a-f]{2}(?::[0-9a-f]{2}){15})`); the
// test `hand_matchers_equal_the_patterns` holds each matcher to its pattern.
//
//   Failed:      ^Failed (?P<method>METHOD) for (?P<rest>.*)$, read at every
//                ` from (?P<ip>IP) port \d+ ssh[12](?:$|: .*)` in rest with
//                ^(?:invalid user )?(?P<user>.{0,100})$ before it (see `failed_tail`:
//                the auth info after `: `, like U, is partly the client's)
//   Invalid:     ^(?:Invalid|Illegal) user (?P<user>.*) from (?P<ip>IP)(?: port \d+)?$
//   pam_unix:    ^pam_unix\(sshd:auth\): authentication failure; logname=\S* uid=\d+ euid=\d+ tty=\S* ruser=\S* rhost=(?P<ip>IP)(?: +user=(?P<user>.*?))? *$
//   PAM more:    ^PAM (?P<n>\d+) more authentication failures?; logname=\S* uid=\d+ euid=\d+ tty=\S* ruser=\S* rhost=(?P<ip>IP)(?: +user=(?P<user>.*?))? *$
//   PAM error:   ^error: PAM: (?:[Aa]uthentication (?:failure|error|failed)) for (?:(?:illegal|invalid) user )?(?P<user>.*) from (?P<ip>IP)$
//   PAM unknown: ^error: PAM: (?:User not known to the underlying authentication module|unknown user) for (?:(?:illegal|invalid) user )?(?P<user>.*) from (?P<ip>IP)$
//   max auth:    ^(?:error: )?maximum authentication attempts exceeded for (?:invalid user )?(?P<user>.*) from (?P<ip>IP) port \d+ ssh2(?: \[preauth\])?$
//   not allowed: ^User (?P<user>.*) from (?P<ip>IP) not allowed because (?:not listed in AllowUsers|listed in DenyUsers|not in any group|none of user's groups are listed in AllowGroups|a group is listed in DenyGroups|shell \S+ (?:does not exist|is not executable))$
//   closed:      ^(?:Connection closed by|Connection reset by|Disconnected from) (?P<pre>(?:invalid|authenticating) user (?P<user>.*)) (?P<ip>IP) port \d+(?: \[preauth\])?$,
//                pre at most 200 bytes
//   Disconnecting: ^Disconnecting (?P<pre>(?:invalid|authenticating) user (?P<user>.*)) (?P<ip>IP) port \d+: (?P<reason>.*)$,
//                read at every such split with pre at most 200 bytes and reason at most
//                100 (without ` [preauth]`); it counts only when every reading's reason
//                is `Too many authentication failures( \[preauth\])?` (`disconnecting_tail`)
//   too many:    ^Disconnecting: Too many authentication failures(?: for (?:invalid user )?(?P<user>.*?))?(?: \[preauth\])?$   (no address)
//   root refused: ^ROOT LOGIN REFUSED FROM (?P<ip>IP)(?: port \d+)?$
//   repeated:    ^message repeated (?P<n>\d+) times: \[ ?(?P<inner>.*)\]$
//
// Every part after the user name is a run of one byte class that cannot hold
// the separator before it (an address holds no space, a port no space, …), so
// reading from the end finds the one place the user name can stop: the
// greedy `.*` of the pattern. Where the client also chose text after the
// address (a `Failed` line's auth info, a disconnect's reason), every place
// sshd's address may stand is read, and the line names an address only when
// all of them agree: an attacker can make a line ambiguous, never make it
// name someone else.

/// sshd prints user names with `%.100s`.
pub(super) const SSHD_MAX_USER: usize = 100;

/// How many bytes sshd formatted to log `logged`, at the fewest. sshd's
/// limits (`%.100s`, `%.200s`) count the bytes it formats; log.c then writes
/// the message through `strnvis` (C-style and octal escapes), so a byte the
/// client sent may take up to four in the log: `\001`. The unprivileged
/// child's lines (` [preauth]`) are escaped twice, once by the child and
/// again by the monitor that logs them: `\\001`. A backslash of the
/// client's is itself escaped (`\\`), so every backslash in the log starts
/// an escape; undoing two layers, each escape one byte, gives the fewest
/// bytes sshd can have held to its limit (too few only lets more readings
/// stand, which can make a line ambiguous, never name another address).
pub(super) fn raw_len(logged: &[u8]) -> usize {
    if !logged.contains(&b'\\') {
        return logged.len();
    }
    let mut once = Vec::with_capacity(logged.len());
    unescape(logged, |b| once.push(b));
    let mut n = 0;
    unescape(&once, |_| n += 1);
    n
}

/// One layer of `strnvis`: each escape as the one byte it stands for (an
/// octal one's value, a backslash for `\\`, any other byte for the rest).
fn unescape(s: &[u8], mut out: impl FnMut(u8)) {
    let mut i = 0;
    while i < s.len() {
        let octal = s
            .get(i + 1..i + 4)
            .filter(|o| o.iter().all(|b| (b'0'..=b'7').contains(b)));
        let (byte, len) = match (s[i], octal) {
            (b'\\', Some(o)) => (
                o.iter()
                    .fold(0u8, |n, d| n.wrapping_mul(8).wrapping_add(d - b'0')),
                4,
            ),
            (b'\\', None) if i + 1 < s.len() => (s[i + 1], 2),
            (b, _) => (b, 1),
        };
        out(byte);
        i += len;
    }
}

/// log.c hands syslog `%.500s` of a message: one of 500 bytes or more may
/// have lost its end, and with it the address sshd wrote after the
/// client's text.
const SYSLOG_CUT: usize = 500;

/// `\S` of `(?-u)`: `\v` counts as space, unlike `u8::is_ascii_whitespace`.
fn is_nonspace(b: u8) -> bool {
    !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits off the longest suffix of bytes in the class.
fn split_run_back(s: &[u8], class: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    let n = s.iter().rev().take_while(|&&b| class(b)).count();
    s.split_at(s.len() - n)
}

/// Every place `needle` starts in `hay`, overlapping ones too: ` from from `
/// holds two ` from `, and `memmem::find_iter` finds only the first.
fn every<'a>(needle: &'a memmem::Finder<'_>, hay: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = from + needle.find(hay.get(from..)?)?;
        from = at + 1;
        Some(at)
    })
}

/// Splits off the longest prefix of bytes in the class.
fn split_run(s: &[u8], class: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|&&b| class(b)).count();
    s.split_at(n)
}

/// `HEAD<sep>IP` at the end of `s` → (HEAD, IP text), IP non-empty.
fn addr_back<'a>(s: &'a [u8], sep: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let (head, ip) = split_run_back(s, is_addr_byte);
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

/// Where a message names its client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Addr<'a> {
    /// The address as sshd wrote it, still to be decoded.
    Text(&'a [u8]),
    /// Decoded already, from several places that agree.
    Ip(IpAddr),
    /// Not in the message: it comes from the connection's other lines.
    Connection,
}

/// The matched parts of one sshd message: (address, user name).
type Reading<'a> = (Addr<'a>, Option<&'a [u8]>);

/// `Failed METHOD for …`; returns (method, rest after ` for `). sshd logs the
/// method the client asked for, so any name of method bytes counts, up to 40
/// (sshd's longest is 35): a line stays short enough that no syslog limit
/// cuts it before sshd's own end.
fn failed_head(msg: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = msg.strip_prefix(b"Failed ")?;
    if let Some(r) = rest.strip_prefix(b"password for ") {
        // Most of them.
        return Some((&rest[..8], r));
    }
    let (method, rest) = split_run(rest, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'_' | b'/' | b'+' | b'-')
    });
    if method.is_empty() || method.len() > 40 {
        return None;
    }
    Some((method, rest.strip_prefix(b" for ")?))
}

/// How far into a `Failed` line's text sshd's ` from ` can stand: `invalid
/// user `, then `%.100s` of the name, each byte of it escaped in up to four
/// (`raw_len`).
const FAILED_USER_SPAN: usize = 13 + 4 * SSHD_MAX_USER;

/// `… sshV` and then the end, or `: ` and the client's auth info.
fn proto_then_info(r: &[u8]) -> bool {
    let Some(r) = r
        .strip_prefix(b" ssh2")
        .or_else(|| r.strip_prefix(b" ssh1"))
    else {
        return false;
    };
    r.is_empty() || r.starts_with(b": ")
}

/// `IP port \d+ sshV[: …]` → IP, after a candidate ` from `.
fn failed_candidate(r: &[u8]) -> Option<&[u8]> {
    let (ip, r) = split_run(r, is_addr_byte);
    let r = r.strip_prefix(b" port ")?;
    let (port, r) = split_run(r, |b| b.is_ascii_digit());
    (!ip.is_empty() && !port.is_empty() && proto_then_info(r)).then_some(ip)
}

/// `[invalid user ]U from IP port N sshV[: INFO]`, after `Failed METHOD for `.
///
/// sshd writes `%.100s` of U, which the client chose, and then INFO, which the
/// client also chose in part, at any length (a certificate's key ID, a GSSAPI
/// name, hostbased's client user and host), and which a log line limit may
/// cut anywhere. So every ` from IP port N sshV` that ends the line or is
/// followed by `: `, with at most 100 bytes of U before it, is a place where
/// sshd's own address may stand. The line names an address only when all of
/// them name the same one; when they disagree the address comes from the
/// connection's other lines. (METHOD is the monitor's own word, never the
/// client's: with privilege separation only the monitor logs this line.)
fn failed_tail(r: &[u8]) -> Option<Reading<'_>> {
    // Built once, not per failed line.
    static FROM: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b" from "));
    let window = &r[..r.len().min(FAILED_USER_SPAN + 6)];
    let mut found: Option<Reading> = None;
    for at in every(&FROM, window) {
        let user = &r[..at];
        let user = user.strip_prefix(b"invalid user ").unwrap_or(user);
        if raw_len(user) > SSHD_MAX_USER || user.contains(&b'\n') {
            continue;
        }
        let Some(ip) = failed_candidate(&r[at + 6..]) else {
            continue;
        };
        found = Some(match found {
            None => (Addr::Text(ip), Some(user)),
            Some(seen) => agree(seen, (ip, user)),
        });
        if found == Some((Addr::Connection, None)) {
            break;
        }
    }
    found
}

/// A second reading of one line, (address text, name): the same address
/// (then the name is not known), or another (then neither is: the
/// connection's address is used). A reading whose text is no address is no
/// reading.
fn agree<'a>(seen: Reading<'a>, (text, user): (&'a [u8], &'a [u8])) -> Reading<'a> {
    let Some(ip) = ip_with_zone(text) else {
        return seen;
    };
    let before = match seen.0 {
        Addr::Text(t) => ip_with_zone(t),
        Addr::Ip(ip) => Some(ip),
        Addr::Connection => return seen,
    };
    match before {
        None => (Addr::Text(text), Some(user)),
        Some(b) if b == ip => (Addr::Ip(ip), None),
        Some(_) => (Addr::Connection, None),
    }
}

/// `[invalid user ]U from IP port \d+` → (ip, user).
fn from_port(body: &[u8]) -> Option<Reading<'_>> {
    let (user, ip) = addr_back(port_back(body)?, b" from ")?;
    let user = user.strip_prefix(b"invalid user ").unwrap_or(user);
    Some((Addr::Text(ip), Some(user_text(user)?)))
}

/// `… from IP( port \d+)?` → (ip, user).
fn invalid_tail(r: &[u8]) -> Option<Reading<'_>> {
    let (user, ip) = match port_back(r).and_then(|h| addr_back(h, b" from ")) {
        Some(found) => found,
        None => addr_back(r, b" from ")?,
    };
    Some((Addr::Text(ip), Some(user_text(user)?)))
}

/// `logname=\S* uid=\d+ euid=\d+ tty=\S* ruser=\S* rhost=IP(?: +user=(.*?))? *$`, after `; `.
fn pam_tail(r: &[u8]) -> Option<Reading<'_>> {
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
    let (ip, r) = split_run(r, is_addr_byte);
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
    Some((Addr::Text(ip), user))
}

/// `… from IP` → (ip, user), after an optional `illegal user ` or `invalid user `.
fn pam_error_tail(r: &[u8]) -> Option<Reading<'_>> {
    let (user, ip) = addr_back(r, b" from ")?;
    let user = user
        .strip_prefix(b"illegal user ")
        .or_else(|| user.strip_prefix(b"invalid user "))
        .unwrap_or(user);
    Some((Addr::Text(ip), Some(user_text(user)?)))
}

/// `error: PAM: REASON for …`: Linux-PAM's, OpenPAM's and Solaris's words for a
/// failed guess, and for an unknown user.
fn pam_error(msg: &[u8]) -> Option<(Kind, Reading<'_>)> {
    const FAILED: [&[u8]; 6] = [
        b"Authentication failure",
        b"authentication failure",
        b"Authentication error",
        b"authentication error",
        b"Authentication failed",
        b"authentication failed",
    ];
    const UNKNOWN: [&[u8]; 2] = [
        b"User not known to the underlying authentication module",
        b"unknown user",
    ];
    let r = msg.strip_prefix(b"error: PAM: ")?;
    let after = |reason: &&[u8]| r.strip_prefix(*reason)?.strip_prefix(b" for ");
    if let Some(rest) = FAILED.iter().find_map(after) {
        return Some((Kind::PamError, pam_error_tail(rest)?));
    }
    let rest = UNKNOWN.iter().find_map(after)?;
    Some((Kind::PamUserUnknown, pam_error_tail(rest)?))
}

/// `… from IP port \d+ ssh2( \[preauth\])?` → (ip, user).
fn max_auth_tail(r: &[u8]) -> Option<Reading<'_>> {
    let r = r.strip_suffix(b" [preauth]").unwrap_or(r);
    from_port(r.strip_suffix(b" ssh2")?)
}

/// `… from IP not allowed because REASON` → (ip, user).
fn not_allowed_tail(r: &[u8]) -> Option<Reading<'_>> {
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
    Some((Addr::Text(ip), Some(user_text(user)?)))
}

/// sshd names a connection `%.200s` of its log preamble (`invalid user U`
/// or `authenticating user U`), then ` IP port N` (packet.c's
/// `sshpkt_fmt_connection_id`): U is the client's, and at most this long.
const PREAMBLE_MAX: usize = 200;

/// `invalid user U` or `authenticating user U` → U, if sshd could have
/// written it whole.
fn preamble_user(pre: &[u8]) -> Option<&[u8]> {
    if raw_len(pre) > PREAMBLE_MAX {
        return None;
    }
    let user = pre
        .strip_prefix(b"invalid user ")
        .or_else(|| pre.strip_prefix(b"authenticating user "))?;
    user_text(user)
}

/// `(?:invalid|authenticating) user … IP port \d+( \[preauth\])?` → (ip, user).
/// Nothing the client chose follows the address, so it is the one sshd wrote.
fn closed_tail(r: &[u8]) -> Option<Reading<'_>> {
    let body = r.strip_suffix(b" [preauth]").unwrap_or(r);
    let (pre, ip) = addr_back(port_back(body)?, b" ")?;
    Some((Addr::Text(ip), Some(preamble_user(pre)?)))
}

/// The one reason for which sshd disconnects a client that is a guess.
const TOO_MANY: &[u8] = b"Too many authentication failures";

/// `PREAMBLE IP port \d+: REASON( \[preauth\])?` → (ip, user), where sshd
/// writes `%.100s` of REASON, and REASON may hold the client's words: `Change
/// of username or service not allowed: (U,S) -> (U2,S2)` names a user and a
/// service the client sent. So every ` IP port N: ` after a preamble that fits
/// is a place where sshd's own address may stand, and the line counts only
/// when every such reading is the one disconnect that is a guess (too many
/// failures): any other reason is no guess, and a line that may be one is
/// not counted at all. Readings that disagree on the address leave it to the
/// connection's other lines.
fn disconnecting_tail(r: &[u8]) -> Option<Reading<'_>> {
    let mut found: Option<Reading> = None;
    for (ip, user, guess) in disconnecting_readings(r) {
        if !guess {
            // Another reason: no guess, if that reading is sshd's at all.
            match ip_with_zone(ip) {
                Some(_) => return None,
                None => continue,
            }
        }
        found = Some(match found {
            None => (Addr::Text(ip), Some(user)),
            Some(seen) => agree(seen, (ip, user)),
        });
    }
    found
}

/// The readings of `PREAMBLE IP port \d+: REASON` that fit sshd's limits:
/// (address text, user name, whether the reason is the guess).
fn disconnecting_readings(r: &[u8]) -> impl Iterator<Item = (&[u8], &[u8], bool)> {
    static PORT: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b" port "));
    every(&PORT, r).filter_map(move |at| {
        let (pre, ip) = split_run_back(&r[..at], is_addr_byte);
        let user = preamble_user(pre.strip_suffix(b" ")?)?;
        let (port, rest) = split_run(&r[at + 6..], |b| b.is_ascii_digit());
        let reason = rest.strip_prefix(b": ")?;
        let bare = reason.strip_suffix(b" [preauth]").unwrap_or(reason);
        if ip.is_empty() || port.is_empty() || (raw_len(bare) > 100 && raw_len(reason) > 100) {
            return None;
        }
        Some((ip, user, bare == TOO_MANY))
    })
}

/// A disconnect for a reason that is no guess in every reading (`Change of
/// username or service not allowed`, `no authentication methods enabled`):
/// understood, and no failure.
pub(super) fn disconnect_no_guess(msg: &[u8]) -> bool {
    let Some(r) = msg.strip_prefix(b"Disconnecting ") else {
        return false;
    };
    let mut any = false;
    for (ip, _, guess) in disconnecting_readings(r) {
        if ip_with_zone(ip).is_some() {
            if guess {
                return false;
            }
            any = true;
        }
    }
    any
}

/// A line sshd may have written in more than one way, one of them a
/// failure, whose readings do not agree: counted for nobody
/// (`disconnecting_tail`).
pub(super) fn ambiguous(msg: &[u8]) -> bool {
    let Some(r) = msg.strip_prefix(b"Disconnecting ") else {
        return false;
    };
    let mut seen: Option<(IpAddr, bool)> = None;
    let mut guess = false;
    let mut differ = false;
    for (ip, _, g) in disconnecting_readings(r) {
        let Some(ip) = ip_with_zone(ip) else { continue };
        guess |= g;
        match seen {
            None => seen = Some((ip, g)),
            Some(s) => differ |= s != (ip, g),
        }
    }
    guess && differ
}

/// `Too many authentication failures( for (invalid user )?U)?( \[preauth\])?`,
/// after `Disconnecting: `: older sshd's words, without an address.
fn too_many_tail(r: &[u8]) -> Option<Reading<'_>> {
    let r = r.strip_prefix(b"Too many authentication failures")?;
    let user = match r.strip_prefix(b" for ") {
        Some(u) => {
            let u = u.strip_prefix(b"invalid user ").unwrap_or(u);
            Some(user_text(u.strip_suffix(b" [preauth]").unwrap_or(u))?)
        }
        None if r.is_empty() || r == b" [preauth]" => None,
        None => return None,
    };
    Some((Addr::Connection, user))
}

/// `IP( port \d+)?` after `ROOT LOGIN REFUSED FROM `.
fn root_refused_tail(r: &[u8]) -> Option<Reading<'_>> {
    let r = port_back(r).unwrap_or(r);
    let (head, ip) = split_run_back(r, is_addr_byte);
    (head.is_empty() && !ip.is_empty()).then_some((Addr::Text(ip), None))
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

/// Old Red Hat's `sshd(pam_unix)[pid]:` lines: pam_unix's message alone.
pub(super) fn pam_unix_tag_body(msg: &[u8]) -> Option<Body<'_>> {
    let (kind, count, rest) = match msg.strip_prefix(b"authentication failure; ") {
        Some(rest) => (Kind::PamAuthFailure, 1, rest),
        None => {
            let (n, rest) = split_run(msg, |b| b.is_ascii_digit());
            let rest = rest.strip_prefix(b" more authentication failure")?;
            let rest = rest.strip_prefix(b"s").unwrap_or(rest);
            (
                Kind::PamMoreFailures,
                count_from(n)?,
                rest.strip_prefix(b"; ")?,
            )
        }
    };
    body(kind, None, pam_tail(rest)?, count)
}

fn body<'a>(
    kind: Kind,
    method: Option<&'a [u8]>,
    (addr, user): Reading<'a>,
    count: u32,
) -> Option<Body<'a>> {
    // The text is decoded later, off the reading thread (`LineAddr::resolve`).
    let ip = match addr {
        Addr::Text(text) => LineAddr::Text { text, keep: true },
        Addr::Ip(ip) => LineAddr::Known(Some(ip)),
        Addr::Connection => LineAddr::Known(None),
    };
    Some(Body {
        kind,
        method,
        ip,
        user,
        count,
    })
}

pub(super) fn sshd_body(msg: &[u8]) -> Option<Body<'_>> {
    let mut method = None;
    let mut count = 1;
    let (kind, found) = match msg.first()? {
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
        b'e' if msg.starts_with(b"error: PAM: ") => pam_error(msg)?,
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
        b'D' if msg.starts_with(b"Disconnecting: ") => {
            (Kind::TooManyFailures, too_many_tail(&msg[15..])?)
        }
        b'D' if msg.starts_with(b"Disconnecting ") => {
            (Kind::Disconnecting, disconnecting_tail(&msg[14..])?)
        }
        b'R' if msg.starts_with(b"ROOT LOGIN REFUSED FROM ") => {
            (Kind::RootRefused, root_refused_tail(&msg[24..])?)
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
    let found = match kind {
        // pam_unix logs through its own syslog call, not log.c.
        Kind::PamAuthFailure | Kind::PamMoreFailures => found,
        _ if msg.len() < SYSLOG_CUT => found,
        // Cut: which reason sshd gave is not known.
        Kind::Disconnecting => return None,
        // Cut: a failure all the same, whose address is its connection's.
        _ => (Addr::Connection, None),
    };
    body(kind, method, found, count)
}

/// The patterns the hand matchers implement, run by the regex engine, and a
/// differential test that holds the two to the same answers.
#[cfg(test)]
mod oracle {
    use std::net::IpAddr;
    use std::sync::LazyLock;

    use regex::bytes::Regex;

    use super::*;
    use crate::parse::{REPEATED, Rng, count_of, re, user_of};

    /// The patterns above, with IP, FP and METHOD spelled out.
    fn pattern(p: &str) -> Regex {
        re(&p
            .replace("IP", r"[0-9A-Fa-f:.]+(?:%[0-9A-Za-z_.-]+)?")
            .replace(
                "FP",
                r"(?:SHA256:[A-Za-z0-9+/=]+|(?:MD5:)?[0-9a-f]{2}(?::[0-9a-f]{2}){15})",
            )
            .replace("METHOD", r"[A-Za-z0-9@._/+-]{1,40}"))
    }

    static FAILED: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"^Failed (?P<method>METHOD) for (?P<rest>(?s:.*))$"));
    static FAILED_AT: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"^ from (?P<ip>IP) port \d+ ssh[12](?:: (?s:.*))?$"));
    static FAILED_USER: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"^(?:invalid user )?(?P<user>.*)$"));
    static INVALID_USER: LazyLock<Regex> = LazyLock::new(|| {
        pattern(r"^(?:Invalid|Illegal) user (?P<user>.*) from (?P<ip>IP)(?: port \d+)?$")
    });
    static PAM_AUTH: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"^(?:pam_unix\(sshd:auth\): )?authentication failure; logname=\S* uid=\d+ euid=\d+ tty=\S* ruser=\S* rhost=(?P<ip>IP)(?: +user=(?P<user>.*?))? *$",
        )
    });
    static PAM_MORE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"^(?:PAM )?(?P<n>\d+) more authentication failures?; logname=\S* uid=\d+ euid=\d+ tty=\S* ruser=\S* rhost=(?P<ip>IP)(?: +user=(?P<user>.*?))? *$",
        )
    });
    static PAM_ERROR: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"^error: PAM: [Aa]uthentication (?:failure|error|failed) for (?:(?:illegal|invalid) user )?(?P<user>.*) from (?P<ip>IP)$",
        )
    });
    static PAM_UNKNOWN: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"^error: PAM: (?:User not known to the underlying authentication module|unknown user) for (?:(?:illegal|invalid) user )?(?P<user>.*) from (?P<ip>IP)$",
        )
    });
    static MAX_AUTH: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"^(?:error: )?maximum authentication attempts exceeded for (?:invalid user )?(?P<user>.*) from (?P<ip>IP) port \d+ ssh2(?: \[preauth\])?$",
        )
    });
    static NOT_ALLOWED: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"^User (?P<user>.*) from (?P<ip>IP) not allowed because (?:not listed in AllowUsers|listed in DenyUsers|not in any group|none of user's groups are listed in AllowGroups|a group is listed in DenyGroups|shell \S+ (?:does not exist|is not executable))$",
        )
    });
    static PREAUTH_CLOSE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"^(?P<what>Connection closed by|Connection reset by|Disconnected from) (?P<pre>(?:invalid|authenticating) user (?P<user>.*)) (?P<ip>IP) port \d+(?: \[preauth\])?$",
        )
    });
    static DISCONNECTING_AT: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"^ (?P<ip>IP) port \d+: (?P<reason>(?s:.*))$"));
    static PREAMBLE: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"^(?:invalid|authenticating) user (?P<user>.*)$"));
    static TOO_MANY: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"^Disconnecting: Too many authentication failures(?: for (?:invalid user )?(?P<user>.*?))?(?: \[preauth\])?$",
        )
    });
    static ROOT_REFUSED: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"^ROOT LOGIN REFUSED FROM (?P<ip>IP)(?: port \d+)?$"));

    type Answer<'a> = Option<(
        Kind,
        Option<&'a [u8]>,
        Option<IpAddr>,
        Option<&'a [u8]>,
        u32,
    )>;

    fn ip_of_z(caps: &regex::bytes::Captures) -> Option<IpAddr> {
        ip_with_zone(caps.name("ip")?.as_bytes())
    }

    /// What the readings of one line say: one address, the same address
    /// (no name), or addresses that disagree (neither).
    fn agreed<'a>(readings: &[(IpAddr, &'a [u8])]) -> Option<(Option<IpAddr>, Option<&'a [u8]>)> {
        let (first, user) = *readings.first()?;
        Some(match readings.len() {
            1 => (Some(first), Some(user)),
            _ if readings.iter().all(|r| r.0 == first) => (Some(first), None),
            _ => (None, None),
        })
    }

    /// A `Failed` line: every ` from ` where sshd's part can start.
    fn failed_regex(msg: &[u8]) -> Answer<'_> {
        let caps = FAILED.captures(msg)?;
        let method = caps.name("method").map(|m| m.as_bytes());
        let rest = caps.name("rest")?.as_bytes();
        let mut readings = Vec::new();
        for at in (0..rest.len()).filter(|&i| rest[i..].starts_with(b" from ")) {
            let Some(u) = FAILED_USER.captures(&rest[..at]) else {
                continue;
            };
            let user = u.name("user")?.as_bytes();
            if raw_len(user) > 100 {
                continue;
            }
            if let Some(c) = FAILED_AT.captures(&rest[at..])
                && let Some(ip) = ip_of_z(&c)
            {
                readings.push((ip, user));
            }
        }
        let (ip, user) = agreed(&readings)?;
        Some((Kind::Failed, method, ip, user, 1))
    }

    /// A `Disconnecting` line: every split where sshd's part can start; any
    /// reason but too many failures is no guess.
    fn disconnecting_regex(msg: &[u8]) -> Answer<'_> {
        let rest = msg.strip_prefix(b"Disconnecting ")?;
        let mut readings = Vec::new();
        for at in memchr::memchr_iter(b' ', rest) {
            let pre = &rest[..at];
            let (Some(p), Some(c)) = (
                PREAMBLE.captures(pre),
                DISCONNECTING_AT.captures(&rest[at..]),
            ) else {
                continue;
            };
            let reason = c.name("reason")?.as_bytes();
            let bare = reason.strip_suffix(b" [preauth]").unwrap_or(reason);
            let Some(ip) = ip_of_z(&c) else { continue };
            if raw_len(pre) > 200 || (raw_len(bare) > 100 && raw_len(reason) > 100) {
                continue;
            }
            if bare != b"Too many authentication failures" {
                return None;
            }
            readings.push((ip, p.name("user")?.as_bytes()));
        }
        let (ip, user) = agreed(&readings)?;
        Some((Kind::Disconnecting, None, ip, user, 1))
    }

    /// The regex version of `sshd_body`; a message syslog may have cut names
    /// no address of its own.
    fn sshd_body_regex(msg: &[u8]) -> Answer<'_> {
        let (kind, method, ip, user, count) = sshd_body_whole(msg)?;
        if msg.len() < 500
            || matches!(kind, Kind::PamAuthFailure | Kind::PamMoreFailures)
            || msg.starts_with(b"message repeated ")
        {
            return Some((kind, method, ip, user, count));
        }
        match kind {
            Kind::Disconnecting => None,
            _ => Some((kind, method, None, None, count)),
        }
    }

    /// The regex version of `sshd_body`, as it was before the hand matchers.
    fn sshd_body_whole(msg: &[u8]) -> Answer<'_> {
        let (kind, re): (Kind, &Regex) = match msg.first()? {
            b'F' if msg.starts_with(b"Failed ") => return failed_regex(msg),
            b'I' if msg.starts_with(b"Invalid user ") || msg.starts_with(b"Illegal user ") => {
                (Kind::InvalidUser, &INVALID_USER)
            }
            b'p' if msg.starts_with(b"pam_unix(sshd:auth): authentication failure;") => {
                (Kind::PamAuthFailure, &PAM_AUTH)
            }
            b'P' if msg.starts_with(b"PAM ") => (Kind::PamMoreFailures, &PAM_MORE),
            b'e' if PAM_ERROR.is_match(msg) => (Kind::PamError, &PAM_ERROR),
            b'e' if msg.starts_with(b"error: PAM: ") => (Kind::PamUserUnknown, &PAM_UNKNOWN),
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
            b'D' if msg.starts_with(b"Disconnecting: ") => {
                let caps = TOO_MANY.captures(msg)?;
                return Some((Kind::TooManyFailures, None, None, user_of(&caps), 1));
            }
            b'D' if msg.starts_with(b"Disconnecting ") => return disconnecting_regex(msg),
            b'R' if msg.starts_with(b"ROOT LOGIN REFUSED FROM ") => {
                (Kind::RootRefused, &ROOT_REFUSED)
            }
            b'm' if msg.starts_with(b"message repeated ") => {
                let caps = REPEATED.captures(msg)?;
                let n = count_of(&caps)?;
                let (k, m, ip, u, c) = sshd_body_regex(caps.name("inner")?.as_bytes())?;
                return Some((k, m, ip, u, c.saturating_mul(n)));
            }
            _ => return None,
        };
        let caps = re.captures(msg)?;
        if caps
            .name("pre")
            .is_some_and(|p| raw_len(p.as_bytes()) > 200)
        {
            return None;
        }
        let count = match kind {
            Kind::PamMoreFailures => count_of(&caps)?,
            _ => 1,
        };
        Some((
            kind,
            caps.name("method").map(|m| m.as_bytes()),
            Some(ip_of_z(&caps)?),
            user_of(&caps),
            count,
        ))
    }

    /// `sshd(pam_unix)` lines: pam_unix's message without its prefix.
    fn pam_unix_tag_regex(msg: &[u8]) -> Answer<'_> {
        let (kind, re): (Kind, &Regex) = match msg.first()? {
            b'a' => (Kind::PamAuthFailure, &PAM_AUTH),
            _ => (Kind::PamMoreFailures, &PAM_MORE),
        };
        let caps = re.captures(msg)?;
        let count = match kind {
            Kind::PamMoreFailures => count_of(&caps)?,
            _ => 1,
        };
        Some((kind, None, Some(ip_of_z(&caps)?), user_of(&caps), count))
    }

    fn sshd_body_hand(msg: &[u8]) -> Answer<'_> {
        sshd_body(msg).and_then(|b| Some((b.kind, b.method, b.ip.resolve()?, b.user, b.count)))
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
        // Any method; old fingerprints; ssh1; zones.
        "Failed keyboard-interactive for invalid user pi from 198.51.100.9 port 40000 ssh2",
        "Failed keyboard-interactive/bsdauth for root from 198.51.100.9 port 40000 ssh2",
        "Failed publickey-hostbound-v00@openssh.com for root from 198.51.100.9 port 1 ssh2: ED25519 SHA256:abc",
        "Failed publickey for root from 192.0.2.4 port 2 ssh2: RSA 2b:4c:6d:8e:9f:a0:b1:c2:d3:e4:f5:06:17:28:39:4a",
        "Failed publickey for root from 192.0.2.4 port 2 ssh2: RSA MD5:2b:4c:6d:8e:9f:a0:b1:c2:d3:e4:f5:06:17:28:39:4a",
        "Failed password for root from 192.0.2.4 port 2 ssh1",
        "Failed password for root from fe80::1%eth0 port 2 ssh2",
        "Invalid user a from fe80::1%en0_1.x-y port 5",
        "Invalid user a from fe80::1% port 5",
        "Invalid user a from %eth0 port 5",
        // Certificates: the key ID is the client's.
        "Failed publickey for root from 203.0.113.5 port 22 ssh2: RSA-CERT SHA256:aaa ID k (serial 1) CA RSA SHA256:bbb",
        "Failed publickey for root from 203.0.113.5 port 22 ssh2: RSA-CERT ID k (serial 1) CA RSA SHA256:bbb",
        "Failed publickey for root from 203.0.113.5 port 22 ssh2: RSA-CERT SHA256:aaa ID x from 10.10.1.2 port 55555 ssh2 (serial 1) CA RSA SHA256:bbb",
        "Failed publickey for root from 203.0.113.5 port 22 ssh2: RSA-CERT SHA256:aaa ID x from 10.10.1.2 port 55555 ssh2: RSA-CERT SHA256:c ID y (serial 1) CA RSA SHA256:bbb",
        "Failed publickey for x from 10.10.1.2 port 5 ssh2: RSA-CERT SHA256:c ID y from 203.0.113.5 port 22 ssh2: RSA-CERT SHA256:aaa ID k (serial 1) CA RSA SHA256:bbb",
        "Failed publickey for x from 203.0.113.5 port 5 ssh2: RSA-CERT SHA256:c ID y from 203.0.113.5 port 22 ssh2: RSA-CERT SHA256:aaa ID k (serial 1) CA RSA SHA256:bbb",
        // PAM's other words, OpenPAM's and Solaris's.
        "error: PAM: authentication error for illegal user x from 192.0.2.9",
        "error: PAM: Authentication error for root from 192.0.2.9",
        "error: PAM: Authentication failed for root from 192.0.2.9",
        "error: PAM: User not known to the underlying authentication module for illegal user x from 192.0.2.9",
        "error: PAM: unknown user for invalid user x from 192.0.2.9",
        "error: PAM: Permission denied for root from 192.0.2.9",
        "ROOT LOGIN REFUSED FROM 192.0.2.9",
        "ROOT LOGIN REFUSED FROM 192.0.2.9 port 4711",
        "ROOT LOGIN REFUSED FROM x 192.0.2.9",
        "Disconnecting: Too many authentication failures [preauth]",
        "Disconnecting: Too many authentication failures for root [preauth]",
        "Disconnecting: Too many authentication failures for invalid user x",
        "Disconnecting: Too many authentication failures for a [preauth] [preauth]",
        "Disconnecting: Too many authentication failuresx",
        "Disconnecting: Too many authentication failures for invalid user [preauth]",
        "Disconnecting: Too many authentication failures for [preauth]",
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
        b"%",
        b"%eth0",
        b"ssh1",
        b"-CERT",
        b" ID ",
        b" (serial 1) CA RSA SHA256:q",
        b" from 10.10.1.2 port 5 ssh2: RSA-CERT SHA256:z ID ",
        b"MD5:",
        b"2b:4c:6d:8e:9f:a0:b1:c2:d3:e4:f5:06:17:28:39:4a",
        b" for ",
    ];

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
    fn pam_unix_tag_equals_its_patterns() {
        for msg in [
            "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=192.0.2.9  user=root",
            "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=192.0.2.9 ",
            "3 more authentication failures; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=192.0.2.9  user=root",
            "1 more authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=192.0.2.9",
            "0 more authentication failures; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=192.0.2.9",
            "check pass; user unknown",
            "session opened for user root by (uid=0)",
        ] {
            let hand = pam_unix_tag_body(msg.as_bytes())
                .and_then(|b| Some((b.kind, b.method, b.ip.resolve()?, b.user, b.count)));
            assert_eq!(hand, pam_unix_tag_regex(msg.as_bytes()), "{msg}");
        }
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
}
