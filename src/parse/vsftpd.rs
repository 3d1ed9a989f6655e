//! vsftpd's failure lines: its own log and its syslog and pam_unix lines.

use std::net::IpAddr;
use std::sync::LazyLock;

use super::addr::ip_from;
use regex::bytes::Regex;

use super::{Body, Kind, LineAddr, REPEATED, count_of, re};

/// One way vsftpd can have written a line (logging.c,
/// `vsf_log_do_log_vsftpd_format`): after `[pid N] ` (or its syslog tag),
/// `[U] ` when the client has sent a user name, then the action (`FAIL
/// LOGIN`, `OK MKDIR`, `FTP command`, …), `: Client "IP"`, and then `, anon
/// password "P"`, `, "ARG"`, sizes or rates. U, P and ARG are the client's:
/// a user name, an anonymous password, a path or a whole FTP command (with
/// `log_ftp_protocol`), any of which may hold `] FAIL LOGIN: Client "…"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reading<'a> {
    /// A failed login: the one action that is a guess.
    pub(super) login: bool,
    pub(super) ip: IpAddr,
    pub(super) user: Option<&'a [u8]>,
}

/// Every place in `msg` where vsftpd's own action can start, read.
pub(super) fn readings(msg: &[u8]) -> impl Iterator<Item = Reading<'_>> {
    let starts = std::iter::once(0).chain(
        memchr::memmem::find_iter(msg, b"] ")
            .map(|i| i + 2)
            .filter(move |_| msg.first() == Some(&b'[')),
    );
    starts.filter_map(move |at| {
        let user = (at > 0).then(|| &msg[1..at - 2]);
        read_at(&msg[at..]).map(|(login, ip)| Reading { login, ip, user })
    })
}

/// `ACTION: Client "IP"TAIL` → (is a failed login, IP).
fn read_at(r: &[u8]) -> Option<(bool, IpAddr)> {
    const CLIENT: &[u8] = b": Client \"";
    let (login, r) = if let Some(r) = r.strip_prefix(b"FAIL LOGIN") {
        (true, r)
    } else if let Some(r) = r.strip_prefix(b"OK ").or_else(|| r.strip_prefix(b"FAIL ")) {
        let word = r.iter().take_while(|b| b.is_ascii_uppercase()).count();
        if word == 0 {
            return None;
        }
        (false, &r[word..])
    } else {
        let phrase = [&b"FTP command"[..], b"FTP response", b"CONNECT", b"DEBUG"]
            .into_iter()
            .find(|p| r.starts_with(p))?;
        (false, &r[phrase.len()..])
    };
    let r = r.strip_prefix(CLIENT)?;
    let len = r
        .iter()
        .take_while(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'))
        .count();
    let tail = r[len..].strip_prefix(b"\"")?;
    // After the address: nothing, or the client's quoted words (and, for
    // other actions, sizes and rates).
    let fits = tail.is_empty() || (tail.starts_with(b", ") && (!login || tail.ends_with(b"\"")));
    if !fits {
        return None;
    }
    Some((login, ip_from(&r[..len])?))
}

/// A `FAIL LOGIN` line counts only when every reading of it is a failed
/// login from the same address; a line that may be another action (a path
/// or a command the client chose that imitates one) counts nothing, and so
/// does one whose readings disagree: vsftpd's lines name no connection to
/// take the address from.
fn fail_login(msg: &[u8]) -> Option<Body<'_>> {
    let mut found: Option<Reading> = None;
    let mut many = false;
    for r in readings(msg) {
        if !r.login {
            return None;
        }
        match found {
            None => found = Some(r),
            Some(f) if f.ip == r.ip => many = true,
            Some(_) => return None,
        }
    }
    let found = found?;
    Some(Body {
        kind: Kind::FtpFailLogin,
        method: None,
        ip: LineAddr::Known(Some(found.ip)),
        user: if many { None } else { found.user },
        count: 1,
    })
}

/// A line that vsftpd may have written in more than one way, which is
/// therefore not counted (`fail_login`): at least one reading a failed
/// login, and readings that differ.
pub(super) fn ambiguous(msg: &[u8]) -> bool {
    let mut it = readings(msg);
    let Some(first) = it.next() else { return false };
    let mut login = first.login;
    let mut differ = false;
    for r in it {
        login |= r.login;
        differ |= r.login != first.login || r.ip != first.ip;
    }
    login && differ
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
        let Some(ip) = ip_from(&after[..len]) else {
            continue;
        };
        let rest = &after[len..trim_end(after).max(len)];
        let user = match rest.strip_prefix(b"  user=") {
            _ if rest.is_empty() => None,
            Some(u) if u == ruser => Some(u),
            _ => continue,
        };
        match found {
            Some((seen, _)) if seen != ip => return None,
            Some(_) => {}
            None => found = Some((ip, user)),
        }
    }
    let (ip, user) = found?;
    Some(Body {
        kind: Kind::PamAuthFailure,
        method: None,
        ip: LineAddr::Known(Some(ip)),
        user,
        count: 1,
    })
}

pub(super) fn vsftpd_body(msg: &[u8]) -> Option<Body<'_>> {
    if msg.starts_with(b"pam_unix(vsftpd:auth): ") {
        vsftpd_pam(msg)
    } else if msg.starts_with(b"message repeated ") {
        let caps = REPEATED.captures(msg)?;
        let n = count_of(&caps)?;
        let inner = vsftpd_body(caps.name("inner")?.as_bytes())?;
        Some(Body {
            count: inner.count.saturating_mul(n),
            ..inner
        })
    } else if memchr::memmem::find(msg, b"FAIL LOGIN: ").is_some() {
        fail_login(msg)
    } else {
        None
    }
}
