//! Payments: initiated → pending → completed / failed (then refunded or
//! partially refunded). A completed payment settles its invoice, posts to the
//! ledger and writes the livre de recettes, in one transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::catalog::Nature;
use super::dates::{self, ReceiptBounds, ReceiptDate};
use super::error::{invalid, order_state, payment_state, BillingError};
use super::invoices::{self, Invoice};
use super::ledger::{self, accounts, Posting};
use super::revenue_book::{self, NewBookLine};
use super::validate;
use crate::billing::sql::payments as sql;
use crate::money::Money;
use crate::store::{Store, Tx};
use crate::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Card,
    Paypal,
    SepaDebit,
    Transfer,
    Cheque,
    Cash,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 6] = [
        PaymentMethod::Card,
        PaymentMethod::Paypal,
        PaymentMethod::SepaDebit,
        PaymentMethod::Transfer,
        PaymentMethod::Cheque,
        PaymentMethod::Cash,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Card => "card",
            PaymentMethod::Paypal => "paypal",
            PaymentMethod::SepaDebit => "sepa_debit",
            PaymentMethod::Transfer => "transfer",
            PaymentMethod::Cheque => "cheque",
            PaymentMethod::Cash => "cash",
        }
    }

    /// As printed in the livre de recettes.
    pub fn label_fr(self) -> &'static str {
        match self {
            PaymentMethod::Card => "Carte bancaire",
            PaymentMethod::Paypal => "PayPal",
            PaymentMethod::SepaDebit => "Prélèvement SEPA",
            PaymentMethod::Transfer => "Virement",
            PaymentMethod::Cheque => "Chèque",
            PaymentMethod::Cash => "Espèces",
        }
    }

    pub fn parse(s: &str) -> Result<PaymentMethod, BillingError> {
        PaymentMethod::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| invalid("method", text!("« {value} » n'est pas un moyen de paiement", value = s)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Initiated,
    Pending,
    Completed,
    Failed,
    Refunded,
    PartiallyRefunded,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Initiated => "initiated",
            PaymentStatus::Pending => "pending",
            PaymentStatus::Completed => "completed",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
        }
    }

    pub const ALL: [PaymentStatus; 6] = [
        PaymentStatus::Initiated,
        PaymentStatus::Pending,
        PaymentStatus::Completed,
        PaymentStatus::Failed,
        PaymentStatus::Refunded,
        PaymentStatus::PartiallyRefunded,
    ];

    pub fn parse(s: &str) -> Result<PaymentStatus, BillingError> {
        PaymentStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| invalid("status", text!("« {value} » n'est pas un état de paiement", value = s)))
    }

    /// Money was received (whether or not some went back since).
    pub fn received(self) -> bool {
        matches!(
            self,
            PaymentStatus::Completed | PaymentStatus::Refunded | PaymentStatus::PartiallyRefunded
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payment {
    pub id: i64,
    pub customer_id: i64,
    pub invoice_id: Option<i64>,
    pub order_id: Option<i64>,
    /// `stripe`, `paypal`, `manual`, `simulated`.
    pub provider: String,
    pub provider_reference: Option<String>,
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    pub amount: Money,
    pub fee: Money,
    pub refunded: Money,
    pub idempotency_key: String,
    pub received_on: Option<NaiveDate>,
    pub failure_reason: Option<String>,
    /// Where the payer approves the payment (PayPal), while pending.
    pub approval_url: Option<String>,
    /// When the provider was last asked to charge it (while initiated): from
    /// then on it may have acted, even if its answer was lost.
    pub provider_called_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewPayment {
    pub customer_id: i64,
    pub invoice_id: Option<i64>,
    pub order_id: Option<i64>,
    pub provider: String,
    pub method: PaymentMethod,
    pub amount: Money,
    /// Stays the same across retries: a second initiation returns the first payment.
    pub idempotency_key: String,
}

/// Records the attempt (phase one of three: record, call the provider, record the result).
/// Idempotent: the same key returns the payment already recorded for the same
/// invoice or order, customer and amount; for anything else it is a conflict.
pub async fn initiate(tx: &mut Tx, new: NewPayment) -> Result<Payment, BillingError> {
    if new.amount.minor <= 0 {
        return Err(invalid("amount", text!("doit être positif")));
    }
    let key = validate::text("idempotency_key", &new.idempotency_key, 200)?;
    let provider = validate::text("provider", &new.provider, 40)?;
    if new.invoice_id.is_none() && new.order_id.is_none() {
        return Err(invalid(
            "invoice_id",
            text!("un paiement règle une facture ou une commande"),
        ));
    }
    if let Some(existing) = sql::by_key(tx, &key).await? {
        if existing.amount != new.amount
            || existing.customer_id != new.customer_id
            || existing.order_id != new.order_id
            // An order's payment gets its invoice once paid.
            || (new.invoice_id.is_some() && existing.invoice_id != new.invoice_id)
        {
            return Err(BillingError::Conflict(text!(
                "la clé d'idempotence « {key} » a servi pour un autre paiement",
                key = key
            )));
        }
        return Ok(existing);
    }
    if let Some(invoice_id) = new.invoice_id {
        let invoice = invoices::get_in(tx, invoice_id).await?;
        if invoice.customer_id != new.customer_id || invoice.total.currency != new.amount.currency {
            return Err(invalid(
                "invoice_id",
                text!("la facture est celle d'un autre client ou dans une autre devise"),
            ));
        }
        if new.amount.minor > invoice.balance_due().minor {
            return Err(invalid(
                "amount",
                text!(
                    "{amount} dépasse ce qui reste dû sur {invoice} ({left})",
                    amount = new.amount.format_fr(),
                    invoice = invoice.reference.clone().unwrap_or_else(|| format!("#{}", invoice.id)),
                    left = invoice.balance_due().format_fr()
                ),
            ));
        }
    }
    if let Some(order_id) = new.order_id {
        // Completing marks the order paid and invoices its customer: the payment must be
        // that customer's, for the total the server computed, while the order is still open.
        let order = super::orders::lock(tx, order_id).await?;
        if order.customer_id != new.customer_id {
            return Err(invalid("order_id", text!("la commande est celle d'un autre client")));
        }
        if order.status != super::orders::OrderStatus::Pending {
            return Err(BillingError::Conflict(
                text!("la commande {order} est {state}", order = order_id)
                    .with("state", order_state(order.status.as_str())),
            ));
        }
        if order.total != new.amount {
            return Err(invalid(
                "amount",
                text!(
                    "doit être le total de la commande, {total}",
                    total = order.total.format_fr()
                ),
            ));
        }
    }
    let new = NewPayment {
        idempotency_key: key,
        provider,
        ..new
    };
    Ok(sql::insert(tx, &new).await?)
}

/// Declares the date the money of manual payment `id` (still initiated) was
/// received: its charge job completes it on that date rather than the day it
/// runs. A date [`dates::RECEIPT_CONFIRM_DAYS`] or more back needs
/// `confirmed` (the caller marks it: see [`ReceiptDate::backdated`]).
pub async fn declare_received_on(
    tx: &mut Tx,
    id: i64,
    on: NaiveDate,
    confirmed: bool,
) -> Result<(Payment, ReceiptDate), BillingError> {
    let p = lock(tx, id).await?;
    if p.provider != "manual" || p.status != PaymentStatus::Initiated {
        return Err(BillingError::Conflict(
            text!(
                "le paiement {payment} ({provider}) est {state} : seul un paiement manuel initié prend une date déclarée",
                payment = id,
                provider = p.provider
            )
            .with("state", payment_state(p.status.as_str())),
        ));
    }
    let bounds = receipt_bounds(tx, &p).await?;
    let date = dates::confirmed_received_on(on, &bounds, confirmed)?;
    sql::set_received_on(tx, id, on).await?;
    Ok((lock(tx, id).await?, date))
}

/// What bounds the date of a receipt of `p`, as `tx` sees them.
async fn receipt_bounds(tx: &mut Tx, p: &Payment) -> Result<ReceiptBounds, BillingError> {
    let issued_on = match p.invoice_id {
        Some(invoice_id) => invoices::get_in(tx, invoice_id).await?.issue_date,
        None => None,
    };
    ReceiptBounds::read(tx, issued_on).await
}

/// A date of receipt given by a person (a payment recorded by hand, a bank
/// statement's row) within the bounds no one lifts: not ahead of today, not
/// in a closed period, not before the invoice was issued. How far back it
/// is was settled when it was declared (or is the bank's word).
async fn check_received_on(tx: &mut Tx, p: &Payment, on: NaiveDate) -> Result<ReceiptDate, BillingError> {
    let bounds = receipt_bounds(tx, p).await?;
    dates::received_on(on, &bounds)
}

pub async fn get(store: &Store, id: i64) -> Result<Payment, BillingError> {
    sql::get(store, id)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("payment {id}")))
}

pub async fn lock(tx: &mut Tx, id: i64) -> Result<Payment, BillingError> {
    sql::lock(tx, id)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("payment {id}")))
}

