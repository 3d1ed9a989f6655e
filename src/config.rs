//! Validated settings for one command, built from the command line, the
//! options file and the environment: the options file is found (one rule
//! for every command: `FileConfig::maybe_load`), read and checked here,
//! and each destination's part of it is handed, with the environment's
//! secrets, to `sink::Sections`, whose parts check themselves. Core code
//! sees only these: every command's arguments, `outbox`'s too, are read
//! here.

use crate::table::{DEFAULT_IPV6_PREFIX, DEFAULT_MAX_ATTACKERS, Rules};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

use crate::cli::{self, Args};
use crate::clock::{self, Secs};
use crate::decide::{Net, Policy, default_ignores};
use crate::geoip::Geo;
use crate::journal::JournalSource;
use crate::render::{Privacy, local_accounts};
use crate::sink::abuseipdb::AbuseIpDbConfig;
use crate::sink::bluesky::BlueskyConfig;
use crate::sink::mastodon::MastodonConfig;
use crate::sink::stdout::StdoutConfig;
use crate::sink::webhook::WebhookConfig;
use crate::sink::{Budget, Missing, Secret, Sections, SinkName};

pub const DEFAULT_STATE: &str = "/var/lib/tweet-attacks/state.json";
pub const DEFAULT_VSFTPD_LOG: &str = "/var/log/vsftpd.log";
/// The options file every command reads when neither `--config` nor
/// `$TWEET_ATTACKS_CONFIG` names one, if it exists. Defined with what a
/// destination lacks (`Missing`), whose message names it: sinks import no
/// module above them.
pub use crate::sink::section::DEFAULT_CONFIG;
pub const DEFAULT_THRESHOLD: u64 = 5;
pub const DEFAULT_POSTS_PER_DAY: usize = 17;

/// A value that means nothing, or that would erase history: a usage error
/// (exit status 2, as clap's own), whichever subcommand, flag or options
/// file gave it. Refused before any state is read or written.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// `bad OPTION: WHY`, as a usage error.
fn bad(option: &str, why: impl std::fmt::Display) -> anyhow::Error {
    Usage(format!("bad {option}: {why}")).into()
}

/// A duration option's value, e.g. `--since 1h`.
fn duration(option: &str, value: &str) -> Result<Secs> {
    clock::parse_duration(value).map_err(|e| bad(option, format!("{e:#}")))
}

/// The shortest `--retention`: an attacker stays announceable this long
/// after its last try, so a shorter retention would forget attackers before
/// they are announced (and `0` would empty the table at once).
pub const MIN_RETENTION: Secs = crate::decide::ACTIVE_WINDOW;

#[derive(Debug)]
pub struct Config {
    /// The run's one reading of the clock.
    pub now: Secs,
    pub command: Command,
}

#[derive(Debug)]
pub enum Command {
    Run(RunOrIdle),
    Replay(ReplayConfig),
    Parse { inputs: Vec<Input>, missed: bool },
    Show(ShowConfig),
    Status(StatusConfig),
    Outbox(OutboxConfig),
    VerifyCredentials(Box<crate::verify::VerifyConfig>),
    Export(ExportConfig),
    Site(SiteCommandConfig),
    Completions(clap_complete::Shell),
    Man,
}

/// `site rebuild` or `site remove`, with what they need.
#[derive(Debug)]
pub struct SiteCommandConfig {
    pub state: PathBuf,
    pub site: crate::sink::site::SiteSettings,
    /// Whose pages are written: the ignored never are.
    pub policy: Policy,
    /// The posts' rules for user names.
    pub privacy: Privacy,
    /// Who holds an address, for the pages.
    pub geo: Geo,
    /// The options file's `ipv6-prefix`: which network an address is counted in.
    pub ipv6_prefix: u8,
    pub action: SiteAction,
}

#[derive(Debug)]
pub enum SiteAction {
    Rebuild,
    Remove { target: Net, reason: String },
}

#[derive(Debug)]
pub struct ExportConfig {
    pub state: PathBuf,
    pub format: crate::export::Format,
    /// Oldest time included.
    pub since: Secs,
    pub out: Option<PathBuf>,
    /// The blocklist's: internal (`scope`), own and ignored addresses left out, and fewer tries than this.
    pub policy: Policy,
    pub min_tries: u64,
    /// The posts' rules for user names.
    pub privacy: Privacy,
    pub author: String,
    pub feed_url: Option<String>,
    /// Who holds each address (`asn`, `as_org`, `country`).
    pub geo: Geo,
}

