//! The input policy through the admin, on both backends: NUL, CR, LF, ESC and
//! U+202E in every text field of the forms (customers, invoice lines,
//! payments, credit notes, refunds, contracts and operations, settings, API
//! keys, job actions, the book) and of the list filters answer 422 naming
//! the field, store nothing, never 500; addresses keep their line breaks;
//! dates out of bounds are refused by their field.

use chrono::{Days, NaiveDate};
use comptoir::billing::payments::PaymentMethod;
use comptoir::jobs::{enqueue_now, EnqueueOptions, Noop};

use crate::on_both_backends;
use crate::support::billing::{contract, issue, pay_in_full, person, row_counts, save_settings, simple_draft};
use crate::support::input::CONTROL_TEXTS;
use crate::support::web::{Answer, Client, TestApp, EMAIL, PASSWORD};
use crate::support::Backend;
use crate::web::billing_html::input_value;

on_both_backends!(
    control_characters_in_any_admin_field_are_refused_by_field,
    control_characters_in_filters_are_refused,
    admin_addresses_keep_their_line_breaks,
    admin_dates_out_of_bounds_are_refused_by_field,
    refusals_are_said_in_the_operators_language,
);

/// Every table a form could write to.
const TABLES: [&str; 14] = [
    "billing_settings",
    "customers",
    "contracts",
    "contract_operations",
    "invoices",
    "invoice_lines",
    "payments",
    "refunds",
    "api_keys",
    "comptoir_jobs",
    "audit_log",
    "document_series",
    "revenue_book",
    "ledger_entries",
];

/// Whether the page names `field`: a message by its input (a form shown
/// again), or a message that starts with it (`field : …` on a refusal page,
/// `field: …` from the domain, `field` for the settings' message).
fn names_field(answer: &Answer, field: &str, domain_field: &str) -> bool {
    let body = &answer.body;
    let own = format!("name=\"{field}\"");
    let by_input = body.match_indices(&own).any(|(at, _)| {
        // Up to the next other field, or the end of the form.
        let rest = &body[at + own.len()..];
        let next_field = rest
            .match_indices("name=\"")
            .map(|(i, _)| i)
            .find(|i| !rest[*i..].starts_with(&own))
            .unwrap_or(rest.len());
        let end = next_field.min(rest.find("</form>").unwrap_or(rest.len()));
        rest[..end].contains("class=\"field-error\"")
    });
    let text = answer.text();
    let label = comptoir::billing::error::field_label(domain_field).to_string();
    by_input
        || text.contains(&format!("{field} : "))
        || text.contains(&format!("{domain_field}: "))
        || text.contains(&format!(">{domain_field} : "))
        || text.contains(&format!("{label} : "))
}

/// Posts `form` with `field` set to `value` and checks the refusal: 422, the
/// field named, nothing stored.
async fn refused(
    app: &TestApp,
    client: &mut Client,
    route: &str,
    form: &[(&str, &str)],
    field: (&str, &str),
    case: (&str, &str),
) {
    let (field, domain_field) = field;
    let (name, value) = case;
    let mut fields: Vec<(&str, &str)> = form.iter().filter(|(k, _)| *k != field).copied().collect();
    fields.push((field, value));
    let before = row_counts(&app.db, &TABLES).await;
    let answer = client.post_form(route, &fields).await;
    assert_eq!(answer.status, 422, "{route} {field} with {name}: {}", answer.body);
    assert!(
        names_field(&answer, field, domain_field),
        "{route} {field} with {name}: the field is not named: {}",
        answer.text()
    );
    assert_eq!(
        row_counts(&app.db, &TABLES).await,
        before,
        "{route} {field} with {name}: nothing stored"
    );
}

struct Fixtures {
    customer: i64,
    invoice: i64,
    payment: i64,
    contract: i64,
    job: i64,
}

