//! `GET /api/prices`: the active catalogue, what a checkout page shows. The
//! prices are the server's; an order is priced from them, never from the client.

use serde::Serialize;

use super::money::ApiMoney;
use super::{Api, ApiError, Json};
use crate::billing::catalog::{self, Nature, Product};
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new().get("/api/prices", Access::ApiKey, list)
}

#[derive(Serialize)]
struct Price {
    sku: String,
    name: String,
    nature: Nature,
    unit_price: ApiMoney,
}

impl From<Product> for Price {
    fn from(p: Product) -> Self {
        Price {
            sku: p.sku,
            name: p.name,
            nature: p.nature,
            unit_price: p.unit_price.into(),
        }
    }
}

#[derive(Serialize)]
struct Prices {
    prices: Vec<Price>,
}

async fn list(api: Api) -> Result<Json<Prices>, ApiError> {
    let prices = catalog::price_list(&api.state.store)
        .await?
        .into_iter()
        .map(Price::from)
        .collect();
    Ok(Json(Prices { prices }))
}
