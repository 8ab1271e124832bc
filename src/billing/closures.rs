//! Closures (clôtures) of the livre de recettes, as the French anti-fraud
//! rules for cash software ask (inalterability, securing, keeping,
//! archiving): per day with receipts, per month and per year. Each records
//! the book's last line when it was made (its number and hash), the lines
//! received in its period and their totals (by nature, cash apart), the
//! perpetual grand totals (signed and in absolute value) through the end of
//! its period, and is chained to the previous closure and signed with the
//! book's key ([`super::seal`]). A closed period takes no new receipt.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::catalog::Nature;
use super::error::BillingError;
use super::revenue_book::{BookLine, GENESIS};
use super::seal::{self, BookKey};
use crate::billing::sql::closures as sql;
use crate::store::{Store, Tx};
use crate::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosureKind {
    Day,
    Month,
    Year,
}

impl ClosureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClosureKind::Day => "day",
            ClosureKind::Month => "month",
            ClosureKind::Year => "year",
        }
    }

    pub fn parse(s: &str) -> Option<ClosureKind> {
        match s {
            "day" => Some(ClosureKind::Day),
            "month" => Some(ClosureKind::Month),
            "year" => Some(ClosureKind::Year),
            _ => None,
        }
    }
}

/// The totals of one currency in a closure (minor units).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosureTotals {
    pub currency: String,
    pub goods: i64,
    pub services: i64,
    pub cash: i64,
    pub other: i64,
    pub total: i64,
    /// Everything received since the book began, through the period's end.
    pub grand_total: i64,
    /// The same in absolute value: refunds add up instead of cancelling out.
    pub grand_total_abs: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Closure {
    pub number: i64,
    pub kind: ClosureKind,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// The book's last line when the closure was made (0: empty book).
    pub book_seq: i64,
    /// That line's hash ([`GENESIS`] for an empty book).
    pub book_hash: String,
    pub line_count: i64,
    /// The canonical JSON of the totals, as hashed and signed.
    pub totals_json: String,
    pub prev_hash: String,
    pub hash: String,
    pub signature: String,
    pub public_key: String,
    pub closed_at: DateTime<Utc>,
}

impl Closure {
    pub fn totals(&self) -> Result<Vec<ClosureTotals>, BillingError> {
        serde_json::from_str(&self.totals_json).map_err(|e| {
            BillingError::Conflict(text!(
                "clôture n° {number} : totaux illisibles ({error})",
                number = self.number,
                error = e
            ))
        })
    }

    /// « journée du 06/12/2026 », « mois de novembre 2026 », « année 2026 ».
    pub fn label(&self) -> String {
        match self.kind {
            ClosureKind::Day => format!("journée du {}", self.period_start.format("%d/%m/%Y")),
            ClosureKind::Month => format!(
                "mois de {} {}",
                super::dates::month_fr(self.period_start.month()),
                self.period_start.year()
            ),
            ClosureKind::Year => format!("année {}", self.period_start.year()),
        }
    }
}

/// What a closure says before it is numbered, chained and signed.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosureBody {
    pub kind: ClosureKind,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub book_seq: i64,
    pub book_hash: String,
    pub line_count: i64,
    pub totals_json: String,
}

/// The hash of a closure: SHA-256 over a JSON array of what it says, its
/// number, the previous closure's hash and the key that signs it.
pub fn closure_hash(number: i64, body: &ClosureBody, prev_hash: &str, public_key: &str) -> String {
    let canonical = serde_json::json!([
        number,
        body.kind.as_str(),
        body.period_start.to_string(),
        body.period_end.to_string(),
        body.book_seq,
        body.book_hash,
        body.line_count,
        body.totals_json,
        prev_hash,
        public_key,
    ]);
    seal::hex(&Sha256::digest(canonical.to_string().as_bytes()))
}

