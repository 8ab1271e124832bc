//! Contracts in the admin: subscribed through the form (a bad IBAN is shown
//! by its field, nothing created), operations accepted or refused with the
//! rule that failed (and nothing recorded), suspended, resumed, mandate
//! revoked; every action audited. And the orders pages.

use comptoir::billing::catalog::{self, Nature, NewProduct};
use comptoir::billing::contracts::{self, ContractStatus};
use comptoir::billing::orders::{self, NewOrder, OrderItem};

use crate::on_both_backends;
use crate::support::billing::{contract, count, eur, person, IBAN};
use crate::support::web::{Answer, Client, TestApp};
use crate::support::Backend;
use crate::web::billing_html::{audit_actions, id_in, text_by_id};

async fn operation(client: &mut Client, contract_id: i64, kind: &str, price: &str) -> Answer {
    let on = chrono::Utc::now().date_naive().format("%d/%m/%Y").to_string();
    client
        .post_form(
            &format!("/admin/contracts/{contract_id}/operations"),
            &[
                ("kind", kind),
                ("occurred_on", on.as_str()),
                ("description_1", "Panier de légumes"),
                ("nature_1", "goods"),
                ("quantity_1", "1"),
                ("unit_price_1", price),
            ],
        )
        .await
}

async fn a_contract_takes_operations_within_its_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let customer = person(&app.db.store).await;
    let mut client = app.signed_in().await;
    let form = client
        .get(&format!("/admin/contracts/new?customer_id={}", customer.id))
        .await;
    assert_eq!(form.status, 200);
    assert!(form
        .body
        .contains(&format!("<option value=\"{}\" selected>", customer.id)));
    let customer_id = customer.id.to_string();
    let today = app.db.store.now().await.unwrap().date_naive();
    let signed = today.format("%Y-%m-%d").to_string();
    let mut fields = vec![
        ("customer_id", customer_id.as_str()),
        ("mandate_reference", "RUM-WEB-0001"),
        ("iban", "FR76 3000 6000 0112 3456 7890 188"),
        ("mandate_signed_on", signed.as_str()),
        ("ceiling", "500,00"),
        ("currency", "EUR"),
    ];
    let refused = client.post_form("/admin/contracts", &fields).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("clé de contrôle fausse (mod 97)"),
        "by the IBAN field"
    );
    assert!(
        refused.body.contains("value=\"RUM-WEB-0001\""),
        "what was typed is kept"
    );
    assert_eq!(count(&app.db, "contracts").await, 0);
    fields[2] = ("iban", IBAN);
    let answer = client.post_form("/admin/contracts", &fields).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let id = id_in(answer.location());
    let taken = client.post_form("/admin/contracts", &fields).await;
    assert_eq!(taken.status, 422, "a mandate reference is unique");
    let at = taken.body.find("name=\"mandate_reference\"").unwrap();
    assert!(taken.body[at..at + 300].contains("est déjà prise"), "said by its field");
    assert_eq!(count(&app.db, "contracts").await, 1);
    let page = client.follow(answer).await;
    assert!(text_by_id(&page.body, "mandate-validity")
        .unwrap()
        .starts_with("valide"));
    assert_eq!(text_by_id(&page.body, "contract-ceiling").as_deref(), Some("500,00 €"));
    assert!(!page.body.contains(IBAN), "the IBAN is masked on the page");

    // Accepted: it counts in the outstanding balance.
    let answer = operation(&mut client, id, "purchase", "120,00").await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = client.follow(answer).await;
    assert!(page.body.contains("Opération n°") && page.body.contains("acceptée"));
    assert!(text_by_id(&page.body, "contract-outstanding")
        .unwrap()
        .starts_with("120,00 €"));
    assert_eq!(count(&app.db, "contract_operations").await, 1);

    // Over the ceiling: refused with the rule, nothing recorded.
    let refused = operation(&mut client, id, "purchase", "400,00").await;
    assert_eq!(refused.status, 422);
    let error = text_by_id(&refused.body, "contract-error").unwrap();
    assert!(error.contains("plafond dépassé"), "{error}");
    assert!(!error.contains("ceiling_exceeded"), "the code is not words: {error}");
    assert!(refused
        .body
        .contains("id=\"contract-error\" data-code=\"ceiling_exceeded\""));
    assert!(refused.body.contains("value=\"400,00\""), "the form as typed");
    assert_eq!(count(&app.db, "contract_operations").await, 1);

    // Suspended: refused as not active.
    let answer = client.post_form(&format!("/admin/contracts/{id}/suspend"), &[]).await;
    assert_eq!(answer.status, 303);
    let page = client.follow(answer).await;
    assert!(page.body.contains("id=\"contract-status\" data-status=\"suspended\""));
    let refused = operation(&mut client, id, "purchase", "10,00").await;
    assert_eq!(refused.status, 422);
    assert!(text_by_id(&refused.body, "contract-error")
        .unwrap()
        .contains("n'est pas actif"));
    assert!(refused.body.contains("data-code=\"contract_not_active\""));
    assert_eq!(count(&app.db, "contract_operations").await, 1);
    let twice = client.post_form(&format!("/admin/contracts/{id}/suspend"), &[]).await;
    assert_eq!(twice.status, 409, "a suspended contract is not suspended again");

    // Resumed, then the mandate revoked: refused for the mandate.
    assert_eq!(
        client
            .post_form(&format!("/admin/contracts/{id}/resume"), &[])
            .await
            .status,
        303
    );
    let answer = client
        .post_form(
            &format!("/admin/contracts/{id}/revoke-mandate"),
            &[("revoked_on", &signed)],
        )
        .await;
    assert_eq!(answer.status, 303);
    let refused = operation(&mut client, id, "purchase", "10,00").await;
    assert!(text_by_id(&refused.body, "contract-error")
        .unwrap()
        .contains("a été révoqué"));
    assert!(refused.body.contains("data-code=\"mandate_revoked\""));
    let page = client.get(&format!("/admin/contracts/{id}")).await;
    let validity = text_by_id(&page.body, "mandate-validity").unwrap();
    assert!(
        validity.starts_with("non valide")
            && validity.contains("a été révoqué")
            && !validity.contains("mandate_revoked"),
        "{validity}"
    );
    assert!(page
        .body
        .contains("id=\"mandate-validity\" data-code=\"mandate_revoked\""));
    // A bad line is named by its field before the domain is asked.
    let refused = operation(&mut client, id, "purchase", "dix").await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("« dix » n&#x27;est pas un montant"));
    assert_eq!(count(&app.db, "contract_operations").await, 1);

    assert_eq!(
        client
            .post_form(&format!("/admin/contracts/{id}/cancel"), &[])
            .await
            .status,
        303
    );
    let contract = contracts::get(&app.db.store, id).await.unwrap();
    assert_eq!(contract.status, ContractStatus::Cancelled);
    assert_eq!(contract.mandate.revoked_on, Some(today));

    assert_eq!(
        audit_actions(&app, &format!("contract:{id}")).await,
        [
            "contract.subscribe",
            "contract.operation",
            "contract.suspend",
            "contract.resume",
            "contract.revoke_mandate",
            "contract.cancel"
        ]
    );
    let list = client.get("/admin/contracts?status=cancelled").await;
    assert!(list
        .body
        .contains(&format!("id=\"contract-{id}\" data-status=\"cancelled\"")));
    let list = client.get("/admin/contracts?status=active").await;
    assert!(!list.body.contains(&format!("id=\"contract-{id}\"")));
}

