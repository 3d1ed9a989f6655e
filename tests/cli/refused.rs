//! Values and files a run must refuse at once, with one line, leaving the
//! state as it was: a value that would erase history or means nothing, a
//! log that is not a regular file, a state path that is a link.

use super::*;

/// Runs `args` in `env` and returns what it did.
fn output(mut c: Command) -> Out {
    Out(c.output().unwrap())
}

/// A value that would erase the table or means nothing is a usage error on
/// every subcommand, from a flag or the options file alike: status 2, one
/// line naming the option, and the state byte for byte as it was.
#[test]
fn a_value_that_erases_or_means_nothing_is_a_usage_error_and_touches_nothing() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.70", 3, 100));
    env.run(&[]).ok();
    assert_eq!(env.tries("203.0.113.70"), 3);
    // More to read: a run that went ahead would change the state.
    env.append("auth.log", &guesses("203.0.113.70", 3, 200));
    let before = fs::read(env.path("state.json")).unwrap();
    let st = ["--state", "state.json"];
    let cases: Vec<(&str, Command)> = vec![
        ("--retention", env.run_args(&["--retention", "0"])),
        ("--retention", env.run_args(&["--retention", "1s"])),
        ("--retention", env.run_args(&["--retention", "23h"])),
        ("--since", env.run_args(&["--since", "5x"])),
        ("--max-attackers", env.run_args(&["--max-attackers", "0"])),
        ("--ignore", env.run_args(&["--ignore", "not-an-ip"])),
        ("--retention", env.run_args(&["--config", "retention.toml"])),
        ("--max-attackers", env.run_args(&["--config", "max.toml"])),
        (
            "--since",
            env.cmd(&[&["show"][..], &st, &["--since", "5x"]].concat()),
        ),
        (
            "--since",
            env.cmd(&[&["export", "--format", "csv"][..], &st, &["--since", "5x"]].concat()),
        ),
        (
            "post ID",
            env.cmd(&[&["outbox"][..], &st, &["retry", "abc"]].concat()),
        ),
    ];
    env.write("retention.toml", "retention = \"0\"\n");
    env.write("max.toml", "max-attackers = 0\n");
    for (option, c) in cases {
        let what = format!("{:?}", c.get_args().collect::<Vec<_>>());
        let out = output(c);
        let err = out.one_usage_line();
        assert!(err.contains(option), "{what}: names {option}: {err}");
        assert_eq!(out.stdout(), "", "{what}");
        assert_eq!(
            fs::read(env.path("state.json")).unwrap(),
            before,
            "{what}: the state is untouched"
        );
    }
    // A day is the shortest retention: the attacker, 2 h idle, is kept.
    env.run(&["--retention", "1d", "--since", "2h"]).ok();
    assert_eq!(env.tries("203.0.113.70"), 6);
}
