//! From the domain to printable documents: an issued invoice (as frozen in its
//! snapshot) to an `InvoiceDoc`, livre de recettes lines to `RevenueLine`s.

use chrono::{Datelike, NaiveDate};

use super::catalog::Nature;
use rust_decimal::Decimal;
use sha2::Digest;

use super::address::PostalAddress;
use super::documents::{
    self as doc, BankAccount, CreditSettlement, Credited, DocKind, DocLine, ElectronicAddress, InvoiceDoc, LegacyTerms,
    Party, RevenueBookDoc, RevenueLine, ServiceDate,
};
use super::error::BillingError;
use super::invoices::{self, Invoice, InvoiceKind, LatePenaltyRate};
use super::payments::{self, PaymentMethod};
use super::refunds::{self, Refund};
use super::revenue_book::{self, BookLine};
use super::settings;
use super::settings::VatRegime;
use crate::store::Store;
use crate::text;

impl From<Nature> for doc::Nature {
    fn from(n: Nature) -> Self {
        match n {
            Nature::Goods => doc::Nature::Goods,
            Nature::Services => doc::Nature::Services,
        }
    }
}

/// A domain address as the documents print it.
fn postal(address: &PostalAddress) -> doc::PostalAddress {
    doc::PostalAddress {
        lines: address.lines.clone(),
        postcode: address.postcode.clone(),
        city: address.city.clone(),
        country: address.country.clone(),
    }
}

/// An electronic address given with its scheme (the seller's always, a customer's when set).
fn electronic(value: Option<&str>, scheme: Option<&str>) -> Option<ElectronicAddress> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    Some(ElectronicAddress {
        scheme: scheme
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(settings::SIREN_SCHEME)
            .to_string(),
        value: value.to_string(),
    })
}

fn payment_terms(days: i32) -> String {
    if days == 0 {
        "Paiement à réception de la facture".to_string()
    } else {
        format!("Paiement à {days} jours à compter de la date d'émission")
    }
}

/// The date of the sale or service: the period when the invoice names one, else its date,
/// else (documents issued before it was asked) the issue date.
fn service_date(invoice: &Invoice, issue_date: NaiveDate) -> ServiceDate {
    match (invoice.service_period_start, invoice.service_period_end) {
        (Some(start), Some(end)) => ServiceDate::Period { start, end },
        _ => ServiceDate::Day(invoice.service_date.unwrap_or(issue_date)),
    }
}

