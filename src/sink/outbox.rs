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
    /// Posts in one run; None: by the quarter rule of `run_share` when
    /// there is a daily limit, else no limit.
    pub per_run: Option<usize>,
}

/// The posts one run may make of the `left` the last 24 hours leave of a
/// daily limit: a quarter, rounded up, so at least one while any is left
/// (17 → 5, 4 → 1, 1 → 1, 0 → 0). The first run over a backlog would
/// otherwise spend the whole day's budget, and for 24 hours no new attacker
/// could be posted; a quarter of what is left keeps posts for the runs
/// after it, and rounding up still lets the last post of the day be made.
pub fn run_share(left: usize) -> usize {
    left.div_ceil(4)
}

/// The posts a daily limit of `per_day` allows now by its pace, given when
/// the last 24 hours' posts were made: a bucket that holds a first run's
/// share (`run_share(per_day)`) and fills again at `per_day` a day. The
/// quarter rule alone lets every run take a quarter of what is left, so a
/// backlog spends 17 in eight runs (5, 3, 3, 2, 1, 1, 1, 1: two hours of
/// cron), and then nothing can be posted for 22 hours; at this pace the
/// first run still posts 5, and the rest come one every 85 minutes, so the
/// day's budget lasts the day. Computed from the times alone: for every
/// recent post, the posts since it (itself included) and this run's may
/// not pass the bucket plus what it has earned since.
fn paced(per_day: usize, recent: &[Secs], now: Secs) -> usize {
    let burst = run_share(per_day) as i128;
    let mut since: Vec<Secs> = recent
        .iter()
        .copied()
        .filter(|t| *t > now - 86_400 && *t <= now)
        .collect();
    since.sort_unstable_by(|a, b| b.cmp(a));
    let allowed = since.iter().enumerate().fold(burst, |allowed, (i, t)| {
        let earned = i128::from(now - t) * per_day as i128 / 86_400;
        allowed.min(burst + earned - (i as i128 + 1))
    });
    allowed.max(0) as usize
}

impl Budget {
    pub const UNLIMITED: Budget = Budget {
        per_day: None,
        per_run: None,
    };

    /// Posts the daily limit leaves, given what the last 24 hours used
    /// (`usize::MAX`: no daily limit).
    pub fn left_today(&self, book: &SinkBook, now: Secs) -> usize {
        let used = book.recent.iter().filter(|t| **t > now - 86_400).count();
        self.per_day.map_or(usize::MAX, |d| d.saturating_sub(used))
    }

