//! An invoice's (or credit note's) page: reference, dates, lines, totals,
//! status, what was paid and credited, its payments and credit notes, and
//! the e-mails recorded for it, refreshed live from `emails.json` until
//! every one is sent or failed. The page also carries the forms that record
//! a payment and issue a credit note; a refused form shows the page again
//! with the message by its field.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use minijinja::context;
use serde::Serialize;
use serde_json::json;

use super::super::billing_input::{self, FieldErrors};
use super::super::{Admin, AdminError, Path};
use super::new::terms_label;
use crate::billing::customers;
use crate::billing::emails;
use crate::billing::invoices::{self, Invoice, InvoiceFilter, InvoiceKind, InvoiceStatus};
use crate::billing::jobs::emails::SendInvoiceEmail;
use crate::billing::mailing::{self, Mail};
use crate::billing::payments::{self, PaymentFilter, PaymentMethod};
use crate::billing::{settings, BillingError};
use crate::i18n::{Lang, Text};
use crate::jobs::JobKind;
use crate::mail::{EmailRecord, EmailStatus};
use crate::store::types::{JobFilter, JobState};
use crate::store::Store;
use crate::text;
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new().get("/admin/invoices/{id}", Access::Operator, show).get(
        "/admin/invoices/{id}/emails.json",
        Access::Operator,
        emails_json,
    )
}

/// What an operator records by hand: the methods of a manual payment.
pub(in crate::web::admin) const MANUAL_METHODS: [PaymentMethod; 4] = [
    PaymentMethod::Transfer,
    PaymentMethod::Cheque,
    PaymentMethod::Cash,
    PaymentMethod::Card,
];

/// The payment form as typed (`amount`, `method`, `received_on`).
#[derive(Debug, Clone, Default, Serialize)]
pub(in crate::web::admin) struct PaymentTyped {
    pub amount: String,
    pub method: String,
    pub received_on: String,
    /// One per form shown: the same form posted twice records one payment.
    pub key: String,
    /// The date (`2026-11-30`) the checkbox « Je confirme la date de
    /// réception du … » confirms, when the date typed is a week or more back.
    pub confirm_for: String,
    /// The same, as the checkbox says it (`30/11/2026`).
    pub confirm_label: String,
    /// The checkbox was ticked for that date.
    pub confirmed: bool,
}

/// The credit-note form as typed; its errors are keyed `credit_amount`, `credit_reason`, `credit_nature`.
#[derive(Debug, Clone, Default, Serialize)]
pub(in crate::web::admin) struct CreditTyped {
    pub amount: String,
    pub reason: String,
    pub nature: String,
}

/// What the page shows besides the invoice: a refusal and the forms as typed.
#[derive(Default)]
pub(in crate::web::admin) struct Notice {
    pub error: Option<String>,
    pub payment: Option<PaymentTyped>,
    pub credit: Option<CreditTyped>,
    pub errors: FieldErrors,
}

pub(in crate::web::admin) async fn page(
    admin: &Admin,
    id: i64,
    status: StatusCode,
    notice: Notice,
) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let invoice = invoices::get(store, id).await?;
    let customer = customers::get(store, invoice.customer_id).await?;
    let original = match invoice.credited_invoice_id {
        Some(o) => Some(invoices::get(store, o).await?),
        None => None,
    };
    let credit_notes = if invoice.kind == InvoiceKind::Invoice {
        invoices::list(
            store,
            &InvoiceFilter {
                credited_invoice_id: Some(id),
                limit: 100,
                ..InvoiceFilter::default()
            },
        )
        .await?
    } else {
        Vec::new()
    };
    let payments = payments::list(
        store,
        &PaymentFilter {
            invoice_id: Some(id),
            limit: 100,
            ..PaymentFilter::default()
        },
    )
    .await?;
    let today = billing_input::today(store).await?;
    let terms = match (invoice.status, invoice.payment_terms_days) {
        (InvoiceStatus::Draft, Some(days)) => admin.tr(terms_label(days)),
        (InvoiceStatus::Draft, None) => match settings::load(store).await {
            Ok(s) => admin.tr(crate::text!("{terms} (par défaut)").with("terms", terms_label(s.payment_terms_days))),
            Err(BillingError::NoSettings) => admin.tr(crate::text!("selon les réglages")),
            Err(e) => return Err(e.into()),
        },
        (_, _) => invoice
            .snapshot
            .as_ref()
            .map(|s| admin.tr(terms_label(s.seller.payment_terms_days)))
            .unwrap_or_default(),
    };
    let balance_due = invoice.balance_due();
    let creditable = crate::money::Money::new(
        (invoice.total.minor - invoice.credited.minor).max(0),
        invoice.total.currency,
    );
    let is_invoice = invoice.kind == InvoiceKind::Invoice;
    let issued = matches!(invoice.status, InvoiceStatus::Issued | InvoiceStatus::Paid);
    let payment_form = notice.payment.unwrap_or_else(|| PaymentTyped {
        amount: balance_due.format_number_fr(false),
        method: PaymentMethod::Transfer.as_str().into(),
        received_on: today.format("%Y-%m-%d").to_string(),
        key: crate::auth::random_token(16),
        ..PaymentTyped::default()
    });
    let credit_form = notice.credit.unwrap_or_else(|| CreditTyped {
        amount: creditable.format_number_fr(false),
        ..CreditTyped::default()
    });
    let email = email_view(store, &invoice).await?.said(admin.lang());
    let mailing = mailing::get(store, invoice.customer_id).await?;
    let methods: Vec<&str> = MANUAL_METHODS.iter().map(|m| m.as_str()).collect();
    admin.render_status(
        status,
        "admin/invoices/show.html",
        "invoices",
        context! {
            invoice => &invoice,
            customer => &customer,
            original => &original,
            credit_notes => &credit_notes,
            payments => &payments,
            terms => terms,
            balance_due => balance_due,
            creditable => creditable,
            can_pay => is_invoice && invoice.status == InvoiceStatus::Issued && balance_due.minor > 0,
            can_credit => is_invoice && issued && creditable.minor > 0,
            email => email,
            mailing => mailing,
            payment_form => payment_form,
            credit_form => credit_form,
            methods => methods,
            error => notice.error,
            errors => notice.errors.said(admin.lang()),
        },
    )
}

