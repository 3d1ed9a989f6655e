//! The man page, tweet-attacks(1): every subcommand and its options, taken
//! from the same clap definitions as `--help`, plus the sections a man page
//! has and `--help` does not (files, environment, exit status, cron).

use std::fmt::Write as _;

use clap::CommandFactory;

use crate::cli::Args;

/// Escapes text for roff: backslashes, dashes (so they stay ASCII `-` and
/// can be searched), and a leading `.` or `'`, which would start a request.
fn roff(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    // Beyond ASCII, groff needs the character's name (`…` is `\[u2026]`).
    let s: String = s
        .chars()
        .map(|c| match c.is_ascii() {
            true => c.to_string(),
            false => format!("\\[u{:04X}]", c as u32),
        })
        .collect();
    if s.starts_with(['.', '\'']) {
        format!("\\&{s}")
    } else {
        s
    }
}

/// One paragraph per blank-line-separated block of a help text.
fn paragraphs(out: &mut String, text: &str) {
    for (i, para) in text.split("\n\n").enumerate() {
        if i > 0 {
            out.push_str(".PP\n");
        }
        let joined: Vec<&str> = para.lines().map(str::trim).collect();
        let _ = writeln!(out, "{}", roff(&joined.join(" ")));
    }
}

fn options(out: &mut String, cmd: &clap::Command) {
    for arg in cmd.get_arguments() {
        if arg.is_hide_set() || matches!(arg.get_id().as_str(), "help" | "version") {
            continue;
        }
        let value = arg
            .get_value_names()
            .map(|v| {
                v.iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|_| arg.get_action().takes_values());
        let name = match (arg.get_long(), arg.is_positional()) {
            (Some(long), _) => format!("\\fB\\-\\-{}\\fR", roff(long)),
            (None, _) => format!("\\fI{}\\fR", roff(&value.clone().unwrap_or_default())),
        };
        let value = match (arg.get_long(), value) {
            (Some(_), Some(v)) => format!(" \\fI{}\\fR", roff(&v)),
            _ => String::new(),
        };
        let _ = writeln!(out, ".TP\n{name}{value}");
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        paragraphs(out, &help);
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect();
        if !values.is_empty() && arg.get_long() != Some("shell") {
            let _ = writeln!(out, "One of: {}.", roff(&values.join(", ")));
        }
    }
}

/// One command's section, then its own subcommands' (`outbox retry`, …).
fn command(out: &mut String, parent: &str, cmd: &clap::Command) {
    let name = format!("{parent} {}", cmd.get_name());
    let _ = writeln!(out, ".SS \"{}\"", roff(&name));
    paragraphs(
        out,
        &cmd.get_long_about()
            .or(cmd.get_about())
            .map(|s| s.to_string())
            .unwrap_or_default(),
    );
    options(out, cmd);
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        command(out, &name, sub);
    }
}

const FILES: &str = r#".SH FILES
.TP
\fI/etc/tweet\-attacks.toml\fR
The options file. Every command finds it the same way: \fB\-\-config\fR
\fIFILE\fR, else \fB$TWEET_ATTACKS_CONFIG\fR, else this file if it exists; a
command that needs none works without one. It holds any \fBrun\fR option by its
long name, the four \fBtwitter\-*\fR credentials and the [mastodon],
[bluesky], [abuseipdb], [webhook], [site] and [geoip] sections. It must
be mode 0600 when it holds secrets.
.TP
\fI/var/lib/tweet\-attacks/state.json\fR
The state: each log's read position, the attacker table, the outbox, the
sinks' budgets and the conditions already said, under the lock
\fIstate.json.lock\fR. A save appends what changed and is whole or not at
all; a run that reads more than 32 MiB of a log saves after each 32 MiB;
now and then the file is compacted, rewritten through a temp file.
Do not edit it by hand: checksums refuse the edit. A state path that is a
symbolic link is refused: the lock and every save stay in the state's own
folder.
\fBdpkg \-\-purge\fR removes the folder.
.TP
\fI/var/log/auth.log\fR, \fI/var/log/secure\fR, \fI/var/log/vsftpd.log\fR
The logs read by default. A missing default log is normal (many hosts
have no vsftpd); a log named by a flag or in the options file must exist.
A log must be a regular file: a FIFO, a device or a folder is refused at
once, with a line that names it.
.TP
\fI/etc/cron.d/tweet\-attacks\fR, \fItweet\-attacks.timer\fR
Run \fBrun \-\-if\-configured\fR every 15 minutes. Only one of them runs:
the cron line does nothing while systemd runs and the timer is enabled, as
the package leaves it; without systemd, cron runs it.
"#;

