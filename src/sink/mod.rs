//! Where announcements go: every destination, and the one place that knows
//! them all. Each destination is one file here that owns its part of the
//! options file (its section, its secrets' environment variables, their
//! checks) and its sink; it gets only its own part. This file names each
//! one once in `SinkName`, `Sections` and `Sections::make`. What they
//! share: the seam (`seam`: the `Sink` trait and what a sink says about a
//! post), the outbox and budget, the HTTP client every HTTP sink goes
//! through (`http::Api`), the reading of rate-limit headers, the scrubbing
//! of secrets from what a service says, and the options file's secrets.
//!
//! A new destination is: its file; its `pub mod` line; its variant in
//! `SinkName`, with its arm in `about`; its field in `Sections`, with one
//! line in each of `has_secrets`, `with_env`, `base_urls` and
//! `configured`; its arm in `make`; and the options file's key for its
//! section (`FileConfig` in `config`).
//!
//! Each destination has its own outbox entries, so one failing never
//! re-posts on another.

pub mod abuseipdb;
pub mod bluesky;
pub mod http;
pub mod mastodon;
pub mod outbox;
pub mod ratelimit;
#[cfg(test)]
pub(crate) mod samples;
pub(crate) mod scrub;
pub mod seam;
pub mod section;
pub mod stdout;
pub mod webhook;
pub mod x;

use std::io;

use anyhow::Result;
use serde::Deserialize;

pub use outbox::{Budget, Parked, Pending, Post, SinkBook, plan};
pub use ratelimit::Limit;
pub use seam::{Outcome, Sink};
pub use section::{Env, Secret};

use crate::clock::Secs;
use abuseipdb::{AbuseIpDbConfig, AbuseIpDbSink};
use bluesky::{BlueskyConfig, BlueskySink};
use mastodon::{MastodonConfig, MastodonSink};
use stdout::StdoutSink;
use webhook::{WebhookConfig, WebhookSink};
use x::{XConfig, XSink};

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
}

