//! IndexNow against a fake endpoint on 127.0.0.1 that judges each POST as
//! indexnow.org documents it, fetching the key file from a static server
//! on 127.0.0.1: every answer, batches past 10,000 URLs, waits, backoff,
//! parking, and the key file check of verify-credentials.

#[path = "support/fake_x.rs"]
mod fake_x;

#[path = "support/fake_indexnow.rs"]
mod fake_indexnow;

use fake_indexnow::{FakeIndexNow, StaticFiles};
use fake_x::{Reply, refused_url};
use serde_json::json;
use tweet_attacks::sink::indexnow::{
    Answer, Book, CONTENT_TYPE, Endpoint, FIRST_BACKOFF, MAX_URLS_PER_POST, backoff, check_key,
    submit,
};

const KEY: &str = "f00dCafe-0123-test-key";
const NOW: i64 = 1_796_644_800; // 2026-12-07T12:00:00Z

/// A site at `<files>/attacks/` whose key file holds `KEY`, and an
/// endpoint for it at the fake.
struct Setup {
    fake: FakeIndexNow,
    files: StaticFiles,
    site: String,
    ep: Endpoint,
}

fn setup() -> Setup {
    let fake = FakeIndexNow::start();
    let files = StaticFiles::start();
    files.put(&format!("/attacks/{KEY}.txt"), &format!("{KEY}\n"));
    let site = format!("{}/attacks/", files.url());
    let ep = Endpoint::new(&fake.url(), &site, KEY);
    Setup {
        fake,
        files,
        site,
        ep,
    }
}

impl Setup {
    fn pages(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                format!(
                    "{}ip/10.{}.{}.{}/",
                    self.site,
                    i >> 16,
                    (i >> 8) & 255,
                    i & 255
                )
            })
            .collect()
    }
}

/// How many URLs were accepted, when all were.
fn all_sent(r: (usize, Option<Answer>)) -> usize {
    assert!(r.1.is_none(), "stopped: {:?}", r.1);
    r.0
}

fn parked(answer: &Option<Answer>) -> String {
    match answer {
        Some(Answer::Park(why)) => {
            assert!(!why.contains(KEY), "the key is in no message: {why}");
            why.clone()
        }
        other => panic!("not parked: {other:?}"),
    }
}

fn retried(answer: &Option<Answer>) -> String {
    match answer {
        Some(Answer::Retry(e)) => {
            let why = format!("{e:#}");
            assert!(!why.contains(KEY), "the key is in no message: {why}");
            why
        }
        other => panic!("not a retry: {other:?}"),
    }
}

#[test]
fn a_post_carries_the_documented_body_and_is_accepted_with_202_then_200() {
    let s = setup();
    let urls = s.pages(3);
    assert_eq!(all_sent(submit(&s.ep, &urls, &Book::default(), NOW)), 3);
    assert_eq!(
        all_sent(submit(&s.ep, &urls[..1], &Book::default(), NOW)),
        1
    );
    let got = s.fake.received();
    assert_eq!(s.fake.statuses(), [202, 200], "{got:#?}");
    let first = &got[0];
    assert_eq!(first.seen.method, "POST");
    assert_eq!(first.seen.header("content-type"), Some(CONTENT_TYPE));
    assert_eq!(
        first.json(),
        json!({
            "host": "127.0.0.1",
            "key": KEY,
            "keyLocation": format!("{}{KEY}.txt", s.site),
            "urlList": urls,
        })
    );
    let mut book = Book::default();
    book.record(None, NOW);
    assert_eq!(book, Book::default());
    assert!(book.describe(NOW).is_none());
}

#[test]
fn nothing_to_send_sends_nothing() {
    let s = setup();
    assert_eq!(all_sent(submit(&s.ep, &[], &Book::default(), NOW)), 0);
    assert!(s.fake.received().is_empty());
}

