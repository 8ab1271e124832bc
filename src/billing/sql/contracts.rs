use chrono::{NaiveDate, Utc};

use super::catalog::money;
use crate::billing::contracts::{
    Contract, ContractFilter, ContractStatus, Mandate, NewContract, Operation, OperationKind, OperationLine,
};
use crate::money::Money;
use crate::store::sql::{read, sql, AnyRow};
use crate::store::{Backend, Store, StoreError, Tx};

const COLUMNS: &str = "id, customer_id, status, currency, ceiling_minor, mandate_reference, mandate_signed_on, iban,
    mandate_revoked_on, last_debit_on, created_at";
const OPERATION_COLUMNS: &str = "id, contract_id, kind, amount_minor, currency, lines, occurred_on, invoice_id";

fn decode(r: &AnyRow) -> Result<Contract, StoreError> {
    let status: String = r.get("status")?;
    Ok(Contract {
        id: r.get("id")?,
        customer_id: r.get("customer_id")?,
        status: ContractStatus::parse(&status).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ceiling: money(r, "ceiling_minor", "currency")?,
        mandate: Mandate {
            reference: r.get("mandate_reference")?,
            signed_on: r.get("mandate_signed_on")?,
            iban: r.get("iban")?,
            revoked_on: r.get("mandate_revoked_on")?,
            last_debit_on: r.get("last_debit_on")?,
        },
        created_at: r.get("created_at")?,
    })
}

fn decode_operation(r: &AnyRow) -> Result<Operation, StoreError> {
    let kind: String = r.get("kind")?;
    Ok(Operation {
        id: r.get("id")?,
        contract_id: r.get("contract_id")?,
        kind: match kind.as_str() {
            "purchase" => OperationKind::Purchase,
            "refund" => OperationKind::Refund,
            other => return Err(StoreError::Corrupt(format!("operation kind {other:?}"))),
        },
        amount: money(r, "amount_minor", "currency")?,
        lines: r.json("lines")?,
        occurred_on: r.get("occurred_on")?,
        invoice_id: r.get("invoice_id")?,
    })
}

pub(crate) async fn insert(tx: &mut Tx, c: &NewContract) -> Result<Contract, StoreError> {
    let now = Utc::now();
    let row = sql!(
        fetch_one,
        tx,
        &format!(
            "INSERT INTO contracts (customer_id, status, currency, ceiling_minor, mandate_reference, mandate_signed_on,
                 iban, created_at, updated_at)
             VALUES ($1, 'active', $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
        ),
        c.customer_id,
        c.ceiling.currency.code(),
        c.ceiling.minor,
        &c.mandate_reference,
        c.mandate_signed_on,
        &c.iban,
        now
    )?;
    decode(&row)
}

pub(crate) async fn get(store: &Store, id: i64) -> Result<Option<Contract>, StoreError> {
    read!(
        fetch_optional,
        store,
        &format!("SELECT {COLUMNS} FROM contracts WHERE id = $1"),
        id
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

/// PostgreSQL locks the row; SQLite's transaction already holds the write lock.
pub(crate) async fn lock(tx: &mut Tx, id: i64) -> Result<Option<Contract>, StoreError> {
    let lock = if tx.backend() == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    sql!(
        fetch_optional,
        tx,
        &format!("SELECT {COLUMNS} FROM contracts WHERE id = $1{lock}"),
        id
    )?
    .as_ref()
    .map(decode)
    .transpose()
}

pub(crate) async fn set_status(tx: &mut Tx, id: i64, status: ContractStatus) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE contracts SET status = $1, updated_at = $2 WHERE id = $3",
        status.as_str(),
        Utc::now(),
        id
    )?;
    Ok(())
}

pub(crate) async fn set_mandate_dates(
    tx: &mut Tx,
    id: i64,
    revoked_on: Option<NaiveDate>,
    last_debit_on: Option<NaiveDate>,
) -> Result<(), StoreError> {
    sql!(
        execute,
        tx,
        "UPDATE contracts SET mandate_revoked_on = COALESCE($1, mandate_revoked_on),
             last_debit_on = COALESCE($2, last_debit_on), updated_at = $3 WHERE id = $4",
        revoked_on,
        last_debit_on,
        Utc::now(),
        id
    )?;
    Ok(())
}

/// What a contract owes, in minor units of its currency.
pub(crate) struct Balance {
    /// Purchases minus refunds not yet invoiced.
    pub open_operations: i64,
    /// Issued invoices of the contract, less what was paid or credited.
    pub unpaid_invoices: i64,
}

