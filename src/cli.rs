//! The command line as typed: clap's view of flags and subcommands.
//! Validation lives in `config`; `--sink`'s values are `sink`'s
//! destinations, by the names `sink::SinkName` gives them.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args as ClapArgs, Parser, Subcommand};

use crate::sink::SinkName;

/// Turn brute-force attempts in sshd and vsftpd logs into public posts about
/// the attacking addresses. Made for cron: each run reads only what is new.
#[derive(Debug, Parser)]
#[command(name = "tweet-attacks", version, about, long_about = None)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,

    /// Pretend the current time is this RFC 3339 instant (for tests and replays).
    #[arg(long, global = true, hide = true, env = "TWEET_ATTACKS_NOW")]
    pub now: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the logs from where the last run stopped, and publish attackers that became due.
    Run(Box<RunArgs>),
    /// Run the pipeline over whole files or stdin, from an empty table; never posts.
    Replay(ReplayArgs),
    /// Print one JSON object per failed-login line recognised (like fail2ban-regex).
    Parse(ParseArgs),
    /// Print the attacker table, most tries first.
    ///
    /// It is cut to the terminal's width ($COLUMNS, else the terminal's
    /// window, else 80 columns): shorter times, and user lists ending in +N;
    /// --wide or --json print everything. IP narrows it to one address, to a
    /// network in CIDR form as a post names it (2001:db8:1:2::/64), or to the
    /// tracked network that holds an address (2001:db8:1:2::77 finds that /64).
    Show(ShowArgs),
    /// One screen on the job itself: the last run, each log's position, the outbox, the budget.
    Status(StatusArgs),
    /// List what waits for each sink and the posts parked after a refusal;
    /// `outbox retry ID…` or `outbox drop ID…` (or `all`) puts them back or forgets them.
    Outbox(OutboxArgs),
    /// Check each configured sink's credentials (or those named with --sink)
    /// without posting, one line each (a failure's reason on stderr; exit 1
    /// if any failed): X's signed GET /2/users/me prints the account's @username.
    VerifyCredentials(VerifyArgs),
    /// Write the attacker table as a blocklist, CSV, JSON or an Atom feed.
    Export(ExportArgs),
    /// The site destination's pages ([site] in the options file): `site
    /// rebuild` writes them all from the table, `site remove ADDRESS
    /// --reason TEXT` takes one down for good.
    Site(SiteArgs),
    /// Print a shell completion script, e.g. `tweet-attacks completions bash`.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), e.g. `tweet-attacks man | man -l -`.
    Man,
}

/// `--sink`: a destination by its name, each listed in `--help` with what
/// it does (the destinations themselves are `sink`'s business).
fn sink_name() -> impl TypedValueParser<Value = SinkName> {
    let values = SinkName::ALL.map(|s| {
        let (name, help) = s.about();
        PossibleValue::new(name).help(help)
    });
    PossibleValuesParser::new(values)
        .map(|name| SinkName::named(&name).expect("one of the possible values"))
}

#[derive(Debug, ClapArgs)]
pub struct RunArgs {
    /// Options file (TOML): any option below, by its long name, plus the
    /// four twitter-* credentials and the [mastodon], [bluesky], [abuseipdb],
    /// [webhook], [site] and [geoip] sections. Must be mode 0600 if it holds secrets.
    /// [default: $TWEET_ATTACKS_CONFIG, else /etc/tweet-attacks.toml if it
    /// exists; every command finds it the same way]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// State file: read positions, attacker table, outbox [default: /var/lib/tweet-attacks/state.json]
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// The sshd log [default: /var/log/auth.log]
    #[arg(long, value_name = "FILE")]
    pub auth_log: Option<PathBuf>,

    /// The vsftpd log [default: /var/log/vsftpd.log]
    #[arg(long, value_name = "FILE")]
    pub vsftpd_log: Option<PathBuf>,

    /// Read sshd from the journal (journalctl) instead of a log file. Chosen
    /// by itself when the default log file does not exist.
    #[arg(long)]
    pub journal: bool,

    /// The journalctl program [default: journalctl on PATH]
    #[arg(long, value_name = "PATH")]
    pub journalctl: Option<PathBuf>,

    /// How far back the journal's first run looks, e.g. 1h [default: 1h]
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,

