//! Deferred-payment contracts: subscribing, the lifecycle, the mandate, and
//! operations posted against the ceiling.

use chrono::NaiveDate;
use serde_json::json;

use crate::audit::{self, Actor, Record};
use crate::billing::contracts::{self, Contract, NewContract, NewOperation, Operation};
use crate::billing::BillingError;
use crate::store::Tx;

pub async fn subscribe(tx: &mut Tx, by: &Actor, new: NewContract) -> Result<Contract, BillingError> {
    let contract = contracts::subscribe(tx, new).await?;
    let entry = Record::new("contract.subscribe", format!("contract:{}", contract.id)).details(json!({
        "customer_id": contract.customer_id,
        "mandate_reference": contract.mandate.reference,
        "ceiling_minor": contract.ceiling.minor,
        "currency": contract.ceiling.currency,
    }));
    audit::record_in(tx, by, entry).await?;
    Ok(contract)
}

/// A change of a contract's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Suspend,
    Resume,
    Cancel,
}

impl Transition {
    pub fn action(self) -> &'static str {
        match self {
            Transition::Suspend => "contract.suspend",
            Transition::Resume => "contract.resume",
            Transition::Cancel => "contract.cancel",
        }
    }
}

pub async fn transition(tx: &mut Tx, by: &Actor, id: i64, to: Transition) -> Result<Contract, BillingError> {
    let contract = match to {
        Transition::Suspend => contracts::suspend(tx, id).await?,
        Transition::Resume => contracts::resume(tx, id).await?,
        Transition::Cancel => contracts::cancel(tx, id).await?,
    };
    let entry =
        Record::new(to.action(), format!("contract:{id}")).details(json!({ "status": contract.status.as_str() }));
    audit::record_in(tx, by, entry).await?;
    Ok(contract)
}

pub async fn revoke_mandate(tx: &mut Tx, by: &Actor, id: i64, on: NaiveDate) -> Result<(), BillingError> {
    contracts::revoke_mandate(tx, id, on).await?;
    let entry = Record::new("contract.revoke_mandate", format!("contract:{id}")).details(json!({ "revoked_on": on }));
    audit::record_in(tx, by, entry).await?;
    Ok(())
}

/// Posts an operation, decided under the contract's lock; a refusal names
/// the rule and records nothing.
pub async fn post_operation(
    tx: &mut Tx,
    by: &Actor,
    id: i64,
    new: NewOperation,
    today: NaiveDate,
) -> Result<Operation, BillingError> {
    let operation = contracts::post_operation(tx, id, new, today).await?;
    let entry = Record::new("contract.operation", format!("contract:{id}")).details(json!({
        "operation_id": operation.id,
        "kind": operation.kind.as_str(),
        "amount_minor": operation.amount.minor,
        "currency": operation.amount.currency,
    }));
    audit::record_in(tx, by, entry).await?;
    Ok(operation)
}
