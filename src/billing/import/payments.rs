//! A bank's CSV export: date, libellé, montant (or crédit and débit), and
//! optionally mode and référence, read into the statement lines every bank
//! import shares ([`super::bank`]): a credit that matches one issued invoice
//! exactly becomes a payment on the row's date; any other credit waits for
//! the operator; debits are skipped. A row that cannot be read refuses the
//! file, named by its line.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::bank::{self, Direction, Read, Statement, StatementLine};
use super::chunk::Ctx;
use super::decode::{header_key, parse_amount, parse_date, words};
use super::rows::Rows;
use super::{check_cells, field, reason, sha256_hex, Header, ImportError};
use crate::billing::bank::Source;
use crate::billing::dates::{self, ReceiptBounds};
use crate::billing::payments::PaymentMethod;
use crate::billing::{settings, BillingError};
use crate::input::Lines;
use crate::money::{Currency, Money};
use crate::store::StoreError;

const DATE: &str = "date dateoperation datedoperation datedeloperation dateop datecomptable datecompta \
operationdate transactiondate bookingdate datedereception datevaleur datedevaleur valuedate";
const LABEL: &str = "libelle label libelleoperation libelledeloperation libellesimplifie libellecomplet description \
intitule details detail motif objet communication memo";
const REFERENCE: &str = "reference ref references referenceoperation numerodefacture numerofacture nfacture facture \
invoice invoicenumber invoiceno informationscomplementaires informationcomplementaire";
const AMOUNT: &str = "montant amount montanteur montanteuros montanteneur montanteneuros somme";
const CREDIT: &str = "credit credits crediteur crediteuros creditseuros encaissement encaissements recette recettes \
entree entrees";
const DEBIT: &str = "debit debits debiteur debiteuros debitseuros decaissement decaissements depense depenses \
sortie sorties";
const METHOD: &str = "mode modedepaiement modepaiement modedereglement modereglement moyendepaiement moyenpaiement \
reglement method paymentmethod typedepaiement typepaiement";

/// Whether a line looks like the header of a bank export.
pub(super) fn recognizes(fields: &[String]) -> bool {
    let keys: Vec<String> = fields.iter().map(|f| header_key(f)).collect();
    let has = |aliases: &str| aliases.split_whitespace().any(|a| keys.iter().any(|k| k == a));
    has(DATE) && (has(AMOUNT) || has(CREDIT))
}

struct Columns {
    /// Today by the database clock (no row is dated after it), and the
    /// closed period of the livre de recettes when the run began.
    bounds: ReceiptBounds,
    date: usize,
    label: Option<usize>,
    reference: Option<usize>,
    amount: Option<usize>,
    credit: Option<usize>,
    debit: Option<usize>,
    method: Option<usize>,
}

/// One row of the statement; a negative amount is a debit.
struct BankLine {
    date: NaiveDate,
    amount: Money,
    label: String,
    reference: String,
    method: Option<PaymentMethod>,
}

/// A payment method named in French or English, or by its code.
pub(super) fn method_in(text: &str) -> Option<PaymentMethod> {
    if let Ok(m) = PaymentMethod::parse(text.trim().to_ascii_lowercase().as_str()) {
        return Some(m);
    }
    words(text).split(' ').find_map(|w| match w {
        "vir" | "virt" | "virement" | "virements" | "transfer" | "wire" | "sct" => Some(PaymentMethod::Transfer),
        "chq" | "cheq" | "cheque" | "cheques" | "check" => Some(PaymentMethod::Cheque),
        "esp" | "espece" | "especes" | "liquide" | "cash" => Some(PaymentMethod::Cash),
        "cb" | "carte" | "card" | "tpe" => Some(PaymentMethod::Card),
        "prlv" | "prel" | "prelevement" | "prelevements" | "sdd" => Some(PaymentMethod::SepaDebit),
        "paypal" => Some(PaymentMethod::Paypal),
        _ => None,
    })
}

impl Columns {
    fn new(h: &Header, bounds: ReceiptBounds) -> Result<Columns, ImportError> {
        let c = Columns {
            bounds,
            date: h.require(DATE, "\"date\"")?,
            label: h.find(LABEL),
            reference: h.find(REFERENCE),
            amount: h.find(AMOUNT),
            credit: h.find(CREDIT),
            debit: h.find(DEBIT),
            method: h.find(METHOD),
        };
        if c.label.is_none() && c.reference.is_none() {
            return Err(h.missing("\"libellé\" / \"label\" (ou \"référence\")"));
        }
        if c.amount.is_none() && c.credit.is_none() {
            return Err(h.missing("\"montant\" / \"amount\" (ou \"crédit\" et \"débit\")"));
        }
        Ok(c)
    }

