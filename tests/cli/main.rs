//! Runs the built binary in a temp dir over real files: the whole pipeline,
//! as cron and an admin at the shell would use it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "../support/fake_x.rs"]
mod fake_x;
#[path = "../support/mmdb.rs"]
mod mmdb;

#[path = "../support/fake_indexnow.rs"]
mod fake_indexnow;

mod admin;
mod credentials;
mod echoes;
mod exactly_once;
mod geoip;
mod hostile;
mod journal;
mod options_file;
mod parked;
mod publish;
mod real;
mod refused;
mod rotation;
mod scale;
mod sinks;
mod site;
mod summary;
mod surprises;
mod survive;
mod terminal;
mod twitter;

const NOW: &str = "2026-11-26T12:00:00Z";

/// A temp dir with logs and a state file, and a way to run the tool on them.
struct Env {
    dir: tempfile::TempDir,
    now: String,
    /// The host's own addresses, as the tool is told them (comma-separated):
    /// none but loopback unless a test sets some, whatever this host has.
    own_addresses: String,
}

impl Env {
    /// `run_on_files` names both logs, and a log named explicitly must
    /// exist: the vsftpd log starts empty, as on a host where FTP is quiet.
    fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
            now: NOW.to_string(),
            own_addresses: String::new(),
        };
        env.write("vsftpd.log", "");
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> &Env {
        fs::write(self.path(name), text).unwrap();
        self
    }

    fn append(&self, name: &str, text: &str) -> &Env {
        let mut f = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(self.path(name))
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
        self
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tweet-attacks"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("TZ", "UTC")
            .env("TWEET_ATTACKS_NOW", &self.now)
            .env("TWEET_ATTACKS_OWN_ADDRESSES", &self.own_addresses)
            // The default vsftpd log, absent: never the host's own.
            .env(
                "TWEET_ATTACKS_DEFAULT_VSFTPD_LOG",
                self.path("default-vsftpd.log"),
            )
            // The default options file, absent: never the host's own.
            .env(
                "TWEET_ATTACKS_DEFAULT_CONFIG",
                self.path("default-options.toml"),
            )
            .env_remove("TWEET_ATTACKS_CONFIG")
            .env_remove("TWITTER_CONSUMER_KEY")
            .stdin(Stdio::null());
        c
    }

    /// `run` on auth.log and vsftpd.log in the temp dir, state in state.json,
    /// followed by `extra`.
    fn run_on_files(&self, extra: &[&str]) -> Command {
        let mut args = vec![
            "run",
            "--state",
            "state.json",
            "--auth-log",
            "auth.log",
            "--vsftpd-log",
            "vsftpd.log",
        ];
        args.extend_from_slice(extra);
        self.cmd(&args)
    }

    /// `run` to the stdout sink on auth.log and vsftpd.log, with the state at `state`.
    fn run_with_state(&self, state: &str) -> Out {
        Out(self
            .cmd(&[
                "run",
                "--state",
                state,
                "--auth-log",
                "auth.log",
                "--vsftpd-log",
                "vsftpd.log",
                "--sink",
                "stdout",
            ])
            .output()
            .unwrap())
    }

    /// `run` to the stdout sink.
    fn run_args(&self, extra: &[&str]) -> Command {
        let mut args = vec!["--sink", "stdout"];
        args.extend_from_slice(extra);
        self.run_on_files(&args)
    }

    fn run(&self, extra: &[&str]) -> Out {
        Out(self.run_args(extra).output().unwrap())
    }

    fn state(&self) -> Value {
        state_of(&self.path("state.json"))
    }

    fn tries(&self, ip: &str) -> u64 {
        attacker_tries(&self.state()["table"]["attackers"][ip])
    }

    /// One field of an attacker in the state file (see `field`).
    fn field(&self, ip: &str, name: &str) -> Value {
        field(&self.state()["table"]["attackers"][ip], name).clone()
    }
}

