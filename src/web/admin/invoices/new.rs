//! The draft form, for a new invoice and to edit a draft: a customer, any
//! number of lines (a product picked from the catalogue fills a line; a row
//! is added by "Ajouter une ligne", with or without script), their units,
//! the payment terms, the date or period of the sale or service (blank: the
//! issue date), the customer's purchase order and a delivery address when
//! it differs. Saving keeps a draft and goes to its page, where it is
//! previewed, issued (after a confirmation) or deleted. An issued invoice
//! is not edited: its page says so.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::super::billing_input::{
    apply_products, customer_choices, line_inputs, not_a_date, numbered_rows, parse_date, parse_lines,
    refused as refusal_of, seller_currency, FieldErrors, LineInput, MAX_LINE_ROWS,
};
use super::super::{empty_as_none, Admin, AdminError, Form, Path, Query};
use crate::billing::actions::invoices as actions;
use crate::billing::address::PostalAddress;
use crate::billing::catalog::{self, Unit};
use crate::billing::invoices::{self, DraftDetails, Invoice, InvoiceStatus, NewInvoice, NewLine};
use crate::billing::{settings, BillingError};
use crate::i18n::Text;
use crate::money::{Currency, Money};
use crate::text;
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/invoices/new", Access::Operator, form)
        .post("/admin/invoices", Access::Operator, create)
        .get("/admin/invoices/{id}/edit", Access::Operator, edit_form)
        .post("/admin/invoices/{id}/edit", Access::Operator, save)
        // Where "Mentions" led before drafts were edited whole.
        .get("/admin/invoices/{id}/details", Access::Operator, details_moved)
}