#[derive(Debug)]
pub struct ShowConfig {
    pub state: PathBuf,
    pub json: bool,
    /// Oldest last try shown.
    pub since: Secs,
    pub min_tries: u64,
    pub ip: Option<crate::decide::Net>,
    /// Every user name and full times, not cut to the terminal's width.
    pub wide: bool,
    /// Who holds each address (an OWNER column, and `--json`'s fields).
    pub geo: Geo,
}

#[derive(Debug)]
pub struct StatusConfig {
    pub state: PathBuf,
    pub json: bool,
    /// The logs `run` would read with the same options.
    pub logs: Vec<PathBuf>,
    /// Where `run` would read sshd from (a log file or the journal), when
    /// an options file says.
    pub sshd_source: Option<String>,
    /// Each sink `run` would post to, with its budget.
    pub sinks: Vec<SinkSpec>,
    /// The site destination's folder, when the options file has a `[site]`.
    pub site_dir: Option<PathBuf>,
}

/// What `outbox` was asked to do.
#[derive(Debug)]
pub struct OutboxConfig {
    pub state: PathBuf,
    pub json: bool,
    pub change: Option<(Change, Which)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Retry,
    Drop,
}

/// Parked posts by ID, or all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    All,
    Ids(Vec<u64>),
}

/// A log to read whole: a file, or standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkSpec {
    pub name: SinkName,
    pub budget: Budget,
}

#[derive(Debug)]
pub struct RunConfig {
    pub state: PathBuf,
    /// Log files, read from their saved offsets.
    pub logs: Vec<PathBuf>,
    /// Those of `logs` named by flag or options file: missing is an error, not normal.
    pub explicit_logs: Vec<PathBuf>,
    /// sshd from journald instead of a file.
    pub journal: Option<JournalSource>,
    /// The journal was chosen because the log file is missing: say so, once.
    pub journal_auto: bool,
    pub policy: Policy,
    pub privacy: Privacy,
    pub sinks: Vec<SinkSpec>,
    /// Each destination's part of the options file, checked for those in `sinks`.
    pub sections: Sections,
    pub dry_run: bool,
    pub json: bool,
    pub retention: Secs,
    pub rules: Rules,
    pub lock_wait: Duration,
    /// How much of a log is read between saves; `None` (a dry run, which
    /// saves nothing) reads each log whole.
    pub stage_bytes: Option<u64>,
    /// Who holds a due attacker's address, frozen in its announcement.
    pub geo: Geo,
}

#[derive(Debug)]
pub struct ReplayConfig {
    pub state: Option<PathBuf>,
    pub policy: Policy,
    pub privacy: Privacy,
    pub json: bool,
    pub rules: Rules,
    pub inputs: Vec<Input>,
    /// Who holds a due attacker's address (the flags only: replay reads no options file).
    pub geo: Geo,
}

/// The options file: any `run` option by its long name, plus credentials.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileConfig {
    state: Option<PathBuf>,
    auth_log: Option<PathBuf>,
    vsftpd_log: Option<PathBuf>,
    journal: Option<bool>,
    journalctl: Option<PathBuf>,
    since: Option<String>,
    threshold: Option<u64>,
    #[serde(default)]
    sink: Vec<SinkName>,
    #[serde(default)]
    ignore: Vec<String>,
    retention: Option<String>,
    ipv6_prefix: Option<u8>,
    max_attackers: Option<u64>,
    twitter_api_url: Option<String>,
    max_posts_per_day: Option<usize>,
    max_posts_per_run: Option<usize>,
    passwd: Option<PathBuf>,
    show_local_users: Option<bool>,
    twitter_consumer_key: Option<String>,
    twitter_consumer_secret: Option<String>,
    twitter_access_token: Option<String>,
    twitter_access_token_secret: Option<String>,
    mastodon: Option<MastodonConfig>,
    bluesky: Option<BlueskyConfig>,
    abuseipdb: Option<AbuseIpDbConfig>,
    webhook: Option<WebhookConfig>,
    site: Option<crate::sink::site::SiteConfig>,
    geoip: Option<GeoipConfig>,
}

