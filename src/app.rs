//! One invocation, start to finish: the pipeline source → parse → table →
//! decide → publish → state, and the read-only subcommands.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::net::IpAddr;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::clock::{LocalClock, Secs, format_rfc3339};
use crate::config::{Command, Config, Input, ReplayConfig, RunConfig};
use crate::config::{ExportConfig, ShowConfig};
use crate::decide::decide;
use crate::deliver;
use crate::ingest::{ingest_all, ingest_counting};
use crate::journal;
use crate::lines::{self, ReadStats};
use crate::parse::{Seen, examine};
use crate::render::{Announcement, render};
use crate::sink::stdout::print_post;
use crate::sink::{Pending, Post, name_of as sink_name, plan};
use crate::source::{self, Resume};
use crate::state::{self, State};
use crate::summary::{Forms, Summary};
use crate::text;

use crate::notice::warn;

pub fn run(config: Config) -> Result<()> {
    let now = config.now;
    match config.command {
        Command::Run(c) => run_pipeline(&c, now),
        Command::Replay(c) => replay(&c, now),
        Command::Parse { inputs, missed } => parse_inputs(&inputs, missed, now),
        Command::Show(c) => show(&c, now),
        Command::Status(c) => crate::status::status(&c, now),
        Command::Unconfigured { state, missing } => idle_unconfigured(&state, &missing, now),
        Command::Outbox(o) => crate::queue::run(&o, now),
        Command::VerifyCredentials(v) => crate::verify::run(&v, now),
        Command::Export(e) => export(&e, now),
        Command::Completions(shell) => {
            let mut out = io::stdout().lock();
            out.write_all(crate::completions::script(shell).as_bytes())?;
            out.flush()?;
            Ok(())
        }
        Command::Man => {
            let mut out = io::stdout().lock();
            out.write_all(crate::manual::page().as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}

/// A whole file in which not one line was recognised is probably not an
/// sshd or vsftpd log at all (or one this tool cannot read yet): say so.
fn warn_unrecognised(what: &str, stats: &ReadStats, recognised: u64) {
    if recognised == 0 && stats.lines > 0 {
        warn(format_args!(
            "{what}: none of its {} line(s) is a failed login from sshd or vsftpd; is it their log?",
            stats.lines
        ));
    }
}

fn warn_read(what: &str, stats: &ReadStats) {
    if stats.too_long > 0 {
        warn(format_args!(
            "{what}: skipped {} line(s) longer than {} KiB",
            stats.too_long,
            lines::MAX_LINE / 1024
        ));
    }
}

/// A log that is not there: normal (no vsftpd), routine (logrotate's
/// `nocreate` moment) or an error (named on purpose).
fn missing_log(c: &RunConfig, st: &mut State, path: &Path, key: &str, now: Secs) -> Result<()> {
    let note = format!("missing:{key}");
    // logrotate renamed it and the daemon has not made the new one
    // yet (`nocreate`): nothing is lost, the next run reads on.
    if st
        .logs
        .get(key)
        .is_some_and(|pos| source::rotated_away(path, pos))
    {
        return Ok(());
    }
    if c.explicit_logs.iter().any(|p| p == path) {
        // Named on purpose: a typo must not pass as a quiet host. Nothing is saved.
        bail!("log file {key} does not exist (named by a flag or in the --config file)");
    }
    // Many hosts have no vsftpd: its default log missing is normal.
    if key != crate::config::default_vsftpd_log() {
        crate::notice::once(
            &mut st.notes,
            &note,
            now,
            format_args!("{key} does not exist; nothing is read from it until it does"),
        );
    }
    Ok(())
}

/// Saves what a long read has gathered so far, with where it got to, so
/// that its attackers leave memory: the first run over a collector's
/// backlog would otherwise hold every attacker at once (760 MiB for 1.1
/// million). Those due now are queued first: the lines still to read
/// need not name them again. As the run's own save, all or nothing.
fn save_stage(c: &RunConfig, st: &mut State, now: Secs) -> Result<()> {
    queue_due(st, c, now);
    state::save(&c.state, st)?;
    crate::fault::point("run:stage-saved");
    Ok(())
}

fn read_logs(c: &RunConfig, st: &mut State, now: Secs) -> Result<()> {
    let mut clock = LocalClock::new(now);
    for path in &c.logs {
        let key = path.display().to_string();
        let mut stats = ReadStats::default();
        for stage in 0.. {
            let saved = st.logs.get(&key);
            let read = ingest_all(&mut st.table, &mut clock, now, |on_line| {
                source::read_log_upto(path, saved, c.stage_bytes, on_line)
            })?;
            let Some(read) = read else {
                if stage > 0 {
                    // Gone between two stages (renamed by logrotate): the
                    // next run finds it wherever it went.
                    break;
                }
                missing_log(c, st, path, &key, now)?;
                break;
            };
            crate::notice::ended(&mut st.notes, &format!("missing:{key}"));
            match &read.resume {
                Resume::Truncated => warn(format_args!("{key} was truncated; read from the start")),
                Resume::Replaced(lost) => warn(format_args!(
                    "{key} was replaced: {lost}; read the new one from the start"
                )),
                // Rotation is routine: cron mails whatever is said, so it is not.
                Resume::New | Resume::Continue | Resume::Rotated(_) => {}
            }
            stats.lines += read.stats.lines;
            stats.too_long += read.stats.too_long;
            st.logs.insert(key.clone(), read.pos);
            if !read.more {
                break;
            }
            save_stage(c, st, now)?;
        }
        warn_read(&key, &stats);
    }
    if let Some(src) = &c.journal {
        if c.journal_auto && !st.journal_noted {
            crate::notice::say(format_args!(
                "no sshd log file here; reading sshd from the journal with {} from now on",
                src.journalctl.display()
            ));
            st.journal_noted = true;
        }
        let cursor = st.journal_cursor.as_deref();
        let (read, fell_back) = ingest_all(&mut st.table, &mut clock, now, |on_line| {
            journal::read_journal(src, cursor, now, on_line)
        })?;
        if fell_back {
            warn("the journal no longer has the saved cursor; read from the look-back instead");
        }
        warn_read("the journal", &read.stats);
        if read.unreadable > 0 {
            warn(format_args!(
                "the journal: skipped {} entry(ies) that {} printed in a form that could not be read",
                read.unreadable,
                src.journalctl.display()
            ));
        }
        if read.forged > 0 {
            warn(format_args!(
                "ignored {} journal attack line(s) not written by root's sshd or vsftpd (a local user can write those)",
                read.forged
            ));
        }
        if read.cursor.is_some() {
            st.journal_cursor = read.cursor;
        }
    }
    Ok(())
}

/// Takes internal addresses out of the outbox: a state saved before they
/// were held back may have some queued, and none is ever announced.
fn drop_internal(st: &mut State) {
    let before = st.outbox.len();
    st.outbox.retain(|p| crate::scope::is_global(p.subject.ip));
    let dropped = before - st.outbox.len();
    if dropped > 0 {
        warn(format_args!(
            "dropped {dropped} queued announcement(s) of internal addresses: those are counted and shown, never announced"
        ));
    }
}

/// The addresses waiting in the outbox, as a set: looked up once per
/// attacker, and a queue may hold as many as the table.
fn queued_ips(outbox: &[Pending]) -> crate::hash::Set<IpAddr> {
    outbox.iter().map(|p| p.subject.ip).collect()
}

/// Puts newly due attackers in the outbox, one entry per sink.
fn queue_due(st: &mut State, c: &RunConfig, now: Secs) {
    let queued = queued_ips(&st.outbox);
    let due = decide(&st.table, &c.policy, |ip| queued.contains(ip));
    for ip in due {
        let Some(a) = st.table.get(&ip) else {
            continue;
        };
        let subject = Announcement::of(ip, &a, &c.privacy);
        for spec in &c.sinks {
            st.outbox.push(Pending {
                subject: subject.clone(),
                sink: sink_name(spec.name).to_string(),
                batch: None,
                queued: now,
                created: None,
                parked: None,
            });
        }
    }
}

/// What a dry run shows: exactly the posts each sink would make now.
fn print_plans(st: &mut State, c: &RunConfig, now: Secs) -> Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut next = st.next_batch;
    for spec in &c.sinks {
        let name = sink_name(spec.name);
        let book = st.sinks.get(name).cloned().unwrap_or_default();
        let left = match book.blocked_until {
            Some(until) if now < until => 0,
            _ => spec.budget.left(&book, now),
        };
        for post in plan(&mut st.outbox, name, left, &mut next, now) {
            if c.sinks.len() > 1 && !c.json {
                write!(out, "[{name}] ")?;
            }
            print_post(&mut out, &post, c.json)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The default state folder is made (root only) when missing, as the package
/// and systemd's StateDirectory would; a folder named by `--state` must exist,
/// so that a typo does not start a second, empty history somewhere else.
fn prepare_state_folder(path: &Path) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if dir.is_dir() {
        return Ok(());
    }
    if path == Path::new(crate::config::DEFAULT_STATE) {
        use std::os::unix::fs::DirBuilderExt;
        return std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create state folder {}", dir.display()));
    }
    bail!(
        "state folder {} does not exist (create it with `install -d -m 700 {}`, or give another --state)",
        dir.display(),
        dir.display()
    )
}

/// `run --if-configured` before any sink is configured: says once what is
/// missing (remembered in the state), then stays idle and silent.
fn idle_unconfigured(path: &Path, missing: &str, now: Secs) -> Result<()> {
    prepare_state_folder(path)?;
    let lock = state::lock(path, std::time::Duration::from_secs(10))?;
    let mut st = state::load_as(path, Some(&lock))?;
    if crate::notice::once(
        &mut st.notes,
        UNCONFIGURED,
        now,
        format_args!("not configured yet, so idle until it is: {missing}"),
    ) {
        state::save(path, &mut st)?;
    }
    Ok(())
}

/// The note `idle_unconfigured` leaves; a configured run removes it.
pub const UNCONFIGURED: &str = "unconfigured";

fn run_pipeline(c: &RunConfig, now: Secs) -> Result<()> {
    let started = std::time::Instant::now();
    let record = |st: &mut State, posted: u64, error: Option<String>| {
        st.last_run = Some(state::RunRecord {
            started: now,
            ended: now + started.elapsed().as_secs() as Secs,
            posted,
            error,
        });
    };
    // A dry run writes nothing, so it need not wait for a cron run in progress.
    let lock = match c.dry_run {
        true => None,
        false => {
            prepare_state_folder(&c.state)?;
            Some(state::lock(&c.state, c.lock_wait)?)
        }
    };
    let mut st = state::load_as(&c.state, lock.as_ref())?;
    st.table.set_rules(c.rules);
    crate::notice::ended(&mut st.notes, UNCONFIGURED);
    drop_internal(&mut st);
    if let Err(e) = read_logs(c, &mut st, now) {
        if !c.dry_run {
            record_failed_read(
                &c.state,
                lock.as_ref(),
                state::RunRecord {
                    started: now,
                    ended: now + started.elapsed().as_secs() as Secs,
                    posted: 0,
                    error: Some(format!("{e:#}")),
                },
            );
        }
        return Err(e);
    }
    st.table.close_conns();
    queue_due(&mut st, c, now);
    let queued: Vec<IpAddr> = queued_ips(&st.outbox).into_iter().collect();
    let cutoff = now - c.retention;
    // Only those the retention would forget need keeping: an attacker last
    // seen after it was queued is seen later still. So the head does not
    // list the whole outbox's addresses again.
    let idle: Vec<IpAddr> = st
        .outbox
        .iter()
        .filter(|p| p.subject.last < cutoff)
        .map(|p| p.subject.ip)
        .collect();
    st.table.forget_idle(cutoff, &idle);
    match st.table.bound(&queued) {
        0 => crate::notice::ended(&mut st.notes, "table-full"),
        n => {
            crate::notice::once(
                &mut st.notes,
                "table-full",
                now,
                format_args!(
                    "more than {} attackers (--max-attackers): forgot the {n} seen least recently, and will go on forgetting",
                    c.rules.max_attackers
                ),
            );
        }
    }

    if c.dry_run {
        return print_plans(&mut st, c, now);
    }
    // Saved before posting: offsets and tries are never counted twice, and
    // the outbox survives whatever happens while posting.
    record(&mut st, 0, None);
    state::save(&c.state, &mut st)?;
    let mut report = Report::default();
    let mut failures = Vec::new();
    let mut attempted = false;
    for spec in &c.sinks {
        if !st.outbox.iter().any(|p| p.sink == sink_name(spec.name)) {
            continue;
        }
        attempted = true;
        let mut sink = c.sections.make(spec.name, now)?;
        // One sink failing must not keep the others from posting.
        let mut on_delivered = |post: &Post| {
            report.posted += 1;
            match c.json {
                true => report.post(post).map_err(anyhow::Error::from),
                false => Ok(()),
            }
        };
        let published = deliver::publish_sink(
            &mut st,
            spec,
            sink.as_mut(),
            &c.state,
            now,
            &mut on_delivered,
        );
        if let Err(e) = published {
            failures.push(e);
        }
    }
    if attempted {
        let error = failures.first().map(|e| format!("{e:#}"));
        record(&mut st, report.posted, error);
        state::save(&c.state, &mut st)?;
    }
    // The process ends next: freeing what the run read one by one would only add time.
    std::mem::forget(st);
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.remove(0)),
        n => {
            let first = failures.remove(0);
            Err(first.context(format!("{n} sinks failed")))
        }
    }
}

/// A run that failed reading its sources says so in the state, so that
/// `status` shows the failure and not the last good run as "ok". What the
/// failed read gathered is dropped: the last save is loaded again (nothing
/// is counted twice), and only the record is added to it. A state never
/// saved stays unsaved, and a failure to record is left unsaid: the run's
/// own error is the one line it says.
fn record_failed_read(path: &Path, held: Option<&state::StateLock>, record: state::RunRecord) {
    if state::must_exist(path).is_err() {
        return;
    }
    if let Ok(mut st) = state::load_as(path, held) {
        st.last_run = Some(record);
        let _ = state::save(path, &mut st);
    }
}

/// `--json` output of a run: each announced attacker once, whichever sinks took it.
#[derive(Default)]
struct Report {
    printed: HashSet<IpAddr>,
    /// Posts accepted in this run, by any sink.
    posted: u64,
}

impl Report {
    fn post(&mut self, post: &Post) -> io::Result<()> {
        let fresh: Vec<_> = post
            .subjects
            .iter()
            .filter(|a| self.printed.insert(a.ip))
            .cloned()
            .collect();
        let post = Post {
            subjects: fresh,
            ..post.clone()
        };
        let mut out = io::stdout().lock();
        print_post(&mut out, &post, true)?;
        out.flush()
    }
}

/// Loads a state that must exist (for the read-only views). Missing is "has
/// `run` run yet?"; any other failure (permission denied, …) is said as it is.
pub fn load_existing(path: &Path) -> Result<State> {
    state::must_exist(path)?;
    state::load(path)
}

fn export(e: &ExportConfig, now: Secs) -> Result<()> {
    let st = load_existing(&e.state)?;
    let options = crate::export::Options {
        format: e.format,
        since: e.since,
        policy: &e.policy,
        min_tries: e.min_tries,
        privacy: &e.privacy,
        author: &e.author,
        feed_url: e.feed_url.as_deref(),
    };
    let st = &st;
    let corrupt = || state::check(&e.state, st).map_err(|e| io::Error::other(format!("{e:#}")));
    match &e.out {
        // Readable by the web server that publishes it; never half-written.
        Some(path) => crate::atomic::write_atomically(path, 0o644, |w| {
            crate::export::export(&st.table, &options, now, w)?;
            corrupt()
        })
        .with_context(|| format!("cannot write {}", path.display())),
        None => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            crate::export::export(&st.table, &options, now, &mut out)?;
            out.flush()?;
            state::check(&e.state, st)
        }
    }
}

/// Opens a whole log for reading: a file (gzip-compressed if it ends in
/// `.gz`, as rotated logs do) or stdin. A progress bar is drawn on stderr
/// only when stderr is a terminal, so cron and pipes stay silent.
fn open_input(input: &Input) -> Result<Box<dyn BufRead + Send>> {
    use std::io::IsTerminal;
    let bar = if io::stderr().is_terminal() {
        let total = match input {
            Input::File(p) => std::fs::metadata(p).map(|m| m.len()).ok(),
            Input::Stdin => None,
        };
        let bar = match total {
            Some(n) => indicatif::ProgressBar::new(n).with_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .expect("valid template"),
            ),
            None => indicatif::ProgressBar::new_spinner(),
        };
        Some(bar.with_message(input_name(input)))
    } else {
        None
    };
    let raw: Box<dyn io::Read + Send> = match input {
        Input::Stdin => Box::new(io::stdin()),
        Input::File(p) => {
            Box::new(File::open(p).with_context(|| format!("cannot open {}", p.display()))?)
        }
    };
    // The bar counts bytes read from disk, before decompression.
    let raw: Box<dyn io::Read + Send> = match bar {
        Some(bar) => Box::new(bar.wrap_read(raw)),
        None => raw,
    };
    // gzip is known by its magic bytes, not its name: `zcat`-less pipes
    // (`cat auth.log.2.gz | tweet-attacks replay`) and renamed files too.
    let mut raw = BufReader::with_capacity(1 << 20, raw);
    let head = raw
        .fill_buf()
        .with_context(|| format!("cannot read {}", input_name(input)))?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    })
}

