//! Header shapes: a log line → timestamp, host, program, pid and message.
//!
//! `SHAPES` is the list of every shape read, most common first. Each shape
//! has a cheap test on the first bytes (is this my timestamp?) and a reader;
//! the first shape whose test passes reads the line, alone. After the stamp,
//! the syslog shapes share `host_tag_msg`, which takes the variations that
//! can follow any stamp: no host, a `facility.priority` token, a tag without
//! a pid, the `sshd(pam_unix)` tag and Solaris's `[ID n facility.priority]`.
//!
//! To read another shape: add an entry with a real example line, and put
//! that line in `tests::every_shape`.

use super::Stamp;

pub(super) struct Header<'a> {
    pub(super) stamp: Stamp<'a>,
    pub(super) host: Option<&'a [u8]>,
    pub(super) prog: &'a [u8],
    /// The digits of the pid, decoded only for a line that turns out to matter.
    pub(super) pid: Option<&'a [u8]>,
    pub(super) msg: &'a [u8],
}

struct Shape {
    /// A real line of this shape (the tests read each one).
    #[cfg_attr(not(test), allow(dead_code))]
    example: &'static str,
    /// Whether the line starts with this shape's timestamp: a few byte compares.
    test: fn(&[u8]) -> bool,
    read: for<'a> fn(&'a [u8]) -> Option<Header<'a>>,
}

const SHAPES: &[Shape] = &[
    // rsyslog's and syslog-ng's traditional file format, and the same with a
    // single-space day (`Nov 2`), or without a host, or with busybox's and
    // AIX's `facility.priority` token before the tag.
    Shape {
        example: "Nov 26 00:00:03 web01 sshd[3504]: Failed password for root from 192.0.2.9 port 22 ssh2",
        test: classic,
        read: |l| host_tag_msg(Stamp::Syslog(&l[..15]), &l[16..]),
    },
    Shape {
        example: "Nov 2 15:40:14 web01 sshd[3504]: Failed password for root from 192.0.2.9 port 22 ssh2",
        test: |l| l.len() > 15 && l[3] == b' ' && l[5] == b' ' && l[8] == b':' && l[14] == b' ',
        read: |l| host_tag_msg(Stamp::Syslog(&l[..14]), &l[15..]),
    },
    // ISO 8601: rsyslog's RSYSLOG_FileFormat and journalctl -o short-iso, with
    // `T` or a space, an offset `+00:00`, `-0700`, ` -0700`, `Z` or none.
    Shape {
        example: "2026-11-26T10:15:01.123456+00:00 web01 sshd[2211]: Failed password for root from 192.0.2.9 port 22 ssh2",
        test: |l| l.len() > 20 && l[4] == b'-' && l[7] == b'-' && l[0].is_ascii_digit(),
        read: iso,
    },
    // vsftpd's own log (xferlog_std_format=NO), the day space-padded or not.
    Shape {
        example: r#"Thu Nov 26 00:00:01 2026 [pid 4165] [admin] FAIL LOGIN: Client "192.0.2.9""#,
        test: |l| l.len() > 25 && l[3] == b' ' && l[7] == b' ' && l[13] == b':' && l[24] == b' ',
        read: |l| vsftpd_own(&l[..24], &l[25..]),
    },
    Shape {
        example: r#"Thu Nov 2 00:00:01 2026 [pid 4165] [admin] FAIL LOGIN: Client "192.0.2.9""#,
        test: |l| l.len() > 24 && l[3] == b' ' && l[7] == b' ' && l[12] == b':' && l[23] == b' ',
        read: |l| vsftpd_own(&l[..23], &l[24..]),
    },
    // RFC 5424 (rsyslog's RSYSLOG_SyslogProtocol23Format, syslog-ng's
    // syslog-protocol), with or without structured data.
    Shape {
        example: r#"<38>1 2022-01-19T14:23:55+00:00 web01 sshd 44255 - [meta sequenceId="1"] Failed password for root from 192.0.2.9 port 22 ssh2"#,
        test: |l| l.first() == Some(&b'<') && rfc5424_rest(l).is_some(),
        read: |l| rfc5424(rfc5424_rest(l)?),
    },
    // A classic line that kept its `<PRI>` (a raw network capture, some collectors).
    Shape {
        example: "<38>Nov 26 00:00:03 web01 sshd[3504]: Failed password for root from 192.0.2.9 port 22 ssh2",
        test: |l| l.first() == Some(&b'<'),
        read: |l| {
            let close = find_byte(&l[..l.len().min(6)], b'>')?;
            digits_only(&l[1..close])?;
            let rest = &l[close + 1..];
            // Only the classic shapes: not another `<`, not a loop.
            SHAPES[..2]
                .iter()
                .find(|s| (s.test)(rest))
                .and_then(|s| (s.read)(rest))
        },
    },
];

