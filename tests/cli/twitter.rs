//! `run --sink twitter` end to end, against a fake X on 127.0.0.1 that
//! checks every request's OAuth signature: each answer X can give, and that
//! across runs nothing is lost and nothing is posted twice.

use std::os::unix::fs::PermissionsExt;

use super::fake_x::{FakeX, KEYS, Reply, refused_url};
use super::*;

/// `NOW` as Unix seconds.
const NOW_SECS: i64 = 1_795_694_400;

/// Unix seconds as RFC 3339, for `Env::now`.
fn time(t: i64) -> String {
    jiff::Timestamp::from_second(t).unwrap().to_string()
}

const IP: &str = "203.0.113.5";

impl Env {
    /// A temp dir whose auth.log holds `log`; vsftpd.log exists (empty), so a
    /// run has no warnings and stderr holds only errors.
    fn with_log(log: &str) -> Env {
        let env = Env::new();
        env.write("auth.log", log).write("vsftpd.log", "");
        env
    }

    /// `run --sink twitter` against `api`, with the test credentials in the
    /// environment (never on the command line). Local accounts come from a
    /// missing file (none) unless `extra` gives `--passwd`.
    pub(crate) fn x_cmd(&self, api: &str, extra: &[&str]) -> Command {
        let mut args = vec!["--sink", "twitter", "--twitter-api-url", api];
        if !extra.contains(&"--passwd") {
            args.extend(["--passwd", "no-such-passwd"]);
        }
        args.extend_from_slice(extra);
        let mut c = self.run_on_files(&args);
        for (var, value) in KEYS.env() {
            c.env(var, value);
        }
        c
    }

    fn x_run(&self, api: &str, extra: &[&str]) -> Out {
        checked(Out(self.x_cmd(api, extra).output().unwrap()))
    }

    fn state_bytes(&self) -> Vec<u8> {
        fs::read(self.path("state.json")).unwrap()
    }

    fn outbox(&self) -> Vec<Value> {
        self.state()["outbox"].as_array().unwrap().clone()
    }

    fn outbox_ips(&self) -> Vec<String> {
        let mut ips: Vec<String> = self
            .outbox()
            .iter()
            .map(|p| p["ip"].as_str().unwrap().to_string())
            .collect();
        ips.sort();
        ips
    }

    fn announced(&self, ip: &str) -> bool {
        self.field(ip, "a").is_i64()
    }
}

/// No output of any run may hold a credential.
fn checked(out: Out) -> Out {
    out.without(&KEYS.all())
}

fn one_error(out: &Out) -> String {
    out.one_error_line()
}

/// Where `text` names `ip` itself (not merely an address it prefixes).
fn find(text: &str, ip: &str) -> Option<usize> {
    text.match_indices(ip)
        .map(|(i, _)| i)
        .find(|&i| !text[i + ip.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

fn names(text: &str, ip: &str) -> bool {
    find(text, ip).is_some()
}

/// Guesses from each of `ips`, the i-th making `6 + i` tries.
fn attackers(ips: &[String]) -> String {
    ips.iter()
        .enumerate()
        .map(|(i, ip)| guesses(ip, 6 + i, 1000 * (i + 1)))
        .collect()
}

fn ips(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| format!("203.0.113.{i}")).collect()
}

#[test]
fn x_201_posts_once_and_marks_the_attacker_announced() {
    let env = Env::with_log(&guesses(IP, 6, 100));
    let x = FakeX::start(vec![Reply::created("1001")]);
    let out = env.x_run(x.url(), &["--json"]).ok();
    assert_eq!(out.stderr(), "");

    let seen = x.requests();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].url(), format!("{}/2/tweets", x.url()));
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    let text = seen[0].text();
    assert!(names(&text, IP), "{text}");
    assert!(text.contains("6 tries"), "{text}");
    let report = out.json_lines();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0]["ip"], IP);
    assert_eq!(
        report[0]["text"],
        text.as_str(),
        "--json reports the posted text"
    );

    assert_eq!(env.outbox(), Vec::<Value>::new());
    assert!(env.announced(IP));
    assert_eq!(env.tries(IP), 6);

    // More guesses later: counted, never announced again.
    env.append("auth.log", &guesses(IP, 3, 200));
    let again = FakeX::start(vec![]);
    let out = env.x_run(again.url(), &[]).ok();
    assert_eq!((out.stdout(), out.stderr()), (String::new(), String::new()));
    assert_eq!(again.requests().len(), 0, "posted once, never twice");
    assert_eq!(env.tries(IP), 9);
}

