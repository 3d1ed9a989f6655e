//! One sink's share of the outbox, posted: the plan, each post, and what
//! its outcome does to the state, which is saved after every post so a
//! crash re-sends at most the post in flight (which each service then
//! recognises: see `sink`).
//!
//! - Delivered (or a duplicate of our own earlier post): out of the outbox.
//! - Rate-limited: the sink waits until the limit lifts (`ratelimit::block`),
//!   said once on stderr; the run does not fail for it, so a day-long
//!   block is one notice, not a failing cron run every 15 minutes.
//! - Refused for good: the post is parked with its reason, the run fails
//!   naming it, and the rest of the queue goes on.
//! - Failed (a refused credential, a server error, no answer): the sink
//!   stops for this run, with its queue kept.

use std::net::IpAddr;
use std::path::Path;

use anyhow::{Result, anyhow};

use crate::clock::{Secs, format_rfc3339};
use crate::config::SinkSpec;
use crate::notice;
use crate::sink::ratelimit::{self, lifts};
use crate::sink::{Limit, Outcome, Parked, Post, Sink, plan};
use crate::state::{self, State};

/// The `State.notes` key of a sink's rate limit.
fn limit_note(sink: &str) -> String {
    format!("rate-limit:{sink}")
}

fn waiting(st: &State, sink: &str) -> usize {
    st.outbox
        .iter()
        .filter(|p| p.sink == sink && p.parked.is_none())
        .count()
}

/// The sink's outbox entries delivered but not yet taken out, by batch and
/// address: taken out all at once before the state is saved (`settle`), not
/// by a pass over the outbox per post, which is quadratic in a queue of
/// 80,000 posted to stdout.
type Gone = crate::hash::Set<(u64, IpAddr)>;

/// `ips` of `post` are delivered: announced now, and gone from the outbox at the next `settle`.
fn delivered(st: &mut State, gone: &mut Gone, post: &Post, ips: &[IpAddr], now: Secs) {
    for ip in ips {
        gone.insert((post.batch, *ip));
        if let Some(a) = st.table.get_mut(ip) {
            a.announced.get_or_insert(now);
        }
    }
}

/// Takes the delivered entries out of `sink`'s outbox.
fn settle(st: &mut State, sink: &str, gone: &mut Gone) {
    if gone.is_empty() {
        return;
    }
    st.outbox.retain(|p| {
        !(p.sink == sink && p.batch.is_some_and(|b| gone.contains(&(b, p.subject.ip))))
    });
    gone.clear();
}

/// Blocks the sink until `limit` lifts, and says so once if anything waits.
fn wait_out(st: &mut State, name: &str, limit: &Limit, now: Secs) {
    let block = ratelimit::block(limit, now);
    if let Some(why) = &block.implausible {
        notice::warn(format_args!("{name}: {why}"));
    }
    let book = st.sinks.entry(name.to_string()).or_default();
    book.blocked_until = block.until;
    book.blocked_by = Some(limit.what.clone());
    say_block(st, name, &limit.what, block.until, now);
}

/// Says once that `name` waits for `what` until `until`, if anything waits.
fn say_block(st: &mut State, name: &str, what: &str, until: Option<Secs>, now: Secs) {
    let n = waiting(st, name);
    if n > 0 {
        notice::once(
            &mut st.notes,
            &limit_note(name),
            now,
            format_args!(
                "{name}: {what} is used up; posting resumes {}; {n} announcement(s) wait \
                 in the outbox",
                lifts(until)
            ),
        );
    }
}

