//! journald as a log source, for hosts without /var/log/auth.log: runs
//! `journalctl -o json` after the saved cursor and turns each entry back
//! into a syslog line, so the one parser serves both sources.

use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::clock::{Secs, format_rfc3339};
use crate::lines::{self, ReadStats};

/// The programs whose entries are asked for. `_COMM` is only a first
/// filter: any user can name a program `sshd`. What is counted is decided
/// by `Entry::trusted`.
const MATCHES: [&str; 5] = ["_COMM=sshd", "+", "_COMM=sshd-session", "+", "_COMM=vsftpd"];

/// The executables whose entries are believed, by file name.
const PROGRAMS: [&str; 3] = ["sshd", "sshd-session", "vsftpd"];

/// The system units whose entries are believed: Debian's and Red Hat's
/// names, and the per-connection instances of socket-activated sshd.
fn trusted_unit(unit: &str) -> bool {
    let Some(name) = unit.strip_suffix(".service") else {
        return false;
    };
    let base = name.split_once('@').map_or(name, |(base, _)| base);
    matches!(base, "ssh" | "sshd" | "vsftpd")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalSource {
    /// The journalctl binary (tests point this at a fake).
    pub journalctl: PathBuf,
    /// How far back the first run looks.
    pub look_back: Secs,
}

#[derive(Debug)]
pub struct JournalRead {
    /// Where the next run starts; `None` when nothing was read.
    pub cursor: Option<String>,
    pub entries: u64,
    /// Lines of journalctl's output that are not a journal entry it could
    /// be read as: skipped (the cursor moves past them).
    pub unreadable: u64,
    /// Attack lines from processes that are not root's sshd or vsftpd: ignored.
    pub forged: u64,
    pub stats: ReadStats,
}

/// A field as `journalctl -o json` prints it: a string; an array of bytes
/// when the value is not UTF-8 (or holds control characters); an array of
/// those when the entry holds the field more than once (any client can
/// repeat its own fields, `SYSLOG_IDENTIFIER` included); `null` when it is
/// over 4096 bytes (an absent field, to `Option`). Kept as the bytes of its
/// first value, as `sd_journal_get_data` gives the first.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    bytes: Vec<u8>,
    /// Printed as one string: the only form journald's own trusted fields take.
    plain: bool,
}

impl Field {
    /// The value as text, invalid UTF-8 replaced (it is only ever
    /// printed into a line the parser reads, or compared).
    fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }

    /// The value, only if printed as one string.
    fn plain(&self) -> Option<&str> {
        self.plain
            .then(|| std::str::from_utf8(&self.bytes).ok())
            .flatten()
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Field, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> serde::de::Visitor<'de> for FieldVisitor {
    type Value = Field;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a journal field: a string, an array of bytes, or an array of those")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Field, E> {
        Ok(Field {
            bytes: v.as_bytes().to_vec(),
            plain: true,
        })
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Field, A::Error> {
        // Bytes (numbers), or values (strings or arrays of bytes): not a mix.
        let mut bytes = Vec::new();
        let mut first: Option<Field> = None;
        while let Some(e) = seq.next_element::<Element>()? {
            match (e, first.is_some(), bytes.is_empty()) {
                (Element::Byte(b), false, _) => bytes.push(b),
                (Element::Value(v), _, true) => {
                    first.get_or_insert(v);
                }
                _ => return Err(serde::de::Error::custom("a field mixes bytes and values")),
            }
        }
        Ok(Field {
            bytes: first.map_or(bytes, |f| f.bytes),
            plain: false,
        })
    }
}

