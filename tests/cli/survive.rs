//! What the tool survives: compressed rotation, kills at any point, a state
//! that cannot be saved, hostile bytes. Runs the built binary, like main.rs.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::*;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// logrotate with `compress` and without `delaycompress`: rename the log, create
/// the new one, compress the old one to `rotated` and delete it.
fn rotate_compressed(env: &Env, rotated: &str, new_text: &str, gz: Option<&[u8]>) {
    fs::rename(env.path("auth.log"), env.path("auth.log.1")).unwrap();
    env.write("auth.log", new_text);
    let old = fs::read(env.path("auth.log.1")).unwrap();
    let bytes = gz.map(<[u8]>::to_vec).unwrap_or_else(|| gzip(&old));
    fs::write(env.path(rotated), bytes).unwrap();
    fs::remove_file(env.path("auth.log.1")).unwrap();
}

// ---------------------------------------------------------------------------
// Compressed rotation

#[test]
fn compressed_rotation_reads_the_unread_tail() {
    for rotated in ["auth.log.1.gz", "auth.log-20261126.gz"] {
        let env = Env::new();
        env.write("vsftpd.log", "");
        env.write("auth.log", &guesses("198.51.100.90", 2, 100));
        env.run(&[]).ok();
        // Written after our run, before the rotation: only in the .gz now.
        env.append("auth.log", &guesses("198.51.100.90", 2, 200));
        rotate_compressed(&env, rotated, &guesses("198.51.100.90", 3, 300), None);
        let out = env.run(&["--json"]).ok();
        assert_eq!(env.tries("198.51.100.90"), 7, "{rotated}: {}", out.stderr());
        assert_eq!(out.json_lines()[0]["tries"], 7);
        assert_eq!(
            out.stderr(),
            "",
            "a rotation is routine: nothing for cron to mail"
        );
        // And nothing is read twice afterwards.
        env.run(&[]).ok();
        assert_eq!(env.tries("198.51.100.90"), 7);
    }
}

#[test]
fn compressed_rotation_that_cannot_be_read_warns_once_with_the_offset() {
    let env = Env::new();
    env.write("vsftpd.log", "");
    let first = guesses("198.51.100.91", 2, 100);
    env.write("auth.log", &first);
    env.run(&[]).ok();
    env.append("auth.log", &guesses("198.51.100.91", 2, 200));
    // Cut short: compressing stopped halfway, before the unread tail.
    let mut broken = gzip(b"nothing of ours");
    broken.truncate(10);
    rotate_compressed(
        &env,
        "auth.log.1.gz",
        &guesses("198.51.100.91", 3, 300),
        Some(&broken),
    );
    let out = env.run(&[]).ok();
    let err = out.stderr();
    assert_eq!(err.lines().count(), 1, "warned once: {err}");
    assert!(err.contains("warning: auth.log was replaced"), "{err}");
    assert!(err.contains("auth.log.1.gz"), "names the copy: {err}");
    assert!(
        err.contains(&format!("after byte {}", first.len())),
        "says where the skipped bytes start: {err}"
    );
    assert!(err.contains("unknown"), "says their size is unknown: {err}");
    assert_eq!(env.tries("198.51.100.91"), 5, "the new file is still read");
}

// ---------------------------------------------------------------------------
// Termination

/// xorshift64*: reproducible from its seed. The seed is fixed, so every run
/// of the test kills at the same points; SURVIVE_SEED explores others.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("SURVIVE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(20_261_126);
        eprintln!("SURVIVE_SEED={seed}");
        Rng(seed | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// The `i`th address of 2001:db8::/32, as the state file writes it.
fn doc_v6(i: usize) -> String {
    // The first of a /64 of its own: IPv6 is counted per /64, under that address.
    std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, i as u16, 0, 0, 0, 0).to_string()
}

/// Every attacker's tries in a state file's table.
fn all_tries(state: &Value) -> BTreeMap<String, u64> {
    state["table"]["attackers"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(ip, a)| (ip.clone(), attacker_tries(a)))
                .collect()
        })
        .unwrap_or_default()
}

/// Temp files beside the state: a compaction killed before its rename leaves one.
fn temps(env: &Env) -> usize {
    fs::read_dir(env.path("."))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.starts_with(".state.json.") && name.ends_with(".tmp")
        })
        .count()
}

