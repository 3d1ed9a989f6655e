//! Who holds an address, from MaxMind DB files the tests write themselves
//! (`tests/support/mmdb.rs`): `replay --json`, a post on the stdout sink,
//! the webhook's payload, `show`, `export csv|json`; a missing or foreign
//! file as one error naming it; a stale database said once.

use std::os::unix::fs::PermissionsExt;

use super::fake_x::{FakeX, Reply};
use super::mmdb::{Writer, asn_record, country_record};
use super::*;

/// NOW as seconds.
const NOW_SECS: u64 = 1_795_694_400;
const DAY: u64 = 86_400;

/// asn.mmdb and country.mmdb in the temp dir, built `age` days ago: the
/// ASN of 203.0.113.0/24 and 2001:db8:1::/48, the country of
/// 203.0.113.0/25 and 2001:db8::/32.
fn databases(env: &Env, age: u64) {
    let built = NOW_SECS - age * DAY;
    let mut asn = Writer::new("GeoLite2-ASN", built);
    asn.insert("203.0.113.0/24", &asn_record(64500, "Example Net"))
        .insert("2001:db8:1::/48", &asn_record(64501, "Example Six"));
    fs::write(env.path("asn.mmdb"), asn.bytes()).unwrap();
    let mut country = Writer::new("GeoLite2-Country", built);
    country
        .insert("203.0.113.0/25", &country_record("NL"))
        .insert("2001:db8::/32", &country_record("DE"));
    fs::write(env.path("country.mmdb"), country.bytes()).unwrap();
}

const FLAGS: [&str; 4] = ["--geoip-asn", "asn.mmdb", "--geoip-country", "country.mmdb"];

/// An address and an IPv6 network past the threshold.
fn attackers(env: &Env) {
    let mut log = guesses("203.0.113.45", 7, 100);
    log.push_str(&guesses("2001:db8:1:2::77", 7, 200));
    env.write("auth.log", &log);
}

fn options(env: &Env, text: &str) {
    env.write("geo.toml", text);
    fs::set_permissions(env.path("geo.toml"), fs::Permissions::from_mode(0o600)).unwrap();
}

fn by_ip<'v>(rows: &'v [Value], ip: &str) -> &'v Value {
    rows.iter()
        .find(|r| r["ip"] == ip)
        .unwrap_or_else(|| panic!("{ip} in {rows:?}"))
}

#[test]
fn replay_json_names_the_owner_of_an_address_and_of_a_network() {
    let env = Env::new();
    databases(&env, 10);
    attackers(&env);
    let mut args = vec!["replay", "--json", "--passwd", "none"];
    args.extend(FLAGS);
    args.push("auth.log");
    let out = Out(env.cmd(&args).output().unwrap()).ok();
    let rows = out.json_lines();
    let v4 = by_ip(&rows, "203.0.113.45");
    assert_eq!(v4["asn"], 64500);
    assert_eq!(v4["as_org"], "Example Net");
    assert_eq!(v4["country"], "NL");
    let text = v4["text"].as_str().unwrap();
    assert!(
        text.starts_with("SSH brute force from 203.0.113.45 (AS64500 Example Net, NL): 7 tries"),
        "{text}"
    );
    // The network is looked up by the first address seen in it.
    let v6 = by_ip(&rows, "2001:db8:1:2::");
    assert_eq!(v6["asn"], 64501);
    assert_eq!(v6["country"], "DE");

    // Without a database: no such field, and the post as before.
    let out = Out(env
        .cmd(&["replay", "--json", "--passwd", "none", "auth.log"])
        .output()
        .unwrap())
    .ok();
    let rows = out.json_lines();
    let v4 = by_ip(&rows, "203.0.113.45");
    for field in ["asn", "as_org", "country"] {
        assert!(v4.get(field).is_none(), "{field}: {v4}");
    }
    assert!(
        v4["text"]
            .as_str()
            .unwrap()
            .starts_with("SSH brute force from 203.0.113.45: 7 tries")
    );
}

