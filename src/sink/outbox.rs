//! The outbox, the budget, and how due attackers are grouped into posts:
//! pure bookkeeping, no I/O.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::clock::Secs;
use crate::render::{Announcement, render_packed};

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
    /// When the batch was made: the time its post carries (Bluesky's
    /// `createdAt`, part of its record key), the same on every retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Secs>,
    /// The sink refused this post for good: it waits, out of the queue,
    /// for `tweet-attacks outbox retry` or `drop`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked: Option<Parked>,
}

/// Why and when a post was set aside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parked {
    pub reason: String,
    pub at: Secs,
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
    /// What limit the block waits for, as the service named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
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

/// How a sink's posts are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// Each post a text the service takes: one attacker, or as many as fit.
    Text,
    /// One post for every attacker waiting (the site, which has no length):
    /// its text only counts them.
    Whole,
}

/// One post: its text, the attackers it covers, and their outbox batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub text: String,
    pub subjects: Vec<Announcement>,
    pub batch: u64,
    /// When the batch was made (see `Pending::created`).
    pub created: Secs,
}

impl Post {
    pub fn ips(&self) -> Vec<IpAddr> {
        self.subjects.iter().map(|s| s.ip).collect()
    }
}

/// Groups one sink's outbox entries into at most `left` posts, assigning
/// batch numbers (from `next_batch`) to entries that had none.
///
/// Parked entries are left out. Entries already batched go first, as they were. The rest go one per
/// post, most tries first, while the budget lasts; when more are due than
/// posts remain, several are packed into each post rather than dropping any.
/// Whatever does not fit waits for the next budget. A new batch is made at
/// `now`.
pub fn plan(
    outbox: &mut [Pending],
    sink: &str,
    left: usize,
    next_batch: &mut u64,
    now: Secs,
    packing: Packing,
) -> Vec<Post> {
    if packing == Packing::Whole {
        return plan_whole(outbox, sink, left, next_batch, now)
            .into_iter()
            .collect();
    }
    let mut posts: Vec<Post> = Vec::new();
    let mut batches: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    let mut fresh: Vec<usize> = Vec::new();
    let queued = |p: &Pending| p.sink == sink && p.parked.is_none();
    for (i, p) in outbox.iter().enumerate().filter(|(_, p)| queued(p)) {
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
        // A batch saved before `created` existed takes its newest entry's
        // queueing time: the same on every retry.
        let created = members
            .iter()
            .map(|&i| outbox[i].created.unwrap_or(outbox[i].queued))
            .max()
            .unwrap_or_default();
        posts.push(Post {
            text,
            subjects: subjects.into_iter().cloned().collect(),
            batch: outbox[members[0]].batch.unwrap_or_default(),
            created,
        });
    }
    fresh.sort_by(by_tries);
    let slots = left - posts.len();
    if slots == 0 || fresh.is_empty() {
        return posts;
    }
    let per_post = fresh.len().div_ceil(slots);
    let mut rest = &fresh[..];
    let packed = |outbox: &[Pending], group: &[usize]| {
        let group: Vec<&Announcement> = group.iter().map(|&i| &outbox[i].subject).collect();
        render_packed(&group)
    };
    while !rest.is_empty() && posts.len() < left {
        // The most of `per_post` that fit, counted up: a packed text only
        // grows with each one added, and a post holds about ten. Counting
        // down from `per_post` (4,700 when 80,000 share 17 posts) rendered
        // thousands of groups per post.
        let most = per_post.min(rest.len());
        let mut take = 1;
        let mut text = packed(outbox, &rest[..1]).expect("one always fits");
        while take < most
            && let Some(t) = packed(outbox, &rest[..take + 1])
        {
            take += 1;
            text = t;
        }
        let batch = *next_batch;
        *next_batch += 1;
        for &i in &rest[..take] {
            outbox[i].batch = Some(batch);
            outbox[i].created = Some(now);
        }
        posts.push(Post {
            text,
            subjects: rest[..take]
                .iter()
                .map(|&i| outbox[i].subject.clone())
                .collect(),
            batch,
            created: now,
        });
        rest = &rest[take..];
    }
    posts
}

