//! The `site` destination: pages written into a folder, rewritten when an
//! attacker comes back, rebuilt, removed; its checks.

use std::fs;

use super::fake_indexnow::{FakeIndexNow, StaticFiles};
use super::sinks::write_options;
use super::*;

const IP: &str = "45.148.10.5";
const OTHER: &str = "45.148.10.77";
const USERS: [&str; 8] = [
    "oracle",
    "postgres",
    "webmaster",
    "ubuntu",
    "deploy",
    "git",
    "admin",
    "test",
];

/// Failed sshd passwords from `ip`, `n` of them, one per user, from minute `minute`.
fn tries(ip: &str, n: usize, minute: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "Nov 26 10:{minute:02}:{i:02} web01 sshd[{}]: Failed password for invalid user {} from {ip} port {} ssh2\n",
                1000 + minute * 100 + i,
                USERS[i % USERS.len()],
                40000 + i
            )
        })
        .collect()
}

/// An env whose options file has a `[site]` over `www/`, served at a loopback URL.
fn site_env(extra: &str) -> Env {
    site_env_at("http://127.0.0.1:9/attacks/", extra)
}

/// The same, served at `url`.
fn site_env_at(url: &str, extra: &str) -> Env {
    let env = Env::new();
    fs::create_dir(env.path("www")).unwrap();
    env.write("auth.log", "");
    site_options(&env, url, extra);
    env
}

fn site_options(env: &Env, url: &str, extra: &str) {
    write_options(
        env,
        "",
        &[format!(
            "[site]\ndir = \"www\"\nurl = \"{url}\"\n\
             contact = \"mailto:abuse@example.org\"\ntitle = \"Attacks here\"\n{extra}"
        )],
    );
}

fn site_run(env: &Env) -> Out {
    Out(env
        .run_on_files(&["--config", "sinks.toml", "--sink", "site"])
        .output()
        .unwrap())
}

