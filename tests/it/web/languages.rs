//! Every page of the admin in one language at a time: an operator who reads
//! French sees no English twin, an operator who chose English sees no
//! French left behind. The words looked for are the catalogue's own
//! (`locales/en/*.json`): a French word of the catalogue that English never
//! uses must not show on an English page, and the other way round. Data the
//! test typed (names, addresses, line descriptions) and code (`<code>`,
//! `translate="no"`) are not the interface's words and are left out.

use std::collections::BTreeSet;

use chrono::TimeDelta;
use comptoir::billing::catalog::Nature;
use comptoir::billing::payments::PaymentMethod;

use crate::on_both_backends;
use crate::support::billing::{
    contract, create_customer, eur, invoice_payment, issued, pay, person_input, products, save_settings, simple_draft,
};
use crate::support::web::{Client, TestApp};
use crate::support::Backend;
use crate::web::jobs::unescape;
use comptoir::jobs::{enqueue_now, EnqueueOptions, Noop};

/// The catalogue, read the way the program reads it: French -> English.
fn catalogue() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/locales/en");
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).expect("locales/en") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("readable");
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).expect("JSON object");
        for (fr, en) in map {
            all.push((fr, en.as_str().expect("string").to_string()));
        }
    }
    all
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphabetic() && c != '\'' && c != '’')
        .map(|w| w.trim_matches(|c| c == '\'' || c == '’').to_lowercase())
        .filter(|w| w.chars().count() >= 4)
}

/// Words that belong to one language only: in the catalogue's `mine` side
/// and never on the other, nor in `shared` (names, acronyms).
fn only_in(catalogue: &[(String, String)], french: bool) -> BTreeSet<String> {
    let (mine, theirs): (Vec<&str>, Vec<&str>) = catalogue
        .iter()
        .map(|(fr, en)| {
            if french {
                (fr.as_str(), en.as_str())
            } else {
                (en.as_str(), fr.as_str())
            }
        })
        .unzip();
    let theirs: BTreeSet<String> = theirs.iter().flat_map(|t| words(t).collect::<Vec<_>>()).collect();
    mine.iter()
        .flat_map(|t| words(t).collect::<Vec<_>>())
        .filter(|w| !theirs.contains(w))
        .filter(|w| !w.contains('{'))
        .collect()
}

/// Drops every `<tag …>…</tag>` whose opening tag satisfies `drop`
/// (no nesting of the same tag inside, which is how these pages are made).
fn drop_elements(html: &str, drop: impl Fn(&str, &str) -> bool) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else { break };
        let tag = &rest[open + 1..open + close];
        let name: String = tag.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if !name.is_empty() && drop(&name.to_ascii_lowercase(), tag) {
            let end_tag = format!("</{}", name.to_ascii_lowercase());
            if let Some(end) = rest[open..].to_ascii_lowercase().find(&end_tag) {
                let after = open + end;
                let gt = rest[after..].find('>').map(|g| after + g + 1).unwrap_or(rest.len());
                rest = &rest[gt..];
                out.push(' ');
                continue;
            }
        }
        out.push_str(&rest[open..open + close + 1]);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// What a reader sees or hears of a page: its text, and the titles, labels,
