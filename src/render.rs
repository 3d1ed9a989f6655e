//! The words of an announcement: what is said about one attacker, or several
//! packed into one post, made safe to publish. Pure.
//!
//! User names are attacker input and may be private (a local account, or a
//! password or key typed at the login prompt), so only names on the
//! built-in list of bots' dictionary words (`attack_names`) are shown, never
//! a local account's in any case, and even those are defused so they cannot
//! become a mention, hashtag, cashtag or link.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::clock::{Secs, format_rfc3339, span};
use crate::table::Attacker;

pub mod attack_names;

/// X's limit, in weighted characters.
pub const MAX_WEIGHT: usize = 280;

/// Most user names named in one post.
const USERS_SHOWN: usize = 5;

/// Which user names may be published.
#[derive(Debug, Clone, Default)]
pub struct Privacy {
    /// Accounts that exist on this host (from /etc/passwd), in lower case:
    /// a name is one of them in any letter case (`Eve` when `eve` exists).
    /// Looked up for every name of every post.
    local_accounts: crate::hash::Set<String>,
    /// Publish local account names anyway (`--show-local-users`).
    show_local: bool,
}

impl Privacy {
    pub fn new(local_accounts: impl IntoIterator<Item = String>, show_local: bool) -> Privacy {
        Privacy {
            local_accounts: local_accounts
                .into_iter()
                .map(|n| n.to_lowercase())
                .collect(),
            show_local,
        }
    }

    /// A name we may publish: evidently a bot's dictionary word (on the
    /// built-in list, exactly as written) and no local account in any
    /// case, or a local account under `show_local`; and never one shaped
    /// like a password or a key. Anything else is only counted.
    pub fn publishable(&self, name: &str) -> bool {
        let local = self.is_local(name);
        let allowed = match local {
            true => self.show_local,
            false => attack_names::contains(name),
        };
        allowed && !secret_like(name)
    }

    /// Whether `name` is a local account in any letter case.
    pub fn is_local(&self, name: &str) -> bool {
        match name.chars().any(char::is_uppercase) {
            false => self.local_accounts.contains(name),
            true => self.local_accounts.contains(&name.to_lowercase()),
        }
    }
}

/// Prefixes of keys and tokens people paste at a login prompt (AWS, Google,
/// GitHub, GitLab, Stripe, Slack, OpenAI, SendGrid, npm, PyPI, Hugging
/// Face, Shopify, DigitalOcean, JWTs), matched in any case.
const SECRET_PREFIXES: &[&str] = &[
    "AKIA",
    "ASIA",
    "AIDA",
    "AROA",
    "AGPA",
    "AIza",
    "ya29.",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "gldt-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "pk_live_",
    "pk_test_",
    "whsec_",
    "xoxa-",
    "xoxb-",
    "xoxp-",
    "xoxr-",
    "xoxs-",
    "xapp-",
    "sk-",
    "SG.",
    "npm_",
    "pypi-",
    "hf_",
    "shpat_",
    "shpss_",
    "dop_v1_",
    "eyJ",
];

/// Shannon entropy of the name's characters times its length, in bits,
/// from which a name is taken for a random token: the longest names on the
/// list have about 45 bits, 16 random hex digits 64.
const SECRET_BITS: f64 = 56.0;

/// Whether `name` is not shaped like a login name, or looks like a password
/// or a key: characters other than ASCII letters, digits, `.`, `_` and
/// `-`; upper case mixed with lower case or digits, at any length; a known
/// key prefix; or high entropy.
pub fn secret_like(name: &str) -> bool {
    let login_shaped = !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !login_shaped {
        return true;
    }
    let upper = name.bytes().any(|b| b.is_ascii_uppercase());
    let lower = name.bytes().any(|b| b.is_ascii_lowercase());
    let digit = name.bytes().any(|b| b.is_ascii_digit());
    let keyed = SECRET_PREFIXES.iter().any(|p| {
        name.len() > p.len() && name.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
    });
    (upper && (lower || digit)) || keyed || entropy_bits(name) >= SECRET_BITS
}