async fn fixtures(app: &TestApp) -> Fixtures {
    save_settings(&app.db.store).await;
    let today = app.db.today().await;
    let customer = person(&app.db.store).await;
    let open = simple_draft(&app.db.store, customer.id, 10_000).await;
    issue(&app.db.store, open.id, today).await;
    let paid = simple_draft(&app.db.store, customer.id, 5_000).await;
    let paid = issue(&app.db.store, paid.id, today).await;
    let payment = pay_in_full(
        &app.db.store,
        &paid,
        today,
        "manual",
        PaymentMethod::Transfer,
        "k-fixture",
    )
    .await;
    let contract = contract(&app.db.store, customer.id, 100_000, today - Days::new(10)).await;
    let job = enqueue_now(
        &app.db.store,
        &Noop::default(),
        EnqueueOptions::new().run_in(std::time::Duration::from_secs(3600)),
    )
    .await
    .unwrap()
    .id();
    Fixtures {
        customer: customer.id,
        invoice: open.id,
        payment: payment.id,
        contract: contract.id,
        job,
    }
}

async fn control_characters_in_any_admin_field_are_refused_by_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = fixtures(&app).await;
    let mut client = app.signed_in().await;
    let today = app.db.today().await;
    let iso = today.format("%Y-%m-%d").to_string();
    let customer_id = f.customer.to_string();

    let customer: &[(&str, &str)] = &[
        ("kind", "person"),
        ("name", "Zoé Roux"),
        ("address_lines", "1 rue Neuve"),
        ("postcode", "75001"),
        ("city", "Paris"),
        ("country", "FR"),
        ("email", "zoe@example.fr"),
        ("siren", ""),
    ];
    let business: &[(&str, &str)] = &[
        ("kind", "business"),
        ("name", "Atelier SARL"),
        ("address_lines", "1 rue Neuve"),
        ("postcode", "75001"),
        ("city", "Paris"),
        ("country", "FR"),
        ("email", ""),
        ("siren", "552100554"),
        ("electronic_address", ""),
        ("electronic_address_scheme", ""),
    ];
    let invoice: &[(&str, &str)] = &[
        ("customer_id", customer_id.as_str()),
        ("terms", ""),
        ("service_date", ""),
        ("purchase_order", "BC-42"),
        ("delivery_lines", "Quai 3"),
        ("delivery_postcode", "69002"),
        ("delivery_city", "Lyon"),
        ("delivery_country", "FR"),
        ("description_1", "Séance"),
        ("nature_1", "services"),
        ("quantity_1", "1"),
        ("unit_price_1", "50,00"),
    ];
    let invoice_page = client.get(&format!("/admin/invoices/{}", f.invoice)).await;
    let key = input_value(&invoice_page.body, "key").expect("the payment form's key");
    let payment: &[(&str, &str)] = &[
        ("amount", "10,00"),
        ("method", "cheque"),
        ("received_on", iso.as_str()),
        ("key", key.as_str()),
    ];
    let credit: &[(&str, &str)] = &[("amount", "10,00"), ("reason", "Geste commercial"), ("nature", "")];
    let refund: &[(&str, &str)] = &[("amount", "10,00"), ("reason", "Retour"), ("nature", "")];
    let contract: &[(&str, &str)] = &[
        ("customer_id", customer_id.as_str()),
        ("mandate_reference", "RUM-ADMIN-9"),
        ("iban", "FR76 3000 6000 0112 3456 7890 189"),
        ("mandate_signed_on", iso.as_str()),
        ("ceiling", "500,00"),
        ("currency", "EUR"),
    ];
    let operation: &[(&str, &str)] = &[
        ("kind", "purchase"),
        ("occurred_on", iso.as_str()),
        ("description_1", "Panier"),
        ("nature_1", "goods"),
        ("quantity_1", "1"),
        ("unit_price_1", "10,00"),
    ];
    let settings: &[(&str, &str)] = &[
        ("seller_name", "Marie Dupont EI"),
        ("siren", "732829320"),
        ("address_lines", "12 rue des Lilas"),
        ("postcode", "75011"),
        ("city", "Paris"),
        ("country", "FR"),
        ("email", "marie@example.fr"),
        ("electronic_address", ""),
        ("electronic_address_scheme", "0225"),
        ("iban", ""),
        ("bic", ""),
        ("activity", "services"),
        ("vat_regime", "franchise"),
        ("payment_terms_days", "30"),
        ("late_penalty_rate", "10"),
        ("discount_terms", ""),
        ("invoice_prefix", "F"),
        ("credit_note_prefix", "AV"),
        ("currency", "EUR"),
    ];
    let routes = (
        format!("/admin/customers/{}", f.customer),
        format!("/admin/invoices/{}/payments", f.invoice),
        format!("/admin/invoices/{}/credit-notes", f.invoice),
        format!("/admin/payments/{}/refund", f.payment),
        format!("/admin/contracts/{}/operations", f.contract),
        format!("/admin/contracts/{}/revoke-mandate", f.contract),
        format!("/admin/jobs/{}/cancel", f.job),
    );
    let none: &[(&str, &str)] = &[];
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: Vec<Case> = vec![
        ("/admin/customers", customer, "name", "name"),
        ("/admin/customers", customer, "email", "email"),
        ("/admin/customers", customer, "kind", "kind"),
        ("/admin/customers", business, "siren", "siren"),
        ("/admin/customers", customer, "postcode", "address.postcode"),
        ("/admin/customers", customer, "city", "address.city"),
        ("/admin/customers", customer, "country", "address.country"),
        ("/admin/customers", business, "electronic_address", "electronic_address"),
        (routes.0.as_str(), customer, "name", "name"),
        ("/admin/invoices", invoice, "description_1", "lines.description"),
        ("/admin/invoices", invoice, "quantity_1", "quantity_1"),
        ("/admin/invoices", invoice, "unit_price_1", "unit_price_1"),
        ("/admin/invoices", invoice, "nature_1", "nature_1"),
        ("/admin/invoices", invoice, "terms", "terms"),
        ("/admin/invoices", invoice, "customer_id", "customer_id"),
        ("/admin/invoices", invoice, "purchase_order", "purchase_order"),
        ("/admin/invoices", invoice, "service_date", "service_date"),
        ("/admin/invoices", invoice, "delivery_city", "delivery_address.city"),
        (routes.1.as_str(), payment, "amount", "amount"),
        (routes.1.as_str(), payment, "method", "method"),
        (routes.1.as_str(), payment, "received_on", "received_on"),
        (routes.2.as_str(), credit, "reason", "reason"),
        (routes.2.as_str(), credit, "amount", "amount"),
        (routes.2.as_str(), credit, "nature", "nature"),
        (routes.3.as_str(), refund, "reason", "reason"),
        (routes.3.as_str(), refund, "amount", "amount"),
        (routes.3.as_str(), refund, "nature", "nature"),
        ("/admin/contracts", contract, "mandate_reference", "mandate_reference"),
        ("/admin/contracts", contract, "iban", "iban"),
        ("/admin/contracts", contract, "mandate_signed_on", "mandate_signed_on"),
        ("/admin/contracts", contract, "ceiling", "ceiling"),
        ("/admin/contracts", contract, "currency", "currency"),
        ("/admin/contracts", contract, "customer_id", "customer_id"),
        (routes.4.as_str(), operation, "description_1", "lines.description"),
        (routes.4.as_str(), operation, "occurred_on", "occurred_on"),
        (routes.4.as_str(), operation, "kind", "kind"),
        (routes.5.as_str(), none, "revoked_on", "revoked_on"),
        ("/admin/settings", settings, "seller_name", "seller_name"),
        ("/admin/settings", settings, "siren", "siren"),
        ("/admin/settings", settings, "email", "email"),
        ("/admin/settings", settings, "activity", "activity"),
        ("/admin/settings", settings, "vat_regime", "vat_regime"),
        ("/admin/settings", settings, "postcode", "address.postcode"),
        ("/admin/settings", settings, "city", "address.city"),
        ("/admin/settings", settings, "iban", "iban"),
        ("/admin/settings", settings, "bic", "bic"),
        ("/admin/settings", settings, "electronic_address", "electronic_address"),
        ("/admin/settings", settings, "discount_terms", "discount_terms"),
        ("/admin/settings", settings, "payment_terms_days", "payment_terms_days"),
        ("/admin/settings", settings, "late_penalty_rate", "late_penalty_rate"),
        ("/admin/settings", settings, "invoice_prefix", "invoice_prefix"),
        ("/admin/settings", settings, "credit_note_prefix", "credit_note_prefix"),
        ("/admin/settings", settings, "currency", "currency"),
        ("/admin/api-keys", none, "name", "name"),
        (routes.6.as_str(), none, "reason", "reason"),
        ("/admin/book/generate", none, "period", "period"),
    ];
    for (name, bad, multi_line_ok) in CONTROL_TEXTS {
        for (route, form, field, domain_field) in &cases {
            // A value that is right but for the character: "Zoé…Roux" in a
            // text, digits around it in a number or a date.
            let value = match *field {
                "name" | "reason" | "description_1" | "late_penalty_rate" | "mandate_reference" | "city"
                | "delivery_city" | "purchase_order" | "discount_terms" => {
                    format!("{bad} A")
                }
                "seller_name" => format!("Marie {bad} EI"),
                "email" => format!("zoe{bad}@example.fr"),
                _ => format!("1{bad}2"),
            };
            refused(
                &app,
                &mut client,
                route,
                form,
                (*field, *domain_field),
                (name, value.as_str()),
            )
            .await;
        }
        if !multi_line_ok {
            refused(
                &app,
                &mut client,
                "/admin/customers",
                customer,
                ("address_lines", "address.lines"),
                (name, bad),
            )
            .await;
            refused(
                &app,
                &mut client,
                "/admin/settings",
                settings,
                ("address_lines", "address.lines"),
                (name, bad),
            )
            .await;
        }
    }
    // A NUL where no field would read it is refused all the same.
    let answer = client
        .post_form("/admin/customers", &[("kind", "person"), ("x\u{0}", "1")])
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(
        answer.text().contains("x\\0 : caractère de contrôle U+0000 refusé"),
        "{}",
        answer.text()
    );
    // The sign-in form too: never a 500 before anyone is signed in.
    let mut stranger = app.client();
    stranger.get("/admin/login").await;
    let answer = stranger
        .post_form(
            "/admin/login",
            &[
                ("email", "marie@example.fr\u{0}"),
                ("password", "x"),
                ("next", "/admin"),
            ],
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);

    // Where a form names the page to go back to, a line break is not
    // followed (it would be a 500: no header holds one).
    let mut stranger = app.client();
    stranger.get("/admin/login").await;
    let answer = stranger
        .post_form(
            "/admin/login",
            &[
                ("email", EMAIL),
                ("password", PASSWORD),
                ("next", "/admin/jobs\r\nSet-Cookie: x=1"),
            ],
        )
        .await;
    assert_eq!(
        (answer.status, answer.location()),
        (303, Some("/admin")),
        "{}",
        answer.body
    );
    let job = f.job.to_string();
    let answer = client
        .post_form(
            "/admin/jobs/bulk",
            &[
                ("ids", job.as_str()),
                ("action", "retry"),
                ("confirmed", "yes"),
                ("back", "/admin/jobs?state=x\r\nSet-Cookie: x=1"),
            ],
        )
        .await;
    assert_eq!(
        (answer.status, answer.location()),
        (303, Some("/admin/jobs")),
        "{}",
        answer.body
    );
}

