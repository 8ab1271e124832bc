//! `comptoir-worker bench-keeping`: how long keeping takes for a year of a
//! sole trader's business. In a scratch data directory (SQLite, deleted
//! after): last year's invoices, each paid by transfer, the book closed;
//! then a backup, the year's archive, and its verification, each timed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::KeepingError;
use crate::billing::address::PostalAddress;
use crate::billing::catalog::Nature;
use crate::billing::customers::{self, CustomerKind, NewCustomer};
use crate::billing::invoices::{self, NewInvoice, NewLine};
use crate::billing::payments::{self, Completion, NewPayment, PaymentMethod};
use crate::billing::settings::{self, Activity, Settings, VatRegime};
use crate::billing::{closures, seal, BillingError};
use crate::config::Config;
use crate::money::{Currency, Money};
use crate::store::Store;

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct KeepingBench {
    pub invoices: usize,
    pub backup: Duration,
    pub backup_bytes: u64,
    pub archive: Duration,
    pub archive_bytes: u64,
    pub archive_files: usize,
    pub verify: Duration,
    pub intact: bool,
}

impl KeepingBench {
    /// One line for scripts, like the queue bench's.
    pub fn result_line(&self) -> String {
        format!(
            "RESULT system=comptoir-keeping-sqlite invoices={} backup_ms={:.0} backup_bytes={} archive_ms={:.0} \
             archive_bytes={} archive_files={} verify_ms={:.0} intact={}",
            self.invoices,
            ms(self.backup),
            self.backup_bytes,
            ms(self.archive),
            self.archive_bytes,
            self.archive_files,
            ms(self.verify),
            self.intact
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn address(line: &str, postcode: &str, city: &str) -> PostalAddress {
    PostalAddress {
        lines: vec![line.into()],
        postcode: postcode.into(),
        city: city.into(),
        country: "FR".into(),
    }
}

fn seller() -> Settings {
    Settings {
        seller_name: "Marie Dupont EI".into(),
        siren: "732829320".into(),
        address: address("12 rue des Lilas", "75011", "Paris"),
        email: Some("marie@example.fr".into()),
        electronic_address: String::new(),
        electronic_address_scheme: settings::SIREN_SCHEME.into(),
        iban: Some("FR7630006000011234567890189".into()),
        bic: Some("BNPAFRPPXXX".into()),
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

/// Last year's business: `n` invoices spread over the year, each paid by
/// transfer ten days after its issue; then the book closed.
async fn a_year_of_business(store: &Store, n: usize) -> Result<i32, BillingError> {
    let mut tx = store.begin().await?;
    settings::save(&mut tx, seller()).await?;
    let customer = customers::create(
        &mut tx,
        NewCustomer {
            kind: CustomerKind::Business,
            name: "Atelier Dupré SARL".into(),
            email: None,
            address: address("5 avenue de l'Été", "69003", "Lyon"),
            siren: Some("552100554".into()),
            electronic_address: None,
            electronic_address_scheme: None,
        },
    )
    .await?;
    tx.commit().await?;
    let year = store.now().await?.year() - 1;
    let start = NaiveDate::from_ymd_opt(year, 1, 1).expect("1 January");
    for i in 0..n {
        // Issued in order through the year (numbering is chronological), paid 10 days later.
        let day = (i * 350 / n.max(1)) as u64;
        let issued_on = start + chrono::Days::new(day);
        let amount = Money::new(8_000 + (i as i64 % 40) * 250, Currency::EUR);
        let mut tx = store.begin().await?;
        let draft = invoices::create_draft(
            &mut tx,
            NewInvoice::of_lines(
                customer.id,
                Currency::EUR,
                vec![NewLine {
                    description: format!("Prestation de conseil n° {}", i + 1),
                    nature: Nature::Services,
                    quantity: Decimal::ONE,
                    unit: None,
                    unit_price: amount,
                }],
            ),
        )
        .await?;
        let invoice = invoices::issue(&mut tx, draft.id, issued_on).await?;
        let payment = payments::initiate(
            &mut tx,
            NewPayment {
                customer_id: customer.id,
                invoice_id: Some(invoice.id),
                order_id: None,
                provider: "manual".into(),
                method: PaymentMethod::Transfer,
                amount,
                idempotency_key: format!("bench-keeping-{i}"),
            },
        )
        .await?;
        payments::complete(
            &mut tx,
            payment.id,
            Completion {
                received_on: issued_on + chrono::Days::new(10),
                fee: Money::zero(Currency::EUR),
                provider_reference: None,
            },
        )
        .await?;
        tx.commit().await?;
    }
    closures::close_due(store).await?;
    Ok(year)
}

/// Runs the bench in a scratch directory under `work_dir`, printing each
/// figure as it goes; the directory is removed after, whatever happened.
pub async fn run(work_dir: &Path, invoices: usize) -> Result<KeepingBench, KeepingError> {
    let scratch = work_dir.join(format!("comptoir-bench-keeping-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(KeepingError::io(&scratch))?;
    let result = measure(&scratch, invoices).await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

async fn measure(scratch: &Path, invoices: usize) -> Result<KeepingBench, KeepingError> {
    let config = Config {
        database_url: None,
        data_dir: scratch.join("data"),
        backup_dir: Some(scratch.join("backups")),
    };
    std::fs::create_dir_all(&config.data_dir).map_err(KeepingError::io(&config.data_dir))?;
    let store = Store::connect(&config.database_url()).await?;
    store.migrate().await?;
    // A key of the scratch directory's own (not the one COMPTOIR_BOOK_KEY may name).
    let (key, _) = seal::BookKey::load_or_create(&config.data_dir, None)?;
    seal::register(&store, &key).await?;
    let store = seal::attach(&store, key);
    let started = Instant::now();
    let year = a_year_of_business(&store, invoices).await?;
    println!(
        "bench-keeping: {invoices} invoices of {year} issued, paid and closed in {:.1} s (set-up, not measured)",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let backup = super::backup::take(&store, &config, &config.backup_dir(), super::backup::Origin::Command).await?;
    let backup_time = started.elapsed();
    println!("bench-keeping: backup {:.0} ms, {} bytes", ms(backup_time), backup.size);

    let started = Instant::now();
    let archive = super::archive::make(&store, year, &config.archive_dir()).await?;
    let archive_time = started.elapsed();
    println!(
        "bench-keeping: archive of {year} {:.0} ms, {} files, {} bytes",
        ms(archive_time),
        archive.files,
        archive.size
    );

    let started = Instant::now();
    let check = super::archive::verify(&archive.path, None)?;
    let verify_time = started.elapsed();
    println!(
        "bench-keeping: archive verify {:.0} ms, {}",
        ms(verify_time),
        if check.is_intact() { "intact" } else { "NOT INTACT" }
    );
    store.close().await;
    Ok(KeepingBench {
        invoices,
        backup: backup_time,
        backup_bytes: backup.size,
        archive: archive_time,
        archive_bytes: archive.size,
        archive_files: archive.files,
        verify: verify_time,
        intact: check.is_intact(),
    })
}

/// Where the bench's scratch directory goes by default.
pub fn default_work_dir() -> PathBuf {
    std::env::temp_dir()
}
