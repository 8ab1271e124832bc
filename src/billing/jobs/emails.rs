//! E-mail jobs: an invoice (or credit note) with its PDF, a receipt after a
//! payment, a reminder for an overdue invoice. The job's idempotency key is
//! the e-mail's: a retried or rescued job finds the e-mail sent and stops.

use serde::{Deserialize, Serialize};

use crate::billing::emails::{self, EmailError};
use crate::billing::invoices::{self, InvoiceKind};
use crate::billing::mailing::{self, Mail};
use crate::billing::BillingError;
use crate::context::AppContext;
use crate::jobs::{enqueue, EnqueueOptions, Job, JobContext, JobError, JobKind, JobResult, KindOptions, Outcome};
use crate::store::Tx;

fn outcome(result: Result<(), EmailError>) -> JobResult {
    match result {
        Ok(()) => Ok(Outcome::Done),
        // A reminder for an invoice paid meanwhile: dunning stops there.
        Err(EmailError::NotSendable(why)) => Ok(Outcome::Cancel(why)),
        Err(e) if e.is_transient() => Err(JobError::msg(e)),
        Err(e) => Ok(Outcome::Discard(e.to_string())),
    }
}

fn mail_options() -> KindOptions {
    KindOptions {
        queue: "mail".into(),
        max_attempts: 12,
        ..KindOptions::default()
    }
}

/// An issued document is e-mailed: the job that sends invoice or credit note
/// `invoice_id` with its PDF, enqueued in `tx` with the fact that issues it
/// (once per document: a second call returns the same job), unless its
/// customer chose not to receive that kind of document by e-mail. Returns
/// the job's id, if any. The one place that says it.
pub async fn send_later(tx: &mut Tx, invoice_id: i64) -> Result<Option<i64>, BillingError> {
    let document = invoices::get_in(tx, invoice_id).await?;
    let mail = match document.kind {
        InvoiceKind::Invoice => Mail::Invoice,
        InvoiceKind::CreditNote => Mail::CreditNote,
    };
    if !mailing::wanted(tx, document.customer_id, mail).await? {
        tracing::info!(invoice_id, ?mail, "not e-mailed: the customer's choice");
        return Ok(None);
    }
    Ok(Some(enqueue_once(tx, invoice_id).await?))
}

/// The invoice of a SEPA debit is its pre-notification (the amount and date
/// told beforehand, as the SEPA rulebook requires): it is e-mailed whatever
/// the customer chose for other invoices.
pub async fn send_as_prenotification(tx: &mut Tx, invoice_id: i64) -> Result<i64, BillingError> {
    enqueue_once(tx, invoice_id).await
}

async fn enqueue_once(tx: &mut Tx, invoice_id: i64) -> Result<i64, BillingError> {
    let once = EnqueueOptions::new().unique_key(format!("invoice-email:{invoice_id}"));
    Ok(enqueue(tx, &SendInvoiceEmail { invoice_id }, once).await?.id())
}

/// A completed payment is acknowledged: the job that e-mails payment
/// `payment_id`'s receipt to customer `customer_id`, unless they chose not
/// to receive receipts by e-mail.
pub async fn send_receipt_later(tx: &mut Tx, payment_id: i64, customer_id: i64) -> Result<Option<i64>, BillingError> {
    if !mailing::wanted(tx, customer_id, Mail::Receipt).await? {
        tracing::info!(payment_id, "receipt not e-mailed: the customer's choice");
        return Ok(None);
    }
    Ok(Some(
        enqueue(tx, &SendReceipt { payment_id }, EnqueueOptions::new())
            .await?
            .id(),
    ))
}

/// The operator sends a document again: a new job, so a new e-mail.
pub async fn send_again(tx: &mut Tx, invoice_id: i64) -> Result<i64, BillingError> {
    Ok(enqueue(tx, &SendInvoiceEmail { invoice_id }, EnqueueOptions::new())
        .await?
        .id())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SendInvoiceEmail {
    pub invoice_id: i64,
}

impl JobKind for SendInvoiceEmail {
    const KIND: &'static str = "billing.send_invoice_email";
    fn options() -> KindOptions {
        mail_options()
    }
}

impl Job<AppContext> for SendInvoiceEmail {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let key = ctx.idempotency_key();
        outcome(
            emails::send_invoice(ctx.store(), &ctx.app.mailer, self.invoice_id, &key)
                .await
                .map(|_| ()),
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SendReceipt {
    pub payment_id: i64,
}

impl JobKind for SendReceipt {
    const KIND: &'static str = "billing.send_receipt";
    fn options() -> KindOptions {
        mail_options()
    }
}

impl Job<AppContext> for SendReceipt {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let key = ctx.idempotency_key();
        outcome(
            emails::send_receipt(ctx.store(), &ctx.app.mailer, self.payment_id, &key)
                .await
                .map(|_| ()),
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SendReminder {
    pub invoice_id: i64,
    /// 1, 2 or 3 (formal notice).
    pub level: u8,
}

impl JobKind for SendReminder {
    const KIND: &'static str = "billing.send_reminder";
    fn options() -> KindOptions {
        mail_options()
    }
}

impl Job<AppContext> for SendReminder {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let key = ctx.idempotency_key();
        outcome(
            emails::send_reminder(ctx.store(), &ctx.app.mailer, self.invoice_id, self.level, &key)
                .await
                .map(|_| ()),
        )
    }
}
