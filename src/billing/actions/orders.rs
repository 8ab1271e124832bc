//! A checkout: an order priced by the server, paid through a provider.

use std::time::Duration;

use serde_json::json;

use crate::audit::{self, Actor, Record};
use crate::billing::customers::{self, NewCustomer};
use crate::billing::jobs::payments::{ChargeOptions, ChargePayment};
use crate::billing::orders::{self, NewOrder, Order, OrderItem};
use crate::billing::payments::{self, NewPayment, Payment, PaymentMethod};
use crate::billing::BillingError;
use crate::jobs::{enqueue, EnqueueOptions};
use crate::store::Tx;

/// Who pays: a customer created with the order, or one that exists.
#[derive(Debug, Clone)]
pub enum Payer {
    New(Box<NewCustomer>),
    Existing(i64),
}

#[derive(Debug, Clone)]
pub struct PlaceOrder {
    pub payer: Payer,
    pub items: Vec<OrderItem>,
    /// `stripe`, `paypal` or `simulated`.
    pub provider: &'static str,
    /// The payment's idempotency key, unique: the same checkout retried can
    /// never make a second payment (nor a second charge at the provider).
    pub payment_key: String,
    /// What the checkout page collected for the charge.
    pub charge: ChargeOptions,
    /// When the safety-net charge job runs (the caller charges at once).
    pub charge_in: Duration,
}

#[derive(Debug, Clone)]
pub struct Placed {
    pub order: Order,
    pub payment: Payment,
    pub customer_created: bool,
}

/// Records the customer (if new), the order, its payment (initiated), the
/// audit entry and a charge job as a safety net. A refusal of the new
/// customer names its field as `customer.<field>`.
pub async fn place(tx: &mut Tx, by: &Actor, p: PlaceOrder) -> Result<Placed, BillingError> {
    let (customer_id, customer_created) = match p.payer {
        Payer::New(new) => (customers::create(tx, *new).await.map_err(as_customer_field)?.id, true),
        Payer::Existing(id) => (id, false),
    };
    let order = orders::create(
        tx,
        NewOrder {
            customer_id,
            items: p.items,
        },
    )
    .await?;
    let payment = payments::initiate(
        tx,
        NewPayment {
            customer_id,
            invoice_id: None,
            order_id: Some(order.id),
            provider: p.provider.into(),
            method: if p.provider == "paypal" {
                PaymentMethod::Paypal
            } else {
                PaymentMethod::Card
            },
            amount: order.total,
            idempotency_key: p.payment_key,
        },
    )
    .await?;
    let entry = Record::new("order.create", format!("order:{}", order.id)).details(json!({
        "customer_id": customer_id,
        "customer_created": customer_created,
        "payment_id": payment.id,
        "provider": p.provider,
        "total": { "minor": order.total.minor, "currency": order.total.currency.code() },
    }));
    audit::record_in(tx, by, entry).await?;
    enqueue(
        tx,
        &ChargePayment {
            payment_id: payment.id,
            payment_method: p.charge.payment_method,
            return_url: p.charge.return_url,
        },
        EnqueueOptions::new()
            .unique_key(format!("charge:{}", payment.id))
            .run_in(p.charge_in),
    )
    .await?;
    Ok(Placed {
        order,
        payment,
        customer_created,
    })
}

fn as_customer_field(e: BillingError) -> BillingError {
    match e {
        BillingError::Invalid { field, message } => BillingError::Invalid {
            field: match field {
                "kind" => "customer.kind",
                "name" => "customer.name",
                "email" => "customer.email",
                "address.lines" => "customer.address.lines",
                "address.postcode" => "customer.address.postcode",
                "address.city" => "customer.address.city",
                "address.country" => "customer.address.country",
                "siren" => "customer.siren",
                "electronic_address" => "customer.electronic_address",
                "electronic_address_scheme" => "customer.electronic_address_scheme",
                _ => "customer",
            },
            message,
        },
        other => other,
    }
}
