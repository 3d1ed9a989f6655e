//! Lines into the table, on two threads: one reads and parses a source
//! while the other merges the events, and parses a share of the lines
//! whenever it would otherwise wait, so a large log is read on both cores.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use crate::clock::{LocalClock, Secs};
use crate::parse::{Event, Kind, LineAddr, Service, Stamp, parse_pending, stamp_of};
use crate::table::Table;

/// Events handed from the reading thread to the merging one at a time.
const BATCH: usize = 2048;

/// A batch is handed over once the bytes it copied reach this, whatever
/// its length: attackers choose the user names, and 2048 names of 64 KiB
/// would be 128 MiB a batch. With the channel's four batches, the one being
/// filled and the one being merged, at most about 6 × (256 + 64) KiB of
/// names are in flight.
const BATCH_BYTES: usize = 256 * 1024;

/// Bytes of lines handed unparsed to an idle merging thread at a time.
const SHARE_BYTES: usize = 64 * 1024;

/// Bytes kept of the last line read: enough for any stamp `stamp_of` reads.
const STAMP_BYTES: usize = 48;

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
    let idle = AtomicBool::new(false);
    ingest_sharing(table, clock, now, read, &idle, || {
        idle.load(Ordering::Relaxed)
    })
}

/// `ingest_counting`, handing lines unparsed to the merging thread whenever
/// `share` says so. It says so when that thread is idle, waiting for a
/// batch: on a log of mostly other programs' lines the reading thread is
/// the busier, and the other core would otherwise wait on it. Whoever
/// parses them, the lines are merged in the order read.
fn ingest_sharing<T: Send>(
    table: &mut Table,
    clock: &mut LocalClock,
    now: Secs,
    read: impl FnOnce(&mut dyn FnMut(&[u8])) -> T + Send,
    idle: &AtomicBool,
    share: impl Fn() -> bool + Send,
) -> (T, u64) {
    let mut recognised = 0;
    let (work, received) = mpsc::sync_channel::<Work>(4);
    // Merged batches and parsed shares go back to be filled again, their
    // buffers grown already.
    let (spare_batch, spare_batches) = mpsc::channel::<Batch>();
    let (spare_lines, spare_shares) = mpsc::channel::<Lines>();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut fill = Filler {
                work,
                spare_batches,
                spare_shares,
                batch: Batch::new(),
                share: None,
                last: [0; STAMP_BYTES],
                last_len: 0,
            };
            let out = read(&mut |line| fill.line(line, &share));
            fill.finish();
            out
        });
        let mut events = Batch::new();
        loop {
            let next = match received.try_recv() {
                Ok(w) => Ok(w),
                Err(mpsc::TryRecvError::Empty) => {
                    idle.store(true, Ordering::Relaxed);
                    let w = received.recv();
                    idle.store(false, Ordering::Relaxed);
                    w.map_err(|_| ())
                }
                Err(mpsc::TryRecvError::Disconnected) => Err(()),
            };
            // Gone once the reading side is done: the spares are then dropped.
            match next {
                Ok(Work::Events(mut batch)) => {
                    recognised += batch.merge_into(table, clock, now);
                    batch.clear();
                    let _ = spare_batch.send(batch);
                }
                Ok(Work::Lines(mut lines)) => {
                    for line in lines.iter() {
                        if let Some((ev, ip)) = parse_pending(line) {
                            events.push(line, &ev, ip);
                        }
                        if events.full() {
                            recognised += events.merge_into(table, clock, now);
                            events.clear();
                        }
                    }
                    recognised += events.merge_into(table, clock, now);
                    events.clear();
                    lines.clear();
                    let _ = spare_lines.send(lines);
                }
                Ok(Work::Clock(last)) => {
                    // The log's clock, moved by the last line of any program (a
                    // CRON line, say): connections idle past their window close.
                    if let Some(t) = stamp_of(&last).and_then(|s| clock.decode(&s)) {
                        table.saw(t);
                    }
                }
                Err(()) => break,
            }
        }
        let out = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (out, recognised)
    })
}