/// A state file as one object (format 4 read the way any JSON reader can):
/// its last head, with `table.attackers` the newest record of each address
/// across the chunks. Attackers forgotten since the last compaction are
/// still there; `show` and `export` leave them out.
fn state_of(path: &Path) -> Value {
    committed_state(&fs::read(path).unwrap())
}

/// `state_of` for a state file's bytes. A save cut short (killed between
/// syncing its parts and writing its trailer) leaves parts after the last
/// whole trailer: they are cut off first, as loading does.
fn committed_state(bytes: &[u8]) -> Value {
    const TRAILER_LEN: usize = 75;
    let mut bytes = bytes.to_vec();
    if bytes.starts_with(b"{\"version\":4,") && !bytes.ends_with(b"}\n]}\n") {
        let at = bytes
            .windows(7)
            .rposition(|w| w == b"{\"at\":\"")
            .expect("a whole trailer");
        bytes.truncate(at + TRAILER_LEN);
        bytes.extend_from_slice(b"\n]}\n");
    }
    let file: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not a state ({e}), {} bytes", bytes.len()));
    let Some(parts) = file["parts"].as_array() else {
        return file;
    };
    let mut attackers = serde_json::Map::new();
    let mut head = Value::Null;
    for part in parts {
        if let Some(a) = part["attackers"].as_object() {
            attackers.extend(a.clone());
        }
        if part.get("head").is_some() {
            head = part["head"].clone();
        }
        // A tick after the head says the newer run: `[started, seconds,
        // before, posted, error]`, the last two when it has them.
        if let Some(t) = part["tick"].as_array() {
            let started = t[0].as_u64().unwrap_or(0);
            let mut run = serde_json::json!({
                "started": started,
                "ended": started + t[1].as_u64().unwrap_or(0),
                "posted": t.get(3).and_then(Value::as_u64).unwrap_or(0),
            });
            if let Some(e) = t.get(4) {
                run["error"] = e.clone();
            }
            head["last_run"] = run;
        }
    }
    head["table"]["attackers"] = Value::Object(attackers);
    head
}

/// An attacker in the state file (format 2) is an array of these fields,
/// named as format 1 named them; the last four are left out while they
/// hold their defaults.
const FIELDS: [&str; 10] = ["ssh", "s", "f", "l", "u", "h", "ftf", "ftp", "a", "um"];

/// One field of an attacker's entry in the state file (`null` when left out).
fn field<'v>(attacker: &'v Value, name: &str) -> &'v Value {
    let i = FIELDS
        .iter()
        .position(|f| *f == name)
        .expect("a field name");
    &attacker[i]
}

/// An attacker's tries, from its entry in the state file.
fn attacker_tries(attacker: &Value) -> u64 {
    let n = |name| field(attacker, name).as_u64().unwrap_or(0);
    n("ssh") + n("ftf").max(n("ftp"))
}

struct Out(Output);

impl Out {
    fn ok(self) -> Out {
        assert!(
            self.0.status.success(),
            "failed: {:?}\nstderr: {}",
            self.0.status,
            self.stderr()
        );
        self
    }
    fn fails(self) -> Out {
        assert!(
            !self.0.status.success(),
            "unexpected success\nstdout: {}",
            self.stdout()
        );
        self
    }
    fn stdout(&self) -> String {
        String::from_utf8(self.0.stdout.clone()).unwrap()
    }
    fn stderr(&self) -> String {
        String::from_utf8(self.0.stderr.clone()).unwrap()
    }
    fn json_lines(&self) -> Vec<Value> {
        self.stdout()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
    fn code(&self) -> Option<i32> {
        self.0.status.code()
    }

    /// Asserts that no output holds any of `secrets`.
    fn without(self, secrets: &[&str]) -> Out {
        for secret in secrets {
            assert!(
                !self.stdout().contains(secret) && !self.stderr().contains(secret),
                "{secret} leaked:\nstdout: {}\nstderr: {}",
                self.stdout(),
                self.stderr()
            );
        }
        self
    }

    /// A run that succeeded but said one lasting condition: status 0 and
    /// exactly one warning line on stderr, which is returned.
    fn one_notice_line(&self) -> String {
        assert_eq!(self.code(), Some(0), "stderr: {}", self.stderr());
        let err = self.stderr();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("tweet-attacks: warning: "), "{err}");
        err
    }

