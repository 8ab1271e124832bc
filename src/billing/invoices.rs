//! Invoices: draft (no number) → issued → paid / cancelled. Issuing takes the
//! next number of the series in the same transaction; an issued invoice is
//! never edited (the database refuses it too) and is corrected by a credit note.

use chrono::{DateTime, Days, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::address::{address_or_text, PostalAddress};
use super::catalog::{Nature, Unit};
use super::customers::Customer;
use super::error::{at_line, invalid, BillingError};
use super::ledger::{self, accounts, Posting};
use super::settings::{self, Activity, Settings, VatRegime};
use super::{dates, validate};
use crate::billing::sql::invoices as sql;
use crate::money::{Currency, Money};
use crate::store::{Store, Tx};
use crate::text;

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
    /// None: pieces for goods, units of service for services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
    pub unit_price: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvoiceLine {
    pub position: i32,
    pub description: String,
    pub nature: Nature,
    pub quantity: Decimal,
    pub unit: Option<Unit>,
    pub unit_price: Money,
    pub total: Money,
}

/// The seller and customer as they were when the document was issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub seller: SnapshotSeller,
    pub customer: SnapshotCustomer,
}

/// The seller's settings frozen into a document at its issue, with the
/// legal texts as printed.
///
/// Documents issued before migration 0008 froze the address as one text and
/// the VAT mention and penalty rate as free text: they read back with the
/// address as `lines` only (no postcode, city or country), no `vat_regime`,
/// their own `vat_mention`, a [`LatePenaltyRate::Text`] and no
/// `discount_terms`, so that they keep printing what they printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotSeller {
    pub seller_name: String,
    pub siren: String,
    #[serde(deserialize_with = "address_or_text")]
    pub address: PostalAddress,
    pub email: Option<String>,
    /// None on documents issued before 0008.
    #[serde(default)]
    pub electronic_address: Option<String>,
    #[serde(default)]
    pub electronic_address_scheme: Option<String>,
    #[serde(default)]
    pub iban: Option<String>,
    #[serde(default)]
    pub bic: Option<String>,
    pub activity: Activity,
    /// None on documents issued before 0008.
    #[serde(default)]
    pub vat_regime: Option<VatRegime>,
    /// As printed: derived from the regime since 0008, free text before.
    pub vat_mention: String,
    /// The days from issue to due date of this document.
    pub payment_terms_days: i32,
    pub late_penalty_rate: LatePenaltyRate,
    /// As printed: the seller's discount terms or "Pas d'escompte pour
    /// paiement anticipé" since 0008; None (nothing printed) before.
    #[serde(default)]
    pub discount_terms: Option<String>,
    pub invoice_prefix: String,
    pub credit_note_prefix: String,
    pub currency: Currency,
}

/// The late-penalty rate of a document: a number since migration 0008
/// (JSON `{"percent": "10.5"}`), free text on documents issued before (a
/// JSON string, printed as it was, even when it reads as a number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LatePenaltyRate {
    /// Percent a year.
    Percent { percent: Decimal },
    /// As typed before 0008, e.g. "trois fois le taux d'intérêt légal".
    Text(String),
}

impl std::fmt::Display for LatePenaltyRate {
    /// "10,5 % par an", or the old text as is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LatePenaltyRate::Percent { percent } => write!(f, "{} % par an", super::terms::percent(*percent)),
            LatePenaltyRate::Text(text) => f.write_str(text),
        }
    }
}

impl From<&Settings> for SnapshotSeller {
    fn from(s: &Settings) -> Self {
        SnapshotSeller {
            seller_name: s.seller_name.clone(),
            siren: s.siren.clone(),
            address: s.address.clone(),
            email: s.email.clone(),
            electronic_address: Some(s.electronic_address.clone()),
            electronic_address_scheme: Some(s.electronic_address_scheme.clone()),
            iban: s.iban.clone(),
            bic: s.bic.clone(),
            activity: s.activity,
            vat_regime: Some(s.vat_regime),
            vat_mention: s.vat_mention().to_string(),
            payment_terms_days: s.payment_terms_days,
            late_penalty_rate: LatePenaltyRate::Percent {
                percent: s.late_penalty_rate,
            },
            discount_terms: Some(s.discount_text().to_string()),
            invoice_prefix: s.invoice_prefix.clone(),
            credit_note_prefix: s.credit_note_prefix.clone(),
            currency: s.currency,
        }
    }
}

