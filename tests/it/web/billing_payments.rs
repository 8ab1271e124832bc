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
use crate::support::billing::{
    complete, count, create_customer, eur, initiate, invoice_payment, issue, issued, pay, person, person_input,
    save_settings, simple_draft,
};
use crate::support::web::{Client, TestApp};
use crate::support::Backend;
use crate::web::billing_customers::{aria_sort, row_ids, sort_link};
use crate::web::billing_html::{audit_actions, element_by, id_in, input_value, text_by_id};

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
    // Its reference is what a person recognises it by: the means, the day
    // the money came, the invoice; the internal key only under "Référence technique".
    let invoice_reference = invoices::get(&app.db.store, invoice_id)
        .await
        .unwrap()
        .reference
        .unwrap();
    let reference = text_by_id(&page.body, "payment-reference").unwrap();
    assert_eq!(
        reference,
        format!(
            "chèque · reçu le {} · facture {invoice_reference}",
            yesterday.format("%d/%m/%Y")
        )
    );
    assert!(!reference.contains("manual-"), "{reference}");
    let technical = element_by(&page.body, "id=\"payment-technical\"").expect("the technical reference");
    assert!(technical.contains("Référence technique"));
    assert!(
        technical.contains(&format!("manual-{}:charge", payment.idempotency_key)),
        "{technical}"
    );
    let outside = page.body.replace(&technical, "");
    assert!(
        !outside.contains("manual-admin-payment"),
        "only in the technical details"
    );
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
    assert_eq!(plain_h1(&review.body), "Rembourser 30,00 € à Jean Martin ?");
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
    assert!(too_much.body.contains("dépasse ce qui reste dû"), "{}", too_much.body);
    assert_eq!(count(&app.db, "payments").await, 1);

    for (amount, message) in [
        ("60,01", "dépasse ce qui reste à rembourser"),
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
    assert!(answer.body.contains("dépasse ce qui reste à créditer en biens"));
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
    assert!(answer.body.contains("dépasse ce qui reste à rembourser"));
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

/// Three payments told apart by every sortable column: Zoé's 50,00 € on the
/// first invoice (received), Adam's 20,00 € on the second (initiated),
/// Élodie's 80,00 € on the third (received through Stripe).
async fn the_payment_list_sorts_by_each_column_both_ways(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    save_settings(store).await;
    let today = app.today().await;
    let zoe = create_customer(store, person_input("zoé Abel")).await;
    let adam = create_customer(store, person_input("Adam Côté")).await;
    let elodie = create_customer(store, person_input("Élodie Brun")).await;
    let first = issued(store, zoe.id, 10_000, today).await;
    let second = issued(store, adam.id, 10_000, today).await;
    let third = issued(store, elodie.id, 10_000, today).await;
    let p1 = pay(
        store,
        invoice_payment(&first, "manual", PaymentMethod::Transfer, eur(5_000), "p1"),
        today,
    )
    .await
    .id;
    let p2 = initiate(
        store,
        invoice_payment(&second, "manual", PaymentMethod::Cheque, eur(2_000), "p2"),
    )
    .await
    .unwrap()
    .id;
    let p3 = initiate(
        store,
        invoice_payment(&third, "stripe", PaymentMethod::Card, eur(8_000), "p3"),
    )
    .await
    .unwrap()
    .id;
    complete(store, p3, today, 0).await.unwrap();
    let mut client = app.signed_in().await;

    let page = client.get("/admin/payments").await;
    assert_eq!(row_ids(&page.body, "payment"), [p3, p2, p1], "newest first");
    assert_eq!(aria_sort(&page.body, "date").as_deref(), Some("descending"));
    for (column, ascending) in [
        ("date", [p1, p2, p3]),
        ("amount", [p2, p1, p3]),
        ("customer", [p2, p3, p1]),
        ("invoice", [p1, p2, p3]),
    ] {
        let page = client.get(&format!("/admin/payments?sort={column}&dir=asc")).await;
        assert_eq!(page.status, 200, "{column}");
        assert_eq!(row_ids(&page.body, "payment"), ascending, "{column} ascending");
        assert_eq!(aria_sort(&page.body, column).as_deref(), Some("ascending"));
        let page = client.get(&sort_link(&page.body, column)).await;
        let mut descending = ascending.to_vec();
        descending.reverse();
        assert_eq!(row_ids(&page.body, "payment"), descending, "{column} descending");
        assert_eq!(aria_sort(&page.body, column).as_deref(), Some("descending"));
    }
    // By state: initiated, then received; the other way, received first.
    let page = client.get("/admin/payments?sort=state&dir=asc").await;
    assert_eq!(row_ids(&page.body, "payment"), [p2, p1, p3]);
    let page = client.get("/admin/payments?sort=state&dir=desc").await;
    assert_eq!(row_ids(&page.body, "payment"), [p3, p1, p2]);

    // The filters keep the sort and the sort keeps the filters.
    let page = client
        .get("/admin/payments?status=completed&sort=amount&dir=desc")
        .await;
    assert_eq!(row_ids(&page.body, "payment"), [p3, p1]);
    assert_eq!(
        sort_link(&page.body, "customer"),
        "/admin/payments?status=completed&provider=&customer_id=&sort=customer&dir=asc"
    );
    assert!(page
        .body
        .contains("<input type=\"hidden\" name=\"sort\" value=\"amount\">"));
    assert!(!page.body.contains("rel=\"next\""));
    for bad in ["sort=amount_minor", "sort=1", "sort=date&dir=up"] {
        assert_eq!(client.get(&format!("/admin/payments?{bad}")).await.status, 422, "{bad}");
    }

    // The provider's own id is the reference a person can look up.
    let page = client.get(&format!("/admin/payments/{p3}")).await;
    let reference = text_by_id(&page.body, "payment-reference").unwrap();
    assert!(
        reference.starts_with("carte bancaire · reçu le ")
            && reference.contains(&format!("facture {}", third.reference.clone().unwrap()))
            && reference.ends_with(&format!("référence Stripe : sim_{p3}")),
        "{reference}"
    );
    // An initiated payment has no day of receipt yet: the day it was recorded.
    // (Recorded now, shown on the operator's calendar: after midnight in
    // Paris, that is already the next day in UTC terms.)
    let recorded = app
        .db
        .store
        .now()
        .await
        .unwrap()
        .with_timezone(&comptoir::local_time::zone())
        .date_naive();
    let page = client.get(&format!("/admin/payments/{p2}")).await;
    let reference = text_by_id(&page.body, "payment-reference").unwrap();
    assert_eq!(
        reference,
        format!(
            "chèque · enregistré le {} · facture {}",
            recorded.format("%d/%m/%Y"),
            second.reference.clone().unwrap()
        )
    );

    // In English: the words of the list and of a payment, the numbers French.
    let mut english = app.signed_in_english().await;
    let list = english.get("/admin/payments?sort=amount&dir=asc").await;
    assert_eq!(row_ids(&list.body, "payment"), [p2, p1, p3]);
    for words in [
        ">Amount</a>",
        ">Customer</a>",
        ">Invoice</a>",
        ">Status</a>",
        "Provider",
        "Filter",
        "80,00",
    ] {
        assert!(list.body.contains(words), "{words} in the English list");
    }
    for french in ["Montant", "Prestataire", "Filtrer", "saisi à la main", "reçu le"] {
        assert!(!list.body.contains(french), "no {french} in the English list");
    }
    let page = english.get(&format!("/admin/payments/{p3}")).await;
    for words in [
        format!("Payment no. {p3}"),
        "Technical reference".to_string(),
        "Refunds".to_string(),
        "Receipts sent".to_string(),
        format!("Stripe reference: sim_{p3}"),
    ] {
        assert!(page.body.contains(&words), "{words} in the English payment");
    }
    let reference = text_by_id(&page.body, "payment-reference").unwrap();
    assert!(
        reference.contains(&format!("received on {}", today.format("%d/%m/%Y"))),
        "{reference}"
    );
    for french in [
        "Remboursements",
        "Référence technique",
        "Reçus envoyés",
        "facture ",
        "reçu le",
    ] {
        assert!(!page.body.contains(french), "no {french} in the English payment");
    }
    let live = english.get(&format!("/admin/payments/{p2}/status.json")).await.json();
    assert_eq!(live["status"].as_str(), Some("initiated"));
    assert_ne!(
        live["status_label"].as_str(),
        Some("initié"),
        "the live words in English"
    );
}

on_both_backends!(
    the_payment_list_sorts_by_each_column_both_ways,
    a_recorded_payment_settles_the_invoice_and_a_refund_is_confirmed_then_paid_back,
    a_refund_above_what_remains_is_refused_and_nothing_is_reserved,
);
