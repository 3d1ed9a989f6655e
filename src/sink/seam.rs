//! The seam every destination plugs into: the `Sink` trait, what a sink
//! says about one post (`Outcome`), and the idempotency key a retried post
//! keeps.

use std::net::IpAddr;

use super::outbox::Post;
use super::ratelimit::Limit;
use crate::hash::fnv1a;

/// What a sink said about one post.
#[derive(Debug)]
pub enum Outcome {
    Delivered,
    /// Already there: X said "duplicate content". Counts as delivered.
    Duplicate,
    /// A limit is used up: stop posting to this sink until it lifts (see
    /// `ratelimit::block`), keep the queue.
    RateLimited(Limit),
    /// The service will never take this post as it is (a 4xx other than
    /// 401, 403, 408, 425 and 429): park it with this reason and go on with
    /// the rest of the queue.
    Refused(anyhow::Error),
    /// Nothing is wrong with the post, but this sink cannot take posts now
    /// (a refused credential, a server error, no answer): stop the sink,
    /// keep its queue for the next run.
    Failed(anyhow::Error),
}

/// A place that publishes posts.
pub trait Sink {
    fn name(&self) -> &'static str;
    fn publish(&mut self, post: &Post) -> Outcome;
    /// The addresses of the last post already delivered, when the post as
    /// a whole was not: a sink that sends each address by itself
    /// (AbuseIPDB) must not send them again on the retry.
    fn delivered_part(&mut self) -> Vec<IpAddr> {
        Vec::new()
    }
    /// A limit the last delivered post's reply said is now used up: wait
    /// for it rather than be refused on the next post.
    fn used_up(&mut self) -> Option<Limit> {
        None
    }
    /// Checks the credentials without posting, for `verify-credentials`:
    /// whom the service says they are, or why they were refused.
    fn check(&mut self) -> anyhow::Result<String>;
}

/// The same for the same post, whatever run sends it: a retry after a crash
/// is recognised by the server.
pub fn idempotency_key(sink: &str, post: &Post) -> String {
    let seed = format!("{sink}\n{}\n{}", post.batch, post.text);
    format!("tweet-attacks-{:016x}", fnv1a(seed.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::samples::post;

    #[test]
    fn idempotency_key_is_stable_and_specific() {
        let k = idempotency_key("mastodon", &post(3, "hello"));
        assert_eq!(k, idempotency_key("mastodon", &post(3, "hello")));
        assert_ne!(k, idempotency_key("mastodon", &post(4, "hello")));
        assert_ne!(k, idempotency_key("mastodon", &post(3, "hello!")));
        assert_ne!(k, idempotency_key("webhook", &post(3, "hello")));
        assert!(k.starts_with("tweet-attacks-") && k.len() == 30, "{k}");
    }
}
