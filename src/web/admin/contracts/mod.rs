//! Deferred-payment contracts: the list, the subscription form (customer,
//! SEPA mandate, ceiling), and a contract's page with its actions and the
//! form that posts an operation on it (`page`).

mod page;

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::billing_input::{self, customer_choices, refused, FieldErrors};
use super::{empty_as_none, filter, filter_params, next_before, Admin, AdminError, Form, Query, PAGE_SIZE};
use crate::billing::actions::contracts as actions;
use crate::billing::contracts::{self, ContractFilter, ContractStatus, NewContract};
use crate::billing::customers;
use crate::money::Currency;
use crate::text;
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    crate::template!("admin/contracts/list.html"),
    crate::template!("admin/contracts/new.html"),
    crate::template!("admin/contracts/show.html"),
];

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/contracts", Access::Operator, list)
        .post("/admin/contracts", Access::Operator, create)
        .get("/admin/contracts/new", Access::Operator, new_form)
        .merge(page::routes())
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    customer_id: Option<i64>,
    #[serde(default, deserialize_with = "empty_as_none")]
    before: Option<i64>,
}

async fn list(admin: Admin, Query(q): Query<ListQuery>) -> Result<Response, AdminError> {
    let status = filter("status", &q.status, ContractStatus::parse)?;
    let store = &admin.state.store;
    let rows = contracts::list(
        store,
        &ContractFilter {
            customer_id: q.customer_id,
            status,
            limit: PAGE_SIZE,
            before_id: q.before,
        },
    )
    .await?;
    let next = next_before(&rows, PAGE_SIZE, |c| c.id);
    let ids: Vec<i64> = rows.iter().map(|c| c.customer_id).collect();
    let names = customers::names(store, &ids).await?;
    let params = filter_params(&[
        ("status", q.status.trim().to_string()),
        ("customer_id", q.customer_id.map(|i| i.to_string()).unwrap_or_default()),
    ]);
    let rows: Vec<_> = rows
        .iter()
        .map(|c| {
            json!({
                "contract": c,
                "customer": names.get(&c.customer_id),
                "iban": billing_input::masked_iban(&c.mandate.iban),
            })
        })
        .collect();
    admin.render(
        "admin/contracts/list.html",
        "contracts",
        context! {
            rows => rows,
            status => q.status.trim(),
            customer_id => q.customer_id,
            statuses => ["active", "suspended", "cancelled"],
            params => params,
            next_before => next,
        },
    )
}

/// The subscription form as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
struct ContractForm {
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    mandate_reference: String,
    #[serde(default)]
    iban: String,
    #[serde(default)]
    mandate_signed_on: String,
    #[serde(default)]
    ceiling: String,
    #[serde(default)]
    currency: String,
}

const FIELDS: &[&str] = &[
    "customer_id",
    "mandate_reference",
    "iban",
    "mandate_signed_on",
    "ceiling",
    "currency",
];

async fn form_page(
    admin: &Admin,
    status: StatusCode,
    form: &ContractForm,
    errors: &FieldErrors,
    error: Option<String>,
) -> Result<Response, AdminError> {
    let selected = form.customer_id.trim().parse().ok();
    let customers = customer_choices(&admin.state.store, selected).await?;
    admin.render_status(
        status,
        "admin/contracts/new.html",
        "contracts",
        context! { form => form, errors => errors.said(admin.lang()), error => error, customers => customers },
    )
}

#[derive(Deserialize)]
struct NewQuery {
    #[serde(default, deserialize_with = "empty_as_none")]
    customer_id: Option<i64>,
}

async fn new_form(admin: Admin, Query(q): Query<NewQuery>) -> Result<Response, AdminError> {
    let today = billing_input::today(&admin.state.store).await?;
    let form = ContractForm {
        customer_id: q.customer_id.map(|i| i.to_string()).unwrap_or_default(),
        mandate_signed_on: today.format("%Y-%m-%d").to_string(),
        currency: "EUR".into(),
        ..ContractForm::default()
    };
    form_page(&admin, StatusCode::OK, &form, &FieldErrors::new(), None).await
}

#[tracing::instrument(skip_all)]
async fn create(admin: Admin, Form(form): Form<ContractForm>) -> Result<Response, AdminError> {
    let mut errors = FieldErrors::new();
    let customer_id = form.customer_id.trim().parse::<i64>().ok();
    if customer_id.is_none() {
        errors.add("customer_id", text!("choisissez un client"));
    }
    let currency = match form.currency.trim().parse::<Currency>() {
        Ok(c) => Some(c),
        Err(e) => {
            errors.add("currency", e.text());
            None
        }
    };
    let ceiling = currency.and_then(|c| billing_input::amount(&mut errors, "ceiling", &form.ceiling, c));
    let today = billing_input::today(&admin.state.store).await?;
    let signed_on = billing_input::date(&mut errors, "mandate_signed_on", &form.mandate_signed_on).and_then(|d| {
        let checked = crate::billing::dates::mandate_signed_on(d, today);
        billing_input::bounded(&mut errors, "mandate_signed_on", checked)
    });
    let (Some(customer_id), Some(ceiling), Some(signed_on), true) =
        (customer_id, ceiling, signed_on, errors.is_empty())
    else {
        return form_page(&admin, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, None).await;
    };
    let new = NewContract {
        customer_id,
        ceiling,
        mandate_reference: form.mandate_reference.clone(),
        mandate_signed_on: signed_on,
        iban: form.iban.clone(),
    };
    let mut tx = admin.state.store.begin().await?;
    let contract = match actions::subscribe(&mut tx, &admin.actor, new).await {
        Ok(c) => c,
        Err(crate::billing::BillingError::NotFound(_)) => {
            tx.rollback().await?;
            errors.add("customer_id", text!("client inconnu"));
            return form_page(&admin, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, None).await;
        }
        Err(crate::billing::BillingError::Conflict(m)) => {
            // The only conflict of a subscription: the mandate reference is taken.
            tx.rollback().await?;
            errors.add("mandate_reference", m);
            return form_page(&admin, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, None).await;
        }
        Err(e) => {
            tx.rollback().await?;
            let message = admin.tr(refused(e, FIELDS, &mut errors)?);
            return form_page(&admin, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, Some(message)).await;
        }
    };
    tx.commit().await?;
    Ok(admin.redirect(
        &format!("/admin/contracts/{}", contract.id),
        text!("Contrat n° {id} créé", id = contract.id),
    ))
}
