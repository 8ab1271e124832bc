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
//!   seller's name, a business customer's SIREN and postcode, the invoice a credit note
//!   corrects) is refused with [`DocumentError::MissingMention`] rather than printed;
//! - a credit note prints no due date, no payment terms and no late-payment lines: nothing is
//!   to be paid by the customer; it says instead whether it was refunded or is a credit;
//! - every PDF of an invoice or credit note is a Factur-X file (PDF/A-3 with the CII XML of
//!   profile EN 16931 embedded as `factur-x.xml`), see `facturx.rs` and `cii.rs`.

mod cii;
mod csv;
mod facturx;
mod fonts;
mod invoice;
mod pdf;
mod revenue_book;
mod totals;
mod wording;
use self::wording::{fill, t};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::money::Money;

pub use self::cii::invoice_cii_xml;
pub use self::csv::{book_seal_csv, files_message, revenue_book_csv, revenue_totals_csv, table_csv, Cell};
pub use self::invoice::{draft_pdf, invoice_pdf};
pub use self::revenue_book::revenue_book_pdf;
pub use self::totals::{revenue_totals, Period, PeriodTotals, RevenueTotals};

/// Why a document could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("cannot load the embedded font {0}")]
    FontLoad(&'static str),
    #[error("cannot write the PDF: {0}")]
    PdfWrite(String),
    #[error("cannot write the CII XML: {0}")]
    XmlWrite(String),
    #[error("mandatory mention missing: {0}")]
    MissingMention(&'static str),
    #[error("invalid {field}: {message}")]
    Invalid { field: &'static str, message: String },
}

/// A postal address as EN 16931 structures it (BG-5, BG-8, BG-15).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostalAddress {
    /// Street lines, first one first (BT-35/36/162); may be empty for a bare city.
    pub lines: Vec<String>,
    /// BT-38; printed before the city ("75011 Paris").
    pub postcode: String,
    /// BT-37.
    pub city: String,
    /// ISO 3166-1 alpha-2 code, upper case ("FR"), BT-40. Printed only when not "FR".
    pub country: String,
}

/// An electronic address (BT-34 / BT-49): a scheme of the EAS code list and its value, e.g.
/// `("0225", "123456789")` (a SIREN-based address of the French directory) or
/// `("EM", "factures@example.fr")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectronicAddress {
    pub scheme: String,
    pub value: String,
}

/// A seller or a customer as printed on a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub address: PostalAddress,
    /// 9 digits, spaces allowed ("123 456 789"); required for the seller and a business customer.
    pub siren: Option<String>,
    pub email: Option<String>,
    /// When absent, the CII carries the SIREN under scheme 0225 (if there is one).
    pub electronic_address: Option<ElectronicAddress>,
    /// Intra-community VAT number (BT-31 / BT-48), if the party has one; a seller under the VAT
    /// franchise often has none, and its CII then names its SIREN as tax registration (BT-32).
    pub vat_number: Option<String>,
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
    pub nature: Nature,
    pub quantity: Decimal,
    /// None: pieces for goods, units of service for services, nothing printed after the quantity.
    pub unit: Option<LineUnit>,
    pub unit_price: Money,
    pub total: Money,
}

/// What a line's quantity counts: its UN/ECE recommendation 20 code (BT-130) and the word
/// printed after the quantity ("heures").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineUnit {
    pub code: &'static str,
    pub printed: &'static str,
}

/// The date of the sale or of the service (C. com. L441-9), or the period of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceDate {
    /// Delivery or service date (BT-72).
    Day(NaiveDate),
    /// Period of the service, both days included (BG-14).
    Period { start: NaiveDate, end: NaiveDate },
}

/// The VAT regime of the seller; it alone decides the VAT mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VatRegime {
    /// Franchise en base de TVA (art. 293 B du CGI): no VAT is charged. Printed "TVA non
    /// applicable, art. 293 B du CGI"; CII category E, exemption VATEX-FR-FRANCHISE.
    Franchise,
}