/// The IPv4 addresses a post names.
fn named_ips(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|w| w.trim_matches('.'))
        .filter(|w| w.matches('.').count() == 3)
        .map(str::to_string)
        .collect()
}

/// A fake X that answers `POST /2/tweets` as X does: 201 with a new id for
/// a text not posted before, 403 duplicate for one that was.
struct LikeX {
    fake: fake_x::FakeX,
    accepted: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl LikeX {
    fn start() -> LikeX {
        let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let seen = accepted.clone();
        let fake = fake_x::FakeX::serve_with(Some(fake_x::KEYS), move |req| {
            if (req.method.as_str(), req.path()) != ("POST", "/2/tweets") {
                return None;
            }
            let mut accepted = seen.lock().unwrap();
            let text = req.text();
            Some(if accepted.contains(&text) {
                fake_x::Reply::duplicate()
            } else {
                accepted.push(text);
                fake_x::Reply::created(&(1000 + accepted.len()).to_string())
            })
        });
        LikeX { fake, accepted }
    }
    fn url(&self) -> &str {
        self.fake.url()
    }
    /// The texts it accepted (answered 201), in order.
    fn posted(&self) -> Vec<String> {
        self.accepted.lock().unwrap().clone()
    }
    fn requests(&self) -> Vec<fake_x::Seen> {
        self.fake.requests()
    }
}

/// Runs killed (SIGKILL, or SIGTERM) while paused inside reading, saving
/// and posting to a fake X that answers as X does: each kill lands at its
/// point, the state file is the old one or the new one, never a mix; once a
/// clean run follows, every try is counted exactly once, the outbox is
/// empty, and every attacker was accepted by X exactly once.
#[test]
fn kills_inside_reading_saving_and_posting_lose_nothing_and_post_nothing_twice() {
    use std::os::unix::process::ExitStatusExt;
    let env = Env::new();
    let x = LikeX::start();
    let mut rng = Rng::new();
    env.write("vsftpd.log", "");
    // A table of attackers under the threshold, so that loading and saving have work to do.
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut log = String::new();
    for i in 0..2000 {
        let ip = doc_v6(i);
        log.push_str(&guesses(&ip, 1, 10_000 + i));
        expected.insert(ip, 1);
    }
    env.write("auth.log", &log);
    let noise = "Nov 26 10:00:00 web01 CRON[1]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)\n"
        .repeat(500);
    let run = || {
        let mut c = env.run_on_files(&[
            "--sink",
            "twitter",
            "--twitter-api-url",
            x.url(),
            "--max-posts-per-day",
            "1000",
        ]);
        c.envs(fake_x::KEYS.env());
        c
    };
    Out(run().output().unwrap()).ok();

    let points = [
        "read:event",
        "save:synced",
        "save:committed",
        "post:answered",
    ];
    let mut announced: Vec<String> = Vec::new();
    let mut landed = BTreeMap::<String, u32>::new();
    let mut pid = 100_000;
    for round in 0..40 {
        // Three new attackers that cross the threshold, between noise, and
        // one more try from each earlier one: a post that a kill left
        // unrecorded must be sent again as it was queued, not redone with
        // the new count (X would take that as a second post).
        let mut chunk = noise.clone();
        let mut events = 0;
        for ip in &announced {
            chunk.push_str(&guesses(ip, 1, pid));
            pid += 1;
            events += 1;
            *expected.get_mut(ip).unwrap() += 1;
        }
        for k in 0..3 {
            let ip = format!("198.51.100.{}", 3 * round + k + 1);
            chunk.push_str(&guesses(&ip, 6, pid));
            pid += 6;
            events += 6;
            expected.insert(ip.clone(), 6);
            announced.push(ip);
        }
        env.append("auth.log", &chunk);
        let log_bytes = fs::read(env.path("auth.log")).unwrap();

        let point = points[round % points.len()];
        // A point the run surely reaches: one of this round's events; one
        // of the first six saves (before posting, with the batches, after
        // each of at least three posts, at the end); one of three posts.
        let nth = 1 + match point {
            "read:event" => rng.below(events),
            "post:answered" => rng.below(3),
            // The first save (before posting) often: it is the one the
            // state before the run can be compared with.
            _ if rng.below(2) == 0 => 0,
            _ => rng.below(6),
        };
        let what = format!("round {round}, {point}#{nth}");
        let before = fs::read(env.path("state.json")).unwrap();
        let temps_before = temps(&env);
        let requests_before = x.requests().len();
        let mut child = paused_at(&env, quiet(&mut run()), &format!("{point}#{nth}"));
        let signal = if (round / points.len()).is_multiple_of(2) {
            "KILL"
        } else {
            "TERM"
        };
        Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(if signal == "KILL" { 9 } else { 15 }),
            "{what}: killed while paused"
        );
        *landed.entry(format!("{point} by SIG{signal}")).or_default() += 1;

        let after = fs::read(env.path("state.json")).expect("the state file never vanishes");
        let state = committed_state(&after);
        match point {
            "read:event" => assert_eq!(after, before, "{what}: nothing saved mid-read"),
            // The new parts are on disk, the trailer that names them is not.
            "save:synced" if nth == 1 => {
                // A compaction (now and then, as dead bytes pile up) writes
                // a temp file and renames it over the state: untouched till then.
                let compacting = temps(&env) > temps_before;
                if !compacting {
                    assert_ne!(after, before, "{what}: the new parts were written");
                }
                assert_eq!(state, committed_state(&before), "{what}: the old state")
            }
            "save:committed" if nth == 1 => {
                assert_ne!(state, committed_state(&before), "{what}: the new state")
            }
            // X has it (accepted, or answered as a duplicate of a post an
            // earlier kill left unrecorded).
            "post:answered" => assert_eq!(
                x.requests().len(),
                requests_before + nth as usize,
                "{what}: X had the post"
            ),
            _ => {}
        }
        let offset = state["logs"]["auth.log"]["offset"].as_u64().unwrap() as usize;
        assert!(
            offset <= log_bytes.len() && log_bytes[offset - 1] == b'\n',
            "{what}: the offset {offset} is a line boundary"
        );
        for (ip, n) in all_tries(&state) {
            assert!(
                n <= expected[&ip],
                "{what}: {ip} has {n} tries, more than {}",
                expected[&ip]
            );
        }
    }
    eprintln!("kills landed: {landed:?}");
    assert_eq!(landed.values().sum::<u32>(), 40);

