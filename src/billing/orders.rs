//! One-off orders priced from the catalogue by the server, then paid through
//! a payment; the order's invoice is issued when the payment completes.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::catalog::{self, Nature};
use super::error::{invalid, BillingError};
use super::invoices::{self, Invoice, NewInvoice, NewLine};
use crate::billing::sql::orders as sql;
use crate::money::Money;
use crate::store::{Store, Tx};
use crate::text;

#[derive(Debug, Clone, Deserialize)]
pub struct OrderItem {
    pub sku: String,
    pub quantity: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewOrder {
    pub customer_id: i64,
    pub items: Vec<OrderItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub sku: String,
    pub name: String,
    pub nature: Nature,
    pub quantity: u32,
    pub unit_price: Money,
    pub total: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Paid,
    Cancelled,
    Expired,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 4] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Result<OrderStatus, BillingError> {
        OrderStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| invalid("status", text!("« {value} » n'est pas un état de commande", value = s)))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    pub id: i64,
    pub customer_id: i64,
    pub status: OrderStatus,
    pub total: Money,
    pub lines: Vec<OrderLine>,
    pub invoice_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

pub const MAX_QUANTITY: u32 = 10_000;

/// Prices every item from the catalogue; the client's idea of the total is never asked.
pub async fn create(tx: &mut Tx, new: NewOrder) -> Result<Order, BillingError> {
    if new.items.is_empty() {
        return Err(invalid("items", text!("au moins un article est requis")));
    }
    super::customers::get_in(tx, new.customer_id).await?;
    let mut lines = Vec::with_capacity(new.items.len());
    for (i, item) in new.items.iter().enumerate() {
        if item.quantity == 0 || item.quantity > MAX_QUANTITY {
            return Err(invalid(
                "items.quantity",
                text!(
                    "article {item} : la quantité va de 1 à {max}",
                    item = i + 1,
                    max = MAX_QUANTITY
                ),
            ));
        }
        let product = catalog::by_sku(tx, item.sku.trim()).await?;
        if !product.active {
            return Err(invalid(
                "items.sku",
                text!("{sku} n'est plus en vente", sku = product.sku),
            ));
        }
        let total = product.unit_price.times(Decimal::from(item.quantity))?;
        lines.push(OrderLine {
            sku: product.sku,
            name: product.name,
            nature: product.nature,
            quantity: item.quantity,
            unit_price: product.unit_price,
            total,
        });
    }
    let currency = lines[0].unit_price.currency;
    let mut total = Money::zero(currency);
    for l in &lines {
        if l.unit_price.currency != currency {
            return Err(invalid(
                "items",
                text!("tous les articles d'une commande sont dans une même devise"),
            ));
        }
        total = total.checked_add(l.total)?;
    }
    if total.minor <= 0 {
        return Err(invalid("items", text!("le total de la commande doit être positif")));
    }
    Ok(sql::insert(tx, new.customer_id, total, &lines).await?)
}

pub async fn get(store: &Store, id: i64) -> Result<Order, BillingError> {
    sql::get(store, id)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("order {id}")))
}

pub async fn lock(tx: &mut Tx, id: i64) -> Result<Order, BillingError> {
    sql::lock(tx, id)
        .await?
        .ok_or_else(|| BillingError::NotFound(format!("order {id}")))
}

/// Issues the order's invoice on `issue_date` (once: later calls return it).
pub async fn invoice(tx: &mut Tx, order_id: i64, issue_date: NaiveDate) -> Result<Invoice, BillingError> {
    let order = lock(tx, order_id).await?;
    if let Some(id) = order.invoice_id {
        return invoices::get_in(tx, id).await;
    }
    if order.status != OrderStatus::Pending {
        return Err(BillingError::Conflict(
            text!("la commande {order} est {state}", order = order_id)
                .with("state", super::error::order_state(order.status.as_str())),
        ));
    }
    let lines = order
        .lines
        .iter()
        .map(|l| NewLine {
            description: l.name.clone(),
            nature: l.nature,
            quantity: Decimal::from(l.quantity),
            unit: None,
            unit_price: l.unit_price,
        })
        .collect();
    let draft = invoices::create_draft(
        tx,
        NewInvoice {
            order_id: Some(order_id),
            ..NewInvoice::of_lines(order.customer_id, order.total.currency, lines)
        },
    )
    .await?;
    let issued = invoices::issue(tx, draft.id, issue_date).await?;
    sql::set_invoice(tx, order_id, issued.id).await?;
    Ok(issued)
}

pub async fn mark_paid(tx: &mut Tx, id: i64) -> Result<(), BillingError> {
    sql::set_status(tx, id, OrderStatus::Paid, &[OrderStatus::Pending]).await?;
    Ok(())
}

/// A pending order not paid in time.
pub async fn expire(tx: &mut Tx, id: i64) -> Result<bool, BillingError> {
    Ok(sql::set_status(tx, id, OrderStatus::Expired, &[OrderStatus::Pending]).await? == 1)
}

pub async fn cancel(tx: &mut Tx, id: i64) -> Result<bool, BillingError> {
    Ok(sql::set_status(tx, id, OrderStatus::Cancelled, &[OrderStatus::Pending]).await? == 1)
}

/// Filters for listing orders; newest first.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub customer_id: Option<i64>,
    pub status: Option<OrderStatus>,
    pub limit: i64,
    pub before_id: Option<i64>,
}

pub async fn list(store: &Store, filter: &OrderFilter) -> Result<Vec<Order>, BillingError> {
    Ok(sql::list(store, filter).await?)
}
