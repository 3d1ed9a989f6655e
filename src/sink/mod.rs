//! Where announcements go: every destination, and the one place that knows
//! them all. Each destination is one file here that owns its part of the
//! options file (its section, its secrets' environment variables, their
//! checks: `section::Part`) and its sink, built from that part alone. This
//! file names each one: its `SinkName`, with its name and help line, and
//! its field in `Sections`, with its arm in `part`. What they share: the
//! seam (`seam`: the `Sink` trait and what a sink says about a post), the
//! outbox and budget, the HTTP client every HTTP sink goes through
//! (`http::Api`), the reading of rate-limit headers, the scrubbing of
//! secrets from what a service says, and the options file's secrets.
//!
//! A new destination is its file, implementing `Part` for its section and
//! `Sink` for its sink, and here: its `pub mod` line; its variant in
//! `SinkName` and `SinkName::ALL`; its arm in `about`; its field in
//! `Sections`, with its arm in `part` and `part_mut`. The options file's
//! struct (`config`'s `FileConfig`) names its section too. The compiler
//! asks for every arm; a test asks for the `ALL` entry.
//!
//! Each destination has its own outbox entries, so one failing never
//! re-posts on another.

pub mod abuseipdb;
pub mod bluesky;
pub mod http;
pub mod indexnow;
pub mod mastodon;
pub mod outbox;
pub mod ratelimit;
#[cfg(test)]
pub(crate) mod samples;
pub(crate) mod scrub;
pub mod seam;
pub mod section;
pub mod site;
pub mod stdout;
pub mod webhook;
pub mod x;

use std::path::Path;

use anyhow::Result;
use serde::Deserialize;

pub use outbox::{Budget, Packing, Parked, Pending, Post, SinkBook, plan};
pub use ratelimit::Limit;
pub use seam::{Outcome, Sink};
pub use section::{Env, Missing, Part, Secret};

use crate::clock::Secs;

/// A destination. Its name (see `about`) is the same on the command line,
/// in the options file's `sink = [...]`, in the outbox, the state and
/// messages; the order here is the order runs post in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkName {
    Stdout,
    /// X goes by its old name, `twitter`, which cron lines use.
    #[serde(rename = "twitter")]
    X,
    Mastodon,
    Bluesky,
    #[serde(rename = "abuseipdb")]
    AbuseIpDb,
    Webhook,
    Site,
}

impl SinkName {
    pub const ALL: [SinkName; 7] = [
        SinkName::Stdout,
        SinkName::X,
        SinkName::Mastodon,
        SinkName::Bluesky,
        SinkName::AbuseIpDb,
        SinkName::Webhook,
        SinkName::Site,
    ];

    /// Its name, and what `--help` says of it.
    pub fn about(self) -> (&'static str, &'static str) {
        match self {
            SinkName::Stdout => ("stdout", "Print posts on standard output"),
            SinkName::X => ("twitter", "Post on X (Twitter); the default"),
            SinkName::Mastodon => (
                "mastodon",
                "Post on Mastodon ([mastodon] in the --config file)",
            ),
            SinkName::Bluesky => (
                "bluesky",
                "Post on Bluesky ([bluesky] in the --config file)",
            ),
            SinkName::AbuseIpDb => (
                "abuseipdb",
                "Report each address to AbuseIPDB ([abuseipdb] in the --config file)",
            ),
            SinkName::Webhook => (
                "webhook",
                "POST a JSON payload to a URL ([webhook] in the --config file)",
            ),
            SinkName::Site => (
                "site",
                "Write a web page per attacker, a sitemap, and tell IndexNow ([site] in the --config file)",
            ),
        }
    }

    /// How its posts are made: a text that fits the service, or (a sink
    /// without a length, the site) one post for every attacker due.
    pub fn packing(self) -> Packing {
        match self {
            SinkName::Site => Packing::Whole,
            _ => Packing::Text,
        }
    }