pub async fn by_provider_reference(
    store: &Store,
    provider: &str,
    reference: &str,
) -> Result<Option<Payment>, BillingError> {
    Ok(sql::by_provider_reference(store, provider, reference).await?)
}

/// The payer must approve the payment at `url` (PayPal checkout).
pub async fn await_approval(
    tx: &mut Tx,
    id: i64,
    provider_reference: &str,
    url: &str,
) -> Result<Payment, BillingError> {
    let p = mark_pending(tx, id, provider_reference).await?;
    sql::set_approval_url(tx, id, url).await?;
    Ok(Payment {
        approval_url: Some(url.to_string()),
        ..p
    })
}

/// Records that the provider is being asked to charge payment `id` (phase
/// two begins): committed before the call, so that a lost answer is looked
/// for by the reconciliation rather than forgotten.
pub async fn mark_provider_called(store: &Store, id: i64) -> Result<(), BillingError> {
    Ok(sql::set_provider_called(store, id).await?)
}

/// The provider accepted the payment and will confirm it later.
pub async fn mark_pending(tx: &mut Tx, id: i64, provider_reference: &str) -> Result<Payment, BillingError> {
    let p = lock(tx, id).await?;
    match p.status {
        PaymentStatus::Initiated | PaymentStatus::Pending => {
            sql::set_pending(tx, id, provider_reference).await?;
            lock(tx, id).await
        }
        _ => Ok(p),
    }
}

