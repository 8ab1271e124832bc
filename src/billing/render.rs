//! From the domain to printable documents: an issued invoice (as frozen in its
//! snapshot) to an `InvoiceDoc`, livre de recettes lines to `RevenueLine`s.

use chrono::{Datelike, NaiveDate};

use super::catalog::Nature;
use rust_decimal::Decimal;

use super::documents::{
    self as doc, CreditSettlement, Credited, DocKind, DocLine, InvoiceDoc, Party, PostalAddress, RevenueBookDoc,
    RevenueLine, ServiceDate, VatRegime,
};
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

/// Today's free-text address as a postal address: lines split at line breaks and commas, the
/// last part that starts with a five-digit postcode read as "75011 Paris". (Until the domain
/// stores structured addresses.)
fn postal_of(address: &str) -> PostalAddress {
    let mut parts: Vec<String> = address
        .split(['\n', '\r', ','])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let postcode_at = parts.iter().rposition(|part| {
        part.split_once(' ')
            .is_some_and(|(code, _)| code.len() == 5 && code.chars().all(|c| c.is_ascii_digit()))
    });
    let (postcode, city) = match postcode_at {
        Some(at) => {
            let part = parts.remove(at);
            let (code, city) = part.split_once(' ').unwrap_or((part.as_str(), ""));
            (code.to_string(), city.trim().to_string())
        }
        None => (String::new(), parts.pop().unwrap_or_default()),
    };
    PostalAddress {
        lines: parts,
        postcode,
        city,
        country: "FR".to_string(),
    }
}

/// The number in today's free-text rate ("10 %", "12,5"), else 10 % a year. (Until the settings
/// store the rate as a number.)
fn penalty_rate_of(text: &str) -> Decimal {
    let number: String = text
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    number.parse().unwrap_or(Decimal::new(1000, 2))
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
        (InvoiceKind::CreditNote, Some(original)) => Some(Credited {
            number: original.reference.clone().unwrap_or_default(),
            issue_date: original
                .issue_date
                .ok_or_else(|| BillingError::Conflict("credited invoice has no date".into()))?,
            // Until the lead maps the refund (date, method) of a refunded credit note.
            settlement: CreditSettlement::Credit,
        }),
        (InvoiceKind::CreditNote, None) => {
            return Err(BillingError::Conflict(format!(
                "credit note {number} needs the invoice it corrects"
            )))
        }
        (InvoiceKind::Invoice, _) => None,
    };
    let kind = match invoice.kind {
        InvoiceKind::Invoice => DocKind::Invoice,
        InvoiceKind::CreditNote => DocKind::CreditNote,
    };
    Ok(InvoiceDoc {
        kind,
        number,
        issue_date,
        due_date: (kind == DocKind::Invoice).then_some(due_date),
        seller: Party {
            name: seller.seller_name.clone(),
            address: postal_of(&seller.address),
            siren: Some(seller.siren.clone()),
            email: seller.email.clone(),
            electronic_address: None,
            vat_number: None,
        },
        customer: Party {
            name: customer.name.clone(),
            address: postal_of(&customer.address),
            siren: customer.siren.clone(),
            email: customer.email.clone(),
            electronic_address: None,
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
                unit_price: l.unit_price,
                total: l.total,
            })
            .collect(),
        total: invoice.total,
        service_date: ServiceDate::Day(issue_date),
        purchase_order: None,
        delivery_address: None,
        vat_regime: VatRegime::Franchise,
        late_penalty_rate: penalty_rate_of(&seller.late_penalty_rate),
        discount_terms: None,
        payment_terms: payment_terms(seller.payment_terms_days),
        bank_account: None,
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
            address: postal_of(&seller.address),
            siren: Some(seller.siren.clone()),
            email: seller.email.clone(),
            electronic_address: None,
            vat_number: None,
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
    fn free_text_addresses_become_postal_addresses() {
        let postal = postal_of("  Bâtiment B\r\n3 place du Marché\r69002 Lyon  ");
        assert_eq!(postal.lines, ["Bâtiment B", "3 place du Marché"]);
        assert_eq!((postal.postcode.as_str(), postal.city.as_str()), ("69002", "Lyon"));
        let postal = postal_of("12 rue des Lilas, 75011 Paris");
        assert_eq!(postal.lines, ["12 rue des Lilas"]);
        assert_eq!((postal.postcode.as_str(), postal.city.as_str()), ("75011", "Paris"));
        assert_eq!(postal_of("Papeete").city, "Papeete");
        assert_eq!(penalty_rate_of("12,5 %"), Decimal::new(125, 1));
        assert_eq!(penalty_rate_of("trois fois le taux légal"), Decimal::new(1000, 2));
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
