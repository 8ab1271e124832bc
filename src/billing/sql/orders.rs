use chrono::Utc;

use super::catalog::money;
use crate::billing::orders::{Order, OrderFilter, OrderLine, OrderStatus};
use crate::money::Money;
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Backend, Store, StoreError, Tx};

const COLUMNS: &str = "id, customer_id, status, currency, total_minor, lines, invoice_id, created_at";

fn decode(r: &AnyRow) -> Result<Order, StoreError> {
    let status: String = r.get("status")?;
    Ok(Order {
        id: r.get("id")?,
        customer_id: r.get("customer_id")?,
        status: match status.as_str() {
            "pending" => OrderStatus::Pending,
            "paid" => OrderStatus::Paid,
            "cancelled" => OrderStatus::Cancelled,
            "expired" => OrderStatus::Expired,
            other => return Err(StoreError::Corrupt(format!("order status {other:?}"))),
        },
        total: money(r, "total_minor", "currency")?,
        lines: r.json::<Vec<OrderLine>>("lines")?,
        invoice_id: r.get("invoice_id")?,
        created_at: r.get("created_at")?,
    })
}

pub(crate) async fn insert(
    tx: &mut Tx,
    customer_id: i64,
    total: Money,
    lines: &[OrderLine],
) -> Result<Order, StoreError> {
    let row = sql!(
        fetch_one,
        tx,
        &format!(
            "INSERT INTO orders (customer_id, status, currency, total_minor, lines, created_at)
             VALUES ($1, 'pending', $2, $3, $4, $5) RETURNING {COLUMNS}"
        ),
        customer_id,
        total.currency.code(),
        total.minor,
        sqlx::types::Json(serde_json::to_value(lines)?),
        Utc::now()
    )?;
    decode(&row)
}

pub(crate) async fn get(store: &Store, id: i64) -> Result<Option<Order>, StoreError> {
    read!(
        fetch_optional,
        store,
        &format!("SELECT {COLUMNS} FROM orders WHERE id = $1"),
        id
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

pub(crate) async fn lock(tx: &mut Tx, id: i64) -> Result<Option<Order>, StoreError> {
    let lock = if tx.backend() == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    sql!(
        fetch_optional,
        tx,
        &format!("SELECT {COLUMNS} FROM orders WHERE id = $1{lock}"),
        id
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

pub(crate) async fn set_invoice(tx: &mut Tx, id: i64, invoice_id: i64) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE orders SET invoice_id = $1 WHERE id = $2",
        invoice_id,
        id
    )?;
    Ok(())
}

/// Moves the order to `to` if it is in one of `from`; returns rows changed.
pub(crate) async fn set_status(tx: &mut Tx, id: i64, to: OrderStatus, from: &[OrderStatus]) -> Result<u64, StoreError> {
    let mut changed = 0;
    for f in from {
        changed += sql!(
            execute,
            tx,
            "UPDATE orders SET status = $1 WHERE id = $2 AND status = $3",
            to.as_str(),
            id,
            f.as_str()
        )?;
    }
    Ok(changed)
}

/// Newest first, keyset-paginated by id.
pub(crate) async fn list(store: &Store, f: &OrderFilter) -> Result<Vec<Order>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!(
            "SELECT {COLUMNS} FROM orders
             WHERE ($1 IS NULL OR customer_id = $1) AND ($2 IS NULL OR status = $2) AND id < $3
             ORDER BY id DESC LIMIT $4"
        ),
        f.customer_id,
        f.status.map(OrderStatus::as_str),
        f.before_id.unwrap_or(i64::MAX),
        f.limit.clamp(1, 1000)
    )?
    .iter()
    .map(decode)
    .collect()
}
