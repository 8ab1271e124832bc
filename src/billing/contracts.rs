//! Deferred-payment contracts with a SEPA mandate and an outstanding-balance
//! ceiling, and the operations (purchases, refunds) posted on them.

use chrono::{DateTime, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::catalog::Nature;
use super::error::{at_line, contract_status, invalid, BillingError, Refusal};
use super::{dates, validate};
use crate::billing::sql::contracts as sql;
use crate::money::{Currency, Money};
use crate::store::{Store, StoreError, Tx};
use crate::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContractStatus {
    Active,
    Suspended,
    Cancelled,
}

impl ContractStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ContractStatus::Active => "active",
            ContractStatus::Suspended => "suspended",
            ContractStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<ContractStatus, BillingError> {
        match s {
            "active" => Ok(ContractStatus::Active),
            "suspended" => Ok(ContractStatus::Suspended),
            "cancelled" => Ok(ContractStatus::Cancelled),
            other => Err(invalid(
                "status",
                text!("« {value} » n'est pas un état de contrat", value = other),
            )),
        }
    }
}

/// A SEPA direct-debit mandate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mandate {
    pub reference: String,
    pub signed_on: NaiveDate,
    pub iban: String,
    pub revoked_on: Option<NaiveDate>,
    pub last_debit_on: Option<NaiveDate>,
}

/// A mandate unused for this long lapses (SEPA rulebook).
pub const MANDATE_LAPSE_MONTHS: u32 = 36;

impl Mandate {
    /// Valid unless revoked, or unused for 36 months (since the last debit,
    /// or since signature when never used).
    pub fn check(&self, today: NaiveDate) -> Result<(), Refusal> {
        if let Some(on) = self.revoked_on.filter(|on| *on <= today) {
            return Err(Refusal::MandateRevoked {
                reference: self.reference.clone(),
                on,
            });
        }
        let since = self.last_debit_on.unwrap_or(self.signed_on);
        match since.checked_add_months(Months::new(MANDATE_LAPSE_MONTHS)) {
            Some(lapse) if today < lapse => Ok(()),
            _ => Err(Refusal::MandateLapsed {
                reference: self.reference.clone(),
                since,
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contract {
    pub id: i64,
    pub customer_id: i64,
    pub status: ContractStatus,
    pub ceiling: Money,
    pub mandate: Mandate,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewContract {
    pub customer_id: i64,
    pub ceiling: Money,
    pub mandate_reference: String,
    pub mandate_signed_on: NaiveDate,
    pub iban: String,
}

pub async fn subscribe(tx: &mut Tx, new: NewContract) -> Result<Contract, BillingError> {
    if new.ceiling.minor <= 0 {
        return Err(invalid("ceiling", text!("doit être positif")));
    }
    let reference = validate::text("mandate_reference", &new.mandate_reference, 35)?;
    let iban = validate::iban(&new.iban)?;
    dates::mandate_signed_on(new.mandate_signed_on, dates::today_in(tx).await?)?;
    super::customers::get_in(tx, new.customer_id).await?;
    let new = NewContract {
        mandate_reference: reference,
        iban,
        ..new
    };
    sql::insert(tx, &new).await.map_err(|e| match e {
        StoreError::Conflict(_) => BillingError::Conflict(text!(
            "la référence de mandat « {reference} » est déjà prise",
            reference = new.mandate_reference
        )),
        other => other.into(),
    })
}

pub async fn get(store: &Store, id: i64) -> Result<Contract, BillingError> {
    sql::get(store, id)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("contract {id}")))
}

/// Reads the contract and locks it until `tx` ends: operations on one
/// contract are decided one at a time.
pub async fn lock(tx: &mut Tx, id: i64) -> Result<Contract, BillingError> {
    sql::lock(tx, id)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("contract {id}")))
}

async fn transition(
    tx: &mut Tx,
    id: i64,
    from: &[ContractStatus],
    to: ContractStatus,
) -> Result<Contract, BillingError> {
    let contract = lock(tx, id).await?;
    if !from.contains(&contract.status) {
        return Err(BillingError::Conflict(
            text!(
                "le contrat {contract} est {status} : il ne peut pas devenir {to}",
                contract = id
            )
            .with("status", contract_status(contract.status.as_str()))
            .with("to", contract_status(to.as_str())),
        ));
    }
    sql::set_status(tx, id, to).await?;
    Ok(Contract { status: to, ..contract })
}

pub async fn suspend(tx: &mut Tx, id: i64) -> Result<Contract, BillingError> {
    transition(tx, id, &[ContractStatus::Active], ContractStatus::Suspended).await
}

pub async fn resume(tx: &mut Tx, id: i64) -> Result<Contract, BillingError> {
    transition(tx, id, &[ContractStatus::Suspended], ContractStatus::Active).await
}

pub async fn cancel(tx: &mut Tx, id: i64) -> Result<Contract, BillingError> {
    transition(
        tx,
        id,
        &[ContractStatus::Active, ContractStatus::Suspended],
        ContractStatus::Cancelled,
    )
    .await
}

/// Revokes the mandate of contract `id` on `on` (a date ahead takes effect then).
pub async fn revoke_mandate(tx: &mut Tx, id: i64, on: NaiveDate) -> Result<(), BillingError> {
    let contract = lock(tx, id).await?;
    dates::revoked_on(on, contract.mandate.signed_on, dates::today_in(tx).await?)?;
    sql::set_mandate_dates(tx, id, Some(on), None).await?;
    Ok(())
}

/// Records a successful SEPA debit: it keeps the mandate alive.
pub async fn record_debit(tx: &mut Tx, id: i64, on: NaiveDate) -> Result<(), BillingError> {
    lock(tx, id).await?;
    sql::set_mandate_dates(tx, id, None, Some(on)).await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationKind {
    Purchase,
    Refund,
}

impl OperationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationKind::Purchase => "purchase",
            OperationKind::Refund => "refund",
        }
    }
}

