//! What a run must refuse at once, with one line, leaving the state as it
//! was: a value that would erase history or means nothing, and a log that
//! is not a regular file. (A state path that is a link: see `hostile`.)

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
        assert!(
            fs::read(env.path("state.json")).unwrap() == before,
            "{what}: the state is untouched"
        );
    }
    // A day is the shortest retention: the attacker, 2 h idle, is kept.
    env.run(&["--retention", "1d", "--since", "2h"]).ok();
    assert_eq!(env.tries("203.0.113.70"), 6);
}

/// Waits up to `secs` for `child`, then kills it: a run that blocks fails
/// the test instead of hanging it.
fn finish_within(mut child: std::process::Child, secs: u64) -> Option<Out> {
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(secs) {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Some(Out(child.wait_with_output().unwrap()))
}

/// A log that is a FIFO, a device or a folder is an error that names it,
/// at once: the run never waits on it while it holds the state's lock, so
/// the next run goes ahead, and nothing it read is saved.
#[test]
fn a_log_that_is_not_a_regular_file_is_refused_at_once() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.71", 2, 100));
    env.run(&[]).ok();
    fs::create_dir(env.path("folder.log")).unwrap();
    let fifo = env.path("fifo.log");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for (log, kind) in [
        ("fifo.log", "a FIFO"),
        ("/dev/null", "a character device"),
        ("folder.log", "a directory"),
    ] {
        let run = |auth: &str| {
            let mut c = env.cmd(&[
                "run",
                "--state",
                "state.json",
                "--auth-log",
                auth,
                "--vsftpd-log",
                "vsftpd.log",
                "--sink",
                "stdout",
            ]);
            c.stdout(Stdio::piped()).stderr(Stdio::piped());
            finish_within(c.spawn().unwrap(), 5)
        };
        let out = run(log).unwrap_or_else(|| panic!("{log}: the run blocked"));
        let err = out.one_error_line();
        assert!(err.contains(log) && err.contains(kind), "{log}: {err}");
        // Nothing read is kept: only the failed run is recorded, for `status`.
        let st = env.state();
        assert_eq!(st["logs"].as_object().unwrap().len(), 2, "{log}: {st}");
        assert!(
            st["last_run"]["error"].as_str().unwrap().contains(log),
            "{log}"
        );
        assert_eq!(env.tries("203.0.113.71"), 2, "{log}");
        // The next run is not kept waiting for a lock.
        let next = run("auth.log").unwrap_or_else(|| panic!("{log}: the next run waited"));
        assert_eq!(next.code(), Some(0), "{log}: {}", next.stderr());
        assert_eq!(env.tries("203.0.113.71"), 2, "{log}");
    }
}