    // A clean run catches up: every try counted once, every post made once.
    Out(run().output().unwrap()).ok();
    let state = env.state();
    assert_eq!(all_tries(&state), expected);
    assert_eq!(
        state["outbox"],
        serde_json::json!([]),
        "nothing left to post"
    );
    let posted = x.posted();
    let mut times = BTreeMap::<String, u32>::new();
    for text in &posted {
        for ip in named_ips(text) {
            *times.entry(ip).or_default() += 1;
        }
    }
    let once: BTreeMap<String, u32> = announced.iter().map(|ip| (ip.clone(), 1)).collect();
    assert_eq!(times, once, "each attacker accepted by X exactly once");
    let sent = x.requests().len();
    eprintln!(
        "{} posts accepted, {sent} requests (re-sends answered as duplicates)",
        posted.len()
    );
    // Whatever the kills left, the file is whole JSON after the clean run.
    let whole: Value =
        serde_json::from_slice(&fs::read(env.path("state.json")).unwrap()).expect("a whole state");
    assert!(whole["parts"].is_array());
}

// ---------------------------------------------------------------------------
// Faults around the state

/// A save that cannot happen fails with one line naming the path, publishes
/// nothing, and leaves the previous state byte for byte; the next good run
/// catches up without losing a line.
#[test]
fn a_state_that_cannot_be_saved_fails_loudly_and_keeps_the_old_one() {
    // The state's folder is a regular file: nothing can be created in it.
    let env = Env::new();
    env.write("vsftpd.log", "");
    env.write("auth.log", &guesses("203.0.113.70", 9, 100));
    env.write("blocker", "a file, not a folder");
    let out = env.run_with_state("blocker/state.json").fails();
    assert_eq!(out.code(), Some(1));
    assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
    assert!(out.stderr().contains("blocker"), "{}", out.stderr());
    assert_eq!(out.stdout(), "", "nothing published");
    assert_eq!(
        fs::read_to_string(env.path("blocker")).unwrap(),
        "a file, not a folder"
    );

    // The disk refuses the write halfway. The run is held to files of 4 KiB
    // (RLIMIT_FSIZE, with SIGXFSZ ignored, so the write fails with EFBIG as a
    // full disk fails with ENOSPC), and the state is bigger than that. (A
    // symlink to /dev/full in the temp file's place no longer works: a
    // planted link is never followed.)
    let env = Env::new();
    env.write("vsftpd.log", "");
    let mut log = String::new();
    for i in 0..200 {
        // Each in a /64 of its own: IPv6 is counted per /64.
        log.push_str(&guesses(&format!("2001:db8:0:{i:x}::1"), 1, 1000 + i));
    }
    log.push_str(&guesses("203.0.113.71", 3, 100));
    env.write("auth.log", &log);
    env.run(&[]).ok();
    let before = fs::read(env.path("state.json")).unwrap();
    assert!(
        before.len() > 8192,
        "bigger than the limit: {}",
        before.len()
    );
    env.append("auth.log", &guesses("203.0.113.71", 6, 200));
    let limited = |extra: &[&str]| {
        let run = env.run_args(extra);
        let mut sh = Command::new("sh");
        sh.args(["-c", "trap '' XFSZ; ulimit -f 8; exec \"$@\"", "sh"])
            .arg(run.get_program())
            .args(run.get_args())
            .current_dir(env.dir.path())
            .stdin(Stdio::null());
        for (k, v) in run.get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        Out(sh.output().unwrap())
    };
    let out = limited(&[]).fails();
    let err = out.one_error_line();
    assert!(err.contains("state.json"), "names the path: {err}");
    assert!(err.contains("File too large"), "{err}");
    assert_eq!(out.stdout(), "", "nothing published");
    assert_eq!(
        fs::read(env.path("state.json")).unwrap(),
        before,
        "the previous state is intact"
    );
    assert!(
        !fs::read_dir(env.dir.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".state.json.")),
        "no temp file left behind"
    );

    // The fault goes away: the next run reads what the failed one could not save.
    let out = env.run(&["--json"]).ok();
    assert_eq!(env.tries("203.0.113.71"), 9);
    assert_eq!(out.json_lines()[0]["tries"], 9);
}

