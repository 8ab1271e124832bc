//! Invoices: draft (no number) → issued → paid / cancelled. Issuing takes the
//! next number of the series in the same transaction; an issued invoice is
//! never edited (the database refuses it too) and is corrected by a credit note.

use chrono::{DateTime, Days, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::catalog::Nature;
use super::customers::Customer;
use super::error::{at_line, invalid, BillingError};
use super::ledger::{self, accounts, Posting};
use super::settings::{self, Settings};
use super::{dates, validate};
use crate::billing::sql::invoices as sql;
use crate::money::{Currency, Money};
use crate::store::{Store, Tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    Invoice,
    CreditNote,
}

impl InvoiceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceKind::Invoice => "invoice",
            InvoiceKind::CreditNote => "credit_note",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceStatus {
    Draft,
    Issued,
    Paid,
    Cancelled,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "draft",
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Cancelled => "cancelled",
        }
    }
}

/// A line to put on a draft. A negative unit price makes a credit line
/// (a refund netted by the monthly run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewLine {
    pub description: String,
    pub nature: Nature,
    pub quantity: Decimal,
    pub unit_price: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvoiceLine {
    pub position: i32,
    pub description: String,
    pub nature: Nature,
    pub quantity: Decimal,
    pub unit_price: Money,
    pub total: Money,
}

/// The seller and customer as they were when the document was issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub seller: Settings,
    pub customer: SnapshotCustomer,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotCustomer {
    pub id: i64,
    pub business: bool,
    pub name: String,
    pub address: String,
    pub siren: Option<String>,
    pub email: Option<String>,
}