/// X fails the post (`reply`; `None`: nothing listens). The run fails with
/// one line naming `expect`, keeps offsets, tries and the outbox; a rerun
/// counts nothing twice; the next run with X back posts the same text once.
fn failure_keeps_the_queue_and_the_next_run_posts_it_once(reply: Option<Reply>, expect: &str) {
    let env = Env::with_log(&guesses(IP, 6, 100));
    let log_len = fs::metadata(env.path("auth.log")).unwrap().len();
    let down = reply.map(|r| FakeX::start(vec![r.clone(), r]));
    let url = down
        .as_ref()
        .map_or_else(refused_url, |x| x.url().to_string());

    for attempt in 1..=2 {
        let out = env.x_run(&url, &[]).fails();
        let err = one_error(&out);
        assert!(err.contains(expect), "attempt {attempt}: {err}");
        assert!(
            err.contains("1 announcement(s) wait in the outbox"),
            "attempt {attempt}: {err}"
        );
        assert_eq!(out.stdout(), "");
        assert_eq!(env.tries(IP), 6, "attempt {attempt}: never counted twice");
        assert_eq!(
            env.state()["logs"]["auth.log"]["offset"],
            log_len,
            "the offset is saved"
        );
        assert_eq!(env.outbox_ips(), [IP], "attempt {attempt}: kept");
        assert!(!env.announced(IP));
    }
    let failed: Vec<String> = down.as_ref().map(FakeX::texts).unwrap_or_default();
    if down.is_some() {
        assert_eq!(failed.len(), 2, "one attempt per run");
        assert_eq!(failed[0], failed[1], "a retry sends the same text");
        assert!(names(&failed[0], IP), "{}", failed[0]);
    }

    // More guesses meanwhile: counted, but the queued post keeps its text.
    env.append("auth.log", &guesses(IP, 2, 200));
    let up = FakeX::start(vec![Reply::created("1002")]);
    let out = env.x_run(up.url(), &[]).ok();
    assert_eq!(out.stderr(), "");
    let posted = up.texts();
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(names(&posted[0], IP), "{}", posted[0]);
    assert!(posted[0].contains("6 tries"), "{}", posted[0]);
    if let Some(first) = failed.first() {
        assert_eq!(&posted[0], first, "exactly the text that failed");
    }
    assert_eq!(env.outbox(), Vec::<Value>::new());
    assert!(env.announced(IP));
    assert_eq!(env.tries(IP), 8);

    let after = FakeX::start(vec![]);
    env.x_run(after.url(), &[]).ok();
    assert_eq!(after.requests().len(), 0, "nothing posted twice");
}

#[test]
fn x_401_keeps_the_queue() {
    failure_keeps_the_queue_and_the_next_run_posts_it_once(
        Some(Reply::status(401)),
        "X rejected the credentials (401)",
    );
}

#[test]
fn x_403_without_write_permission_keeps_the_queue() {
    failure_keeps_the_queue_and_the_next_run_posts_it_once(
        Some(Reply::oauth1_permissions()),
        "X refused the post (403): the app lacks write permission",
    );
}

#[test]
fn x_403_client_not_enrolled_keeps_the_queue_and_says_attach_a_project() {
    failure_keeps_the_queue_and_the_next_run_posts_it_once(
        Some(Reply::client_forbidden()),
        "X refused the post (403): the app is not attached to a Project with API access \
         (client-not-enrolled)",
    );
}

#[test]
fn x_402_credits_depleted_keeps_the_queue_and_says_add_credits() {
    failure_keeps_the_queue_and_the_next_run_posts_it_once(
        Some(Reply::credits_depleted()),
        "X API credits are depleted (402, CreditsDepleted): add credits",
    );
}

#[test]
fn x_500_keeps_the_queue() {
    failure_keeps_the_queue_and_the_next_run_posts_it_once(
        Some(Reply::status(500)),
        "X server error (500)",
    );
}

#[test]
fn x_connection_refused_keeps_the_queue() {
    failure_keeps_the_queue_and_the_next_run_posts_it_once(None, "cannot reach http://127.0.0.1:");
}