const SITE: &str = r#".SH ATTACKER PAGES
The \fBsite\fR sink publishes on the admin's own web server: one static
page per announced attacker, so that someone attacked from an address who
searches for it finds the report, and IndexNow tells Bing, Yandex, Seznam,
Naver and Yep of each new or changed page within minutes. Name it with
\fB\-\-sink site\fR or \fBsink = ["site"]\fR, and configure it:
.PP
.nf
[site]
dir = "/var/www/html/attacks"         # must exist; nothing is written outside it
url = "https://example.org/attacks/"  # the public URL of dir, ending in /
contact = "mailto:abuse@example.org"  # required: shown on every page
title = "Attacks on example.org"      # optional
indexnow\-key = "\fIKEY\fR"                  # optional: 8\(en128 of a\-z A\-Z 0\-9 \-
indexnow\-url = "https://api.indexnow.org/indexnow"   # the default
.fi
.PP
\fBurl\fR and \fBcontact\fR (\fBmailto:\fR or a web address) must be
https; plain http is taken only on a loopback host. Nothing in [site] is
secret: the key is served in the site itself.
.PP
What is written, each file all at once (a temp file in \fIdir\fR, then a
rename), so a web server never serves half of one:
.TP
\fIip/ADDRESS.html\fR, \fIip/ADDRESS.json\fR
An attacker's page, at most 4 KiB, with no script and nothing from another
host, and its JSON twin with the fields of \fBrun \-\-json\fR. An IPv6
network counted as one is named \fI2001\-db8\-1\-2\-\-_64\fR (its
colons as dashes, \fB_\fR for the slash). The page shows the address or
network (and the first address seen in it), the services, the tries, first
and last seen in UTC, the user names tried under the same privacy rules as
posts, the network's owner when known, links to AbuseIPDB and ISC/DShield,
the contact for disputes, and when it was last updated.
.TP
\fIindex.html\fR, \fIarchive/N.html\fR
The newest 100 pages, and every page in the order announced, 100 to an
archive page, which keeps its place as the site grows.
.TP
\fIsitemap.xml\fR, \fIrobots.txt\fR, \fIfeed.atom\fR
The sitemap with each page's exact lastmod (an index over
\fIsitemap\-N.xml\fR past 50,000 URLs or 50 MB), a robots.txt naming it,
and an Atom feed of the 100 latest changes. Crawlers read robots.txt only
at the root of a host: when \fIdir\fR is not the root, add its
\fBSitemap:\fR line to the root's robots.txt.
.TP
\fIKEY.txt\fR
The IndexNow key file, when a key is set.
.TP
\fI.tweet\-attacks\-site.tsv\fR, \fI.tweet\-attacks\-derived\fR
The site's own record of its pages (kept when the table forgets an
attacker, so pages outlive it) and of the derived files. Written after the
pages and before the index, sitemap and feed, so that a run killed anywhere
is finished by the next. Nothing in them is secret.
.PP
A newly announced attacker gets its page; an announced one that comes back
with more tries has it written again, at most once a run, and its lastmod
moves. After a run's pages are written, every page changed since IndexNow
was last told goes out in one POST (one per 10,000 URLs). No answer or a
5xx is sent again by the next run; a 429 waits for Retry\-After, or a
backoff; a 403 (key file not found) or 422 (URL not on the host) parks it,
shown by \fBoutbox\fR and \fBstatus\fR, until \fBoutbox retry all\fR.
\fBverify\-credentials \-\-sink site\fR checks that \fIdir\fR is
writable, the URLs are well formed, the key is valid and served at
\fIURLKEY.txt\fR.
.PP
\fBsite rebuild\fR writes every page from the table (after the first
setup, or an upgrade). \fBsite remove ADDRESS \-\-reason TEXT\fR takes a
page down for a false positive or a dispute: the page and its JSON are
deleted and dropped from the index, archive, sitemap and feed, IndexNow is
told at the next run, and no sink ever publishes the address again
(\fBstatus\fR lists it).
"#;