impl From<&Customer> for SnapshotCustomer {
    fn from(c: &Customer) -> Self {
        SnapshotCustomer {
            id: c.id,
            business: c.kind == super::customers::CustomerKind::Business,
            name: c.name.clone(),
            address: c.address.clone(),
            siren: c.siren.clone(),
            email: c.email.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invoice {
    pub id: i64,
    pub kind: InvoiceKind,
    pub status: InvoiceStatus,
    pub series: Option<String>,
    pub number: Option<i64>,
    /// The printed number, e.g. `F2026-0042`; none while draft.
    pub reference: Option<String>,
    pub customer_id: i64,
    pub contract_id: Option<i64>,
    pub order_id: Option<i64>,
    pub period: Option<String>,
    pub total: Money,
    pub paid: Money,
    pub credited: Money,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub credited_invoice_id: Option<i64>,
    pub reason: Option<String>,
    pub snapshot: Option<Snapshot>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Days from issue to due date chosen for this invoice; none: the seller's default.
    pub payment_terms_days: Option<i32>,
    pub lines: Vec<InvoiceLine>,
}

impl Invoice {
    /// What is still due: total less paid and credited (never negative).
    pub fn balance_due(&self) -> Money {
        Money::new(
            (self.total.minor - self.paid.minor - self.credited.minor).max(0),
            self.total.currency,
        )
    }

    /// Totals per nature (goods / services), for the ledger and the livre de recettes.
    pub fn totals_by_nature(&self) -> Vec<(Nature, Money)> {
        let mut out: Vec<(Nature, Money)> = Vec::new();
        for line in &self.lines {
            match out.iter_mut().find(|(n, _)| *n == line.nature) {
                Some((_, m)) => m.minor += line.total.minor,
                None => out.push((line.nature, line.total)),
            }
        }
        out.sort_by_key(|(n, _)| *n);
        out
    }
}

/// What a draft is made of.
#[derive(Debug, Clone, Deserialize)]
pub struct NewInvoice {
    pub customer_id: i64,
    pub currency: Currency,
    pub lines: Vec<NewLine>,
    #[serde(default)]
    pub contract_id: Option<i64>,
    #[serde(default)]
    pub order_id: Option<i64>,
    #[serde(default)]
    pub period: Option<String>,
}

/// Lines priced and totalled; the total must be positive.
pub(crate) fn priced_lines(lines: &[NewLine], currency: Currency) -> Result<(Vec<InvoiceLine>, Money), BillingError> {
    if lines.is_empty() {
        return Err(invalid("lines", "at least one line is required"));
    }
    let mut total = Money::zero(currency);
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let description = validate::text("lines.description", &l.description, 300).map_err(|e| at_line(e, i))?;
        if l.quantity <= Decimal::ZERO {
            return Err(invalid(
                "lines.quantity",
                format!("line {}: quantity must be positive", i + 1),
            ));
        }
        if l.unit_price.currency != currency {
            return Err(invalid(
                "lines.unit_price",
                format!("line {}: currency must be {currency}", i + 1),
            ));
        }
        let line_total = l.unit_price.times(l.quantity)?;
        total = total.checked_add(line_total)?;
        out.push(InvoiceLine {
            position: i as i32 + 1,
            description,
            nature: l.nature,
            quantity: l.quantity.normalize(),
            unit_price: l.unit_price,
            total: line_total,
        });
    }
    if total.minor <= 0 {
        return Err(invalid("lines", "the invoice total must be positive"));
    }
    Ok((out, total))
}

pub async fn create_draft(tx: &mut Tx, new: NewInvoice) -> Result<Invoice, BillingError> {
    super::customers::get_in(tx, new.customer_id).await?;
    let (lines, total) = priced_lines(&new.lines, new.currency)?;
    let id = sql::insert_draft(tx, InvoiceKind::Invoice, &new, total, None, None).await?;
    sql::insert_lines(tx, id, &lines).await?;
    get_in(tx, id).await
}

/// Sets the payment terms of draft `id`: days from issue to due date (0 to
/// 60, the legal maximum), or `None` for the seller's default.
pub async fn set_payment_terms(tx: &mut Tx, id: i64, days: Option<i32>) -> Result<(), BillingError> {
    if let Some(d) = days {
        if !(0..=60).contains(&d) {
            return Err(invalid("payment_terms_days", "must be between 0 and 60 days"));
        }
    }
    let invoice = lock(tx, id).await?;
    if invoice.status != InvoiceStatus::Draft {
        return Err(BillingError::Conflict(format!(
            "invoice {id} is issued: its terms are frozen"
        )));
    }
    sql::set_payment_terms(tx, id, days).await?;
    Ok(())
}

/// Deletes a draft (an issued invoice cannot be deleted).
pub async fn delete_draft(tx: &mut Tx, id: i64) -> Result<(), BillingError> {
    let invoice = lock(tx, id).await?;
    if invoice.status != InvoiceStatus::Draft {
        return Err(BillingError::Conflict(format!(
            "invoice {id} is issued: cancel it with a credit note"
        )));
    }
    sql::delete_draft(tx, id).await?;
    Ok(())
}

/// Issues draft `id` on `issue_date`: takes the next number of the series,
/// freezes seller and customer, sets the due date, posts to the ledger.
#[tracing::instrument(skip(tx))]
pub async fn issue(tx: &mut Tx, id: i64, issue_date: NaiveDate) -> Result<Invoice, BillingError> {
    let draft = lock(tx, id).await?;
    if draft.status != InvoiceStatus::Draft {
        return Err(BillingError::Conflict(format!(
            "invoice {} is already {}",
            draft.reference.as_deref().unwrap_or("?"),
            draft.status.as_str()
        )));
    }
    dates::issue_date(issue_date, dates::today_in(tx).await?, None)?;
    let seller = settings::load_in(tx).await?;
    let series = match draft.kind {
        InvoiceKind::Invoice => seller.invoice_series(issue_date),
        InvoiceKind::CreditNote => seller.credit_note_series(issue_date),
    };
    let customer = super::customers::get_in(tx, draft.customer_id).await?;
    // Terms chosen for this invoice are frozen into its snapshot, so that the
    // printed terms and the due date agree.
    let mut seller = seller;
    if let Some(days) = draft.payment_terms_days {
        seller.payment_terms_days = days;
    }
    let due_date = issue_date
        .checked_add_days(Days::new(seller.payment_terms_days.max(0) as u64))
        .ok_or_else(|| invalid("issue_date", "out of range"))?;
    let number = crate::billing::sql::settings::next_number(tx, &series).await?;
    // Numbers are chronological: with the series' counter locked, no later
    // number may carry an earlier date than the last one issued.
    if let Some(last) = sql::last_issue_date(tx, &series).await? {
        if issue_date < last {
            return Err(BillingError::Conflict(format!(
                "series {series} was last issued on {}: a later number cannot be dated {}",
                last.format("%d/%m/%Y"),
                issue_date.format("%d/%m/%Y")
            )));
        }
    }
    let reference = settings::reference(&series, number);
    let snapshot = Snapshot {
        seller,
        customer: SnapshotCustomer::from(&customer),
    };
    sql::mark_issued(tx, id, &series, number, &reference, issue_date, due_date, &snapshot).await?;
    let issued = get_in(tx, id).await?;
    post_issue(tx, &issued).await?;
    tracing::info!(reference, "invoice issued");
    Ok(issued)
}

/// Ledger: an invoice makes the customer owe its total as revenue by nature;
/// a credit note reverses that.
async fn post_issue(tx: &mut Tx, doc: &Invoice) -> Result<(), BillingError> {
    let receivable = accounts::receivable(doc.customer_id);
    let reference = doc.reference.clone().unwrap_or_default();
    let mut postings = Vec::new();
    match doc.kind {
        InvoiceKind::Invoice => {
            postings.push(Posting::debit(receivable, doc.total));
            for (nature, amount) in doc.totals_by_nature() {
                postings.push(Posting::credit(accounts::revenue(nature), amount));
            }
            ledger::post(tx, "invoice_issued", &reference, &postings).await?;
        }
        InvoiceKind::CreditNote => {
            postings.push(Posting::credit(receivable, doc.total));
            for (nature, amount) in doc.totals_by_nature() {
                postings.push(Posting::debit(accounts::revenue(nature), amount));
            }
            ledger::post(tx, "credit_note_issued", &reference, &postings).await?;
        }
    }
    Ok(())
}

/// Records `amount` paid on an issued invoice; it becomes paid once nothing is due.
pub async fn apply_payment(tx: &mut Tx, id: i64, amount: Money) -> Result<Invoice, BillingError> {
    let invoice = lock(tx, id).await?;
    if invoice.kind != InvoiceKind::Invoice || !matches!(invoice.status, InvoiceStatus::Issued | InvoiceStatus::Paid) {
        return Err(BillingError::Conflict(format!(
            "invoice {id} is {} and cannot take a payment",
            invoice.status.as_str()
        )));
    }
    if amount.currency != invoice.total.currency {
        return Err(invalid(
            "amount",
            format!("currency must be {}", invoice.total.currency),
        ));
    }
    let paid = invoice.paid.checked_add(amount)?;
    let status = if paid.minor + invoice.credited.minor >= invoice.total.minor {
        InvoiceStatus::Paid
    } else {
        InvoiceStatus::Issued
    };
    sql::set_paid(tx, id, paid.minor, status).await?;
    get_in(tx, id).await
}

pub async fn mark_sent(tx: &mut Tx, id: i64, at: DateTime<Utc>) -> Result<(), BillingError> {
    let invoice = lock(tx, id).await?;
    if invoice.status == InvoiceStatus::Draft {
        return Err(BillingError::Conflict(format!(
            "invoice {id} is a draft: issue it before sending it"
        )));
    }
    sql::set_sent(tx, id, at).await?;
    Ok(())
}

pub async fn get(store: &Store, id: i64) -> Result<Invoice, BillingError> {
    sql::get(store, id)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("invoice {id}")))
}

