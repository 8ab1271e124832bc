//! The bounds of the dates a person gives, per field, in one place. A date
//! outside them is a typo (1900, 9999, 2062), never business: it would sit in
//! the livre de recettes, block a series' chronological numbering or keep a
//! mandate alive for ever. "Today" is the database's clock, as everywhere in
//! the domain.

use chrono::{Days, Months, NaiveDate};

use super::error::{invalid, BillingError};
use crate::store::{Store, Tx};

/// No date of the business's books is older than this.
pub const EARLIEST: NaiveDate = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");
/// A contract operation may be recorded ahead of its date, up to this.
pub const OPERATION_AHEAD: Months = Months::new(12);
/// A mandate's revocation may be recorded ahead of its date, up to this.
pub const REVOCATION_AHEAD: Months = Months::new(12);
/// An invoice or credit note may be dated ahead of its issue (a monthly run
/// prepared for the 1st), up to this many days.
pub const DOCUMENT_AHEAD_DAYS: u64 = 31;

/// Today by the database clock.
pub async fn today(store: &Store) -> Result<NaiveDate, BillingError> {
    Ok(store.now().await?.date_naive())
}

/// The same, read inside a transaction (on its own connection).
pub async fn today_in(tx: &mut Tx) -> Result<NaiveDate, BillingError> {
    Ok(tx.now().await?.date_naive())
}

fn fr(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// `on` for `field`, if it is between `EARLIEST` (or `not_before`, when
/// later) and `not_after`.
fn within(
    field: &'static str,
    on: NaiveDate,
    not_before: Option<(NaiveDate, &str)>,
    not_after: (NaiveDate, &str),
) -> Result<NaiveDate, BillingError> {
    if on < EARLIEST {
        return Err(invalid(field, format!("{} is before {}", fr(on), fr(EARLIEST))));
    }
    if let Some((first, what)) = not_before {
        if on < first {
            return Err(invalid(field, format!("{} is before {what} ({})", fr(on), fr(first))));
        }
    }
    let (last, what) = not_after;
    if on > last {
        return Err(invalid(field, format!("{} is after {what} ({})", fr(on), fr(last))));
    }
    Ok(on)
}

/// When the money of a payment recorded by hand was received: not in the
/// future, not before the invoice it pays was issued.
pub fn received_on(on: NaiveDate, today: NaiveDate, issued_on: Option<NaiveDate>) -> Result<NaiveDate, BillingError> {
    within(
        "received_on",
        on,
        issued_on.map(|d| (d, "the invoice's issue date")),
        (today, "today"),
    )
}

/// When a SEPA mandate was signed: not in the future.
pub fn mandate_signed_on(on: NaiveDate, today: NaiveDate) -> Result<NaiveDate, BillingError> {
    within("mandate_signed_on", on, None, (today, "today"))
}

/// When a mandate is revoked: not before it was signed, at most a year ahead.
pub fn revoked_on(on: NaiveDate, signed_on: NaiveDate, today: NaiveDate) -> Result<NaiveDate, BillingError> {
    let last = today.checked_add_months(REVOCATION_AHEAD).unwrap_or(today);
    within(
        "revoked_on",
        on,
        Some((signed_on, "the mandate's signature")),
        (last, "a year from today"),
    )
}

/// When a contract operation took place: at most a year ahead of `today`.
pub fn occurred_on(on: NaiveDate, today: NaiveDate) -> Result<NaiveDate, BillingError> {
    let last = today.checked_add_months(OPERATION_AHEAD).unwrap_or(today);
    within("occurred_on", on, None, (last, "a year from today"))
}

/// The issue date of an invoice or credit note: at most a month ahead, and a
/// credit note not before the invoice it credits.
pub fn issue_date(on: NaiveDate, today: NaiveDate, credits: Option<NaiveDate>) -> Result<NaiveDate, BillingError> {
    let last = today.checked_add_days(Days::new(DOCUMENT_AHEAD_DAYS)).unwrap_or(today);
    within(
        "issue_date",
        on,
        credits.map(|d| (d, "the credited invoice's issue date")),
        (last, "a month from today"),
    )
}

/// A period (a month to invoice, a period of the livre de recettes) starting
/// on `first_day`: it must have begun.
pub fn period(first_day: NaiveDate, today: NaiveDate) -> Result<(), BillingError> {
    within("period", first_day, None, (today, "today")).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn field_of(r: Result<NaiveDate, BillingError>) -> &'static str {
        match r {
            Err(BillingError::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn every_field_has_its_bounds() {
        let today = d(2026, 12, 6);
        assert_eq!(received_on(today, today, Some(d(2026, 11, 1))).unwrap(), today);
        assert_eq!(field_of(received_on(d(1900, 1, 1), today, None)), "received_on");
        assert_eq!(field_of(received_on(d(2026, 12, 7), today, None)), "received_on");
        assert_eq!(
            field_of(received_on(d(2026, 10, 31), today, Some(d(2026, 11, 1)))),
            "received_on"
        );

        assert!(mandate_signed_on(d(2000, 1, 1), today).is_ok());
        assert_eq!(field_of(mandate_signed_on(d(1999, 12, 31), today)), "mandate_signed_on");
        assert_eq!(field_of(mandate_signed_on(d(9999, 12, 31), today)), "mandate_signed_on");

        assert!(occurred_on(d(2027, 12, 6), today).is_ok());
        assert_eq!(field_of(occurred_on(d(2027, 12, 7), today)), "occurred_on");
        assert_eq!(field_of(occurred_on(d(9999, 12, 31), today)), "occurred_on");
        assert_eq!(field_of(occurred_on(d(1999, 1, 1), today)), "occurred_on");

        assert!(revoked_on(d(2027, 6, 1), d(2026, 9, 1), today).is_ok());
        assert_eq!(field_of(revoked_on(d(2026, 8, 31), d(2026, 9, 1), today)), "revoked_on");
        assert_eq!(field_of(revoked_on(d(2028, 1, 1), d(2026, 9, 1), today)), "revoked_on");

        assert!(issue_date(d(2027, 1, 6), today, None).is_ok());
        assert_eq!(field_of(issue_date(d(2027, 1, 7), today, None)), "issue_date");
        assert_eq!(field_of(issue_date(d(1999, 12, 31), today, None)), "issue_date");
        assert_eq!(
            field_of(issue_date(d(2026, 3, 1), today, Some(d(2026, 3, 2)))),
            "issue_date"
        );

        assert!(period(d(2026, 12, 1), today).is_ok());
        assert!(period(d(2027, 1, 1), today).is_err());
        assert!(period(d(1999, 1, 1), today).is_err());
    }

    #[test]
    fn refusals_say_the_bound() {
        let e = mandate_signed_on(d(9999, 12, 31), d(2026, 12, 6)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mandate_signed_on: 31/12/9999 is after today (06/12/2026)"
        );
        let e = received_on(d(1900, 1, 1), d(2026, 12, 6), None).unwrap_err();
        assert_eq!(e.to_string(), "received_on: 01/01/1900 is before 01/01/2000");
    }
}
