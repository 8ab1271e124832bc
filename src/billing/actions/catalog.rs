//! The catalogue: creating a product, changing its terms and taking one off
//! sale, each with its audit entry. A retired product stays in the catalogue (orders and
//! invoices name it) but is no longer for sale.

use serde_json::json;

use crate::audit::{self, Actor, Record};
use crate::billing::catalog::{self, NewProduct, Product};
use crate::billing::BillingError;
use crate::store::Tx;

/// What the audit log keeps of a product.
fn terms(p: &Product) -> serde_json::Value {
    json!({
        "sku": p.sku,
        "name": p.name,
        "nature": p.nature.as_str(),
        "unit_price_minor": p.unit_price.minor,
        "currency": p.unit_price.currency,
        "unit": p.unit,
    })
}

pub async fn create(tx: &mut Tx, by: &Actor, new: NewProduct) -> Result<Product, BillingError> {
    let product = catalog::create(tx, new).await?;
    let entry = Record::new("product.create", format!("product:{}", product.sku)).details(terms(&product));
    audit::record_in(tx, by, entry).await?;
    Ok(product)
}

/// Changes product `new.sku`'s name, nature, price or unit; the entry keeps
/// what it was before.
pub async fn update(tx: &mut Tx, by: &Actor, new: NewProduct) -> Result<Product, BillingError> {
    let before = catalog::by_sku(tx, &new.sku).await?;
    let product = catalog::update(tx, new).await?;
    let mut details = terms(&product);
    details["before"] = terms(&before);
    let entry = Record::new("product.update", format!("product:{}", product.sku)).details(details);
    audit::record_in(tx, by, entry).await?;
    Ok(product)
}

/// Takes product `sku` off sale; one already retired is a conflict.
pub async fn retire(tx: &mut Tx, by: &Actor, sku: &str) -> Result<Product, BillingError> {
    let product = catalog::by_sku(tx, sku).await?;
    if !product.active {
        return Err(BillingError::Conflict(crate::text!(
            "le produit « {sku} » est déjà retiré de la vente",
            sku = sku
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