fn input_name(input: &Input) -> String {
    match input {
        Input::Stdin => "standard input".to_string(),
        Input::File(p) => p.display().to_string(),
    }
}

fn replay(c: &ReplayConfig, now: Secs) -> Result<()> {
    let mut st = match &c.state {
        Some(p) => state::load(p)?,
        None => State::default(),
    };
    st.table.set_rules(c.rules);
    let mut clock = LocalClock::new(now);
    let mut summary = Summary::default();
    for input in &c.inputs {
        let name = input_name(input);
        let input = open_input(input)?;
        let (stats, recognised) = ingest_counting(&mut st.table, &mut clock, now, |on_line| {
            lines::for_each_line(input, true, on_line)
        });
        let stats = stats.with_context(|| format!("cannot read {name}"))?;
        warn_read(&name, &stats);
        warn_unrecognised(&name, &stats, recognised);
        summary.lines += stats.lines;
        summary.recognised += recognised;
    }
    summary.count_table(&st.table);
    let queued = queued_ips(&st.outbox);
    let due = decide(&st.table, &c.policy, |ip| queued.contains(ip));
    let mut out = io::BufWriter::new(io::stdout().lock());
    for ip in due {
        let Some(a) = st.table.get(&ip) else {
            continue;
        };
        let a = Announcement::of(ip, &a, &c.privacy);
        let post = Post {
            text: render(&a),
            subjects: vec![a],
            batch: 0,
            created: now,
        };
        print_post(&mut out, &post, c.json)?;
    }
    out.flush()?;
    if let Some(path) = &c.state {
        state::check(path, &st)?;
    }
    crate::notice::say(&summary);
    // As at the end of `run`: the process ends next.
    std::mem::forget(st);
    Ok(())
}