/// One item of an operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationLine {
    pub description: String,
    pub nature: Nature,
    pub quantity: Decimal,
    pub unit_price: Money,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewOperation {
    pub kind: OperationKind,
    pub lines: Vec<OperationLine>,
    pub occurred_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operation {
    pub id: i64,
    pub contract_id: i64,
    pub kind: OperationKind,
    pub amount: Money,
    pub lines: Vec<OperationLine>,
    pub occurred_on: NaiveDate,
    pub invoice_id: Option<i64>,
}

/// The total of `lines` in `currency`, checking every line.
pub fn lines_total(lines: &[OperationLine], currency: Currency) -> Result<Money, BillingError> {
    if lines.is_empty() {
        return Err(invalid("lines", text!("au moins une ligne est requise")));
    }
    let mut total = Money::zero(currency);
    for (i, line) in lines.iter().enumerate() {
        validate::text("lines.description", &line.description, 300).map_err(|e| at_line(e, i))?;
        if line.quantity <= Decimal::ZERO {
            return Err(invalid(
                "lines.quantity",
                text!("ligne {line} : la quantité doit être positive", line = i + 1),
            ));
        }
        if line.unit_price.is_negative() {
            return Err(invalid(
                "lines.unit_price",
                text!("ligne {line} : le prix unitaire ne peut pas être négatif", line = i + 1),
            ));
        }
        if line.unit_price.currency != currency {
            return Err(Refusal::CurrencyMismatch {
                got: line.unit_price.currency.to_string(),
                expected: currency.to_string(),
            }
            .into());
        }
        total = total.checked_add(line.unit_price.times(line.quantity)?)?;
    }
    if total.minor <= 0 {
        return Err(invalid("lines", text!("le total de l'opération doit être positif")));
    }
    Ok(total)
}

/// Accepts the operation if the contract is active, its mandate valid on
/// `today`, and (for a purchase) the outstanding balance stays within the
/// ceiling; otherwise refuses it with the rule that failed. Decided under the
/// contract's lock, so concurrent purchases cannot both slip under the ceiling.
pub async fn post_operation(
    tx: &mut Tx,
    contract_id: i64,
    new: NewOperation,
    today: NaiveDate,
) -> Result<Operation, BillingError> {
    let contract = lock(tx, contract_id).await?;
    let amount = lines_total(&new.lines, contract.ceiling.currency)?;
    dates::occurred_on(new.occurred_on, today)?;
    if contract.status != ContractStatus::Active {
        return Err(Refusal::ContractNotActive {
            contract: contract_id,
            status: contract.status.as_str().into(),
        }
        .into());
    }
    contract.mandate.check(today)?;
    let balance = sql::balance(tx, contract_id).await?;
    let currency = contract.ceiling.currency;
    match new.kind {
        OperationKind::Purchase => {
            let outstanding = Money::new(balance.open_operations + balance.unpaid_invoices, currency);
            if outstanding.checked_add(amount)?.minor > contract.ceiling.minor {
                return Err(Refusal::CeilingExceeded {
                    outstanding: outstanding.format_fr(),
                    amount: amount.format_fr(),
                    ceiling: contract.ceiling.format_fr(),
                }
                .into());
            }
        }
        OperationKind::Refund => {
            if amount.minor > balance.open_operations {
                return Err(Refusal::RefundAboveOpen {
                    amount: amount.format_fr(),
                    open: Money::new(balance.open_operations.max(0), currency).format_fr(),
                }
                .into());
            }
        }
    }
    Ok(sql::insert_operation(tx, contract_id, new.kind, amount, &new.lines, new.occurred_on).await?)
}

/// Open operations of a contract (not yet invoiced) up to `until`, oldest first.
pub async fn open_operations(tx: &mut Tx, contract_id: i64, until: NaiveDate) -> Result<Vec<Operation>, BillingError> {
    Ok(sql::open_operations(tx, contract_id, until).await?)
}

pub async fn list_operations(store: &Store, contract_id: i64) -> Result<Vec<Operation>, BillingError> {
    Ok(sql::list_operations(store, contract_id).await?)
}

/// Filters for listing contracts; newest first.
#[derive(Debug, Clone, Default)]
pub struct ContractFilter {
    pub customer_id: Option<i64>,
    pub status: Option<ContractStatus>,
    pub limit: i64,
    pub before_id: Option<i64>,
}

pub async fn list(store: &Store, filter: &ContractFilter) -> Result<Vec<Contract>, BillingError> {
    Ok(sql::list(store, filter).await?)
}

/// What a contract owes now, against its ceiling.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContractBalance {
    /// Purchases less refunds, not yet invoiced.
    pub open_operations: Money,
    /// Issued invoices of the contract less what was paid or credited.
    pub unpaid_invoices: Money,
    /// The two together: what the ceiling is checked against.
    pub outstanding: Money,
    /// What may still be bought before the ceiling (never negative).
    pub available: Money,
}

/// The outstanding balance of contract `id` (read outside any lock: a page's view).
pub async fn balance(store: &Store, id: i64) -> Result<ContractBalance, BillingError> {
    let contract = get(store, id).await?;
    let b = sql::balance_now(store, id).await?;
    Ok(ContractBalance::of(&contract, b.open_operations, b.unpaid_invoices))
}

/// The same, inside the caller's transaction.
pub async fn balance_in(tx: &mut Tx, contract: &Contract) -> Result<ContractBalance, BillingError> {
    let b = sql::balance(tx, contract.id).await?;
    Ok(ContractBalance::of(contract, b.open_operations, b.unpaid_invoices))
}

impl ContractBalance {
    fn of(contract: &Contract, open_operations: i64, unpaid_invoices: i64) -> ContractBalance {
        let currency = contract.ceiling.currency;
        let outstanding = open_operations.saturating_add(unpaid_invoices);
        ContractBalance {
            open_operations: Money::new(open_operations, currency),
            unpaid_invoices: Money::new(unpaid_invoices, currency),
            outstanding: Money::new(outstanding, currency),
            available: Money::new(contract.ceiling.minor.saturating_sub(outstanding).max(0), currency),
        }
    }
}
