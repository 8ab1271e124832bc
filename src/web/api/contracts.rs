//! Contracts (deferred payment under a SEPA mandate and a ceiling) through
//! the API: subscribe, read (status, balance, ceiling, mandate validity),
//! suspend / resume / cancel, and post operations, which are accepted or
//! refused with the rule that failed (`ceiling_exceeded`, `contract_not_active`,
//! `mandate_revoked`, `mandate_lapsed`, …) and nothing recorded.

mod operations;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::Fields;
use super::extract::from_value;
use super::idempotency::{answer, Answer, Idempotency, Keep};
use super::money::{ApiMoney, MoneyIn};
use super::{Api, ApiError, Json, Path};
use crate::billing::actions::contracts::{self as actions, Transition};
use crate::billing::contracts::{self, Contract, ContractStatus, NewContract};
use crate::billing::{customers, BillingError};
use crate::store::{Store, Tx};
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .post("/api/contracts", Access::ApiKey, subscribe)
        .get("/api/contracts/{id}", Access::ApiKey, show)
        .post("/api/contracts/{id}/suspend", Access::ApiKey, suspend)
        .post("/api/contracts/{id}/resume", Access::ApiKey, resume)
        .post("/api/contracts/{id}/cancel", Access::ApiKey, cancel)
        .post("/api/contracts/{id}/operations", Access::ApiKey, operations::post)
}

#[derive(Debug, Serialize)]
struct RuleView {
    code: &'static str,
    message: String,
}

#[derive(Debug, Serialize)]
struct MandateView {
    reference: String,
    signed_on: NaiveDate,
    /// The IBAN with its middle hidden: `FR76…0189`.
    iban: String,
    revoked_on: Option<NaiveDate>,
    last_debit_on: Option<NaiveDate>,
    /// Valid today: not revoked, used (or signed) within 36 months.
    valid: bool,
    /// Why not, when it is not.
    invalid: Option<RuleView>,
}

#[derive(Debug, Serialize)]
struct BalanceView {
    open_operations: ApiMoney,
    unpaid_invoices: ApiMoney,
    /// What counts against the ceiling.
    outstanding: ApiMoney,
    /// What a purchase may still add (never below zero).
    available: ApiMoney,
}

#[derive(Debug, Serialize)]
struct ContractView {
    id: i64,
    customer_id: i64,
    status: ContractStatus,
    ceiling: ApiMoney,
    balance: BalanceView,
    mandate: MandateView,
    created_at: DateTime<Utc>,
}

