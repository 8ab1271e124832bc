//! Comptoir: a database-backed job queue and the billing of a one-person business.

pub mod jobs;
pub mod store;
