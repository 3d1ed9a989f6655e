//! Header shapes: a log line → timestamp, host, program, pid and message.

use super::Stamp;

pub(super) struct Header<'a> {
    pub(super) stamp: Stamp<'a>,
    pub(super) host: Option<&'a [u8]>,
    pub(super) prog: &'a [u8],
    /// The digits of the pid, decoded only for a line that turns out to matter.
    pub(super) pid: Option<&'a [u8]>,
    pub(super) msg: &'a [u8],
}

/// The first `x` in `b`. Header fields are a few bytes long, where a plain
/// loop beats a call into `memchr`.
fn find_byte(b: &[u8], x: u8) -> Option<usize> {
    b.iter().position(|&c| c == x)
}

fn split_word(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = find_byte(b, b' ')?;
    Some((&b[..i], &b[i + 1..]))
}

/// `STAMP HOST PROG[PID]: MSG`, or vsftpd's own `STAMP [pid N] MSG`.
pub(super) fn header(line: &[u8]) -> Option<Header<'_>> {
    let (stamp, rest) = if line.len() > 25
        && line[3] == b' '
        && line[7] == b' '
        && line[13] == b':'
        && line[24] == b' '
    {
        // vsftpd's own log: "Thu Nov 26 10:15:01 2026 [pid 1234] …"
        let rest = line[25..].strip_prefix(b"[pid ")?;
        let close = find_byte(rest, b']')?;
        let pid = Some(&rest[..close]);
        let msg = rest.get(close + 1..)?.strip_prefix(b" ")?;
        return Some(Header {
            stamp: Stamp::Vsftpd(&line[..24]),
            host: None,
            prog: b"vsftpd",
            pid,
            msg,
        });
    } else if line.len() > 16 && line[3] == b' ' && line[9] == b':' && line[15] == b' ' {
        (Stamp::Syslog(&line[..15]), &line[16..])
    } else if line.first().is_some_and(u8::is_ascii_digit) {
        let (stamp, rest) = split_word(line)?;
        (Stamp::Rfc3339(stamp), rest)
    } else {
        return None;
    };
    let (host, rest) = split_word(rest)?;
    // Only sshd's and vsftpd's lines can matter (see `parse`): the others, most
    // of a log, are dropped here before their tag is even looked for.
    if !(rest.starts_with(b"sshd") || rest.starts_with(b"vsftpd")) {
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
        host: Some(host),
        prog,
        pid,
        msg,
    })
}
