//! Whatever prints text from a log escapes control characters, bidi
//! overrides and zero-width characters: `parse`, `parse --missed`,
//! `replay`, `run`'s posts, `show`, `status`, `outbox` and every warning.
//! A crafted line must not retitle the terminal, recolour it, reorder what
//! an admin reads or hide part of it.

use proptest::prelude::*;

use super::*;

const IP: &str = "45.148.10.5";

/// What a terminal would act on, by an independent list: C0 and C1
/// controls and DEL (but the line break), and Unicode's bidi and invisible
/// format controls and line separators.
fn hazard(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

fn assert_inert(what: &str, out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    if let Some(c) = text.chars().find(|&c| hazard(c)) {
        panic!("{what}: a raw {c:?} reached the terminal:\n{text:?}");
    }
}

fn assert_all_inert(what: &str, out: &Out) {
    assert_inert(&format!("{what} stdout"), &out.0.stdout);
    assert_inert(&format!("{what} stderr"), &out.0.stderr);
}

/// Names an attacker might try: an OSC that retitles the terminal, SGR and
/// C1 CSI colours, a clear screen, bidi overrides and isolates, zero-width
/// characters, DEL and a carriage return that overwrites the line.
const HOSTILE: [&str; 8] = [
    "\x1b]0;pwned\x07root",
    "\x1b[31mred\x1b[0m",
    "\u{9b}2J\u{9b}H",
    "admin\u{202E}gpj.exe",
    "ro\u{200B}ot\u{2066}x\u{2069}",
    "a\u{FEFF}b\u{2028}c",
    "del\x7fete\rroot",
    "\x1b[2J\x1b]8;;http://evil.tld\x1b\\link\x1b]8;;\x1b\\",
];

/// A failed password for `user` from `ip`, and a line of sshd's naming an
/// address that is no known form (for `parse --missed`).
fn hostile_lines(user: &str, pid: usize) -> String {
    format!(
        "Nov 26 10:00:{s:02} web01 sshd[{pid}]: Failed password for invalid user {user} from {IP} port {port} ssh2\n\
         Nov 26 10:00:{s:02} web\x1b]0;h\x07{s} sshd[{pid}]: Failed password for invalid user x from {IP} port {port} ssh2\n\
         Nov 26 10:00:{s:02} web01 sshd[{pid}]: Frobnicated {user} login from 203.0.113.9 port 22 ssh2\n",
        s = pid % 60,
        port = 40000 + pid
    )
}

#[test]
fn crafted_lines_reach_no_terminal_raw() {
    let env = Env::new();
    let log: String = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, u)| hostile_lines(u, 100 + i))
        .collect();
    env.write("auth.log", &log);
    // A file name is the admin's, but may come from a directory listing.
    let odd = "odd\x1b]0;t\x07\u{202E}gol.txt";
    env.write(odd, "nothing of sshd's\n");
    let state_args = ["--state", "state.json"];

    let parse = Out(env.cmd(&["parse", "auth.log"]).output().unwrap()).ok();
    assert_all_inert("parse", &parse);
    let rows = parse.json_lines();
    assert_eq!(rows.len(), 2 * HOSTILE.len(), "{}", parse.stdout());
    assert_eq!(rows[0]["user"], "\\x1b]0;pwned\\x07root");
    assert_eq!(rows[1]["host"], "web\\x1b]0;h\\x0740");

    let missed = Out(env
        .cmd(&["parse", "--missed", "auth.log", odd])
        .output()
        .unwrap())
    .ok();
    assert_all_inert("parse --missed", &missed);
    assert_eq!(
        missed.stdout().lines().count(),
        HOSTILE.len(),
        "{}",
        missed.stdout()
    );
    assert!(
        missed.stdout().starts_with(
            "Nov 26 10:00:40 web01 sshd[100]: Frobnicated \\x1b]0;pwned\\x07root login from"
        ),
        "{}",
        missed.stdout()
    );
    // The warning names the file, escaped.
    assert!(
        missed
            .stderr()
            .contains("odd\\x1b]0;t\\x07\\u{202e}gol.txt: none of its 1 line(s)"),
        "{}",
        missed.stderr()
    );

    for json in [false, true] {
        let mut args = vec!["replay", "--threshold", "1", "auth.log"];
        args.extend(json.then_some("--json"));
        assert_all_inert("replay", &Out(env.cmd(&args).output().unwrap()).ok());
    }
    let out = env
        .run_args(&["--threshold", "1", "--json"])
        .output()
        .unwrap();
    assert_all_inert("run --json", &Out(out).ok());
    env.append("auth.log", &hostile_lines("\x1b[5mblink", 200));
    let out = env.run_args(&["--threshold", "1"]).output().unwrap();
    assert_all_inert("run", &Out(out).ok());

    // A log path with hazards, kept in the state and shown by `status`.
    fs::copy(env.path("auth.log"), env.path(odd)).unwrap();
    let out = env
        .cmd(&[
            "run",
            "--state",
            "state.json",
            "--auth-log",
            odd,
            "--vsftpd-log",
            "vsftpd.log",
            "--sink",
            "stdout",
            "--threshold",
            "1",
        ])
        .output()
        .unwrap();
    assert_all_inert("run on an odd log name", &Out(out).ok());

    for (cmd, extra) in [
        ("show", &[][..]),
        ("show", &["--json"]),
        ("status", &[]),
        ("status", &["--json"]),
        ("outbox", &[]),
        ("outbox", &["--json"]),
    ] {
        let mut args = vec![cmd];
        args.extend(state_args);
        args.extend(extra);
        let out = Out(env.cmd(&args).output().unwrap()).ok();
        assert_all_inert(&args.join(" "), &out);
        if cmd == "status" && extra.is_empty() {
            assert!(
                out.stdout().contains("odd\\x1b]0;t\\x07\\u{202e}gol.txt"),
                "{}",
                out.stdout()
            );
        }
    }

    // An error names what it could not read, escaped.
    let err = Out(env
        .cmd(&["parse", "no\x1b]0;t\x07such.log"])
        .output()
        .unwrap())
    .fails();
    assert_all_inert("parse of a missing file", &err);
    assert!(
        err.stderr().contains("no\\x1b]0;t\\x07such.log"),
        "{}",
        err.stderr()
    );
}

