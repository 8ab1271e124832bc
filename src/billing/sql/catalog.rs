use chrono::Utc;

use crate::billing::catalog::{Nature, NewProduct, Product, Unit};
use crate::money::{Currency, Money};
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Store, StoreError, Tx};

const COLUMNS: &str = "id, sku, name, nature, unit_price_minor, currency, unit, active";

fn decode(r: &AnyRow) -> Result<Product, StoreError> {
    let nature: String = r.get("nature")?;
    Ok(Product {
        id: r.get("id")?,
        sku: r.get("sku")?,
        name: r.get("name")?,
        nature: Nature::parse(&nature).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        unit_price: money(r, "unit_price_minor", "currency")?,
        unit: unit(r, "unit")?,
        active: r.get("active")?,
    })
}

/// Reads a unit column (NULL: none).
pub(crate) fn unit(r: &AnyRow, column: &str) -> Result<Option<Unit>, StoreError> {
    let text: Option<String> = r.get(column)?;
    text.map(|t| Unit::parse(&t).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

/// Reads an amount column and its currency column.
pub(crate) fn money(r: &AnyRow, minor: &str, currency: &str) -> Result<Money, StoreError> {
    let code: String = r.get(currency)?;
    let currency: Currency = code
        .parse()
        .map_err(|e: crate::money::MoneyError| StoreError::Corrupt(e.to_string()))?;
    Ok(Money::new(r.get(minor)?, currency))
}

pub(crate) async fn insert(tx: &mut Tx, p: &NewProduct) -> Result<Product, StoreError> {
    let row = sql!(
        fetch_one,
        tx,
        &format!(
            "INSERT INTO products (sku, name, nature, unit_price_minor, currency, unit, active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
        ),
        &p.sku,
        &p.name,
        p.nature.as_str(),
        p.unit_price.minor,
        p.unit_price.currency.code(),
        p.unit.map(Unit::as_str),
        true,
        Utc::now()
    )?;
    decode(&row)
}

pub(crate) async fn list_active(store: &Store) -> Result<Vec<Product>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {COLUMNS} FROM products WHERE active = $1 ORDER BY sku"),
        true
    )?
    .iter()
    .map(decode)
    .collect()
}

pub(crate) async fn list_all(store: &Store) -> Result<Vec<Product>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {COLUMNS} FROM products ORDER BY sku")
    )?
    .iter()
    .map(decode)
    .collect()
}

pub(crate) async fn by_sku(tx: &mut Tx, sku: &str) -> Result<Option<Product>, StoreError> {
    sql!(
        fetch_optional,
        tx,
        &format!("SELECT {COLUMNS} FROM products WHERE sku = $1"),
        sku
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

pub(crate) async fn set_active(tx: &mut Tx, sku: &str, active: bool) -> Result<u64, StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE products SET active = $1 WHERE sku = $2",
        active,
        sku
    )
}

/// Sets what can change of product `sku`: its name, nature, price and unit
/// (its SKU is how orders and contracts name it).
pub(crate) async fn update(tx: &mut Tx, p: &NewProduct) -> Result<Option<Product>, StoreError> {
    sql!(
        fetch_optional,
        tx,
        &format!(
            "UPDATE products SET name = $1, nature = $2, unit_price_minor = $3, currency = $4, unit = $5
             WHERE sku = $6 RETURNING {COLUMNS}"
        ),
        &p.name,
        p.nature.as_str(),
        p.unit_price.minor,
        p.unit_price.currency.code(),
        p.unit.map(Unit::as_str),
        &p.sku
    )?
    .as_ref()
    .map(decode)
    .transpose()
}