    fn parse(&self, h: &Header, record: &csv::StringRecord, currency: Currency) -> Result<BankLine, String> {
        let col = |i: usize, message: String| format!("{} : {message}", h.name(i));
        // Banks write labels over several lines; every other cell is one line.
        check_cells(
            h,
            record,
            &[
                (Some(self.date), Lines::One),
                (self.label, Lines::Many),
                (self.reference, Lines::Many),
                (self.amount, Lines::One),
                (self.credit, Lines::One),
                (self.debit, Lines::One),
                (self.method, Lines::One),
            ],
        )?;
        let amount_in = |i: usize| -> Result<Option<Decimal>, String> {
            match field(record, Some(i)) {
                "" => Ok(None),
                text => parse_amount(text).map(Some).map_err(|m| col(i, m)),
            }
        };
        let date = parse_date(field(record, Some(self.date))).map_err(|m| col(self.date, m))?;
        // Every row is dated in the past; only a row that pays an invoice
        // must be out of the closed period (see `import`).
        let past = ReceiptBounds {
            closed_until: None,
            issued_on: None,
            ..self.bounds
        };
        dates::received_on(date, &past).map_err(|e| col(self.date, reason(e)))?;
        let (amount, column) = match (self.amount, self.credit) {
            (Some(i), _) => (amount_in(i)?.ok_or_else(|| col(i, "est vide".into()))?, i),
            (None, Some(c)) => {
                let debit = match self.debit {
                    Some(d) => amount_in(d)?.filter(|v| !v.is_zero()).map(|v| (-v.abs(), d)),
                    None => None,
                };
                match (amount_in(c)?.filter(|v| !v.is_zero()), debit) {
                    (Some(v), None) => (v, c),
                    (None, Some(d)) => d,
                    (None, None) => {
                        return Err(format!("aucun montant dans « {} » ni dans la colonne débit", h.name(c)))
                    }
                    (Some(_), Some(_)) => return Err("les colonnes crédit et débit ont toutes deux un montant".into()),
                }
            }
            (None, None) => return Err("aucune colonne de montant".into()),
        };
        let amount = Money::from_decimal(amount, currency).map_err(|e| col(column, e.to_string()))?;
        let method = match self.method.map(|i| (i, field(record, Some(i)))) {
            Some((i, text)) if !text.is_empty() => Some(method_in(text).ok_or_else(|| {
                col(
                    i,
                    format!("« {text} » n'est pas un moyen de paiement (virement, chèque, espèces, carte, prélèvement, PayPal)"),
                )
            })?),
            _ => None,
        };
        Ok(BankLine {
            date,
            amount,
            label: field(record, self.label)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            reference: field(record, self.reference)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            method,
        })
    }
}

/// The CSV export as a [`Statement`]: each row read with the line it starts
/// on, and the key that makes it count once: a hash of its date, amount,
/// label and reference, and of how many identical rows came before it in the
/// file (two equal transfers on one day are two payments).
struct CsvStatement {
    rows: Rows,
    header: Header,
    columns: std::sync::Arc<Columns>,
    currency: Currency,
    occurrences: HashMap<String, u32>,
}

impl CsvStatement {
    fn key(&mut self, line: &BankLine) -> String {
        let base = sha256_hex(
            format!(
                "{}|{}|{}|{}",
                line.date,
                line.amount.minor,
                words(&line.label),
                words(&line.reference)
            )
            .as_bytes(),
        );
        let n = self.occurrences.entry(base.clone()).or_insert(0);
        *n += 1;
        format!("payment:{}", sha256_hex(format!("{base}#{n}").as_bytes()))
    }
}

impl Statement for CsvStatement {
    fn next_line(&mut self) -> Result<Option<Read>, ImportError> {
        let Some((line, record)) = self.rows.next()? else {
            return Ok(None);
        };
        let parsed = match self.header.misfit(record) {
            Some(message) => Err(message),
            None => self.columns.parse(&self.header, record, self.currency),
        };
        let bank = match parsed {
            Ok(bank) => bank,
            Err(message) => return Ok(Some((line, Err(message)))),
        };
        let key = self.key(&bank);
        let text = format!("{} {}", bank.label, bank.reference).trim().to_string();
        let method = bank
            .method
            .or_else(|| method_in(&bank.label))
            .unwrap_or(PaymentMethod::Transfer);
        Ok(Some((
            line,
            Ok(StatementLine {
                key,
                source: Source::Csv,
                direction: if bank.amount.minor < 0 {
                    Direction::Debit
                } else {
                    Direction::Credit
                },
                booked: true,
                account: None,
                booking_date: bank.date,
                value_date: None,
                amount: Money::new(bank.amount.minor.abs(), bank.amount.currency),
                payer_name: None,
                payer_iban: None,
                remittance: text,
                creditor_reference: None,
                bank_reference: Some(bank.reference.chars().take(200).collect::<String>()).filter(|r| !r.is_empty()),
                method,
            }),
        )))
    }
}

pub(super) async fn import(
    ctx: &mut Ctx<'_>,
    open: impl Fn() -> Result<(Rows, Header), ImportError>,
) -> Result<(), ImportError> {
    let (_, header) = open()?;
    let bounds = match ReceiptBounds::now(ctx.store, None).await {
        Ok(b) => b,
        Err(BillingError::Store(e)) => return Err(e.into()),
        Err(other) => return Err(StoreError::Corrupt(other.to_string()).into()),
    };
    let columns = std::sync::Arc::new(Columns::new(&header, bounds)?);
    let currency = match settings::load(ctx.store).await {
        Ok(s) => s.currency,
        Err(BillingError::Store(e)) => return Err(e.into()),
        Err(_) => Currency::EUR,
    };
    bank::import(ctx, || {
        let (rows, header) = open()?;
        Ok(CsvStatement {
            rows,
            header,
            columns: columns.clone(),
            currency,
            occurrences: HashMap::new(),
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_methods() {
        assert_eq!(method_in("Virement"), Some(PaymentMethod::Transfer));
        assert_eq!(method_in("chèque"), Some(PaymentMethod::Cheque));
        assert_eq!(method_in("Espèces"), Some(PaymentMethod::Cash));
        assert_eq!(method_in("Carte bancaire"), Some(PaymentMethod::Card));
        assert_eq!(method_in("sepa_debit"), Some(PaymentMethod::SepaDebit));
        assert_eq!(method_in("REMISE CHQ 1234567"), Some(PaymentMethod::Cheque));
        assert_eq!(method_in("bitcoin"), None);
    }
}
