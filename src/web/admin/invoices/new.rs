//! "Nouvelle facture": a customer, up to five lines (description, nature,
//! quantity, unit price in euros) and the payment terms; creates a draft and
//! goes to its page, where it is issued or deleted.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::super::billing_input::{customer_choices, line_inputs, parse_lines, refusal, FieldErrors, LineInput};
use super::super::{empty_as_none, Admin, AdminError, Form, Query};
use crate::billing::actions::invoices as actions;
use crate::billing::invoices::{NewInvoice, NewLine};
use crate::billing::{settings, BillingError};
use crate::money::Currency;
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/invoices/new", Access::Operator, form)
        .post("/admin/invoices", Access::Operator, create)
}

/// Line rows on the form.
const LINE_ROWS: usize = 5;
/// Payment terms offered, in days after the issue date (60 is the legal maximum).
const TERMS: [i32; 5] = [0, 15, 30, 45, 60];

/// The draft form as typed.
struct Typed {
    customer_id: String,
    terms: String,
    lines: Vec<LineInput>,
}

async fn page(
    admin: &Admin,
    status: StatusCode,
    typed: Typed,
    errors: &FieldErrors,
    error: Option<String>,
) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let customers = customer_choices(store, typed.customer_id.trim().parse().ok()).await?;
    let settings = match settings::load(store).await {
        Ok(s) => Some(s),
        Err(BillingError::NoSettings) => None,
        Err(e) => return Err(e.into()),
    };
    admin.render_status(
        status,
        "admin/invoices/new.html",
        "invoices",
        context! {
            customers => customers,
            customer_id => typed.customer_id.trim(),
            terms => typed.terms.trim(),
            term_choices => TERMS,
            default_terms => settings.as_ref().map(|s| s.payment_terms_days),
            configured => settings.is_some(),
            lines => typed.lines,
            errors => errors,
            error => error,
        },
    )
}

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default, deserialize_with = "empty_as_none")]
    customer_id: Option<i64>,
}

async fn form(admin: Admin, Query(q): Query<NewQuery>) -> Result<Response, AdminError> {
    let typed = Typed {
        customer_id: q.customer_id.map(|i| i.to_string()).unwrap_or_default(),
        terms: String::new(),
        lines: line_inputs(&HashMap::new(), LINE_ROWS),
    };
    page(&admin, StatusCode::OK, typed, &FieldErrors::new(), None).await
}

#[tracing::instrument(skip_all)]
async fn create(admin: Admin, Form(form): Form<HashMap<String, String>>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let typed = Typed {
        customer_id: field("customer_id"),
        terms: field("terms"),
        lines: line_inputs(&form, LINE_ROWS),
    };
    let mut errors = FieldErrors::new();
    let customer_id = typed.customer_id.trim().parse::<i64>().ok();
    if customer_id.is_none() {
        errors.add("customer_id", "choisissez un client / choose a customer");
    }
    let terms = match typed.terms.trim() {
        "" => None,
        t => match t.parse::<i32>() {
            Ok(d) if (0..=60).contains(&d) => Some(d),
            _ => {
                errors.add("terms", "de 0 à 60 jours / 0 to 60 days");
                None
            }
        },
    };
    let currency = match settings::load(store).await {
        Ok(s) => s.currency,
        Err(BillingError::NoSettings) => Currency::EUR,
        Err(e) => return Err(e.into()),
    };
    let lines = parse_lines(&typed.lines, currency, &mut errors);
    let (Some(customer_id), true) = (customer_id, errors.is_empty()) else {
        return page(&admin, StatusCode::UNPROCESSABLE_ENTITY, typed, &errors, None).await;
    };
    let new = NewInvoice {
        customer_id,
        currency,
        lines: lines
            .into_iter()
            .map(|l| NewLine {
                description: l.description,
                nature: l.nature,
                quantity: l.quantity,
                unit_price: l.unit_price,
            })
            .collect(),
        contract_id: None,
        order_id: None,
        period: None,
    };
    let mut tx = store.begin().await?;
    let created = actions::create_draft(&mut tx, &admin.actor, new, terms).await;
    let draft = match created {
        Ok(d) => d,
        Err(BillingError::NotFound(_)) => {
            tx.rollback().await?;
            errors.add("customer_id", "client inconnu / unknown customer");
            return page(&admin, StatusCode::UNPROCESSABLE_ENTITY, typed, &errors, None).await;
        }
        Err(e) => {
            tx.rollback().await?;
            let message = refusal(e, &["customer_id"], &mut errors)?;
            return page(&admin, StatusCode::UNPROCESSABLE_ENTITY, typed, &errors, Some(message)).await;
        }
    };
    tx.commit().await?;
    Ok(admin.redirect(
        &format!("/admin/invoices/{}", draft.id),
        &format!(
            "Brouillon n° {} créé : {} / draft created",
            draft.id,
            draft.total.format_fr()
        ),
    ))
}

/// The terms as said on a page: `à réception`, `30 jours`.
pub(super) fn terms_label(days: i32) -> String {
    if days == 0 {
        "à réception / on receipt".to_string()
    } else {
        format!("{days} jours / days")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn terms_labels() {
        assert_eq!(super::terms_label(0), "à réception / on receipt");
        assert_eq!(super::terms_label(30), "30 jours / days");
    }
}
