//! Lines into the table, on two threads: one reads and parses a source
//! while the other merges the events, so a large log is read on both cores.

use std::ops::Range;
use std::sync::mpsc;

use crate::clock::{LocalClock, Secs};
use crate::parse::{Event, Kind, Pending, Service, Stamp, parse_pending};
use crate::table::Table;

/// Events handed from the reading thread to the merging one at a time.
const BATCH: usize = 2048;

/// A batch is handed over once the bytes it copied reach this, whatever
/// its length: attackers choose the user names, and 2048 names of 64 KiB
/// would be 128 MiB a batch. With the channel's four batches, the one being
/// filled and the one being merged, at most about 6 × (256 + 64) KiB of
/// names are in flight.
const BATCH_BYTES: usize = 256 * 1024;

/// Runs `read`, which hands each line it reads to its callback, on a second
/// thread that parses the lines, while this thread merges the events into
/// `table` in the order they were read. Returns what `read` returns.
pub fn ingest_all<T: Send>(
    table: &mut Table,
    clock: &mut LocalClock,
    now: Secs,
    read: impl FnOnce(&mut dyn FnMut(&[u8])) -> T + Send,
) -> T {
    ingest_counting(table, clock, now, read).0
}

/// `ingest_all`, also returning how many lines were recognised.
pub fn ingest_counting<T: Send>(
    table: &mut Table,
    clock: &mut LocalClock,
    now: Secs,
    read: impl FnOnce(&mut dyn FnMut(&[u8])) -> T + Send,
) -> (T, u64) {
    let mut recognised = 0;
    let (batches, received) = mpsc::sync_channel::<Batch>(4);
    // Merged batches go back to be filled again, their buffers grown already.
    let (spare, spares) = mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut batch = Batch::new();
            let out = read(&mut |line| {
                let Some((ev, ip)) = parse_pending(line) else {
                    return;
                };
                batch.push(&ev, ip);
                if batch.full() {
                    let next = spares.try_recv().unwrap_or_else(|_| Batch::new());
                    // The merging side only stops when this side is done.
                    let _ = batches.send(std::mem::replace(&mut batch, next));
                }
            });
            let _ = batches.send(batch);
            out
        });
        for mut batch in received {
            recognised += batch.merge_into(table, clock, now);
            batch.events.clear();
            batch.bytes.clear();
            // Gone once the reading side is done.
            let _ = spare.send(batch);
        }
        let out = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (out, recognised)
    })
}

/// Parsed events that no longer borrow their lines: the bytes they name
/// (user, host, method, stamp and address text) are copied into `bytes`.
#[derive(Default)]
struct Batch {
    events: Vec<Parsed>,
    bytes: Vec<u8>,
}

/// An event's address, as `Pending` but with its text copied.
enum Ip {
    Known(Option<std::net::IpAddr>),
    /// Decoded on the merging thread: the reading one is the busier.
    Text {
        text: Range<usize>,
        keep: bool,
    },
}

/// What `Table::record` reads of an event, plus its time.
struct Parsed {
    service: Service,
    kind: Kind,
    ip: Ip,
    user: Option<Range<usize>>,
    host: Option<Range<usize>>,
    /// Kept: the table tells keyboard-interactive rounds by it.
    method: Option<Range<usize>>,
    pid: Option<u32>,
    count: u32,
    /// Decoded on the merging thread, in the order read (the clock infers
    /// the year of a syslog stamp from the stamps before it).
    stamp: (StampKind, Range<usize>),
}

#[derive(Clone, Copy)]
enum StampKind {
    Syslog,
    Rfc3339,
    Vsftpd,
}

impl Batch {
    /// Room for a full batch: no buffer grows while it is filled.
    fn new() -> Batch {
        Batch {
            events: Vec::with_capacity(BATCH),
            bytes: Vec::with_capacity(BATCH_BYTES),
        }
    }

    fn push(&mut self, ev: &Event, ip: Pending) {
        let mut keep = |b: &[u8]| {
            let start = self.bytes.len();
            self.bytes.extend_from_slice(b);
            start..self.bytes.len()
        };
        let user = ev.user.map(&mut keep);
        let host = ev.host.map(&mut keep);
        let method = ev.method.map(&mut keep);
        let stamp = match ev.stamp {
            Stamp::Syslog(b) => (StampKind::Syslog, keep(b)),
            Stamp::Rfc3339(b) => (StampKind::Rfc3339, keep(b)),
            Stamp::Vsftpd(b) => (StampKind::Vsftpd, keep(b)),
        };
        let ip = match ip {
            Pending::Known(ip) => Ip::Known(ip),
            Pending::Text { text, keep: k } => Ip::Text {
                text: keep(text),
                keep: k,
            },
        };
        self.events.push(Parsed {
            service: ev.service,
            kind: ev.kind,
            ip,
            user,
            host,
            method,
            pid: ev.pid,
            count: ev.count,
            stamp,
        });
    }

    fn full(&self) -> bool {
        self.events.len() >= BATCH || self.bytes.len() >= BATCH_BYTES
    }

