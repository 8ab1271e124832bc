use chrono::NaiveDate;

use crate::store::sql::sql;
use crate::store::{StoreError, Tx};

/// The last day of the latest closed period (any kind), if the book was ever closed.
pub(crate) async fn closed_until(tx: &mut Tx) -> Result<Option<NaiveDate>, StoreError> {
    sql!(
        fetch_optional,
        tx,
        "SELECT period_end FROM book_closures ORDER BY period_end DESC LIMIT 1"
    )?
    .map(|r| r.get("period_end"))
    .transpose()
}
