//! The journald source, against a fake journalctl that serves JSON lines.

use super::*;

/// A fake journalctl: prints the entries of journal.jsonl after --after-cursor
/// (failing like the real one for an unknown cursor) or from --since=@SECS,
/// and records its arguments in journalctl.args.
const FAKE_JOURNALCTL: &str = r#"#!/bin/sh
dir=$(dirname "$0")
echo "$@" >> "$dir/journalctl.args"
after=""; since=""
for a in "$@"; do
  case "$a" in
    --after-cursor=*) after=${a#--after-cursor=} ;;
    --since=@*) since=${a#--since=@} ;;
  esac
done
if [ -n "$after" ] && ! grep -q "\"__CURSOR\":\"$after\"" "$dir/journal.jsonl"; then
  echo "Failed to seek to cursor: Invalid argument" >&2; exit 1
fi
awk -v after="$after" -v since="$since" '
  { match($0, /"__CURSOR":"[^"]*"/); c = substr($0, RSTART + 12, RLENGTH - 13)
    match($0, /"__REALTIME_TIMESTAMP":"[0-9]*"/); t = substr($0, RSTART + 24, RLENGTH - 25) / 1000000 }
  after != "" { if (seen) print; if (c == after) seen = 1; next }
  since != "" && t < since { next }
  { print }' "$dir/journal.jsonl"
"#;

fn entry(cursor: usize, secs: i64, pid: u32, msg: &str) -> String {
    format!(
        "{{\"__CURSOR\":\"c{cursor}\",\"__REALTIME_TIMESTAMP\":\"{}000000\",\"_HOSTNAME\":\"web03\",\"SYSLOG_IDENTIFIER\":\"sshd-session\",\"_COMM\":\"sshd-session\",\"_PID\":\"{pid}\",\"MESSAGE\":\"{msg}\"}}\n",
        secs
    )
}

/// 2026-11-26T11:30:00Z, half an hour before the tests' now.
const T0: i64 = 1_795_692_600;

fn journal_env() -> Env {
    let env = Env::new();
    let fake = env.path("journalctl");
    fs::write(&fake, FAKE_JOURNALCTL).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    env
}

fn guesses_json(first_cursor: usize, ip: &str, n: usize, t: i64) -> String {
    (0..n)
        .map(|i| {
            entry(
                first_cursor + i,
                t + i as i64,
                700 + (first_cursor + i) as u32,
                &format!("Failed password for invalid user u{i} from {ip} port 22 ssh2"),
            )
        })
        .collect()
}

fn run_journal(env: &Env, extra: &[&str]) -> Out {
    let mut args = vec![
        "run",
        "--state",
        "state.json",
        "--journal",
        "--journalctl",
        "./journalctl",
        "--vsftpd-log",
        "vsftpd.log",
        "--sink",
        "stdout",
        "--json",
    ];
    args.extend_from_slice(extra);
    Out(env.cmd(&args).output().unwrap())
}

#[test]
fn the_journal_is_read_after_its_cursor() {
    let env = journal_env();
    // One entry from before the one-hour look-back, then four recent guesses.
    let mut j = guesses_json(0, "203.0.113.70", 1, T0 - 3 * 3600);
    j.push_str(&guesses_json(1, "203.0.113.70", 4, T0));
    env.write("journal.jsonl", &j);
    let out = run_journal(&env, &[]).ok();
    assert_eq!(out.stdout(), "");
    assert_eq!(
        env.tries("203.0.113.70"),
        4,
        "the old entry is before the look-back"
    );
    assert_eq!(env.state()["journal_cursor"], "c4");
    let args = fs::read_to_string(env.path("journalctl.args")).unwrap();
    assert!(args.contains("--output=json"), "{args}");
    assert!(
        args.contains("_COMM=sshd + _COMM=sshd-session + _COMM=vsftpd"),
        "{args}"
    );
    assert!(
        args.contains(&format!("--since=@{}", T0 + 1800 - 3600)),
        "{args}"
    );

    env.append(
        "journal.jsonl",
        &guesses_json(5, "203.0.113.70", 3, T0 + 60),
    );
    let out = run_journal(&env, &[]).ok();
    assert_eq!(
        env.tries("203.0.113.70"),
        7,
        "only the new entries: {}",
        out.stderr()
    );
    assert_eq!(out.json_lines()[0]["ip"], "203.0.113.70");
    assert!(
        fs::read_to_string(env.path("journalctl.args"))
            .unwrap()
            .contains("--after-cursor=c4")
    );
    assert_eq!(env.state()["journal_cursor"], "c7");
}

#[test]
fn a_vacuumed_cursor_falls_back_to_the_look_back() {
    let env = journal_env();
    env.write("journal.jsonl", &guesses_json(0, "203.0.113.71", 2, T0));
    run_journal(&env, &[]).ok();
    // journald rotated: the saved cursor c1 is gone.
    env.write(
        "journal.jsonl",
        &guesses_json(50, "203.0.113.71", 2, T0 + 600),
    );
    let out = run_journal(&env, &[]).ok();
    assert!(
        out.stderr().contains("no longer has the saved cursor"),
        "{}",
        out.stderr()
    );
    assert_eq!(env.tries("203.0.113.71"), 4);
    assert_eq!(env.state()["journal_cursor"], "c51");
}

#[test]
fn a_failing_journalctl_is_an_error_and_saves_nothing() {
    let env = journal_env();
    fs::write(
        env.path("journalctl"),
        "#!/bin/sh\necho 'No journal files were found.' >&2\nexit 1\n",
    )
    .unwrap();
    let out = run_journal(&env, &[]).fails();
    assert!(
        out.stderr().contains("No journal files were found"),
        "{}",
        out.stderr()
    );
    assert!(!env.path("state.json").exists());
}
