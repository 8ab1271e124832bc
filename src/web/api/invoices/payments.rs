//! `POST /api/invoices/{id}/payments`: money received by transfer, cheque or
//! cash on an issued invoice. Recorded by
//! `billing::actions::payments::record_manual` (with its audit entry and
//! charge job, in one transaction), then completed at once the way the job
//! would: the invoice is settled and the receipt enters the livre de
//! recettes on the date it was received. If completing fails, the job does
//! it (202).

use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::error::Fields;
use super::super::extract::from_value;
use super::super::idempotency::{answer, Answer, Idempotency, Keep};
use super::super::money::MoneyIn;
use super::super::payments::PaymentView;
use super::super::{Api, ApiError, Json, Path};
use super::{document_view, of_kind, DocumentView};
use crate::billing::actions::payments::{self as actions, ManualPayment, Recorded};
use crate::billing::dates::{self, ReceiptBounds};
use crate::billing::invoices::{self, InvoiceKind, InvoiceStatus};
use crate::billing::jobs::payments::{self as payment_jobs, ChargeOptions};
use crate::billing::payments::{self, PaymentFilter, PaymentMethod, PaymentStatus};
use crate::billing::BillingError;
use crate::i18n::Text;
use crate::money::Money;
use crate::store::Store;
use crate::text;

/// How money received by hand may have come.
const METHODS: [PaymentMethod; 3] = [PaymentMethod::Transfer, PaymentMethod::Cheque, PaymentMethod::Cash];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordPayment {
    amount: MoneyIn,
    /// `transfer`, `cheque` or `cash`.
    method: String,
    /// When the money was received; today when left out.
    #[serde(default)]
    received_on: Option<NaiveDate>,
    /// Confirms `received_on` when it is a week or more back.
    #[serde(default)]
    confirm_received_on: bool,
}

#[derive(Debug, Serialize)]
struct PaymentAnswer {
    payment: PaymentView,
    invoice: DocumentView,
}

/// Payments of the invoice recorded but not completed yet: what the
/// balance due does not show.
async fn in_flight(store: &Store, invoice_id: i64) -> Result<i64, ApiError> {
    let mut sum = 0;
    for status in [PaymentStatus::Initiated, PaymentStatus::Pending] {
        let filter = PaymentFilter {
            invoice_id: Some(invoice_id),
            status: Some(status),
            limit: 1000,
            ..PaymentFilter::default()
        };
        sum += payments::list(store, &filter)
            .await?
            .iter()
            .map(|p| p.amount.minor)
            .sum::<i64>();
    }
    Ok(sum)
}

/// A refusal for want of a confirmation says how to give it.
fn with_hint(field: &str, message: Text) -> Text {
    if field == "confirm_received_on" {
        text!("{message} : envoyez \"confirm_received_on\": true").with("message", message)
    } else {
        message
    }
}

pub(super) async fn record(
    api: Api,
    idem: Idempotency,
    Path(id): Path<i64>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let request: RecordPayment = from_value(body.clone())?;
    let key = idem
        .scoped(api.key.id)
        .unwrap_or_else(|| format!("api-payment-{}", crate::auth::random_token(12)));
    idem.run(&api, &body, |keep| {
        check_and_record(api.clone(), id, request, key, keep)
    })
    .await
}

async fn check_and_record(
    api: Api,
    id: i64,
    request: RecordPayment,
    key: String,
    keep: Keep,
) -> Result<Answer, ApiError> {
    let store = &api.state.store;
    let invoice = of_kind(store, id, InvoiceKind::Invoice).await?;
    if invoice.status != InvoiceStatus::Issued {
        return Err(ApiError::Conflict(
            text!(
                "la facture {invoice} est {state} : seule une facture émise et impayée reçoit un paiement",
                invoice = id
            )
            .with("state", crate::billing::error::invoice_state(invoice.status.as_str())),
        ));
    }
    let mut fields = Fields::new();
    let amount = request.amount.check("amount", &mut fields);
    let method = METHODS.into_iter().find(|m| m.as_str() == request.method.trim());
    if method.is_none() {
        fields.add(
            "method",
            text!("transfer (virement), cheque (chèque) ou cash (espèces)"),
        );
    }
    let bounds = ReceiptBounds::now(store, invoice.issue_date).await?;
    let on = request.received_on.unwrap_or(bounds.today);
    let received_on = match dates::confirmed_received_on(on, &bounds, request.confirm_received_on) {
        Ok(d) => Some(d.on),
        Err(BillingError::Invalid { field, message }) => {
            fields.add(field, with_hint(field, message));
            None
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(a) = amount {
        if a.currency != invoice.total.currency {
            fields.add(
                "amount.currency",
                text!("la facture est en {currency}", currency = invoice.total.currency),
            );
        } else if a.minor <= 0 {
            fields.add("amount.minor", text!("doit être positif"));
        } else {
            let room = invoice.balance_due().minor - in_flight(store, id).await?;
            if a.minor > room {
                fields.add(
                    "amount.minor",
                    text!(
                        "plus que ce qui reste dû sur la facture ({left})",
                        left = Money::new(room.max(0), a.currency).to_decimal()
                    ),
                );
            }
        }
    }
    fields.finish()?;
    let (Some(amount), Some(method), Some(received_on)) = (amount, method, received_on) else {
        return Err(ApiError::Internal("payment checked but incomplete".into()));
    };
    let mut tx = store.begin().await?;
    let manual = ManualPayment {
        invoice_id: id,
        amount,
        method,
        received_on,
        confirmed: request.confirm_received_on,
        key,
    };
    let recorded = match actions::record_manual(&mut tx, &api.actor, manual).await {
        Ok(r) => r,
        Err(BillingError::Invalid { field, message }) => {
            return Err(ApiError::field(field, with_hint(field, message)));
        }
        Err(e) => return Err(e.into()),
    };
    let payment = match recorded {
        Recorded::New { payment, .. } => payment,
        Recorded::Already(payment) => payment,
    };
    // What a retry answers if this request's answer is lost from here on:
    // the payment recorded, not completed yet (202).
    let committed = answer(
        StatusCode::ACCEPTED,
        &PaymentAnswer {
            payment: payment.clone().into(),
            invoice: DocumentView::new(invoices::get_in(&mut tx, id).await?, Vec::new()),
        },
    )?;
    keep.answer_in(&mut tx, &committed).await?;
    tx.commit().await?;

    if let Err(e) = payment_jobs::charge(store, &api.state.app.providers, payment.id, &ChargeOptions::default()).await {
        tracing::warn!(payment_id = payment.id, error = %e, "manual payment not completed yet; its job does it");
    }
    let payment = payments::get(store, payment.id).await?;
    let status = if payment.status == PaymentStatus::Initiated {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CREATED
    };
    let invoice = document_view(store, invoices::get(store, id).await?).await?;
    answer(
        status,
        &PaymentAnswer {
            payment: payment.into(),
            invoice,
        },
    )
}
