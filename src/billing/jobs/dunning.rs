//! Dunning: every day, overdue invoices get a reminder at D+7, D+15 and D+30
//! after their due date (one per level, ever), until they are paid.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::emails::SendReminder;
use super::settle;
use crate::billing::{invoices, BillingError};
use crate::context::AppContext;
use crate::jobs::{enqueue_many, EnqueueOptions, Job, JobContext, JobKind, JobResult, KindOptions};
use crate::store::Store;

/// Days after the due date for reminder levels 1, 2 and 3.
pub const LEVELS: [(u8, i64); 3] = [(3, 30), (2, 15), (1, 7)];

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Dunning {}

impl JobKind for Dunning {
    const KIND: &'static str = "billing.dunning";
    fn options() -> KindOptions {
        KindOptions {
            queue: "billing".into(),
            max_attempts: 5,
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for Dunning {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let result = async {
            let today = ctx.store().now().await?.date_naive();
            schedule(ctx.store(), today).await.map(|_| ())
        }
        .await;
        settle(result)
    }
}

/// The reminder level an invoice due on `due` has reached on `today`.
pub fn level_on(due: NaiveDate, today: NaiveDate) -> Option<u8> {
    let late = (today - due).num_days();
    LEVELS.iter().find(|(_, days)| late >= *days).map(|(level, _)| *level)
}

/// Enqueues the reminder each overdue invoice has reached; a level already
/// enqueued (unique key per invoice and level) is not enqueued again.
pub async fn schedule(store: &Store, today: NaiveDate) -> Result<usize, BillingError> {
    let jobs: Vec<(SendReminder, EnqueueOptions)> = invoices::overdue(store, today)
        .await?
        .into_iter()
        .filter_map(|invoice| {
            let level = level_on(invoice.due_date?, today)?;
            Some((
                SendReminder {
                    invoice_id: invoice.id,
                    level,
                },
                EnqueueOptions::new().unique_key(format!("reminder:{}:{level}", invoice.id)),
            ))
        })
        .collect();
    if jobs.is_empty() {
        return Ok(0);
    }
    let mut tx = store.begin().await?;
    let inserted = enqueue_many(&mut tx, jobs).await?;
    tx.commit().await?;
    Ok(inserted
        .iter()
        .filter(|i| matches!(i, crate::jobs::Inserted::New(_)))
        .count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_by_days_late() {
        let due = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        let on = |d| due + chrono::Days::new(d);
        assert_eq!(level_on(due, on(6)), None);
        assert_eq!(level_on(due, on(7)), Some(1));
        assert_eq!(level_on(due, on(14)), Some(1));
        assert_eq!(level_on(due, on(15)), Some(2));
        assert_eq!(level_on(due, on(30)), Some(3));
        assert_eq!(level_on(due, on(400)), Some(3));
    }
}
