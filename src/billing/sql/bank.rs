//! Bank entries kept from statements, the payments they became, and the
//! open invoices a credit is matched against.

use std::collections::HashMap;

use chrono::Utc;

use crate::billing::bank::matcher::OpenInvoice;
use crate::billing::bank::{BankEntry, EntryKind, EntryPayment, EntryStatus, NewEntry, Source};
use crate::billing::payments::PaymentMethod;
use crate::billing::sql::catalog::money;
use crate::money::Money;
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Backend, Store, StoreError, Tx};

const COLUMNS: &str = "id, entry_key, import_id, line, source, kind, account, booking_date, value_date, amount_minor,
    currency, payer_name, payer_iban, remittance, creditor_reference, bank_reference, method, status, waiting_reason,
    excess_minor, note, decided_by, decided_at, created_at";

fn decode(r: &AnyRow) -> Result<BankEntry, StoreError> {
    let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("bank entry {what} {v:?}"));
    let (source, kind, method, status): (String, String, String, String) =
        (r.get("source")?, r.get("kind")?, r.get("method")?, r.get("status")?);
    let amount = money(r, "amount_minor", "currency")?;
    Ok(BankEntry {
        id: r.get("id")?,
        entry_key: r.get("entry_key")?,
        import_id: r.get("import_id")?,
        line: r.get("line")?,
        source: Source::parse(&source).ok_or_else(|| corrupt("source", &source))?,
        kind: EntryKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        account: r.get("account")?,
        booking_date: r.get("booking_date")?,
        value_date: r.get("value_date")?,
        payer_name: r.get("payer_name")?,
        payer_iban: r.get("payer_iban")?,
        remittance: r.get("remittance")?,
        creditor_reference: r.get("creditor_reference")?,
        bank_reference: r.get("bank_reference")?,
        method: PaymentMethod::parse(&method).map_err(|_| corrupt("method", &method))?,
        status: EntryStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        waiting_reason: r.get("waiting_reason")?,
        excess: Money::new(r.get("excess_minor")?, amount.currency),
        amount,
        note: r.get("note")?,
        decided_by: r.get("decided_by")?,
        decided_at: r.get("decided_at")?,
        created_at: r.get("created_at")?,
    })
}

/// Keeps `new`; `None` when an entry with its key is kept already.
pub(crate) async fn insert(tx: &mut Tx, new: &NewEntry) -> Result<Option<i64>, StoreError> {
    let row = sql!(
        fetch_optional,
        tx,
        "INSERT INTO bank_entries (entry_key, import_id, line, source, kind, account, booking_date, value_date,
             amount_minor, currency, payer_name, payer_iban, remittance, creditor_reference, bank_reference, method,
             status, waiting_reason, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
         ON CONFLICT (entry_key) DO NOTHING
         RETURNING id",
        &new.entry_key,
        new.import_id,
        new.line,
        new.source.as_str(),
        new.kind.as_str(),
        new.account.as_deref(),
        new.booking_date,
        new.value_date,
        new.amount.minor,
        new.amount.currency.code(),
        new.payer_name.as_deref(),
        new.payer_iban.as_deref(),
        &new.remittance,
        new.creditor_reference.as_deref(),
        new.bank_reference.as_deref(),
        new.method.as_str(),
        new.status.as_str(),
        new.waiting_reason.as_deref(),
        Utc::now()
    )?;
    row.map(|r| r.get("id")).transpose()
}

pub(crate) async fn link_payment(tx: &mut Tx, entry_id: i64, payment_id: i64) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "INSERT INTO bank_entry_payments (entry_id, payment_id) VALUES ($1, $2)
         ON CONFLICT (payment_id) DO NOTHING",
        entry_id,
        payment_id
    )?;
    Ok(())
}

