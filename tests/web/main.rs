//! The web app: admin pages and JSON API, served in-process on real
//! PostgreSQL and SQLite and spoken to over HTTP. One test binary, one
//! module per area.

#[path = "../support/mod.rs"]
mod support;

mod access;
mod openapi;
mod openapi_schema;
mod signin;

mod api_client;
mod api_contracts;
mod api_keys;
mod api_orders;
mod api_providers;

#[allow(dead_code)]
#[path = "../providers_replay/mod.rs"]
mod providers_replay;