// ---------------------------------------------------------------------------
// Hostile bytes

const GARBAGE_LEN: usize = 20 << 20;

/// 20 MB of bytes that are not a newline: escapes, C1 controls, bidi, invalid UTF-8.
fn garbage() -> Vec<u8> {
    let pattern: &[u8] = b"\x1b]0;pwned\x07\x1b[2J\x9b31m\xc2\x9b\xe2\x80\xae\xff\xfe\x00\r";
    pattern.iter().copied().cycle().take(GARBAGE_LEN).collect()
}

/// Lines whose user names (and one host name) carry terminal escapes, C1
/// controls, bidi overrides and invalid UTF-8: 9 tries from 203.0.113.66.
fn hostile_lines() -> Vec<u8> {
    let names: [&[u8]; 9] = [
        b"\x1b]0;pwned\x07",
        b"\x1b[2Jclear",
        "c1\u{9b}31m".as_bytes(),
        b"raw\x9b31m",
        "bidi\u{202e}gpj.exe".as_bytes(),
        "iso\u{2066}late\u{2069}".as_bytes(),
        b"bad\xff\xfeutf8",
        b"bell\x07\x08\x7f",
        "lrm\u{200f}\u{061c}\u{2028}".as_bytes(),
    ];
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let host: &[u8] = if i == 0 { b"web\x1b[2J01" } else { b"web01" };
        out.extend_from_slice(format!("Nov 26 10:00:{i:02} ").as_bytes());
        out.extend_from_slice(host);
        out.extend_from_slice(format!(" sshd[{}]: Invalid user ", 500 + i).as_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(format!(" from 203.0.113.66 port {}\n", 40000 + i).as_bytes());
    }
    out
}

/// What stdout must never carry: raw ESC, the C1 CSI (raw or as U+009B), any
/// other control but newline, bidi and invisible format controls.
fn assert_inert(what: &str, bytes: &[u8]) {
    assert!(!bytes.contains(&0x1b), "{what}: raw ESC on stdout");
    assert!(!bytes.contains(&0x9b), "{what}: a 0x9b byte on stdout");
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    for c in text.chars() {
        let hazard = (c.is_control() && c != '\n')
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}' | '\u{061C}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}');
        assert!(!hazard, "{what}: {c:?} on stdout");
    }
}