    /// A failed run: status 1 and exactly one line on stderr, which is returned.
    fn one_error_line(&self) -> String {
        self.one_line_exiting(1)
    }

    /// A value refused as meaningless: status 2 (as clap's own usage
    /// errors) and exactly one line on stderr, which is returned.
    fn one_usage_line(&self) -> String {
        self.one_line_exiting(2)
    }

    fn one_line_exiting(&self, code: i32) -> String {
        assert_eq!(self.code(), Some(code), "stderr: {}", self.stderr());
        let err = self.stderr();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("tweet-attacks: "), "{err}");
        err
    }
}

/// A test that cannot run here (a tool missing, a condition the host does
/// not meet) calls this and returns: elsewhere it says why on stderr, but
/// under CI (`CI` set, as .ci/run sets it) every test must run, so it fails.
fn skip(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "this test must run under CI, but cannot: {why}"
    );
    eprintln!("SKIPPED: {why}");
}

/// Runs `cmd` until it pauses at `point` (the `#N` form allowed), then
/// SIGKILLs it. Returns once it is dead; panics if it never got there.
fn kill_at(env: &Env, mut cmd: Command, point: &str) {
    let mut child = paused_at(env, quiet(&mut cmd), point);
    child.kill().unwrap();
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "killed, not ended: {status}");
}

/// `cmd` with its output thrown away.
fn quiet(cmd: &mut Command) -> &mut Command {
    cmd.stdout(Stdio::null()).stderr(Stdio::null())
}

/// Starts `cmd` (its output as the caller set it up) and returns it, still
/// running, once it has paused at `point`; panics if it never got there.
/// It stays there until killed, or until `resume`.
fn paused_at(env: &Env, cmd: &mut Command, point: &str) -> std::process::Child {
    let file = env.path("paused");
    let _ = fs::remove_file(&file);
    cmd.env("TWEET_ATTACKS_PAUSE_AT", point)
        .env("TWEET_ATTACKS_PAUSE_FILE", &file);
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    while !file.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before it reached {point}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never reached {point}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let name = point.split('#').next().unwrap();
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        name,
        "paused where meant"
    );
    child
}

/// Lets the run that `paused_at` holds go on.
fn resume(env: &Env) {
    fs::remove_file(env.path("paused")).unwrap();
}

/// `n` failed-password guesses from `ip`, one connection per guess.
fn guesses(ip: &str, n: usize, first_pid: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "Nov 26 10:{:02}:{:02} web01 sshd[{}]: Failed password for invalid user u{i} from {ip} port {} ssh2\n",
                i / 60 % 60,
                i % 60,
                first_pid + i,
                40000 + i
            )
        })
        .collect()
}

#[test]
fn threshold_crossed_once_across_runs() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.5", 5, 100));
    let out = env.run(&["--json"]).ok();
    assert_eq!(out.stdout(), "", "5 tries do not exceed the threshold of 5");
    assert_eq!(out.stderr(), "", "a healthy run says nothing");
    assert_eq!(env.tries("203.0.113.5"), 5);

    env.append("auth.log", &guesses("203.0.113.5", 1, 200));
    let out = env.run(&["--json"]).ok();
    let posts = out.json_lines();
    assert_eq!(posts.len(), 1, "the 6th try makes it due");
    assert_eq!(posts[0]["ip"], "203.0.113.5");
    assert_eq!(posts[0]["tries"], 6);
    assert_eq!(posts[0]["services"], serde_json::json!(["sshd"]));
    // u0…u4 are no bot's dictionary words: counted, never shown.
    assert_eq!(posts[0]["users"], serde_json::json!([]));
    assert_eq!(posts[0]["users_more"], 5);
    assert!(posts[0]["text"].as_str().unwrap().contains("203.0.113.5"));
    assert!(env.field("203.0.113.5", "a").is_i64());

    env.append("auth.log", &guesses("203.0.113.5", 3, 300));
    let out = env.run(&["--json"]).ok();
    assert_eq!(out.stdout(), "", "announced once, never again");
    assert_eq!(env.tries("203.0.113.5"), 9, "every try still counted");
}

