//! A contract's page: status, SEPA mandate and its validity, ceiling and
//! outstanding balance, operations; the actions suspend / resume / cancel /
//! revoke the mandate, and the form posting an operation. A refused
//! operation shows the rule that failed and records nothing.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

use super::super::billing_input::{self, line_inputs, parse_lines, refused, FieldErrors, LineInput};
use super::super::{Admin, AdminError, Form, Path};
use crate::billing::actions::contracts::{self as actions, Transition};
use crate::billing::contracts::{self, NewOperation, OperationKind, OperationLine};
use crate::billing::customers;
use crate::billing::invoices::{self, InvoiceFilter};
use crate::billing::BillingError;
use crate::text;
use crate::web::{Access, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/contracts/{id}", Access::Operator, show)
        .post("/admin/contracts/{id}/suspend", Access::Operator, suspend)
        .post("/admin/contracts/{id}/resume", Access::Operator, resume)
        .post("/admin/contracts/{id}/cancel", Access::Operator, cancel)
        .post("/admin/contracts/{id}/revoke-mandate", Access::Operator, revoke_mandate)
        .post("/admin/contracts/{id}/operations", Access::Operator, post_operation)
}

/// Rows of the operation form.
const LINE_ROWS: usize = 3;
/// Operations shown, newest first.
const OPERATIONS_SHOWN: usize = 100;

/// What the page shows besides the contract: a refusal, the operation form as typed.
#[derive(Default)]
struct Notice {
    error: Option<String>,
    /// The failed rule's stable code (`ceiling_exceeded`…), kept on the page
    /// for scripts and tests; people read `error`.
    error_code: Option<&'static str>,
    kind: String,
    occurred_on: String,
    lines: Vec<LineInput>,
    errors: FieldErrors,
}

async fn page(admin: &Admin, id: i64, status: StatusCode, notice: Notice) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let contract = contracts::get(store, id).await?;
    let customer = customers::get(store, contract.customer_id).await?;
    let balance = contracts::balance(store, id).await?;
    let today = billing_input::today(store).await?;
    let mandate = match contract.mandate.check(today) {
        Ok(()) => json!({ "valid": true }),
        Err(r) => json!({ "valid": false, "code": r.code(), "message": admin.tr(r.text()) }),
    };
    let mut operations = contracts::list_operations(store, id).await?;
    let operation_count = operations.len();
    operations.reverse();
    operations.truncate(OPERATIONS_SHOWN);
    let operations: Vec<serde_json::Value> = operations.iter().map(operation_row).collect();
    let invoices = invoices::list(
        store,
        &InvoiceFilter {
            contract_id: Some(id),
            limit: 24,
            ..InvoiceFilter::default()
        },
    )
    .await?;
    let lines = if notice.lines.is_empty() {
        line_inputs(&HashMap::new(), LINE_ROWS)
    } else {
        notice.lines
    };
    admin.render_status(
        status,
        "admin/contracts/show.html",
        "contracts",
        context! {
            contract => &contract,
            customer => &customer,
            balance => &balance,
            mandate => mandate,
            iban => billing_input::masked_iban(&contract.mandate.iban),
            operations => &operations,
            operation_count => operation_count,
            invoices => &invoices,
            today => today.format("%Y-%m-%d").to_string(),
            error => notice.error,
            error_code => notice.error_code,
            op_kind => if notice.kind.is_empty() { "purchase".to_string() } else { notice.kind },
            op_occurred_on => if notice.occurred_on.is_empty() { today.format("%Y-%m-%d").to_string() } else { notice.occurred_on },
            lines => lines,
            errors => notice.errors.said(admin.lang()),
        },
    )
}

/// An operation for the page, its quantities written the French way ("3,5").
fn operation_row(o: &contracts::Operation) -> serde_json::Value {
    let mut row = json!(o);
    if let Some(lines) = row.get_mut("lines").and_then(|l| l.as_array_mut()) {
        for (line, typed) in lines.iter_mut().zip(&o.lines) {
            line["quantity"] = json!(quantity_fr(typed.quantity));
        }
    }
    row
}

/// `3.50` as a person writes it in French: `3,5`.
fn quantity_fr(q: rust_decimal::Decimal) -> String {
    q.normalize().to_string().replace('.', ",")
}

async fn show(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    page(&admin, id, StatusCode::OK, Notice::default()).await
}

