//! The options file's sink sections, with their secrets, and the checks
//! that name what a section is missing.

use std::fmt;

use anyhow::{Context, Result};
use serde::Deserialize;

use super::abuseipdb::AbuseIpDbConfig;
use super::bluesky::BlueskyConfig;
use super::mastodon::MastodonConfig;
use super::webhook::WebhookConfig;
use crate::cli::SinkName;

/// A value from the options file that must never be shown.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The options file's sink sections.
#[derive(Debug, Clone, Default)]
pub struct SinkSettings {
    pub mastodon: Option<MastodonConfig>,
    pub bluesky: Option<BlueskyConfig>,
    pub abuseipdb: Option<AbuseIpDbConfig>,
    pub webhook: Option<WebhookConfig>,
}

impl SinkSettings {
    /// Whether a section holds a secret, which makes the file subject to the 0600 rule.
    pub fn has_secrets(&self) -> bool {
        self.mastodon.as_ref().is_some_and(|m| m.token.is_some())
            || self
                .bluesky
                .as_ref()
                .is_some_and(|b| b.app_password.is_some())
            || self.abuseipdb.as_ref().is_some_and(|a| a.key.is_some())
            || self.webhook.is_some()
    }

    /// Checks that every sink named here is fully configured, naming what is missing.
    pub fn check(&self, names: &[SinkName]) -> Result<()> {
        for &name in names {
            if !matches!(name, SinkName::Stdout | SinkName::Twitter) {
                super::make(name, self, 0)?;
            }
        }
        Ok(())
    }
}

pub(super) fn section<'a, T>(s: &'a Option<T>, name: &str, keys: &str) -> Result<&'a T> {
    s.as_ref().with_context(|| {
        format!("--sink {name} needs a [{name}] section in the --config file, with {keys}")
    })
}

pub(super) fn text<'a>(v: &'a Option<String>, section: &str, key: &str) -> Result<&'a str> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .with_context(|| format!("[{section}] in the --config file has no {key}"))
}

pub(super) fn secret<'a>(v: &'a Option<Secret>, section: &str, key: &str) -> Result<&'a str> {
    v.as_ref()
        .map(|s| s.expose().trim())
        .filter(|s| !s.is_empty())
        .with_context(|| format!("[{section}] in the --config file has no {key}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn settings_debug_redacts_every_secret() {
        let s = SinkSettings {
            mastodon: Some(MastodonConfig {
                instance: Some("https://m.example".into()),
                token: Some(Secret("TOK-1".into())),
                ..Default::default()
            }),
            bluesky: Some(BlueskyConfig {
                handle: Some("me.bsky.social".into()),
                app_password: Some(Secret("PW-2".into())),
                service: None,
            }),
            abuseipdb: Some(AbuseIpDbConfig {
                key: Some(Secret("KEY-3".into())),
                api_url: None,
            }),
            webhook: Some(WebhookConfig {
                url: Some(Secret("https://hooks.example/HOOK-4".into())),
                headers: [("Authorization".to_string(), Secret("HDR-5".into()))].into(),
            }),
        };
        let shown = format!("{s:?} {s:#?}");
        for secret in ["TOK-1", "PW-2", "KEY-3", "HOOK-4", "HDR-5"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("me.bsky.social") && shown.contains("<redacted>"));
        assert!(s.has_secrets());
        assert!(!SinkSettings::default().has_secrets());
    }

    #[test]
    fn check_names_what_is_missing() {
        let err = |s: &SinkSettings, name| format!("{:#}", s.check(&[name]).unwrap_err());
        let none = SinkSettings::default();
        assert!(none.check(&[SinkName::Stdout, SinkName::Twitter]).is_ok());
        let e = err(&none, SinkName::Mastodon);
        assert!(
            e.contains("[mastodon] section") && e.contains("token"),
            "{e}"
        );
        let e = err(&none, SinkName::Webhook);
        assert!(e.contains("[webhook] section"), "{e}");
        let s = SinkSettings {
            mastodon: Some(MastodonConfig {
                instance: Some("https://m.example".into()),
                ..Default::default()
            }),
            bluesky: Some(BlueskyConfig {
                app_password: Some(Secret("pw".into())),
                ..Default::default()
            }),
            abuseipdb: Some(AbuseIpDbConfig {
                key: Some(Secret(" ".into())),
                api_url: None,
            }),
            webhook: Some(WebhookConfig {
                url: Some(Secret("ftp://h/SECRETPATH".into())),
                headers: BTreeMap::new(),
            }),
        };
        assert_eq!(
            err(&s, SinkName::Mastodon),
            "[mastodon] in the --config file has no token"
        );
        assert_eq!(
            err(&s, SinkName::Bluesky),
            "[bluesky] in the --config file has no handle"
        );
        assert_eq!(
            err(&s, SinkName::Abuseipdb),
            "[abuseipdb] in the --config file has no key"
        );
        let e = err(&s, SinkName::Webhook);
        assert!(e.contains("http(s)://") && !e.contains("SECRETPATH"), "{e}");
    }
}