pub async fn get_in(tx: &mut Tx, id: i64) -> Result<Invoice, BillingError> {
    sql::get_in(tx, id, false)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("invoice {id}")))
}

/// Reads and locks the invoice until `tx` ends.
pub async fn lock(tx: &mut Tx, id: i64) -> Result<Invoice, BillingError> {
    sql::get_in(tx, id, true)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("invoice {id}")))
}

pub async fn by_reference(store: &Store, reference: &str) -> Result<Invoice, BillingError> {
    sql::by_reference(store, reference)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("invoice {reference}")))
}

/// Filters for listing invoices; newest first.
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub customer_id: Option<i64>,
    pub status: Option<InvoiceStatus>,
    pub kind: Option<InvoiceKind>,
    /// The credit notes of this invoice.
    pub credited_invoice_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub order_id: Option<i64>,
    pub limit: i64,
    pub before_id: Option<i64>,
}

pub async fn list(store: &Store, filter: &InvoiceFilter) -> Result<Vec<Invoice>, BillingError> {
    Ok(sql::list(store, filter).await?)
}

/// Issued invoices not fully paid whose due date is before `date`, oldest due first.
pub async fn overdue(store: &Store, date: NaiveDate) -> Result<Vec<Invoice>, BillingError> {
    Ok(sql::overdue(store, date).await?)
}
