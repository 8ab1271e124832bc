use chrono::{DateTime, NaiveDate, Utc};

use super::catalog::money;
use crate::billing::payments::{NewPayment, Payment, PaymentFilter, PaymentMethod, PaymentSort, PaymentStatus};
use crate::billing::refunds::{Refund, RefundStatus};
use crate::money::Money;
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Backend, Store, StoreError, Tx};

const COLUMNS: &str = "id, customer_id, invoice_id, order_id, provider, provider_reference, method, status,
    amount_minor, currency, fee_minor, refunded_minor, idempotency_key, received_on, failure_reason, approval_url, provider_called_at, created_at";
const REFUND_COLUMNS: &str = "id, payment_id, amount_minor, currency, reason, status, credit_note_id,
    provider_reference, idempotency_key, refunded_on, nature";

fn decode(r: &AnyRow) -> Result<Payment, StoreError> {
    let method: String = r.get("method")?;
    let status: String = r.get("status")?;
    let amount = money(r, "amount_minor", "currency")?;
    let corrupt = |e: crate::billing::BillingError| StoreError::Corrupt(e.to_string());
    Ok(Payment {
        id: r.get("id")?,
        customer_id: r.get("customer_id")?,
        invoice_id: r.get("invoice_id")?,
        order_id: r.get("order_id")?,
        provider: r.get("provider")?,
        provider_reference: r.get("provider_reference")?,
        method: PaymentMethod::parse(&method).map_err(corrupt)?,
        status: PaymentStatus::parse(&status).map_err(corrupt)?,
        fee: Money::new(r.get("fee_minor")?, amount.currency),
        refunded: Money::new(r.get("refunded_minor")?, amount.currency),
        amount,
        idempotency_key: r.get("idempotency_key")?,
        received_on: r.get("received_on")?,
        failure_reason: r.get("failure_reason")?,
        approval_url: r.get("approval_url")?,
        provider_called_at: r.get("provider_called_at")?,
        created_at: r.get("created_at")?,
    })
}

fn decode_refund(r: &AnyRow) -> Result<Refund, StoreError> {
    let status: String = r.get("status")?;
    Ok(Refund {
        id: r.get("id")?,
        payment_id: r.get("payment_id")?,
        amount: money(r, "amount_minor", "currency")?,
        reason: r.get("reason")?,
        status: match status.as_str() {
            "pending" => RefundStatus::Pending,
            "completed" => RefundStatus::Completed,
            "failed" => RefundStatus::Failed,
            other => return Err(StoreError::Corrupt(format!("refund status {other:?}"))),
        },
        credit_note_id: r.get("credit_note_id")?,
        provider_reference: r.get("provider_reference")?,
        idempotency_key: r.get("idempotency_key")?,
        refunded_on: r.get("refunded_on")?,
        nature: r
            .get::<Option<String>>("nature")?
            .map(|n| crate::billing::catalog::Nature::parse(&n).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()?,
    })
}

fn for_update(tx: &Tx) -> &'static str {
    if tx.backend() == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    }
}

pub(crate) async fn insert(tx: &mut Tx, p: &NewPayment) -> Result<Payment, StoreError> {
    let now = Utc::now();
    let row = sql!(
        fetch_one,
        tx,
        &format!(
            "INSERT INTO payments (customer_id, invoice_id, order_id, provider, method, status, amount_minor, currency,
                 idempotency_key, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'initiated', $6, $7, $8, $9, $9) RETURNING {COLUMNS}"
        ),
        p.customer_id,
        p.invoice_id,
        p.order_id,
        &p.provider,
        p.method.as_str(),
        p.amount.minor,
        p.amount.currency.code(),
        &p.idempotency_key,
        now
    )?;
    decode(&row)
}

