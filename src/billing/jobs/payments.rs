//! Payment jobs, in three phases each: the payment (or refund) was recorded
//! by the caller; the job calls the provider with an idempotency key that
//! stays the same across retries and lease rescues; the provider's answer is
//! recorded in one transaction with what follows from it (invoice settled,
//! livre de recettes, e-mails enqueued). A job killed after the provider call
//! runs again, gets the same answer for the same key, and records it once.

mod steps;

pub use steps::{capture, charge, ChargeOptions, Step, StepError};

use chrono::{Duration as Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::billing::payments::{self, Completion, Payment, PaymentStatus};
use crate::billing::refunds::{self, Refund, RefundStatus};
use crate::billing::BillingError;
use crate::context::AppContext;
use crate::jobs::{
    enqueue, EnqueueOptions, Job, JobContext, JobError, JobKind, JobResult, KindConcurrency, KindOptions, KindRate,
    LimitKey, Outcome,
};
use crate::money::Money;
use crate::providers::{ChargeOutcome, Provider, ProviderError, RefundStatus as ProviderRefund};
use crate::store::{Store, Tx};

/// Starts per second of each payment kind (charge, capture, refund, sync),
/// over every worker: each calls a provider once or twice, and Stripe's
/// live mode allows 100 requests per second, PayPal's fewer. More than one
/// trader needs; what it stops is a backlog replayed all at once.
const PROVIDER_CALLS_PER_S: i32 = 25;

fn payment_options() -> KindOptions {
    KindOptions {
        queue: "payments".into(),
        max_attempts: 10,
        rate: Some(KindRate {
            key: LimitKey::Kind,
            limit: PROVIDER_CALLS_PER_S,
            period: std::time::Duration::from_secs(1),
        }),
        ..KindOptions::default()
    }
}

/// The jobs of one payment (charge, capture, sync) run one at a time, in
/// order, on every worker: a sync never races the capture it would read.
fn one_payment_at_a_time() -> KindOptions {
    KindOptions {
        concurrency: Some(KindConcurrency {
            key: LimitKey::Arg {
                name: "payment",
                pointer: "/payment_id",
            },
            limit: 1,
        }),
        ..payment_options()
    }
}

/// Provider errors: transient ones retry the job, others end it.
fn provider_failure(e: ProviderError) -> Result<Outcome, JobError> {
    if e.is_transient() {
        Err(JobError::msg(e))
    } else {
        Ok(Outcome::Discard(e.to_string()))
    }
}

fn billing_failure(e: BillingError) -> Result<Outcome, JobError> {
    super::settle(Err(e))
}

async fn today(store: &Store) -> Result<NaiveDate, BillingError> {
    Ok(store.now().await?.date_naive())
}

/// The e-mails that follow a completed payment: the invoice issued for an
/// order, and the receipt.
async fn after_completion(tx: &mut Tx, before: &Payment, after: &Payment) -> Result<(), BillingError> {
    if before.invoice_id.is_none() {
        if let Some(invoice_id) = after.invoice_id {
            super::emails::send_later(tx, invoice_id).await?;
        }
    }
    super::emails::send_receipt_later(tx, after.id, after.customer_id).await?;
    Ok(())
}

/// Who asked for a provider call about a payment, for the audit log: the
/// entry is written with the answer, in the transaction that records it.
pub struct AskedBy<'a> {
    pub actor: &'a crate::audit::Actor,
    /// E.g. `order.capture`.
    pub action: &'static str,
    /// E.g. `order:42`.
    pub target: String,
}

/// Records what the provider answered about a payment, with what follows from
/// it; an answer about a payment already settled changes nothing.
async fn record(store: &Store, payment_id: i64, outcome: ChargeOutcome) -> Result<(), BillingError> {
    record_as(store, payment_id, outcome, None).await
}