async fn control_characters_in_filters_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    for (name, bad, _) in CONTROL_TEXTS {
        let encoded: String = url_encode(bad);
        for (page, field) in [
            ("/admin/customers", "q"),
            ("/admin/jobs", "kind"),
            ("/admin/jobs", "queue"),
            ("/admin/jobs", "text"),
            ("/admin/audit", "actor"),
            ("/admin/audit", "action"),
            ("/admin/audit", "target"),
        ] {
            let answer = client.get(&format!("{page}?{field}={encoded}")).await;
            assert_eq!(answer.status, 422, "{page}?{field} with {name}: {}", answer.body);
            assert!(
                answer.text().contains(&format!("{field} : ")),
                "{page}?{field} with {name}: {}",
                answer.text()
            );
        }
    }
    let long = "a".repeat(201);
    let answer = client.get(&format!("/admin/customers?q={long}")).await;
    assert_eq!(answer.status, 422, "filters are 200 characters at most");
    assert_eq!(client.get("/admin/customers?q=+Zo%C3%A9+").await.status, 200);
    assert_eq!(client.get("/admin/jobs?kind=noop&text=dupont").await.status, 200);
}

fn url_encode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)])
        .unwrap()
        .trim_start_matches("v=")
        .to_string()
}

async fn admin_addresses_keep_their_line_breaks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let answer = client
        .post_form(
            "/admin/customers",
            &[
                ("kind", "person"),
                ("name", "Zoé Roux"),
                ("address_lines", "Bâtiment B\r\n3 place du Marché\r\n"),
                ("postcode", "69002"),
                ("city", "Lyon"),
                ("country", "fr"),
                ("email", ""),
                ("siren", ""),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let customers = comptoir::billing::customers::list(&app.db.store, 10, None)
        .await
        .unwrap();
    assert_eq!(customers[0].address.lines, vec!["Bâtiment B", "3 place du Marché"]);
    assert_eq!(
        (
            customers[0].address.postcode.as_str(),
            customers[0].address.city.as_str(),
            customers[0].address.country.as_str()
        ),
        ("69002", "Lyon", "FR")
    );
}

async fn admin_dates_out_of_bounds_are_refused_by_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let f = fixtures(&app).await;
    let mut client = app.signed_in().await;
    let today = app.db.today().await;
    let day = |d: NaiveDate| d.format("%d/%m/%Y").to_string();
    let customer_id = f.customer.to_string();

    // A payment is received on or after the invoice's issue date, not ahead.
    for on in [
        "01/01/1900".to_string(),
        day(today - Days::new(1)),
        day(today + Days::new(1)),
        "31/12/9999".into(),
    ] {
        let page = client.get(&format!("/admin/invoices/{}", f.invoice)).await;
        let key = input_value(&page.body, "key").unwrap();
        let fields = [
            ("amount", "10,00"),
            ("method", "cash"),
            ("received_on", on.as_str()),
            ("key", key.as_str()),
        ];
        refused(
            &app,
            &mut client,
            &format!("/admin/invoices/{}/payments", f.invoice),
            &fields,
            ("received_on", "received_on"),
            (on.as_str(), on.as_str()),
        )
        .await;
    }
    // A mandate signed in the past, from 2000.
    for on in ["31/12/1999".to_string(), day(today + Days::new(1)), "31/12/9999".into()] {
        let fields = [
            ("customer_id", customer_id.as_str()),
            ("mandate_reference", "RUM-DATES"),
            ("iban", "FR7630006000011234567890189"),
            ("ceiling", "100,00"),
            ("currency", "EUR"),
        ];
        refused(
            &app,
            &mut client,
            "/admin/contracts",
            &fields,
            ("mandate_signed_on", "mandate_signed_on"),
            (on.as_str(), on.as_str()),
        )
        .await;
    }
    // An operation at most a year ahead; a revocation not before the signature.
    for on in [
        "31/12/1999".to_string(),
        day(today + Days::new(400)),
        "31/12/9999".into(),
    ] {
        let fields = [
            ("kind", "purchase"),
            ("description_1", "Panier"),
            ("nature_1", "goods"),
            ("unit_price_1", "10,00"),
        ];
        let route = format!("/admin/contracts/{}/operations", f.contract);
        refused(
            &app,
            &mut client,
            &route,
            &fields,
            ("occurred_on", "occurred_on"),
            (on.as_str(), on.as_str()),
        )
        .await;
    }
    for on in [day(today - Days::new(11)), day(today + Days::new(400))] {
        let route = format!("/admin/contracts/{}/revoke-mandate", f.contract);
        refused(
            &app,
            &mut client,
            &route,
            &[],
            ("revoked_on", "revoked_on"),
            (on.as_str(), on.as_str()),
        )
        .await;
    }
    // The book of a period that has not begun.
    let next = (today + Days::new(40)).format("%Y-%m").to_string();
    refused(
        &app,
        &mut client,
        "/admin/book/generate",
        &[],
        ("period", "period"),
        (next.as_str(), next.as_str()),
    )
    .await;
    assert_eq!(client.get(&format!("/admin/book?period={next}")).await.status, 422);
}