#[test]
fn more_than_10000_urls_go_in_two_posts_in_order() {
    let s = setup();
    let urls = s.pages(MAX_URLS_PER_POST + 1);
    let sent = all_sent(submit(&s.ep, &urls, &Book::default(), NOW));
    assert_eq!(sent, MAX_URLS_PER_POST + 1);
    let got = s.fake.received();
    assert_eq!(s.fake.statuses(), [202, 200]);
    assert_eq!(got[0].url_list(), urls[..MAX_URLS_PER_POST]);
    assert_eq!(got[1].url_list(), urls[MAX_URLS_PER_POST..]);
}

#[test]
fn a_failed_second_post_counts_only_the_first() {
    let s = setup();
    let urls = s.pages(MAX_URLS_PER_POST + 5);
    s.fake.then(Reply::new(200, ""));
    s.fake.then(Reply::new(503, "<html>busy</html>"));
    let (sent, stop) = submit(&s.ep, &urls, &Book::default(), NOW);
    assert_eq!(sent, MAX_URLS_PER_POST);
    let why = retried(&stop);
    assert!(why.contains("server error (503)"), "{why}");
    assert_eq!(s.fake.statuses(), [200, 503]);
}

#[test]
fn a_malformed_submission_is_parked_with_400() {
    let s = setup();
    let ep = Endpoint {
        host: String::new(),
        ..s.ep.clone()
    };
    let (sent, stop) = submit(&ep, &s.pages(2), &Book::default(), NOW);
    assert_eq!(sent, 0);
    let why = parked(&stop);
    assert!(why.starts_with("400 bad request"), "{why}");
    assert!(why.contains("IndexNow says: no host"), "{why}");
}

#[test]
fn a_missing_or_different_key_file_is_parked_with_403() {
    let s = setup();
    let path = format!("/attacks/{KEY}.txt");
    s.files.put(&path, "another-key-0000");
    let why = parked(&submit(&s.ep, &s.pages(1), &Book::default(), NOW).1);
    assert!(why.starts_with("403 key not valid"), "{why}");
    assert!(why.contains(&format!("{}<key>.txt", s.site)), "{why}");
    s.files.remove(&path);
    let why = parked(&submit(&s.ep, &s.pages(1), &Book::default(), NOW).1);
    assert!(why.starts_with("403"), "{why}");
    assert_eq!(s.fake.statuses(), [403, 403]);
}

#[test]
fn a_url_off_the_host_or_outside_the_key_files_directory_is_parked_with_422() {
    let s = setup();
    for url in [
        "https://example.org/attacks/ip/10.0.0.1/".to_owned(),
        format!("{}/elsewhere/page.html", s.files.url()),
    ] {
        let urls = vec![s.pages(1)[0].clone(), url];
        let (sent, stop) = submit(&s.ep, &urls, &Book::default(), NOW);
        assert_eq!(sent, 0);
        let why = parked(&stop);
        assert!(why.starts_with("422 unprocessable"), "{why}");
    }
    assert_eq!(s.fake.statuses(), [422, 422]);
}