/// `[geoip]`: the MaxMind DB files that say who holds an address.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct GeoipConfig {
    asn: Option<PathBuf>,
    country: Option<PathBuf>,
}

/// The databases `--geoip-asn` and `--geoip-country` name, else the options
/// file's `[geoip]`, read now: a missing, unreadable or foreign file is an
/// error that names it, before any state is read.
fn geo(flags: cli::GeoipArgs, file: &FileConfig) -> Result<Geo> {
    let section = file.geoip.clone().unwrap_or_default();
    let asn = flags.geoip_asn.or(section.asn);
    let country = flags.geoip_country.or(section.country);
    Geo::open(asn.as_deref(), country.as_deref())
}

impl FileConfig {
    /// Each destination's part of the file; `api_url` is X's, as chosen.
    fn sections(&self, api_url: Option<String>) -> Sections {
        let x = [
            &self.twitter_consumer_key,
            &self.twitter_consumer_secret,
            &self.twitter_access_token,
            &self.twitter_access_token_secret,
        ];
        Sections {
            stdout: StdoutConfig::default(),
            x: crate::sink::x::XConfig {
                api_url,
                credentials: x.map(|v| v.clone().map(Secret::new)),
            },
            mastodon: self.mastodon.clone(),
            bluesky: self.bluesky.clone(),
            abuseipdb: self.abuseipdb.clone(),
            webhook: self.webhook.clone(),
            site: self.site.clone(),
        }
    }

    /// Reads the options file. It decides what root runs (`journalctl`) and
    /// where it writes, so it must belong to root or the user running the
    /// tool and be writable by its owner only; one that holds secrets must
    /// not be readable by group or others either, as ssh insists for private
    /// keys. Owner and mode are those of the file opened and read (fstat),
    /// so it cannot be swapped between the check and the read.
    fn load(path: &Path) -> Result<FileConfig> {
        use std::io::Read;
        use std::os::unix::fs::MetadataExt;
        let shown = path.display();
        let mut f = std::fs::File::open(path)
            .with_context(|| format!("cannot read config file {shown}"))?;
        let meta = f
            .metadata()
            .with_context(|| format!("cannot stat config file {shown}"))?;
        let mode = meta.permissions().mode() & 0o7777;
        if !crate::safe_fs::trusted_owner(meta.uid()) {
            bail!(
                "config file {shown} belongs to uid {}, not to root or the user running tweet-attacks (uid {}); it decides what this run executes, so it is refused",
                meta.uid(),
                crate::safe_fs::euid()
            );
        }
        if mode & 0o022 != 0 {
            bail!(
                "config file {shown} is writable by group or others (mode {:03o}); it decides what this run executes; run: chmod go-w {shown}",
                mode & 0o777
            );
        }
        let mut text = String::new();
        f.read_to_string(&mut text)
            .with_context(|| format!("cannot read config file {shown}"))?;
        let file: FileConfig = toml::from_str(&text).map_err(|e| toml_error(&e, &text, path))?;
        if file.sections(None).has_secrets() && mode & 0o077 != 0 {
            bail!(
                "config file {shown} holds credentials but is readable by others (mode {:03o}); run: chmod 600 {shown}",
                mode & 0o777
            );
        }
        Ok(file)
    }

