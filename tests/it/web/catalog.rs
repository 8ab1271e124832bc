//! The admin's catalogue page, browser-free: products listed (for sale and
//! retired), created through the form (a price in euros with a comma, the
//! nature in French), refused with a French message beside the field and
//! nothing stored, retired after the CSRF check; both actions audited.

use comptoir::billing::catalog::{self, Nature};

use crate::on_both_backends;
use crate::support::billing::{count, eur};
use crate::support::web::TestApp;
use crate::support::Backend;
use crate::web::billing_html::{element_by, plain};

fn product<'a>(sku: &'a str, name: &'a str, nature: &'a str, price: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("sku", sku), ("name", name), ("nature", nature), ("unit_price", price)]
}

/// The row of product `sku`, as text.
fn row(html: &str, sku: &str) -> Option<String> {
    element_by(html, &format!("data-sku=\"{sku}\"")).map(|inner| plain(&inner))
}

async fn products_are_created_and_retired_from_the_catalogue_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let page = client.get("/admin/catalog").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for needle in [
        "href=\"/admin/catalog\" aria-current=\"page\"",
        "id=\"product-form\"",
        "Vente de marchandises",
        "Prestation de services",
        "Aucun produit",
    ] {
        assert!(page.text().contains(needle), "{needle} on the page");
    }

    let created = client
        .post_form(
            "/admin/catalog",
            &product("COURS-1H", "Cours particulier (1 h)", "services", "45,50"),
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let page = client.follow(created).await;
    assert!(
        page.text()
            .contains("Produit COURS-1H « Cours particulier (1 h) » ajouté"),
        "{}",
        page.body
    );
    let listed = row(&page.body, "COURS-1H").expect("listed");
    assert!(listed.contains("Prestation de services"), "{listed}");
    assert!(listed.contains("45,50 €"), "{listed}");
    assert!(listed.contains("en vente"), "{listed}");
    let mut tx = app.db.store.begin().await.unwrap();
    let stored = catalog::by_sku(&mut tx, "COURS-1H").await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(stored.unit_price, eur(4_550));
    assert_eq!(stored.nature, Nature::Services);

    // Refused inputs: the French message beside the field, the typed values
    // kept, nothing stored.
    for (form, field, message) in [
        (
            product("", "Livre", "goods", "19,90"),
            "sku",
            "La référence est obligatoire.",
        ),
        (
            product("LIVRE ÉTÉ", "Livre", "goods", "19,90"),
            "sku",
            "Lettres sans accent",
        ),
        (
            product("LIVRE", " ", "goods", "19,90"),
            "name",
            "Le libellé est obligatoire.",
        ),
        (
            product("LIVRE", "Livre", "gift", "19,90"),
            "nature",
            "Choisissez « Vente de marchandises »",
        ),
        (
            product("LIVRE", "Livre", "goods", "dix-neuf"),
            "unit_price",
            "n'est pas un montant",
        ),
        (
            product("LIVRE", "Livre", "goods", "19,999"),
            "unit_price",
            "décimales au plus",
        ),
        (
            product("COURS-1H", "Encore", "services", "10"),
            "sku",
            "Cette référence existe déjà",
        ),
    ] {
        let answer = client.post_form("/admin/catalog", &form).await;
        assert_eq!(answer.status, 422, "{form:?}: {}", answer.body);
        let text = answer.text();
        let at = text
            .find("class=\"field-error\"")
            .unwrap_or_else(|| panic!("{form:?}: no field error: {}", answer.body));
        assert!(
            text[at..].contains(message),
            "{form:?}: {message} not in {}",
            &text[at..]
        );
        let input = text.find(&format!("name=\"{field}\"")).expect("the field");
        assert!(input < at, "{form:?}: the message follows its field");
        assert!(
            text.contains(&format!("value=\"{}\"", form[1].1)),
            "the typed name is kept"
        );
    }
    assert_eq!(count(&app.db, "products").await, 1);

    assert_eq!(
        client
            .post_form(
                "/admin/catalog",
                &product("LIVRE", "Livre d'exercices", "goods", "19.90")
            )
            .await
            .status,
        303
    );
    // Retiring needs the session's CSRF token.
    let forged = client.post_form_raw("/admin/catalog/LIVRE/retire", &[]).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let retired = client.post_form("/admin/catalog/LIVRE/retire", &[]).await;
    assert_eq!(retired.status, 303, "{}", retired.body);
    let page = client.follow(retired).await;
    assert!(page.text().contains("retiré de la vente"), "{}", page.body);
    let listed = row(&page.body, "LIVRE").expect("a retired product stays listed");
    assert!(listed.contains("retiré"), "{listed}");
    assert!(!listed.contains("Retirer de la vente"), "{listed}");
    assert!(row(&page.body, "COURS-1H").unwrap().contains("Retirer de la vente"));
    let twice = client.post_form("/admin/catalog/LIVRE/retire", &[]).await;
    assert_eq!(twice.status, 409, "{}", twice.body);
    assert_eq!(client.post_form("/admin/catalog/NOPE/retire", &[]).await.status, 404);
    let for_sale = catalog::price_list(&app.db.store).await.unwrap();
    assert_eq!(for_sale.len(), 1);

    let created: Vec<String> = app
        .audited("product.create")
        .await
        .into_iter()
        .map(|e| e.target)
        .collect();
    assert_eq!(created, ["product:LIVRE", "product:COURS-1H"]);
    assert_eq!(app.audited("product.retire").await.len(), 1);
}

