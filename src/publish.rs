//! Where announcements go: the outbox, the budget, how due attackers are
//! grouped into posts, the `Sink` seam and its stdout and X implementations.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::clock::Secs;
use crate::render::{Announcement, render_packed};
use crate::x::{PostOutcome, XClient};

/// One announcement waiting for one sink. Each sink has its own entries, so
/// a failure of one never re-posts on another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    #[serde(flatten)]
    pub subject: Announcement,
    pub sink: String,
    /// Entries posted together share a batch, fixed and saved before the
    /// first attempt: a retry sends exactly the same text, which X's
    /// duplicate check turns into a no-op if the first attempt got through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
    pub queued: Secs,
}

/// A sink's bookkeeping, kept in the state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkBook {
    /// When posts were accepted in the last 24 hours.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<Secs>,
    /// Rate-limited: no post before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_until: Option<Secs>,
}

/// How many posts a sink may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub per_day: Option<usize>,
    pub per_run: Option<usize>,
}

impl Budget {
    pub const UNLIMITED: Budget = Budget {
        per_day: None,
        per_run: None,
    };

    /// Posts allowed now, given what the last 24 hours used.
    pub fn left(&self, book: &SinkBook, now: Secs) -> usize {
        let used = book.recent.iter().filter(|t| **t > now - 86_400).count();
        let day = self.per_day.map_or(usize::MAX, |d| d.saturating_sub(used));
        day.min(self.per_run.unwrap_or(usize::MAX))
    }
}

/// One post: its text, the attackers it covers, and their outbox batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub text: String,
    pub subjects: Vec<Announcement>,
    pub batch: u64,
}

impl Post {
    pub fn ips(&self) -> Vec<IpAddr> {
        self.subjects.iter().map(|s| s.ip).collect()
    }
}

/// Groups one sink's outbox entries into at most `left` posts, assigning
/// batch numbers (from `next_batch`) to entries that had none.
///
/// Entries already batched go first, as they were. The rest go one per
/// post, most tries first, while the budget lasts; when more are due than
/// posts remain, several are packed into each post rather than dropping any.
/// Whatever does not fit waits for the next budget.
pub fn plan(outbox: &mut [Pending], sink: &str, left: usize, next_batch: &mut u64) -> Vec<Post> {
    let mut posts: Vec<Post> = Vec::new();
    let mut batches: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    let mut fresh: Vec<usize> = Vec::new();
    for (i, p) in outbox.iter().enumerate().filter(|(_, p)| p.sink == sink) {
        match p.batch {
            Some(b) => batches.entry(b).or_default().push(i),
            None => fresh.push(i),
        }
    }
    let by_tries = |a: &usize, b: &usize| {
        let (a, b) = (&outbox[*a].subject, &outbox[*b].subject);
        b.tries.cmp(&a.tries).then(a.ip.cmp(&b.ip))
    };
    for members in batches.values_mut() {
        if posts.len() >= left {
            return posts;
        }
        members.sort_by(by_tries);
        let subjects: Vec<&Announcement> = members.iter().map(|&i| &outbox[i].subject).collect();
        // A saved batch always fitted when it was made; the fallback never fires.
        let text = render_packed(&subjects).unwrap_or_else(|| crate::render::render(subjects[0]));
        posts.push(Post {
            text,
            subjects: subjects.into_iter().cloned().collect(),
            batch: outbox[members[0]].batch.unwrap_or_default(),
        });
    }
    fresh.sort_by(by_tries);
    let slots = left - posts.len();
    if slots == 0 || fresh.is_empty() {
        return posts;
    }
    let per_post = fresh.len().div_ceil(slots);
    let mut rest = &fresh[..];
    while !rest.is_empty() && posts.len() < left {
        let mut take = per_post.min(rest.len());
        let text = loop {
            let group: Vec<&Announcement> =
                rest[..take].iter().map(|&i| &outbox[i].subject).collect();
            match render_packed(&group) {
                Some(t) => break t,
                None => take -= 1,
            }
        };
        let batch = *next_batch;
        *next_batch += 1;
        for &i in &rest[..take] {
            outbox[i].batch = Some(batch);
        }
        posts.push(Post {
            text,
            subjects: rest[..take]
                .iter()
                .map(|&i| outbox[i].subject.clone())
                .collect(),
            batch,
        });
        rest = &rest[take..];
    }
    posts
}

/// What a sink said about one post.
#[derive(Debug)]
pub enum Outcome {
    Delivered,
    /// Already there: X said "duplicate content". Counts as delivered.
    Duplicate,
    /// Stop posting to this sink until `reset` (Unix seconds), keep the queue.
    RateLimited {
        reset: Option<Secs>,
    },
    Failed(anyhow::Error),
}

/// A place that publishes posts.
pub trait Sink {
    fn name(&self) -> &'static str;
    fn publish(&mut self, post: &Post) -> Outcome;
}

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
        }
    }
}

/// The machine-readable line printed for an announced attacker.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    #[serde(flatten)]
    pub attacker: AttackerJson<'a>,
    pub text: &'a str,
}