    /// The destination that goes by `name`.
    pub fn named(name: &str) -> Option<SinkName> {
        SinkName::ALL.into_iter().find(|s| s.about().0 == name)
    }
}

/// The name a sink goes by in the outbox, the state and messages.
pub fn name_of(s: SinkName) -> &'static str {
    s.about().0
}

/// Each destination's part of the options file, with the environment's
/// secrets in place (`with_env`): standard output's `--json`, X's
/// `twitter-*` keys, and a section for each other one that has any.
#[derive(Debug, Clone, Default)]
pub struct Sections {
    pub stdout: stdout::StdoutConfig,
    pub x: x::XConfig,
    pub mastodon: Option<mastodon::MastodonConfig>,
    pub bluesky: Option<bluesky::BlueskyConfig>,
    pub abuseipdb: Option<abuseipdb::AbuseIpDbConfig>,
    pub webhook: Option<webhook::WebhookConfig>,
    pub site: Option<site::SiteConfig>,
}

impl Sections {
    /// The part of the destination `name`: its one arm here.
    fn part(&self, name: SinkName) -> &dyn Part {
        match name {
            SinkName::Stdout => &self.stdout,
            SinkName::X => &self.x,
            SinkName::Mastodon => &self.mastodon,
            SinkName::Bluesky => &self.bluesky,
            SinkName::AbuseIpDb => &self.abuseipdb,
            SinkName::Webhook => &self.webhook,
            SinkName::Site => &self.site,
        }
    }

    /// The same, to change.
    fn part_mut(&mut self, name: SinkName) -> &mut dyn Part {
        match name {
            SinkName::Stdout => &mut self.stdout,
            SinkName::X => &mut self.x,
            SinkName::Mastodon => &mut self.mastodon,
            SinkName::Bluesky => &mut self.bluesky,
            SinkName::AbuseIpDb => &mut self.abuseipdb,
            SinkName::Webhook => &mut self.webhook,
            SinkName::Site => &mut self.site,
        }
    }

    /// Whether any part holds a secret, which puts the file under the 0600 rule.
    pub fn has_secrets(&self) -> bool {
        SinkName::ALL.iter().any(|&s| self.part(s).has_secrets())
    }

    /// The secrets set in the environment (`env` reads a variable) put in
    /// place of the file's, each destination reading its own variables.
    pub fn with_env(mut self, env: Env) -> Sections {
        for s in SinkName::ALL {
            self.part_mut(s).with_env(env);
        }
        self
    }

    /// The parts' API base URLs, named as the options file names them, to
    /// check before a sink quotes them.
    pub fn base_urls(&self) -> Vec<(&'static str, &str)> {
        SinkName::ALL
            .iter()
            .filter_map(|&s| self.part(s).base_url())
            .collect()
    }

    /// The destinations configured in the file or the environment.
    pub fn configured(&self) -> Vec<SinkName> {
        SinkName::ALL
            .into_iter()
            .filter(|&s| self.part(s).is_set())
            .collect()
    }

    /// Builds the sink `name` from its own part alone; `now` is the run's
    /// time, for `createdAt` and relative rate-limit resets. Run and
    /// `verify-credentials` build every sink here.
    pub fn make(&self, name: SinkName, now: Secs) -> Result<Box<dyn Sink>> {
        self.part(name).build(now)
    }

