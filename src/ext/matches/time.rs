//! `-m time` (libxt_time.c / kernel `xt_time.c` `time_mt`): `--datestart/--datestop
//! YYYY[-MM[-DD[Thh[:mm[:ss]]]]]`, `--timestart/--timestop hh:mm[:ss]`, `[!] --weekdays`,
//! `[!] --monthdays`, `--contiguous`, `--kerneltz` (`--localtz`), `--utc` (the default).
//!
//! Evaluation uses the packet's capture time stamp (`cx.pkt.ts`, UTC), as the kernel uses the
//! receive time stamp, in whole seconds: inside the date range, then the time of day (a start
//! after the stop wraps over midnight; with `--contiguous` the part after midnight counts as the
//! previous day for the day tests), then weekday (1 = Monday … 7 = Sunday) and month day.
//! `--kerneltz` shifts by the kernel's time zone, unknown offline: `Unknown`. Saved as iptables
//! 1.8.9 prints it, including the default `--datestop 2038-01-19T03:14:07`.

use std::any::Any;
use std::fmt::Write;

use super::bad;
use crate::diag::Diagnostic;
use crate::ext::EvalCtx;
use crate::ext::{strtoul_prefix_base, Arg, Match, MatchResult, OptArg, OptSpec, ParseCtx};

pub(crate) const ALL_WEEKDAYS: u8 = 0xFE;
pub(crate) const ALL_MONTHDAYS: u32 = 0xFFFF_FFFE;
pub(crate) const MAX_DAYTIME: u32 = 24 * 60 * 60 - 1;
const WEEK_DAYS: [&str; 8] = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Time {
    pub(crate) date_start: u32,
    pub(crate) date_stop: u32,
    pub(crate) daytime_start: u32,
    pub(crate) daytime_stop: u32,
    pub weekdays: u8,
    pub monthdays: u32,
    pub kerneltz: bool,
    pub(crate) contiguous: bool,
    /// `--utc` was given (the default; not printed).
    pub(crate) utc: bool,
}

/// A rule whose saved form reads back as a different rule.
pub(crate) const W_SAVE_CHANGES_MEANING: &str = crate::diag::codes::SAVE_CHANGES_MEANING;

pub fn new() -> Box<dyn Match> {
    Box::new(Time {
        date_start: 0,
        date_stop: i32::MAX as u32,
        daytime_start: 0,
        daytime_stop: MAX_DAYTIME,
        weekdays: ALL_WEEKDAYS,
        monthdays: ALL_MONTHDAYS,
        kerneltz: false,
        contiguous: false,
        utc: false,
    })
}

static OPTS: &[OptSpec] = &[
    OptSpec::new("datestart", 1, Arg::One),
    OptSpec::new("datestop", 2, Arg::One),
    OptSpec::new("timestart", 3, Arg::One),
    OptSpec::new("timestop", 4, Arg::One),
    OptSpec::new("contiguous", 5, Arg::None),
    OptSpec::new("weekdays", 6, Arg::One).inv(),
    OptSpec::new("monthdays", 7, Arg::One).inv(),
    OptSpec::new("localtz", 8, Arg::None),
    OptSpec::new("utc", 9, Arg::None),
    OptSpec::new("kerneltz", 10, Arg::None),
];

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `(year, month, day)` of a day number.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// C `strtoul(s, &e, 10)`: value and the rest.
fn num10(s: &str) -> (u64, &str) {
    match strtoul_prefix_base(s, 10) {
        Some((v, n)) => (v, &s[n..]),
        None => (0, s),
    }
}

/// `time_parse_date` (mktime in UTC, normalising out-of-range days like mktime does).
pub(crate) fn parse_date(a: &OptArg<'_>) -> Result<u32, Diagnostic> {
    let err = || {
        bad(
            a.span,
            format!("invalid date `{}`", a.text),
            "a date YYYY[-MM[-DD[Thh[:mm[:ss]]]]] between 1970 and 2038",
        )
    };
    let mut f = [0u64, 1, 1, 0, 0, 0];
    let seps = ['-', '-', 'T', ':', ':', '\0'];
    let limits = [2038u64, 12, 31, 23, 59, 59];
    let mut s = a.text;
    for i in 0..6 {
        let (v, rest) = num10(s);
        let next = rest.chars().next().unwrap_or('\0');
        if (next != seps[i] && next != '\0') || v > limits[i] || (i == 0 && v < 1970) {
            return Err(err());
        }
        f[i] = v;
        if rest.is_empty() {
            break;
        }
        s = &rest[1..];
        if i == 5 {
            return Err(err());
        }
    }
    // mktime normalises month 0 and day 0 backwards.
    let (mut y, mut m) = (f[0] as i64, f[1] as i64);
    if m == 0 {
        y -= 1;
        m = 12;
    }
    let days = days_from_civil(y, m as u32, 1) + f[2] as i64 - 1;
    let secs = days * 86400 + (f[3] * 3600 + f[4] * 60 + f[5]) as i64;
    u32::try_from(secs).map_err(|_| err())
}

