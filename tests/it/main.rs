//! The integration tests: one binary (one link instead of one per file), one
//! module per area. The shared harness and fixtures are in `tests/support/`;
//! tests that run on both backends exist as `<area>::postgres::…` and
//! `<area>::sqlite::…` (the `on_both_backends!` macro).

#[path = "../support/mod.rs"]
mod support;

mod bank;
mod billing_book_seal;
mod billing_contracts;
mod billing_credit_notes;
mod billing_documents;
mod billing_flow;
mod billing_input;
mod billing_jobs;
mod billing_ledger;
mod billing_legal_data;
mod billing_monthly;
mod billing_numbering;
mod billing_payments;
mod billing_receipt_dates;
mod billing_reconcile;
mod billing_revenue_book;
mod billing_urssaf;
mod billing_validation;
mod browser;
mod browser_bank;
mod browser_urssaf;
mod conformance;
mod conformance_activity;
mod conformance_batches;
mod conformance_limits;
mod conformance_outcomes;
mod conformance_periodic;
mod conformance_worker;
mod documents;
mod enqueue_sql;
mod facturx;
mod import;
mod import_input;
mod keeping_archive;
mod mail;
mod payment_rescue_process;
mod pooler;
mod providers;
mod queue_pause_process;
mod structure;
mod web;
mod web_process;
mod webhooks;
mod worker_process;