    /// Checks that every sink `names` names is fully configured, by
    /// building it (nothing is sent): one error names every key missing
    /// from them all, in the options file `file` first, then what else is
    /// wrong, each sink's in turn.
    pub fn check(&self, names: &[SinkName], file: Option<&Path>) -> Result<()> {
        let mut missing = Missing::default();
        let mut wrong = Vec::new();
        for &name in names {
            if let Err(e) = self.make(name, 0) {
                match e.downcast::<Missing>() {
                    Ok(m) => missing.extend(m),
                    Err(e) => wrong.push(e),
                }
            }
        }
        if let Err(e) = missing.done() {
            wrong.insert(0, Missing::in_file(e, file));
        }
        match wrong.len() {
            0 => Ok(()),
            1 => Err(wrong.remove(0)),
            _ => {
                let each: Vec<String> = wrong.iter().map(|e| format!("{e:#}")).collect();
                anyhow::bail!("{}", each.join("; "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abuseipdb::AbuseIpDbConfig;
    use bluesky::BlueskyConfig;
    use mastodon::MastodonConfig;
    use std::collections::BTreeMap;
    use stdout::StdoutConfig;
    use webhook::WebhookConfig;
    use x::XConfig;

    #[test]
    fn sections_debug_redacts_every_secret() {
        let s = Sections {
            stdout: StdoutConfig::default(),
            x: XConfig {
                api_url: None,
                credentials: [Some(Secret::new("CKEY-6".into())), None, None, None],
            },
            mastodon: Some(MastodonConfig {
                instance: Some("https://m.example".into()),
                token: Some(Secret::new("TOK-1".into())),
                ..Default::default()
            }),
            bluesky: Some(BlueskyConfig {
                handle: Some("me.bsky.social".into()),
                app_password: Some(Secret::new("PW-2".into())),
                service: None,
            }),
            abuseipdb: Some(AbuseIpDbConfig {
                key: Some(Secret::new("KEY-3".into())),
                api_url: None,
            }),
            webhook: Some(WebhookConfig {
                url: Some(Secret::new("https://hooks.example/HOOK-4".into())),
                headers: [("Authorization".to_string(), Secret::new("HDR-5".into()))].into(),
            }),
            site: None,
        };
        let shown = format!("{s:?} {s:#?}");
        for secret in ["TOK-1", "PW-2", "KEY-3", "HOOK-4", "HDR-5", "CKEY-6"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("me.bsky.social") && shown.contains("<redacted>"));
        assert!(s.has_secrets());
        assert!(!Sections::default().has_secrets());
    }

    #[test]
    fn check_names_what_is_missing() {
        let file = Path::new("/etc/tweet-attacks.toml");
        let err = |s: &Sections, name| format!("{:#}", s.check(&[name], Some(file)).unwrap_err());
        let none = Sections::default();
        assert!(none.check(&[SinkName::Stdout], None).is_ok());
        // Every credential at once, the file's names first.
        assert_eq!(
            err(&none, SinkName::X),
            "missing in /etc/tweet-attacks.toml: twitter-consumer-key, twitter-consumer-secret, \
             twitter-access-token, twitter-access-token-secret (or, in the environment: \
             TWITTER_CONSUMER_KEY, TWITTER_CONSUMER_SECRET, TWITTER_ACCESS_TOKEN, \
             TWITTER_ACCESS_TOKEN_SECRET)"
        );
        let key = Some(Secret::new("ck".into()));
        let one = Sections {
            x: XConfig {
                api_url: None,
                credentials: [key.clone(), None, key.clone(), None],
            },
            ..Sections::default()
        };
        assert_eq!(
            err(&one, SinkName::X),
            "missing in /etc/tweet-attacks.toml: twitter-consumer-secret, \
             twitter-access-token-secret (or, in the environment: TWITTER_CONSUMER_SECRET, \
             TWITTER_ACCESS_TOKEN_SECRET)"
        );
        // Every sink's at once.
        let all = [
            SinkName::X,
            SinkName::Mastodon,
            SinkName::Bluesky,
            SinkName::Webhook,
        ];
        assert_eq!(
            format!("{:#}", one.check(&all, None).unwrap_err()),
            "missing in the options file (none found: --config FILE, $TWEET_ATTACKS_CONFIG or /etc/tweet-attacks.toml): twitter-consumer-secret, \
             twitter-access-token-secret, [mastodon] instance, [mastodon] token, \
             [bluesky] handle, [bluesky] app-password, [webhook] url (or, in the environment: \
             TWITTER_CONSUMER_SECRET, TWITTER_ACCESS_TOKEN_SECRET, MASTODON_TOKEN, \
             BLUESKY_APP_PASSWORD, WEBHOOK_URL)"
        );
        let s = Sections {
            stdout: StdoutConfig::default(),
            x: XConfig::default(),
            mastodon: Some(MastodonConfig {
                instance: Some("https://m.example".into()),
                ..Default::default()
            }),
            bluesky: Some(BlueskyConfig {
                app_password: Some(Secret::new("pw".into())),
                ..Default::default()
            }),
            abuseipdb: Some(AbuseIpDbConfig {
                key: Some(Secret::new(" ".into())),
                api_url: None,
            }),
            webhook: Some(WebhookConfig {
                url: Some(Secret::new("ftp://h/SECRETPATH".into())),
                headers: BTreeMap::new(),
            }),
            site: None,
        };
        assert_eq!(
            err(&s, SinkName::Mastodon),
            "missing in /etc/tweet-attacks.toml: [mastodon] token \
             (or, in the environment: MASTODON_TOKEN)"
        );
        assert_eq!(
            err(&s, SinkName::Bluesky),
            "missing in /etc/tweet-attacks.toml: [bluesky] handle"
        );
        assert_eq!(
            err(&s, SinkName::AbuseIpDb),
            "missing in /etc/tweet-attacks.toml: [abuseipdb] key \
             (or, in the environment: ABUSEIPDB_KEY)"
        );
        let e = err(&s, SinkName::Webhook);
        assert!(e.contains("http(s)://") && !e.contains("SECRETPATH"), "{e}");
    }
}

#[cfg(test)]
mod names {
    use super::*;
    use stdout::StdoutConfig;
    use x::XConfig;

    #[test]
    fn each_destination_goes_by_one_name_everywhere() {
        for s in SinkName::ALL {
            let name = name_of(s);
            assert_eq!(SinkName::named(name), Some(s));
            let quoted = format!("{name:?}");
            assert_eq!(serde_json::from_str::<SinkName>(&quoted).unwrap(), s);
        }
        let mut sorted = SinkName::ALL;
        sorted.sort();
        assert_eq!(sorted, SinkName::ALL, "ALL is in the order runs post in");
    }

    #[test]
    fn all_holds_every_destination() {
        // serde's derive lists every variant by name, ALL or not.
        let e = serde_json::from_str::<SinkName>("\"?\"").unwrap_err();
        let every: Vec<String> = e
            .to_string()
            .split('`')
            .skip(3)
            .step_by(2)
            .map(String::from)
            .collect();
        let all: Vec<String> = SinkName::ALL
            .iter()
            .map(|&s| name_of(s).to_string())
            .collect();
        assert_eq!(every, all, "{e}");
    }

    fn section<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
        Some(toml::from_str(text).unwrap())
    }

    #[test]
    fn each_sink_made_goes_by_its_name() {
        let key = |k: &str| Some(Secret::new(k.into()));
        let sections = Sections {
            stdout: StdoutConfig::default(),
            x: XConfig {
                api_url: None,
                credentials: [key("ck"), key("cs"), key("at"), key("ats")],
            },
            mastodon: section("instance = \"http://127.0.0.1:9\"\ntoken = \"t\""),
            bluesky: section("handle = \"a.b\"\napp-password = \"pw\""),
            abuseipdb: section("key = \"k\""),
            webhook: section("url = \"http://127.0.0.1:9/hook\""),
            site: section(&format!(
                "dir = {:?}\nurl = \"http://127.0.0.1:9/\"\ncontact = \"mailto:a@b\"",
                std::env::temp_dir()
            )),
        };
        for s in SinkName::ALL {
            let sink = sections.make(s, 0).unwrap();
            assert_eq!(sink.name(), name_of(s));
        }
    }
}
