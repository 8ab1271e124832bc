//! What an operator or a client does to the books, each in one function
//! that takes the caller's transaction and who acts: the fact, the jobs that
//! follow from it and its audit entry commit together, or not at all. The
//! admin's pages, the JSON API and the command line call these same
//! functions; a handler parses, opens the transaction, calls, commits and
//! renders. (Modelled on `jobs::payments::request_refund` and
//! `jobs::book::request`, which first did it this way.)

pub mod book;
pub mod catalog;
pub mod contracts;
pub mod customers;
pub mod invoices;
pub mod orders;
pub mod payments;
pub mod settings;