/// An operator who chose English: the catalogue, its refusals and its
/// flashes in English; prices still written "12,50 €".
async fn an_english_operator_keeps_the_catalogue_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in_english().await;
    let page = client.get("/admin/catalog").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = page.text();
    for words in [
        "Catalogue",
        "New product",
        "Reference (unaccented letters, digits, dashes; e.g. COURS-1H)",
        "Sale of goods",
        "Provision of services",
        ">hour<",
        ">month<",
        "Add to the catalogue",
        "No product yet",
    ] {
        assert!(html.contains(words), "{words:?} on the English catalogue");
    }
    for french in [
        "Nouveau produit",
        "Vente de",
        "Prestation",
        ">heure<",
        "Ajouter",
        "Aucun produit",
    ] {
        assert!(!html.contains(french), "{french:?} left on the English catalogue");
    }

    let refused = client
        .post_form("/admin/catalog", &product("", "Book", "goods", "dix"))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let html = refused.text();
    assert!(html.contains("The reference is required."), "{html}");
    assert!(html.contains("“dix” is not an amount (e.g. 12,50)"), "{html}");
    assert!(!html.contains("obligatoire") && !html.contains("montant"));

    let mut form = product("COURS-1H", "Cours particulier", "services", "45,50");
    form.push(("unit", "hour"));
    let created = client.post_form("/admin/catalog", &form).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let page = client.follow(created).await;
    let html = page.text();
    assert!(
        html.contains("Product COURS-1H “Cours particulier” added to the catalogue (45,50\u{a0}€)."),
        "{html}"
    );
    let listed = row(&page.body, "COURS-1H").expect("listed");
    for words in [
        "Provision of services",
        "hour",
        "45,50 €",
        "for sale",
        "Edit",
        "Withdraw from sale",
    ] {
        assert!(listed.contains(words), "{words:?} in {listed}");
    }
    let retired = client.post_form("/admin/catalog/COURS-1H/retire", &[]).await;
    let page = client.follow(retired).await;
    assert!(page
        .text()
        .contains("withdrawn from sale: it stays on the documents that name it"));
    assert!(row(&page.body, "COURS-1H").unwrap().contains("withdrawn from sale"));
}

on_both_backends!(
    products_are_created_and_retired_from_the_catalogue_page,
    an_english_operator_keeps_the_catalogue_in_english
);
