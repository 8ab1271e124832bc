//! The web app: admin pages and JSON API, served in-process on real
//! PostgreSQL and SQLite and spoken to over HTTP. One test binary, one
//! module per area.

#[path = "../support/mod.rs"]
mod support;

mod access;
mod audit;
mod billing_contracts;
mod billing_customers;
mod billing_html;
mod billing_invoices;
mod billing_payments;
mod book;
mod dashboard;
mod imports;
mod jobs;
mod metrics;
mod settings;
mod signin;
