//! The billing domain (customers, invoices, payments, ledger, livre de
//! recettes) lands here with issue 3; nothing in this crate depends on it yet.