/// The seller's bank account, printed for payment by transfer (BG-17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    /// Printed grouped by four; spaces in the value are ignored.
    pub iban: String,
    pub bic: Option<String>,
}

/// What became of a credit note's amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditSettlement {
    /// Paid back: "Avoir remboursé le 12/03/2027, par virement". `method` is lower case French
    /// ("virement", "chèque", "espèces", "carte").
    Refunded { on: NaiveDate, method: String },
    /// Kept as a credit: "À déduire de votre prochaine facture".
    Credit,
}

/// For a credit note: the invoice it corrects (BG-3) and what became of its amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credited {
    pub number: String,
    pub issue_date: NaiveDate,
    pub settlement: CreditSettlement,
}

/// An issued invoice or credit note, ready to print (and to carry as Factur-X CII).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDoc {
    pub kind: DocKind,
    pub number: String,
    pub issue_date: NaiveDate,
    /// Required on an invoice; must be `None` on a credit note (nothing is due).
    pub due_date: Option<NaiveDate>,
    /// The seller's name must carry "EI" (entrepreneur individuel).
    pub seller: Party,
    pub customer: Party,
    pub customer_is_business: bool,
    pub lines: Vec<DocLine>,
    /// Sum of the lines; positive for a credit note too (its type says it is a credit).
    pub total: Money,
    pub service_date: ServiceDate,
    /// The customer's purchase-order reference (BT-13), printed when given.
    pub purchase_order: Option<String>,
    /// Printed as "Adresse de livraison" (BG-15) only when given (i.e. when it differs).
    pub delivery_address: Option<PostalAddress>,
    pub vat_regime: VatRegime,
    /// Annual late-payment penalty rate, in percent (10.00 = "10,00 % l'an"); printed for
    /// business customers on invoices.
    pub late_penalty_rate: Decimal,
    /// The discount terms; `None` prints "Pas d'escompte pour paiement anticipé".
    pub discount_terms: Option<String>,
    /// E.g. "Paiement à 30 jours à compter de la date d'émission"; invoices only.
    pub payment_terms: String,
    /// The seller's account for transfers; printed (and in the CII as means 58) when given.
    pub bank_account: Option<BankAccount>,
    /// Required for a credit note, `None` for an invoice.
    pub credited: Option<Credited>,
    /// An invoice fully paid on that day prints "Facture acquittée le …".
    pub paid_on: Option<NaiveDate>,
    /// Set on a document issued before the legal terms were structured (migration 0008): it
    /// prints the texts it was issued with, none of the mentions added since, and carries no
    /// CII XML (its parties have no structured addresses to put in one).
    pub legacy: Option<LegacyTerms>,
}

/// The free texts a document issued before migration 0008 printed, kept as they were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyTerms {
    /// E.g. "TVA non applicable, art. 293 B du CGI", as typed in the settings then.
    pub vat_mention: String,
    /// E.g. "trois fois le taux d'intérêt légal".
    pub late_penalty_rate: String,
}

/// The category of the operation (a 2026 mention): from the lines' natures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationCategory {
    Goods,
    Services,
    Mixed,
}

impl OperationCategory {
    pub fn of(lines: &[DocLine]) -> OperationCategory {
        let goods = lines.iter().any(|l| l.nature == Nature::Goods);
        let services = lines.iter().any(|l| l.nature == Nature::Services);
        match (goods, services) {
            (true, true) => OperationCategory::Mixed,
            (true, false) => OperationCategory::Goods,
            (false, _) => OperationCategory::Services,
        }
    }

    /// "Livraison de biens" / "Prestation de services" / "Opération mixte".
    pub fn label(self) -> &'static str {
        match self {
            OperationCategory::Goods => wording::t("category.goods"),
            OperationCategory::Services => wording::t("category.services"),
            OperationCategory::Mixed => wording::t("category.mixed"),
        }
    }
}

