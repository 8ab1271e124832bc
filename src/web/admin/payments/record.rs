//! "Enregistrer un paiement": money received by hand (transfer, cheque,
//! cash, a card terminal) on an issued invoice. The form is checked here;
//! the payment is recorded by `billing::actions::payments::record_manual`,
//! the way the product records every payment (its charge job completes it:
//! invoice settled, livre de recettes line on the declared date, receipt
//! e-mailed).

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::super::billing_input::{self, refused, FieldErrors};
use super::super::invoices::page::{page, Notice, PaymentTyped, MANUAL_METHODS};
use super::super::{Admin, AdminError, Form, Path};
use crate::billing::actions::payments::{self as actions, ManualPayment, Recorded};
use crate::billing::dates::{self, ReceiptBounds};
use crate::billing::invoices::{self, Invoice, InvoiceKind, InvoiceStatus};
use crate::billing::payments::{self, PaymentFilter, PaymentMethod, PaymentStatus};
use crate::billing::BillingError;
use crate::i18n::Text;
use crate::store::Store;
use crate::text;
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new().post("/admin/invoices/{id}/payments", Access::Operator, record)
}

/// A payment means in words.
fn method_word(method: PaymentMethod) -> Text {
    match method {
        PaymentMethod::Card => text!("carte bancaire"),
        PaymentMethod::Paypal => Text::verbatim("PayPal"),
        PaymentMethod::SepaDebit => text!("prélèvement SEPA"),
        PaymentMethod::Transfer => text!("virement"),
        PaymentMethod::Cheque => text!("chèque"),
        PaymentMethod::Cash => text!("espèces"),
    }
}

/// An invoice's state in words ("la facture est {state}").
fn invoice_state(status: InvoiceStatus) -> Text {
    match status {
        InvoiceStatus::Draft => text!("brouillon"),
        InvoiceStatus::Issued => text!("émise"),
        InvoiceStatus::Paid => text!("payée"),
        InvoiceStatus::Cancelled => text!("annulée"),
    }
}

#[derive(Deserialize)]
struct PaymentForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    received_on: String,
    /// The checkbox « Je confirme la date de réception du … »: the date it
    /// confirms (`2026-11-30`), shown once a date is a week or more back.
    #[serde(default)]
    confirm_received_on: String,
    /// Generated with the form: submitting it twice records one payment.
    #[serde(default)]
    key: String,
}

/// Payments of the invoice recorded but not completed yet: what the
/// balance due does not show.
async fn in_flight(store: &Store, invoice: &Invoice) -> Result<i64, AdminError> {
    let mut sum = 0;
    for status in [PaymentStatus::Initiated, PaymentStatus::Pending] {
        let list = payments::list(
            store,
            &PaymentFilter {
                invoice_id: Some(invoice.id),
                status: Some(status),
                limit: 1000,
                ..PaymentFilter::default()
            },
        )
        .await?;
        sum += list.iter().map(|p| p.amount.minor).sum::<i64>();
    }
    Ok(sum)
}

