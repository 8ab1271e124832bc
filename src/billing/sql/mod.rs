//! The billing domain's SQL, one module per part of the domain, beside the
//! domain it serves: the domain's functions call these, and nothing else
//! builds SQL. Statements are shared by both backends through `store::sql`
//! unless a module says otherwise.

pub(crate) mod bank;
pub(crate) mod catalog;
pub(crate) mod closures;
pub(crate) mod contracts;
pub(crate) mod customers;
pub(crate) mod documents;
pub(crate) mod imports;
pub(crate) mod invoices;
pub(crate) mod ledger;
pub(crate) mod mailing;
pub(crate) mod orders;
pub(crate) mod payments;
pub(crate) mod provider_events;
pub(crate) mod revenue_book;
pub(crate) mod settings;
