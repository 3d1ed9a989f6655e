//! Small things a newcomer trips over: an empty outbox, `parse` waiting at
//! a terminal, which source `status` reads.

use super::*;

#[test]
fn an_empty_outbox_says_nothing_is_waiting() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.7", 9, 100))
        .write("vsftpd.log", "");
    env.run(&[]).ok();
    let out = Out(env
        .cmd(&["outbox", "--state", "state.json"])
        .output()
        .unwrap())
    .ok();
    assert_eq!(out.stdout(), "nothing waiting\n");
    // --json keeps its shape: empty lists, not words.
    let out = Out(env
        .cmd(&["outbox", "--state", "state.json", "--json"])
        .output()
        .unwrap())
    .ok();
    assert!(!out.stdout().contains("nothing"), "{}", out.stdout());
}

#[test]
fn parse_at_a_terminal_says_it_reads_standard_input() {
    // `script` runs it on a terminal, which ends its input at the Ctrl-D
    // written to script's own stdin.
    let env = Env::new();
    let bin = env!("CARGO_BIN_EXE_tweet-attacks");
    let Ok(mut child) = Command::new("script")
        .args(["-qec", &format!("{bin} parse"), "/dev/null"])
        .current_dir(env.path(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    else {
        return skip("script is not installed (util-linux)");
    };
    child.stdin.take().unwrap().write_all(b"\x04").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("reading the log from standard input"),
        "{text}"
    );
    // From a pipe or /dev/null, as cron and scripts give it: not a word.
    let out = Out(env.cmd(&["parse"]).output().unwrap()).ok();
    assert!(!out.stderr().contains("standard input"), "{}", out.stderr());
}

#[test]
fn status_names_where_sshd_is_read_from() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.7", 9, 100))
        .write("vsftpd.log", "");
    env.run(&[]).ok();
    let status = |opts: &str, json: bool| {
        env.write("opts.toml", opts);
        let mut c = env.cmd(&["status", "--state", "state.json", "--config", "opts.toml"]);
        if json {
            c.arg("--json");
        }
        Out(c.output().unwrap()).ok().stdout()
    };
    let out = status("auth-log = \"auth.log\"\n", false);
    assert!(out.contains("sshd from  auth.log\n"), "{out}");
    // A journalctl that exists, so that the journal is what run would read.
    let journal = "journal = true\njournalctl = \"/bin/true\"\n";
    let out = status(journal, false);
    assert!(out.contains("sshd from  the journal\n"), "{out}");
    let json: Value = serde_json::from_str(&status(journal, true)).unwrap();
    assert_eq!(json["sshd_source"], "the journal");
}

#[test]
fn status_without_options_lists_the_sinks_used_and_a_vsftpd_line() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.7", 9, 100));
    // Run by hand to stdout, and on the default vsftpd log, which is missing.
    let run = || {
        let args = ["run", "--state", "state.json", "--auth-log", "auth.log"];
        Out(env
            .cmd(&[&args[..], &["--sink", "stdout"]].concat())
            .output()
            .unwrap())
        .ok()
    };
    let out = run();
    assert!(out.stdout().contains("203.0.113.7"), "{}", out.stdout());
    let status = || {
        Out(env
            .cmd(&["status", "--state", "state.json"])
            .output()
            .unwrap())
        .ok()
        .stdout()
    };
    let out = status();
    assert!(out.contains("  stdout     0 waiting\n"), "{out}");
    assert!(
        !out.contains("twitter") && !out.contains("posted in 24 h"),
        "{out}"
    );
    let vsftpd = env.path("default-vsftpd.log").display().to_string();
    assert!(
        out.contains(&format!(
            "vsftpd     {vsftpd} (not found: no vsftpd here)\n"
        )),
        "{out}"
    );
    // Once there and read: where the next run reads it from.
    env.write(
        "default-vsftpd.log",
        "Thu Nov 26 10:00:01 2026 [pid 7] [ftp] FAIL LOGIN: Client \"203.0.113.3\"\n",
    );
    run();
    let out = status();
    assert!(
        out.contains(&format!("vsftpd     {vsftpd}, at 72 of 72 bytes\n")),
        "{out}"
    );
    // An options file names the sinks run posts to, before any run used them.
    env.write("opts.toml", "sink = [\"twitter\"]\n");
    let out = Out(env
        .cmd(&["status", "--state", "state.json", "--config", "opts.toml"])
        .output()
        .unwrap())
    .ok()
    .stdout();
    assert!(out.contains("0 of 17 posted in 24 h"), "{out}");
}
