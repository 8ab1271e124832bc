//! The livre de recettes.

use serde_json::json;

use crate::audit::{self, Actor, Record};
use crate::billing::jobs::book;
use crate::billing::BillingError;
use crate::jobs::Inserted;
use crate::store::Tx;

/// Asks for a generation of the book of `period` as it stands (one per
/// period and state of the book): a new job is audited; the job already
/// asked for is returned as a duplicate, and nothing is recorded.
pub async fn generate(tx: &mut Tx, by: &Actor, period: &str) -> Result<Inserted, BillingError> {
    let inserted = book::request(tx, period).await?;
    if let Inserted::New(job_id) = inserted {
        let period = crate::billing::render::BookPeriod::parse(period)?.key();
        let entry = Record::new("book.generate", format!("book:{period}"))
            .details(json!({ "period": period, "job_id": job_id }));
        audit::record_in(tx, by, entry).await?;
    }
    Ok(inserted)
}