/// Plans and publishes `sink`'s share of the outbox, saving `st` to
/// `state_path` after each post; `on_delivered` sees each delivered post.
pub fn publish_sink(
    st: &mut State,
    spec: &SinkSpec,
    sink: &mut dyn Sink,
    state_path: &Path,
    now: Secs,
    on_delivered: &mut dyn FnMut(&Post) -> Result<()>,
) -> Result<()> {
    let name = sink.name();
    let book = st.sinks.entry(name.to_string()).or_default();
    book.recent.retain(|t| *t > now - 86_400);
    if let Some(until) = book.blocked_until {
        let bounded = ratelimit::bounded(until, now);
        if bounded < until {
            notice::warn(format_args!(
                "{name}: the saved wait until Unix time {until} is longer than any limit; \
                 waiting until {} at most",
                format_rfc3339(bounded)
            ));
            book.blocked_until = Some(bounded);
        }
        // A known block: said when it began (or when the first post came to
        // wait for it); nothing new is wrong.
        if now < bounded {
            let by = book
                .blocked_by
                .clone()
                .unwrap_or_else(|| "a rate limit".into());
            say_block(st, name, &by, Some(bounded), now);
            return Ok(());
        }
        book.blocked_until = None;
        book.blocked_by = None;
    }
    let left = spec.budget.left(book, now);
    let posts = plan(
        &mut st.outbox,
        name,
        left,
        &mut st.next_batch,
        now,
        spec.name.packing(),
    );
    if posts.is_empty() {
        return Ok(());
    }
    // The batches are saved before the first attempt: a retry sends the same post.
    state::save(state_path, st)?;
    let mut gone = Gone::default();
    let result = post_each(
        st,
        spec,
        sink,
        posts,
        state_path,
        now,
        on_delivered,
        &mut gone,
    );
    // Whatever stopped it: what was delivered never waits again.
    settle(st, name, &mut gone);
    result
}

/// Publishes `posts` one by one (see `publish_sink`); each save is made
/// with what was delivered taken out of the outbox.
#[allow(clippy::too_many_arguments)]
fn post_each(
    st: &mut State,
    spec: &SinkSpec,
    sink: &mut dyn Sink,
    posts: Vec<Post>,
    state_path: &Path,
    now: Secs,
    on_delivered: &mut dyn FnMut(&Post) -> Result<()>,
    gone: &mut Gone,
) -> Result<()> {
    let name = sink.name();
    let save = |st: &mut State, gone: &mut Gone| {
        settle(st, name, gone);
        state::save(state_path, st)
    };
    let mut parked = Vec::new();
    for post in posts {
        let outcome = sink.publish(&post);
        // A kill here: the sink has answered, the outbox does not know yet.
        crate::fault::point("post:answered");
        let part = sink.delivered_part();
        delivered(st, gone, &post, &part, now);
        match outcome {
            Outcome::Delivered | Outcome::Duplicate => {
                // A duplicate is usually our own post from a run that crashed before
                // saving: it used the day's quota then, so count it now.
                if spec.budget.per_day.is_some() {
                    st.sinks
                        .entry(name.to_string())
                        .or_default()
                        .recent
                        .push(now);
                }
                delivered(st, gone, &post, &post.ips(), now);
                notice::ended(&mut st.notes, &limit_note(name));
                on_delivered(&post)?;
                if let Some(limit) = sink.used_up() {
                    settle(st, name, gone);
                    wait_out(st, name, &limit, now);
                    save(st, gone)?;
                    return Ok(());
                }
                if name != "stdout" {
                    save(st, gone)?;
                }
            }
            Outcome::RateLimited(limit) => {
                settle(st, name, gone);
                wait_out(st, name, &limit, now);
                save(st, gone)?;
                return Ok(());
            }
            Outcome::Refused(e) => {
                let reason = format!("{e:#}");
                for p in st.outbox.iter_mut() {
                    if p.sink == name && p.batch == Some(post.batch) {
                        p.parked = Some(Parked {
                            reason: reason.clone(),
                            at: now,
                        });
                    }
                }
                save(st, gone)?;
                parked.push((post.batch, reason));
            }
            Outcome::Failed(e) => {
                save(st, gone)?;
                let n = waiting(st, name);
                return Err(e.context(format!(
                    "{name}: {n} announcement(s) wait in the outbox for the next run"
                )));
            }
        }
    }
    match parked.as_slice() {
        [] => Ok(()),
        [(id, reason), ..] => Err(anyhow!(
            "{name}: parked {} post(s) refused for good, the queue goes on; post {id}: {reason} \
             (`tweet-attacks outbox` lists them; `tweet-attacks outbox retry {id}` or `drop {id}`)",
            parked.len()
        )),
    }
}