/// `time_parse_minutes`: `hh:mm[:ss]`.
pub(crate) fn parse_daytime(a: &OptArg<'_>) -> Result<u32, Diagnostic> {
    let err = || {
        bad(
            a.span,
            format!("invalid time `{}`", a.text),
            "a time of day hh:mm[:ss] from 00:00:00 to 23:59:59",
        )
    };
    let (h, r) = num10(a.text);
    if !r.starts_with(':') || h > 23 {
        return Err(err());
    }
    let (m, r) = num10(&r[1..]);
    if (!r.is_empty() && !r.starts_with(':')) || m > 59 {
        return Err(err());
    }
    let mut s = 0;
    if let Some(r) = r.strip_prefix(':') {
        let (v, r2) = num10(r);
        if !r2.is_empty() || v > 59 {
            return Err(err());
        }
        s = v;
    }
    Ok((h * 3600 + m * 60 + s) as u32)
}

fn segments(t: &str, keep: usize) -> Vec<String> {
    // `my_strseg` copies each segment into a small buffer: longer ones are cut.
    t.split(',')
        .filter(|_| !t.is_empty())
        .map(|s| s.chars().take(keep).collect())
        .collect()
}

impl Match for Time {
    fn name(&self) -> &'static str {
        "time"
    }
    fn options(&self) -> &'static [OptSpec] {
        OPTS
    }
    fn parse(
        &mut self,
        opt: &OptSpec,
        invert: bool,
        args: &[OptArg<'_>],
        cx: &mut ParseCtx<'_>,
    ) -> Result<(), Diagnostic> {
        match opt.id {
            1 => self.date_start = parse_date(&args[0])?,
            2 => self.date_stop = parse_date(&args[0])?,
            3 => self.daytime_start = parse_daytime(&args[0])?,
            4 => self.daytime_stop = parse_daytime(&args[0])?,
            5 => self.contiguous = true,
            6 => {
                let mut m = 0u8;
                for d in segments(args[0].text, 3) {
                    match crate::ext::strtoul0(&d) {
                        Some(0) => {
                            return Err(bad(
                                args[0].span,
                                "no, the week does not begin with Sunday (0)",
                                "weekdays 1 (Mon) to 7 (Sun) or Mon,Tue,Wed,Thu,Fri,Sat,Sun",
                            ))
                        }
                        Some(i) if i <= 7 => m |= 1 << i,
                        _ => {
                            let hit: Vec<usize> = (1..8)
                                .filter(|i| {
                                    d.len() >= 2
                                        && d.as_bytes()[..2] == WEEK_DAYS[*i].as_bytes()[..2]
                                })
                                .collect();
                            if hit.is_empty() {
                                return Err(bad(
                                    args[0].span,
                                    format!("`{d}` is not a valid day"),
                                    "weekdays 1 to 7 or Mon,Tue,Wed,Thu,Fri,Sat,Sun",
                                ));
                            }
                            for i in hit {
                                m |= 1 << i;
                            }
                        }
                    }
                }
                self.weekdays = if invert { m ^ ALL_WEEKDAYS } else { m };
            }
            7 => {
                let mut m = 0u32;
                for d in segments(args[0].text, 2) {
                    match crate::ext::strtoul_prefix(&d) {
                        Some((i, n)) if i <= 31 && n == d.len() => m |= 1 << i,
                        _ => {
                            return Err(bad(
                                args[0].span,
                                format!("`{d}` is not a valid day for --monthdays"),
                                "days of the month 1 to 31, separated by commas",
                            ))
                        }
                    }
                }
                self.monthdays = if invert { m ^ ALL_MONTHDAYS } else { m };
            }
            8 | 10 => {
                if self.utc {
                    return Err(super::conflict(
                        cx,
                        "--kerneltz and --utc cannot be used together",
                        "one of --utc or --kerneltz",
                    ));
                }
                self.kerneltz = true;
            }
            _ => {
                self.utc = true;
                if self.kerneltz {
                    return Err(super::conflict(
                        cx,
                        "--utc and --kerneltz cannot be used together",
                        "one of --utc or --kerneltz",
                    ));
                }
            }
        }
        Ok(())
    }
    fn finish(&mut self, cx: &mut ParseCtx<'_>) -> Result<(), Diagnostic> {
        // Values iptables loads but iptables-save cannot print faithfully: the saved ruleset
        // would mean something else once restored (libxt_time's save skips a zero datestop and
        // prints no day for a day set without days 1-31).
        let warn = |cx: &mut ParseCtx<'_>, msg: &str| {
            let span = cx.span;
            cx.warn(
                Diagnostic::warning(W_SAVE_CHANGES_MEANING, span, msg.to_string()).note(
                    "iptables loads this rule, but the form iptables-save prints for it reads \
                     back as a different rule",
                ),
            );
        };
        if self.monthdays & ALL_MONTHDAYS == 0 {
            warn(
                cx,
                "--monthdays without a day of 1-31 never matches; iptables-save prints it as \
                 `--monthdays ` with no day",
            );
        }
        if self.date_stop == 0 {
            warn(
                cx,
                "--datestop 1970-01-01T00:00:00 never matches; iptables-save omits it, so the \
                 saved rule matches until the default 2038-01-19T03:14:07",
            );
        }
        Ok(())
    }
    fn save(&self, out: &mut String) {
        let hms = |t: u32| format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
        if self.daytime_start != 0 || self.daytime_stop != MAX_DAYTIME {
            let _ = write!(
                out,
                " --timestart {} --timestop {}",
                hms(self.daytime_start),
                hms(self.daytime_stop)
            );
        }
        if self.monthdays != ALL_MONTHDAYS {
            out.push_str(" --monthdays ");
            let v: Vec<String> = (1..=31)
                .filter(|i| self.monthdays & (1u32 << i) != 0)
                .map(|i| i.to_string())
                .collect();
            out.push_str(&v.join(","));
        }
        if self.weekdays != ALL_WEEKDAYS {
            out.push_str(" --weekdays ");
            let v: Vec<&str> = (1..=7)
                .filter(|i| self.weekdays & (1u8 << i) != 0)
                .map(|i| WEEK_DAYS[i])
                .collect();
            out.push_str(&v.join(","));
        }
        for (name, d) in [("datestart", self.date_start), ("datestop", self.date_stop)] {
            if d == 0 {
                continue;
            }
            let (y, m, day) = civil_from_days(d as i64 / 86400);
            let s = d % 86400;
            let _ = write!(out, " --{name} {y:04}-{m:02}-{day:02}T{}", hms(s));
        }
        if self.kerneltz {
            out.push_str(" --kerneltz");
        }
        if self.contiguous {
            out.push_str(" --contiguous");
        }
    }
    fn eval(&self, cx: &mut EvalCtx<'_>) -> MatchResult {
        if self.kerneltz {
            return MatchResult::Unknown("--kerneltz depends on the kernel's time zone");
        }
        MatchResult::from_bool(self.matches_at(cx.pkt.ts.secs() as i64))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Time {
    /// `time_mt` at UTC second `stamp`.
    pub(crate) fn matches_at(&self, mut stamp: i64) -> bool {
        if stamp < self.date_start as i64 || stamp > self.date_stop as i64 {
            return false;
        }
        let t = stamp.rem_euclid(86400) as u32;
        if self.daytime_start < self.daytime_stop {
            if t < self.daytime_start || t > self.daytime_stop {
                return false;
            }
        } else {
            if t < self.daytime_start && t > self.daytime_stop {
                return false;
            }
            if self.contiguous && t <= self.daytime_stop {
                stamp -= 86400;
            }
        }
        let dse = stamp.div_euclid(86400);
        let mut wd = (4 + dse).rem_euclid(7);
        if wd == 0 {
            wd = 7;
        }
        if self.weekdays & (1 << wd) == 0 {
            return false;
        }
        if self.monthdays != ALL_MONTHDAYS {
            let (_, _, d) = civil_from_days(dse);
            if self.monthdays & (1 << d) == 0 {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(24855), (2038, 1, 19));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

    #[test]
    fn office_hours() {
        let mut t = Time {
            date_start: 0,
            date_stop: i32::MAX as u32,
            daytime_start: 8 * 3600,
            daytime_stop: 17 * 3600,
            weekdays: 0b0011_1110,
            monthdays: ALL_MONTHDAYS,
            kerneltz: false,
            contiguous: false,
            utc: false,
        };
        // 2026-11-20 is a Friday; 2026-11-21 a Saturday.
        let fri = days_from_civil(2026, 11, 20) * 86400;
        assert!(t.matches_at(fri + 9 * 3600));
        assert!(t.matches_at(fri + 17 * 3600));
        assert!(!t.matches_at(fri + 17 * 3600 + 1));
        assert!(!t.matches_at(fri + 86400 + 9 * 3600));
        // Overnight window 22:00-06:00 on Friday nights only, contiguous: Saturday 03:00 counts
        // as Friday.
        t.daytime_start = 22 * 3600;
        t.daytime_stop = 6 * 3600;
        t.weekdays = 1 << 5;
        assert!(!t.matches_at(fri + 86400 + 3 * 3600));
        t.contiguous = true;
        assert!(t.matches_at(fri + 86400 + 3 * 3600));
        assert!(t.matches_at(fri + 23 * 3600));
    }
}