impl VatRegime {
    /// The mention printed on the document, e.g. "TVA non applicable, art. 293 B du CGI".
    pub fn mention(self) -> &'static str {
        match self {
            VatRegime::Franchise => wording::t("vat.franchise"),
        }
    }
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

    /// "Bien" / "Service", in an invoice's lines.
    pub fn short_label(self) -> &'static str {
        match self {
            Nature::Goods => wording::t("nature.goods.short"),
            Nature::Services => wording::t("nature.services.short"),
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
    /// The state of the whole book when exported: verified, and the closure
    /// that anchors it. Printed on the PDF and in the seal CSV.
    pub seal: Option<BookSeal>,
}

/// What an export says of the book it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookSeal {
    pub verified_on: NaiveDate,
    pub lines: i64,
    pub closures: i64,
    pub closure: Option<SealedClosure>,
    /// Lines entered after that closure (signed, not yet closed).
    pub lines_after: i64,
    /// The book's public key (hex) and its fingerprint.
    pub public_key: String,
    pub fingerprint: String,
}

/// The closure an export stops at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedClosure {
    pub number: i64,
    /// « journée du 06/12/2026 ».
    pub label: String,
    pub period_end: NaiveDate,
    pub book_seq: i64,
    pub book_hash: String,
    /// Per currency: the perpetual grand total, and in absolute value.
    pub grand_totals: Vec<(Money, Money)>,
    pub signature: String,
}

impl BookSeal {
    /// The seal in sentences, as printed.
    pub fn sentences(&self) -> Vec<String> {
        let mut out = vec![fill(
            "book.seal.verified",
            &[
                ("date", &date_fr(self.verified_on)),
                ("lines", &self.lines.to_string()),
                ("closures", &self.closures.to_string()),
            ],
        )];
        match &self.closure {
            Some(c) => {
                out.push(fill(
                    "book.seal.closure",
                    &[
                        ("number", &c.number.to_string()),
                        ("label", &c.label),
                        ("seq", &c.book_seq.to_string()),
                        ("hash", &c.book_hash),
                    ],
                ));
                for (total, absolute) in &c.grand_totals {
                    out.push(fill(
                        "book.seal.grand_total",
                        &[
                            ("date", &date_fr(c.period_end)),
                            ("total", &total.format_fr()),
                            ("absolute", &absolute.format_fr()),
                        ],
                    ));
                }
                out.push(fill("book.seal.signature", &[("signature", &c.signature)]));
            }
            None => out.push(t("book.seal.none").to_string()),
        }
        if self.lines_after > 0 {
            let key = if self.closure.is_some() {
                "book.seal.after"
            } else {
                "book.seal.unclosed"
            };
            out.push(fill(key, &[("count", &self.lines_after.to_string())]));
        }
        out.push(fill(
            "book.seal.key",
            &[("key", &self.public_key), ("fingerprint", &self.fingerprint)],
        ));
        out.push(fill("book.seal.check", &[("key", &self.public_key)]));
        out
    }
}

/// `22/11/2026`.
fn date_fr(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

/// "75011 Paris", then the country name when it is not France.
fn city_line(address: &PostalAddress) -> String {
    let city = format!("{} {}", address.postcode.trim(), address.city.trim());
    let country = address.country.trim();
    if country.is_empty() || country.eq_ignore_ascii_case("FR") {
        city.trim().to_string()
    } else {
        format!("{} ({})", city.trim(), country.to_uppercase())
    }
}

/// The lines of an address as printed: street lines, then postcode and city.
fn address_lines(address: &PostalAddress) -> Vec<String> {
    let mut lines: Vec<String> = address
        .lines
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let city = city_line(address);
    if !city.is_empty() {
        lines.push(city);
    }
    lines
}

/// `10,00` for a percentage: two decimals, French comma.
fn percent_fr(rate: Decimal) -> String {
    format!("{:.2}", rate.round_dp(2)).replace('.', ",")
}

/// "Jeanne Martin EI – SIREN 123 456 789" for page footers, or the name alone.
fn identity(party: &Party) -> String {
    match party.siren.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(siren) => wording::fill("common.footer", &[("seller", &party.name), ("siren", siren)]),
        None => party.name.clone(),
    }
}
