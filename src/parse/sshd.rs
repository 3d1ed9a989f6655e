//! sshd's failure messages, matched by hand from their fixed end.

use super::addr::{ip_from, is_ip_byte};
use super::{Body, Kind, count_from};

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

pub(super) fn sshd_body(msg: &[u8]) -> Option<Body<'_>> {
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
    use std::net::IpAddr;
    use std::sync::LazyLock;

    use regex::bytes::Regex;

    use super::*;
    use crate::parse::{REPEATED, Rng, count_of, ip_of, re, user_of};

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
}