    /// The options file, found the same way by every command: `--config
    /// FILE`, else `$TWEET_ATTACKS_CONFIG` (if not empty), else
    /// [`DEFAULT_CONFIG`] if it exists; none at all is no options. Returns
    /// the path used, so that messages can name it.
    fn maybe_load(given: Option<PathBuf>) -> Result<(Option<PathBuf>, FileConfig)> {
        let path = given
            .or_else(|| {
                std::env::var_os("TWEET_ATTACKS_CONFIG")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .or_else(|| Some(default_config()).filter(|p| p.exists()));
        let file = match &path {
            Some(p) => FileConfig::load(p)?,
            None => FileConfig::default(),
        };
        Ok((path, file))
    }
}

/// A TOML error in words that hold no secret. toml's own text quotes the
/// offending line, and serde's message quotes a bad value (`invalid type:
/// integer `12345678``), which may be a secret of the wrong type: keep the
/// line number and the message without any quoted piece of the value.
fn toml_error(e: &toml::de::Error, text: &str, path: &Path) -> anyhow::Error {
    let mut msg = e.message().to_string();
    let mut at = String::new();
    match e.span() {
        Some(span) if text.get(span.clone()).is_some() => {
            // Newlines before the span, not `lines()`: a span that starts a
            // line (an unknown key) has the newline before it in that text.
            at = format!(" at line {}", text[..span.start].matches('\n').count() + 1);
            // A key (followed by `=`) is a name, not a value: it may be quoted.
            if !text[span.end..].trim_start().starts_with('=') {
                msg = without_quoted(&msg, &text[span]);
            }
        }
        // Without a place to look, nothing quoted from the file is shown.
        _ => msg = without_quoted(&msg, text),
    }
    Usage(format!(
        "config file {} is not valid{at}: {msg}",
        path.display()
    ))
    .into()
}

/// `msg` without its `quoted` pieces that are part of `value`.
fn without_quoted(msg: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = msg;
    while let Some(open) = rest.find('`') {
        let Some(len) = rest[open + 1..].find('`') else {
            break;
        };
        let quoted = &rest[open + 1..open + 1 + len];
        let secret = !quoted.is_empty() && value.contains(quoted);
        if secret {
            out.push_str(rest[..open].trim_end());
        } else {
            out.push_str(&rest[..open + len + 2]);
        }
        rest = &rest[open + len + 2..];
    }
    out.push_str(rest);
    out
}

/// Checks an API base URL without ever quoting it: it may carry a password
/// (`http://user:PASS@host`), or be a secret pasted on the wrong line.
fn check_base_url(what: &str, value: &str) -> Result<()> {
    match crate::sink::http::valid_base_url(value) {
        Some(_) => Ok(()),
        None => Err(Usage(format!(
            "{what} must be http(s)://host[:port], with no user name or password (the value is not shown: it may hold a secret)"
        ))
        .into()),
    }
}

/// The X API base URL: the option's, or the file's (X's own without either).
fn twitter_api_url(option: Option<String>, file: &FileConfig) -> Result<Option<String>> {
    let url = option.or(file.twitter_api_url.clone());
    if let Some(url) = &url {
        check_base_url("--twitter-api-url", url)?;
    }
    Ok(url)
}

/// The sections' base URLs, checked before the sinks quote them.
fn check_sink_urls(s: &Sections) -> Result<()> {
    for (what, url) in s.base_urls() {
        check_base_url(what, url)?;
    }
    Ok(())
}

/// The environment, as the destinations read their secrets from it.
fn env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

fn policy(threshold: u64, ignore: &[String]) -> Result<Policy> {
    let mut nets = default_ignores();
    for s in ignore {
        nets.push(
            s.parse::<Net>()
                .map_err(|e| bad("--ignore", format!("{e:#}")))?,
        );
    }
    Ok(Policy {
        threshold,
        ignore: nets,
        active_since: None,
    })
}

fn privacy(passwd: &Path, show_local: bool) -> Result<Privacy> {
    let local = match std::fs::read_to_string(passwd) {
        Ok(text) => local_accounts(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Default::default(),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read {}", passwd.display()));
        }
    };
    Ok(Privacy::new(local, show_local))
}

/// [`DEFAULT_CONFIG`], unless `TWEET_ATTACKS_DEFAULT_CONFIG` moves it:
/// tests must not read the host's own.
fn default_config() -> PathBuf {
    std::env::var_os("TWEET_ATTACKS_DEFAULT_CONFIG")
        .map_or_else(|| DEFAULT_CONFIG.into(), PathBuf::from)
}

/// vsftpd's log, unless `TWEET_ATTACKS_DEFAULT_VSFTPD_LOG` moves the
/// default: tests must not read the host's own.
pub fn default_vsftpd_log() -> String {
    std::env::var("TWEET_ATTACKS_DEFAULT_VSFTPD_LOG").unwrap_or_else(|_| DEFAULT_VSFTPD_LOG.into())
}

/// Debian and Ubuntu log sshd to auth.log; the Red Hat family to secure.
fn default_auth_log() -> PathBuf {
    ["/var/log/auth.log", "/var/log/secure"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| "/var/log/auth.log".into())
}

/// The sinks chosen on the command line, else in the options file, else X.
fn sink_names(flags: Vec<SinkName>, file: &FileConfig) -> Vec<SinkName> {
    let mut names = if flags.is_empty() {
        file.sink.clone()
    } else {
        flags
    };
    if names.is_empty() {
        names.push(SinkName::X);
    }
    names.sort();
    names.dedup();
    names
}

fn sink_specs(names: &[SinkName], per_day: Option<usize>, per_run: Option<usize>) -> Vec<SinkSpec> {
    let per_day = per_day.unwrap_or(DEFAULT_POSTS_PER_DAY);
    names
        .iter()
        .map(|&name| SinkSpec {
            name,
            budget: match name {
                // X alone has a daily budget (legacy Free's 17 posts, and a
                // price per post), and so the per-run quarter of
                // `Budget::left`; the others go as their services' rate
                // limits allow.
                SinkName::X => Budget {
                    per_day: Some(per_day),
                    per_run,
                },
                _ => Budget::UNLIMITED,
            },
        })
        .collect()
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

fn inputs(paths: Vec<PathBuf>) -> Vec<Input> {
    if paths.is_empty() {
        return vec![Input::Stdin];
    }
    paths
        .into_iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                Input::Stdin
            } else {
                Input::File(p)
            }
        })
        .collect()
}

