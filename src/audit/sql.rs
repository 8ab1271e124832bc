//! The `audit_log` table (append-only). Written once for both backends.

use chrono::{DateTime, Utc};

use serde::Serialize;

use crate::audit::{Actor, AuditEntry, AuditFilter, BankEntryName, InvoiceName, Objects, PaymentName, Record, Wanted};
use crate::money::{Currency, Money};
use crate::store::jobs::like_pattern;
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Backend, Store, StoreError, Tx};

fn decode(r: &AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: r.get("id")?,
        at: r.get("at")?,
        operator_id: r.get("operator_id")?,
        actor: r.get("actor")?,
        action: r.get("action")?,
        target: r.get("target")?,
        details: r.json("details")?,
        ip: r.get("ip")?,
    })
}

pub(crate) async fn insert(
    tx: &mut Tx,
    actor: &Actor,
    record: &Record<'_>,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    sql!(
        fetch_one,
        tx,
        "INSERT INTO audit_log (at, operator_id, actor, action, target, details, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        at,
        actor.operator_id,
        &actor.name,
        record.action,
        &record.target,
        sqlx::types::Json(record.details.clone()),
        &actor.ip
    )?
    .get("id")
}

pub(crate) async fn list(store: &Store, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    // An action ending in '.' is a prefix: `invoice.` matches every invoice action.
    let action = f.action.as_deref().map(str::trim).filter(|a| !a.is_empty());
    let (exact, prefix) = match action {
        Some(a) if a.ends_with('.') => (None, Some(format!("{}%", like_pattern(a).trim_end_matches('%')))),
        Some(a) => (Some(a.to_string()), None),
        None => (None, None),
    };
    let actor = f.actor.as_deref().filter(|a| !a.is_empty()).map(like_pattern);
    let target = f.target.as_deref().filter(|t| !t.is_empty()).map(like_pattern);
    read!(
        fetch_all,
        store,
        "SELECT id, at, operator_id, actor, action, target, details, ip FROM audit_log
         WHERE ($1 IS NULL OR LOWER(actor) LIKE LOWER($1) ESCAPE '\\')
           AND ($2 IS NULL OR action = $2)
           AND ($3 IS NULL OR action LIKE $3 ESCAPE '\\')
           AND ($4 IS NULL OR LOWER(target) LIKE LOWER($4) ESCAPE '\\')
           AND ($5 IS NULL OR id < $5)
           AND ($6 IS NULL OR at >= $6)
           AND ($7 IS NULL OR at < $7)
         ORDER BY id DESC LIMIT $8",
        actor,
        exact,
        prefix,
        target,
        f.before_id,
        f.since,
        f.until,
        f.limit.clamp(1, 500)
    )?
    .iter()
    .map(decode)
    .collect()
}

/// `column IN (the values of the JSON array $1)`, in the backend's dialect.
fn in_json(store: &Store, column: &str, integers: bool) -> String {
    match store.backend() {
        Backend::Postgres if integers => {
            format!("{column} IN (SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text($1))")
        }
        Backend::Postgres => format!("{column} IN (SELECT value FROM jsonb_array_elements_text($1))"),
        Backend::Sqlite => format!("{column} IN (SELECT value FROM json_each($1))"),
    }
}

/// The rows of `select … WHERE <column in ids>`, in one query; none asked, none read.
async fn rows_of<T: Serialize>(
    store: &Store,
    select: &str,
    column: &str,
    ids: &[T],
    integers: bool,
) -> Result<Vec<AnyRow>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let text = format!("{select} WHERE {}", in_json(store, column, integers));
    read!(fetch_all, store, &text, sqlx::types::Json(ids))
}

fn money(r: &AnyRow, minor: &str, currency: &str) -> Result<Option<Money>, StoreError> {
    let code: String = r.get(currency)?;
    let minor: i64 = r.get(minor)?;
    Ok(code.parse::<Currency>().ok().map(|c| Money::new(minor, c)))
}

/// The objects `wanted` names, one query per kind of object.
pub(crate) async fn objects(store: &Store, wanted: &Wanted) -> Result<Objects, StoreError> {
    let ids = |set: &std::collections::BTreeSet<i64>| set.iter().copied().collect::<Vec<i64>>();
    let mut found = Objects::default();
    for r in rows_of(
        store,
        "SELECT id, kind, reference FROM invoices",
        "id",
        &ids(&wanted.invoices),
        true,
    )
    .await?
    {
        let kind: String = r.get("kind")?;
        found.invoices.insert(
            r.get("id")?,
            InvoiceName {
                reference: r.get("reference")?,
                credit_note: kind == "credit_note",
            },
        );
    }
    for r in rows_of(
        store,
        "SELECT id, name FROM customers",
        "id",
        &ids(&wanted.customers),
        true,
    )
    .await?
    {
        found.customers.insert(r.get("id")?, r.get("name")?);
    }
    for r in rows_of(
        store,
        "SELECT id, name FROM operators",
        "id",
        &ids(&wanted.operators),
        true,
    )
    .await?
    {
        found.operators.insert(r.get("id")?, r.get("name")?);
    }
    for r in rows_of(
        store,
        "SELECT id, name, prefix FROM api_keys",
        "id",
        &ids(&wanted.api_keys),
        true,
    )
    .await?
    {
        found.api_keys.insert(r.get("id")?, (r.get("name")?, r.get("prefix")?));
    }
    for r in rows_of(
        store,
        "SELECT p.id, p.amount_minor, p.currency, i.reference
         FROM payments p LEFT JOIN invoices i ON i.id = p.invoice_id",
        "p.id",
        &ids(&wanted.payments),
        true,
    )
    .await?
    {
        found.payments.insert(
            r.get("id")?,
            PaymentName {
                amount: money(&r, "amount_minor", "currency")?,
                reference: r.get("reference")?,
            },
        );
    }
    for r in rows_of(
        store,
        "SELECT c.id, cu.name FROM contracts c JOIN customers cu ON cu.id = c.customer_id",
        "c.id",
        &ids(&wanted.contracts),
        true,
    )
    .await?
    {
        found.contracts.insert(r.get("id")?, r.get("name")?);
    }
    for r in rows_of(
        store,
        "SELECT o.id, cu.name FROM orders o JOIN customers cu ON cu.id = o.customer_id",
        "o.id",
        &ids(&wanted.orders),
        true,
    )
    .await?
    {
        found.orders.insert(r.get("id")?, r.get("name")?);
    }
    let skus: Vec<&str> = wanted.products.iter().map(String::as_str).collect();
    for r in rows_of(store, "SELECT sku, name FROM products", "sku", &skus, false).await? {
        found.products.insert(r.get("sku")?, r.get("name")?);
    }
    for r in rows_of(
        store,
        "SELECT id, filename FROM imports",
        "id",
        &ids(&wanted.imports),
        true,
    )
    .await?
    {
        found.imports.insert(r.get("id")?, r.get("filename")?);
    }
    for r in rows_of(
        store,
        "SELECT id, amount_minor, currency, booking_date, payer_name FROM bank_entries",
        "id",
        &ids(&wanted.bank_entries),
        true,
    )
    .await?
    {
        found.bank_entries.insert(
            r.get("id")?,
            BankEntryName {
                amount: money(&r, "amount_minor", "currency")?,
                booking_date: r.get("booking_date")?,
                payer: r.get("payer_name")?,
            },
        );
    }
    for r in rows_of(
        store,
        "SELECT id, filename FROM documents",
        "id",
        &ids(&wanted.documents),
        true,
    )
    .await?
    {
        found.documents.insert(r.get("id")?, r.get("filename")?);
    }
    Ok(found)
}
