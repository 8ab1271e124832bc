//! The monthly run: each contract's operations not yet invoiced become one
//! invoice per contract and period (refunds netted as credit lines). Running
//! it twice for a period invoices nothing more.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::contracts::{self, OperationKind};
use super::error::{invalid, BillingError};
use super::invoices::{self, NewInvoice, NewLine};
use crate::store::{Store, StoreError};
use crate::text;

/// A calendar month, written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub year: i32,
    pub month: u32,
}

impl Period {
    pub fn parse(text: &str) -> Result<Period, BillingError> {
        let bad = || {
            invalid(
                "period",
                text!("« {text} » n'est pas un mois (AAAA-MM)", text = text.trim()),
            )
        };
        let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
        let period = Period {
            year: y.parse().map_err(|_| bad())?,
            month: m.parse().map_err(|_| bad())?,
        };
        period.first_day().ok_or_else(bad)?;
        Ok(period)
    }

    pub fn of(date: NaiveDate) -> Period {
        Period {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn first_day(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }

    pub fn last_day(&self) -> Option<NaiveDate> {
        self.first_day()?.checked_add_months(chrono::Months::new(1))?.pred_opt()
    }

    pub fn previous(&self) -> Period {
        if self.month == 1 {
            Period {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Period {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn key(&self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

/// What happened to one contract in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum ContractOutcome {
    Invoiced {
        invoice_id: i64,
        reference: String,
    },
    /// The period was invoiced before (by this run or another).
    AlreadyInvoiced {
        invoice_id: i64,
    },
    NothingToInvoice,
    /// Refunds outweigh purchases: the operations stay open for the next period.
    NetNotPositive,
}

/// Invoices one contract for `period`, issued on `issue_date`, in a
/// transaction of its own. Safe to run twice and concurrently.
#[tracing::instrument(skip(store))]
pub async fn invoice_contract(
    store: &Store,
    contract_id: i64,
    period: Period,
    issue_date: NaiveDate,
) -> Result<ContractOutcome, BillingError> {
    match try_invoice(store, contract_id, period, issue_date).await {
        // Another run inserted the same (contract, period) invoice first.
        Err(BillingError::Conflict(_)) | Err(BillingError::Store(StoreError::Conflict(_))) => {
            let mut tx = store.begin().await?;
            match crate::billing::sql::invoices::for_contract_period(&mut tx, contract_id, &period.key()).await? {
                Some(existing) => Ok(ContractOutcome::AlreadyInvoiced {
                    invoice_id: existing.id,
                }),
                None => Err(BillingError::Conflict(text!(
                    "contrat {contract} : modifié en même temps ailleurs, réessayez",
                    contract = contract_id
                ))),
            }
        }
        other => other,
    }
}

async fn try_invoice(
    store: &Store,
    contract_id: i64,
    period: Period,
    issue_date: NaiveDate,
) -> Result<ContractOutcome, BillingError> {
    let last_day = period
        .last_day()
        .ok_or_else(|| invalid("period", text!("date hors limites")))?;
    let mut tx = store.begin().await?;
    let contract = contracts::lock(&mut tx, contract_id).await?;
    if let Some(existing) =
        crate::billing::sql::invoices::for_contract_period(&mut tx, contract_id, &period.key()).await?
    {
        return Ok(ContractOutcome::AlreadyInvoiced {
            invoice_id: existing.id,
        });
    }
    let operations = contracts::open_operations(&mut tx, contract_id, last_day).await?;
    if operations.is_empty() {
        return Ok(ContractOutcome::NothingToInvoice);
    }
    let net: i64 = operations
        .iter()
        .map(|o| {
            if o.kind == OperationKind::Purchase {
                o.amount.minor
            } else {
                -o.amount.minor
            }
        })
        .sum();
    if net <= 0 {
        return Ok(ContractOutcome::NetNotPositive);
    }
    let mut lines = Vec::new();
    for op in &operations {
        for l in &op.lines {
            let date = op.occurred_on.format("%d/%m/%Y");
            let (description, unit_price) = match op.kind {
                OperationKind::Purchase => (format!("{} ({date})", l.description), l.unit_price),
                OperationKind::Refund => (
                    format!("Remboursement : {} ({date})", l.description),
                    l.unit_price.negate(),
                ),
            };
            lines.push(NewLine {
                description,
                nature: l.nature,
                quantity: l.quantity,
                unit: None,
                unit_price,
            });
        }
    }
    let draft = invoices::create_draft(
        &mut tx,
        NewInvoice {
            customer_id: contract.customer_id,
            currency: contract.ceiling.currency,
            lines,
            contract_id: Some(contract_id),
            order_id: None,
            period: Some(period.key()),
            // The month the contract's operations were billed for.
            service_date: None,
            service_period_start: period.first_day(),
            service_period_end: period.last_day(),
            purchase_order: None,
            delivery_address: None,
        },
    )
    .await?;
    let issued = invoices::issue(&mut tx, draft.id, issue_date).await?;
    let ids: Vec<i64> = operations.iter().map(|o| o.id).collect();
    crate::billing::sql::contracts::mark_invoiced(&mut tx, &ids, issued.id).await?;
    tx.commit().await?;
    Ok(ContractOutcome::Invoiced {
        invoice_id: issued.id,
        reference: issued.reference.unwrap_or_default(),
    })
}

/// Contracts with operations not yet invoiced up to the end of `period`.
pub async fn contracts_to_invoice(store: &Store, period: Period) -> Result<Vec<i64>, BillingError> {
    let last_day = period
        .last_day()
        .ok_or_else(|| invalid("period", text!("date hors limites")))?;
    Ok(crate::billing::sql::contracts::with_open_operations(store, last_day).await?)
}

/// Runs the whole period, contract by contract (each in its own transaction).
pub async fn run(
    store: &Store,
    period: Period,
    issue_date: NaiveDate,
) -> Result<Vec<(i64, ContractOutcome)>, BillingError> {
    let first_day = period
        .first_day()
        .ok_or_else(|| invalid("period", text!("date hors limites")))?;
    super::dates::period(first_day, super::dates::today(store).await?)?;
    let mut out = Vec::new();
    for contract_id in contracts_to_invoice(store, period).await? {
        out.push((
            contract_id,
            invoice_contract(store, contract_id, period, issue_date).await?,
        ));
    }
    Ok(out)
}