#[derive(Serialize)]
struct ParsedLine<'a> {
    line: u64,
    service: &'static str,
    ip: std::net::IpAddr,
    user: Option<String>,
    time: Option<String>,
    host: Option<String>,
    event: String,
    count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
}

/// `parse`: a JSON line per recognised line (or, with `missed`, each line
/// not understood, its hazards escaped), then the summary on stderr.
fn parse_inputs(inputs: &[Input], missed: bool, now: Secs) -> Result<()> {
    let mut clock = LocalClock::new(now);
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut write_err = None;
    let mut summary = Summary::default();
    let mut forms = Forms::default();
    // Only for the summary's attackers and tries, counted as `replay` counts them.
    let mut table = crate::table::Table::default();
    for input in inputs {
        let name = input_name(input);
        let file = (inputs.len() > 1).then_some(name.as_str());
        let mut n = 0u64;
        let mut recognised = 0u64;
        let stats = lines::for_each_line(open_input(input)?, true, |line| {
            n += 1;
            let ev = match examine(line) {
                Seen::Event(ev) => ev,
                seen @ (Seen::Missed | Seen::Ambiguous) => {
                    let ambiguous = seen == Seen::Ambiguous;
                    match ambiguous {
                        true => forms.ambiguous += 1,
                        false => forms.missed += 1,
                    }
                    if missed && write_err.is_none() {
                        // Escaped as every log text is: the line is the attacker's.
                        let shown = text::clean(line, usize::MAX);
                        let mark = if ambiguous { "ambiguous: " } else { "" };
                        write_err = text::put_line(&mut out, format_args!("{mark}{shown}")).err();
                    }
                    return;
                }
                Seen::Other => return,
            };
            summary.recognised += 1;
            recognised += 1;
            forms.add(ev.event_name());
            let t = clock.decode(&ev.stamp);
            table.record(&ev, t.unwrap_or(now));
            // A line without an address of its own is counted, not printed.
            let Some(ip) = ev.ip else { return };
            if missed || write_err.is_some() {
                return;
            }
            let rec = ParsedLine {
                line: n,
                service: ev.service.as_str(),
                ip,
                user: ev.user.map(|u| text::clean(u, usize::MAX)),
                time: t.map(format_rfc3339),
                host: ev.host.map(|h| text::clean(h, 255)),
                event: ev.event_name(),
                count: ev.count,
                file,
            };
            if let Err(e) =
                text::write_json(&mut out, &rec, false).and_then(|()| out.write_all(b"\n"))
            {
                write_err = Some(e);
            }
        })
        .with_context(|| format!("cannot read {name}"))?;
        if let Some(e) = write_err.take() {
            return Err(e).context("cannot write to stdout");
        }
        warn_read(&name, &stats);
        warn_unrecognised(&name, &stats, recognised);
        summary.lines += stats.lines;
    }
    out.flush().context("cannot write to stdout")?;
    summary.count_table(&table);
    crate::notice::say(&summary);
    crate::notice::say(&forms);
    Ok(())
}