/// [`record`], with the audit entry of whoever asked.
async fn record_as(
    store: &Store,
    payment_id: i64,
    outcome: ChargeOutcome,
    asked_by: Option<&AskedBy<'_>>,
) -> Result<(), BillingError> {
    let day = today(store).await?;
    let mut tx = store.begin().await?;
    let before = payments::lock(&mut tx, payment_id).await?;
    if before.status.received() || before.status == PaymentStatus::Failed {
        return Ok(());
    }
    match outcome {
        ChargeOutcome::Succeeded { reference, fee } => {
            let fee = fee
                .filter(|f| f.currency == before.amount.currency)
                .unwrap_or(Money::zero(before.amount.currency));
            // A manual payment is completed on the date the operator declared.
            let received_on = match before.received_on {
                Some(declared) if before.provider == "manual" => declared,
                _ => day,
            };
            let done = Completion {
                received_on,
                fee,
                provider_reference: Some(reference),
            };
            let after = payments::complete(&mut tx, payment_id, done).await?;
            after_completion(&mut tx, &before, &after).await?;
        }
        ChargeOutcome::Authorized { reference } => {
            payments::mark_pending(&mut tx, payment_id, &reference).await?;
            enqueue(
                &mut tx,
                &CapturePayment { payment_id },
                EnqueueOptions::new().unique_key(format!("capture:{payment_id}")),
            )
            .await?;
        }
        ChargeOutcome::RequiresApproval {
            reference,
            approval_url,
        } => {
            payments::await_approval(&mut tx, payment_id, &reference, &approval_url).await?;
            // Not approved in time, the order expires (and this payment fails with it).
            if let Some(order_id) = before.order_id {
                enqueue(
                    &mut tx,
                    &super::orders::ExpireOrder { order_id },
                    EnqueueOptions::new()
                        .unique_key(format!("expire-order:{order_id}"))
                        .run_in(approval_window()),
                )
                .await?;
            }
        }
        ChargeOutcome::Pending { reference } => {
            payments::mark_pending(&mut tx, payment_id, &reference).await?;
        }
        ChargeOutcome::Declined { reason, code } => {
            let why = match code {
                Some(code) => format!("{reason} ({code})"),
                None => reason,
            };
            payments::fail(&mut tx, payment_id, &why).await?;
        }
    }
    if let Some(asked) = asked_by {
        let after = payments::lock(&mut tx, payment_id).await?;
        crate::audit::record_in(
            &mut tx,
            asked.actor,
            crate::audit::Record::new(asked.action, asked.target.clone()).details(serde_json::json!({
                "payment_id": payment_id,
                "outcome": "recorded",
                "status": after.status.as_str(),
            })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// How long a payer has to approve a payment before its order expires.
pub fn approval_window() -> std::time::Duration {
    let minutes = std::env::var("COMPTOIR_APPROVAL_WINDOW_MINUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(180);
    std::time::Duration::from_secs(60 * minutes)
}

fn provider_of(ctx: &JobContext<AppContext>, payment: &Payment) -> Result<Provider, ProviderError> {
    ctx.app.providers.get(&payment.provider)
}

/// How a job ends after a step.
fn step_outcome(step: Result<Step, StepError>) -> JobResult {
    match step {
        Ok(Step::NotDue | Step::Recorded) => Ok(Outcome::Done),
        Ok(Step::Waiting) => Ok(Outcome::Snooze(std::time::Duration::from_secs(60))),
        Ok(Step::Refused(reason)) => Ok(Outcome::Discard(reason)),
        Err(StepError::Provider(e)) => provider_failure(e),
        Err(StepError::Billing(e)) => billing_failure(e),
    }
}

/// A payment job never ends as discarded while the provider may have acted:
/// when its last attempt fails without an answer, it stops on purpose
/// (cancelled, saying so) and the payment is left to the reconciliation,
/// which asks the provider by idempotency key.
fn hand_over_on_last_attempt(ctx: &JobContext<AppContext>, result: JobResult) -> JobResult {
    match result {
        Err(e) if ctx.job.attempt >= ctx.job.max_attempts => Ok(Outcome::Cancel(format!(
            "no answer after {} attempts ({e}); handed to billing.reconcile_payments, which asks the provider \
             by idempotency key",
            ctx.job.attempt
        ))),
        other => other,
    }
}

/// Charges a recorded payment through its provider.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChargePayment {
    pub payment_id: i64,
    /// Stripe: the PaymentMethod (`pm_…`) the checkout page collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
    /// PayPal: where the payer returns after approving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
}

impl JobKind for ChargePayment {
    const KIND: &'static str = "billing.charge_payment";
    fn options() -> KindOptions {
        one_payment_at_a_time()
    }
}

impl Job<AppContext> for ChargePayment {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let options = ChargeOptions {
            payment_method: self.payment_method,
            return_url: self.return_url,
        };
        let step = charge(ctx.store(), &ctx.app.providers, self.payment_id, &options).await;
        hand_over_on_last_attempt(&ctx, step_outcome(step))
    }
}

/// Captures an authorized or approved payment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CapturePayment {
    pub payment_id: i64,
}

impl JobKind for CapturePayment {
    const KIND: &'static str = "billing.capture_payment";
    fn options() -> KindOptions {
        one_payment_at_a_time()
    }
}

impl Job<AppContext> for CapturePayment {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let step = capture(ctx.store(), &ctx.app.providers, self.payment_id, None).await;
        hand_over_on_last_attempt(&ctx, step_outcome(step))
    }
}

/// Reserves a refund and enqueues the job that makes it, in the caller's transaction.
pub async fn request_refund(
    tx: &mut Tx,
    payment_id: i64,
    amount: Money,
    nature: Option<crate::billing::catalog::Nature>,
    reason: &str,
    key: &str,
) -> Result<Refund, BillingError> {
    let refund = refunds::begin_for(tx, payment_id, amount, nature, reason, key).await?;
    if refund.status == RefundStatus::Pending {
        enqueue(
            tx,
            &RefundPayment { refund_id: refund.id },
            EnqueueOptions::new().unique_key(format!("refund:{}", refund.id)),
        )
        .await?;
    }
    Ok(refund)
}

/// Pays a reserved refund back through the provider, then records the credit
/// note, the negative livre de recettes line and the ledger entries; a
/// provider refusal releases the reservation and leaves nothing behind.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RefundPayment {
    pub refund_id: i64,
}