async fn show(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    page(&admin, id, StatusCode::OK, Notice::default()).await
}

/// Where the e-mails of a document stand.
#[derive(Debug)]
pub(super) struct EmailView {
    /// One line for `#email-status`: contains "envoyé" once the last one went.
    pub summary: Text,
    /// Nothing is left to happen: no job waiting, no e-mail being sent.
    pub done: bool,
    pub emails: Vec<EmailRecord>,
    /// Send jobs not finished yet: (job id, state, last error).
    pub waiting: Vec<(i64, JobState, Option<String>)>,
}

/// The e-mails' state as a page shows it, in the operator's language.
#[derive(Debug, Serialize)]
pub(super) struct EmailShown {
    pub summary: String,
    pub done: bool,
    pub emails: Vec<EmailRecord>,
    pub waiting: Vec<(i64, String, Option<String>)>,
}

impl EmailView {
    pub fn said(self, lang: Lang) -> EmailShown {
        EmailShown {
            summary: self.summary.in_lang(lang),
            done: self.done,
            emails: self.emails,
            waiting: self
                .waiting
                .into_iter()
                .map(|(id, state, error)| (id, state.words().in_lang(lang), error))
                .collect(),
        }
    }
}

/// The send jobs of `invoice_id` still waiting or running, and the last
/// one that gave up (discarded), if any. Jobs are found by kind and state,
/// then by their arguments.
async fn send_jobs(
    store: &Store,
    invoice_id: i64,
) -> Result<(Vec<crate::store::types::JobRow>, Option<String>), AdminError> {
    let mut waiting = Vec::new();
    let mut gave_up = None;
    for state in [
        JobState::Available,
        JobState::Scheduled,
        JobState::Running,
        JobState::Retryable,
        JobState::Discarded,
    ] {
        let rows = store
            .list_jobs(&JobFilter {
                state: Some(state),
                kind: Some(SendInvoiceEmail::KIND.to_string()),
                text: Some(invoice_id.to_string()),
                limit: 100,
                ..JobFilter::default()
            })
            .await?;
        for job in rows
            .into_iter()
            .filter(|j| j.args["invoice_id"].as_i64() == Some(invoice_id))
        {
            if state == JobState::Discarded {
                if gave_up.is_none() {
                    gave_up = job.errors.last().map(|e| e.error.clone());
                }
            } else {
                waiting.push(job);
            }
        }
    }
    waiting.sort_by_key(|j| j.id);
    Ok((waiting, gave_up))
}

pub(super) async fn email_view(store: &Store, invoice: &Invoice) -> Result<EmailView, AdminError> {
    if invoice.status == InvoiceStatus::Draft {
        return Ok(EmailView {
            summary: text!("brouillon : rien n'est envoyé avant l'émission"),
            done: true,
            emails: Vec::new(),
            waiting: Vec::new(),
        });
    }
    let emails = emails::for_invoice(store, invoice.id).await?;
    let (jobs, gave_up) = send_jobs(store, invoice.id).await?;
    let sending = emails.iter().any(|e| e.status == EmailStatus::Sending);
    let last = emails.last();
    let last_error = jobs.iter().rev().find_map(|j| j.errors.last().map(|e| e.error.clone()));
    let summary = if !jobs.is_empty() || sending {
        match last_error {
            Some(err) => text!("envoi en cours, nouvel essai — dernier échec : {error}", error = err),
            None => text!("envoi en cours"),
        }
    } else if let Some(e) = last {
        match e.status {
            EmailStatus::Sent => text!(
                "envoyé à {to} le {at}",
                to = e.to_address,
                at = crate::local_time::format_fr_minutes(e.sent_at.unwrap_or(e.created_at))
            ),
            EmailStatus::Failed => text!("échec : {error}", error = e.error.clone().unwrap_or_default()),
            EmailStatus::Sending => text!("envoi en cours"),
        }
    } else if let Some(err) = gave_up {
        text!("échec : {error}", error = err)
    } else {
        let mail = match invoice.kind {
            InvoiceKind::Invoice => Mail::Invoice,
            InvoiceKind::CreditNote => Mail::CreditNote,
        };
        if mailing::get(store, invoice.customer_id).await?.wants(mail) {
            text!("aucun e-mail")
        } else {
            text!(
                "non envoyé : le client a choisi de ne pas recevoir ces documents par e-mail (« Renvoyer par e-mail » l'envoie quand même)"
            )
        }
    };
    Ok(EmailView {
        summary,
        done: jobs.is_empty() && !sending,
        waiting: jobs
            .iter()
            .map(|j| (j.id, j.state, j.errors.last().map(|e| e.error.clone())))
            .collect(),
        emails,
    })
}

/// `{summary, done, count}`: what the page's live part polls.
async fn emails_json(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let invoice = invoices::get(store, id).await?;
    let view = email_view(store, &invoice).await?.said(admin.lang());
    Ok(Json(json!({
        "summary": view.summary,
        "done": view.done,
        "count": view.emails.len(),
        "statuses": view.emails.iter().map(|e| e.status.as_str()).collect::<Vec<_>>(),
    }))
    .into_response())
}
