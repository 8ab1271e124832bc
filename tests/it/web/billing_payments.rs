//! Payments in the admin, end to end over HTTP with the product's worker: a
//! payment recorded by hand on an issued invoice is completed by its job on
//! the declared date; a refund goes form → confirmation → confirm, then the
//! job pays it back with a credit note; a refund above what remains is
//! refused with nothing reserved.

use chrono::{Datelike, Days};
use comptoir::billing::invoices::{self, InvoiceStatus};
use comptoir::billing::payments::{self, PaymentMethod, PaymentStatus};
use comptoir::billing::refunds::{self, RefundStatus};
use comptoir::billing::revenue_book;

use crate::on_both_backends;
use crate::support::billing::{count, issue, person, save_settings, simple_draft};
use crate::support::web::{Client, TestApp};
use crate::support::Backend;
use crate::web::billing_html::{audit_actions, id_in, input_value, text_by_id};

/// An issued invoice of 100,00 € for Jean Martin, dated a week ago (money
/// is never received before the invoice's date); returns its id.
async fn issued_invoice(app: &TestApp) -> i64 {
    save_settings(&app.db.store).await;
    let customer = person(&app.db.store).await;
    let draft = simple_draft(&app.db.store, customer.id, 10_000).await;
    let today = app.db.store.now().await.unwrap().date_naive();
    issue(&app.db.store, draft.id, today - Days::new(7)).await;
    draft.id
}

/// Records a payment through the invoice page's form; returns the answer.
pub(crate) async fn record(
    client: &mut Client,
    invoice_id: i64,
    amount: &str,
    method: &str,
    on: &str,
) -> crate::support::web::Answer {
    let page = client.get(&format!("/admin/invoices/{invoice_id}")).await;
    assert!(
        page.body.contains("id=\"payment-form\""),
        "an issued unpaid invoice takes a payment"
    );
    let key = input_value(&page.body, "key").expect("the form's key");
    client
        .post_form(
            &format!("/admin/invoices/{invoice_id}/payments"),
            &[
                ("amount", amount),
                ("method", method),
                ("received_on", on),
                ("key", &key),
            ],
        )
        .await
}