/// What `run` does: the pipeline, or (`--if-configured`) nothing yet.
#[derive(Debug)]
pub enum RunOrIdle {
    Run(Box<RunConfig>),
    /// No sink is configured yet: `missing` says what is missing.
    Idle {
        state: PathBuf,
        missing: String,
    },
}

fn run_config(mut r: cli::RunArgs, now: Secs) -> Result<RunOrIdle> {
    let (path, file) = FileConfig::maybe_load(r.config.take())?;
    r.config = path;
    let retention = run_retention(r.retention.clone(), &file)?;
    // Parsed whether or not the journal is read: a bad value is a bad value.
    let look_back = duration(
        "--since",
        r.since.as_deref().or(file.since.as_deref()).unwrap_or("1h"),
    )?;
    let rules = run_rules(&r, &file)?;
    if !(0.0..=3600.0).contains(&r.lock_wait) {
        return Err(bad(
            "--lock-wait",
            format!("{} (0 to 3600 seconds)", r.lock_wait),
        ));
    }
    let names = sink_names(r.sinks.clone(), &file);
    let sinks = sink_specs(
        &names,
        r.max_posts_per_day.or(file.max_posts_per_day),
        r.max_posts_per_run.or(file.max_posts_per_run),
    );
    let api_url = twitter_api_url(r.twitter_api_url.clone(), &file)?;
    // A dry run checks them too: it does everything but the sending.
    let sections = Sections {
        // Under --json the run's report prints each post.
        stdout: StdoutConfig { quiet: r.json },
        ..file.sections(api_url)
    }
    .with_env(&env);
    check_sink_urls(&sections)?;
    let state = state_path(r.state.clone(), &file);
    match sections.check(&names, r.config.as_deref()) {
        Ok(()) => {}
        Err(e) if r.if_configured => {
            return Ok(RunOrIdle::Idle {
                state,
                missing: format!("{e:#}"),
            });
        }
        Err(e) => return Err(e),
    };
    let mut ignore = file.ignore.clone();
    ignore.extend(r.ignore.iter().cloned());
    let passwd = r
        .passwd
        .clone()
        .or(file.passwd.clone())
        .unwrap_or_else(|| "/etc/passwd".into());
    let sources = run_sources(&r, &file, look_back)?;
    let geo = geo(std::mem::take(&mut r.geoip), &file)?;
    Ok(RunOrIdle::Run(Box::new(RunConfig {
        state,
        journal_auto: sources.journal_auto,
        journal: sources.journal,
        logs: sources.logs,
        explicit_logs: sources.explicit_logs,
        policy: {
            let mut p = policy(
                r.threshold.or(file.threshold).unwrap_or(DEFAULT_THRESHOLD),
                &ignore,
            )?;
            // A run reads this host's logs, so its own addresses are never attackers.
            // (A replay may read another host's logs: it keeps only loopback.)
            p.ignore
                .extend(crate::host::own_addresses().into_iter().map(Net::from));
            p.active_since = Some(now - crate::decide::ACTIVE_WINDOW);
            p
        },
        privacy: privacy(
            &passwd,
            r.show_local_users || file.show_local_users.unwrap_or(false),
        )?,
        sinks,
        sections,
        dry_run: r.dry_run,
        json: r.json,
        retention,
        rules,
        lock_wait: Duration::from_secs_f64(r.lock_wait),
        stage_bytes: (!r.dry_run).then_some(r.stage_bytes),
        geo,
    })))
}

