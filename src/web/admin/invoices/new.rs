//! "Nouvelle facture": a customer, up to five lines (description, nature,
//! quantity, unit price in euros), the payment terms, the date or period of
//! the sale or service (blank: the issue date), the customer's purchase
//! order and a delivery address when it differs; creates a draft and goes to
//! its page, where it is issued or deleted.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::super::billing_input::{
    customer_choices, line_inputs, parse_date, parse_lines, refusal, FieldErrors, LineInput,
};
use super::super::{empty_as_none, Admin, AdminError, Form, Path, Query};
use crate::billing::actions::invoices as actions;
use crate::billing::address::PostalAddress;
use crate::billing::invoices::{self, DraftDetails, Invoice, InvoiceStatus, NewInvoice, NewLine};
use crate::billing::{settings, BillingError};
use crate::money::Currency;
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/invoices/new", Access::Operator, form)
        .post("/admin/invoices", Access::Operator, create)
        .get("/admin/invoices/{id}/details", Access::Operator, details_form)
        .post("/admin/invoices/{id}/details", Access::Operator, save_details)
}

/// Line rows on the form.
const LINE_ROWS: usize = 5;
/// Payment terms offered, in days after the issue date (60 is the legal maximum).
const TERMS: [i32; 5] = [0, 15, 30, 45, 60];

/// The draft form as typed.
#[derive(Default, serde::Serialize)]
struct Typed {
    customer_id: String,
    terms: String,
    #[serde(skip)]
    lines: Vec<LineInput>,
    service_date: String,
    service_period_start: String,
    service_period_end: String,
    purchase_order: String,
    delivery_lines: String,
    delivery_postcode: String,
    delivery_city: String,
    delivery_country: String,
}

/// The fields besides the lines the form shows an error next to (the domain's names).
const FIELDS: &[&str] = &[
    "customer_id",
    "service_date",
    "service_period_start",
    "service_period_end",
    "purchase_order",
    "delivery_address.lines",
    "delivery_address.postcode",
    "delivery_address.city",
    "delivery_address.country",
];

impl Typed {
    /// The service date or period, purchase order and delivery address typed
    /// (dates that do not read as dates are refused by their field).
    fn details(&self, errors: &mut FieldErrors) -> DraftDetails {
        let mut date = |field: &str, text: &str| match text.trim() {
            "" => None,
            t => {
                let d = parse_date(t);
                if d.is_none() {
                    errors.add(field, format!("« {t} » n'est pas une date (jj/mm/aaaa) / not a date"));
                }
                d
            }
        };
        let service_date = date("service_date", &self.service_date);
        let service_period_start = date("service_period_start", &self.service_period_start);
        let service_period_end = date("service_period_end", &self.service_period_end);
        let delivery_given = [&self.delivery_lines, &self.delivery_postcode, &self.delivery_city]
            .iter()
            .any(|t| !t.trim().is_empty());
        DraftDetails {
            service_date,
            service_period_start,
            service_period_end,
            purchase_order: Some(self.purchase_order.clone()),
            delivery_address: delivery_given.then(|| PostalAddress {
                lines: self.delivery_lines.lines().map(String::from).collect(),
                postcode: self.delivery_postcode.clone(),
                city: self.delivery_city.clone(),
                country: self.delivery_country.clone(),
            }),
        }
    }
}

async fn page(
    admin: &Admin,
    status: StatusCode,
    typed: Typed,
    errors: &FieldErrors,
    error: Option<String>,
) -> Result<Response, AdminError> {
    edit_page(admin, status, None, typed, errors, error).await
}

