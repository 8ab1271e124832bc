//! The web app: admin pages and JSON API, served in-process on real
//! PostgreSQL and SQLite and spoken to over HTTP. One test binary, one
//! module per area.

#[path = "../support/mod.rs"]
mod support;

mod access;
mod dashboard;
mod jobs;
mod metrics;
mod signin;
