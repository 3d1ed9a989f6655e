//! Time: the run's pinned "now", syslog timestamp decoding, RFC 3339 output,
//! and spans said for humans (`span`, the one rounding rule of every view).
//!
//! Log timestamps are decoded by hand on the hot path (a few integer ops per
//! line); only the local-time conversion of year-less syslog stamps goes
//! through `jiff`, once per distinct minute.

use anyhow::{Context, Result, bail};
use jiff::tz::TimeZone;

use crate::parse::Stamp;

/// Unix seconds.
pub type Secs = i64;

/// Parses an RFC 3339 / ISO 8601 timestamp ("2026-11-26T10:15:01Z",
/// "2026-11-26T10:15:01.123+01:00") into Unix seconds.
pub fn parse_rfc3339(s: &str) -> Result<Secs> {
    rfc3339_secs(s.as_bytes()).with_context(|| format!("not an RFC 3339 time: {s:?}"))
}

/// Formats Unix seconds as RFC 3339 in UTC, e.g. `2026-11-26T10:15:01Z`.
pub fn format_rfc3339(t: Secs) -> String {
    let days = t.div_euclid(86_400);
    let sod = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// Parses a duration such as `30d`, `12h`, `15m`, `90s` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Secs> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: i64 = num
        .parse()
        .with_context(|| format!("not a duration: {s:?} (try 30d, 12h, 15m)"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => bail!("not a duration: {s:?} (units: s, m, h, d, w)"),
    };
    n.checked_mul(mult)
        .with_context(|| format!("duration too large: {s:?}"))
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() {
        return None;
    }
    let mut n = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as u32;
    }
    Some(n)
}

