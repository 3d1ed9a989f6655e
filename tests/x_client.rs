//! X's API client (`sink::x`) against a fake X on 127.0.0.1 that checks
//! every request's OAuth signature: what it sends, and what each of X's
//! answers (statuses, limits, refusals, no answer) becomes, with no secret
//! in any message.

#[path = "support/fake_x.rs"]
mod fake_x;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fake_x::{FakeX, KEYS, Keys, Reply, Seen, refused_url, verify_signature};
use tweet_attacks::sink::x::{Credentials, PostOutcome, XClient, authorization};

fn credentials(k: &Keys) -> Credentials {
    Credentials {
        consumer_key: k.consumer_key.into(),
        consumer_secret: k.consumer_secret.into(),
        access_token: k.access_token.into(),
        access_token_secret: k.access_token_secret.into(),
    }
}

fn creds() -> Credentials {
    credentials(&KEYS)
}

const DOCS_KEYS: Keys = Keys {
    consumer_key: "xvz1evFS4wEEPTGEFPHBog",
    consumer_secret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
    access_token: "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
    access_token_secret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
};

const DOCS_URL: &str = "https://api.x.com/1.1/statuses/update.json";
const DOCS_STATUS: &str = "Hello Ladies + Gentlemen, a signed OAuth request!";

#[test]
fn test_verifier_accepts_documentation_example() {
    // Proves the independent verifier the fake X uses is itself correct.
    let header = "OAuth oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\",\
         oauth_nonce=\"kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg\",\
         oauth_signature=\"Ls93hJiZbQ3akF3HF3x1Bz8%2FzU4%3D\",\
         oauth_signature_method=\"HMAC-SHA1\",oauth_timestamp=\"1318622958\",\
         oauth_token=\"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb\",\
         oauth_version=\"1.0\"";
    let extra = [("include_entities", "true"), ("status", DOCS_STATUS)];
    verify_signature(header, "POST", DOCS_URL, &extra, &DOCS_KEYS);
    // And it rejects a signature over anything else.
    let wrong = [("include_entities", "true"), ("status", "Hello")];
    assert!(fake_x::check_signature(header, "POST", DOCS_URL, &wrong, &DOCS_KEYS).is_err());
    assert!(fake_x::check_signature(header, "POST", DOCS_URL, &extra, &KEYS).is_err());
}

#[test]
fn an_upper_case_host_is_signed_as_x_expects() {
    // The fake verifies against the Host header, normalised as X does.
    let x = FakeX::start(vec![Reply::created("1")]);
    let upper = x.url().replace("http://127.0.0.1", "http://LocalHost");
    let outcome = XClient::new(&upper, creds()).unwrap().post("hello");
    assert!(matches!(outcome, PostOutcome::Posted { .. }), "{outcome:?}");
    assert_eq!(x.requests().len(), 1);
}

#[test]
fn authorization_uses_given_nonce_and_timestamp() {
    let header = authorization(
        "GET",
        "https://api.x.com/2/users/me",
        &creds(),
        "n0nce",
        1700000123,
    );
    let oauth = verify_signature(&header, "GET", "https://api.x.com/2/users/me", &[], &KEYS);
    assert!(oauth.contains(&("oauth_nonce".into(), "n0nce".into())));
    assert!(oauth.contains(&("oauth_timestamp".into(), "1700000123".into())));
    let other = authorization(
        "GET",
        "https://api.x.com/2/users/me",
        &creds(),
        "n0nce",
        1700000124,
    );
    assert_ne!(header, other);
}

/// One post against a fake X answering `reply`; the fake has verified its signature.
fn post_with(reply: Reply) -> (PostOutcome, Seen) {
    let x = FakeX::start(vec![reply]);
    let outcome = XClient::new(x.url(), creds()).unwrap().post("hello");
    let mut seen = x.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    (outcome, seen.remove(0))
}

fn failure(outcome: PostOutcome) -> String {
    match outcome {
        PostOutcome::Failed(e) | PostOutcome::Refused(e) => format!("{e:#}"),
        other => panic!("expected Failed or Refused, got {other:?}"),
    }
}

#[test]
fn post_201_sends_signed_json_and_returns_id() {
    let x = FakeX::start(vec![Reply::json(
        201,
        r#"{"data":{"id":"1445880548472328192","text":"x"}}"#,
    )]);
    let text = "Blocked 203.0.113.7 — 42 attempts & \"quotes\" + 100% 🚫\nnext line";
    let outcome = XClient::new(x.url(), creds()).unwrap().post(text);
    assert!(
        matches!(&outcome, PostOutcome::Posted { id, .. } if id == "1445880548472328192"),
        "{outcome:?}"
    );
    let seen = x.requests();
    assert_eq!(seen.len(), 1);
    let seen = &seen[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.url(), format!("{}/2/tweets", x.url()));
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(seen.text(), text);
    assert_eq!(seen.oauth("oauth_version"), Some("1.0"));
}

