use std::collections::HashMap;

use chrono::Utc;

use crate::billing::address::PostalAddress;
use crate::billing::customers::{search_key, Customer, CustomerKind, CustomerSort, NewCustomer};
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Backend, Store, StoreError, Tx};

const COLUMNS: &str = "id, kind, name, email, address, postcode, city, country, siren, electronic_address,
    electronic_address_scheme, created_at";

fn decode(r: &AnyRow) -> Result<Customer, StoreError> {
    let kind: String = r.get("kind")?;
    Ok(Customer {
        id: r.get("id")?,
        kind: CustomerKind::parse(&kind).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        name: r.get("name")?,
        email: r.get("email")?,
        address: PostalAddress::from_columns(
            &r.get::<String>("address")?,
            r.get("postcode")?,
            r.get("city")?,
            r.get("country")?,
        ),
        siren: r.get("siren")?,
        electronic_address: r.get("electronic_address")?,
        electronic_address_scheme: r.get("electronic_address_scheme")?,
        created_at: r.get("created_at")?,
    })
}

pub(crate) async fn insert(tx: &mut Tx, c: &NewCustomer) -> Result<Customer, StoreError> {
    let row = sql!(
        fetch_one,
        tx,
        &format!(
            "INSERT INTO customers (kind, name, email, address, postcode, city, country, siren,
                 electronic_address, electronic_address_scheme, created_at, search_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {COLUMNS}"
        ),
        c.kind.as_str(),
        &c.name,
        c.email.as_deref(),
        c.address.lines_text(),
        &c.address.postcode,
        &c.address.city,
        &c.address.country,
        c.siren.as_deref(),
        c.electronic_address.as_deref(),
        c.electronic_address_scheme.as_deref(),
        Utc::now(),
        search_key(&c.name, c.email.as_deref())
    )?;
    decode(&row)
}