#[test]
fn a_429_waits_for_retry_after_in_seconds_or_as_a_date_else_backs_off() {
    let s = setup();
    let urls = s.pages(1);
    let mut book = Book::default();
    s.fake.too_many(Some("120"));
    let (sent, stop) = submit(&s.ep, &urls, &book, NOW);
    let Some(Answer::Wait { until, .. }) = &stop else {
        panic!("{stop:?}")
    };
    assert_eq!((sent, *until), (0, NOW + 120));

    s.fake.too_many(Some("Mon, 07 Dec 2026 13:00:00 GMT"));
    let stop = submit(&s.ep, &urls, &book, NOW).1;
    let Some(Answer::Wait { until, .. }) = &stop else {
        panic!("{stop:?}")
    };
    assert_eq!(*until, NOW + 3600);

    // Without Retry-After: 15 minutes, then 30, for failures in a row.
    s.fake.too_many(None);
    let stop = submit(&s.ep, &urls, &book, NOW).1;
    let Some(Answer::Wait { until, .. }) = &stop else {
        panic!("{stop:?}")
    };
    assert_eq!(*until, NOW + FIRST_BACKOFF);
    book.record(stop.as_ref(), NOW);
    assert!(!book.may_send(NOW + FIRST_BACKOFF - 1));
    assert_eq!(
        book.describe(NOW).unwrap(),
        "waiting until 2026-12-07T12:15:00Z (429 too many requests, backing off)"
    );

    // While waiting nothing is sent, and recording that changes nothing.
    let before = book.clone();
    let (sent, held) = submit(&s.ep, &urls, &book, NOW + 60);
    assert!(matches!(held, Some(Answer::Wait { .. })) && sent == 0);
    book.record(held.as_ref(), NOW + 60);
    assert_eq!(book, before);
    assert_eq!(s.fake.received().len(), 3);

    let later = NOW + FIRST_BACKOFF;
    s.fake.too_many(None);
    let stop = submit(&s.ep, &urls, &book, later).1;
    let Some(Answer::Wait { until, .. }) = &stop else {
        panic!("{stop:?}")
    };
    assert_eq!(*until, later + backoff(2));
    book.record(stop.as_ref(), later);

    // Accepted at last: the run of failures ends.
    let at = later + backoff(2);
    assert_eq!(all_sent(submit(&s.ep, &urls, &book, at)), 1);
    book.record(None, at);
    assert_eq!(book, Book::default());
}

#[test]
fn no_answer_or_a_server_error_is_retried_next_run_then_backed_off() {
    let s = setup();
    let urls = s.pages(1);
    let mut book = Book::default();
    let gone = Endpoint {
        url: format!("{}/indexnow", refused_url()),
        ..s.ep.clone()
    };
    let stop = submit(&gone, &urls, &book, NOW).1;
    let why = retried(&stop);
    assert!(
        why.contains("cannot reach IndexNow at http://127.0.0.1:"),
        "{why}"
    );
    assert!(why.contains("connection refused"), "{why}");
    book.record(Some(&Answer::Retry(anyhow::anyhow!("{why}"))), NOW);
    assert!(book.may_send(NOW), "the next run tries again");
    assert!(
        book.describe(NOW)
            .unwrap()
            .starts_with("retrying on the next run (1 failure in a row): cannot reach")
    );

    // From the second failure in a row: 15 minutes, then 30.
    let mut at = NOW;
    for (status, n) in [(500, 2), (503, 3)] {
        s.fake.then(Reply::new(status, "oops"));
        let stop = submit(&s.ep, &urls, &book, at).1;
        assert!(retried(&stop).contains(&format!("server error ({status})")));
        book.record(stop.as_ref(), at);
        assert_eq!(book.failures, n);
        assert_eq!(book.blocked_until, Some(at + backoff(n - 1)));
        assert!(!book.may_send(at + backoff(n - 1) - 1));
        at += backoff(n - 1);
    }
    assert_eq!(at, NOW + FIRST_BACKOFF * 3);
    assert!(book.may_send(at));
    assert_eq!(s.fake.statuses(), [500, 503]);
}

#[test]
fn a_connection_closed_without_an_answer_is_retried() {
    let s = setup();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/indexnow", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let _ = std::io::Read::read(&mut conn, &mut [0; 1024]);
        // Dropped: closed with no status line.
    });
    let ep = Endpoint {
        url,
        ..s.ep.clone()
    };
    let (sent, stop) = submit(&ep, &s.pages(1), &Book::default(), NOW);
    server.join().unwrap();
    assert_eq!(sent, 0);
    let why = retried(&stop);
    assert!(
        why.starts_with("cannot reach IndexNow at http://127.0.0.1:"),
        "{why}"
    );
}

