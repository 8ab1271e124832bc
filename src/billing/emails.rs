//! The e-mails of the billing domain: an issued invoice or credit note with
//! its PDF, a receipt after a payment, and reminders (relances) of an overdue
//! invoice at three levels, the third a formal notice (mise en demeure).
//! Each call takes the idempotency key of the job that makes it: a retried
//! job does not send its e-mail twice.
//!
//! Recipients: an invoice or credit note goes to the e-mail it was issued to
//! (its snapshot), else to the customer's current one; receipts and
//! reminders go to the customer's current e-mail, else to the snapshot's.

use chrono::{Days, NaiveDate};
use serde_json::{json, Value};
use thiserror::Error;

use super::documents;
use super::error::BillingError;
use super::invoices::{self, Invoice, InvoiceKind, InvoiceStatus, Snapshot};
use super::payments::{self, Payment, PaymentFilter};
use super::{customers, render};
use crate::mail::{templates, Attachment, MailError, Mailer, OutgoingEmail, Sender, SentEmail};
use crate::money::{Currency, Money};
use crate::store::{Store, StoreError};

/// The seller, as the sender of the business's e-mails, when the billing
/// settings name an e-mail.
pub async fn sender(store: &Store) -> Result<Option<Sender>, BillingError> {
    match super::settings::load(store).await {
        Ok(s) => Ok(s.email.map(|email| Sender {
            name: Some(s.seller_name),
            email,
        })),
        Err(BillingError::NoSettings) => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Debug, Error)]
pub enum EmailError {
    /// Nowhere to send it: permanent until the customer gets an e-mail address.
    #[error("{document}: the customer {customer} has no e-mail address (add one to the customer, then send again)")]
    NoRecipient { document: String, customer: String },
    /// This e-mail makes no sense for the document in its state (a draft, a
    /// paid invoice to remind, a payment not received).
    #[error("{0}")]
    NotSendable(String),
    #[error(transparent)]
    Billing(#[from] BillingError),
    #[error(transparent)]
    Mail(#[from] MailError),
}

impl EmailError {
    /// Whether the same call later may succeed (a job retries it, or else discards it).
    pub fn is_transient(&self) -> bool {
        match self {
            EmailError::Mail(e) => e.is_transient(),
            EmailError::Billing(BillingError::Store(e)) => e.is_transient(),
            _ => false,
        }
    }

    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }
}

impl From<StoreError> for EmailError {
    fn from(e: StoreError) -> Self {
        EmailError::Billing(BillingError::from(e))
    }
}

/// The flat-rate recovery indemnity owed by a business paying late (Code de commerce D441-5).
fn indemnity() -> String {
    Money::new(4000, Currency::EUR).format_fr()
}

fn date_fr(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// An issued document: its reference, snapshot, dates.
struct Issued<'a> {
    reference: &'a str,
    snapshot: &'a Snapshot,
    issue_date: NaiveDate,
    due_date: NaiveDate,
}

fn issued(invoice: &Invoice) -> Result<Issued<'_>, EmailError> {
    match (
        &invoice.reference,
        &invoice.snapshot,
        invoice.issue_date,
        invoice.due_date,
    ) {
        (Some(reference), Some(snapshot), Some(issue_date), Some(due_date))
            if invoice.status != InvoiceStatus::Draft =>
        {
            Ok(Issued {
                reference,
                snapshot,
                issue_date,
                due_date,
            })
        }
        _ => Err(EmailError::NotSendable(format!(
            "invoice {} is a draft: issue it before sending it",
            invoice.id
        ))),
    }
}

/// Where the e-mail about `invoice` goes; see the module's notes.
async fn recipient(
    store: &Store,
    invoice: &Invoice,
    doc: &Issued<'_>,
    current_first: bool,
) -> Result<String, EmailError> {
    let current = customers::get(store, invoice.customer_id).await?.email;
    let frozen = doc.snapshot.customer.email.clone();
    let (first, second) = if current_first {
        (current, frozen)
    } else {
        (frozen, current)
    };
    first
        .or(second)
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .ok_or_else(|| EmailError::NoRecipient {
            document: doc.reference.to_string(),
            customer: doc.snapshot.customer.name.clone(),
        })
}

/// What every template knows: seller, customer and the legal wording inputs.
fn base_context(doc: &Issued<'_>) -> serde_json::Map<String, Value> {
    let seller = &doc.snapshot.seller;
    let customer = &doc.snapshot.customer;
    let mut context = serde_json::Map::new();
    context.insert(
        "seller".into(),
        json!({
            "name": seller.seller_name,
            "email": seller.email,
            "siren": seller.siren,
            "address_lines": seller.address.printed_lines(),
        }),
    );
    context.insert(
        "customer".into(),
        json!({ "name": customer.name, "business": customer.business }),
    );
    context.insert("late_penalty_rate".into(), json!(seller.late_penalty_rate.to_string()));
    context.insert("indemnity".into(), json!(indemnity()));
    context
}

