use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::catalog::money;
use crate::billing::address::PostalAddress;
use crate::billing::catalog::Nature;
use crate::billing::invoices::{
    DraftDetails, Invoice, InvoiceFilter, InvoiceKind, InvoiceLine, InvoiceOrder, InvoiceSort, InvoiceStatus,
    NewInvoice, Snapshot,
};
use crate::money::Money;
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Backend, Store, StoreError, Tx};

const COLUMNS: &str = "id, kind, status, series, number, reference, customer_id, contract_id, order_id, period,
    currency, total_minor, paid_minor, credited_minor, issue_date, due_date, credited_invoice_id, reason,
    snapshot, sent_at, payment_terms_days, service_date, service_period_start, service_period_end, purchase_order,
    delivery_address";
const LINE_COLUMNS: &str = "position, description, nature, quantity, unit, unit_price_minor, total_minor";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

fn decode(r: &AnyRow) -> Result<Invoice, StoreError> {
    let kind: String = r.get("kind")?;
    let status: String = r.get("status")?;
    let total = money(r, "total_minor", "currency")?;
    Ok(Invoice {
        id: r.get("id")?,
        kind: match kind.as_str() {
            "invoice" => InvoiceKind::Invoice,
            "credit_note" => InvoiceKind::CreditNote,
            other => return Err(corrupt("invoice kind", other)),
        },
        status: match status.as_str() {
            "draft" => InvoiceStatus::Draft,
            "issued" => InvoiceStatus::Issued,
            "paid" => InvoiceStatus::Paid,
            "cancelled" => InvoiceStatus::Cancelled,
            other => return Err(corrupt("invoice status", other)),
        },
        series: r.get("series")?,
        number: r.get("number")?,
        reference: r.get("reference")?,
        customer_id: r.get("customer_id")?,
        contract_id: r.get("contract_id")?,
        order_id: r.get("order_id")?,
        period: r.get("period")?,
        paid: Money::new(r.get("paid_minor")?, total.currency),
        credited: Money::new(r.get("credited_minor")?, total.currency),
        total,
        issue_date: r.get("issue_date")?,
        due_date: r.get("due_date")?,
        credited_invoice_id: r.get("credited_invoice_id")?,
        reason: r.get("reason")?,
        snapshot: r.opt_json::<Snapshot>("snapshot")?,
        sent_at: r.get("sent_at")?,
        payment_terms_days: r.get("payment_terms_days")?,
        service_date: r.get("service_date")?,
        service_period_start: r.get("service_period_start")?,
        service_period_end: r.get("service_period_end")?,
        purchase_order: r.get("purchase_order")?,
        delivery_address: r.opt_json::<PostalAddress>("delivery_address")?,
        lines: Vec::new(),
    })
}

fn decode_line(r: &AnyRow, currency: crate::money::Currency) -> Result<InvoiceLine, StoreError> {
    let nature: String = r.get("nature")?;
    let quantity: String = r.get("quantity")?;
    Ok(InvoiceLine {
        position: r.get("position")?,
        description: r.get("description")?,
        nature: Nature::parse(&nature).map_err(|_| corrupt("nature", &nature))?,
        quantity: Decimal::from_str(&quantity).map_err(|_| corrupt("quantity", &quantity))?,
        unit: super::catalog::unit(r, "unit")?,
        unit_price: Money::new(r.get("unit_price_minor")?, currency),
        total: Money::new(r.get("total_minor")?, currency),
    })
}

