//! `POST /api/contracts/{id}/operations`: a purchase or refund on a contract,
//! accepted (201, with the contract's new balance) or refused with the rule
//! that failed (422 `ceiling_exceeded`, `contract_not_active`,
//! `mandate_revoked`, `mandate_lapsed`, `refund_above_open`,
//! `currency_mismatch`) — decided under the contract's lock, nothing recorded
//! on refusal.

use std::str::FromStr;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::error::Fields;
use super::super::extract::from_value;
use super::super::idempotency::{answer, Answer, Idempotency, Keep};
use super::super::money::{ApiMoney, MoneyIn};
use super::super::{Api, ApiError, Json, Path};
use super::{today, view_in, ContractView};
use crate::billing::actions::contracts as actions;
use crate::billing::catalog::Nature;
use crate::billing::contracts::{self, NewOperation, Operation, OperationKind, OperationLine};
use crate::input;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostOperation {
    kind: OperationKind,
    /// Today when left out.
    #[serde(default)]
    occurred_on: Option<NaiveDate>,
    lines: Vec<LineIn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn {
    description: String,
    nature: Nature,
    /// A number (`2`, `1.5`) or a decimal string (`"1.5"`).
    quantity: Value,
    unit_price: MoneyIn,
}

#[derive(Debug, Serialize)]
struct LineView {
    description: String,
    nature: Nature,
    /// Exact, as a decimal string.
    quantity: String,
    unit_price: ApiMoney,
}

#[derive(Debug, Serialize)]
struct OperationView {
    id: i64,
    contract_id: i64,
    kind: OperationKind,
    amount: ApiMoney,
    lines: Vec<LineView>,
    occurred_on: NaiveDate,
    invoice_id: Option<i64>,
}

impl From<Operation> for OperationView {
    fn from(o: Operation) -> Self {
        OperationView {
            id: o.id,
            contract_id: o.contract_id,
            kind: o.kind,
            amount: o.amount.into(),
            lines: o
                .lines
                .into_iter()
                .map(|l| LineView {
                    description: l.description,
                    nature: l.nature,
                    quantity: l.quantity.normalize().to_string(),
                    unit_price: l.unit_price.into(),
                })
                .collect(),
            occurred_on: o.occurred_on,
            invoice_id: o.invoice_id,
        }
    }
}

#[derive(Debug, Serialize)]
struct Accepted {
    operation: OperationView,
    contract: ContractView,
}

fn quantity(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => {
            let text = n.to_string();
            Decimal::from_str(&text)
                .or_else(|_| Decimal::from_scientific(&text))
                .ok()
        }
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

fn check_lines(lines: Vec<LineIn>) -> Result<Vec<OperationLine>, ApiError> {
    let mut fields = Fields::new();
    if lines.is_empty() {
        fields.add("lines", crate::text!("au moins une ligne est requise"));
    }
    let mut checked = Vec::with_capacity(lines.len());
    for (i, line) in lines.into_iter().enumerate() {
        let description = match input::single_line(&line.description, 300) {
            Ok(d) if !d.is_empty() => d,
            Ok(_) => {
                fields.add(
                    format!("lines[{i}].description"),
                    crate::text!("de 1 à {max} caractères", max = 300),
                );
                String::new()
            }
            Err(e) => {
                fields.add(format!("lines[{i}].description"), e.text());
                String::new()
            }
        };
        let quantity = quantity(&line.quantity).filter(|q| *q > Decimal::ZERO);
        if quantity.is_none() {
            fields.add(
                format!("lines[{i}].quantity"),
                crate::text!("un nombre positif, par exemple 2 ou \"1.5\""),
            );
        }
        let unit_price = line.unit_price.check(&format!("lines[{i}].unit_price"), &mut fields);
        if unit_price.is_some_and(|p| p.is_negative()) {
            fields.add(
                format!("lines[{i}].unit_price.minor"),
                crate::text!("ne peut pas être négatif"),
            );
        }
        if let (Some(quantity), Some(unit_price)) = (quantity, unit_price) {
            checked.push(OperationLine {
                description,
                nature: line.nature,
                quantity,
                unit_price,
            });
        }
    }
    fields.finish()?;
    Ok(checked)
}

pub(super) async fn post(
    api: Api,
    idem: Idempotency,
    Path(id): Path<i64>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let request: PostOperation = from_value(body.clone())?;
    let lines = check_lines(request.lines)?;
    let kind = request.kind;
    let occurred_on = request.occurred_on;
    idem.run(&api, &body, |keep| {
        record(api.clone(), id, kind, occurred_on, lines, keep)
    })
    .await
}

async fn record(
    api: Api,
    id: i64,
    kind: OperationKind,
    occurred_on: Option<NaiveDate>,
    lines: Vec<OperationLine>,
    keep: Keep,
) -> Result<Answer, ApiError> {
    let store = &api.state.store;
    let today = today(store).await?;
    let mut tx = store.begin().await?;
    let new = NewOperation {
        kind,
        lines,
        occurred_on: occurred_on.unwrap_or(today),
    };
    // A refusal returns here: the transaction is dropped, nothing is recorded.
    let operation = actions::post_operation(&mut tx, &api.actor, id, new, today).await?;
    let contract = contracts::lock(&mut tx, id).await?;
    let contract = view_in(&mut tx, contract, today).await?;
    let answered = answer(
        StatusCode::CREATED,
        &Accepted {
            operation: operation.into(),
            contract,
        },
    )?;
    keep.answer_in(&mut tx, &answered).await?;
    tx.commit().await?;
    Ok(answered)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::quantity;

    #[test]
    fn quantities_from_numbers_and_strings() {
        assert_eq!(quantity(&json!(2)).unwrap().to_string(), "2");
        assert_eq!(quantity(&json!(1.5)).unwrap().to_string(), "1.5");
        assert_eq!(quantity(&json!("0.25")).unwrap().to_string(), "0.25");
        assert!(quantity(&json!("deux")).is_none());
        assert!(quantity(&json!(null)).is_none());
    }
}
