//! The billing domain's job kinds: every slow or outside-world action runs in
//! the queue, enqueued in the same transaction as the fact that causes it.

pub mod book;
pub mod dunning;
pub mod emails;
pub mod import;
pub mod monthly_run;
pub mod monthly_summary;
pub mod orders;
pub mod payments;
pub mod sepa;
pub mod urssaf;

use crate::billing::BillingError;
use crate::jobs::{JobError, Outcome};

/// How a domain error ends an attempt: input that can never succeed is
/// discarded with its message; anything else is retried.
pub(crate) fn settle(result: Result<(), BillingError>) -> Result<Outcome, JobError> {
    match result {
        Ok(()) => Ok(Outcome::Done),
        Err(
            e @ (BillingError::Invalid { .. }
            | BillingError::NotFound(_)
            | BillingError::Refused(_)
            | BillingError::BookAltered(_)),
        ) => Ok(Outcome::Discard(e.to_string())),
        Err(BillingError::NoSettings) => Ok(Outcome::Snooze(std::time::Duration::from_secs(3600))),
        Err(e) => Err(JobError::msg(e)),
    }
}
