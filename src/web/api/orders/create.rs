//! `POST /api/orders`: the server prices the order from the catalogue; in one
//! transaction `billing::actions::orders::place` creates the customer (if
//! given inline), the order, the payment (initiated), the audit entry and a
//! `billing.charge_payment` job as a safety net; after the commit it charges the payment at once, the way the
//! job would (`billing::jobs::payments::charge`). The job, when its time
//! comes, finds the payment no longer initiated and does nothing — unless the
//! provider did not answer, and then it is what retries.

use crate::billing::address::{address_or_legacy, PostalAddress};
use std::collections::HashMap;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use super::super::error::Fields;
use super::super::extract::from_value;
use super::super::idempotency::{answer, Answer, Idempotency, Keep};
use super::super::{Api, ApiError, Json};
use super::{log_step_error, order_answer, OrderAnswer, OrderView};
use crate::billing::actions::orders::{self as actions, Payer, PlaceOrder, Placed};
use crate::billing::catalog::{self, Product};
use crate::billing::customers::{self, CustomerKind, NewCustomer};
use crate::billing::jobs::payments::{self as payment_jobs, ChargeOptions};
use crate::billing::orders::{OrderItem, MAX_QUANTITY};
use crate::billing::payments::PaymentStatus;
use crate::billing::{settings, BillingError};
use crate::input;
use crate::text;

/// The providers an API order may use (`manual` is the operator's own record
/// of a transfer, cheque or cash, not something a client may claim).
pub(super) const PROVIDERS: [&str; 3] = ["stripe", "paypal", "simulated"];

