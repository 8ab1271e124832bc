//! `GET /api/payments/{id}`: where a payment stands — what a checkout page
//! polls after submitting (initiated → pending → completed or failed).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::money::ApiMoney;
use super::{Api, ApiError, Json, Path};
use crate::billing::payments::{self, Payment, PaymentMethod, PaymentStatus};
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new().get("/api/payments/{id}", Access::ApiKey, show)
}

/// A payment as the API shows it.
#[derive(Debug, Serialize)]
pub(super) struct PaymentView {
    id: i64,
    customer_id: i64,
    order_id: Option<i64>,
    invoice_id: Option<i64>,
    status: PaymentStatus,
    provider: String,
    method: PaymentMethod,
    amount: ApiMoney,
    fee: ApiMoney,
    refunded: ApiMoney,
    /// The provider's id: Stripe PaymentIntent, PayPal order (then capture).
    provider_reference: Option<String>,
    /// Where the payer approves the payment (PayPal), while it waits for that.
    approval_url: Option<String>,
    failure_reason: Option<String>,
    received_on: Option<NaiveDate>,
    created_at: DateTime<Utc>,
}

impl From<Payment> for PaymentView {
    fn from(p: Payment) -> Self {
        let waiting = p.status == PaymentStatus::Pending;
        PaymentView {
            id: p.id,
            customer_id: p.customer_id,
            order_id: p.order_id,
            invoice_id: p.invoice_id,
            status: p.status,
            provider: p.provider,
            method: p.method,
            amount: p.amount.into(),
            fee: p.fee.into(),
            refunded: p.refunded.into(),
            provider_reference: p.provider_reference,
            approval_url: p.approval_url.filter(|_| waiting),
            failure_reason: p.failure_reason,
            received_on: p.received_on,
            created_at: p.created_at,
        }
    }
}

async fn show(api: Api, Path(id): Path<i64>) -> Result<Json<PaymentView>, ApiError> {
    Ok(Json(payments::get(&api.state.store, id).await?.into()))
}