pub(crate) async fn update(tx: &mut Tx, id: i64, c: &NewCustomer) -> Result<Customer, StoreError> {
    let row = sql!(
        fetch_optional,
        tx,
        &format!(
            "UPDATE customers SET kind = $1, name = $2, email = $3, address = $4, postcode = $5, city = $6,
                 country = $7, siren = $8, electronic_address = $9, electronic_address_scheme = $10,
                 search_key = $12
             WHERE id = $11 RETURNING {COLUMNS}"
        ),
        c.kind.as_str(),
        &c.name,
        c.email.as_deref(),
        c.address.lines_text(),
        &c.address.postcode,
        &c.address.city,
        &c.address.country,
        c.siren.as_deref(),
        c.electronic_address.as_deref(),
        c.electronic_address_scheme.as_deref(),
        id,
        search_key(&c.name, c.email.as_deref())
    )?;
    row.as_ref().map(decode).transpose()?.ok_or(StoreError::NotFound)
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

/// The key is folded by the program, so both backends compare the same
/// text; a row not keyed yet (written before migration 0014, filled at the
/// next start) is compared as before, ASCII case ignored.
const SEARCH_PG: &str = "SELECT id, kind, name, email, address, postcode, city, country, siren, electronic_address,
     electronic_address_scheme, created_at FROM customers
     WHERE (search_key LIKE $1 ESCAPE '\\'
            OR (search_key IS NULL AND (LOWER(name COLLATE \"C\") LIKE $4 ESCAPE '\\'
                OR LOWER(COALESCE(email, '') COLLATE \"C\") LIKE $4 ESCAPE '\\')))
       AND id < $2 ORDER BY id DESC LIMIT $3";
const SEARCH_SQLITE: &str = "SELECT id, kind, name, email, address, postcode, city, country, siren, electronic_address,
     electronic_address_scheme, created_at FROM customers
     WHERE (search_key LIKE $1 ESCAPE '\\'
            OR (search_key IS NULL AND (LOWER(name) LIKE $4 ESCAPE '\\' OR LOWER(COALESCE(email, '')) LIKE $4 ESCAPE '\\')))
       AND id < $2 ORDER BY id DESC LIMIT $3";

/// Customers whose name or e-mail contains `text`, accents and case aside, newest first.
pub(crate) async fn search(
    store: &Store,
    text: &str,
    limit: i64,
    before: Option<i64>,
) -> Result<Vec<Customer>, StoreError> {
    let folded = crate::store::jobs::like_pattern(&search_key(text, None));
    let legacy = crate::store::jobs::like_pattern(&text.to_ascii_lowercase());
    let query = match store.backend() {
        Backend::Postgres => SEARCH_PG,
        Backend::Sqlite => SEARCH_SQLITE,
    };
    read!(
        fetch_all,
        store,
        query,
        folded,
        before.unwrap_or(i64::MAX),
        limit,
        legacy
    )?
    .iter()
    .map(decode)
    .collect()
}

/// The search of [`search`] as a condition on `$1` (the folded pattern) and
/// `$2` (the legacy one), for [`search_sorted`].
const MATCH_PG: &str = "(search_key LIKE $1 ESCAPE '\\'
     OR (search_key IS NULL AND (LOWER(name COLLATE \"C\") LIKE $2 ESCAPE '\\'
         OR LOWER(COALESCE(email, '') COLLATE \"C\") LIKE $2 ESCAPE '\\')))";
const MATCH_SQLITE: &str = "(search_key LIKE $1 ESCAPE '\\'
     OR (search_key IS NULL AND (LOWER(name) LIKE $2 ESCAPE '\\' OR LOWER(COALESCE(email, '')) LIKE $2 ESCAPE '\\')))";

/// Customers matching `text` (all when it is empty) in `sort`'s order, the
/// ORDER BY chosen here from the closed list. Names are compared by their
/// folded search key, byte by byte on both backends.
pub(crate) async fn search_sorted(
    store: &Store,
    text: &str,
    sort: CustomerSort,
    descending: bool,
    limit: i64,
    offset: i64,
) -> Result<Vec<Customer>, StoreError> {
    let dir = if descending { "DESC" } else { "ASC" };
    let (matching, name) = match store.backend() {
        Backend::Postgres => (MATCH_PG, "COALESCE(search_key, LOWER(name)) COLLATE \"C\""),
        Backend::Sqlite => (MATCH_SQLITE, "COALESCE(search_key, LOWER(name))"),
    };
    let order = match sort {
        CustomerSort::Name => format!("{name} {dir}, id {dir}"),
        CustomerSort::Created => format!("created_at {dir}, id {dir}"),
        CustomerSort::Kind => format!("CASE kind WHEN 'person' THEN 0 ELSE 1 END {dir}, {name} ASC, id ASC"),
    };
    let rows = if text.is_empty() {
        read!(
            fetch_all,
            store,
            &format!("SELECT {COLUMNS} FROM customers ORDER BY {order} LIMIT $1 OFFSET $2"),
            limit,
            offset
        )?
    } else {
        let folded = crate::store::jobs::like_pattern(&search_key(text, None));
        let legacy = crate::store::jobs::like_pattern(&text.to_ascii_lowercase());
        read!(
            fetch_all,
            store,
            &format!("SELECT {COLUMNS} FROM customers WHERE {matching} ORDER BY {order} LIMIT $3 OFFSET $4"),
            folded,
            legacy,
            limit,
            offset
        )?
    };
    rows.iter().map(decode).collect()
}

const NAMES_PG: &str = "SELECT id, name FROM customers
     WHERE id IN (SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text($1))";
const NAMES_SQLITE: &str = "SELECT id, name FROM customers WHERE id IN (SELECT value FROM json_each($1))";

/// The names of customers `ids`, in one query (for list pages).
pub(crate) async fn names(store: &Store, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let query = match store.backend() {
        Backend::Postgres => NAMES_PG,
        Backend::Sqlite => NAMES_SQLITE,
    };
    read!(fetch_all, store, query, sqlx::types::Json(ids))?
        .iter()
        .map(|r| Ok((r.get("id")?, r.get("name")?)))
        .collect()
}

/// Customers written before their search key existed: (id, name, e-mail), at most `limit`.
pub(crate) async fn unkeyed(store: &Store, limit: i64) -> Result<Vec<(i64, String, Option<String>)>, StoreError> {
    read!(
        fetch_all,
        store,
        "SELECT id, name, email FROM customers WHERE search_key IS NULL ORDER BY id LIMIT $1",
        limit
    )?
    .iter()
    .map(|r| Ok((r.get("id")?, r.get("name")?, r.get("email")?)))
    .collect()
}

pub(crate) async fn set_search_key(tx: &mut Tx, id: i64, key: &str) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE customers SET search_key = $1 WHERE id = $2",
        key,
        id
    )?;
    Ok(())
}
