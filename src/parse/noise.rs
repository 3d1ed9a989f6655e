//! sshd's and vsftpd's messages that are known and not failures, and whether
//! an unknown message names an address: what `parse --missed` lists.

use super::addr::{ip_from, ip_with_zone, is_addr_byte};

/// Messages that name a client but are not a failed guess: a login, a
/// connection opened or closed, a scan that never got to authenticate.
const HARMLESS_SSHD: &[&[u8]] = &[
    b"Accepted ",
    b"Connection from ",
    b"Connection closed by ",
    b"Connection reset by ",
    b"Disconnected from ",
    b"Received disconnect from ",
    b"Did not receive identification string from ",
    b"banner exchange: ",
    b"Unable to negotiate with ",
    b"Timeout before authentication for ",
    b"fatal: Timeout before authentication for ",
    b"kex_exchange_identification: ",
    b"error: kex_exchange_identification: ",
    b"ssh_dispatch_run_fatal: ",
    b"Bad protocol version identification ",
    b"error: Protocol major versions differ",
    b"Protocol major versions differ",
    b"drop connection #",
    b"srclimit_penalise: ",
    b"Postponed ",
    b"Starting session: ",
    b"Close session: ",
    b"pam_unix(sshd:session): ",
    b"Server listening on ",
    b"error: Received disconnect from ",
    b"Partial publickey for ",
    b"Authorized to ",
    b"Exiting on signal",
    b"reverse mapping checking getaddrinfo for ",
    b"Address ",
];

/// Known sshd prefixes that still count: a failure the matchers missed must
/// show, even if its message starts like a harmless close.
const FAILURE_WORDS: &[&[u8]] = &[b"invalid user", b"authenticating user", b"Too many"];

/// The harmless prefixes that a failure's words can follow (`Connection
/// closed by invalid user …` is a failure line): the others are harmless
/// whatever follows (`Postponed keyboard-interactive for invalid user …`).
const CLOSES: &[&[u8]] = &[
    b"Connection closed by ",
    b"Connection reset by ",
    b"Disconnected from ",
];

pub(super) fn harmless(prog: &[u8], msg: &[u8]) -> bool {
    if prog == b"vsftpd" {
        // `CONNECT: Client "A"`, `[u] OK LOGIN: …`, `[u] OK DOWNLOAD: …`, and a
        // logged-in user's `[u] FAIL UPLOAD: …`: only FAIL LOGIN is a guess.
        const FILE_OPS: [&[u8]; 7] = [
            b"] FAIL DOWNLOAD:",
            b"] FAIL UPLOAD:",
            b"] FAIL MKDIR:",
            b"] FAIL RMDIR:",
            b"] FAIL DELETE:",
            b"] FAIL RENAME:",
            b"] FAIL CHMOD:",
        ];
        let has = |w: &[u8]| memchr::memmem::find(msg, w).is_some();
        // With log_ftp_protocol=YES, every command and reply: `FTP command:`.
        return msg.starts_with(b"CONNECT: ")
            || has(b"FTP command: ")
            || has(b"FTP response: ")
            || has(b"] OK ")
            || FILE_OPS.iter().any(|w| has(w));
    }
    if super::sshd::disconnect_no_guess(msg) {
        return true;
    }
    let close = CLOSES.iter().any(|p| msg.starts_with(p));
    HARMLESS_SSHD.iter().any(|p| msg.starts_with(p))
        && !(close
            && FAILURE_WORDS
                .iter()
                .any(|w| memchr::memmem::find(msg, w).is_some()))
}

/// Whether any word of `msg` is an address (a host name is not one).
pub(super) fn names_address(msg: &[u8]) -> bool {
    msg.split(|&b| !is_addr_byte(b)).any(|w| {
        // A word may end a sentence or a field: `from 1.2.3.4.`, `[1.2.3.4]:22`.
        let w = w.strip_suffix(b".").unwrap_or(w);
        w.len() >= 2
            && (w.contains(&b'.') || w.contains(&b':'))
            && (ip_from(w).is_some() || ip_with_zone(w).is_some())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_found_in_any_word() {
        for msg in [
            "Bad thing from 192.0.2.9 port 22",
            "Bad thing from 192.0.2.9.",
            "drop [2001:db8::1]:22 now",
            "rhost=fe80::1%eth0 user=x",
            r#"[x] WEIRD: Client "::ffff:192.0.2.9""#,
        ] {
            assert!(names_address(msg.as_bytes()), "{msg}");
        }
        for msg in [
            "Server listening on port 22",
            "pam_unix(sshd:auth): check pass; user unknown",
            "Bad thing from evil.example.com port 22",
            "deadbeef cafe 12:30",
            "",
        ] {
            assert!(!names_address(msg.as_bytes()), "{msg}");
        }
    }

    #[test]
    fn harmless_messages() {
        for (prog, msg) in [
            (
                "sshd",
                "Accepted password for deploy from 192.0.2.200 port 20311 ssh2",
            ),
            (
                "sshd",
                "Connection closed by 192.0.2.9 port 59852 [preauth]",
            ),
            (
                "sshd",
                "Received disconnect from 192.0.2.9 port 42751:11: Bye Bye [preauth]",
            ),
            ("vsftpd", r#"CONNECT: Client "192.0.2.9""#),
            ("vsftpd", r#"[alice] OK LOGIN: Client "192.0.2.9""#),
            (
                "vsftpd",
                r#"[alice] FAIL UPLOAD: Client "192.0.2.9", "/x", 0.00Kbyte/sec"#,
            ),
            (
                "vsftpd",
                r#"FTP command: Client "::ffff:192.0.2.9", "USER www""#,
            ),
            (
                "vsftpd",
                r#"[www] FTP response: Client "::ffff:192.0.2.9", "530 Login incorrect.""#,
            ),
            (
                "sshd",
                "Postponed keyboard-interactive for invalid user admin from 198.51.100.12 port 53330 ssh2 [preauth]",
            ),
            // Real sshd 9.2's, when a client changes its service (captured in
            // tests/fixtures/real/attacks): no guess in any reading.
            (
                "sshd",
                "Disconnecting authenticating user root 198.51.100.40 port 35780: Change of username or service not allowed: (root,ssh-connection) -> (root, from 8.8.8.8 port 22 ssh2 [preauth]",
            ),
        ] {
            assert!(harmless(prog.as_bytes(), msg.as_bytes()), "{msg}");
        }
        for (prog, msg) in [
            (
                "sshd",
                "Connection closed by invalid user x 192.0.2.9 port 1 [weird]",
            ),
            ("sshd", "Failed frobnicate for root from 192.0.2.9"),
            ("vsftpd", r#"[x] FAIL LOGIN: Client "192.0.2.9" unexpected"#),
            (
                "sshd",
                "Disconnecting invalid user x 192.0.2.9: Too many authentication failures",
            ),
        ] {
            assert!(!harmless(prog.as_bytes(), msg.as_bytes()), "{msg}");
        }
    }
}