fn address_json(a: &Option<PostalAddress>) -> Result<Option<sqlx::types::Json<serde_json::Value>>, StoreError> {
    Ok(match a {
        Some(a) => Some(sqlx::types::Json(serde_json::to_value(a)?)),
        None => None,
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_draft(
    tx: &mut Tx,
    kind: InvoiceKind,
    new: &NewInvoice,
    details: &DraftDetails,
    total: Money,
    credited_invoice_id: Option<i64>,
    reason: Option<&str>,
) -> Result<i64, StoreError> {
    let delivery = address_json(&details.delivery_address)?;
    let row = sql!(
        fetch_one,
        tx,
        "INSERT INTO invoices (kind, status, customer_id, contract_id, order_id, period, currency, total_minor,
             credited_invoice_id, reason, created_at, service_date, service_period_start, service_period_end,
             purchase_order, delivery_address)
         VALUES ($1, 'draft', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        kind.as_str(),
        new.customer_id,
        new.contract_id,
        new.order_id,
        new.period.as_deref(),
        total.currency.code(),
        total.minor,
        credited_invoice_id,
        reason,
        Utc::now(),
        details.service_date,
        details.service_period_start,
        details.service_period_end,
        details.purchase_order.as_deref(),
        delivery
    )?;
    row.get("id")
}

pub(crate) async fn insert_lines(tx: &mut Tx, invoice_id: i64, lines: &[InvoiceLine]) -> Result<(), StoreError> {
    for l in lines {
        sql!(
            execute,
            tx,
            "INSERT INTO invoice_lines (invoice_id, position, description, nature, quantity, unit,
                 unit_price_minor, total_minor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            invoice_id,
            l.position,
            &l.description,
            l.nature.as_str(),
            l.quantity.to_string(),
            l.unit.map(crate::billing::catalog::Unit::as_str),
            l.unit_price.minor,
            l.total.minor
        )?;
    }
    Ok(())
}

/// Replaces the lines, customer and total of draft `id` (the database
/// refuses it once issued).
pub(crate) async fn replace_draft_lines(
    tx: &mut Tx,
    id: i64,
    customer_id: i64,
    lines: &[InvoiceLine],
    total: Money,
) -> Result<(), StoreError> {
    let n = sql!(
        execute,
        tx,
        "UPDATE invoices SET customer_id = $1, total_minor = $2 WHERE id = $3 AND status = 'draft'",
        customer_id,
        total.minor,
        id
    )?;
    if n != 1 {
        return Err(StoreError::Conflict(format!("invoice {id} is no longer a draft")));
    }
    sql!(execute, tx, "DELETE FROM invoice_lines WHERE invoice_id = $1", id)?;
    insert_lines(tx, id, lines).await
}

pub(crate) async fn delete_draft(tx: &mut Tx, id: i64) -> Result<(), StoreError> {
    sql!(execute, tx, "DELETE FROM invoice_lines WHERE invoice_id = $1", id)?;
    sql!(
        execute,
        tx,
        "DELETE FROM invoices WHERE id = $1 AND status = 'draft'",
        id
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn mark_issued(
    tx: &mut Tx,
    id: i64,
    series: &str,
    number: i64,
    reference: &str,
    issue_date: NaiveDate,
    due_date: NaiveDate,
    service_date: Option<NaiveDate>,
    snapshot: &Snapshot,
) -> Result<(), StoreError> {
    let snapshot = sqlx::types::Json(serde_json::to_value(snapshot)?);
    let n = sql!(
        execute,
        tx,
        "UPDATE invoices SET status = 'issued', series = $1, number = $2, reference = $3, issue_date = $4,
             due_date = $5, snapshot = $6, service_date = $7
         WHERE id = $8 AND status = 'draft'",
        series,
        number,
        reference,
        issue_date,
        due_date,
        snapshot,
        service_date,
        id
    )?;
    if n != 1 {
        return Err(StoreError::Conflict(format!("invoice {id} is no longer a draft")));
    }
    Ok(())
}

pub(crate) async fn set_paid(tx: &mut Tx, id: i64, paid_minor: i64, status: InvoiceStatus) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE invoices SET paid_minor = $1, status = $2 WHERE id = $3",
        paid_minor,
        status.as_str(),
        id
    )?;
    Ok(())
}

pub(crate) async fn set_credited(
    tx: &mut Tx,
    id: i64,
    credited_minor: i64,
    status: InvoiceStatus,
) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE invoices SET credited_minor = $1, status = $2 WHERE id = $3",
        credited_minor,
        status.as_str(),
        id
    )?;
    Ok(())
}

/// The payment terms of a draft (none: the seller's default at issue).
pub(crate) async fn set_payment_terms(tx: &mut Tx, id: i64, days: Option<i32>) -> Result<(), StoreError> {
    let n = sql!(
        execute,
        tx,
        "UPDATE invoices SET payment_terms_days = $1 WHERE id = $2 AND status = 'draft'",
        days,
        id
    )?;
    if n != 1 {
        return Err(StoreError::Conflict(format!("invoice {id} is no longer a draft")));
    }
    Ok(())
}

/// The details of a draft besides its lines.
pub(crate) async fn set_details(tx: &mut Tx, id: i64, d: &DraftDetails) -> Result<(), StoreError> {
    let delivery = address_json(&d.delivery_address)?;
    let n = sql!(
        execute,
        tx,
        "UPDATE invoices SET service_date = $1, service_period_start = $2, service_period_end = $3,
             purchase_order = $4, delivery_address = $5
         WHERE id = $6 AND status = 'draft'",
        d.service_date,
        d.service_period_start,
        d.service_period_end,
        d.purchase_order.as_deref(),
        delivery,
        id
    )?;
    if n != 1 {
        return Err(StoreError::Conflict(format!("invoice {id} is no longer a draft")));
    }
    Ok(())
}

pub(crate) async fn set_sent(tx: &mut Tx, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
    sql!(execute, tx, "UPDATE invoices SET sent_at = $1 WHERE id = $2", at, id)?;
    Ok(())
}

async fn with_lines_in(tx: &mut Tx, mut invoice: Invoice) -> Result<Invoice, StoreError> {
    let currency = invoice.total.currency;
    invoice.lines = sql!(
        fetch_all,
        tx,
        &format!("SELECT {LINE_COLUMNS} FROM invoice_lines WHERE invoice_id = $1 ORDER BY position"),
        invoice.id
    )?
    .iter()
    .map(|r| decode_line(r, currency))
    .collect::<Result<_, _>>()?;
    Ok(invoice)
}

async fn with_lines(store: &Store, mut invoice: Invoice) -> Result<Invoice, StoreError> {
    let currency = invoice.total.currency;
    invoice.lines = read!(
        fetch_all,
        store,
        &format!("SELECT {LINE_COLUMNS} FROM invoice_lines WHERE invoice_id = $1 ORDER BY position"),
        invoice.id
    )?
    .iter()
    .map(|r| decode_line(r, currency))
    .collect::<Result<_, _>>()?;
    Ok(invoice)
}

pub(crate) async fn get_in(tx: &mut Tx, id: i64, for_update: bool) -> Result<Option<Invoice>, StoreError> {
    let lock = if for_update && tx.backend() == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = sql!(
        fetch_optional,
        tx,
        &format!("SELECT {COLUMNS} FROM invoices WHERE id = $1{lock}"),
        id
    )?;
    match row {
        Some(r) => Ok(Some(with_lines_in(tx, decode(&r)?).await?)),
        None => Ok(None),
    }
}

pub(crate) async fn get(store: &Store, id: i64) -> Result<Option<Invoice>, StoreError> {
    match read!(
        fetch_optional,
        store,
        &format!("SELECT {COLUMNS} FROM invoices WHERE id = $1"),
        id
    )? {
        Some(r) => Ok(Some(with_lines(store, decode(&r)?).await?)),
        None => Ok(None),
    }
}

pub(crate) async fn by_reference(store: &Store, reference: &str) -> Result<Option<Invoice>, StoreError> {
    match read!(
        fetch_optional,
        store,
        &format!("SELECT {COLUMNS} FROM invoices WHERE reference = $1"),
        reference
    )? {
        Some(r) => Ok(Some(with_lines(store, decode(&r)?).await?)),
        None => Ok(None),
    }
}

/// The invoice of a contract for a period (the monthly run's key).
pub(crate) async fn for_contract_period(
    tx: &mut Tx,
    contract_id: i64,
    period: &str,
) -> Result<Option<Invoice>, StoreError> {
    let row = sql!(
        fetch_optional,
        tx,
        &format!("SELECT {COLUMNS} FROM invoices WHERE contract_id = $1 AND period = $2 AND kind = 'invoice'"),
        contract_id,
        period
    )?;
    match row {
        Some(r) => Ok(Some(with_lines_in(tx, decode(&r)?).await?)),
        None => Ok(None),
    }
}

/// The `ORDER BY` of a list sorted by `sort`: fixed text for each column,
/// the same on both backends (empty values last either way, ties by id).
fn order_by(sort: InvoiceSort) -> String {
    let dir = if sort.descending { "DESC" } else { "ASC" };
    let key = match sort.by {
        InvoiceOrder::Newest => return "id DESC".to_string(),
        InvoiceOrder::Number => format!("CASE WHEN number IS NULL THEN 1 ELSE 0 END, series {dir}, number {dir}"),
        InvoiceOrder::Customer => {
            format!("LOWER((SELECT c.name FROM customers c WHERE c.id = invoices.customer_id)) {dir}")
        }
        InvoiceOrder::IssueDate => format!("CASE WHEN issue_date IS NULL THEN 1 ELSE 0 END, issue_date {dir}"),
        InvoiceOrder::DueDate => format!("CASE WHEN due_date IS NULL THEN 1 ELSE 0 END, due_date {dir}"),
        InvoiceOrder::Total => format!("total_minor {dir}"),
        InvoiceOrder::Status => {
            format!("CASE status WHEN 'draft' THEN 0 WHEN 'issued' THEN 1 WHEN 'paid' THEN 2 ELSE 3 END {dir}")
        }
    };
    format!("{key}, id {dir}")
}

pub(crate) async fn list(store: &Store, f: &InvoiceFilter) -> Result<Vec<Invoice>, StoreError> {
    let rows = read!(
        fetch_all,
        store,
        &format!(
            "SELECT {COLUMNS} FROM invoices
             WHERE ($1 IS NULL OR customer_id = $1) AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR kind = $3)
               AND ($6 IS NULL OR credited_invoice_id = $6) AND ($7 IS NULL OR contract_id = $7)
               AND ($8 IS NULL OR order_id = $8) AND id < $4
             ORDER BY {order} LIMIT $5 OFFSET $9",
            order = order_by(f.sort)
        ),
        f.customer_id,
        f.status.map(InvoiceStatus::as_str),
        f.kind.map(InvoiceKind::as_str),
        f.before_id.unwrap_or(i64::MAX),
        f.limit.clamp(1, 1000),
        f.credited_invoice_id,
        f.contract_id,
        f.order_id,
        f.offset.max(0)
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(with_lines(store, decode(r)?).await?);
    }
    Ok(out)
}

