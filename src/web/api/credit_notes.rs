//! Credit notes through the API: `POST /api/invoices/{id}/credit-notes`
//! (against an issued invoice: all that remains or a part, a reason, one
//! nature or split over the invoice's, and what happens to the money), then
//! `GET /api/credit-notes/{id}` and its `/pdf` and `/xml`.
//!
//! `settlement: "credit"` issues the credit note at once (201): the amount
//! is deducted from what the customer owes. `settlement: "refund"` pays the
//! money back on a payment received for the invoice: the refund is reserved
//! with its audit entry and its job (202); the job pays it back and issues
//! the credit note, which then appears in the invoice's `credit_note_ids`.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::Fields;
use super::extract::from_value;
use super::idempotency::{answer, Answer, Idempotency, Keep};
use super::invoices::{document_view, download, of_kind, DocumentView, Format};
use super::money::{ApiMoney, MoneyIn};
use super::{Api, ApiError, Json, Path};
use crate::billing::actions::invoices as invoice_actions;
use crate::billing::actions::payments::{self as payment_actions, RefundAsked};
use crate::billing::catalog::Nature;
use crate::billing::credit_notes::CreditRequest;
use crate::billing::dates;
use crate::billing::invoices::{Invoice, InvoiceKind};
use crate::billing::payments::{self, Payment, PaymentFilter};
use crate::billing::refunds::{Refund, RefundStatus};
use crate::money::Money;
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/api/invoices/{id}/credit-notes", Access::ApiKey, create)
        .get("/api/credit-notes/{id}", Access::ApiKey, show)
        .get("/api/credit-notes/{id}/pdf", Access::ApiKey, pdf)
        .get("/api/credit-notes/{id}/xml", Access::ApiKey, xml)
}

/// What happens to the money a credit note gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Settlement {
    /// Deducted from what the customer owes (or from the next invoice).
    Credit,
    /// Paid back on a payment received for the invoice.
    Refund,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateCreditNote {
    /// Left out: everything that remains creditable on the invoice.
    #[serde(default)]
    amount: Option<MoneyIn>,
    reason: String,
    /// Credit this nature only; left out: split over the invoice's natures.
    #[serde(default)]
    nature: Option<Nature>,
    settlement: Settlement,
    /// With `refund`: the payment to pay back on (by default the newest
    /// payment of the invoice that can refund the amount).
    #[serde(default)]
    payment_id: Option<i64>,
}

#[derive(Debug, Serialize)]
struct RefundView {
    id: i64,
    payment_id: i64,
    status: RefundStatus,
    amount: ApiMoney,
    reason: String,
    nature: Option<Nature>,
    /// Issued once the money went back.
    credit_note_id: Option<i64>,
    refunded_on: Option<NaiveDate>,
}

impl From<Refund> for RefundView {
    fn from(r: Refund) -> Self {
        RefundView {
            id: r.id,
            payment_id: r.payment_id,
            status: r.status,
            amount: r.amount.into(),
            reason: r.reason,
            nature: r.nature,
            credit_note_id: r.credit_note_id,
            refunded_on: r.refunded_on,
        }
    }
}

#[derive(Debug, Serialize)]
struct RefundAccepted {
    refund: RefundView,
}

async fn create(
    api: Api,
    idem: Idempotency,
    Path(id): Path<i64>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let request: CreateCreditNote = from_value(body.clone())?;
    let key = idem
        .scoped(api.key.id)
        .unwrap_or_else(|| format!("api-refund-{}", crate::auth::random_token(12)));
    idem.run(&api, &body, |keep| {
        check_and_credit(api.clone(), id, request, key, keep)
    })
    .await
}

/// The newest payment received that can still pay back `amount`.
fn refundable(payments: &[Payment], amount: i64) -> Option<&Payment> {
    payments
        .iter()
        .filter(|p| p.status.received() && p.amount.minor - p.refunded.minor >= amount)
        .max_by_key(|p| p.id)
}

