//! Closures (clôtures) of the livre de recettes: per day with receipts, per
//! month and per year, each sealed with the book's key. A closed period
//! takes no new receipt.

use chrono::NaiveDate;

use super::error::BillingError;
use crate::billing::sql::closures as sql;
use crate::store::Tx;

/// The last day of the latest closed period: no receipt may be dated on or
/// before it. `None` while the book was never closed.
pub async fn closed_until(tx: &mut Tx) -> Result<Option<NaiveDate>, BillingError> {
    Ok(sql::closed_until(tx).await?)
}

/// The refusal of a receipt dated `on`, in the period closed through `closed`.
pub fn in_closed_period(on: NaiveDate, closed: NaiveDate) -> BillingError {
    super::error::invalid(
        "received_on",
        format!(
            "le {} est dans une période close (livre de recettes clôturé jusqu'au {}) : une recette n'y entre plus, datez-la d'aujourd'hui",
            on.format("%d/%m/%Y"),
            closed.format("%d/%m/%Y")
        ),
    )
}