/// The printable form of an issued invoice or credit note; `credited` is the invoice a credit
/// note corrects, `refund` the completed refund that issued it (if it came from one).
pub fn invoice_document(
    invoice: &Invoice,
    credited: Option<&Invoice>,
    refund: Option<(&Refund, PaymentMethod)>,
) -> Result<InvoiceDoc, BillingError> {
    let draft = || {
        BillingError::Conflict(text!(
            "la facture #{invoice} est un brouillon : seuls les documents émis s'impriment",
            invoice = invoice.id
        ))
    };
    let snapshot = invoice.snapshot.as_ref().ok_or_else(draft)?;
    let (number, issue_date, due_date) = match (&invoice.reference, invoice.issue_date, invoice.due_date) {
        (Some(r), Some(i), Some(d)) => (r.clone(), i, d),
        _ => return Err(draft()),
    };
    let seller = &snapshot.seller;
    let customer = &snapshot.customer;
    let credited = match (invoice.kind, credited) {
        (InvoiceKind::CreditNote, Some(original)) => Some(Credited {
            number: original.reference.clone().unwrap_or_default(),
            issue_date: original
                .issue_date
                .ok_or_else(|| BillingError::Conflict(text!("la facture créditée n'a pas de date")))?,
            settlement: match refund.and_then(|(r, method)| Some((r.refunded_on?, method))) {
                Some((on, method)) => CreditSettlement::Refunded {
                    on,
                    method: method.label_fr().to_lowercase(),
                },
                None => CreditSettlement::Credit,
            },
        }),
        (InvoiceKind::CreditNote, None) => {
            return Err(BillingError::Conflict(text!(
                "l'avoir {number} a besoin de la facture qu'il corrige",
                number = number
            )))
        }
        (InvoiceKind::Invoice, _) => None,
    };
    let kind = match invoice.kind {
        InvoiceKind::Invoice => DocKind::Invoice,
        InvoiceKind::CreditNote => DocKind::CreditNote,
    };
    // Issued before migration 0008: no regime, the texts typed then.
    let legacy = match seller.vat_regime {
        Some(_) => None,
        None => Some(LegacyTerms {
            vat_mention: seller.vat_mention.clone(),
            late_penalty_rate: seller.late_penalty_rate.to_string(),
        }),
    };
    let late_penalty_rate = match &seller.late_penalty_rate {
        LatePenaltyRate::Percent { percent } => *percent,
        LatePenaltyRate::Text(_) => Decimal::ZERO,
    };
    Ok(InvoiceDoc {
        kind,
        number,
        issue_date,
        due_date: (kind == DocKind::Invoice).then_some(due_date),
        seller: Party {
            name: seller.seller_name.clone(),
            address: postal(&seller.address),
            siren: Some(seller.siren.clone()),
            email: seller.email.clone(),
            electronic_address: electronic(
                seller.electronic_address.as_deref(),
                seller.electronic_address_scheme.as_deref(),
            ),
            vat_number: None,
        },
        customer: Party {
            name: customer.name.clone(),
            address: postal(&customer.address),
            siren: customer.siren.clone(),
            email: customer.email.clone(),
            electronic_address: electronic(
                customer.electronic_address.as_deref(),
                customer.electronic_address_scheme.as_deref(),
            ),
            vat_number: None,
        },
        customer_is_business: customer.business,
        lines: invoice
            .lines
            .iter()
            .map(|l| DocLine {
                description: l.description.clone(),
                nature: l.nature.into(),
                quantity: l.quantity,
                unit: l.unit.map(|u| doc::LineUnit {
                    code: u.code(),
                    printed: u.after_quantity_fr(l.quantity),
                }),
                unit_price: l.unit_price,
                total: l.total,
            })
            .collect(),
        total: invoice.total,
        service_date: service_date(invoice, issue_date),
        purchase_order: invoice.purchase_order.clone(),
        delivery_address: invoice.delivery_address.as_ref().map(postal),
        vat_regime: match seller.vat_regime {
            Some(VatRegime::Franchise) | None => doc::VatRegime::Franchise,
        },
        late_penalty_rate,
        discount_terms: seller
            .discount_terms
            .clone()
            .filter(|d| d.trim() != settings::NO_DISCOUNT),
        payment_terms: payment_terms(seller.payment_terms_days),
        bank_account: seller.iban.as_ref().map(|iban| BankAccount {
            iban: iban.clone(),
            bic: seller.bic.clone(),
        }),
        credited,
        paid_on: None,
        legacy,
    })
}

/// Invoice or credit note `id` as the documents print it.
async fn printable(store: &Store, id: i64) -> Result<InvoiceDoc, BillingError> {
    let invoice = invoices::get(store, id).await?;
    let credited = match invoice.credited_invoice_id {
        Some(original) => Some(invoices::get(store, original).await?),
        None => None,
    };
    let refund = match invoice.kind {
        InvoiceKind::CreditNote => match refunds::of_credit_note(store, id).await? {
            Some(refund) => {
                let method = payments::get(store, refund.payment_id).await?.method;
                Some((refund, method))
            }
            None => None,
        },
        InvoiceKind::Invoice => None,
    };
    invoice_document(&invoice, credited.as_ref(), refund.as_ref().map(|(r, m)| (r, *m)))
}