const GEOIP: &str = r#".SH WHO HOLDS AN ADDRESS
With MaxMind DB (\fI.mmdb\fR) files, \fBrun\fR, \fBreplay\fR, \fBshow\fR
and \fBexport\fR name who holds each attacker's address: the AS number, the
AS name and the country. Name them in the options file,
.PP
.nf
[geoip]
asn = "/var/lib/tweet\-attacks/asn.mmdb"
country = "/var/lib/tweet\-attacks/country.mmdb"
.fi
.PP
or with \fB\-\-geoip\-asn\fR \fIFILE\fR and \fB\-\-geoip\-country\fR
\fIFILE\fR, which win over the file (\fBreplay\fR reads no options file:
flags only). Either may be left out. The layouts of GeoLite2\-ASN and
GeoLite2\-Country, DB\-IP's ASN Lite and Country Lite, and IPinfo Lite
(AS and country in one file, given as either) are read. A network counted
as one attacker is looked up by the first address seen in it.
.PP
A post names the owner when known, within every sink's limit, the AS name
cut first (\fISSH brute force from 203.0.113.45 (AS64500 Example Net, NL):
12 tries\fR and so on). \fB\-\-json\fR lines, webhook payloads, \fBshow\fR (an OWNER
column, and \fB\-\-json\fR) and \fBexport \-\-format csv|json\fR add the
fields \fBasn\fR, \fBas_org\fR and \fBcountry\fR, each only when known.
The owner is fixed when an attacker is announced: a retried post keeps its text.
.PP
A database that is missing, unreadable or not a MaxMind DB file is an error
that names it (status 1). One built more than 90 days ago is said once on
standard error by \fBrun\fR (remembered in the state until it is
refreshed), by \fBshow\fR and \fBexport\fR unless a run has said it, and
by every \fBreplay\fR: stale data misattributes. Refresh monthly from cron.
"#;

const ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
\fBTWITTER_CONSUMER_KEY\fR, \fBTWITTER_CONSUMER_SECRET\fR, \fBTWITTER_ACCESS_TOKEN\fR, \fBTWITTER_ACCESS_TOKEN_SECRET\fR
The X credentials; they win over the options file. Secrets never go on
the command line.
.TP
\fBMASTODON_TOKEN\fR, \fBBLUESKY_APP_PASSWORD\fR, \fBABUSEIPDB_KEY\fR, \fBWEBHOOK_URL\fR
The other sinks' secrets, instead of \fBtoken\fR in [mastodon],
\fBapp\-password\fR in [bluesky], \fBkey\fR in [abuseipdb] and \fBurl\fR in
[webhook]; they win over the options file.
.TP
\fBTWEET_ATTACKS_CONFIG\fR
The options file, when \fB\-\-config\fR is not given (see FILES).
.TP
\fBTZ\fR
The time zone of classic syslog time stamps.
"#;

const EXIT_STATUS: &str = r#".SH EXIT STATUS
.TP
\fB0\fR
Success, including \fBrun \-\-if\-configured\fR while nothing is configured.
.TP
\fB1\fR
Any error, said in one line on standard error that names the file or sink
at fault.
.TP
\fB2\fR
A usage error: an unknown option, or a value that means nothing or would
erase history (a duration that is not one, a \fB\-\-retention\fR shorter
than a day, \fB\-\-max\-attackers 0\fR), given by a flag or in the
options file, on any subcommand. Nothing is read or written.
.TP
\fB75\fR
Another run holds the state's lock (EX_TEMPFAIL); the next tick tries again.
"#;

const EXAMPLES: &str = r#".SH EXAMPLES
.nf
tweet\-attacks replay /var/log/auth.log.2.gz /var/log/auth.log.1 /var/log/auth.log
tweet\-attacks run \-\-config /etc/tweet\-attacks.toml \-\-dry\-run
tweet\-attacks status
tweet\-attacks show \-\-since 1h \-\-min\-tries 20
tweet\-attacks show \-\-wide 2001:db8:1:2::77
tweet\-attacks export \-\-format blocklist \-\-out /etc/nftables.d/attackers.txt
tweet\-attacks show \-\-geoip\-asn asn.mmdb \-\-geoip\-country country.mmdb
tweet\-attacks site remove 198.51.100.7 \-\-reason "our own scanner"
tweet\-attacks man | man \-l \-
.fi
"#;