#[test]
fn x_201_with_a_garbled_reply_is_retried_and_ends_as_a_duplicate() {
    let env = Env::with_log(&guesses(IP, 6, 100));
    // X took the post but its reply was cut: the run cannot know.
    let x = FakeX::start(vec![Reply::json(201, r#"{"data":{"id""#)]);
    let err = one_error(&env.x_run(x.url(), &[]).fails());
    assert!(err.contains("X accepted the post (201)"), "{err}");
    assert_eq!(env.outbox_ips(), [IP], "kept until X confirms it");

    let x2 = FakeX::start(vec![Reply::duplicate()]);
    env.x_run(x2.url(), &[]).ok();
    assert_eq!(x2.texts(), x.texts(), "the same text, which X recognises");
    assert_eq!(env.outbox(), Vec::<Value>::new());
    assert!(env.announced(IP));
}

#[test]
fn x_403_duplicate_counts_as_delivered() {
    let env = Env::with_log(&guesses(IP, 6, 100));
    let x = FakeX::start(vec![Reply::duplicate()]);
    let out = env.x_run(x.url(), &[]).ok();
    assert_eq!(out.stderr(), "");
    assert_eq!(x.texts().len(), 1);
    assert_eq!(env.outbox(), Vec::<Value>::new());
    assert!(env.announced(IP));

    let after = FakeX::start(vec![]);
    env.x_run(after.url(), &[]).ok();
    assert_eq!(after.requests().len(), 0);
}

#[test]
fn x_crash_between_post_and_save_resends_the_same_text_as_a_duplicate() {
    let env = Env::with_log(&guesses(IP, 6, 100));
    // The fake copies the state file as it is on disk when the post arrives.
    let x = FakeX::start(vec![Reply::created("1003").capture(env.path("state.json"))]);
    env.x_run(x.url(), &[]).ok();
    let seen = x.requests();
    assert_eq!(seen.len(), 1);
    let first = seen[0].text();
    let at_post = seen[0]
        .captured
        .clone()
        .expect("a state on disk before posting");
    let v: Value = committed_state(&at_post);
    assert_eq!(v["outbox"].as_array().unwrap().len(), 1, "{v}");
    assert!(
        v["outbox"][0]["batch"].is_u64(),
        "the batch is saved first: {v}"
    );

    // The crash: X took the post, but the save after it never happened.
    fs::write(env.path("state.json"), &at_post).unwrap();
    assert!(!env.announced(IP));

    let x2 = FakeX::start(vec![Reply::duplicate()]);
    let out = env.x_run(x2.url(), &[]).ok();
    assert_eq!(out.stderr(), "");
    assert_eq!(
        x2.texts(),
        [first],
        "byte-identical, so X drops it as a duplicate"
    );
    assert_eq!(env.outbox(), Vec::<Value>::new());
    assert!(env.announced(IP));
    assert_eq!(env.tries(IP), 6, "the log was not read twice");

    let after = FakeX::start(vec![]);
    env.x_run(after.url(), &[]).ok();
    assert_eq!(after.requests().len(), 0);
}

#[test]
fn x_429_waits_for_the_reset_without_asking_again() {
    let mut env = Env::with_log(&guesses(IP, 6, 100));
    let reset = NOW_SECS + 3600;
    let x = FakeX::start(vec![Reply::rate_limited(reset)]);
    let note = env.x_run(x.url(), &[]).one_notice_line();
    assert!(
        note.contains(
            "twitter: X's 15-minute limit is used up; posting resumes at 2026-11-26T13:00:00Z; \
             1 announcement(s) wait in the outbox"
        ),
        "{note}"
    );
    let limited = x.texts();
    assert_eq!(limited.len(), 1);
    assert_eq!(env.outbox_ips(), [IP]);
    assert_eq!(env.state()["sinks"]["twitter"]["blocked_until"], reset);

    // Before the reset: not a single request, not a word, and nothing is lost.
    env.now = "2026-11-26T12:59:59Z".into();
    let early = FakeX::start(vec![]);
    let out = env.x_run(early.url(), &[]).ok();
    assert_eq!(out.stderr(), "");
    assert_eq!(early.requests().len(), 0, "no request before the reset");
    assert_eq!(env.outbox_ips(), [IP]);
    assert_eq!(env.tries(IP), 6);

    // After it: the same post goes out, once.
    env.now = "2026-11-26T13:00:01Z".into();
    let late = FakeX::start(vec![Reply::created("1004")]);
    env.x_run(late.url(), &[]).ok();
    assert_eq!(late.texts(), limited);
    assert_eq!(env.outbox(), Vec::<Value>::new());
    assert!(env.announced(IP));
}

#[test]
fn x_429_with_a_past_or_no_reset_never_skips_the_next_cron_run() {
    for reply in [Reply::status(429), Reply::rate_limited(NOW_SECS - 5)] {
        let mut env = Env::with_log(&guesses(IP, 6, 100));
        let x = FakeX::start(vec![reply]);
        let note = env.x_run(x.url(), &[]).one_notice_line();
        assert!(note.contains("posting resumes on the next run"), "{note}");
        assert!(env.state()["sinks"]["twitter"]["blocked_until"].is_null());

        // cron's next run, which may start a little under 900 s later.
        env.now = "2026-11-26T12:14:59Z".into();
        let next = FakeX::start(vec![Reply::created("1")]);
        let out = env.x_run(next.url(), &[]).ok();
        assert_eq!(out.stderr(), "");
        assert_eq!(next.texts(), x.texts(), "tried again at once");
        assert_eq!(env.outbox(), Vec::<Value>::new());
    }
}

#[test]
fn x_24_hour_cap_is_said_once_and_waited_out_in_silence() {
    let mut env = Env::with_log(&guesses(IP, 6, 100));
    let reset = NOW_SECS + 20 * 3600;
    let x = FakeX::start(vec![Reply::day_capped(NOW_SECS, reset)]);
    let note = env.x_run(x.url(), &[]).one_notice_line();
    assert!(
        note.contains(
            "twitter: X's 24-hour post limit for the account (17 posts) is used up; \
             posting resumes at 2026-11-27T08:00:00Z"
        ),
        "{note}"
    );
    assert_eq!(env.state()["sinks"]["twitter"]["blocked_until"], reset);
    assert_eq!(
        env.state()["sinks"]["twitter"]["blocked_by"],
        "X's 24-hour post limit for the account (17 posts)"
    );
    // `show` and `outbox` tell when it lifts.
    for sub in [&["show"][..], &["outbox"], &["outbox", "--json"]] {
        let mut args = sub.to_vec();
        args.extend(["--state", "state.json"]);
        let listing = Out(env.cmd(&args).output().unwrap()).ok().stdout();
        assert!(
            listing.contains("2026-11-27T08:00:00Z") && listing.contains("24-hour post limit"),
            "{sub:?}: {listing}"
        );
    }
    // Every 15 minutes for the 20 hours: no request, no word, status 0.
    let quiet = FakeX::start(vec![]);
    for run in 1..80 {
        let t = NOW_SECS + run * 900;
        env.now = time(t);
        let out = env.x_run(quiet.url(), &[]).ok();
        assert_eq!(out.stderr(), "", "run {run}");
    }
    assert_eq!(quiet.requests().len(), 0);
    env.now = time(reset);
    let after = FakeX::start(vec![Reply::created("2")]);
    env.x_run(after.url(), &[]).ok();
    assert_eq!(after.texts(), x.texts());
    assert_eq!(env.outbox(), Vec::<Value>::new());
    assert!(env.state()["sinks"]["twitter"]["blocked_until"].is_null());
}

#[test]
fn x_201_saying_the_24_hour_cap_is_used_up_stops_before_a_refused_post() {
    let mut env = Env::with_log(&(guesses(IP, 8, 100) + &guesses("198.51.100.7", 6, 200)));
    let reset = NOW_SECS + 6 * 3600;
    // X took the post, and its headers say no post is left for the day.
    let mut last = Reply::created("5");
    last.headers = Reply::day_capped(NOW_SECS, reset).headers;
    last.headers.retain(|(k, _)| k != "Content-Type");
    let last = last.header("Content-Type", "application/json");
    let x = FakeX::start(vec![last]);
    let note = env.x_run(x.url(), &[]).one_notice_line();
    assert_eq!(
        x.texts().len(),
        1,
        "the second post is not sent to be refused"
    );
    assert!(
        note.contains("X's 24-hour post limit for the account (17 posts) is used up; posting resumes at 2026-11-26T18:00:00Z; 1 announcement(s) wait"),
        "{note}"
    );
    assert_eq!(env.state()["sinks"]["twitter"]["blocked_until"], reset);
    env.now = time(reset - 1);
    let quiet = FakeX::start(vec![]);
    assert_eq!(env.x_run(quiet.url(), &[]).ok().stderr(), "");
    env.now = time(reset);
    let up = FakeX::start(vec![Reply::created("6")]);
    env.x_run(up.url(), &[]).ok();
    assert_eq!(up.texts().len(), 1);
    assert_eq!(env.outbox(), Vec::<Value>::new());
}

#[test]
fn x_usage_capped_is_said_once_and_retried_hourly() {
    let mut env = Env::with_log(&guesses(IP, 6, 100));
    let x = FakeX::start(vec![Reply::usage_capped(), Reply::usage_capped()]);
    let note = env.x_run(x.url(), &[]).one_notice_line();
    assert!(
        note.contains("twitter: X's usage cap (the spend cap"),
        "{note}"
    );
    assert!(
        note.contains("posting resumes at 2026-11-26T13:00:00Z"),
        "{note}"
    );
    // The next cron runs wait, in silence, without asking X again.
    for later in [900, 2700] {
        env.now = time(NOW_SECS + later);
        let out = env.x_run(x.url(), &[]).ok();
        assert_eq!(out.stderr(), "", "said once");
        assert_eq!(x.texts().len(), 1, "{later} s on: not asked again");
    }
    // An hour on, asked again: still capped, still silent.
    env.now = time(NOW_SECS + 3600);
    let out = env.x_run(x.url(), &[]).ok();
    assert_eq!(out.stderr(), "", "said once");
    assert_eq!(x.texts().len(), 2);
    env.now = time(NOW_SECS + 7200);
    let up = FakeX::start(vec![Reply::created("3")]);
    env.x_run(up.url(), &[]).ok();
    assert_eq!(env.outbox(), Vec::<Value>::new());
    // Said again the next time it happens.
    assert!(env.state()["notes"].get("rate-limit:twitter").is_none());
}

#[test]
fn x_reset_in_milliseconds_is_bounded_and_said() {
    let mut env = Env::with_log(&guesses(IP, 6, 100));
    let x = FakeX::start(vec![Reply::rate_limited((NOW_SECS + 900) * 1000)]);
    let out = env.x_run(x.url(), &[]).ok();
    let err = out.stderr();
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.contains("milliseconds?"), "{err}");
    assert!(
        err.contains("posting resumes at 2026-11-27T13:00:00Z"),
        "{err}"
    );
    assert_eq!(
        env.state()["sinks"]["twitter"]["blocked_until"],
        NOW_SECS + 25 * 3600
    );
    // A wait saved by a version without the bound is bounded when read.
    let mut state = env.state();
    state["sinks"]["twitter"]["blocked_until"] = (1_795_694_400_000i64 * 1000).into();
    env.write("state.json", &state.to_string());
    env.now = time(NOW_SECS + 3600);
    let quiet = FakeX::start(vec![]);
    let note = env.x_run(quiet.url(), &[]).one_notice_line();
    assert!(note.contains("longer than any limit"), "{note}");
    assert_eq!(
        env.state()["sinks"]["twitter"]["blocked_until"],
        NOW_SECS + 3600 + 25 * 3600
    );
    env.now = time(NOW_SECS + 3600 + 25 * 3600);
    let up = FakeX::start(vec![Reply::created("4")]);
    env.x_run(up.url(), &[]).ok();
    assert_eq!(env.outbox(), Vec::<Value>::new());
}

#[test]
fn x_per_run_budget_packs_most_tries_first_and_drops_none() {
    let all = ips(1..=30);
    let env = Env::with_log(&attackers(&all));
    let x = FakeX::start(vec![
        Reply::created("1"),
        Reply::created("2"),
        Reply::created("3"),
    ]);
    env.x_run(x.url(), &["--max-posts-per-run", "3"]).ok();
    let first = x.texts();
    assert_eq!(first.len(), 3, "{first:#?}");
    assert!(first.iter().all(|t| t.chars().count() <= 280), "{first:#?}");
    // Most tries first: the i-th address made 6 + i tries.
    let order: Vec<usize> = first
        .iter()
        .flat_map(|t| {
            let mut found: Vec<(usize, usize)> = all
                .iter()
                .enumerate()
                .filter(|(_, ip)| names(t, ip))
                .map(|(i, ip)| (find(t, ip).unwrap(), i))
                .collect();
            found.sort();
            found.into_iter().map(|(_, i)| i)
        })
        .collect();
    assert!(order.len() > 3, "several per post: {first:#?}");
    let mut sorted = order.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(order, sorted, "most tries first: {first:#?}");
    // Whatever did not fit waits in the outbox: no attacker is dropped.
    let posted: Vec<&String> = all
        .iter()
        .filter(|ip| first.iter().any(|t| names(t, ip)))
        .collect();
    let waiting = env.outbox_ips();
    assert!(!waiting.is_empty(), "30 do not fit in 3 posts: {first:#?}");
    for ip in &all {
        let (p, w) = (posted.contains(&ip), waiting.contains(ip));
        assert!(p ^ w, "{ip}: posted {p}, waiting {w}");
        assert_eq!(env.announced(ip), p, "{ip}");
    }

    // The next run posts the rest, and only the rest.
    let x2 = FakeX::start(vec![
        Reply::created("4"),
        Reply::created("5"),
        Reply::created("6"),
    ]);
    env.x_run(x2.url(), &["--max-posts-per-run", "3"]).ok();
    let second = x2.texts();
    assert!(!second.is_empty() && second.len() <= 3, "{second:#?}");
    for ip in &all {
        let times = first.iter().chain(&second).filter(|t| names(t, ip)).count();
        assert_eq!(times, 1, "{ip} posted {times} times");
    }
    assert_eq!(env.outbox(), Vec::<Value>::new());
}

#[test]
fn x_daily_budget_packs_then_waits_a_day() {
    let mut env = Env::with_log(&attackers(&ips(1..=7)));
    let x = FakeX::start(vec![Reply::created("1")]);
    env.x_run(x.url(), &["--max-posts-per-day", "1"]).ok();
    let texts = x.texts();
    assert_eq!(texts.len(), 1, "{texts:#?}");
    // Seven due, one post: all seven, most tries (.7: 12 tries) first.
    let at: Vec<usize> = ips(1..=7)
        .iter()
        .rev()
        .map(|ip| find(&texts[0], ip).unwrap())
        .collect();
    assert!(at.is_sorted(), "most tries first within a post: {texts:#?}");
    assert_eq!(env.outbox(), Vec::<Value>::new());

    // Two more become due within the day: the budget is spent, they wait.
    // (Their tries are dated that day: older ones would not be announced.)
    env.append(
        "auth.log",
        &attackers(&ips(8..=9)).replace("Nov 26 ", "Nov 27 "),
    );
    env.now = "2026-11-27T11:59:59Z".into();
    let spent = FakeX::start(vec![]);
    env.x_run(spent.url(), &["--max-posts-per-day", "1"]).ok();
    assert_eq!(
        spent.requests().len(),
        0,
        "no request with the budget spent"
    );
    assert_eq!(env.outbox_ips(), ips(8..=9));

    // A day after the post, the budget is back: both in one post.
    env.now = "2026-11-27T12:00:01Z".into();
    let next = FakeX::start(vec![Reply::created("2")]);
    env.x_run(next.url(), &["--max-posts-per-day", "1"]).ok();
    let texts = next.texts();
    assert_eq!(texts.len(), 1, "{texts:#?}");
    assert!(find(&texts[0], "203.0.113.9") < find(&texts[0], "203.0.113.8"));
    assert_eq!(env.outbox(), Vec::<Value>::new());
    assert!(env.announced("203.0.113.8") && env.announced("203.0.113.9"));
}

/// A first run over a backlog spends a quarter of the day's 17 posts, 5,
/// each packed as full as 280 characters allow; each later run a quarter of
/// what is left, and the backlog drains over the runs, nobody twice.
#[test]
fn x_backlog_drains_a_quarter_of_the_budget_per_run() {
    let all = ips(1..=141);
    let mut env = Env::with_log(&attackers(&all));
    let mut id = 0;
    let x = FakeX::serve_with(Some(KEYS), move |_| {
        id += 1;
        Some(Reply::created(&id.to_string()))
    });
    let mut posted_at: Vec<i64> = Vec::new();
    let mut t = NOW_SECS;
    for run in 0.. {
        assert!(run < 30, "the backlog never drained");
        let waiting = if run == 0 { 141 } else { env.outbox().len() };
        env.x_run(x.url(), &[]).ok();
        let made = x.texts().len() - posted_at.len();
        let left = 17 - posted_at.iter().filter(|p| **p > t - 86_400).count();
        let share = left.div_ceil(4);
        match run {
            0 => assert_eq!(made, 5, "17 left: at most 5 posts for the first run"),
            1 => assert_eq!(made, 0, "15 minutes on: the pace allows one per 85 min"),
            _ if waiting > 0 => assert!(made <= share && (made > 0 || share == 0)),
            _ => {}
        }
        posted_at.extend(std::iter::repeat_n(t, made));
        let day = posted_at.iter().filter(|p| **p > t - 86_400).count();
        assert!(day <= 17, "{day} posts in the 24 hours to run {run}");
        if env.outbox().is_empty() {
            break;
        }
        // The next cron run, then one every three hours: 24 hours of
        // cron runs in fewer steps.
        t += if run == 0 { 900 } else { 3 * 3600 };
        env.now = time(t);
    }
    let texts = x.texts();
    assert!(texts.iter().all(|t| t.chars().count() <= 280), "{texts:#?}");
    // Packed as tightly as fits: one more would not have fitted the first.
    let first: Vec<usize> = (0..141).filter(|&i| names(&texts[0], &all[i])).collect();
    assert!(first.len() > 5, "{}", texts[0]);
    let table = &env.state()["table"]["attackers"];
    for ip in &all {
        let times = texts.iter().filter(|t| names(t, ip)).count();
        assert_eq!(times, 1, "{ip} posted {times} times");
        assert!(field(&table[ip], "a").is_i64(), "{ip} announced");
    }
}

#[test]
fn x_attacker_chosen_names_are_withheld_or_defused() {
    let users = [
        "@jack", "#win", "$TSLA", "evil.com", "＠x", "＃tag", "www.x.io",
    ];
    let log: String = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            format!(
                "Nov 26 10:00:{i:02} web01 sshd[{}]: Failed password for invalid user {u} from {IP} port 4000{i} ssh2\n",
                100 + i
            )
        })
        .collect();
    for show in [false, true] {
        // A local account published by choice is the one way a name with
        // a dot gets into a post: none of these is on the list.
        let passwd = "evil.com:x:1000:1000::/home/evil:/bin/sh\n";
        let t = &the_post_with_passwd(&log, passwd, show);
        assert!(names(t, IP) && t.contains("7 tries"), "{t}");
        assert!(!t.contains(['@', '#', '$', '＠', '＃']), "{t}");
        assert!(!t.contains("evil.com") && !t.contains("www.x.io"), "{t}");
        match show {
            false => assert!(t.ends_with("UTC). 7 user names tried."), "{t}"),
            true => assert!(
                t.ends_with("Users tried: evil\u{2024}com and 6 more."),
                "the local account, defused: {t}"
            ),
        }
    }
}

