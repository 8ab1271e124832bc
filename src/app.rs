//! What the product's worker runs: its registry of kinds and their
//! schedules, over the context every job is handed.

use crate::billing::jobs::{book, dunning, emails, import, monthly_run, orders, payments, sepa, urssaf};
use crate::jobs::{Noop, Registry, Schedule};

pub use crate::context::{AppContext, AppError};

/// Every kind the product's workers run.
pub fn registry() -> Registry<AppContext> {
    let registry = Registry::new()
        .register::<Noop>()
        .register::<book::GenerateRevenueBook>()
        .register::<book::CloseBook>()
        .register::<monthly_run::MonthlyRun>()
        .register::<monthly_run::InvoiceContract>()
        .register::<crate::billing::jobs::monthly_summary::MonthlySummary>()
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
    // The billing follows the operator's calendar: its schedules are read in the operator's time
    // zone, COMPTOIR_TIME_ZONE (crate::local_time, Europe/Paris by default), so 08:00 is 08:00 in
    // Paris in winter and in summer, and a time the clocks skip or repeat runs once. The other
    // schedules stay in UTC, each saying why. Every schedule runs once, late, for the slots missed
    // while no worker ran (Missed::RunOnceLate, the default): each job catches up by itself and
    // does nothing twice, so a worker back after a night off does what the night should have.
    let local = crate::local_time::zone();
    let billing = |cron: &str| Schedule::cron(cron).zone(local);
    registry
        // The 1st of each month at 02:00 local time, for the month just ended. The run takes the
        // month before the database's (UTC) date: 02:00 in Paris is 00:00 or 01:00 UTC, the 1st
        // too (a zone more than 2 hours east of UTC would need the run to read the local date).
        // Missed: once, late, for the month just ended (a second month missed is run by hand).
        .periodic(
            "monthly-billing-run",
            billing("0 2 1 * *"),
            &monthly_run::MonthlyRun::default(),
        )
        // Reminders of overdue invoices, every day at 08:00 local time. Missed: once, late (one
        // reminder per invoice and level, whatever the day).
        .and_then(|r| r.periodic("dunning", billing("0 8 * * *"), &dunning::Dunning::default()))
        // Every 15 minutes (in UTC: a zone changes nothing). Missed: one reconciliation when back.
        .and_then(|r| {
            r.periodic(
                "reconcile-payments",
                "*/15 * * * *",
                &payments::ReconcilePayments::default(),
            )
        })
        // Yesterday's receipts, and the month or year just ended, are closed at 00:05 UTC: the
        // book's days are the database's UTC dates (billing::dates). Missed: once, late, closing
        // every period ended since.
        .and_then(|r| r.periodic("close-book", "5 0 * * *", &book::CloseBook::default()))
        // URSSAF: the reminder of a declaration due within 7 days, every day at 07:00 local time.
        // Missed: once, late (one reminder per declaration).
        .and_then(|r| {
            r.periodic(
                "urssaf-reminders",
                billing("0 7 * * *"),
                &urssaf::UrssafReminders::default(),
            )
        })
        // Keeping: a backup every night at 02:30 UTC (SQLite; PostgreSQL is pg_dump's), and the
        // archive of a year ended at 03:00 UTC, once its closure (00:05 UTC on 1 January) exists;
        // the dashboard and the archives page show these times in the operator's zone. Missed:
        // once, late (a backup as soon as a worker is back).
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
        let zones: Vec<(&str, &str)> = registry
            .schedules()
            .map(|(name, s)| (name, s.time_zone().name()))
            .collect();
        let local = crate::local_time::zone_name();
        assert_eq!(
            zones,
            [
                ("monthly-billing-run", local),
                ("dunning", local),
                ("reconcile-payments", "UTC"),
                ("close-book", "UTC"),
                ("urssaf-reminders", local),
                ("backup", "UTC"),
                ("archive-years", "UTC"),
            ]
        );
        assert!(registry
            .schedules()
            .all(|(_, s)| s.missed_policy() == crate::jobs::Missed::RunOnceLate));
    }
}