/// The reading thread's side: parses lines into a batch, or copies them
/// into a share for the merging thread, and sends either when full.
struct Filler {
    work: mpsc::SyncSender<Work>,
    spare_batches: mpsc::Receiver<Batch>,
    spare_shares: mpsc::Receiver<Lines>,
    batch: Batch,
    /// The share being filled: lines go here until it is full.
    share: Option<Lines>,
    /// The first bytes of the last line read, for its stamp.
    last: [u8; STAMP_BYTES],
    last_len: usize,
}

impl Filler {
    fn line(&mut self, line: &[u8], share: &impl Fn() -> bool) {
        let n = line.len().min(STAMP_BYTES);
        self.last[..n].copy_from_slice(&line[..n]);
        self.last_len = n;
        if let Some(lines) = &mut self.share {
            lines.push(line);
            if lines.full() {
                self.send_share();
            }
        } else if share() {
            // What was parsed goes first: the order is kept.
            if !self.batch.events.is_empty() {
                self.send_batch();
            }
            let mut lines = self.spare_shares.try_recv().unwrap_or_default();
            lines.push(line);
            self.share = Some(lines);
        } else if let Some((ev, ip)) = parse_pending(line) {
            self.batch.push(line, &ev, ip);
            if self.batch.full() {
                self.send_batch();
            }
        }
    }

    fn send_batch(&mut self) {
        let next = self
            .spare_batches
            .try_recv()
            .unwrap_or_else(|_| Batch::new());
        let full = std::mem::replace(&mut self.batch, next);
        // The merging side only stops when this side is done.
        let _ = self.work.send(Work::Events(full));
    }

    fn send_share(&mut self) {
        if let Some(lines) = self.share.take() {
            let _ = self.work.send(Work::Lines(lines));
        }
    }

    fn finish(mut self) {
        // Only one of the two holds anything.
        self.send_share();
        if !self.batch.events.is_empty() {
            self.send_batch();
        }
        if self.last_len > 0 {
            let last = self.last[..self.last_len].to_vec();
            let _ = self.work.send(Work::Clock(last));
        }
    }
}

/// What the reading thread hands the merging one, in the order read.
enum Work {
    Events(Batch),
    /// Lines for the merging thread to parse itself, copied.
    Lines(Lines),
    /// The start of the last line read, after all the others.
    Clock(Vec<u8>),
}

/// Lines copied end to end, with where each ends.
#[derive(Default)]
struct Lines {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Lines {
    fn push(&mut self, line: &[u8]) {
        self.bytes.extend_from_slice(line);
        self.ends.push(self.bytes.len());
    }

    /// A share is small: the merging thread, idle when it was handed one,
    /// comes back for the next soon, and the reading one parses meanwhile.
    /// Lines are at most `lines::MAX_LINE`, so a share is bounded.
    fn full(&self) -> bool {
        self.bytes.len() >= SHARE_BYTES
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.bytes[a..b])
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

/// Parsed events that no longer borrow their lines: their lines are copied
/// into `bytes`, and the events name ranges of it (user, host, method, stamp
/// and address text).
#[derive(Default)]
struct Batch {
    events: Vec<Parsed>,
    bytes: Vec<u8>,
}

/// An event's address, as `parse::LineAddr` but with its text copied.
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

