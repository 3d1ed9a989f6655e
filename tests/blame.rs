//! Innocent blame, by property: lines built the way sshd and vsftpd build
//! them, from their own format strings, with every field the client controls
//! filled with adversarial text, are counted for the client's true address
//! or for nobody, never for another address.
//!
//! The shapes and their limits, from the daemons' sources:
//! - OpenSSH (auth.c `auth_log`, auth2.c, packet.c `sshpkt_fmt_connection_id`
//!   and `ssh_packet_disconnect`, log.c's 1 KiB message buffer):
//!   `Failed METHOD for [invalid user ]%.100s from IP port N ssh2[: INFO]`,
//!   where INFO holds a certificate's key ID, a GSSAPI name or hostbased's
//!   client user and host; `Invalid user %.100s from IP port N`; a connection
//!   named `%.200s` of `invalid user U` or `authenticating user U`, then ` IP
//!   port N`; `Disconnecting CONN: %.100s` with a reason that may hold a user
//!   name and service the client sent; ` [preauth]` added by the monitor.
//! - vsftpd (logging.c): `[pid N] [U] ACTION: Client "IP"` and then
//!   `, anon password "P"`, `, "ARG"` (a path, or a whole FTP command with
//!   `log_ftp_protocol`), sizes and rates; U, P and ARG are the client's.
//! - log.c: a message formatted into 1 KiB, escaped by `strnvis` (twice
//!   for the unprivileged child's ` [preauth]` lines, which the monitor logs
//!   again), and handed to syslog as `%.500s`.
//! - syslog: a line cut at 1 KiB or 8 KiB.
//!
//! `PROPTEST_CASES=2000000 cargo test --release --test blame` for a long run;
//! the case count of each property is printed by `figures` below.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use tweet_attacks::parse::parse;
use tweet_attacks::table::Table;

#[path = "support/addr.rs"]
mod addr;
use addr::client;

/// A source address as the daemon prints it, and the client it stands for.
fn address() -> impl Strategy<Value = (String, IpAddr)> {
    prop_oneof![
        any::<u32>().prop_map(|n| {
            let ip = Ipv4Addr::from(n);
            (ip.to_string(), IpAddr::V4(ip))
        }),
        any::<u128>().prop_map(|n| {
            let ip = Ipv6Addr::from(n);
            (ip.to_string(), client(IpAddr::V6(ip)))
        }),
        any::<u32>().prop_map(|n| {
            let ip = Ipv4Addr::from(n);
            (format!("::ffff:{ip}"), IpAddr::V4(ip))
        }),
        any::<u32>().prop_map(|n| {
            let ip = Ipv4Addr::from(n);
            (format!("64:ff9b::{ip}"), IpAddr::V4(ip))
        }),
        // A few fixed ones, so that fakes sometimes equal the real one.
        prop_oneof![
            Just("203.0.113.5"),
            Just("8.8.8.8"),
            Just("2001:4860:4860::8888")
        ]
        .prop_map(|s| (s.to_string(), client(s.parse().unwrap()))),
    ]
}