/// Shannon entropy of the bytes of `s`, times its length.
fn entropy_bits(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2() * n
        })
        .sum()
}

/// A frozen picture of an attacker at the moment it became due. The post is
/// rendered from this, never from the live table, so a retried post has the
/// same text as the first attempt and X's duplicate check catches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub ip: IpAddr,
    pub tries: u64,
    /// Publishable user names only.
    #[serde(default)]
    pub users: Vec<String>,
    /// Other names tried: past the cap, or withheld for privacy.
    #[serde(default)]
    pub users_more: u32,
    pub services: Vec<String>,
    pub first: Secs,
    pub last: Secs,
    /// How many of our servers it hit, when more than one.
    #[serde(default, skip_serializing_if = "is_one_or_less")]
    pub servers: u32,
    /// When `ip` is a network counted as one attacker: its prefix length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<u8>,
    /// And the first address seen in it, for a report that takes one address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<IpAddr>,
    /// Who holds the address, from the offline databases, when configured.
    #[serde(flatten, default)]
    pub owner: Owner,
}

/// Who holds an address, from the MaxMind databases the options file's
/// `[geoip]` names: each part only when a database knows it. In JSON these
/// are the fields `asn`, `as_org` and `country`, absent when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_org: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

fn is_one_or_less(n: &u32) -> bool {
    *n <= 1
}

impl Announcement {
    pub fn of(ip: IpAddr, a: &Attacker, privacy: &Privacy) -> Announcement {
        let (users, hidden): (Vec<&String>, Vec<&String>) =
            a.users.iter().partition(|u| privacy.publishable(u));
        Announcement {
            ip,
            tries: a.tries(),
            users: users.into_iter().cloned().collect(),
            users_more: a.users_more.saturating_add(hidden.len() as u32),
            services: a.services.names().iter().map(|s| s.to_string()).collect(),
            first: a.first,
            last: a.last,
            servers: a.hosts.len() as u32,
            prefix: a.net.map(|(p, _)| p),
            seen: a.net.map(|(_, ip)| ip),
            owner: Owner::default(),
        }
    }

    /// With who holds its address: for a network, the first address seen
    /// in it (the network's own address when none was kept).
    pub fn owned_by(mut self, geo: &crate::geoip::Geo) -> Announcement {
        self.owner = geo.owner(self.address());
        self
    }

    /// The attacker as a post names it: `203.0.113.5`, or `2001:db8:1:2::/64`.
    pub fn source(&self) -> String {
        match self.prefix {
            Some(p) => format!("{}/{p}", self.ip),
            None => self.ip.to_string(),
        }
    }

    /// For a network, the first address seen in it, so that a search for the
    /// address found in a log finds the post; `None` for one address.
    fn first_seen(&self) -> Option<IpAddr> {
        self.seen
            .filter(|seen| self.prefix.is_some() && *seen != self.ip)
    }

    /// One address it attacked from: for a network, the first one seen.
    pub fn address(&self) -> IpAddr {
        self.seen.unwrap_or(self.ip)
    }
}

/// Length as X counts it (twitter-text v3): NFC first, then 1 for Latin and
/// general punctuation, 2 for everything else (CJK, emoji, …).
pub fn weighted_len(text: &str) -> usize {
    // ASCII is its own NFC, and all of it weighs 1: most posts, many times
    // each while a post is fitted.
    if text.is_ascii() {
        return text.len();
    }
    text.nfc()
        .map(|c| match c as u32 {
            0..=0x10FF | 0x2000..=0x200D | 0x2010..=0x201F | 0x2032..=0x2037 => 1,
            _ => 2,
        })
        .sum()
}

/// Makes attacker text inert: `@`/`＠` (mention), `#`/`＃` (hashtag), `$`
/// (cashtag) and dots (links such as `evil.com`) become look-alikes that
/// X does not link; control characters are dropped.
pub fn defuse(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '@' | '＠' => '﹫',
            '#' | '＃' => '﹟',
            '$' | '＄' => '﹩',
            '.' | '．' | '。' | '｡' => '․',
            '/' | '／' => '∕',
            c => c,
        })
        .collect()
}

