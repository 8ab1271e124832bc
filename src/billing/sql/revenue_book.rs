use chrono::{NaiveDate, Utc};

use super::catalog::money;
use crate::billing::catalog::Nature;
use crate::billing::revenue_book::{BookLine, NewBookLine};
use crate::money::Money;
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Store, StoreError, Tx};

/// The counter row (in `document_series`) that orders the book.
pub(crate) const SEQ_SERIES: &str = "__livre_de_recettes";

const COLUMNS: &str = "seq, received_on, customer_id, client_name, nature, amount_minor, currency, method,
    invoice_reference, credit_note_reference, payment_id, refund_id, prev_hash, hash, signature";

fn decode(r: &AnyRow) -> Result<BookLine, StoreError> {
    let nature: String = r.get("nature")?;
    Ok(BookLine {
        seq: r.get("seq")?,
        line: NewBookLine {
            received_on: r.get("received_on")?,
            customer_id: r.get("customer_id")?,
            client_name: r.get("client_name")?,
            nature: Nature::parse(&nature).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            amount: money(r, "amount_minor", "currency")?,
            method: r.get("method")?,
            invoice_reference: r.get("invoice_reference")?,
            credit_note_reference: r.get("credit_note_reference")?,
            payment_id: r.get("payment_id")?,
            refund_id: r.get("refund_id")?,
        },
        prev_hash: r.get("prev_hash")?,
        hash: r.get("hash")?,
        signature: r.get("signature")?,
    })
}

pub(crate) async fn hash_of(tx: &mut Tx, seq: i64) -> Result<String, StoreError> {
    sql!(fetch_one, tx, "SELECT hash FROM revenue_book WHERE seq = $1", seq)?.get("hash")
}

pub(crate) async fn insert(
    tx: &mut Tx,
    seq: i64,
    l: &NewBookLine,
    prev_hash: &str,
    hash: &str,
    signature: &str,
) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "INSERT INTO revenue_book (seq, received_on, customer_id, client_name, nature, amount_minor, currency, method,
             invoice_reference, credit_note_reference, payment_id, refund_id, prev_hash, hash, signature, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        seq,
        l.received_on,
        l.customer_id,
        &l.client_name,
        l.nature.as_str(),
        l.amount.minor,
        l.amount.currency.code(),
        &l.method,
        &l.invoice_reference,
        l.credit_note_reference.as_deref(),
        l.payment_id,
        l.refund_id,
        prev_hash,
        hash,
        signature,
        Utc::now()
    )?;
    Ok(())
}

pub(crate) async fn list(store: &Store, from: NaiveDate, to: NaiveDate) -> Result<Vec<BookLine>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {COLUMNS} FROM revenue_book WHERE received_on >= $1 AND received_on <= $2 ORDER BY received_on, seq"),
        from,
        to
    )?
    .iter()
    .map(decode)
    .collect()
}

pub(crate) async fn all_by_seq(store: &Store) -> Result<Vec<BookLine>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {COLUMNS} FROM revenue_book ORDER BY seq")
    )?
    .iter()
    .map(decode)
    .collect()
}

/// The whole book in order of entry, read in `tx` (closing).
pub(crate) async fn all_by_seq_in(tx: &mut Tx) -> Result<Vec<BookLine>, StoreError> {
    sql!(
        fetch_all,
        tx,
        &format!("SELECT {COLUMNS} FROM revenue_book ORDER BY seq")
    )?
    .iter()
    .map(decode)
    .collect()
}

/// How many lines the book's counter has numbered (0 before the first).
pub(crate) async fn counter(store: &Store) -> Result<i64, StoreError> {
    Ok(read!(
        fetch_optional,
        store,
        "SELECT last_number FROM document_series WHERE series = $1",
        SEQ_SERIES
    )?
    .map(|r| r.get("last_number"))
    .transpose()?
    .unwrap_or(0))
}

/// The date of the earliest receipt in the book, if any.
pub(crate) async fn first_date(store: &Store) -> Result<Option<NaiveDate>, StoreError> {
    read!(
        fetch_optional,
        store,
        "SELECT received_on FROM revenue_book ORDER BY received_on, seq LIMIT 1"
    )?
    .map(|r| r.get("received_on"))
    .transpose()
}

/// The last line's number (0 for an empty book): the book as it stands.
pub(crate) async fn last_seq(tx: &mut Tx) -> Result<i64, StoreError> {
    let seq: Option<i64> = sql!(fetch_one, tx, "SELECT MAX(seq) AS seq FROM revenue_book")?.get("seq")?;
    Ok(seq.unwrap_or(0))
}

/// The sum of the lines received from `from` (included) to `to` (excluded),
/// per nature and currency (refunds, negative, included).
pub(crate) async fn totals_between(
    store: &Store,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(Nature, Money)>, StoreError> {
    read!(
        fetch_all,
        store,
        "SELECT nature, currency, CAST(SUM(amount_minor) AS BIGINT) AS total FROM revenue_book
         WHERE received_on >= $1 AND received_on < $2
         GROUP BY nature, currency ORDER BY currency, nature",
        from,
        to
    )?
    .iter()
    .map(|r| {
        let nature: String = r.get("nature")?;
        Ok((
            Nature::parse(&nature).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            money(r, "total", "currency")?,
        ))
    })
    .collect()
}

/// Moves the book's signed head to line `seq`.
pub(crate) async fn set_head(tx: &mut Tx, seq: i64, hash: &str, signature: &str) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "INSERT INTO book_head (id, seq, hash, signature) VALUES (1, $1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, signature = excluded.signature",
        seq,
        hash,
        signature
    )?;
    Ok(())
}

/// The book's signed head: (last line's number, its hash, the signature).
pub(crate) async fn head(store: &Store) -> Result<Option<(i64, String, String)>, StoreError> {
    read!(
        fetch_optional,
        store,
        "SELECT seq, hash, signature FROM book_head WHERE id = 1"
    )?
    .map(|r| Ok((r.get("seq")?, r.get("hash")?, r.get("signature")?)))
    .transpose()
}
