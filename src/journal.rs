//! journald as a log source, for hosts without /var/log/auth.log: runs
//! `journalctl -o json` after the saved cursor and turns each entry back
//! into a syslog line, so the one parser serves both sources.

use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::clock::{Secs, format_rfc3339};
use crate::source::{self, ReadStats};

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
    /// Attack lines from processes that are not root's sshd or vsftpd: ignored.
    pub forged: u64,
    pub stats: ReadStats,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "__CURSOR")]
    cursor: String,
    #[serde(rename = "MESSAGE", default)]
    message: Option<serde_json::Value>,
    #[serde(rename = "SYSLOG_IDENTIFIER")]
    ident: Option<String>,
    #[serde(rename = "_COMM")]
    comm: Option<String>,
    #[serde(rename = "_PID")]
    pid: Option<String>,
    #[serde(rename = "_HOSTNAME")]
    host: Option<String>,
    #[serde(rename = "__REALTIME_TIMESTAMP")]
    realtime: Option<String>,
    // Trusted fields: journald sets them from the sender's credentials,
    // and a client cannot forge them.
    #[serde(rename = "_UID")]
    uid: Option<String>,
    #[serde(rename = "_EXE")]
    exe: Option<String>,
    #[serde(rename = "_SYSTEMD_UNIT")]
    unit: Option<String>,
}

impl Entry {
    /// Sent by root's sshd or vsftpd: a process running as root, whose
    /// executable is a root-owned sshd, sshd-session or vsftpd, or that runs
    /// in their system unit. Anything else, a user's `logger -t sshd` or a
    /// program they named sshd, is not evidence of an attack.
    fn trusted(&self) -> bool {
        if self.uid.as_deref() != Some("0") {
            return false;
        }
        let unit = self.unit.as_deref().is_some_and(trusted_unit);
        unit || self.exe.as_deref().is_some_and(trusted_exe)
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

/// journald gives MESSAGE as a string, or as an array of bytes when it is not UTF-8.
fn message_bytes(v: &serde_json::Value) -> Option<Vec<u8>> {
    match v {
        serde_json::Value::String(s) => Some(s.as_bytes().to_vec()),
        serde_json::Value::Array(a) => a.iter().map(|b| b.as_u64().map(|b| b as u8)).collect(),
        _ => None,
    }
}

/// The syslog line rsyslog would have written for this entry.
fn as_syslog_line(e: &Entry, now: Secs) -> Option<Vec<u8>> {
    let mut msg = message_bytes(e.message.as_ref()?)?;
    // A multi-line message is one event; keep it on one line.
    for b in msg.iter_mut() {
        if *b == b'\n' || *b == b'\r' {
            *b = b' ';
        }
    }
    let t = e
        .realtime
        .as_deref()
        .and_then(|us| us.parse::<i64>().ok())
        .map_or(now, |us| us / 1_000_000);
    let ident = e.ident.as_deref().or(e.comm.as_deref())?;
    let host = e.host.as_deref().unwrap_or("localhost");
    let mut line = match &e.pid {
        Some(pid) => format!("{} {host} {ident}[{pid}]: ", format_rfc3339(t)),
        None => format!("{} {host} {ident}: ", format_rfc3339(t)),
    }
    .into_bytes();
    line.extend_from_slice(&msg);
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
    let stats = source::for_each_line(BufReader::with_capacity(1 << 20, stdout), true, |json| {
        let Ok(entry) = serde_json::from_slice::<Entry>(json) else {
            bad += 1;
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
    if bad > 0 {
        bail!(
            "{} wrote {bad} line(s) that are not journal JSON",
            src.journalctl.display()
        );
    }
    Ok(JournalRead {
        cursor,
        entries,
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