fn service_label(s: &str) -> &str {
    match s {
        "sshd" => "SSH",
        "vsftpd" => "FTP",
        other => other,
    }
}

fn services_label(services: &[String]) -> String {
    let v: Vec<&str> = services.iter().map(|s| service_label(s)).collect();
    v.join("+")
}

fn day_minute(t: Secs) -> String {
    // "2026-11-26T10:15:01Z" → "2026-11-26 10:15"
    let s = format_rfc3339(t);
    format!("{} {}", &s[..10], &s[11..16])
}

/// "12 tries in 3 min (2026-11-18 11:06 to 11:10 UTC)": the end keeps its
/// date when it falls on another day, and tries within one second are "at"
/// a time rather than "in 0 s".
pub fn tries_and_time(tries: u64, first: Secs, last: Secs) -> String {
    let s = if tries == 1 { "try" } else { "tries" };
    let (from, to) = (day_minute(first), day_minute(last));
    if last <= first {
        return format!("{tries} {s} at {from} UTC");
    }
    let to = if from[..10] == to[..10] {
        &to[11..]
    } else {
        &to[..]
    };
    format!("{tries} {s} in {} ({from} to {to} UTC)", span(last - first))
}

/// Most of an AS name a post shows, in weighted characters; less when
/// the post is long.
const ORG_SHOWN: usize = 40;

/// The AS name as a post may show it, in at most `room` weighted
/// characters (cut with `…`): the database's text is not ours, so it is
/// cleaned as the database's reader cleans it and defused as user names
/// are.
fn org_shown(org: &str, room: usize) -> Option<String> {
    let org = defuse(&crate::geoip::clean_org(org)?);
    if weighted_len(&org) <= room {
        return Some(org);
    }
    let mut cut = String::new();
    for c in org.chars() {
        // `…` weighs 2.
        if weighted_len(&cut) + weighted_len(&c.to_string()) + 2 > room {
            break;
        }
        cut.push(c);
    }
    let cut = cut.trim_end();
    (!cut.is_empty()).then(|| format!("{cut}…"))
}

/// `AS64500 Example Net, NL`, or whichever parts are known, with the AS
/// name in at most `org_room`; `None` when nothing is known.
fn owner_shown(o: &Owner, org_room: usize) -> Option<String> {
    let org = o.as_org.as_deref().and_then(|org| org_shown(org, org_room));
    let who = match (o.asn, org) {
        (Some(n), Some(org)) => Some(format!("AS{n} {org}")),
        (Some(n), None) => Some(format!("AS{n}")),
        (None, org) => org,
    };
    let country = o.country.as_deref().and_then(crate::geoip::clean_country);
    match (who, country) {
        (Some(who), Some(c)) => Some(format!("{who}, {c}")),
        (who, c) => who.or(c),
    }
}

/// The post with `shown` user names, and the owner with its AS name in
/// `org_room` (no owner at all for `None`).
fn render_with(a: &Announcement, shown: usize, org_room: Option<usize>) -> String {
    let first_seen = a.first_seen().map(|seen| format!("first seen {seen}"));
    let owner = org_room.and_then(|room| owner_shown(&a.owner, room));
    let about: Vec<String> = owner.into_iter().chain(first_seen).collect();
    let about = match about.is_empty() {
        true => String::new(),
        false => format!(" ({})", about.join("; ")),
    };
    let mut text = format!(
        "{} brute force from {}{about}: {}.",
        services_label(&a.services),
        a.source(),
        tries_and_time(a.tries, a.first, a.last),
    );
    if a.servers > 1 {
        text.push_str(&format!(" Hit {} of our servers.", a.servers));
    }
    if !a.users.is_empty() || a.users_more > 0 {
        let names: Vec<String> = a.users.iter().take(shown).map(|u| defuse(u)).collect();
        let more = (a.users.len() - names.len()) as u64 + a.users_more as u64;
        if names.is_empty() {
            // Every name withheld (local accounts, password-like) or cut for length.
            let s = if more == 1 { "" } else { "s" };
            text.push_str(&format!(" {more} user name{s} tried."));
        } else {
            text.push_str(" Users tried: ");
            text.push_str(&names.join(", "));
            if more > 0 {
                text.push_str(&format!(" and {more} more"));
            }
            text.push('.');
        }
    }
    text
}