#[test]
fn x_local_account_names_stay_private_unless_asked() {
    let log: String = (0..6)
        .map(|i| {
            let user = if i % 2 == 0 { "alice" } else { "invalid user admin" };
            format!(
                "Nov 26 10:00:{i:02} web01 sshd[{}]: Failed password for {user} from {IP} port 4000{i} ssh2\n",
                100 + i
            )
        })
        .collect::<String>()
        + &guesses(IP, 1, 200);
    for show in [false, true] {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        let t = the_post_with_passwd(&log, passwd, show);
        assert!(t.contains("admin"), "{t}");
        assert_eq!(t.contains("alice"), show, "{t}");
    }
}

/// The one post a run over `log` makes to X, with `passwd` as the local
/// accounts and `--show-local-users` if `show`; it leaves the outbox empty.
fn the_post_with_passwd(log: &str, passwd: &str, show: bool) -> String {
    let env = Env::with_log(log);
    env.write("passwd", passwd);
    let x = FakeX::start(vec![Reply::created("1")]);
    let mut args = vec!["--passwd", "passwd"];
    if show {
        args.push("--show-local-users");
    }
    env.x_run(x.url(), &args).ok();
    let texts = x.texts();
    assert_eq!(texts.len(), 1);
    assert_eq!(env.outbox(), Vec::<Value>::new());
    texts.into_iter().next().unwrap()
}

