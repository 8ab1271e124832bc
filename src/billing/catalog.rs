//! The catalogue: what can be sold and at what price (the price list a
//! checkout page reads). Prices are the server's: a client's total is never trusted.

use serde::{Deserialize, Serialize};

use super::error::{invalid, BillingError};
use super::validate;
use crate::billing::sql::catalog as sql;
use crate::money::Money;
use crate::store::{Store, Tx};

/// Goods and services are kept apart in the livre de recettes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Nature {
    Goods,
    Services,
}

impl Nature {
    pub fn as_str(self) -> &'static str {
        match self {
            Nature::Goods => "goods",
            Nature::Services => "services",
        }
    }

    pub fn parse(s: &str) -> Result<Nature, BillingError> {
        match s {
            "goods" => Ok(Nature::Goods),
            "services" => Ok(Nature::Services),
            other => Err(invalid("nature", format!("{other:?} is not goods or services"))),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewProduct {
    pub sku: String,
    pub name: String,
    pub nature: Nature,
    pub unit_price: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub nature: Nature,
    pub unit_price: Money,
    pub active: bool,
}

pub async fn create(tx: &mut Tx, new: NewProduct) -> Result<Product, BillingError> {
    let sku = validate::text("sku", &new.sku, 64)?;
    if !sku
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(invalid("sku", "letters, digits, '-', '_' and '.' only"));
    }
    if new.unit_price.is_negative() {
        return Err(invalid("unit_price", "must not be negative"));
    }
    let product = NewProduct {
        sku,
        name: validate::text("name", &new.name, 200)?,
        ..new
    };
    sql::insert(tx, &product).await.map_err(|e| match e {
        crate::store::StoreError::Conflict(_) => {
            BillingError::Conflict(format!("sku {:?} already exists", product.sku))
        }
        other => other.into(),
    })
}

/// Active products, by SKU.
pub async fn price_list(store: &Store) -> Result<Vec<Product>, BillingError> {
    Ok(sql::list_active(store).await?)
}

/// Every product, for sale or retired, by SKU.
pub async fn list_all(store: &Store) -> Result<Vec<Product>, BillingError> {
    Ok(sql::list_all(store).await?)
}

pub async fn by_sku(tx: &mut Tx, sku: &str) -> Result<Product, BillingError> {
    sql::by_sku(tx, sku)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("product {sku:?}")))
}

pub async fn set_active(tx: &mut Tx, sku: &str, active: bool) -> Result<(), BillingError> {
    if sql::set_active(tx, sku, active).await? == 0 {
        return Err(BillingError::NotFound(format!("product {sku:?}")));
    }
    Ok(())
}