    /// An attacker is announced once its tries exceed this [default: 5]
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count)]
    pub threshold: Option<u64>,

    /// Where to publish (repeatable) [default: twitter]
    #[arg(long = "sink", value_name = "SINK", value_parser = sink_name())]
    pub sinks: Vec<SinkName>,

    /// Never announce this address or network (repeatable), e.g. 192.0.2.7 or
    /// 2001:db8::/32. Internal addresses (private, loopback, link-local,
    /// multicast, …) are counted but never announced.
    #[arg(long, value_name = "IP_OR_CIDR")]
    pub ignore: Vec<String>,

    /// Read, parse and decide, then print exactly the texts that would be
    /// published; publish nothing and write no state.
    #[arg(long)]
    pub dry_run: bool,

    /// Print each announced attacker as one JSON object per line.
    #[arg(long)]
    pub json: bool,

    /// Forget attackers idle for longer than this, e.g. 30d; at least 1d,
    /// the time an attacker may still be announced [default: 30d]
    #[arg(long, value_name = "DURATION")]
    pub retention: Option<String>,

    /// Count IPv6 attackers per network of this prefix length; 128 counts
    /// each address on its own [default: 64]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=128))]
    pub ipv6_prefix: Option<u8>,

    /// Most attackers kept; past it the least recently seen are forgotten,
    /// with a warning [default: 2000000]
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count)]
    pub max_attackers: Option<u64>,

    /// X API base URL [default: https://api.x.com]
    #[arg(long, value_name = "URL")]
    pub twitter_api_url: Option<String>,

    /// Posts to X in any 24 hours; more attackers are packed into fewer posts [default: 17]
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count_usize)]
    pub max_posts_per_day: Option<usize>,

    /// Posts to X in one run [default: a quarter of what the last 24 hours
    /// leave of --max-posts-per-day, rounded up (17 left gives 5), and no
    /// more than the day's pace allows (then one per 24 h / 17), so a
    /// backlog drains over the whole day]
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count_usize)]
    pub max_posts_per_run: Option<usize>,

    /// Local accounts, whose names are never published, in any letter case
    /// [default: /etc/passwd]
    #[arg(long, value_name = "FILE")]
    pub passwd: Option<PathBuf>,

    /// Publish user names even when they are local accounts (other names are
    /// published only from the built-in list of attack names).
    #[arg(long)]
    pub show_local_users: bool,

    /// For cron: when no sink is configured yet (credentials or section
    /// missing), say once what is missing and exit 0 without reading anything.
    #[arg(long)]
    pub if_configured: bool,

    /// Seconds to wait for another run's lock before giving up with status 75.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, hide = true)]
    pub lock_wait: f64,

    /// Bytes of a log read before what they hold is saved, so that its
    /// attackers leave memory (a first run over a large backlog).
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20, hide = true, env = "TWEET_ATTACKS_STAGE_BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub stage_bytes: u64,

    #[command(flatten)]
    pub geoip: GeoipArgs,
}

#[derive(Debug, ClapArgs)]
pub struct ReplayArgs {
    /// An attacker is due once its tries exceed this.
    #[arg(long, value_name = "N", default_value_t = 5, allow_negative_numbers = true, value_parser = count)]
    pub threshold: u64,

    /// Start from this state's table and outbox instead of an empty one (read only).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Print one JSON object per line.
    #[arg(long)]
    pub json: bool,

    /// Never announce this address or network (repeatable).
    #[arg(long, value_name = "IP_OR_CIDR")]
    pub ignore: Vec<String>,

    /// Local accounts, whose names are never published, in any letter case.
    #[arg(long, value_name = "FILE", default_value = "/etc/passwd")]
    pub passwd: PathBuf,

    /// Count IPv6 attackers per network of this prefix length; 128 counts
    /// each address on its own.
    #[arg(long, value_name = "N", default_value_t = crate::table::DEFAULT_IPV6_PREFIX,
          value_parser = clap::value_parser!(u8).range(0..=128))]
    pub ipv6_prefix: u8,

    #[command(flatten)]
    pub geoip: GeoipArgs,

    /// Log files to read in order; `-` or nothing reads standard input.
    #[arg(value_name = "FILE")]
    pub inputs: Vec<PathBuf>,
}

#[derive(Debug, ClapArgs)]
pub struct ParseArgs {
    /// Log files to read; `-` or nothing reads standard input.
    #[arg(value_name = "FILE")]
    pub inputs: Vec<PathBuf>,

    /// Print, instead of the JSON lines, the lines of sshd, sshd-session and
    /// vsftpd that name an address but were not understood, and, behind
    /// `ambiguous: `, those that may be a failure but do not say whose
    /// (control, bidi and zero-width characters escaped).
    #[arg(long)]
    pub missed: bool,
}

#[derive(Debug, ClapArgs)]
pub struct ShowArgs {
    /// Options file (TOML), as given to `run`: its state is read.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// State file to read [default: the options file's, else /var/lib/tweet-attacks/state.json]
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Print one JSON object per attacker.
    #[arg(long)]
    pub json: bool,

    /// Only attackers seen within this long, e.g. 1h or 7d.
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,

    /// Only attackers with at least this many tries.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count)]
    pub min_tries: Option<u64>,

    /// Every user name and full times, however wide the terminal.
    #[arg(long)]
    pub wide: bool,

    #[command(flatten)]
    pub geoip: GeoipArgs,

    /// Only this address or network (CIDR), or the tracked network holding the address.
    #[arg(value_name = "IP")]
    pub ip: Option<crate::decide::Net>,
}

#[derive(Debug, ClapArgs)]
pub struct StatusArgs {
    /// Options file (TOML), as given to `run`: its state, logs and budget are shown.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// State file to read [default: /var/lib/tweet-attacks/state.json]
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Print one JSON object instead.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, ClapArgs)]
pub struct OutboxArgs {
    #[command(subcommand)]
    pub action: Option<OutboxAction>,

