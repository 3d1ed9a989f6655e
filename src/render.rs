//! The words of an announcement: what is said about one attacker. Pure.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::clock::{Secs, format_rfc3339};
use crate::table::Attacker;

/// A frozen picture of an attacker at the moment it became due. The post is
/// rendered from this, never from the live table, so a retried post has the
/// same text as the first attempt and X's duplicate check catches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub ip: IpAddr,
    pub tries: u64,
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub users_more: u32,
    pub services: Vec<String>,
    pub first: Secs,
    pub last: Secs,
}

impl Announcement {
    pub fn of(ip: IpAddr, a: &Attacker) -> Announcement {
        Announcement {
            ip,
            tries: a.tries(),
            users: a.users.clone(),
            users_more: a.users_more,
            services: a.services.names().iter().map(|s| s.to_string()).collect(),
            first: a.first,
            last: a.last,
        }
    }
}

fn service_label(s: &str) -> &str {
    match s {
        "sshd" => "SSH",
        "vsftpd" => "FTP",
        other => other,
    }
}

/// "3 min", "2 h", "4 days": the span between first and last try.
pub fn span(secs: Secs) -> String {
    match secs.max(0) {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

fn day_minute(t: Secs) -> String {
    // "2026-11-26T10:15:01Z" → "2026-11-26 10:15"
    let s = format_rfc3339(t);
    format!("{} {}", &s[..10], &s[11..16])
}

/// The post text for one attacker.
pub fn render(a: &Announcement) -> String {
    let services: Vec<&str> = a.services.iter().map(|s| service_label(s)).collect();
    let mut text = format!(
        "{} brute force from {}: {} tries in {} ({} to {} UTC).",
        services.join("+"),
        a.ip,
        a.tries,
        span(a.last - a.first),
        day_minute(a.first),
        &day_minute(a.last)[11..],
    );
    if !a.users.is_empty() {
        let shown: Vec<&str> = a.users.iter().take(5).map(String::as_str).collect();
        text.push_str(" Users tried: ");
        text.push_str(&shown.join(", "));
        let more = (a.users.len() - shown.len()) as u64 + a.users_more as u64;
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Announcement {
        Announcement {
            ip: "203.0.113.5".parse().unwrap(),
            tries: 12,
            users: vec!["root".into(), "admin".into()],
            users_more: 0,
            services: vec!["sshd".into()],
            first: 1_795_000_000,
            last: 1_795_000_200,
        }
    }

    #[test]
    fn names_the_ip_services_tries_span_and_users() {
        assert_eq!(
            render(&sample()),
            "SSH brute force from 203.0.113.5: 12 tries in 3 min (2026-11-18 11:06 to 11:10 UTC). Users tried: root, admin."
        );
    }

    #[test]
    fn long_user_lists_are_summarised() {
        let mut a = sample();
        a.users = (0..10).map(|i| format!("u{i}")).collect();
        a.users_more = 4;
        a.services = vec!["sshd".into(), "vsftpd".into()];
        let t = render(&a);
        assert!(t.starts_with("SSH+FTP brute force"), "{t}");
        assert!(
            t.ends_with("Users tried: u0, u1, u2, u3, u4 and 9 more."),
            "{t}"
        );
    }

    #[test]
    fn spans() {
        assert_eq!(span(59), "59 s");
        assert_eq!(span(3600), "60 min");
        assert_eq!(span(5 * 3600), "5 h");
        assert_eq!(span(3 * 86_400), "3 days");
    }
}
