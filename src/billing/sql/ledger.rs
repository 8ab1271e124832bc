use chrono::Utc;

use crate::billing::ledger::AccountBalance;
use crate::money::Money;
use crate::store::sql::{read, sql};
use crate::store::{Store, StoreError, Tx};

pub(crate) async fn insert(
    tx: &mut Tx,
    kind: &str,
    reference: &str,
    entries: &[(String, Money)],
) -> Result<i64, StoreError> {
    let row = sql!(
        fetch_one,
        tx,
        "INSERT INTO ledger_transactions (kind, reference, created_at) VALUES ($1, $2, $3) RETURNING id",
        kind,
        reference,
        Utc::now()
    )?;
    let id: i64 = row.get("id")?;
    for (account, amount) in entries {
        sql!(
            execute,
            tx,
            "INSERT INTO ledger_entries (transaction_id, account, currency, amount_minor) VALUES ($1, $2, $3, $4)",
            id,
            account.as_str(),
            amount.currency.code(),
            amount.minor
        )?;
    }
    Ok(id)
}

pub(crate) async fn balances(store: &Store) -> Result<Vec<AccountBalance>, StoreError> {
    read!(
        fetch_all,
        store,
        "SELECT account, currency, CAST(SUM(amount_minor) AS BIGINT) AS balance
         FROM ledger_entries GROUP BY account, currency ORDER BY account, currency"
    )?
    .iter()
    .map(|r| {
        Ok(AccountBalance {
            account: r.get("account")?,
            currency: r.get("currency")?,
            balance_minor: r.get("balance")?,
        })
    })
    .collect()
}

pub(crate) async fn balance(store: &Store, account: &str, currency: &str) -> Result<i64, StoreError> {
    read!(
        fetch_one,
        store,
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS balance FROM ledger_entries
         WHERE account = $1 AND currency = $2",
        account,
        currency
    )?
    .get("balance")
}
