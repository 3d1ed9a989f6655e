//! A service that quotes a secret back, JSON-escaped, percent-encoded or
//! cut short, never makes the tool show any piece of it: not on stdout or
//! stderr, not in the state, not in `status`, `outbox` or `show`. Every
//! sink, against fakes on 127.0.0.1: a failed post, a post refused for good
//! (its reason is saved), and `verify-credentials`.

use super::fake_x::{FakeX, Keys, Reply};
use super::sinks::write_options;
use super::*;

// Globally routable, so AbuseIPDB hears of it too.
const IP: &str = "45.148.10.5";

// Random-looking, so no word of a message shares six bytes with one.
const MTOKEN: &str = "Mq7Zx/K2pW9+vN8rT4";
const BPASS: &str = "Bp3Xw-9QzL/7kVt2";
const BJWT: &str = "Jw8Rt.Yq2Lx5/Hn7Kc";
const AKEY: &str = "Ak5Fh2Qm8/Zt7Wp3Ns";
const HSEG: &str = "Hs4Gt7Rk2Yp9";
const HQUERY: &str = "Hq6Lm3Vb8Xc1";
const HHEADER: &str = "Hh2Nd9Pw5Kr7/Zq";
const XKEYS: Keys = Keys {
    consumer_key: "Xc4Vb7Nm2Qw8Er5Ty",
    consumer_secret: "Xs9Lk3Jh6Gf1Dd4Sa",
    access_token: "Xt2Zx5Cv8Bn1Mm7/Pq",
    access_token_secret: "Xa6Ws3Ed9Rf4Tg8Yh",
};

/// How a service writes a secret back.
#[derive(Debug, Clone, Copy)]
enum Echo {
    /// In JSON, every other character as `\u00XX` and `/` as `\/`.
    Escaped,
    /// Cut by the service, and one cut by the tool's own length limit.
    Cut,
    /// Percent-encoded, in a plain-text body.
    Percent,
}

/// `status`'s answer quoting every one of `secrets` the way `how` says,
/// under every key a service's error may have.
fn echo(status: u16, secrets: &[&str], how: Echo) -> Reply {
    let json = |text: &str| {
        format!(
            r#"{{"error":"{text}","message":"{text}","detail":"{text}","title":"{text}","errors":[{{"detail":"{text}","message":"{text}"}}]}}"#
        )
    };
    match how {
        Echo::Escaped => {
            let escaped: Vec<String> = secrets
                .iter()
                .map(|s| {
                    s.chars()
                        .enumerate()
                        .map(|(i, c)| match (i % 2, c) {
                            (_, '/') => "\\/".to_string(),
                            (0, c) => format!("\\u{:04x}", c as u32),
                            (_, c) => c.to_string(),
                        })
                        .collect()
                })
                .collect();
            Reply::json(
                status,
                &json(&format!("invalid token {}", escaped.join(" for "))),
            )
        }
        Echo::Cut => {
            let cut: Vec<&str> = secrets.iter().map(|s| &s[..s.len() - 3]).collect();
            // The first is cut by the tool: past its 200 characters.
            let text = format!("{} {}… {}…", "y".repeat(188), secrets[0], cut.join("… "));
            Reply::json(status, &json(&text))
        }
        Echo::Percent => {
            let encoded: Vec<String> = secrets
                .iter()
                .map(|s| s.bytes().map(|b| format!("%{b:02X}")).collect())
                .collect();
            Reply::new(
                status,
                &format!("invalid token {}", encoded.join(" for hook ")),
            )
        }
    }
}

/// `text` with JSON's and percent-encoding's escapes undone, twice.
fn decoded(text: &str) -> String {
    let mut t = text.to_string();
    for _ in 0..2 {
        let mut out = String::new();
        let mut rest = t.as_str();
        while let Some(c) = rest.chars().next() {
            let hex = |s: Option<&str>| s.and_then(|h| u32::from_str_radix(h, 16).ok());
            let (ch, len) = match c {
                '\\' if rest[1..].starts_with('/') => ('/', 2),
                '\\' if rest[1..].starts_with('u') => match hex(rest.get(2..6)) {
                    Some(n) => (char::from_u32(n).unwrap_or('?'), 6),
                    None => (c, 1),
                },
                '%' => match hex(rest.get(1..3)) {
                    Some(n) => (char::from_u32(n).unwrap_or('?'), 3),
                    None => (c, 1),
                },
                c => (c, c.len_utf8()),
            };
            out.push(ch);
            rest = &rest[len..];
        }
        t = out;
    }
    t
}