    /// Copies `line` once: what `ev` and `ip` name of it is kept as where
    /// it lies in the copy, one copy instead of five.
    fn push(&mut self, line: &[u8], ev: &Event, ip: LineAddr) {
        let base = self.bytes.len();
        self.bytes.extend_from_slice(line);
        let mut keep = |b: &[u8]| {
            let off = (b.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
            if off <= line.len() && b.len() <= line.len() - off {
                return base + off..base + off + b.len();
            }
            // Not of the line (the parser names none such today): copied.
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
            LineAddr::Known(ip) => Ip::Known(ip),
            LineAddr::Text { text, keep: k } => Ip::Text {
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

    fn clear(&mut self) {
        self.events.clear();
        self.bytes.clear();
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
                    let pending = LineAddr::Text { text, keep: *keep };
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

    /// The open connections after `lines` are read and the run closes those idle.
    fn open_after(lines: &[&str]) -> usize {
        let now = 1_795_000_000;
        let mut t = Table::default();
        let mut clock = LocalClock::new(now);
        ingest_all(&mut t, &mut clock, now, |on_line| {
            for l in lines {
                on_line(l.as_bytes());
            }
        });
        t.close_conns();
        t.open_conns()
    }

    #[test]
    fn a_line_of_any_program_moves_the_logs_clock() {
        let guess =
            "Nov 26 00:00:01 web01 sshd[7]: Failed password for root from 203.0.113.9 port 22 ssh2";
        let cron = |stamp: &str| {
            format!("{stamp} web01 CRON[9]: pam_unix(cron:session): session opened for user root")
        };
        let later = cron("Nov 26 00:10:01");
        assert_eq!(open_after(&[guess, &later]), 0, "closed ten minutes on");
        let iso =
            "2026-11-26T00:10:01.5+00:00 web01 CRON[9]: pam_unix(cron:session): session opened";
        assert_eq!(open_after(&[guess, iso]), 0, "an ISO 8601 stamp too");
        let soon = cron("Nov 26 00:04:01");
        assert_eq!(open_after(&[guess, &soon]), 1, "within its window: open");
        assert_eq!(open_after(&[guess, "no stamp at all"]), 1);
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
            batch.push(line.as_bytes(), &ev, ip);
            pushed += 1;
        }
        let user = ev.user.map_or(0, <[u8]>::len);
        assert!(
            pushed < BATCH && pushed * user >= BATCH_BYTES,
            "{pushed} events"
        );
        // The name is not of the line, so it is copied after it.
        let first = &batch.events[0];
        let at = |r: &Option<Range<usize>>| &batch.bytes[r.clone().unwrap()];
        assert_eq!(at(&first.user), name.as_bytes());
        assert_eq!(at(&first.host), b"web01");
        assert_eq!(&batch.bytes[first.stamp.1.clone()], b"Nov 26 00:00:01");
        assert!(
            batch.bytes.len() < BATCH_BYTES + user + line.len(),
            "{}",
            batch.bytes.len()
        );
    }

    /// The table `parse` and `record` build on one thread, and the number of events.
    fn one_thread(lines: &[String], now: Secs) -> (Table, u64) {
        let mut one = Table::default();
        let mut clock = LocalClock::new(now);
        let mut events = 0;
        for line in lines {
            if let Some(ev) = parse(line.as_bytes()) {
                let t = clock.decode(&ev.stamp).unwrap_or(now);
                one.record(&ev, t);
                events += 1;
            }
        }
        (one, events)
    }

    #[test]
    fn lines_shared_with_the_merging_thread_are_merged_in_the_order_read() {
        let now = 1_795_000_000;
        // Shares of a few lines: shared and parsed lines alternate, each a
        // share's worth of `SHARE_BYTES` apart at most.
        let mut lines = lines();
        lines.extend(lines.clone().into_iter().map(|l| {
            let pad = "p".repeat(SHARE_BYTES / 40);
            l.replacen(" u", &format!(" {pad}u"), 1)
        }));
        let (one, events) = one_thread(&lines, now);
        for every in [1, 2, 7, 1000, usize::MAX] {
            let asked = std::sync::atomic::AtomicUsize::new(0);
            let shared = std::sync::atomic::AtomicUsize::new(0);
            let share = || {
                let n = asked.fetch_add(1, Ordering::Relaxed);
                let yes = every != usize::MAX && n.is_multiple_of(every);
                shared.fetch_add(usize::from(yes), Ordering::Relaxed);
                yes
            };
            let mut two = Table::default();
            let mut clock = LocalClock::new(now);
            let idle = AtomicBool::new(false);
            let (read, recognised) = ingest_sharing(
                &mut two,
                &mut clock,
                now,
                |on_line| {
                    for line in &lines {
                        on_line(line.as_bytes());
                    }
                    lines.len()
                },
                &idle,
                share,
            );
            let shared = shared.into_inner();
            // Every share is started by a yes; none with `usize::MAX`.
            assert_eq!(
                shared > 0,
                every != usize::MAX,
                "every {every}: {shared} shares"
            );
            assert_eq!(read, lines.len());
            assert_eq!(recognised, events, "every {every}");
            assert!(two == one, "every {every}: {shared} shares");
        }
    }

    #[test]
    fn two_threads_build_the_table_one_would() {
        let now = 1_795_000_000;
        let lines = lines();
        let (one, events) = one_thread(&lines, now);
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