/// `--retention`: a retention shorter than the announcement window would
/// forget attackers before they can be announced.
fn run_retention(given: Option<String>, file: &FileConfig) -> Result<Secs> {
    let given = given
        .or(file.retention.clone())
        .unwrap_or_else(|| "30d".into());
    let retention = duration("--retention", &given)?;
    if retention < MIN_RETENTION {
        return Err(bad(
            "--retention",
            format!(
                "{given:?} is shorter than the day in which an attacker may still be announced: it would forget attackers before they are announced (give 1d or more)"
            ),
        ));
    }
    Ok(retention)
}

/// How addresses group into attackers, and how many are kept.
fn run_rules(r: &cli::RunArgs, file: &FileConfig) -> Result<Rules> {
    Ok(Rules {
        ipv6_prefix: match r.ipv6_prefix.or(file.ipv6_prefix) {
            Some(p) if p > 128 => return Err(bad("--ipv6-prefix", format!("{p} (0 to 128)"))),
            p => p.unwrap_or(DEFAULT_IPV6_PREFIX),
        },
        max_attackers: match r.max_attackers.or(file.max_attackers) {
            Some(0) => {
                return Err(bad(
                    "--max-attackers",
                    "0 would keep no attacker at all (at least 1)",
                ));
            }
            n => n.map_or(DEFAULT_MAX_ATTACKERS, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            }),
        },
    })
}

/// `run`'s flags that choose what it reads.
#[derive(Default)]
struct SourceFlags {
    journal: bool,
    auth_log: Option<PathBuf>,
    journalctl: Option<PathBuf>,
    vsftpd_log: Option<PathBuf>,
}

/// What a run reads: the logs, or the journal where asked for or where
/// there is no auth.log.
struct Sources {
    journal: Option<JournalSource>,
    journal_auto: bool,
    logs: Vec<PathBuf>,
    /// The logs named on purpose: a missing one is an error.
    explicit_logs: Vec<PathBuf>,
}

fn run_sources(r: &cli::RunArgs, file: &FileConfig, look_back: Secs) -> Result<Sources> {
    let flags = SourceFlags {
        journal: r.journal,
        auth_log: r.auth_log.clone(),
        journalctl: r.journalctl.clone(),
        vsftpd_log: r.vsftpd_log.clone(),
    };
    sources(flags, file, look_back)
}

/// The sources from the flags (`status` has none) and the options file.
fn sources(r: SourceFlags, file: &FileConfig, look_back: Secs) -> Result<Sources> {
    let explicit_auth_log = r.auth_log.clone().or(file.auth_log.clone());
    let auth_log = explicit_auth_log.clone().unwrap_or_else(default_auth_log);
    let journalctl = r.journalctl.clone().or(file.journalctl.clone());
    let forced = r.journal || file.journal.unwrap_or(false);
    // journald-only hosts (Debian 12+, Fedora, Arch) often have no auth.log at all.
    let auto = !forced && explicit_auth_log.is_none() && !auth_log.exists();
    let journal = match journalctl.or_else(|| find_on_path("journalctl")) {
        Some(journalctl) if forced || auto => Some(JournalSource {
            journalctl,
            look_back,
        }),
        None if forced => bail!("--journal: no journalctl found on PATH (give --journalctl PATH)"),
        _ => None,
    };
    let mut logs = Vec::new();
    let mut explicit_logs: Vec<PathBuf> = explicit_auth_log.into_iter().collect();
    if journal.is_none() {
        logs.push(auth_log);
    }
    let vsftpd_log = r.vsftpd_log.clone().or(file.vsftpd_log.clone());
    explicit_logs.extend(vsftpd_log.clone());
    logs.push(vsftpd_log.unwrap_or_else(|| default_vsftpd_log().into()));
    Ok(Sources {
        journal_auto: auto && journal.is_some(),
        journal,
        logs,
        explicit_logs,
    })
}

/// `--state FILE`, else the options file's `state`, else the default.
fn state_path(given: Option<PathBuf>, file: &FileConfig) -> PathBuf {
    given
        .or(file.state.clone())
        .unwrap_or_else(|| DEFAULT_STATE.into())
}

