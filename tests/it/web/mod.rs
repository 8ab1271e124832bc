//! The web app: admin pages and JSON API, served in-process on real
//! PostgreSQL and SQLite and spoken to over HTTP. One module per area.

mod access;
mod admin_cli;
mod api_client;
mod api_contracts;
mod api_customers;
mod api_invoices;
mod api_keys;
mod api_orders;
mod api_products;
mod api_providers;
mod api_restart;
mod audit;
mod backup;
mod billing_contracts;
mod billing_customers;
mod billing_html;
mod billing_invoices;
mod billing_payments;
mod book;
mod catalog;
mod dashboard;
mod example_invoice;
mod imports;
mod input_admin;
mod input_api;
mod jobs;
mod metrics;
mod openapi;
mod openapi_schema;
mod receipt_dates;
mod settings;
mod signin;
mod signin_links;
mod signin_throttle;
mod urssaf;
