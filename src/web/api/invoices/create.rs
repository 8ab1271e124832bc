//! `POST /api/invoices`: a draft (no number yet). Each line is either a
//! product of the catalogue (`sku` + `quantity`: its name, nature and price
//! are the server's) or described in full (`description`, `nature`,
//! `quantity`, `unit_price`). All lines are in one currency.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use super::super::error::Fields;
use super::super::extract::from_value;
use super::super::idempotency::{answer, Idempotency, Keep};
use super::super::money::MoneyIn;
use super::super::{Api, ApiError, Json, Path};
use super::{decimal, DocumentView};
use crate::billing::actions::invoices as actions;
use crate::billing::address::PostalAddress;
use crate::billing::catalog::{self, Nature, Product, Unit};
use crate::billing::invoices::{self, NewInvoice, NewLine};
use crate::billing::{customers, BillingError};
use crate::input;
use crate::money::Currency;
use crate::text;

/// At most this many lines on one invoice.
const MAX_LINES: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateInvoice {
    customer_id: i64,
    lines: Vec<LineIn>,
    /// Days from issue to due date (0 to 60); the seller's default when left out.
    #[serde(default)]
    payment_terms_days: Option<i32>,
    /// The date of the sale or service (C. com. L441-9); or the period
    /// below (both ends); neither: the issue date.
    #[serde(default)]
    service_date: Option<NaiveDate>,
    #[serde(default)]
    service_period_start: Option<NaiveDate>,
    #[serde(default)]
    service_period_end: Option<NaiveDate>,
    /// The customer's purchase-order number, when there is one.
    #[serde(default)]
    purchase_order: Option<String>,
    /// Only when it differs from the customer's address.
    #[serde(default)]
    delivery_address: Option<PostalAddress>,
}

/// A product by `sku`, or a line described in full.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn {
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    nature: Option<Nature>,
    /// A number (`2`, `1.5`) or a decimal string (`"1.5"`).
    quantity: Value,
    /// What the quantity counts; a product's own unit when left out.
    #[serde(default)]
    unit: Option<Unit>,
    #[serde(default)]
    unit_price: Option<MoneyIn>,
}

/// The lines checked, in one currency; every problem named by its field.
fn check_lines(
    lines: Vec<LineIn>,
    catalogue: &HashMap<String, Product>,
    fields: &mut Fields,
) -> Option<(Currency, Vec<NewLine>)> {
    if lines.is_empty() {
        fields.add("lines", text!("au moins une ligne est requise"));
    }
    if lines.len() > MAX_LINES {
        fields.add("lines", text!("{max} lignes au plus", max = MAX_LINES));
    }
    let mut checked = Vec::with_capacity(lines.len());
    let mut currency: Option<Currency> = None;
    let mut mixed = false;
    for (i, line) in lines.into_iter().enumerate() {
        let at = |f: &str| format!("lines[{i}].{f}");
        let quantity = decimal(&line.quantity).filter(|q| *q > Decimal::ZERO && *q <= Decimal::from(1_000_000));
        if quantity.is_none() {
            fields.add(
                at("quantity"),
                text!("un nombre positif jusqu'à 1000000, par exemple 2 ou \"1.5\""),
            );
        }
        let mut unit = line.unit;
        let priced = match (line.sku, line.description, line.nature, line.unit_price) {
            (Some(sku), None, None, None) => match catalogue.get(sku.trim()) {
                Some(p) if p.active => {
                    unit = unit.or(p.unit);
                    Some((p.name.clone(), p.nature, p.unit_price))
                }
                Some(_) => {
                    fields.add(
                        at("sku"),
                        text!("« {sku} » est retiré : il n'est plus en vente", sku = sku),
                    );
                    None
                }
                None => {
                    fields.add(at("sku"), text!("« {sku} » n'est pas au catalogue", sku = sku));
                    None
                }
            },
            (Some(_), ..) => {
                fields.add(
                    at("sku"),
                    text!(
                        "donnez sku (le nom, la nature et le prix du catalogue), ou description, nature et unit_price : pas les deux"
                    ),
                );
                None
            }
            (None, description, nature, unit_price) => {
                let description = match description.as_deref().map(|d| input::single_line(d, 300)) {
                    Some(Ok(d)) if !d.is_empty() => Some(d),
                    Some(Err(e)) => {
                        fields.add(at("description"), e.text());
                        None
                    }
                    _ => {
                        fields.add(
                            at("description"),
                            text!("obligatoire sans sku : de 1 à {max} caractères", max = 300),
                        );
                        None
                    }
                };
                if nature.is_none() {
                    fields.add(at("nature"), text!("obligatoire sans sku : goods (biens) ou services"));
                }
                let unit_price = match unit_price {
                    Some(p) => p.check(&at("unit_price"), fields),
                    None => {
                        fields.add(at("unit_price"), text!("obligatoire sans sku"));
                        None
                    }
                };
                if unit_price.is_some_and(|p| p.is_negative()) {
                    fields.add(at("unit_price.minor"), text!("ne peut pas être négatif"));
                }
                match (description, nature, unit_price) {
                    (Some(d), Some(n), Some(p)) => Some((d, n, p)),
                    _ => None,
                }
            }
        };
        let (Some((description, nature, unit_price)), Some(quantity)) = (priced, quantity) else {
            continue;
        };
        match currency {
            None => currency = Some(unit_price.currency),
            Some(c) if c != unit_price.currency => mixed = true,
            Some(_) => {}
        }
        checked.push(NewLine {
            description,
            nature,
            quantity,
            unit,
            unit_price,
        });
    }
    if mixed {
        fields.add(
            "lines",
            text!("toutes les lignes d'une facture sont dans une même devise"),
        );
    }
    currency.map(|c| (c, checked))
}