/// Line rows on a new form (more are added on the page).
const LINE_ROWS: usize = 3;
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
    /// The form as posted.
    fn posted(form: &HashMap<String, String>) -> Typed {
        let field = |name: &str| form.get(name).cloned().unwrap_or_default();
        Typed {
            customer_id: field("customer_id"),
            terms: field("terms"),
            lines: line_inputs(form, 1),
            service_date: field("service_date"),
            service_period_start: field("service_period_start"),
            service_period_end: field("service_period_end"),
            purchase_order: field("purchase_order"),
            delivery_lines: field("delivery_lines"),
            delivery_postcode: field("delivery_postcode"),
            delivery_city: field("delivery_city"),
            delivery_country: field("delivery_country"),
        }
    }

    /// Draft `invoice` as the form shows it, every line included.
    fn of_draft(invoice: &Invoice) -> Typed {
        let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
        let delivery = invoice.delivery_address.clone().unwrap_or_default();
        let lines = invoice
            .lines
            .iter()
            .map(|l| LineInput {
                n: l.position as usize,
                product: String::new(),
                description: l.description.clone(),
                nature: l.nature.as_str().to_string(),
                quantity: l.quantity.normalize().to_string().replace('.', ","),
                unit: l.unit.map(Unit::as_str).unwrap_or_default().to_string(),
                unit_price: l.unit_price.format_number_fr(false),
            })
            .collect();
        Typed {
            customer_id: invoice.customer_id.to_string(),
            terms: invoice.payment_terms_days.map(|d| d.to_string()).unwrap_or_default(),
            lines,
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
        }
    }

    /// One more empty line row.
    fn add_row(&mut self) {
        if self.lines.len() < MAX_LINE_ROWS {
            self.lines.push(LineInput {
                n: self.lines.len() + 1,
                ..LineInput::default()
            });
        }
    }

    /// The service date or period, purchase order and delivery address typed
    /// (dates that do not read as dates are refused by their field).
    fn details(&self, errors: &mut FieldErrors) -> DraftDetails {
        let mut date = |field: &str, text: &str| match text.trim() {
            "" => None,
            t => {
                let d = parse_date(t);
                if d.is_none() {
                    errors.add(field, not_a_date(t));
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

    /// The draft the form describes, with its payment terms, or its errors by field.
    fn checked(&self, currency: Currency, errors: &mut FieldErrors) -> Option<(NewInvoice, Option<i32>)> {
        let customer_id = self.customer_id.trim().parse::<i64>().ok();
        if customer_id.is_none() {
            errors.add("customer_id", text!("Choisissez un client."));
        }
        let terms = match self.terms.trim() {
            "" => None,
            t => match t.parse::<i32>() {
                Ok(d) if (0..=60).contains(&d) => Some(d),
                _ => {
                    errors.add("terms", text!("De 0 à 60 jours."));
                    None
                }
            },
        };
        let lines = parse_lines(&self.lines, currency, errors);
        let details = self.details(errors);
        let (Some(customer_id), true) = (customer_id, errors.is_empty()) else {
            return None;
        };
        let lines = lines
            .into_iter()
            .map(|l| NewLine {
                description: l.description,
                nature: l.nature,
                quantity: l.quantity,
                unit: l.unit,
                unit_price: l.unit_price,
            })
            .collect();
        let new = NewInvoice {
            service_date: details.service_date,
            service_period_start: details.service_period_start,
            service_period_end: details.service_period_end,
            purchase_order: details.purchase_order,
            delivery_address: details.delivery_address,
            ..NewInvoice::of_lines(customer_id, currency, lines)
        };
        Some((new, terms))
    }

    /// The sum of the lines that read (what the page shows as "Total" before
    /// saving, and its script keeps up to date as lines are typed).
    fn running_total(&self, currency: Currency) -> Money {
        let mut ignored = FieldErrors::new();
        parse_lines(&self.lines, currency, &mut ignored)
            .iter()
            .filter_map(|l| l.unit_price.times(l.quantity).ok())
            .fold(Money::zero(currency), |sum, t| sum.checked_add(t).unwrap_or(sum))
    }
}

/// The draft form: a new draft (`editing` none) or draft `editing`.
async fn page(
    admin: &Admin,
    status: StatusCode,
    editing: Option<i64>,
    typed: Typed,
    errors: &FieldErrors,
    error: Option<Text>,
) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let customers = customer_choices(store, typed.customer_id.trim().parse().ok()).await?;
    let settings = match settings::load(store).await {
        Ok(s) => Some(s),
        Err(BillingError::NoSettings) => None,
        Err(e) => return Err(e.into()),
    };
    let currency = settings.as_ref().map_or(Currency::EUR, |s| s.currency);
    let products = catalog::price_list(store).await?;
    let units: Vec<&str> = Unit::ALL.iter().map(|u| u.as_str()).collect();
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
            total => typed.running_total(currency),
            lines => typed.lines,
            products => products,
            units => units,
            typed => typed,
            errors => errors.said(admin.lang()),
            error => error.map(|e| admin.tr(e)),
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
    page(&admin, StatusCode::OK, None, typed, &FieldErrors::new(), None).await
}

/// The form as posted, products applied; `None` with the form shown again
/// when a row was asked for or a field refused.
async fn posted(
    admin: &Admin,
    editing: Option<i64>,
    form: &HashMap<String, String>,
) -> Result<Result<(Typed, NewInvoice, Option<i32>), Response>, AdminError> {
    let mut typed = Typed::posted(form);
    let mut errors = FieldErrors::new();
    let too_many = numbered_rows(form) > MAX_LINE_ROWS;
    if too_many {
        // Lines beyond the form's bound are not read: refuse rather than keep part of them.
        errors.add(
            "description_1",
            text!(
                "{max} lignes au plus par facture : rien n'a été enregistré.",
                max = MAX_LINE_ROWS
            ),
        );
    } else {
        let products = catalog::price_list(&admin.state.store).await?;
        apply_products(&mut typed.lines, &products, &mut errors);
        if form.contains_key("add_line") {
            typed.add_row();
            return Ok(Err(page(admin, StatusCode::OK, editing, typed, &errors, None).await?));
        }
    }
    if !too_many {
        let currency = seller_currency(&admin.state.store).await?;
        if let Some((new, terms)) = typed.checked(currency, &mut errors).filter(|_| errors.is_empty()) {
            return Ok(Ok((typed, new, terms)));
        }
    }
    let shown = page(admin, StatusCode::UNPROCESSABLE_ENTITY, editing, typed, &errors, None).await?;
    Ok(Err(shown))
}

/// The form again with the domain's refusal of the draft by its field.
async fn refused(admin: &Admin, editing: Option<i64>, typed: Typed, e: BillingError) -> Result<Response, AdminError> {
    let mut errors = FieldErrors::new();
    if let BillingError::NotFound(_) = e {
        errors.add("customer_id", text!("Client inconnu."));
        return page(admin, StatusCode::UNPROCESSABLE_ENTITY, editing, typed, &errors, None).await;
    }
    let message = refusal_of(e, FIELDS, &mut errors)?;
    page(
        admin,
        StatusCode::UNPROCESSABLE_ENTITY,
        editing,
        typed,
        &errors,
        Some(message),
    )
    .await
}

#[tracing::instrument(skip_all)]
async fn create(admin: Admin, Form(form): Form<HashMap<String, String>>) -> Result<Response, AdminError> {
    let (typed, new, terms) = match posted(&admin, None, &form).await? {
        Ok(checked) => checked,
        Err(shown_again) => return Ok(shown_again),
    };
    let mut tx = admin.state.store.begin().await?;
    let draft = match actions::create_draft(&mut tx, &admin.actor, new, terms).await {
        Ok(d) => d,
        Err(e) => {
            tx.rollback().await?;
            return refused(&admin, None, typed, e).await;
        }
    };
    tx.commit().await?;
    Ok(admin.redirect(&format!("/admin/invoices/{}", draft.id), saved(&draft)))
}

/// A draft; an issued invoice's page says it is frozen.
async fn draft_of(admin: &Admin, id: i64) -> Result<Result<Invoice, Response>, AdminError> {
    let invoice = invoices::get(&admin.state.store, id).await?;
    if invoice.status == InvoiceStatus::Draft {
        return Ok(Ok(invoice));
    }
    Ok(Err(admin.redirect(
        &format!("/admin/invoices/{id}"),
        text!(
            "La facture {reference} est émise : elle ne se modifie plus. Un avoir la corrige.",
            reference = invoice.reference.as_deref().unwrap_or("")
        ),
    )))
}

async fn edit_form(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let draft = match draft_of(&admin, id).await? {
        Ok(d) => d,
        Err(frozen) => return Ok(frozen),
    };
    let mut typed = Typed::of_draft(&draft);
    typed.add_row();
    page(&admin, StatusCode::OK, Some(id), typed, &FieldErrors::new(), None).await
}

async fn details_moved(_admin: Admin, Path(id): Path<i64>) -> Response {
    axum::response::IntoResponse::into_response(axum::response::Redirect::permanent(&format!(
        "/admin/invoices/{id}/edit"
    )))
}

#[tracing::instrument(skip_all, fields(invoice = id))]
async fn save(
    admin: Admin,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    if let Err(frozen) = draft_of(&admin, id).await? {
        return Ok(frozen);
    }
    let (typed, new, terms) = match posted(&admin, Some(id), &form).await? {
        Ok(checked) => checked,
        Err(shown_again) => return Ok(shown_again),
    };
    let mut tx = admin.state.store.begin().await?;
    let draft = match actions::edit_draft(&mut tx, &admin.actor, id, new, terms).await {
        Ok(d) => d,
        Err(e) => {
            tx.rollback().await?;
            return refused(&admin, Some(id), typed, e).await;
        }
    };
    tx.commit().await?;
    Ok(admin.redirect(&format!("/admin/invoices/{id}"), saved(&draft)))
}

/// "Brouillon n° 7 enregistré : 120,00 € (2 lignes)."
fn saved(draft: &Invoice) -> Text {
    let total = draft.total.format_fr();
    match draft.lines.len() {
        0 | 1 => text!(
            "Brouillon n° {id} enregistré : {total} (1 ligne).",
            id = draft.id,
            total = total
        ),
        n => text!(
            "Brouillon n° {id} enregistré : {total} ({n} lignes).",
            id = draft.id,
            total = total,
            n = n
        ),
    }
}

/// The terms as said on a page: `à réception`, `30 jours`.
pub(super) fn terms_label(days: i32) -> Text {
    if days == 0 {
        text!("à réception")
    } else {
        text!("{days} jours", days = days)
    }
}

#[cfg(test)]
mod tests {
    use crate::i18n::Lang;

    #[test]
    fn terms_labels() {
        assert_eq!(super::terms_label(0).in_lang(Lang::Fr), "à réception");
        assert_eq!(super::terms_label(30).in_lang(Lang::Fr), "30 jours");
        assert_eq!(super::terms_label(30).in_lang(Lang::En), "30 days");
    }
}