fn read(env: &Env, rel: &str) -> String {
    fs::read_to_string(env.path("www").join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The manifest's row of `slug`: its fields by name.
fn row(env: &Env, slug: &str) -> Option<Vec<String>> {
    read(env, ".tweet-attacks-site.tsv")
        .lines()
        .skip(1)
        .map(|l| l.split('\t').map(String::from).collect::<Vec<_>>())
        .find(|f| f[1] == slug)
}

#[test]
fn a_run_writes_a_page_per_announced_attacker_and_the_site_around_them() {
    let env = site_env("");
    env.write("auth.log", &(tries(IP, 8, 0) + &tries(OTHER, 2, 1)));
    site_run(&env).ok();
    let page = read(&env, &format!("ip/{IP}.html"));
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(
        page.contains(&format!("<title>{IP}: 8 brute-force")),
        "{page}"
    );
    assert!(
        page.contains("<code>oracle</code>, <code>postgres</code>"),
        "{page}"
    );
    assert!(page.contains("mailto:abuse@example.org"));
    let json: Value = serde_json::from_str(&read(&env, &format!("ip/{IP}.json"))).unwrap();
    assert_eq!(
        (json["ip"].as_str(), json["tries"].as_u64()),
        (Some(IP), Some(8))
    );
    assert!(
        !env.path(&format!("www/ip/{OTHER}.html")).exists(),
        "below the threshold: no page"
    );
    let index = read(&env, "index.html");
    assert!(index.contains(&format!("href=\"ip/{IP}.html\"")), "{index}");
    assert!(read(&env, "archive/1.html").contains(IP));
    let sitemap = read(&env, "sitemap.xml");
    assert!(sitemap.contains(&format!(
        "<loc>http://127.0.0.1:9/attacks/ip/{IP}.html</loc><lastmod>2026-11-26T12:00:00Z</lastmod>"
    )));
    assert!(read(&env, "robots.txt").contains("Sitemap: http://127.0.0.1:9/attacks/sitemap.xml"));
    assert!(read(&env, "feed.atom").contains(&format!("Brute-force attacker {IP}<")));
    assert_eq!(row(&env, IP).unwrap()[3], "8");
    assert_eq!(env.state()["outbox"].as_array().unwrap().len(), 0);
    // Nothing half-written is left beside them.
    let stray: Vec<_> = fs::read_dir(env.path("www/ip"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn a_returning_attacker_has_its_page_rewritten_and_its_lastmod_moved() {
    let mut env = site_env("");
    env.write("auth.log", &tries(IP, 8, 0));
    site_run(&env).ok();
    assert_eq!(row(&env, IP).unwrap()[3..5], ["8", "1795694400"]);
    let first = read(&env, &format!("ip/{IP}.html"));

    // Nothing new: nothing written again.
    env.now = "2026-11-26T12:15:00Z".into();
    site_run(&env).ok();
    assert_eq!(read(&env, &format!("ip/{IP}.html")), first);

    env.now = "2026-11-26T12:30:00Z".into();
    env.append("auth.log", &tries(IP, 3, 20));
    site_run(&env).ok();
    let row = row(&env, IP).unwrap();
    assert_eq!(row[3..5], ["11", "1795696200"], "{row:?}");
    let page = read(&env, &format!("ip/{IP}.html"));
    assert!(page.contains("<dt>Tries</dt><dd>11</dd>"), "{page}");
    assert!(read(&env, "sitemap.xml").contains("<lastmod>2026-11-26T12:30:00Z</lastmod>"));
    let json: Value = serde_json::from_str(&read(&env, &format!("ip/{IP}.json"))).unwrap();
    assert_eq!(json["tries"], 11);
}

fn site_cmd(env: &Env, args: &[&str]) -> Out {
    let mut all = vec!["site"];
    all.extend_from_slice(args);
    all.extend(["--config", "sinks.toml", "--state", "state.json"]);
    Out(env.cmd(&all).output().unwrap())
}

#[test]
fn rebuild_writes_the_whole_site_from_the_table_and_keeps_unchanged_pages_lastmod() {
    let mut env = site_env("");
    env.write("auth.log", &(tries(IP, 8, 0) + &tries(OTHER, 9, 1)));
    // Announced elsewhere first: the site is set up afterwards.
    env.run(&[]).ok();
    assert!(!env.path("www/index.html").exists());
    let out = site_cmd(&env, &["rebuild"]).ok();
    assert_eq!(
        out.stdout(),
        "site: wrote 2 page(s), 0 unchanged; it holds 2 page(s) in www\n"
    );
    for ip in [IP, OTHER] {
        assert!(read(&env, &format!("ip/{ip}.html")).contains(&format!("<h1>{ip}</h1>")));
        assert!(read(&env, "sitemap.xml").contains(&format!("ip/{ip}.html")));
    }
    // Announced in that order: the archive keeps it.
    let archive = read(&env, "archive/1.html");
    assert!(
        archive.find(OTHER).unwrap() < archive.find(&format!("{IP}<")).unwrap(),
        "{archive}"
    );

    env.now = "2026-11-27T08:00:00Z".into();
    fs::remove_file(env.path("www/feed.atom")).unwrap();
    let out = site_cmd(&env, &["rebuild"]).ok();
    assert_eq!(
        out.stdout(),
        "site: wrote 0 page(s), 2 unchanged; it holds 2 page(s) in www\n"
    );
    assert_eq!(row(&env, IP).unwrap()[4], "1795694400", "lastmod kept");
    assert!(
        env.path("www/feed.atom").exists(),
        "derived files made again"
    );
}

#[test]
fn remove_takes_a_page_down_and_no_sink_publishes_the_address_again() {
    let mut env = site_env("");
    env.write("auth.log", &(tries(IP, 8, 0) + &tries(OTHER, 9, 1)));
    site_run(&env).ok();
    let out = site_cmd(&env, &["remove", IP, "--reason", "our own scanner"]).ok();
    assert_eq!(
        out.stdout(),
        format!("removed {IP}: its page and JSON deleted; no sink will publish it again\n")
    );
    assert!(!env.path(&format!("www/ip/{IP}.html")).exists());
    assert!(!env.path(&format!("www/ip/{IP}.json")).exists());
    for file in ["index.html", "archive/1.html", "sitemap.xml", "feed.atom"] {
        let text = read(&env, file);
        assert!(
            !text.contains(&format!("{IP}<")) && !text.contains(&format!("{IP}.html")),
            "{file}: {text}"
        );
        assert!(text.contains(OTHER), "{file}");
    }
    let gone = row(&env, IP).unwrap();
    assert_eq!(gone[6], "gone", "kept until IndexNow is told");
    assert_eq!(env.state()["removed"][IP]["reason"], "our own scanner");
    let again = site_cmd(&env, &["remove", "45.148.10.99", "--reason", "x"]).fails();
    assert!(
        again.one_error_line().contains("has no page"),
        "{}",
        again.stderr()
    );

    // Days later the table has forgotten it; it comes back, and is held back.
    env.now = "2026-11-30T12:00:00Z".into();
    env.run(&["--retention", "1d"]).ok();
    assert!(env.state()["table"]["attackers"][IP].is_null(), "forgotten");
    env.append("auth.log", &tries(IP, 8, 2).replace("Nov 26", "Nov 30"));
    env.now = "2026-11-30T12:15:00Z".into();
    let out = env.run(&["--retention", "1d"]).ok();
    assert_eq!(env.tries(IP), 8, "counted");
    assert_eq!(out.stdout(), "", "never published again");
    assert!(!env.path(&format!("www/ip/{IP}.html")).exists());
}

const KEY: &str = "f00dCafe-0123-site-key";

/// A site served (its key file only) at a static server, and a fake IndexNow.
fn indexnow_env() -> (Env, FakeIndexNow, StaticFiles) {
    let fake = FakeIndexNow::start();
    let files = StaticFiles::start();
    files.put(&format!("/attacks/{KEY}.txt"), KEY);
    let env = site_env_at(
        &format!("{}/attacks/", files.url()),
        &format!(
            "indexnow-key = \"{KEY}\"\nindexnow-url = \"{}\"\n",
            fake.url()
        ),
    );
    (env, fake, files)
}

fn status_line(env: &Env, starts: &str) -> String {
    let out = Out(env
        .cmd(&["status", "--config", "sinks.toml", "--state", "state.json"])
        .output()
        .unwrap())
    .ok();
    let text = out.stdout();
    text.lines()
        .find(|l| l.trim_start().starts_with(starts))
        .unwrap_or_else(|| panic!("no {starts:?} in {text}"))
        .to_string()
}

#[test]
fn indexnow_is_told_each_change_once_waits_on_429_and_parks_on_403() {
    let (mut env, fake, files) = indexnow_env();
    env.write("auth.log", &tries(IP, 8, 0));
    site_run(&env).ok();
    let page = format!("{}/attacks/ip/{IP}.html", files.url());
    let got = fake.received();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].url_list(), std::slice::from_ref(&page));
    assert_eq!(got[0].status, 202, "{}", got[0].why);
    assert_eq!(
        read(&env, &format!("{KEY}.txt")),
        KEY,
        "the key file is served"
    );
    let r = row(&env, IP).unwrap();
    assert_eq!(r[5], r[4], "notified of its lastmod");
    assert!(status_line(&env, "IndexNow").contains("0 URL(s) to send"));

    // Nothing changed: nothing sent.
    env.now = "2026-11-26T12:15:00Z".into();
    site_run(&env).ok();
    assert_eq!(fake.received().len(), 1);

    // It comes back: told again, once; a 429 first.
    env.now = "2026-11-26T12:30:00Z".into();
    env.append("auth.log", &tries(IP, 3, 20));
    fake.too_many(Some("3600"));
    let out = site_run(&env).ok();
    assert!(
        out.stderr()
            .contains("IndexNow: waiting until 2026-11-26T13:30:00Z"),
        "{}",
        out.stderr()
    );
    assert!(status_line(&env, "IndexNow").contains("1 URL(s) to send, waiting until"));
    env.now = "2026-11-26T12:45:00Z".into();
    site_run(&env).ok();
    assert_eq!(fake.received().len(), 2, "waits");
    env.now = "2026-11-26T13:45:00Z".into();
    site_run(&env).ok();
    let got = fake.received();
    assert_eq!(got.len(), 3);
    assert_eq!(
        (got[2].url_list(), got[2].status),
        (vec![page.clone()], 200)
    );

    // The key file gone: 403, parked, the run fails saying so, once.
    files.remove(&format!("/attacks/{KEY}.txt"));
    env.now = "2026-11-26T14:00:00Z".into();
    env.append("auth.log", &tries(IP, 2, 40));
    let err = site_run(&env).fails().one_error_line();
    assert!(
        err.contains("IndexNow refused") && !err.contains(KEY),
        "{err}"
    );
    let outbox = Out(env
        .cmd(&["outbox", "--state", "state.json"])
        .output()
        .unwrap())
    .ok();
    assert!(
        outbox
            .stdout()
            .contains("IndexNow (the site's notices): parked since"),
        "{}",
        outbox.stdout()
    );
    env.now = "2026-11-26T14:15:00Z".into();
    site_run(&env).ok();
    assert_eq!(fake.received().len(), 4, "parked: nothing sent");
    files.put(&format!("/attacks/{KEY}.txt"), KEY);
    Out(env
        .cmd(&["outbox", "retry", "all", "--state", "state.json"])
        .output()
        .unwrap())
    .ok();
    site_run(&env).ok();
    let got = fake.received();
    assert_eq!((got.len(), got[4].status), (5, 200));
    assert_eq!(got[4].url_list(), [page]);
    assert!(status_line(&env, "IndexNow").ends_with("0 URL(s) to send"));
}

#[test]
fn a_removed_page_is_told_to_indexnow_by_the_next_run() {
    let (mut env, fake, _files) = indexnow_env();
    env.write("auth.log", &tries(IP, 8, 0));
    site_run(&env).ok();
    site_cmd(&env, &["remove", IP, "--reason", "dispute"]).ok();
    assert!(status_line(&env, "IndexNow").contains("1 URL(s) to send"));
    assert!(status_line(&env, IP).contains("dispute"));
    env.now = "2026-11-26T12:15:00Z".into();
    site_run(&env).ok();
    let got = fake.received();
    assert_eq!(got.len(), 2);
    assert!(got[1].url_list()[0].ends_with(&format!("/attacks/ip/{IP}.html")));
    assert!(row(&env, IP).is_none(), "told, so done with");
}

#[test]
fn verify_credentials_checks_the_folder_the_urls_the_key_and_its_file() {
    let (env, _fake, files) = indexnow_env();
    let verify = |env: &Env| {
        Out(env
            .cmd(&[
                "verify-credentials",
                "--config",
                "sinks.toml",
                "--sink",
                "site",
            ])
            .output()
            .unwrap())
    };
    let out = verify(&env).ok();
    assert!(
        out.stdout()
            .starts_with("site: www writable, url and contact well formed, IndexNow key valid, "),
        "{}",
        out.stdout()
    );
    files.remove(&format!("/attacks/{KEY}.txt"));
    let err = verify(&env).fails().one_error_line();
    assert!(
        err.contains("404") && err.contains("<key>") && !err.contains(KEY),
        "{err}"
    );
    let base = format!("{}/attacks/", files.url());
    for (url, extra, says) in [
        (
            base.as_str(),
            "indexnow-key = \"short\"\n",
            "indexnow-key must be",
        ),
        ("http://example.org/", "", "must be https"),
        ("https://example.org", "", "must end in /"),
    ] {
        site_options(&env, url, extra);
        let err = verify(&env).fails().one_error_line();
        assert!(err.contains(says), "{url}: {err}");
    }
    write_options(
        &env,
        "",
        &["[site]\ndir = \"www\"\nurl = \"https://e.org/\"\ncontact = \"abuse@e.org\"\n".into()],
    );
    assert!(
        verify(&env)
            .fails()
            .one_error_line()
            .contains("[site] contact")
    );
    write_options(
        &env,
        "",
        &[
            "[site]\ndir = \"nope\"\nurl = \"https://e.org/\"\ncontact = \"mailto:a@e.org\"\n"
                .into(),
        ],
    );
    assert!(
        verify(&env)
            .fails()
            .one_error_line()
            .contains("not an existing folder")
    );
    fs::remove_dir(env.path("www")).unwrap();
    fs::write(env.path("www"), "a file").unwrap();
    site_options(&env, &base, "");
    assert!(
        verify(&env)
            .fails()
            .one_error_line()
            .contains("not an existing folder")
    );
}

#[test]
fn a_kill_anywhere_in_the_site_is_finished_by_the_next_run() {
    for point in ["site:pages-written", "site:manifest-written"] {
        let mut env = site_env("");
        env.write("auth.log", &tries(IP, 8, 0));
        let cmd = env.run_on_files(&["--config", "sinks.toml", "--sink", "site"]);
        kill_at(&env, cmd, point);
        assert!(
            !env.path("www/index.html").exists(),
            "{point}: derived files come last"
        );
        let manifest = env.path("www/.tweet-attacks-site.tsv").exists();
        assert_eq!(manifest, point == "site:manifest-written");
        env.now = "2026-11-26T12:15:00Z".into();
        site_run(&env).ok();
        assert!(
            read(&env, "index.html").contains(&format!("ip/{IP}.html")),
            "{point}"
        );
        assert!(
            read(&env, "sitemap.xml").contains(&format!("ip/{IP}.html")),
            "{point}"
        );
        assert_eq!(row(&env, IP).unwrap()[3], "8", "{point}");
        assert_eq!(
            env.state()["outbox"].as_array().unwrap().len(),
            0,
            "{point}"
        );
    }
}

#[test]
fn derived_files_a_kill_left_behind_are_made_again_by_the_next_run() {
    let mut env = site_env("");
    env.write("auth.log", &(tries(IP, 8, 0) + &tries(OTHER, 9, 1)));
    site_run(&env).ok();
    let mut cmd = env.cmd(&[
        "site",
        "remove",
        IP,
        "--reason",
        "dispute",
        "--config",
        "sinks.toml",
        "--state",
        "state.json",
    ]);
    cmd.stdout(std::process::Stdio::null());
    kill_at(&env, cmd, "site:manifest-written");
    assert!(
        read(&env, "index.html").contains(&format!("{IP}.html")),
        "not yet"
    );
    env.now = "2026-11-26T12:15:00Z".into();
    site_run(&env).ok();
    assert!(!read(&env, "index.html").contains(&format!("{IP}.html")));
    assert!(!read(&env, "sitemap.xml").contains(&format!("{IP}.html")));
    // Said again, the removal is recorded.
    site_cmd(&env, &["remove", IP, "--reason", "dispute"]).ok();
    assert_eq!(env.state()["removed"][IP]["reason"], "dispute");
}

#[test]
fn an_ipv6_network_has_one_page_and_is_removed_by_any_address_in_it() {
    let env = site_env("");
    env.write("auth.log", &tries("2a01:4f8:1:2::77", 8, 0));
    site_run(&env).ok();
    let page = read(&env, "ip/2a01-4f8-1-2--_64.html");
    assert!(page.contains("<h1>2a01:4f8:1:2::/64</h1>"), "{page}");
    assert!(
        page.contains("<dd>2a01:4f8:1:2::77</dd>"),
        "the first address seen"
    );
    let out = site_cmd(&env, &["remove", "2a01:4f8:1:2::99", "--reason", "ours"]).ok();
    assert!(
        out.stdout()
            .starts_with("removed 2a01:4f8:1:2::/64: its page"),
        "{}",
        out.stdout()
    );
    assert!(!env.path("www/ip/2a01-4f8-1-2--_64.html").exists());
}

#[test]
fn site_remove_counts_an_address_in_the_network_the_options_file_groups_by() {
    let env = site_env("");
    let section = read_options(&env);
    write_options(&env, "ipv6-prefix = 48\n", &[section]);
    env.write("auth.log", &tries("2a01:4f8:1:2::77", 8, 0));
    site_run(&env).ok();
    assert!(read(&env, "ip/2a01-4f8-1--_48.html").contains("<h1>2a01:4f8:1::/48</h1>"));
    let out = site_cmd(&env, &["remove", "2a01:4f8:1:9::1", "--reason", "ours"]).ok();
    assert!(
        out.stdout()
            .starts_with("removed 2a01:4f8:1::/48: its page"),
        "{}",
        out.stdout()
    );
}

/// The `[site]` section of sinks.toml, as `site_env` wrote it.
fn read_options(env: &Env) -> String {
    let text = fs::read_to_string(env.path("sinks.toml")).unwrap();
    text[text.find("[site]").unwrap()..].to_string()
}

#[test]
fn a_page_queued_by_a_run_that_failed_shows_the_tries_of_the_run_that_writes_it() {
    let mut env = site_env("");
    env.write("auth.log", &tries(IP, 8, 0));
    // Nothing can be written under ip/: the site waits in the outbox.
    fs::write(env.path("www/ip"), "in the way").unwrap();
    let err = site_run(&env).fails().one_error_line();
    assert!(
        err.contains("not a folder") && err.contains("wait in the outbox"),
        "{err}"
    );
    fs::remove_file(env.path("www/ip")).unwrap();
    env.now = "2026-11-26T12:30:00Z".into();
    env.append("auth.log", &tries(IP, 3, 20));
    site_run(&env).ok();
    assert!(read(&env, &format!("ip/{IP}.html")).contains("<dt>Tries</dt><dd>11</dd>"));
    assert_eq!(row(&env, IP).unwrap()[3], "11");
}