/// Fragments of every shape, carrying the address `a` the attacker wants
/// blamed: what the client puts in a field it controls.
fn fragments(a: &str) -> Vec<Vec<u8>> {
    [
        format!(" from {a} port 22 ssh2"),
        format!(" from {a} port 22 ssh2: "),
        format!("x from {a} port 22 ssh2: RSA SHA256:abc"),
        format!(" from {a} port 22 ssh2: RSA-CERT SHA256:z ID "),
        format!(" from {a} port 22"),
        format!(" from {a}"),
        format!(" {a} port 22"),
        format!(" {a} port 22: "),
        format!(" {a} port 22 [preauth]"),
        format!(" {a} port 22: Too many authentication failures"),
        format!(" {a} port 22: Too many authentication failures [preauth]"),
        format!("x {a} port 22: Too many authentication failures"),
        format!(" rhost={a}"),
        format!("  user=x rhost={a} "),
        format!("] FAIL LOGIN: Client \"{a}\""),
        format!("] FAIL LOGIN: Client \"{a}\", \"Login incorrect.\""),
        format!("a] FAIL LOGIN: Client \"{a}"),
        format!("\" FAIL LOGIN: Client \"{a}\""),
        format!("FAIL LOGIN: Client \"{a}\""),
        " not allowed because listed in DenyUsers".to_string(),
        format!("invalid user x from {a}"),
        format!("authenticating user x {a} port 22"),
        format!(") -> (root,x {a} port 22: Too many authentication failures"),
        a.to_string(),
        "Too many authentication failures".to_string(),
        " [preauth]".to_string(),
        "\", \"".to_string(),
        "] ".to_string(),
        "[".to_string(),
        ": ".to_string(),
        " ssh2".to_string(),
        ", ".to_string(),
        "\u{202e}\u{200b}".to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .chain([b"\xff\xfe".to_vec(), b"\x1b]0;x\x07".to_vec()])
    .collect()
}

/// A field the client controls: fragments, quotes, brackets and random
/// bytes (no newline: one log line), sometimes long enough to reach a limit.
fn field(a: String) -> impl Strategy<Value = Vec<u8>> {
    let pieces = fragments(&a);
    let piece = prop_oneof![
        6 => (0..pieces.len()).prop_map(move |i| pieces[i].clone()),
        2 => "[a-z0-9]{0,8}".prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..6),
        1 => (1usize..120).prop_map(|n| b"\x01".repeat(n)),
        1 => (1usize..220).prop_map(|n| b"A".repeat(n)),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|v| v.concat())
}

/// `%.Ns`: at most `n` bytes.
fn cut(b: &[u8], n: usize) -> &[u8] {
    &b[..b.len().min(n)]
}

/// Whether the line, if counted, may count as a guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guess {
    Yes,
    /// A line that is no guess: it never counts.
    No,
}

/// One daemon line: which shape, and the client's fields in it.
#[derive(Debug, Clone)]
struct Spec {
    shape: usize,
    real: String,
    fields: [Vec<u8>; 3],
    /// Where syslog cuts the line, if it does: 1 KiB (RFC 3164), 2 KiB or
    /// 8 KiB (rsyslog's defaults), or not at all.
    limit: Option<usize>,
    pid: u32,
}

const SSHD_SHAPES: usize = 14;
const SHAPES: usize = SSHD_SHAPES + 9;

