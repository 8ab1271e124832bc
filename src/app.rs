//! What the product's worker runs: its context and its registry of kinds.

use std::sync::Arc;

use crate::billing::jobs::{book, dunning, emails, import, monthly_run, orders, payments, sepa};
use crate::config::Config;
use crate::jobs::{Noop, Registry};
use crate::mail::{MailConfig, MailError, Mailer};
use crate::providers::{ConfigError, Providers};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("mail: {0}")]
    Mail(#[from] MailError),
    #[error("payment providers: {0}")]
    Providers(#[from] ConfigError),
}

/// Handed to every job of the product.
#[derive(Clone)]
pub struct AppContext {
    pub config: Arc<Config>,
    pub mailer: Mailer,
    pub providers: Providers,
}

impl AppContext {
    /// Builds the context from the configuration and the environment
    /// (SMTP settings, without which e-mails are written as files in the data
    /// directory; provider credentials, without which only `manual` and
    /// `simulated` payments exist).
    pub fn from_config(config: Arc<Config>) -> Result<AppContext, AppError> {
        let mailer = Mailer::new(MailConfig::from_env(&config.data_dir)?)?;
        let providers = Providers::from_env()?;
        Ok(AppContext {
            config,
            mailer,
            providers,
        })
    }
}

/// Every kind the product's workers run.
pub fn registry() -> Registry<AppContext> {
    let registry = Registry::new()
        .register::<Noop>()
        .register::<book::GenerateRevenueBook>()
        .register::<monthly_run::MonthlyRun>()
        .register::<monthly_run::InvoiceContract>()
        .register::<orders::ExpireOrder>()
        .register::<emails::SendInvoiceEmail>()
        .register::<emails::SendReceipt>()
        .register::<emails::SendReminder>()
        .register::<dunning::Dunning>()
        .register::<payments::ChargePayment>()
        .register::<payments::CapturePayment>()
        .register::<payments::RefundPayment>()
        .register::<payments::ReconcilePayments>()
        .register::<payments::SyncPayment>()
        .register::<sepa::ChargeSepa>()
        .register::<import::ImportCsv>()
        .register::<crate::auth::SendSigninLink>();
    // The 1st of each month at 02:00 UTC, for the month just ended; reminders every morning.
    registry
        .periodic("monthly-billing-run", "0 2 1 * *", &monthly_run::MonthlyRun::default())
        .and_then(|r| r.periodic("dunning", "0 8 * * *", &dunning::Dunning::default()))
        .and_then(|r| {
            r.periodic(
                "reconcile-payments",
                "*/15 * * * *",
                &payments::ReconcilePayments::default(),
            )
        })
        .expect("constant cron expressions are valid")
}

#[cfg(test)]
mod tests {
    #[test]
    fn registry_builds_with_its_schedules() {
        let registry = super::registry();
        assert!(registry.kinds().any(|k| k == "billing.dunning"));
        assert!(registry.queues().contains("mail"));
    }
}
