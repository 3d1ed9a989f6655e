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

/// The trusted fields journald gives root's sshd under Debian's ssh.service.
const SSHD: &str = r#""_UID":"0","_EXE":"/usr/sbin/sshd","_SYSTEMD_UNIT":"ssh.service""#;

fn entry(cursor: usize, secs: i64, pid: u32, msg: &str) -> String {
    entry_from(SSHD, cursor, secs, pid, msg)
}

/// An entry whose trusted fields (`_UID`, `_EXE`, `_SYSTEMD_UNIT`) are `sender`.
fn entry_from(sender: &str, cursor: usize, secs: i64, pid: u32, msg: &str) -> String {
    format!(
        "{{\"__CURSOR\":\"c{cursor}\",\"__REALTIME_TIMESTAMP\":\"{}000000\",\"_HOSTNAME\":\"web03\",\"SYSLOG_IDENTIFIER\":\"sshd-session\",\"_COMM\":\"sshd-session\",\"_PID\":\"{pid}\",{sender},\"MESSAGE\":\"{msg}\"}}\n",
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
    Out(journal_run(env, &[&["--journal"], extra].concat())
        .output()
        .unwrap())
}

/// `run` with the fake journalctl, to stdout as JSON lines, then `extra`.
fn journal_run(env: &Env, extra: &[&str]) -> Command {
    let mut args = vec![
        "run",
        "--state",
        "state.json",
        "--journalctl",
        "./journalctl",
        "--vsftpd-log",
        "vsftpd.log",
        "--sink",
        "stdout",
        "--json",
    ];
    args.extend_from_slice(extra);
    env.cmd(&args)
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

/// Entries that claim to be sshd but that journald's trusted fields show
/// were not sent by root's sshd are ignored, with one warning; root's sshd,
/// known by its unit or by its root-owned executable, is counted.
#[test]
fn a_forged_journal_entry_is_ignored() {
    use std::os::unix::fs::PermissionsExt;
    let env = journal_env();
    // Executables named like sshd: one root's (as the test runs as root), one a user's.
    for name in ["sbin/sshd-session", "home/sshd"] {
        let path = env.path(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::os::unix::fs::chown(env.path("home/sshd"), Some(1000), Some(1000)).unwrap();
    let own = |name: &str| env.path(name).display().to_string();
    let forged = [
        // `logger -t 'sshd[4242]'` by a user: no exe of sshd's, the user's uid.
        r#""_UID":"1000","_EXE":"/usr/bin/logger","_SYSTEMD_UNIT":"session-3.scope""#.to_string(),
        // A user's program named sshd, and the same user's process left in
        // ssh.service (sshd without pam_systemd).
        format!(r#""_UID":"1000","_EXE":"{}""#, own("home/sshd")),
        r#""_UID":"1000","_SYSTEMD_UNIT":"ssh.service""#.to_string(),
        // Root, but not sshd: a root script echoing what a user wrote.
        r#""_UID":"0","_EXE":"/usr/bin/logger","_SYSTEMD_UNIT":"cron.service""#.to_string(),
        // Root running an sshd that a user can replace.
        format!(r#""_UID":"0","_EXE":"{}""#, own("home/sshd")),
        // No trusted fields at all.
        r#""MESSAGE_ID":"x""#.to_string(),
    ];
    let real = [
        SSHD.to_string(),
        r#""_UID":"0","_EXE":"/usr/sbin/sshd","_SYSTEMD_UNIT":"ssh@3-192.0.2.1:22-203.0.113.9:5555.service""#.to_string(),
        format!(r#""_UID":"0","_EXE":"{}""#, own("sbin/sshd-session")),
        r#""_UID":"0","_EXE":"/usr/sbin/vsftpd (deleted)","_SYSTEMD_UNIT":"vsftpd.service""#.to_string(),
    ];
    let mut j = String::new();
    let mut cursor = 0;
    for sender in forged.iter().chain(&real) {
        for _ in 0..3 {
            let forged_ip = if real.contains(sender) {
                "203.0.113.90"
            } else {
                "192.0.2.77"
            };
            j.push_str(&entry_from(
                sender,
                cursor,
                T0 + cursor as i64,
                800 + cursor as u32,
                &format!("Failed password for root from {forged_ip} port 22 ssh2"),
            ));
            cursor += 1;
        }
    }
    env.write("journal.jsonl", &j);
    env.write("vsftpd.log", "");
    let out = run_journal(&env, &[]).ok();
    let err = out.stderr();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "ignored {} journal attack line(s)",
            3 * forged.len()
        )),
        "{err}"
    );
    assert_eq!(env.tries("203.0.113.90"), 3 * real.len() as u64);
    assert!(
        env.state()["table"]["attackers"]
            .get("192.0.2.77")
            .is_none(),
        "the forged address is not an attacker: {}",
        env.state()
    );
    let ips: Vec<String> = out
        .json_lines()
        .iter()
        .map(|v| v["ip"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ips, ["203.0.113.90"]);
}

/// An entry with `fields` (JSON members, as journalctl prints them) after its cursor and time.
fn raw_entry(cursor: usize, secs: i64, fields: &str) -> String {
    format!(
        "{{\"__CURSOR\":\"c{cursor}\",\"__REALTIME_TIMESTAMP\":\"{secs}000000\",\"_HOSTNAME\":\"web03\",\"_PID\":\"{}\",{fields}}}\n",
        900 + cursor
    )
}

/// A value as journalctl prints one that is not UTF-8: an array of bytes.
fn byte_array(bytes: &[u8]) -> String {
    let list: Vec<String> = bytes.iter().map(|b| b.to_string()).collect();
    format!("[{}]", list.join(","))
}

/// journalctl prints a field as an array of bytes when it is not UTF-8, and
/// as an array of values when the entry repeats it; a local user can do
/// both with a process named sshd. Such entries are read (a MESSAGE in
/// bytes is sshd's line like any other, a forged one is still ignored). An
/// entry that still cannot be read is skipped and counted in one warning,
/// the cursor moves past it, and the entries after it count.
#[test]
fn odd_journal_fields_are_read_and_an_unreadable_entry_is_skipped() {
    let env = journal_env();
    let fail = |ip: &str| format!("Failed password for root from {ip} port 22 ssh2");
    let ident = "\"SYSLOG_IDENTIFIER\":\"sshd-session\",\"_COMM\":\"sshd-session\"";
    let user = r#""_UID":"1000","_EXE":"/home/u/sshd","_COMM":"sshd""#;
    let entries = [
        // A user's process named sshd, its identifier not UTF-8, then repeated.
        format!(
            "{user},\"SYSLOG_IDENTIFIER\":{},\"MESSAGE\":\"{}\"",
            byte_array(b"sshd\xff"),
            fail("192.0.2.77")
        ),
        format!(
            "{user},\"SYSLOG_IDENTIFIER\":[\"sshd\",\"sshd\"],\"MESSAGE\":\"{}\"",
            fail("192.0.2.77")
        ),
        // Root's sshd: a message that is not UTF-8 (a user name chosen by the attacker).
        format!(
            "{SSHD},{ident},\"MESSAGE\":{}",
            byte_array(b"Failed password for invalid user \xff\xfe from 203.0.113.95 port 22 ssh2")
        ),
        // A repeated message: the first value is the line.
        format!(
            "{SSHD},{ident},\"MESSAGE\":[\"{}\",\"x\"]",
            fail("203.0.113.95")
        ),
        // Not a form journalctl has: skipped, and the next entry counts.
        format!("{SSHD},{ident},\"MESSAGE\":{{\"not\":\"a field\"}}"),
        format!("{SSHD},{ident},\"MESSAGE\":\"{}\"", fail("203.0.113.95")),
        // The last entry unreadable: the cursor still moves past it.
        format!("{SSHD},{ident},\"MESSAGE\":[104,\"i\"]"),
    ];
    let j: String = entries
        .iter()
        .enumerate()
        .map(|(i, fields)| raw_entry(i, T0 + i as i64, fields))
        .collect();
    env.write("journal.jsonl", &j);
    let out = run_journal(&env, &[]).ok();
    let err = out.stderr();
    let skipped: Vec<&str> = err.lines().filter(|l| l.contains("skipped")).collect();
    assert_eq!(skipped.len(), 1, "one warning: {err}");
    assert!(
        skipped[0].starts_with("tweet-attacks: warning: the journal: skipped 2 entry(ies)"),
        "{err}"
    );
    assert_eq!(env.tries("203.0.113.95"), 3, "{err}");
    assert!(
        env.state()["table"]["attackers"]
            .get("192.0.2.77")
            .is_none(),
        "a user's sshd is still not believed"
    );
    assert_eq!(env.state()["journal_cursor"], "c6", "past the last entry");
    // Read once: the next run starts after it, and says nothing.
    let out = run_journal(&env, &[]).ok();
    assert_eq!(out.stderr(), "");
    assert_eq!(env.tries("203.0.113.95"), 3);
}

/// A source that fails is shown failing by `status`, not the last good run
/// as "ok"; what the failed run read is not kept, and a good run after it
/// is "ok" again.
#[test]
fn status_shows_a_failing_source_as_failing() {
    let env = journal_env();
    env.write("journal.jsonl", &guesses_json(0, "203.0.113.96", 2, T0));
    run_journal(&env, &[]).ok();
    let status = || {
        let out = Out(env
            .cmd(&["status", "--state", "state.json"])
            .output()
            .unwrap())
        .ok();
        out.stdout()
            .lines()
            .find(|l| l.starts_with("last run"))
            .unwrap()
            .to_string()
    };
    assert!(status().ends_with(", ok"), "{}", status());
    let good = fs::read(env.path("journalctl")).unwrap();
    fs::write(
        env.path("journalctl"),
        "#!/bin/sh\necho 'Failed to open journal: Bad message' >&2\nexit 1\n",
    )
    .unwrap();
    let err = run_journal(&env, &[]).one_error_line();
    assert!(err.contains("Bad message"), "{err}");
    let line = status();
    assert!(
        line.contains("FAILED: ") && line.contains("Bad message"),
        "{line}"
    );
    assert_eq!(env.tries("203.0.113.96"), 2);
    fs::write(env.path("journalctl"), good).unwrap();
    env.append(
        "journal.jsonl",
        &guesses_json(2, "203.0.113.96", 1, T0 + 60),
    );
    run_journal(&env, &[]).ok();
    assert!(status().ends_with(", ok"), "{}", status());
    assert_eq!(env.tries("203.0.113.96"), 3);
}

/// `run` with no sshd source named: the default sshd log is `auth.log` in
/// the temp dir, the journal the fake one, used only while that is missing.
fn run_fallback(env: &Env) -> Out {
    let mut c = journal_run(env, &[]);
    c.env("TWEET_ATTACKS_DEFAULT_AUTH_LOG", env.path("auth.log"));
    Out(c.output().unwrap()).ok()
}

fn status_fallback(env: &Env) -> String {
    let mut c = env.cmd(&["status", "--state", "state.json"]);
    c.env("TWEET_ATTACKS_DEFAULT_AUTH_LOG", env.path("auth.log"));
    Out(c.output().unwrap()).ok().stdout()
}

/// `n` of the journal's guesses from `ip` as auth.log has them, at `t`.
fn guesses_syslog(first_cursor: usize, ip: &str, n: usize, t: i64) -> String {
    (0..n)
        .map(|i| {
            let at = syslog_time(t + i as i64);
            format!(
                "{at} web03 sshd-session[{}]: Failed password for invalid user u{i} from {ip} port 22 ssh2\n",
                700 + first_cursor + i
            )
        })
        .collect()
}

/// `Nov 26 HH:MM:SS` for a time on the tests' day (UTC).
fn syslog_time(t: i64) -> String {
    let day = t % 86_400;
    format!(
        "Nov 26 {:02}:{:02}:{:02}",
        day / 3600,
        day / 60 % 60,
        day % 60
    )
}

#[test]
fn the_journal_fallback_is_said_both_ways_and_counts_each_guess_once() {
    let mut env = journal_env();
    let ip = "203.0.113.70";
    // No auth.log: the journal, said once.
    env.write("journal.jsonl", &guesses_json(0, ip, 4, T0));
    let out = run_fallback(&env);
    assert!(
        out.stderr().contains(
            "no sshd log file here; reading sshd from the journal with ./journalctl from now on"
        ),
        "{}",
        out.stderr()
    );
    assert_eq!(env.tries(ip), 4);
    let status = status_fallback(&env);
    assert!(status.contains("sshd from  the journal ("), "{status}");
    assert!(status.contains("auth.log is missing)\n"), "{status}");
    assert_eq!(run_fallback(&env).stderr(), "", "said once");

    // auth.log is back, with what journald gave it: the four guesses the
    // journal gave, and two more the journal gives on this run.
    env.append("journal.jsonl", &guesses_json(4, ip, 2, T0 + 60));
    let mut log = guesses_syslog(0, ip, 4, T0);
    log += &guesses_syslog(4, ip, 2, T0 + 60);
    env.write("auth.log", &log);
    let status = status_fallback(&env);
    assert!(
        status.contains("sshd from  the journal, until the next run: "),
        "{status}"
    );
    let out = run_fallback(&env);
    assert!(
        out.stderr()
            .contains("auth.log is back; reading sshd from it again from now on, from its end"),
        "{}",
        out.stderr()
    );
    assert_eq!(env.tries(ip), 6, "each guess once, not the file's again");
    assert!(status_fallback(&env).contains("auth.log\n"));
    // From now on the file: its new lines, and nothing said.
    env.append("auth.log", &guesses_syslog(6, ip, 3, T0 + 120));
    env.append("journal.jsonl", &guesses_json(6, ip, 3, T0 + 120));
    let out = run_fallback(&env);
    assert_eq!(out.stderr(), "");
    assert_eq!(env.tries(ip), 9);

    // Gone again, ten minutes later: the journal from the last run on,
    // not the look-back's hour the file already gave.
    fs::remove_file(env.path("auth.log")).unwrap();
    env.now = "2026-11-26T12:10:00Z".into();
    env.append("journal.jsonl", &guesses_json(9, ip, 1, T0 + 1800 + 60));
    let out = run_fallback(&env);
    assert!(
        out.stderr().contains("from the journal"),
        "{}",
        out.stderr()
    );
    assert_eq!(env.tries(ip), 10);
}