async fn check_and_credit(api: Api, id: i64, r: CreateCreditNote, key: String, keep: Keep) -> Result<Answer, ApiError> {
    let store = &api.state.store;
    let invoice = of_kind(store, id, InvoiceKind::Invoice).await?;
    let mut fields = Fields::new();
    let amount = match &r.amount {
        None => None,
        Some(a) => match a.check("amount", &mut fields) {
            Some(m) if m.minor <= 0 => {
                fields.add("amount.minor", crate::text!("doit être positif"));
                None
            }
            Some(m) => Some(m),
            None => None,
        },
    };
    if r.reason.trim().is_empty() {
        fields.add("reason", crate::text!("obligatoire : pourquoi la facture est créditée"));
    }
    if r.settlement == Settlement::Credit && r.payment_id.is_some() {
        fields.add("payment_id", crate::text!("seulement avec settlement refund"));
    }
    fields.finish()?;
    match r.settlement {
        Settlement::Credit => credit(api, invoice, amount, r.reason, r.nature, keep).await,
        Settlement::Refund => refund(api, invoice, amount, r, key, keep).await,
    }
}

async fn credit(
    api: Api,
    invoice: Invoice,
    amount: Option<Money>,
    reason: String,
    nature: Option<Nature>,
    keep: Keep,
) -> Result<Answer, ApiError> {
    let store = &api.state.store;
    let today = dates::today(store).await?;
    let mut tx = store.begin().await?;
    let request = CreditRequest {
        amount,
        reason,
        issue_date: today,
        nature,
    };
    let sent = invoice_actions::credit(&mut tx, &api.actor, invoice.id, request).await?;
    let answered = answer(StatusCode::CREATED, &DocumentView::new(sent.invoice, Vec::new()))?;
    keep.answer_in(&mut tx, &answered).await?;
    tx.commit().await?;
    Ok(answered)
}

async fn refund(
    api: Api,
    invoice: Invoice,
    amount: Option<Money>,
    r: CreateCreditNote,
    key: String,
    keep: Keep,
) -> Result<Answer, ApiError> {
    let store = &api.state.store;
    // All that remains creditable, when no amount is given.
    let amount = amount.unwrap_or(Money::new(
        invoice.total.minor - invoice.credited.minor,
        invoice.total.currency,
    ));
    let filter = PaymentFilter {
        invoice_id: Some(invoice.id),
        limit: 1000,
        ..PaymentFilter::default()
    };
    let received = payments::list(store, &filter).await?;
    let payment_id = match r.payment_id {
        Some(p) if received.iter().any(|k| k.id == p) => p,
        Some(p) => {
            return Err(ApiError::field(
                "payment_id",
                crate::text!("le paiement {payment} n'est pas un paiement de cette facture", payment = p),
            ))
        }
        None => match refundable(&received, amount.minor) {
            Some(p) => p.id,
            None => {
                return Err(ApiError::field(
                    "payment_id",
                    crate::text!(
                        "aucun paiement reçu pour cette facture ne peut rembourser ce montant : donnez settlement credit, ou un montant plus petit"
                    ),
                ))
            }
        },
    };
    let mut tx = store.begin().await?;
    let asked =
        payment_actions::request_refund(&mut tx, &api.actor, payment_id, amount, r.nature, &r.reason, &key).await?;
    let refund = match asked {
        RefundAsked::New(refund) | RefundAsked::Already(refund) => refund,
    };
    let answered = answer(StatusCode::ACCEPTED, &RefundAccepted { refund: refund.into() })?;
    keep.answer_in(&mut tx, &answered).await?;
    tx.commit().await?;
    Ok(answered)
}

async fn show(api: Api, Path(id): Path<i64>) -> Result<Json<DocumentView>, ApiError> {
    let store = &api.state.store;
    let note = of_kind(store, id, InvoiceKind::CreditNote).await?;
    Ok(Json(document_view(store, note).await?))
}

async fn pdf(api: Api, Path(id): Path<i64>) -> Result<Response, ApiError> {
    download(&api, id, InvoiceKind::CreditNote, Format::Pdf).await
}

async fn xml(api: Api, Path(id): Path<i64>) -> Result<Response, ApiError> {
    download(&api, id, InvoiceKind::CreditNote, Format::Xml).await
}
