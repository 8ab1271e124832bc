//! Payments: the list (filtered by status and provider), a payment's page
//! (amount, status, provider and reference, its refunds, its receipt),
//! refreshed live while something is pending; recording a manual payment on
//! an invoice (`record`), and refunding (`refund`: form, confirmation, confirm).

mod record;
mod refund;

use axum::response::{IntoResponse, Response};
use axum::Json;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

use super::{empty_as_none, filter, filter_params, next_before, Admin, AdminError, Path, Query, PAGE_SIZE};
use crate::billing::payments::{self, Payment, PaymentFilter, PaymentStatus};
use crate::billing::refunds::{self, Refund, RefundStatus};
use crate::billing::{customers, emails, invoices};
use crate::store::Store;
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    crate::template!("admin/payments/list.html"),
    crate::template!("admin/payments/show.html"),
    crate::template!("admin/payments/refund.html"),
    crate::template!("admin/payments/refund_confirm.html"),
];

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/payments", Access::Operator, list)
        .get("/admin/payments/{id}", Access::Operator, show)
        .get("/admin/payments/{id}/status.json", Access::Operator, status_json)
        .merge(record::routes())
        .merge(refund::routes())
}

/// The providers a payment may have gone through.
const PROVIDERS: [&str; 4] = ["manual", "stripe", "paypal", "simulated"];

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    provider: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    customer_id: Option<i64>,
    #[serde(default, deserialize_with = "empty_as_none")]
    before: Option<i64>,
}

async fn list(admin: Admin, Query(q): Query<ListQuery>) -> Result<Response, AdminError> {
    let status = filter("status", &q.status, PaymentStatus::parse)?;
    let provider = filter("provider", &q.provider, |p| {
        PROVIDERS.contains(&p).then(|| p.to_string()).ok_or(())
    })?;
    let store = &admin.state.store;
    let rows = payments::list(
        store,
        &PaymentFilter {
            customer_id: q.customer_id,
            status,
            provider,
            limit: PAGE_SIZE,
            before_id: q.before,
            ..PaymentFilter::default()
        },
    )
    .await?;
    let next = next_before(&rows, PAGE_SIZE, |p| p.id);
    let ids: Vec<i64> = rows.iter().map(|p| p.customer_id).collect();
    let names = customers::names(store, &ids).await?;
    let invoice_ids: Vec<i64> = rows.iter().filter_map(|p| p.invoice_id).collect();
    let references = crate::billing::invoices::references(store, &invoice_ids).await?;
    let rows: Vec<_> = rows
        .iter()
        .map(|p| {
            let invoice = p.invoice_id.and_then(|i| references.get(&i));
            json!({ "payment": p, "customer": names.get(&p.customer_id), "invoice": invoice })
        })
        .collect();
    let params = filter_params(&[
        ("status", q.status.trim().to_string()),
        ("provider", q.provider.trim().to_string()),
        ("customer_id", q.customer_id.map(|i| i.to_string()).unwrap_or_default()),
    ]);
    let statuses: Vec<&str> = PaymentStatus::ALL.iter().map(|s| s.as_str()).collect();
    admin.render(
        "admin/payments/list.html",
        "payments",
        context! {
            rows => rows,
            status => q.status.trim(),
            provider => q.provider.trim(),
            customer_id => q.customer_id,
            customers => super::billing_input::customer_choices(store, q.customer_id).await?,
            statuses => statuses,
            providers => PROVIDERS,
            params => params,
            next_before => next,
        },
    )
}

/// Nothing about the payment is still to happen: settled, no refund pending.
fn settled(payment: &Payment, refunds: &[Refund]) -> bool {
    !matches!(payment.status, PaymentStatus::Initiated | PaymentStatus::Pending)
        && refunds.iter().all(|r| r.status != RefundStatus::Pending)
}

/// What remains refundable on a payment whose money was received.
fn refundable(payment: &Payment) -> i64 {
    if payment.status.received() {
        (payment.amount.minor - payment.refunded.minor).max(0)
    } else {
        0
    }
}

/// A refund with the reference of its credit note, for the page.
async fn refund_rows(store: &Store, refunds: &[Refund]) -> Result<Vec<serde_json::Value>, AdminError> {
    let mut rows = Vec::with_capacity(refunds.len());
    for r in refunds {
        let note = match r.credit_note_id {
            Some(id) => invoices::get(store, id).await?.reference,
            None => None,
        };
        rows.push(json!({ "refund": r, "credit_note": note }));
    }
    Ok(rows)
}

async fn show(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let payment = payments::get(store, id).await?;
    let customer = customers::get(store, payment.customer_id).await?;
    let invoice = match payment.invoice_id {
        Some(i) => Some(invoices::get(store, i).await?),
        None => None,
    };
    let refunds = refunds::for_payment(store, id).await?;
    let receipts = emails::for_payment(store, id).await?;
    let rows = refund_rows(store, &refunds).await?;
    admin.render(
        "admin/payments/show.html",
        "payments",
        context! {
            payment => &payment,
            customer => &customer,
            invoice => &invoice,
            refunds => rows,
            latest_refund => refunds.last(),
            receipts => receipts,
            refundable => crate::money::Money::new(refundable(&payment), payment.amount.currency),
            can_refund => refundable(&payment) > 0,
            done => settled(&payment, &refunds),
        },
    )
}

/// `{status, refund_status, done}`: what the payment page polls.
async fn status_json(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let payment = payments::get(store, id).await?;
    let refunds = refunds::for_payment(store, id).await?;
    Ok(Json(json!({
        "status": payment.status.as_str(),
        "refunded": payment.refunded.format_fr(),
        "refund_status": refunds.last().map(|r| r.status.as_str()),
        "done": settled(&payment, &refunds),
    }))
    .into_response())
}
