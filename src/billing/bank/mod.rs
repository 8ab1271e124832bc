//! Bank statements: camt.053 read as a stream ([`camt`]), the tolerant
//! matching of credits with issued invoices ([`matcher`]), and the credits
//! that wait for the operator with what they decided: paid one invoice or
//! several, not a sale, ignored. Each decision is one function taking the
//! transaction and the actor, doing the fact and its audit entry; the admin
//! calls them.

pub mod camt;
pub mod matcher;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Actor, Record};
use crate::billing::actions::payments::{record_manual, ManualPayment, Recorded};
use crate::billing::payments::PaymentMethod;
use crate::billing::sql::bank as sql;
use crate::billing::BillingError;
use crate::money::Money;
use crate::store::{Store, Tx};
use crate::text;
use matcher::{Candidate, Credit, OpenInvoice};

/// Where an entry was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Camt053,
    Csv,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Camt053 => "camt053",
            Source::Csv => "csv",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        [Source::Camt053, Source::Csv].into_iter().find(|x| x.as_str() == s)
    }
}

/// A credit received, or a reversal (the bank taking a credit back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    Credit,
    Reversal,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Credit => "credit",
            EntryKind::Reversal => "reversal",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        [EntryKind::Credit, EntryKind::Reversal]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// What became of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// The operator decides.
    Waiting,
    /// A unique exact match, paid when imported.
    Matched,
    /// The operator paid one invoice or several with it.
    Confirmed,
    /// Not a sale: a loan, a supplier's refund, money moved between accounts.
    NotSale,
    Ignored,
}

impl EntryStatus {
    pub const ALL: [EntryStatus; 5] = [
        EntryStatus::Waiting,
        EntryStatus::Matched,
        EntryStatus::Confirmed,
        EntryStatus::NotSale,
        EntryStatus::Ignored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Waiting => "waiting",
            EntryStatus::Matched => "matched",
            EntryStatus::Confirmed => "confirmed",
            EntryStatus::NotSale => "not_sale",
            EntryStatus::Ignored => "ignored",
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            EntryStatus::Waiting => "À rapprocher",
            EntryStatus::Matched => "Rapproché automatiquement",
            EntryStatus::Confirmed => "Rapproché",
            EntryStatus::NotSale => "Hors ventes",
            EntryStatus::Ignored => "Ignoré",
        }
    }

    /// The state in words, lower case, as a sentence says it.
    pub fn said(self) -> crate::i18n::Text {
        match self {
            EntryStatus::Waiting => text!("à rapprocher"),
            EntryStatus::Matched => text!("rapprochée automatiquement"),
            EntryStatus::Confirmed => text!("rapprochée"),
            EntryStatus::NotSale => text!("hors ventes"),
            EntryStatus::Ignored => text!("ignorée"),
        }
    }

    pub fn parse(s: &str) -> Option<EntryStatus> {
        EntryStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A bank entry as kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BankEntry {
    pub id: i64,
    pub entry_key: String,
    pub import_id: i64,
    pub line: i64,
    pub source: Source,
    pub kind: EntryKind,
    pub account: Option<String>,
    pub booking_date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    pub amount: Money,
    pub payer_name: Option<String>,
    pub payer_iban: Option<String>,
    pub remittance: String,
    pub creditor_reference: Option<String>,
    pub bank_reference: Option<String>,
    pub method: PaymentMethod,
    pub status: EntryStatus,
    pub waiting_reason: Option<String>,
    /// An overpayment's part not allocated to an invoice (to pay back).
    pub excess: Money,
    pub note: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl BankEntry {
    /// What the matcher reads of it.
    pub fn credit(&self) -> Credit<'_> {
        credit_of(
            self.source,
            self.amount,
            self.booking_date,
            self.payer_name.as_deref(),
            &self.remittance,
        )
    }
}

/// What the matcher reads of an entry. A bank's CSV has no payer column, but
/// its label names the payer (`VIR SEPA ATELIER DUPRE PRESTATION MARS`): the
/// label stands for the payer's name there (every word of the customer's
/// name in it is a match; a camt.053 names the debtor itself).
fn credit_of<'a>(
    source: Source,
    amount: Money,
    booked_on: NaiveDate,
    payer: Option<&'a str>,
    remittance: &'a str,
) -> Credit<'a> {
    Credit {
        amount,
        booked_on,
        payer: payer.or(match source {
            Source::Csv => Some(remittance),
            Source::Camt053 => None,
        }),
        text: remittance,
    }
}

