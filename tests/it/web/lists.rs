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
    assert!(row(late.id).contains("data-days-late=\"12\"") && row(late.id).contains("en retard de 12 j"));
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

on_both_backends!(invoices_show_who_is_late_and_what_the_page_adds_up_to);
