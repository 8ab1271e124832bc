//! The admin in a real headless Chromium (Debian's chromium + chromedriver,
//! installed by scripts/test), against a real `comptoir-web` process on the
//! embedded default (SQLite) with its worker, e-mails going to a real SMTP
//! server (aiosmtpd): sign in, create a customer, create and issue an invoice,
//! watch the e-mail job complete, download the PDF, record a payment, refund
//! it, generate the livre de recettes, sign out.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::pdf::pdf_text;
use crate::support::smtp::SmtpServer;
use crate::support::webdriver::{Browser, ChromeDriver};
use crate::support::TestDir;

pub(crate) const WEB: &str = env!("CARGO_BIN_EXE_comptoir-web");
pub(crate) const WORKER: &str = env!("CARGO_BIN_EXE_comptoir-worker");
pub(crate) const EMAIL: &str = "marie@example.fr";
pub(crate) const PASSWORD: &str = "correct horse battery staple";
/// Jobs run by the embedded worker, e-mails through SMTP: generous, never asserted as a duration.
/// (Once, with the whole suite running beside it on 2 cores, the book's generation took longer
/// than 60 s; alone it takes about one.)
pub(crate) const PATIENCE: Duration = Duration::from_secs(150);

/// `comptoir-web` with its worker, killed on drop (its stderr printed if the test failed).
pub(crate) struct WebProcess {
    child: tokio::process::Child,
    pub(crate) base: String,
    stderr: PathBuf,
}

impl Drop for WebProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if std::thread::panicking() {
            eprintln!(
                "--- comptoir-web stderr ---\n{}",
                std::fs::read_to_string(&self.stderr).unwrap_or_default()
            );
        }
    }
}