/// One post for every entry of `sink` waiting, in one batch: the batch
/// some already share (a run killed while posting it), else a new one.
fn plan_whole(
    outbox: &mut [Pending],
    sink: &str,
    left: usize,
    next_batch: &mut u64,
    now: Secs,
) -> Option<Post> {
    let queued = |p: &Pending| p.sink == sink && p.parked.is_none();
    if left == 0 || !outbox.iter().any(queued) {
        return None;
    }
    let kept = outbox
        .iter()
        .filter(|p| queued(p))
        .filter_map(|p| p.batch)
        .min();
    let batch = kept.unwrap_or_else(|| {
        *next_batch += 1;
        *next_batch - 1
    });
    let mut subjects = Vec::new();
    for p in outbox.iter_mut().filter(|p| queued(p)) {
        p.batch = Some(batch);
        p.created.get_or_insert(now);
        subjects.push(p.subject.clone());
    }
    Some(Post {
        text: format!("{} attacker(s)", subjects.len()),
        subjects,
        batch,
        created: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::samples::subject;

    fn pending(ip: &str, tries: u64, sink: &str) -> Pending {
        Pending {
            subject: subject(ip, tries),
            sink: sink.into(),
            batch: None,
            queued: 0,
            created: None,
            parked: None,
        }
    }

    #[test]
    fn one_post_each_while_the_budget_lasts() {
        let mut outbox = vec![
            pending("203.0.113.1", 7, "twitter"),
            pending("203.0.113.2", 9, "twitter"),
            pending("203.0.113.3", 8, "stdout"),
        ];
        let mut next = 1;
        let posts = plan(&mut outbox, "twitter", 5, &mut next, 100, Packing::Text);
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
        let posts = plan(&mut outbox, "twitter", 3, &mut next, 100, Packing::Text);
        assert_eq!(posts.len(), 3);
        let counts: Vec<usize> = posts.iter().map(|p| p.subjects.len()).collect();
        assert_eq!(counts, [3, 3, 1]);
        assert_eq!(posts[0].subjects[0].tries, 17, "most tries first");
        assert!(posts[0].text.contains("203.0.113.7") && posts[0].text.contains("203.0.113.5"));
        assert!(outbox.iter().all(|p| p.batch.is_some()), "all seven placed");

        // Nothing posted: the next plan rebuilds exactly the same texts.
        let texts: Vec<String> = posts.iter().map(|p| p.text.clone()).collect();
        outbox.push(pending("203.0.113.99", 1000, "twitter"));
        let again = plan(&mut outbox, "twitter", 3, &mut next, 100, Packing::Text);
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
        assert!(plan(&mut outbox, "twitter", 0, &mut next, 100, Packing::Text).is_empty());
        let posts = plan(&mut outbox, "twitter", 2, &mut next, 100, Packing::Text);
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

    proptest::proptest! {
        /// Each post holds the most of its share that fit, in the order of
        /// most tries first: what counting down from the share gave.
        #[test]
        fn each_post_packs_the_most_of_its_share_that_fit(
            tries in proptest::collection::vec(6u64..100_000, 1..300),
            left in 1usize..20,
        ) {
            let mut outbox: Vec<Pending> = tries
                .iter()
                .enumerate()
                .map(|(i, t)| pending(&format!("2001:db8::{i:x}"), *t, "twitter"))
                .collect();
            let mut order: Vec<Announcement> = outbox.iter().map(|p| p.subject.clone()).collect();
            order.sort_by(|a, b| b.tries.cmp(&a.tries).then(a.ip.cmp(&b.ip)));
            let mut next = 0;
            let posts = plan(&mut outbox, "twitter", left, &mut next, 100, Packing::Text);
            let share = order.len().div_ceil(left);
            let mut at = 0;
            for post in &posts {
                let k = post.subjects.len();
                proptest::prop_assert!((1..=share).contains(&k));
                proptest::prop_assert_eq!(&post.subjects[..], &order[at..at + k]);
                if k < share && at + k < order.len() {
                    let more: Vec<&Announcement> = order[at..=at + k].iter().collect();
                    proptest::prop_assert!(render_packed(&more).is_none(), "one more fits");
                }
                at += k;
            }
        }
    }

    #[test]
    fn a_whole_post_carries_every_entry_in_one_batch() {
        let mut outbox: Vec<Pending> = (1..=1000)
            .map(|i| pending(&format!("2001:db8::{i:x}"), 10, "site"))
            .collect();
        outbox.push(pending("203.0.113.1", 7, "twitter"));
        outbox[3].batch = Some(4);
        let mut next = 9;
        let posts = plan(
            &mut outbox,
            "site",
            usize::MAX,
            &mut next,
            100,
            Packing::Whole,
        );
        assert_eq!(posts.len(), 1);
        assert_eq!(
            (posts[0].subjects.len(), posts[0].batch, next),
            (1000, 4, 9)
        );
        assert!(outbox[..1000].iter().all(|p| p.batch == Some(4)));
        assert_eq!(
            outbox[1000].batch, None,
            "another sink's entry is untouched"
        );
        assert!(plan(&mut outbox, "site", 0, &mut next, 100, Packing::Whole).is_empty());
    }

    #[test]
    fn budget_counts_the_last_24_hours() {
        let book = SinkBook {
            recent: vec![10, 90_000, 90_100],
            ..SinkBook::default()
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
    fn parked_entries_stay_out_of_every_plan() {
        let mut outbox = vec![
            pending("203.0.113.1", 9, "mastodon"),
            pending("203.0.113.2", 7, "mastodon"),
        ];
        let mut next = 0;
        let first = plan(&mut outbox, "mastodon", 5, &mut next, 100, Packing::Text);
        assert_eq!(first.len(), 2);
        outbox[0].parked = Some(Parked {
            reason: "422".into(),
            at: 100,
        });
        let again = plan(&mut outbox, "mastodon", 5, &mut next, 200, Packing::Text);
        assert_eq!(again.len(), 1, "{again:?}");
        assert_eq!(again[0].ips(), [outbox[1].subject.ip]);
        assert_eq!(again[0].text, first[1].text, "the rest keeps its post");
    }
}
