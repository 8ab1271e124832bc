//! Orders through the API: `POST /api/orders` (priced by the server, paid
//! through a provider at once), `GET /api/orders/{id}`, and
//! `POST /api/orders/{id}/capture` once the payer approved (PayPal).

mod create;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use super::idempotency::{answer, Answer, Idempotency};
use super::money::ApiMoney;
use super::payments::PaymentView;
use super::{Api, ApiError, Json, Path};
use crate::audit::{self, Record};
use crate::billing::catalog::Nature;
use crate::billing::jobs::payments::{self as payment_jobs, AskedBy, CapturePayment, Step, StepError};
use crate::billing::orders::{self, Order, OrderLine, OrderStatus};
use crate::billing::payments::{self, Payment, PaymentStatus};
use crate::jobs::{enqueue, EnqueueOptions};
use crate::store::Store;
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/api/orders", Access::ApiKey, create::create)
        .get("/api/orders/{id}", Access::ApiKey, show)
        .post("/api/orders/{id}/capture", Access::ApiKey, capture)
}

#[derive(Debug, Serialize)]
struct LineView {
    sku: String,
    name: String,
    nature: Nature,
    quantity: u32,
    unit_price: ApiMoney,
    total: ApiMoney,
}

impl From<OrderLine> for LineView {
    fn from(l: OrderLine) -> Self {
        LineView {
            sku: l.sku,
            name: l.name,
            nature: l.nature,
            quantity: l.quantity,
            unit_price: l.unit_price.into(),
            total: l.total.into(),
        }
    }
}

/// An order as the API shows it, with its payments (oldest first).
#[derive(Debug, Serialize)]
pub(super) struct OrderView {
    id: i64,
    customer_id: i64,
    status: OrderStatus,
    lines: Vec<LineView>,
    total: ApiMoney,
    /// Issued once the order is paid.
    invoice_id: Option<i64>,
    created_at: DateTime<Utc>,
    payments: Vec<PaymentView>,
}

impl OrderView {
    pub(super) fn new(order: Order, payments: Vec<Payment>) -> OrderView {
        OrderView {
            id: order.id,
            customer_id: order.customer_id,
            status: order.status,
            lines: order.lines.into_iter().map(LineView::from).collect(),
            total: order.total.into(),
            invoice_id: order.invoice_id,
            created_at: order.created_at,
            payments: payments.into_iter().map(PaymentView::from).collect(),
        }
    }
}

/// What creating or capturing answers: the order and the payment acted on.
#[derive(Debug, Serialize)]
pub(super) struct OrderAnswer {
    pub(super) order: OrderView,
    pub(super) payment: PaymentView,
}

async fn order_view(store: &Store, id: i64) -> Result<OrderView, ApiError> {
    let order = orders::get(store, id).await?;
    let payments = payments::for_order(store, id).await?;
    Ok(OrderView::new(order, payments))
}

/// The order and `payment_id` as they stand now; 202 while the payment is
/// still where it was before the provider answered (`waiting_in`), else `done`.
async fn order_answer(
    store: &Store,
    order_id: i64,
    payment_id: i64,
    waiting_in: PaymentStatus,
    done: StatusCode,
) -> Result<Answer, ApiError> {
    let order = order_view(store, order_id).await?;
    let payment = payments::get(store, payment_id).await?;
    let status = if payment.status == waiting_in {
        StatusCode::ACCEPTED
    } else {
        done
    };
    answer(
        status,
        &OrderAnswer {
            order,
            payment: payment.into(),
        },
    )
}

async fn show(api: Api, Path(id): Path<i64>) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(order_view(&api.state.store, id).await?))
}

/// Captures the order's payment that awaits it (a PayPal payment the payer
/// approved): 200 once captured, 202 if the provider did not answer (a job
/// retries), 422 `capture_refused` if the provider refuses (not approved yet).
async fn capture(api: Api, idem: Idempotency, Path(id): Path<i64>) -> Result<Response, ApiError> {
    // Safe to run again (the provider's capture has its own idempotency key):
    // its answer is kept after the work.
    idem.run(&api, &Value::Null, |_| capture_now(api.clone(), id)).await
}

async fn capture_now(api: Api, order_id: i64) -> Result<Answer, ApiError> {
    let store = &api.state.store;
    let order = orders::get(store, order_id).await?;
    let waiting = payments::for_order(store, order_id)
        .await?
        .into_iter()
        .rfind(|p| p.status == PaymentStatus::Pending);
    let payment_id = match (order.status, waiting) {
        (OrderStatus::Pending, Some(p)) => p.id,
        (OrderStatus::Pending, None) => {
            return Err(ApiError::Conflict(crate::text!(
                "la commande {order} n'a pas de paiement en attente de capture",
                order = order_id
            )))
        }
        (status, _) => {
            return Err(ApiError::Conflict(
                crate::text!("la commande {order} est {state}", order = order_id)
                    .with("state", crate::billing::error::order_state(status.as_str())),
            ))
        }
    };
    let asked_by = AskedBy {
        actor: &api.actor,
        action: "order.capture",
        target: format!("order:{order_id}"),
    };
    let step = payment_jobs::capture(store, &api.state.app.providers, payment_id, Some(&asked_by)).await;
    match &step {
        Ok(Step::Refused(reason)) => {
            return Err(ApiError::Refused {
                code: "capture_refused",
                message: crate::text!("le prestataire a refusé la capture : {reason}", reason = reason),
            })
        }
        // Recorded with its audit entry, in one transaction.
        Ok(Step::Recorded) => {}
        Ok(Step::NotDue) => {
            let entry = Record::new(asked_by.action, asked_by.target.clone())
                .details(json!({ "payment_id": payment_id, "outcome": "not_due" }));
            audit::record(store, &api.actor, entry).await?;
        }
        Ok(Step::Waiting) | Err(_) => {
            // Not settled, or no answer recorded: the capture job asks again
            // with the same key; it is enqueued with its audit entry.
            if let Err(e) = &step {
                log_step_error(e, payment_id);
            }
            let mut tx = store.begin().await?;
            enqueue(
                &mut tx,
                &CapturePayment { payment_id },
                EnqueueOptions::new().unique_key(format!("capture:{payment_id}")),
            )
            .await?;
            let entry = Record::new(asked_by.action, asked_by.target.clone())
                .details(json!({ "payment_id": payment_id, "outcome": "retrying" }));
            audit::record_in(&mut tx, &api.actor, entry).await?;
            tx.commit().await?;
        }
    }
    order_answer(store, order_id, payment_id, PaymentStatus::Pending, StatusCode::OK).await
}

fn log_step_error(e: &StepError, payment_id: i64) {
    match e {
        StepError::Provider(e) => tracing::warn!(payment_id, error = %e, "provider did not answer; a job retries"),
        StepError::Billing(e) => tracing::error!(payment_id, error = %e, "provider answer not recorded; a job retries"),
    }
}