#[test]
fn post_403_duplicate() {
    let (outcome, _) = post_with(Reply::duplicate());
    assert!(matches!(outcome, PostOutcome::Duplicate), "{outcome:?}");
}

#[test]
fn post_403_other_is_a_plain_refusal_with_sanitized_detail() {
    let detail = format!(
        "You are not permitted.\u{1b}[31m\r\nreason {}",
        "x".repeat(500)
    );
    let body = serde_json::json!({ "detail": detail, "title": "Forbidden", "status": 403 });
    let (outcome, _) = post_with(Reply::json(403, &body.to_string()));
    let msg = failure(outcome);
    assert!(msg.starts_with("X refused the post (403); X says"), "{msg}");
    assert!(!msg.contains("write permission"), "{msg}");
    assert!(
        msg.contains("X says: You are not permitted. [31m reason xxx"),
        "{msg}"
    );
    assert!(!msg.chars().any(char::is_control), "{msg:?}");
    assert!(msg.len() < 600, "detail not truncated: {}", msg.len());
}

#[test]
fn post_403_hints_follow_the_problem_type() {
    let msg = failure(post_with(Reply::oauth1_permissions()).0);
    assert!(
        msg.starts_with("X refused the post (403): the app lacks write permission"),
        "{msg}"
    );
    let msg = failure(post_with(Reply::client_forbidden()).0);
    assert!(
        msg.starts_with("X refused the post (403): the app is not attached to a Project"),
        "{msg}"
    );
    assert!(
        msg.contains("client-not-enrolled") && !msg.contains("write permission"),
        "{msg}"
    );
}

#[test]
fn post_4xx_about_the_post_itself_is_refused_for_good() {
    for status in [400, 404, 413, 422] {
        let (outcome, _) = post_with(Reply::status(status));
        assert!(
            matches!(outcome, PostOutcome::Refused(_)),
            "{status}: {outcome:?}"
        );
    }
    for status in [401, 402, 403, 408, 500] {
        let (outcome, _) = post_with(Reply::status(status));
        assert!(
            matches!(outcome, PostOutcome::Failed(_)),
            "{status}: {outcome:?}"
        );
    }
}

#[test]
fn post_429_of_the_24_hour_cap_waits_for_its_reset() {
    let now = 1_795_694_400;
    let (outcome, _) = post_with(Reply::day_capped(now, now + 20 * 3600));
    let PostOutcome::RateLimited(limit) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        limit.reset,
        Some(now + 20 * 3600),
        "not the 15-minute reset"
    );
    assert_eq!(
        limit.what,
        "X's 24-hour post limit for the account (17 posts)"
    );

    // The app's cap used up too, lifting later.
    let mut both = Reply::day_capped(now, now + 60);
    both.headers
        .retain(|(k, _)| !k.starts_with("x-app-limit-24hour-re"));
    let both = both
        .header("x-app-limit-24hour-remaining", "0")
        .header("x-app-limit-24hour-reset", &(now + 7200).to_string());
    let (outcome, _) = post_with(both);
    let PostOutcome::RateLimited(limit) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(limit.reset, Some(now + 7200), "the later of the two");
    assert!(
        limit.what.contains("for the account") && limit.what.contains("for the app (10000 posts)"),
        "{}",
        limit.what
    );

    let (outcome, _) = post_with(Reply::usage_capped());
    let PostOutcome::RateLimited(limit) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(limit.reset, None);
    assert_eq!(limit.hold, Some(3600));
    assert!(limit.what.starts_with("X's usage cap"), "{}", limit.what);
}

#[test]
fn post_401_mentions_credentials() {
    let (outcome, _) = post_with(Reply::json(
        401,
        r#"{"title":"Unauthorized","detail":"Unauthorized","status":401}"#,
    ));
    let msg = failure(outcome);
    assert!(
        msg.starts_with("X rejected the credentials (401): check the four TWITTER_* values"),
        "{msg}"
    );
}

#[test]
fn post_402_credits_depleted_says_add_credits() {
    let (outcome, _) = post_with(Reply::credits_depleted());
    let msg = failure(outcome);
    assert!(
        msg.contains("credits are depleted (402, CreditsDepleted)"),
        "{msg}"
    );
    assert!(msg.contains("add credits"), "{msg}");
    assert!(!msg.contains("billing period"), "{msg}");
    assert!(msg.contains("does not have any credits"), "{msg}");
}

#[test]
fn post_429_rate_limited_with_reset() {
    let (outcome, _) = post_with(Reply::rate_limited(1700000000));
    let PostOutcome::RateLimited(limit) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(limit.reset, Some(1700000000));
    assert_eq!(limit.what, "X's 15-minute limit");
}