#[test]
fn a_post_on_stdout_names_the_owner_from_the_options_file_and_a_flag_wins() {
    let env = Env::new();
    databases(&env, 10);
    attackers(&env);
    // The file's ASN database is missing: the flag's is read instead.
    options(
        &env,
        "passwd = \"none\"\n[geoip]\nasn = \"missing.mmdb\"\ncountry = \"country.mmdb\"\n",
    );
    let out = env
        .run(&["--config", "geo.toml", "--geoip-asn", "asn.mmdb"])
        .ok();
    assert_eq!(out.stderr(), "");
    let posts = out.stdout();
    assert!(
        posts.lines().any(|l| l
            .starts_with("SSH brute force from 203.0.113.45 (AS64500 Example Net, NL): 7 tries")),
        "{posts}"
    );
    assert!(
        posts.lines().any(|l| l.starts_with(
            "SSH brute force from 2001:db8:1:2::/64 (AS64501 Example Six, DE; first seen 2001:db8:1:2::77): 7 tries"
        )),
        "{posts}"
    );
    // The owner is frozen in the announcement; show and export look it up.
    let show = Out(env
        .cmd(&[
            "show",
            "--config",
            "geo.toml",
            "--state",
            "state.json",
            "--geoip-asn",
            "asn.mmdb",
        ])
        .env("COLUMNS", "120")
        .output()
        .unwrap())
    .ok();
    let shown = show.stdout();
    let lines: Vec<&str> = shown.lines().collect();
    assert!(lines[0].contains(" OWNER "), "{}", lines[0]);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("203.0.113.45") && l.contains(" AS64500 NL ")),
        "{lines:?}"
    );
    let show_with = |flag: &str| {
        Out(env
            .cmd(&["show", flag, "--state", "state.json"])
            .args(FLAGS)
            .output()
            .unwrap())
        .ok()
    };
    let wide = show_with("--wide").stdout();
    assert!(wide.contains(" AS64500 NL Example Net "), "{wide}");
    let rows = show_with("--json").json_lines();
    let v4 = by_ip(&rows, "203.0.113.45");
    assert_eq!(
        (&v4["asn"], &v4["as_org"], &v4["country"]),
        (&64500.into(), &"Example Net".into(), &"NL".into())
    );
    assert_eq!(by_ip(&rows, "2001:db8:1:2::")["asn"], 64501);
    // Without a database, show has no owner column.
    let plain = Out(env
        .cmd(&["show", "--state", "state.json"])
        .output()
        .unwrap())
    .ok();
    assert!(!plain.stdout().contains("OWNER"), "{}", plain.stdout());
}

#[test]
fn export_csv_and_json_add_asn_as_org_and_country() {
    let env = Env::new();
    databases(&env, 10);
    attackers(&env);
    env.run(&[]).ok();
    let export = |format: &str| {
        Out(env
            .cmd(&[
                "export",
                "--format",
                format,
                "--state",
                "state.json",
                "--passwd",
                "none",
            ])
            .args(FLAGS)
            .output()
            .unwrap())
        .ok()
        .stdout()
    };
    let csv = export("csv");
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .ends_with(",internal,asn,as_org,country"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("203.0.113.45,") && l.ends_with(",false,64500,Example Net,NL")),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("2001:db8:1:2::/64,")
                && l.ends_with(",false,64501,Example Six,DE")),
        "{csv}"
    );
    let json: Value = serde_json::from_str(&export("json")).unwrap();
    let rows = json.as_array().unwrap();
    let v4 = by_ip(rows, "203.0.113.45");
    assert_eq!(v4["asn"], 64500);
    assert_eq!(v4["as_org"], "Example Net");
    assert_eq!(v4["country"], "NL");
}

