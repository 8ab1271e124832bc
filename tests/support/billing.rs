//! Billing fixtures shared by the `billing_*` tests: valid settings, a person
//! and a business customer, a contract with a SEPA mandate, drafts and
//! issuance, and plain SQL straight on the database (bypassing the store).

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::NaiveDate;
use comptoir::billing::catalog::Nature;
use comptoir::billing::contracts::{
    self, Contract, NewContract, NewOperation, Operation, OperationKind, OperationLine,
};
use comptoir::billing::customers::{self, Customer, CustomerKind, NewCustomer};
use comptoir::billing::invoices::{self, Invoice, NewInvoice, NewLine};
use comptoir::billing::settings::{self, Activity, Settings, FRANCHISE_MENTION};
use comptoir::billing::BillingError;
use comptoir::money::{Currency, Money};
use comptoir::store::Store;
use rust_decimal::Decimal;

use super::{Backend, TestDb};

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

/// Valid settings of a micro-entrepreneur: "Marie Dupont EI", F / AV series, EUR.
pub fn valid_settings() -> Settings {
    Settings {
        seller_name: "Marie Dupont EI".into(),
        siren: SELLER_SIREN.into(),
        address: "12 rue des Lilas, 75011 Paris".into(),
        email: Some("marie@example.fr".into()),
        activity: Activity::Mixed,
        vat_mention: FRANCHISE_MENTION.into(),
        payment_terms_days: 30,
        late_penalty_rate: "trois fois le taux d'intérêt légal".into(),
        invoice_prefix: "F".into(),
        credit_note_prefix: "AV".into(),
        currency: Currency::EUR,
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
        address: "3 place du Marché, 69002 Lyon".into(),
        siren: None,
    }
}

pub fn business_input() -> NewCustomer {
    NewCustomer {
        kind: CustomerKind::Business,
        name: "Atelier Dupré SARL".into(),
        email: None,
        address: "5 avenue de l'Été, 69003 Lyon".into(),
        siren: Some(BUSINESS_SIREN.into()),
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

pub fn line(description: &str, nature: Nature, quantity: Decimal, unit: Money) -> NewLine {
    NewLine {
        description: description.into(),
        nature,
        quantity,
        unit_price: unit,
    }
}

pub fn invoice_input(customer_id: i64, lines: Vec<NewLine>) -> NewInvoice {
    let currency = lines.first().map(|l| l.unit_price.currency).unwrap_or(Currency::EUR);
    NewInvoice {
        customer_id,
        currency,
        lines,
        contract_id: None,
        order_id: None,
        period: None,
    }
}

pub async fn draft(store: &Store, customer_id: i64, lines: Vec<NewLine>) -> Invoice {
    let mut tx = store.begin().await.expect("begin");
    let inv = invoices::create_draft(&mut tx, invoice_input(customer_id, lines))
        .await
        .expect("valid draft");
    tx.commit().await.expect("commit");
    inv
}

/// A one-line services draft of `minor` cents.
pub async fn simple_draft(store: &Store, customer_id: i64, minor: i64) -> Invoice {
    draft(
        store,
        customer_id,
        vec![line(
            "Prestation de conseil",
            Nature::Services,
            Decimal::ONE,
            eur(minor),
        )],
    )
    .await
}

pub async fn issue(store: &Store, id: i64, on: NaiveDate) -> Invoice {
    let mut tx = store.begin().await.expect("begin");
    let inv = invoices::issue(&mut tx, id, on).await.expect("issue");
    tx.commit().await.expect("commit");
    inv
}

/// Pays an issued invoice in full, received on `on` (a receipt in the
/// livre de recettes), through `provider` with `method`, under `key`.
pub async fn pay_in_full(
    store: &Store,
    invoice: &Invoice,
    on: NaiveDate,
    provider: &str,
    method: comptoir::billing::payments::PaymentMethod,
    key: &str,
) -> comptoir::billing::payments::Payment {
    use comptoir::billing::payments::{self, Completion, NewPayment};
    let mut tx = store.begin().await.expect("begin");
    let p = payments::initiate(
        &mut tx,
        NewPayment {
            customer_id: invoice.customer_id,
            invoice_id: Some(invoice.id),
            order_id: None,
            provider: provider.into(),
            method,
            amount: invoice.total,
            idempotency_key: key.into(),
        },
    )
    .await
    .expect("initiate");
    let p = payments::complete(
        &mut tx,
        p.id,
        Completion {
            received_on: on,
            fee: Money::zero(invoice.total.currency),
            provider_reference: None,
        },
    )
    .await
    .expect("complete");
    tx.commit().await.expect("commit");
    p
}

/// Runs one statement on a connection of its own, outside the application.
pub async fn raw_execute(db: &TestDb, sql: &str) -> Result<u64, String> {
    use sqlx::Connection;
    match db.backend {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            sqlx::query(sql)
                .execute(&mut c)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| e.to_string())
        }
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.expect("connect");
            sqlx::query(sql)
                .execute(&mut c)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| e.to_string())
        }
    }
}

/// One integer (e.g. a `COUNT(*)`), read on a connection of its own.
pub async fn raw_i64(db: &TestDb, sql: &str) -> i64 {
    use sqlx::Connection;
    match db.backend {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
            sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut c).await.expect(sql)
        }
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.expect("connect");
            sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut c).await.expect(sql)
        }
    }
}

pub async fn count(db: &TestDb, table: &str) -> i64 {
    raw_i64(db, &format!("SELECT COUNT(*) FROM {table}")).await
}

/// Row counts of every billing table, to show that a refused call changed nothing.
pub async fn billing_counts(db: &TestDb) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for table in [
        "billing_settings",
        "document_series",
        "customers",
        "contracts",
        "contract_operations",
        "invoices",
        "invoice_lines",
        "ledger_transactions",
        "ledger_entries",
    ] {
        out.push((table, count(db, table).await));
    }
    out
}

/// Issues a credit note in its own transaction, committed only when it succeeds.
pub async fn credit(
    store: &Store,
    invoice_id: i64,
    amount: Option<Money>,
    on: NaiveDate,
) -> Result<Invoice, BillingError> {
    use comptoir::billing::credit_notes::{self, CreditRequest};
    let mut tx = store.begin().await.expect("begin");
    let note = credit_notes::issue(
        &mut tx,
        invoice_id,
        CreditRequest {
            nature: None,
            amount,
            reason: "Geste commercial".into(),
            issue_date: on,
        },
    )
    .await?;
    tx.commit().await.expect("commit");
    Ok(note)
}
