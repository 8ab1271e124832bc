//! "Rembourser": a form (amount, reason, nature), a confirmation page
//! ("Rembourser 12,50 € à … ?") and the confirmation, which reserves the
//! refund and enqueues the job that pays it back, in one transaction with
//! its audit entry. A refund above what remains is refused with the
//! domain's message and nothing is reserved.

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::super::billing_input::{self, refused, FieldErrors};
use super::super::{Admin, AdminError, Form, Path};
use super::refundable;
use crate::billing::actions::payments::{self as actions, RefundAsked};
use crate::billing::catalog::Nature;
use crate::billing::payments::{self, Payment};
use crate::billing::{customers, invoices, refunds};
use crate::money::Money;
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/payments/{id}/refund", Access::Operator, form)
        .post("/admin/payments/{id}/refund", Access::Operator, review)
        .post("/admin/payments/{id}/refund/confirm", Access::Operator, confirm)
}

/// The refund form as typed; `key` is set once the form was reviewed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct RefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    nature: String,
    #[serde(default)]
    key: String,
}

/// A refund request checked for its form.
struct Checked {
    amount: Money,
    reason: String,
    nature: Option<Nature>,
}

const FIELDS: &[&str] = &["amount", "reason", "nature"];

async fn form_page(
    admin: &Admin,
    payment: &Payment,
    status: StatusCode,
    form: &RefundForm,
    errors: &FieldErrors,
    error: Option<String>,
) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let customer = customers::get(store, payment.customer_id).await?;
    let invoice = match payment.invoice_id {
        Some(i) => invoices::get(store, i).await?.reference,
        None => None,
    };
    admin.render_status(
        status,
        "admin/payments/refund.html",
        "payments",
        context! {
            payment => payment,
            customer => &customer,
            invoice_reference => invoice,
            refundable => Money::new(refundable(payment), payment.amount.currency),
            form => form,
            errors => errors.said(admin.lang()),
            error => error,
        },
    )
}

async fn form(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let payment = payments::get(&admin.state.store, id).await?;
    let left = Money::new(refundable(&payment), payment.amount.currency);
    let (status, error) = if left.minor > 0 {
        (StatusCode::OK, None)
    } else {
        (
            StatusCode::CONFLICT,
            Some(
                admin.tr(crate::text!("Rien à rembourser : le paiement est {state}")
                    .with("state", super::payment_state(payment.status))),
            ),
        )
    };
    let form = RefundForm {
        amount: left.format_number_fr(false),
        ..RefundForm::default()
    };
    form_page(&admin, &payment, status, &form, &FieldErrors::new(), error).await
}

fn check(payment: &Payment, form: &RefundForm, errors: &mut FieldErrors) -> Option<Checked> {
    let amount = billing_input::amount(errors, "amount", &form.amount, payment.amount.currency);
    let reason = form.reason.trim();
    if reason.is_empty() {
        errors.add("reason", crate::text!("obligatoire"));
    }
    let nature = match form.nature.trim() {
        "" => Some(None),
        n => match Nature::parse(n) {
            Ok(n) => Some(Some(n)),
            Err(_) => {
                errors.add("nature", crate::text!("marchandises ou services"));
                None
            }
        },
    };
    match (amount, nature, errors.is_empty()) {
        (Some(amount), Some(nature), true) => Some(Checked {
            amount,
            reason: reason.to_string(),
            nature,
        }),
        _ => None,
    }
}

/// Checks the request against the domain without keeping anything: the
/// reservation is made in a transaction that is rolled back.
async fn dry_run(
    admin: &Admin,
    payment_id: i64,
    c: &Checked,
) -> Result<Result<(), crate::billing::BillingError>, AdminError> {
    let mut tx = admin.state.store.begin().await?;
    let key = format!("admin-refund-check-{}", crate::auth::random_token(8));
    let result = refunds::begin_for(&mut tx, payment_id, c.amount, c.nature, &c.reason, &key).await;
    tx.rollback().await?;
    Ok(result.map(|_| ()))
}

async fn review(admin: Admin, Path(id): Path<i64>, Form(mut form): Form<RefundForm>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let payment = payments::get(store, id).await?;
    let mut errors = FieldErrors::new();
    let Some(checked) = check(&payment, &form, &mut errors) else {
        return form_page(&admin, &payment, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, None).await;
    };
    if let Err(e) = dry_run(&admin, id, &checked).await? {
        let message = admin.tr(refused(e, FIELDS, &mut errors)?);
        return form_page(
            &admin,
            &payment,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form,
            &errors,
            Some(message),
        )
        .await;
    }
    let customer = customers::get(store, payment.customer_id).await?;
    let mailing = crate::billing::mailing::get(store, payment.customer_id).await?;
    form.key = crate::auth::random_token(16);
    admin.render(
        "admin/payments/refund_confirm.html",
        "payments",
        context! {
            payment => &payment,
            customer => &customer,
            credit_note_emailed => mailing.credit_notes && customer.email.is_some(),
            amount => checked.amount,
            reason => &checked.reason,
            nature => checked.nature.map(Nature::as_str),
            form => &form,
        },
    )
}

#[tracing::instrument(skip_all, fields(payment = id))]
async fn confirm(admin: Admin, Path(id): Path<i64>, Form(form): Form<RefundForm>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let payment = payments::get(store, id).await?;
    let mut errors = FieldErrors::new();
    if form.key.trim().is_empty() || form.key.len() > 64 {
        errors.add("amount", crate::text!("confirmation expirée, recommencez"));
    }
    let checked = check(&payment, &form, &mut errors);
    let Some(checked) = checked.filter(|_| errors.is_empty()) else {
        return form_page(&admin, &payment, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, None).await;
    };
    let key = format!("admin-refund-{}", form.key.trim());
    let mut tx = store.begin().await?;
    let asked = actions::request_refund(
        &mut tx,
        &admin.actor,
        id,
        checked.amount,
        checked.nature,
        &checked.reason,
        &key,
    )
    .await;
    let refund = match asked {
        Ok(RefundAsked::New(refund)) => refund,
        Ok(RefundAsked::Already(refund)) => {
            // The same confirmation posted again finds its refund: nothing more to do.
            tx.rollback().await?;
            return Ok(admin.redirect(
                &format!("/admin/payments/{id}"),
                crate::text!("Remboursement n° {id} déjà demandé", id = refund.id),
            ));
        }
        Err(e) => {
            tx.rollback().await?;
            let message = admin.tr(refused(e, FIELDS, &mut errors)?);
            return form_page(
                &admin,
                &payment,
                StatusCode::UNPROCESSABLE_ENTITY,
                &form,
                &errors,
                Some(message),
            )
            .await;
        }
    };
    tx.commit().await?;
    Ok(admin.redirect(
        &format!("/admin/payments/{id}"),
        crate::text!("Remboursement de {amount} demandé", amount = refund.amount.format_fr()),
    ))
}
