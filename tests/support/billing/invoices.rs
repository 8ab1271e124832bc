//! Invoices: lines, drafts, issuance and credit notes, each in a transaction
//! of its own.

use chrono::NaiveDate;
use comptoir::billing::catalog::Nature;
use comptoir::billing::invoices::{self, Invoice, NewInvoice, NewLine};
use comptoir::billing::BillingError;
use comptoir::money::{Currency, Money};
use comptoir::store::Store;
use rust_decimal::Decimal;

use super::eur;

pub fn line(description: &str, nature: Nature, quantity: Decimal, unit: Money) -> NewLine {
    NewLine {
        description: description.into(),
        nature,
        quantity,
        unit: None,
        unit_price: unit,
    }
}

pub fn invoice_input(customer_id: i64, lines: Vec<NewLine>) -> NewInvoice {
    let currency = lines.first().map(|l| l.unit_price.currency).unwrap_or(Currency::EUR);
    NewInvoice::of_lines(customer_id, currency, lines)
}

pub async fn draft(store: &Store, customer_id: i64, lines: Vec<NewLine>) -> Invoice {
    let mut tx = store.begin().await.expect("begin");
    let inv = invoices::create_draft(&mut tx, invoice_input(customer_id, lines))
        .await
        .expect("valid draft");
    tx.commit().await.expect("commit");
    inv
}

/// A one-line services draft of `minor` cents.
pub async fn simple_draft(store: &Store, customer_id: i64, minor: i64) -> Invoice {
    draft(
        store,
        customer_id,
        vec![line(
            "Prestation de conseil",
            Nature::Services,
            Decimal::ONE,
            eur(minor),
        )],
    )
    .await
}

pub async fn issue(store: &Store, id: i64, on: NaiveDate) -> Invoice {
    let mut tx = store.begin().await.expect("begin");
    let inv = invoices::issue(&mut tx, id, on).await.expect("issue");
    tx.commit().await.expect("commit");
    inv
}

/// Issues a credit note in its own transaction, committed only when it succeeds.
pub async fn credit(
    store: &Store,
    invoice_id: i64,
    amount: Option<Money>,
    on: NaiveDate,
) -> Result<Invoice, BillingError> {
    use comptoir::billing::credit_notes::{self, CreditRequest};
    let mut tx = store.begin().await.expect("begin");
    let note = credit_notes::issue(
        &mut tx,
        invoice_id,
        CreditRequest {
            nature: None,
            amount,
            reason: "Geste commercial".into(),
            issue_date: on,
        },
    )
    .await?;
    tx.commit().await.expect("commit");
    Ok(note)
}

/// A one-line services invoice of `minor` cents to `customer_id`, issued on `on`.
pub async fn issued(store: &Store, customer_id: i64, minor: i64, on: NaiveDate) -> Invoice {
    let draft = simple_draft(store, customer_id, minor).await;
    issue(store, draft.id, on).await
}