/// The customer frozen into a document at its issue. Documents issued
/// before migration 0008 read back with the address as `lines` only and no
/// electronic address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotCustomer {
    pub id: i64,
    pub business: bool,
    pub name: String,
    #[serde(deserialize_with = "address_or_text")]
    pub address: PostalAddress,
    pub siren: Option<String>,
    pub email: Option<String>,
    #[serde(default)]
    pub electronic_address: Option<String>,
    #[serde(default)]
    pub electronic_address_scheme: Option<String>,
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
            electronic_address: c.electronic_address.clone(),
            electronic_address_scheme: c.electronic_address_scheme.clone(),
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
    /// The date of the sale or service (C. com. L441-9), or else the period
    /// below; an issued invoice has one or the other (the issue date when
    /// its draft gave neither).
    pub service_date: Option<NaiveDate>,
    pub service_period_start: Option<NaiveDate>,
    pub service_period_end: Option<NaiveDate>,
    /// The customer's purchase-order reference (EN 16931 BT-13).
    pub purchase_order: Option<String>,
    /// Where the goods go, when not to the customer's address.
    pub delivery_address: Option<PostalAddress>,
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
    /// The date of the sale or service; or give the period below (both
    /// ends); neither: the issue date.
    #[serde(default)]
    pub service_date: Option<NaiveDate>,
    #[serde(default)]
    pub service_period_start: Option<NaiveDate>,
    #[serde(default)]
    pub service_period_end: Option<NaiveDate>,
    #[serde(default)]
    pub purchase_order: Option<String>,
    /// Only when it differs from the customer's address.
    #[serde(default)]
    pub delivery_address: Option<PostalAddress>,
}

/// The details of a draft besides its lines, editable until issue.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DraftDetails {
    pub service_date: Option<NaiveDate>,
    pub service_period_start: Option<NaiveDate>,
    pub service_period_end: Option<NaiveDate>,
    pub purchase_order: Option<String>,
    pub delivery_address: Option<PostalAddress>,
}

/// How far ahead of today a service date may be (an invoice for a service
/// booked in advance); further is a typo.
const SERVICE_AHEAD: Days = Days::new(366);

impl DraftDetails {
    /// Checks the details against `today`: a date or a period (not both,
    /// both ends, in order), a purchase order of one line, a complete
    /// delivery address.
    pub fn validated(self, today: NaiveDate) -> Result<DraftDetails, BillingError> {
        let latest = today.checked_add_days(SERVICE_AHEAD).unwrap_or(today);
        let check = |field: &'static str, d: Option<NaiveDate>| -> Result<Option<NaiveDate>, BillingError> {
            match d {
                Some(d) if d < dates::EARLIEST || d > latest => Err(invalid(
                    field,
                    text!(
                        "{date} : date hors limites (du {from} au {to})",
                        date = d.format("%d/%m/%Y"),
                        from = dates::EARLIEST.format("%d/%m/%Y"),
                        to = latest.format("%d/%m/%Y")
                    ),
                )),
                other => Ok(other),
            }
        };
        let service_date = check("service_date", self.service_date)?;
        let start = check("service_period_start", self.service_period_start)?;
        let end = check("service_period_end", self.service_period_end)?;
        match (service_date, start, end) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(invalid("service_date", text!("une date ou une période, pas les deux")))
            }
            (None, Some(_), None) => {
                return Err(invalid(
                    "service_period_end",
                    text!("la fin de la période est obligatoire"),
                ))
            }
            (None, None, Some(_)) => {
                return Err(invalid(
                    "service_period_start",
                    text!("le début de la période est obligatoire"),
                ))
            }
            (None, Some(s), Some(e)) if e < s => {
                return Err(invalid(
                    "service_period_end",
                    text!("la fin de la période précède son début"),
                ))
            }
            _ => {}
        }
        let purchase_order = match self.purchase_order.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(p) => Some(validate::text("purchase_order", p, 100)?),
        };
        let delivery_address = self
            .delivery_address
            .map(|a| a.validated(&super::address::DELIVERY_ADDRESS))
            .transpose()?;
        Ok(DraftDetails {
            service_date,
            service_period_start: start,
            service_period_end: end,
            purchase_order,
            delivery_address,
        })
    }
}

