//! Comptoir: a database-backed job queue and the billing of a one-person business.

pub mod app;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod billing;
pub mod cli;
pub mod config;
pub mod context;
pub mod i18n;
pub mod input;
pub mod jobs;
pub mod keeping;
pub mod local_time;
pub mod mail;
pub mod metrics;
pub mod money;
pub mod providers;
pub mod store;
pub mod telemetry;
pub mod web;