/// The message sshd or vsftpd writes for a spec, and whether it is a guess.
fn message(s: &Spec) -> (Vec<u8>, bool, Guess) {
    let [u, x, y] = &s.fields;
    let r = s.real.as_bytes();
    let mut m = Vec::new();
    let mut preauth = false;
    let mut sshd = true;
    let guess = match s.shape {
        // Failed, with or without the client's auth info.
        0..=3 => {
            let method: &[u8] = [
                &b"password"[..],
                b"publickey",
                b"keyboard-interactive/pam",
                b"none",
            ][s.shape];
            m.extend_from_slice(b"Failed ");
            m.extend_from_slice(method);
            m.extend_from_slice(b" for ");
            if s.pid.is_multiple_of(2) {
                m.extend_from_slice(b"invalid user ");
            }
            m.extend_from_slice(cut(u, 100));
            m.extend_from_slice(b" from ");
            m.extend_from_slice(r);
            m.extend_from_slice(b" port 4711 ssh2");
            match s.shape {
                1 => {
                    m.extend_from_slice(b": ED25519-CERT SHA256:abc ID ");
                    m.extend_from_slice(x);
                    m.extend_from_slice(b" (serial 7) CA ED25519 SHA256:def");
                }
                2 if !x.is_empty() => {
                    m.extend_from_slice(b": ");
                    m.extend_from_slice(x);
                }
                3 => {
                    m.extend_from_slice(b": RSA SHA256:abc, client user \"");
                    m.extend_from_slice(cut(x, 100));
                    m.extend_from_slice(b"\", client host \"");
                    m.extend_from_slice(cut(y, 100));
                    m.extend_from_slice(b"\"");
                }
                _ => {}
            }
            Guess::Yes
        }
        4 => {
            m.extend_from_slice(b"Invalid user ");
            m.extend_from_slice(cut(u, 100));
            m.extend_from_slice(b" from ");
            m.extend_from_slice(r);
            m.extend_from_slice(b" port 4711");
            Guess::Yes
        }
        // A connection's name: `%.200s` of the preamble, then ` IP port N`.
        5..=7 => {
            let what: &[u8] = [
                &b"Connection closed by "[..],
                b"Connection reset by ",
                b"Disconnected from ",
            ][s.shape - 5];
            m.extend_from_slice(what);
            m.extend_from_slice(&conn_id(s, u));
            preauth = true;
            Guess::Yes
        }
        // Disconnecting: the reason is `%.100s`, and may hold the client's words.
        8..=10 => {
            m.extend_from_slice(b"Disconnecting ");
            m.extend_from_slice(&conn_id(s, u));
            m.extend_from_slice(b": ");
            let mut reason = Vec::new();
            let guess = match s.shape {
                8 => {
                    reason.extend_from_slice(b"Too many authentication failures");
                    Guess::Yes
                }
                9 => {
                    reason.extend_from_slice(b"Change of username or service not allowed: (");
                    reason.extend_from_slice(u);
                    reason.extend_from_slice(b",ssh-connection) -> (");
                    reason.extend_from_slice(u);
                    reason.push(b',');
                    reason.extend_from_slice(x);
                    reason.push(b')');
                    Guess::No
                }
                _ => {
                    reason.extend_from_slice(b"no authentication methods enabled");
                    Guess::No
                }
            };
            m.extend_from_slice(cut(&reason, 100));
            preauth = true;
            guess
        }
        11 => {
            m.extend_from_slice(
                b"error: maximum authentication attempts exceeded for invalid user ",
            );
            m.extend_from_slice(cut(u, 100));
            m.extend_from_slice(b" from ");
            m.extend_from_slice(r);
            m.extend_from_slice(b" port 4711 ssh2");
            preauth = true;
            Guess::Yes
        }
        12 => {
            m.extend_from_slice(b"error: PAM: Authentication failure for illegal user ");
            m.extend_from_slice(cut(u, 100));
            m.extend_from_slice(b" from ");
            m.extend_from_slice(r);
            Guess::Yes
        }
        13 => {
            m.extend_from_slice(b"User ");
            m.extend_from_slice(cut(u, 100));
            m.extend_from_slice(b" from ");
            m.extend_from_slice(r);
            m.extend_from_slice(b" not allowed because not listed in AllowUsers");
            Guess::Yes
        }
        // vsftpd: `[U] ACTION: Client "IP"` and the client's words after it.
        n => {
            sshd = false;
            let v = n - SSHD_SHAPES;
            let with_user = v != 8 || !u.is_empty();
            if with_user {
                m.push(b'[');
                m.extend_from_slice(u);
                m.extend_from_slice(b"] ");
            }
            let action: &[u8] = match v {
                0..=2 => b"FAIL LOGIN",
                3 => b"OK MKDIR",
                4 => b"FAIL MKDIR",
                5 => b"OK UPLOAD",
                6 => b"OK LOGIN",
                7 => b"FAIL DOWNLOAD",
                _ => b"FTP command",
            };
            m.extend_from_slice(action);
            m.extend_from_slice(b": Client \"");
            m.extend_from_slice(r);
            m.push(b'"');
            match v {
                1 => {
                    m.extend_from_slice(b", anon password \"");
                    m.extend_from_slice(x);
                    m.push(b'"');
                }
                2 => m.extend_from_slice(b", \"Login incorrect.\""),
                0 => {}
                _ => {
                    m.extend_from_slice(b", \"");
                    m.extend_from_slice(x);
                    m.push(b'"');
                    if v == 5 {
                        m.extend_from_slice(b", 4096 bytes, 512.00Kbyte/sec");
                    }
                }
            }
            // vsftpd writes `?` for what is not printable.
            for b in &mut m {
                if *b < 0x20 || *b == 0x7f {
                    *b = b'?';
                }
            }
            if v <= 2 { Guess::Yes } else { Guess::No }
        }
    };
    if sshd {
        // log.c formats into 1 KiB and escapes that into 1 KiB; the
        // unprivileged child's lines are then logged by the monitor as
        // `%s [preauth]`, formatted and escaped once more; syslog is handed
        // `%.500s` of the result.
        m.truncate(1023);
        m = vis(&m);
        if preauth {
            m.extend_from_slice(b" [preauth]");
            m.truncate(1023);
            m = vis(&m);
        }
        m.truncate(500);
    }
    (m, sshd, guess)
}