impl<'a> Report<'a> {
    pub fn new(a: &'a Announcement, text: &'a str) -> Report<'a> {
        Report {
            attacker: AttackerJson::new(a),
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

/// Posts to X through the v2 API.
pub struct TwitterSink {
    client: XClient,
}

impl TwitterSink {
    pub fn new(client: XClient) -> Self {
        TwitterSink { client }
    }
}

impl Sink for TwitterSink {
    fn name(&self) -> &'static str {
        "twitter"
    }

    fn publish(&mut self, post: &Post) -> Outcome {
        match self.client.post(&post.text) {
            PostOutcome::Posted { .. } => Outcome::Delivered,
            PostOutcome::Duplicate => Outcome::Duplicate,
            PostOutcome::RateLimited { reset } => Outcome::RateLimited { reset },
            PostOutcome::Failed(e) => Outcome::Failed(e.context("posting to X failed")),
        }
    }
}

/// Reads `/etc/passwd`-style text into the set of local account names.
pub fn local_accounts(passwd: &str) -> std::collections::HashSet<String> {
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

    fn subject(ip: &str, tries: u64) -> Announcement {
        Announcement {
            ip: ip.parse().unwrap(),
            tries,
            users: vec!["root".into()],
            users_more: 0,
            services: vec!["sshd".into()],
            first: 0,
            last: 60,
            servers: 1,
            prefix: None,
            seen: None,
        }
    }

    fn pending(ip: &str, tries: u64, sink: &str) -> Pending {
        Pending {
            subject: subject(ip, tries),
            sink: sink.into(),
            batch: None,
            queued: 0,
        }
    }

    #[test]
    fn stdout_sink_prints_text_unless_quiet() {
        let post = Post {
            text: "hello".into(),
            subjects: vec![subject("203.0.113.5", 7)],
            batch: 0,
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

    #[test]
    fn one_post_each_while_the_budget_lasts() {
        let mut outbox = vec![
            pending("203.0.113.1", 7, "twitter"),
            pending("203.0.113.2", 9, "twitter"),
            pending("203.0.113.3", 8, "stdout"),
        ];
        let mut next = 1;
        let posts = plan(&mut outbox, "twitter", 5, &mut next);
        let ips: Vec<Vec<IpAddr>> = posts.iter().map(Post::ips).collect();
        assert_eq!(
            ips,
            vec![
                vec!["203.0.113.2".parse::<IpAddr>().unwrap()],
                vec!["203.0.113.1".parse().unwrap()]
            ]
        );
        assert_eq!(outbox[2].batch, None, "another sink's entry is untouched");
        assert_eq!(
            (outbox[0].batch, outbox[1].batch, next),
            (Some(2), Some(1), 3)
        );
    }

    #[test]
    fn packs_when_more_are_due_than_posts_remain_and_drops_none() {
        let mut outbox: Vec<Pending> = (1..=7)
            .map(|i| pending(&format!("203.0.113.{i}"), 10 + i, "twitter"))
            .collect();
        let mut next = 0;
        let posts = plan(&mut outbox, "twitter", 3, &mut next);
        assert_eq!(posts.len(), 3);
        let counts: Vec<usize> = posts.iter().map(|p| p.subjects.len()).collect();
        assert_eq!(counts, [3, 3, 1]);
        assert_eq!(posts[0].subjects[0].tries, 17, "most tries first");
        assert!(posts[0].text.contains("203.0.113.7") && posts[0].text.contains("203.0.113.5"));
        assert!(outbox.iter().all(|p| p.batch.is_some()), "all seven placed");

        // Nothing posted: the next plan rebuilds exactly the same texts.
        let texts: Vec<String> = posts.iter().map(|p| p.text.clone()).collect();
        outbox.push(pending("203.0.113.99", 1000, "twitter"));
        let again = plan(&mut outbox, "twitter", 3, &mut next);
        let again: Vec<String> = again.iter().map(|p| p.text.clone()).collect();
        assert_eq!(
            again, texts,
            "saved batches keep their text; the newcomer waits"
        );
    }

    #[test]
    fn no_budget_no_posts_and_overflow_waits() {
        let mut outbox: Vec<Pending> = (1..=200)
            .map(|i| pending(&format!("2001:db8::{i:x}"), 10, "twitter"))
            .collect();
        let mut next = 0;
        assert!(plan(&mut outbox, "twitter", 0, &mut next).is_empty());
        let posts = plan(&mut outbox, "twitter", 2, &mut next);
        assert_eq!(posts.len(), 2);
        let placed: usize = posts.iter().map(|p| p.subjects.len()).sum();
        assert!(placed < 200, "only what fits 280 characters");
        assert!(
            posts
                .iter()
                .all(|p| crate::render::weighted_len(&p.text) <= 280)
        );
        assert_eq!(
            outbox.iter().filter(|p| p.batch.is_none()).count(),
            200 - placed
        );
    }

    #[test]
    fn budget_counts_the_last_24_hours() {
        let book = SinkBook {
            recent: vec![10, 90_000, 90_100],
            blocked_until: None,
        };
        let b = Budget {
            per_day: Some(17),
            per_run: Some(5),
        };
        assert_eq!(b.left(&book, 100_000), 5);
        let b = Budget {
            per_day: Some(3),
            per_run: None,
        };
        assert_eq!(b.left(&book, 100_000), 1, "the post at t=10 has aged out");
        assert_eq!(Budget::UNLIMITED.left(&book, 0), usize::MAX);
    }

    #[test]
    fn passwd_names() {
        let names = local_accounts(
            "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n\n",
        );
        assert!(names.contains("root") && names.contains("alice"));
        assert_eq!(names.len(), 2);
    }
}
