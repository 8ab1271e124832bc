//! Invoices through the API: `POST /api/invoices` (a draft, its lines from
//! the catalogue by SKU or described in full), `GET /api/invoices` (newest
//! first, by customer and status), `GET /api/invoices/{id}`,
//! `POST /api/invoices/{id}/issue` (numbered, frozen, e-mailed),
//! `GET /api/invoices/{id}/pdf` and `/xml` (the Factur-X PDF and its CII XML),
//! and `POST /api/invoices/{id}/payments` (money received by transfer, cheque
//! or cash: it enters the livre de recettes). Every change goes through
//! `billing::actions`, which writes its audit entry in the same transaction.

mod create;
mod payments;

use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::idempotency::{answer, Answer, Idempotency, Keep};
use super::money::ApiMoney;
use super::{Api, ApiError, Json, Path, Query};
use crate::billing::actions::invoices as actions;
use crate::billing::address::PostalAddress;
use crate::billing::catalog::{Nature, Unit};
use crate::billing::invoices::{self, Invoice, InvoiceFilter, InvoiceKind, InvoiceLine, InvoiceStatus};
use crate::billing::{dates, render, settings, BillingError};
use crate::money::Money;
use crate::store::Store;
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/api/invoices", Access::ApiKey, create::create)
        .get("/api/invoices", Access::ApiKey, list)
        .get("/api/invoices/{id}", Access::ApiKey, show)
        .add(
            Method::PUT,
            "/api/invoices/{id}",
            Access::ApiKey,
            axum::routing::put(create::edit),
        )
        .post("/api/invoices/{id}/issue", Access::ApiKey, issue)
        .get("/api/invoices/{id}/pdf", Access::ApiKey, pdf)
        .get("/api/invoices/{id}/xml", Access::ApiKey, xml)
        .post("/api/invoices/{id}/payments", Access::ApiKey, payments::record)
}

#[derive(Debug, Serialize)]
struct LineView {
    position: i32,
    description: String,
    nature: Nature,
    /// Exact, as a decimal string.
    quantity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<Unit>,
    unit_price: ApiMoney,
    total: ApiMoney,
}

impl From<InvoiceLine> for LineView {
    fn from(l: InvoiceLine) -> Self {
        LineView {
            position: l.position,
            description: l.description,
            nature: l.nature,
            quantity: l.quantity.normalize().to_string(),
            unit: l.unit,
            unit_price: l.unit_price.into(),
            total: l.total.into(),
        }
    }
}

/// An invoice or a credit note (`kind`) as the API shows it.
#[derive(Debug, Serialize)]
pub(super) struct DocumentView {
    id: i64,
    kind: InvoiceKind,
    status: InvoiceStatus,
    /// The printed number (`F2026-0042`); none while draft.
    reference: Option<String>,
    customer_id: i64,
    issue_date: Option<NaiveDate>,
    /// None on a draft and on a credit note.
    due_date: Option<NaiveDate>,
    /// Days from issue to due date chosen for this invoice; none: the seller's default.
    payment_terms_days: Option<i32>,
    /// The date of the sale or service, or its period; none on a draft
    /// means the issue date.
    service_date: Option<NaiveDate>,
    service_period_start: Option<NaiveDate>,
    service_period_end: Option<NaiveDate>,
    purchase_order: Option<String>,
    /// Only when it differs from the customer's address.
    delivery_address: Option<PostalAddress>,
    total: ApiMoney,
    paid: ApiMoney,
    credited: ApiMoney,
    balance_due: ApiMoney,
    lines: Vec<LineView>,
    /// A credit note: the invoice it corrects, and why.
    credited_invoice_id: Option<i64>,
    reason: Option<String>,
    /// An invoice: its credit notes, oldest first.
    credit_note_ids: Vec<i64>,
    order_id: Option<i64>,
    contract_id: Option<i64>,
    sent_at: Option<DateTime<Utc>>,
}

