use chrono::Utc;

use crate::billing::customers::{Customer, CustomerKind, NewCustomer};
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Store, StoreError, Tx};

const COLUMNS: &str = "id, kind, name, email, address, siren, created_at";

fn decode(r: &AnyRow) -> Result<Customer, StoreError> {
    let kind: String = r.get("kind")?;
    Ok(Customer {
        id: r.get("id")?,
        kind: CustomerKind::parse(&kind).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        name: r.get("name")?,
        email: r.get("email")?,
        address: r.get("address")?,
        siren: r.get("siren")?,
        created_at: r.get("created_at")?,
    })
}

pub(crate) async fn insert(tx: &mut Tx, c: &NewCustomer) -> Result<Customer, StoreError> {
    let row = sql!(
        fetch_one,
        tx,
        &format!(
            "INSERT INTO customers (kind, name, email, address, siren, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        ),
        c.kind.as_str(),
        &c.name,
        c.email.as_deref(),
        &c.address,
        c.siren.as_deref(),
        Utc::now()
    )?;
    decode(&row)
}

pub(crate) async fn get(store: &Store, id: i64) -> Result<Customer, StoreError> {
    decode(&read!(
        fetch_one,
        store,
        &format!("SELECT {COLUMNS} FROM customers WHERE id = $1"),
        id
    )?)
}

pub(crate) async fn get_in(tx: &mut Tx, id: i64) -> Result<Customer, StoreError> {
    decode(&sql!(
        fetch_one,
        tx,
        &format!("SELECT {COLUMNS} FROM customers WHERE id = $1"),
        id
    )?)
}

pub(crate) async fn list(store: &Store, limit: i64, before: Option<i64>) -> Result<Vec<Customer>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {COLUMNS} FROM customers WHERE id < $1 ORDER BY id DESC LIMIT $2"),
        before.unwrap_or(i64::MAX),
        limit
    )?
    .iter()
    .map(decode)
    .collect()
}
