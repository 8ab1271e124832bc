//! Double-entry ledger: every movement posts entries that sum to zero per
//! currency (debits positive, credits negative). Entries are never changed.

use serde::Serialize;

use super::error::{invalid, BillingError};
use crate::billing::sql::ledger as sql;
use crate::money::Money;
use crate::store::{Store, Tx};
use crate::text;

/// Account names.
pub mod accounts {
    /// What a customer owes.
    pub fn receivable(customer_id: i64) -> String {
        format!("receivable:customer:{customer_id}")
    }
    /// Money held by a payment provider for us (Stripe, PayPal balances).
    pub fn clearing(provider: &str) -> String {
        format!("clearing:{provider}")
    }
    pub const REVENUE_GOODS: &str = "revenue:goods";
    pub const REVENUE_SERVICES: &str = "revenue:services";
    pub const BANK: &str = "bank";
    pub const CASH: &str = "cash";
    pub const PROVIDER_FEES: &str = "expense:provider-fees";

    pub fn revenue(nature: crate::billing::catalog::Nature) -> &'static str {
        match nature {
            crate::billing::catalog::Nature::Goods => REVENUE_GOODS,
            crate::billing::catalog::Nature::Services => REVENUE_SERVICES,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Posting {
    pub account: String,
    pub amount: Money,
}

impl Posting {
    pub fn debit(account: impl Into<String>, amount: Money) -> Posting {
        Posting {
            account: account.into(),
            amount,
        }
    }
    pub fn credit(account: impl Into<String>, amount: Money) -> Posting {
        Posting {
            account: account.into(),
            amount: amount.negate(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountBalance {
    pub account: String,
    pub currency: String,
    pub balance_minor: i64,
}

/// Posts one balanced transaction; refuses an unbalanced one. Zero postings are dropped.
pub async fn post(tx: &mut Tx, kind: &str, reference: &str, postings: &[Posting]) -> Result<i64, BillingError> {
    let postings: Vec<&Posting> = postings.iter().filter(|p| p.amount.minor != 0).collect();
    let mut sums: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for p in &postings {
        let sum = sums.entry(p.amount.currency.to_string()).or_default();
        *sum = sum
            .checked_add(p.amount.minor)
            .ok_or_else(|| invalid("ledger", text!("montant hors limites")))?;
    }
    if let Some((currency, sum)) = sums.iter().find(|(_, s)| **s != 0) {
        return Err(invalid(
            "ledger",
            text!(
                "l'écriture {kind} {reference} est déséquilibrée de {sum} {currency}",
                kind = kind,
                reference = reference,
                sum = sum,
                currency = currency
            ),
        ));
    }
    if postings.is_empty() {
        return Ok(0);
    }
    let entries: Vec<(String, Money)> = postings.iter().map(|p| (p.account.clone(), p.amount)).collect();
    Ok(sql::insert(tx, kind, reference, &entries).await?)
}

/// Every account's balance per currency.
pub async fn balances(store: &Store) -> Result<Vec<AccountBalance>, BillingError> {
    Ok(sql::balances(store).await?)
}

/// One account's balance in minor units.
pub async fn balance(store: &Store, account: &str, currency: &str) -> Result<i64, BillingError> {
    Ok(sql::balance(store, account, currency).await?)
}
