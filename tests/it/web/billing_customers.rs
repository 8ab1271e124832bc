//! Customers in the admin: created through the form (an invalid one is
//! shown again with its field's message and nothing is created), searched,
//! paginated, and shown with their documents.

use comptoir::billing::customers::CustomerKind;

use crate::on_both_backends;
use crate::support::billing::{count, create_customer, person_input, BUSINESS_SIREN};
use crate::support::web::TestApp;
use crate::support::Backend;
use crate::web::billing_html::{audit_actions, id_in, next_page, text_by_id};

async fn a_customer_is_created_through_the_form(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let form = client.get("/admin/customers/new").await;
    assert_eq!(form.status, 200);
    for needle in [
        "id=\"customer-form\"",
        "name=\"kind\"",
        "name=\"siren\"",
        "id=\"create-customer\"",
    ] {
        assert!(form.body.contains(needle), "{needle} in the form");
    }
    let answer = client
        .post_form(
            "/admin/customers",
            &[
                ("kind", "business"),
                ("name", "Atelier Dupré SARL"),
                ("address_lines", "5 avenue de la Gare\r\nBâtiment C"),
                ("postcode", "69003"),
                ("city", "Lyon"),
                ("country", "FR"),
                ("email", "compta@atelier.example"),
                ("siren", "552 100 554"),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let id = id_in(answer.location());
    let page = client.follow(answer).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Atelier Dupré SARL"));
    assert!(page.body.contains(BUSINESS_SIREN), "SIREN stored without spaces");
    assert!(
        page.body.contains(&format!(
            "id=\"new-invoice\" href=\"/admin/invoices/new?customer_id={id}\""
        )),
        "the customer page links to a new invoice for them"
    );
    assert!(
        page.body.contains("Client « Atelier Dupré SARL » créé"),
        "flash shown once"
    );
    let again = client.get(&format!("/admin/customers/{id}")).await;
    assert!(!again.body.contains("» créé"), "the flash is gone");
    assert!(!page.body.contains("customer created"), "no English twin");

    let stored = comptoir::billing::customers::get(&app.db.store, id).await.unwrap();
    assert_eq!(stored.kind, CustomerKind::Business);
    assert_eq!(stored.email.as_deref(), Some("compta@atelier.example"));
    assert_eq!(stored.address.lines, vec!["5 avenue de la Gare", "Bâtiment C"]);
    assert_eq!(
        (stored.address.postcode.as_str(), stored.address.city.as_str()),
        ("69003", "Lyon")
    );
    assert_eq!(
        stored.electronic_address.as_deref(),
        Some(BUSINESS_SIREN),
        "a business is reachable at its SIREN by default"
    );
    assert!(page.body.contains("69003 Lyon"), "the address shown by parts");
    assert_eq!(
        audit_actions(&app, &format!("customer:{id}")).await,
        ["customer.create"]
    );
}

async fn an_invalid_customer_is_refused_by_its_field_and_nothing_is_created(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    // A business without its SIREN: the domain's rule, shown by the field.
    let answer = client
        .post_form(
            "/admin/customers",
            &[
                ("kind", "business"),
                ("name", "Sans SIREN SAS"),
                ("address_lines", "1 rue Haute"),
                ("postcode", "75001"),
                ("city", "Paris"),
                ("country", "FR"),
                ("email", ""),
                ("siren", ""),
            ],
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(answer.body.contains("id=\"customer-form\""), "the form again");
    assert!(
        answer.body.contains("value=\"Sans SIREN SAS\""),
        "what was typed is kept"
    );
    let siren_error = answer.body.find("field-error").expect("a field message");
    assert!(
        answer.body[siren_error..]
            .starts_with("field-error\" role=\"alert\">le SIREN est obligatoire pour un client professionnel"),
        "{}",
        &answer.body[siren_error..siren_error + 120]
    );
    // A business without its postcode, a bad country: the French message by
    // the field, what was typed kept.
    for (name, value, field_message) in [
        ("postcode", "", "le code postal est obligatoire"),
        ("postcode", "750", "« 750 » : un code postal français a 5 chiffres"),
        ("country", "ZZ", "« ZZ » n&#x27;est pas un code pays ISO 3166"),
        ("city", "", "la ville est obligatoire"),
        ("address_lines", "", "l&#x27;adresse (numéro et rue) est obligatoire"),
    ] {
        let mut fields = vec![
            ("kind", "business"),
            ("name", "Sans Code SAS"),
            ("address_lines", "1 rue Haute"),
            ("postcode", "75001"),
            ("city", "Paris"),
            ("country", "FR"),
            ("email", ""),
            ("siren", "552 100 554"),
        ];
        for f in fields.iter_mut() {
            if f.0 == name {
                f.1 = value;
            }
        }
        let answer = client.post_form("/admin/customers", &fields).await;
        assert_eq!(answer.status, 422, "{name}={value}: {}", answer.body);
        let own = answer.body.find(&format!("name=\"{name}\"")).expect("the field");
        let error = answer.body[own..].find("field-error").expect("a field message") + own;
        assert!(
            answer.body[error..].starts_with(&format!("field-error\" role=\"alert\">{field_message}")),
            "{name}={value}: {}",
            &answer.body[error..(error + 160).min(answer.body.len())]
        );
        assert!(
            answer.body.contains("value=\"Sans Code SAS\""),
            "what was typed is kept"
        );
    }
    // A wrong SIREN key, a bad e-mail, a missing name and an unknown kind.
    for (fields, field_message) in [
        (
            [
                ("kind", "business"),
                ("name", "X"),
                ("address", "Y"),
                ("email", ""),
                ("siren", "552100555"),
            ],
            "clé de contrôle fausse (Luhn)",
        ),
        (
            [
                ("kind", "person"),
                ("name", "X"),
                ("address", "Y"),
                ("email", "not-an-email"),
                ("siren", ""),
            ],
            "n&#x27;est pas une adresse e-mail",
        ),
        (
            [
                ("kind", "person"),
                ("name", "  "),
                ("address", "Y"),
                ("email", ""),
                ("siren", ""),
            ],
            "est obligatoire",
        ),
        (
            [
                ("kind", "robot"),
                ("name", "X"),
                ("address", "Y"),
                ("email", ""),
                ("siren", ""),
            ],
            "particulier ou professionnel",
        ),
    ] {
        let answer = client.post_form("/admin/customers", &fields).await;
        assert_eq!(answer.status, 422, "{fields:?}");
        assert!(answer.body.contains(field_message), "{field_message} for {fields:?}");
    }
    assert_eq!(count(&app.db, "customers").await, 0, "nothing was created");
    let audit = comptoir::audit::list(
        &app.db.store,
        &comptoir::audit::AuditFilter {
            action: Some("customer.".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(audit.is_empty(), "a refusal records no action");
}

async fn a_long_customer_list_is_paginated_and_searched(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for i in 1..=60 {
        let mut new = person_input(&format!("Client {i:03}"));
        new.email = Some(format!("client{i:03}@example.fr"));
        create_customer(&app.db.store, new).await;
    }
    create_customer(&app.db.store, person_input("Élodie Crémieux")).await;
    let mut client = app.signed_in().await;
    let first = client.get("/admin/customers").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body.matches("<tr id=\"customer-").count(), 50, "a page of 50");
    assert!(first.body.contains("Élodie Crémieux"), "newest first");
    assert!(!first.body.contains("Client 001<"), "the oldest are on the next page");
    let next = next_page(&first.body).expect("a next page link");
    let second = client.get(&next).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body.matches("<tr id=\"customer-").count(), 11);
    assert!(second.body.contains("Client 001<"));
    assert!(!second.body.contains("rel=\"next\""), "the last page");

    // Search by name, ASCII letters in any case, and by e-mail.
    let found = client.get("/admin/customers?q=CLIENT+00").await;
    assert_eq!(found.body.matches("<tr id=\"customer-").count(), 9, "Client 001 to 009");
    let found = client.get("/admin/customers?q=client042%40example").await;
    assert_eq!(found.body.matches("<tr id=\"customer-").count(), 1);
    assert!(found.body.contains("Client 042"));
    let found = client.get("/admin/customers?q=CREMIEUX").await;
    assert_eq!(
        found.body.matches("<tr id=\"customer-").count(),
        1,
        "accents and case aside"
    );
    let found = client.get("/admin/customers?q=Cr%C3%A9mieux").await;
    assert_eq!(found.body.matches("<tr id=\"customer-").count(), 1);
    let found = client.get("/admin/customers?q=100%25").await;
    assert!(found.body.contains("Aucun client ne correspond"), "% is literal");
    assert_eq!(
        text_by_id(&found.body, "customers").map(|t| t.contains("Aucun")),
        Some(true)
    );
}

async fn a_customer_is_corrected_and_issued_invoices_keep_their_details(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    crate::support::billing::save_settings(&app.db.store).await;
    let mut client = app.signed_in().await;
    let customer = create_customer(&app.db.store, person_input("Jean Martin")).await;
    let draft = crate::support::billing::simple_draft(&app.db.store, customer.id, 2_500).await;
    let issued = crate::support::billing::issue(&app.db.store, draft.id, chrono::Utc::now().date_naive()).await;
    let path = format!("/admin/customers/{}", customer.id);

    let form = client.get(&format!("{path}/edit")).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Jean Martin") && form.body.contains("id=\"save-customer\""));
    // A business needs its SIREN: refused, nothing changed.
    let refused = client
        .post_form(
            &path,
            &[
                ("kind", "business"),
                ("name", "Martin SAS"),
                ("address_lines", "1 rue Neuve"),
                ("postcode", "75001"),
                ("city", "Paris"),
                ("country", "FR"),
                ("email", ""),
                ("siren", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        comptoir::billing::customers::get(&app.db.store, customer.id)
            .await
            .unwrap()
            .name,
        "Jean Martin"
    );
    let saved = client
        .post_form(
            &path,
            &[
                ("kind", "person"),
                ("name", "Jean Martin-Leroy"),
                ("address_lines", "1 rue Neuve"),
                ("postcode", "75001"),
                ("city", "Paris"),
                ("country", "FR"),
                ("email", "jean@example.fr"),
                ("siren", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = comptoir::billing::customers::get(&app.db.store, customer.id)
        .await
        .unwrap();
    assert_eq!(stored.name, "Jean Martin-Leroy");
    assert_eq!(stored.email.as_deref(), Some("jean@example.fr"));
    assert_eq!(stored.address.lines, vec!["1 rue Neuve"]);
    // The issued invoice still carries the details it was issued with.
    let invoice = comptoir::billing::invoices::get(&app.db.store, issued.id)
        .await
        .unwrap();
    let snapshot = invoice.snapshot.expect("issued");
    assert_eq!(snapshot.customer.name, "Jean Martin");
    assert_eq!(snapshot.customer.address.lines, vec!["3 place du Marché"]);
    assert!(audit_actions(&app, &format!("customer:{}", customer.id))
        .await
        .contains(&"customer.update".to_string()));
    assert_eq!(client.get("/admin/customers/999999/edit").await.status, 404);
    assert_eq!(
        client
            .post_form(
                "/admin/customers/999999",
                &[("kind", "person"), ("name", "X"), ("address", "Y")]
            )
            .await
            .status,
        404
    );
}

/// "élodie" and "BRULE" find "Élodie Château-Brûlé", in the admin and the
/// API, on both backends; a customer written before the search key existed
/// is found once a start (here `comptoir-worker migrate`) has keyed it.
async fn customers_are_found_whatever_the_accents_and_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let elodie = create_customer(&app.db.store, person_input("Élodie Château-Brûlé")).await;
    create_customer(&app.db.store, person_input("Jean Martin")).await;
    let mut client = app.signed_in().await;
    for q in [
        "élodie",
        "ELODIE",
        "BRULE",
        "château-brûlé",
        "Chateau",
        "elodie chateau",
    ] {
        let path = format!("/admin/customers?q={}", urlencode(q));
        let found = client.get(&path).await;
        assert_eq!(found.body.matches("<tr id=\"customer-").count(), 1, "{q}");
        assert!(
            found.body.contains(&format!("<tr id=\"customer-{}\"", elodie.id)),
            "{q}"
        );
    }
    let key = app.api_key().await;
    let mut api = crate::web::api_client::ApiClient::new(&app, &key);
    let found = api.get("/api/customers?q=brule").await.json();
    assert_eq!(found["customers"][0]["id"], elodie.id);
    assert_eq!(found["customers"].as_array().unwrap().len(), 1);

    // Written by an earlier Comptoir: no key, so found only by its ASCII letters, exactly.
    let sql = "INSERT INTO customers (kind, name, email, address, created_at)
               VALUES ('person', 'Émile Zoëlle', NULL, '1 rue Haute, 75001 Paris', '2026-01-01T00:00:00Z')";
    assert_eq!(crate::support::billing::raw_execute(&app.db, sql).await, Ok(1));
    let before = client.get("/admin/customers?q=emile").await;
    assert_eq!(before.body.matches("<tr id=\"customer-").count(), 0);
    let out = crate::support::worker::worker_cli(&app.db, &["migrate"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for q in ["emile", "ZOELLE"] {
        let after = client.get(&format!("/admin/customers?q={q}")).await;
        assert_eq!(after.body.matches("<tr id=\"customer-").count(), 1, "{q}");
    }
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The ids of the rows `<tr id="{prefix}-N"` in the page's order.
pub(crate) fn row_ids(html: &str, prefix: &str) -> Vec<i64> {
    let marker = format!("<tr id=\"{prefix}-");
    html.match_indices(&marker)
        .map(|(at, _)| {
            let rest = &html[at + marker.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

/// The `aria-sort` of the header whose link has id `sort-{column}`, if any.
pub(crate) fn aria_sort(html: &str, column: &str) -> Option<String> {
    let at = html.find(&format!("id=\"sort-{column}\""))?;
    let th = html[..at].rfind("<th")?;
    let tag = &html[th..th + html[th..].find('>')?];
    let v = tag.split("aria-sort=\"").nth(1)?;
    Some(v[..v.find('"')?].to_string())
}

/// The href of the header link `sort-{column}`, unescaped.
pub(crate) fn sort_link(html: &str, column: &str) -> String {
    let at = html.find(&format!("id=\"sort-{column}\"")).expect("a sortable column");
    let a = html[..at].rfind("<a ").unwrap();
    let href = html[a..].split("href=\"").nth(1).unwrap();
    crate::web::jobs::unescape(&href[..href.find('"').unwrap()])
}

async fn the_customer_list_sorts_by_name_creation_and_kind_both_ways(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    let zoe = create_customer(store, person_input("zoé Abel")).await.id;
    let atelier = create_customer(store, crate::support::billing::business_input())
        .await
        .id;
    let adam = create_customer(store, person_input("Adam Côté")).await.id;
    let elodie = create_customer(store, person_input("Élodie Brun")).await.id;
    let bruno = create_customer(store, person_input("bruno Durand")).await.id;
    let mut client = app.signed_in().await;

    // The list's own order: newest first, said on its column.
    let page = client.get("/admin/customers").await;
    assert_eq!(row_ids(&page.body, "customer"), [bruno, elodie, adam, atelier, zoe]);
    assert_eq!(aria_sort(&page.body, "created").as_deref(), Some("descending"));
    assert_eq!(aria_sort(&page.body, "name"), None);
    assert_eq!(
        sort_link(&page.body, "created"),
        "/admin/customers?q=&sort=created&dir=asc"
    );

    // By name, accents and case aside, then the other way when clicked again.
    let by_name = [adam, atelier, bruno, elodie, zoe];
    let page = client.get(&sort_link(&page.body, "name")).await;
    assert_eq!(page.status, 200);
    assert_eq!(row_ids(&page.body, "customer"), by_name);
    assert_eq!(aria_sort(&page.body, "name").as_deref(), Some("ascending"));
    assert_eq!(aria_sort(&page.body, "created"), None);
    let page = client.get(&sort_link(&page.body, "name")).await;
    let mut reversed = by_name.to_vec();
    reversed.reverse();
    assert_eq!(row_ids(&page.body, "customer"), reversed);
    assert_eq!(aria_sort(&page.body, "name").as_deref(), Some("descending"));

    let page = client.get("/admin/customers?sort=created&dir=asc").await;
    assert_eq!(row_ids(&page.body, "customer"), [zoe, atelier, adam, elodie, bruno]);
    let page = client.get("/admin/customers?sort=created&dir=desc").await;
    assert_eq!(row_ids(&page.body, "customer"), [bruno, elodie, adam, atelier, zoe]);
    // By kind: individuals then businesses, by name within each.
    let page = client.get("/admin/customers?sort=kind&dir=asc").await;
    assert_eq!(row_ids(&page.body, "customer"), [adam, bruno, elodie, zoe, atelier]);
    let page = client.get("/admin/customers?sort=kind&dir=desc").await;
    assert_eq!(row_ids(&page.body, "customer"), [atelier, adam, bruno, elodie, zoe]);

    // The search keeps the sort, and the sort keeps the search.
    let page = client.get("/admin/customers?q=DU&sort=name&dir=desc").await;
    assert_eq!(row_ids(&page.body, "customer"), [bruno, atelier], "Durand, Dupré");
    assert!(page
        .body
        .contains("<input type=\"hidden\" name=\"sort\" value=\"name\">"));
    assert!(page
        .body
        .contains("<input type=\"hidden\" name=\"dir\" value=\"desc\">"));
    assert_eq!(sort_link(&page.body, "kind"), "/admin/customers?q=DU&sort=kind&dir=asc");

    // Only the list's columns, and a direction that is one.
    for bad in [
        "sort=id",
        "sort=name%3BDROP+TABLE+customers",
        "sort=name&dir=sideways",
        "sort=name&page=0",
    ] {
        let answer = client.get(&format!("/admin/customers?{bad}")).await;
        assert_eq!(answer.status, 422, "{bad}");
    }
    assert_eq!(count(&app.db, "customers").await, 5);
}

async fn a_sorted_customer_list_pages_with_its_sort_and_search(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for i in 1..=55 {
        create_customer(&app.db.store, person_input(&format!("Client {i:03}"))).await;
    }
    create_customer(&app.db.store, person_input("Aude Martin")).await;
    let mut client = app.signed_in().await;
    let first = client.get("/admin/customers?q=client+0&sort=name&dir=desc").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body.matches("<tr id=\"customer-").count(), 50);
    let text = text_by_id(&first.body, "customers").unwrap();
    assert!(text.find("Client 055").unwrap() < text.find("Client 054").unwrap());
    assert!(!text.contains("Client 005") && !text.contains("Aude"));
    let next = next_page(&first.body).expect("a next page");
    assert_eq!(
        crate::web::jobs::unescape(&next),
        "/admin/customers?q=client+0&sort=name&dir=desc&page=2"
    );
    let second = client.get(&crate::web::jobs::unescape(&next)).await;
    assert_eq!(second.body.matches("<tr id=\"customer-").count(), 5);
    let text = text_by_id(&second.body, "customers").unwrap();
    assert!(text.find("Client 005").unwrap() < text.find("Client 001").unwrap());
    assert!(!second.body.contains("rel=\"next\""), "the last page");
    assert_eq!(aria_sort(&second.body, "name").as_deref(), Some("descending"));
}

/// An English operator's customer pages: English words only, and the
/// flashes of the actions in English too.
async fn an_english_operator_reads_the_customer_pages_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let customer = create_customer(&app.db.store, person_input("Jean Martin")).await;
    let mut client = app.signed_in_english().await;
    let list = client.get("/admin/customers").await;
    assert_eq!(list.status, 200);
    for words in ["New customer", "Name or e-mail", "Search", ">Name</a>", ">Created</a>"] {
        assert!(list.body.contains(words), "{words} in the English list");
    }
    for french in ["Nouveau client", "Chercher", "Nom ou e-mail", "particulier", "Créé le"] {
        assert!(!list.body.contains(french), "no {french} in the English list");
    }
    let page = client.get(&format!("/admin/customers/{}", customer.id)).await;
    assert_eq!(page.status, 200);
    for words in [
        &format!("customer no. {}", customer.id),
        "E-mails",
        "Save these choices",
        "No contracts",
        "Invoices and credit notes",
        "New invoice",
    ] {
        assert!(page.body.contains(&words.to_string()), "{words} in the English page");
    }
    for french in ["Envois par e-mail", "Aucun contrat", "Nouvelle facture", "client n°"] {
        assert!(!page.body.contains(french), "no {french} in the English page");
    }
    let answer = client
        .post_form(
            &format!("/admin/customers/{}/mailing", customer.id),
            &[("receipts", "1")],
        )
        .await;
    assert_eq!(answer.status, 303);
    let page = client.follow(answer).await;
    assert!(
        page.body
            .contains("E-mail choices saved: invoices not sent, receipts sent, credit notes not sent."),
        "{}",
        page.body
    );
    let form = client.get("/admin/customers/new").await;
    assert!(form.body.contains("Individual") && form.body.contains("Business (SIREN required)"));
    assert!(!form.body.contains("Particulier"));
    let answer = client
        .post_form(
            "/admin/customers",
            &[
                ("kind", "person"),
                ("name", "Zoé Petit"),
                ("address_lines", "1 rue Neuve"),
                ("postcode", "75011"),
                ("city", "Paris"),
                ("country", "FR"),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = client.follow(answer).await;
    assert!(
        crate::web::jobs::unescape(&page.body).contains("Customer \"Zoé Petit\" created"),
        "{}",
        page.body
    );
    let refused = client.post_form("/admin/customers", &[("kind", "robot")]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("individual or business"), "{}", refused.body);
}

on_both_backends!(
    the_customer_list_sorts_by_name_creation_and_kind_both_ways,
    a_sorted_customer_list_pages_with_its_sort_and_search,
    an_english_operator_reads_the_customer_pages_in_english,
    customers_are_found_whatever_the_accents_and_case,
    a_customer_is_corrected_and_issued_invoices_keep_their_details,
    a_customer_is_created_through_the_form,
    an_invalid_customer_is_refused_by_its_field_and_nothing_is_created,
    a_long_customer_list_is_paginated_and_searched,
);
