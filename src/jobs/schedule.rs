//! When a periodic job's slots fall: a cron expression read in an IANA time
//! zone (UTC unless one is named), and what becomes of slots missed.
//!
//! A slot is a wall-clock time of the schedule's zone that the cron
//! expression matches, taken as an instant:
//! - a time the clocks skip (spring forward: 02:30 on the last Sunday of
//!   March in Paris) is the first instant after the gap (03:00 CEST, 01:00
//!   UTC). Every skipped time, and a time that matches just after the gap,
//!   make one slot: it runs once;
//! - a time the clocks pass twice (autumn: 02:30 on the last Sunday of
//!   October in Paris) is its first occurrence (02:30 CEST, 00:30 UTC); the
//!   second (02:30 CET) is no slot: it runs once.
//!
//! croner 2.2 handles the gap the same way, but not the fold: asked for the
//! next occurrence from inside the repeated hour, it answers the first
//! occurrence, an instant already past (see the test
//! `croner_alone_goes_back_in_the_repeated_hour`). So croner only reads the
//! expression on naive wall-clock times here; this module turns them into
//! instants.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// The longest grace of [`Missed::Skip`].
pub(crate) const MAX_GRACE: Duration = Duration::from_secs(86_400);

/// What becomes of a slot whose time passed while no worker ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Missed {
    /// Each pass enqueues the next slot ahead, as a scheduled job. A slot
    /// that passed while no worker ran still has its job: it runs once,
    /// late, as soon as a worker is back, and stands for every slot missed
    /// meanwhile (their jobs were never enqueued). Slots before the first
    /// pass ever (a new schedule, a new database) are not run. The default,
    /// and what every schedule did before policies existed.
    #[default]
    RunOnceLate,
    /// A slot runs only if a pass reads the database clock between the slot
    /// and the slot plus `grace` (both included): that pass enqueues it, due
    /// at once. With no pass in that window (no worker ran, or no drain was
    /// started), the slot is not run. A worker serving the queues passes
    /// within a second of each slot; with drains started by cron, the grace
    /// must be longer than the time between drains. The retention of
    /// finished jobs must be longer than the grace (7 days by default
    /// against at most a day), or a slot pruned within its window would run
    /// again.
    Skip { grace: Duration },
}

impl fmt::Display for Missed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missed::RunOnceLate => f.write_str("run once late if missed"),
            Missed::Skip { grace } => write!(f, "skipped if missed by more than {} s", grace.as_secs()),
        }
    }
}

/// When a periodic job runs: a cron expression (5 fields, or 6 with seconds
/// first), read in a time zone (UTC by default), and what happens to missed
/// slots (run once late by default). A `&str` is a schedule in UTC.
///
/// ```
/// use comptoir::jobs::{Missed, Schedule};
/// let at_eight_in_paris = Schedule::cron("0 8 * * *").zone(chrono_tz::Europe::Paris);
/// let every_quarter_hour = Schedule::cron("*/15 * * * *").missed(Missed::Skip {
///     grace: std::time::Duration::from_secs(300),
/// });
/// assert_eq!(at_eight_in_paris.to_string(), "0 8 * * * (Europe/Paris, run once late if missed)");
/// assert_eq!(every_quarter_hour.to_string(), "*/15 * * * * (UTC, skipped if missed by more than 300 s)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    expr: String,
    zone: Tz,
    missed: Missed,
}

impl Schedule {
    /// The expression is checked when the schedule is registered
    /// ([`Registry::periodic`](super::Registry::periodic)).
    pub fn cron(expr: &str) -> Self {
        Schedule {
            expr: expr.trim().to_string(),
            zone: Tz::UTC,
            missed: Missed::default(),
        }
    }

    /// Reads the expression in `zone` (an IANA zone, e.g. `Europe/Paris`).
    pub fn zone(mut self, zone: Tz) -> Self {
        self.zone = zone;
        self
    }

    pub fn missed(mut self, missed: Missed) -> Self {
        self.missed = missed;
        self
    }

    pub fn expression(&self) -> &str {
        &self.expr
    }

    pub fn time_zone(&self) -> Tz {
        self.zone
    }

    pub fn missed_policy(&self) -> Missed {
        self.missed
    }

    /// The slots of a valid schedule; else what is wrong with it.
    pub(crate) fn slots(&self) -> Result<Slots, String> {
        let cron = Cron::new(&self.expr)
            .with_seconds_optional()
            .parse()
            .map_err(|e| format!("cron expression {:?}: {e}", self.expr))?;
        if let Missed::Skip { grace } = self.missed {
            if grace < Duration::from_secs(1) || grace > MAX_GRACE {
                return Err(format!(
                    "the grace of a skipped slot must be between 1 s and 1 day, not {grace:?}"
                ));
            }
        }
        Ok(Slots { cron, zone: self.zone })
    }
}

