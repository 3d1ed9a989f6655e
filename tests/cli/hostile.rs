//! A local user against a root run: links planted where the run writes, a
//! folder or options file others control. Each attack is refused or made
//! harmless, and the file it aimed at is left as it was.

use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

use super::*;

/// A root-owned file the attacker wants overwritten (or chmodded 0600).
struct Victim {
    dir: tempfile::TempDir,
}

const PRECIOUS: &str = "root:x:0:0:root:/root:/bin/bash\n";

impl Victim {
    fn new() -> Victim {
        let dir = tempfile::tempdir().unwrap();
        let v = Victim { dir };
        fs::write(v.path(), PRECIOUS).unwrap();
        fs::set_permissions(v.path(), fs::Permissions::from_mode(0o644)).unwrap();
        v
    }
    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("passwd")
    }
    fn assert_intact(&self, what: &str) {
        assert_eq!(
            fs::read_to_string(self.path()).unwrap(),
            PRECIOUS,
            "{what}: the victim was written"
        );
        let meta = fs::metadata(self.path()).unwrap();
        assert_eq!(
            meta.mode() & 0o777,
            0o644,
            "{what}: the victim was chmodded"
        );
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The state's kept temp file is a planted symlink, a hard link to the
/// victim, or a FIFO: the run neither writes through it nor stalls, and saves.
#[test]
fn a_planted_temp_file_is_never_written_through() {
    for plant in ["symlink", "hard link", "fifo"] {
        let env = Env::new();
        let victim = Victim::new();
        env.write("vsftpd.log", "");
        env.write("auth.log", &guesses("203.0.113.80", 2, 100));
        env.append("auth.log", &guesses("203.0.113.80", 2, 200));
        // An older format: the save rewrites the whole file, through a temp file.
        env.write("state.json", r#"{"version":3}"#);
        let tmp = env.path("state.json.tmp");
        let _ = fs::remove_file(&tmp);
        match plant {
            "symlink" => symlink(victim.path(), &tmp).unwrap(),
            // Hard links to another folder's file need the same filesystem.
            "hard link" => {
                let other = env.path("victim-link-source");
                fs::write(&other, PRECIOUS).unwrap();
                fs::set_permissions(&other, fs::Permissions::from_mode(0o644)).unwrap();
                fs::hard_link(&other, &tmp).unwrap();
            }
            _ => assert!(Command::new("mkfifo").arg(&tmp).status().unwrap().success()),
        }
        env.run(&[]).ok();
        assert_eq!(env.tries("203.0.113.80"), 4, "{plant}: the state was saved");
        victim.assert_intact(plant);
        if plant == "hard link" {
            let other = env.path("victim-link-source");
            assert_eq!(fs::read_to_string(&other).unwrap(), PRECIOUS, "{plant}");
            assert_eq!(fs::metadata(&other).unwrap().mode() & 0o777, 0o644);
        }
        // Format 3's kept temp file is gone: the name is removed, never opened.
        assert!(fs::symlink_metadata(&tmp).is_err(), "{plant}: removed");
    }
}

/// A symlink (or a FIFO) at the lock's name is refused with one line.
#[test]
fn a_planted_lock_is_refused() {
    for plant in ["symlink", "fifo"] {
        let env = Env::new();
        let victim = Victim::new();
        env.write("vsftpd.log", "");
        env.write("auth.log", &guesses("203.0.113.81", 9, 100));
        let lock = env.path("state.json.lock");
        match plant {
            "symlink" => symlink(victim.path(), &lock).unwrap(),
            _ => assert!(
                Command::new("mkfifo")
                    .arg(&lock)
                    .status()
                    .unwrap()
                    .success()
            ),
        }
        let out = env.run(&[]).fails();
        let err = out.one_error_line();
        assert!(err.contains("state.json.lock"), "{plant}: {err}");
        let why = if plant == "symlink" {
            "symbolic link"
        } else {
            "not a regular file"
        };
        assert!(err.contains(why), "{plant}: {err}");
        assert_eq!(out.stdout(), "", "{plant}: nothing published");
        assert!(!env.path("state.json").exists(), "{plant}");
        victim.assert_intact(plant);
    }
}

/// A state folder that group or others can write is refused with one line
/// saying why, before anything is read or written.
#[test]
fn a_state_folder_others_can_write_is_refused() {
    for mode in [0o777, 0o1777, 0o770] {
        let env = Env::new();
        env.write("vsftpd.log", "");
        env.write("auth.log", &guesses("203.0.113.82", 9, 100));
        fs::create_dir(env.path("shared")).unwrap();
        fs::set_permissions(env.path("shared"), fs::Permissions::from_mode(mode)).unwrap();
        let out = env.run_with_state("shared/state.json").fails();
        let err = out.one_error_line();
        assert!(
            err.contains("shared") && err.contains("writable by group or others"),
            "{mode:o}: {err}"
        );
        assert!(err.contains("chmod go-w"), "{mode:o}: says how: {err}");
        assert_eq!(out.stdout(), "", "{mode:o}");
        assert_eq!(names(&env.path("shared")), Vec::<String>::new(), "{mode:o}");
    }
}

/// A state path that is a symlink is refused by every command, before
/// anything is created: no lock, temp file or save lands beside the target
/// (a root run given a link to /etc/shadow used to leave /etc/shadow.lock),
/// the target and its folder are left as they were, and so is the link.
#[test]
fn a_symlinked_state_is_refused_and_nothing_lands_beside_its_target() {
    let env = Env::new();
    env.write("vsftpd.log", "");
    env.write("auth.log", &guesses("203.0.113.83", 7, 100));
    // A good state elsewhere (a link an admin made), and a file root must not touch.
    fs::create_dir(env.path("real")).unwrap();
    env.run_with_state("real/state.json").ok();
    let victim = Victim::new();
    for (target, folder) in [
        (env.path("real/state.json"), env.path("real")),
        (victim.path(), victim.dir.path().to_path_buf()),
        // A link to nothing yet: the run would have created the target.
        (env.path("real/new.json"), env.path("real")),
    ] {
        let _ = fs::remove_file(env.path("state.json"));
        symlink(&target, env.path("state.json")).unwrap();
        let listed = names(&folder);
        let bytes = fs::read(&target).ok();
        let st = ["--state", "state.json"];
        for (what, mut c) in [
            ("run", env.run_args(&[])),
            ("dry run", env.run_args(&["--dry-run"])),
            ("show", env.cmd(&[&["show"][..], &st].concat())),
            ("status", env.cmd(&[&["status"][..], &st].concat())),
            (
                "outbox",
                env.cmd(&[&["outbox"][..], &st, &["drop", "all"]].concat()),
            ),
        ] {
            let what = format!("{what} via a link to {}", target.display());
            let out = Out(c.output().unwrap());
            let err = out.one_error_line();
            assert!(
                err.contains("state.json is a symbolic link") && err.contains("--state"),
                "{what}: {err}"
            );
            assert_eq!(out.stdout(), "", "{what}");
            assert_eq!(names(&folder), listed, "{what}: nothing beside the target");
            assert!(
                fs::read(&target).ok() == bytes,
                "{what}: the target is untouched"
            );
            let link = fs::symlink_metadata(env.path("state.json")).unwrap();
            assert!(link.file_type().is_symlink(), "{what}: the link stays");
        }
        victim.assert_intact("a link to it");
    }
    // The state in its own folder goes on as before.
    env.run_with_state("real/state.json").ok();
}

/// `export --out` writes through a temp file with a fresh, unguessable name
/// (not `<out>.<pid>.tmp`): two exports, paused with the temp file written,
/// show two different names, neither holding the pid.
#[test]
fn export_temp_files_have_unguessable_names() {
    let env = Env::new();
    env.write("vsftpd.log", "");
    env.write("auth.log", &guesses("203.0.113.84", 7, 100));
    env.run(&[]).ok();
    let victim = Victim::new();
    let mut temps = Vec::new();
    for _ in 0..2 {
        // The old predictable names, planted.
        for name in ["feed.xml.tmp", "feed.xml.1.tmp"] {
            let _ = fs::remove_file(env.path(name));
            symlink(victim.path(), env.path(name)).unwrap();
        }
        let mut export = env.cmd(&[
            "export",
            "--state",
            "state.json",
            "--format",
            "atom",
            "--out",
            "feed.xml",
        ]);
        let mut child = paused_at(&env, quiet(&mut export), "save:synced");
        let pid = child.id().to_string();
        let temp: Vec<String> = names(env.dir.path())
            .into_iter()
            .filter(|n| n.starts_with(".feed.xml.") && n.ends_with(".tmp"))
            // A killed export leaves its temp file behind: the earlier round's.
            .filter(|n| !temps.contains(n))
            .collect();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(temp.len(), 1, "{temp:?}");
        assert!(!temp[0].contains(&pid), "{temp:?} holds the pid {pid}");
        let meta = fs::symlink_metadata(env.path(&temp[0])).unwrap();
        assert!(meta.is_file() && meta.nlink() == 1);
        temps.push(temp[0].clone());
    }
    assert_ne!(temps[0], temps[1]);
    victim.assert_intact("export");
}

// ---------------------------------------------------------------------------
// The options file

/// A program the options file names as `journalctl`: it leaves a mark if run.
fn evil_journalctl(env: &Env) -> std::path::PathBuf {
    let evil = env.path("evil");
    fs::write(
        &evil,
        format!("#!/bin/sh\ntouch {}/pwned\n", env.dir.path().display()),
    )
    .unwrap();
    fs::set_permissions(&evil, fs::Permissions::from_mode(0o755)).unwrap();
    evil
}

fn run_with_config(env: &Env, config: &str) -> Out {
    Out(env
        .cmd(&[
            "run",
            "--config",
            config,
            "--state",
            "state.json",
            "--vsftpd-log",
            "vsftpd.log",
            "--sink",
            "stdout",
        ])
        .output()
        .unwrap())
}

/// An options file owned by another user, even 0600, or one that group or
/// others can write, is refused before anything runs: it could name any
/// program as `journalctl`. Root's own 0600 file is obeyed.
#[test]
fn an_options_file_another_user_controls_is_refused() {
    for (owner, mode) in [
        (Some(12345), 0o600),
        (Some(12345), 0o644),
        (None, 0o666),
        (None, 0o620),
    ] {
        let env = Env::new();
        env.write("vsftpd.log", "");
        let evil = evil_journalctl(&env);
        env.write(
            "opts.toml",
            &format!("journal = true\njournalctl = \"{}\"\n", evil.display()),
        );
        fs::set_permissions(env.path("opts.toml"), fs::Permissions::from_mode(mode)).unwrap();
        if let Some(uid) = owner {
            std::os::unix::fs::chown(env.path("opts.toml"), Some(uid), Some(uid)).unwrap();
        }
        let out = run_with_config(&env, "opts.toml").fails();
        let err = out.one_error_line();
        assert!(err.contains("opts.toml"), "{owner:?} {mode:o}: {err}");
        let why = if owner.is_some() {
            "belongs to uid 12345"
        } else {
            "writable by group or others"
        };
        assert!(err.contains(why), "{owner:?} {mode:o}: {err}");
        assert!(
            !env.path("pwned").exists(),
            "{owner:?} {mode:o}: the program ran"
        );
        assert!(!env.path("state.json").exists());
    }
    // The same file, ours and 0600: obeyed (the program runs, and fails as
    // a journalctl that prints nothing but exits 0 would not).
    let env = Env::new();
    env.write("vsftpd.log", "");
    let evil = evil_journalctl(&env);
    env.write(
        "opts.toml",
        &format!("journal = true\njournalctl = \"{}\"\n", evil.display()),
    );
    fs::set_permissions(env.path("opts.toml"), fs::Permissions::from_mode(0o600)).unwrap();
    run_with_config(&env, "opts.toml").ok();
    assert!(
        env.path("pwned").exists(),
        "an options file we own is obeyed"
    );
}

// ---------------------------------------------------------------------------
// Secrets in messages

const PASS: &str = "Pa55-zz9-plural";

/// A secret in a URL or of the wrong type in the options file never reaches
/// stdout or stderr, in any message.
#[test]
fn no_message_quotes_a_secret() {
    let env = Env::new();
    env.write("vsftpd.log", "");
    env.write("auth.log", &guesses("203.0.113.85", 9, 100));
    let url = format!("http://u:{PASS}@127.0.0.1:9");
    let mut cases: Vec<(String, Out)> = Vec::new();
    // On the command line (a test only: secrets belong in the file).
    for sub in ["run", "verify-credentials"] {
        let mut args = vec![sub, "--twitter-api-url", &url];
        if sub == "run" {
            args.extend([
                "--state",
                "state.json",
                "--auth-log",
                "auth.log",
                "--vsftpd-log",
                "vsftpd.log",
            ]);
        }
        let out = Out(env.cmd(&args).envs(fake_x::KEYS.env()).output().unwrap());
        cases.push((format!("{sub} --twitter-api-url"), out));
    }
    // In the options file: URLs with a password, and secrets of the wrong type.
    let files = [
        (
            "twitter-api-url",
            format!("twitter-api-url = \"{url}\"\n"),
            "twitter",
        ),
        (
            "[mastodon] instance",
            format!("[mastodon]\ninstance = \"{url}\"\ntoken = \"t\"\n"),
            "mastodon",
        ),
        (
            "[bluesky] service",
            format!("[bluesky]\nhandle = \"a.b\"\napp-password = \"p\"\nservice = \"{url}\"\n"),
            "bluesky",
        ),
        (
            "[bluesky] service, no scheme",
            format!("[bluesky]\nhandle = \"a.b\"\napp-password = \"p\"\nservice = \"{PASS}\"\n"),
            "bluesky",
        ),
        (
            "numeric consumer secret",
            "twitter-consumer-secret = 55123456\n".to_string(),
            "twitter",
        ),
        (
            "numeric mastodon token",
            "[mastodon]\ninstance = \"http://127.0.0.1:9\"\ntoken = 55123456\n".to_string(),
            "mastodon",
        ),
        (
            "boolean app password",
            "[bluesky]\napp-password = [\"Pa55-zz9-plural\"]\n".to_string(),
            "bluesky",
        ),
    ];
    for (what, text, sink) in files {
        env.write("opts.toml", &text);
        fs::set_permissions(env.path("opts.toml"), fs::Permissions::from_mode(0o600)).unwrap();
        let out = Out(env
            .cmd(&[
                "run",
                "--config",
                "opts.toml",
                "--state",
                "state.json",
                "--auth-log",
                "auth.log",
                "--vsftpd-log",
                "vsftpd.log",
                "--sink",
                sink,
            ])
            .envs(fake_x::KEYS.env())
            .output()
            .unwrap());
        let line = 1 + text.lines().position(|l| l.contains("55")).unwrap();
        cases.push((format!("{what} (line {line})"), out));
    }
    for (what, out) in cases {
        // A value the file gives that means nothing is a usage error.
        let err = out.one_usage_line();
        assert!(
            !err.contains(PASS) && !err.contains("55123456"),
            "{what}: {err}"
        );
        assert!(!out.stdout().contains(PASS), "{what}");
        if what.starts_with("numeric") || what.starts_with("boolean") {
            let line = what.rsplit_once("(").unwrap().1.trim_end_matches(')');
            assert!(
                err.contains("opts.toml") && err.contains(&format!("at {line}:")),
                "{what}: {err}"
            );
            assert!(
                err.contains("invalid type"),
                "{what}: says what is wrong: {err}"
            );
        } else {
            assert!(
                err.contains("must be http(s)://host[:port]"),
                "{what}: {err}"
            );
        }
    }
}