pub(crate) async fn by_key(tx: &mut Tx, key: &str) -> Result<Option<Payment>, StoreError> {
    sql!(
        fetch_optional,
        tx,
        &format!("SELECT {COLUMNS} FROM payments WHERE idempotency_key = $1"),
        key
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

pub(crate) async fn lock(tx: &mut Tx, id: i64) -> Result<Option<Payment>, StoreError> {
    let lock = for_update(tx);
    sql!(
        fetch_optional,
        tx,
        &format!("SELECT {COLUMNS} FROM payments WHERE id = $1{lock}"),
        id
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

pub(crate) async fn get(store: &Store, id: i64) -> Result<Option<Payment>, StoreError> {
    read!(
        fetch_optional,
        store,
        &format!("SELECT {COLUMNS} FROM payments WHERE id = $1"),
        id
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

pub(crate) async fn by_provider_reference(
    store: &Store,
    provider: &str,
    reference: &str,
) -> Result<Option<Payment>, StoreError> {
    read!(
        fetch_optional,
        store,
        &format!("SELECT {COLUMNS} FROM payments WHERE provider = $1 AND provider_reference = $2"),
        provider,
        reference
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

pub(crate) async fn set_pending(tx: &mut Tx, id: i64, provider_reference: &str) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE payments SET status = 'pending', provider_reference = $1, updated_at = $2 WHERE id = $3",
        provider_reference,
        Utc::now(),
        id
    )?;
    Ok(())
}

/// Records that the provider is being asked about payment `id` now.
pub(crate) async fn set_provider_called(store: &Store, id: i64) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    sql!(
        execute,
        tx,
        "UPDATE payments SET provider_called_at = $1 WHERE id = $2 AND status = 'initiated'",
        Utc::now(),
        id
    )?;
    tx.commit().await
}

pub(crate) async fn set_failed(tx: &mut Tx, id: i64, reason: &str) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE payments SET status = 'failed', failure_reason = $1, updated_at = $2 WHERE id = $3",
        reason,
        Utc::now(),
        id
    )?;
    Ok(())
}

pub(crate) async fn set_completed(
    tx: &mut Tx,
    id: i64,
    invoice_id: i64,
    received_on: NaiveDate,
    fee_minor: i64,
    provider_reference: Option<&str>,
) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE payments SET status = 'completed', invoice_id = $1, received_on = $2, fee_minor = $3,
             provider_reference = COALESCE($4, provider_reference), updated_at = $5
         WHERE id = $6",
        invoice_id,
        received_on,
        fee_minor,
        provider_reference,
        Utc::now(),
        id
    )?;
    Ok(())
}

/// The database's CHECK (refunded ≤ amount) backs the application's own check.
pub(crate) async fn set_refunded(
    tx: &mut Tx,
    id: i64,
    refunded_minor: i64,
    status: PaymentStatus,
) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE payments SET refunded_minor = $1, status = $2, updated_at = $3 WHERE id = $4",
        refunded_minor,
        status.as_str(),
        Utc::now(),
        id
    )?;
    Ok(())
}

/// The ORDER BY of `sort`, chosen from the closed list: names by their
/// folded search key and references byte by byte on both backends.
fn payment_order(backend: Backend, sort: PaymentSort, descending: bool) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    let collate = match backend {
        Backend::Postgres => " COLLATE \"C\"",
        Backend::Sqlite => "",
    };
    let reference = "(SELECT i.reference FROM invoices i WHERE i.id = payments.invoice_id)";
    match sort {
        PaymentSort::Newest => "id DESC".to_string(),
        PaymentSort::Date => format!("created_at {dir}, id {dir}"),
        PaymentSort::Amount => format!("amount_minor {dir}, id {dir}"),
        PaymentSort::Customer => format!(
            "(SELECT COALESCE(c.search_key, LOWER(c.name)) FROM customers c WHERE c.id = payments.customer_id){collate} {dir}, id {dir}"
        ),
        PaymentSort::Invoice => format!("CASE WHEN {reference} IS NULL THEN 1 ELSE 0 END, {reference}{collate} {dir}, id {dir}"),
        PaymentSort::State => format!(
            "CASE status WHEN 'initiated' THEN 0 WHEN 'pending' THEN 1 WHEN 'completed' THEN 2
                 WHEN 'partially_refunded' THEN 3 WHEN 'refunded' THEN 4 ELSE 5 END {dir}, id {dir}"
        ),
    }
}

pub(crate) async fn list(store: &Store, f: &PaymentFilter) -> Result<Vec<Payment>, StoreError> {
    let order = payment_order(store.backend(), f.sort, f.descending);
    read!(
        fetch_all,
        store,
        &format!(
            "SELECT {COLUMNS} FROM payments
             WHERE ($1 IS NULL OR customer_id = $1) AND ($2 IS NULL OR status = $2) AND id < $3
               AND ($5 IS NULL OR provider = $5) AND ($6 IS NULL OR invoice_id = $6) AND ($7 IS NULL OR order_id = $7)
             ORDER BY {order} LIMIT $4 OFFSET $8"
        ),
        f.customer_id,
        f.status.map(PaymentStatus::as_str),
        f.before_id.unwrap_or(i64::MAX),
        f.limit.clamp(1, 1000),
        f.provider.as_deref(),
        f.invoice_id,
        f.order_id,
        f.offset.max(0)
    )?
    .iter()
    .map(decode)
    .collect()
}

/// The date a manual payment's money was received, declared when it is recorded.
pub(crate) async fn set_received_on(tx: &mut Tx, id: i64, on: NaiveDate) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE payments SET received_on = $1, updated_at = $2 WHERE id = $3 AND status = 'initiated'",
        on,
        Utc::now(),
        id
    )?;
    Ok(())
}

