//! The bounds of the dates a person gives, per field, in one place. A date
//! outside them is a typo (1900, 9999, 2062), never business: it would sit in
//! the livre de recettes, block a series' chronological numbering or keep a
//! mandate alive for ever. "Today" is the database's clock, as everywhere in
//! the domain.

use chrono::{Days, Months, NaiveDate};

use super::error::{invalid, BillingError};
use crate::i18n::Text;
use crate::store::{Store, Tx};
use crate::text;

/// The months in French, lower case (« novembre 2026 »); [`month_fr`] gives one.
pub const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// The name of month `month` (1 to 12) in French, lower case; "?" out of range.
pub fn month_fr(month: u32) -> &'static str {
    month
        .checked_sub(1)
        .and_then(|i| MONTHS_FR.get(i as usize))
        .copied()
        .unwrap_or("?")
}

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
    not_before: Option<(NaiveDate, Text)>,
    not_after: (NaiveDate, Text),
) -> Result<NaiveDate, BillingError> {
    if on < EARLIEST {
        return Err(invalid(
            field,
            text!("le {on} est antérieur au {first}", on = fr(on), first = fr(EARLIEST)),
        ));
    }
    if let Some((first, what)) = not_before {
        if on < first {
            return Err(invalid(
                field,
                text!(
                    "le {on} est antérieur à {what} ({first})",
                    on = fr(on),
                    first = fr(first)
                )
                .with("what", what),
            ));
        }
    }
    let (last, what) = not_after;
    if on > last {
        return Err(invalid(
            field,
            text!("le {on} est postérieur à {what} ({last})", on = fr(on), last = fr(last)).with("what", what),
        ));
    }
    Ok(on)
}

/// A receipt dated this many days or more before today (a week) is accepted
/// only on someone's word: the operator's confirmation, or the bank's
/// statement it comes from. It is then marked in the audit trail
/// (`payment.backdated`).
pub const RECEIPT_CONFIRM_DAYS: i64 = 7;

/// What bounds the date of a receipt (the day money was received).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptBounds {
    /// Today by the database clock: no receipt is dated after it.
    pub today: NaiveDate,
    /// The issue date of the invoice it pays: no receipt is dated before it.
    pub issued_on: Option<NaiveDate>,
    /// The last day of the latest closed period of the livre de recettes: no
    /// receipt is dated on or before it.
    pub closed_until: Option<NaiveDate>,
}

impl ReceiptBounds {
    /// The bounds as `tx` sees them, for a receipt of an invoice issued on `issued_on`.
    pub async fn read(tx: &mut Tx, issued_on: Option<NaiveDate>) -> Result<ReceiptBounds, BillingError> {
        Ok(ReceiptBounds {
            today: today_in(tx).await?,
            issued_on,
            closed_until: super::closures::closed_until(tx).await?,
        })
    }

    /// The same, read in a transaction of its own (to check a form before
    /// the transaction that records it, which checks again).
    pub async fn now(store: &Store, issued_on: Option<NaiveDate>) -> Result<ReceiptBounds, BillingError> {
        Ok(ReceiptBounds {
            today: today(store).await?,
            issued_on,
            closed_until: super::closures::closed_until_now(store).await?,
        })
    }

    /// The earliest day a receipt may be dated without a confirmation.
    pub fn unconfirmed_from(&self) -> NaiveDate {
        self.today
            .checked_sub_days(Days::new(RECEIPT_CONFIRM_DAYS as u64 - 1))
            .unwrap_or(self.today)
    }
}

/// A receipt's date that passed its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptDate {
    pub on: NaiveDate,
    /// Today when it was checked.
    pub today: NaiveDate,
    /// How many days before today it is (0: today).
    pub days_back: i64,
}

impl ReceiptDate {
    /// Far enough back to need someone's word, and a mark in the audit trail.
    pub fn backdated(&self) -> bool {
        self.days_back >= RECEIPT_CONFIRM_DAYS
    }
}