/// Asserts that no piece of six or more bytes of any of `secrets` is in
/// `text`, as it is or decoded, in any letter case.
fn no_piece(what: &str, text: &str, secrets: &[&str]) {
    for shown in [text.to_lowercase(), decoded(text).to_lowercase()] {
        for secret in secrets {
            let secret = secret.to_lowercase();
            for i in 0..=secret.len() - 6 {
                let piece = &secret[i..i + 6];
                assert!(
                    !shown.contains(piece),
                    "{what}: {piece:?}, a piece of {secret}, is in:\n{text}"
                );
            }
        }
    }
}

/// One sink: its secrets, how a run and `verify-credentials` reach it,
/// and the replies that come before the one that echoes.
struct Case {
    sink: &'static str,
    secrets: Vec<&'static str>,
    /// Its options file section, the service at this URL.
    section: fn(&str) -> String,
    /// Answers before the failing post's (Bluesky's login).
    before_post: Vec<Reply>,
    /// A refusal of the post for good, which parks it.
    refused: u16,
    x: bool,
}

impl Case {
    /// `run --sink` this sink, its service at `url`.
    fn run(&self, env: &Env, url: &str) -> Out {
        let args = ["--passwd", "no-such-passwd", "--sink", self.sink];
        self.reaching(env, url, env.run_on_files(&args))
    }

    /// `verify-credentials --sink` this sink, its service at `url`.
    fn verify(&self, env: &Env, url: &str) -> Out {
        let args = ["verify-credentials", "--sink", self.sink];
        self.reaching(env, url, env.cmd(&args))
    }

    fn reaching(&self, env: &Env, url: &str, mut c: Command) -> Out {
        match self.x {
            true => {
                c.args(["--twitter-api-url", url]);
                for (var, value) in XKEYS.env() {
                    c.env(var, value);
                }
            }
            false => {
                write_options(env, "", &[(self.section)(url)]);
                c.args(["--config", "sinks.toml"]);
            }
        }
        Out(c.output().unwrap())
    }

    fn fake(&self, script: Vec<Reply>) -> FakeX {
        match self.x {
            true => FakeX::start_with(XKEYS, script),
            false => FakeX::start_plain(script),
        }
    }

    /// Everything the tool shows after a failed and a refused post and a
    /// credentials check, each answered with an echo written `how`.
    fn shown(&self, how: Echo) -> Vec<(String, String)> {
        let env = Env::new();
        env.write("auth.log", &guesses(IP, 6, 100));
        let mut shown = Vec::new();
        let keep = |shown: &mut Vec<_>, what: &str, out: &Out| {
            shown.push((format!("{what} stdout"), out.stdout()));
            shown.push((format!("{what} stderr"), out.stderr()));
        };
        // A failed login stops Bluesky before the post, and before it has
        // a session token to be echoed.
        let (mut first_try, known) = match self.sink {
            "bluesky" => (vec![], &self.secrets[..1]),
            _ => (self.before_post.clone(), &self.secrets[..]),
        };
        first_try.push(echo(401, known, how));
        let fake = self.fake(first_try);
        let failed = self.run(&env, fake.url()).fails();
        // X shows only a JSON body's reason.
        let plain = self.x && matches!(how, Echo::Percent);
        assert!(
            plain || failed.stderr().contains("<redacted>"),
            "{} {how:?}: the echo was shown, redacted: {}",
            self.sink,
            failed.stderr()
        );
        keep(&mut shown, "failed run", &failed);
        drop(fake);

        let mut refused = self.before_post.clone();
        refused.push(echo(self.refused, &self.secrets, how));
        let fake = self.fake(refused);
        keep(
            &mut shown,
            "refused run",
            &self.run(&env, fake.url()).fails(),
        );
        drop(fake);
        let state = fs::read(env.path("state.json")).unwrap();
        assert!(
            plain || String::from_utf8_lossy(&state).contains("<redacted>"),
            "{} {how:?}: the reason is saved, redacted",
            self.sink
        );
        shown.push(("state".into(), String::from_utf8_lossy(&state).into_owned()));
        for args in [
            &["status", "--state", "state.json"][..],
            &["status", "--state", "state.json", "--json"],
            &["outbox", "--state", "state.json"],
            &["outbox", "--state", "state.json", "--json"],
            &["show", "--state", "state.json"],
            &["show", "--state", "state.json", "--json"],
        ] {
            keep(
                &mut shown,
                &args.join(" "),
                &Out(env.cmd(args).output().unwrap()).ok(),
            );
        }

        if self.sink != "webhook" {
            let fake = self.fake(vec![echo(401, known, how)]);
            keep(
                &mut shown,
                "verify-credentials",
                &self.verify(&env, fake.url()).fails(),
            );
        }
        shown
    }
}