/// The draft form: a new draft, or draft `editing`'s details (service date
/// or period, purchase order, delivery address; its lines stay).
async fn edit_page(
    admin: &Admin,
    status: StatusCode,
    editing: Option<i64>,
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
            typed => typed,
            errors => errors,
            error => error,
            editing => editing,
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
        lines: line_inputs(&HashMap::new(), LINE_ROWS),
        delivery_country: "FR".into(),
        ..Typed::default()
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
        service_date: field("service_date"),
        service_period_start: field("service_period_start"),
        service_period_end: field("service_period_end"),
        purchase_order: field("purchase_order"),
        delivery_lines: field("delivery_lines"),
        delivery_postcode: field("delivery_postcode"),
        delivery_city: field("delivery_city"),
        delivery_country: field("delivery_country"),
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
    let details = typed.details(&mut errors);
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
        service_date: details.service_date,
        service_period_start: details.service_period_start,
        service_period_end: details.service_period_end,
        purchase_order: details.purchase_order,
        delivery_address: details.delivery_address,
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
            let message = refusal(e, FIELDS, &mut errors)?;
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

impl Typed {
    /// The details of `invoice` as the form shows them.
    fn of_details(invoice: &Invoice) -> Typed {
        let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
        let delivery = invoice.delivery_address.clone().unwrap_or_default();
        Typed {
            customer_id: invoice.customer_id.to_string(),
            service_date: day(invoice.service_date),
            service_period_start: day(invoice.service_period_start),
            service_period_end: day(invoice.service_period_end),
            purchase_order: invoice.purchase_order.clone().unwrap_or_default(),
            delivery_lines: delivery.lines_text(),
            delivery_postcode: delivery.postcode,
            delivery_city: delivery.city,
            delivery_country: if delivery.country.is_empty() {
                "FR".into()
            } else {
                delivery.country
            },
            ..Typed::default()
        }
    }

    /// The details fields of a posted form.
    fn posted_details(form: &HashMap<String, String>) -> Typed {
        let field = |name: &str| form.get(name).cloned().unwrap_or_default();
        Typed {
            service_date: field("service_date"),
            service_period_start: field("service_period_start"),
            service_period_end: field("service_period_end"),
            purchase_order: field("purchase_order"),
            delivery_lines: field("delivery_lines"),
            delivery_postcode: field("delivery_postcode"),
            delivery_city: field("delivery_city"),
            delivery_country: field("delivery_country"),
            ..Typed::default()
        }
    }
}

/// A draft's details; an issued invoice's are frozen (back to its page).
async fn draft_of(admin: &Admin, id: i64) -> Result<Option<Invoice>, AdminError> {
    let invoice = invoices::get(&admin.state.store, id).await?;
    Ok((invoice.status == InvoiceStatus::Draft).then_some(invoice))
}

async fn details_form(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let Some(draft) = draft_of(&admin, id).await? else {
        return Ok(admin.redirect(
            &format!("/admin/invoices/{id}"),
            "Facture émise : ses mentions sont figées / issued: its details are frozen",
        ));
    };
    edit_page(
        &admin,
        StatusCode::OK,
        Some(id),
        Typed::of_details(&draft),
        &FieldErrors::new(),
        None,
    )
    .await
}

#[tracing::instrument(skip_all, fields(invoice = id))]
async fn save_details(
    admin: Admin,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    if draft_of(&admin, id).await?.is_none() {
        return Ok(admin.redirect(
            &format!("/admin/invoices/{id}"),
            "Facture émise : ses mentions sont figées / issued: its details are frozen",
        ));
    }
    let typed = Typed::posted_details(&form);
    let mut errors = FieldErrors::new();
    let details = typed.details(&mut errors);
    if !errors.is_empty() {
        return edit_page(&admin, StatusCode::UNPROCESSABLE_ENTITY, Some(id), typed, &errors, None).await;
    }
    let mut tx = admin.state.store.begin().await?;
    if let Err(e) = actions::set_details(&mut tx, &admin.actor, id, details).await {
        tx.rollback().await?;
        let message = refusal(e, FIELDS, &mut errors)?;
        return edit_page(
            &admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(id),
            typed,
            &errors,
            Some(message),
        )
        .await;
    }
    tx.commit().await?;
    Ok(admin.redirect(
        &format!("/admin/invoices/{id}"),
        "Mentions du brouillon enregistrées / draft details saved",
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
