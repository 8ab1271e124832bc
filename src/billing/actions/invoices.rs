//! Issuing, re-sending, deleting and crediting invoices.

use chrono::NaiveDate;
use serde_json::json;

use crate::audit::{self, Actor, Record};
use crate::billing::catalog::Nature;
use crate::billing::credit_notes::{self, CreditRequest};
use crate::billing::invoices::{self, Invoice, InvoiceStatus};
use crate::billing::jobs::emails::{send_again, send_later};
use crate::billing::mailing::{self, EmailChoices};
use crate::billing::BillingError;
use crate::store::Tx;

/// A document and the job that e-mails it (none when its customer chose not
/// to receive such documents by e-mail).
#[derive(Debug, Clone)]
pub struct Sent {
    pub invoice: Invoice,
    pub email_job_id: Option<i64>,
}

/// Records a draft (no number yet), with its payment terms when they differ
/// from the seller's default.
pub async fn create_draft(
    tx: &mut Tx,
    by: &Actor,
    new: invoices::NewInvoice,
    payment_terms_days: Option<i32>,
) -> Result<Invoice, BillingError> {
    let draft = invoices::create_draft(tx, new).await?;
    invoices::set_payment_terms(tx, draft.id, payment_terms_days).await?;
    let entry = Record::new("invoice.create", format!("invoice:{}", draft.id)).details(json!({
        "customer_id": draft.customer_id,
        "total_minor": draft.total.minor,
        "currency": draft.total.currency,
        "lines": draft.lines.len(),
        "payment_terms_days": payment_terms_days,
        "service_date": draft.service_date,
        "service_period_start": draft.service_period_start,
        "service_period_end": draft.service_period_end,
        "purchase_order": draft.purchase_order,
        "delivery_address": draft.delivery_address,
    }));
    audit::record_in(tx, by, entry).await?;
    Ok(draft)
}

/// Rewrites draft `id` (customer, lines, details, payment terms); the entry
/// keeps its total and lines count before and after.
pub async fn edit_draft(
    tx: &mut Tx,
    by: &Actor,
    id: i64,
    new: invoices::NewInvoice,
    payment_terms_days: Option<i32>,
) -> Result<Invoice, BillingError> {
    let before = invoices::lock(tx, id).await?;
    invoices::edit_draft(tx, id, new).await?;
    invoices::set_payment_terms(tx, id, payment_terms_days).await?;
    let draft = invoices::get_in(tx, id).await?;
    let entry = Record::new("invoice.edit", format!("invoice:{id}")).details(json!({
        "customer_id": draft.customer_id,
        "total_minor": draft.total.minor,
        "currency": draft.total.currency,
        "lines": draft.lines.len(),
        "payment_terms_days": payment_terms_days,
        "before": {
            "customer_id": before.customer_id,
            "total_minor": before.total.minor,
            "lines": before.lines.len(),
        },
    }));
    audit::record_in(tx, by, entry).await?;
    Ok(draft)
}

/// Issues draft `id` on `on` (its number taken in `tx`) and e-mails it,
/// unless its customer chose not to receive invoices by e-mail.
pub async fn issue(tx: &mut Tx, by: &Actor, id: i64, on: NaiveDate) -> Result<Sent, BillingError> {
    let invoice = invoices::issue(tx, id, on).await?;
    let email_job_id = send_later(tx, id).await?;
    let entry = Record::new("invoice.issue", format!("invoice:{id}")).details(json!({
        "reference": invoice.reference,
        "total_minor": invoice.total.minor,
        "currency": invoice.total.currency,
        "issue_date": invoice.issue_date,
        "email_job_id": email_job_id,
    }));
    audit::record_in(tx, by, entry).await?;
    tracing::info!(
        reference = invoice.reference,
        e_mailed = email_job_id.is_some(),
        "invoice issued"
    );
    Ok(Sent { invoice, email_job_id })
}

/// Issues draft `id` on `on` as the operator confirmed it: `email` is their
/// answer to "send it by e-mail?", remembered for the customer (their
/// invoices are e-mailed from now on, or not) when it differs from what was;
/// `None` keeps the customer's choice. One transaction: the choice, the
/// number, the e-mail job and the audit entries stand or fall together.
pub async fn issue_confirmed(
    tx: &mut Tx,
    by: &Actor,
    id: i64,
    on: NaiveDate,
    email: Option<bool>,
) -> Result<Sent, BillingError> {
    if let Some(send) = email {
        let draft = invoices::lock(tx, id).await?;
        let choices = mailing::get_in(tx, draft.customer_id).await?;
        if choices.invoices != send {
            let changed = EmailChoices {
                invoices: send,
                ..choices
            };
            super::customers::set_email_choices(tx, by, draft.customer_id, changed).await?;
        }
    }
    issue(tx, by, id, on).await
}

/// E-mails an issued invoice or credit note again (a new job: a new e-mail).
pub async fn resend(tx: &mut Tx, by: &Actor, id: i64) -> Result<Sent, BillingError> {
    let invoice = invoices::lock(tx, id).await?;
    if invoice.status == InvoiceStatus::Draft {
        return Err(BillingError::Conflict(crate::text!(
            "un brouillon ne s'envoie pas : émettez-le d'abord"
        )));
    }
    let email_job_id = Some(send_again(tx, id).await?);
    let entry = Record::new("invoice.resend", format!("invoice:{id}"))
        .details(json!({ "reference": invoice.reference, "email_job_id": email_job_id }));
    audit::record_in(tx, by, entry).await?;
    Ok(Sent { invoice, email_job_id })
}

/// Deletes draft `id`; returns it as it was.
pub async fn delete_draft(tx: &mut Tx, by: &Actor, id: i64) -> Result<Invoice, BillingError> {
    let draft = invoices::lock(tx, id).await?;
    invoices::delete_draft(tx, id).await?;
    let entry = Record::new("invoice.delete", format!("invoice:{id}")).details(json!({
        "customer_id": draft.customer_id,
        "total_minor": draft.total.minor,
        "currency": draft.total.currency,
    }));
    audit::record_in(tx, by, entry).await?;
    Ok(draft)
}

/// Credits invoice `id` with a credit note (its own series), and e-mails the note.
pub async fn credit(tx: &mut Tx, by: &Actor, id: i64, request: CreditRequest) -> Result<Sent, BillingError> {
    let credited = invoices::lock(tx, id).await?;
    let reason = request.reason.trim().to_string();
    let nature = request.nature;
    let note = credit_notes::issue(tx, id, request).await?;
    let email_job_id = send_later(tx, note.id).await?;
    let entry = Record::new("credit_note.issue", format!("invoice:{}", note.id)).details(json!({
        "reference": note.reference,
        "credited_invoice_id": id,
        "credited_reference": credited.reference,
        "amount_minor": note.total.minor,
        "currency": note.total.currency,
        "reason": reason,
        "nature": nature.map(Nature::as_str),
        "email_job_id": email_job_id,
    }));
    audit::record_in(tx, by, entry).await?;
    Ok(Sent {
        invoice: note,
        email_job_id,
    })
}