fn invoice_summary(invoice: &Invoice, doc: &Issued<'_>) -> Value {
    json!({
        "reference": doc.reference,
        "issue_date": date_fr(doc.issue_date),
        "due_date": date_fr(doc.due_date),
        "total": invoice.total.format_fr(),
        "balance": invoice.balance_due().format_fr(),
        "paid": invoice.balance_due().minor == 0,
    })
}

fn pdf(filename: String, bytes: Vec<u8>) -> Attachment {
    Attachment {
        filename,
        content_type: "application/pdf".into(),
        bytes,
    }
}

/// Sends issued invoice or credit note `invoice_id` to its customer with its
/// PDF attached (`<reference>.pdf`), then records it as sent on the invoice.
#[tracing::instrument(skip(store, mailer))]
pub async fn send_invoice(
    store: &Store,
    mailer: &Mailer,
    invoice_id: i64,
    idempotency_key: &str,
) -> Result<SentEmail, EmailError> {
    let invoice = invoices::get(store, invoice_id).await?;
    let doc = issued(&invoice)?;
    let to = recipient(store, &invoice, &doc, false).await?;
    let attachment = format!("{}.pdf", doc.reference);
    let mut context = base_context(&doc);
    context.insert("document".into(), invoice_summary(&invoice, &doc));
    context.insert("attachment".into(), json!(attachment));
    let kind = match invoice.kind {
        InvoiceKind::Invoice => "invoice",
        InvoiceKind::CreditNote => {
            let original_id = invoice
                .credited_invoice_id
                .ok_or_else(|| EmailError::NotSendable(format!("credit note {} cites no invoice", doc.reference)))?;
            let original = invoices::get(store, original_id).await?;
            context.insert(
                "credited".into(),
                json!({
                    "reference": original.reference,
                    "issue_date": original.issue_date.map(date_fr),
                }),
            );
            context.insert("reason".into(), json!(invoice.reason));
            "credit_note"
        }
    };
    let rendered = templates::render(kind, &context)?;
    let bytes = render::invoice_pdf(store, invoice_id).await?;
    let sent = mailer
        .send(
            store,
            OutgoingEmail {
                idempotency_key: idempotency_key.to_string(),
                from: sender(store).await?,
                kind: kind.to_string(),
                to,
                subject: rendered.subject,
                text: rendered.text,
                html: Some(rendered.html),
                attachments: vec![pdf(attachment, bytes)],
                invoice_id: Some(invoice_id),
                payment_id: None,
            },
        )
        .await?;
    let mut tx = store.begin().await?;
    invoices::mark_sent(&mut tx, invoice_id, sent.sent_at).await?;
    tx.commit().await?;
    Ok(sent)
}

/// Sends the receipt of received payment `payment_id`; once the invoice is
/// fully paid, the receipt carries the invoice marked paid
/// (`<reference>-acquittee.pdf`).
#[tracing::instrument(skip(store, mailer))]
pub async fn send_receipt(
    store: &Store,
    mailer: &Mailer,
    payment_id: i64,
    idempotency_key: &str,
) -> Result<SentEmail, EmailError> {
    let payment = payments::get(store, payment_id).await?;
    let (Some(received_on), Some(invoice_id), true) =
        (payment.received_on, payment.invoice_id, payment.status.received())
    else {
        return Err(EmailError::NotSendable(format!(
            "payment {payment_id} is {}: a receipt is sent once the money is received",
            payment.status.as_str()
        )));
    };
    let invoice = invoices::get(store, invoice_id).await?;
    let doc = issued(&invoice)?;
    let to = recipient(store, &invoice, &doc, true).await?;
    let fully_paid = invoice.status == InvoiceStatus::Paid;
    let mut attachments = Vec::new();
    if fully_paid {
        let mut printable = render::invoice_document(&invoice, None, None)?;
        printable.paid_on = Some(last_received(store, &invoice).await?.unwrap_or(received_on));
        let bytes = documents::invoice_pdf(&printable).map_err(|e| BillingError::Document(e.to_string()))?;
        attachments.push(pdf(format!("{}-acquittee.pdf", doc.reference), bytes));
    }
    let mut context = base_context(&doc);
    context.insert("invoice".into(), invoice_summary(&invoice, &doc));
    context.insert(
        "payment".into(),
        json!({
            "amount": payment.amount.format_fr(),
            "received_on": date_fr(received_on),
            "method": payment.method.label_fr(),
        }),
    );
    context.insert("fully_paid".into(), json!(fully_paid));
    context.insert(
        "attachment".into(),
        json!(attachments.first().map(|a| a.filename.clone())),
    );
    let rendered = templates::render("receipt", &context)?;
    Ok(mailer
        .send(
            store,
            OutgoingEmail {
                idempotency_key: idempotency_key.to_string(),
                from: sender(store).await?,
                kind: "receipt".into(),
                to,
                subject: rendered.subject,
                text: rendered.text,
                html: Some(rendered.html),
                attachments,
                invoice_id: Some(invoice_id),
                payment_id: Some(payment_id),
            },
        )
        .await?)
}