async fn a_recorded_payment_settles_the_invoice_and_a_refund_is_confirmed_then_paid_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let invoice_id = issued_invoice(&app).await;
    let mut client = app.signed_in().await;
    let page = client.get(&format!("/admin/invoices/{invoice_id}")).await;
    assert_eq!(
        input_value(&page.body, "amount").as_deref(),
        Some("100,00"),
        "defaults to the balance due"
    );

    let today = app.db.store.now().await.unwrap().date_naive();
    let yesterday = today.checked_sub_days(Days::new(1)).unwrap();
    let answer = record(
        &mut client,
        invoice_id,
        "100,00",
        "cheque",
        &yesterday.format("%d/%m/%Y").to_string(),
    )
    .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let payment_id = id_in(answer.location());
    let page = client.follow(answer).await;
    assert!(page.body.contains("id=\"payment-status\" data-status=\"initiated\""));
    assert!(page
        .body
        .contains(&format!("data-poll=\"/admin/payments/{payment_id}/status.json\"")));
    assert!(!page.body.contains("id=\"refund\""), "nothing to refund yet");
    let payment = payments::get(&app.db.store, payment_id).await.unwrap();
    assert_eq!(
        (payment.provider.as_str(), payment.method),
        ("manual", PaymentMethod::Cheque)
    );

    let report = app.drain().await;
    assert!(report.all_succeeded(), "{report:?}");
    let invoice = invoices::get(&app.db.store, invoice_id).await.unwrap();
    assert_eq!(invoice.status, InvoiceStatus::Paid);
    let payment = payments::get(&app.db.store, payment_id).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Completed);
    assert_eq!(
        payment.received_on,
        Some(yesterday),
        "on the date declared, not the day the job ran"
    );
    let book = revenue_book::list(&app.db.store, yesterday, today).await.unwrap();
    assert_eq!(book.len(), 1);
    assert_eq!(
        (book[0].line.received_on, book[0].line.amount.minor),
        (yesterday, 10_000)
    );
    assert_eq!(book[0].line.method, "cheque");
    let page = client.get(&format!("/admin/invoices/{invoice_id}")).await;
    assert!(page.body.contains("id=\"invoice-status\" data-status=\"paid\""));
    assert!(!page.body.contains("id=\"payment-form\""), "paid: no more payments");
    let live = client
        .get(&format!("/admin/payments/{payment_id}/status.json"))
        .await
        .json();
    assert_eq!(
        (live["status"].as_str(), live["done"].as_bool()),
        (Some("completed"), Some(true))
    );

    // Refund: a link, a form, a confirmation page, then the confirmation.
    let page = client.get(&format!("/admin/payments/{payment_id}")).await;
    assert!(page
        .body
        .contains(&format!("id=\"refund\" href=\"/admin/payments/{payment_id}/refund\"")));
    let form = client.get(&format!("/admin/payments/{payment_id}/refund")).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("id=\"refund-form\"") && form.body.contains("id=\"refund-continue\""));
    let review = client
        .post_form(
            &format!("/admin/payments/{payment_id}/refund"),
            &[("amount", "30,00"), ("reason", "Prestation écourtée"), ("nature", "")],
        )
        .await;
    assert_eq!(review.status, 200, "{}", review.body);
    assert_eq!(
        plain_h1(&review.body),
        "Rembourser 30,00 € à Jean Martin ? confirm the refund"
    );
    assert!(review.body.contains("id=\"refund-confirm\""));
    assert_eq!(count(&app.db, "refunds").await, 0, "nothing before the confirmation");
    let key = input_value(&review.body, "key").expect("the confirmation's key");
    let fields = [
        ("amount", "30,00"),
        ("reason", "Prestation écourtée"),
        ("nature", ""),
        ("key", key.as_str()),
    ];
    let answer = client
        .post_form(&format!("/admin/payments/{payment_id}/refund/confirm"), &fields)
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    // The same confirmation posted twice reserves one refund.
    let again = client
        .post_form(&format!("/admin/payments/{payment_id}/refund/confirm"), &fields)
        .await;
    assert_eq!(again.status, 303);
    assert!(client.follow(again).await.body.contains("déjà demandé"));
    assert_eq!(count(&app.db, "refunds").await, 1);
    let page = client.get(&format!("/admin/payments/{payment_id}")).await;
    assert!(page.body.contains("class=\"refund\" data-status=\"pending\""));
    assert!(page.body.contains("id=\"refund-status\" data-status=\"pending\""));
    assert!(page.body.contains("data-poll="), "watched while the refund is pending");
    let payment = payments::get(&app.db.store, payment_id).await.unwrap();
    assert_eq!(payment.refunded.minor, 3_000, "reserved");

    let report = app.drain().await;
    assert!(report.all_succeeded(), "{report:?}");
    let refund = &refunds::for_payment(&app.db.store, payment_id).await.unwrap()[0];
    assert_eq!(refund.status, RefundStatus::Completed);
    let note_reference = format!("AV{}-0001", today.year());
    let page = client.get(&format!("/admin/payments/{payment_id}")).await;
    assert!(page.body.contains("class=\"refund\" data-status=\"completed\""));
    assert!(text_by_id(&page.body, "refund-status").unwrap().contains("effectué"));
    assert!(page.body.contains(&note_reference), "the credit note is named");
    assert!(page
        .body
        .contains("id=\"payment-status\" data-status=\"partially_refunded\""));
    let invoice_page = client.get(&format!("/admin/invoices/{invoice_id}")).await;
    assert_eq!(invoice_page.body.matches("class=\"credit-note\"").count(), 1);
    assert!(invoice_page.body.contains(&note_reference));
    let book = revenue_book::list(&app.db.store, yesterday, today).await.unwrap();
    assert_eq!(
        book.last().map(|l| l.line.amount.minor),
        Some(-3_000),
        "a negative line"
    );
    let note = invoices::get(&app.db.store, refund.credit_note_id.unwrap())
        .await
        .unwrap();
    let note_page = client.get(&format!("/admin/invoices/{}", note.id)).await;
    assert!(
        text_by_id(&note_page.body, "email-status").unwrap().contains("envoyé"),
        "the credit note was e-mailed"
    );

    assert_eq!(
        audit_actions(&app, &format!("payment:{payment_id}")).await,
        ["payment.record", "refund.request"],
        "the second confirmation found its refund and recorded nothing"
    );
}