fn cases() -> Vec<Case> {
    let session = Reply::json(
        200,
        &format!(r#"{{"did":"did:plc:echo","handle":"a.b","accessJwt":"{BJWT}"}}"#),
    );
    vec![
        Case {
            sink: "twitter",
            secrets: XKEYS.all().to_vec(),
            section: |_| String::new(),
            before_post: vec![],
            refused: 400,
            x: true,
        },
        Case {
            sink: "mastodon",
            secrets: vec![MTOKEN],
            section: |url| {
                format!(
                    "[mastodon]\ninstance = \"{url}\"\ntoken = \"{MTOKEN}\"\nmax-characters = 500\n"
                )
            },
            before_post: vec![],
            refused: 422,
            x: false,
        },
        Case {
            sink: "bluesky",
            secrets: vec![BPASS, BJWT],
            section: |url| {
                format!(
                    "[bluesky]\nhandle = \"a.b\"\napp-password = \"{BPASS}\"\nservice = \"{url}\"\n"
                )
            },
            before_post: vec![session],
            refused: 400,
            x: false,
        },
        Case {
            sink: "abuseipdb",
            secrets: vec![AKEY],
            section: |url| format!("[abuseipdb]\nkey = \"{AKEY}\"\napi-url = \"{url}\"\n"),
            before_post: vec![],
            refused: 422,
            x: false,
        },
        Case {
            sink: "webhook",
            secrets: vec![HQUERY, HSEG, HHEADER],
            section: |url| {
                format!(
                    "[webhook]\nurl = \"{url}/api/hooks/{HSEG}?token={HQUERY}\"\n\
                     headers = {{ \"Authorization\" = \"Bearer {HHEADER}\" }}\n"
                )
            },
            before_post: vec![],
            refused: 400,
            x: false,
        },
    ]
}

#[test]
fn no_sink_shows_a_secret_its_service_echoes() {
    for case in cases() {
        for how in [Echo::Escaped, Echo::Cut, Echo::Percent] {
            for (what, text) in case.shown(how) {
                no_piece(
                    &format!("{} {how:?} {what}", case.sink),
                    &text,
                    &case.secrets,
                );
            }
        }
    }
}

#[test]
fn a_check_that_answers_with_the_secret_as_the_name_shows_none_of_it() {
    // Mastodon's account and X's user name, from the reply, are printed.
    let env = Env::new();
    let escaped: String = MTOKEN.replace('/', "\\/");
    let mastodon = &cases()[1];
    let fake = FakeX::start_plain(vec![Reply::json(
        200,
        &format!(r#"{{"id":"1","acct":"{escaped}"}}"#),
    )]);
    let out = mastodon.verify(&env, fake.url()).ok();
    assert_eq!(
        out.stdout(),
        format!("mastodon: @<redacted> on {}\n", fake.url())
    );

    let x = &cases()[0];
    let fake = FakeX::start_with(
        XKEYS,
        vec![Reply::json(
            200,
            &format!(
                r#"{{"data":{{"id":"1","username":"{}"}}}}"#,
                XKEYS.access_token
            ),
        )],
    );
    let out = x.verify(&env, fake.url()).ok();
    assert_eq!(out.stdout(), "@<redacted>\n");
}