impl NewEntry {
    /// What the matcher reads of it.
    pub fn credit(&self) -> Credit<'_> {
        credit_of(
            self.source,
            self.amount,
            self.booking_date,
            self.payer_name.as_deref(),
            &self.remittance,
        )
    }
}

/// An entry to keep, as read from a statement.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub entry_key: String,
    pub import_id: i64,
    pub line: i64,
    pub source: Source,
    pub kind: EntryKind,
    pub account: Option<String>,
    pub booking_date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    pub amount: Money,
    pub payer_name: Option<String>,
    pub payer_iban: Option<String>,
    /// The remittance text, with the structured reference appended.
    pub remittance: String,
    pub creditor_reference: Option<String>,
    pub bank_reference: Option<String>,
    pub method: PaymentMethod,
    pub status: EntryStatus,
    pub waiting_reason: Option<String>,
}

/// A payment a credit became.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryPayment {
    pub payment_id: i64,
    pub invoice_id: Option<i64>,
    pub invoice_reference: Option<String>,
    pub amount: Money,
}

/// Issued invoices with something owed, and their customers' names.
pub async fn open_invoices(store: &Store) -> Result<Vec<OpenInvoice>, BillingError> {
    Ok(sql::open_invoices(store).await?)
}

pub async fn get(store: &Store, id: i64) -> Result<BankEntry, BillingError> {
    sql::get(store, id)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("écriture bancaire {id}")))
}

/// Entries in `status` (all if `None`), latest booking first.
pub async fn list(store: &Store, status: Option<EntryStatus>, limit: i64) -> Result<Vec<BankEntry>, BillingError> {
    Ok(sql::list(store, status, limit).await?)
}

/// How many entries wait for the operator.
pub async fn waiting_count(store: &Store) -> Result<i64, BillingError> {
    Ok(sql::waiting_count(store).await?)
}

pub async fn payments_of(store: &Store, entry_id: i64) -> Result<Vec<EntryPayment>, BillingError> {
    Ok(sql::payments_of(store, entry_id).await?)
}

/// The latest `limit` entries decided (matched when imported, or by the
/// operator), latest booking first, each with the payments it became.
pub async fn decided(store: &Store, limit: i64) -> Result<Vec<(BankEntry, Vec<EntryPayment>)>, BillingError> {
    let entries = sql::decided(store, limit).await?;
    let mut payments = sql::payments_of_decided(store, limit).await?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let mine = payments.remove(&e.id).unwrap_or_default();
            (e, mine)
        })
        .collect())
}

/// The candidates of each waiting credit, ranked against the invoices open now.
pub fn candidates(entry: &BankEntry, open: &[OpenInvoice]) -> Vec<Candidate> {
    match entry.kind {
        EntryKind::Credit => matcher::rank(&entry.credit(), open),
        EntryKind::Reversal => Vec::new(),
    }
}

/// One part of a credit paid to one invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocation {
    pub invoice_id: i64,
    pub amount: Money,
}

async fn waiting_entry(tx: &mut Tx, id: i64) -> Result<BankEntry, BillingError> {
    let entry = sql::lock(tx, id)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("écriture bancaire {id}")))?;
    if entry.status != EntryStatus::Waiting {
        return Err(BillingError::Conflict(
            text!("cette écriture est déjà traitée ({state})").with("state", entry.status.said()),
        ));
    }
    Ok(entry)
}