/// The whole page, in roff (man(7)).
pub fn page() -> String {
    let mut cmd = Args::command();
    cmd.build();
    let version = cmd.get_version().unwrap_or("").to_string();
    let mut out = String::new();
    let _ = writeln!(
        out,
        ".TH TWEET\\-ATTACKS 1 \"\" \"tweet\\-attacks {}\" \"User Commands\"",
        roff(&version)
    );
    out.push_str(".SH NAME\ntweet\\-attacks \\- announce SSH and FTP brute\\-force attackers found in the sshd and vsftpd logs\n");
    out.push_str(".SH SYNOPSIS\n");
    let subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .collect();
    for sub in &subs {
        let _ = writeln!(
            out,
            ".B tweet\\-attacks {}\n.RI [ options ]\n.br",
            roff(sub.get_name())
        );
    }
    out.push_str(".SH DESCRIPTION\n");
    paragraphs(
        &mut out,
        &cmd.get_long_about()
            .or(cmd.get_about())
            .map(|s| s.to_string())
            .unwrap_or_default(),
    );
    out.push_str(
        ".PP\nMade for cron: each \\fBrun\\fR reads the logs from where the last one stopped, \
         counts the guesses per address, and announces each attacker once, when its tries \
         exceed the threshold and its last try is less than a day old, on X, Mastodon, \
         Bluesky, AbuseIPDB, a webhook, or the admin's own web pages (see ATTACKER PAGES). Announcements wait in an outbox in the state until \
         each sink has taken them. A healthy run writes nothing on standard error.\n",
    );
    out.push_str(".SH COMMANDS\n");
    for sub in &subs {
        command(&mut out, "tweet-attacks", sub);
    }
    out.push_str(SITE);
    out.push_str(FILES);
    out.push_str(GEOIP);
    out.push_str(ENVIRONMENT);
    out.push_str(EXIT_STATUS);
    out.push_str(EXAMPLES);
    out.push_str(".SH SEE ALSO\n.BR cron (8),\n.BR systemd.timer (5),\n.BR logrotate (8),\n.BR sshd (8),\n.BR vsftpd (8)\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subcommand_and_visible_option_is_in_the_page() {
        let page = page();
        let mut cmd = Args::command();
        cmd.build();
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let name = roff(sub.get_name());
            assert!(
                page.contains(&format!(".SS \"tweet\\-attacks {name}\"")),
                "{name}"
            );
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(long) = arg.get_long().filter(|l| *l != "help") {
                    assert!(page.contains(&format!("\\-\\-{}", roff(long))), "--{long}");
                }
            }
        }
        assert!(!page.contains("\\-\\-lock\\-wait") && !page.contains("\\-\\-now"));
        for section in [
            "NAME",
            "SYNOPSIS",
            "FILES",
            "WHO HOLDS AN ADDRESS",
            "EXIT STATUS",
            "SEE ALSO",
        ] {
            assert!(page.contains(&format!(".SH {section}")), "{section}");
        }
    }

    #[test]
    fn show_says_what_it_takes_and_how_to_see_everything() {
        let page = page();
        let show = &page[page.find(".SS \"tweet\\-attacks show\"").unwrap()..];
        let show = &show[..show.find(".SS \"tweet\\-attacks status\"").unwrap()];
        for words in [
            "CIDR",
            "tracked network",
            "\\-\\-wide or \\-\\-json print everything",
            "+N",
            "80 columns",
        ] {
            assert!(show.contains(words), "{words}");
        }
        assert!(page.contains("tweet\\-attacks show \\-\\-wide 2001:db8:1:2::77\n"));
    }

    #[test]
    fn roff_escapes_requests_and_backslashes() {
        assert_eq!(roff(".x"), "\\&.x");
        assert_eq!(roff("a\\b-c"), "a\\eb\\-c");
        assert_eq!(roff("ID…"), "ID\\[u2026]");
    }
}
