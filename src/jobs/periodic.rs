//! Periodic jobs: each worker enqueues the next slot of every schedule with a
//! unique key naming the slot, so one job exists per slot however many
//! workers run. Cron expressions are read in UTC.

use chrono::{DateTime, SecondsFormat, Utc};
use croner::Cron;
use serde_json::Value;

use super::enqueue::{new_job, EnqueueOptions};
use super::job::KindOptions;
use super::Error;
use crate::store::types::{Inserted, RunAt};
use crate::store::Store;

pub(crate) struct Periodic {
    name: String,
    cron: Cron,
    kind: &'static str,
    args: Value,
    options: KindOptions,
}

impl Periodic {
    pub fn new(name: &str, expr: &str, kind: &'static str, args: Value, options: KindOptions) -> Result<Self, Error> {
        if name.is_empty() || name.contains(':') {
            return Err(Error::InvalidOption(format!(
                "periodic job name {name:?} must be non-empty and without ':'"
            )));
        }
        let cron = Cron::new(expr)
            .with_seconds_optional()
            .parse()
            .map_err(|e| Error::InvalidOption(format!("cron expression {expr:?}: {e}")))?;
        Ok(Periodic {
            name: name.to_string(),
            cron,
            kind,
            args,
            options,
        })
    }

    /// The first slot strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&t, false).ok()
    }

    pub fn unique_key(&self, slot: DateTime<Utc>) -> String {
        format!(
            "periodic:{}:{}",
            self.name,
            slot.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }
}

/// Enqueues the next slot of every schedule (a no-op for slots already
/// enqueued by any worker). Returns the earliest of those slots.
#[tracing::instrument(skip_all, fields(count = periodic.len()))]
pub(crate) async fn enqueue_next_slots(store: &Store, periodic: &[Periodic]) -> Result<Option<DateTime<Utc>>, Error> {
    if periodic.is_empty() {
        return Ok(None);
    }
    let now = store.now().await?;
    let mut rows = Vec::with_capacity(periodic.len());
    let mut earliest: Option<DateTime<Utc>> = None;
    for p in periodic {
        let Some(slot) = p.next_after(now) else {
            continue;
        };
        earliest = Some(earliest.map_or(slot, |e| e.min(slot)));
        let opts = EnqueueOptions {
            run_at: Some(RunAt::At(slot)),
            unique_key: Some(p.unique_key(slot)),
            ..EnqueueOptions::default()
        };
        rows.push(new_job(p.kind, p.args.clone(), &p.options, opts)?);
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
    use chrono::TimeZone;

    #[test]
    fn monthly_slot_and_key() {
        let p = Periodic::new("billing-run", "0 0 1 * *", "noop", Value::Null, KindOptions::default()).unwrap();
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
        let slot = p.next_after(t).unwrap();
        assert_eq!(slot, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        assert_eq!(p.unique_key(slot), "periodic:billing-run:2026-12-01T00:00:00Z");
        // Strictly after: the slot itself leads to the next one.
        assert_eq!(
            p.next_after(slot).unwrap(),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn bad_expression_is_a_clear_error() {
        let err = Periodic::new("x", "not a cron", "noop", Value::Null, KindOptions::default())
            .err()
            .unwrap();
        assert!(err.to_string().contains("cron expression"), "{err}");
    }
}