const BALANCE: &str = "SELECT
     CAST(COALESCE((SELECT SUM(CASE WHEN kind = 'purchase' THEN amount_minor ELSE -amount_minor END)
                    FROM contract_operations WHERE contract_id = $1 AND invoice_id IS NULL), 0) AS BIGINT)
         AS open_operations,
     CAST(COALESCE((SELECT SUM(total_minor - paid_minor - credited_minor) FROM invoices
                    WHERE contract_id = $1 AND kind = 'invoice' AND status = 'issued'), 0) AS BIGINT)
         AS unpaid_invoices";

fn decode_balance(row: &AnyRow) -> Result<Balance, StoreError> {
    Ok(Balance {
        open_operations: row.get("open_operations")?,
        unpaid_invoices: row.get("unpaid_invoices")?,
    })
}

pub(crate) async fn balance(tx: &mut Tx, contract_id: i64) -> Result<Balance, StoreError> {
    decode_balance(&sql!(fetch_one, tx, BALANCE, contract_id)?)
}

/// The same, outside a transaction (for pages).
pub(crate) async fn balance_now(store: &Store, contract_id: i64) -> Result<Balance, StoreError> {
    decode_balance(&read!(fetch_one, store, BALANCE, contract_id)?)
}

/// Newest first, keyset-paginated by id.
pub(crate) async fn list(store: &Store, f: &ContractFilter) -> Result<Vec<Contract>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!(
            "SELECT {COLUMNS} FROM contracts
             WHERE ($1 IS NULL OR customer_id = $1) AND ($2 IS NULL OR status = $2) AND id < $3
             ORDER BY id DESC LIMIT $4"
        ),
        f.customer_id,
        f.status.map(ContractStatus::as_str),
        f.before_id.unwrap_or(i64::MAX),
        f.limit.clamp(1, 1000)
    )?
    .iter()
    .map(decode)
    .collect()
}

pub(crate) async fn insert_operation(
    tx: &mut Tx,
    contract_id: i64,
    kind: OperationKind,
    amount: Money,
    lines: &[OperationLine],
    occurred_on: NaiveDate,
) -> Result<Operation, StoreError> {
    let row = sql!(
        fetch_one,
        tx,
        &format!(
            "INSERT INTO contract_operations (contract_id, kind, amount_minor, currency, lines, occurred_on, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {OPERATION_COLUMNS}"
        ),
        contract_id,
        kind.as_str(),
        amount.minor,
        amount.currency.code(),
        sqlx::types::Json(serde_json::to_value(lines)?),
        occurred_on,
        Utc::now()
    )?;
    decode_operation(&row)
}

pub(crate) async fn open_operations(
    tx: &mut Tx,
    contract_id: i64,
    until: NaiveDate,
) -> Result<Vec<Operation>, StoreError> {
    sql!(
        fetch_all,
        tx,
        &format!(
            "SELECT {OPERATION_COLUMNS} FROM contract_operations
             WHERE contract_id = $1 AND invoice_id IS NULL AND occurred_on <= $2 ORDER BY occurred_on, id"
        ),
        contract_id,
        until
    )?
    .iter()
    .map(decode_operation)
    .collect()
}

pub(crate) async fn list_operations(store: &Store, contract_id: i64) -> Result<Vec<Operation>, StoreError> {
    read!(
        fetch_all,
        store,
        &format!("SELECT {OPERATION_COLUMNS} FROM contract_operations WHERE contract_id = $1 ORDER BY occurred_on, id"),
        contract_id
    )?
    .iter()
    .map(decode_operation)
    .collect()
}

pub(crate) async fn mark_invoiced(tx: &mut Tx, operation_ids: &[i64], invoice_id: i64) -> Result<(), StoreError> {
    for id in operation_ids {
        let n = sql!(
            execute,
            tx,
            "UPDATE contract_operations SET invoice_id = $1 WHERE id = $2 AND invoice_id IS NULL",
            invoice_id,
            id
        )?;
        if n != 1 {
            return Err(StoreError::Conflict(format!("operation {id} was invoiced meanwhile")));
        }
    }
    Ok(())
}

/// Contracts that have open operations on or before `until`.
pub(crate) async fn with_open_operations(store: &Store, until: NaiveDate) -> Result<Vec<i64>, StoreError> {
    read!(
        fetch_all,
        store,
        "SELECT DISTINCT contract_id FROM contract_operations WHERE invoice_id IS NULL AND occurred_on <= $1
         ORDER BY contract_id",
        until
    )?
    .iter()
    .map(|r| r.get("contract_id"))
    .collect()
}