/// Within X's weighted limit and, counted in characters, within every
/// other sink's (Bluesky 300, Mastodon 500).
fn fits(text: &str) -> bool {
    weighted_len(text) <= MAX_WEIGHT && text.chars().count() <= MAX_WEIGHT
}

/// The post text for one attacker, within `MAX_WEIGHT`: as many user names
/// as fit beside the AS name, else none and the AS name shorter, else the
/// AS number and country alone, else no owner. The address is always there.
pub fn render(a: &Announcement) -> String {
    (0..=USERS_SHOWN.min(a.users.len()))
        .rev()
        .map(|shown| (shown, Some(ORG_SHOWN)))
        .chain([(0, Some(ORG_SHOWN / 2)), (0, Some(0))])
        .map(|(shown, org_room)| render_with(a, shown, org_room))
        .find(|t| fits(t))
        .unwrap_or_else(|| render_with(a, 0, None))
}

/// One post for several attackers, most tries first. `None` when they do
/// not fit in `MAX_WEIGHT` together.
pub fn render_packed(group: &[&Announcement]) -> Option<String> {
    if let [one] = group {
        return Some(render(one));
    }
    let items: Vec<String> = group
        .iter()
        .map(|a| {
            let first_seen = match a.first_seen() {
                Some(seen) => format!(", first seen {seen}"),
                None => String::new(),
            };
            // The AS number and country only: a name would crowd others out.
            let owner = Owner {
                as_org: None,
                ..a.owner.clone()
            };
            let owner = match owner_shown(&owner, 0) {
                Some(o) => format!(", {o}"),
                None => String::new(),
            };
            format!(
                "{} ({} tries, {}{owner}{first_seen})",
                a.source(),
                a.tries,
                services_label(&a.services)
            )
        })
        .collect();
    let text = format!("Brute-force attackers: {}.", items.join(", "));
    fits(&text).then_some(text)
}