/// The closure's body over `lines` (the book in order of entry, as it stands
/// when closing): the lines received in the period, and the grand totals of
/// every line received through its end.
pub fn body_of(kind: ClosureKind, start: NaiveDate, end: NaiveDate, lines: &[BookLine]) -> ClosureBody {
    let mut per_currency: BTreeMap<String, ClosureTotals> = BTreeMap::new();
    let mut line_count = 0;
    for l in lines.iter().filter(|l| l.line.received_on <= end) {
        let amount = l.line.amount.minor;
        let code = l.line.amount.currency.code().to_string();
        let t = per_currency.entry(code.clone()).or_insert_with(|| ClosureTotals {
            currency: code,
            ..ClosureTotals::default()
        });
        t.grand_total += amount;
        t.grand_total_abs += amount.abs();
        if l.line.received_on >= start {
            line_count += 1;
            match l.line.nature {
                Nature::Goods => t.goods += amount,
                Nature::Services => t.services += amount,
            }
            if l.is_cash() {
                t.cash += amount;
            } else {
                t.other += amount;
            }
            t.total += amount;
        }
    }
    let totals: Vec<ClosureTotals> = per_currency.into_values().collect();
    let (book_seq, book_hash) = lines
        .last()
        .map(|l| (l.seq, l.hash.clone()))
        .unwrap_or((0, GENESIS.to_string()));
    ClosureBody {
        kind,
        period_start: start,
        period_end: end,
        book_seq,
        book_hash,
        line_count,
        totals_json: serde_json::to_string(&totals).expect("totals serialise"),
    }
}

/// The last day of the latest closed period: no receipt may be dated on or
/// before it. `None` while the book was never closed.
pub async fn closed_until(tx: &mut Tx) -> Result<Option<NaiveDate>, BillingError> {
    Ok(sql::closed_until(tx).await?)
}

/// [`closed_until`], read outside a transaction (to check a form before the
/// transaction that records it, which checks again).
pub async fn closed_until_now(store: &Store) -> Result<Option<NaiveDate>, BillingError> {
    Ok(sql::closed_until_read(store).await?)
}

/// Every closure, in order.
pub async fn all(store: &Store) -> Result<Vec<Closure>, BillingError> {
    Ok(sql::all(store).await?)
}

/// The latest closure, if the book was ever closed.
pub async fn latest(store: &Store) -> Result<Option<Closure>, BillingError> {
    Ok(sql::latest(store).await?)
}

/// The periods due for closing on `today`, in the order they are closed: each
/// day with receipts before today, each month and year ended since the book's
/// first receipt, not closed yet.
fn due(
    lines: &[BookLine],
    closed: &[(ClosureKind, NaiveDate)],
    today: NaiveDate,
) -> Vec<(ClosureKind, NaiveDate, NaiveDate)> {
    let Some(first) = lines.iter().map(|l| l.line.received_on).min() else {
        return Vec::new();
    };
    let is_closed = |kind: ClosureKind, start: NaiveDate| closed.contains(&(kind, start));
    let mut due = Vec::new();
    let mut days: Vec<NaiveDate> = lines
        .iter()
        .map(|l| l.line.received_on)
        .filter(|d| *d < today)
        .collect();
    days.sort();
    days.dedup();
    for d in days {
        if !is_closed(ClosureKind::Day, d) {
            due.push((ClosureKind::Day, d, d));
        }
    }
    let mut month = first.with_day(1).expect("the 1st exists");
    while let Some(next) = month.checked_add_months(chrono::Months::new(1)) {
        if next > today {
            break;
        }
        if !is_closed(ClosureKind::Month, month) {
            due.push((ClosureKind::Month, month, next.pred_opt().expect("a day before")));
        }
        month = next;
    }
    for year in first.year()..today.year() {
        let start = NaiveDate::from_ymd_opt(year, 1, 1).expect("1 January");
        if !is_closed(ClosureKind::Year, start) {
            due.push((
                ClosureKind::Year,
                start,
                NaiveDate::from_ymd_opt(year, 12, 31).expect("31 December"),
            ));
        }
    }
    due.sort_by_key(|(kind, _, end)| (*end, *kind));
    due
}

