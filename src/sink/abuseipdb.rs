//! AbuseIPDB: the `[abuseipdb]` section and its `ABUSEIPDB_KEY`, one
//! `POST /api/v2/report` per public address in a post.

use std::net::IpAddr;

use anyhow::Result;
use serde::Deserialize;

use super::http::{Api, Payload, base_url};
use super::outbox::Post;
use super::seam::{Outcome, Sink};
use super::section::{Env, Missing, Part, Secret, env_secret};
use crate::clock::{Secs, format_rfc3339};
use crate::render::Announcement;
use crate::scope::within;

pub const ABUSEIPDB_DEFAULT_API: &str = "https://api.abuseipdb.com";

/// The key's environment variable, which wins over the file's.
pub const KEY_VAR: &str = "ABUSEIPDB_KEY";

/// `[abuseipdb]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AbuseIpDbConfig {
    pub key: Option<Secret>,
    /// Default `https://api.abuseipdb.com`.
    pub api_url: Option<String>,
}

impl Part for Option<AbuseIpDbConfig> {
    fn has_secrets(&self) -> bool {
        self.as_ref().is_some_and(|c| c.key.is_some())
    }

    /// `ABUSEIPDB_KEY` in place of the section's key: the key is all it
    /// needs, so the variable alone makes the section.
    fn with_env(&mut self, env: Env) {
        if let Some(v) = env_secret(env, KEY_VAR) {
            self.get_or_insert_with(Default::default).key = Some(v);
        }
    }

    fn base_url(&self) -> Option<(&'static str, &str)> {
        let url = self.as_ref()?.api_url.as_deref()?;
        Some(("[abuseipdb] api-url", url))
    }

    fn is_set(&self) -> bool {
        self.is_some()
    }

    fn build(&self, now: Secs) -> Result<Box<dyn Sink>> {
        Ok(Box::new(AbuseIpDbSink::new(self.as_ref(), now)?))
    }
}

/// Reports each address with `POST /api/v2/report`.
pub struct AbuseIpDbSink {
    api: Api,
    key: String,
    /// The addresses of the last post already reported (or never to be).
    done: Vec<IpAddr>,
}