impl NewInvoice {
    /// A draft of `lines` for `customer_id` in `currency`, with nothing
    /// else said (no contract, order, period, service dates…): the base the
    /// callers complete with `..`.
    pub fn of_lines(customer_id: i64, currency: Currency, lines: Vec<NewLine>) -> NewInvoice {
        NewInvoice {
            customer_id,
            currency,
            lines,
            contract_id: None,
            order_id: None,
            period: None,
            service_date: None,
            service_period_start: None,
            service_period_end: None,
            purchase_order: None,
            delivery_address: None,
        }
    }

    /// The details besides the lines.
    pub fn details(&self) -> DraftDetails {
        DraftDetails {
            service_date: self.service_date,
            service_period_start: self.service_period_start,
            service_period_end: self.service_period_end,
            purchase_order: self.purchase_order.clone(),
            delivery_address: self.delivery_address.clone(),
        }
    }
}

/// Lines priced and totalled; the total must be positive.
pub(crate) fn priced_lines(lines: &[NewLine], currency: Currency) -> Result<(Vec<InvoiceLine>, Money), BillingError> {
    if lines.is_empty() {
        return Err(invalid("lines", text!("au moins une ligne est requise")));
    }
    let mut total = Money::zero(currency);
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        let description = validate::text("lines.description", &l.description, 300).map_err(|e| at_line(e, i))?;
        if l.quantity <= Decimal::ZERO {
            return Err(invalid(
                "lines.quantity",
                text!("ligne {line} : la quantité doit être positive", line = i + 1),
            ));
        }
        // EN 16931 as the French platforms read it: at most 4 decimals (BR-FR-DEC-02).
        if l.quantity.normalize().scale() > 4 {
            return Err(invalid(
                "lines.quantity",
                text!("ligne {line} : une quantité a au plus 4 décimales", line = i + 1),
            ));
        }
        if l.unit_price.currency != currency {
            return Err(invalid(
                "lines.unit_price",
                text!(
                    "ligne {line} : la devise doit être {currency}",
                    line = i + 1,
                    currency = currency
                ),
            ));
        }
        let line_total = l.unit_price.times(l.quantity)?;
        total = total.checked_add(line_total)?;
        out.push(InvoiceLine {
            position: i as i32 + 1,
            description,
            nature: l.nature,
            quantity: l.quantity.normalize(),
            unit: l.unit,
            unit_price: l.unit_price,
            total: line_total,
        });
    }
    if total.minor <= 0 {
        return Err(invalid("lines", text!("le total de la facture doit être positif")));
    }
    Ok((out, total))
}

pub async fn create_draft(tx: &mut Tx, new: NewInvoice) -> Result<Invoice, BillingError> {
    super::customers::get_in(tx, new.customer_id).await?;
    let (lines, total) = priced_lines(&new.lines, new.currency)?;
    let details = new.details().validated(dates::today_in(tx).await?)?;
    let id = sql::insert_draft(tx, InvoiceKind::Invoice, &new, &details, total, None, None).await?;
    sql::insert_lines(tx, id, &lines).await?;
    get_in(tx, id).await
}

/// Sets the payment terms of draft `id`: days from issue to due date (0 to
/// 60, the legal maximum), or `None` for the seller's default.
pub async fn set_payment_terms(tx: &mut Tx, id: i64, days: Option<i32>) -> Result<(), BillingError> {
    if let Some(d) = days {
        if !(0..=60).contains(&d) {
            return Err(invalid("payment_terms_days", text!("de 0 à 60 jours")));
        }
    }
    let invoice = lock(tx, id).await?;
    if invoice.status != InvoiceStatus::Draft {
        return Err(BillingError::Conflict(text!(
            "la facture {invoice} est émise : ses conditions sont figées",
            invoice = named(&invoice)
        )));
    }
    sql::set_payment_terms(tx, id, days).await?;
    Ok(())
}

/// Sets the service date or period, purchase order and delivery address of
/// draft `id` (checked as at creation); an issued invoice's are frozen.
pub async fn set_details(tx: &mut Tx, id: i64, details: DraftDetails) -> Result<Invoice, BillingError> {
    let details = details.validated(dates::today_in(tx).await?)?;
    let invoice = lock(tx, id).await?;
    if invoice.status != InvoiceStatus::Draft {
        return Err(BillingError::Conflict(text!(
            "la facture {invoice} est émise : ses détails sont figés",
            invoice = named(&invoice)
        )));
    }
    sql::set_details(tx, id, &details).await?;
    get_in(tx, id).await
}