/// When the money of a receipt was received, within the bounds no one can
/// lift: from 2000, not in the future, not in a closed period of the livre
/// de recettes, not before the invoice it pays was issued. Refusals are on
/// the field `received_on`.
pub fn received_on(on: NaiveDate, b: &ReceiptBounds) -> Result<ReceiptDate, BillingError> {
    let field = "received_on";
    if on < EARLIEST {
        return Err(invalid(
            field,
            text!(
                "le {on} est antérieur au {first} : une faute de frappe ?",
                on = fr(on),
                first = fr(EARLIEST)
            ),
        ));
    }
    if on > b.today {
        return Err(invalid(
            field,
            text!(
                "le {on} est dans le futur (aujourd'hui : {today}) : une recette est datée du jour où l'argent est reçu",
                on = fr(on),
                today = fr(b.today)
            ),
        ));
    }
    if let Some(closed) = b.closed_until.filter(|c| on <= *c) {
        return Err(super::closures::in_closed_period(on, closed));
    }
    if let Some(issued) = b.issued_on.filter(|i| on < *i) {
        return Err(invalid(
            field,
            text!(
                "le {on} est antérieur à l'émission de la facture (le {issued}) : une facture n'est pas payée avant d'être émise",
                on = fr(on),
                issued = fr(issued)
            ),
        ));
    }
    Ok(ReceiptDate {
        on,
        today: b.today,
        days_back: (b.today - on).num_days(),
    })
}

/// [`received_on`], and a date [`RECEIPT_CONFIRM_DAYS`] or more back only
/// when `confirmed`: else refused on the field `confirm_received_on`, the
/// one that would confirm it.
pub fn confirmed_received_on(on: NaiveDate, b: &ReceiptBounds, confirmed: bool) -> Result<ReceiptDate, BillingError> {
    let date = received_on(on, b)?;
    if date.backdated() && !confirmed {
        return Err(invalid(
            "confirm_received_on",
            text!(
                "le {on} est {days} jours avant aujourd'hui : sans confirmation, une recette est datée du {from} au plus tôt ; confirmez la date de réception",
                on = fr(on),
                days = date.days_back,
                from = fr(b.unconfirmed_from())
            ),
        ));
    }
    Ok(date)
}

/// When a SEPA mandate was signed: not in the future.
pub fn mandate_signed_on(on: NaiveDate, today: NaiveDate) -> Result<NaiveDate, BillingError> {
    within("mandate_signed_on", on, None, (today, text!("aujourd'hui")))
}

/// When a mandate is revoked: not before it was signed, at most a year ahead.
pub fn revoked_on(on: NaiveDate, signed_on: NaiveDate, today: NaiveDate) -> Result<NaiveDate, BillingError> {
    let last = today.checked_add_months(REVOCATION_AHEAD).unwrap_or(today);
    within(
        "revoked_on",
        on,
        Some((signed_on, text!("la signature du mandat"))),
        (last, text!("la limite d'un an")),
    )
}

/// When a contract operation took place: at most a year ahead of `today`.
pub fn occurred_on(on: NaiveDate, today: NaiveDate) -> Result<NaiveDate, BillingError> {
    let last = today.checked_add_months(OPERATION_AHEAD).unwrap_or(today);
    within("occurred_on", on, None, (last, text!("la limite d'un an")))
}

/// The issue date of an invoice or credit note: at most a month ahead, and a
/// credit note not before the invoice it credits.
pub fn issue_date(on: NaiveDate, today: NaiveDate, credits: Option<NaiveDate>) -> Result<NaiveDate, BillingError> {
    let last = today.checked_add_days(Days::new(DOCUMENT_AHEAD_DAYS)).unwrap_or(today);
    within(
        "issue_date",
        on,
        credits.map(|d| (d, text!("l'émission de la facture créditée"))),
        (last, text!("la limite d'un mois")),
    )
}