#[test]
fn a_parking_holds_every_send_until_unparked() {
    let s = setup();
    let path = format!("/attacks/{KEY}.txt");
    s.files.remove(&path);
    let urls = s.pages(2);
    let mut book = Book::default();
    let stop = submit(&s.ep, &urls, &book, NOW).1;
    book.record(stop.as_ref(), NOW);
    let line = book.describe(NOW + 3600).unwrap();
    assert!(
        line.starts_with("parked since 2026-12-07T12:00:00Z: 403 key not valid"),
        "{line}"
    );
    assert!(!line.contains(KEY), "{line}");
    assert!(!book.may_send(NOW + 365 * 86_400));

    // Held: nothing is sent, and the parking keeps its time.
    let (sent, held) = submit(&s.ep, &urls, &book, NOW + 3600);
    assert_eq!(sent, 0);
    parked(&held);
    book.record(held.as_ref(), NOW + 3600);
    assert_eq!(book.parked.as_ref().unwrap().at, NOW);
    assert_eq!(s.fake.received().len(), 1);

    // The admin writes the key file; unparked, the URLs go out.
    s.files.put(&path, KEY);
    book.unpark();
    assert!(book.may_send(NOW + 3600));
    assert_eq!(all_sent(submit(&s.ep, &urls, &book, NOW + 3600)), 2);
    book.record(None, NOW + 3600);
    assert_eq!(book, Book::default());
    assert_eq!(s.fake.statuses(), [403, 202]);
}

#[test]
fn check_key_says_match_different_key_not_found_or_unreachable() {
    let s = setup();
    let key_url = format!("{}{KEY}.txt", s.site);
    let shown = format!("{}<key>.txt", s.site);
    assert_eq!(
        check_key(&key_url, KEY).unwrap(),
        format!("key file at {shown} matches")
    );

    let err = |url: &str| {
        let e = format!("{:#}", check_key(url, KEY).unwrap_err());
        assert!(!e.contains(KEY), "the key is in no message: {e}");
        e
    };
    s.files
        .put(&format!("/attacks/{KEY}.txt"), "0123456789-other");
    assert_eq!(
        err(&key_url),
        format!("the IndexNow key file at {shown} holds a different key")
    );
    s.files.put(&format!("/attacks/{KEY}.txt"), " \n");
    assert_eq!(
        err(&key_url),
        format!("the IndexNow key file at {shown} is empty")
    );
    s.files.remove(&format!("/attacks/{KEY}.txt"));
    assert!(err(&key_url).contains(&format!("{shown} answered 404 (not found)")));

    let gone = format!("{}/attacks/{KEY}.txt", refused_url());
    let e = err(&gone);
    assert!(e.contains("cannot be reached: connection refused"), "{e}");
    assert!(e.contains("/attacks/<key>.txt"), "{e}");
}

#[test]
fn the_fake_refuses_what_indexnow_refuses() {
    // The fake's own judgement, so that a test passing against it means
    // something: raw POSTs, not through the code under test.
    let s = setup();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let post = |body: String| {
        agent
            .post(&s.fake.url())
            .content_type(CONTENT_TYPE)
            .send(&body)
            .unwrap()
            .status()
            .as_u16()
    };
    let location = format!("{}{KEY}.txt", s.site);
    let body = |urls: Vec<String>| json!({ "host": "127.0.0.1", "key": KEY, "keyLocation": location, "urlList": urls });
    assert_eq!(post("{not json".into()), 400);
    for field in ["host", "key", "urlList"] {
        let mut b = body(s.pages(1));
        b.as_object_mut().unwrap().remove(field);
        assert_eq!(post(b.to_string()), 400, "without {field}");
    }
    assert_eq!(post(body(vec![]).to_string()), 400, "no URL");
    assert_eq!(post(body(s.pages(MAX_URLS_PER_POST + 1)).to_string()), 400);
    let mut short = body(s.pages(1));
    short["key"] = json!("short");
    assert_eq!(post(short.to_string()), 422, "a key not of the form");
    assert_eq!(post(body(s.pages(MAX_URLS_PER_POST)).to_string()), 202);
    assert_eq!(post(body(s.pages(1)).to_string()), 200);
}
