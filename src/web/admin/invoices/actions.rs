//! What is done to an invoice, through `billing::actions::invoices`: issue a
//! draft (its number taken, and its e-mail job enqueued, in one
//! transaction), delete a draft, send it again (a new job, so a new
//! idempotency key and a new e-mail), and credit it (a credit note,
//! e-mailed). Each is audited inside its transaction.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::super::billing_input::{self, refusal, FieldErrors};
use super::super::{Admin, AdminError, Form, Path};
use super::page::{page, CreditTyped, Notice};
use crate::billing::actions::invoices as actions;
use crate::billing::catalog::Nature;
use crate::billing::credit_notes::CreditRequest;
use crate::billing::invoices;
use crate::billing::BillingError;
use crate::money::Money;
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/admin/invoices/{id}/issue", Access::Operator, issue)
        .post("/admin/invoices/{id}/delete", Access::Operator, delete)
        .post("/admin/invoices/{id}/resend", Access::Operator, resend)
        .post("/admin/invoices/{id}/credit-notes", Access::Operator, credit)
}

/// The page again with why the action was refused.
async fn refused(admin: &Admin, id: i64, status: StatusCode, e: BillingError) -> Result<Response, AdminError> {
    let mut errors = FieldErrors::new();
    let message = refusal(e, &[], &mut errors)?;
    let notice = Notice {
        error: Some(message),
        ..Notice::default()
    };
    page(admin, id, status, notice).await
}

#[tracing::instrument(skip_all)]
async fn issue(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let today = billing_input::today(store).await?;
    let mut tx = store.begin().await?;
    let sent = match actions::issue(&mut tx, &admin.actor, id, today).await {
        Ok(sent) => sent,
        Err(e @ BillingError::NotFound(_)) => return Err(e.into()),
        Err(e) => {
            tx.rollback().await?;
            return refused(&admin, id, StatusCode::CONFLICT, e).await;
        }
    };
    tx.commit().await?;
    let reference = sent.invoice.reference.unwrap_or_default();
    Ok(admin.redirect(
        &format!("/admin/invoices/{id}"),
        &format!("Facture {reference} émise ; e-mail en file d'envoi / invoice issued, e-mail queued"),
    ))
}

#[tracing::instrument(skip_all)]
async fn delete(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let mut tx = admin.state.store.begin().await?;
    let draft = match actions::delete_draft(&mut tx, &admin.actor, id).await {
        Ok(draft) => draft,
        Err(e @ BillingError::NotFound(_)) => return Err(e.into()),
        Err(e) => {
            tx.rollback().await?;
            return refused(&admin, id, StatusCode::CONFLICT, e).await;
        }
    };
    tx.commit().await?;
    Ok(admin.redirect(
        &format!("/admin/customers/{}", draft.customer_id),
        &format!("Brouillon n° {id} supprimé / draft deleted"),
    ))
}

#[tracing::instrument(skip_all)]
async fn resend(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let mut tx = admin.state.store.begin().await?;
    let sent = match actions::resend(&mut tx, &admin.actor, id).await {
        Ok(sent) => sent,
        Err(e @ BillingError::NotFound(_)) => return Err(e.into()),
        Err(e) => {
            tx.rollback().await?;
            return refused(&admin, id, StatusCode::CONFLICT, e).await;
        }
    };
    tx.commit().await?;
    let reference = sent.invoice.reference.unwrap_or_default();
    Ok(admin.redirect(
        &format!("/admin/invoices/{id}"),
        &format!("{reference} : nouvel envoi en file / sending again"),
    ))
}

#[derive(Deserialize)]
struct CreditForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    nature: String,
}

#[tracing::instrument(skip_all)]
async fn credit(admin: Admin, Path(id): Path<i64>, Form(form): Form<CreditForm>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let invoice = invoices::get(store, id).await?;
    let typed = CreditTyped {
        amount: form.amount.clone(),
        reason: form.reason.clone(),
        nature: form.nature.clone(),
    };
    let mut errors = FieldErrors::new();
    // Blank: all that remains creditable.
    let amount: Option<Money> = match form.amount.trim() {
        "" => None,
        text => billing_input::amount(&mut errors, "credit_amount", text, invoice.total.currency),
    };
    let nature = match form.nature.trim() {
        "" => None,
        n => match Nature::parse(n) {
            Ok(n) => Some(n),
            Err(_) => {
                errors.add("credit_nature", "marchandises ou services / goods or services");
                None
            }
        },
    };
    if form.reason.trim().is_empty() {
        errors.add("credit_reason", "obligatoire / required");
    }
    let show_again = |errors: FieldErrors, error: Option<String>| Notice {
        error,
        credit: Some(typed.clone()),
        errors,
        ..Notice::default()
    };
    if !errors.is_empty() {
        return page(&admin, id, StatusCode::UNPROCESSABLE_ENTITY, show_again(errors, None)).await;
    }
    let today = billing_input::today(store).await?;
    let mut tx = store.begin().await?;
    let request = CreditRequest {
        amount,
        reason: form.reason.clone(),
        issue_date: today,
        nature,
    };
    let note = match actions::credit(&mut tx, &admin.actor, id, request).await {
        Ok(sent) => sent.invoice,
        Err(e) => {
            tx.rollback().await?;
            if let BillingError::Invalid { field, message } = &e {
                errors.add(format!("credit_{field}"), message.clone());
            }
            let message = refusal(e, &[], &mut FieldErrors::new())?;
            return page(
                &admin,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                show_again(errors, Some(message)),
            )
            .await;
        }
    };
    tx.commit().await?;
    let reference = note.reference.clone().unwrap_or_default();
    Ok(admin.redirect(
        &format!("/admin/invoices/{}", note.id),
        &format!(
            "Avoir {reference} émis : {} ; e-mail en file / credit note issued",
            note.total.format_fr()
        ),
    ))
}