#[test]
fn offsets_carry_across_runs_and_partial_lines_wait() {
    let env = Env::new();
    let lines = guesses("198.51.100.7", 3, 100);
    let (whole, partial) = lines.split_at(lines.len() - 20);
    env.write("auth.log", whole);
    env.run(&[]).ok();
    assert_eq!(
        env.tries("198.51.100.7"),
        2,
        "the unterminated third line waits"
    );
    let offset = env.state()["logs"]["auth.log"]["offset"].as_u64().unwrap();
    assert_eq!(offset as usize, whole.rfind('\n').unwrap() + 1);

    env.append("auth.log", partial);
    env.run(&[]).ok();
    assert_eq!(
        env.tries("198.51.100.7"),
        3,
        "the completed line is read once"
    );
    env.run(&[]).ok();
    assert_eq!(env.tries("198.51.100.7"), 3, "nothing is read twice");
}

#[test]
fn truncation_is_read_from_the_start() {
    let env = Env::new();
    env.write("auth.log", &guesses("198.51.100.8", 4, 100));
    env.run(&[]).ok();
    // copytruncate, then more attacks than before: longer than the old offset.
    env.write("auth.log", &guesses("192.0.2.9", 6, 500));
    let out = env.run(&[]).ok();
    assert!(out.stderr().contains("truncated"), "{}", out.stderr());
    assert_eq!(env.tries("192.0.2.9"), 6);
    assert_eq!(env.tries("198.51.100.8"), 4);
    assert!(out.stdout().contains("192.0.2.9"));
}

#[test]
fn rotation_reads_the_old_tail_then_the_new_file() {
    let env = Env::new();
    env.write("auth.log", &guesses("198.51.100.9", 2, 100));
    env.run(&[]).ok();
    env.append("auth.log", &guesses("198.51.100.9", 2, 200));
    fs::rename(env.path("auth.log"), env.path("auth.log.1")).unwrap();
    env.write("auth.log", &guesses("198.51.100.9", 3, 300));
    let out = env.run(&["--json"]).ok();
    assert_eq!(env.tries("198.51.100.9"), 7, "{}", out.stderr());
    assert_eq!(out.json_lines()[0]["tries"], 7);
}

#[test]
fn dry_run_prints_but_leaves_state_byte_identical() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.10", 3, 100));
    env.run(&[]).ok();
    let before = fs::read(env.path("state.json")).unwrap();
    env.append("auth.log", &guesses("203.0.113.10", 5, 200));
    let out = env.run(&["--dry-run"]).ok();
    assert!(out.stdout().contains("203.0.113.10"), "{}", out.stdout());
    assert_eq!(fs::read(env.path("state.json")).unwrap(), before);
    // And the real run afterwards still publishes it.
    let out = env.run(&[]).ok();
    assert!(out.stdout().contains("203.0.113.10"));
}

