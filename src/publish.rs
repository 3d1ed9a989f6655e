//! Where announcements go: the outbox entry, the `Sink` seam and the stdout sink.

use std::io::Write;
use std::net::IpAddr;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::clock::Secs;
use crate::render::{Announcement, render};

/// An announcement waiting in the state's outbox for the sinks that have
/// not accepted it yet. It leaves the outbox when that list is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    #[serde(flatten)]
    pub subject: Announcement,
    /// Sinks still to deliver to, by name.
    pub sinks: Vec<String>,
    pub queued: Secs,
}

/// One post: its text and the attackers it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub text: String,
    pub subjects: Vec<Announcement>,
}

impl Post {
    pub fn single(a: &Announcement) -> Post {
        Post {
            text: render(a),
            subjects: vec![a.clone()],
        }
    }
}

/// The machine-readable line printed for an announced attacker.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub ip: IpAddr,
    pub tries: u64,
    pub users: &'a [String],
    pub users_more: u32,
    pub services: &'a [String],
    pub first: String,
    pub last: String,
    pub text: &'a str,
}

impl<'a> Report<'a> {
    pub fn new(a: &'a Announcement, text: &'a str) -> Report<'a> {
        Report {
            ip: a.ip,
            tries: a.tries,
            users: &a.users,
            users_more: a.users_more,
            services: &a.services,
            first: crate::clock::format_rfc3339(a.first),
            last: crate::clock::format_rfc3339(a.last),
            text,
        }
    }
}

/// Writes one post to `out`: its text, or one JSON object per attacker.
pub fn print_post(out: &mut impl Write, post: &Post, json: bool) -> std::io::Result<()> {
    if json {
        for a in &post.subjects {
            serde_json::to_writer(&mut *out, &Report::new(a, &post.text))?;
            out.write_all(b"\n")?;
        }
    } else {
        writeln!(out, "{}", post.text)?;
    }
    Ok(())
}

/// A place that publishes posts. `Ok` means the post is out there (or was
/// already); an error leaves the post in the outbox for the next run.
pub trait Sink {
    fn name(&self) -> &'static str;
    fn publish(&mut self, post: &Post) -> Result<()>;
}

/// Prints posts: for dry runs by hand, pipelines, and cron mail.
pub struct StdoutSink<W: Write> {
    out: W,
    json: bool,
}

impl<W: Write> StdoutSink<W> {
    pub fn new(out: W, json: bool) -> Self {
        StdoutSink { out, json }
    }
}

impl<W: Write> Sink for StdoutSink<W> {
    fn name(&self) -> &'static str {
        "stdout"
    }

    fn publish(&mut self, post: &Post) -> Result<()> {
        print_post(&mut self.out, post, self.json)
            .and_then(|()| self.out.flush())
            .context("cannot write to stdout")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Announcement {
        Announcement {
            ip: "203.0.113.5".parse().unwrap(),
            tries: 7,
            users: vec!["root".into()],
            users_more: 0,
            services: vec!["sshd".into()],
            first: 0,
            last: 60,
        }
    }

    #[test]
    fn stdout_sink_prints_text_or_json() {
        let post = Post::single(&subject());
        let mut buf = Vec::new();
        StdoutSink::new(&mut buf, false).publish(&post).unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), format!("{}\n", post.text));
        let mut buf = Vec::new();
        StdoutSink::new(&mut buf, true).publish(&post).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["ip"], "203.0.113.5");
        assert_eq!(v["tries"], 7);
        assert_eq!(v["users"][0], "root");
        assert_eq!(v["services"][0], "sshd");
        assert_eq!(v["text"], post.text.as_str());
    }

    #[test]
    fn pending_round_trips_flat() {
        let p = Pending {
            subject: subject(),
            sinks: vec!["twitter".into()],
            queued: 9,
        };
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"ip\":\"203.0.113.5\""), "{json}");
        assert_eq!(serde_json::from_str::<Pending>(&json).unwrap(), p);
    }
}