pub(crate) async fn overdue(store: &Store, date: NaiveDate) -> Result<Vec<Invoice>, StoreError> {
    let rows = read!(
        fetch_all,
        store,
        &format!(
            "SELECT {COLUMNS} FROM invoices
             WHERE kind = 'invoice' AND status = 'issued' AND due_date < $1
               AND total_minor > paid_minor + credited_minor
             ORDER BY due_date, id"
        ),
        date
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(with_lines(store, decode(r)?).await?);
    }
    Ok(out)
}

/// Per currency: issued invoices still owed, and those of them due before
/// `date` (count, sum owed in minor units).
pub(crate) async fn receivables(
    store: &Store,
    date: NaiveDate,
) -> Result<Vec<(String, i64, i64, i64, i64)>, StoreError> {
    read!(
        fetch_all,
        store,
        "SELECT currency, COUNT(*) AS open_count,
                CAST(SUM(total_minor - paid_minor - credited_minor) AS BIGINT) AS open_due,
                CAST(SUM(CASE WHEN due_date < $1 THEN 1 ELSE 0 END) AS BIGINT) AS late_count,
                CAST(SUM(CASE WHEN due_date < $1 THEN total_minor - paid_minor - credited_minor ELSE 0 END) AS BIGINT)
                    AS late_due
         FROM invoices
         WHERE kind = 'invoice' AND status = 'issued' AND total_minor > paid_minor + credited_minor
         GROUP BY currency ORDER BY currency",
        date
    )?
    .iter()
    .map(|r| {
        Ok((
            r.get("currency")?,
            r.get("open_count")?,
            r.get("open_due")?,
            r.get("late_count")?,
            r.get("late_due")?,
        ))
    })
    .collect()
}

