//! Periodic jobs: each slot of a [`Schedule`] (see `schedule.rs` for when
//! slots fall, across clock changes) enqueued once however many workers run.
//!
//! A slot's job has the unique key `periodic:<name>:<the slot's UTC
//! instant>` (RFC 3339, seconds, `Z`): every worker computes the same key,
//! a wall-clock time the clocks repeat is one instant (its first
//! occurrence), the times a gap skips are one instant (the first after it),
//! and a schedule in UTC keeps the keys it had before zones existed.
//!
//! Every worker's maintenance (and every drain, once at its start) calls
//! [`enqueue_periodic`] with the database clock. What happens to a slot whose
//! time passed while no worker ran is each schedule's [`Missed`] policy.

use chrono::{DateTime, SecondsFormat, TimeDelta, Timelike, Utc};
use serde_json::Value;

use super::enqueue::{new_job, EnqueueOptions};
use super::job::KindOptions;
use super::registry::Registry;
use super::schedule::{Missed, Schedule, Slots};
use super::Error;
use crate::store::types::{Inserted, RunAt};
use crate::store::Store;

/// At most this many slots of a [`Missed::Skip`] schedule are enqueued by one
/// pass (the latest of its grace window; only a schedule of seconds with a
/// long grace has more).
const MAX_WINDOW_SLOTS: usize = 100;

/// A registered schedule with its job.
pub(crate) struct Periodic {
    name: String,
    schedule: Schedule,
    slots: Slots,
    kind: &'static str,
    args: Value,
    options: KindOptions,
}

