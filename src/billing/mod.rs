//! The billing domain: money, customers, contracts, invoices, payments,
//! ledger, livre de recettes, and their documents.

pub mod actions;
pub mod address;
pub mod bank;
pub mod book_check;
pub mod catalog;
pub mod closures;
pub mod contracts;
pub mod credit_notes;
pub mod customers;
pub mod dates;
pub mod documents;
pub mod emails;
pub mod error;
pub mod import;
pub mod invoices;
pub mod jobs;
pub mod ledger;
pub mod mailing;
pub mod monthly;
pub mod orders;
pub mod payments;
pub mod refunds;
pub mod render;
pub mod revenue_book;
pub mod seal;
pub mod settings;
mod sql;
pub mod terms;
pub mod urssaf;
pub mod validate;

pub use error::{BillingError, Refusal};
