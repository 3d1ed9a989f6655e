//! The admin's own web pages: the `[site]` section, checked, and the sink
//! that writes a post's attackers' pages into the site's folder (`site`
//! holds the pages, the manifest and the derived files). One post carries
//! every attacker due in a run (`Packing::Whole`), so a run saves its
//! manifest once, not once per attacker. Telling IndexNow, and rewriting
//! the pages of attackers that came back, are the run's step after posting
//! (`refresh`).

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Result, bail};
use serde::Deserialize;

use super::indexnow::{self, valid_key};
use super::outbox::Post;
use super::seam::{Outcome, Sink};
use super::section::{Env, Part};
use super::stdout::AttackerJson;
use crate::clock::Secs;
use crate::render::Announcement;
use crate::site::Site;
use crate::site::page::Facts;

/// `[site]`. Nothing here is secret: the IndexNow key is served in the site itself.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SiteConfig {
    /// The folder the web server serves; it must exist.
    pub dir: Option<PathBuf>,
    /// The folder's public URL, ending in `/`.
    pub url: Option<String>,
    /// Where disputes go: `mailto:` or a web address.
    pub contact: Option<String>,
    pub title: Option<String>,
    pub indexnow_key: Option<String>,
    pub indexnow_url: Option<String>,
}

impl Part for Option<SiteConfig> {
    fn has_secrets(&self) -> bool {
        false
    }

    fn with_env(&mut self, _env: Env) {}

    fn base_url(&self) -> Option<(&'static str, &str)> {
        let url = self.as_ref()?.indexnow_url.as_deref()?;
        Some(("[site] indexnow-url", url))
    }

    fn is_set(&self) -> bool {
        self.is_some()
    }

    fn build(&self, now: Secs) -> Result<Box<dyn Sink>> {
        Ok(Box::new(SiteSink {
            site: self
                .as_ref()
                .map_or_else(|| SiteConfig::default().settings(), SiteConfig::settings)?,
            now,
        }))
    }
}

/// `[site]`, checked: what a writing of the site needs.
#[derive(Debug, Clone)]
pub struct SiteSettings {
    pub dir: PathBuf,
    pub url: String,
    pub contact: String,
    pub title: String,
    pub key: Option<String>,
    pub indexnow_url: String,
}

impl SiteConfig {
    /// The section checked: every key there, well formed, the folder a folder.
    pub fn settings(&self) -> Result<SiteSettings> {
        let mut missing = super::Missing::default();
        let dir = missing
            .text(
                &self.dir.as_ref().map(|d| d.display().to_string()),
                "site",
                "dir",
            )
            .to_owned();
        let url = missing.text(&self.url, "site", "url").to_owned();
        let contact = missing.text(&self.contact, "site", "contact").to_owned();
        missing.done()?;
        let dir = PathBuf::from(dir);
        if !dir.is_dir() {
            bail!("[site] dir {} is not an existing folder", dir.display());
        }
        let host = web_url(&url, "[site] url")?;
        if !url.ends_with('/') || url.contains(['?', '#']) {
            bail!(
                "[site] url must end in / (the URL of the folder {}), with no query",
                dir.display()
            );
        }
        match contact.strip_prefix("mailto:") {
            Some(addr) => {
                let (user, domain) = addr.split_once('@').unwrap_or_default();
                if user.is_empty() || domain.is_empty() || addr.contains(char::is_whitespace) {
                    bail!("[site] contact {contact:?} is not a mailto: address");
                }
            }
            None => {
                web_url(&contact, "[site] contact")
                    .map_err(|e| anyhow::anyhow!("{e:#}, or a mailto: address"))?;
            }
        }
        let key = self.indexnow_key.as_ref().map(|k| k.trim().to_owned());
        if let Some(k) = &key
            && !valid_key(k)
        {
            bail!("[site] indexnow-key must be 8 to 128 of a-z, A-Z, 0-9 and -");
        }
        let title = match &self.title {
            Some(t) if !t.trim().is_empty() => t.trim().to_owned(),
            _ => format!("Attacks on {host}"),
        };
        Ok(SiteSettings {
            dir,
            url,
            contact,
            title,
            key,
            indexnow_url: self
                .indexnow_url
                .clone()
                .unwrap_or_else(|| indexnow::DEFAULT_URL.into()),
        })
    }
}

/// Checks that `url` is an absolute web URL, https (or plain http on a
/// loopback host, for tests and a server on this machine), and gives its host.
fn web_url(url: &str, what: &str) -> Result<String> {
    let parsed: Option<ureq::http::Uri> = url.parse().ok();
    let Some(uri) = parsed.filter(|_| !url.contains(char::is_whitespace)) else {
        bail!("{what} {url:?} is not a URL");
    };
    let host = uri.host().unwrap_or_default().to_owned();
    if host.is_empty() || uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        bail!("{what} {url:?} must be https://host/…");
    }
    match uri.scheme_str() {
        Some("https") => Ok(host),
        Some("http") if loopback(&host) => Ok(host),
        Some("http") => {
            bail!("{what} {url:?} must be https (plain http only on this machine's loopback)")
        }
        _ => bail!("{what} {url:?} must be an https:// URL"),
    }
}