/// OpenSSH's `strnvis(…, VIS_CSTYLE | VIS_NL | VIS_TAB | VIS_OCTAL)` into a
/// 1 KiB buffer, as log.c writes every message: an escape that does not fit
/// is left out whole.
fn vis(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, &c) in raw.iter().enumerate() {
        let e: Vec<u8> = match c {
            b'\\' => b"\\\\".to_vec(),
            0x20..=0x7e => vec![c],
            b'\n' => b"\\n".to_vec(),
            b'\t' => b"\\t".to_vec(),
            b'\r' => b"\\r".to_vec(),
            0x07 => b"\\a".to_vec(),
            0x08 => b"\\b".to_vec(),
            0x0b => b"\\v".to_vec(),
            0x0c => b"\\f".to_vec(),
            0 if !raw.get(i + 1).is_some_and(|n| (b'0'..=b'7').contains(n)) => b"\\0".to_vec(),
            _ => format!("\\{c:03o}").into_bytes(),
        };
        if out.len() + e.len() > 1023 {
            break;
        }
        out.extend_from_slice(&e);
    }
    out
}

/// `%.200s` of the preamble, then ` IP port N`, in a 512-byte buffer.
fn conn_id(s: &Spec, u: &[u8]) -> Vec<u8> {
    let mut pre = Vec::new();
    pre.extend_from_slice(if s.pid.is_multiple_of(2) {
        b"invalid user "
    } else {
        b"authenticating user "
    });
    pre.extend_from_slice(u);
    let mut id = cut(&pre, 200).to_vec();
    id.push(b' ');
    id.extend_from_slice(s.real.as_bytes());
    id.extend_from_slice(b" port 4711");
    id.truncate(511);
    id
}

/// The line as the log file holds it.
fn line(s: &Spec) -> (Vec<u8>, Guess) {
    let (msg, sshd, guess) = message(s);
    let mut l = Vec::new();
    match (sshd, s.pid % 3) {
        (true, 0) => {
            l.extend_from_slice(format!("Nov 26 00:00:03 web01 sshd[{}]: ", s.pid).as_bytes())
        }
        (true, 1) => l.extend_from_slice(
            format!(
                "2026-11-26T10:15:01.123456+00:00 web01 sshd-session[{}]: ",
                s.pid
            )
            .as_bytes(),
        ),
        (true, _) => l.extend_from_slice(
            format!(
                "Nov 26 00:00:03 web01 sshd[{}]: message repeated 2 times: [ ",
                s.pid
            )
            .as_bytes(),
        ),
        (false, 0) => {
            l.extend_from_slice(format!("Nov 26 00:00:03 web01 vsftpd[{}]: ", s.pid).as_bytes())
        }
        (false, _) => {
            l.extend_from_slice(format!("Thu Nov 26 00:00:01 2026 [pid {}] ", s.pid).as_bytes())
        }
    }
    l.extend_from_slice(&msg);
    if sshd && s.pid % 3 == 2 {
        l.push(b']');
    }
    if let Some(n) = s.limit {
        l.truncate(n);
    }
    (l, guess)
}

fn spec() -> impl Strategy<Value = Spec> {
    (address(), address()).prop_flat_map(|((real, _), (fake, _))| {
        (
            0..SHAPES,
            Just(real),
            [field(fake.clone()), field(fake.clone()), field(fake)],
            prop_oneof![4 => Just(None), 1 => Just(Some(1024)), 1 => Just(Some(8192)), 1 => Just(Some(2048))],
            1u32..100_000,
        )
            .prop_map(|(shape, real, fields, limit, pid)| Spec {
                shape,
                real,
                fields,
                limit,
                pid,
            })
    })
}