impl SinkName {
    pub const ALL: [SinkName; 6] = [
        SinkName::Stdout,
        SinkName::X,
        SinkName::Mastodon,
        SinkName::Bluesky,
        SinkName::AbuseIpDb,
        SinkName::Webhook,
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
/// secrets in place (`with_env`): X's `twitter-*` keys, and a section for
/// each other one that has any.
#[derive(Debug, Clone, Default)]
pub struct Sections {
    pub x: XConfig,
    pub mastodon: Option<MastodonConfig>,
    pub bluesky: Option<BlueskyConfig>,
    pub abuseipdb: Option<AbuseIpDbConfig>,
    pub webhook: Option<WebhookConfig>,
}

impl Sections {
    /// Whether any part holds a secret, which puts the file under the 0600 rule.
    pub fn has_secrets(&self) -> bool {
        self.x.has_secrets()
            || self
                .mastodon
                .as_ref()
                .is_some_and(MastodonConfig::has_secrets)
            || self
                .bluesky
                .as_ref()
                .is_some_and(BlueskyConfig::has_secrets)
            || self
                .abuseipdb
                .as_ref()
                .is_some_and(AbuseIpDbConfig::has_secrets)
            || self
                .webhook
                .as_ref()
                .is_some_and(WebhookConfig::has_secrets)
    }

    /// The secrets set in the environment (`env` reads a variable) put in
    /// place of the file's, each destination reading its own variables.
    pub fn with_env(mut self, env: Env) -> Sections {
        self.x.with_env(env);
        MastodonConfig::with_env(&mut self.mastodon, env);
        BlueskyConfig::with_env(&mut self.bluesky, env);
        AbuseIpDbConfig::with_env(&mut self.abuseipdb, env);
        WebhookConfig::with_env(&mut self.webhook, env);
        self
    }

    /// The sections' API base URLs, named as the options file names them,
    /// to check before a sink quotes them. (X's is checked as
    /// `--twitter-api-url`.)
    pub fn base_urls(&self) -> Vec<(&'static str, &str)> {
        [
            self.mastodon.as_ref().and_then(MastodonConfig::base_url),
            self.bluesky.as_ref().and_then(BlueskyConfig::base_url),
            self.abuseipdb.as_ref().and_then(AbuseIpDbConfig::base_url),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The destinations other than X that have a section, in the file or
    /// made by the environment.
    pub fn configured(&self) -> Vec<SinkName> {
        [
            (SinkName::Mastodon, self.mastodon.is_some()),
            (SinkName::Bluesky, self.bluesky.is_some()),
            (SinkName::AbuseIpDb, self.abuseipdb.is_some()),
            (SinkName::Webhook, self.webhook.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect()
    }

    /// Builds the sink `name` from its own part alone; `now` is the run's
    /// time, for `createdAt` and relative rate-limit resets; `json` makes
    /// standard output print JSON lines.
    pub fn make(&self, name: SinkName, now: Secs, json: bool) -> Result<Box<dyn Sink>> {
        Ok(match name {
            SinkName::Stdout => Box::new(StdoutSink::new(io::stdout(), json)),
            SinkName::X => Box::new(XSink::new(&self.x)?),
            SinkName::Mastodon => Box::new(MastodonSink::new(self.mastodon.as_ref(), now)?),
            SinkName::Bluesky => Box::new(BlueskySink::new(self.bluesky.as_ref(), now)?),
            SinkName::AbuseIpDb => Box::new(AbuseIpDbSink::new(self.abuseipdb.as_ref(), now)?),
            SinkName::Webhook => Box::new(WebhookSink::new(self.webhook.as_ref(), now)?),
        })
    }

    /// Checks that every sink `names` names is fully configured, in that
    /// order, by building it (nothing is sent); the first error names what
    /// is missing.
    pub fn check(&self, names: &[SinkName]) -> Result<()> {
        for &name in names {
            self.make(name, 0, false)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn sections_debug_redacts_every_secret() {
        let s = Sections {
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
        let err = |s: &Sections, name| format!("{:#}", s.check(&[name]).unwrap_err());
        let none = Sections::default();
        assert!(none.check(&[SinkName::Stdout]).is_ok());
        let e = err(&none, SinkName::X);
        assert!(e.starts_with("TWITTER_CONSUMER_KEY is not set"), "{e}");
        let e = err(&none, SinkName::Mastodon);
        assert!(
            e.contains("[mastodon] section") && e.contains("token"),
            "{e}"
        );
        let e = err(&none, SinkName::Webhook);
        assert!(e.contains("[webhook] section"), "{e}");
        let s = Sections {
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
        };
        assert_eq!(
            err(&s, SinkName::Mastodon),
            "set MASTODON_TOKEN in the environment, or token in [mastodon]: \
             [mastodon] in the --config file has no token"
        );
        assert_eq!(
            err(&s, SinkName::Bluesky),
            "[bluesky] in the --config file has no handle"
        );
        assert_eq!(
            err(&s, SinkName::AbuseIpDb),
            "set ABUSEIPDB_KEY in the environment, or key in [abuseipdb]: \
             [abuseipdb] in the --config file has no key"
        );
        let e = err(&s, SinkName::Webhook);
        assert!(e.contains("http(s)://") && !e.contains("SECRETPATH"), "{e}");
    }
}

#[cfg(test)]
mod names {
    use super::*;

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

    fn section<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
        Some(toml::from_str(text).unwrap())
    }

    #[test]
    fn each_sink_made_goes_by_its_name() {
        let key = |k: &str| Some(Secret::new(k.into()));
        let sections = Sections {
            x: XConfig {
                api_url: None,
                credentials: [key("ck"), key("cs"), key("at"), key("ats")],
            },
            mastodon: section("instance = \"http://127.0.0.1:9\"\ntoken = \"t\""),
            bluesky: section("handle = \"a.b\"\napp-password = \"pw\""),
            abuseipdb: section("key = \"k\""),
            webhook: section("url = \"http://127.0.0.1:9/hook\""),
        };
        for s in SinkName::ALL {
            let sink = sections.make(s, 0, false).unwrap();
            assert_eq!(sink.name(), name_of(s));
        }
    }
}
