//! Contracts in the admin: subscribed through the form (a bad IBAN is shown
//! by its field, nothing created), operations accepted or refused with the
//! rule that failed (and nothing recorded), suspended, resumed, mandate
//! revoked; every action audited. And the orders pages.

use comptoir::billing::catalog::{self, Nature, NewProduct};
use comptoir::billing::contracts::{self, ContractStatus};
use comptoir::billing::orders::{self, NewOrder, OrderItem};

use crate::on_both_backends;
use crate::support::billing::{count, eur, person, IBAN};
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
        refused.body.contains("wrong check digits (mod 97)"),
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
    assert!(
        taken.body[at..at + 300].contains("is already used"),
        "said by its field"
    );
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
    assert!(
        error.contains("ceiling_exceeded") && error.contains("ceiling exceeded"),
        "{error}"
    );
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
        .contains("contract_not_active"));
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
        .contains("mandate_revoked"));
    let page = client.get(&format!("/admin/contracts/{id}")).await;
    assert!(text_by_id(&page.body, "mandate-validity")
        .unwrap()
        .contains("mandate_revoked"));
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
}

on_both_backends!(
    a_contract_takes_operations_within_its_rules,
    orders_are_listed_and_shown
);