pub(crate) async fn get(store: &Store, id: i64) -> Result<Option<BankEntry>, StoreError> {
    read!(
        fetch_optional,
        store,
        &format!("SELECT {COLUMNS} FROM bank_entries WHERE id = $1"),
        id
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

/// The entry, locked until the transaction ends (SQLite's writer holds the whole database).
pub(crate) async fn lock(tx: &mut Tx, id: i64) -> Result<Option<BankEntry>, StoreError> {
    let lock = if tx.backend() == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    sql!(
        fetch_optional,
        tx,
        &format!("SELECT {COLUMNS} FROM bank_entries WHERE id = $1{lock}"),
        id
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

pub(crate) async fn list(store: &Store, status: Option<EntryStatus>, limit: i64) -> Result<Vec<BankEntry>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!(
            "SELECT {COLUMNS} FROM bank_entries WHERE ($1 IS NULL OR status = $1)
             ORDER BY booking_date DESC, id DESC LIMIT $2"
        ),
        status.map(EntryStatus::as_str),
        limit
    )?
    .iter()
    .map(decode)
    .collect()
}

pub(crate) async fn waiting_count(store: &Store) -> Result<i64, StoreError> {
    read!(
        fetch_one,
        store,
        "SELECT COUNT(*) AS n FROM bank_entries WHERE status = 'waiting'"
    )?
    .get("n")
}

/// Records the operator's decision on a waiting entry.
pub(crate) async fn decide(
    tx: &mut Tx,
    id: i64,
    status: EntryStatus,
    excess_minor: i64,
    note: Option<&str>,
    by: &str,
) -> Result<(), StoreError> {
    match sql!(
        execute,
        tx,
        "UPDATE bank_entries SET status = $1, excess_minor = $2, note = $3, decided_by = $4, decided_at = $5
         WHERE id = $6 AND status = 'waiting'",
        status.as_str(),
        excess_minor,
        note,
        by,
        Utc::now(),
        id
    )? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// The latest `limit` entries no longer waiting, latest booking first.
pub(crate) async fn decided(store: &Store, limit: i64) -> Result<Vec<BankEntry>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!(
            "SELECT {COLUMNS} FROM bank_entries WHERE status <> 'waiting'
             ORDER BY booking_date DESC, id DESC LIMIT $1"
        ),
        limit
    )?
    .iter()
    .map(decode)
    .collect()
}

const PAYMENTS: &str = "SELECT b.entry_id, p.id, p.invoice_id, i.reference, p.amount_minor, p.currency
     FROM bank_entry_payments b JOIN payments p ON p.id = b.payment_id
     LEFT JOIN invoices i ON i.id = p.invoice_id";

fn decode_payment(r: &AnyRow) -> Result<EntryPayment, StoreError> {
    Ok(EntryPayment {
        payment_id: r.get("id")?,
        invoice_id: r.get("invoice_id")?,
        invoice_reference: r.get("reference")?,
        amount: money(r, "amount_minor", "currency")?,
    })
}

/// The payments of the entries [`decided`] lists, by entry, in one query.
pub(crate) async fn payments_of_decided(
    store: &Store,
    limit: i64,
) -> Result<HashMap<i64, Vec<EntryPayment>>, StoreError> {
    let rows = read!(
        fetch_all,
        store,
        &format!(
            "{PAYMENTS} WHERE b.entry_id IN (SELECT id FROM bank_entries WHERE status <> 'waiting'
                 ORDER BY booking_date DESC, id DESC LIMIT $1)
             ORDER BY p.id"
        ),
        limit
    )?;
    let mut out: HashMap<i64, Vec<EntryPayment>> = HashMap::new();
    for r in &rows {
        out.entry(r.get("entry_id")?).or_default().push(decode_payment(r)?);
    }
    Ok(out)
}

pub(crate) async fn payments_of(store: &Store, entry_id: i64) -> Result<Vec<EntryPayment>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("{PAYMENTS} WHERE b.entry_id = $1 ORDER BY p.id"),
        entry_id
    )?
    .iter()
    .map(decode_payment)
    .collect()
}

/// Issued invoices with something still owed, oldest due first.
pub(crate) async fn open_invoices(store: &Store) -> Result<Vec<OpenInvoice>, StoreError> {
    read!(
        fetch_all,
        store,
        "SELECT i.id, i.reference, i.customer_id, c.name, i.total_minor, i.paid_minor, i.credited_minor, i.currency,
                i.issue_date, i.due_date
         FROM invoices i JOIN customers c ON c.id = i.customer_id
         WHERE i.kind = 'invoice' AND i.status = 'issued' AND i.total_minor > i.paid_minor + i.credited_minor
         ORDER BY i.due_date, i.id"
    )?
    .iter()
    .map(|r| {
        let total = money(r, "total_minor", "currency")?;
        let (paid, credited): (i64, i64) = (r.get("paid_minor")?, r.get("credited_minor")?);
        Ok(OpenInvoice {
            id: r.get("id")?,
            reference: r.get::<Option<String>>("reference")?.unwrap_or_default(),
            customer_id: r.get("customer_id")?,
            customer_name: r.get("name")?,
            owed: Money::new(total.minor - paid - credited, total.currency),
            issued_on: r.get("issue_date")?,
            due_on: r.get("due_date")?,
        })
    })
    .collect()
}