/// Rewrites draft `id`: its customer, its lines (any number, numbered from
/// one again) and its details, checked as at creation; an issued invoice is
/// frozen. Its currency, contract, order and period stay.
pub async fn edit_draft(tx: &mut Tx, id: i64, new: NewInvoice) -> Result<Invoice, BillingError> {
    let draft = lock(tx, id).await?;
    if draft.status != InvoiceStatus::Draft {
        return Err(BillingError::Conflict(text!(
            "la facture {invoice} est émise : elle ne se modifie plus, un avoir la corrige",
            invoice = named(&draft)
        )));
    }
    super::customers::get_in(tx, new.customer_id).await?;
    let (lines, total) = priced_lines(&new.lines, draft.total.currency)?;
    let details = new.details().validated(dates::today_in(tx).await?)?;
    sql::replace_draft_lines(tx, id, new.customer_id, &lines, total).await?;
    sql::set_details(tx, id, &details).await?;
    get_in(tx, id).await
}

/// Deletes a draft (an issued invoice cannot be deleted).
pub async fn delete_draft(tx: &mut Tx, id: i64) -> Result<(), BillingError> {
    let invoice = lock(tx, id).await?;
    if invoice.status != InvoiceStatus::Draft {
        return Err(BillingError::Conflict(text!(
            "la facture {invoice} est émise : un avoir l'annule",
            invoice = named(&invoice)
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
        return Err(BillingError::Conflict(
            text!("la facture {invoice} est déjà {state}", invoice = named(&draft))
                .with("state", super::error::invoice_state(draft.status.as_str())),
        ));
    }
    dates::issue_date(issue_date, dates::today_in(tx).await?, None)?;
    let seller = settings::load_in(tx).await?;
    let series = match draft.kind {
        InvoiceKind::Invoice => seller.invoice_series(issue_date),
        InvoiceKind::CreditNote => seller.credit_note_series(issue_date),
    };
    let customer = super::customers::get_in(tx, draft.customer_id).await?;
    // Addresses carried over from free text (migration 0008) may lack their
    // postcode, city or country: a document must not go out without them.
    if !seller.address.is_complete() {
        return Err(invalid(
            "seller.address",
            text!("l'adresse du vendeur est incomplète (code postal, ville, pays) : complétez les réglages"),
        ));
    }
    if !customer.address.is_complete() {
        return Err(invalid(
            "customer.address",
            text!(
                "l'adresse du client n° {customer} est incomplète (code postal, ville, pays) : complétez sa fiche",
                customer = customer.id
            ),
        ));
    }
    // Terms chosen for this invoice are frozen into its snapshot, so that the
    // printed terms and the due date agree.
    let mut seller = seller;
    if let Some(days) = draft.payment_terms_days {
        seller.payment_terms_days = days;
    }
    let due_date = issue_date
        .checked_add_days(Days::new(seller.payment_terms_days.max(0) as u64))
        .ok_or_else(|| invalid("issue_date", text!("date hors limites")))?;
    let number = crate::billing::sql::settings::next_number(tx, &series).await?;
    // Numbers are chronological: with the series' counter locked, no later
    // number may carry an earlier date than the last one issued.
    if let Some(last) = sql::last_issue_date(tx, &series).await? {
        if issue_date < last {
            return Err(BillingError::Conflict(text!(
                "la série {series} a émis en dernier le {last} : un numéro suivant ne peut pas être daté du {date}",
                series = series,
                last = last.format("%d/%m/%Y"),
                date = issue_date.format("%d/%m/%Y")
            )));
        }
    }
    let reference = settings::reference(&series, number);
    let snapshot = Snapshot {
        seller: SnapshotSeller::from(&seller),
        customer: SnapshotCustomer::from(&customer),
    };
    // The date of the sale or service is a mandatory mention: a draft that
    // gave neither a date nor a period is dated by its issue.
    let service_date = match (draft.service_date, draft.service_period_start) {
        (None, None) => Some(issue_date),
        (date, _) => date,
    };
    sql::mark_issued(
        tx,
        id,
        &series,
        number,
        &reference,
        issue_date,
        due_date,
        service_date,
        &snapshot,
    )
    .await?;
    let issued = get_in(tx, id).await?;
    post_issue(tx, &issued).await?;
    tracing::debug!(reference, "invoice numbered");
    Ok(issued)
}

/// Draft `id` as issuing it on `issue_date` would make it (its number, seller
/// and customer frozen, due date), issued in a transaction that is rolled
/// back: nothing is kept, no number is taken. What the preview prints and
/// the confirmation page announces; the same refusals as `issue`.
pub async fn rehearse_issue(store: &Store, id: i64, issue_date: NaiveDate) -> Result<Invoice, BillingError> {
    let mut tx = store.begin().await?;
    let rehearsed = issue(&mut tx, id, issue_date).await;
    tx.rollback().await?;
    rehearsed
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
        return Err(BillingError::Conflict(
            text!(
                "la facture {invoice} est {state} et ne peut pas recevoir de paiement",
                invoice = named(&invoice)
            )
            .with("state", super::error::invoice_state(invoice.status.as_str())),
        ));
    }
    if amount.currency != invoice.total.currency {
        return Err(invalid(
            "amount",
            text!("la devise doit être {currency}", currency = invoice.total.currency),
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
        return Err(BillingError::Conflict(text!(
            "la facture {invoice} est un brouillon : émettez-la avant de l'envoyer",
            invoice = named(&invoice)
        )));
    }
    sql::set_sent(tx, id, at).await?;
    Ok(())
}

/// An invoice as a message names it: its number, or `#id` for a draft.
fn named(invoice: &Invoice) -> String {
    invoice.reference.clone().unwrap_or_else(|| format!("#{}", invoice.id))
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
    /// The order of the list (newest first by default).
    pub sort: InvoiceSort,
    /// Rows skipped: the pages of a list in another order than newest
    /// first (`before_id` pages the newest first).
    pub offset: i64,
}

/// A column an invoice list is sorted by; the SQL of each is fixed
/// (`sql::invoices::order_by`), nothing typed reaches the query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InvoiceOrder {
    /// Newest first (the order they were made in).
    #[default]
    Newest,
    /// The number (series, then number); drafts, without one, last.
    Number,
    /// The customer's name.
    Customer,
    /// The issue date; drafts last.
    IssueDate,
    /// The due date; drafts last.
    DueDate,
    Total,
    /// The state, in the order of a document's life: draft, issued, paid, cancelled.
    Status,
}

impl InvoiceOrder {
    pub const COLUMNS: [InvoiceOrder; 6] = [
        InvoiceOrder::Number,
        InvoiceOrder::Customer,
        InvoiceOrder::IssueDate,
        InvoiceOrder::DueDate,
        InvoiceOrder::Total,
        InvoiceOrder::Status,
    ];

    /// The name in a URL (`?sort=due`).
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceOrder::Newest => "newest",
            InvoiceOrder::Number => "number",
            InvoiceOrder::Customer => "customer",
            InvoiceOrder::IssueDate => "date",
            InvoiceOrder::DueDate => "due",
            InvoiceOrder::Total => "total",
            InvoiceOrder::Status => "status",
        }
    }

    /// One of the names above, else none.
    pub fn parse(name: &str) -> Option<InvoiceOrder> {
        std::iter::once(InvoiceOrder::Newest)
            .chain(InvoiceOrder::COLUMNS)
            .find(|o| o.as_str() == name)
    }
}

/// A list's order: a column, up or down (ties by id, the same way).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InvoiceSort {
    pub by: InvoiceOrder,
    pub descending: bool,
}