    /// Posts this run may make now: an explicit `per_run` if one was given,
    /// else `run_share` of what today leaves. The quarter rule follows any
    /// daily limit, not a sink's name: a daily limit is a budget that one
    /// run can spend for the whole day, whatever the sink. Only X has one
    /// today; the other sinks are paced by their services' rate limits.
    pub fn left(&self, book: &SinkBook, now: Secs) -> usize {
        let day = self.left_today(book, now);
        let run = match (self.per_run, self.per_day) {
            (Some(n), _) => n,
            (None, Some(d)) => run_share(day).min(paced(d, &book.recent, now)),
            (None, None) => usize::MAX,
        };
        day.min(run)
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
/// posts remain, each post carries as many as fit its length limit, most
/// tries first, rather than dropping any: the fewest posts of the budget are
/// spent, and what is left of it waits for the attackers of later runs.
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
    let per_post = match fresh.len() > slots {
        true => fresh.len(),
        false => 1,
    };
    let mut rest = &fresh[..];
    let packed = |outbox: &[Pending], group: &[usize]| {
        let group: Vec<&Announcement> = group.iter().map(|&i| &outbox[i].subject).collect();
        render_packed(&group)
    };
    while !rest.is_empty() && posts.len() < left {
        // The most of `per_post` that fit, counted up: a packed text only
        // grows with each one added, and a post holds about ten. Counting
        // down from `per_post` (80,000 due) would render thousands of
        // groups per post.
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
        let mut outbox: Vec<Pending> = (1..=30)
            .map(|i| pending(&format!("203.0.113.{i}"), 10 + i, "twitter"))
            .collect();
        let mut next = 0;
        let posts = plan(&mut outbox, "twitter", 3, &mut next, 100, Packing::Text);
        assert_eq!(posts.len(), 3);
        let counts: Vec<usize> = posts.iter().map(|p| p.subjects.len()).collect();
        assert!(counts.iter().all(|&n| n > 1), "{counts:?}");
        assert_eq!(posts[0].subjects[0].tries, 40, "most tries first");
        assert!(posts[0].text.contains("203.0.113.30") && posts[0].text.contains("203.0.113.29"));
        let placed: usize = counts.iter().sum();
        assert_eq!(
            outbox.iter().filter(|p| p.batch.is_some()).count(),
            placed,
            "the rest waits, unbatched"
        );

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
    fn a_few_more_than_posts_left_share_one_post() {
        let mut outbox: Vec<Pending> = (1..=7)
            .map(|i| pending(&format!("203.0.113.{i}"), 10 + i, "twitter"))
            .collect();
        let mut next = 0;
        let posts = plan(&mut outbox, "twitter", 5, &mut next, 100, Packing::Text);
        let counts: Vec<usize> = posts.iter().map(|p| p.subjects.len()).collect();
        assert_eq!(counts, [7], "as tightly as 280 allows, not one post each");
        assert!(outbox.iter().all(|p| p.batch == Some(0)));
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
        /// One post each when all fit the posts left; else each post holds
        /// as many as fit, in the order of most tries first.
        #[test]
        fn each_post_packs_the_most_that_fit(
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
            let packing = order.len() > left;
            proptest::prop_assert!(posts.len() <= left);
            let mut at = 0;
            for post in &posts {
                let k = post.subjects.len();
                proptest::prop_assert!(k >= 1 && (packing || k == 1));
                proptest::prop_assert_eq!(&post.subjects[..], &order[at..at + k]);
                if packing && at + k < order.len() {
                    let more: Vec<&Announcement> = order[at..=at + k].iter().collect();
                    proptest::prop_assert!(render_packed(&more).is_none(), "one more fits");
                }
                at += k;
            }
            proptest::prop_assert!(posts.len() == left || at == order.len(), "a post unused");
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
            recent: vec![10, 40_000, 40_100],
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
    fn a_run_spends_a_quarter_of_what_is_left_rounded_up() {
        let shares: Vec<usize> = [17, 16, 5, 4, 3, 1, 0].map(run_share).to_vec();
        assert_eq!(shares, [5, 4, 2, 1, 1, 1, 0]);
        let day = |per_run| Budget {
            per_day: Some(17),
            per_run,
        };
        // Made long enough ago that the pace (`paced`) does not bind.
        let at = |n: usize| SinkBook {
            recent: vec![20_000; n],
            ..SinkBook::default()
        };
        let left = |b: Budget, used| b.left(&at(used), 100_000);
        assert_eq!(left(day(None), 0), 5, "the first run of the day: 17 → 5");
        assert_eq!(left(day(None), 5), 3, "then 12 → 3");
        assert_eq!(left(day(None), 16), 1, "the last post of the day is made");
        assert_eq!(left(day(None), 17), 0);
        assert_eq!(left(day(Some(9)), 0), 9, "an explicit per-run wins");
        assert_eq!(left(day(Some(17)), 0), 17, "even all of the day's");
        assert_eq!(left(day(Some(9)), 12), 5, "within what the day leaves");
        assert_eq!(day(None).left_today(&at(5), 100_000), 12);
        let per_run_only = Budget {
            per_day: None,
            per_run: Some(2),
        };
        assert_eq!(left(per_run_only, 0), 2, "no daily limit, no quarter");
    }

    #[test]
    fn a_backlog_spends_the_day_at_its_pace() {
        let b = Budget {
            per_day: Some(17),
            per_run: None,
        };
        let mut book = SinkBook::default();
        let mut made = Vec::new();
        // Cron every 15 minutes for two days, always something due.
        for run in 0..2 * 96 {
            let now = 1_000_000 + run * 900;
            let n = b.left(&book, now);
            book.recent.extend(std::iter::repeat_n(now, n));
            made.push(n);
        }
        assert_eq!(made[..2], [5, 0], "the first run's share, then the pace");
        assert!(made.iter().all(|n| *n <= 5));
        let first_day: usize = made[..96].iter().sum();
        assert_eq!(first_day, 17, "the whole budget, {made:?}");
        let last = made[..96].iter().rposition(|n| *n > 0).unwrap();
        assert!(last >= 64, "posts last the day: the 17th at run {last}");
        for end in 96..made.len() {
            let day: usize = made[end - 95..=end].iter().sum();
            assert!(day <= 17, "24 hours to run {end} made {day}");
        }
        let later: usize = made[96..].iter().sum();
        assert!(later >= 16, "the next day goes on posting: {later}");
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