/// One element of a field printed as an array.
enum Element {
    Byte(u8),
    Value(Field),
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Element, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Element;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a byte, a string or an array of bytes")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Element, E> {
                u8::try_from(v)
                    .map(Element::Byte)
                    .map_err(|_| E::custom("a byte over 255"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Element, E> {
                FieldVisitor.visit_str(v).map(Element::Value)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Element, A::Error> {
                FieldVisitor.visit_seq(seq).map(Element::Value)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "__CURSOR")]
    cursor: String,
    #[serde(rename = "MESSAGE")]
    message: Option<Field>,
    #[serde(rename = "SYSLOG_IDENTIFIER")]
    ident: Option<Field>,
    #[serde(rename = "_COMM")]
    comm: Option<Field>,
    #[serde(rename = "_PID")]
    pid: Option<Field>,
    #[serde(rename = "_HOSTNAME")]
    host: Option<Field>,
    #[serde(rename = "__REALTIME_TIMESTAMP")]
    realtime: Option<Field>,
    // Trusted fields: journald sets them from the sender's credentials,
    // and a client cannot forge them. Believed only as plain strings.
    #[serde(rename = "_UID")]
    uid: Option<Field>,
    #[serde(rename = "_EXE")]
    exe: Option<Field>,
    #[serde(rename = "_SYSTEMD_UNIT")]
    unit: Option<Field>,
}

/// What is left of an entry that cannot be read whole: where it is, so
/// that the cursor moves past it.
#[derive(Deserialize)]
struct Cursor {
    #[serde(rename = "__CURSOR")]
    cursor: String,
}

impl Entry {
    /// Sent by root's sshd or vsftpd: a process running as root, whose
    /// executable is a root-owned sshd, sshd-session or vsftpd, or that runs
    /// in their system unit. Anything else, a user's `logger -t sshd` or a
    /// program they named sshd, is not evidence of an attack.
    fn trusted(&self) -> bool {
        fn plain(f: &Option<Field>) -> Option<&str> {
            f.as_ref().and_then(Field::plain)
        }
        if plain(&self.uid) != Some("0") {
            return false;
        }
        plain(&self.unit).is_some_and(trusted_unit) || plain(&self.exe).is_some_and(trusted_exe)
    }
}

/// A root-owned executable, writable by root alone, named like one of `PROGRAMS`.
fn trusted_exe(exe: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let path = std::path::Path::new(exe);
    let named = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| PROGRAMS.contains(&n));
    named
        && std::fs::metadata(path)
            .is_ok_and(|m| m.is_file() && m.uid() == 0 && m.mode() & 0o022 == 0)
}

/// The syslog line rsyslog would have written for this entry.
fn as_syslog_line(e: &Entry, now: Secs) -> Option<Vec<u8>> {
    let msg = &e.message.as_ref()?.bytes;
    let t = e
        .realtime
        .as_ref()
        .and_then(|us| us.text().parse::<i64>().ok())
        .map_or(now, |us| us / 1_000_000);
    let ident = e.ident.as_ref().or(e.comm.as_ref())?.text();
    let host = e.host.as_ref().map_or("localhost".into(), Field::text);
    let mut line = match e.pid.as_ref().map(Field::text) {
        Some(pid) => format!("{} {host} {ident}[{pid}]: ", format_rfc3339(t)),
        None => format!("{} {host} {ident}: ", format_rfc3339(t)),
    }
    .into_bytes();
    line.extend_from_slice(msg);
    // A multi-line message is one event; keep it on one line. So is a
    // line break in a field a client chose (its identifier).
    for b in line.iter_mut() {
        if *b == b'\n' || *b == b'\r' {
            *b = b' ';
        }
    }
    Some(line)
}

fn journalctl(
    src: &JournalSource,
    start: &str,
    on_line: &mut impl FnMut(&[u8]),
    now: Secs,
) -> Result<JournalRead> {
    let mut child = Command::new(&src.journalctl)
        .args(["--output=json", "--no-pager", "--quiet", start])
        .args(MATCHES)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", src.journalctl.display()))?;
    let stdout = child.stdout.take().expect("piped");
    let mut cursor = None;
    let mut entries = 0u64;
    let mut bad = 0u64;
    let mut forged = 0u64;
    let stats = lines::for_each_line(BufReader::with_capacity(1 << 20, stdout), true, |json| {
        let Ok(entry) = serde_json::from_slice::<Entry>(json) else {
            // Skipped and counted; the cursor moves past it if it has one.
            bad += 1;
            if let Ok(c) = serde_json::from_slice::<Cursor>(json) {
                cursor = Some(c.cursor);
            }
            return;
        };
        entries += 1;
        if let Some(line) = as_syslog_line(&entry, now) {
            if entry.trusted() {
                on_line(&line);
            } else if crate::parse::parse(&line).is_some() {
                forged += 1;
            }
        }
        cursor = Some(entry.cursor);
    });
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child
        .wait()
        .with_context(|| format!("cannot wait for {}", src.journalctl.display()))?;
    let stats =
        stats.with_context(|| format!("cannot read the output of {}", src.journalctl.display()))?;
    if !status.success() {
        let first = stderr.lines().next().unwrap_or("").trim();
        bail!("{} failed ({status}): {first}", src.journalctl.display());
    }
    Ok(JournalRead {
        cursor,
        entries,
        unreadable: bad,
        forged,
        stats,
    })
}

/// Reads the entries after `cursor` (or, on the first run, from `look_back`
/// ago). A cursor the journal no longer knows (vacuumed) falls back to the
/// look-back, with `Ok` and a note in `fell_back`.
pub fn read_journal(
    src: &JournalSource,
    cursor: Option<&str>,
    now: Secs,
    mut on_line: impl FnMut(&[u8]),
) -> Result<(JournalRead, bool)> {
    let since = format!("--since=@{}", now - src.look_back);
    match cursor {
        None => Ok((journalctl(src, &since, &mut on_line, now)?, false)),
        Some(c) => match journalctl(src, &format!("--after-cursor={c}"), &mut on_line, now) {
            Ok(r) => Ok((r, false)),
            // Nothing was fed to the table when journalctl refused the cursor outright.
            Err(e) if format!("{e:#}").contains("cursor") => {
                Ok((journalctl(src, &since, &mut on_line, now)?, true))
            }
            Err(e) => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_become_syslog_lines() {
        let e: Entry = serde_json::from_str(
            r#"{"__CURSOR":"s=1;i=2","MESSAGE":"Failed password for root from 203.0.113.5 port 22 ssh2","SYSLOG_IDENTIFIER":"sshd-session","_COMM":"sshd-session","_PID":"4242","_HOSTNAME":"web02","__REALTIME_TIMESTAMP":"1795000000123456"}"#,
        )
        .unwrap();
        let line = as_syslog_line(&e, 0).unwrap();
        assert_eq!(
            String::from_utf8(line.clone()).unwrap(),
            "2026-11-18T11:06:40Z web02 sshd-session[4242]: Failed password for root from 203.0.113.5 port 22 ssh2"
        );
        let ev = crate::parse::parse(&line).unwrap();
        assert_eq!(ev.ip, Some("203.0.113.5".parse().unwrap()));
        assert_eq!(ev.pid, Some(4242));
    }

    #[test]
    fn a_field_is_read_in_each_form_journalctl_prints() {
        let field = |json: &str| serde_json::from_str::<Field>(json).ok();
        let plain = field(r#""sshd""#).unwrap();
        assert_eq!(
            (plain.bytes.as_slice(), plain.plain()),
            (&b"sshd"[..], Some("sshd"))
        );
        let bytes = field("[115,115,104,100,255]").unwrap();
        assert_eq!(
            (bytes.bytes.as_slice(), bytes.plain()),
            (&b"sshd\xff"[..], None)
        );
        let repeated = field(r#"["sshd",[120,255]]"#).unwrap();
        assert_eq!(
            (repeated.bytes.as_slice(), repeated.plain()),
            (&b"sshd"[..], None)
        );
        let first_in_bytes = field(r#"[[120,255],"sshd"]"#).unwrap();
        assert_eq!(first_in_bytes.bytes, b"x\xff");
        for bad in ["[104,\"i\"]", "[\"i\",104]", "[256]", "{}", "7", "true"] {
            assert_eq!(field(bad), None, "{bad}");
        }
    }

    /// A value as journalctl prints it: a string when it is UTF-8 without
    /// control characters, else an array of bytes.
    fn printed(bytes: &[u8]) -> serde_json::Value {
        match std::str::from_utf8(bytes) {
            Ok(s) if !s.chars().any(char::is_control) => s.into(),
            _ => bytes.iter().map(|&b| serde_json::Value::from(b)).collect(),
        }
    }

    proptest::proptest! {
        /// Whatever bytes an attacker puts in an entry's message and
        /// identifier, once or repeated, the entry is read, its message is
        /// the first value's bytes, and it is believed only if root's sshd
        /// sent it. Any JSON line at all is read or refused, never a panic.
        #[test]
        fn any_field_contents_are_read_as_printed(
            msg in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
            ident in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
            again in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12)),
            root in proptest::prelude::any::<bool>(),
            junk in ".{0,40}",
        ) {
            let field = |first: &[u8]| match &again {
                Some(more) => serde_json::Value::Array(vec![printed(first), printed(more)]),
                None => printed(first),
            };
            let entry = serde_json::json!({
                "__CURSOR": "s=1;i=2",
                "MESSAGE": field(&msg),
                "SYSLOG_IDENTIFIER": field(&ident),
                "_UID": if root { "0" } else { "1000" },
                "_SYSTEMD_UNIT": "ssh.service",
            });
            let e: Entry = serde_json::from_value(entry).unwrap();
            proptest::prop_assert_eq!(&e.message.as_ref().unwrap().bytes, &msg);
            proptest::prop_assert_eq!(e.trusted(), root);
            let line = as_syslog_line(&e, 0).unwrap();
            proptest::prop_assert!(!line.contains(&b'\n'));
            let _ = serde_json::from_str::<Entry>(&junk);
        }
    }

    #[test]
    fn binary_messages_and_newlines() {
        let e: Entry = serde_json::from_str(
            r#"{"__CURSOR":"c","MESSAGE":[73,110,118,97,108,105,100,32,117,115,101,114,32,255,32,102,114,111,109,32,49,46,50,46,51,46,52,10,120],"_COMM":"sshd"}"#,
        )
        .unwrap();
        let line = as_syslog_line(&e, 1_795_000_000).unwrap();
        assert!(line.ends_with(b"sshd: Invalid user \xff from 1.2.3.4 x"));
        let no_msg: Entry = serde_json::from_str(r#"{"__CURSOR":"c","_COMM":"sshd"}"#).unwrap();
        assert_eq!(as_syslog_line(&no_msg, 0), None);
    }
}