/// 127.0.0.0/8, ::1 or localhost.
fn loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl SiteSettings {
    /// The site, open for a writing at `now`.
    pub fn open(&self, now: Secs) -> Result<Site> {
        let facts = Facts {
            title: self.title.clone(),
            url: self.url.clone(),
            contact: self.contact.clone(),
            now,
        };
        Site::open(&self.dir, facts, self.key.clone())
    }
}

/// A page's JSON twin: the fields of `--json`.
pub fn twin(a: &Announcement) -> String {
    let mut out = Vec::new();
    // Writing into memory cannot fail.
    let _ = crate::text::write_json(&mut out, &AttackerJson::new(a), true);
    out.push(b'\n');
    String::from_utf8(out).unwrap_or_default()
}

/// Writes each post's attackers' pages, then the manifest and the files derived from it.
pub struct SiteSink {
    site: SiteSettings,
    now: Secs,
}

impl SiteSink {
    fn write(&self, post: &Post) -> Result<()> {
        let mut site = self.site.open(self.now)?;
        for a in &post.subjects {
            site.put(a, &twin(a))?;
        }
        site.commit()
    }
}

impl Sink for SiteSink {
    fn name(&self) -> &'static str {
        "site"
    }

    fn publish(&mut self, post: &Post) -> Outcome {
        match self.write(post) {
            Ok(()) => Outcome::Delivered,
            Err(e) => Outcome::Failed(e.context("cannot write the site")),
        }
    }

    /// The four checks, each said: the folder writable; the URL and
    /// contact well formed and the key valid (`settings` checked those, or
    /// the sink would not be built); the key file served at its URL.
    fn check(&mut self) -> Result<String> {
        let dir = crate::site::write::SiteDir::open(&self.site.dir)?;
        dir.check_writable()?;
        let mut said = vec![
            format!("{} writable", self.site.dir.display()),
            "url and contact well formed".to_string(),
        ];
        if let Some(key) = &self.site.key {
            said.push("IndexNow key valid".into());
            said.push(indexnow::check_key(
                &indexnow::key_url(&self.site.url, key),
                key,
            )?);
        }
        Ok(said.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path, url: &str, contact: &str, key: Option<&str>) -> SiteConfig {
        SiteConfig {
            dir: Some(dir.to_path_buf()),
            url: Some(url.into()),
            contact: Some(contact.into()),
            title: None,
            indexnow_key: key.map(str::to_string),
            indexnow_url: None,
        }
    }

    #[test]
    fn the_section_is_checked() {
        let d = tempfile::tempdir().unwrap();
        let ok = |url: &str, contact: &str, key: Option<&str>| {
            config(d.path(), url, contact, key)
                .settings()
                .map(|s| s.title)
        };
        assert_eq!(
            ok(
                "https://example.org/attacks/",
                "mailto:abuse@example.org",
                Some("abcd1234")
            )
            .unwrap(),
            "Attacks on example.org"
        );
        assert!(ok("http://127.0.0.1:8080/", "http://localhost/contact", None).is_ok());
        assert!(ok("http://[::1]/a/", "mailto:a@b", None).is_ok());
        for (url, contact, key, says) in [
            ("http://example.org/", "mailto:a@b", None, "must be https"),
            (
                "https://example.org/attacks",
                "mailto:a@b",
                None,
                "must end in /",
            ),
            ("example.org/", "mailto:a@b", None, "not a URL"),
            (
                "https://u:p@example.org/",
                "mailto:a@b",
                None,
                "must be https://host",
            ),
            ("https://example.org/", "mailto:", None, "not a mailto"),
            (
                "https://example.org/",
                "abuse@example.org",
                None,
                "or a mailto",
            ),
            (
                "https://example.org/",
                "http://example.org/c",
                None,
                "must be https",
            ),
            (
                "https://example.org/",
                "mailto:a@b",
                Some("short"),
                "indexnow-key",
            ),
            (
                "https://example.org/",
                "mailto:a@b",
                Some("has space in it"),
                "indexnow-key",
            ),
        ] {
            let e = format!("{:#}", ok(url, contact, key).unwrap_err());
            assert!(e.contains(says), "{url} {contact}: {e}");
        }
        let mut c = config(&d.path().join("nope"), "https://e.org/", "mailto:a@b", None);
        assert!(format!("{:#}", c.settings().unwrap_err()).contains("not an existing folder"));
        c.url = None;
        assert!(format!("{:#}", c.settings().unwrap_err()).contains("[site] url"));
    }
}
