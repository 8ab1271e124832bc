//! Refunds: full or partial, never more than what was paid and not yet
//! refunded. A refund is reserved first (so two concurrent refunds cannot
//! exceed the payment: the database checks it too), then, once the provider
//! has paid it back, completed with a credit note, a negative livre de
//! recettes line and ledger entries, all in one transaction.

use chrono::NaiveDate;
use serde::Serialize;

use super::catalog::Nature;
use super::error::{invalid, nature_words, payment_state, BillingError};
use super::ledger::{self, accounts, Posting};
use super::payments::{self, holding_account, split_by_nature, PaymentStatus};
use super::revenue_book::{self, NewBookLine};
use super::{credit_notes, validate};
use crate::billing::sql::payments as sql;
use crate::money::Money;
use crate::store::Tx;
use crate::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RefundStatus {
    Pending,
    Completed,
    Failed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Completed => "completed",
            RefundStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refund {
    pub id: i64,
    pub payment_id: i64,
    pub amount: Money,
    pub reason: String,
    pub status: RefundStatus,
    pub credit_note_id: Option<i64>,
    pub provider_reference: Option<String>,
    pub idempotency_key: String,
    pub refunded_on: Option<NaiveDate>,
    /// What is paid back, when the operator said (else split by nature).
    pub nature: Option<Nature>,
}

/// Reserves `amount` of payment `payment_id` for a refund. Idempotent by key.
pub async fn begin(
    tx: &mut Tx,
    payment_id: i64,
    amount: Money,
    reason: &str,
    key: &str,
) -> Result<Refund, BillingError> {
    begin_for(tx, payment_id, amount, None, reason, key).await
}

/// As [`begin`], for one nature of the invoice (a cancelled service, returned goods).
#[tracing::instrument(skip(tx, reason))]
pub async fn begin_for(
    tx: &mut Tx,
    payment_id: i64,
    amount: Money,
    nature: Option<Nature>,
    reason: &str,
    key: &str,
) -> Result<Refund, BillingError> {
    let reason = validate::text("reason", reason, 300)?;
    let key = validate::text("idempotency_key", key, 200)?;
    if let Some(existing) = sql::refund_by_key(tx, &key).await? {
        if existing.payment_id != payment_id || existing.amount != amount {
            return Err(BillingError::Conflict(text!(
                "la clé d'idempotence « {key} » a servi pour un autre remboursement",
                key = key
            )));
        }
        return Ok(existing);
    }
    let payment = payments::lock(tx, payment_id).await?;
    if !payment.status.received() {
        return Err(BillingError::Conflict(
            text!(
                "le paiement {payment} est {state} : seul un paiement reçu peut être remboursé",
                payment = payment_id
            )
            .with("state", payment_state(payment.status.as_str())),
        ));
    }
    if amount.currency != payment.amount.currency {
        return Err(invalid(
            "amount",
            text!("la devise doit être {currency}", currency = payment.amount.currency),
        ));
    }
    if amount.minor <= 0 {
        return Err(invalid("amount", text!("doit être positif")));
    }
    let refundable = payment.amount.minor - payment.refunded.minor;
    if amount.minor > refundable {
        return Err(invalid(
            "amount",
            text!(
                "{amount} dépasse ce qui reste à rembourser sur le paiement {payment} ({left})",
                amount = amount.format_fr(),
                payment = payment_id,
                left = Money::new(refundable, amount.currency).format_fr()
            ),
        ));
    }
    // The credit note that completes the refund must be possible: check now,
    // before the provider pays anything back.
    if let Some(invoice_id) = payment.invoice_id {
        creditable(tx, invoice_id, amount, nature).await?;
    }
    sql::set_refunded(tx, payment_id, payment.refunded.minor + amount.minor, payment.status).await?;
    Ok(sql::insert_refund(tx, payment_id, amount, nature, &reason, &key).await?)
}

/// The provider refused or failed: the reservation is released, nothing else happened.
pub async fn fail(tx: &mut Tx, refund_id: i64, why: &str) -> Result<Refund, BillingError> {
    let refund = lock(tx, refund_id).await?;
    if refund.status != RefundStatus::Pending {
        return Ok(refund);
    }
    let payment = payments::lock(tx, refund.payment_id).await?;
    sql::set_refunded(
        tx,
        payment.id,
        payment.refunded.minor - refund.amount.minor,
        payment.status,
    )
    .await?;
    sql::set_refund_failed(tx, refund_id, why).await?;
    lock(tx, refund_id).await
}

/// The money went back: credit note, negative livre de recettes line(s),
/// ledger entries, payment status. Completing twice changes nothing.
#[tracing::instrument(skip(tx))]
pub async fn complete(
    tx: &mut Tx,
    refund_id: i64,
    refunded_on: NaiveDate,
    provider_reference: Option<&str>,
) -> Result<Refund, BillingError> {
    let refund = lock(tx, refund_id).await?;
    match refund.status {
        RefundStatus::Completed => return Ok(refund),
        RefundStatus::Failed => {
            return Err(BillingError::Conflict(text!(
                "le remboursement {refund} a échoué",
                refund = refund_id
            )))
        }
        RefundStatus::Pending => {}
    }
    let payment = payments::lock(tx, refund.payment_id).await?;
    let invoice_id = payment.invoice_id.ok_or_else(|| {
        BillingError::Conflict(text!(
            "le paiement {payment} n'a pas de facture à créditer",
            payment = payment.id
        ))
    })?;
    let note = credit_notes::issue(
        tx,
        invoice_id,
        credit_notes::CreditRequest {
            amount: Some(refund.amount),
            reason: refund.reason.clone(),
            issue_date: refunded_on,
            nature: refund.nature,
        },
    )
    .await?;
    let original = super::invoices::get_in(tx, invoice_id).await?;
    let client_name = original
        .snapshot
        .as_ref()
        .map(|s| s.customer.name.clone())
        .unwrap_or_default();
    for (nature, amount) in split_by_nature(&note, refund.amount) {
        revenue_book::append(
            tx,
            NewBookLine {
                received_on: refunded_on,
                customer_id: payment.customer_id,
                client_name: client_name.clone(),
                nature,
                amount: amount.negate(),
                method: payment.method.as_str().to_string(),
                invoice_reference: original.reference.clone().unwrap_or_default(),
                credit_note_reference: note.reference.clone(),
                payment_id: Some(payment.id),
                refund_id: Some(refund_id),
            },
        )
        .await?;
    }
    ledger::post(
        tx,
        "refund",
        &format!("refund {refund_id}"),
        &[
            Posting::debit(accounts::receivable(payment.customer_id), refund.amount),
            Posting::credit(holding_account(&payment.provider, payment.method), refund.amount),
        ],
    )
    .await?;
    let status = if payment.refunded.minor >= payment.amount.minor {
        PaymentStatus::Refunded
    } else {
        PaymentStatus::PartiallyRefunded
    };
    sql::set_refunded(tx, payment.id, payment.refunded.minor, status).await?;
    sql::set_refund_completed(tx, refund_id, note.id, refunded_on, provider_reference).await?;
    lock(tx, refund_id).await
}

/// Begin and complete at once, for refunds made by hand (cash, transfer).
pub async fn refund_now(
    tx: &mut Tx,
    payment_id: i64,
    amount: Money,
    reason: &str,
    key: &str,
    refunded_on: NaiveDate,
) -> Result<Refund, BillingError> {
    let refund = begin(tx, payment_id, amount, reason, key).await?;
    complete(tx, refund.id, refunded_on, None).await
}

/// The refund asked under `key`, if any.
pub async fn by_key(tx: &mut Tx, key: &str) -> Result<Option<Refund>, BillingError> {
    Ok(sql::refund_by_key(tx, key).await?)
}

pub async fn lock(tx: &mut Tx, id: i64) -> Result<Refund, BillingError> {
    sql::lock_refund(tx, id)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("refund {id}")))
}