#[derive(Serialize)]
struct ShowLine<'a> {
    ip: std::net::IpAddr,
    tries: u64,
    users: &'a [String],
    users_more: u32,
    services: Vec<&'static str>,
    first: String,
    last: String,
    announced: Option<String>,
    /// Not a global address: counted and shown, never announced.
    internal: bool,
    /// The parked posts that name this attacker (as `outbox --json` lists them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    parked: Vec<&'a crate::queue::ParkedPost>,
}

fn show(c: &ShowConfig, now: Secs) -> Result<()> {
    let json = c.json;
    let st = load_existing(&c.state)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    if !json {
        text::put_line(
            &mut out,
            format_args!(
                "{:<39} {:>7}  {:<10} {:<20} {:<20} USERS",
                "IP", "TRIES", "SERVICES", "LAST SEEN", "ANNOUNCED"
            ),
        )?;
    }
    let parked = crate::queue::parked_posts(&st);
    let mut parked_by_ip: HashMap<IpAddr, Vec<&crate::queue::ParkedPost>> = HashMap::new();
    for p in &parked {
        for ip in &p.ips {
            parked_by_ip.entry(*ip).or_default().push(p);
        }
    }
    // One attacker read in full at a time: a million would not fit in memory at once.
    st.table.try_for_each_ranked(|ip, a| -> Result<()> {
        let wanted = a.last >= c.since
            && a.tries() >= c.min_tries
            && c.ip.is_none_or(|want| {
                // One address finds its own entry, or the network counted as one.
                let want = want.to_canonical();
                want == ip
                    || a.net.is_some_and(|(prefix, _)| {
                        format!("{ip}/{prefix}")
                            .parse::<crate::decide::Net>()
                            .is_ok_and(|n| n.contains(&want))
                    })
            });
        if !wanted {
            return Ok(());
        }
        let line = ShowLine {
            parked: parked_by_ip.remove(&ip).unwrap_or_default(),
            ip,
            tries: a.tries(),
            users: &a.users,
            users_more: a.users_more,
            services: a.services.names(),
            first: format_rfc3339(a.first),
            last: format_rfc3339(a.last),
            announced: a.announced.map(format_rfc3339),
            internal: !crate::scope::is_global(ip),
        };
        if json {
            text::write_json(&mut out, &line, false)?;
            writeln!(out)?;
        } else {
            let mut users = a.users.join(",");
            if a.users_more > 0 {
                users.push_str(&format!(" +{}", a.users_more));
            }
            // The names are escaped when stored; a state from elsewhere is escaped here.
            text::put_line(
                &mut out,
                format_args!(
                    "{:<39} {:>7}  {:<10} {:<20} {:<20} {}",
                    line.ip.to_string(),
                    line.tries,
                    line.services.join(","),
                    line.last,
                    match (&line.announced, line.internal) {
                        (Some(t), _) => t.as_str(),
                        (None, true) => "internal",
                        (None, false) => "-",
                    },
                    users
                ),
            )?;
        }
        Ok(())
    })?;
    // The queues, what a sink waits for, and parked posts, under the table.
    let mut summary = Vec::new();
    crate::queue::write_summary(&mut summary, &st, now)?;
    if !json && !summary.is_empty() {
        writeln!(out)?;
        out.write_all(&summary)?;
    }
    out.flush()?;
    state::check(&c.state, &st)
}