/// Decodes `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; fractions are dropped.
pub fn rfc3339_secs(b: &[u8]) -> Option<Secs> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let y = digits(&b[0..4])? as i64;
    let mo = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    let h = digits(&b[11..13])? as i64;
    let mi = digits(&b[14..16])? as i64;
    let s = digits(&b[17..19])? as i64;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        rest = &rest[1 + n..];
    }
    // The offset may follow a space (`10:15:01 -0700`) and lack its colon.
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let secs = digits(&[*h1, *h2])? as i64 * 3600 + digits(&[*m1, *m2])? as i64 * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset)
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.frac]` without an offset: (date, hour, minute, second).
fn iso_without_offset(b: &[u8]) -> Option<(i16, i8, i8, i8, i8, i64)> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let rest = &b[19..];
    if !(rest.is_empty() || rest[0] == b'.' && rest[1..].iter().all(u8::is_ascii_digit)) {
        return None;
    }
    let s = digits(&b[17..19])? as i64;
    if s > 60 {
        return None;
    }
    Some((
        digits(&b[0..4])? as i16,
        digits(&b[5..7])? as i8,
        digits(&b[8..10])? as i8,
        digits(&b[11..13])? as i8,
        digits(&b[14..16])? as i8,
        s,
    ))
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn month(b: &[u8]) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| &m[..] == b)
        .map(|i| i as u32 + 1)
}

/// Decodes local-time stamps (classic syslog `Nov 26 10:15:01`, which has no
/// year, and vsftpd's `Thu Nov 26 10:15:01 2026`) against the run's `now`.
///
/// The local-time conversion is cached per minute because a log has long
/// runs of lines within the same minute.
pub struct LocalClock {
    tz: TimeZone,
    now: Secs,
    now_year: i16,
    cache_key: [u8; 16],
    cache_val: Option<Secs>,
}

impl LocalClock {
    pub fn new(now: Secs) -> Self {
        // TZ from the environment or /etc/localtime, as syslog used when it wrote the line.
        let tz = TimeZone::try_system().unwrap_or(TimeZone::UTC);
        let now_year = jiff::Timestamp::from_second(now)
            .map(|ts| tz.to_datetime(ts).year())
            .unwrap_or(1970);
        LocalClock {
            tz,
            now,
            now_year,
            cache_key: [0; 16],
            cache_val: None,
        }
    }

    fn local_minute(&self, y: i16, mo: i8, d: i8, h: i8, mi: i8) -> Option<Secs> {
        let dt = jiff::civil::DateTime::new(y, mo, d, h, mi, 0, 0).ok()?;
        let ts = self.tz.to_ambiguous_timestamp(dt).compatible().ok()?;
        Some(ts.as_second())
    }

    /// `Nov 26 10:15:01` (day may be space-padded). The year is the latest
    /// one that does not put the stamp after `now`.
    pub fn syslog(&mut self, b: &[u8]) -> Option<Secs> {
        let padded = pad_day::<15>(b, 4);
        let b = padded.as_ref().map_or(b, |p| &p[..]);
        if b.len() != 15 || b[3] != b' ' || b[6] != b' ' || b[9] != b':' || b[12] != b':' {
            return None;
        }
        let sec = digits(&b[13..15])? as i64;
        if sec > 60 {
            return None;
        }
        let minute_start = if b[..12] == self.cache_key[..12] && self.cache_key[15] == 1 {
            self.cache_val?
        } else {
            let mo = month(&b[0..3])?;
            let day_digits = if b[4] == b' ' { &b[5..6] } else { &b[4..6] };
            let d = digits(day_digits)?;
            let h = digits(&b[7..9])?;
            let mi = digits(&b[10..12])?;
            if h > 23 || mi > 59 {
                return None;
            }
            let mut found = None;
            // Feb 29 may need to go back up to four years to find a leap year.
            for back in 0..=4 {
                let y = self.now_year - back;
                if let Some(t) = self.local_minute(y, mo as i8, d as i8, h as i8, mi as i8)
                    && t <= self.now
                {
                    found = Some(t);
                    break;
                }
            }
            self.cache_key[..12].copy_from_slice(&b[..12]);
            self.cache_key[15] = 1;
            self.cache_val = found;
            found?
        };
        let t = minute_start + sec;
        // The stamp is in the current minute but a few seconds ahead of now: clamp.
        Some(t.min(self.now))
    }

    /// The time of a parsed line; `None` when its stamp does not decode.
    pub fn decode(&mut self, stamp: &Stamp) -> Option<Secs> {
        match *stamp {
            Stamp::Syslog(b) => self.syslog(b),
            Stamp::Rfc3339(b) => rfc3339_secs(b).or_else(|| {
                // No offset: local time, as syslog wrote it.
                let (y, mo, d, h, mi, s) = iso_without_offset(b)?;
                Some(self.local_minute(y, mo, d, h, mi)? + s)
            }),
            Stamp::Vsftpd(b) => self.vsftpd(b),
        }
    }

    /// vsftpd's own `Thu Nov 26 10:15:01 2026` (day may be space-padded).
    pub fn vsftpd(&self, b: &[u8]) -> Option<Secs> {
        let padded = pad_day::<24>(b, 8);
        let b = padded.as_ref().map_or(b, |p| &p[..]);
        if b.len() != 24 || b[3] != b' ' || b[7] != b' ' || b[10] != b' ' || b[19] != b' ' {
            return None;
        }
        let mo = month(&b[4..7])?;
        let day_digits = if b[8] == b' ' { &b[9..10] } else { &b[8..10] };
        let d = digits(day_digits)?;
        let h = digits(&b[11..13])?;
        let mi = digits(&b[14..16])?;
        let s = digits(&b[17..19])? as i64;
        let y = digits(&b[20..24])?;
        if b[13] != b':' || b[16] != b':' || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let t = self.local_minute(y as i16, mo as i8, d as i8, h as i8, mi as i8)?;
        Some(t + s)
    }
}

/// A stamp whose day has one space before it where the fixed layout has
/// two (`Nov 2 15:40:14`, as busybox and others write it), padded to the
/// layout's width `N`; `day` is where the day's two places start. `None`
/// when `b` is not such a stamp.
fn pad_day<const N: usize>(b: &[u8], day: usize) -> Option<[u8; N]> {
    (b.len() == N - 1 && b[day + 1] == b' ').then(|| {
        let mut p = [b' '; N];
        p[..day].copy_from_slice(&b[..day]);
        p[day + 1..].copy_from_slice(&b[day..]);
        p
    })
}

/// A span as people say it, "59 s", "116 min", "3 h", "4 days": the one
/// way every post, feed and screen says how long something took.
///
/// The rule: seconds under 2 minutes, exactly; else the nearest whole
/// minute (halves up) while that is under 120; else the nearest whole hour
/// while that is under 48; else the nearest whole day. So a span is never
/// more than half its unit off (2 h 44 min is "3 h", not "2 h"), a unit is
/// always said at least twice ("2 h", never "1 h" or "0 min"), and a longer
/// span never reads shorter. A negative span (a clock set back) is 0 s.
pub fn span(secs: Secs) -> String {
    let nearest = |unit: Secs| secs.saturating_add(unit / 2) / unit;
    match secs.max(0) {
        s if s < 120 => format!("{s} s"),
        _ if nearest(60) < 120 => format!("{} min", nearest(60)),
        _ if nearest(3600) < 48 => format!("{} h", nearest(3600)),
        _ => format!("{} days", nearest(86_400)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let t = parse_rfc3339("2026-11-26T10:15:01.123456+00:00").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-26T10:15:01Z");
        let t2 = parse_rfc3339("2026-11-26T11:15:01+01:00").unwrap();
        assert_eq!(t, t2);
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z").unwrap(),
            1_709_164_800
        );
        assert!(parse_rfc3339("2026-13-01T00:00:00Z").is_err());
        assert!(parse_rfc3339("yesterday").is_err());
    }

    #[test]
    fn spans_round_to_the_nearest_unit() {
        let said = [
            (-5, "0 s"),
            (0, "0 s"),
            (59, "59 s"),
            (119, "119 s"),
            (120, "2 min"),
            (149, "2 min"),
            (150, "3 min"),
            (3600, "60 min"),
            (116 * 60, "116 min"),
            (119 * 60 + 29, "119 min"),
            (119 * 60 + 30, "2 h"),
            (2 * 3600 + 44 * 60, "3 h"),
            (5 * 3600, "5 h"),
            (47 * 3600 + 29 * 60, "47 h"),
            (47 * 3600 + 30 * 60, "2 days"),
            (3 * 86_400, "3 days"),
            (5 * 86_400 + 18 * 3600 + 50 * 60, "6 days"),
        ];
        for (secs, words) in said {
            assert_eq!(span(secs), words, "{secs} s");
        }
    }

    /// `span`'s words read back as seconds: the number times its unit.
    fn said_secs(words: &str) -> Secs {
        let (n, unit) = words.split_once(' ').unwrap();
        let unit = match unit {
            "s" => 1,
            "min" => 60,
            "h" => 3600,
            "days" => 86_400,
            other => panic!("unit {other}"),
        };
        n.parse::<Secs>().unwrap() * unit
    }

    /// The words of `s` checked: none is off by more than half its unit,
    /// and a unit is said at least twice (never "0 min", never "1 h").
    fn near(s: Secs) -> Result<(), String> {
        let words = span(s);
        let said = said_secs(&words);
        let unit = said_secs(&format!("1 {}", words.split_once(' ').unwrap().1));
        match (said - s).abs() * 2 <= unit && (s < 2 || said >= 2 * unit) {
            true => Ok(()),
            false => Err(format!("{s} s said {words}")),
        }
    }

    /// Every second of the first four days, where the units change: a
    /// longer span never reads shorter.
    #[test]
    fn spans_are_monotone_where_units_change() {
        let mut before = 0;
        for s in 0..=4 * 86_400 {
            let said = said_secs(&span(s));
            assert!(said >= before, "{s} s said {}", span(s));
            near(s).unwrap();
            before = said;
        }
    }

    proptest::proptest! {
        /// And over years: a longer span never reads shorter, and each is near.
        #[test]
        fn spans_are_monotone_and_near(s in 0i64..40 * 365 * 86_400, d in 0i64..200_000) {
            proptest::prop_assert!(said_secs(&span(s)) <= said_secs(&span(s + d)));
            near(s).map_err(proptest::test_runner::TestCaseError::fail)?;
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d").unwrap(), 30 * 86_400);
        assert_eq!(parse_duration("90").unwrap(), 90);
        assert_eq!(parse_duration("15m").unwrap(), 900);
        assert!(parse_duration("3 fortnights").is_err());
    }

    fn utc_clock(now: &str) -> LocalClock {
        let mut c = LocalClock::new(parse_rfc3339(now).unwrap());
        c.tz = TimeZone::UTC;
        c.now_year = now[..4].parse().unwrap();
        c
    }

    #[test]
    fn syslog_year_is_never_in_the_future() {
        let mut c = utc_clock("2026-11-26T12:00:00Z");
        let t = c.syslog(b"Nov 26 10:15:01").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-26T10:15:01Z");
        // December is later than now, so it must be last December.
        let t = c.syslog(b"Dec 31 23:59:59").unwrap();
        assert_eq!(format_rfc3339(t), "2025-12-31T23:59:59Z");
        let t = c.syslog(b"Nov  2 01:02:03").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-02T01:02:03Z");
        // Feb 29 goes back to the last leap year.
        let t = c.syslog(b"Feb 29 00:00:00").unwrap();
        assert_eq!(format_rfc3339(t), "2024-02-29T00:00:00Z");
        assert_eq!(c.syslog(b"Foo 26 10:15:01"), None);
        assert_eq!(c.syslog(b"Nov 26 25:15:01"), None);
    }

    #[test]
    fn vsftpd_stamp() {
        let c = utc_clock("2026-11-26T12:00:00Z");
        let t = c.vsftpd(b"Thu Nov 26 10:15:01 2026").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-26T10:15:01Z");
        assert_eq!(c.vsftpd(b"Thu Nov 26 10:15:01 20x6"), None);
        let t = c.vsftpd(b"Thu Nov 2 10:15:01 2026").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-02T10:15:01Z");
    }

    #[test]
    fn other_stamp_shapes() {
        let mut c = utc_clock("2026-11-26T12:00:00Z");
        let t = c.syslog(b"Nov 2 01:02:03").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-02T01:02:03Z");
        assert_eq!(c.syslog(b"Nov 2 01:02:0x"), None);
        for (stamp, want) in [
            ("2026-11-26 10:15:01-0700", "2026-11-26T17:15:01Z"),
            ("2026-11-26 10:15:01 -0700", "2026-11-26T17:15:01Z"),
            ("2026-11-26T10:15:01.5+0130", "2026-11-26T08:45:01Z"),
            ("2026-11-26 10:15:01 +01:00", "2026-11-26T09:15:01Z"),
            ("2026-11-26 10:15:01", "2026-11-26T10:15:01Z"),
            ("2026-11-26T10:15:01.123", "2026-11-26T10:15:01Z"),
        ] {
            let t = c.decode(&Stamp::Rfc3339(stamp.as_bytes()));
            assert_eq!(t.map(format_rfc3339).as_deref(), Some(want), "{stamp}");
        }
        for bad in ["2026-11-26 10:15:01 -07", "2026-11-26 10:15:01x", "-"] {
            assert_eq!(c.decode(&Stamp::Rfc3339(bad.as_bytes())), None, "{bad}");
        }
    }
}
