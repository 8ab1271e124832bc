//! Closing the livre de recettes, for the tests that need a closed period.

use chrono::NaiveDate;

use super::super::TestDb;
use comptoir::billing::closures::{self, ClosureKind};

/// Closes the livre de recettes through `day` (a day's closure, sealed as the
/// nightly closing seals, even without receipts that day): from then on no
/// receipt may be dated on or before it.
pub async fn close_book_through(db: &TestDb, day: NaiveDate) {
    closures::close_period(&db.store, ClosureKind::Day, day, day)
        .await
        .expect("the day is closed");
}