impl AbuseIpDbSink {
    /// Builds the sink from its `[abuseipdb]` section; `now` is the run's
    /// time, for relative rate-limit resets.
    pub fn new(c: Option<&AbuseIpDbConfig>, now: Secs) -> Result<AbuseIpDbSink> {
        let none = AbuseIpDbConfig::default();
        let c = c.unwrap_or(&none);
        let mut missing = Missing::default();
        let key = missing
            .secret(&c.key, "abuseipdb", "key", KEY_VAR)
            .to_owned();
        missing.done()?;
        let api = c.api_url.as_deref().unwrap_or(ABUSEIPDB_DEFAULT_API);
        let api = base_url("abuseipdb", "api-url", api)?;
        Ok(AbuseIpDbSink {
            api: Api::new("AbuseIPDB", "abuseipdb", &api, vec![key.clone()], now),
            key,
            done: Vec::new(),
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
    // The posts' own wording: the end's date only when it differs from the
    // start's, and tries within one second "at" a time, not "in 0 s".
    format!(
        "{} brute force: {}. Reported by tweet-attacks.",
        services.join("+"),
        crate::render::tries_and_time(a.tries, a.first, a.last),
    )
}

/// Whether AbuseIPDB should hear of `ip`: only a globally routable unicast
/// address. Besides what is never announced (`scope`), everything else in
/// IANA's special-purpose registries (documentation, anycast services,
/// 6to4, 2001::/23) is left out: AbuseIPDB refuses some, and none is an
/// attacker's own address on the internet.
pub fn reportable(ip: IpAddr) -> bool {
    if !crate::scope::is_global(ip) {
        return false;
    }
    match ip.to_canonical() {
        IpAddr::V4(v4) => !V4_SPECIAL.iter().any(|&net| within(u32::from(v4), net, 32)),
        IpAddr::V6(v6) => !V6_SPECIAL
            .iter()
            .any(|&net| within(u128::from(v6), net, 128)),
    }
}

/// (network, prefix length) pairs: global, but no attacker's own.
const V4_SPECIAL: [(u32, u32); 7] = [
    (0xC000_0200, 24), // 192.0.2.0/24 TEST-NET-1
    (0xC01F_C400, 24), // 192.31.196.0/24 AS112 anycast
    (0xC034_C100, 24), // 192.52.193.0/24 AMT anycast
    (0xC058_6300, 24), // 192.88.99.0/24 6to4 relay anycast
    (0xC0AF_3000, 24), // 192.175.48.0/24 AS112 direct delegation
    (0xC633_6400, 24), // 198.51.100.0/24 TEST-NET-2
    (0xCB00_7100, 24), // 203.0.113.0/24 TEST-NET-3
];

const V6_SPECIAL: [(u128, u32); 5] = [
    (0x2001_0000 << 96, 23), // 2001::/23 IETF protocol assignments (Teredo, ORCHID, …)
    (0x2001_0db8 << 96, 32), // 2001:db8::/32 documentation
    (0x2002 << 112, 16),     // 2002::/16 6to4
    (0x2620_004f_8000 << 80, 48), // 2620:4f:8000::/48 AS112 anycast
    (0x3fff << 112, 20),     // 3fff::/20 documentation
];

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

    /// `GET /api/v2/check` of 127.0.0.1: a lookup, not a report.
    fn check(&mut self) -> Result<String> {
        let url = format!("{}/api/v2/check?ipAddress=127.0.0.1", self.api.base);
        let headers = [("Key", self.key.as_str()), ("Accept", "application/json")];
        let a = self.api.call(&url, &headers, Payload::Get)?;
        match a.status {
            200 => Ok("the key is accepted".into()),
            _ => Err(self.api.status_error(
                &a,
                "the key check",
                "check key in [abuseipdb] (or ABUSEIPDB_KEY): an APIv2 key",
            )),
        }
    }

    /// One report per reportable address in the post. The addresses done
    /// are remembered (`delivered_part`) when the post as a whole is not,
    /// so the retry, which comes 15 minutes or more later, when AbuseIPDB
    /// would take a repeat, reports only the rest. A refusal of one
    /// address (422) parks it and the others are still reported. Within 15
    /// minutes, "already reported" counts as delivered: a retry after a
    /// crash reports nothing twice.
    fn publish(&mut self, post: &Post) -> Outcome {
        self.done.clear();
        let url = format!("{}/api/v2/report", self.api.base);
        let headers = [("Key", self.key.as_str()), ("Accept", "application/json")];
        let mut refused = None;
        for a in &post.subjects {
            // A network is reported by one address seen in it: AbuseIPDB takes no prefixes.
            if !reportable(a.address()) {
                self.done.push(a.ip);
                continue;
            }
            let form = vec![
                ("ip", a.address().to_string()),
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
                429 => return self.api.rate_limited(&answer),
                _ => match self.api.failure(
                    &answer,
                    &format!("the report of {}", a.ip),
                    "check key in [abuseipdb] (an APIv2 key)",
                ) {
                    Outcome::Refused(e) => {
                        refused.get_or_insert(e);
                        continue;
                    }
                    stop => return stop,
                },
            }
            self.done.push(a.ip);
        }
        match refused {
            Some(e) => Outcome::Refused(e),
            None => Outcome::Delivered,
        }
    }

    fn delivered_part(&mut self) -> Vec<IpAddr> {
        std::mem::take(&mut self.done)
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
    fn only_globally_routable_unicast_is_reportable() {
        for ip in [
            "8.8.8.8",
            "45.148.10.5",
            "100.128.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "192.0.1.255",
            "192.0.3.1",
            "223.255.255.254",
            "2a01::1",
            "2001:200::1",
            "2606:4700::1111",
            "::ffff:45.148.10.5",
        ] {
            assert!(reportable(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "0.1.2.3",
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.1.1",
            "127.0.0.1",
            "192.0.0.9",
            "192.0.2.44",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.5",
            "192.88.99.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "2001:db8::1",
            "2001::1",
            "2001:2::1",
            "2002:c000:0204::1",
            "3fff::1",
            "64:ff9b::808:808",
            "100::1",
            "5f00::1",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::1",
            "::",
            "::ffff:10.0.0.1",
            "4000::1",
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
        let mut one_second = attacker(&["sshd"]);
        one_second.last = one_second.first;
        assert_eq!(
            comment(&one_second),
            "SSH brute force: 9 tries at 2026-11-26 09:00 UTC. Reported by tweet-attacks."
        );
    }
}