#[test]
fn x_dry_run_shows_exactly_what_a_real_run_posts() {
    let env = Env::with_log(&guesses("203.0.113.1", 2, 10));
    let x = FakeX::start(vec![]);
    env.x_run(x.url(), &[]).ok();
    let before = env.state_bytes();
    env.append("auth.log", &attackers(&ips(1..=30)));

    // No credentials: a dry run checks everything but the sending, so it fails.
    let mut dry = env.x_cmd(x.url(), &["--dry-run", "--max-posts-per-day", "3"]);
    for (var, _) in KEYS.env() {
        dry.env_remove(var);
    }
    let err = Out(dry.output().unwrap()).one_error_line();
    assert!(
        err.contains("missing in the options file (none found: --config FILE, $TWEET_ATTACKS_CONFIG or /etc/tweet-attacks.toml): twitter-consumer-key, "),
        "{err}"
    );
    // With them, it asks X nothing.
    let mut dry = env.x_cmd(x.url(), &["--dry-run", "--max-posts-per-run", "3"]);
    let out = checked(Out(dry.output().unwrap())).ok();
    assert_eq!(out.stderr(), "");
    let shown: Vec<String> = out.stdout().lines().map(str::to_string).collect();
    assert_eq!(shown.len(), 3, "{shown:#?}");
    assert_eq!(x.requests().len(), 0);
    assert_eq!(env.state_bytes(), before, "a dry run writes nothing");

    let real = FakeX::start(vec![
        Reply::created("1"),
        Reply::created("2"),
        Reply::created("3"),
    ]);
    env.x_run(real.url(), &["--max-posts-per-run", "3"]).ok();
    assert_eq!(real.texts(), shown);
    let posted = ips(1..=30)
        .iter()
        .filter(|ip| shown.iter().any(|t| names(t, ip)))
        .count();
    assert_eq!(env.outbox().len(), 30 - posted, "the rest waits");
}