pub async fn list(store: &Store, filter: &InvoiceFilter) -> Result<Vec<Invoice>, BillingError> {
    Ok(sql::list(store, filter).await?)
}

/// What customers owe, in one currency: the issued invoices not fully paid,
/// and those of them past their due date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Receivables {
    pub open_count: i64,
    pub open_due: Money,
    pub overdue_count: i64,
    pub overdue_due: Money,
}

/// What customers owe on `date`, per currency (none when nothing is owed).
pub async fn receivables(store: &Store, date: NaiveDate) -> Result<Vec<Receivables>, BillingError> {
    sql::receivables(store, date)
        .await?
        .into_iter()
        .map(|(code, open_count, open_due, overdue_count, overdue_due)| {
            let currency: Currency = code.parse()?;
            Ok(Receivables {
                open_count,
                open_due: Money::new(open_due, currency),
                overdue_count,
                overdue_due: Money::new(overdue_due, currency),
            })
        })
        .collect()
}

/// The numbers of invoices `ids` (for list pages; drafts have none).
pub async fn references(store: &Store, ids: &[i64]) -> Result<std::collections::HashMap<i64, String>, BillingError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    Ok(sql::references(store, &ids).await?)
}

/// Whether any invoice or credit note was ever issued (the first-run checklist).
pub async fn any_issued(store: &Store) -> Result<bool, BillingError> {
    Ok(sql::any_issued(store).await?)
}