impl Periodic {
    pub fn new(
        name: &str,
        schedule: Schedule,
        kind: &'static str,
        args: Value,
        options: KindOptions,
    ) -> Result<Self, Error> {
        if name.is_empty() || name.contains(':') {
            return Err(Error::InvalidOption(format!(
                "periodic job name {name:?} must be non-empty and without ':'"
            )));
        }
        let slots = schedule
            .slots()
            .map_err(|e| Error::InvalidOption(format!("periodic job {name:?}: {e}")))?;
        Ok(Periodic {
            name: name.to_string(),
            schedule,
            slots,
            kind,
            args,
            options,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The first slot strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.slots.next_after(t)
    }

    /// The slots in `[from, to]`, at most the latest `MAX_WINDOW_SLOTS`.
    fn slots_within(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut slots = std::collections::VecDeque::new();
        // Slots are whole seconds: strictly after the second before `from`.
        let mut cursor = from.with_nanosecond(0).unwrap_or(from) - TimeDelta::seconds(1);
        if cursor + TimeDelta::seconds(1) < from {
            cursor += TimeDelta::seconds(1);
        }
        while let Some(slot) = self.next_after(cursor).filter(|s| *s <= to) {
            if slots.len() == MAX_WINDOW_SLOTS {
                slots.pop_front();
            }
            slots.push_back(slot);
            cursor = slot;
        }
        slots.into()
    }

    /// What a pass at `now` enqueues, and the next slot after `now` (when
    /// to pass again).
    fn plan(&self, now: DateTime<Utc>) -> (Vec<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let next = self.next_after(now);
        match self.schedule.missed_policy() {
            Missed::RunOnceLate => (next.into_iter().collect(), next),
            Missed::Skip { grace } => {
                let grace = TimeDelta::from_std(grace).unwrap_or(TimeDelta::MAX);
                (self.slots_within(now - grace, now), next)
            }
        }
    }

    pub fn unique_key(&self, slot: DateTime<Utc>) -> String {
        format!(
            "periodic:{}:{}",
            self.name,
            slot.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }
}

/// One pass of the periodic enqueuer as of `now`, for every schedule of
/// `registry`: a [`Missed::RunOnceLate`] schedule gets its next slot after
/// `now`, a [`Missed::Skip`] schedule its slots between `now` minus its
/// grace and `now`; a slot already enqueued (by any worker) is left as it
/// is. Returns the earliest slot after `now`, when a pass is due again.
///
/// Maintenance calls it with the database clock; a test may call it with any
/// `now` to step through days without waiting (the jobs' due times are the
/// slots, so slots in the past are due at once).
#[tracing::instrument(skip_all, fields(%now))]
pub async fn enqueue_periodic<C>(
    store: &Store,
    registry: &Registry<C>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Error> {
    let periodic = registry.periodic_jobs();
    let mut rows = Vec::new();
    let mut earliest: Option<DateTime<Utc>> = None;
    for p in periodic {
        let (slots, next) = p.plan(now);
        if let Some(next) = next {
            earliest = Some(earliest.map_or(next, |e| e.min(next)));
        }
        for slot in slots {
            let opts = EnqueueOptions {
                run_at: Some(RunAt::At(slot)),
                unique_key: Some(p.unique_key(slot)),
                ..EnqueueOptions::default()
            };
            rows.push(new_job(p.kind, p.args.clone(), &p.options, opts)?);
        }
    }
    if rows.is_empty() {
        return Ok(earliest);
    }
    let mut tx = store.begin().await?;
    let inserted = tx.insert_jobs(&rows).await?;
    tx.commit().await?;
    let new = inserted.iter().filter(|i| matches!(i, Inserted::New(_))).count();
    if new > 0 {
        tracing::debug!(new, "periodic slots enqueued");
    }
    Ok(earliest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Paris;
    use chrono_tz::Tz;
    use std::time::Duration;

    use crate::jobs::schedule::MAX_GRACE;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn schedule(expr: &str, zone: Tz) -> Periodic {
        Periodic::new(
            "s",
            Schedule::cron(expr).zone(zone),
            "noop",
            Value::Null,
            KindOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn monthly_slot_and_key() {
        let p = schedule("0 0 1 * *", Tz::UTC);
        let t = utc("2026-11-22T10:00:00Z");
        let slot = p.next_after(t).unwrap();
        assert_eq!(slot, utc("2026-12-01T00:00:00Z"));
        assert_eq!(p.unique_key(slot), "periodic:s:2026-12-01T00:00:00Z");
        // Strictly after: the slot itself leads to the next one.
        assert_eq!(p.next_after(slot).unwrap(), utc("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn keys_name_the_utc_instant() {
        let p = schedule("30 2 * * *", Paris);
        let spring = p.next_after(utc("2026-03-28T12:00:00Z")).unwrap();
        assert_eq!(p.unique_key(spring), "periodic:s:2026-03-29T01:00:00Z");
        let autumn = p.next_after(utc("2026-10-24T12:00:00Z")).unwrap();
        assert_eq!(p.unique_key(autumn), "periodic:s:2026-10-25T00:30:00Z");
        // Every worker, whatever its instant inside the repeated hour, names the
        // following slot alike.
        assert_eq!(
            p.unique_key(p.next_after(utc("2026-10-25T00:40:00Z")).unwrap()),
            p.unique_key(p.next_after(utc("2026-10-25T01:40:00Z")).unwrap())
        );
    }

    #[test]
    fn plans_per_policy() {
        let late = schedule("30 2 * * *", Paris);
        let (slots, next) = late.plan(utc("2026-03-10T09:00:00Z"));
        assert_eq!(slots, [utc("2026-03-11T01:30:00Z")]);
        assert_eq!(next, Some(utc("2026-03-11T01:30:00Z")));

        let skip = Periodic::new(
            "s",
            Schedule::cron("30 2 * * *").zone(Paris).missed(Missed::Skip {
                grace: Duration::from_secs(300),
            }),
            "noop",
            Value::Null,
            KindOptions::default(),
        )
        .unwrap();
        let slot = utc("2026-03-10T01:30:00Z");
        // Before the slot: nothing yet. From the slot to the slot plus the grace (both
        // included): the slot. Past it: nothing, the slot is missed.
        assert!(skip.plan(slot - TimeDelta::seconds(1)).0.is_empty());
        assert_eq!(skip.plan(slot).0, [slot]);
        assert_eq!(skip.plan(slot + TimeDelta::seconds(300)).0, [slot]);
        assert!(skip.plan(slot + TimeDelta::milliseconds(300_001)).0.is_empty());
        assert_eq!(
            skip.plan(slot + TimeDelta::seconds(301)).1,
            Some(utc("2026-03-11T01:30:00Z"))
        );
        // A grace window of several slots: each one.
        let often = Periodic::new(
            "s",
            Schedule::cron("* * * * *").missed(Missed::Skip {
                grace: Duration::from_secs(150),
            }),
            "noop",
            Value::Null,
            KindOptions::default(),
        )
        .unwrap();
        assert_eq!(
            often.plan(utc("2026-03-10T10:00:30Z")).0,
            [
                utc("2026-03-10T09:58:00Z"),
                utc("2026-03-10T09:59:00Z"),
                utc("2026-03-10T10:00:00Z")
            ]
        );
        // A schedule of seconds with a day's grace: only the latest slots.
        let seconds = Periodic::new(
            "s",
            Schedule::cron("* * * * * *").missed(Missed::Skip { grace: MAX_GRACE }),
            "noop",
            Value::Null,
            KindOptions::default(),
        )
        .unwrap();
        let now = utc("2026-03-10T10:00:00Z");
        let planned = seconds.plan(now).0;
        assert_eq!(planned.len(), MAX_WINDOW_SLOTS);
        assert_eq!(planned.last(), Some(&now));
    }

    #[test]
    fn bad_schedules_are_clear_errors() {
        let err = Periodic::new("x", "not a cron".into(), "noop", Value::Null, KindOptions::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("cron expression"), "{err}");
        let err = Periodic::new("a:b", "* * * * *".into(), "noop", Value::Null, KindOptions::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("without ':'"), "{err}");
        for grace in [Duration::ZERO, Duration::from_secs(2 * 86_400)] {
            let err = Periodic::new(
                "x",
                Schedule::cron("* * * * *").missed(Missed::Skip { grace }),
                "noop",
                Value::Null,
                KindOptions::default(),
            )
            .err()
            .unwrap();
            assert!(err.to_string().contains("grace"), "{err}");
        }
    }
}