/// The PDF of invoice or credit note `id`: a Factur-X PDF (PDF/A-3 with its CII XML), or for
/// a document issued before migration 0008 the plain PDF of what it printed.
pub async fn invoice_pdf(store: &Store, id: i64) -> Result<Vec<u8>, BillingError> {
    let document = printable(store, id).await?;
    doc::invoice_pdf(&document).map_err(document_error)
}

/// The preview of draft `id`: what issuing it on `on` would print (seller, customer, dates and
/// terms as they would be frozen), marked as a draft, without number nor Factur-X XML. Refused,
/// with the reason, when the draft could not be issued as it stands.
pub async fn draft_preview_pdf(store: &Store, id: i64, on: NaiveDate) -> Result<Vec<u8>, BillingError> {
    let rehearsed = invoices::rehearse_issue(store, id, on).await?;
    let mut document = invoice_document(&rehearsed, None, None)?;
    document.number = String::new();
    doc::draft_pdf(&document).map_err(document_error)
}

/// The CII XML (Factur-X, profile EN 16931) of issued invoice or credit note `id`: what its
/// PDF embeds as `factur-x.xml`. A draft has none, nor a document issued before migration 0008
/// (its parties have no structured address): both are conflicts.
pub async fn invoice_xml(store: &Store, id: i64) -> Result<Vec<u8>, BillingError> {
    let document = printable(store, id).await?;
    if document.legacy.is_some() {
        return Err(BillingError::Conflict(text!(
            "{number} a été émis avant Factur-X : il n'a pas de XML CII, seulement son PDF",
            number = document.number
        )));
    }
    doc::invoice_cii_xml(&document).map_err(document_error)
}

/// The PDF of issued invoice or credit note `id` and its CII XML, rendered
/// once: none for a document issued before Factur-X (migration 0008).
pub async fn invoice_files(store: &Store, id: i64) -> Result<(Vec<u8>, Option<Vec<u8>>), BillingError> {
    let document = printable(store, id).await?;
    let pdf = doc::invoice_pdf(&document).map_err(document_error)?;
    let xml = match document.legacy {
        Some(_) => None,
        None => Some(doc::invoice_cii_xml(&document).map_err(document_error)?),
    };
    Ok((pdf, xml))
}

/// The file name of a document: `F2026-0001.pdf`; anything but letters, digits and `-_.`
/// becomes `_`, so a reference can never name another place or break a header.
pub fn file_name(reference: &str, extension: &str) -> String {
    let safe: String = reference
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.{extension}")
}

/// A document refused by the documents layer: a missing mention is a conflict the operator
/// can fix (the settings or the customer), not a server error.
fn document_error(e: doc::DocumentError) -> BillingError {
    match e {
        doc::DocumentError::MissingMention(_) | doc::DocumentError::Invalid { .. } => {
            BillingError::Conflict(crate::i18n::Text::verbatim(e.to_string()))
        }
        other => BillingError::Document(other.to_string()),
    }
}

pub fn revenue_line(l: &BookLine) -> RevenueLine {
    let method = PaymentMethod::parse(&l.line.method)
        .map(PaymentMethod::label_fr)
        .unwrap_or(l.line.method.as_str());
    RevenueLine {
        date: l.line.received_on,
        client: l.line.client_name.clone(),
        nature: l.line.nature.into(),
        amount: l.line.amount,
        method: method.to_string(),
        is_cash: l.is_cash(),
        reference: match &l.line.credit_note_reference {
            Some(credit) => format!("{credit} (avoir sur {})", l.line.invoice_reference),
            None => l.line.invoice_reference.clone(),
        },
    }
}

/// A span of the livre de recettes: a year, a quarter or a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookPeriod {
    Year(i32),
    Quarter(i32, u32),
    Month(i32, u32),
}

