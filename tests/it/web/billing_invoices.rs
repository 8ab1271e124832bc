//! Invoices in the admin, end to end over HTTP: a draft made with the form,
//! issued (its number and its e-mail job in one transaction), the e-mail
//! sent by the worker and shown live, the PDF viewed and downloaded and read
//! back, sent again, credited; refusals that change nothing.

use chrono::{Datelike, Days};
use comptoir::billing::invoices::{self, InvoiceStatus};
use comptoir::store::types::{JobFilter, JobState};

use crate::on_both_backends;
use crate::support::billing::{count, create_customer, person, person_input, raw_execute, save_settings, simple_draft};
use crate::support::pdf::pdf_text_flowing;
use crate::support::web::{Client, TestApp};
use crate::support::Backend;
use crate::web::billing_html::{audit_actions, get_bytes, id_in, text_by_id};

const SEND: &str = "billing.send_invoice_email";

/// Send jobs of `invoice_id`, in any state.
async fn send_jobs(app: &TestApp, invoice_id: i64) -> Vec<comptoir::store::types::JobRow> {
    app.db
        .store
        .list_jobs(&JobFilter {
            kind: Some(SEND.into()),
            limit: 1000,
            ..JobFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.args["invoice_id"].as_i64() == Some(invoice_id))
        .collect()
}

/// Creates a customer and a two-line draft through the forms; returns the draft's id.
async fn draft_through_forms(client: &mut Client) -> i64 {
    let answer = client
        .post_form(
            "/admin/customers",
            &[
                ("kind", "person"),
                ("name", "Jean Martin"),
                ("address_lines", "3 place du Marché"),
                ("postcode", "69002"),
                ("city", "Lyon"),
                ("country", "FR"),
                ("email", "jean.martin@example.fr"),
                ("siren", ""),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let customer_id = id_in(answer.location());
    let form = client
        .get(&format!("/admin/invoices/new?customer_id={customer_id}"))
        .await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("id=\"invoice-form\""));
    assert!(form
        .body
        .contains(&format!("<option value=\"{customer_id}\" selected>")));
    for n in 1..=3 {
        assert!(
            form.body.contains(&format!("name=\"unit_price_{n}\"")),
            "three line rows to start with"
        );
    }
    let customer = customer_id.to_string();
    let answer = client
        .post_form(
            "/admin/invoices",
            &[
                ("customer_id", &customer),
                ("terms", "15"),
                ("description_1", "Conseil en organisation"),
                ("nature_1", "services"),
                ("quantity_1", "2"),
                ("unit_price_1", "12,50"),
                ("description_2", "Mug émaillé"),
                ("nature_2", "goods"),
                ("quantity_2", ""),
                ("unit_price_2", "8.00"),
                ("description_3", ""),
                ("unit_price_3", ""),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    id_in(answer.location())
}

async fn an_invoice_is_drafted_issued_emailed_and_downloaded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let mut client = app.signed_in().await;
    let id = draft_through_forms(&mut client).await;

    let draft = client.get(&format!("/admin/invoices/{id}")).await;
    assert_eq!(draft.status, 200);
    assert!(draft.body.contains("id=\"issue-invoice\""));
    assert!(
        !draft.body.contains("id=\"invoice-reference\""),
        "a draft has no number"
    );
    assert_eq!(text_by_id(&draft.body, "invoice-total").as_deref(), Some("33,00 €"));
    assert!(draft.body.contains("15 jours"), "the chosen terms");
    assert!(send_jobs(&app, id).await.is_empty(), "nothing is sent before issue");

    let answer = client
        .post_form(&format!("/admin/invoices/{id}/issue"), &[("confirm", "yes")])
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = client.follow(answer).await;
    let today = app.db.store.now().await.unwrap().date_naive();
    let reference = format!("F{}-0001", today.year());
    assert_eq!(
        text_by_id(&page.body, "invoice-reference").as_deref(),
        Some(reference.as_str())
    );
    assert!(page.body.contains("id=\"invoice-status\" data-status=\"issued\""));
    assert!(text_by_id(&page.body, "email-status")
        .unwrap()
        .contains("envoi en cours"));
    assert!(page
        .body
        .contains(&format!("data-poll=\"/admin/invoices/{id}/emails.json\"")));
    for link in [
        "id=\"view-pdf\"",
        "id=\"download-pdf\"",
        "id=\"resend-invoice\"",
        "id=\"payment-form\"",
    ] {
        assert!(page.body.contains(link), "{link}");
    }
    let issued = invoices::get(&app.db.store, id).await.unwrap();
    assert_eq!(issued.reference.as_deref(), Some(reference.as_str()));
    assert_eq!(
        issued.due_date,
        today.checked_add_days(Days::new(15)),
        "due in 15 days as chosen"
    );
    assert_eq!(
        issued.snapshot.as_ref().unwrap().seller.payment_terms_days,
        15,
        "the printed terms agree with the due date"
    );
    // The e-mail job was enqueued with the number, in the issuing transaction.
    let jobs = send_jobs(&app, id).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Available);
    let live = client.get(&format!("/admin/invoices/{id}/emails.json")).await.json();
    assert_eq!(live["done"], false);

    let report = app.drain().await;
    assert!(report.all_succeeded(), "{report:?}");
    let live = client.get(&format!("/admin/invoices/{id}/emails.json")).await.json();
    assert_eq!(live["done"], true, "{live}");
    assert!(live["summary"].as_str().unwrap().contains("envoyé"), "{live}");
    let page = client.get(&format!("/admin/invoices/{id}")).await;
    let status = text_by_id(&page.body, "email-status").unwrap();
    assert!(
        status.contains("envoyé") && status.contains("jean.martin@example.fr"),
        "{status}"
    );
    assert!(!page.body.contains("data-poll="), "nothing left to watch");

    // The CII XML alone, as the PDF embeds it: a consumer's invoice, valid EN 16931.
    let (status, headers, xml) = get_bytes(&app, &client, &format!("/admin/invoices/{id}/xml")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/xml");
    assert_eq!(
        headers["content-disposition"].to_str().unwrap(),
        format!("attachment; filename=\"{reference}.xml\"")
    );
    let verdict = crate::support::pdf::facturx_check(&xml, "invoice.xml", false);
    assert!(verdict.pass, "{}", verdict.output);

    // The PDF, downloaded and viewed.
    let (status, headers, bytes) = get_bytes(&app, &client, &format!("/admin/invoices/{id}/download")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(
        headers["content-disposition"].to_str().unwrap(),
        format!("attachment; filename=\"{reference}.pdf\"")
    );
    let text = pdf_text_flowing(&bytes);
    for needle in [
        reference.as_str(),
        "TVA non applicable, art. 293 B du CGI",
        "Jean Martin",
        "Marie Dupont EI",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from the PDF:\n{text}");
    }
    let (status, headers, _) = get_bytes(&app, &client, &format!("/admin/invoices/{id}/pdf")).await;
    assert_eq!(status, 200);
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("inline;"));

    // Sent again: a new job, a new key, a second e-mail.
    let answer = client.post_form(&format!("/admin/invoices/{id}/resend"), &[]).await;
    assert_eq!(answer.status, 303);
    assert_eq!(send_jobs(&app, id).await.len(), 2);
    app.drain().await;
    let emails = comptoir::billing::emails::for_invoice(&app.db.store, id).await.unwrap();
    assert_eq!(emails.len(), 2, "two e-mails");
    assert_ne!(emails[0].idempotency_key, emails[1].idempotency_key);
    assert!(emails.iter().all(|e| e.status.as_str() == "sent"));

    assert_eq!(
        audit_actions(&app, &format!("invoice:{id}")).await,
        [
            "invoice.create",
            "invoice.issue",
            "invoice.xml",
            "invoice.pdf",
            "invoice.pdf",
            "invoice.resend"
        ]
    );
    // Issued, its terms are frozen by the database too.
    let changed = raw_execute(
        &app.db,
        &format!("UPDATE invoices SET payment_terms_days = 30 WHERE id = {id}"),
    )
    .await;
    assert!(changed.unwrap_err().contains("immutable"));
}

async fn a_credit_note_is_issued_from_the_form_and_emailed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let mut client = app.signed_in().await;
    let id = draft_through_forms(&mut client).await;
    client
        .post_form(&format!("/admin/invoices/{id}/issue"), &[("confirm", "yes")])
        .await;
    let page = client.get(&format!("/admin/invoices/{id}")).await;
    assert!(page.body.contains("id=\"credit-form\""));
    let post = |amount: &'static str, reason: &'static str, nature: &'static str| {
        [("amount", amount), ("reason", reason), ("nature", nature)]
    };
    // Refusals: more than the invoice, a nature it does not carry enough of, no reason.
    for (fields, message) in [
        (post("33,01", "Remise", ""), "dépasse ce qui reste à créditer sur"),
        (post("9,00", "Mug cassé", "goods"), "dépasse ce qui reste à créditer en"),
        (post("5,00", " ", ""), "obligatoire"),
    ] {
        let answer = client
            .post_form(&format!("/admin/invoices/{id}/credit-notes"), &fields)
            .await;
        assert_eq!(answer.status, 422, "{fields:?}");
        assert!(answer.body.contains(message), "{message}: {}", answer.body);
    }
    assert_eq!(count(&app.db, "invoices").await, 1, "no credit note");

    let answer = client
        .post_form(
            &format!("/admin/invoices/{id}/credit-notes"),
            &post("8,00", "Mug cassé", "goods"),
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let note_id = id_in(answer.location());
    let today = app.db.store.now().await.unwrap().date_naive();
    let note_page = client.follow(answer).await;
    let note_reference = format!("AV{}-0001", today.year());
    assert_eq!(
        text_by_id(&note_page.body, "invoice-reference").as_deref(),
        Some(note_reference.as_str())
    );
    assert!(note_page.body.contains("Mug cassé"));
    app.drain().await;
    let note_page = client.get(&format!("/admin/invoices/{note_id}")).await;
    assert!(text_by_id(&note_page.body, "email-status").unwrap().contains("envoyé"));
    let original = client.get(&format!("/admin/invoices/{id}")).await;
    assert_eq!(
        text_by_id(&original.body, "invoice-credited").as_deref(),
        Some("8,00 €")
    );
    assert_eq!(text_by_id(&original.body, "invoice-due").as_deref(), Some("25,00 €"));
    // The rest, blank amount: everything creditable; unpaid, the invoice is cancelled.
    let answer = client
        .post_form(
            &format!("/admin/invoices/{id}/credit-notes"),
            &post("", "Annulation", ""),
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let original = invoices::get(&app.db.store, id).await.unwrap();
    assert_eq!(original.status, InvoiceStatus::Cancelled);
    assert_eq!(
        audit_actions(&app, &format!("invoice:{note_id}")).await,
        ["credit_note.issue"]
    );
}

async fn an_email_that_cannot_be_sent_says_why(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let mut customer = person_input("Sans Courriel");
    customer.email = None;
    let customer = create_customer(&app.db.store, customer).await;
    let draft = simple_draft(&app.db.store, customer.id, 5_000).await;
    let mut client = app.signed_in().await;
    let answer = client
        .post_form(&format!("/admin/invoices/{}/issue", draft.id), &[("confirm", "yes")])
        .await;
    assert_eq!(answer.status, 303);
    app.drain().await;
    let live = client
        .get(&format!("/admin/invoices/{}/emails.json", draft.id))
        .await
        .json();
    assert_eq!(live["done"], true);
    let summary = live["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("échec") && summary.contains("has no e-mail address"),
        "{summary}"
    );
    assert!(!summary.contains("envoyé"));
}

async fn issuing_without_settings_is_refused_and_enqueues_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let id = draft_through_forms(&mut client).await;
    let answer = client
        .post_form(&format!("/admin/invoices/{id}/issue"), &[("confirm", "yes")])
        .await;
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert!(
        text_by_id(&answer.body, "invoice-error")
            .unwrap()
            .contains("réglages de facturation"),
        "the reason is said"
    );
    let invoice = invoices::get(&app.db.store, id).await.unwrap();
    assert_eq!(invoice.status, InvoiceStatus::Draft);
    assert!(send_jobs(&app, id).await.is_empty(), "no e-mail job without the issue");
    assert_eq!(count(&app.db, "document_series").await, 0, "no number taken");
    assert_eq!(audit_actions(&app, &format!("invoice:{id}")).await, ["invoice.create"]);

    // A draft has no PDF, and can be deleted.
    let (status, _, _) = get_bytes(&app, &client, &format!("/admin/invoices/{id}/download")).await;
    assert_eq!(status, 409);
    let answer = client.post_form(&format!("/admin/invoices/{id}/delete"), &[]).await;
    assert_eq!(answer.status, 303);
    assert_eq!(count(&app.db, "invoices").await, 0);
    assert_eq!(count(&app.db, "invoice_lines").await, 0);
    let gone = client.get(&format!("/admin/invoices/{id}")).await;
    assert_eq!(gone.status, 404);
}

async fn an_invalid_invoice_form_is_shown_again_and_nothing_is_created(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let customer = person(&app.db.store).await;
    let mut client = app.signed_in().await;
    let customer_id = customer.id.to_string();
    let answer = client
        .post_form(
            "/admin/invoices",
            &[
                ("customer_id", &customer_id),
                ("description_1", "Conseil"),
                ("unit_price_1", "douze"),
                ("description_2", ""),
                ("quantity_2", "3"),
                ("unit_price_2", "4,00"),
                ("description_3", "Remise"),
                ("unit_price_3", "-5"),
                ("terms", "90"),
            ],
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(answer.body.contains("value=\"douze\""), "what was typed is kept");
    for message in [
        "« douze » n&#x27;est pas un montant",
        "ne peut pas être négatif",
        "De 0 à 60 jours",
    ] {
        assert!(answer.body.contains(message), "{message}");
    }
    let row2 = answer.body.find("name=\"description_2\"").expect("row 2");
    assert!(
        answer.body[row2..row2 + 300].contains("obligatoire"),
        "a line without description is named by its field"
    );
    let empty = client
        .post_form("/admin/invoices", &[("customer_id", &customer_id)])
        .await;
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("au moins une ligne"));
    let unknown = client
        .post_form(
            "/admin/invoices",
            &[("customer_id", "999999"), ("description_1", "X"), ("unit_price_1", "1")],
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.body.contains("Client inconnu"));
    assert_eq!(count(&app.db, "invoices").await, 0, "nothing was created");
    assert_eq!(count(&app.db, "invoice_lines").await, 0);
}

async fn the_invoice_list_filters_by_status_kind_and_customer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let mut client = app.signed_in().await;
    let first = draft_through_forms(&mut client).await;
    let second = draft_through_forms(&mut client).await;
    client
        .post_form(&format!("/admin/invoices/{second}/issue"), &[("confirm", "yes")])
        .await;
    let drafts = client.get("/admin/invoices?status=draft").await;
    assert!(drafts.body.contains(&format!("id=\"invoice-{first}\"")));
    assert!(!drafts.body.contains(&format!("id=\"invoice-{second}\"")));
    let issued = client.get("/admin/invoices?status=issued&kind=invoice").await;
    assert!(issued.body.contains(&format!("id=\"invoice-{second}\"")));
    assert!(!issued.body.contains(&format!("id=\"invoice-{first}\"")));
    let notes = client.get("/admin/invoices?kind=credit_note").await;
    assert!(notes.body.contains("Aucune facture"));
    let customer_of_first = invoices::get(&app.db.store, first).await.unwrap().customer_id;
    let theirs = client
        .get(&format!("/admin/invoices?customer_id={customer_of_first}"))
        .await;
    assert_eq!(theirs.body.matches("<tr id=\"invoice-").count(), 1);
    let bad = client.get("/admin/invoices?status=lost").await;
    assert_eq!(bad.status, 422);
}

/// The date or period of the sale or service, the purchase order and a
/// delivery address given on the draft form: kept on the draft, shown, and
/// refused in French by their field (the typed values kept).
async fn a_draft_carries_its_service_period_purchase_order_and_delivery_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let customer = person(&app.db.store).await;
    let mut client = app.signed_in().await;
    let customer_id = customer.id.to_string();
    let form = client.get("/admin/invoices/new").await;
    for name in [
        "service_date",
        "service_period_start",
        "purchase_order",
        "delivery_postcode",
    ] {
        assert!(form.body.contains(&format!("name=\"{name}\"")), "{name} on the form");
    }
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, String)> = vec![
            ("customer_id", customer_id.clone()),
            ("description_1", "Livraison de céramiques".into()),
            ("nature_1", "goods".into()),
            ("quantity_1", "1".into()),
            ("unit_price_1", "80,00".into()),
            ("purchase_order", "BC-2026-117".into()),
        ];
        for (k, v) in extra {
            f.retain(|(name, _)| name != k);
            f.push((k, v.to_string()));
        }
        f
    };
    for (extra, field, french) in [
        (
            vec![("service_period_start", "2026-11-01")],
            "service_period_end",
            "la fin de la période est obligatoire",
        ),
        (
            vec![
                ("service_period_start", "2026-11-30"),
                ("service_period_end", "2026-11-01"),
            ],
            "service_period_end",
            "la fin de la période précède son début",
        ),
        (
            vec![("service_date", "31/02/2026")],
            "service_date",
            "« 31&#x2f;02&#x2f;2026 » n&#x27;est pas une date",
        ),
        (
            vec![
                ("delivery_lines", "Quai 3"),
                ("delivery_postcode", "690"),
                ("delivery_city", "Lyon"),
                ("delivery_country", "FR"),
            ],
            "delivery_postcode",
            "« 690 » : un code postal français a 5 chiffres",
        ),
    ] {
        let fields = base(&extra);
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = client.post_form("/admin/invoices", &pairs).await;
        assert_eq!(answer.status, 422, "{extra:?}: {}", answer.body);
        let own = answer.body.find(&format!("name=\"{field}\"")).expect("the field");
        let next = answer.body[own..].find("field-error").expect("a message") + own;
        assert!(
            answer.body[next..].starts_with(&format!("field-error\" role=\"alert\">{french}")),
            "{extra:?}: {}",
            &answer.body[next..(next + 160).min(answer.body.len())]
        );
        assert!(answer.body.contains("value=\"BC-2026-117\""), "what was typed is kept");
    }
    assert_eq!(count(&app.db, "invoices").await, 0, "nothing created");

    let fields = base(&[
        ("service_period_start", "01/11/2026"),
        ("service_period_end", "2026-11-30"),
        ("delivery_lines", "Entrepôt B\r\nQuai 3"),
        ("delivery_postcode", "69007"),
        ("delivery_city", "Lyon"),
        ("delivery_country", "fr"),
    ]);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = client.post_form("/admin/invoices", &pairs).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let id = id_in(answer.location());
    let draft = invoices::get(&app.db.store, id).await.unwrap();
    assert_eq!(draft.service_date, None);
    assert_eq!(
        (draft.service_period_start, draft.service_period_end),
        (
            chrono::NaiveDate::from_ymd_opt(2026, 11, 1),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
        )
    );
    assert_eq!(draft.purchase_order.as_deref(), Some("BC-2026-117"));
    let delivery = draft.delivery_address.clone().expect("a delivery address");
    assert_eq!(delivery.lines, vec!["Entrepôt B", "Quai 3"]);
    assert_eq!((delivery.postcode.as_str(), delivery.country.as_str()), ("69007", "FR"));
    let page = client.get(&format!("/admin/invoices/{id}")).await;
    assert_eq!(
        text_by_id(&page.body, "invoice-purchase-order").as_deref(),
        Some("BC-2026-117")
    );
    assert!(text_by_id(&page.body, "invoice-service")
        .unwrap()
        .contains("01/11/2026"));
    assert!(text_by_id(&page.body, "invoice-delivery")
        .unwrap()
        .contains("69007 Lyon"));
    assert!(audit_actions(&app, &format!("invoice:{id}"))
        .await
        .contains(&"invoice.create".to_string()));

    // The draft is edited whole from its page, its details checked the same way.
    assert!(page.body.contains(&format!("href=\"/admin/invoices/{id}/edit\"")));
    let edit_path = format!("/admin/invoices/{id}/edit");
    let old_details = client.get(&format!("/admin/invoices/{id}/details")).await;
    assert_eq!(old_details.status, 308, "the old link leads to the edit form");
    assert_eq!(old_details.location(), Some(edit_path.as_str()));
    let edit = client.get(&edit_path).await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert!(edit.body.contains("value=\"2026-11-01\"") && edit.body.contains("value=\"BC-2026-117\""));
    assert!(
        edit.body.contains("value=\"Livraison de céramiques\""),
        "the lines are on the form"
    );
    let edited = |end: &'static str| {
        base(&[
            ("service_date", ""),
            ("service_period_start", "2026-11-01"),
            ("service_period_end", end),
            ("purchase_order", "BC-2026-118"),
            ("delivery_lines", ""),
            ("delivery_postcode", ""),
            ("delivery_city", ""),
            ("delivery_country", "FR"),
        ])
    };
    let fields = edited("2026-10-01");
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = client.post_form(&edit_path, &pairs).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("la fin de la période précède son début"));
    assert!(refused.body.contains("value=\"BC-2026-118\""), "what was typed is kept");
    let fields = edited("2026-11-30");
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = client.post_form(&edit_path, &pairs).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let draft = invoices::get(&app.db.store, id).await.unwrap();
    assert_eq!(draft.purchase_order.as_deref(), Some("BC-2026-118"));
    assert_eq!(draft.delivery_address, None, "no delivery address: the customer's");
    assert!(audit_actions(&app, &format!("invoice:{id}"))
        .await
        .contains(&"invoice.edit".to_string()));

    // Issued, the period stays (no service date is invented for it), and
    // the details are frozen.
    let answer = client
        .post_form(&format!("/admin/invoices/{id}/issue"), &[("confirm", "yes")])
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let issued = invoices::get(&app.db.store, id).await.unwrap();
    assert_eq!(issued.service_date, None);
    assert_eq!(issued.service_period_end, chrono::NaiveDate::from_ymd_opt(2026, 11, 30));
    let frozen = client.post_form(&edit_path, &pairs).await;
    assert_eq!(frozen.status, 303);
    assert_eq!(frozen.location(), Some(format!("/admin/invoices/{id}").as_str()));
    assert_eq!(invoices::get(&app.db.store, id).await.unwrap(), issued);
}