/// Splits a line into its header's fields; `None` for a line of any other
/// program than sshd's and vsftpd's, or of no shape in `SHAPES`.
pub(super) fn header(line: &[u8]) -> Option<Header<'_>> {
    // The first shape, by far the most common, without the calls through the list.
    if classic(line) {
        return host_tag_msg(Stamp::Syslog(&line[..15]), &line[16..]);
    }
    let shape = SHAPES[1..].iter().find(|s| (s.test)(line))?;
    (shape.read)(line)
}

fn classic(l: &[u8]) -> bool {
    l.len() > 16 && l[3] == b' ' && l[9] == b':' && l[15] == b' '
}

/// The first `x` in `b`. Header fields are a few bytes long, where a call
/// into `memchr` costs more than it saves: eight bytes at a time, in a word.
#[inline]
fn find_byte(b: &[u8], x: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ (LO * u64::from(x));
        // The lowest high bit set is the first zero byte of `w` exactly
        // (a borrow only runs upward, past a byte that was zero).
        let zero = w.wrapping_sub(LO) & !w & HI;
        if zero != 0 {
            return Some(i + (zero.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c == x).map(|j| i + j)
}

fn split_word(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = find_byte(b, b' ')?;
    Some((&b[..i], &b[i + 1..]))
}

fn digits_only(b: &[u8]) -> Option<&[u8]> {
    (!b.is_empty() && b.iter().all(u8::is_ascii_digit)).then_some(b)
}

/// Whether a tag can be sshd's or vsftpd's; `parse` then decides exactly.
fn ours(tag: &[u8]) -> bool {
    tag.starts_with(b"sshd") || tag.starts_with(b"vsftpd")
}

/// The first letters of the facilities in `is_facility_priority`.
fn facility_start(b: u8) -> bool {
    matches!(b, b'a' | b's' | b'd' | b'u' | b'l')
}

/// `auth.info`, `authpriv.notice`, `local7.err`: a syslog facility and
/// priority, as busybox's syslogd and AIX write them before the tag.
fn is_facility_priority(w: &[u8]) -> bool {
    const FACILITIES: [&[u8]; 12] = [
        b"auth",
        b"authpriv",
        b"security",
        b"daemon",
        b"user",
        b"local0",
        b"local1",
        b"local2",
        b"local3",
        b"local4",
        b"local5",
        b"local6",
    ];
    const PRIORITIES: [&[u8]; 9] = [
        b"emerg", b"alert", b"crit", b"err", b"warn", b"warning", b"notice", b"info", b"debug",
    ];
    // 8 to 16 bytes (`auth.err` to `authpriv.warning`), starting as a
    // facility does: a host name or another program's tag, on every line,
    // fails here without a scan.
    if !(8..=16).contains(&w.len()) || !facility_start(w[0]) {
        return false;
    }
    let Some(dot) = find_byte(w, b'.') else {
        return false;
    };
    let (f, p) = (&w[..dot], &w[dot + 1..]);
    (FACILITIES.contains(&f) || f == b"local7") && PRIORITIES.contains(&p)
}

/// `[HOST ][FACILITY.PRIORITY ]PROG[PID]: [[ID N FACILITY.PRIORITY] ]MSG`,
/// what follows the stamp in every syslog file shape.
fn host_tag_msg<'a>(stamp: Stamp<'a>, rest: &'a [u8]) -> Option<Header<'a>> {
    let (first, after) = split_word(rest)?;
    let (host, rest) = if ours(after) {
        // The common case, `web01 sshd[1]: …`, or busybox's without a host.
        ((!is_facility_priority(first)).then_some(first), after)
    } else if first.last() == Some(&b':') {
        // No host: `sshd[1]: …`.
        (None, rest)
    } else {
        // A `facility.priority` token is at most 16 bytes: the space is
        // looked for no further, not across another program's message.
        if !facility_start(*after.first()?) {
            // `CRON[1]: …`, `kernel: …` and the like: no scan for a token.
            return None;
        }
        let i = find_byte(&after[..after.len().min(17)], b' ')?;
        let (second, after) = (&after[..i], &after[i + 1..]);
        if !is_facility_priority(second) {
            return None;
        }
        (Some(first), after)
    };
    // Only sshd's and vsftpd's lines can matter (see `parse`): the others, most
    // of a log, are dropped here before their tag is even looked for.
    if !ours(rest) {
        return None;
    }
    let colon = find_byte(rest, b':')?;
    let tag = &rest[..colon];
    let msg = rest[colon + 1..]
        .strip_prefix(b" ")
        .unwrap_or(&rest[colon + 1..]);
    let (prog, pid) = match find_byte(tag, b'[') {
        Some(i) if tag.last() == Some(&b']') => (&tag[..i], Some(&tag[i + 1..tag.len() - 1])),
        _ => (tag, None),
    };
    Some(Header {
        stamp,
        host,
        prog,
        pid,
        msg: solaris_id(msg),
    })
}

/// Solaris writes `[ID 800047 auth.info] ` before the message.
fn solaris_id(msg: &[u8]) -> &[u8] {
    let strip = || {
        let r = msg.strip_prefix(b"[ID ")?;
        let (n, r) = split_word(r)?;
        digits_only(n)?;
        let close = find_byte(r, b']')?;
        is_facility_priority(&r[..close]).then_some(())?;
        r[close + 1..].strip_prefix(b" ")
    };
    match msg.first() {
        Some(b'[') => strip().unwrap_or(msg),
        _ => msg,
    }
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.frac][offset][ offset] HOST …`
fn iso(line: &[u8]) -> Option<Header<'_>> {
    let (stamp, rest) = iso_stamp(line)?;
    host_tag_msg(Stamp::Rfc3339(stamp), rest)
}

/// An ISO 8601 line's stamp, and the rest of the line.
fn iso_stamp(line: &[u8]) -> Option<(&[u8], &[u8])> {
    Some(if line[10] == b' ' {
        let (_, time_rest) = split_word(line)?;
        let (_, mut rest) = split_word(time_rest)?;
        let mut len = line.len() - rest.len() - 1;
        // An offset as a word of its own: `-0700`, `+01:00`.
        if let Some((w, r)) = split_word(rest)
            && matches!(w.first(), Some(b'+' | b'-'))
            && w.len() >= 5
            && w[1..].iter().all(|&b| b.is_ascii_digit() || b == b':')
        {
            len += 1 + w.len();
            rest = r;
        }
        (&line[..len], rest)
    } else {
        split_word(line)?
    })
}

/// The stamp of a line of the syslog file shapes, whatever program wrote
/// it (`header` reads only sshd's and vsftpd's): the log's clock, which
/// closes connections, moves with every line, not only with attacks.
pub(super) fn stamp_of(line: &[u8]) -> Option<Stamp<'_>> {
    let [classic_day, one_digit_day, iso_8601, ..] = SHAPES else {
        return None;
    };
    if (classic_day.test)(line) {
        Some(Stamp::Syslog(&line[..15]))
    } else if (one_digit_day.test)(line) {
        Some(Stamp::Syslog(&line[..14]))
    } else if (iso_8601.test)(line) {
        iso_stamp(line).map(|(stamp, _)| Stamp::Rfc3339(stamp))
    } else {
        None
    }
}

/// `[pid N] MSG` after vsftpd's own stamp.
fn vsftpd_own<'a>(stamp: &'a [u8], rest: &'a [u8]) -> Option<Header<'a>> {
    let rest = rest.strip_prefix(b"[pid ")?;
    let close = find_byte(rest, b']')?;
    let pid = Some(&rest[..close]);
    let msg = rest.get(close + 1..)?.strip_prefix(b" ")?;
    Some(Header {
        stamp: Stamp::Vsftpd(stamp),
        host: None,
        prog: b"vsftpd",
        pid,
        msg,
    })
}

/// What follows `<PRI>1 `, when the line starts with it.
fn rfc5424_rest(l: &[u8]) -> Option<&[u8]> {
    let close = find_byte(&l[..l.len().min(6)], b'>')?;
    digits_only(&l[1..close])?;
    l[close + 1..].strip_prefix(b"1 ")
}

/// `STAMP HOST APP PROCID MSGID SD [MSG]`, each `-` when absent.
fn rfc5424(rest: &[u8]) -> Option<Header<'_>> {
    let (stamp, rest) = split_word(rest)?;
    let (host, rest) = split_word(rest)?;
    let (app, rest) = split_word(rest)?;
    if !ours(app) {
        return None;
    }
    let (procid, rest) = split_word(rest)?;
    let (_msgid, rest) = split_word(rest)?;
    let msg = skip_structured_data(rest)?;
    let msg = msg.strip_prefix(b"\xef\xbb\xbf").unwrap_or(msg);
    Some(Header {
        stamp: Stamp::Rfc3339(stamp),
        host: (host != b"-").then_some(host),
        prog: app,
        pid: (procid != b"-").then_some(procid),
        msg,
    })
}

/// Skips `-` or `[id k="v" …]…` and the space after it: the message.
fn skip_structured_data(b: &[u8]) -> Option<&[u8]> {
    if let Some(rest) = b.strip_prefix(b"-") {
        return Some(rest.strip_prefix(b" ").unwrap_or(rest));
    }
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        // Inside an element, `]` closes it unless it is in a quoted value,
        // where `\` escapes `"`, `\` and `]`.
        let mut quoted = false;
        i += 1;
        loop {
            match *b.get(i)? {
                b'\\' if quoted => i += 1,
                b'"' => quoted = !quoted,
                b']' if !quoted => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let rest = &b[i..];
    Some(rest.strip_prefix(b" ").unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Fields<'a> = (
        Stamp<'a>,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        &'a str,
    );

    fn fields(line: &str) -> Fields<'_> {
        let h = header(line.as_bytes()).unwrap_or_else(|| panic!("no header: {line}"));
        // Every field is a slice of `line`: found again by its place in it.
        let at = |b: &[u8]| {
            let start = b.as_ptr() as usize - line.as_ptr() as usize;
            &line[start..start + b.len()]
        };
        let prog = std::str::from_utf8(h.prog).unwrap();
        (h.stamp, h.host.map(at), prog, h.pid.map(at), at(h.msg))
    }

    #[test]
    fn every_shape_example_reads() {
        for s in SHAPES {
            let (_, _, prog, _, msg) = fields(s.example);
            assert!(prog == "sshd" || prog == "vsftpd", "{}", s.example);
            assert!(
                msg.starts_with("Failed") || msg.starts_with("[admin]"),
                "{msg}"
            );
        }
    }

    #[test]
    fn every_shape() {
        let msg = "Failed password for root from 192.0.2.9 port 22 ssh2";
        // The header before the message, and the fields read from it.
        type Case = (
            &'static str,
            Stamp<'static>,
            Option<&'static str>,
            &'static str,
            Option<&'static str>,
        );
        let cases: &[Case] = &[
            (
                "Nov 26 00:00:03 web01 sshd[3504]: ",
                Stamp::Syslog(b"Nov 26 00:00:03"),
                Some("web01"),
                "sshd",
                Some("3504"),
            ),
            (
                "Nov  2 15:40:14 web01 sshd[3504]: ",
                Stamp::Syslog(b"Nov  2 15:40:14"),
                Some("web01"),
                "sshd",
                Some("3504"),
            ),
            (
                "Nov 2 15:40:14 web01 sshd[3504]: ",
                Stamp::Syslog(b"Nov 2 15:40:14"),
                Some("web01"),
                "sshd",
                Some("3504"),
            ),
            // No host name.
            (
                "Nov 23 21:50:37 sshd[8148]: ",
                Stamp::Syslog(b"Nov 23 21:50:37"),
                None,
                "sshd",
                Some("8148"),
            ),
            // A tag without a pid.
            (
                "Nov 23 21:50:37 web01 sshd: ",
                Stamp::Syslog(b"Nov 23 21:50:37"),
                Some("web01"),
                "sshd",
                None,
            ),
            // busybox syslogd (Alpine, OpenWrt) and AIX.
            (
                "Jun 20 02:18:39 vps auth.info sshd[13482]: ",
                Stamp::Syslog(b"Jun 20 02:18:39"),
                Some("vps"),
                "sshd",
                Some("13482"),
            ),
            (
                "Jun 20 02:18:39 authpriv.notice sshd[13482]: ",
                Stamp::Syslog(b"Jun 20 02:18:39"),
                None,
                "sshd",
                Some("13482"),
            ),
            // Solaris: the `[ID …]` is cut from the message.
            (
                "Nov 23 21:50:37 sol10 sshd[8148]: [ID 800047 auth.info] ",
                Stamp::Syslog(b"Nov 23 21:50:37"),
                Some("sol10"),
                "sshd",
                Some("8148"),
            ),
            // Old Red Hat's pam_unix tag; `parse` reads its message.
            (
                "Nov 23 21:50:37 rh9 sshd(pam_unix)[8148]: ",
                Stamp::Syslog(b"Nov 23 21:50:37"),
                Some("rh9"),
                "sshd(pam_unix)",
                Some("8148"),
            ),
            (
                "2026-11-26T10:15:01.123456+00:00 web01 sshd-session[2211]: ",
                Stamp::Rfc3339(b"2026-11-26T10:15:01.123456+00:00"),
                Some("web01"),
                "sshd-session",
                Some("2211"),
            ),
            (
                "2026-11-26 10:15:01-0700 web01 sshd[2211]: ",
                Stamp::Rfc3339(b"2026-11-26 10:15:01-0700"),
                Some("web01"),
                "sshd",
                Some("2211"),
            ),
            (
                "2026-11-26 10:15:01 -0700 web01 sshd[2211]: ",
                Stamp::Rfc3339(b"2026-11-26 10:15:01 -0700"),
                Some("web01"),
                "sshd",
                Some("2211"),
            ),
            (
                "2026-11-26 10:15:01 web01 sshd[2211]: ",
                Stamp::Rfc3339(b"2026-11-26 10:15:01"),
                Some("web01"),
                "sshd",
                Some("2211"),
            ),
            (
                "<38>1 2022-01-19T14:23:55+00:00 web01 sshd 44255 - - ",
                Stamp::Rfc3339(b"2022-01-19T14:23:55+00:00"),
                Some("web01"),
                "sshd",
                Some("44255"),
            ),
            (
                r#"<38>1 2022-01-19T14:23:55.003Z web01 sshd 44255 ID47 [meta sequenceId="1"][x@1 a="q\"]uote"] "#,
                Stamp::Rfc3339(b"2022-01-19T14:23:55.003Z"),
                Some("web01"),
                "sshd",
                Some("44255"),
            ),
            (
                "<38>1 2022-01-19T14:23:55Z - sshd - - - \u{feff}",
                Stamp::Rfc3339(b"2022-01-19T14:23:55Z"),
                None,
                "sshd",
                None,
            ),
            (
                "<38>Nov 26 00:00:03 web01 sshd[3504]: ",
                Stamp::Syslog(b"Nov 26 00:00:03"),
                Some("web01"),
                "sshd",
                Some("3504"),
            ),
        ];
        for (head, stamp, host, prog, pid) in cases {
            let line = format!("{head}{msg}");
            let got = fields(&line);
            assert_eq!(got, (*stamp, *host, *prog, *pid, msg), "{line}");
        }
    }

    #[test]
    fn vsftpd_own_shapes() {
        for (line, stamp) in [
            (
                r#"Thu Nov 26 00:00:01 2026 [pid 4165] [admin] FAIL LOGIN: Client "192.0.2.9""#,
                &b"Thu Nov 26 00:00:01 2026"[..],
            ),
            (
                r#"Thu Nov  2 00:00:01 2026 [pid 4165] [admin] FAIL LOGIN: Client "192.0.2.9""#,
                b"Thu Nov  2 00:00:01 2026",
            ),
            (
                r#"Thu Nov 2 00:00:01 2026 [pid 4165] [admin] FAIL LOGIN: Client "192.0.2.9""#,
                b"Thu Nov 2 00:00:01 2026",
            ),
        ] {
            let (s, host, prog, pid, msg) = fields(line);
            assert_eq!(s, Stamp::Vsftpd(stamp), "{line}");
            assert_eq!((host, prog, pid), (None, "vsftpd", Some("4165")));
            assert!(msg.starts_with("[admin]"));
        }
    }

    #[test]
    fn find_byte_finds_the_first() {
        let mut rng = crate::parse::Rng(7);
        for _ in 0..20_000 {
            let len = rng.below(40);
            let b: Vec<u8> = (0..len).map(|_| b"ab: [\x80\xff"[rng.below(7)]).collect();
            for x in [b' ', b':', b'[', b'a', 0x80, 0xff, 0] {
                assert_eq!(
                    find_byte(&b, x),
                    b.iter().position(|&c| c == x),
                    "{b:?} {x}"
                );
            }
        }
    }

    #[test]
    fn other_programs_and_shapes_are_not_headers() {
        for line in [
            "Nov 26 00:00:01 web01 CRON[123]: pam_unix(cron:session): session opened for user root",
            "Nov 26 00:00:01 web01 auth.info CRON[1]: sshd[1]: x",
            "Nov 26 00:00:01 web01 kernel: sshd[1]: x",
            "Nov 26 00:00:01 web01 web02 sshd[1]: two hosts",
            "<38>1 2022-01-19T14:23:55Z web01 cron 1 - - sshd[1]: x",
            "<38>1 2022-01-19T14:23:55Z web01 sshd 1 - [unclosed",
            "<38><38>Nov 26 00:00:01 web01 sshd[1]: x",
            "<x>Nov 26 00:00:01 web01 sshd[1]: x",
            "2026-11-26 10:15:01",
            "",
        ] {
            assert!(header(line.as_bytes()).is_none(), "{line}");
        }
    }
}