fn masked(iban: &str) -> String {
    let chars: Vec<char> = iban.chars().collect();
    if chars.len() <= 8 {
        return "…".into();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// The contract as it stands, read inside `tx`, its mandate judged on `today`.
async fn view_in(tx: &mut Tx, contract: Contract, today: NaiveDate) -> Result<ContractView, ApiError> {
    let balance = contracts::balance_in(tx, &contract).await?;
    let refusal = contract.mandate.check(today).err();
    let m = contract.mandate;
    Ok(ContractView {
        id: contract.id,
        customer_id: contract.customer_id,
        status: contract.status,
        ceiling: contract.ceiling.into(),
        balance: BalanceView {
            open_operations: balance.open_operations.into(),
            unpaid_invoices: balance.unpaid_invoices.into(),
            outstanding: balance.outstanding.into(),
            available: balance.available.into(),
        },
        mandate: MandateView {
            iban: masked(&m.iban),
            reference: m.reference,
            signed_on: m.signed_on,
            revoked_on: m.revoked_on,
            last_debit_on: m.last_debit_on,
            valid: refusal.is_none(),
            invalid: refusal.map(|r| RuleView {
                code: r.code(),
                message: r.to_string(),
            }),
        },
        created_at: contract.created_at,
    })
}

async fn today(store: &Store) -> Result<NaiveDate, ApiError> {
    Ok(store.now().await?.date_naive())
}

async fn show(api: Api, Path(id): Path<i64>) -> Result<Json<ContractView>, ApiError> {
    let store = &api.state.store;
    let today = today(store).await?;
    let contract = contracts::get(store, id).await?;
    let mut tx = store.begin().await?;
    let view = view_in(&mut tx, contract, today).await?;
    tx.rollback().await?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Subscribe {
    customer_id: i64,
    ceiling: MoneyIn,
    mandate: MandateIn,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MandateIn {
    reference: String,
    signed_on: NaiveDate,
    iban: String,
}

/// The request's name for a field the domain refused.
fn subscribe_field(e: BillingError) -> ApiError {
    match e {
        BillingError::Invalid { field, message } => {
            let path = match field {
                "mandate_reference" => "mandate.reference",
                "iban" => "mandate.iban",
                "mandate_signed_on" => "mandate.signed_on",
                other => other,
            };
            ApiError::field(path, message)
        }
        other => other.into(),
    }
}

async fn subscribe(api: Api, idem: Idempotency, Json(body): Json<Value>) -> Result<Response, ApiError> {
    let request: Subscribe = from_value(body.clone())?;
    let mut fields = Fields::new();
    let ceiling = request.ceiling.check("ceiling", &mut fields);
    if ceiling.is_some_and(|c| c.minor <= 0) {
        fields.add("ceiling.minor", crate::text!("doit être positif"));
    }
    match customers::get(&api.state.store, request.customer_id).await {
        Ok(_) => {}
        Err(BillingError::NotFound(_)) => fields.add(
            "customer_id",
            crate::text!("aucun client n'a l'id {id}", id = request.customer_id),
        ),
        Err(e) => return Err(e.into()),
    }
    fields.finish()?;
    let Some(ceiling) = ceiling else {
        return Err(ApiError::Internal("ceiling checked but absent".into()));
    };
    let new = NewContract {
        customer_id: request.customer_id,
        ceiling,
        mandate_reference: request.mandate.reference,
        mandate_signed_on: request.mandate.signed_on,
        iban: request.mandate.iban,
    };
    let caller = api.clone();
    let work = |keep: Keep| async move {
        let api = caller;
        let store = &api.state.store;
        let today = today(store).await?;
        let mut tx = store.begin().await?;
        let contract = actions::subscribe(&mut tx, &api.actor, new)
            .await
            .map_err(subscribe_field)?;
        let view = view_in(&mut tx, contract, today).await?;
        let answered = answer(StatusCode::CREATED, &view)?;
        keep.answer_in(&mut tx, &answered).await?;
        tx.commit().await?;
        Ok(answered)
    };
    idem.run(&api, &body, work).await
}

async fn transition(api: Api, id: i64, to: Transition, keep: Keep) -> Result<Answer, ApiError> {
    let store = &api.state.store;
    let today = today(store).await?;
    let mut tx = store.begin().await?;
    let contract = actions::transition(&mut tx, &api.actor, id, to).await?;
    let view = view_in(&mut tx, contract, today).await?;
    let answered = answer(StatusCode::OK, &view)?;
    keep.answer_in(&mut tx, &answered).await?;
    tx.commit().await?;
    Ok(answered)
}

async fn suspend(api: Api, idem: Idempotency, Path(id): Path<i64>) -> Result<Response, ApiError> {
    idem.run(&api, &Value::Null, |keep| {
        transition(api.clone(), id, Transition::Suspend, keep)
    })
    .await
}

async fn resume(api: Api, idem: Idempotency, Path(id): Path<i64>) -> Result<Response, ApiError> {
    idem.run(&api, &Value::Null, |keep| {
        transition(api.clone(), id, Transition::Resume, keep)
    })
    .await
}

async fn cancel(api: Api, idem: Idempotency, Path(id): Path<i64>) -> Result<Response, ApiError> {
    idem.run(&api, &Value::Null, |keep| {
        transition(api.clone(), id, Transition::Cancel, keep)
    })
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn ibans_are_masked() {
        assert_eq!(super::masked("FR7630006000011234567890189"), "FR76…0189");
        assert_eq!(super::masked("short"), "…");
    }
}
