//! `comptoir-worker billing …`: what an operator needs before the admin
//! exists, and for scripts: seller settings, the livre de recettes check and
//! export, invoice PDFs, the monthly run.

use std::path::PathBuf;

use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};

use super::exit;
use crate::billing::address::PostalAddress;
use crate::billing::error::invalid;
use crate::billing::render::{self, BookPeriod};
use crate::billing::settings::{self, Activity, DeclarationFrequency, ServicesCategory, Settings, VatRegime};
use crate::billing::{book_check, closures, invoices, monthly, seal, BillingError};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// Show the seller's identity and series.
    Settings {
        #[arg(long)]
        json: bool,
    },
    /// Set the seller's identity and series (all printed on documents).
    Configure(Box<ConfigureArgs>),
    /// The catalogue: add a product, retire one, list those for sale.
    #[command(subcommand)]
    Product(ProductCommand),
    /// Check the livre de recettes: its lines (chain, signatures, numbering,
    /// end), its closures (chain, signatures, what they sealed); names each
    /// thing found, exit 1 if any.
    VerifyBook {
        /// Check with this public key (hex, as printed on an export) instead
        /// of this machine's key file.
        #[arg(long)]
        public_key: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Close the livre de recettes: each day with receipts before today, each
    /// month and year ended (what the daily `billing.close_book` job does).
    CloseBook,
    /// Write the livre de recettes of a period (2026, 2026-Q1, 2026-11): its
    /// lines (CSV), totals (CSV), PDF and seal (CSV), after verifying the book.
    ExportBook {
        period: String,
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Write the PDF of an issued invoice or credit note (by number, e.g. F2026-0001).
    InvoicePdf {
        reference: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write an issued invoice's or credit note's CII XML (what its Factur-X PDF embeds).
    InvoiceXml {
        reference: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import a file: customers (CSV), or a bank statement (`bank`, also
    /// `payments`: camt.053 XML or a bank's CSV export, told apart by its
    /// content). The file is kept in the data directory and imported by a
    /// worker; prints the import id.
    Import {
        /// customers, bank (or payments)
        kind: String,
        file: PathBuf,
    },
    /// Show an import's report: counts, and each bad or skipped row by line.
    ImportReport { id: i64 },
    /// Invoice every contract's operations of a month (YYYY-MM); safe to run twice.
    MonthlyRun {
        period: String,
        /// Default: today.
        #[arg(long)]
        issue_date: Option<NaiveDate>,
    },
    /// The URSSAF declaration of a period (2026-Q3 or 2026-11; default: the
    /// last ended period at the configured frequency): turnover to declare
    /// per category, estimated contributions, deadline.
    Urssaf {
        period: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProductCommand {
    /// Add a product (the API's checkout prices orders from the catalogue).
    Add {
        #[arg(long)]
        sku: String,
        #[arg(long)]
        name: String,
        /// goods or services (kept apart in the livre de recettes).
        #[arg(long)]
        nature: String,
        /// The unit price, e.g. 19.90 or "19,90".
        #[arg(long)]
        price: String,
        #[arg(long, default_value = "EUR")]
        currency: String,
    },
    /// Take a product off sale (documents already issued keep it).
    Retire { sku: String },
    /// The products for sale, one per line.
    List,
}

#[derive(Debug, Args)]
pub struct ConfigureArgs {
    /// With "EI", e.g. "Marie Dupont EI".
    #[arg(long)]
    seller_name: String,
    #[arg(long)]
    siren: String,
    /// The street lines (1 to 3), separated by "\n". Without --postcode and
    /// --city, a last line "75011 Paris" gives them.
    #[arg(long)]
    address: String,
    #[arg(long)]
    postcode: Option<String>,
    #[arg(long)]
    city: Option<String>,
    /// ISO 3166-1 alpha-2 code.
    #[arg(long, default_value = "FR")]
    country: String,
    #[arg(long)]
    email: Option<String>,
    /// The seller's e-invoicing address; default: the SIREN.
    #[arg(long)]
    electronic_address: Option<String>,
    /// "0225" (SIREN, the French directory) or "EM" (e-mail)…
    #[arg(long, default_value = settings::SIREN_SCHEME)]
    electronic_address_scheme: String,
    /// The account transfers are paid to, printed on invoices.
    #[arg(long)]
    iban: Option<String>,
    #[arg(long)]
    bic: Option<String>,
    /// goods, services or mixed.
    #[arg(long, default_value = "services")]
    activity: String,
    /// The VAT regime; only "franchise" (art. 293 B du CGI) today.
    #[arg(long, default_value = "franchise")]
    vat_regime: String,
    #[arg(long, default_value_t = settings::DEFAULT_PAYMENT_TERMS_DAYS)]
    payment_terms_days: i32,
    /// Percent a year, at least three times the legal interest rate (e.g. 15 or "10,5").
    #[arg(long, default_value_t = settings::DEFAULT_LATE_PENALTY_RATE.to_string())]
    late_penalty_rate: String,
    /// The discount for early payment; default: "Pas d'escompte pour paiement anticipé".
    #[arg(long)]
    discount_terms: Option<String>,
    #[arg(long, default_value = settings::DEFAULT_INVOICE_PREFIX)]
    invoice_prefix: String,
    #[arg(long, default_value = settings::DEFAULT_CREDIT_NOTE_PREFIX)]
    credit_note_prefix: String,
    #[arg(long, default_value = "EUR")]
    currency: String,
    /// Where services are declared to URSSAF: bic (commercial or artisanal) or bnc (liberal professions).
    #[arg(long, default_value = "bic")]
    services_category: String,
    /// How often turnover is declared to URSSAF: monthly or quarterly.
    #[arg(long, default_value = "quarterly")]
    declaration_frequency: String,
}

pub async fn run(store: &Store, data_dir: &std::path::Path, cmd: BillingCommand) -> u8 {
    match cmd {
        BillingCommand::Import { kind, file } => return import(store, data_dir, &kind, &file).await,
        BillingCommand::ImportReport { id } => return import_report(store, id).await,
        _ => {}
    }
    match execute(store, cmd).await {
        Ok(code) => code,
        Err(BillingError::Store(e)) if e.is_transient() => {
            eprintln!("error: {e}");
            exit::UNAVAILABLE
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::JOBS_FAILED
        }
    }
}

async fn execute(store: &Store, cmd: BillingCommand) -> Result<u8, BillingError> {
    match cmd {
        BillingCommand::Settings { json } => {
            let s = settings::load(store).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
            } else {
                println!(
                    "{}\nSIREN {}\n{}",
                    s.seller_name,
                    s.siren,
                    s.address.printed_lines().join("\n")
                );
                println!(
                    "adresse électronique : {} (schéma {})",
                    s.electronic_address, s.electronic_address_scheme
                );
                if let Some(iban) = &s.iban {
                    println!("IBAN {iban} · BIC {}", s.bic.as_deref().unwrap_or("-"));
                }
                println!(
                    "{} · paiement à {} jours · pénalités : {} % par an · {}",
                    s.vat_mention(),
                    s.payment_terms_days,
                    crate::billing::terms::percent(s.late_penalty_rate),
                    s.discount_text()
                );
                println!(
                    "séries : {}AAAA / {}AAAA · {}",
                    s.invoice_prefix, s.credit_note_prefix, s.currency
                );
                println!(
                    "URSSAF : déclaration {} · prestations de services {}",
                    s.declaration_frequency.label_fr(),
                    s.services_category.as_str().to_uppercase()
                );
            }
        }
        BillingCommand::Configure(a) => {
            let lines = a.address.replace("\\n", "\n");
            let address = match (a.postcode, a.city) {
                (None, None) => PostalAddress {
                    country: a.country,
                    ..PostalAddress::from_legacy(&lines)
                },
                (postcode, city) => PostalAddress {
                    lines: lines.lines().map(String::from).collect(),
                    postcode: postcode.unwrap_or_default(),
                    city: city.unwrap_or_default(),
                    country: a.country,
                },
            };
            let rate = a
                .late_penalty_rate
                .trim()
                .trim_end_matches('%')
                .trim()
                .replace(',', ".");
            let new = Settings {
                seller_name: a.seller_name,
                siren: a.siren,
                address,
                email: a.email,
                electronic_address: a.electronic_address.unwrap_or_default(),
                electronic_address_scheme: a.electronic_address_scheme,
                iban: a.iban,
                bic: a.bic,
                activity: Activity::parse(&a.activity)?,
                vat_regime: VatRegime::parse(&a.vat_regime)?,
                payment_terms_days: a.payment_terms_days,
                late_penalty_rate: rate.parse().map_err(|_| {
                    invalid(
                        "late_penalty_rate",
                        crate::text!(
                            "« {rate} » n'est pas un pourcentage (ex. 15 ou 10,5)",
                            rate = a.late_penalty_rate
                        ),
                    )
                })?,
                discount_terms: a.discount_terms,
                invoice_prefix: a.invoice_prefix,
                credit_note_prefix: a.credit_note_prefix,
                currency: a.currency.parse()?,
                services_category: ServicesCategory::parse(&a.services_category)?,
                declaration_frequency: DeclarationFrequency::parse(&a.declaration_frequency)?,
            };
            let mut tx = store.begin().await?;
            let saved = crate::billing::actions::settings::save(&mut tx, &crate::audit::Actor::cli(), new).await?;
            tx.commit().await?;
            println!("settings saved for {} (SIREN {})", saved.seller_name, saved.siren);
        }
        BillingCommand::Product(command) => product(store, command).await?,
        BillingCommand::VerifyBook { public_key, json } => {
            let v = match public_key {
                Some(hex) => book_check::verify_with(store, seal::PublicKey::from_hex(&hex)?).await?,
                None => book_check::verify(store).await?,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                print_verification(&v);
            }
            if !v.is_intact() {
                return Ok(exit::JOBS_FAILED);
            }
        }
        BillingCommand::CloseBook => {
            let made = closures::close_due(store).await?;
            if made.is_empty() {
                println!("rien à clôturer : chaque journée terminée qui a des recettes, chaque mois et chaque année terminés sont déjà clos (la journée en cours se clôt cette nuit)");
            }
            for c in &made {
                println!(
                    "clôture n° {} : {}, {} ligne(s), scelle les lignes 1 à {}",
                    c.number,
                    c.label(),
                    c.line_count,
                    c.book_seq
                );
            }
        }
        BillingCommand::ExportBook { period, out } => {
            let period = BookPeriod::parse(&period)?;
            let export = match render::export_book(store, period).await {
                Err(BillingError::BookAltered(why)) => {
                    eprintln!("export refusé : {why}\n(détail : comptoir-worker billing verify-book)");
                    return Ok(exit::JOBS_FAILED);
                }
                other => other?,
            };
            let names = render::BookExport::file_names(period);
            let files = [&export.csv, &export.totals_csv, &export.pdf, &export.seal_csv];
            let mut written = Vec::new();
            for (name, bytes) in names.iter().zip(files) {
                let path = out.join(name);
                write(&path, bytes)?;
                written.push(path.display().to_string());
            }
            println!("{} ligne(s) ; livre vérifié : {}", export.lines, written.join(", "));
        }
        BillingCommand::InvoicePdf { reference, out } => {
            let invoice = invoices::by_reference(store, &reference).await?;
            let pdf = render::invoice_pdf(store, invoice.id).await?;
            let path = out.unwrap_or_else(|| PathBuf::from(format!("{reference}.pdf")));
            write(&path, &pdf)?;
            println!("{}", path.display());
        }
        BillingCommand::InvoiceXml { reference, out } => {
            let invoice = invoices::by_reference(store, &reference).await?;
            let xml = render::invoice_xml(store, invoice.id).await?;
            let path = out.unwrap_or_else(|| PathBuf::from(format!("{reference}.xml")));
            write(&path, &xml)?;
            println!("{}", path.display());
        }
        BillingCommand::Import { .. } | BillingCommand::ImportReport { .. } => unreachable!("handled in run"),
        BillingCommand::MonthlyRun { period, issue_date } => {
            let period = monthly::Period::parse(&period)?;
            let date = issue_date.unwrap_or_else(|| Utc::now().date_naive());
            for (contract, outcome) in monthly::run(store, period, date).await? {
                println!(
                    "contract {contract}: {}",
                    serde_json::to_string(&outcome).unwrap_or_default()
                );
            }
        }
        BillingCommand::Urssaf { period, json } => urssaf(store, period.as_deref(), json).await?,
    }
    Ok(exit::OK)
}

fn print_verification(v: &book_check::Verification) {
    let key = format!("clé du livre {} ({})", v.fingerprint, v.public_key);
    if v.is_intact() {
        println!(
            "livre de recettes intact : {} ligne(s), {} clôture(s) vérifiées ; {key}",
            v.lines_checked, v.closures_checked
        );
        match &v.last_closure {
            Some(c) => println!(
                "dernière clôture : n° {} ({}), lignes 1 à {} ; {} ligne(s) depuis, signées",
                c.number,
                c.label(),
                c.book_seq,
                v.lines_after_last_closure
            ),
            None => println!("aucune clôture encore (comptoir-worker billing close-book)"),
        }
        return;
    }
    eprintln!(
        "livre de recettes ALTÉRÉ : {} anomalie(s) sur {} ligne(s) et {} clôture(s) ; {key}",
        v.findings.len(),
        v.lines_checked,
        v.closures_checked
    );
    for f in &v.findings {
        eprintln!("- {}", f.message);
    }
}

async fn product(store: &Store, command: ProductCommand) -> Result<(), BillingError> {
    use crate::audit::{self, Actor, Record};
    use crate::billing::catalog::{self, Nature, NewProduct};
    use crate::money::Money;
    match command {
        ProductCommand::Add {
            sku,
            name,
            nature,
            price,
            currency,
        } => {
            let currency = currency.parse()?;
            let unit_price =
                Money::parse(&price, currency).map_err(|e| crate::billing::error::invalid("price", e.text()))?;
            let mut tx = store.begin().await?;
            let product = catalog::create(
                &mut tx,
                NewProduct {
                    sku,
                    name,
                    nature: Nature::parse(&nature)?,
                    unit_price,
                    unit: None,
                },
            )
            .await?;
            let entry = Record::new("product.create", format!("product:{}", product.sku));
            audit::record_in(&mut tx, &Actor::cli(), entry).await?;
            tx.commit().await?;
            println!(
                "{} {} {} {}",
                product.sku,
                product.unit_price,
                product.nature.as_str(),
                product.name
            );
        }
        ProductCommand::Retire { sku } => {
            let mut tx = store.begin().await?;
            catalog::set_active(&mut tx, sku.trim(), false).await?;
            let entry = Record::new("product.retire", format!("product:{}", sku.trim()));
            audit::record_in(&mut tx, &Actor::cli(), entry).await?;
            tx.commit().await?;
            println!("{} retired", sku.trim());
        }
        ProductCommand::List => {
            for p in catalog::price_list(store).await? {
                println!("{}\t{}\t{}\t{}", p.sku, p.unit_price, p.nature.as_str(), p.name);
            }
        }
    }
    Ok(())
}

fn write(path: &std::path::Path, bytes: &[u8]) -> Result<(), BillingError> {
    std::fs::write(path, bytes).map_err(|e| BillingError::Document(format!("cannot write {}: {e}", path.display())))
}

async fn import(store: &Store, data_dir: &std::path::Path, kind: &str, file: &std::path::Path) -> u8 {
    let Some(kind) = crate::billing::import::ImportKind::parse(kind) else {
        eprintln!("error: import kind {kind:?}: expected customers or bank");
        return exit::USAGE;
    };
    match crate::billing::jobs::import::start(store, data_dir, kind, file).await {
        Ok(import) => {
            println!("{}", import.id);
            eprintln!(
                "import {} queued; follow it with `comptoir-worker billing import-report {}`",
                import.id, import.id
            );
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            if e.is_transient() {
                exit::UNAVAILABLE
            } else {
                exit::JOBS_FAILED
            }
        }
    }
}

async fn import_report(store: &Store, id: i64) -> u8 {
    match crate::billing::import::get(store, id).await {
        Ok(import) => {
            println!("{}", serde_json::to_string_pretty(&import.report()).unwrap_or_default());
            exit::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit::JOBS_FAILED
        }
    }
}

/// `billing urssaf [PERIOD] [--json]`.
async fn urssaf(store: &Store, period: Option<&str>, json: bool) -> Result<(), BillingError> {
    use crate::billing::urssaf::{self, DeclarationPeriod};
    let today = crate::billing::dates::today(store).await?;
    let (services, frequency) = urssaf::configured(store).await?;
    let period = match period {
        Some(p) => DeclarationPeriod::parse(p)?,
        None => DeclarationPeriod::last_ended(frequency, today),
    };
    let d = urssaf::declaration(store, period, services, today).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default());
        return Ok(());
    }
    let fr = |day: NaiveDate| day.format("%d/%m/%Y").to_string();
    let euros = |n: i64| crate::money::Money::new(n * 100, crate::money::Currency::EUR).format_fr();
    println!("Déclaration URSSAF — {} (du {} au {})", d.label, fr(d.from), fr(d.to));
    println!("Échéance : {} · {}", fr(d.deadline), d.status.label_fr());
    for l in &d.lines {
        println!(
            "  {:<32} encaissé {:>14}   à déclarer {:>12}   × {} % = {}",
            l.label,
            l.received.format_fr(),
            euros(l.declared_euros),
            l.rate.normalize().to_string().replace('.', ","),
            l.contributions.format_fr()
        );
    }
    println!(
        "Total à déclarer : {} · cotisations estimées : {} (taux {})",
        euros(d.total_declared_euros),
        d.total_contributions.format_fr(),
        d.rates_year
    );
    for w in &d.warnings {
        println!("Attention : {w}");
    }
    Ok(())
}