impl JobKind for RefundPayment {
    const KIND: &'static str = "billing.refund_payment";
    fn options() -> KindOptions {
        payment_options()
    }
}

impl Job<AppContext> for RefundPayment {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let result = self.refund(&ctx).await;
        match result {
            // The refund stays reserved (never released while the provider
            // may have paid it): the operator retries this job, same key.
            Err(e) if ctx.job.attempt >= ctx.job.max_attempts => Ok(Outcome::Cancel(format!(
                "no answer after {} attempts ({e}); the refund stays reserved: retry this job (same \
                 idempotency key) once the provider answers",
                ctx.job.attempt
            ))),
            other => other,
        }
    }
}

impl RefundPayment {
    async fn refund(&self, ctx: &JobContext<AppContext>) -> JobResult {
        let store = ctx.store();
        let (refund, payment) = {
            let mut tx = store.begin().await?;
            let refund = match refunds::lock(&mut tx, self.refund_id).await {
                Ok(r) => r,
                Err(e) => return billing_failure(e),
            };
            let payment = payments::lock(&mut tx, refund.payment_id)
                .await
                .map_err(JobError::msg)?;
            tx.rollback().await?;
            (refund, payment)
        };
        if refund.status != RefundStatus::Pending {
            return Ok(Outcome::Done);
        }
        let provider = match provider_of(ctx, &payment) {
            Ok(p) => p,
            Err(e) => return provider_failure(e),
        };
        let reference = payment
            .provider_reference
            .clone()
            .unwrap_or_else(|| format!("payment-{}", payment.id));
        let answer = provider
            .refund(&reference, refund.amount, &refund.idempotency_key)
            .await;
        let day = today(store).await.map_err(JobError::msg)?;
        let mut tx = store.begin().await?;
        let outcome = match answer {
            Ok(r) => match r.status {
                ProviderRefund::Succeeded => {
                    let done = refunds::complete(&mut tx, refund.id, day, Some(&r.reference)).await;
                    match done {
                        Ok(done) => {
                            if let Some(note) = done.credit_note_id {
                                super::emails::send_later(&mut tx, note).await.map_err(JobError::msg)?;
                            }
                            Outcome::Done
                        }
                        Err(e) => return billing_failure(e),
                    }
                }
                ProviderRefund::Pending => Outcome::Snooze(std::time::Duration::from_secs(600)),
                ProviderRefund::Failed { reason } => {
                    refunds::fail(&mut tx, refund.id, &reason)
                        .await
                        .map_err(JobError::msg)?;
                    Outcome::Done
                }
            },
            Err(e) if e.is_transient() => return Err(JobError::msg(e)),
            Err(e) => {
                refunds::fail(&mut tx, refund.id, &e.to_string())
                    .await
                    .map_err(JobError::msg)?;
                Outcome::Discard(e.to_string())
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }
}

/// Asks the providers about payments stuck in initiated or pending for more
/// than a quarter of an hour, and records their answers (a missed webhook, a
/// charge whose answer was lost). A payment with no provider reference yet is
/// looked for by its idempotency key once no job will charge it any more: the
/// charge found is recorded; none found means the provider took nothing, and
/// the payment fails with that reason.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReconcilePayments {}

/// How long a payment must have been quiet before it is reconciled.
const QUIET: Days = Days::minutes(15);

impl JobKind for ReconcilePayments {
    const KIND: &'static str = "billing.reconcile_payments";
    fn options() -> KindOptions {
        KindOptions {
            queue: "payments".into(),
            max_attempts: 3,
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for ReconcilePayments {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let quiet_since = ctx.store().now().await? - QUIET;
        let stuck = payments::stuck(ctx.store(), quiet_since).await.map_err(JobError::msg)?;
        let mut failures = Vec::new();
        for payment in stuck {
            if let Err(e) = reconcile(&ctx, &payment, quiet_since).await {
                failures.push(format!("payment {}: {e}", payment.id));
            }
        }
        if failures.is_empty() {
            Ok(Outcome::Done)
        } else {
            Err(JobError::msg(failures.join("; ")))
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ReconcileError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Billing(#[from] BillingError),
}

async fn reconcile(
    ctx: &JobContext<AppContext>,
    payment: &Payment,
    quiet_since: chrono::DateTime<Utc>,
) -> Result<(), ReconcileError> {
    let store = ctx.store();
    let provider = provider_of(ctx, payment)?;
    if let Some(reference) = &payment.provider_reference {
        return match provider.status(reference).await? {
            ChargeOutcome::Pending { .. } | ChargeOutcome::RequiresApproval { .. } => Ok(()),
            outcome => Ok(record(store, payment.id, outcome).await?),
        };
    }
    // No reference: the provider's answer never came back (or it was never asked).
    if payment.provider == "manual" {
        return Ok(());
    }
    let charging = store
        .live_job_with_key(&format!("charge:{}", payment.id))
        .await
        .map_err(BillingError::from)?;
    if charging.is_some() || payment.provider_called_at.is_some_and(|t| t > quiet_since) {
        // A job will still charge it with the same key; or it was asked too
        // recently for the provider's search to see the charge.
        return Ok(());
    }
    let key = format!("{}:charge", payment.idempotency_key);
    match provider.find_charge(&key).await? {
        Some(outcome) => {
            tracing::info!(payment.id, "reconciliation found the charge of a lost answer");
            Ok(record(store, payment.id, outcome).await?)
        }
        None => {
            let reason = match payment.provider_called_at {
                Some(_) => format!(
                    "{} has no charge under this payment's key: the request never reached it",
                    payment.provider
                ),
                None => format!("never sent to {}: no job will charge it any more", payment.provider),
            };
            tracing::warn!(payment.id, %reason, "reconciliation fails a payment the provider never took");
            let mut tx = store.begin().await.map_err(BillingError::from)?;
            payments::fail(&mut tx, payment.id, &reason).await?;
            tx.commit().await.map_err(BillingError::from)?;
            Ok(())
        }
    }
}

/// Asks the provider where one payment stands and records it: what a webhook
/// triggers (its payload is never trusted for amounts or states).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SyncPayment {
    pub payment_id: i64,
}

impl JobKind for SyncPayment {
    const KIND: &'static str = "billing.sync_payment";
    fn options() -> KindOptions {
        one_payment_at_a_time()
    }
}

impl Job<AppContext> for SyncPayment {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let payment = match payments::get(ctx.store(), self.payment_id).await {
            Ok(p) => p,
            Err(e) => return billing_failure(e),
        };
        if payment.status.received() || payment.status == PaymentStatus::Failed {
            return Ok(Outcome::Done);
        }
        let Some(reference) = payment.provider_reference.clone() else {
            return Ok(Outcome::Discard(format!(
                "payment {} has no provider reference yet",
                payment.id
            )));
        };
        let provider = match provider_of(&ctx, &payment) {
            Ok(p) => p,
            Err(e) => return provider_failure(e),
        };
        match provider.status(&reference).await {
            Ok(ChargeOutcome::Pending { .. } | ChargeOutcome::RequiresApproval { .. }) => Ok(Outcome::Done),
            Ok(outcome) => record(ctx.store(), payment.id, outcome)
                .await
                .map(|()| Outcome::Done)
                .or_else(billing_failure),
            Err(e) => provider_failure(e),
        }
    }
}

/// Handles a verified provider event: recorded once, and for a payment we
/// know, a job that asks the provider. Returns whether the event was new.
pub async fn on_provider_event(store: &Store, event: &crate::providers::WebhookEvent) -> Result<bool, BillingError> {
    let mut tx = store.begin().await?;
    let new =
        crate::billing::sql::provider_events::record(&mut tx, event.provider, &event.id, &event.kind, &event.payload)
            .await?;
    if !new {
        return Ok(false);
    }
    let mut payment = None;
    for reference in [&event.reference, &event.object_id, &event.capture_id]
        .into_iter()
        .flatten()
    {
        if let Some(p) = payments::by_provider_reference(store, event.provider, reference).await? {
            payment = Some(p);
            break;
        }
    }
    match payment {
        Some(p) => {
            enqueue(&mut tx, &SyncPayment { payment_id: p.id }, EnqueueOptions::new()).await?;
            crate::billing::sql::provider_events::mark_processed(&mut tx, event.provider, &event.id).await?;
        }
        None => {
            tracing::info!(provider = event.provider, event = %event.id, kind = %event.kind, "event for no known payment")
        }
    }
    tx.commit().await?;
    Ok(true)
}
