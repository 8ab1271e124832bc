//! What the product's worker runs: its context and its registry of kinds.

use std::sync::Arc;

use crate::config::Config;
use crate::billing::jobs::{book, monthly_run, orders};
use crate::jobs::{Noop, Registry};

/// Handed to every job of the product.
#[derive(Clone)]
pub struct AppContext {
    pub config: Arc<Config>,
}

/// Every kind the product's workers run.
pub fn registry() -> Registry<AppContext> {
    let registry = Registry::new()
        .register::<Noop>()
        .register::<book::GenerateRevenueBook>()
        .register::<monthly_run::MonthlyRun>()
        .register::<monthly_run::InvoiceContract>()
        .register::<orders::ExpireOrder>();
    // The 1st of each month at 02:00 UTC, for the month just ended.
    registry
        .periodic("monthly-billing-run", "0 2 1 * *", &monthly_run::MonthlyRun::default())
        .expect("valid cron expression")
}
