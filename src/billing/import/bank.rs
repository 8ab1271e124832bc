//! A bank statement, whether a camt.053 file or a CSV export, as one stream
//! of lines: each credit is kept once as a bank entry (by the bank's
//! reference, or a hash of the CSV row), matched against the issued invoices
//! ([`crate::billing::bank::matcher`]); a unique exact match becomes a
//! payment received on the booking date, anything else waits for the
//! operator on the reconciliation page. Debits are skipped (not receipts).
//!
//! Lines that cannot be read refuse the file, each named by its line, before
//! anything is applied; lines that can be read but not applied (an
//! overpayment, a closed period, an ambiguous reference) wait instead.

use chrono::NaiveDate;

use super::chunk::{Claim, Ctx, Pending, CHUNK_ATTEMPTS};
use super::{reason, ImportError, CHUNK_ROWS};
use crate::audit::Actor;
use crate::billing::actions::payments::mark_backdated;
use crate::billing::bank::matcher::{self, OpenInvoice, Verdict};
use crate::billing::bank::{self, EntryKind, EntryStatus, NewEntry, Source};
use crate::billing::dates::{self, ReceiptBounds, ReceiptDate};
use crate::billing::payments::{self, Completion, NewPayment, Payment, PaymentMethod};
use crate::billing::{closures, BillingError};
use crate::money::Money;
use crate::store::{StoreError, Tx};

const ENTITY: &str = "bank_entry";

/// Whether the bank gave or took money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Credit,
    Debit,
    /// The bank taking back an earlier credit.
    Reversal,
}

/// One line of a statement, read.
#[derive(Debug, Clone)]
pub(super) struct StatementLine {
    pub key: String,
    pub source: Source,
    pub direction: Direction,
    /// Booked by the bank (a camt.053 entry may be pending).
    pub booked: bool,
    pub account: Option<String>,
    pub booking_date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    /// Positive.
    pub amount: Money,
    pub payer_name: Option<String>,
    pub payer_iban: Option<String>,
    pub remittance: String,
    pub creditor_reference: Option<String>,
    pub bank_reference: Option<String>,
    pub method: PaymentMethod,
}

/// A line of a statement: where it is in the file, and the line or why it cannot be read.
pub(super) type Read = (u64, Result<StatementLine, String>);

/// A statement read line by line.
pub(super) trait Statement {
    fn next_line(&mut self) -> Result<Option<Read>, ImportError>;
}

/// Reads, checks and applies a statement; `open` opens it from its start
/// (it is read twice: once to check every line, once to apply them).
pub(super) async fn import<S: Statement>(
    ctx: &mut Ctx<'_>,
    open: impl Fn() -> Result<S, ImportError>,
) -> Result<(), ImportError> {
    let bounds = match ReceiptBounds::now(ctx.store, None).await {
        Ok(b) => b,
        Err(BillingError::Store(e)) => return Err(e.into()),
        Err(other) => return Err(StoreError::Corrupt(other.to_string()).into()),
    };

    // Pass one: every line is read and checked; nothing is applied if one cannot be read.
    let mut statement = open()?;
    while let Some((line, read)) = statement.next_line()? {
        ctx.tally.total += 1;
        match read {
            Ok(s) if s.booking_date > bounds.today => ctx.tally.error(
                line,
                format!(
                    "date de comptabilisation {} postérieure à aujourd'hui",
                    s.booking_date.format("%d/%m/%Y")
                ),
            ),
            Ok(_) => {}
            Err(message) => ctx.tally.error(line, message),
        }
    }
    if ctx.tally.total == 0 {
        return Err(ImportError::NoRows);
    }
    if ctx.tally.bad_rows > 0 {
        return Ok(());
    }

    // Pass two: entries kept and matched, a chunk per transaction.
    let mut open_invoices = match bank::open_invoices(ctx.store).await {
        Ok(o) => o,
        Err(BillingError::Store(e)) => return Err(e.into()),
        Err(other) => return Err(StoreError::Corrupt(other.to_string()).into()),
    };
    let mut statement = open()?;
    let mut chunk: Vec<Pending<StatementLine>> = Vec::with_capacity(CHUNK_ROWS);
    loop {
        let next = statement.next_line()?;
        let end = next.is_none();
        if let Some((line, read)) = next {
            match read {
                Ok(item) => chunk.push(Pending {
                    line,
                    key: item.key.clone(),
                    item,
                }),
                Err(message) => {
                    // Read in pass one: the file changed under the run.
                    ctx.tally.error(line, message);
                    return Ok(());
                }
            }
        }
        if chunk.len() == CHUNK_ROWS || (end && !chunk.is_empty()) {
            if !apply_chunk(ctx, &chunk, &bounds, &mut open_invoices).await? {
                return Ok(());
            }
            chunk.clear();
        }
        if end {
            return Ok(());
        }
    }
}

