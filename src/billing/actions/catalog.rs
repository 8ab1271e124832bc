//! The catalogue: creating a product and taking one off sale, each with its
//! audit entry. A retired product stays in the catalogue (orders and
//! invoices name it) but is no longer for sale.

use serde_json::json;

use crate::audit::{self, Actor, Record};
use crate::billing::catalog::{self, NewProduct, Product};
use crate::billing::BillingError;
use crate::store::Tx;

pub async fn create(tx: &mut Tx, by: &Actor, new: NewProduct) -> Result<Product, BillingError> {
    let product = catalog::create(tx, new).await?;
    let entry = Record::new("product.create", format!("product:{}", product.sku)).details(json!({
        "sku": product.sku,
        "name": product.name,
        "nature": product.nature.as_str(),
        "unit_price_minor": product.unit_price.minor,
        "currency": product.unit_price.currency,
    }));
    audit::record_in(tx, by, entry).await?;
    Ok(product)
}

/// Takes product `sku` off sale; one already retired is a conflict.
pub async fn retire(tx: &mut Tx, by: &Actor, sku: &str) -> Result<Product, BillingError> {
    let product = catalog::by_sku(tx, sku).await?;
    if !product.active {
        return Err(BillingError::Conflict(format!(
            "le produit {sku:?} est déjà retiré de la vente / product {sku:?} is already retired"
        )));
    }
    catalog::set_active(tx, sku, false).await?;
    let entry =
        Record::new("product.retire", format!("product:{sku}")).details(json!({ "sku": sku, "name": product.name }));
    audit::record_in(tx, by, entry).await?;
    Ok(Product {
        active: false,
        ..product
    })
}