/// A period (a month to invoice, a period of the livre de recettes) starting
/// on `first_day`: it must have begun.
pub fn period(first_day: NaiveDate, today: NaiveDate) -> Result<(), BillingError> {
    within("period", first_day, None, (today, text!("aujourd'hui"))).map(drop)
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
            "Date de signature du mandat : le 31/12/9999 est postérieur à aujourd'hui (06/12/2026)"
        );
        assert_eq!(
            e.text().unwrap().in_lang(crate::i18n::Lang::En),
            "Mandate signature date: 31/12/9999 is after today (06/12/2026)"
        );
    }

    fn bounds(today: NaiveDate, issued_on: Option<NaiveDate>, closed_until: Option<NaiveDate>) -> ReceiptBounds {
        ReceiptBounds {
            today,
            issued_on,
            closed_until,
        }
    }

    fn message_of(r: Result<ReceiptDate, BillingError>) -> (&'static str, String) {
        match r {
            Err(BillingError::Invalid { field, message }) => (field, message.to_string()),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_receipt_is_dated_within_its_bounds_in_french() {
        let today = d(2026, 12, 7);
        let b = bounds(today, Some(d(2026, 11, 1)), Some(d(2026, 11, 30)));
        assert_eq!(received_on(today, &b).unwrap().days_back, 0);
        assert_eq!(
            message_of(received_on(d(1900, 1, 1), &b)),
            (
                "received_on",
                "le 01/01/1900 est antérieur au 01/01/2000 : une faute de frappe ?".into()
            )
        );
        let (field, future) = message_of(received_on(d(2026, 12, 8), &b));
        assert_eq!(field, "received_on");
        assert!(
            future.starts_with("le 08/12/2026 est dans le futur (aujourd'hui : 07/12/2026)"),
            "{future}"
        );
        let (field, closed) = message_of(received_on(d(2026, 11, 30), &b));
        assert_eq!(field, "received_on");
        assert!(closed.contains("30/11/2026") && closed.contains("close"), "{closed}");
        assert!(
            received_on(d(2026, 12, 1), &b).is_ok(),
            "the day after the closed period"
        );
        let open = bounds(today, Some(d(2026, 11, 1)), None);
        let (field, early) = message_of(received_on(d(2026, 10, 31), &open));
        assert_eq!(field, "received_on");
        assert!(
            early.starts_with("le 31/10/2026 est antérieur à l'émission de la facture (le 01/11/2026)"),
            "{early}"
        );
        assert!(received_on(d(2026, 11, 1), &open).is_ok(), "the issue date itself");
    }

    #[test]
    fn a_week_back_needs_a_confirmation() {
        let today = d(2026, 12, 7);
        let b = bounds(today, None, None);
        assert_eq!(b.unconfirmed_from(), d(2026, 12, 1));
        let six = confirmed_received_on(d(2026, 12, 1), &b, false).unwrap();
        assert_eq!((six.days_back, six.backdated()), (6, false));
        let (field, message) = message_of(confirmed_received_on(d(2026, 11, 30), &b, false));
        assert_eq!(field, "confirm_received_on");
        assert_eq!(
            message,
            "le 30/11/2026 est 7 jours avant aujourd'hui : sans confirmation, une recette est datée du 01/12/2026 au plus tôt ; confirmez la date de réception"
        );
        let week = confirmed_received_on(d(2026, 11, 30), &b, true).unwrap();
        assert_eq!((week.on, week.days_back, week.backdated()), (d(2026, 11, 30), 7, true));
        // A confirmation lifts nothing else.
        let closed = bounds(today, None, Some(d(2026, 11, 30)));
        assert_eq!(
            message_of(confirmed_received_on(d(2026, 11, 30), &closed, true)).0,
            "received_on"
        );
        assert_eq!(
            message_of(confirmed_received_on(d(2026, 12, 8), &b, true)).0,
            "received_on"
        );
    }
}
