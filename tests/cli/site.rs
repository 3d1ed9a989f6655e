//! The `site` destination: pages written into a folder, rewritten when an
//! attacker comes back, rebuilt, removed; its checks.

use std::fs;

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
    let env = Env::new();
    fs::create_dir(env.path("www")).unwrap();
    env.write("auth.log", "");
    write_options(
        &env,
        "",
        &[format!(
            "[site]\ndir = \"www\"\nurl = \"http://127.0.0.1:9/attacks/\"\n\
             contact = \"mailto:abuse@example.org\"\ntitle = \"Attacks here\"\n{extra}"
        )],
    );
    env
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
