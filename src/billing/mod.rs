//! The billing domain: money, customers, contracts, invoices, payments,
//! ledger, livre de recettes, and their documents.

pub mod catalog;
pub mod contracts;
pub mod credit_notes;
pub mod customers;
pub mod error;
pub mod invoices;
pub mod ledger;
pub mod documents;
pub mod monthly;
pub mod money;
pub mod orders;
pub mod payments;
pub mod refunds;
pub mod revenue_book;
pub mod settings;
pub mod validate;

pub use error::{BillingError, Refusal};
