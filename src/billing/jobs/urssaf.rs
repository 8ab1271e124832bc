//! The URSSAF reminder: every morning `billing.urssaf_reminders` looks for
//! the period whose deadline is at most 7 days ahead and, unless its
//! reminder was sent, enqueues `billing.send_urssaf_reminder` (unique key
//! per period), which e-mails the operator the figures to declare.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::settle;
use crate::billing::emails::EmailError;
use crate::billing::urssaf::{self, reminder, DeclarationPeriod};
use crate::billing::BillingError;
use crate::context::AppContext;
use crate::jobs::{
    enqueue, EnqueueOptions, Inserted, Job, JobContext, JobError, JobKind, JobResult, KindOptions, Outcome,
};
use crate::mail::EmailStatus;
use crate::store::Store;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UrssafReminders {}

impl JobKind for UrssafReminders {
    const KIND: &'static str = "billing.urssaf_reminders";
    fn options() -> KindOptions {
        KindOptions {
            queue: "billing".into(),
            max_attempts: 5,
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for UrssafReminders {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let result = async {
            let today = ctx.store().now().await?.date_naive();
            schedule(ctx.store(), today).await.map(|_| ())
        }
        .await;
        settle(result)
    }
}

/// Enqueues the reminder of the period due on `today`, if any and not sent
/// yet; returns the new job's id (none when nothing is due or it exists).
#[tracing::instrument(skip(store))]
pub async fn schedule(store: &Store, today: NaiveDate) -> Result<Option<i64>, BillingError> {
    let (_, frequency) = urssaf::configured(store).await?;
    let Some(period) = reminder::due(frequency, today) else {
        return Ok(None);
    };
    let key = reminder::key(period);
    if let Some(sent) = crate::mail::find(store, &key).await? {
        if sent.status == EmailStatus::Sent {
            return Ok(None);
        }
    }
    let mut tx = store.begin().await?;
    let job = SendUrssafReminder {
        period: period.key(),
        as_of: today,
    };
    let inserted = enqueue(&mut tx, &job, EnqueueOptions::new().unique_key(key)).await?;
    tx.commit().await?;
    Ok(match inserted {
        Inserted::New(id) => Some(id),
        Inserted::Duplicate(_) => None,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SendUrssafReminder {
    /// `2026-Q3` or `2026-11`.
    pub period: String,
    /// The day the reminder was found due: the e-mail says the days left from it.
    pub as_of: NaiveDate,
}

impl JobKind for SendUrssafReminder {
    const KIND: &'static str = "billing.send_urssaf_reminder";
    fn options() -> KindOptions {
        KindOptions {
            queue: "mail".into(),
            max_attempts: 12,
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for SendUrssafReminder {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let period = match DeclarationPeriod::parse(&self.period) {
            Ok(p) => p,
            Err(e) => return Ok(Outcome::Discard(e.to_string())),
        };
        let result = async {
            let today = ctx.store().now().await.map_err(BillingError::from)?.date_naive();
            reminder::send(ctx.store(), &ctx.app.mailer, period, self.as_of, today).await
        }
        .await;
        match result {
            Ok(_) => Ok(Outcome::Done),
            Err(EmailError::NotSendable(why)) => Ok(Outcome::Cancel(why)),
            Err(EmailError::Billing(BillingError::NoSettings)) => Ok(Outcome::Cancel(
                "billing settings are not configured: no URSSAF reminder".into(),
            )),
            Err(e) if e.is_transient() => Err(JobError::msg(e)),
            Err(e) => Ok(Outcome::Discard(e.to_string())),
        }
    }
}