/// The safety-net charge job runs this long after the order, well after the
/// request's own call to the provider has ended (so they never race).
const SAFETY_NET_DELAY: Duration = Duration::from_secs(120);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateOrder {
    #[serde(default)]
    customer: Option<CustomerIn>,
    #[serde(default)]
    customer_id: Option<i64>,
    items: Vec<ItemIn>,
    provider: String,
    #[serde(default)]
    payment_method: Option<String>,
    #[serde(default)]
    return_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerIn {
    kind: CustomerKind,
    name: String,
    /// Its parts; one text still reads (a last line "69002 Lyon" gives the
    /// postcode and city).
    #[serde(deserialize_with = "address_or_legacy")]
    address: PostalAddress,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    siren: Option<String>,
    #[serde(default)]
    electronic_address: Option<String>,
    #[serde(default)]
    electronic_address_scheme: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemIn {
    sku: String,
    quantity: u32,
}

/// A request that passed every check that needs no transaction.
struct Checked {
    payer: Payer,
    items: Vec<OrderItem>,
    provider: &'static str,
    options: ChargeOptions,
}

/// The body's shape is checked first; what depends on the database (the
/// customer, the catalogue) is checked under the idempotency key, so that a
/// replay answers what the first request answered.
pub(super) async fn create(api: Api, idem: Idempotency, Json(body): Json<Value>) -> Result<Response, ApiError> {
    let request: CreateOrder = from_value(body.clone())?;
    let payment_key = idem.scoped(api.key.id);
    idem.run(&api, &body, |keep| {
        check_and_place(api.clone(), request, payment_key, keep)
    })
    .await
}

async fn check_and_place(
    api: Api,
    request: CreateOrder,
    payment_key: Option<String>,
    keep: Keep,
) -> Result<Answer, ApiError> {
    let checked = check(&api, request).await?;
    // An order whose payment completes is invoiced: the seller must be set up first.
    settings::load(&api.state.store).await?;
    place(api, checked, payment_key, keep).await
}

async fn check(api: &Api, r: CreateOrder) -> Result<Checked, ApiError> {
    let store = &api.state.store;
    let mut fields = Fields::new();
    let payer = match (r.customer, r.customer_id) {
        (Some(_), Some(_)) => {
            fields.add("customer_id", text!("donnez customer ou customer_id, pas les deux"));
            None
        }
        (None, None) => {
            fields.add(
                "customer",
                text!("obligatoire : les coordonnées du client, ou customer_id"),
            );
            None
        }
        (Some(c), None) => Some(Payer::New(Box::new(NewCustomer {
            kind: c.kind,
            name: c.name,
            email: c.email,
            address: c.address,
            siren: c.siren,
            electronic_address: c.electronic_address,
            electronic_address_scheme: c.electronic_address_scheme,
        }))),
        (None, Some(id)) => match customers::get(store, id).await {
            Ok(_) => Some(Payer::Existing(id)),
            Err(BillingError::NotFound(_)) => {
                fields.add("customer_id", text!("aucun client n'a l'id {id}", id = id));
                None
            }
            Err(e) => return Err(e.into()),
        },
    };
    let catalogue: HashMap<String, Product> = catalog::price_list(store)
        .await?
        .into_iter()
        .map(|p| (p.sku.clone(), p))
        .collect();
    if r.items.is_empty() {
        fields.add("items", text!("au moins un article est requis"));
    }
    let mut currencies = Vec::new();
    for (i, item) in r.items.iter().enumerate() {
        match catalogue.get(item.sku.trim()) {
            Some(p) => currencies.push(p.unit_price.currency),
            None => fields.add(
                format!("items[{i}].sku"),
                text!("« {sku} » n'est pas en vente", sku = item.sku),
            ),
        }
        if item.quantity == 0 || item.quantity > MAX_QUANTITY {
            fields.add(
                format!("items[{i}].quantity"),
                text!("de 1 à {max}", max = MAX_QUANTITY),
            );
        }
    }
    if currencies.windows(2).any(|w| w[0] != w[1]) {
        fields.add(
            "items",
            text!("tous les articles d'une commande sont dans une même devise"),
        );
    }
    let provider = PROVIDERS.into_iter().find(|p| *p == r.provider);
    match provider {
        None => fields.add("provider", text!("l'un de {list}", list = PROVIDERS.join(", "))),
        Some(p) if api.state.app.providers.get(p).is_err() => fields.add(
            "provider",
            text!("{provider} n'est pas disponible sur ce serveur", provider = p),
        ),
        Some(_) => {}
    }
    let payment_method = r
        .payment_method
        .and_then(|m| one_line(&mut fields, "payment_method", &m));
    match (provider, &payment_method) {
        (Some("stripe"), None) => fields.add(
            "payment_method",
            text!("obligatoire avec stripe : le PaymentMethod (pm_…)"),
        ),
        (Some("stripe"), Some(m)) if !m.starts_with("pm_") || m.len() > 255 || !m.is_ascii() => {
            fields.add("payment_method", text!("un id de PaymentMethod Stripe, pm_…"))
        }
        (Some(p), Some(_)) if p != "stripe" => {
            fields.add("payment_method", text!("seulement avec le prestataire stripe"))
        }
        _ => {}
    }
    let return_url = r.return_url.and_then(|u| one_line(&mut fields, "return_url", &u));
    if let Some(url) = &return_url {
        let absolute = reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.has_host());
        if !absolute || url.len() > 2000 {
            fields.add(
                "return_url",
                text!("une URL http(s) absolue de {max} caractères au plus", max = 2000),
            );
        }
    }
    fields.finish()?;
    let (Some(payer), Some(provider)) = (payer, provider) else {
        return Err(ApiError::Internal(
            "order checks passed without a payer or provider".into(),
        ));
    };
    Ok(Checked {
        payer,
        items: r
            .items
            .into_iter()
            .map(|i| OrderItem {
                sku: i.sku.trim().to_string(),
                quantity: i.quantity,
            })
            .collect(),
        provider,
        options: ChargeOptions {
            payment_method,
            return_url,
        },
    })
}

/// `text` trimmed if it is one line (the URL parser would silently drop a
/// line break that the provider would then receive), else `field`'s error.
fn one_line(fields: &mut Fields, field: &str, text: &str) -> Option<String> {
    match input::single_line(text, 2000) {
        Ok(t) => Some(t),
        Err(e) => {
            fields.add(field, e.text());
            None
        }
    }
}

/// Records the order; `payment_key` (derived from the request's
/// Idempotency-Key) becomes the payment's idempotency key, which is unique:
/// however a checkout is retried, it can never make a second payment, nor a
/// second charge at the provider.
async fn place(api: Api, c: Checked, payment_key: Option<String>, keep: Keep) -> Result<Answer, ApiError> {
    let store = &api.state.store;
    let mut tx = store.begin().await?;
    let options = c.options.clone();
    let order = PlaceOrder {
        payer: c.payer,
        items: c.items,
        provider: c.provider,
        // Unique per database: a provider never sees a key twice.
        payment_key: payment_key.unwrap_or_else(|| format!("api-order-{}", crate::auth::random_token(12))),
        charge: c.options,
        charge_in: SAFETY_NET_DELAY,
    };
    let Placed { order, payment, .. } = actions::place(&mut tx, &api.actor, order).await?;
    // What a retry answers if this request's answer is lost from here on: the
    // order as committed, its payment not charged yet (202).
    let committed = answer(
        StatusCode::ACCEPTED,
        &OrderAnswer {
            order: OrderView::new(order.clone(), vec![payment.clone()]),
            payment: payment.clone().into(),
        },
    )?;
    keep.answer_in(&mut tx, &committed).await?;
    tx.commit().await?;

    if let Err(e) = payment_jobs::charge(store, &api.state.app.providers, payment.id, &options).await {
        log_step_error(&e, payment.id);
    }
    order_answer(
        store,
        order.id,
        payment.id,
        PaymentStatus::Initiated,
        StatusCode::CREATED,
    )
    .await
}