#[test]
fn hostile_bytes_never_reach_stdout_and_a_giant_line_warns_once() {
    let env = Env::new();
    env.write("vsftpd.log", "");
    // The giant line sits between attack lines, terminated, in the log cron reads…
    let mut log = hostile_lines();
    log.extend_from_slice(&garbage());
    log.push(b'\n');
    log.extend_from_slice(guesses("203.0.113.67", 6, 900).as_bytes());
    fs::write(env.path("auth.log"), &log).unwrap();
    // …and ends, unterminated, a file given whole to `parse` and `replay`.
    let mut whole = hostile_lines();
    whole.extend_from_slice(&garbage());
    fs::write(env.path("whole.log"), &whole).unwrap();
    drop((log, whole));

    let one_warning = |what: &str, out: &Out| {
        let err = out.stderr();
        assert_eq!(err.lines().count(), 1, "{what}: one warning: {err}");
        assert!(err.contains("longer than 64 KiB"), "{what}: {err}");
        assert!(!err.contains('\x1b'), "{what}: raw ESC on stderr");
    };

    for (what, args) in [
        ("run --dry-run", &["--dry-run"][..]),
        ("run --dry-run --json", &["--dry-run", "--json"][..]),
        ("run --json", &["--json"][..]),
    ] {
        let out = env.run(args).ok();
        assert_inert(what, &out.0.stdout);
        one_warning(what, &out);
        let ips: Vec<String> = if what.contains("json") {
            out.json_lines()
                .iter()
                .map(|v| v["ip"].as_str().unwrap().to_string())
                .collect()
        } else {
            out.stdout().lines().map(str::to_string).collect()
        };
        assert_eq!(ips.len(), 2, "{what}: both attackers: {ips:?}");
    }
    // A real run printing text: a fresh state, so that both are announced again.
    let text_env = Env::new();
    text_env.write("vsftpd.log", "");
    fs::copy(env.path("auth.log"), text_env.path("auth.log")).unwrap();
    let out = text_env.run(&[]).ok();
    assert_inert("run", &out.0.stdout);
    one_warning("run", &out);
    assert_eq!(out.stdout().lines().count(), 2, "{}", out.stdout());
    drop(text_env);

    assert_eq!(env.tries("203.0.113.66"), 9);
    assert_eq!(
        env.tries("203.0.113.67"),
        6,
        "lines after the giant one are read"
    );
    let users = env.field("203.0.113.66", "u");
    assert_eq!(users.as_array().unwrap().len(), 9, "{users}");

    for args in [
        &["show", "--state", "state.json"][..],
        &["show", "--state", "state.json", "--json"],
    ] {
        let out = Out(env.cmd(args).output().unwrap()).ok();
        assert_inert(&args.join(" "), &out.0.stdout);
        assert!(out.stdout().contains("203.0.113.66"));
        assert_eq!(out.stderr(), "");
    }

    for args in [
        &["parse", "whole.log"][..],
        &["replay", "whole.log"],
        &["replay", "--json", "whole.log"],
    ] {
        let out = Out(env.cmd(args).output().unwrap()).ok();
        let what = args.join(" ");
        assert_inert(&what, &out.0.stdout);
        // One warning, then the summary `parse` and `replay` end with.
        let err = out.stderr();
        let (warning, summary) = err.split_once('\n').unwrap_or((&err, ""));
        assert!(warning.contains("longer than 64 KiB"), "{what}: {err}");
        assert!(summary.starts_with("tweet-attacks: ") && summary.contains(" lines read, "));
        assert!(!err.contains('\x1b'), "{what}: raw ESC on stderr");
        assert!(out.stdout().contains("203.0.113.66"), "{what}");
    }
}

// ---------------------------------------------------------------------------
// The host's own addresses

/// A guess from one of this host's own addresses (a local script, a hairpin
/// NAT) is never announced; an IPv6 one hides the /64 it is counted in.
#[test]
fn the_hosts_own_addresses_are_never_announced() {
    let mut env = Env::new();
    env.own_addresses = "192.0.2.61,2001:db8:61::5".into();
    env.write("vsftpd.log", "");
    let mut log = guesses("192.0.2.61", 9, 100);
    log.push_str(&guesses("2001:db8:61::5", 9, 200));
    log.push_str(&guesses("198.51.100.92", 9, 300));
    env.write("auth.log", &log);
    let out = env.run(&["--json"]).ok();
    let ips: Vec<String> = out
        .json_lines()
        .iter()
        .map(|v| v["ip"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ips, ["198.51.100.92"], "the others are this host");
    assert_eq!(env.tries("192.0.2.61"), 9, "counted all the same");
}
