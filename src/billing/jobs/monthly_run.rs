//! The monthly billing run: a periodic job on the 1st of the month fans out
//! one job per contract, each invoicing that contract for the month just ended.
//! The contracts' jobs form a batch whose callback e-mails the operator a
//! summary once they have all finished (`monthly_summary`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::monthly_summary::{outcome_progress, MonthlySummary};
use super::settle;
use crate::billing::monthly::{self, ContractOutcome, Period};
use crate::billing::BillingError;
use crate::context::AppContext;
use crate::jobs::{Batch, EnqueueOptions, Inserted, Job, JobContext, JobKind, JobResult, KindOptions, Outcome};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MonthlyRun {
    /// `YYYY-MM`; by default the month before today (by the database clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
}

impl JobKind for MonthlyRun {
    const KIND: &'static str = "billing.monthly_run";
    fn options() -> KindOptions {
        KindOptions {
            queue: "billing".into(),
            max_attempts: 10,
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for MonthlyRun {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        settle(fan_out(ctx.store(), self.period.as_deref()).await.map(|_| ()))
    }
}

/// Enqueues one `InvoiceContract` per contract with open operations, with a
/// unique key per contract and period: a second run adds nothing. The new
/// jobs form a batch whose callback is the operator's summary; a month with
/// nothing to invoice (or a run that adds nothing) makes no batch and sends
/// no summary.
pub async fn fan_out(store: &crate::store::Store, period: Option<&str>) -> Result<usize, BillingError> {
    let today = store.now().await?.date_naive();
    let period = match period {
        Some(p) => Period::parse(p)?,
        None => Period::of(today).previous(),
    };
    let contracts = monthly::contracts_to_invoice(store, period).await?;
    let jobs = contracts.iter().map(|&contract_id| {
        (
            InvoiceContract {
                contract_id,
                period: period.key(),
                issue_date: today,
            },
            EnqueueOptions::new().unique_key(format!("invoice-contract:{contract_id}:{}", period.key())),
        )
    });
    if contracts.is_empty() {
        tracing::info!(period = %period.key(), "monthly run: no contract to invoice, no summary");
        return Ok(0);
    }
    let mut tx = store.begin().await?;
    let batch = Batch::open(
        &mut tx,
        |batch_id| MonthlySummary {
            batch_id,
            period: period.key(),
        },
        EnqueueOptions::new(),
    )
    .await?;
    let inserted = batch.enqueue_many(&mut tx, jobs).await?;
    if !inserted.iter().any(|i| matches!(i, Inserted::New(_))) {
        // Every contract's job exists already (a run again, or rescued after
        // its commit): their batch is the first run's.
        tx.rollback().await?;
        tracing::info!(period = %period.key(), "monthly run: every contract's job exists already");
        return Ok(inserted.len());
    }
    let batch_id = batch.seal(&mut tx).await?;
    tx.commit().await?;
    tracing::info!(period = %period.key(), contracts = inserted.len(), batch.id = batch_id, "monthly run fanned out");
    Ok(inserted.len())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InvoiceContract {
    pub contract_id: i64,
    pub period: String,
    pub issue_date: NaiveDate,
}

impl JobKind for InvoiceContract {
    const KIND: &'static str = "billing.invoice_contract";
    fn options() -> KindOptions {
        KindOptions {
            queue: "billing".into(),
            max_attempts: 10,
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for InvoiceContract {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let result = async {
            let period = Period::parse(&self.period)?;
            let outcome = monthly::invoice_contract(ctx.store(), self.contract_id, period, self.issue_date).await?;
            let invoice_id = match &outcome {
                ContractOutcome::Invoiced { invoice_id, reference } => {
                    tracing::info!(contract = self.contract_id, %reference, "contract invoiced");
                    *invoice_id
                }
                // Rescued after the invoice committed: the follow-ups may be missing.
                ContractOutcome::AlreadyInvoiced { invoice_id } => *invoice_id,
                ContractOutcome::NothingToInvoice => return Ok(Some("nothing_to_invoice")),
                ContractOutcome::NetNotPositive => return Ok(Some("net_not_positive")),
            };
            follow_ups(ctx.store(), invoice_id).await.map(|()| Some("invoiced"))
        }
        .await;
        // What became of the contract, for the run's summary (see `monthly_summary`).
        let (recorded, result) = match result {
            Ok(outcome) => (outcome, Ok(())),
            Err(e) => (None, Err(e)),
        };
        let settled = settle(result);
        let recorded = match &settled {
            Ok(Outcome::Discard(_)) => Some("refused"),
            _ => recorded,
        };
        if let Some(outcome) = recorded {
            if let Err(e) = ctx.set_progress(outcome_progress(outcome)).await {
                tracing::warn!(error = %e, contract = self.contract_id, "cannot record the contract's outcome");
            }
        }
        settled
    }
}

/// The invoice e-mail at once and the SEPA debit after the pre-notification
/// delay, each under a unique key: enqueued once however often this runs.
async fn follow_ups(store: &crate::store::Store, invoice_id: i64) -> Result<(), BillingError> {
    let mut tx = store.begin().await?;
    super::emails::send_as_prenotification(&mut tx, invoice_id).await?;
    let delay = std::time::Duration::from_secs(86_400 * super::sepa::prenotification_days());
    crate::jobs::enqueue(
        &mut tx,
        &super::sepa::ChargeSepa { invoice_id },
        EnqueueOptions::new()
            .unique_key(format!("sepa:{invoice_id}"))
            .run_in(delay),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