/// What becomes of one line.
enum Outcome {
    Skip(String),
    Keep(Box<NewEntry>, Option<OpenInvoice>),
}

fn decide(import_id: i64, line: u64, s: &StatementLine, bounds: &ReceiptBounds, open: &[OpenInvoice]) -> Outcome {
    if !s.booked {
        return Outcome::Skip("écriture pas encore comptabilisée par la banque : reprise au relevé suivant".into());
    }
    if s.amount.minor == 0 {
        return Outcome::Skip("montant nul".into());
    }
    let kind = match s.direction {
        Direction::Debit => {
            return Outcome::Skip(format!("débit de {} : pas un encaissement", s.amount.format_fr()));
        }
        Direction::Credit => EntryKind::Credit,
        Direction::Reversal => EntryKind::Reversal,
    };
    let mut remittance = s.remittance.clone();
    if let Some(r) = s.creditor_reference.as_deref().filter(|r| !remittance.contains(r)) {
        remittance = format!("{remittance} {r}").trim().to_string();
    }
    let mut entry = NewEntry {
        entry_key: s.key.clone(),
        import_id,
        line: line as i64,
        source: s.source,
        kind,
        account: s.account.clone(),
        booking_date: s.booking_date,
        value_date: s.value_date,
        amount: s.amount,
        payer_name: s.payer_name.clone(),
        payer_iban: s.payer_iban.clone(),
        remittance,
        creditor_reference: s.creditor_reference.clone(),
        bank_reference: s.bank_reference.clone(),
        method: s.method,
        status: EntryStatus::Waiting,
        waiting_reason: None,
    };
    if kind == EntryKind::Reversal {
        entry.waiting_reason = Some(format!(
            "contre-passation : la banque a repris {} ; si ce crédit avait payé une facture, enregistrez un remboursement",
            s.amount.format_fr()
        ));
        return Outcome::Keep(Box::new(entry), None);
    }
    let credit = entry.credit();
    let verdict = matcher::verdict(&credit, &matcher::rank(&credit, open));
    let invoice = match verdict {
        Verdict::Wait(why) => {
            entry.waiting_reason = Some(why);
            return Outcome::Keep(Box::new(entry), None);
        }
        Verdict::Pay(invoice) => invoice,
    };
    // A receipt may not enter a closed period, nor predate its invoice.
    if let Some(closed) = bounds.closed_until.filter(|c| s.booking_date <= *c) {
        entry.waiting_reason = Some(format!(
            "paie {} mais {}",
            invoice.reference,
            reason(closures::in_closed_period(s.booking_date, closed))
        ));
        return Outcome::Keep(Box::new(entry), None);
    }
    let for_invoice = ReceiptBounds {
        today: bounds.today,
        issued_on: invoice.issued_on,
        closed_until: None,
    };
    if let Err(e) = dates::received_on(s.booking_date, &for_invoice) {
        entry.waiting_reason = Some(format!("paie {} mais {}", invoice.reference, reason(e)));
        return Outcome::Keep(Box::new(entry), None);
    }
    entry.status = EntryStatus::Matched;
    Outcome::Keep(Box::new(entry), Some(invoice))
}