pub(crate) async fn stuck(store: &Store, before: DateTime<Utc>) -> Result<Vec<Payment>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!(
            "SELECT {COLUMNS} FROM payments WHERE status IN ('initiated', 'pending') AND created_at < $1 ORDER BY id"
        ),
        before
    )?
    .iter()
    .map(decode)
    .collect()
}

pub(crate) async fn insert_refund(
    tx: &mut Tx,
    payment_id: i64,
    amount: Money,
    nature: Option<crate::billing::catalog::Nature>,
    reason: &str,
    key: &str,
) -> Result<Refund, StoreError> {
    let row = sql!(
        fetch_one,
        tx,
        &format!(
            "INSERT INTO refunds (payment_id, amount_minor, currency, reason, status, idempotency_key, nature, created_at)
             VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7) RETURNING {REFUND_COLUMNS}"
        ),
        payment_id,
        amount.minor,
        amount.currency.code(),
        reason,
        key,
        nature.map(|n| n.as_str()),
        Utc::now()
    )?;
    decode_refund(&row)
}

pub(crate) async fn refund_by_key(tx: &mut Tx, key: &str) -> Result<Option<Refund>, StoreError> {
    sql!(
        fetch_optional,
        tx,
        &format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE idempotency_key = $1"),
        key
    )?
    .as_ref()
    .map(decode_refund)
    .transpose()
}

pub(crate) async fn lock_refund(tx: &mut Tx, id: i64) -> Result<Option<Refund>, StoreError> {
    let lock = for_update(tx);
    sql!(
        fetch_optional,
        tx,
        &format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1{lock}"),
        id
    )?
    .as_ref()
    .map(decode_refund)
    .transpose()
}

pub(crate) async fn refunds_for_payment(store: &Store, payment_id: i64) -> Result<Vec<Refund>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 ORDER BY id"),
        payment_id
    )?
    .iter()
    .map(decode_refund)
    .collect()
}

/// The completed refund that issued credit note `credit_note_id`, if any.
pub(crate) async fn refund_of_credit_note(store: &Store, credit_note_id: i64) -> Result<Option<Refund>, StoreError> {
    read!(
        fetch_optional,
        store,
        &format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE credit_note_id = $1 AND status = 'completed'"),
        credit_note_id
    )?
    .as_ref()
    .map(decode_refund)
    .transpose()
}

pub(crate) async fn set_refund_failed(tx: &mut Tx, id: i64, why: &str) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE refunds SET status = 'failed', reason = reason || ' — failed: ' || $1 WHERE id = $2",
        why,
        id
    )?;
    Ok(())
}

pub(crate) async fn set_refund_completed(
    tx: &mut Tx,
    id: i64,
    credit_note_id: i64,
    refunded_on: NaiveDate,
    provider_reference: Option<&str>,
) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE refunds SET status = 'completed', credit_note_id = $1, refunded_on = $2, provider_reference = $3
         WHERE id = $4",
        credit_note_id,
        refunded_on,
        provider_reference,
        id
    )?;
    Ok(())
}

pub(crate) async fn set_approval_url(tx: &mut Tx, id: i64, url: &str) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE payments SET approval_url = $1, updated_at = $2 WHERE id = $3",
        url,
        Utc::now(),
        id
    )?;
    Ok(())
}

/// Refunds still pending on the payments of invoice `invoice_id`, per nature
/// (`None`: to be split over the invoice's natures).
pub(crate) async fn pending_refunds(
    tx: &mut Tx,
    invoice_id: i64,
) -> Result<Vec<(Option<crate::billing::catalog::Nature>, i64)>, StoreError> {
    sql!(
        fetch_all,
        tx,
        "SELECT r.nature, CAST(SUM(r.amount_minor) AS BIGINT) AS pending
         FROM refunds r JOIN payments p ON p.id = r.payment_id
         WHERE p.invoice_id = $1 AND r.status = 'pending'
         GROUP BY r.nature",
        invoice_id
    )?
    .iter()
    .map(|r| {
        let nature = r
            .get::<Option<String>>("nature")?
            .map(|n| crate::billing::catalog::Nature::parse(&n).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()?;
        Ok((nature, r.get("pending")?))
    })
    .collect()
}

/// Payments of an order still waiting (initiated or pending).
pub(crate) async fn waiting_for_order(tx: &mut Tx, order_id: i64) -> Result<Vec<i64>, StoreError> {
    sql!(
        fetch_all,
        tx,
        "SELECT id FROM payments WHERE order_id = $1 AND status IN ('initiated', 'pending') ORDER BY id",
        order_id
    )?
    .iter()
    .map(|r| r.get("id"))
    .collect()
}

/// Every payment of an order, oldest first.
pub(crate) async fn for_order(store: &Store, order_id: i64) -> Result<Vec<Payment>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {COLUMNS} FROM payments WHERE order_id = $1 ORDER BY id"),
        order_id
    )?
    .iter()
    .map(decode)
    .collect()
}