    /// Options file (TOML), as given to `run`: its state is read.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// State file to read (and change) [default: the options file's, else /var/lib/tweet-attacks/state.json]
    #[arg(long, value_name = "FILE", global = true)]
    pub state: Option<PathBuf>,

    /// Print the listing as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Put parked posts back in the queue: the next run sends them again, unchanged.
    Retry {
        /// Post IDs as `tweet-attacks outbox` lists them, or `all`.
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
    /// Forget parked posts for good: never sent, and their attackers not queued again.
    Drop {
        /// Post IDs as `tweet-attacks outbox` lists them, or `all`.
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
    },
}

#[derive(Debug, ClapArgs)]
pub struct SiteArgs {
    #[command(subcommand)]
    pub action: SiteAction,

    /// Options file (TOML), as given to `run`: its [site] section and state.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// State file [default: the options file's, else /var/lib/tweet-attacks/state.json]
    #[arg(long, value_name = "FILE", global = true)]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SiteAction {
    /// Write every announced attacker's page from the table, then the index,
    /// archive, sitemap, robots.txt and feed: for the first setup, or after
    /// an upgrade changed the layout. A page whose text is unchanged keeps
    /// its lastmod; pages of attackers the table forgot stay.
    Rebuild,
    /// Take an attacker's page down (a false positive, a dispute): its page
    /// and JSON are deleted and dropped from the index, archive, sitemap and
    /// feed, IndexNow is told, and no sink ever publishes it again.
    Remove {
        /// The address or network (CIDR) as its page names it, or an address inside that network.
        #[arg(value_name = "ADDRESS")]
        address: crate::decide::Net,
        /// Why, kept in the state and shown by `status`.
        #[arg(long, value_name = "TEXT", required = true)]
        reason: String,
    },
}

#[derive(Debug, ClapArgs)]
pub struct VerifyArgs {
    /// X API base URL [default: https://api.x.com]
    #[arg(long, value_name = "URL")]
    pub twitter_api_url: Option<String>,

    /// Options file (TOML) that may hold the credentials.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Check only this sink (repeatable) [default: every configured one]
    #[arg(long = "sink", value_name = "SINK", value_parser = sink_name())]
    pub sinks: Vec<SinkName>,
}

#[derive(Debug, ClapArgs)]
pub struct ExportArgs {
    /// What to write.
    #[arg(long, value_name = "FORMAT")]
    pub format: crate::export::Format,

    /// Only attackers seen (for atom: announced) within this long, e.g. 7d.
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,

    /// Write here, atomically (temp file and rename), instead of to stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Blocklist: only attackers with at least this many tries [default:
    /// the threshold's, more than 5 tries]
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = count)]
    pub min_tries: Option<u64>,

    /// Options file (TOML), as given to `run`: its state, threshold, ignore,
    /// passwd and show-local-users apply here too.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Never list this address or network (repeatable); internal addresses
    /// (loopback, private, …) and this host's own are never listed.
    #[arg(long, value_name = "IP_OR_CIDR")]
    pub ignore: Vec<String>,

    /// Local accounts, whose names are never exported, in any letter case
    /// [default: /etc/passwd]
    #[arg(long, value_name = "FILE")]
    pub passwd: Option<PathBuf>,

    /// Export user names even when they are local accounts, as `run
    /// --show-local-users` posts them. Names shaped like passwords or keys
    /// never are.
    #[arg(long)]
    pub show_local_users: bool,

    /// Atom: the feed's author [default: tweet-attacks on HOSTNAME]
    #[arg(long, value_name = "NAME")]
    pub author: Option<String>,

    /// Atom: the URL the feed is served at (its rel="self" link).
    #[arg(long, value_name = "URL")]
    pub feed_url: Option<String>,

    #[command(flatten)]
    pub geoip: GeoipArgs,

    /// State file to read [default: the options file's, else /var/lib/tweet-attacks/state.json]
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

/// `--geoip-asn` and `--geoip-country`, on the commands that name attackers.
#[derive(Debug, Default, ClapArgs)]
pub struct GeoipArgs {
    /// MaxMind DB file that names the AS holding an address (GeoLite2-ASN,
    /// DB-IP ASN Lite, IPinfo Lite), instead of the options file's [geoip] asn
    #[arg(long, value_name = "FILE")]
    pub geoip_asn: Option<PathBuf>,

    /// MaxMind DB file that names the country of an address (GeoLite2-Country,
    /// DB-IP Country Lite, IPinfo Lite), instead of the options file's [geoip] country
    #[arg(long, value_name = "FILE")]
    pub geoip_country: Option<PathBuf>,
}

/// A count given on the command line: a whole number, 0 or more. Negative
/// numbers reach this (rather than clap's "use -- -1" tip) to be refused plainly.
fn count(s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .map_err(|_| format!("{s:?} is not a whole number of 0 or more"))
}

fn count_usize(s: &str) -> Result<usize, String> {
    count(s).and_then(|n| usize::try_from(n).map_err(|e| e.to_string()))
}
