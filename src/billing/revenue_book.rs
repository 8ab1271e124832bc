//! Livre de recettes: one line per receipt, on the date the money was
//! received; refunds are new negative lines citing the credit note. Lines are
//! never changed (the database refuses it) and each carries a SHA-256 hash
//! chained to the previous line and signed with the book's key
//! ([`super::seal`]), so an edit behind the application's back is found by
//! [`super::book_check::verify`], even with the chain recomputed.

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::catalog::Nature;
use super::error::BillingError;
use crate::billing::sql::revenue_book as sql;
use crate::money::Money;
use crate::store::{Store, Tx};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewBookLine {
    pub received_on: NaiveDate,
    pub customer_id: i64,
    pub client_name: String,
    pub nature: Nature,
    /// Negative for a refund.
    pub amount: Money,
    /// A payment method code (`card`, `cash`, …).
    pub method: String,
    pub invoice_reference: String,
    pub credit_note_reference: Option<String>,
    pub payment_id: Option<i64>,
    pub refund_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BookLine {
    pub seq: i64,
    #[serde(flatten)]
    pub line: NewBookLine,
    pub prev_hash: String,
    pub hash: String,
    /// The book key's signature of `hash` (hex); `None` only for lines
    /// written before the book was sealed (migration 0009).
    pub signature: Option<String>,
}

impl BookLine {
    pub fn is_cash(&self) -> bool {
        self.line.method == "cash"
    }
}

/// The hash of a line: SHA-256 over a JSON array of its fields and the previous hash.
pub fn line_hash(seq: i64, line: &NewBookLine, prev_hash: &str) -> String {
    let canonical = serde_json::json!([
        seq,
        line.received_on.to_string(),
        line.customer_id,
        line.client_name,
        line.nature.as_str(),
        line.amount.minor,
        line.amount.currency.code(),
        line.method,
        line.invoice_reference,
        line.credit_note_reference,
        line.payment_id,
        line.refund_id,
        prev_hash,
    ]);
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the book's head signature signs: the last line's number and hash,
/// under a prefix no line's signature covers.
pub fn head_message(seq: i64, hash: &str) -> String {
    format!("head:{seq}:{hash}")
}

/// Appends a line at the end of the chain, signed with the key attached to
/// the store (serialised with other appenders and with closing). A line
/// dated in a closed period is refused: callers check dates people give
/// before, so this is the last guard.
pub async fn append(tx: &mut Tx, line: NewBookLine) -> Result<BookLine, BillingError> {
    let key = super::seal::key_of(tx.store())?;
    let seq = crate::billing::sql::settings::next_number(tx, sql::SEQ_SERIES).await?;
    if let Some(closed) = super::closures::closed_until(tx).await? {
        if line.received_on <= closed {
            return Err(super::closures::in_closed_period(line.received_on, closed));
        }
    }
    let prev_hash = if seq == 1 {
        GENESIS.to_string()
    } else {
        sql::hash_of(tx, seq - 1).await?
    };
    let hash = line_hash(seq, &line, &prev_hash);
    let signature = key.sign(hash.as_bytes());
    sql::insert(tx, seq, &line, &prev_hash, &hash, &signature).await?;
    sql::set_head(tx, seq, &hash, &key.sign(head_message(seq, &hash).as_bytes())).await?;
    Ok(BookLine {
        seq,
        line,
        prev_hash,
        hash,
        signature: Some(signature),
    })
}

/// Lines received between `from` and `to` (inclusive), by date then order of entry.
pub async fn list(store: &Store, from: NaiveDate, to: NaiveDate) -> Result<Vec<BookLine>, BillingError> {
    Ok(sql::list(store, from, to).await?)
}

/// The day of the earliest receipt in the book, if there is one.
/// Received amounts per nature and currency between `from` (included) and `to` (excluded).
pub async fn totals_between(
    store: &Store,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(super::catalog::Nature, crate::money::Money)>, BillingError> {
    Ok(sql::totals_between(store, from, to).await?)
}

/// The number of the book's last line (0 for an empty book).
pub async fn last_seq(tx: &mut Tx) -> Result<i64, BillingError> {
    Ok(sql::last_seq(tx).await?)
}

pub async fn first_date(store: &Store) -> Result<Option<NaiveDate>, BillingError> {
    Ok(sql::first_date(store).await?)
}
