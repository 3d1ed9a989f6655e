//! Real logrotate (Debian's package) between runs: every mode it has, one
//! and two rotations between runs, and late writes to the renamed file.
//! Each test counts the guesses it writes and wants exactly that many
//! tries, and checks that the rotation really happened between the runs.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use super::*;

const IP: &str = "198.51.100.60";

/// The logrotate binary, or `None` (see `skip`) where it is not installed.
/// CI installs it (.ci/run).
fn logrotate() -> Option<&'static str> {
    // Debian puts it in /usr/sbin, which a user's PATH may lack.
    let found = ["logrotate", "/usr/sbin/logrotate"]
        .into_iter()
        .find(|bin| {
            Command::new(bin)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        skip("logrotate is not installed (apt-get install logrotate)");
    }
    found
}

/// A log under logrotate, and the guesses written to it so far.
struct Rotated {
    env: Env,
    /// logrotate's config and status, away from the logs as on a real host
    /// (in the logs' folder, its status file's temp copies take the inode
    /// numbers the logs free).
    conf_dir: tempfile::TempDir,
    /// Options of the logrotate stanza, one a line.
    options: String,
    written: u64,
    next_pid: usize,
}

impl Rotated {
    fn new(options: &str) -> Option<Rotated> {
        logrotate()?;
        let env = Env::new();
        env.write("vsftpd.log", "");
        env.write("auth.log", "");
        Some(Rotated {
            env,
            conf_dir: tempfile::tempdir().unwrap(),
            options: options.to_string(),
            written: 0,
            next_pid: 1000,
        })
    }

    /// `n` more guesses, one connection each.
    fn guesses(&mut self, n: usize) -> String {
        let text = guesses(IP, n, self.next_pid);
        self.next_pid += n;
        self.written += n as u64;
        text
    }

    /// Appends `n` guesses to auth.log, as the syslog daemon would.
    fn log(&mut self, n: usize) {
        let text = self.guesses(n);
        self.env.append("auth.log", &text);
    }

    /// A run, silent on stderr, after which every guess written is counted once.
    fn run(&self) {
        let out = self.env.run(&[]).ok();
        assert_eq!(
            self.env.tries(IP),
            self.written,
            "tries must equal the guesses written\nstderr: {}state logs: {}",
            out.stderr(),
            self.env.state()["logs"]
        );
        assert_eq!(
            out.stderr(),
            "",
            "a rotation is routine: nothing for cron to mail"
        );
    }

    fn inode(&self, name: &str) -> u64 {
        fs::metadata(self.env.path(name)).unwrap().ino()
    }

    fn exists(&self, name: &str) -> bool {
        self.env.path(name).exists()
    }

    /// The files that logrotate made of auth.log, by name.
    fn rotated_names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.env.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("auth.log") && n != "auth.log")
            .collect();
        names.sort();
        names
    }

    /// `logrotate -f` once. `yesterday` dates a dateext name a day back, so
    /// that two rotations in one test get two names. Checks that auth.log
    /// was rotated (a new file, or the old one truncated), and returns the
    /// rotated names that are new.
    fn rotate_dated(&self, yesterday: bool) -> Vec<String> {
        let before = self.rotated_names();
        let log = self.env.path("auth.log");
        let was = fs::metadata(&log).unwrap();
        assert!(
            was.len() > 0,
            "a rotation test rotates a log with lines in it"
        );
        let conf = self.conf_dir.path().join("logrotate.conf");
        let extra = if yesterday { "dateyesterday\n" } else { "" };
        fs::write(
            &conf,
            format!(
                "{} {{\nrotate 99\nmissingok\n{}\n{extra}}}\n",
                log.display(),
                self.options
            ),
        )
        .unwrap();
        let out = Command::new(logrotate().unwrap())
            .arg("-f")
            .arg("-s")
            .arg(self.conf_dir.path().join("logrotate.status"))
            .arg(&conf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "logrotate failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let now = fs::metadata(&log).unwrap();
        assert!(
            now.ino() != was.ino() || now.len() == 0,
            "logrotate did not rotate auth.log: {:?}",
            self.rotated_names()
        );
        let new: Vec<String> = self
            .rotated_names()
            .into_iter()
            .filter(|n| !before.contains(n))
            .collect();
        assert!(
            !new.is_empty(),
            "no new rotated file: {:?}",
            self.rotated_names()
        );
        new
    }

    fn rotate(&self) -> Vec<String> {
        self.rotate_dated(false)
    }
}