async fn orders_are_listed_and_shown(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let customer = person(&app.db.store).await;
    let mut tx = app.db.store.begin().await.unwrap();
    catalog::create(
        &mut tx,
        NewProduct {
            sku: "MUG".into(),
            name: "Mug émaillé".into(),
            nature: Nature::Goods,
            unit_price: eur(1_990),
            unit: None,
        },
    )
    .await
    .unwrap();
    let order = orders::create(
        &mut tx,
        NewOrder {
            customer_id: customer.id,
            items: vec![OrderItem {
                sku: "MUG".into(),
                quantity: 2,
            }],
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut client = app.signed_in().await;
    let list = client.get("/admin/orders").await;
    assert!(list
        .body
        .contains(&format!("id=\"order-{}\" data-status=\"pending\"", order.id)));
    assert!(list.body.contains("Jean Martin"));
    assert!(client
        .get("/admin/orders?status=paid")
        .await
        .body
        .contains("Aucune commande"));
    let page = client.get(&format!("/admin/orders/{}", order.id)).await;
    assert_eq!(text_by_id(&page.body, "order-total").as_deref(), Some("39,80 €"));
    assert!(page.body.contains("Mug émaillé"));
    assert_eq!(client.get("/admin/orders/999999").await.status, 404);
    assert_eq!(client.get("/admin/orders/abc").await.status, 404);

    // In English: the words, not the codes; the money still French.
    let mut english = app.signed_in_english().await;
    let page = english.get(&format!("/admin/orders/{}", order.id)).await;
    assert_eq!(page.status, 200);
    for words in [
        &format!("Order no. {}", order.id),
        "Placed",
        "Unit price",
        "issued once paid",
        "No payments",
    ] {
        assert!(page.body.contains(&words.to_string()), "{words} in the English order");
    }
    for french in ["Commande n°", "Prix unitaire", "émise au paiement", "Aucun paiement"] {
        assert!(!page.body.contains(french), "no {french} in English");
    }
    assert_eq!(text_by_id(&page.body, "order-total").as_deref(), Some("39,80 €"));
    let list = english.get("/admin/orders").await;
    assert!(list.body.contains("Orders") && list.body.contains("Items") && !list.body.contains("Articles"));
}

/// A contract's page writes quantities and amounts the French way in both
/// languages, and speaks English to an English operator: states, actions,
/// the mandate's validity and a refusal in words, never codes.
async fn a_contract_reads_in_english_with_french_numbers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let customer = person(&app.db.store).await;
    let today = app.today().await;
    let contract = contract(&app.db.store, customer.id, 100_000, today).await;
    let id = contract.id;
    let mut client = app.signed_in().await;
    let on = today.format("%d/%m/%Y").to_string();
    let answer = client
        .post_form(
            &format!("/admin/contracts/{id}/operations"),
            &[
                ("kind", "purchase"),
                ("occurred_on", on.as_str()),
                ("description_1", "Heures de ménage"),
                ("nature_1", "services"),
                ("quantity_1", "3,5"),
                ("unit_price_1", "12,40"),
            ],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = client.follow(answer).await;
    assert!(page.body.contains("Opération n°") && page.body.contains("acceptée : 43,40"));
    let operations = text_by_id(&page.body, "operations").unwrap();
    assert!(
        operations.contains("3,5 × Heures de ménage (12,40 €)"),
        "the quantity in French: {operations}"
    );
    assert!(!operations.contains("3.5"), "{operations}");
    assert!(operations.contains("43,40 €"));
    assert!(operations.contains("pas encore facturée"));
    assert!(text_by_id(&page.body, "contract-status").unwrap().contains("actif"));
    assert!(!page.body.contains("<small>active</small>"), "no English twin");
    assert!(!page.body.contains("post an operation"));

    let mut english = app.signed_in_english().await;
    let page = english.get(&format!("/admin/contracts/{id}")).await;
    assert_eq!(page.status, 200);
    for words in [
        "Contract no. ",
        "Mandate validity",
        "New operation",
        "Operations",
        "1 operation",
        "not invoiced yet",
        "Revoke the mandate",
        "Suspend",
    ] {
        assert!(page.body.contains(words), "{words} in the English page");
    }
    for french in ["Nouvelle opération", "Validité du mandat", "Suspendre", "Opérations"] {
        assert!(!page.body.contains(french), "no {french} in English");
    }
    let operations = text_by_id(&page.body, "operations").unwrap();
    assert!(
        operations.contains("3,5 × Heures de ménage (12,40 €)"),
        "numbers stay French in English: {operations}"
    );
    assert!(text_by_id(&page.body, "mandate-validity").unwrap().starts_with("valid"));
    // The flash of an action, in English.
    let answer = english.post_form(&format!("/admin/contracts/{id}/suspend"), &[]).await;
    assert_eq!(answer.status, 303);
    let page = english.follow(answer).await;
    assert!(
        page.body.contains(&format!("Contract no. {id} suspended")),
        "{}",
        page.body
    );
    let list = english.get("/admin/contracts").await;
    assert!(list.body.contains("New contract") && !list.body.contains("Nouveau contrat"));
    let form = english.get("/admin/contracts/new").await;
    assert!(form.body.contains("SEPA mandate") && form.body.contains("Create the contract"));
}

on_both_backends!(
    a_contract_takes_operations_within_its_rules,
    orders_are_listed_and_shown,
    a_contract_reads_in_english_with_french_numbers
);