impl DocumentView {
    /// `invoice` with the ids of its credit notes.
    pub(super) fn new(invoice: Invoice, credit_note_ids: Vec<i64>) -> DocumentView {
        let (due_date, balance_due) = match invoice.kind {
            InvoiceKind::Invoice => (invoice.due_date, invoice.balance_due()),
            InvoiceKind::CreditNote => (None, Money::zero(invoice.total.currency)),
        };
        DocumentView {
            id: invoice.id,
            kind: invoice.kind,
            status: invoice.status,
            reference: invoice.reference,
            customer_id: invoice.customer_id,
            issue_date: invoice.issue_date,
            due_date,
            payment_terms_days: invoice.payment_terms_days,
            service_date: invoice.service_date,
            service_period_start: invoice.service_period_start,
            service_period_end: invoice.service_period_end,
            purchase_order: invoice.purchase_order,
            delivery_address: invoice.delivery_address,
            total: invoice.total.into(),
            paid: invoice.paid.into(),
            credited: invoice.credited.into(),
            balance_due: balance_due.into(),
            lines: invoice.lines.into_iter().map(LineView::from).collect(),
            credited_invoice_id: invoice.credited_invoice_id,
            reason: invoice.reason,
            credit_note_ids,
            order_id: invoice.order_id,
            contract_id: invoice.contract_id,
            sent_at: invoice.sent_at,
        }
    }
}

/// The view of `invoice` as it stands, with its credit notes.
pub(super) async fn document_view(store: &Store, invoice: Invoice) -> Result<DocumentView, ApiError> {
    let credit_note_ids = match invoice.kind {
        InvoiceKind::CreditNote => Vec::new(),
        InvoiceKind::Invoice => {
            let filter = InvoiceFilter {
                kind: Some(InvoiceKind::CreditNote),
                credited_invoice_id: Some(invoice.id),
                limit: 1000,
                ..InvoiceFilter::default()
            };
            let mut ids: Vec<i64> = invoices::list(store, &filter).await?.iter().map(|n| n.id).collect();
            ids.sort_unstable();
            ids
        }
    };
    Ok(DocumentView::new(invoice, credit_note_ids))
}

/// Invoice or credit note `id`, 404 when it is of the other kind.
pub(super) async fn of_kind(store: &Store, id: i64, kind: InvoiceKind) -> Result<Invoice, ApiError> {
    let found = invoices::get(store, id).await?;
    if found.kind != kind {
        let what = match kind {
            InvoiceKind::Invoice => "invoice",
            InvoiceKind::CreditNote => "credit_note",
        };
        return Err(ApiError::NotFound(format!("{what} {id}")));
    }
    Ok(found)
}

/// A number (`2`, `1.5`) or a decimal string (`"1.5"`).
pub(super) fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => {
            let text = n.to_string();
            text.parse::<Decimal>()
                .or_else(|_| Decimal::from_scientific(&text))
                .ok()
        }
        Value::String(s) => s.trim().parse::<Decimal>().ok(),
        _ => None,
    }
}

#[derive(Debug, Serialize)]
struct InvoiceList {
    invoices: Vec<DocumentView>,
    /// Pass it as `before` for the next page; none on the last page.
    next_before: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    customer_id: Option<i64>,
    #[serde(default)]
    status: Option<InvoiceStatus>,
    /// 1 to 100, 50 by default.
    #[serde(default)]
    limit: Option<i64>,
    /// The `next_before` of the previous page.
    #[serde(default)]
    before: Option<i64>,
}

