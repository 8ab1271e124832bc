//! Money received by hand, and refunds.

use chrono::NaiveDate;
use serde_json::json;

use crate::audit::{self, Actor, Record};
use crate::billing::catalog::Nature;
use crate::billing::dates::ReceiptDate;
use crate::billing::invoices::{self, InvoiceKind, InvoiceStatus};
use crate::billing::jobs::payments::ChargePayment;
use crate::billing::payments::{self, NewPayment, Payment, PaymentMethod};
use crate::billing::refunds::{self, Refund};
use crate::billing::BillingError;
use crate::jobs::{enqueue, EnqueueOptions};
use crate::money::Money;
use crate::store::Tx;

/// A payment received by transfer, cheque, cash or a card terminal.
#[derive(Debug, Clone)]
pub struct ManualPayment {
    pub invoice_id: i64,
    pub amount: Money,
    pub method: PaymentMethod,
    pub received_on: NaiveDate,
    /// The operator confirmed `received_on`, needed when it is
    /// [`RECEIPT_CONFIRM_DAYS`](crate::billing::dates::RECEIPT_CONFIRM_DAYS)
    /// or more before today (the payment is then marked `payment.backdated`).
    pub confirmed: bool,
    /// The same for a form (or an API request) sent twice: one payment.
    pub key: String,
}

/// What recording a payment came to.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// Recorded now; the charge job completes it (invoice settled, livre de
    /// recettes on the received date, receipt e-mailed).
    New { payment: Payment, charge_job_id: i64 },
    /// The same key was recorded before: that payment, nothing new.
    Already(Payment),
}

/// Records a manual payment on an issued invoice, the way every payment is
/// recorded: initiated with provider `manual`, its received date declared,
/// its charge job enqueued.
pub async fn record_manual(tx: &mut Tx, by: &Actor, p: ManualPayment) -> Result<Recorded, BillingError> {
    let invoice = invoices::lock(tx, p.invoice_id).await?;
    if invoice.kind != InvoiceKind::Invoice || invoice.status != InvoiceStatus::Issued {
        return Err(BillingError::Conflict(
            crate::text!("la facture est {state} : seule une facture émise et impayée reçoit un paiement")
                .with("state", crate::billing::error::invoice_state(invoice.status.as_str())),
        ));
    }
    let new = NewPayment {
        customer_id: invoice.customer_id,
        invoice_id: Some(p.invoice_id),
        order_id: None,
        provider: "manual".into(),
        method: p.method,
        amount: p.amount,
        idempotency_key: p.key,
    };
    let payment = payments::initiate(tx, new).await?;
    if payment.received_on.is_some() {
        return Ok(Recorded::Already(payment));
    }
    let (payment, date) = payments::declare_received_on(tx, payment.id, p.received_on, p.confirmed).await?;
    let job = enqueue(
        tx,
        &ChargePayment {
            payment_id: payment.id,
            payment_method: None,
            return_url: None,
        },
        EnqueueOptions::new().unique_key(format!("charge:{}", payment.id)),
    )
    .await?;
    let entry = Record::new("payment.record", format!("payment:{}", payment.id)).details(json!({
        "invoice_id": p.invoice_id,
        "reference": invoice.reference,
        "amount_minor": p.amount.minor,
        "currency": p.amount.currency,
        "method": p.method.as_str(),
        "received_on": p.received_on,
        "charge_job_id": job.id(),
    }));
    audit::record_in(tx, by, entry).await?;
    if date.backdated() {
        mark_backdated(tx, by, &payment, invoice.reference.as_deref(), &date, &by.name).await?;
    }
    Ok(Recorded::New {
        payment,
        charge_job_id: job.id(),
    })
}

/// Marks in the audit trail, in the caller's transaction, that payment
/// `payment` was received [`ReceiptDate::backdated`] days before it was
/// recorded, on `confirmed_by`'s word (the operator, or the bank's statement).
pub async fn mark_backdated(
    tx: &mut Tx,
    by: &Actor,
    payment: &Payment,
    invoice_reference: Option<&str>,
    date: &ReceiptDate,
    confirmed_by: &str,
) -> Result<(), BillingError> {
    let fr = |d: NaiveDate| d.format("%d/%m/%Y").to_string();
    let entry = Record::new("payment.backdated", format!("payment:{}", payment.id)).details(json!({
        "note": format!(
            "Reçu le {}, enregistré le {} : {} jours avant, confirmé par {}",
            fr(date.on),
            fr(date.today),
            date.days_back,
            confirmed_by
        ),
        "received_on": date.on,
        "recorded_on": date.today,
        "days_back": date.days_back,
        "confirmed_by": confirmed_by,
        "invoice_id": payment.invoice_id,
        "reference": invoice_reference,
        "amount_minor": payment.amount.minor,
        "currency": payment.amount.currency,
    }));
    audit::record_in(tx, by, entry).await?;
    Ok(())
}

/// What asking for a refund came to.
#[derive(Debug, Clone)]
pub enum RefundAsked {
    /// Reserved now; its job pays it back through the provider.
    New(Refund),
    /// The same key was asked before: that refund, nothing new.
    Already(Refund),
}

/// Reserves a refund of `amount` on payment `payment_id` and enqueues the job
/// that makes it (credit note, negative livre de recettes line, ledger).
pub async fn request_refund(
    tx: &mut Tx,
    by: &Actor,
    payment_id: i64,
    amount: Money,
    nature: Option<Nature>,
    reason: &str,
    key: &str,
) -> Result<RefundAsked, BillingError> {
    if let Some(known) = refunds::by_key(tx, key).await? {
        return Ok(RefundAsked::Already(known));
    }
    let refund = crate::billing::jobs::payments::request_refund(tx, payment_id, amount, nature, reason, key).await?;
    let entry = Record::new("refund.request", format!("payment:{payment_id}")).details(json!({
        "refund_id": refund.id,
        "amount_minor": refund.amount.minor,
        "currency": refund.amount.currency,
        "reason": refund.reason,
        "nature": refund.nature.map(Nature::as_str),
    }));
    audit::record_in(tx, by, entry).await?;
    Ok(RefundAsked::New(refund))
}