#[test]
fn corrupt_state_is_refused_and_kept() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.11", 9, 100));
    env.write("state.json", "{\"version\": 1, \"logs\": {");
    let out = env.run(&[]).fails();
    assert_eq!(out.code(), Some(1));
    let err = out.stderr();
    assert!(err.contains("state.json"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert_eq!(out.stdout(), "", "nothing published");
    assert_eq!(
        fs::read_to_string(env.path("state.json")).unwrap(),
        "{\"version\": 1, \"logs\": {"
    );
}

/// A block of stored attackers that fails its checksum is found only when
/// it is read: every view that reads the table says so at its end, and
/// shows nothing as if it were the whole table.
#[test]
fn a_corrupt_block_fails_every_view_that_reads_it() {
    let env = Env::new();
    let log: String = (0..80)
        .map(|i| guesses(&format!("203.0.113.{i}"), 2, 1000 + i * 10))
        .collect();
    env.write("auth.log", &log);
    env.run(&["--sink", "stdout"]).ok();
    // One digit of one attacker's record, inside its block: the JSON stays
    // whole, the block's checksum does not.
    let mut bytes = fs::read(env.path("state.json")).unwrap();
    let key = b"\"203.0.113.40\":[";
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .expect("the record")
        + key.len();
    let digit = at + bytes[at..].iter().position(u8::is_ascii_digit).unwrap();
    bytes[digit] = if bytes[digit] == b'7' { b'8' } else { b'7' };
    fs::write(env.path("state.json"), &bytes).unwrap();
    for args in [
        &["show", "--state", "state.json"][..],
        &["show", "--state", "state.json", "--json"],
        &["export", "--state", "state.json", "--format", "csv"],
        &["status", "--state", "state.json"],
    ] {
        let out = Out(env.cmd(args).output().unwrap()).fails();
        assert!(
            out.stderr().contains("is corrupt"),
            "{args:?}: {}",
            out.stderr()
        );
    }
    assert_eq!(
        fs::read(env.path("state.json")).unwrap(),
        bytes,
        "left untouched"
    );
}

#[test]
fn unreadable_log_is_an_error_naming_it() {
    let env = Env::new();
    fs::create_dir(env.path("auth.log")).unwrap();
    let out = env.run(&[]).fails();
    assert!(out.stderr().contains("auth.log"), "{}", out.stderr());
    assert!(
        !env.path("state.json").exists(),
        "no state saved after a failed read"
    );
}

#[test]
fn overlapping_runs_count_and_publish_once() {
    let env = Env::new();
    let mut log = String::new();
    for i in 0..60 {
        log.push_str(&guesses(&format!("203.0.113.{i}"), 8, 1000 + i * 10));
    }
    env.write("auth.log", &log);
    // The first run, held inside its read: it has taken the lock.
    let mut first = env.run_args(&[]);
    first.stdout(Stdio::piped()).stderr(Stdio::piped());
    let first = paused_at(&env, &mut first, "read:event");
    // A run meanwhile is refused once its wait for the lock is over…
    let refused = env.run(&["--lock-wait", "0.3"]);
    assert_eq!(refused.code(), Some(75), "{}", refused.stderr());
    assert_eq!(refused.stdout(), "", "refused before reading anything");
    // …and one that waits long enough runs after the first.
    let mut second = env
        .run_args(&[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        second.try_wait().unwrap().is_none(),
        "the second run waits for the first"
    );
    resume(&env);
    let (first, second) = (
        Out(first.wait_with_output().unwrap()).ok(),
        Out(second.wait_with_output().unwrap()).ok(),
    );
    assert_eq!(
        first.stdout().lines().count(),
        60,
        "the first run publishes every attacker"
    );
    assert_eq!(second.stdout(), "", "and the second none of them again");
    for i in 0..60 {
        assert_eq!(env.tries(&format!("203.0.113.{i}")), 8);
    }
}

#[test]
fn a_held_lock_exits_75() {
    let env = Env::new();
    let lock = fs::File::create(env.path("state.json.lock")).unwrap();
    lock.lock().unwrap();
    let out = env.run(&["--lock-wait", "0.2"]).fails();
    assert_eq!(out.code(), Some(75));
    assert!(out.stderr().contains("lock"), "{}", out.stderr());
    assert_eq!(out.stderr().lines().count(), 1);
}

#[test]
fn ignored_and_loopback_addresses_are_never_announced() {
    let env = Env::new();
    let mut log = guesses("127.0.0.1", 9, 100);
    log.push_str(&guesses("192.0.2.50", 9, 200));
    log.push_str(&guesses("2001:db8::7", 9, 300));
    log.push_str(&guesses("198.51.100.50", 9, 400));
    env.write("auth.log", &log);
    let out = env
        .run(&[
            "--json",
            "--ignore",
            "192.0.2.0/24",
            "--ignore",
            "2001:db8::/32",
        ])
        .ok();
    let ips: Vec<String> = out
        .json_lines()
        .iter()
        .map(|v| v["ip"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ips, ["198.51.100.50"]);
    let out = env.run(&["--ignore", "not-an-ip"]).fails();
    assert!(out.stderr().contains("not-an-ip"));
}

#[test]
fn vsftpd_log_counts_fail_logins() {
    let env = Env::new();
    env.write("auth.log", "");
    let mut log = String::new();
    for i in 0..7 {
        log.push_str(&format!(
            "Thu Nov 26 10:00:{i:02} 2026 [pid 77] [user{i}] FAIL LOGIN: Client \"::ffff:198.51.100.77\"\n"
        ));
    }
    env.write("vsftpd.log", &log);
    let out = env.run(&["--json"]).ok();
    let posts = out.json_lines();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["ip"], "198.51.100.77");
    assert_eq!(posts[0]["tries"], 7);
    assert_eq!(posts[0]["services"], serde_json::json!(["vsftpd"]));
}

#[test]
fn replay_reads_stdin_and_files_and_never_writes() {
    let env = Env::new();
    env.write("a.log", &guesses("203.0.113.20", 4, 100));
    let mut child = env
        .cmd(&["replay", "--json", "a.log", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let rest = guesses("203.0.113.20", 3, 200);
    // The piped input ends without a newline: a whole-file replay still reads it.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(rest.trim_end().as_bytes())
        .unwrap();
    let out = Out(child.wait_with_output().unwrap()).ok();
    let posts = out.json_lines();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["tries"], 7);
    assert_eq!(
        fs::read_dir(env.dir.path()).unwrap().count(),
        2,
        "only a.log, and the empty vsftpd.log every Env starts with"
    );
}

#[test]
fn parse_prints_one_object_per_failed_login() {
    let env = Env::new();
    env.write(
        "mixed.log",
        "Nov 26 10:00:00 web01 CRON[1]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)\n\
         Nov 26 10:00:01 web01 sshd[5]: message repeated 3 times: [ Failed password for root from 203.0.113.1 port 22 ssh2]\n\
         2026-11-26T10:15:01.123456+00:00 host.example.org sshd-session[6]: Invalid user \x1b[31mevil from ::ffff:203.0.113.2 port 22\n\
         Thu Nov 26 10:15:02 2026 [pid 7] [ftp] FAIL LOGIN: Client \"203.0.113.3\"\n",
    );
    let out = Out(env.cmd(&["parse", "mixed.log"]).output().unwrap()).ok();
    let rows = out.json_lines();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["line"], 2);
    assert_eq!(rows[0]["service"], "sshd");
    assert_eq!(rows[0]["event"], "failed_password");
    assert_eq!(rows[0]["count"], 3);
    assert_eq!(rows[0]["user"], "root");
    assert_eq!(rows[0]["host"], "web01");
    assert_eq!(rows[0]["time"], "2026-11-26T10:00:01Z");
    assert_eq!(rows[1]["ip"], "203.0.113.2");
    assert_eq!(rows[1]["event"], "invalid_user");
    assert_eq!(
        rows[1]["user"], "\\x1b[31mevil",
        "escapes never reach the terminal"
    );
    assert_eq!(rows[1]["time"], "2026-11-26T10:15:01Z");
    assert_eq!(rows[2]["service"], "vsftpd");
    assert_eq!(rows[2]["host"], Value::Null);
    assert!(!out.stdout().contains('\x1b'));
}

#[test]
fn show_lists_most_tries_first() {
    let env = Env::new();
    let mut log = guesses("203.0.113.30", 2, 100);
    log.push_str(&guesses("203.0.113.31", 7, 200));
    env.write("auth.log", &log);
    env.run(&[]).ok();
    let out = Out(env
        .cmd(&["show", "--state", "state.json", "--json"])
        .output()
        .unwrap())
    .ok();
    let rows = out.json_lines();
    assert_eq!(rows[0]["ip"], "203.0.113.31");
    assert_eq!(rows[0]["tries"], 7);
    assert!(rows[0]["announced"].is_string());
    assert_eq!(rows[1]["ip"], "203.0.113.30");
    assert_eq!(rows[1]["announced"], Value::Null);
    assert!(rows[1]["users"].is_array());
    let out = Out(env
        .cmd(&["show", "--state", "state.json"])
        .output()
        .unwrap())
    .ok();
    assert!(
        out.stdout()
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("203.0.113.31")
    );
    let out = Out(env.cmd(&["show", "--state", "nope.json"]).output().unwrap()).fails();
    assert!(out.stderr().contains("nope.json"));
}

#[test]
fn show_fits_the_terminal_and_wide_or_json_give_everything() {
    let env = Env::new();
    env.write("auth.log", &guesses("203.0.113.31", 40, 100));
    env.run(&[]).ok();
    let show = |args: &[&str], columns: Option<&str>| {
        let mut all = vec!["show", "--state", "state.json"];
        all.extend(args);
        let mut c = env.cmd(&all);
        match columns {
            Some(n) => c.env("COLUMNS", n),
            None => c.env_remove("COLUMNS"),
        };
        Out(c.output().unwrap()).ok().stdout().to_string()
    };
    let row = |out: &str| out.lines().nth(1).unwrap().to_string();
    let narrow = show(&[], None);
    assert!(narrow.lines().all(|l| l.chars().count() <= 80), "{narrow}");
    let cut = row(&narrow);
    assert!(cut.starts_with("203.0.113.31"), "{cut}");
    assert!(
        cut.contains("u0,") && cut.contains(" +"),
        "cut with +N: {cut}"
    );
    let wider = row(&show(&[], Some("120")));
    assert!(
        wider.chars().count() <= 120 && wider.len() > cut.len(),
        "{wider}"
    );
    let wide = row(&show(&["--wide"], Some("80")));
    assert!(wide.contains("2026-11-26T10:00:39Z"), "full times: {wide}");
    let rows = Out(env
        .cmd(&["show", "--state", "state.json", "--json"])
        .env("COLUMNS", "40")
        .output()
        .unwrap())
    .ok()
    .json_lines();
    let users = rows[0]["users"].as_array().unwrap();
    let more = rows[0]["users_more"].as_u64().unwrap();
    assert_eq!(users.len() as u64 + more, 40);
    let names = users
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect::<Vec<_>>();
    let listed = format!("{} +{more}", names.join(","));
    assert!(wide.ends_with(&listed), "every name: {wide}");
}

#[test]
fn export_writes_each_format_atomically() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let mut log = guesses("203.0.113.40", 7, 100);
    log.push_str(&guesses("203.0.113.41", 2, 200));
    env.write("auth.log", &log);
    env.run(&[]).ok();
    let out = Out(env
        .cmd(&["export", "--state", "state.json", "--format", "blocklist"])
        .output()
        .unwrap())
    .ok();
    assert_eq!(
        out.stdout(),
        "203.0.113.40\n",
        "more than the threshold's 5 tries"
    );
    let out = Out(env
        .cmd(&[
            "export",
            "--state",
            "state.json",
            "--format",
            "blocklist",
            "--min-tries",
            "2",
        ])
        .output()
        .unwrap())
    .ok();
    assert_eq!(out.stdout(), "203.0.113.40\n203.0.113.41\n");
    Out(env
        .cmd(&[
            "export",
            "--state",
            "state.json",
            "--format",
            "atom",
            "--out",
            "feed.xml",
        ])
        .output()
        .unwrap())
    .ok();
    let feed = fs::read_to_string(env.path("feed.xml")).unwrap();
    assert_eq!(
        feed.matches("<entry>").count(),
        1,
        "only the announced attacker"
    );
    assert!(feed.contains("203.0.113.40"));
    let mode = fs::metadata(env.path("feed.xml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644, "a web server may read it");
    let names: Vec<String> = fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains("feed.xml.")),
        "no temp file left: {names:?}"
    );
    let out = Out(env
        .cmd(&[
            "export",
            "--state",
            "state.json",
            "--format",
            "csv",
            "--since",
            "1h",
        ])
        .output()
        .unwrap())
    .ok();
    assert_eq!(
        out.stdout().lines().count(),
        1,
        "header only: the guesses are 2 h old"
    );
    let out = Out(env
        .cmd(&["export", "--state", "state.json", "--format", "json"])
        .output()
        .unwrap())
    .ok();
    let v: Value = serde_json::from_str(&out.stdout()).unwrap();
    assert_eq!(v[0]["tries"], 7);

    // Each format, paused once it has written and synced its temp file: the
    // old export is still whole at the target, the temp file beside it holds
    // the new one, and only the rename puts that in place.
    for format in ["blocklist", "csv", "json", "atom"] {
        let target = format!("out.{format}");
        let args = [
            "export",
            "--state",
            "state.json",
            "--format",
            format,
            "--out",
            &target,
        ];
        env.write(&target, "the old export\n");
        let mut child = paused_at(&env, quiet(&mut env.cmd(&args)), "save:synced");
        let before = fs::read_to_string(env.path(&target)).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(
            before, "the old export\n",
            "{format}: written before the rename"
        );
        let temps: Vec<PathBuf> = fs::read_dir(env.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.starts_with(&format!(".{target}.")) && name.ends_with(".tmp")
            })
            .collect();
        assert_eq!(temps.len(), 1, "{format}: {temps:?}");
        let written = fs::read(&temps[0]).unwrap();
        fs::remove_file(&temps[0]).unwrap();
        let to_stdout = Out(env.cmd(&args[..5]).output().unwrap()).ok();
        assert_eq!(written, to_stdout.0.stdout, "{format}: the whole export");
        Out(env.cmd(&args).output().unwrap()).ok();
        assert_eq!(fs::read(env.path(&target)).unwrap(), written, "{format}");
    }
}