#[tracing::instrument(skip_all)]
async fn record(admin: Admin, Path(id): Path<i64>, Form(form): Form<PaymentForm>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let invoice = invoices::get(store, id).await?;
    let typed_date = billing_input::parse_date(&form.received_on);
    let bounds = ReceiptBounds::now(store, invoice.issue_date).await?;
    // A date a week or more back (and otherwise acceptable) brings the
    // checkbox that confirms it (that date, not whatever is typed next),
    // ticked as it was sent.
    let confirm_for = typed_date
        .and_then(|d| dates::received_on(d, &bounds).ok())
        .filter(|r| r.backdated())
        .map(|r| r.on);
    let confirmed = confirm_for.is_some() && billing_input::parse_date(&form.confirm_received_on) == confirm_for;
    let typed = PaymentTyped {
        amount: form.amount.clone(),
        method: form.method.clone(),
        received_on: form.received_on.clone(),
        key: form.key.clone(),
        confirm_for: confirm_for
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        confirm_label: confirm_for
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_default(),
        confirmed,
    };
    let show_again = |status: StatusCode, errors: FieldErrors, error: Option<String>| {
        let notice = Notice {
            error,
            payment: Some(typed.clone()),
            errors,
            ..Notice::default()
        };
        (status, notice)
    };
    if invoice.kind != InvoiceKind::Invoice || invoice.status != InvoiceStatus::Issued {
        let (status, notice) = show_again(
            StatusCode::CONFLICT,
            FieldErrors::new(),
            Some(
                admin.tr(
                    text!("la facture est {state} : seule une facture émise et impayée reçoit un paiement")
                        .with("state", invoice_state(invoice.status)),
                ),
            ),
        );
        return page(&admin, id, status, notice).await;
    }
    let mut errors = FieldErrors::new();
    let amount = billing_input::amount(&mut errors, "amount", &form.amount, invoice.total.currency);
    let method = MANUAL_METHODS.into_iter().find(|m| m.as_str() == form.method.trim());
    if method.is_none() {
        errors.add("method", text!("virement, chèque, espèces ou carte"));
    }
    let received_on = billing_input::date(&mut errors, "received_on", &form.received_on).and_then(|d| {
        match dates::confirmed_received_on(d, &bounds, confirmed) {
            Ok(date) => Some(date.on),
            Err(BillingError::Invalid {
                field: "confirm_received_on",
                message,
            }) => {
                errors.add("confirm_received_on", message);
                None
            }
            Err(e) => billing_input::bounded(&mut errors, "received_on", Err(e)),
        }
    });
    if form.key.trim().is_empty() || form.key.len() > 64 {
        errors.add("amount", text!("formulaire expiré, rechargez la page"));
    }
    if let Some(a) = amount {
        let waiting = in_flight(store, &invoice).await?;
        let room = invoice.balance_due().minor - waiting;
        if waiting > 0 && a.minor > room {
            errors.add(
                "amount",
                text!(
                    "{waiting} de paiements sont déjà en cours sur cette facture : reste {room}",
                    waiting = crate::money::Money::new(waiting, a.currency).format_fr(),
                    room = crate::money::Money::new(room.max(0), a.currency).format_fr()
                ),
            );
        }
    }
    let (Some(amount), Some(method), Some(received_on), true) = (amount, method, received_on, errors.is_empty()) else {
        let (status, notice) = show_again(StatusCode::UNPROCESSABLE_ENTITY, errors, None);
        return page(&admin, id, status, notice).await;
    };
    let mut tx = store.begin().await?;
    let manual = ManualPayment {
        invoice_id: id,
        amount,
        method,
        received_on,
        confirmed,
        key: format!("admin-payment-{}", form.key.trim()),
    };
    let recorded = match actions::record_manual(&mut tx, &admin.actor, manual).await {
        Ok(r) => r,
        Err(e) => {
            tx.rollback().await?;
            let mut errors = FieldErrors::new();
            let message = admin.tr(refused(
                e,
                &["amount", "method", "received_on", "confirm_received_on"],
                &mut errors,
            )?);
            let (status, notice) = show_again(StatusCode::UNPROCESSABLE_ENTITY, errors, Some(message));
            return page(&admin, id, status, notice).await;
        }
    };
    let payment = match recorded {
        Recorded::New { payment, .. } => payment,
        Recorded::Already(payment) => {
            // The same form submitted again: that payment is already recorded.
            tx.rollback().await?;
            return Ok(admin.redirect(
                &format!("/admin/payments/{}", payment.id),
                text!("Paiement n° {id} déjà enregistré", id = payment.id),
            ));
        }
    };
    tx.commit().await?;
    Ok(admin.redirect(
        &format!("/admin/payments/{}", payment.id),
        text!(
            "Paiement de {amount} ({method}) enregistré pour {invoice}",
            amount = amount.format_fr()
        )
        .with("method", method_word(method))
        .with(
            "invoice",
            invoice
                .reference
                .clone()
                .map_or_else(|| text!("la facture"), crate::i18n::Text::verbatim),
        ),
    ))
}
