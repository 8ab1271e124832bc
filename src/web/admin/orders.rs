//! Orders (made through the API's checkout): the list and an order's page
//! with its lines, total, status, invoice and payments.

use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

use super::{empty_as_none, filter, filter_params, next_before, Admin, AdminError, Path, Query, PAGE_SIZE};
use crate::billing::customers;
use crate::billing::orders::{self, OrderFilter, OrderStatus};
use crate::billing::payments::{self, PaymentFilter};
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    crate::template!("admin/orders/list.html"),
    crate::template!("admin/orders/show.html"),
];

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/orders", Access::Operator, list)
        .get("/admin/orders/{id}", Access::Operator, show)
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    customer_id: Option<i64>,
    #[serde(default, deserialize_with = "empty_as_none")]
    before: Option<i64>,
}

async fn list(admin: Admin, Query(q): Query<ListQuery>) -> Result<Response, AdminError> {
    let status = filter("status", &q.status, OrderStatus::parse)?;
    let store = &admin.state.store;
    let rows = orders::list(
        store,
        &OrderFilter {
            customer_id: q.customer_id,
            status,
            limit: PAGE_SIZE,
            before_id: q.before,
        },
    )
    .await?;
    let next = next_before(&rows, PAGE_SIZE, |o| o.id);
    let ids: Vec<i64> = rows.iter().map(|o| o.customer_id).collect();
    let names = customers::names(store, &ids).await?;
    let rows: Vec<_> = rows
        .iter()
        .map(|o| json!({ "order": o, "customer": names.get(&o.customer_id) }))
        .collect();
    let params = filter_params(&[
        ("status", q.status.trim().to_string()),
        ("customer_id", q.customer_id.map(|i| i.to_string()).unwrap_or_default()),
    ]);
    let statuses: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
    admin.render(
        "admin/orders/list.html",
        "orders",
        context! {
            rows => rows,
            status => q.status.trim(),
            customer_id => q.customer_id,
            statuses => statuses,
            params => params,
            next_before => next,
        },
    )
}

async fn show(admin: Admin, Path(id): Path<i64>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let order = orders::get(store, id).await?;
    let customer = customers::get(store, order.customer_id).await?;
    let payments = payments::list(
        store,
        &PaymentFilter {
            order_id: Some(id),
            limit: 100,
            ..PaymentFilter::default()
        },
    )
    .await?;
    admin.render(
        "admin/orders/show.html",
        "orders",
        context! { order => &order, customer => &customer, payments => &payments },
    )
}