#[test]
fn x_one_sink_failing_neither_blocks_nor_repeats_the_other() {
    let env = Env::with_log(&guesses(IP, 6, 100));
    let down = FakeX::start(vec![Reply::status(503)]);
    let out = env.x_run(down.url(), &["--sink", "stdout"]).fails();
    one_error(&out);
    let printed = out.stdout();
    assert!(names(&printed, IP), "stdout still gets it: {printed}");
    assert_eq!(env.outbox().len(), 1);
    assert_eq!(env.outbox()[0]["sink"], "twitter");

    let up = FakeX::start(vec![Reply::created("1")]);
    let out = env.x_run(up.url(), &["--sink", "stdout"]).ok();
    assert_eq!(out.stdout(), "", "stdout had it already");
    assert_eq!(up.texts(), down.texts());
    assert_eq!(env.outbox(), Vec::<Value>::new());
}

#[test]
fn verify_credentials_prints_the_username_or_names_what_is_missing() {
    let env = Env::new();
    let x = FakeX::start(vec![Reply::me("attacklog"), Reply::status(401)]);
    let verify = |unset: Option<&str>| {
        let mut c = env.cmd(&["verify-credentials", "--twitter-api-url", x.url()]);
        for (var, value) in KEYS.env() {
            c.env(var, value);
        }
        if let Some(var) = unset {
            c.env_remove(var);
        }
        checked(Out(c.output().unwrap()))
    };
    let out = verify(None).ok();
    assert_eq!(out.stdout(), "@attacklog\n");
    let seen = x.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].url()),
        ("GET", format!("{}/2/users/me", x.url()))
    );

    let out = verify(Some("TWITTER_ACCESS_TOKEN_SECRET")).fails();
    let err = one_error(&out);
    assert!(
        err.contains(
            "missing in the options file (none found: --config FILE, $TWEET_ATTACKS_CONFIG or /etc/tweet-attacks.toml): twitter-access-token-secret \
             (or, in the environment: TWITTER_ACCESS_TOKEN_SECRET)"
        ),
        "{err}"
    );
    assert_eq!(x.requests().len(), 1, "no request without credentials");

    let err = one_error(&verify(None).fails());
    assert!(err.contains("X rejected the credentials (401)"), "{err}");
    assert_eq!(x.requests().len(), 2);
}

