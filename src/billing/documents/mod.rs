//! Documents of the billing domain: invoices and credit notes (PDF), the livre des recettes
//! (PDF and CSV) and its totals.
//!
//! The types here are views: plain data already decided by the billing domain (numbers taken,
//! totals computed). This module only lays them out. The French wording lives in
//! `templates/documents/fr.txt`, not in Rust code.
//!
//! Legal choices made here:
//! - the late-payment penalty rate and the 40 € flat recovery indemnity (art. L441-10 and
//!   D441-5 du Code de commerce) are printed for business customers only, as the law requires
//!   them in B2B relations; a consumer's invoice does not carry them;
//! - an invoice missing a mandatory mention that this layer can check (seller SIREN, "EI" in the
//!   seller's name, a business customer's SIREN, the invoice a credit note corrects) is refused
//!   with [`DocumentError::MissingMention`] rather than printed.

mod csv;
mod fonts;
mod invoice;
mod pdf;
mod revenue_book;
mod totals;
mod wording;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::money::Money;

pub use self::csv::revenue_book_csv;
pub use self::invoice::invoice_pdf;
pub use self::revenue_book::revenue_book_pdf;
pub use self::totals::{revenue_totals, Period, PeriodTotals, RevenueTotals};

/// Why a document could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("cannot load the embedded font {0}")]
    FontLoad(&'static str),
    #[error("cannot write the PDF: {0}")]
    PdfWrite(String),
    #[error("mandatory mention missing: {0}")]
    MissingMention(&'static str),
}

/// A seller or a customer as printed on a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub address_lines: Vec<String>,
    pub siren: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Invoice,
    /// A facture d'avoir, correcting or cancelling an issued invoice.
    CreditNote,
}

/// One line of an invoice: `quantity × unit_price = total` (computed by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocLine {
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Money,
    pub total: Money,
}

/// An issued invoice or credit note, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDoc {
    pub kind: DocKind,
    pub number: String,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    /// The seller's name must carry "EI" (entrepreneur individuel).
    pub seller: Party,
    pub customer: Party,
    pub customer_is_business: bool,
    pub lines: Vec<DocLine>,
    pub total: Money,
    /// E.g. "TVA non applicable, art. 293 B du CGI".
    pub vat_mention: String,
    pub payment_terms: String,
    /// E.g. "taux d'intérêt légal × 3" or "10 %"; printed for business customers.
    pub late_penalty_rate: String,
    /// For a credit note: the number and issue date of the invoice it corrects.
    pub credited: Option<(String, NaiveDate)>,
    pub paid_on: Option<NaiveDate>,
}

/// What a receipt paid for; the livre des recettes keeps the two apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Nature {
    Goods,
    Services,
}

impl Nature {
    /// "Vente de marchandises" / "Prestation de services".
    pub fn label(self) -> &'static str {
        match self {
            Nature::Goods => wording::t("nature.goods"),
            Nature::Services => wording::t("nature.services"),
        }
    }
}

/// One receipt of the livre des recettes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevenueLine {
    /// The day the money was received.
    pub date: NaiveDate,
    pub client: String,
    pub nature: Nature,
    /// Negative for a refund.
    pub amount: Money,
    /// "Espèces", "Carte", "Virement", "Chèque", "PayPal", "Prélèvement SEPA"...
    pub method: String,
    pub is_cash: bool,
    /// The invoice or credit-note number.
    pub reference: String,
}

/// The livre des recettes over a period, lines in chronological order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevenueBookDoc {
    pub seller: Party,
    /// E.g. "Année 2026" or "T1 2026".
    pub title_period: String,
    pub lines: Vec<RevenueLine>,
}

/// `22/11/2026`.
fn date_fr(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

/// "Jeanne Martin EI – SIREN 123 456 789" for page footers, or the name alone.
fn identity(party: &Party) -> String {
    match party.siren.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(siren) => wording::fill("common.footer", &[("seller", &party.name), ("siren", siren)]),
        None => party.name.clone(),
    }
}