/// `--since DURATION` as the oldest time it lets in (all time without it).
fn since(now: Secs, d: Option<&str>) -> Result<Secs> {
    Ok(match d {
        Some(d) => now.saturating_sub(duration("--since", d)?),
        None => Secs::MIN,
    })
}

fn export_config(e: cli::ExportArgs, now: Secs) -> Result<ExportConfig> {
    let (_, file) = FileConfig::maybe_load(e.config)?;
    let threshold = file.threshold.unwrap_or(DEFAULT_THRESHOLD);
    let mut ignore = file.ignore.clone();
    ignore.extend(e.ignore);
    let mut policy = policy(threshold, &ignore)?;
    // The blocklist feeds this host's firewall: never lock it out of itself.
    policy
        .ignore
        .extend(crate::host::own_addresses().into_iter().map(Net::from));
    let passwd = e
        .passwd
        .or(file.passwd.clone())
        .unwrap_or_else(|| "/etc/passwd".into());
    Ok(ExportConfig {
        state: state_path(e.state, &file),
        format: e.format,
        since: since(now, e.since.as_deref())?,
        out: e.out,
        policy,
        min_tries: e.min_tries.unwrap_or(threshold + 1),
        privacy: privacy(
            &passwd,
            e.show_local_users || file.show_local_users.unwrap_or(false),
        )?,
        author: e
            .author
            .unwrap_or_else(|| format!("tweet-attacks on {}", crate::host::name())),
        feed_url: e.feed_url,
        geo: geo(e.geoip, &file)?,
    })
}

fn status_config(s: cli::StatusArgs) -> Result<StatusConfig> {
    let (path, file) = FileConfig::maybe_load(s.config)?;
    let names = sink_names(Vec::new(), &file);
    // With the options file, the logs it names (or the defaults) are shown
    // even before a run read them; without it, only the logs the state has.
    let mut logs = Vec::new();
    // Where `run` reads sshd from, by the same rule; a journal asked for
    // without journalctl is `run`'s error to report, not `status`'s.
    let sshd_source = path
        .as_ref()
        .map(|_| match sources(SourceFlags::default(), &file, 0) {
            Ok(s) if s.journal.is_some() => "the journal".to_string(),
            Ok(s) => s.logs[0].display().to_string(),
            Err(_) => "the journal (journalctl not found)".to_string(),
        });
    if path.is_some() {
        logs.push(file.auth_log.clone().unwrap_or_else(default_auth_log));
        logs.push(
            file.vsftpd_log
                .clone()
                .unwrap_or_else(|| default_vsftpd_log().into()),
        );
    }
    Ok(StatusConfig {
        state: state_path(s.state, &file),
        json: s.json,
        logs,
        sshd_source,
        sinks: sink_specs(&names, file.max_posts_per_day, file.max_posts_per_run),
        site_dir: file.site.as_ref().and_then(|s| s.dir.clone()),
    })
}

fn site_config(a: cli::SiteArgs) -> Result<SiteCommandConfig> {
    let (path, file) = FileConfig::maybe_load(a.config)?;
    let Some(section) = &file.site else {
        return Err(match path {
            Some(p) => anyhow!("{} has no [site] section", p.display()),
            None => anyhow!(
                "no options file with a [site] section (--config FILE, $TWEET_ATTACKS_CONFIG or {})",
                DEFAULT_CONFIG
            ),
        });
    };
    let site = section
        .settings()
        .map_err(|e| Missing::in_file(e, path.as_deref()))?;
    let threshold = file.threshold.unwrap_or(DEFAULT_THRESHOLD);
    let passwd = file.passwd.clone().unwrap_or_else(|| "/etc/passwd".into());
    Ok(SiteCommandConfig {
        state: state_path(a.state, &file),
        site,
        policy: policy(threshold, &file.ignore)?,
        privacy: privacy(&passwd, file.show_local_users.unwrap_or(false))?,
        geo: geo(cli::GeoipArgs::default(), &file)?,
        ipv6_prefix: file
            .ipv6_prefix
            .filter(|p| *p <= 128)
            .unwrap_or(DEFAULT_IPV6_PREFIX),
        action: match a.action {
            cli::SiteAction::Rebuild => SiteAction::Rebuild,
            cli::SiteAction::Remove { address, reason } => {
                if reason.trim().is_empty() {
                    return Err(Usage("--reason must say why".into()).into());
                }
                SiteAction::Remove {
                    target: address,
                    reason: reason.trim().to_string(),
                }
            }
        },
    })
}

