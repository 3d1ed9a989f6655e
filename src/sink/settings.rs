//! The options file's sink sections, with their secrets, and the checks
//! that name what a section is missing. Each secret may come from the
//! environment instead (`SECRET_VARS`), which wins over the file, as the
//! `TWITTER_*` variables do.

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

/// The environment variable for each sink's secret: (section, key, variable).
pub const SECRET_VARS: [(&str, &str, &str); 4] = [
    ("mastodon", "token", "MASTODON_TOKEN"),
    ("bluesky", "app-password", "BLUESKY_APP_PASSWORD"),
    ("abuseipdb", "key", "ABUSEIPDB_KEY"),
    ("webhook", "url", "WEBHOOK_URL"),
];

fn var_of(section: &str, key: &str) -> Option<&'static str> {
    SECRET_VARS
        .iter()
        .find(|(s, k, _)| *s == section && *k == key)
        .map(|(_, _, v)| *v)
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

    /// The secrets set in the environment (`get` reads a variable) put in
    /// place of the file's. A secret that is the whole of what a sink needs
    /// (AbuseIPDB's key, the webhook's URL) makes its section too.
    pub fn with_env(mut self, get: impl Fn(&str) -> Option<String>) -> SinkSettings {
        let get = |section: &str, key: &str| {
            var_of(section, key)
                .and_then(&get)
                .filter(|v| !v.trim().is_empty())
                .map(Secret)
        };
        if let (Some(v), Some(c)) = (get("mastodon", "token"), self.mastodon.as_mut()) {
            c.token = Some(v);
        }
        if let (Some(v), Some(c)) = (get("bluesky", "app-password"), self.bluesky.as_mut()) {
            c.app_password = Some(v);
        }
        if let Some(v) = get("abuseipdb", "key") {
            self.abuseipdb.get_or_insert_with(Default::default).key = Some(v);
        }
        if let Some(v) = get("webhook", "url") {
            self.webhook.get_or_insert_with(Default::default).url = Some(v);
        }
        self
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

fn secret<'a>(v: &'a Option<Secret>, section: &str, key: &str) -> Result<&'a str> {
    v.as_ref()
        .map(|s| s.expose().trim())
        .filter(|s| !s.is_empty())
        .with_context(|| format!("[{section}] in the --config file has no {key}"))
}

/// A secret from the section, or what to set when it has none.
pub(super) fn secret_or_var<'a>(
    v: &'a Option<Secret>,
    section: &str,
    key: &str,
) -> Result<&'a str> {
    secret(v, section, key).map_err(|e| match var_of(section, key) {
        Some(var) => e.context(format!(
            "set {var} in the environment, or {key} in [{section}]"
        )),
        None => e,
    })
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
            "set MASTODON_TOKEN in the environment, or token in [mastodon]: \
             [mastodon] in the --config file has no token"
        );
        assert_eq!(
            err(&s, SinkName::Bluesky),
            "[bluesky] in the --config file has no handle"
        );
        assert_eq!(
            err(&s, SinkName::Abuseipdb),
            "set ABUSEIPDB_KEY in the environment, or key in [abuseipdb]: \
             [abuseipdb] in the --config file has no key"
        );
        let e = err(&s, SinkName::Webhook);
        assert!(e.contains("http(s)://") && !e.contains("SECRETPATH"), "{e}");
    }
}