/// Issued invoices not fully paid whose due date is before `date`, oldest due first.
pub async fn overdue(store: &Store, date: NaiveDate) -> Result<Vec<Invoice>, BillingError> {
    Ok(sql::overdue(store, date).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot as the code before migration 0008 wrote it.
    const OLD: &str = r#"{"seller":{"seller_name":"Marie Dupont EI","siren":"732829320","address":"12 rue des Lilas\n75011 Paris","email":"marie@example.fr","activity":"mixed","vat_mention":"TVA 20 % incluse","payment_terms_days":30,"late_penalty_rate":"0 %","invoice_prefix":"F","credit_note_prefix":"AV","currency":"EUR"},"customer":{"id":7,"business":false,"name":"Jean Martin","address":"3 place du Marché, 69002 Lyon","siren":null,"email":"jean@example.fr"}}"#;

    #[test]
    fn an_old_snapshot_reads_back_with_its_texts() {
        let s: Snapshot = serde_json::from_str(OLD).unwrap();
        assert_eq!(s.seller.address.lines, vec!["12 rue des Lilas", "75011 Paris"]);
        assert_eq!(
            (s.seller.address.postcode.as_str(), s.seller.address.country.as_str()),
            ("", "")
        );
        assert_eq!(s.seller.vat_regime, None);
        assert_eq!(s.seller.vat_mention, "TVA 20 % incluse", "what it printed, kept");
        assert_eq!(s.seller.late_penalty_rate, LatePenaltyRate::Text("0 %".into()));
        assert_eq!(s.seller.late_penalty_rate.to_string(), "0 %");
        assert_eq!((s.seller.iban.clone(), s.seller.discount_terms.clone()), (None, None));
        assert_eq!(s.customer.address.lines, vec!["3 place du Marché, 69002 Lyon"]);
        assert_eq!(s.customer.electronic_address, None);
        // Written again, it reads back the same.
        let again: Snapshot = serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(again, s);
    }

    #[test]
    fn a_new_snapshot_carries_the_structured_terms() {
        let settings = Settings {
            seller_name: "Marie Dupont EI".into(),
            siren: "732829320".into(),
            address: PostalAddress {
                lines: vec!["12 rue des Lilas".into()],
                postcode: "75011".into(),
                city: "Paris".into(),
                country: "FR".into(),
            },
            email: None,
            electronic_address: "732829320".into(),
            electronic_address_scheme: "0225".into(),
            iban: Some("FR7630006000011234567890189".into()),
            bic: None,
            activity: Activity::Services,
            vat_regime: VatRegime::Franchise,
            payment_terms_days: 30,
            late_penalty_rate: Decimal::new(105, 1),
            discount_terms: None,
            invoice_prefix: "F".into(),
            credit_note_prefix: "AV".into(),
            currency: Currency::EUR,
            services_category: Default::default(),
            declaration_frequency: Default::default(),
        };
        let seller = SnapshotSeller::from(&settings);
        assert_eq!(seller.vat_mention, "TVA non applicable, art. 293 B du CGI");
        assert_eq!(
            seller.discount_terms.as_deref(),
            Some("Pas d'escompte pour paiement anticipé")
        );
        assert_eq!(seller.late_penalty_rate.to_string(), "10,5 % par an");
        let json = serde_json::to_value(&seller).unwrap();
        assert_eq!(json["late_penalty_rate"]["percent"], "10.5");
        assert_eq!(json["address"]["postcode"], "75011");
        let back: SnapshotSeller = serde_json::from_value(json).unwrap();
        assert_eq!(back, seller);
        assert_eq!(
            back.late_penalty_rate,
            LatePenaltyRate::Percent {
                percent: Decimal::new(105, 1)
            }
        );
        // An old text that reads as a number stays a text.
        let old: LatePenaltyRate = serde_json::from_str("\"10\"").unwrap();
        assert_eq!(old.to_string(), "10");
    }
}