pub async fn fail(tx: &mut Tx, id: i64, reason: &str) -> Result<Payment, BillingError> {
    let p = lock(tx, id).await?;
    match p.status {
        PaymentStatus::Initiated | PaymentStatus::Pending => {
            sql::set_failed(tx, id, reason).await?;
            lock(tx, id).await
        }
        PaymentStatus::Failed => Ok(p),
        other => Err(BillingError::Conflict(
            text!(
                "le paiement {payment} est {state} et ne peut plus échouer",
                payment = id
            )
            .with("state", payment_state(other.as_str())),
        )),
    }
}

/// What the provider says about a completed payment.
#[derive(Debug, Clone)]
pub struct Completion {
    pub received_on: NaiveDate,
    pub fee: Money,
    pub provider_reference: Option<String>,
}

/// Where received money sits: the provider's balance, the bank or the till.
pub fn holding_account(provider: &str, method: PaymentMethod) -> String {
    match (provider, method) {
        ("manual", PaymentMethod::Cash) => accounts::CASH.to_string(),
        ("manual", _) => accounts::BANK.to_string(),
        (p, _) => accounts::clearing(p),
    }
}

/// Records that the money was received: settles the invoice (issuing the
/// order's invoice first if needed), posts to the ledger and appends the
/// livre de recettes. Completing twice changes nothing.
#[tracing::instrument(skip(tx, done))]
pub async fn complete(tx: &mut Tx, id: i64, done: Completion) -> Result<Payment, BillingError> {
    let p = lock(tx, id).await?;
    if p.status.received() {
        return Ok(p);
    }
    if p.status == PaymentStatus::Failed {
        return Err(BillingError::Conflict(text!(
            "le paiement {payment} a échoué et ne peut plus être encaissé",
            payment = id
        )));
    }
    if done.fee.currency != p.amount.currency || done.fee.is_negative() || done.fee.minor > p.amount.minor {
        return Err(invalid(
            "fee",
            text!("doit être dans la devise du paiement, entre zéro et le montant"),
        ));
    }
    if p.provider == "manual" {
        check_received_on(tx, &p, done.received_on).await?;
    }
    let invoice_id = match (p.invoice_id, p.order_id) {
        (Some(i), _) => i,
        (None, Some(order_id)) => super::orders::invoice(tx, order_id, done.received_on).await?.id,
        (None, None) => return Err(invalid("invoice_id", text!("le paiement ne règle rien"))),
    };
    let invoice = invoices::apply_payment(tx, invoice_id, p.amount).await?;
    sql::set_completed(
        tx,
        id,
        invoice_id,
        done.received_on,
        done.fee.minor,
        done.provider_reference.as_deref(),
    )
    .await?;
    if let Some(order_id) = p.order_id {
        super::orders::mark_paid(tx, order_id).await?;
    }

    let holding = holding_account(&p.provider, p.method);
    let reference = format!("payment {id}");
    let receivable = accounts::receivable(p.customer_id);
    ledger::post(
        tx,
        "payment_received",
        &reference,
        &[
            Posting::debit(holding.clone(), p.amount),
            Posting::credit(receivable, p.amount),
        ],
    )
    .await?;
    ledger::post(
        tx,
        "provider_fee",
        &reference,
        &[
            Posting::debit(accounts::PROVIDER_FEES, done.fee),
            Posting::credit(holding, done.fee),
        ],
    )
    .await?;

    let client_name = invoice
        .snapshot
        .as_ref()
        .map(|s| s.customer.name.clone())
        .unwrap_or_default();
    for (nature, amount) in split_by_nature(&invoice, p.amount) {
        revenue_book::append(
            tx,
            NewBookLine {
                received_on: done.received_on,
                customer_id: p.customer_id,
                client_name: client_name.clone(),
                nature,
                amount,
                method: p.method.as_str().to_string(),
                invoice_reference: invoice.reference.clone().unwrap_or_default(),
                credit_note_reference: None,
                payment_id: Some(id),
                refund_id: None,
            },
        )
        .await?;
    }
    lock(tx, id).await
}