/// Records and completes the payment of a matched entry, received on its
/// booking date. A date a week or more back needs no one's confirmation (the
/// bank's statement says when the money came) but is marked like a confirmed one.
async fn pay(
    tx: &mut Tx,
    import_id: i64,
    entry: &NewEntry,
    invoice: &OpenInvoice,
    today: NaiveDate,
) -> Result<Payment, BillingError> {
    let payment = payments::initiate(
        tx,
        NewPayment {
            customer_id: invoice.customer_id,
            invoice_id: Some(invoice.id),
            order_id: None,
            provider: "manual".into(),
            method: entry.method,
            amount: entry.amount,
            idempotency_key: format!("import-{}", entry.entry_key),
        },
    )
    .await?;
    let reference = entry
        .bank_reference
        .clone()
        .or_else(|| Some(entry.remittance.clone()))
        .map(|r| r.chars().take(200).collect::<String>())
        .filter(|r| !r.is_empty());
    let payment = payments::complete(
        tx,
        payment.id,
        Completion {
            received_on: entry.booking_date,
            fee: Money::zero(entry.amount.currency),
            provider_reference: reference,
        },
    )
    .await?;
    let date = ReceiptDate {
        on: entry.booking_date,
        today,
        days_back: (today - entry.booking_date).num_days(),
    };
    if date.backdated() {
        let by = Actor {
            operator_id: None,
            name: format!("import:{import_id}"),
            ip: "local".into(),
        };
        let word = format!("le relevé bancaire (import n° {import_id})");
        mark_backdated(tx, &by, &payment, Some(&invoice.reference), &date, &word).await?;
    }
    Ok(payment)
}

/// Applies one chunk in one transaction; `false` when a line failed (the run stops).
async fn apply_chunk(
    ctx: &mut Ctx<'_>,
    chunk: &[Pending<StatementLine>],
    bounds: &ReceiptBounds,
    open: &mut Vec<OpenInvoice>,
) -> Result<bool, ImportError> {
    for _ in 0..CHUNK_ATTEMPTS {
        let mark = ctx.tally.mark();
        let before = open.clone();
        let mut tx = ctx.store.begin().await?;
        let claims = ctx.classify(&mut tx, chunk).await?;
        let mut applied = Vec::new();
        for (p, claim) in chunk.iter().zip(claims) {
            // A line kept by an earlier import is not matched again. (Skipped
            // lines, debits and pending entries, are never kept: always new.)
            if claim != Claim::New {
                ctx.settle(p.line, claim);
                continue;
            }
            let (entry, invoice) = match decide(ctx.import_id, p.line, &p.item, bounds, open) {
                Outcome::Skip(why) => {
                    ctx.tally.skip(p.line, why);
                    continue;
                }
                Outcome::Keep(entry, invoice) => (entry, invoice),
            };
            let id = match bank::insert(&mut tx, &entry).await {
                Ok(Some(id)) => id,
                Ok(None) => {
                    ctx.tally.skip(p.line, "écriture déjà importée");
                    continue;
                }
                Err(e) => {
                    *open = before;
                    ctx.row_failed(tx, mark, p.line, e).await?;
                    return Ok(false);
                }
            };
            applied.push((p.key.clone(), id));
            let Some(invoice) = invoice else {
                let why = entry.waiting_reason.as_deref().unwrap_or("à rapprocher");
                ctx.tally.skip(p.line, format!("en attente de rapprochement : {why}"));
                continue;
            };
            let paid = match pay(&mut tx, ctx.import_id, &entry, &invoice, bounds.today).await {
                Ok(payment) => bank::link_payment(&mut tx, id, payment.id).await,
                Err(e) => Err(e),
            };
            if let Err(e) = paid {
                *open = before;
                ctx.row_failed(tx, mark, p.line, e).await?;
                return Ok(false);
            }
            if let Some(o) = open.iter_mut().find(|o| o.id == invoice.id) {
                o.owed.minor -= entry.amount.minor;
            }
            open.retain(|o| o.owed.minor > 0);
            ctx.tally.imported += 1;
        }
        if ctx.commit_chunk(tx, ENTITY, &applied, chunk.len()).await? {
            return Ok(true);
        }
        *open = before;
        ctx.tally.rewind(mark);
    }
    Err(ImportError::Contention)
}