/// Whether any document was ever numbered.
pub(crate) async fn any_issued(store: &Store) -> Result<bool, StoreError> {
    Ok(read!(
        fetch_optional,
        store,
        "SELECT id FROM invoices WHERE number IS NOT NULL LIMIT 1"
    )?
    .is_some())
}

/// What issued credit notes already credited on invoice `id`, per nature.
pub(crate) async fn credited_by_nature(tx: &mut Tx, id: i64) -> Result<Vec<(Nature, i64)>, StoreError> {
    sql!(
        fetch_all,
        tx,
        "SELECT l.nature, CAST(SUM(l.total_minor) AS BIGINT) AS credited
         FROM invoice_lines l JOIN invoices c ON c.id = l.invoice_id
         WHERE c.credited_invoice_id = $1 AND c.kind = 'credit_note' AND c.status <> 'draft'
         GROUP BY l.nature",
        id
    )?
    .iter()
    .map(|r| {
        let nature: String = r.get("nature")?;
        Ok((
            Nature::parse(&nature).map_err(|_| corrupt("nature", &nature))?,
            r.get("credited")?,
        ))
    })
    .collect()
}

/// The issue date of the last number taken in `series`.
pub(crate) async fn last_issue_date(tx: &mut Tx, series: &str) -> Result<Option<NaiveDate>, StoreError> {
    sql!(
        fetch_optional,
        tx,
        "SELECT issue_date FROM invoices WHERE series = $1 AND number IS NOT NULL ORDER BY number DESC LIMIT 1",
        series
    )?
    .map(|r| r.get("issue_date"))
    .transpose()
    .map(Option::flatten)
}

const REFERENCES_PG: &str = "SELECT id, reference FROM invoices
     WHERE id IN (SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text($1)) AND reference IS NOT NULL";
const REFERENCES_SQLITE: &str =
    "SELECT id, reference FROM invoices WHERE id IN (SELECT value FROM json_each($1)) AND reference IS NOT NULL";

/// The numbers of invoices `ids` (drafts and unknown ids left out), in one query.
pub(crate) async fn references(
    store: &Store,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, StoreError> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let query = match store.backend() {
        Backend::Postgres => REFERENCES_PG,
        Backend::Sqlite => REFERENCES_SQLITE,
    };
    read!(fetch_all, store, query, sqlx::types::Json(ids))?
        .iter()
        .map(|r| Ok((r.get("id")?, r.get("reference")?)))
        .collect()
}