#[test]
fn post_500_server_error() {
    let (outcome, _) = post_with(Reply::new(503, "<html>upstream down</html>"));
    let msg = failure(outcome);
    assert!(msg.starts_with("X server error (503)"), "{msg}");
    assert!(msg.contains("will retry next run"), "{msg}");
}

#[test]
fn post_other_status_is_generic_failure() {
    let (outcome, _) = post_with(Reply::new(418, ""));
    let msg = failure(outcome);
    assert!(msg.contains("unexpected reply from X (418)"), "{msg}");
}

#[test]
fn connection_refused_cannot_reach() {
    let base = refused_url();
    let msg = failure(XClient::new(&base, creds()).unwrap().post("hello"));
    assert!(msg.starts_with(&format!("cannot reach {base}: ")), "{msg}");
}

#[test]
fn me_returns_username() {
    let x = FakeX::start(vec![Reply::me("attacklog")]);
    let client = XClient::new(&format!("{}/", x.url()), creds()).unwrap();
    assert_eq!(client.me().unwrap(), "attacklog");
    let seen = x.requests();
    assert_eq!(seen.len(), 1);
    let seen = &seen[0];
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.url(), format!("{}/2/users/me", x.url()));
    assert!(seen.body.is_empty());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ts: u64 = seen.oauth("oauth_timestamp").unwrap().parse().unwrap();
    assert!(now.abs_diff(ts) < 60, "timestamp {ts} is not now ({now})");
}

#[test]
fn new_rejects_malformed_base() {
    for bad in [
        "",
        "api.x.com",
        "ftp://api.x.com",
        "https://",
        "https://api.x.com/?q",
    ] {
        assert!(XClient::new(bad, creds()).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn post_times_out_when_server_never_answers() {
    let x = FakeX::start(vec![Reply::hang()]);
    let client = XClient::new(x.url(), creds())
        .unwrap()
        .with_timeouts(Duration::from_secs(1), Duration::from_secs(1));
    let started = Instant::now();
    let msg = failure(client.post("hello"));
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert!(
        msg.starts_with(&format!("cannot reach {}: ", x.url())),
        "{msg}"
    );
    assert!(msg.contains("timeout"), "{msg}");
    assert_eq!(x.requests().len(), 1, "the request did arrive");
}

#[test]
fn secrets_never_leak() {
    let c = creds();
    let mut texts = vec![format!("{c:?}"), format!("{c:#?}")];
    let client = XClient::new(&refused_url(), c.clone()).unwrap();
    texts.push(format!("{client:?}"));
    texts.push(failure(client.post("hello")));
    texts.push(format!("{:?}", client.me().unwrap_err()));
    for status in [400, 401, 402, 403, 404, 429, 500] {
        let reply = Reply::json(status, r#"{"detail":"nope"}"#);
        let (outcome, _) = post_with(reply.clone());
        texts.push(format!("{outcome:?}"));
        let x = FakeX::start(vec![reply]);
        let err = XClient::new(x.url(), c.clone()).unwrap().me().unwrap_err();
        assert_eq!(x.requests().len(), 1);
        texts.push(format!("{err:#} {err:?}"));
    }
    // A path in the API URL (a proxy's) is a secret too.
    let proxied = XClient::new(&format!("{}/p-SEGMENT0042", refused_url()), c.clone()).unwrap();
    texts.push(format!("{proxied:?}"));
    texts.push(failure(proxied.post("hello")));
    for text in &texts {
        assert!(!text.contains("SEGMENT0042"), "{text}");
        for secret in KEYS.all() {
            assert!(!text.contains(secret), "{secret} leaked in {text}");
        }
    }
    assert!(
        texts[0].contains("<redacted>") && texts[0].contains("CKEY"),
        "{}",
        texts[0]
    );
}

#[test]
fn the_base_string_uri_is_normalised() {
    // Signed as X computes it: lower-case scheme and host, no default port.
    let typed = [
        "HTTPS://API.X.com:443/2/tweets",
        "https://api.X.COM/2/tweets",
        "https://api.x.com:443/2/tweets",
    ];
    for url in typed {
        let header = authorization("POST", url, &creds(), "n0nce", 1700000123);
        let wanted = authorization(
            "POST",
            "https://api.x.com/2/tweets",
            &creds(),
            "n0nce",
            1700000123,
        );
        assert_eq!(header, wanted, "{url}");
        verify_signature(&header, "POST", "https://api.x.com/2/tweets", &[], &KEYS);
    }
    // Another port stays, and so does the path's case.
    let h = authorization("GET", "https://api.x.com:8443/2/Users/me", &creds(), "n", 1);
    verify_signature(&h, "GET", "https://api.x.com:8443/2/Users/me", &[], &KEYS);
    assert!(
        fake_x::check_signature(&h, "GET", "https://api.x.com/2/Users/me", &[], &KEYS).is_err()
    );
}
