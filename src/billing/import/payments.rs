//! Payments received outside the providers, from a bank export: date,
//! libellé, montant (or crédit and débit), and optionally mode and référence.
//! A credit whose label or reference names one issued invoice (`F2026-0042`)
//! becomes a manual payment of it, completed on the row's date (the livre de
//! recettes takes that date). Debits, and credits that pay no invoice, are
//! skipped with a reason; paying more than an invoice still owes is an error.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::chunk::{Claim, Ctx, Pending, CHUNK_ATTEMPTS};
use super::decode::{header_key, parse_amount, parse_date, words};
use super::rows::Rows;
use super::{check_cells, field, reason, sha256_hex, Header, ImportError, CHUNK_ROWS};
use crate::audit::Actor;
use crate::billing::actions::payments::mark_backdated;
use crate::billing::dates::{self, ReceiptBounds, ReceiptDate};
use crate::billing::invoices::{self, InvoiceKind, InvoiceStatus};
use crate::billing::payments::{self, Completion, NewPayment, Payment, PaymentMethod};
use crate::billing::sql::imports as sql;
use crate::billing::{closures, settings, BillingError};
use crate::input::Lines;
use crate::money::{Currency, Money};
use crate::store::{Store, StoreError, Tx};

const ENTITY: &str = "payment";

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
fn method_in(text: &str) -> Option<PaymentMethod> {
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
            return Err(h.missing("\"libellé\" / \"label\" (or \"référence\")"));
        }
        if c.amount.is_none() && c.credit.is_none() {
            return Err(h.missing("\"montant\" / \"amount\" (or \"crédit\" and \"débit\")"));
        }
        Ok(c)
    }

    fn parse(&self, h: &Header, record: &csv::StringRecord, currency: Currency) -> Result<BankLine, String> {
        let col = |i: usize, message: String| format!("{}: {message}", h.name(i));
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
            (Some(i), _) => (amount_in(i)?.ok_or_else(|| col(i, "is empty".into()))?, i),
            (None, Some(c)) => {
                let debit = match self.debit {
                    Some(d) => amount_in(d)?.filter(|v| !v.is_zero()).map(|v| (-v.abs(), d)),
                    None => None,
                };
                match (amount_in(c)?.filter(|v| !v.is_zero()), debit) {
                    (Some(v), None) => (v, c),
                    (None, Some(d)) => d,
                    (None, None) => return Err(format!("no amount in {:?} nor in the debit column", h.name(c))),
                    (Some(_), Some(_)) => return Err("both the credit and the debit columns have an amount".into()),
                }
            }
            (None, None) => return Err("no amount column".into()),
        };
        let amount = Money::from_decimal(amount, currency).map_err(|e| col(column, e.to_string()))?;
        let method = match self.method.map(|i| (i, field(record, Some(i)))) {
            Some((i, text)) if !text.is_empty() => Some(method_in(text).ok_or_else(|| {
                col(
                    i,
                    format!("{text:?} is not a payment method (virement, chèque, espèces, carte, prélèvement, PayPal)"),
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

/// Invoice numbers written in `text`, as printed (`F2026-0042`): a series
/// (letters and digits ending with a year) then `-`, `_`, `/` or `.` and the
/// number; or glued together as banks sometimes print them (`F20260042`).
pub(crate) fn invoice_references(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let alnum = |i: usize| chars.get(i).is_some_and(|c| c.is_ascii_alphanumeric());
    let year = |digits: &str| digits.parse::<u32>().is_ok_and(|y| (1990..=2199).contains(&y));
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !alnum(i) || (i > 0 && alnum(i - 1)) {
            i += 1;
            continue;
        }
        let mut j = i;
        while alnum(j) {
            j += 1;
        }
        let token: String = chars[i..j].iter().collect::<String>().to_ascii_uppercase();
        let mut found = None;
        if matches!(chars.get(j), Some('-' | '_' | '/' | '.')) && chars.get(j + 1).is_some_and(char::is_ascii_digit) {
            let mut k = j + 1;
            while chars.get(k).is_some_and(char::is_ascii_digit) {
                k += 1;
            }
            let number: String = chars[j + 1..k].iter().collect();
            let series_ok = token.len() >= 5
                && token.len() <= 14
                && token.chars().any(|c| c.is_ascii_alphabetic())
                && year(&token[token.len() - 4..]);
            if series_ok && !alnum(k) {
                found = Some((token.clone(), number));
            }
        } else {
            let letters = token.chars().take_while(char::is_ascii_alphabetic).count();
            let digits = &token[letters..];
            if (1..=10).contains(&letters)
                && digits.len() >= 8
                && digits.chars().all(|c| c.is_ascii_digit())
                && year(&digits[..4])
            {
                found = Some((token[..letters + 4].to_string(), digits[4..].to_string()));
            }
        }
        if let Some((series, number)) = found {
            if let Ok(n) = number.parse::<i64>() {
                let reference = settings::reference(&series, n);
                if !out.contains(&reference) {
                    out.push(reference);
                }
            }
        }
        i = j;
    }
    out
}

#[derive(Debug, Clone)]
struct Found {
    id: i64,
    issued_on: Option<NaiveDate>,
    customer_id: i64,
    reference: String,
    kind: InvoiceKind,
    status: InvoiceStatus,
    balance: Money,
}

struct Plan {
    invoice_id: i64,
    customer_id: i64,
    invoice_reference: String,
    amount: Money,
    method: PaymentMethod,
    date: NaiveDate,
    bank_reference: Option<String>,
    /// What the invoice owed when the file was checked.
    balance: Money,
}

enum Decision {
    Skip(String),
    Pay(Box<Plan>),
    Bad(String),
}

/// Finds the invoice a row pays; invoices are looked up once per run.
struct Matcher {
    invoices: HashMap<String, Option<Found>>,
    occurrences: HashMap<String, u32>,
}

impl Matcher {
    /// The row's key: a hash of its date, amount, label and reference, and of
    /// how many identical rows came before it in the file (two equal
    /// transfers on one day are two payments).
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

    async fn lookup(&mut self, store: &Store, reference: &str) -> Result<Option<Found>, ImportError> {
        if let Some(found) = self.invoices.get(reference) {
            return Ok(found.clone());
        }
        let found = match sql::invoice_by_reference(store, reference).await? {
            None => None,
            Some(id) => match invoices::get(store, id).await {
                Ok(inv) => Some(Found {
                    id: inv.id,
                    issued_on: inv.issue_date,
                    customer_id: inv.customer_id,
                    reference: inv.reference.clone().unwrap_or_else(|| reference.to_string()),
                    kind: inv.kind,
                    status: inv.status,
                    balance: inv.balance_due(),
                }),
                Err(BillingError::NotFound(_)) => None,
                Err(BillingError::Store(e)) => return Err(e.into()),
                Err(other) => return Err(StoreError::Corrupt(other.to_string()).into()),
            },
        };
        self.invoices.insert(reference.to_string(), found.clone());
        Ok(found)
    }

    /// What to do with `line`; `date_column` names the column of its date,
    /// `today` is the run's.
    async fn decide(
        &mut self,
        store: &Store,
        line: &BankLine,
        date_column: &str,
        today: NaiveDate,
    ) -> Result<Decision, ImportError> {
        if line.amount.minor < 0 {
            return Ok(Decision::Skip(format!(
                "debit of {}: not a payment received",
                line.amount.negate().format_fr()
            )));
        }
        if line.amount.minor == 0 {
            return Ok(Decision::Skip("zero amount".into()));
        }
        let candidates = invoice_references(&format!("{} {}", line.label, line.reference));
        if candidates.is_empty() {
            return Ok(Decision::Skip("no invoice number in the label or reference".into()));
        }
        let (mut payable, mut why) = (Vec::new(), Vec::new());
        for reference in candidates {
            match self.lookup(store, &reference).await? {
                None => why.push(format!("no invoice {reference}")),
                Some(f) if f.kind != InvoiceKind::Invoice => why.push(format!("{} is a credit note", f.reference)),
                Some(f) if matches!(f.status, InvoiceStatus::Issued | InvoiceStatus::Paid) => payable.push(f),
                Some(f) => why.push(format!("{} is {}", f.reference, f.status.as_str())),
            }
        }
        let invoice = match payable.as_slice() {
            [] => return Ok(Decision::Skip(why.join("; "))),
            [one] => one.clone(),
            several => {
                let names: Vec<&str> = several.iter().map(|f| f.reference.as_str()).collect();
                return Ok(Decision::Skip(format!(
                    "names several invoices ({}): record this payment by hand",
                    names.join(", ")
                )));
            }
        };
        if invoice.balance.currency != line.amount.currency {
            return Ok(Decision::Bad(format!(
                "{} is in {}, the file's amounts are read as {}",
                invoice.reference, invoice.balance.currency, line.amount.currency
            )));
        }
        // The row's date was checked against today when parsed; here, against the invoice.
        let bounds = ReceiptBounds {
            today,
            issued_on: invoice.issued_on,
            closed_until: None,
        };
        if let Err(e) = dates::received_on(line.date, &bounds) {
            return Ok(Decision::Bad(format!(
                "{date_column}: paying {}: {}",
                invoice.reference,
                reason(e)
            )));
        }
        let fallback = method_in(&line.label).unwrap_or(PaymentMethod::Transfer);
        Ok(Decision::Pay(Box::new(Plan {
            invoice_id: invoice.id,
            customer_id: invoice.customer_id,
            invoice_reference: invoice.reference,
            amount: line.amount,
            method: line.method.unwrap_or(fallback),
            date: line.date,
            bank_reference: Some(line.reference.chars().take(200).collect::<String>()).filter(|r| !r.is_empty()),
            balance: invoice.balance,
        })))
    }
}

pub(super) async fn import(
    ctx: &mut Ctx<'_>,
    open: impl Fn() -> Result<(Rows, Header), ImportError>,
) -> Result<(), ImportError> {
    let (mut rows, header) = open()?;
    let bounds = match ReceiptBounds::now(ctx.store, None).await {
        Ok(b) => b,
        Err(BillingError::Store(e)) => return Err(e.into()),
        Err(other) => return Err(StoreError::Corrupt(other.to_string()).into()),
    };
    let columns = Columns::new(&header, bounds)?;
    let date_column = header.name(columns.date).to_string();
    let currency = match settings::load(ctx.store).await {
        Ok(s) => s.currency,
        Err(BillingError::Store(e)) => return Err(e.into()),
        Err(_) => Currency::EUR,
    };
    let mut matcher = Matcher {
        invoices: HashMap::new(),
        occurrences: HashMap::new(),
    };

    // Pass one: every row is checked, including what each invoice still owes.
    let mut planned: HashMap<i64, i64> = HashMap::new();
    while let Some((line, record)) = rows.next()? {
        ctx.tally.total += 1;
        let parsed = match header.misfit(record) {
            Some(message) => Err(message),
            None => columns.parse(&header, record, currency),
        };
        let bank = match parsed {
            Ok(bank) => bank,
            Err(message) => {
                ctx.tally.error(line, message);
                continue;
            }
        };
        let key = matcher.key(&bank);
        match matcher.decide(ctx.store, &bank, &date_column, bounds.today).await? {
            Decision::Skip(_) => {}
            Decision::Bad(message) => ctx.tally.error(line, message),
            Decision::Pay(plan) if sql::key_holder(ctx.store, &key).await?.is_none() => {
                let before = planned.get(&plan.invoice_id).copied().unwrap_or(0);
                // A receipt to record, not one recorded by an earlier import:
                // it may not enter a closed period of the livre de recettes.
                if let Some(closed) = bounds.closed_until.filter(|c| plan.date <= *c) {
                    let refusal = reason(closures::in_closed_period(plan.date, closed));
                    ctx.tally.error(line, format!("{date_column}: {refusal}"));
                } else if before + plan.amount.minor > plan.balance.minor {
                    let owed = Money::new(plan.balance.minor - before, plan.balance.currency);
                    ctx.tally.error(
                        line,
                        format!(
                            "{} is more than what {} still owes ({})",
                            plan.amount.format_fr(),
                            plan.invoice_reference,
                            owed.format_fr()
                        ),
                    );
                } else {
                    planned.insert(plan.invoice_id, before + plan.amount.minor);
                }
            }
            Decision::Pay(_) => {}
        }
    }
    if ctx.tally.total == 0 {
        return Err(ImportError::NoRows);
    }
    if ctx.tally.bad_rows > 0 {
        return Ok(());
    }

    // Pass two: payments recorded and completed, a chunk per transaction.
    matcher.occurrences.clear();
    let (mut rows, _) = open()?;
    let mut chunk: Vec<Pending<Decision>> = Vec::with_capacity(CHUNK_ROWS);
    loop {
        let next = rows.next()?;
        let end = next.is_none();
        if let Some((line, record)) = next {
            let bank = match columns.parse(&header, record, currency) {
                Ok(bank) => bank,
                Err(message) => {
                    ctx.tally.error(line, message);
                    return Ok(());
                }
            };
            let key = matcher.key(&bank);
            let item = matcher.decide(ctx.store, &bank, &date_column, bounds.today).await?;
            chunk.push(Pending { line, key, item });
        }
        if chunk.len() == CHUNK_ROWS || (end && !chunk.is_empty()) {
            if !apply_chunk(ctx, &chunk, bounds.today).await? {
                return Ok(());
            }
            chunk.clear();
        }
        if end {
            return Ok(());
        }
    }
}

/// Records and completes the payment of one row. A row dated a week or more
/// back needs no one's confirmation (the bank's statement says when the money
/// came) but is marked like a confirmed one.
async fn pay(tx: &mut Tx, import_id: i64, key: &str, plan: &Plan, today: NaiveDate) -> Result<Payment, BillingError> {
    let payment = payments::initiate(
        tx,
        NewPayment {
            customer_id: plan.customer_id,
            invoice_id: Some(plan.invoice_id),
            order_id: None,
            provider: "manual".into(),
            method: plan.method,
            amount: plan.amount,
            idempotency_key: format!("import-{key}"),
        },
    )
    .await?;
    let payment = payments::complete(
        tx,
        payment.id,
        Completion {
            received_on: plan.date,
            fee: Money::zero(plan.amount.currency),
            provider_reference: plan.bank_reference.clone(),
        },
    )
    .await?;
    let date = ReceiptDate {
        on: plan.date,
        today,
        days_back: (today - plan.date).num_days(),
    };
    if date.backdated() {
        let by = Actor {
            operator_id: None,
            name: format!("import:{import_id}"),
            ip: "local".into(),
        };
        let word = format!("le relevé bancaire (import n° {import_id})");
        mark_backdated(tx, &by, &payment, Some(&plan.invoice_reference), &date, &word).await?;
    }
    Ok(payment)
}

/// Applies one chunk in one transaction; `false` when a row failed (the run stops).
async fn apply_chunk(ctx: &mut Ctx<'_>, chunk: &[Pending<Decision>], today: NaiveDate) -> Result<bool, ImportError> {
    for _ in 0..CHUNK_ATTEMPTS {
        let mark = ctx.tally.mark();
        let mut tx = ctx.store.begin().await?;
        let claims = ctx.classify(&mut tx, chunk).await?;
        let mut applied = Vec::new();
        for (p, claim) in chunk.iter().zip(claims) {
            let plan = match &p.item {
                Decision::Skip(reason) => {
                    ctx.tally.skip(p.line, reason.clone());
                    continue;
                }
                Decision::Bad(message) => {
                    let e = BillingError::Conflict(message.clone());
                    ctx.row_failed(tx, mark, p.line, e).await?;
                    return Ok(false);
                }
                Decision::Pay(plan) => plan,
            };
            if claim != Claim::New {
                ctx.settle(p.line, claim);
                continue;
            }
            match pay(&mut tx, ctx.import_id, &p.key, plan, today).await {
                Ok(payment) => {
                    applied.push((p.key.clone(), payment.id));
                    ctx.tally.imported += 1;
                }
                Err(e) => {
                    ctx.row_failed(tx, mark, p.line, e).await?;
                    return Ok(false);
                }
            }
        }
        if ctx.commit_chunk(tx, ENTITY, &applied, chunk.len()).await? {
            return Ok(true);
        }
        ctx.tally.rewind(mark);
    }
    Err(ImportError::Contention)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_invoice_numbers() {
        assert_eq!(invoice_references("VIR SEPA M DUPONT F2026-0042"), vec!["F2026-0042"]);
        assert_eq!(invoice_references("REMISE CHQ ref f2026-42."), vec!["F2026-0042"]);
        assert_eq!(
            invoice_references("VIR F20260042 ET FA2025/0007"),
            vec!["F2026-0042", "FA2025-0007"]
        );
        assert_eq!(invoice_references("F2026-0042 F2026-0042"), vec!["F2026-0042"]);
        assert!(invoice_references("VIR INST 2026-0042 REF123456789 F2026-0042X").is_empty());
        assert!(invoice_references("CB CARREFOUR 12/03").is_empty());
    }

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