/// Reads `/etc/passwd`-style text into the local account names.
pub fn local_accounts(passwd: &str) -> Vec<String> {
    passwd
        .lines()
        .filter_map(|l| l.split(':').next())
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Announcement {
        Announcement {
            ip: "203.0.113.5".parse().unwrap(),
            tries: 12,
            users: vec!["root".into(), "admin".into()],
            users_more: 0,
            services: vec!["sshd".into()],
            first: 1_795_000_000,
            last: 1_795_000_200,
            servers: 1,
            prefix: None,
            seen: None,
            owner: Default::default(),
        }
    }

    #[test]
    fn a_network_is_named_with_its_prefix() {
        let mut a = sample();
        a.ip = "2001:db8:1:2::".parse().unwrap();
        a.prefix = Some(64);
        a.seen = Some("2001:db8:1:2::77".parse().unwrap());
        assert!(
            render(&a).starts_with(
                "SSH brute force from 2001:db8:1:2::/64 (first seen 2001:db8:1:2::77): 12 tries"
            ),
            "a search for the address in a log finds the post: {}",
            render(&a)
        );
        let t = render_packed(&[&a, &sample()]).unwrap();
        assert!(
            t.contains("2001:db8:1:2::/64 (12 tries, SSH, first seen 2001:db8:1:2::77)"),
            "{t}"
        );
        assert_eq!(a.address().to_string(), "2001:db8:1:2::77");
        assert_eq!(sample().address(), sample().ip);
    }

    fn owned(asn: Option<u32>, org: Option<&str>, country: Option<&str>) -> Announcement {
        let mut a = sample();
        a.owner = Owner {
            asn,
            as_org: org.map(str::to_string),
            country: country.map(str::to_string),
        };
        a
    }

    #[test]
    fn posts_name_the_owner_when_known() {
        let a = owned(Some(64500), Some("Example Net"), Some("NL"));
        assert_eq!(
            render(&a),
            "SSH brute force from 203.0.113.5 (AS64500 Example Net, NL): 12 tries in 3 min (2026-11-18 11:06 to 11:10 UTC). Users tried: root, admin."
        );
        for (a, said) in [
            (owned(Some(64500), None, None), "(AS64500)"),
            (owned(None, Some("Example Net"), None), "(Example Net)"),
            (owned(None, None, Some("NL")), "(NL)"),
            (owned(Some(64500), None, Some("NL")), "(AS64500, NL)"),
            (owned(None, Some("evil.com @x"), None), "(evil․com ﹫x)"),
        ] {
            let t = render(&a);
            assert!(t.contains(&format!("203.0.113.5 {said}: 12 tries")), "{t}");
        }
        let mut net = owned(Some(64501), Some("Example Six"), Some("DE"));
        net.ip = "2001:db8:1:2::".parse().unwrap();
        net.prefix = Some(64);
        net.seen = Some("2001:db8:1:2::77".parse().unwrap());
        let t = render(&net);
        assert!(
            t.starts_with("SSH brute force from 2001:db8:1:2::/64 (AS64501 Example Six, DE; first seen 2001:db8:1:2::77): 12 tries"),
            "{t}"
        );
        let t = render_packed(&[&net, &a]).unwrap();
        assert!(
            t.contains("2001:db8:1:2::/64 (12 tries, SSH, AS64501, DE, first seen 2001:db8:1:2::77), 203.0.113.5 (12 tries, SSH, AS64500, NL)"),
            "{t}"
        );
    }

    #[test]
    fn a_long_as_name_is_cut_before_the_address_or_the_numbers() {
        let long = "Very Long Networks Incorporated Of Somewhere Far Away";
        let t = render(&owned(Some(64500), Some(long), Some("NL")));
        assert!(
            t.contains("(AS64500 Very Long Networks Incorporated Of Som…, NL): 12 tries"),
            "{t}"
        );
    }

    #[test]
    fn withheld_names_are_still_counted() {
        let mut a = sample();
        a.users.clear();
        a.users_more = 1;
        assert!(
            render(&a).ends_with("UTC). 1 user name tried."),
            "{}",
            render(&a)
        );
        a.users_more = 3;
        assert!(render(&a).ends_with("UTC). 3 user names tried."));
        a.users_more = 0;
        assert!(render(&a).ends_with("UTC)."));
    }

    #[test]
    fn says_how_many_of_our_servers_it_hit() {
        let mut a = sample();
        assert!(!render(&a).contains("servers"));
        a.servers = 3;
        assert!(
            render(&a).contains("(2026-11-18 11:06 to 11:10 UTC). Hit 3 of our servers. Users")
        );
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
    fn the_range_keeps_the_end_date_and_one_second_is_not_0_s() {
        let mut a = sample();
        // 2026-11-26 00:00 to 2026-12-01 18:50
        a.first = 1_795_651_200;
        a.last = a.first + 5 * 86_400 + 18 * 3600 + 50 * 60;
        a.tries = 37_843;
        assert!(
            render(&a)
                .contains(": 37843 tries in 6 days (2026-11-26 00:00 to 2026-12-01 18:50 UTC)."),
            "{}",
            render(&a)
        );
        a.last = a.first;
        assert!(
            render(&a).contains(": 37843 tries at 2026-11-26 00:00 UTC."),
            "{}",
            render(&a)
        );
        a.tries = 1;
        assert!(render(&a).contains(": 1 try at "), "{}", render(&a));
    }

    #[test]
    fn weighted_length_counts_cjk_and_emoji_double_after_nfc() {
        assert_eq!(weighted_len("abc"), 3);
        assert_eq!(weighted_len("日本"), 4);
        assert_eq!(weighted_len("🔥"), 2);
        // "e" + combining acute is one NFC character.
        assert_eq!(weighted_len("e\u{301}"), 1);
        // U+2026 is outside twitter-text's weight-1 ranges.
        assert_eq!(weighted_len("…"), 2);
    }

    #[test]
    fn defused_names_cannot_mention_tag_or_link() {
        for evil in [
            "@jack",
            "＠jack",
            "#win",
            "＃win",
            "$TSLA",
            "evil.com",
            "www.x.io",
            "http://a.b/c",
        ] {
            let d = defuse(evil);
            assert!(
                !d.contains(['@', '＠', '#', '＃', '$', '.', '/']),
                "{evil} -> {d}"
            );
        }
        assert_eq!(defuse("a\u{1b}[31mb\u{7}"), "a[31mb");
    }

    #[test]
    fn only_listed_names_are_published() {
        let privacy = Privacy::new(["alice".to_string(), "Eve".to_string()], false);
        assert!(!privacy.publishable("alice"), "a local account");
        assert!(
            !privacy.publishable("ALICE"),
            "a local account, in upper case"
        );
        assert!(!privacy.publishable("eve"), "a local account in any case");
        assert!(!privacy.publishable("Tr0ub4dor3"), "looks like a password");
        assert!(!privacy.publishable("x from 1.2.3.4"), "not a login name");
        assert!(!privacy.publishable("@jack"));
        for typed in [
            "hunter2",
            "qwerty123",
            "letmein",
            "trustno1",
            "correcthorsebatterystaple",
            "admin123",
            "Admin",
            "evil.tld",
            "AKIAIOSFODNN7EXAMPLE",
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        ] {
            assert!(!privacy.publishable(typed), "{typed}: not on the list");
        }
        for bot in [
            "admin", "ec2-user", "ubuntu", "oracle", "ftpuser", "db2inst1",
        ] {
            assert!(privacy.publishable(bot), "{bot}: on the list");
        }
        let listed_local = Privacy::new(["ubuntu".to_string()], false);
        assert!(
            !listed_local.publishable("ubuntu"),
            "listed, but local here"
        );

        let shown = Privacy::new(["alice".to_string(), "Eve".to_string()], true);
        assert!(shown.publishable("alice"), "--show-local-users");
        assert!(shown.publishable("EVE"), "the same account");
        assert!(!shown.publishable("Eve"), "mixed case stays withheld");
        assert!(!shown.publishable("hunter2"), "still not on the list");
        assert!(shown.publishable("admin"));

        let mut a = Attacker::default();
        a.users = vec![
            "alice".into(),
            "admin".into(),
            "S3cretPassw0rd".into(),
            "hunter2".into(),
        ];
        let ann = Announcement::of("203.0.113.5".parse().unwrap(), &a, &privacy);
        assert_eq!(ann.users, ["admin"]);
        assert_eq!(ann.users_more, 3, "withheld names are counted");
        let text = render(&ann);
        assert!(text.ends_with("Users tried: admin and 3 more."), "{text}");
    }

    #[test]
    fn secrets_are_recognised_at_any_length() {
        for secret in [
            "Ab",
            "a1B",
            "AKIA0",
            "akiaiosfodnn7example",
            "ghp_x",
            "github_pat_11ABC",
            "sk_live_x",
            "xoxb-1",
            "eyJhbGciOi",
            "0123456789abcdef",
            "pass word",
            "pässword",
            "-rf",
            "",
            &"a".repeat(33),
        ] {
            assert!(secret_like(secret), "{secret:?}");
        }
        for name in ["root", "ec2-user", "db2inst1", "www-data", "ROOT", "sk"] {
            assert!(!secret_like(name), "{name}");
        }
    }

    /// Names an attacker or a careless user could type: listed names in
    /// any case and with anything added, local accounts in any case, keys,
    /// passwords and any text at all.
    fn adversarial_name(locals: &'static [&'static str]) -> impl Strategy<Value = String> {
        let recased = |names: &'static [&'static str]| {
            (
                prop::sample::select(names),
                prop::collection::vec(any::<bool>(), 32),
            )
                .prop_map(|(n, up)| {
                    n.chars()
                        .zip(up.iter().cycle())
                        .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c })
                        .collect::<String>()
                })
        };
        prop_oneof![
            prop::sample::select(attack_names::NAMES).prop_map(str::to_string),
            recased(attack_names::NAMES),
            recased(locals),
            (
                prop::sample::select(attack_names::NAMES),
                "[0-9A-Z!@#.$ _-]{1,4}"
            )
                .prop_map(|(n, tail)| format!("{n}{tail}")),
            (prop::sample::select(SECRET_PREFIXES), "[A-Za-z0-9_]{0,40}")
                .prop_map(|(p, tail)| format!("{p}{tail}")),
            (prop::sample::select(SECRET_PREFIXES), "[a-z0-9]{0,20}")
                .prop_map(|(p, tail)| format!("{}{tail}", p.to_lowercase())),
            "[a-z0-9]{1,12}",
            "[a-zA-Z0-9._-]{1,40}",
            ".{0,40}",
        ]
    }

    /// Some on the list, one mixed-case, one shaped like a key.
    const LOCALS: &[&str] = &[
        "eve", "alice", "deploy", "ubuntu", "git", "root", "Bob", "sk-admin",
    ];

    fn privacy_over(locals: &[bool], show_local: bool) -> Privacy {
        let names = LOCALS
            .iter()
            .zip(locals)
            .filter(|(_, on)| **on)
            .map(|(n, _)| n.to_string());
        Privacy::new(names, show_local)
    }

    fn has_secret_prefix(name: &str) -> bool {
        SECRET_PREFIXES
            .iter()
            .any(|p| name.len() > p.len() && name.to_lowercase().starts_with(&p.to_lowercase()))
    }

    proptest::proptest! {
        #[test]
        fn published_names_are_listed_never_local_in_any_case_nor_secret(
            name in adversarial_name(LOCALS),
            locals in prop::collection::vec(any::<bool>(), LOCALS.len()),
        ) {
            let privacy = privacy_over(&locals, false);
            let local_any_case = LOCALS
                .iter()
                .zip(&locals)
                .any(|(l, on)| *on && l.to_lowercase() == name.to_lowercase());
            if privacy.publishable(&name) {
                prop_assert!(attack_names::contains(&name), "{name:?} is not on the list");
                prop_assert!(!local_any_case, "{name:?} is a local account");
                prop_assert!(!has_secret_prefix(&name), "{name:?} is a key");
                prop_assert!(!secret_like(&name), "{name:?}");
            }
            // --show-local-users adds local accounts, and nothing else.
            let shown = privacy_over(&locals, true);
            if shown.publishable(&name) {
                prop_assert!(attack_names::contains(&name) || local_any_case, "{name:?}");
                prop_assert!(!has_secret_prefix(&name), "{name:?} is a key");
            }
        }

        #[test]
        fn every_name_tried_is_shown_or_counted(
            names in prop::collection::vec(adversarial_name(LOCALS), 0..12),
            more in 0u32..1000,
            locals in prop::collection::vec(any::<bool>(), LOCALS.len()),
        ) {
            let privacy = privacy_over(&locals, false);
            let mut a = Attacker::default();
            a.users = names.clone();
            a.users_more = more;
            let ann = Announcement::of("203.0.113.5".parse().unwrap(), &a, &privacy);
            prop_assert_eq!(ann.users.len() as u32 + ann.users_more, names.len() as u32 + more);
            prop_assert!(ann.users.iter().all(|u| privacy.publishable(u)));
            let text = render(&ann);
            prop_assert!(weighted_len(&text) <= MAX_WEIGHT);
            if let Some((_, shown)) = text.split_once("Users tried: ") {
                let shown = shown.trim_end_matches('.');
                let shown = shown.split(" and ").next().unwrap_or_default();
                for u in shown.split(", ") {
                    prop_assert!(attack_names::contains(u), "{u:?} in {text:?}");
                }
            }
        }
    }

    proptest::proptest! {
        /// The AS name and country come from a database that is not ours:
        /// whatever they hold, every post fits X (weighted), Bluesky and
        /// Mastodon (characters), keeps its address and the network's first
        /// address, and carries no control, bidi or zero-width character.
        #[test]
        fn posts_with_any_owner_fit_every_sink_and_keep_the_address(
            org in proptest::option::of(".{0,300}"),
            country in proptest::option::of(".{0,4}"),
            asn in proptest::option::of(any::<u32>()),
            network in any::<bool>(),
            servers in 0u32..100_000,
            tries in any::<u64>(),
            users in prop::collection::vec("[a-z]{1,32}", 0..8),
            more in any::<u32>(),
        ) {
            let mut a = sample();
            a.owner = Owner { asn, as_org: org, country };
            a.servers = servers;
            a.tries = tries;
            a.users = users;
            a.users_more = more;
            a.services = vec!["sshd".into(), "vsftpd".into()];
            if network {
                a.ip = "2001:db8:ffff:ffff::".parse().unwrap();
                a.prefix = Some(64);
                a.seen = Some("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap());
            }
            let others = sample();
            let one = render(&a);
            let packed = render_packed(&[&a, &others]);
            for t in std::iter::once(&one).chain(packed.as_ref()) {
                prop_assert!(weighted_len(t) <= MAX_WEIGHT, "X: {t:?}");
                prop_assert!(t.chars().count() <= crate::sink::bluesky::BLUESKY_LIMIT, "Bluesky: {t:?}");
                prop_assert!(t.chars().count() <= crate::sink::mastodon::MASTODON_DEFAULT_LIMIT);
                prop_assert!(t.contains(&a.source()), "the address: {t:?}");
                if network {
                    prop_assert!(t.contains("first seen 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), "{t:?}");
                }
                prop_assert!(!t.chars().any(crate::text::is_hazard), "{t:?}");
            }
            if let Some(n) = asn.filter(|_| !network) {
                prop_assert!(one.contains(&format!("(AS{n}")), "the AS is named: {one:?}");
            }
        }
    }

    #[test]
    fn the_list_is_sorted_lower_case_and_holds_no_password() {
        use attack_names::NAMES;
        assert!(NAMES.len() >= 300, "{}", NAMES.len());
        assert!(
            NAMES.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        for n in NAMES {
            assert!(!secret_like(n), "{n}");
            assert!(
                n.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'-'
                    || b == b'_'),
                "{n}"
            );
            assert!(attack_names::contains(n));
        }
        for password in [
            "password",
            "passwd",
            "pass",
            "123456",
            "12345678",
            "qwerty",
            "qwerty123",
            "letmein",
            "hunter2",
            "trustno1",
            "changeme",
            "welcome",
            "secret",
            "master",
            "dragon",
            "monkey",
            "shadow",
            "sunshine",
            "princess",
            "football",
            "baseball",
            "iloveyou",
            "abc123",
            "111111",
            "123123",
            "passw0rd",
            "p4ssw0rd",
            "login",
            "admin123",
            "root123",
            "toor",
        ] {
            assert!(!attack_names::contains(password), "{password}");
        }
    }

    #[test]
    fn every_post_fits_280() {
        let mut a = sample();
        a.ip = "2001:db8:ffff:ffff::".parse().unwrap();
        a.prefix = Some(64);
        a.seen = Some("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap());
        a.users = (0..10).map(|i| format!("{}{i}", "w".repeat(30))).collect();
        a.services = vec!["sshd".into(), "vsftpd".into()];
        let t = render(&a);
        assert!(weighted_len(&t) <= MAX_WEIGHT, "{} {t}", weighted_len(&t));
        assert!(t.contains("wwww"), "as many names as fit: {t}");
        assert!(t.contains("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), "{t}");
        let group: Vec<Announcement> = (0..30).map(|_| a.clone()).collect();
        let refs: Vec<&Announcement> = group.iter().collect();
        assert_eq!(render_packed(&refs), None);
        let t = render_packed(&refs[..2]).unwrap();
        assert!(t.starts_with("Brute-force attackers: 2001:db8:ffff"), "{t}");
        assert!(weighted_len(&t) <= MAX_WEIGHT);
    }

    #[test]
    fn passwd_names() {
        let names = local_accounts(
            "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n\n",
        );
        assert_eq!(names, ["root", "alice"]);
    }
}