fn outbox_config(a: cli::OutboxArgs) -> Result<OutboxConfig> {
    let which = |ids: Vec<String>| -> Result<Which> {
        if ids.iter().any(|i| i == "all") {
            return Ok(Which::All);
        }
        let ids = ids
            .iter()
            .map(|i| {
                i.parse()
                    .map_err(|_| Usage(format!("bad post ID {i:?}: a number or `all`")).into())
            })
            .collect::<Result<_>>()?;
        Ok(Which::Ids(ids))
    };
    let change = match a.action {
        None => None,
        Some(cli::OutboxAction::Retry { ids }) => Some((Change::Retry, which(ids)?)),
        Some(cli::OutboxAction::Drop { ids }) => Some((Change::Drop, which(ids)?)),
    };
    let (_, file) = FileConfig::maybe_load(a.config)?;
    Ok(OutboxConfig {
        state: state_path(a.state, &file),
        json: a.json,
        change,
    })
}

impl Config {
    /// Validates the arguments; `wall_clock` is used unless `--now` pins the time.
    pub fn from_args(args: Args, wall_clock: Secs) -> Result<Config> {
        let now = match &args.now {
            Some(s) => clock::parse_rfc3339(s)
                .map_err(|e| bad("--now / TWEET_ATTACKS_NOW", format!("{e:#}")))?,
            None => wall_clock,
        };
        let command = match args.command {
            cli::Command::Run(r) => Command::Run(run_config(*r, now)?),
            cli::Command::Replay(r) => Command::Replay(ReplayConfig {
                geo: geo(r.geoip, &FileConfig::default())?,
                state: r.state,
                policy: policy(r.threshold, &r.ignore)?,
                privacy: privacy(&r.passwd, false)?,
                json: r.json,
                rules: Rules {
                    ipv6_prefix: r.ipv6_prefix,
                    ..Rules::default()
                },
                inputs: inputs(r.inputs),
            }),
            cli::Command::Parse(p) => Command::Parse {
                inputs: inputs(p.inputs),
                missed: p.missed,
            },
            cli::Command::Show(s) => Command::Show({
                let file = FileConfig::maybe_load(s.config)?.1;
                ShowConfig {
                    geo: geo(s.geoip, &file)?,
                    state: state_path(s.state, &file),
                    json: s.json,
                    since: since(now, s.since.as_deref())?,
                    min_tries: s.min_tries.unwrap_or(0),
                    ip: s.ip,
                    wide: s.wide,
                }
            }),
            cli::Command::Status(s) => Command::Status(status_config(s)?),
            cli::Command::Outbox(o) => Command::Outbox(outbox_config(o)?),
            cli::Command::VerifyCredentials(v) => {
                let (path, file) = FileConfig::maybe_load(v.config)?;
                let api_url = twitter_api_url(v.twitter_api_url, &file)?;
                let sections = file.sections(api_url).with_env(&env);
                check_sink_urls(&sections)?;
                Command::VerifyCredentials(Box::new(crate::verify::VerifyConfig::new(
                    v.sinks, sections, path,
                )))
            }
            cli::Command::Export(e) => Command::Export(export_config(e, now)?),
            cli::Command::Site(a) => Command::Site(site_config(a)?),
            cli::Command::Completions { shell } => Command::Completions(shell),
            cli::Command::Man => Command::Man,
        };
        Ok(Config { now, command })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        let e = toml::from_str::<FileConfig>(text).unwrap_err();
        format!("{:#}", toml_error(&e, text, Path::new("o.toml")))
    }

    #[test]
    fn a_bad_options_file_is_reported_at_the_line_of_the_fault() {
        // An unknown key: its span starts a line, after the newline before it.
        let unknown = error_of("threshold = 5\nsince = \"1h\"\nthreshhold = 6\n");
        assert!(unknown.contains("at line 3"), "{unknown}");
        let first = error_of("bogus = 1\n");
        assert!(first.contains("at line 1"), "{first}");
        // A bad value: its span starts within the line.
        let value = error_of("\n\nthreshold = \"five\"\n");
        assert!(value.contains("at line 3"), "{value}");
    }
}