pub async fn for_payment(store: &crate::store::Store, payment_id: i64) -> Result<Vec<Refund>, BillingError> {
    Ok(sql::refunds_for_payment(store, payment_id).await?)
}

/// The completed refund that issued credit note `credit_note_id`: a credit
/// note made by a refund says when and how the money went back.
pub async fn of_credit_note(store: &crate::store::Store, credit_note_id: i64) -> Result<Option<Refund>, BillingError> {
    Ok(sql::refund_of_credit_note(store, credit_note_id).await?)
}

/// Refuses a refund that its credit note could not carry: more than what
/// remains creditable on the invoice (overall, and in `nature` when given),
/// net of refunds still pending.
async fn creditable(tx: &mut Tx, invoice_id: i64, amount: Money, nature: Option<Nature>) -> Result<(), BillingError> {
    let invoice = super::invoices::get_in(tx, invoice_id).await?;
    let pending = sql::pending_refunds(tx, invoice_id).await?;
    let credited_by_nature = crate::billing::sql::invoices::credited_by_nature(tx, invoice_id).await?;
    let pending_total: i64 = pending.iter().map(|(_, m)| m).sum();
    let left = invoice.total.minor - invoice.credited.minor - pending_total;
    let left_in = |n: Nature| -> i64 {
        let billed = invoice
            .totals_by_nature()
            .into_iter()
            .find(|(k, _)| *k == n)
            .map_or(0, |(_, m)| m.minor);
        let credited = credited_by_nature.iter().find(|(k, _)| *k == n).map_or(0, |(_, c)| *c);
        let pending_n: i64 = pending.iter().filter(|(k, _)| *k == Some(n)).map(|(_, m)| m).sum();
        billed - credited - pending_n
    };
    let limit = match nature {
        Some(n) => left.min(left_in(n)),
        None => left,
    };
    if amount.minor > limit {
        let reference = invoice.reference.clone().unwrap_or_else(|| format!("#{}", invoice.id));
        let left = Money::new(limit.max(0), amount.currency).format_fr();
        let amount = amount.format_fr();
        return Err(invalid(
            "amount",
            match nature {
                Some(n) => text!(
                    "{amount} dépasse ce qui reste à créditer en {nature} sur {invoice} ({left})",
                    amount = amount,
                    invoice = reference,
                    left = left
                )
                .with("nature", nature_words(n)),
                None => text!(
                    "{amount} dépasse ce qui reste à créditer sur {invoice} ({left})",
                    amount = amount,
                    invoice = reference,
                    left = left
                ),
            },
        ));
    }
    Ok(())
}