    /// Records the events whose address decodes (the others are no events,
    /// as `parse` says); returns how many.
    fn merge_into(&self, table: &mut Table, clock: &mut LocalClock, now: Secs) -> u64 {
        let bytes = |r: &Option<Range<usize>>| r.clone().map(|r| &self.bytes[r]);
        let mut recorded = 0;
        for p in &self.events {
            let ip = match &p.ip {
                Ip::Known(ip) => *ip,
                Ip::Text { text, keep } => {
                    let text = &self.bytes[text.clone()];
                    let pending = Pending::Text { text, keep: *keep };
                    let Some(ip) = pending.resolve() else {
                        continue;
                    };
                    ip
                }
            };
            let (kind, b) = &p.stamp;
            let b = &self.bytes[b.clone()];
            let stamp = match kind {
                StampKind::Syslog => Stamp::Syslog(b),
                StampKind::Rfc3339 => Stamp::Rfc3339(b),
                StampKind::Vsftpd => Stamp::Vsftpd(b),
            };
            let t = clock.decode(&stamp).unwrap_or(now);
            crate::fault::point("read:event");
            recorded += 1;
            let ev = Event {
                service: p.service,
                kind: p.kind,
                method: bytes(&p.method),
                ip,
                user: bytes(&p.user),
                stamp,
                host: bytes(&p.host),
                pid: p.pid,
                count: p.count,
            };
            table.record(&ev, t);
        }
        recorded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    /// Every form of attack line, from a few addresses, pids and servers,
    /// with noise between: enough lines to fill several batches.
    fn lines() -> Vec<String> {
        let forms = [
            "Nov 26 00:{m:02}:{s:02} web0{h} sshd[{pid}]: Invalid user u{i} from 203.0.113.{a} port 17641",
            "Nov 26 00:{m:02}:{s:02} web0{h} sshd[{pid}]: Failed password for invalid user u{i} from 203.0.113.{a} port 17641 ssh2",
            "Nov 26 00:{m:02}:{s:02} web0{h} sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.{a}  user=root",
            "Nov 26 00:{m:02}:{s:02} web0{h} sshd[{pid}]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.{a}  user=root",
            "Nov 26 00:{m:02}:{s:02} web0{h} vsftpd: pam_unix(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser=u{i} rhost=2001:db8::{a} ",
            "Nov 26 00:{m:02}:{s:02} web0{h} CRON[{pid}]: pam_unix(cron:session): session opened for user root",
            // A name where the address should be (UseDNS): no event, though
            // only the merging thread finds that out.
            "Nov 26 00:{m:02}:{s:02} web0{h} sshd[{pid}]: Failed password for root from cafe{a}.example port 22 ssh2",
        ];
        (0..3 * BATCH + 77)
            .map(|i| {
                let (a, pid, h) = (i % 13, 1000 + i / 40, i % 2);
                let (m, s) = (i / 60 % 60, i % 60);
                forms[i % forms.len()]
                    .replace("{m:02}", &format!("{m:02}"))
                    .replace("{s:02}", &format!("{s:02}"))
                    .replace("{h}", &h.to_string())
                    .replace("{pid}", &pid.to_string())
                    .replace("{i}", &(i % 17).to_string())
                    .replace("{a}", &a.to_string())
            })
            .collect()
    }

    #[test]
    fn a_batch_is_full_at_its_bytes_whatever_its_length() {
        // Set by hand: the parser may keep less of a name than this.
        let name = "x".repeat(60 * 1024);
        let line = "Nov 26 00:00:01 web01 sshd[7]: Invalid user u from 203.0.113.9 port 22";
        let (mut ev, ip) = parse_pending(line.as_bytes()).unwrap();
        ev.user = Some(name.as_bytes());
        let mut batch = Batch::default();
        let mut pushed = 0;
        while !batch.full() {
            batch.push(&ev, ip);
            pushed += 1;
        }
        let user = ev.user.map_or(0, <[u8]>::len);
        assert!(
            pushed < BATCH && pushed * user >= BATCH_BYTES,
            "{pushed} events"
        );
        assert!(
            batch.bytes.len() < BATCH_BYTES + user + 64,
            "{}",
            batch.bytes.len()
        );
    }

    #[test]
    fn two_threads_build_the_table_one_would() {
        let now = 1_795_000_000;
        let lines = lines();
        let mut one = Table::default();
        let mut clock = LocalClock::new(now);
        let mut events = 0;
        for line in &lines {
            if let Some(ev) = parse(line.as_bytes()) {
                let t = clock.decode(&ev.stamp).unwrap_or(now);
                one.record(&ev, t);
                events += 1;
            }
        }
        let mut two = Table::default();
        let mut clock = LocalClock::new(now);
        let here = std::thread::current().id();
        let ((read, reader), recognised) = ingest_counting(&mut two, &mut clock, now, |on_line| {
            for line in &lines {
                on_line(line.as_bytes());
            }
            (lines.len(), std::thread::current().id())
        });
        assert_eq!(read, lines.len());
        assert_eq!(recognised, events);
        assert_ne!(reader, here, "the source is read on a second thread");
        // 13 IPv4 addresses, and 13 IPv6 ones in one /64.
        assert!(one.len() == 14, "{} attackers", one.len());
        assert_eq!(two, one);
        let all = two.all();
        let a = &all[&"203.0.113.5".parse().unwrap()];
        let mut hosts = a.hosts.clone();
        hosts.sort();
        assert_eq!(hosts, ["web00", "web01"]);
        assert!(a.users.contains(&"root".to_string()), "{:?}", a.users);
        assert!(a.users_more > 0, "names beyond the ten kept are counted");
    }
}
