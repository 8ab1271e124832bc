//! Customers through the API: `POST /api/customers` (create),
//! `GET /api/customers` (newest first, paged, `?q=` searching names and
//! e-mails), `GET /api/customers/{id}` and `PUT /api/customers/{id}`
//! (correct: the whole customer again; issued documents keep the details
//! frozen in them), and `GET`/`PUT /api/customers/{id}/email-choices` (what
//! the customer receives by e-mail: invoices, receipts, credit notes).
//! Changes go through `billing::actions::customers`, as the admin's do.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::extract::from_value;
use super::idempotency::{answer, Idempotency, Keep};
use super::{Api, ApiError, Json, Path, Query};
use crate::billing::actions::customers as actions;
use crate::billing::address::PostalAddress;
use crate::billing::customers::{self, Customer, CustomerKind, NewCustomer};
use crate::billing::mailing::{self, EmailChoices};
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/api/customers", Access::ApiKey, create)
        .get("/api/customers", Access::ApiKey, list)
        .get("/api/customers/{id}", Access::ApiKey, show)
        .add(
            Method::PUT,
            "/api/customers/{id}",
            Access::ApiKey,
            axum::routing::put(correct),
        )
        .get("/api/customers/{id}/email-choices", Access::ApiKey, email_choices)
        .add(
            Method::PUT,
            "/api/customers/{id}/email-choices",
            Access::ApiKey,
            axum::routing::put(set_email_choices),
        )
}

/// A customer as the API shows it.
#[derive(Debug, Serialize)]
struct CustomerView {
    id: i64,
    kind: CustomerKind,
    name: String,
    email: Option<String>,
    address: PostalAddress,
    siren: Option<String>,
    /// Where the customer receives e-invoices (EN 16931 BT-49), and its scheme.
    electronic_address: Option<String>,
    electronic_address_scheme: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<Customer> for CustomerView {
    fn from(c: Customer) -> Self {
        CustomerView {
            id: c.id,
            kind: c.kind,
            name: c.name,
            email: c.email,
            address: c.address,
            siren: c.siren,
            electronic_address: c.electronic_address,
            electronic_address_scheme: c.electronic_address_scheme,
            created_at: c.created_at,
        }
    }
}

/// A customer in a request: the same to create and to correct.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerIn {
    kind: CustomerKind,
    name: String,
    /// Street lines, postcode, city, ISO country: postcode and city are
    /// required (a French postcode has 5 digits).
    address: PostalAddress,
    #[serde(default)]
    email: Option<String>,
    /// 9 digits; required for a business.
    #[serde(default)]
    siren: Option<String>,
    /// A business giving none gets its SIREN (scheme 0225).
    #[serde(default)]
    electronic_address: Option<String>,
    /// 0225 (SIREN), EM (e-mail) or another ISO 6523 code.
    #[serde(default)]
    electronic_address_scheme: Option<String>,
}

impl From<CustomerIn> for NewCustomer {
    fn from(c: CustomerIn) -> Self {
        NewCustomer {
            kind: c.kind,
            name: c.name,
            email: c.email,
            address: c.address,
            siren: c.siren,
            electronic_address: c.electronic_address,
            electronic_address_scheme: c.electronic_address_scheme,
        }
    }
}

async fn create(api: Api, idem: Idempotency, Json(body): Json<Value>) -> Result<Response, ApiError> {
    let request: CustomerIn = from_value(body.clone())?;
    let new = NewCustomer::from(request);
    let caller = api.clone();
    idem.run(&api, &body, move |keep: Keep| async move {
        let api = caller;
        let mut tx = api.state.store.begin().await?;
        let customer = actions::create(&mut tx, &api.actor, new).await?;
        let answered = answer(StatusCode::CREATED, &CustomerView::from(customer))?;
        keep.answer_in(&mut tx, &answered).await?;
        tx.commit().await?;
        Ok(answered)
    })
    .await
}

async fn correct(api: Api, Path(id): Path<i64>, Json(body): Json<Value>) -> Result<Json<CustomerView>, ApiError> {
    let request: CustomerIn = from_value(body)?;
    let mut tx = api.state.store.begin().await?;
    let customer = actions::update(&mut tx, &api.actor, id, request.into()).await?;
    tx.commit().await?;
    Ok(Json(customer.into()))
}

async fn email_choices(api: Api, Path(id): Path<i64>) -> Result<Json<EmailChoices>, ApiError> {
    let store = &api.state.store;
    customers::get(store, id).await?;
    Ok(Json(mailing::get(store, id).await?))
}

/// The three choices, each required: the whole of them again, as a PUT says.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailChoicesIn {
    invoices: bool,
    receipts: bool,
    credit_notes: bool,
}

async fn set_email_choices(
    api: Api,
    Path(id): Path<i64>,
    Json(body): Json<Value>,
) -> Result<Json<EmailChoices>, ApiError> {
    let request: EmailChoicesIn = from_value(body)?;
    let choices = EmailChoices {
        invoices: request.invoices,
        receipts: request.receipts,
        credit_notes: request.credit_notes,
    };
    let mut tx = api.state.store.begin().await?;
    actions::set_email_choices(&mut tx, &api.actor, id, choices).await?;
    tx.commit().await?;
    Ok(Json(choices))
}

async fn show(api: Api, Path(id): Path<i64>) -> Result<Json<CustomerView>, ApiError> {
    Ok(Json(customers::get(&api.state.store, id).await?.into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Part of a name or e-mail; blank lists all.
    #[serde(default)]
    q: Option<String>,
    /// 1 to 100, 50 by default.
    #[serde(default)]
    limit: Option<i64>,
    /// The `next_before` of the previous page.
    #[serde(default)]
    before: Option<i64>,
}

#[derive(Debug, Serialize)]
struct CustomerList {
    customers: Vec<CustomerView>,
    /// Pass it as `before` for the next page; none on the last page.
    next_before: Option<i64>,
}

async fn list(api: Api, Query(q): Query<ListQuery>) -> Result<Json<CustomerList>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", crate::text!("de 1 à {max}", max = 100)));
    }
    let text = q.q.unwrap_or_default();
    if text.chars().count() > 200 {
        return Err(ApiError::field("q", crate::input::TextError::TooLong(200).text()));
    }
    let found = customers::search(&api.state.store, &text, limit, q.before).await?;
    let next_before = (found.len() as i64 == limit)
        .then(|| found.last().map(|c| c.id))
        .flatten();
    Ok(Json(CustomerList {
        customers: found.into_iter().map(CustomerView::from).collect(),
        next_before,
    }))
}