/// placeholders and button values of its tags.
fn readable(html: &str) -> String {
    let html = unescape(html);
    let html = drop_elements(&html, |name, tag| {
        // A `lang` of its own marks words in another language on purpose
        // (the language switch names each language in itself).
        matches!(name, "script" | "style" | "code" | "pre" | "head")
            || tag.contains("translate=\"no\"")
            || (name != "html" && tag.contains(" lang=\""))
    });
    let mut out = String::new();
    let mut rest = html.as_str();
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push('\n');
        let close = rest[open..].find('>').map(|c| open + c).unwrap_or(rest.len() - 1);
        let tag = &rest[open..close];
        for attr in ["title=\"", "aria-label=\"", "placeholder=\"", "alt=\""] {
            if let Some(at) = tag.find(attr) {
                let v = &tag[at + attr.len()..];
                out.push_str(&v[..v.find('"').unwrap_or(v.len())]);
                out.push('\n');
            }
        }
        if tag.starts_with("<input") && (tag.contains("type=\"submit\"") || tag.contains("type=\"button\"")) {
            if let Some(at) = tag.find("value=\"") {
                let v = &tag[at + 7..];
                out.push_str(&v[..v.find('"').unwrap_or(v.len())]);
                out.push('\n');
            }
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The words of `page` that belong to the other language, with their line.
fn strays(page: &str, foreign: &BTreeSet<String>, data: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for line in readable(page).lines() {
        // Addresses and paths are data: an e-mail's `example`, a directory's `backups`.
        let mut line: String = line
            .split_whitespace()
            .filter(|w| !w.contains('@') && !w.contains('/'))
            .collect::<Vec<_>>()
            .join(" ");
        for d in data {
            line = line.replace(d, " ");
        }
        let bad: Vec<String> = words(&line).filter(|w| foreign.contains(w)).collect();
        if !bad.is_empty() {
            found.push(format!("{bad:?} in {:?}", line.trim()));
        }
    }
    found
}

/// The test's own data, typed by the test: not the interface's words.
const DATA: &[&str] = &[
    "Élodie Château-Brûlé",
    "Marie Dupont EI",
    "Marie Dupont",
    "12 rue des Lilas",
    "3 place du Marché",
    "Paris",
    "Lyon",
    "Séance de coaching",
    "Atelier de poterie",
    "Prestation de conseil",
    // Queues are named by the program ("default", "mail"): names, not words.
    "« default »",
    "default",
];

async fn pages(app: &TestApp) -> Vec<String> {
    let store = &app.db.store;
    save_settings(store).await;
    let customer = create_customer(store, person_input("Élodie Château-Brûlé")).await;
    let today = app.today().await;
    products(store, &[("POT-1", "Atelier de poterie", Nature::Services, 4_500)]).await;
    let invoice = issued(store, customer.id, 12_000, today - TimeDelta::days(40)).await;
    let draft = simple_draft(store, customer.id, 3_000).await;
    let payment = pay(
        store,
        invoice_payment(&invoice, "manual", PaymentMethod::Cheque, eur(5_000), "part"),
        today,
    )
    .await;
    let contract = contract(store, customer.id, 100_000, today - TimeDelta::days(10)).await;
    let job = enqueue_now(store, &Noop::default(), EnqueueOptions::new())
        .await
        .expect("a job")
        .id();
    vec![
        "/admin".into(),
        "/admin/jobs".into(),
        format!("/admin/jobs/{job}"),
        "/admin/customers".into(),
        format!("/admin/customers/{}", customer.id),
        "/admin/customers/new".into(),
        "/admin/contracts".into(),
        format!("/admin/contracts/{}", contract.id),
        "/admin/contracts/new".into(),
        "/admin/orders".into(),
        "/admin/catalog".into(),
        "/admin/invoices".into(),
        format!("/admin/invoices/{}", invoice.id),
        format!("/admin/invoices/{}/edit", draft.id),
        format!("/admin/invoices/{}/issue", draft.id),
        "/admin/invoices/new".into(),
        "/admin/payments".into(),
        format!("/admin/payments/{}", payment.id),
        "/admin/imports".into(),
        "/admin/bank".into(),
        "/admin/book".into(),
        "/admin/urssaf".into(),
        "/admin/archives".into(),
        "/admin/audit".into(),
        "/admin/api-keys".into(),
        "/admin/settings".into(),
    ]
}

async fn visit(client: &mut Client, paths: &[String], foreign: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for path in paths {
        let page = client.get(path).await;
        if page.status != 200 {
            problems.push(format!("{path}: {}", page.status));
            continue;
        }
        for stray in strays(&page.body, foreign, DATA) {
            problems.push(format!("{path}: {stray}"));
        }
    }
    problems
}

async fn each_page_speaks_one_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let paths = pages(&app).await;
    let catalogue = catalogue();

    let mut french = app.signed_in().await;
    let problems = visit(&mut french, &paths, &only_in(&catalogue, false)).await;
    assert!(
        problems.is_empty(),
        "English on French pages ({}):\n{}",
        problems.len(),
        problems.join("\n")
    );

    let mut english = app.signed_in_english().await;
    let problems = visit(&mut english, &paths, &only_in(&catalogue, true)).await;
    assert!(
        problems.is_empty(),
        "French on English pages ({}):\n{}",
        problems.len(),
        problems.join("\n")
    );
    let home = english.get("/admin").await;
    assert!(home.body.contains("<html lang=\"en\">"), "the page says its language");
    assert!(readable(&home.body).contains("Dashboard"));
}

async fn the_language_is_each_operators_and_is_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut english = app.signed_in_english().await;
    let page = english.get("/admin").await;
    assert!(
        page.body.contains("The admin now speaks to you in English."),
        "the flash, in English"
    );
    assert_eq!(app.audited("operator.language").await.len(), 1);

    // Back to French, from any page: it comes back to that page.
    let answer = english
        .post_form("/admin/language", &[("language", "fr"), ("back", "/admin/invoices")])
        .await;
    assert_eq!(answer.location(), Some("/admin/invoices"));
    let page = english.get("/admin/invoices").await;
    assert!(page.body.contains("<html lang=\"fr\">"));
    assert!(unescape(&page.body).contains("L'administration vous parle désormais en français."));

    // A language the admin does not speak is refused, in words.
    let answer = english.post_form("/admin/language", &[("language", "de")]).await;
    assert_eq!(answer.status, 422);
    assert!(answer.text().contains("Langue inconnue : de"), "{}", answer.text());
    // And another site is not a place to come back to.
    let answer = english
        .post_form(
            "/admin/language",
            &[("language", "en"), ("back", "https://evil.example")],
        )
        .await;
    assert_eq!(answer.location(), Some("/admin"));

    // An error page for an English operator is in English.
    let missing = english.get("/admin/invoices/999999").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("page not found"), "{}", missing.body);
    assert!(!missing.body.contains("introuvable"));
}

on_both_backends!(
    each_page_speaks_one_language,
    the_language_is_each_operators_and_is_audited
);

#[test]
fn the_reader_sees_text_titles_and_labels_but_not_code() {
    let html = r#"<head><title>X</title></head><p title="Un titre">Bonjour <code>billing.send</code>
        <span translate="no">Élodie</span></p><input type="submit" value="Enregistrer"><script>var x = "Tâches";</script>"#;
    let seen = readable(html);
    assert!(seen.contains("Bonjour") && seen.contains("Un titre") && seen.contains("Enregistrer"));
    assert!(!seen.contains("billing") && !seen.contains("Élodie") && !seen.contains("Tâches") && !seen.contains('X'));
    let foreign: BTreeSet<String> = ["bonjour".to_string()].into_iter().collect();
    assert_eq!(strays(html, &foreign, &[]).len(), 1);
}