/// Closes every period due on `today` (the database's date), in one
/// transaction serialised with the writers of the book: returns the new closures.
#[tracing::instrument(skip_all)]
pub async fn close_due(store: &Store) -> Result<Vec<Closure>, BillingError> {
    let key = seal::key_of(store)?;
    let mut tx = store.begin().await?;
    let today = super::dates::today_in(&mut tx).await?;
    let made = close_before(&mut tx, &key, today).await?;
    tx.commit().await?;
    if !made.is_empty() {
        tracing::info!(closures = made.len(), "livre de recettes closed");
    }
    Ok(made)
}

/// Closes the periods ended before `today` (see [`close_due`]), in `tx`.
pub async fn close_before(tx: &mut Tx, key: &BookKey, today: NaiveDate) -> Result<Vec<Closure>, BillingError> {
    let lines = lock_and_read(tx).await?;
    let closed = sql::closed_periods(tx).await?;
    let mut made = Vec::new();
    for (kind, start, end) in due(&lines, &closed, today) {
        made.push(seal_period(tx, key, kind, start, end, &lines).await?);
    }
    Ok(made)
}

/// Closes one period, given: the same sealing as the nightly closing, for a
/// period the operator (or a test) names, e.g. a day without receipts.
pub async fn close_period(
    store: &Store,
    kind: ClosureKind,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Closure, BillingError> {
    let key = seal::key_of(store)?;
    if end < start {
        return Err(super::error::invalid("period", text!("la fin précède le début")));
    }
    let mut tx = store.begin().await?;
    let lines = lock_and_read(&mut tx).await?;
    if sql::closed_periods(&mut tx).await?.contains(&(kind, start)) {
        return Err(BillingError::Conflict(text!(
            "la période du {start} est déjà close",
            start = start.format("%d/%m/%Y")
        )));
    }
    let closure = seal_period(&mut tx, &key, kind, start, end, &lines).await?;
    tx.commit().await?;
    Ok(closure)
}

/// Takes the book's counter row (appenders take it first too, so no receipt
/// slips into a period while it is being closed), then reads the whole book.
async fn lock_and_read(tx: &mut Tx) -> Result<Vec<BookLine>, BillingError> {
    crate::billing::sql::settings::lock_series(tx, crate::billing::sql::revenue_book::SEQ_SERIES).await?;
    Ok(crate::billing::sql::revenue_book::all_by_seq_in(tx).await?)
}

/// Numbers, chains, signs and writes the closure of one period over `lines`.
async fn seal_period(
    tx: &mut Tx,
    key: &BookKey,
    kind: ClosureKind,
    start: NaiveDate,
    end: NaiveDate,
    lines: &[BookLine],
) -> Result<Closure, BillingError> {
    let previous = sql::latest_in(tx).await?;
    let public_key = key.public().hex();
    let body = body_of(kind, start, end, lines);
    let number = previous.as_ref().map_or(1, |c| c.number + 1);
    let prev_hash = previous.map_or_else(|| GENESIS.to_string(), |c| c.hash);
    let hash = closure_hash(number, &body, &prev_hash, &public_key);
    let closure = Closure {
        number,
        kind: body.kind,
        period_start: body.period_start,
        period_end: body.period_end,
        book_seq: body.book_seq,
        book_hash: body.book_hash,
        line_count: body.line_count,
        totals_json: body.totals_json,
        prev_hash,
        signature: key.sign(hash.as_bytes()),
        hash,
        public_key,
        closed_at: tx.now().await?,
    };
    sql::insert(tx, &closure).await?;
    Ok(closure)
}

/// The refusal of a receipt dated `on`, in the period closed through `closed`.
pub fn in_closed_period(on: NaiveDate, closed: NaiveDate) -> BillingError {
    super::error::invalid(
        "received_on",
        text!(
            "le {on} est dans une période close (livre de recettes clôturé jusqu'au {closed}) : une recette n'y entre plus, datez-la d'aujourd'hui",
            on = on.format("%d/%m/%Y"),
            closed = closed.format("%d/%m/%Y")
        ),
    )
}
