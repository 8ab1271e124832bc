//! Payments: the list (filtered by status and provider), a payment's page
//! (amount, status, provider and reference, its refunds, its receipt),
//! refreshed live while something is pending; recording a manual payment on
//! an invoice (`record`), and refunding (`refund`: form, confirmation, confirm).

mod record;
mod refund;
pub(super) mod sort;

use axum::response::{IntoResponse, Response};
use axum::Json;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

use super::{empty_as_none, filter, filter_params, next_before, Admin, AdminError, Path, Query, PAGE_SIZE};
use crate::billing::payments::{self, Payment, PaymentFilter, PaymentSort, PaymentStatus};
use crate::billing::refunds::{self, Refund, RefundStatus};
use crate::billing::{customers, emails, invoices};
use crate::store::Store;
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    crate::template!("admin/payments/list.html"),
    crate::template!("admin/payments/show.html"),
    crate::template!("admin/payments/refund.html"),
    crate::template!("admin/payments/refund_confirm.html"),
    crate::template!("admin/payments/words.html"),
    crate::template!("admin/payments/sort.html"),
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
    /// A column to sort by (`date`, `amount`, `customer`, `invoice`,
    /// `state`), `dir` its direction.
    #[serde(default)]
    sort: String,
    #[serde(default)]
    dir: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    page: Option<i64>,
}

async fn list(admin: Admin, Query(q): Query<ListQuery>) -> Result<Response, AdminError> {
    let status = filter("status", &q.status, PaymentStatus::parse)?;
    let provider = filter("provider", &q.provider, |p| {
        PROVIDERS.contains(&p).then(|| p.to_string()).ok_or(())
    })?;
    let order = sort::order(&q.sort, &q.dir, q.page, PaymentSort::parse)?;
    let store = &admin.state.store;
    let mut filter = PaymentFilter {
        customer_id: q.customer_id,
        status,
        provider,
        limit: PAGE_SIZE,
        before_id: q.before,
        ..PaymentFilter::default()
    };
    if let Some(column) = order.column {
        // Sorted: paged by offset, one more row telling whether a next page exists.
        filter.sort = column;
        filter.descending = order.descending;
        filter.offset = order.offset();
        filter.limit = PAGE_SIZE + 1;
        filter.before_id = None;
    }
    let mut rows = payments::list(store, &filter).await?;
    let more = order.column.is_some() && rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let next = match order.column {
        None => next_before(&rows, PAGE_SIZE, |p| p.id),
        Some(_) => None,
    };
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
            sorted => order.column.is_some(),
            sort => order.column.map_or("date", PaymentSort::as_str),
            dir => if order.column.is_some() { order.dir() } else { "desc" },
            page => order.page,
            has_more => more,
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
            reference => human_reference(&payment),
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

/// What a person recognises a payment by, besides its means and invoice:
/// the day the money came (or the payment was recorded), and the
/// provider's own id of it (a Stripe or PayPal id, the bank's reference of
/// an imported transfer). Comptoir's own keys ("manual-admin-payment-…:charge")
/// are not one: the page keeps them under "Référence technique".
fn human_reference(p: &Payment) -> serde_json::Value {
    let on = match p.received_on {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => p
            .created_at
            .with_timezone(&crate::local_time::zone())
            .format("%Y-%m-%d")
            .to_string(),
    };
    let own = p
        .provider_reference
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .filter(|r| !(p.provider == "manual" && r.starts_with("manual-")));
    json!({
        "on": on,
        "provider_id": own,
        "from_bank": p.provider == "manual",
    })
}

/// A payment's state in words, for the live page.
fn payment_state(status: PaymentStatus) -> crate::i18n::Text {
    use crate::text;
    match status {
        PaymentStatus::Initiated => text!("initié"),
        PaymentStatus::Pending => text!("en attente"),
        PaymentStatus::Completed => text!("encaissé"),
        PaymentStatus::Failed => text!("échoué"),
        PaymentStatus::Refunded => text!("remboursé"),
        PaymentStatus::PartiallyRefunded => text!("partiellement remboursé"),
    }
}

/// A refund's state in words, for the live page.
fn refund_state(status: RefundStatus) -> crate::i18n::Text {
    use crate::text;
    match status {
        RefundStatus::Pending => text!("demandé"),
        RefundStatus::Completed => text!("effectué"),
        RefundStatus::Failed => text!("échoué"),
    }
}

/// `{status, refund_status, done}` and their words (`*_label`, in the
/// operator's language): what the payment page polls.
async fn status_json(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let payment = payments::get(store, id).await?;
    let refunds = refunds::for_payment(store, id).await?;
    Ok(Json(json!({
        "status": payment.status.as_str(),
        "refunded": payment.refunded.format_fr(),
        "status_label": admin.tr(payment_state(payment.status)),
        "refund_status": refunds.last().map(|r| r.status.as_str()),
        "refund_status_label": refunds.last().map(|r| admin.tr(refund_state(r.status))),
        "done": settled(&payment, &refunds),
    }))
    .into_response())
}