/// Runs one of the binaries to completion with the test's database and settings.
pub(crate) fn run(program: &str, args: &[&str], dir: &Path, env: &[(&str, String)]) -> String {
    let out = std::process::Command::new(program)
        .env(comptoir::billing::seal::KEY_ENV, crate::support::book_key_path())
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("COMPTOIR_DATA_DIR", dir.join("data"))
        .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .stdin(Stdio::null())
        .output()
        .expect("run a comptoir binary");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The set-up the README gives, from the command line: the seller's identity
/// (a services business; `extra` adds options to `billing configure`), the
/// operator who signs in with [`EMAIL`] and [`PASSWORD`], and an API key of
/// theirs (returned) for the tests that make their data through the API.
pub(crate) fn set_up(dir: &Path, extra: &[&str]) -> String {
    let mut configure = vec![
        "billing",
        "configure",
        "--seller-name",
        "Marie Dupont EI",
        "--siren",
        "732829320",
        "--address",
        "12 rue des Lilas\n75011 Paris",
        "--email",
        EMAIL,
        "--activity",
        "services",
    ];
    configure.extend_from_slice(extra);
    run(WORKER, &configure, dir, &[]);
    let created = run(
        WEB,
        &["admin", "create", "--email", EMAIL, "--name", "Marie Dupont"],
        dir,
        &[("COMPTOIR_ADMIN_PASSWORD", PASSWORD.to_string())],
    );
    assert!(created.contains("created"), "{created}");
    run(
        WEB,
        &["admin", "api-key", "create", "--email", EMAIL, "--name", "tests"],
        dir,
        &[],
    )
    .trim()
    .to_string()
}

pub(crate) async fn start_web(dir: &Path, smtp_port: u16) -> WebProcess {
    let port = crate::support::smtp::free_port();
    let stderr = dir.join("web.stderr");
    let child = tokio::process::Command::new(WEB)
        .env(comptoir::billing::seal::KEY_ENV, crate::support::book_key_path())
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("COMPTOIR_DATA_DIR", dir.join("data"))
        .env("COMPTOIR_SMTP_HOST", "127.0.0.1")
        .env("COMPTOIR_SMTP_PORT", smtp_port.to_string())
        .env("COMPTOIR_SMTP_TLS", "none")
        .env(
            "RUST_LOG",
            std::env::var("COMPTOIR_TEST_CHILD_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .kill_on_drop(true)
        .spawn()
        .expect("spawn comptoir-web");
    let web = WebProcess {
        child,
        base: format!("http://127.0.0.1:{port}"),
        stderr,
    };
    let deadline = Instant::now() + PATIENCE;
    let http = reqwest::Client::new();
    loop {
        if let Ok(r) = http.get(format!("{}/readyz", web.base)).send().await {
            if r.status() == 200 {
                return web;
            }
        }
        assert!(Instant::now() < deadline, "comptoir-web never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_day_in_a_real_browser() {
    // The run's directory: data, downloads, logs, a failure's screenshot.
    let dir = TestDir::new();
    let dir = dir.path();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let smtp = SmtpServer::start().await;

    // Set-up from the command line, as the README says: seller identity and an operator.
    set_up(dir, &[]);

    let web = start_web(dir, smtp.port).await;
    let driver = ChromeDriver::start(dir).await;
    let b = Browser::new(&driver, dir).await;
    let url = |path: &str| format!("{}{path}", web.base);

    // Sign in: the admin sends us to the form, and back.
    b.goto(&url("/admin")).await;
    b.find("#sign-in").await;
    assert!(
        b.current_url().await.contains("/admin/login"),
        "not at the sign-in form"
    );
    b.fill("#email", EMAIL).await;
    b.fill("#password", PASSWORD).await;
    b.click("#sign-in").await;
    b.wait_text("header .who", "Marie Dupont", PATIENCE).await;
    b.shot("dashboard-first-run").await;

    // A customer.
    b.goto(&url("/admin/customers/new")).await;
    b.click("#customer-form input[name=kind][value=business]").await;
    b.fill("#customer-form [name=name]", "Atelier Lumière SARL").await;
    b.fill("#customer-form [name=address_lines]", "3 quai des Brumes").await;
    b.fill("#customer-form [name=postcode]", "69002").await;
    b.fill("#customer-form [name=city]", "Lyon").await;
    b.fill("#customer-form [name=email]", "compta@atelier-lumiere.example")
        .await;
    b.fill("#customer-form [name=siren]", "552100554").await;
    b.click("#create-customer").await;

    // A product in the catalogue.
    b.goto(&url("/admin/catalog")).await;
    b.fill("#product-form [name=sku]", "TIRAGE-3040").await;
    b.fill("#product-form [name=name]", "Tirage d'art 30×40").await;
    b.select("#product-form [name=nature]", "goods").await;
    b.select("#product-form [name=unit]", "piece").await;
    b.fill("#product-form [name=unit_price]", "45,00").await;
    b.click("#create-product").await;
    b.wait_for("#products tr[data-sku=TIRAGE-3040]", PATIENCE).await;

    // An invoice for the customer: a line typed, a product picked, the total
    // following both; saved as a draft, edited, previewed, then issued after
    // its confirmation page.
    b.goto(&url("/admin/customers")).await;
    b.click("#customers tr[id^=customer-] a").await;
    let customer_page = b.current_url().await;
    b.click("#new-invoice").await;
    b.fill("#invoice-form [name=description_1]", "Atelier photo, demi-journée")
        .await;
    b.select("#invoice-form [name=nature_1]", "services").await;
    b.fill("#invoice-form [name=quantity_1]", "2").await;
    b.select("#invoice-form [name=unit_1]", "day").await;
    b.fill("#invoice-form [name=unit_price_1]", "150,00").await;
    b.wait_text("#running-total", "300,00", PATIENCE).await;
    b.select("#invoice-form [name=product_2]", "TIRAGE-3040").await;
    b.wait_text("#running-total", "345,00", PATIENCE).await;
    b.shot("invoice-draft").await;
    b.click("#save-draft").await;
    b.wait_text("#invoice-total", "345,00", PATIENCE).await;
    assert!(b
        .text(&b.find("#invoice-lines").await)
        .await
        .contains("Tirage d'art 30×40"));
    b.click("#edit-draft").await;
    b.select("#invoice-form [name=product_2]", "").await;
    b.fill("#invoice-form [name=description_2]", "").await;
    b.fill("#invoice-form [name=quantity_2]", "").await;
    b.fill("#invoice-form [name=unit_price_2]", "").await;
    b.wait_text("#running-total", "300,00", PATIENCE).await;
    b.click("#save-draft").await;
    b.wait_text("#invoice-total", "300,00", PATIENCE).await;
    b.find("#preview-draft").await;
    // The draft's pages on a phone: nothing scrolls sideways.
    b.set_size(390, 844).await;
    let draft_page = b.current_url().await;
    for (name, path) in [
        ("draft page", draft_page.clone()),
        ("draft form", format!("{draft_page}/edit")),
        ("confirmation", format!("{draft_page}/issue")),
        ("catalogue", url("/admin/catalog")),
    ] {
        b.goto(&path).await;
        b.find("main h1").await;
        b.assert_fits_width(name).await;
        if name == "draft form" {
            b.shot("invoice-draft-phone").await;
        }
    }
    b.set_size(1366, 900).await;
    b.goto(&draft_page).await;
    b.click("#issue-invoice").await;
    let announced = b.wait_text("#next-reference", "F", PATIENCE).await;
    b.shot("invoice-confirm").await;
    b.click("#confirm-issue").await;
    let reference = b.wait_text("#invoice-reference", "F", PATIENCE).await;
    assert_eq!(
        announced.trim(),
        reference.trim(),
        "the number announced is the one taken"
    );
    let reference = reference.trim().to_string();
    let invoice_page = b.current_url().await;
    assert!(
        reference.starts_with('F') && reference.ends_with("-0001"),
        "{reference}"
    );

    // The e-mail job completes (the page updates itself) and the message arrives.
    b.wait_text("#email-status", "envoyé", PATIENCE).await;
    b.shot("invoice").await;
    let deadline = Instant::now() + PATIENCE;
    while smtp.messages().is_empty() {
        assert!(Instant::now() < deadline, "no e-mail reached the SMTP server");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let message = &smtp.messages()[0];
    assert_eq!(message.header("To").as_deref(), Some("compta@atelier-lumiere.example"));
    // The job is listed as completed.
    b.goto(&url("/admin/jobs?kind=billing.send_invoice_email")).await;
    let row = b.find("#jobs tr[data-state=completed]").await;
    b.shot("jobs").await;
    assert!(b.text(&row).await.contains("billing.send_invoice_email"));

    // Download the PDF and read it back.
    b.goto(&invoice_page).await;
    b.click("#download-pdf").await;
    let pdf = b.downloaded(|n| n.ends_with(".pdf"), PATIENCE).await;
    let text = pdf_text(&std::fs::read(&pdf).unwrap());
    for mention in [
        reference.as_str(),
        "Marie Dupont EI",
        "Atelier Lumière SARL",
        "TVA non applicable, art. 293 B du CGI",
        "frais de recouvrement",
    ] {
        assert!(text.contains(mention), "the PDF lacks {mention:?}:\n{text}");
    }

    // The customer pays by transfer; the operator records it.
    b.fill("#payment-form [name=amount]", "300,00").await;
    b.select("#payment-form [name=method]", "transfer").await;
    b.click("#record-payment").await;
    b.wait_text("#payment-status", "encaissé", PATIENCE).await;

    // Refund part of it, confirmed.
    b.click("#refund").await;
    b.fill("#refund-form [name=amount]", "100,00").await;
    b.fill("#refund-form [name=reason]", "Séance écourtée").await;
    b.click("#refund-continue").await;
    b.shot("refund-confirm").await;
    b.click("#refund-confirm").await;
    b.wait_text("#refund-status", "effectué", PATIENCE).await;
    b.shot("payment").await;
    let payment_page = b.current_url().await;

    // The livre de recettes of the year: generated by a job, downloaded.
    let year = chrono::Utc::now().format("%Y").to_string();
    b.goto(&url("/admin/book")).await;
    b.select("#book-period", &year).await;
    b.click("#generate-book").await;
    b.wait_for("a[data-download=csv]", PATIENCE).await;
    b.shot("book").await;
    b.click("a[data-download=csv]").await;
    let csv = b.downloaded(|n| n.ends_with(".csv"), PATIENCE).await;
    let csv = String::from_utf8_lossy(&std::fs::read(&csv).unwrap()).into_owned();
    assert!(csv.contains(&reference), "the book cites the invoice:\n{csv}");
    assert!(
        csv.contains("300,00") && csv.contains("-100,00"),
        "receipt and refund lines:\n{csv}"
    );

    // Every page of the admin, as the day left them: no serious or critical
    // WCAG 2.1 A/AA violation (axe-core) on a desktop, and nothing wider than
    // a phone held upright (390 × 844). All problems are listed, then fail.
    b.goto(&url("/admin/jobs")).await;
    let job_page = b.attribute("#jobs td a[href^='/admin/jobs/']", "href").await;
    let pages: Vec<(&str, String)> = vec![
        ("tableau de bord", url("/admin")),
        ("tâches", url("/admin/jobs")),
        ("une tâche", url(&job_page)),
        ("clients", url("/admin/customers")),
        ("un client", customer_page.clone()),
        ("nouveau client", url("/admin/customers/new")),
        ("contrats", url("/admin/contracts")),
        ("nouveau contrat", url("/admin/contracts/new")),
        ("commandes", url("/admin/orders")),
        ("catalogue", url("/admin/catalog")),
        ("factures", url("/admin/invoices")),
        ("une facture", invoice_page.clone()),
        ("nouvelle facture", url("/admin/invoices/new")),
        ("paiements", url("/admin/payments")),
        ("un paiement", payment_page.clone()),
        ("imports", url("/admin/imports")),
        ("banque", url("/admin/bank")),
        ("livre de recettes", url("/admin/book")),
        ("urssaf", url("/admin/urssaf")),
        ("archives", url("/admin/archives")),
        ("journal", url("/admin/audit")),
        ("clés api", url("/admin/api-keys")),
        ("réglages", url("/admin/settings")),
    ];
    let mut problems = Vec::new();
    for (name, page) in &pages {
        b.set_size(1366, 900).await;
        b.goto(page).await;
        b.find("main h1").await;
        for v in b.axe_violations().await {
            problems.push(format!("{name} ({page}): {v}"));
        }
        if *name == "tableau de bord" {
            b.shot("dashboard").await;
        }
        b.set_size(390, 844).await;
        b.goto(page).await;
        b.find("main h1").await;
        if let Some(overflow) = b.overflow().await {
            problems.push(format!("{name} ({page}) on a phone: {overflow}"));
        }
        if *name == "une facture" {
            b.shot("phone-invoice").await;
        }
    }
    b.set_size(1366, 900).await;
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );

    // Sign out: the admin is closed again.
    b.click("#sign-out").await;
    b.find("#sign-in").await;
    let signin = b.axe_violations().await;
    assert!(signin.is_empty(), "the sign-in page:\n{}", signin.join("\n"));
    b.goto(&url("/admin/jobs")).await;
    b.find("#sign-in").await;
    b.close().await;
    drop(driver);
    drop(web);
}