/// The draft a request describes, with its payment terms, or every problem by its field.
async fn checked(api: &Api, request: CreateInvoice) -> Result<(NewInvoice, Option<i32>), ApiError> {
    let store = &api.state.store;
    let mut fields = Fields::new();
    match customers::get(store, request.customer_id).await {
        Ok(_) => {}
        Err(BillingError::NotFound(_)) => fields.add(
            "customer_id",
            text!("aucun client n'a l'id {id}", id = request.customer_id),
        ),
        Err(e) => return Err(e.into()),
    }
    if let Some(days) = request.payment_terms_days {
        if !(0..=60).contains(&days) {
            fields.add(
                "payment_terms_days",
                text!("de 0 à 60 jours (Code de commerce L441-10)"),
            );
        }
    }
    let catalogue: HashMap<String, Product> = catalog::list_all(store)
        .await?
        .into_iter()
        .map(|p| (p.sku.clone(), p))
        .collect();
    let lines = check_lines(request.lines, &catalogue, &mut fields);
    fields.finish()?;
    let Some((currency, lines)) = lines else {
        return Err(ApiError::Internal("invoice lines checked but absent".into()));
    };
    let new = NewInvoice {
        service_date: request.service_date,
        service_period_start: request.service_period_start,
        service_period_end: request.service_period_end,
        purchase_order: request.purchase_order,
        delivery_address: request.delivery_address,
        ..NewInvoice::of_lines(request.customer_id, currency, lines)
    };
    Ok((new, request.payment_terms_days))
}

pub(super) async fn create(api: Api, idem: Idempotency, Json(body): Json<Value>) -> Result<Response, ApiError> {
    let request: CreateInvoice = from_value(body.clone())?;
    let (new, terms) = checked(&api, request).await?;
    let caller = api.clone();
    idem.run(&api, &body, move |keep: Keep| async move {
        let api = caller;
        let mut tx = api.state.store.begin().await?;
        let draft = actions::create_draft(&mut tx, &api.actor, new, terms).await?;
        // As stored, with its payment terms.
        let draft = invoices::get_in(&mut tx, draft.id).await?;
        let answered = answer(StatusCode::CREATED, &DocumentView::new(draft, Vec::new()))?;
        keep.answer_in(&mut tx, &answered).await?;
        tx.commit().await?;
        Ok(answered)
    })
    .await
}

/// `PUT /api/invoices/{id}`: the whole draft again, as to create it (its
/// lines replaced, renumbered); an issued invoice is a conflict (409).
/// Through `actions::invoices::edit_draft`, as the admin's edit form.
pub(super) async fn edit(
    api: Api,
    Path(id): Path<i64>,
    Json(body): Json<Value>,
) -> Result<Json<DocumentView>, ApiError> {
    let request: CreateInvoice = from_value(body)?;
    invoices::get(&api.state.store, id).await?;
    let (new, terms) = checked(&api, request).await?;
    let mut tx = api.state.store.begin().await?;
    let draft = actions::edit_draft(&mut tx, &api.actor, id, new, terms).await?;
    tx.commit().await?;
    Ok(Json(DocumentView::new(draft, Vec::new())))
}
