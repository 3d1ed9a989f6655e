//! Standard output: its options (quiet under `--json`), posts printed for
//! runs by hand, pipelines and cron mail, the `--json` line, and the JSON
//! shape of an attacker that `--json` lines and webhook payloads share.

use std::io::Write;
use std::net::IpAddr;

use serde::Serialize;

use super::outbox::Post;
use super::seam::{Outcome, Sink};
use super::section::{Env, Part};
use crate::clock::Secs;
use crate::render::{Announcement, Owner};

/// An attacker as other programs read it: in `--json` lines and webhook payloads.
#[derive(Debug, Serialize)]
pub struct AttackerJson<'a> {
    pub ip: IpAddr,
    pub tries: u64,
    pub users: &'a [String],
    pub users_more: u32,
    pub services: &'a [String],
    pub first: String,
    pub last: String,
    /// For an IPv6 network counted as one (`ip` is its first address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<u8>,
    /// The first address seen in that network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<IpAddr>,
    /// `asn`, `as_org` and `country`, each when known.
    #[serde(flatten)]
    pub owner: &'a Owner,
}

impl<'a> AttackerJson<'a> {
    pub fn new(a: &'a Announcement) -> AttackerJson<'a> {
        AttackerJson {
            ip: a.ip,
            tries: a.tries,
            users: &a.users,
            users_more: a.users_more,
            services: &a.services,
            first: crate::clock::format_rfc3339(a.first),
            last: crate::clock::format_rfc3339(a.last),
            prefix: a.prefix,
            seen: a.seen,
            owner: &a.owner,
        }
    }
}

/// The machine-readable line printed for an announced attacker.
#[derive(Debug, Serialize)]
pub struct AttackerLine<'a> {
    #[serde(flatten)]
    pub attacker: AttackerJson<'a>,
    pub text: &'a str,
}

impl<'a> AttackerLine<'a> {
    pub fn new(a: &'a Announcement, text: &'a str) -> AttackerLine<'a> {
        AttackerLine {
            attacker: AttackerJson::new(a),
            text,
        }
    }
}

/// Writes one post to `out`: its text, or one JSON object per attacker,
/// with any hazard a name brought escaped (each line of the text on its own).
pub fn print_post(out: &mut impl Write, post: &Post, json: bool) -> std::io::Result<()> {
    if json {
        for a in &post.subjects {
            crate::text::write_json(&mut *out, &AttackerLine::new(a, &post.text), false)?;
            out.write_all(b"\n")?;
        }
    } else {
        for line in post.text.split('\n') {
            crate::text::put_line(&mut *out, format_args!("{line}"))?;
        }
    }
    Ok(())
}

/// Standard output's options: it has no section and no secret.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdoutConfig {
    /// `--json`: the run's report prints each post (see `StdoutSink`).
    pub quiet: bool,
}

impl Part for StdoutConfig {
    fn has_secrets(&self) -> bool {
        false
    }

    fn with_env(&mut self, _env: Env) {}

    /// Never configured in the options file: named, it is there.
    fn is_set(&self) -> bool {
        false
    }

    fn build(&self, _now: Secs) -> anyhow::Result<Box<dyn Sink>> {
        Ok(Box::new(StdoutSink::new(std::io::stdout(), self.quiet)))
    }
}

/// Prints posts: for runs by hand, pipelines, and cron mail. Under `--json`
/// the run's report already prints each post, so the sink stays quiet.
pub struct StdoutSink<W: Write> {
    out: W,
    quiet: bool,
}

impl<W: Write> StdoutSink<W> {
    pub fn new(out: W, quiet: bool) -> Self {
        StdoutSink { out, quiet }
    }
}

impl<W: Write> Sink for StdoutSink<W> {
    fn name(&self) -> &'static str {
        "stdout"
    }

    fn check(&mut self) -> anyhow::Result<String> {
        Ok("nothing to check".into())
    }

    fn publish(&mut self, post: &Post) -> Outcome {
        if self.quiet {
            return Outcome::Delivered;
        }
        match print_post(&mut self.out, post, false).and_then(|()| self.out.flush()) {
            Ok(()) => Outcome::Delivered,
            Err(e) => Outcome::Failed(anyhow::Error::new(e).context("cannot write to stdout")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::samples::subject;

    #[test]
    fn stdout_sink_prints_text_unless_quiet() {
        let post = Post {
            text: "hello".into(),
            subjects: vec![subject("203.0.113.5", 7)],
            batch: 0,
            created: 0,
        };
        let mut buf = Vec::new();
        assert!(matches!(
            StdoutSink::new(&mut buf, false).publish(&post),
            Outcome::Delivered
        ));
        assert_eq!(buf, b"hello\n");
        let mut buf = Vec::new();
        assert!(matches!(
            StdoutSink::new(&mut buf, true).publish(&post),
            Outcome::Delivered
        ));
        assert!(buf.is_empty());
    }

    #[test]
    fn report_json_has_the_contract_fields() {
        let a = subject("203.0.113.5", 7);
        let post = Post {
            text: "t".into(),
            subjects: vec![a],
            batch: 0,
            created: 0,
        };
        let mut buf = Vec::new();
        print_post(&mut buf, &post, true).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["ip"], "203.0.113.5");
        assert_eq!(v["tries"], 7);
        assert_eq!(v["users"][0], "root");
        assert_eq!(v["services"][0], "sshd");
        assert_eq!(v["text"], "t");
    }
}