fn plain_h1(html: &str) -> String {
    let start = html.find("<h1>").expect("a title") + 4;
    let end = html[start..].find("</h1>").unwrap() + start;
    crate::web::billing_html::plain(&html[start..end])
}

async fn a_refund_above_what_remains_is_refused_and_nothing_is_reserved(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let invoice_id = issued_invoice(&app).await;
    let mut client = app.signed_in().await;
    let today = app.today().await.format("%Y-%m-%d").to_string();
    let answer = record(&mut client, invoice_id, "60,00", "transfer", &today).await;
    let payment_id = id_in(answer.location());
    // More than the balance due is refused by the domain, by its field.
    let too_much = record(&mut client, invoice_id, "50,00", "cash", &today).await;
    assert_eq!(too_much.status, 422, "60 € already in flight: {}", too_much.body);
    assert!(too_much.body.contains("déjà en cours"));
    app.drain().await;
    let too_much = record(&mut client, invoice_id, "40,01", "cash", &today).await;
    assert_eq!(too_much.status, 422);
    assert!(too_much.body.contains("is more than what"), "{}", too_much.body);
    assert_eq!(count(&app.db, "payments").await, 1);

    for (amount, message) in [
        ("60,01", "exceeds what remains refundable"),
        ("0", "doit être positif"),
        ("abc", "n&#x27;est pas un montant"),
    ] {
        let answer = client
            .post_form(
                &format!("/admin/payments/{payment_id}/refund"),
                &[("amount", amount), ("reason", "Erreur"), ("nature", "")],
            )
            .await;
        assert_eq!(answer.status, 422, "{amount}");
        assert!(answer.body.contains("id=\"refund-form\""), "the form again");
        assert!(answer.body.contains(message), "{message} in {}", answer.body);
    }
    // On goods, of which the invoice has none: the credit note could not carry it.
    let answer = client
        .post_form(
            &format!("/admin/payments/{payment_id}/refund"),
            &[("amount", "10,00"), ("reason", "Retour"), ("nature", "goods")],
        )
        .await;
    assert_eq!(answer.status, 422);
    assert!(answer.body.contains("exceeds what remains creditable for goods"));
    // A confirmation forged past the form is refused the same way.
    let answer = client
        .post_form(
            &format!("/admin/payments/{payment_id}/refund/confirm"),
            &[
                ("amount", "80,00"),
                ("reason", "Erreur"),
                ("nature", ""),
                ("key", "abc123"),
            ],
        )
        .await;
    assert_eq!(answer.status, 422);
    assert!(answer.body.contains("exceeds what remains refundable"));
    assert_eq!(count(&app.db, "refunds").await, 0, "nothing reserved");
    assert_eq!(
        payments::get(&app.db.store, payment_id).await.unwrap().refunded.minor,
        0
    );
    assert_eq!(count(&app.db, "invoices").await, 1, "no credit note");
    assert_eq!(
        audit_actions(&app, &format!("payment:{payment_id}")).await,
        ["payment.record"]
    );
}

on_both_backends!(
    a_recorded_payment_settles_the_invoice_and_a_refund_is_confirmed_then_paid_back,
    a_refund_above_what_remains_is_refused_and_nothing_is_reserved,
);