/// Pays invoices with waiting credit `id`: one allocation confirms a
/// candidate, several split it. The allocations may sum to less than the
/// credit (an overpayment: the rest is kept as an excess to pay back), never
/// more; each is recorded as a manual payment by transfer received on the
/// booking date, the way the rest of the billing records one (its charge
/// job completes it into the livre de recettes on that date).
pub async fn confirm(tx: &mut Tx, by: &Actor, id: i64, allocations: &[Allocation]) -> Result<BankEntry, BillingError> {
    let entry = waiting_entry(tx, id).await?;
    if entry.kind != EntryKind::Credit {
        return Err(BillingError::Conflict(text!(
            "une contre-passation ne paie pas de facture : ignorez-la ou classez-la hors ventes"
        )));
    }
    let invalid = |message: crate::i18n::Text| BillingError::Invalid {
        field: "allocations",
        message,
    };
    if allocations.is_empty() {
        return Err(invalid(text!("choisissez au moins une facture")));
    }
    let mut total = 0i64;
    for (i, a) in allocations.iter().enumerate() {
        if a.amount.currency != entry.amount.currency {
            return Err(invalid(text!(
                "le virement est en {currency}, pas en {other}",
                currency = entry.amount.currency,
                other = a.amount.currency
            )));
        }
        if a.amount.minor <= 0 {
            return Err(invalid(text!("chaque montant réparti doit être positif")));
        }
        if allocations[..i].iter().any(|b| b.invoice_id == a.invoice_id) {
            return Err(invalid(text!("une même facture figure deux fois dans la répartition")));
        }
        total += a.amount.minor;
    }
    if total > entry.amount.minor {
        return Err(invalid(text!(
            "la répartition ({total}) dépasse le virement ({amount})",
            total = Money::new(total, entry.amount.currency).format_fr(),
            amount = entry.amount.format_fr()
        )));
    }
    let mut paid = Vec::new();
    for a in allocations {
        let recorded = record_manual(
            tx,
            by,
            ManualPayment {
                invoice_id: a.invoice_id,
                amount: a.amount,
                method: entry.method,
                received_on: entry.booking_date,
                confirmed: true,
                key: format!("bank-entry-{}-invoice-{}", entry.id, a.invoice_id),
            },
        )
        .await?;
        let payment = match recorded {
            Recorded::New { payment, .. } | Recorded::Already(payment) => payment,
        };
        sql::link_payment(tx, entry.id, payment.id).await?;
        paid.push(json!({ "invoice_id": a.invoice_id, "payment_id": payment.id, "amount_minor": a.amount.minor }));
    }
    let excess = Money::new(entry.amount.minor - total, entry.amount.currency);
    sql::decide(tx, entry.id, EntryStatus::Confirmed, excess.minor, None, &by.name).await?;
    let action = if allocations.len() == 1 {
        "bank.confirm"
    } else {
        "bank.split"
    };
    let record = Record::new(action, format!("bank_entry:{}", entry.id)).details(json!({
        "amount_minor": entry.amount.minor,
        "currency": entry.amount.currency,
        "booking_date": entry.booking_date,
        "payments": paid,
        "excess_minor": excess.minor,
    }));
    audit::record_in(tx, by, record).await?;
    tracing::info!(
        entry_id = entry.id,
        payments = allocations.len(),
        excess = excess.minor,
        "bank credit reconciled"
    );
    sql::lock(tx, id)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("écriture bancaire {id}")))
}

/// Closes waiting entry `id` without paying an invoice: `NotSale` (a loan, a
/// supplier's refund: never a receipt of the livre de recettes) or `Ignored`.
pub async fn set_aside(
    tx: &mut Tx,
    by: &Actor,
    id: i64,
    status: EntryStatus,
    note: &str,
) -> Result<BankEntry, BillingError> {
    let action = match status {
        EntryStatus::NotSale => "bank.not_sale",
        EntryStatus::Ignored => "bank.ignore",
        other => {
            return Err(BillingError::Invalid {
                field: "status",
                message: text!("« {state} » n'est pas un classement possible").with("state", other.said()),
            })
        }
    };
    let note = crate::input::single_line(note, 500).map_err(|e| BillingError::Invalid {
        field: "note",
        message: e.text(),
    })?;
    let note = (!note.is_empty()).then_some(note);
    let entry = waiting_entry(tx, id).await?;
    sql::decide(tx, entry.id, status, 0, note.as_deref(), &by.name).await?;
    let record = Record::new(action, format!("bank_entry:{}", entry.id)).details(json!({
        "amount_minor": entry.amount.minor,
        "currency": entry.amount.currency,
        "booking_date": entry.booking_date,
        "payer": entry.payer_name,
        "note": note,
    }));
    audit::record_in(tx, by, record).await?;
    sql::lock(tx, id)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("écriture bancaire {id}")))
}

/// Keeps a new entry; `None` when its key is kept already.
pub(crate) async fn insert(tx: &mut Tx, new: &NewEntry) -> Result<Option<i64>, BillingError> {
    Ok(sql::insert(tx, new).await?)
}

pub(crate) async fn link_payment(tx: &mut Tx, entry_id: i64, payment_id: i64) -> Result<(), BillingError> {
    Ok(sql::link_payment(tx, entry_id, payment_id).await?)
}