/// An options file with everything a cron line needs, credentials included.
fn config_toml(api: &str) -> String {
    format!(
        "state = \"state.json\"\n\
         auth-log = \"auth.log\"\n\
         vsftpd-log = \"vsftpd.log\"\n\
         passwd = \"no-such-passwd\"\n\
         twitter-api-url = \"{api}\"\n\
         max-posts-per-day = 3\n\
         twitter-consumer-key = \"{}\"\n\
         twitter-consumer-secret = \"{}\"\n\
         twitter-access-token = \"{}\"\n\
         twitter-access-token-secret = \"{}\"\n\
         max-posts-per-run = 3\n",
        KEYS.consumer_key, KEYS.consumer_secret, KEYS.access_token, KEYS.access_token_secret
    )
}

fn chmod(env: &Env, name: &str, mode: u32) {
    fs::set_permissions(env.path(name), fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn config_file_with_secrets_must_be_private() {
    let env = Env::with_log(&attackers(&ips(1..=3)));
    let x = FakeX::start(vec![
        Reply::created("1"),
        Reply::created("2"),
        Reply::created("3"),
        Reply::me("attacklog"),
    ]);
    env.write("tweet-attacks.toml", &config_toml(x.url()));
    // Only the file: no --sink (twitter is the default), no credentials in the environment.
    let run = || {
        checked(Out(env
            .cmd(&["run", "--config", "tweet-attacks.toml"])
            .output()
            .unwrap()))
    };

    // Readable by the world, or by the group: refused, as ssh refuses keys.
    for mode in [0o644, 0o640] {
        chmod(&env, "tweet-attacks.toml", mode);
        let err = one_error(&run().fails());
        assert!(err.contains("tweet-attacks.toml"), "names the file: {err}");
        assert!(err.contains("chmod 600"), "{err}");
        assert!(
            !env.path("state.json").exists(),
            "refused before anything ran"
        );
        assert_eq!(x.requests().len(), 0);
    }

    chmod(&env, "tweet-attacks.toml", 0o600);
    let out = run().ok();
    assert_eq!(out.stderr(), "");
    // A quarter of the day's 3 would be 1 post: the file's per-run wins.
    assert_eq!(x.texts().len(), 3, "max-posts-per-run from the file");
    assert_eq!(env.outbox(), Vec::<Value>::new());

    let out = checked(Out(env
        .cmd(&["verify-credentials", "--config", "tweet-attacks.toml"])
        .output()
        .unwrap()))
    .ok();
    assert_eq!(out.stdout(), "@attacklog\n");
    assert_eq!(x.requests().len(), 4);
}

#[test]
fn a_broken_config_file_is_named_without_quoting_its_secrets() {
    let env = Env::with_log(&guesses(IP, 6, 100));
    let broken = config_toml(&refused_url()).replace(
        &format!("\"{}\"\n", KEYS.consumer_secret),
        &format!("\"{}\n", KEYS.consumer_secret),
    );
    env.write("bad.toml", &broken);
    chmod(&env, "bad.toml", 0o600);
    let out = checked(Out(env
        .cmd(&["run", "--config", "bad.toml"])
        .output()
        .unwrap()));
    // What the options file says cannot be read: a usage error.
    let err = out.one_usage_line();
    assert!(err.contains("bad.toml") && err.contains("line 8"), "{err}");
    assert!(!env.path("state.json").exists());
}
