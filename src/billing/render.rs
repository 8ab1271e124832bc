//! From the domain to printable documents: an issued invoice (as frozen in its
//! snapshot) to an `InvoiceDoc`, livre de recettes lines to `RevenueLine`s.

use chrono::{Datelike, NaiveDate};

use super::catalog::Nature;
use super::documents::{self as doc, DocKind, DocLine, InvoiceDoc, Party, RevenueBookDoc, RevenueLine};
use super::error::BillingError;
use super::invoices::{self, Invoice, InvoiceKind};
use super::payments::PaymentMethod;
use super::revenue_book::{self, BookLine};
use super::settings;
use crate::store::Store;

impl From<Nature> for doc::Nature {
    fn from(n: Nature) -> Self {
        match n {
            Nature::Goods => doc::Nature::Goods,
            Nature::Services => doc::Nature::Services,
        }
    }
}

fn payment_terms(days: i32) -> String {
    if days == 0 {
        "Paiement à réception de la facture".to_string()
    } else {
        format!("Paiement à {days} jours à compter de la date d'émission")
    }
}

/// The printable form of an issued invoice or credit note; `credited` is the
/// invoice a credit note corrects.
pub fn invoice_document(invoice: &Invoice, credited: Option<&Invoice>) -> Result<InvoiceDoc, BillingError> {
    let draft = || {
        BillingError::Conflict(format!(
            "invoice {} is a draft: only issued documents print",
            invoice.id
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
        (InvoiceKind::CreditNote, Some(original)) => Some((
            original.reference.clone().unwrap_or_default(),
            original
                .issue_date
                .ok_or_else(|| BillingError::Conflict("credited invoice has no date".into()))?,
        )),
        (InvoiceKind::CreditNote, None) => {
            return Err(BillingError::Conflict(format!(
                "credit note {number} needs the invoice it corrects"
            )))
        }
        (InvoiceKind::Invoice, _) => None,
    };
    Ok(InvoiceDoc {
        kind: match invoice.kind {
            InvoiceKind::Invoice => DocKind::Invoice,
            InvoiceKind::CreditNote => DocKind::CreditNote,
        },
        number,
        issue_date,
        due_date,
        seller: Party {
            name: seller.seller_name.clone(),
            address_lines: seller.address.printed_lines(),
            siren: Some(seller.siren.clone()),
            email: seller.email.clone(),
        },
        customer: Party {
            name: customer.name.clone(),
            address_lines: customer.address.printed_lines(),
            siren: customer.siren.clone(),
            email: customer.email.clone(),
        },
        customer_is_business: customer.business,
        lines: invoice
            .lines
            .iter()
            .map(|l| DocLine {
                description: l.description.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
                total: l.total,
            })
            .collect(),
        total: invoice.total,
        vat_mention: seller.vat_mention.clone(),
        payment_terms: payment_terms(seller.payment_terms_days),
        late_penalty_rate: seller.late_penalty_rate.to_string(),
        credited,
        paid_on: None,
    })
}

/// The PDF of invoice or credit note `id`.
pub async fn invoice_pdf(store: &Store, id: i64) -> Result<Vec<u8>, BillingError> {
    let invoice = invoices::get(store, id).await?;
    let credited = match invoice.credited_invoice_id {
        Some(original) => Some(invoices::get(store, original).await?),
        None => None,
    };
    let document = invoice_document(&invoice, credited.as_ref())?;
    doc::invoice_pdf(&document).map_err(|e| BillingError::Document(e.to_string()))
}

/// The CII XML (Factur-X, profile EN 16931) of issued invoice or credit note
/// `id`: what its PDF embeds as `factur-x.xml`. A draft has none (conflict).
///
/// PLACEHOLDER until branch h10-facturx lands: the XML writer
/// (`documents::invoice_cii_xml(&InvoiceDoc)`) does not exist on this branch,
/// so an issued document answers a document error; at merge the last line
/// becomes `doc::invoice_cii_xml(&document).map_err(|e| BillingError::Document(e.to_string()))`.
pub async fn invoice_xml(store: &Store, id: i64) -> Result<Vec<u8>, BillingError> {
    let invoice = invoices::get(store, id).await?;
    let credited = match invoice.credited_invoice_id {
        Some(original) => Some(invoices::get(store, original).await?),
        None => None,
    };
    let document = invoice_document(&invoice, credited.as_ref())?;
    Err(BillingError::Document(format!(
        "the CII XML of {} cannot be written yet (no XML writer in this build)",
        document.number
    )))
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
        const MONTHS: [&str; 12] = [
            "Janvier",
            "Février",
            "Mars",
            "Avril",
            "Mai",
            "Juin",
            "Juillet",
            "Août",
            "Septembre",
            "Octobre",
            "Novembre",
            "Décembre",
        ];
        match self {
            BookPeriod::Year(y) => format!("Année {y}"),
            BookPeriod::Quarter(y, q) => format!("T{q} {y}"),
            BookPeriod::Month(y, m) => format!("{} {y}", MONTHS.get(m as usize - 1).copied().unwrap_or("?")),
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
                format!("{text:?} is not a year, quarter or month (2026, 2026-Q1, 2026-11)"),
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

/// The livre de recettes of a period as CSV and PDF, with its totals.
pub struct BookExport {
    pub csv: Vec<u8>,
    pub pdf: Vec<u8>,
    pub totals: doc::RevenueTotals,
    pub lines: usize,
}

pub async fn export_book(store: &Store, period: BookPeriod) -> Result<BookExport, BillingError> {
    let (from, to) = period
        .bounds()
        .ok_or_else(|| super::error::invalid("period", "out of range"))?;
    super::dates::period(from, super::dates::today(store).await?)?;
    let seller = settings::load(store).await?;
    let lines: Vec<RevenueLine> = revenue_book::list(store, from, to)
        .await?
        .iter()
        .map(revenue_line)
        .collect();
    let book = RevenueBookDoc {
        seller: Party {
            name: seller.seller_name.clone(),
            address_lines: seller.address.printed_lines(),
            siren: Some(seller.siren.clone()),
            email: seller.email.clone(),
        },
        title_period: period.label(),
        lines,
    };
    let pdf = doc::revenue_book_pdf(&book).map_err(|e| BillingError::Document(e.to_string()))?;
    Ok(BookExport {
        csv: doc::revenue_book_csv(&book.lines),
        totals: doc::revenue_totals(&book.lines),
        lines: book.lines.len(),
        pdf,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
