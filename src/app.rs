//! `run`, the cron job, start to finish: lock and load the state; read the
//! logs on from where the last run stopped (`gather`); queue the attackers
//! now due for each sink (`announce`); forget the idle and bound the table;
//! save; post each sink's share (`publish`); the site's pages of returning
//! attackers and IndexNow (`refresh`); save again. Before any sink is
//! configured (`--if-configured`), it idles instead.

use std::net::IpAddr;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::announce::{each_due, held_back, queued_ips};
use crate::clock::Secs;
use crate::config::{RunConfig, RunOrIdle};
use crate::gather;
use crate::notice::{self, warn};
use crate::publish;
use crate::saved::UNCONFIGURED;
use crate::sink::{Pending, name_of as sink_name};
use crate::state::{self, RunRecord, State};

pub fn run(r: RunOrIdle, now: Secs) -> Result<()> {
    match r {
        RunOrIdle::Run(c) => run_pipeline(&c, now),
        RunOrIdle::Idle { state, missing } => idle_unconfigured(&state, &missing, now),
    }
}

fn run_pipeline(c: &RunConfig, now: Secs) -> Result<()> {
    let started = Instant::now();
    let record = |posted: u64, error: Option<String>| RunRecord {
        started: now,
        ended: now + started.elapsed().as_secs() as Secs,
        posted,
        error,
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
    notice::ended(&mut st.notes, UNCONFIGURED);
    c.geo.note_stale(&mut st.notes, now);
    drop_internal(&mut st);
    if let Err(e) = gather::read_logs(c, &mut st, now, |st| save_stage(c, st, now)) {
        if !c.dry_run {
            record_failed_read(&c.state, lock.as_ref(), record(0, Some(format!("{e:#}"))));
        }
        return Err(e);
    }
    st.table.close_conns();
    queue_due(&mut st, c, now);
    forget_and_bound(&mut st, c, now);
    if c.dry_run {
        return publish::print_plans(&mut st, c, now);
    }
    // Saved before posting: offsets and tries are never counted twice, and
    // the outbox survives whatever happens while posting.
    st.last_run = Some(record(0, None));
    let came_back = crate::refresh::came_back(&mut st, c);
    state::save(&c.state, &mut st)?;
    let published = publish::all(&mut st, c, now)?;
    let site = crate::refresh::site(&mut st, c, now, &came_back);
    let published = match (published, site) {
        (None, Ok(false)) => None,
        (p, site) => {
            let mut p = p.unwrap_or_default();
            p.failures.extend(site.err());
            Some(p)
        }
    };
    let Some(published) = published else {
        // The process ends next: freeing what the run read one by one would only add time.
        std::mem::forget(st);
        return Ok(());
    };
    let error = published.failures.first().map(|e| format!("{e:#}"));
    st.last_run = Some(record(published.posted, error));
    state::save(&c.state, &mut st)?;
    std::mem::forget(st);
    published.outcome()
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

/// Puts newly due attackers in the outbox, one entry per sink.
fn queue_due(st: &mut State, c: &RunConfig, now: Secs) {
    let queued = held_back(st);
    let outbox = &mut st.outbox;
    let queue = |subject: crate::render::Announcement| {
        for spec in &c.sinks {
            outbox.push(Pending {
                subject: subject.clone(),
                sink: sink_name(spec.name).to_string(),
                batch: None,
                queued: now,
                created: None,
                parked: None,
            });
        }
        Ok::<_, std::convert::Infallible>(())
    };
    let Ok(()) = each_due(&st.table, &queued, &c.policy, &c.privacy, &c.geo, queue);
}

/// Forgets attackers idle past the retention, then the least recent past
/// `--max-attackers`; never one still in the outbox.
fn forget_and_bound(st: &mut State, c: &RunConfig, now: Secs) {
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
        0 => notice::ended(&mut st.notes, "table-full"),
        n => {
            notice::once(
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

/// A run that failed reading its sources says so in the state, so that
/// `status` shows the failure and not the last good run as "ok". What the
/// failed read gathered is dropped: the last save is loaded again (nothing
/// is counted twice), and only the record is added to it. A state never
/// saved stays unsaved, and a failure to record is left unsaid: the run's
/// own error is the one line it says.
fn record_failed_read(path: &Path, held: Option<&state::StateLock>, record: RunRecord) {
    if state::must_exist(path).is_err() {
        return;
    }
    if let Ok(mut st) = state::load_as(path, held) {
        st.last_run = Some(record);
        let _ = state::save(path, &mut st);
    }
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
    if notice::once(
        &mut st.notes,
        UNCONFIGURED,
        now,
        format_args!("not configured yet, so idle until it is: {missing}"),
    ) {
        state::save(path, &mut st)?;
    }
    Ok(())
}
