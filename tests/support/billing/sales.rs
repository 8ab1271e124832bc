//! What a customer buys and pays: products, orders, payments on an invoice or
//! an order, each in a transaction of its own.

use chrono::NaiveDate;
use comptoir::billing::catalog::{self, Nature, NewProduct};
use comptoir::billing::invoices::Invoice;
use comptoir::billing::orders::{self, NewOrder, Order, OrderItem};
use comptoir::billing::payments::{self, Completion, NewPayment, Payment, PaymentMethod};
use comptoir::billing::BillingError;
use comptoir::money::Money;
use comptoir::store::Store;

use super::eur;

/// Creates the products `(sku, name, nature, unit price in cents)`, in EUR.
pub async fn products(store: &Store, items: &[(&str, &str, Nature, i64)]) {
    let mut tx = store.begin().await.expect("begin");
    for (sku, name, nature, minor) in items {
        let product = NewProduct {
            sku: sku.to_string(),
            name: name.to_string(),
            nature: *nature,
            unit_price: eur(*minor),
            unit: None,
        };
        catalog::create(&mut tx, product).await.expect("valid product");
    }
    tx.commit().await.expect("commit");
}

/// Takes product `sku` off the catalogue.
pub async fn retire(store: &Store, sku: &str) {
    let mut tx = store.begin().await.expect("begin");
    catalog::set_active(&mut tx, sku, false).await.expect("deactivate");
    tx.commit().await.expect("commit");
}

/// The order lines `(sku, quantity)`.
pub fn order_input(customer_id: i64, items: &[(&str, u32)]) -> NewOrder {
    let items = items
        .iter()
        .map(|(sku, quantity)| OrderItem {
            sku: sku.to_string(),
            quantity: *quantity,
        })
        .collect();
    NewOrder { customer_id, items }
}

/// An order of `(sku, quantity)`, committed only when accepted.
pub async fn order(store: &Store, customer_id: i64, items: &[(&str, u32)]) -> Result<Order, BillingError> {
    let mut tx = store.begin().await.expect("begin");
    let order = orders::create(&mut tx, order_input(customer_id, items)).await?;
    tx.commit().await.expect("commit");
    Ok(order)
}

/// A payment by `customer_id` of `amount` (on an invoice, an order, or, to
/// be refused, neither or both), through `provider` with `method`, under `key`.
pub fn new_payment(
    customer_id: i64,
    invoice_id: Option<i64>,
    order_id: Option<i64>,
    provider: &str,
    method: PaymentMethod,
    amount: Money,
    key: &str,
) -> NewPayment {
    NewPayment {
        customer_id,
        invoice_id,
        order_id,
        provider: provider.into(),
        method,
        amount,
        idempotency_key: key.into(),
    }
}

/// A payment of `amount` on `invoice` by its customer.
pub fn invoice_payment(
    invoice: &Invoice,
    provider: &str,
    method: PaymentMethod,
    amount: Money,
    key: &str,
) -> NewPayment {
    new_payment(
        invoice.customer_id,
        Some(invoice.id),
        None,
        provider,
        method,
        amount,
        key,
    )
}

/// A payment of the whole of `order` by its customer.
pub fn order_payment(order: &Order, provider: &str, method: PaymentMethod, key: &str) -> NewPayment {
    new_payment(
        order.customer_id,
        None,
        Some(order.id),
        provider,
        method,
        order.total,
        key,
    )
}

/// Initiates a payment, committed only when accepted.
pub async fn initiate(store: &Store, new: NewPayment) -> Result<Payment, BillingError> {
    let mut tx = store.begin().await.expect("begin");
    let payment = payments::initiate(&mut tx, new).await?;
    tx.commit().await.expect("commit");
    Ok(payment)
}

/// Completes payment `id`, received on `on` with a fee of `fee_minor` cents,
/// committed only when accepted.
pub async fn complete(store: &Store, id: i64, on: NaiveDate, fee_minor: i64) -> Result<Payment, BillingError> {
    let mut tx = store.begin().await.expect("begin");
    let completion = Completion {
        received_on: on,
        fee: eur(fee_minor),
        provider_reference: Some(format!("sim_{id}")),
    };
    let payment = payments::complete(&mut tx, id, completion).await?;
    tx.commit().await.expect("commit");
    Ok(payment)
}

/// Records `new` as received on `on` (initiated and completed, no fee, in one
/// transaction): a receipt in the livre de recettes.
pub async fn pay(store: &Store, new: NewPayment, on: NaiveDate) -> Payment {
    let mut tx = store.begin().await.expect("begin");
    let currency = new.amount.currency;
    let payment = payments::initiate(&mut tx, new).await.expect("initiate");
    let completion = Completion {
        received_on: on,
        fee: Money::zero(currency),
        provider_reference: None,
    };
    let payment = payments::complete(&mut tx, payment.id, completion)
        .await
        .expect("complete");
    tx.commit().await.expect("commit");
    payment
}

/// Pays an issued invoice in full, received on `on`, through `provider` with `method`, under `key`.
pub async fn pay_in_full(
    store: &Store,
    invoice: &Invoice,
    on: NaiveDate,
    provider: &str,
    method: PaymentMethod,
    key: &str,
) -> Payment {
    pay(
        store,
        invoice_payment(invoice, provider, method, invoice.total, key),
        on,
    )
    .await
}