/// An operator who chose English: the invoice list, a draft's and an issued
/// invoice's pages, the flashes of what was done, the states as words; no
/// French label left, amounts and quantities still written the French way.
async fn an_english_operator_reads_invoices_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in_english().await;
    // An invoice 10 days late (issued before the one made below: numbers follow dates).
    save_settings(&app.db.store).await;
    let customer = person(&app.db.store).await;
    let today = app.today().await;
    let late = crate::support::billing::issued(&app.db.store, customer.id, 12_000, today - Days::new(40)).await;
    let id = draft_through_forms(&mut client).await;
    let draft = client.get(&format!("/admin/invoices/{id}")).await;
    assert_eq!(draft.status, 200, "{}", draft.body);
    let html = draft.text();
    for words in [
        "Invoice",
        &format!("draft no. {id}"),
        "Status",
        ">draft<",
        "Issue…",
        "Delete the draft",
        "PDF preview",
        "Lines",
        "Description",
        "Unit price",
        "VAT not applicable, art. 293 B of the CGI",
        "draft: nothing is sent before it is issued",
        "15 days",
    ] {
        assert!(html.contains(words), "{words:?} on the English draft page");
    }
    for french in [
        "Statut",
        "brouillon",
        "Émettre",
        "Supprimer",
        "Lignes",
        "TVA non applicable",
        "jours",
    ] {
        assert!(!html.contains(french), "{french:?} left on the English draft page");
    }

    let answer = client
        .post_form(&format!("/admin/invoices/{id}/issue"), &[("confirm", "yes")])
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = client.follow(answer).await;
    let html = page.text();
    let reference = invoices::get(&app.db.store, id).await.unwrap().reference.unwrap();
    assert!(
        html.contains(&format!("Invoice {reference} issued; it is being e-mailed.")),
        "the flash in English: {}",
        page.body
    );
    for words in [
        ">issued<",
        "Balance due",
        "33,00\u{a0}€",
        "Sending:",
        "Payments",
        "No payments",
        "Record the payment",
        "Credit notes",
        "No credit note",
        "Issue a credit note",
        "in proportion",
    ] {
        assert!(html.contains(words), "{words:?} on the English invoice page");
    }
    for french in [
        "émise",
        "Reste dû",
        "Envoi",
        "Aucun paiement",
        "Enregistrer",
        "Avoirs",
        "au prorata",
        "in proportion / ",
    ] {
        assert!(!html.contains(french), "{french:?} left on the English invoice page");
    }

    // The list: states as words, days late in a plural, the page's total.
    let list = client.get("/admin/invoices").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let html = list.text();
    for words in [
        "Invoices and credit notes",
        "New invoice",
        "Filter",
        ">all<",
        ">Number",
        ">Customer",
        ">Issued",
        ">Due date",
        ">Balance due<",
        ">issued<",
        ">invoice<",
        "10 days late",
        "Total of this page",
        "data-days-late=\"10\"",
    ] {
        assert!(html.contains(words), "{words:?} on the English invoice list");
    }
    for french in [
        "Factures",
        "Nouvelle",
        "Filtrer",
        "tous",
        "émise",
        "facture<",
        "en retard",
        "Total de cette page",
    ] {
        assert!(!html.contains(french), "{french:?} left on the English invoice list");
    }
    assert!(html.contains(&format!("id=\"invoice-{}\"", late.id)));
}

on_both_backends!(
    an_english_operator_reads_invoices_in_english,
    a_draft_carries_its_service_period_purchase_order_and_delivery_address,
    an_invoice_is_drafted_issued_emailed_and_downloaded,
    issuing_without_settings_is_refused_and_enqueues_nothing,
    an_invalid_invoice_form_is_shown_again_and_nothing_is_created,
    the_invoice_list_filters_by_status_kind_and_customer,
    a_credit_note_is_issued_from_the_form_and_emailed,
    an_email_that_cannot_be_sent_says_why,
);
