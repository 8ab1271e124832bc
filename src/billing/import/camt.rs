//! A camt.053 statement ([`crate::billing::bank::camt`]) as the statement
//! lines every bank import shares ([`super::bank`]).

use std::path::{Path, PathBuf};

use super::bank::{Direction, Read, Statement, StatementLine};
use super::ImportError;
use crate::billing::bank::camt::{CamtEntry, CamtReader};
use crate::billing::bank::Source;
use crate::billing::payments::PaymentMethod;
use crate::money::{Currency, Money};

pub(super) struct CamtStatement {
    reader: CamtReader,
}

impl CamtStatement {
    pub fn open(path: &Path) -> Result<CamtStatement, ImportError> {
        Ok(CamtStatement {
            reader: CamtReader::open(path)?,
        })
    }

    pub fn opener(path: PathBuf) -> impl Fn() -> Result<CamtStatement, ImportError> {
        move || CamtStatement::open(&path)
    }
}

/// A payment method told by the remittance text (`REMISE CHQ`), a transfer otherwise.
fn method(e: &CamtEntry) -> PaymentMethod {
    super::payments::method_in(&e.remittance).unwrap_or(PaymentMethod::Transfer)
}

fn line(e: CamtEntry) -> Result<StatementLine, String> {
    let currency: Currency = e
        .currency
        .trim()
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| format!("devise « {} » inconnue", e.currency))?;
    let amount = Money::from_decimal(e.amount, currency)
        .map_err(|err| format!("montant {} {} : {err}", e.amount, e.currency))?;
    if amount.minor < 0 {
        return Err(format!(
            "montant négatif {} : le sens est donné par CdtDbtInd",
            e.amount
        ));
    }
    let direction = match (e.credit, e.reversal) {
        (true, false) => Direction::Credit,
        (false, false) => Direction::Debit,
        // A debit marked as a reversal takes back a credit; a credit marked
        // as one gives back a debit (not a receipt either).
        (false, true) => Direction::Reversal,
        (true, true) => Direction::Debit,
    };
    let method = method(&e);
    Ok(StatementLine {
        key: e.key,
        source: Source::Camt053,
        direction,
        booked: e.booked,
        account: e.account,
        booking_date: e.booking_date,
        value_date: e.value_date,
        amount,
        payer_name: e.counterparty_name,
        payer_iban: e.counterparty_iban,
        remittance: e.remittance,
        creditor_reference: e.creditor_reference,
        bank_reference: e.bank_reference.or(e.end_to_end_id),
        method,
    })
}

impl Statement for CamtStatement {
    fn next_line(&mut self) -> Result<Option<Read>, ImportError> {
        Ok(match self.reader.next_entry()? {
            None => None,
            Some(Ok(e)) => Some((e.line, line(e))),
            Some(Err(problem)) => Some((problem.line, Err(problem.message))),
        })
    }
}