fn real_ip(s: &Spec) -> IpAddr {
    client(s.real.parse().unwrap())
}

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(
                "tests/blame.proptest-regressions",
            ),
        )),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(20_000))]

    /// One line: its event, if any, names the true address or none, and a
    /// line that is no guess is no event at all.
    #[test]
    fn a_daemon_line_names_its_client_or_nobody(s in spec()) {
        let (l, guess) = line(&s);
        let Some(ev) = parse(&l) else { return Ok(()) };
        prop_assert_eq!(guess, Guess::Yes, "a line that is no guess counted: {:?}", String::from_utf8_lossy(&l));
        prop_assert!(
            ev.ip.is_none() || ev.ip == Some(real_ip(&s)),
            "{:?} blamed for {} in {:?}",
            ev.ip,
            s.real,
            String::from_utf8_lossy(&l)
        );
    }

    /// A line whose client fields hold nothing but letters and digits is
    /// always read, with its address: the rule costs no honest line.
    #[test]
    fn an_honest_line_is_read_with_its_address(
        shape in 0..SHAPES,
        ((real, ip), user) in (address(), "[a-z0-9]{1,12}"),
        info in "[a-z0-9]{0,12}",
        pid in 1u32..100_000,
    ) {
        let s = Spec { shape, real, fields: [user.into_bytes(), info.clone().into_bytes(), info.into_bytes()], limit: None, pid };
        let (l, guess) = line(&s);
        let ev = parse(&l);
        match guess {
            Guess::Yes => {
                let ev = ev.unwrap_or_else(|| panic!("not read: {:?}", String::from_utf8_lossy(&l)));
                prop_assert_eq!(ev.ip, Some(ip), "{:?}", String::from_utf8_lossy(&l));
            }
            Guess::No => prop_assert!(ev.is_none(), "{:?}", String::from_utf8_lossy(&l)),
        }
    }

    /// A whole connection (one pid, several lines of one client, each with
    /// the client's fields filled adversarially): the table counts the true
    /// client, or nobody, never another address, also where a line takes its
    /// address from its connection's other lines.
    #[test]
    fn a_connection_is_counted_for_its_client_or_nobody(
        specs in (address(), address(), 1u32..100_000).prop_flat_map(|((real, _), (fake, _), pid)| {
            prop::collection::vec(
                (0..SHAPES, [field(fake.clone()), field(fake.clone()), field(fake)], prop_oneof![3 => Just(None), 1 => Just(Some(1024))]),
                1..6,
            )
            .prop_map(move |v| {
                v.into_iter()
                    .map(|(shape, fields, limit)| Spec { shape, real: real.clone(), fields, limit, pid })
                    .collect::<Vec<_>>()
            })
        }),
    ) {
        let mut table = Table::default();
        let mut lines = Vec::new();
        for s in &specs {
            let (l, _) = line(s);
            if let Some(ev) = parse(&l) {
                table.record(&ev, 1_764_115_200);
            }
            lines.push(String::from_utf8_lossy(&l).into_owned());
        }
        table.close_conns();
        let want = table.rules().group(real_ip(&specs[0])).0;
        for ip in table.all().keys() {
            prop_assert_eq!(*ip, want, "{:?}", lines);
        }
    }
}

/// The figures of a run: how many generated lines named their client, named
/// nobody by themselves (their connection's address counts), or were no
/// event, by whether they were a guess. Holds the same rule as the first
/// property, on a fixed seed; `BLAME_LINES=2000000 cargo test --release
/// --test blame figures -- --nocapture` prints them for a long run.
#[test]
fn figures() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let n: u64 = std::env::var("BLAME_LINES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let mut runner = TestRunner::deterministic();
    let strategy = spec();
    // [guess, no guess] × [client, connection's, no event]
    let mut seen = [[0u64; 3]; 2];
    for _ in 0..n {
        let s = strategy.new_tree(&mut runner).unwrap().current();
        let (l, guess) = line(&s);
        let row = (guess == Guess::No) as usize;
        let col = match parse(&l) {
            Some(ev) if ev.ip == Some(real_ip(&s)) => 0,
            Some(ev) if ev.ip.is_none() => 1,
            None => 2,
            Some(ev) => panic!(
                "{:?} blamed for {} in {:?}",
                ev.ip,
                s.real,
                String::from_utf8_lossy(&l)
            ),
        };
        assert!(
            row == 0 || col == 2,
            "no guess counted: {:?}",
            String::from_utf8_lossy(&l)
        );
        seen[row][col] += 1;
    }
    println!("blame: {n} lines; another address blamed: 0");
    for (name, r) in [("guesses", seen[0]), ("no guesses", seen[1])] {
        println!(
            "blame: {name}: {} named their client, {} left to their connection, {} no event",
            r[0], r[1], r[2]
        );
    }
    assert!(seen[0][0] > n / 10, "most guesses are still read: {seen:?}");
}