#[test]
fn replay_reads_rotated_gzip_files() {
    let env = Env::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(guesses("203.0.113.60", 4, 100).as_bytes())
        .unwrap();
    fs::write(env.path("auth.log.2.gz"), gz.finish().unwrap()).unwrap();
    env.write("auth.log.1", &guesses("203.0.113.60", 3, 200));
    let out = Out(env
        .cmd(&["replay", "--json", "auth.log.2.gz", "auth.log.1"])
        .output()
        .unwrap())
    .ok();
    let posts = out.json_lines();
    assert_eq!(posts.len(), 1, "{}", out.stderr());
    assert_eq!(posts[0]["tries"], 7);
    assert_eq!(
        out.stderr(),
        "tweet-attacks: 7 lines read, 7 recognised, 1 attackers, 7 tries\n",
        "no progress bar when stderr is not a terminal: the summary alone"
    );
}

#[test]
fn central_syslog_posts_say_how_many_servers_were_hit() {
    let env = Env::new();
    let mut log = guesses("203.0.113.80", 4, 100);
    log.push_str(&guesses("203.0.113.80", 3, 100).replace(" web01 ", " db02 "));
    env.write("all.log", &log);
    let out = Out(env.cmd(&["replay", "--json", "all.log"]).output().unwrap()).ok();
    let posts = out.json_lines();
    assert_eq!(posts[0]["tries"], 7);
    assert!(
        posts[0]["text"]
            .as_str()
            .unwrap()
            .contains("Hit 2 of our servers."),
        "{}",
        posts[0]["text"]
    );
}

#[test]
fn bundled_examples_announce_the_three_attackers() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let env = Env::new();
    let out = Out(env
        .cmd(&["replay", "--json"])
        .arg(root.join("examples/auth.log"))
        .arg(root.join("examples/vsftpd.log"))
        .output()
        .unwrap())
    .ok();
    let ips: Vec<String> = out
        .json_lines()
        .iter()
        .map(|v| v["ip"].as_str().unwrap().to_string())
        .collect();
    // The IPv6 attacker is counted and named as its /64.
    assert_eq!(ips, ["203.0.113.45", "198.51.100.77", "2001:db8:bad:1::"]);
}
