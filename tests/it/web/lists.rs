//! The admin's lists as a sole trader reads them: invoices filtered by the
//! customer's name, late ones marked with their days late, the page's
//! totals; payments naming the invoice they paid.

use chrono::TimeDelta;
use comptoir::billing::payments::PaymentMethod;

use crate::on_both_backends;
use crate::support::billing::{create_customer, eur, invoice_payment, issued, pay, person_input, save_settings};
use crate::support::web::TestApp;
use crate::support::Backend;
use crate::web::jobs::unescape;

async fn invoices_show_who_is_late_and_what_the_page_adds_up_to(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    save_settings(store).await;
    let elodie = create_customer(store, person_input("Élodie Château-Brûlé")).await;
    let jean = create_customer(store, person_input("Jean Martin")).await;
    let today = app.today().await;
    // Terms are 30 days: 12 days late, and one not due yet.
    let late = issued(store, elodie.id, 12_000, today - TimeDelta::days(42)).await;
    let current = issued(store, jean.id, 4_550, today).await;
    let payment = invoice_payment(&late, "manual", PaymentMethod::Cheque, eur(2_000), "part");
    pay(store, payment, today).await;

    let mut client = app.signed_in().await;
    let page = client.get("/admin/invoices").await;
    let html = unescape(&page.body);
    let row = |id: i64| {
        let at = html.find(&format!("<tr id=\"invoice-{id}\"")).expect("the row");
        html[at..at + html[at..].find("</tr>").unwrap()].to_string()
    };
    assert!(row(late.id).contains("data-days-late=\"12\"") && row(late.id).contains("en retard de 12 jours"));
    assert!(!row(current.id).contains("en retard"), "not due yet");
    assert!(html.contains("id=\"page-total-EUR\">165,50\u{a0}€"), "120,00 + 45,50");
    assert!(
        html.contains("id=\"page-due-EUR\">145,50\u{a0}€"),
        "100,00 + 45,50 owed"
    );
    // The customer filter names customers, and keeps only theirs.
    assert!(html.contains(&format!(
        "<option value=\"{}\">Élodie Château-Brûlé</option>",
        elodie.id
    )));
    let only = client.get(&format!("/admin/invoices?customer_id={}", elodie.id)).await;
    assert!(only.body.contains(&format!("<tr id=\"invoice-{}\"", late.id)));
    assert!(!only.body.contains(&format!("<tr id=\"invoice-{}\"", current.id)));
    assert!(only
        .body
        .contains(&format!("<option value=\"{}\" selected>", elodie.id)));

    // Payments name the invoice they paid, with a link.
    let payments = client.get("/admin/payments").await;
    let reference = late.reference.clone().unwrap();
    assert!(
        payments
            .body
            .contains(&format!("<a href=\"/admin/invoices/{}\">{reference}</a>", late.id)),
        "{}",
        payments.body
    );
}

/// A new user's empty lists say what to do next, in their language; a
/// filtered list that finds nothing does not send them to create things.
async fn empty_lists_say_what_to_do_next(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let expect = [
        (
            "/admin/customers",
            "href=\"/admin/customers/new\" id=\"first-customer\"",
        ),
        (
            "/admin/contracts",
            "href=\"/admin/contracts/new\" id=\"first-contract\"",
        ),
        ("/admin/orders", "POST /api/orders"),
        ("/admin/payments", "s'enregistre sur la page de sa facture"),
        ("/admin/invoices", "href=\"/admin/invoices/new\""),
    ];
    for (path, next) in expect {
        let page = client.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(
            unescape(&page.body).contains(next),
            "{path} says what to do next ({next})"
        );
    }
    let filtered = client.get("/admin/contracts?status=suspended").await;
    assert!(
        !filtered.body.contains("first-contract"),
        "a filter that finds nothing is not an empty book"
    );
    let filtered = client.get("/admin/payments?status=failed").await;
    assert!(!unescape(&filtered.body).contains("s'enregistre sur la page"));

    let mut english = app.signed_in_english().await;
    let page = english.get("/admin/payments").await;
    assert!(
        page.body.contains("A payment received is recorded on its invoice"),
        "{}",
        page.body
    );
    let page = english.get("/admin/customers").await;
    assert!(page.body.contains("create the first one"));
}

on_both_backends!(
    invoices_show_who_is_late_and_what_the_page_adds_up_to,
    invoices_sort_by_a_column_both_ways_with_their_filters_and_pages,
    empty_lists_say_what_to_do_next,
);

