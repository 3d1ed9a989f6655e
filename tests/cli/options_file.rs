//! One options file for every command: `--config FILE`, else
//! `$TWEET_ATTACKS_CONFIG`, else the default path if it exists (moved into
//! the test's folder by `TWEET_ATTACKS_DEFAULT_CONFIG`).

use super::*;

const OPTIONS: &str = "ignore = [\"203.0.113.9\"]\nstate = \"kept.json\"\n";

/// Two attackers past the threshold, in a state at kept.json, not at the
/// default place nor at state.json.
fn kept_env() -> Env {
    let env = Env::new();
    let mut log = guesses("203.0.113.7", 9, 100);
    log += &guesses("203.0.113.9", 9, 200);
    env.write("auth.log", &log).write("vsftpd.log", "");
    env.run_with_state("kept.json").ok();
    env
}

/// `show`, `status`, `outbox` and `export` read the options file's state,
/// and the blocklist leaves out its `ignore`, with no --config given;
/// `with` says how each command is told of the file.
fn every_view_reads(env: &Env, with: impl Fn(&mut Command) -> &mut Command) {
    let out = |args: &[&str]| {
        let mut c = env.cmd(args);
        with(&mut c);
        Out(c.output().unwrap()).ok().stdout()
    };
    assert_eq!(
        out(&["export", "--format", "blocklist"]),
        "203.0.113.7\n",
        "the file's ignore applies"
    );
    let shown = out(&["show"]);
    assert!(shown.contains("203.0.113.7"), "{shown}");
    let status = out(&["status", "--json"]);
    assert!(status.contains("kept.json"), "{status}");
    out(&["outbox"]);
}

#[test]
fn the_options_file_named_by_the_environment_serves_every_command() {
    let env = kept_env();
    env.write("opts.toml", OPTIONS);
    let opts = env.path("opts.toml");
    every_view_reads(&env, |c| c.env("TWEET_ATTACKS_CONFIG", &opts));
    // An empty variable names no file.
    let out = Out(env
        .cmd(&["show"])
        .env("TWEET_ATTACKS_CONFIG", "")
        .output()
        .unwrap())
    .fails();
    let err = out.one_error_line();
    assert!(err.contains("no state file at /var/lib/"), "{err}");
}

#[test]
fn the_default_options_file_serves_every_command_when_it_exists() {
    let env = kept_env();
    env.write("default-options.toml", OPTIONS);
    every_view_reads(&env, |c| c);
    // --config still wins over the default.
    env.write("other.toml", "state = \"state.json\"\n");
    let out = Out(env
        .cmd(&["show", "--config", "other.toml"])
        .output()
        .unwrap())
    .fails();
    assert!(
        out.one_error_line().contains("state.json"),
        "{}",
        out.stderr()
    );
}

#[test]
fn a_bad_options_file_found_without_config_is_an_error_naming_it() {
    let env = kept_env();
    env.write("bad.toml", "state = 12\n");
    for view in ["show", "status", "outbox"] {
        let out = Out(env
            .cmd(&[view, "--state", "kept.json"])
            .env("TWEET_ATTACKS_CONFIG", env.path("bad.toml"))
            .output()
            .unwrap());
        let err = out.stderr();
        assert!(
            out.code() == Some(2) && err.contains("bad.toml"),
            "{view}: {err}"
        );
        let out = Out(env
            .cmd(&[view, "--state", "kept.json"])
            .env("TWEET_ATTACKS_CONFIG", env.path("absent.toml"))
            .output()
            .unwrap())
        .fails();
        let err = out.one_error_line();
        assert!(
            err.contains("cannot read config file") && err.contains("absent.toml"),
            "{view}: {err}"
        );
    }
    env.write("default-options.toml", "state = 12\n");
    let out = Out(env
        .cmd(&["export", "--format", "blocklist", "--state", "kept.json"])
        .output()
        .unwrap());
    let err = out.stderr();
    assert!(
        out.code() != Some(0) && err.contains("default-options.toml"),
        "{err}"
    );
}