impl BookPeriod {
    pub fn bounds(self) -> Option<(NaiveDate, NaiveDate)> {
        let (start, months) = match self {
            BookPeriod::Year(y) => (NaiveDate::from_ymd_opt(y, 1, 1)?, 12),
            BookPeriod::Quarter(y, q) if (1..=4).contains(&q) => (NaiveDate::from_ymd_opt(y, (q - 1) * 3 + 1, 1)?, 3),
            BookPeriod::Month(y, m) => (NaiveDate::from_ymd_opt(y, m, 1)?, 1),
            BookPeriod::Quarter(..) => return None,
        };
        Some((
            start,
            start.checked_add_months(chrono::Months::new(months))?.pred_opt()?,
        ))
    }

    pub fn label(self) -> String {
        fn capitalised(word: &str) -> String {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
        match self {
            BookPeriod::Year(y) => format!("Année {y}"),
            BookPeriod::Quarter(y, q) => format!("T{q} {y}"),
            BookPeriod::Month(y, m) => format!("{} {y}", capitalised(super::dates::month_fr(m))),
        }
    }

    /// `2026`, `2026-Q1`, `2026-11`.
    pub fn key(self) -> String {
        match self {
            BookPeriod::Year(y) => format!("{y}"),
            BookPeriod::Quarter(y, q) => format!("{y}-Q{q}"),
            BookPeriod::Month(y, m) => format!("{y}-{m:02}"),
        }
    }

    pub fn parse(text: &str) -> Result<BookPeriod, BillingError> {
        let bad = || {
            super::error::invalid(
                "period",
                text!(
                    "« {text} » n'est ni une année, ni un trimestre, ni un mois (2026, 2026-Q1, 2026-11)",
                    text = text.trim()
                ),
            )
        };
        let t = text.trim();
        let period = match t.split_once('-') {
            None => BookPeriod::Year(t.parse().map_err(|_| bad())?),
            Some((y, rest)) => {
                let year = y.parse().map_err(|_| bad())?;
                match rest.strip_prefix('Q').or_else(|| rest.strip_prefix('T')) {
                    Some(q) => BookPeriod::Quarter(year, q.parse().map_err(|_| bad())?),
                    None => BookPeriod::Month(year, rest.parse().map_err(|_| bad())?),
                }
            }
        };
        period.bounds().ok_or_else(bad)?;
        Ok(period)
    }

    pub fn of_today(today: NaiveDate) -> BookPeriod {
        BookPeriod::Year(today.year())
    }
}

/// The livre de recettes of a period: its lines (CSV), its quarterly and
/// yearly totals (CSV), the PDF of both, and the seal (CSV) that carries the
/// closure the export stops at, its signature, the book's public key, the
/// SHA-256 of the other three files and the key's signature of them.
pub struct BookExport {
    pub csv: Vec<u8>,
    pub totals_csv: Vec<u8>,
    pub pdf: Vec<u8>,
    pub seal_csv: Vec<u8>,
    pub totals: doc::RevenueTotals,
    pub lines: usize,
    pub verification: super::book_check::Verification,
}

impl BookExport {
    /// The files' names for `period`, in the order: lines, totals, PDF, seal.
    pub fn file_names(period: BookPeriod) -> [String; 4] {
        let base = format!("livre-de-recettes-{}", period.key());
        [
            format!("{base}.csv"),
            format!("{base}-totaux.csv"),
            format!("{base}.pdf"),
            format!("{base}-scellement.csv"),
        ]
    }
}

/// Exports the book of `period`, after verifying the whole book: a book that
/// fails verification is refused ([`BillingError::BookAltered`], with what was found).
pub async fn export_book(store: &Store, period: BookPeriod) -> Result<BookExport, BillingError> {
    let (from, to) = period
        .bounds()
        .ok_or_else(|| super::error::invalid("period", text!("date hors limites")))?;
    let today = super::dates::today(store).await?;
    super::dates::period(from, today)?;
    let key = super::seal::key_of(store)?;
    let verification = super::book_check::verify_with(store, key.public()).await?;
    if !verification.is_intact() {
        tracing::warn!(
            findings = verification.findings.len(),
            "livre de recettes export refused: the book fails verification"
        );
        return Err(BillingError::BookAltered(verification.summary()));
    }
    let seller = settings::load(store).await?;
    let seal = book_seal(&verification, today)?;
    let lines: Vec<RevenueLine> = revenue_book::list(store, from, to)
        .await?
        .iter()
        .map(revenue_line)
        .collect();
    let book = RevenueBookDoc {
        seller: Party {
            name: seller.seller_name.clone(),
            address: postal(&seller.address),
            siren: Some(seller.siren.clone()),
            email: seller.email.clone(),
            electronic_address: electronic(
                Some(&seller.electronic_address),
                Some(&seller.electronic_address_scheme),
            ),
            vat_number: None,
        },
        title_period: period.label(),
        lines,
        seal: Some(seal.clone()),
    };
    let pdf = doc::revenue_book_pdf(&book).map_err(|e| BillingError::Document(e.to_string()))?;
    let csv = doc::revenue_book_csv(&book.lines);
    let totals = doc::revenue_totals(&book.lines);
    let totals_csv = doc::revenue_totals_csv(&totals);
    let [csv_name, totals_name, pdf_name, _] = BookExport::file_names(period);
    let files: Vec<(String, String)> = [(csv_name, &csv), (totals_name, &totals_csv), (pdf_name, &pdf)]
        .into_iter()
        .map(|(name, bytes)| (name, super::seal::hex(&sha2::Sha256::digest(bytes))))
        .collect();
    let files_signature = key.sign(doc::files_message(&files).as_bytes());
    let seal_csv = doc::book_seal_csv(&seal, &files, &files_signature);
    Ok(BookExport {
        lines: book.lines.len(),
        csv,
        totals_csv,
        pdf,
        seal_csv,
        totals,
        verification,
    })
}

/// What an export prints of the verified book and its last closure.
fn book_seal(v: &super::book_check::Verification, today: NaiveDate) -> Result<doc::BookSeal, BillingError> {
    let closure = match &v.last_closure {
        None => None,
        Some(c) => Some(doc::SealedClosure {
            number: c.number,
            label: c.label(),
            period_end: c.period_end,
            book_seq: c.book_seq,
            book_hash: c.book_hash.clone(),
            grand_totals: c
                .totals()?
                .iter()
                .map(|t| {
                    let currency = t.currency.parse()?;
                    Ok((
                        crate::money::Money::new(t.grand_total, currency),
                        crate::money::Money::new(t.grand_total_abs, currency),
                    ))
                })
                .collect::<Result<_, BillingError>>()?,
            signature: c.signature.clone(),
        }),
    };
    Ok(doc::BookSeal {
        verified_on: today,
        lines: v.lines_checked,
        closures: v.closures_checked,
        closure,
        lines_after: v.lines_after_last_closure,
        public_key: v.public_key.clone(),
        fingerprint: v.fingerprint.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain() {
        assert_eq!(file_name("F2026-0001", "pdf"), "F2026-0001.pdf");
        assert_eq!(file_name("A/B\"C", "xml"), "A_B_C.xml");
    }

    #[test]
    fn periods() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            BookPeriod::parse("2026").unwrap().bounds(),
            Some((d(2026, 1, 1), d(2026, 12, 31)))
        );
        assert_eq!(
            BookPeriod::parse("2026-Q2").unwrap().bounds(),
            Some((d(2026, 4, 1), d(2026, 6, 30)))
        );
        assert_eq!(
            BookPeriod::parse("2024-02").unwrap().bounds(),
            Some((d(2024, 2, 1), d(2024, 2, 29)))
        );
        assert_eq!(BookPeriod::parse("2026-11").unwrap().label(), "Novembre 2026");
        assert!(BookPeriod::parse("2026-Q5").is_err());
        assert!(BookPeriod::parse("2026-13").is_err());
        assert!(BookPeriod::parse("soon").is_err());
    }
}