/// The date the last payment of `invoice` was received.
async fn last_received(store: &Store, invoice: &Invoice) -> Result<Option<NaiveDate>, EmailError> {
    let filter = PaymentFilter {
        customer_id: Some(invoice.customer_id),
        limit: 1000,
        ..PaymentFilter::default()
    };
    Ok(payments::list(store, &filter)
        .await?
        .iter()
        .filter(|p: &&Payment| p.invoice_id == Some(invoice.id) && p.status.received())
        .filter_map(|p| p.received_on)
        .max())
}

/// Sends reminder `level` (1: a friendly reminder, 2: a second reminder,
/// 3: a formal notice to pay within eight days) of overdue invoice
/// `invoice_id`, with its PDF. Refused for an invoice paid, cancelled or not
/// yet due.
#[tracing::instrument(skip(store, mailer))]
pub async fn send_reminder(
    store: &Store,
    mailer: &Mailer,
    invoice_id: i64,
    level: u8,
    idempotency_key: &str,
) -> Result<SentEmail, EmailError> {
    if !(1..=3).contains(&level) {
        return Err(EmailError::NotSendable(format!(
            "reminder level {level}: expected 1, 2 or 3"
        )));
    }
    let invoice = invoices::get(store, invoice_id).await?;
    let doc = issued(&invoice)?;
    if invoice.kind != InvoiceKind::Invoice
        || invoice.status != InvoiceStatus::Issued
        || invoice.balance_due().minor == 0
    {
        return Err(EmailError::NotSendable(format!(
            "{} is {}: nothing to remind",
            doc.reference,
            match (invoice.kind, invoice.status) {
                (InvoiceKind::CreditNote, _) => "a credit note",
                (_, InvoiceStatus::Cancelled) => "cancelled",
                _ => "paid",
            }
        )));
    }
    let today = store.now().await?.date_naive();
    if doc.due_date >= today {
        return Err(EmailError::NotSendable(format!(
            "{} is due on {}: no reminder before it is overdue",
            doc.reference,
            date_fr(doc.due_date)
        )));
    }
    let to = recipient(store, &invoice, &doc, true).await?;
    let attachment = format!("{}.pdf", doc.reference);
    let deadline = today.checked_add_days(Days::new(8)).unwrap_or(today);
    let mut context = base_context(&doc);
    context.insert("invoice".into(), invoice_summary(&invoice, &doc));
    context.insert("level".into(), json!(level));
    context.insert("days_late".into(), json!((today - doc.due_date).num_days()));
    context.insert("deadline".into(), json!(date_fr(deadline)));
    context.insert("attachment".into(), json!(attachment));
    let rendered = templates::render("reminder", &context)?;
    let bytes = render::invoice_pdf(store, invoice_id).await?;
    Ok(mailer
        .send(
            store,
            OutgoingEmail {
                idempotency_key: idempotency_key.to_string(),
                from: sender(store).await?,
                kind: format!("reminder_{level}"),
                to,
                subject: rendered.subject,
                text: rendered.text,
                html: Some(rendered.html),
                attachments: vec![pdf(attachment, bytes)],
                invoice_id: Some(invoice_id),
                payment_id: None,
            },
        )
        .await?)
}

/// The e-mails recorded for an invoice or credit note, oldest first.
pub async fn for_invoice(store: &Store, invoice_id: i64) -> Result<Vec<crate::mail::EmailRecord>, BillingError> {
    Ok(crate::mail::for_invoice(store, invoice_id).await?)
}

/// The e-mails recorded for a payment (its receipt), oldest first.
pub async fn for_payment(store: &Store, payment_id: i64) -> Result<Vec<crate::mail::EmailRecord>, BillingError> {
    Ok(crate::mail::for_payment(store, payment_id).await?)
}