/// One rotation between two runs, with lines the first run did not see,
/// for each mode that renames the log. `rotated` is the name the old file
/// must have afterwards.
fn one_rotation(options: &str, rotated: &dyn Fn() -> String, gz: bool) {
    let Some(mut t) = Rotated::new(options) else {
        return;
    };
    t.log(3);
    t.run();
    let old_inode = t.inode("auth.log");
    t.log(2);
    t.rotate();
    let name = rotated();
    assert!(
        t.exists(&name),
        "{options}: no {name}: {:?}",
        t.rotated_names()
    );
    assert_ne!(
        t.inode("auth.log"),
        old_inode,
        "{options}: a new file at the path"
    );
    if gz {
        assert!(
            !t.exists(name.trim_end_matches(".gz")),
            "{options}: compressed"
        );
    } else {
        assert_eq!(
            t.inode(&name),
            old_inode,
            "{options}: the old file was renamed"
        );
    }
    t.log(4);
    t.run();
    t.log(1);
    t.run();
}

/// logrotate's default dateext name for today (local time, which the test runs in).
fn today(sep: &str) -> String {
    let out = Command::new("date")
        .arg(format!("+%Y{sep}%m{sep}%d"))
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn logrotate_create() {
    one_rotation("create", &|| "auth.log.1".to_string(), false);
}

#[test]
fn logrotate_compress() {
    one_rotation("create\ncompress", &|| "auth.log.1.gz".to_string(), true);
}

#[test]
fn logrotate_delaycompress() {
    one_rotation(
        "create\ncompress\ndelaycompress",
        &|| "auth.log.1".to_string(),
        false,
    );
}

#[test]
fn logrotate_dateext() {
    one_rotation(
        "create\ndateext",
        &|| format!("auth.log-{}", today("")),
        false,
    );
}

#[test]
fn logrotate_dateext_with_dashes() {
    one_rotation(
        "create\ndateext\ndateformat -%Y-%m-%d",
        &|| format!("auth.log-{}", today("-")),
        false,
    );
}

#[test]
fn logrotate_dateext_with_dashes_compressed() {
    one_rotation(
        "create\ncompress\ndateext\ndateformat -%Y-%m-%d",
        &|| format!("auth.log-{}.gz", today("-")),
        true,
    );
}

/// copytruncate: the tail after our offset is only in the copy; the log
/// itself keeps its inode and starts again from nothing. With `refill`, it
/// has grown past the old offset again before the next run.
fn copytruncate(options: &str, refill: usize) {
    let Some(mut t) = Rotated::new(options) else {
        return;
    };
    t.log(3);
    t.run();
    let inode = t.inode("auth.log");
    let offset = t.env.state()["logs"]["auth.log"]["offset"]
        .as_u64()
        .unwrap();
    t.log(2);
    let new = t.rotate();
    assert!(
        new.iter().any(|n| n.starts_with("auth.log.1")),
        "{options}: a copy: {new:?}"
    );
    assert_eq!(t.inode("auth.log"), inode, "{options}: truncated in place");
    assert_eq!(fs::metadata(t.env.path("auth.log")).unwrap().len(), 0);
    t.log(refill);
    if refill > 3 {
        assert!(
            fs::metadata(t.env.path("auth.log")).unwrap().len() > offset,
            "refilled past the old offset"
        );
    }
    t.run();
    t.log(1);
    t.run();
}

#[test]
fn logrotate_copytruncate() {
    copytruncate("copytruncate", 1);
}

#[test]
fn logrotate_copytruncate_refilled_past_the_old_offset() {
    copytruncate("copytruncate", 10);
}

#[test]
fn logrotate_copytruncate_compressed() {
    copytruncate("copytruncate\ncompress", 10);
}

/// Two rotations between two runs: the middle file is read whole.
fn two_rotations(options: &str, middle: &str, oldest: &str) {
    let Some(mut t) = Rotated::new(options) else {
        return;
    };
    t.log(3);
    t.run();
    let first_inode = t.inode("auth.log");
    t.log(2);
    let first = t.rotate_dated(true);
    t.log(5);
    let second = t.rotate();
    t.log(1);
    let names = t.rotated_names();
    let want = |n: &str| {
        n.replace("{yesterday}", &first.join(""))
            .replace("{today}", &second.join(""))
    };
    assert!(
        names.contains(&want(middle)) && names.contains(&want(oldest)),
        "{options}: two rotations, {middle} and {oldest}: {names:?} (made {first:?} then {second:?})"
    );
    if t.inode("auth.log") == first_inode && !options.contains("copytruncate") {
        // ext4 handed the first file's freed number to the new one: see
        // logrotate_inode_number_reused_by_the_new_file.
        eprintln!("{options}: the new auth.log reused inode {first_inode}");
    }
    t.run();
    t.log(2);
    t.run();
}

#[test]
fn logrotate_two_rotations_create() {
    two_rotations("create", "auth.log.1", "auth.log.2");
}

#[test]
fn logrotate_two_rotations_compress() {
    two_rotations("create\ncompress", "auth.log.1.gz", "auth.log.2.gz");
}

#[test]
fn logrotate_two_rotations_delaycompress() {
    two_rotations(
        "create\ncompress\ndelaycompress",
        "auth.log.1",
        "auth.log.2.gz",
    );
}

#[test]
fn logrotate_two_rotations_copytruncate() {
    two_rotations("copytruncate", "auth.log.1", "auth.log.2");
}

#[test]
fn logrotate_two_rotations_dateext() {
    two_rotations("create\ndateext", "{today}", "{yesterday}");
}

#[test]
fn logrotate_two_rotations_dateext_with_dashes() {
    two_rotations(
        "create\ndateext\ndateformat -%Y-%m-%d",
        "{today}",
        "{yesterday}",
    );
}

/// The syslog daemon keeps writing to the file it has open, renamed to
/// auth.log.1, until logrotate's postrotate signals it; with
/// `delaycompress` the old file stays uncompressed for exactly that.
#[test]
fn logrotate_late_writes_to_the_renamed_file() {
    let Some(mut t) = Rotated::new("create\ncompress\ndelaycompress") else {
        return;
    };
    let mut daemon = fs::OpenOptions::new()
        .append(true)
        .open(t.env.path("auth.log"))
        .unwrap();
    let write = |t: &mut Rotated, daemon: &mut fs::File, n: usize| {
        let text = t.guesses(n);
        daemon.write_all(text.as_bytes()).unwrap();
    };
    write(&mut t, &mut daemon, 3);
    t.run();
    let old_inode = t.inode("auth.log");
    write(&mut t, &mut daemon, 2);
    t.rotate();
    assert_eq!(t.inode("auth.log.1"), old_inode, "renamed under the daemon");
    t.run();
    // Not signalled yet: these go to auth.log.1, after the run has moved on.
    write(&mut t, &mut daemon, 4);
    assert_eq!(daemon.metadata().unwrap().ino(), old_inode);
    assert!(
        fs::metadata(t.env.path("auth.log.1")).unwrap().len() > 0
            && fs::metadata(t.env.path("auth.log")).unwrap().len() == 0,
        "the late lines are in the renamed file"
    );
    t.run();
    let state = t.env.state();
    assert!(
        state["logs"]["auth.log"]["prev"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("auth.log.1")),
        "the renamed file is watched: {}",
        state["logs"]["auth.log"]
    );
    // More late lines, then the next rotation compresses the old file: they
    // are only in auth.log.2.gz when the next run comes.
    write(&mut t, &mut daemon, 3);
    drop(daemon);
    t.log(2);
    t.rotate();
    assert!(t.exists("auth.log.2.gz") && !t.exists("auth.log.2"));
    t.log(1);
    t.run();
    t.log(1);
    t.run();
}

/// ext4 gives a freed inode number to the next new file: with
/// `delaycompress` and two rotations between runs, the second rotation
/// compresses and deletes the file the last run read, then creates the new
/// log, which gets that file's inode number. The new log is not the old one
/// "truncated": the old one's tail is in auth.log.2.gz.
#[test]
fn logrotate_inode_number_reused_by_the_new_file() {
    let Some(mut t) = Rotated::new("create\ncompress\ndelaycompress") else {
        return;
    };
    t.log(3);
    t.run();
    for round in 1..=20 {
        let saved = t.env.state()["logs"]["auth.log"]["inode"].as_u64().unwrap();
        t.log(2);
        t.rotate();
        t.log(1);
        t.rotate();
        t.log(1);
        let reused = t.inode("auth.log") == saved;
        t.run();
        if reused {
            eprintln!("inode {saved} reused by the new auth.log in round {round}");
            return;
        }
    }
    skip("this filesystem reused no inode number in 20 rounds (the counts were exact)");
}

/// A long read saves as it goes (see tests/cli/scale.rs); one killed between
/// two of its saves, then rotated and compressed by logrotate before the
/// next run, which reads the rest of the old file out of its gzip.
#[test]
fn a_run_killed_between_its_stages_then_rotated_counts_every_guess_once() {
    let Some(mut t) = Rotated::new("create\ncompress") else {
        return;
    };
    t.log(40);
    let len = fs::metadata(t.env.path("auth.log")).unwrap().len();
    let mut cmd = t.env.run_args(&[]);
    cmd.env("TWEET_ATTACKS_STAGE_BYTES", "700");
    kill_at(&t.env, cmd, "run:stage-saved#2");
    // Killed after its second save: part of the log is counted, the rest is not.
    let offset = t.env.state()["logs"]["auth.log"]["offset"]
        .as_u64()
        .unwrap();
    assert!(offset > 0 && offset < len, "{offset} of {len}");
    let counted = t.env.tries(IP);
    assert!(counted > 0 && counted < 40, "{counted}");
    t.log(5);
    let old_inode = t.inode("auth.log");
    t.rotate();
    assert!(t.exists("auth.log.1.gz") && !t.exists("auth.log.1"));
    assert_ne!(t.inode("auth.log"), old_inode, "a new file at the path");
    t.log(3);
    let out = Out(t
        .env
        .run_args(&[])
        .env("TWEET_ATTACKS_STAGE_BYTES", "700")
        .output()
        .unwrap())
    .ok();
    assert_eq!(t.env.tries(IP), t.written, "stderr: {}", out.stderr());
    assert_eq!(out.stderr(), "");
}