async fn list(api: Api, Query(q): Query<ListQuery>) -> Result<Json<InvoiceList>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", crate::text!("de 1 à {max}", max = 100)));
    }
    let store = &api.state.store;
    let filter = InvoiceFilter {
        customer_id: q.customer_id,
        status: q.status,
        kind: Some(InvoiceKind::Invoice),
        limit,
        before_id: q.before,
        ..InvoiceFilter::default()
    };
    let found = invoices::list(store, &filter).await?;
    let next_before = (found.len() as i64 == limit)
        .then(|| found.last().map(|i| i.id))
        .flatten();
    let mut views = Vec::with_capacity(found.len());
    for invoice in found {
        views.push(document_view(store, invoice).await?);
    }
    Ok(Json(InvoiceList {
        invoices: views,
        next_before,
    }))
}

async fn show(api: Api, Path(id): Path<i64>) -> Result<Json<DocumentView>, ApiError> {
    let store = &api.state.store;
    let invoice = of_kind(store, id, InvoiceKind::Invoice).await?;
    Ok(Json(document_view(store, invoice).await?))
}

async fn issue(api: Api, idem: Idempotency, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let caller = api.clone();
    idem.run(&api, &Value::Null, move |keep| issue_now(caller, id, keep))
        .await
}

async fn issue_now(api: Api, id: i64, keep: Keep) -> Result<Answer, ApiError> {
    let store = &api.state.store;
    of_kind(store, id, InvoiceKind::Invoice).await?;
    match settings::load(store).await {
        Ok(_) => {}
        Err(BillingError::NoSettings) => {
            return Err(ApiError::Conflict(crate::text!(
                "le vendeur n'est pas encore réglé (PUT /api/settings) : rien ne peut être émis"
            )))
        }
        Err(e) => return Err(e.into()),
    }
    let today = dates::today(store).await?;
    let mut tx = store.begin().await?;
    let sent = actions::issue(&mut tx, &api.actor, id, today).await?;
    // Just issued: no credit note can cite it yet.
    let answered = answer(StatusCode::OK, &DocumentView::new(sent.invoice, Vec::new()))?;
    keep.answer_in(&mut tx, &answered).await?;
    tx.commit().await?;
    Ok(answered)
}

/// The bytes of a document's file, to download.
pub(super) fn file(bytes: Vec<u8>, content_type: &'static str, reference: &str, extension: &str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type.to_string()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", render::file_name(reference, extension)),
            ),
            (CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// Which file of a document.
#[derive(Debug, Clone, Copy)]
pub(super) enum Format {
    Pdf,
    Xml,
}

/// The PDF or XML of issued document `id` of `kind`; a draft has none (409).
pub(super) async fn download(api: &Api, id: i64, kind: InvoiceKind, format: Format) -> Result<Response, ApiError> {
    let store = &api.state.store;
    let document = of_kind(store, id, kind).await?;
    let Some(reference) = document.reference else {
        return Err(ApiError::Conflict(crate::text!(
            "le brouillon {id} n'a pas de {format} : émettez-le d'abord",
            id = id,
            format = match format {
                Format::Pdf => "PDF",
                Format::Xml => "XML",
            }
        )));
    };
    Ok(match format {
        Format::Pdf => file(
            render::invoice_pdf(store, id).await?,
            "application/pdf",
            &reference,
            "pdf",
        ),
        Format::Xml => file(
            render::invoice_xml(store, id).await?,
            "application/xml",
            &reference,
            "xml",
        ),
    })
}

async fn pdf(api: Api, Path(id): Path<i64>) -> Result<Response, ApiError> {
    download(&api, id, InvoiceKind::Invoice, Format::Pdf).await
}

async fn xml(api: Api, Path(id): Path<i64>) -> Result<Response, ApiError> {
    download(&api, id, InvoiceKind::Invoice, Format::Xml).await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn decimals_from_numbers_and_strings() {
        assert_eq!(super::decimal(&json!(2)).unwrap().to_string(), "2");
        assert_eq!(super::decimal(&json!(1.5)).unwrap().to_string(), "1.5");
        assert_eq!(super::decimal(&json!("0.25")).unwrap().to_string(), "0.25");
        assert!(super::decimal(&json!("deux")).is_none());
        assert!(super::decimal(&json!(null)).is_none());
    }
}
