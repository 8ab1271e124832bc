//! What is done to an invoice, through `billing::actions::invoices`: preview
//! a draft (its PDF as issuing would print it, marked "Brouillon", no
//! number), issue it after a confirmation page that says what will happen
//! (its number taken, and its e-mail job enqueued unless the customer does
//! not want it, in one transaction), delete a draft, send it again (a new
//! job, so a new idempotency key and a new e-mail), and credit it (a credit
//! note, e-mailed unless the customer does not want it). Each is audited
//! inside its transaction.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::super::billing_input::{self, refused as refusal_of, FieldErrors};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::IntoResponse;
use minijinja::context;

use super::super::{Admin, AdminError, Form, Path};
use super::page::{page, CreditTyped, Notice};
use crate::billing::actions::invoices as actions;
use crate::billing::catalog::Nature;
use crate::billing::credit_notes::CreditRequest;
use crate::billing::invoices::{self, InvoiceStatus};
use crate::billing::{customers, mailing, render, BillingError};
use crate::i18n::Text;
use crate::money::Money;
use crate::text;
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/invoices/{id}/preview", Access::Operator, preview)
        .get("/admin/invoices/{id}/issue", Access::Operator, confirm_issue)
        .post("/admin/invoices/{id}/issue", Access::Operator, issue)
        .post("/admin/invoices/{id}/delete", Access::Operator, delete)
        .post("/admin/invoices/{id}/resend", Access::Operator, resend)
        .post("/admin/invoices/{id}/credit-notes", Access::Operator, credit)
}

/// The page again with why the action was refused.
async fn refused(admin: &Admin, id: i64, status: StatusCode, e: BillingError) -> Result<Response, AdminError> {
    let mut errors = FieldErrors::new();
    let message = refusal_of(e, &[], &mut errors)?;
    let notice = Notice {
        error: Some(admin.tr(message)),
        ..Notice::default()
    };
    page(admin, id, status, notice).await
}

/// The draft's PDF as issuing it today would print it, marked "Brouillon",
/// without number nor Factur-X XML; a draft that could not be issued as it
/// stands goes back to its page with the reason.
#[tracing::instrument(skip_all, fields(invoice = id))]
async fn preview(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let today = billing_input::today(store).await?;
    match render::draft_preview_pdf(store, id, today).await {
        Ok(pdf) => Ok((
            [
                (CONTENT_TYPE, "application/pdf".to_string()),
                (CONTENT_DISPOSITION, format!("inline; filename=\"brouillon-{id}.pdf\"")),
                (CACHE_CONTROL, "no-store".to_string()),
            ],
            pdf,
        )
            .into_response()),
        Err(e @ BillingError::NotFound(_)) => Err(e.into()),
        Err(e) => {
            let message = refusal_of(e, &[], &mut FieldErrors::new())?;
            Ok(admin.redirect(
                &format!("/admin/invoices/{id}"),
                text!("Aperçu impossible : {why}").with("why", message),
            ))
        }
    }
}

/// What the confirmation page says will happen, or why it cannot.
async fn confirmation(admin: &Admin, id: i64, status: StatusCode, note: Option<Text>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let draft = invoices::get(store, id).await?;
    if draft.status != InvoiceStatus::Draft {
        return Ok(admin.redirect(
            &format!("/admin/invoices/{id}"),
            text!(
                "La facture {reference} est déjà émise.",
                reference = draft.reference.as_deref().unwrap_or_default()
            ),
        ));
    }
    let customer = customers::get(store, draft.customer_id).await?;
    let choices = mailing::get(store, draft.customer_id).await?;
    let today = billing_input::today(store).await?;
    let (rehearsed, refused) = match invoices::rehearse_issue(store, id, today).await {
        Ok(r) => (Some(r), None),
        Err(e @ BillingError::NotFound(_)) => return Err(e.into()),
        Err(e) => (None, Some(admin.tr(refusal_of(e, &[], &mut FieldErrors::new())?))),
    };
    admin.render_status(
        status,
        "admin/invoices/issue.html",
        "invoices",
        context! {
            draft => &draft,
            customer => &customer,
            rehearsed => &rehearsed,
            refused => refused,
            email_to => customer.email.as_deref().filter(|e| !e.trim().is_empty()),
            email_chosen => choices.invoices,
            note => note.map(|n| admin.tr(n)),
        },
    )
}

async fn confirm_issue(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    confirmation(&admin, id, StatusCode::OK, None).await
}

#[derive(Deserialize)]
struct IssueForm {
    /// "yes" from the confirmation page's button; anything else issues nothing.
    #[serde(default)]
    confirm: String,
    /// The checkbox "Envoyer la facture par e-mail", present on the page
    /// when the customer has an address (`email_offered`).
    #[serde(default)]
    send_email: Option<String>,
    #[serde(default)]
    email_offered: Option<String>,
}

#[tracing::instrument(skip_all, fields(invoice = id))]
async fn issue(admin: Admin, Path(id): Path<i64>, Form(form): Form<IssueForm>) -> Result<Response, AdminError> {
    if form.confirm != "yes" {
        return confirmation(
            &admin,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(text!("Rien n'a été émis : confirmez l'émission sur cette page.")),
        )
        .await;
    }
    let email = form.email_offered.is_some().then_some(form.send_email.is_some());
    let store = &admin.state.store;
    let today = billing_input::today(store).await?;
    let mut tx = store.begin().await?;
    let sent = match actions::issue_confirmed(&mut tx, &admin.actor, id, today, email).await {
        Ok(sent) => sent,
        Err(e @ BillingError::NotFound(_)) => return Err(e.into()),
        Err(e) => {
            tx.rollback().await?;
            return refused(&admin, id, StatusCode::CONFLICT, e).await;
        }
    };
    tx.commit().await?;
    let reference = sent.invoice.reference.unwrap_or_default();
    let said = match sent.email_job_id {
        Some(_) => text!(
            "Facture {reference} émise ; son envoi par e-mail est en cours.",
            reference = reference
        ),
        None => text!(
            "Facture {reference} émise ; elle n'est pas envoyée par e-mail (choix du client).",
            reference = reference
        ),
    };
    Ok(admin.redirect(&format!("/admin/invoices/{id}"), said))
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
        text!("Brouillon n° {id} supprimé.", id = id),
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
        text!("{reference} : nouvel envoi par e-mail en file.", reference = reference),
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
                errors.add("credit_nature", text!("marchandises ou services"));
                None
            }
        },
    };
    if form.reason.trim().is_empty() {
        errors.add("credit_reason", text!("obligatoire"));
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
    let (note, sent_mail) = match actions::credit(&mut tx, &admin.actor, id, request).await {
        Ok(sent) => (sent.invoice, sent.email_job_id.is_some()),
        Err(e) => {
            tx.rollback().await?;
            if let BillingError::Invalid { field, message } = &e {
                errors.add(format!("credit_{field}"), message.clone());
            }
            let message = refusal_of(e, &[], &mut FieldErrors::new())?;
            return page(
                &admin,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                show_again(errors, Some(admin.tr(message))),
            )
            .await;
        }
    };
    tx.commit().await?;
    let reference = note.reference.clone().unwrap_or_default();
    let total = note.total.format_fr();
    let said = match sent_mail {
        true => text!(
            "Avoir {reference} émis : {total} ; son envoi par e-mail est en cours.",
            reference = reference,
            total = total
        ),
        false => text!(
            "Avoir {reference} émis : {total} ; il n'est pas envoyé par e-mail (choix du client).",
            reference = reference,
            total = total
        ),
    };
    Ok(admin.redirect(&format!("/admin/invoices/{}", note.id), said))
}
