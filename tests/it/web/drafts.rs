//! Drafts in the admin, end to end over HTTP: edited whole (any number of
//! lines, products picked from the catalogue, units), previewed as a PDF
//! marked "Brouillon" without number, issued only after a confirmation page
//! that says what will happen; and a customer's choice of what they receive
//! by e-mail, held for invoices, receipts and credit notes up to a real SMTP
//! server.

use chrono::Datelike;
use comptoir::billing::catalog::Unit;
use comptoir::billing::invoices::{self, InvoiceStatus};
use comptoir::billing::mailing;
use rust_decimal::Decimal;

use crate::on_both_backends;
use crate::support::billing::{count, create_customer, person_input, save_settings};
use crate::support::pdf::{facturx_check, pdf_text_flowing};
use crate::support::smtp::SmtpServer;
use crate::support::web::{Client, TestApp};
use crate::support::Backend;
use crate::web::billing_html::{audit_actions, get_bytes, id_in, text_by_id};
use crate::web::billing_payments::record;

/// A product of the catalogue made through its form.
async fn product(client: &mut Client, sku: &str, name: &str, unit: &str, price: &str) {
    let answer = client
        .post_form(
            "/admin/catalog",
            &[
                ("sku", sku),
                ("name", name),
                ("nature", "services"),
                ("unit", unit),
                ("unit_price", price),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
}

/// A customer (with an e-mail address) and a two-line draft made through the forms.
async fn two_line_draft(app: &TestApp, client: &mut Client, name: &str) -> (i64, i64) {
    let customer = create_customer(&app.db.store, person_input(name)).await;
    let id = customer.id.to_string();
    let answer = client
        .post_form(
            "/admin/invoices",
            &[
                ("customer_id", &id),
                ("description_1", "Atelier céramique"),
                ("nature_1", "services"),
                ("quantity_1", "2,5"),
                ("unit_1", "hour"),
                ("unit_price_1", "40,00"),
                ("description_2", "Pot en grès"),
                ("nature_2", "goods"),
                ("quantity_2", "3"),
                ("unit_price_2", "12,50"),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    (customer.id, id_in(answer.location()))
}

/// Every field of the edit form as the page fills it, in order; blank rows included.
fn form_fields(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(" name=\"") {
        let tag_start = rest[..at].rfind('<').unwrap_or(0);
        let tag = &rest[tag_start..];
        let name_start = at + 7;
        let name_end = name_start + rest[name_start..].find('"').unwrap();
        let name = rest[name_start..name_end].to_string();
        let value = if tag.starts_with("<select") {
            let close = rest[name_end..].find("</select>").unwrap() + name_end;
            let inner = &rest[name_end..close];
            inner
                .find(" selected")
                .and_then(|s| inner[..s].rfind("value=\""))
                .map(|v| {
                    let v = v + 7;
                    inner[v..v + inner[v..].find('"').unwrap()].to_string()
                })
                .unwrap_or_default()
        } else if tag.starts_with("<textarea") {
            let open = rest[name_end..].find('>').unwrap() + name_end + 1;
            let close = rest[open..].find("</textarea>").unwrap() + open;
            rest[open..close].to_string()
        } else {
            let end = rest[name_end..].find('>').unwrap() + name_end;
            let attrs = &rest[name_end..end];
            attrs
                .find("value=\"")
                .map(|v| {
                    let v = v + 7;
                    attrs[v..v + attrs[v..].find('"').unwrap()].to_string()
                })
                .unwrap_or_default()
        };
        let is_button = tag.starts_with("<button");
        let unchecked_box =
            tag.starts_with("<input type=\"checkbox\"") && !tag[..tag.find('>').unwrap()].contains(" checked");
        if !is_button && !unchecked_box {
            fields.push((name, value.replace("&#x27;", "'").replace("&amp;", "&")));
        }
        rest = &rest[name_end..];
    }
    fields
}

fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn a_draft_is_edited_whole_and_keeps_its_lines_and_total(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let mut client = app.signed_in().await;
    product(&mut client, "COURS-1H", "Cours particulier", "hour", "45,00").await;
    let (_, id) = two_line_draft(&app, &mut client, "Élodie Château-Brûlé").await;
    let draft = invoices::get(&app.db.store, id).await.unwrap();
    assert_eq!(draft.total.minor, 13_750, "2,5 h × 40 € + 3 × 12,50 €");
    assert_eq!(draft.lines[0].unit, Some(Unit::Hour));

    // The edit form holds every line and one blank row; saved unchanged, nothing moves.
    let path = format!("/admin/invoices/{id}/edit");
    let form = client.get(&path).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("value=\"Atelier céramique\"") && form.body.contains("value=\"2,5\""));
    assert!(
        form.body.contains("name=\"description_3\""),
        "a blank row to add a line"
    );
    assert!(
        form.body.contains("<option value=\"COURS-1H\""),
        "the catalogue's products to pick"
    );
    assert_eq!(text_by_id(&form.body, "running-total").as_deref(), Some("137,50 €"));
    let unchanged = form_fields(&form.body);
    let saved = client.post_form(&path, &pairs(&unchanged)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let again = invoices::get(&app.db.store, id).await.unwrap();
    assert_eq!((again.lines.clone(), again.total), (draft.lines.clone(), draft.total));

    // "Ajouter une ligne" shows one more row and saves nothing.
    let mut fields = unchanged.clone();
    fields.push(("add_line".into(), "1".into()));
    let more = client.post_form(&path, &pairs(&fields)).await;
    assert_eq!(more.status, 200, "{}", more.body);
    assert!(more.body.contains("name=\"description_4\""));
    assert_eq!(invoices::get(&app.db.store, id).await.unwrap().lines.len(), 2);

    // Line 2 changed, a product picked on row 3 (no script: the server fills
    // it), and rows up to 12 typed: any number of lines.
    let mut fields: Vec<(String, String)> = unchanged
        .into_iter()
        .filter(|(k, _)| !k.ends_with("_3"))
        .map(|(k, v)| if k == "quantity_2" { (k, "4".into()) } else { (k, v) })
        .collect();
    fields.push(("product_3".into(), "COURS-1H".into()));
    fields.push(("quantity_3".into(), "2".into()));
    for n in 4..=12 {
        fields.push((format!("description_{n}"), format!("Séance n° {n}")));
        fields.push((format!("unit_price_{n}"), "10".into()));
        fields.push((format!("unit_{n}"), "day".into()));
    }
    let saved = client.post_form(&path, &pairs(&fields)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let edited = invoices::get(&app.db.store, id).await.unwrap();
    assert_eq!(edited.status, InvoiceStatus::Draft);
    assert_eq!(edited.lines.len(), 12);
    assert_eq!(
        (
            edited.lines[2].description.as_str(),
            edited.lines[2].unit,
            edited.lines[2].unit_price.minor
        ),
        ("Cours particulier", Some(Unit::Hour), 4_500)
    );
    assert_eq!(edited.lines[2].quantity, Decimal::from(2));
    assert_eq!(edited.lines[11].unit, Some(Unit::Day));
    assert_eq!(edited.total.minor, 10_000 + 5_000 + 9_000 + 9 * 1_000);
    assert_eq!(
        edited.lines.iter().map(|l| l.position).collect::<Vec<_>>(),
        (1..=12).collect::<Vec<_>>()
    );
    assert!(audit_actions(&app, &format!("invoice:{id}"))
        .await
        .contains(&"invoice.edit".to_string()));

    // A refused edit keeps what was typed and changes nothing.
    let mut bad = fields.clone();
    bad.push(("unit_price_13".into(), "douze".into()));
    bad.push(("description_13".into(), "Erreur".into()));
    let refused = client.post_form(&path, &pairs(&bad)).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("value=\"douze\""));
    assert_eq!(invoices::get(&app.db.store, id).await.unwrap(), edited);
    // More rows than a form reads: refused whole, not cut.
    let mut too_many = fields.clone();
    too_many.push(("description_201".into(), "Une de trop".into()));
    too_many.push(("unit_price_201".into(), "1".into()));
    let refused = client.post_form(&path, &pairs(&too_many)).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("200 lignes au plus"), "{}", refused.body);
    assert_eq!(invoices::get(&app.db.store, id).await.unwrap(), edited);

    // Issued, it is frozen: the edit form goes back to its page, a post changes nothing.
    let issued = client
        .post_form(&format!("/admin/invoices/{id}/issue"), &[("confirm", "yes")])
        .await;
    assert_eq!(issued.status, 303, "{}", issued.body);
    let frozen = client.get(&path).await;
    assert_eq!(frozen.status, 303);
    let before = invoices::get(&app.db.store, id).await.unwrap();
    let post = client.post_form(&path, &pairs(&fields)).await;
    assert_eq!(post.status, 303);
    assert_eq!(invoices::get(&app.db.store, id).await.unwrap(), before);

    // Its units reach the PDF and the Factur-X XML, which a receiving platform accepts.
    let (status, _, pdf) = get_bytes(&app, &client, &format!("/admin/invoices/{id}/download")).await;
    assert_eq!(status, 200);
    let text = pdf_text_flowing(&pdf);
    assert!(text.contains("2,5 heures"), "{text}");
    assert!(text.contains("2 heures") && text.contains("1 jour"), "{text}");
    let (_, _, xml) = get_bytes(&app, &client, &format!("/admin/invoices/{id}/xml")).await;
    let xml = String::from_utf8(xml).unwrap();
    assert!(xml.contains("unitCode=\"HUR\"") && xml.contains("unitCode=\"DAY\"") && xml.contains("unitCode=\"H87\""));
    // EN 16931 (its unit code list included); the French B2B mentions do not apply to a consumer.
    let verdict = facturx_check(&pdf, "units.pdf", false);
    assert!(verdict.pass, "{}", verdict.output);
}

async fn issuing_needs_a_confirmation_that_says_what_will_happen(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let mut client = app.signed_in().await;
    let (customer_id, id) = two_line_draft(&app, &mut client, "Jean Martin").await;
    let year = app.today().await.year();
    let reference = format!("F{year}-0001");

    // The draft's page leads to the confirmation; the confirmation says it all.
    let page = client.get(&format!("/admin/invoices/{id}")).await;
    assert!(page
        .body
        .contains(&format!("id=\"issue-invoice\" href=\"/admin/invoices/{id}/issue\"")));
    let confirm = client.get(&format!("/admin/invoices/{id}/issue")).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert_eq!(
        text_by_id(&confirm.body, "next-reference").as_deref(),
        Some(reference.as_str())
    );
    let consequences = text_by_id(&confirm.body, "issue-consequences").unwrap();
    assert!(consequences.contains("ne pourra plus être modifiée"), "{consequences}");
    assert!(
        consequences.contains("envoyée par e-mail à client@example.fr"),
        "{consequences}"
    );
    assert!(confirm
        .body
        .contains("name=\"send_email\" value=\"1\" id=\"send-email\" checked"));

    // A post without the confirmation issues nothing, takes no number, sends nothing.
    for fields in [vec![], vec![("confirm", "oui")], vec![("send_email", "1")]] {
        let answer = client.post_form(&format!("/admin/invoices/{id}/issue"), &fields).await;
        assert_eq!(answer.status, 422, "{fields:?}");
        assert!(answer.body.contains("Rien n&#x27;a été émis"), "{}", answer.body);
    }
    let draft = invoices::get(&app.db.store, id).await.unwrap();
    assert_eq!((draft.status, draft.reference.clone()), (InvoiceStatus::Draft, None));
    assert_eq!(count(&app.db, "comptoir_jobs").await, 0, "no e-mail job");
    assert!(!audit_actions(&app, &format!("invoice:{id}"))
        .await
        .contains(&"invoice.issue".to_string()));

    // Confirmed with the box unticked: issued with the number announced (the
    // rehearsals took none), not e-mailed, and the choice kept for the customer.
    let answer = client
        .post_form(
            &format!("/admin/invoices/{id}/issue"),
            &[("confirm", "yes"), ("email_offered", "1")],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = client.follow(answer).await;
    assert!(
        page.body.contains("pas envoyée par e-mail (choix du client)"),
        "{}",
        page.body
    );
    let issued = invoices::get(&app.db.store, id).await.unwrap();
    assert_eq!(issued.reference.as_deref(), Some(reference.as_str()));
    assert_eq!(count(&app.db, "comptoir_jobs").await, 0, "not e-mailed");
    assert!(!mailing::get(&app.db.store, customer_id).await.unwrap().invoices);
    assert_eq!(app.audited("customer.mailing").await.len(), 1);
    assert!(text_by_id(&page.body, "email-status")
        .unwrap()
        .contains("le client a choisi"));

    // The next draft's confirmation remembers it; ticking the box sends it and remembers that.
    let (_, second) = two_line_draft(&app, &mut client, "Jean Martin bis").await;
    let other = invoices::get(&app.db.store, second).await.unwrap().customer_id;
    let third = {
        let id = customer_id.to_string();
        let answer = client
            .post_form(
                "/admin/invoices",
                &[
                    ("customer_id", id.as_str()),
                    ("description_1", "Suite"),
                    ("unit_price_1", "10"),
                ],
            )
            .await;
        id_in(answer.location())
    };
    let confirm = client.get(&format!("/admin/invoices/{third}/issue")).await;
    assert!(
        confirm
            .body
            .contains("name=\"send_email\" value=\"1\" id=\"send-email\">"),
        "unticked"
    );
    let answer = client
        .post_form(
            &format!("/admin/invoices/{third}/issue"),
            &[("confirm", "yes"), ("email_offered", "1"), ("send_email", "1")],
        )
        .await;
    assert_eq!(answer.status, 303);
    assert!(mailing::get(&app.db.store, customer_id).await.unwrap().invoices);
    assert!(
        mailing::get(&app.db.store, other).await.unwrap().invoices,
        "another customer's is theirs"
    );
    assert_eq!(app.jobs_of("billing.send_invoice_email").await.len(), 1);
}

async fn a_draft_preview_is_marked_and_has_no_number(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let (_, id) = two_line_draft(&app, &mut client, "Jean Martin").await;

    // Without the seller's settings there is nothing to preview: the reason, on the draft's page.
    let answer = client.get(&format!("/admin/invoices/{id}/preview")).await;
    assert_eq!(answer.status, 303);
    let page = client.follow(answer).await;
    assert!(page.body.contains("Aperçu impossible"), "{}", page.body);

    save_settings(&app.db.store).await;
    let (status, headers, pdf) = get_bytes(&app, &client, &format!("/admin/invoices/{id}/preview")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/pdf");
    let text = pdf_text_flowing(&pdf);
    assert!(text.contains("Brouillon de facture (sans numéro)"), "{text}");
    assert!(text.contains("ce document n'est pas une facture"), "{text}");
    assert!(
        text.contains("Jean Martin") && text.contains("Atelier céramique") && text.contains("137,50"),
        "{text}"
    );
    assert!(text.contains("2,5 heures"), "{text}");
    assert!(!text.contains("Facture n°"), "{text}");
    let year = app.today().await.year();
    assert!(!text.contains(&format!("F{year}-")), "no number: {text}");
    assert!(
        !pdf.windows(12).any(|w| w == b"factur-x.xml"),
        "a draft carries no Factur-X XML"
    );
    // Previews take no number: issued next, the draft gets the first one.
    let answer = client
        .post_form(&format!("/admin/invoices/{id}/issue"), &[("confirm", "yes")])
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let issued = invoices::get(&app.db.store, id).await.unwrap();
    assert_eq!(issued.reference, Some(format!("F{year}-0001")));
    let issued_preview = client.get(&format!("/admin/invoices/{id}/preview")).await;
    assert_eq!(
        issued_preview.status, 303,
        "an issued invoice has its PDF, not a preview"
    );
}

async fn a_customer_who_wants_no_email_gets_no_invoice_receipt_or_credit_note(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with_smtp(backend, &smtp).await;
    save_settings(&app.db.store).await;
    let mut client = app.signed_in().await;
    let (customer_id, id) = two_line_draft(&app, &mut client, "Claire Sans-Courrier").await;

    // The customer's page: all three ticked by default, then none.
    let page = client.get(&format!("/admin/customers/{customer_id}")).await;
    for box_id in ["mail-invoices", "mail-receipts", "mail-credit-notes"] {
        assert!(page.body.contains(&format!("id=\"{box_id}\" checked")), "{box_id}");
    }
    let answer = client
        .post_form(&format!("/admin/customers/{customer_id}/mailing"), &[])
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = client.follow(answer).await;
    assert!(page.body.contains("factures non envoyés") || page.body.contains("Envois par e-mail enregistrés"));
    assert!(!page.body.contains("id=\"mail-invoices\" checked"));
    assert_eq!(app.audited("customer.mailing").await.len(), 1);

    // Issued, paid by hand, credited: no e-mail for any of it.
    let confirm = client.get(&format!("/admin/invoices/{id}/issue")).await;
    assert!(text_by_id(&confirm.body, "issue-email")
        .unwrap()
        .contains("n'est pas envoyée"));
    let answer = client
        .post_form(
            &format!("/admin/invoices/{id}/issue"),
            &[("confirm", "yes"), ("email_offered", "1")],
        )
        .await;
    assert_eq!(answer.status, 303);
    let page = client.get(&format!("/admin/invoices/{id}")).await;
    assert!(text_by_id(&page.body, "receipt-hint")
        .unwrap()
        .contains("choisi de ne pas en recevoir"));
    let today = app.today().await.format("%d/%m/%Y").to_string();
    let answer = record(&mut client, id, "50,00", "cheque", &today).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let answer = client
        .post_form(
            &format!("/admin/invoices/{id}/credit-notes"),
            &[("amount", "10,00"), ("reason", "Geste commercial"), ("nature", "")],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert!(client
        .follow(answer)
        .await
        .body
        .contains("pas envoyé par e-mail (choix du client)"));
    let report = app.drain().await;
    assert!(report.all_succeeded(), "{report:?}");
    assert_eq!(count(&app.db, "payments").await, 1);
    assert_eq!(
        raw_status(&app, "SELECT COUNT(*) FROM payments WHERE status = 'completed'").await,
        1,
        "the payment went through"
    );
    assert_eq!(count(&app.db, "emails").await, 0, "no e-mail recorded");
    assert!(smtp.messages().is_empty(), "none reached the SMTP server");
    assert!(app.jobs_of("billing.send_receipt").await.is_empty());
    assert!(app.jobs_of("billing.send_invoice_email").await.is_empty());

    // "Renvoyer par e-mail" is the operator sending on purpose: it goes.
    let answer = client.post_form(&format!("/admin/invoices/{id}/resend"), &[]).await;
    assert_eq!(answer.status, 303);
    let report = app.drain().await;
    assert!(report.all_succeeded(), "{report:?}");
    assert_eq!(smtp.messages().len(), 1);

    // The same steps for a customer left as by default: invoice, receipt, credit note.
    let (_, other) = two_line_draft(&app, &mut client, "Paul Courriel").await;
    client
        .post_form(&format!("/admin/invoices/{other}/issue"), &[("confirm", "yes")])
        .await;
    record(&mut client, other, "50,00", "cheque", &today).await;
    client
        .post_form(
            &format!("/admin/invoices/{other}/credit-notes"),
            &[("amount", "10,00"), ("reason", "Geste commercial"), ("nature", "")],
        )
        .await;
    let report = app.drain().await;
    assert!(report.all_succeeded(), "{report:?}");
    assert_eq!(
        smtp.messages().len(),
        4,
        "invoice, receipt and credit note, plus the resent one"
    );
}

async fn raw_status(app: &TestApp, sql: &str) -> i64 {
    crate::support::billing::raw_i64(&app.db, sql).await
}

async fn a_product_is_edited_in_the_catalogue(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    product(&mut client, "FORFAIT-SITE", "Site vitrine", "lump_sum", "900").await;
    let form = client.get("/admin/catalog/FORFAIT-SITE/edit").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("value=\"Site vitrine\"") && form.body.contains("value=\"900,00\""));
    assert!(form.body.contains("<option value=\"lump_sum\" selected>"));
    let refused = client
        .post_form(
            "/admin/catalog/FORFAIT-SITE/edit",
            &[
                ("name", "Site vitrine"),
                ("nature", "services"),
                ("unit", "lump_sum"),
                ("unit_price", "neuf cents"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    let saved = client
        .post_form(
            "/admin/catalog/FORFAIT-SITE/edit",
            &[
                ("sku", "AUTRE"),
                ("name", "Site vitrine, 5 pages"),
                ("nature", "services"),
                ("unit", ""),
                ("unit_price", "1 200,00"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = client.follow(saved).await;
    assert!(page.body.contains("Site vitrine, 5 pages"));
    assert!(!page.body.contains("AUTRE"), "the référence does not change");
    let mut tx = app.db.store.begin().await.unwrap();
    let p = comptoir::billing::catalog::by_sku(&mut tx, "FORFAIT-SITE")
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!((p.unit_price.minor, p.unit), (120_000, None));
    let entries = app.audited("product.update").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].details["before"]["unit_price_minor"], 90_000);
    assert_eq!(client.get("/admin/catalog/NOPE/edit").await.status, 404);
}

/// An operator who chose English: the draft form, its refusals, the saved
/// draft's flash, the confirmation of its issue; units named in English, a
/// quantity still written "2,5".
async fn an_english_operator_drafts_and_issues_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    save_settings(&app.db.store).await;
    let mut client = app.signed_in_english().await;
    product(&mut client, "COURS-1H", "Cours particulier", "hour", "45,00").await;
    let form = client.get("/admin/invoices/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let html = form.text();
    for words in [
        "New invoice",
        "Customer",
        "— choose —",
        "as in the settings (30 days)",
        "on receipt",
        "Catalogue product, line 1",
        "— typed freely —",
        "provision of services",
        "sale of goods",
        ">hour<",
        ">lump sum<",
        "Add a line",
        "data-unreadable=\"(unreadable line)\"",
        "Date of the sale or service (blank: the issue date)",
        "Save the draft",
    ] {
        assert!(html.contains(words), "{words:?} on the English draft form");
    }
    for french in [
        "Nouvelle facture",
        "choisir",
        "réception",
        "saisie libre",
        "prestation",
        ">heure<",
        "Ajouter",
        "illisible",
        "Enregistrer",
    ] {
        assert!(!html.contains(french), "{french:?} left on the English draft form");
    }

    // Refused: the reasons in English, by their fields.
    let refused = client
        .post_form(
            "/admin/invoices",
            &[
                ("customer_id", ""),
                ("description_1", "Atelier"),
                ("quantity_1", "-2"),
                ("unit_price_1", "douze"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let html = refused.text();
    for words in [
        "Choose a customer.",
        "“-2”: a positive quantity, 3 decimals at most",
        "“douze” is not an amount (e.g. 12,50)",
    ] {
        assert!(html.contains(words), "{words:?} in {html}");
    }
    assert!(!html.contains("Choisissez") && !html.contains("quantité positive") && !html.contains("montant"));

    let (_, id) = two_line_draft(&app, &mut client, "Jean Martin").await;
    let page = client.get(&format!("/admin/invoices/{id}")).await;
    let html = page.text();
    assert!(
        html.contains("Draft no. ") && html.contains("saved: 137,50\u{a0}€ (2 lines)."),
        "the flash: {html}"
    );
    assert!(
        html.contains("2,5 h") && html.contains(">services<") && html.contains(">goods<"),
        "{html}"
    );
    assert!(!html.contains("marchandises"));

    let confirm = client.get(&format!("/admin/invoices/{id}/issue")).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let html = confirm.text();
    for words in [
        "Issue the invoice?",
        "2 lines",
        "What will happen",
        "The invoice gets the number",
        "It can no longer be edited nor deleted",
        "It is e-mailed to",
        "See the PDF preview",
        "Cancel",
    ] {
        assert!(html.contains(words), "{words:?} on the English confirmation");
    }
    for french in [
        "Émettre",
        "lignes",
        "Ce qui va se passer",
        "numéro",
        "Annuler",
        "e-mail à",
    ] {
        assert!(!html.contains(french), "{french:?} left on the English confirmation");
    }
    let refused = client.post_form(&format!("/admin/invoices/{id}/issue"), &[]).await;
    assert_eq!(refused.status, 422);
    assert!(refused
        .text()
        .contains("Nothing was issued: confirm the issue on this page."));
}

on_both_backends!(
    an_english_operator_drafts_and_issues_in_english,
    a_draft_is_edited_whole_and_keeps_its_lines_and_total,
    issuing_needs_a_confirmation_that_says_what_will_happen,
    a_draft_preview_is_marked_and_has_no_number,
    a_customer_who_wants_no_email_gets_no_invoice_receipt_or_credit_note,
    a_product_is_edited_in_the_catalogue,
);