#[test]
fn the_webhook_payload_names_the_owner() {
    let env = Env::new();
    databases(&env, 10);
    env.write("auth.log", &guesses("203.0.113.45", 7, 100));
    let hook = FakeX::start_plain(vec![Reply::new(204, "")]);
    options(
        &env,
        &format!(
            "passwd = \"none\"\nsink = [\"webhook\"]\n[webhook]\nurl = \"{}/hook\"\n[geoip]\nasn = \"asn.mmdb\"\ncountry = \"country.mmdb\"\n",
            hook.url()
        ),
    );
    Out(env
        .run_on_files(&["--config", "geo.toml"])
        .output()
        .unwrap())
    .ok();
    let seen = hook.requests();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let body = seen[0].json();
    let a = &body["attackers"][0];
    assert_eq!(a["ip"], "203.0.113.45");
    assert_eq!(a["asn"], 64500);
    assert_eq!(a["as_org"], "Example Net");
    assert_eq!(a["country"], "NL");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("(AS64500 Example Net, NL)"),
        "{body}"
    );
}

#[test]
fn a_missing_or_foreign_database_is_one_error_naming_it() {
    let env = Env::new();
    databases(&env, 10);
    attackers(&env);
    env.write("notes.txt", "not a database\n");
    for (args, named, why) in [
        (
            vec!["--geoip-asn", "gone.mmdb"],
            "gone.mmdb",
            "No such file",
        ),
        (
            vec!["--geoip-country", "notes.txt"],
            "notes.txt",
            "is not a MaxMind DB",
        ),
    ] {
        let run = Out(env.run_args(&args).output().unwrap());
        let err = run.one_error_line();
        assert!(err.contains(named) && err.contains(why), "{err}");
        assert!(
            !env.path("state.json").exists(),
            "refused before reading: {err}"
        );
        for cmd in [
            vec!["replay", "auth.log"],
            vec!["show", "--state", "state.json"],
            vec!["export", "--format", "csv", "--state", "state.json"],
        ] {
            let out = Out(env.cmd(&cmd).args(&args).output().unwrap());
            let err = out.one_error_line();
            assert!(err.contains(named) && err.contains(why), "{cmd:?}: {err}");
        }
    }
    options(&env, "[geoip]\nasn = \"asn.mmdb\"\ncity = \"city.mmdb\"\n");
    let out = Out(env.run_args(&["--config", "geo.toml"]).output().unwrap());
    let err = out.one_usage_line();
    assert!(err.contains("at line 3") && err.contains("city"), "{err}");
}

#[test]
fn a_stale_database_is_said_once_by_run_and_by_each_command_that_saves_nothing() {
    let env = Env::new();
    databases(&env, 100);
    attackers(&env);
    let first = env.run(&FLAGS).ok();
    // Both databases are stale: one line each.
    let err = first.stderr();
    assert_eq!(err.lines().count(), 2, "{err}");
    for (line, name) in err.lines().zip(["asn.mmdb", "country.mmdb"]) {
        assert!(
            line.starts_with("tweet-attacks: warning: the GeoIP database ")
                && line.contains(name)
                && line.contains("built 100 days ago"),
            "{err}"
        );
    }
    env.append("auth.log", &guesses("203.0.113.46", 7, 300));
    let second = env.run(&FLAGS).ok();
    assert_eq!(second.stderr(), "", "said once");
    assert!(
        second.stdout().contains("203.0.113.46 (AS64500"),
        "{}",
        second.stdout()
    );
    // show and export read the run's note: already said.
    let show = Out(env
        .cmd(&["show", "--state", "state.json"])
        .args(FLAGS)
        .output()
        .unwrap())
    .ok();
    assert_eq!(show.stderr(), "");
    // replay saves nothing: it says so every time.
    let mut args = vec!["replay", "--passwd", "none"];
    args.extend(FLAGS);
    args.push("auth.log");
    for _ in 0..2 {
        let out = Out(env.cmd(&args).output().unwrap()).ok();
        assert_eq!(
            out.stderr().matches("warning: the GeoIP database").count(),
            2,
            "{}",
            out.stderr()
        );
    }
    // Refreshed: the note ends, and a later staleness is said again.
    databases(&env, 1);
    env.run(&FLAGS).ok();
    assert!(
        env.state()["notes"].get("geoip-asn-stale").is_none(),
        "{}",
        env.state()["notes"]
    );
}
