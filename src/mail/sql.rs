//! The `emails` table: one row per idempotency key, recorded before the
//! message is handed to the transport and updated after.

use chrono::{DateTime, Utc};

use crate::mail::{EmailRecord, EmailStatus};
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Backend, Store, StoreError, Tx};

const COLUMNS: &str = "id, idempotency_key, kind, to_address, subject, message_id, transport, status, error,
    invoice_id, payment_id, created_at, sent_at";

/// What is recorded when an e-mail is first attempted.
pub(crate) struct NewEmail<'a> {
    pub idempotency_key: &'a str,
    pub kind: &'a str,
    pub to_address: &'a str,
    pub subject: &'a str,
    pub message_id: &'a str,
    pub transport: &'a str,
    pub invoice_id: Option<i64>,
    pub payment_id: Option<i64>,
}

fn decode(r: &AnyRow) -> Result<EmailRecord, StoreError> {
    let status: String = r.get("status")?;
    Ok(EmailRecord {
        id: r.get("id")?,
        idempotency_key: r.get("idempotency_key")?,
        kind: r.get("kind")?,
        to_address: r.get("to_address")?,
        subject: r.get("subject")?,
        message_id: r.get("message_id")?,
        transport: r.get("transport")?,
        status: EmailStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("e-mail status {status:?}")))?,
        error: r.get("error")?,
        invoice_id: r.get("invoice_id")?,
        payment_id: r.get("payment_id")?,
        created_at: r.get("created_at")?,
        sent_at: r.get("sent_at")?,
    })
}

/// Inserts the row as `sending` unless the key is already recorded; either
/// way returns the row under the key, locked until `tx` ends.
pub(crate) async fn claim(tx: &mut Tx, new: &NewEmail<'_>) -> Result<EmailRecord, StoreError> {
    sql!(
        execute,
        tx,
        "INSERT INTO emails (idempotency_key, kind, to_address, subject, message_id, transport, status,
             invoice_id, payment_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'sending', $7, $8, $9)
         ON CONFLICT (idempotency_key) DO NOTHING",
        new.idempotency_key,
        new.kind,
        new.to_address,
        new.subject,
        new.message_id,
        new.transport,
        new.invoice_id,
        new.payment_id,
        Utc::now()
    )?;
    let lock = if tx.backend() == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = sql!(
        fetch_one,
        tx,
        &format!("SELECT {COLUMNS} FROM emails WHERE idempotency_key = $1{lock}"),
        new.idempotency_key
    )?;
    decode(&row)
}

/// A new attempt at a row found `failed` or `sending`: the Message-ID stays.
pub(crate) async fn set_sending(
    tx: &mut Tx,
    id: i64,
    to_address: &str,
    subject: &str,
    transport: &str,
) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE emails SET status = 'sending', error = NULL, to_address = $1, subject = $2, transport = $3
         WHERE id = $4 AND status <> 'sent'",
        to_address,
        subject,
        transport,
        id
    )?;
    Ok(())
}

pub(crate) async fn set_sent(tx: &mut Tx, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE emails SET status = 'sent', error = NULL, sent_at = $1 WHERE id = $2",
        at,
        id
    )?;
    Ok(())
}

/// Records why the attempt failed; a row already `sent` stays so.
pub(crate) async fn set_failed(tx: &mut Tx, id: i64, error: &str) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE emails SET status = 'failed', error = $1 WHERE id = $2 AND status <> 'sent'",
        error,
        id
    )?;
    Ok(())
}

pub(crate) async fn by_key(store: &Store, key: &str) -> Result<Option<EmailRecord>, StoreError> {
    read!(
        fetch_optional,
        store,
        &format!("SELECT {COLUMNS} FROM emails WHERE idempotency_key = $1"),
        key
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

pub(crate) async fn for_invoice(store: &Store, invoice_id: i64) -> Result<Vec<EmailRecord>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {COLUMNS} FROM emails WHERE invoice_id = $1 ORDER BY id"),
        invoice_id
    )?
    .iter()
    .map(decode)
    .collect()
}

pub(crate) async fn for_payment(store: &Store, payment_id: i64) -> Result<Vec<EmailRecord>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {COLUMNS} FROM emails WHERE payment_id = $1 ORDER BY id"),
        payment_id
    )?
    .iter()
    .map(decode)
    .collect()
}

pub(crate) async fn recent(store: &Store, limit: i64, before_id: Option<i64>) -> Result<Vec<EmailRecord>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {COLUMNS} FROM emails WHERE id < $1 ORDER BY id DESC LIMIT $2"),
        before_id.unwrap_or(i64::MAX),
        limit.clamp(1, 1000)
    )?
    .iter()
    .map(decode)
    .collect()
}
