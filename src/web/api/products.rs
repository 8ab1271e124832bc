//! The catalogue through the API: `POST /api/products` (create),
//! `GET /api/products` (every product, for sale or retired, by SKU) and
//! `POST /api/products/{sku}/retire` (off sale; orders and invoices that
//! name it keep it). `GET /api/prices` stays what a checkout page reads.

use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::Fields;
use super::extract::from_value;
use super::idempotency::{answer, Answer, Idempotency, Keep};
use super::money::{ApiMoney, MoneyIn};
use super::{Api, ApiError, Json, Path, Query};
use crate::billing::actions::catalog as actions;
use crate::billing::catalog::{self, Nature, NewProduct, Product, Unit};
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/api/products", Access::ApiKey, create)
        .get("/api/products", Access::ApiKey, list)
        .post("/api/products/{sku}/retire", Access::ApiKey, retire)
}

/// A product as the API shows it.
#[derive(Debug, Serialize)]
pub(super) struct ProductView {
    sku: String,
    name: String,
    nature: Nature,
    unit_price: ApiMoney,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<Unit>,
    /// For sale; a retired product is kept for the documents that name it.
    active: bool,
}

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        ProductView {
            sku: p.sku,
            name: p.name,
            nature: p.nature,
            unit_price: p.unit_price.into(),
            unit: p.unit,
            active: p.active,
        }
    }
}

#[derive(Debug, Serialize)]
struct ProductList {
    products: Vec<ProductView>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// `true`: for sale only; `false`: retired only; absent: all.
    #[serde(default)]
    active: Option<bool>,
}

async fn list(api: Api, Query(q): Query<ListQuery>) -> Result<Json<ProductList>, ApiError> {
    let products = catalog::list_all(&api.state.store)
        .await?
        .into_iter()
        .filter(|p| q.active.is_none_or(|a| p.active == a))
        .map(ProductView::from)
        .collect();
    Ok(Json(ProductList { products }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateProduct {
    sku: String,
    name: String,
    nature: Nature,
    unit_price: MoneyIn,
    #[serde(default)]
    unit: Option<Unit>,
}

async fn create(api: Api, idem: Idempotency, Json(body): Json<Value>) -> Result<Response, ApiError> {
    let request: CreateProduct = from_value(body.clone())?;
    let mut fields = Fields::new();
    let unit_price = request.unit_price.check("unit_price", &mut fields);
    if unit_price.is_some_and(|p| p.is_negative()) {
        fields.add("unit_price.minor", crate::text!("ne peut pas être négatif"));
    }
    fields.finish()?;
    let Some(unit_price) = unit_price else {
        return Err(ApiError::Internal("unit price checked but absent".into()));
    };
    let new = NewProduct {
        sku: request.sku,
        name: request.name,
        nature: request.nature,
        unit_price,
        unit: request.unit,
    };
    let caller = api.clone();
    idem.run(&api, &body, move |keep: Keep| async move {
        let api = caller;
        let mut tx = api.state.store.begin().await?;
        let product = actions::create(&mut tx, &api.actor, new).await?;
        let answered = answer(StatusCode::CREATED, &ProductView::from(product))?;
        keep.answer_in(&mut tx, &answered).await?;
        tx.commit().await?;
        Ok(answered)
    })
    .await
}

async fn retire(api: Api, idem: Idempotency, Path(sku): Path<String>) -> Result<Response, ApiError> {
    let caller = api.clone();
    idem.run(&api, &Value::Null, move |keep: Keep| retire_now(caller, sku, keep))
        .await
}

async fn retire_now(api: Api, sku: String, keep: Keep) -> Result<Answer, ApiError> {
    let mut tx = api.state.store.begin().await?;
    let product = actions::retire(&mut tx, &api.actor, &sku).await?;
    let answered = answer(StatusCode::OK, &ProductView::from(product))?;
    keep.answer_in(&mut tx, &answered).await?;
    tx.commit().await?;
    Ok(answered)
}