/// The ids of the invoice rows of a list page, in their order.
fn invoice_rows(html: &str) -> Vec<i64> {
    html.match_indices("<tr id=\"invoice-")
        .map(|(at, m)| {
            let rest = &html[at + m.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect()
}

/// The header of sort column `key`: its `aria-sort` and its link.
fn sort_header(html: &str, key: &str) -> (String, String) {
    let link = html.find(&format!("id=\"sort-{key}\"")).expect("the column's link");
    let th = html[..link].rfind("<th").unwrap();
    let tag = &html[th..link];
    let attr = |name: &str| {
        let at = tag
            .find(&format!("{name}=\""))
            .unwrap_or_else(|| panic!("{name} in {tag}"))
            + name.len()
            + 2;
        tag[at..at + tag[at..].find('"').unwrap()].to_string()
    };
    (attr("aria-sort"), attr("href"))
}

async fn invoices_sort_by_a_column_both_ways_with_their_filters_and_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    save_settings(store).await;
    let anne = create_customer(store, person_input("Anne Blanc")).await;
    let zoe = create_customer(store, person_input("Zoe Martin")).await;
    let bruno = create_customer(store, person_input("bruno Petit")).await;
    let today = app.today().await;
    // Issued in date order; totals and customers in others.
    let b = issued(store, anne.id, 9_000, today - TimeDelta::days(30)).await;
    let c = issued(store, bruno.id, 1_000, today - TimeDelta::days(20)).await;
    let a = issued(store, zoe.id, 5_000, today - TimeDelta::days(10)).await;
    let draft = comptoir_draft(store, anne.id, 3_000).await;
    let paid = issued(store, bruno.id, 2_000, today - TimeDelta::days(5)).await;
    pay(
        store,
        invoice_payment(&paid, "manual", PaymentMethod::Transfer, eur(2_000), "all"),
        today,
    )
    .await;

    let mut client = app.signed_in().await;
    let newest = invoice_rows(&client.get("/admin/invoices").await.body);
    assert_eq!(newest, [paid.id, draft, a.id, c.id, b.id], "newest first by default");
    let sorted = |by: &str, dir: &str| format!("/admin/invoices?sort={by}&dir={dir}");
    for (by, up) in [
        // Drafts have no number nor dates: last, whichever way.
        ("number", vec![b.id, c.id, a.id, paid.id, draft]),
        // Without regard to case; ties by age.
        ("customer", vec![b.id, draft, c.id, paid.id, a.id]),
        ("date", vec![b.id, c.id, a.id, paid.id, draft]),
        ("due", vec![b.id, c.id, a.id, paid.id, draft]),
        ("total", vec![c.id, paid.id, draft, a.id, b.id]),
        // The life of a document: draft, issued, paid.
        ("status", vec![draft, b.id, c.id, a.id, paid.id]),
    ] {
        let page = client.get(&sorted(by, "asc")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(invoice_rows(&page.body), up, "{by} up");
        let html = unescape(&page.body);
        let (aria, href) = sort_header(&html, by);
        assert_eq!(aria, "ascending", "{by}");
        assert!(
            href.ends_with(&format!("sort={by}&dir=desc")),
            "the other way next: {href}"
        );
        let other = if by == "total" { "number" } else { "total" };
        assert_eq!(sort_header(&html, other).0, "none");

        let down = invoice_rows(&client.get(&sorted(by, "desc")).await.body);
        let mut expected: Vec<i64> = up.iter().copied().filter(|i| *i != draft).rev().collect();
        // Empty values stay last going down too.
        if ["number", "date", "due"].contains(&by) {
            expected.push(draft);
        } else {
            expected = up.iter().copied().rev().collect();
        }
        assert_eq!(down, expected, "{by} down");
    }

    // A filter is kept by the sort links, and the sort by the filter form.
    let page = client
        .get(&format!("/admin/invoices?customer_id={}&sort=total&dir=desc", bruno.id))
        .await;
    assert_eq!(invoice_rows(&page.body), [paid.id, c.id]);
    let html = unescape(&page.body);
    let (aria, href) = sort_header(&html, "total");
    assert_eq!(aria, "descending");
    assert_eq!(
        href,
        format!("/admin/invoices?customer_id={}&sort=total&dir=asc", bruno.id)
    );
    assert!(sort_header(&html, "date")
        .1
        .contains(&format!("customer_id={}", bruno.id)));
    assert!(html.contains(
        "<input type=\"hidden\" name=\"sort\" value=\"total\"><input type=\"hidden\" name=\"dir\" value=\"desc\">"
    ));

    // Only the columns offered: anything else is refused, not put in the query.
    for bad in [
        "sort=id;DROP%20TABLE%20invoices",
        "sort=total_minor",
        "sort=total&dir=sideways",
    ] {
        let answer = client.get(&format!("/admin/invoices?{bad}")).await;
        assert_eq!(answer.status, 422, "{bad}");
    }
    assert_eq!(invoice_rows(&client.get("/admin/invoices").await.body).len(), 5);

    // Pages of a sorted list follow the sort.
    for i in 0..50 {
        comptoir_draft(store, zoe.id, 100 + i).await;
    }
    let first = client.get(&sorted("total", "asc")).await;
    let first_rows = invoice_rows(&first.body);
    assert_eq!(first_rows.len(), 50);
    let html = unescape(&first.body);
    let next = html.find("id=\"next-page\" href=\"").expect("a next page") + "id=\"next-page\" href=\"".len();
    let next = &html[next..next + html[next..].find('"').unwrap()];
    assert_eq!(next, "/admin/invoices?sort=total&dir=asc&offset=50");
    let second = invoice_rows(&client.get(next).await.body);
    assert_eq!(second.len(), 5, "55 in all");
    assert_eq!(second.last(), Some(&b.id), "the dearest last");
    assert!(second.iter().all(|id| !first_rows.contains(id)));
    // A page far past the end is an empty page, on both backends.
    let far = client
        .get(&format!("/admin/invoices?sort=total&dir=asc&offset={}", i64::MAX))
        .await;
    assert_eq!(far.status, 200);
    assert!(invoice_rows(&far.body).is_empty());
}

/// A draft of `minor` cents for `customer_id`: its id.
async fn comptoir_draft(store: &comptoir::store::Store, customer_id: i64, minor: i64) -> i64 {
    crate::support::billing::simple_draft(store, customer_id, minor)
        .await
        .id
}