/// A refusal is said in the operator's language, French or English, with the
/// field's words rather than its name; never both languages at once.
async fn refusals_are_said_in_the_operators_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let customer = |postcode: &'static str, kind: &'static str, siren: &'static str| {
        vec![
            ("kind", kind),
            ("name", "Zoé Roux"),
            ("address_lines", "3 place du Marché"),
            ("postcode", postcode),
            ("city", "Lyon"),
            ("country", "FR"),
            ("email", ""),
            ("siren", siren),
        ]
    };
    let no_postcode = customer("", "person", "");
    let bad_luhn = customer("69002", "business", "552100555");
    // The language is the operator's: French first, then the same operator in English.
    let mut french = app.signed_in().await;

    let answer = french.post_form("/admin/customers", &no_postcode).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let text = answer.text();
    assert!(text.contains("le code postal est obligatoire"), "{text}");
    assert!(!text.contains("postcode is required"), "no English in French: {text}");
    let answer = french.post_form("/admin/customers", &bad_luhn).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let text = answer.text();
    assert!(text.contains("clé de contrôle fausse (Luhn)"), "{text}");
    assert!(!text.contains("wrong control key"), "{text}");
    // A filter refused at the edge: the refusal page.
    let answer = french.get("/admin/customers?q=a%1Bb").await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(
        answer.text().contains("q : caractère de contrôle U+001B refusé"),
        "{}",
        answer.text()
    );
    let answer = french.get("/admin/customers?q=a%E2%80%AEb").await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let text = answer.text().replace("&#39;", "'");
    assert!(
        text.contains("q : caractère de sens d'écriture U+202E refusé"),
        "{text}"
    );

    let mut english = app.signed_in_english().await;
    let answer = english.post_form("/admin/customers", &no_postcode).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let text = answer.text();
    assert!(text.contains("the postcode is required"), "{text}");
    assert!(
        !text.contains("code postal est obligatoire"),
        "no French in English: {text}"
    );
    let answer = english.post_form("/admin/customers", &bad_luhn).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let text = answer.text();
    assert!(text.contains("has a wrong control key (Luhn)"), "{text}");
    assert!(!text.contains("clé de contrôle"), "{text}");
    let answer = english.get("/admin/customers?q=a%1Bb").await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(
        answer.text().contains("q: control character U+001B refused"),
        "{}",
        answer.text()
    );
    let answer = english.get("/admin/customers?q=a%E2%80%AEb").await;
    assert!(
        answer
            .text()
            .contains("q: bidirectional formatting character U+202E refused"),
        "{}",
        answer.text()
    );
    assert_eq!(
        row_counts(&app.db, &["customers"]).await,
        vec![("customers", 0)],
        "nothing stored"
    );
}