/// A user name an attacker might send: hazards, escapes' pieces, quotes,
/// addresses and invalid UTF-8 among ordinary characters.
fn hostile_name() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        "[a-z0-9]{1,6}".prop_map(String::into_bytes),
        Just(b"\x1b".to_vec()),
        Just(b"\x1b]0;".to_vec()),
        Just(b"\x07".to_vec()),
        Just(b"\x1b[".to_vec()),
        Just(b"\x7f".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"\xff\xfe".to_vec()),
        Just(b"\" ] from 8.8.8.8 port 22 ssh2".to_vec()),
        prop::sample::select(vec![
            '\u{9b}', '\u{85}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
            '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{200B}', '\u{200C}', '\u{200D}',
            '\u{200E}', '\u{200F}', '\u{2060}', '\u{FEFF}', '\u{061C}', '\u{2028}', '\u{2029}',
        ])
        .prop_map(|c| c.to_string().into_bytes()),
        any::<char>().prop_map(|c| c.to_string().into_bytes()),
    ];
    prop::collection::vec(piece, 1..12).prop_map(|v| v.concat())
}

proptest! {
    // Each case runs the binary twice over eight generated names.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn generated_names_reach_no_terminal_raw(
        names in prop::collection::vec(hostile_name(), 8)
    ) {
        let env = Env::new();
        let mut log = Vec::new();
        for (i, name) in names.iter().enumerate() {
            // No line breaks inside a name: they would end the line early.
            let name: Vec<u8> = name.iter().map(|&b| if b == b'\n' { b' ' } else { b }).collect();
            for shape in hostile_lines("\u{1}", 300 + i).lines() {
                let (head, tail) = shape.split_once('\u{1}').unwrap_or((shape, ""));
                log.extend_from_slice(head.as_bytes());
                if shape.contains('\u{1}') {
                    log.extend_from_slice(&name);
                }
                log.extend_from_slice(tail.as_bytes());
                log.push(b'\n');
            }
        }
        fs::write(env.path("auth.log"), &log).unwrap();
        for args in [&["parse", "auth.log"][..], &["parse", "--missed", "auth.log"]] {
            let out = Out(env.cmd(args).output().unwrap()).ok();
            assert_all_inert(&args.join(" "), &out);
            prop_assert!(!out.stdout().is_empty() || args.len() == 3);
        }
    }
}