/// A state change in its transaction with its audit entry; a refusal shows the page with it.
#[tracing::instrument(skip_all)]
async fn transition(admin: Admin, id: i64, to: Transition) -> Result<Response, AdminError> {
    let mut tx = admin.state.store.begin().await?;
    match actions::transition(&mut tx, &admin.actor, id, to).await {
        Ok(_) => {}
        Err(BillingError::Conflict(m)) => {
            tx.rollback().await?;
            let notice = Notice {
                error: Some(admin.tr(m)),
                ..Notice::default()
            };
            return page(&admin, id, StatusCode::CONFLICT, notice).await;
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    let said = match to {
        Transition::Suspend => text!("Contrat n° {id} suspendu", id = id),
        Transition::Resume => text!("Contrat n° {id} réactivé", id = id),
        Transition::Cancel => text!("Contrat n° {id} résilié", id = id),
    };
    Ok(admin.redirect(&format!("/admin/contracts/{id}"), said))
}

async fn suspend(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    transition(admin, id, Transition::Suspend).await
}

async fn resume(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    transition(admin, id, Transition::Resume).await
}

async fn cancel(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    transition(admin, id, Transition::Cancel).await
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    revoked_on: String,
}

#[tracing::instrument(skip_all)]
async fn revoke_mandate(
    admin: Admin,
    Path(id): Path<i64>,
    Form(form): Form<RevokeForm>,
) -> Result<Response, AdminError> {
    let mut errors = FieldErrors::new();
    let Some(on) = billing_input::date(&mut errors, "revoked_on", &form.revoked_on) else {
        let notice = Notice {
            error: Some(admin.tr(text!("Date de révocation invalide"))),
            errors,
            ..Notice::default()
        };
        return page(&admin, id, StatusCode::UNPROCESSABLE_ENTITY, notice).await;
    };
    let mut tx = admin.state.store.begin().await?;
    if let Err(e) = actions::revoke_mandate(&mut tx, &admin.actor, id, on).await {
        tx.rollback().await?;
        let mut errors = FieldErrors::new();
        let message = admin.tr(refused(e, &["revoked_on"], &mut errors)?);
        let notice = Notice {
            error: Some(message),
            errors,
            ..Notice::default()
        };
        return page(&admin, id, StatusCode::UNPROCESSABLE_ENTITY, notice).await;
    }
    tx.commit().await?;
    Ok(admin.redirect(
        &format!("/admin/contracts/{id}"),
        text!("Mandat révoqué au {date}", date = on.format("%d/%m/%Y")),
    ))
}

#[tracing::instrument(skip_all)]
async fn post_operation(
    admin: Admin,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    let contract = contracts::get(&admin.state.store, id).await?;
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let mut notice = Notice {
        kind: field("kind"),
        occurred_on: field("occurred_on"),
        lines: line_inputs(&form, LINE_ROWS),
        ..Notice::default()
    };
    let kind = match notice.kind.trim() {
        "purchase" => Some(OperationKind::Purchase),
        "refund" => Some(OperationKind::Refund),
        _ => {
            notice.errors.add("kind", text!("achat ou remboursement"));
            None
        }
    };
    let today = billing_input::today(&admin.state.store).await?;
    let occurred_on = billing_input::date(&mut notice.errors, "occurred_on", &notice.occurred_on).and_then(|d| {
        let checked = crate::billing::dates::occurred_on(d, today);
        billing_input::bounded(&mut notice.errors, "occurred_on", checked)
    });
    let lines = parse_lines(&notice.lines, contract.ceiling.currency, &mut notice.errors);
    let (Some(kind), Some(occurred_on), true) = (kind, occurred_on, notice.errors.is_empty()) else {
        return page(&admin, id, StatusCode::UNPROCESSABLE_ENTITY, notice).await;
    };
    let new = NewOperation {
        kind,
        lines: lines
            .into_iter()
            .map(|l| OperationLine {
                description: l.description,
                nature: l.nature,
                quantity: l.quantity,
                unit_price: l.unit_price,
            })
            .collect(),
        occurred_on,
    };
    let mut tx = admin.state.store.begin().await?;
    let operation = match actions::post_operation(&mut tx, &admin.actor, id, new, today).await {
        Ok(op) => op,
        Err(e) => {
            tx.rollback().await?;
            if let BillingError::Refused(r) = &e {
                notice.error_code = Some(r.code());
            }
            notice.error = Some(admin.tr(refused(e, &["kind", "occurred_on"], &mut notice.errors)?));
            return page(&admin, id, StatusCode::UNPROCESSABLE_ENTITY, notice).await;
        }
    };
    tx.commit().await?;
    Ok(admin.redirect(
        &format!("/admin/contracts/{id}"),
        text!(
            "Opération n° {id} acceptée : {amount}",
            id = operation.id,
            amount = operation.amount.format_fr()
        ),
    ))
}
