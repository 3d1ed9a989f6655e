//! AbuseIPDB: one `POST /api/v2/report` per public address in a post.

use std::net::IpAddr;

use anyhow::Result;
use serde::Deserialize;

use super::http::{Api, Payload, base_url, rate_limited};
use super::settings::{Secret, SinkSettings, secret, section};
use super::{Outcome, Post, Sink};
use crate::clock::{Secs, format_rfc3339};
use crate::render::{Announcement, span};

pub const ABUSEIPDB_DEFAULT_API: &str = "https://api.abuseipdb.com";

/// `[abuseipdb]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AbuseIpDbConfig {
    pub key: Option<Secret>,
    /// Default `https://api.abuseipdb.com`.
    pub api_url: Option<String>,
}

/// Reports each address with `POST /api/v2/report`.
pub struct AbuseIpDbSink {
    api: Api,
    key: String,
}

impl AbuseIpDbSink {
    /// Builds the sink from its `[abuseipdb]` section; `now` is the run's
    /// time, for relative rate-limit resets.
    pub fn from_settings(s: &SinkSettings, now: Secs) -> Result<AbuseIpDbSink> {
        let c = section(&s.abuseipdb, "abuseipdb", "key")?;
        let key = secret(&c.key, "abuseipdb", "key")?.to_owned();
        let api = c.api_url.as_deref().unwrap_or(ABUSEIPDB_DEFAULT_API);
        let api = base_url("abuseipdb", "api-url", api)?;
        Ok(AbuseIpDbSink {
            api: Api::new("AbuseIPDB", "abuseipdb", &api, vec![key.clone()], now),
            key,
        })
    }
}

/// AbuseIPDB categories: 18 brute force, 22 SSH, 5 FTP brute force.
pub fn categories(services: &[String]) -> String {
    let mut ids: Vec<u8> = services
        .iter()
        .flat_map(|s| match s.as_str() {
            "sshd" => &[18, 22][..],
            "vsftpd" => &[5, 18][..],
            _ => &[18][..],
        })
        .copied()
        .collect();
    if ids.is_empty() {
        ids.push(18);
    }
    ids.sort_unstable();
    ids.dedup();
    ids.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}

fn minute(t: Secs) -> String {
    // "2026-11-26T10:15:01Z" → "2026-11-26 10:15"
    format_rfc3339(t)[..16].replace('T', " ")
}

/// The report's comment: services, tries and time span only. Never a user
/// name, host name or anything else from the log lines.
pub fn comment(a: &Announcement) -> String {
    let services: Vec<&str> = a
        .services
        .iter()
        .map(|s| match s.as_str() {
            "sshd" => "SSH",
            "vsftpd" => "FTP",
            _ => "login",
        })
        .collect();
    let (first, last) = (minute(a.first), minute(a.last));
    // The end's date only when it differs from the start's.
    let last = match first[..10] == last[..10] {
        true => &last[11..],
        false => &last[..],
    };
    format!(
        "{} brute force: {} tries in {} ({first} to {last} UTC). Reported by tweet-attacks.",
        services.join("+"),
        a.tries,
        span(a.last - a.first),
    )
}

/// Whether AbuseIPDB takes reports of `ip`: not a private, shared (CGNAT),
/// link-local or loopback address, which it would refuse on every retry.
pub fn reportable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_unique_local()
                || v6.is_unicast_link_local())
        }
    }
}

/// AbuseIPDB's answer to a second report of one address within 15 minutes:
/// "You can only report the same IP address (`…`) once in 15 minutes."
fn already_reported(body: &str) -> bool {
    let body = body.to_lowercase();
    body.contains("once in 15 minutes") || body.contains("same ip address")
}

impl Sink for AbuseIpDbSink {
    fn name(&self) -> &'static str {
        "abuseipdb"
    }

    /// One report per public address in the post. A failure part-way keeps the
    /// whole post queued; the retry's reports of the addresses already done
    /// within 15 minutes answer "already reported", which counts as delivered.
    fn publish(&mut self, post: &Post) -> Outcome {
        let url = format!("{}/api/v2/report", self.api.base);
        let headers = [("Key", self.key.as_str()), ("Accept", "application/json")];
        for a in post.subjects.iter().filter(|a| reportable(a.ip)) {
            let form = vec![
                ("ip", a.ip.to_string()),
                ("categories", categories(&a.services)),
                ("comment", comment(a)),
                ("timestamp", format_rfc3339(a.last)),
            ];
            let answer = match self.api.call(&url, &headers, Payload::Form(form)) {
                Ok(answer) => answer,
                Err(e) => return Outcome::Failed(e),
            };
            match answer.status {
                200..=299 => {}
                429 if already_reported(answer.text()) => {}
                429 => return rate_limited(&answer),
                _ => {
                    return Outcome::Failed(self.api.status_error(
                        &answer,
                        &format!("the report of {}", a.ip),
                        "check key in [abuseipdb] (an APIv2 key)",
                    ));
                }
            }
        }
        Outcome::Delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::samples::attacker;

    #[test]
    fn categories_per_service_merged() {
        let s = |v: &[&str]| categories(&attacker(v).services);
        assert_eq!(s(&["sshd"]), "18,22");
        assert_eq!(s(&["vsftpd"]), "5,18");
        assert_eq!(s(&["sshd", "vsftpd"]), "5,18,22");
        assert_eq!(s(&[]), "18");
    }

    #[test]
    fn only_public_addresses_are_reportable() {
        for ip in [
            "203.0.113.5",
            "8.8.8.8",
            "100.128.0.1",
            "2001:db8::1",
            "2a01::1",
        ] {
            assert!(reportable(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.1.1",
            "127.0.0.1",
            "fd00::1",
            "fe80::1",
            "::1",
        ] {
            assert!(!reportable(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn comment_holds_no_names() {
        let a = attacker(&["sshd", "vsftpd"]);
        let c = comment(&a);
        assert_eq!(
            c,
            "SSH+FTP brute force: 9 tries in 2 min (2026-11-26 09:00 to 09:02 UTC). Reported by tweet-attacks."
        );
        assert!(!c.contains("admin") && !c.contains("oracle"), "{c}");
    }
}
