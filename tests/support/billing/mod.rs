//! The billing fixtures every area shares: valid settings, a person and a
//! business customer, a contract with a SEPA mandate and its operations
//! (here); drafts, issuance and credit notes (`invoices`); products, orders
//! and payments (`sales`); plain SQL straight on the database (`raw`).

mod closures;
mod invoices;
mod raw;
mod sales;

pub use closures::*;
pub use invoices::*;
pub use raw::*;
pub use sales::*;

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::NaiveDate;
use comptoir::billing::address::PostalAddress;
use comptoir::billing::catalog::Nature;
use comptoir::billing::contracts::{
    self, Contract, NewContract, NewOperation, Operation, OperationKind, OperationLine,
};
use comptoir::billing::customers::{self, Customer, CustomerKind, NewCustomer};
use comptoir::billing::settings::{self, Activity, Settings, VatRegime};
use comptoir::billing::BillingError;
use comptoir::money::{Currency, Money};
use comptoir::store::Store;
use rust_decimal::Decimal;

pub const SELLER_SIREN: &str = "732829320";
pub const BUSINESS_SIREN: &str = "552100554";
pub const IBAN: &str = "FR7630006000011234567890189";

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

pub fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::EUR)
}

pub fn currency(code: &str) -> Currency {
    code.parse().expect("ISO 4217 code")
}

pub const BIC: &str = "BNPAFRPPXXX";

/// A French address: `lines`, `postcode`, `city`, FR.
pub fn address(lines: &[&str], postcode: &str, city: &str) -> PostalAddress {
    PostalAddress {
        lines: lines.iter().map(|l| l.to_string()).collect(),
        postcode: postcode.into(),
        city: city.into(),
        country: "FR".into(),
    }
}

/// Valid settings of a micro-entrepreneur: "Marie Dupont EI", F / AV series,
/// EUR, franchise en base, penalties at 10 % a year, IBAN and BIC.
pub fn valid_settings() -> Settings {
    Settings {
        seller_name: "Marie Dupont EI".into(),
        siren: SELLER_SIREN.into(),
        address: address(&["12 rue des Lilas"], "75011", "Paris"),
        email: Some("marie@example.fr".into()),
        electronic_address: String::new(),
        electronic_address_scheme: settings::SIREN_SCHEME.into(),
        iban: Some(IBAN.into()),
        bic: Some(BIC.into()),
        activity: Activity::Mixed,
        vat_regime: VatRegime::Franchise,
        payment_terms_days: 30,
        late_penalty_rate: Decimal::from(10),
        discount_terms: None,
        invoice_prefix: "F".into(),
        credit_note_prefix: "AV".into(),
        currency: Currency::EUR,
        services_category: Default::default(),
        declaration_frequency: Default::default(),
    }
}

pub async fn save_settings(store: &Store) -> Settings {
    let mut tx = store.begin().await.expect("begin");
    let saved = settings::save(&mut tx, valid_settings()).await.expect("valid settings");
    tx.commit().await.expect("commit");
    saved
}

pub fn person_input(name: &str) -> NewCustomer {
    NewCustomer {
        kind: CustomerKind::Person,
        name: name.into(),
        email: Some("client@example.fr".into()),
        address: address(&["3 place du Marché"], "69002", "Lyon"),
        siren: None,
        electronic_address: None,
        electronic_address_scheme: None,
    }
}

pub fn business_input() -> NewCustomer {
    NewCustomer {
        kind: CustomerKind::Business,
        name: "Atelier Dupré SARL".into(),
        email: None,
        address: address(&["5 avenue de l'Été"], "69003", "Lyon"),
        siren: Some(BUSINESS_SIREN.into()),
        electronic_address: None,
        electronic_address_scheme: None,
    }
}

pub async fn create_customer(store: &Store, new: NewCustomer) -> Customer {
    let mut tx = store.begin().await.expect("begin");
    let customer = customers::create(&mut tx, new).await.expect("valid customer");
    tx.commit().await.expect("commit");
    customer
}

pub async fn person(store: &Store) -> Customer {
    create_customer(store, person_input("Jean Martin")).await
}

pub async fn business(store: &Store) -> Customer {
    create_customer(store, business_input()).await
}

static MANDATES: AtomicU32 = AtomicU32::new(1);

pub fn contract_input(customer_id: i64, ceiling_minor: i64, signed_on: NaiveDate) -> NewContract {
    NewContract {
        customer_id,
        ceiling: eur(ceiling_minor),
        mandate_reference: format!("RUM-{:05}", MANDATES.fetch_add(1, Ordering::SeqCst)),
        mandate_signed_on: signed_on,
        iban: IBAN.into(),
    }
}

/// An active contract in EUR with a fresh mandate reference.
pub async fn contract(store: &Store, customer_id: i64, ceiling_minor: i64, signed_on: NaiveDate) -> Contract {
    let mut tx = store.begin().await.expect("begin");
    let c = contracts::subscribe(&mut tx, contract_input(customer_id, ceiling_minor, signed_on))
        .await
        .expect("valid contract");
    tx.commit().await.expect("commit");
    c
}

pub fn op_line(description: &str, nature: Nature, quantity: Decimal, unit: Money) -> OperationLine {
    OperationLine {
        description: description.into(),
        nature,
        quantity,
        unit_price: unit,
    }
}

pub fn operation(kind: OperationKind, minor: i64, on: NaiveDate) -> NewOperation {
    NewOperation {
        kind,
        lines: vec![op_line(
            if kind == OperationKind::Purchase {
                "Abonnement"
            } else {
                "Retour"
            },
            Nature::Services,
            Decimal::ONE,
            eur(minor),
        )],
        occurred_on: on,
    }
}

/// Posts an operation in its own transaction, committed only when accepted.
pub async fn post(
    store: &Store,
    contract_id: i64,
    new: NewOperation,
    today: NaiveDate,
) -> Result<Operation, BillingError> {
    let mut tx = store.begin().await.expect("begin");
    let op = contracts::post_operation(&mut tx, contract_id, new, today).await?;
    tx.commit().await.expect("commit");
    Ok(op)
}

pub async fn purchase(store: &Store, contract_id: i64, minor: i64, on: NaiveDate) -> Result<Operation, BillingError> {
    post(store, contract_id, operation(OperationKind::Purchase, minor, on), on).await
}

pub async fn refund(store: &Store, contract_id: i64, minor: i64, on: NaiveDate) -> Result<Operation, BillingError> {
    post(store, contract_id, operation(OperationKind::Refund, minor, on), on).await
}
