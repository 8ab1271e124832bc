use chrono::Utc;

use crate::billing::mailing::EmailChoices;
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Store, StoreError, Tx};

const SELECT: &str = "SELECT invoices, receipts, credit_notes FROM customer_mailing WHERE customer_id = $1";

fn decode(r: &AnyRow) -> Result<EmailChoices, StoreError> {
    Ok(EmailChoices {
        invoices: r.get("invoices")?,
        receipts: r.get("receipts")?,
        credit_notes: r.get("credit_notes")?,
    })
}

pub(crate) async fn get(store: &Store, customer_id: i64) -> Result<Option<EmailChoices>, StoreError> {
    read!(fetch_optional, store, SELECT, customer_id)?
        .as_ref()
        .map(decode)
        .transpose()
}

pub(crate) async fn get_in(tx: &mut Tx, customer_id: i64) -> Result<Option<EmailChoices>, StoreError> {
    sql!(fetch_optional, tx, SELECT, customer_id)?
        .as_ref()
        .map(decode)
        .transpose()
}

pub(crate) async fn upsert(tx: &mut Tx, customer_id: i64, c: &EmailChoices) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "INSERT INTO customer_mailing (customer_id, invoices, receipts, credit_notes, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (customer_id) DO UPDATE SET invoices = excluded.invoices, receipts = excluded.receipts,
             credit_notes = excluded.credit_notes, updated_at = excluded.updated_at",
        customer_id,
        c.invoices,
        c.receipts,
        c.credit_notes,
        Utc::now()
    )?;
    Ok(())
}
