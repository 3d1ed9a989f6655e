//! Announcements and posts for the sinks' unit tests.

use super::outbox::Post;
use crate::render::Announcement;

/// An attacker on `services`, at 203.0.113.5.
pub fn attacker(services: &[&str]) -> Announcement {
    Announcement {
        ip: "203.0.113.5".parse().unwrap(),
        tries: 9,
        users: vec!["admin".into(), "oracle".into()],
        users_more: 1,
        services: services.iter().map(|s| s.to_string()).collect(),
        first: 1_795_683_600,
        last: 1_795_683_720,
        servers: 1,
        prefix: None,
        seen: None,
        owner: Default::default(),
    }
}

/// A one-attacker post.
pub fn post(batch: u64, text: &str) -> Post {
    Post {
        text: text.into(),
        subjects: vec![attacker(&["sshd"])],
        batch,
        created: 1_795_694_400,
    }
}

/// A plain sshd attacker at `ip`.
pub fn subject(ip: &str, tries: u64) -> Announcement {
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
        owner: Default::default(),
    }
}