impl From<&str> for Schedule {
    fn from(expr: &str) -> Self {
        Schedule::cron(expr)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {})", self.expr, self.zone.name(), self.missed)
    }
}

/// A parsed cron expression in its zone.
pub(crate) struct Slots {
    cron: Cron,
    zone: Tz,
}

impl Slots {
    /// The first slot strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let t = t.with_nanosecond(0)?;
        let mut naive = t.with_timezone(&self.zone).naive_local();
        // A wall-clock time after `t`'s may still be an instant before `t`
        // when `t` is in the second pass of a repeated hour: go on past them
        // (at most one per matching time of that hour).
        for _ in 0..10_000 {
            let next = self
                .cron
                .find_next_occurrence(&naive.and_utc(), false)
                .ok()?
                .naive_utc();
            let slot = instant(self.zone, next)?;
            if slot > t {
                return Some(slot);
            }
            naive = next;
        }
        None
    }
}

/// A wall-clock time of `zone` as an instant: the first occurrence of a
/// repeated time, the first instant after the gap for a skipped one.
fn instant(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        LocalResult::None => after_gap(zone, local),
    }
}

/// The first instant after the gap that holds `local`: the earliest
/// wall-clock time after it that exists (found within two days, to the
/// second), as an instant.
fn after_gap(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let exists = |s: i64| {
        !matches!(
            zone.from_local_datetime(&(local + TimeDelta::seconds(s))),
            LocalResult::None
        )
    };
    let (mut before, mut after) = (0_i64, (1..=48).map(|h| h * 3_600).find(|s| exists(*s))?);
    while after - before > 1 {
        let mid = before + (after - before) / 2;
        if exists(mid) {
            after = mid;
        } else {
            before = mid;
        }
    }
    match zone.from_local_datetime(&(local + TimeDelta::seconds(after))) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SecondsFormat;
    use chrono_tz::Europe::Paris;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn schedule(expr: &str, zone: Tz) -> Slots {
        Schedule::cron(expr).zone(zone).slots().unwrap()
    }

    /// The slots after `from`, in UTC, until `count` of them.
    fn slots(p: &Slots, from: &str, count: usize) -> Vec<String> {
        let mut t = utc(from);
        (0..count)
            .map(|_| {
                t = p.next_after(t).unwrap();
                t.to_rfc3339_opts(SecondsFormat::Secs, true)
            })
            .collect()
    }

    #[test]
    fn a_paris_day_at_eight_winter_and_summer() {
        let p = schedule("0 8 * * *", Paris);
        assert_eq!(
            slots(&p, "2026-01-14T12:00:00Z", 2),
            ["2026-01-15T07:00:00Z", "2026-01-16T07:00:00Z"]
        );
        assert_eq!(
            slots(&p, "2026-07-14T12:00:00Z", 2),
            ["2026-07-15T06:00:00Z", "2026-07-16T06:00:00Z"]
        );
        // A fraction of a second before the slot still finds it; the slot itself does not.
        assert_eq!(
            p.next_after(utc("2026-07-15T05:59:59.999Z")),
            Some(utc("2026-07-15T06:00:00Z"))
        );
        assert_eq!(
            p.next_after(utc("2026-07-15T06:00:00.5Z")),
            Some(utc("2026-07-16T06:00:00Z"))
        );
    }

    #[test]
    fn a_paris_month_across_both_changes() {
        // The 1st at 02:00 local: 01:00 UTC in winter, 00:00 UTC in summer.
        let p = schedule("0 2 1 * *", Paris);
        assert_eq!(
            slots(&p, "2026-01-15T00:00:00Z", 11),
            [
                "2026-02-01T01:00:00Z",
                "2026-03-01T01:00:00Z",
                "2026-04-01T00:00:00Z",
                "2026-05-01T00:00:00Z",
                "2026-06-01T00:00:00Z",
                "2026-07-01T00:00:00Z",
                "2026-08-01T00:00:00Z",
                "2026-09-01T00:00:00Z",
                "2026-10-01T00:00:00Z",
                "2026-11-01T01:00:00Z",
                "2026-12-01T01:00:00Z",
            ]
        );
        // Days 28 to 31 at 23:00 in Paris: February 2026 stops at the 28th.
        let p = schedule("0 23 28-31 * *", Paris);
        let feb = slots(&p, "2026-02-27T00:00:00Z", 2);
        assert_eq!(feb, ["2026-02-28T22:00:00Z", "2026-03-28T22:00:00Z"]);
    }

    #[test]
    fn spring_forward_runs_the_skipped_slot_once_after_the_gap() {
        // 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC); 02:30 does not exist.
        let p = schedule("30 2 * * *", Paris);
        assert_eq!(
            slots(&p, "2026-03-27T12:00:00Z", 4),
            [
                "2026-03-28T01:30:00Z", // 02:30 CET
                "2026-03-29T01:00:00Z", // 03:00 CEST, the first instant after the gap
                "2026-03-30T00:30:00Z", // 02:30 CEST
                "2026-03-31T00:30:00Z",
            ]
        );
        // From inside the day, every instant before the slot finds it, the slot itself does not.
        assert_eq!(
            p.next_after(utc("2026-03-29T00:59:59Z")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            p.next_after(utc("2026-03-29T01:00:00Z")),
            Some(utc("2026-03-30T00:30:00Z"))
        );
        // Every quarter hour: 02:00, 02:15, 02:30 and 02:45 fall in the gap and are
        // one slot with 03:00.
        let p = schedule("*/15 * * * *", Paris);
        assert_eq!(
            slots(&p, "2026-03-29T00:30:00Z", 4),
            [
                "2026-03-29T00:45:00Z", // 01:45 CET
                "2026-03-29T01:00:00Z", // 03:00 CEST
                "2026-03-29T01:15:00Z",
                "2026-03-29T01:30:00Z",
            ]
        );
    }

    #[test]
    fn fall_back_runs_the_doubled_slot_once_the_first_time() {
        // 25 October 2026: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:30 happens twice.
        let p = schedule("30 2 * * *", Paris);
        assert_eq!(
            slots(&p, "2026-10-23T12:00:00Z", 3),
            [
                "2026-10-24T00:30:00Z", // 02:30 CEST
                "2026-10-25T00:30:00Z", // 02:30 CEST, the first of the two
                "2026-10-26T01:30:00Z", // 02:30 CET
            ]
        );
        // From the second pass of the repeated hour (02:10 and 02:30 CET), the next
        // slot is the next day's, not the first pass's 02:30 again.
        for t in ["2026-10-25T01:10:00Z", "2026-10-25T01:30:00Z", "2026-10-25T00:30:00Z"] {
            assert_eq!(p.next_after(utc(t)), Some(utc("2026-10-26T01:30:00Z")), "after {t}");
        }
        // Every quarter hour: the repeated hour runs once (its first pass), and 03:00 CET follows.
        let p = schedule("*/15 * * * *", Paris);
        assert_eq!(
            slots(&p, "2026-10-25T00:30:00Z", 3),
            ["2026-10-25T00:45:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:15:00Z"]
        );
        assert_eq!(
            p.next_after(utc("2026-10-25T01:20:00Z")),
            Some(utc("2026-10-25T02:00:00Z"))
        );
        // A time just after the repeated hour is not confused with it.
        let p = schedule("0 3 * * *", Paris);
        assert_eq!(
            p.next_after(utc("2026-10-25T01:50:00Z")),
            Some(utc("2026-10-25T02:00:00Z"))
        );
    }

    #[test]
    fn croner_alone_goes_back_in_the_repeated_hour() {
        // Why `next_after` does not hand the zone to croner: from 02:10 CET (second
        // pass), croner answers 02:30 CEST, 40 minutes in the past.
        let cron = Cron::new("30 2 * * *").parse().unwrap();
        let t = utc("2026-10-25T01:10:00Z").with_timezone(&Paris);
        let next = cron.find_next_occurrence(&t, false).unwrap();
        assert_eq!(next.with_timezone(&Utc), utc("2026-10-25T00:30:00Z"));
        assert!(next < t);
    }

    #[test]
    fn new_york_and_a_half_hour_shift() {
        // New York, 8 March 2026: 02:00 EST becomes 03:00 EDT (07:00 UTC).
        let p = schedule("30 2 * * *", chrono_tz::America::New_York);
        assert_eq!(
            slots(&p, "2026-03-07T12:00:00Z", 2),
            ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]
        );
        // Lord Howe shifts by half an hour: 02:00 (+10:30) becomes 02:30 (+11:00), 15:30
        // UTC the day before, on 5 October 2025; 02:15 is skipped.
        let p = schedule("15 2 * * *", chrono_tz::Australia::Lord_Howe);
        assert_eq!(
            slots(&p, "2025-10-04T00:00:00Z", 2),
            ["2025-10-04T15:30:00Z", "2025-10-05T15:15:00Z"]
        );
    }

    #[test]
    fn schedules_say_their_zone() {
        let s = Schedule::cron(" 0 8 * * * ").zone(Paris);
        assert_eq!(s.to_string(), "0 8 * * * (Europe/Paris, run once late if missed)");
        assert_eq!(Schedule::from("5 0 * * *").time_zone(), Tz::UTC);
    }
}