/// Splits `amount` over the natures of `document` in proportion to their
/// totals, exactly (largest remainder). Natures with a non-positive total get nothing.
pub fn split_by_nature(document: &Invoice, amount: Money) -> Vec<(Nature, Money)> {
    let parts: Vec<(Nature, i64)> = document
        .totals_by_nature()
        .into_iter()
        .map(|(n, m)| (n, m.minor.max(0)))
        .filter(|(_, m)| *m > 0)
        .collect();
    let whole: i64 = parts.iter().map(|(_, m)| m).sum();
    if whole == 0 {
        return vec![(Nature::Services, amount)];
    }
    let mut shares: Vec<(usize, i64, i64)> = parts
        .iter()
        .enumerate()
        .map(|(i, (_, m))| {
            let exact = i128::from(amount.minor) * i128::from(*m);
            (
                i,
                (exact / i128::from(whole)) as i64,
                (exact % i128::from(whole)) as i64,
            )
        })
        .collect();
    let mut left = amount.minor - shares.iter().map(|s| s.1).sum::<i64>();
    shares.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    for s in shares.iter_mut() {
        if left == 0 {
            break;
        }
        s.1 += left.signum();
        left -= left.signum();
    }
    shares.sort_by_key(|s| s.0);
    shares
        .into_iter()
        .filter(|s| s.1 != 0)
        .map(|(i, minor, _)| (parts[i].0, Money::new(minor, amount.currency)))
        .collect()
}

/// Filters for listing payments; newest first.
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub customer_id: Option<i64>,
    pub status: Option<PaymentStatus>,
    /// `stripe`, `paypal`, `manual`, `simulated`.
    pub provider: Option<String>,
    pub invoice_id: Option<i64>,
    pub order_id: Option<i64>,
    pub limit: i64,
    pub before_id: Option<i64>,
    /// The order (newest first by default); any other skips `offset` rows
    /// rather than paging by `before_id`.
    pub sort: PaymentSort,
    pub descending: bool,
    pub offset: i64,
}

/// The columns the admin's payment list sorts by: a closed list, each with
/// its own SQL (nothing of the query string reaches the query).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PaymentSort {
    /// The last recorded first (the lists' and the API's order).
    #[default]
    Newest,
    /// When it was recorded.
    Date,
    Amount,
    /// The customer's name, accents and case aside.
    Customer,
    /// The invoice's reference; payments without one last.
    Invoice,
    /// By the payment's course: initiated, pending, received, refunded, failed.
    State,
}

impl PaymentSort {
    pub const ALL: [PaymentSort; 5] = [
        PaymentSort::Date,
        PaymentSort::Amount,
        PaymentSort::Customer,
        PaymentSort::Invoice,
        PaymentSort::State,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentSort::Newest => "",
            PaymentSort::Date => "date",
            PaymentSort::Amount => "amount",
            PaymentSort::Customer => "customer",
            PaymentSort::Invoice => "invoice",
            PaymentSort::State => "state",
        }
    }

    pub fn parse(s: &str) -> Option<PaymentSort> {
        PaymentSort::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

pub async fn list(store: &Store, filter: &PaymentFilter) -> Result<Vec<Payment>, BillingError> {
    Ok(sql::list(store, filter).await?)
}

/// Every payment of an order, oldest first.
pub async fn for_order(store: &Store, order_id: i64) -> Result<Vec<Payment>, BillingError> {
    Ok(sql::for_order(store, order_id).await?)
}

/// Payments still initiated or pending, created before `before` (for reconciliation).
pub async fn stuck(store: &Store, before: DateTime<Utc>) -> Result<Vec<Payment>, BillingError> {
    Ok(sql::stuck(store, before).await?)
}
