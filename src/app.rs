//! What the product's worker runs: its registry of kinds and their
//! schedules, over the context every job is handed.

use crate::billing::jobs::{book, dunning, emails, import, monthly_run, orders, payments, sepa, urssaf};
use crate::jobs::{Noop, Registry};

pub use crate::context::{AppContext, AppError};

/// Every kind the product's workers run.
pub fn registry() -> Registry<AppContext> {
    let registry = Registry::new()
        .register::<Noop>()
        .register::<book::GenerateRevenueBook>()
        .register::<book::CloseBook>()
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
        .register::<crate::auth::SendSigninLink>()
        .register::<urssaf::UrssafReminders>()
        .register::<urssaf::SendUrssafReminder>()
        .register::<crate::keeping::jobs::Backup>()
        .register::<crate::keeping::jobs::ArchiveYears>();
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
        // Yesterday's receipts, and the month or year just ended, are closed a few minutes after midnight.
        .and_then(|r| r.periodic("close-book", "5 0 * * *", &book::CloseBook::default()))
        // URSSAF: the reminder of a declaration due within 7 days, every morning.
        .and_then(|r| r.periodic("urssaf-reminders", "0 7 * * *", &urssaf::UrssafReminders::default()))
        // Keeping: a backup every night (SQLite; PostgreSQL is pg_dump's), and the archive of a
        // year ended, once its closure (00:05 on 1 January) exists.
        .and_then(|r| r.periodic("backup", "30 2 * * *", &crate::keeping::jobs::Backup::default()))
        .and_then(|r| {
            r.periodic(
                "archive-years",
                "0 3 * * *",
                &crate::keeping::jobs::ArchiveYears::default(),
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
        assert!(registry.kinds().any(|k| k == "billing.urssaf_reminders"));
        assert!(registry.kinds().any(|k| k == "billing.send_urssaf_reminder"));
        assert!(registry.queues().contains("mail"));
    }
}
