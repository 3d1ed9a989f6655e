//! vsftpd's failure lines: its own log and its syslog and pam_unix lines.

use std::net::IpAddr;
use std::sync::LazyLock;

use regex::bytes::Regex;

use super::{Body, Kind, Pending, REPEATED, count_of, ip_of, re, user_of};

// vsftpd quotes the address last; an optional quoted reason may follow it.
static FTP_FAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"^(?:\[pid \d+\] )?\[(?P<user>.*)\] FAIL LOGIN: Client "(?P<ip>[0-9A-Fa-f:.]+)"(?:, "[^"]*")?$"#,
    )
});

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
        ip: Pending::Known(Some(ip)),
        user,
        count: 1,
    })
}

pub(super) fn vsftpd_body(msg: &[u8]) -> Option<Body<'_>> {
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
        ip: Pending::Known(Some(ip_of(&caps)?)),
        user: user_of(&caps),
        count: 1,
    })
}
