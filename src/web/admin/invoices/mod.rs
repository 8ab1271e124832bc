//! Invoices and credit notes: the list with its filters, the draft form
//! (`new`), an invoice's page with its e-mails live (`page`), issuing,
//! deleting a draft, sending again and crediting (`actions`), and the PDF
//! (`pdf`).

mod actions;
mod new;
pub(super) mod page;
mod pdf;

use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

use super::{empty_as_none, filter, filter_params, next_before, Admin, AdminError, Query, PAGE_SIZE};
use crate::billing::customers;
use crate::billing::invoices::{self, InvoiceFilter, InvoiceKind, InvoiceOrder, InvoiceSort, InvoiceStatus};
use crate::money::Money;
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[
    crate::template!("admin/invoices/issue.html"),
    crate::template!("admin/invoices/labels.html"),
    crate::template!("admin/invoices/lines.html"),
    crate::template!("admin/invoices/list.html"),
    crate::template!("admin/invoices/new.html"),
    crate::template!("admin/invoices/show.html"),
];

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/invoices", Access::Operator, list)
        .merge(new::routes())
        .merge(page::routes())
        .merge(actions::routes())
        .merge(pdf::routes())
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    kind: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    customer_id: Option<i64>,
    #[serde(default, deserialize_with = "empty_as_none")]
    before: Option<i64>,
    /// The column sorted by (`number`, `customer`, `date`, `due`, `total`,
    /// `status`); none: newest first.
    #[serde(default)]
    sort: String,
    /// `asc` or `desc`.
    #[serde(default)]
    dir: String,
    /// The rows skipped, when sorted by a column.
    #[serde(default, deserialize_with = "empty_as_none")]
    offset: Option<i64>,
}

/// The sort asked for: a known column (anything else is refused, not
/// guessed), up unless `desc`.
fn sort_of(q: &ListQuery) -> Result<InvoiceSort, AdminError> {
    let by = match q.sort.trim() {
        "" => InvoiceOrder::Newest,
        name => InvoiceOrder::parse(name)
            .ok_or_else(|| AdminError::Invalid(crate::text!("Tri inconnu : {name}", name = format!("{name:?}"))))?,
    };
    let descending = match q.dir.trim() {
        "" | "asc" => false,
        "desc" => true,
        other => {
            return Err(AdminError::Invalid(crate::text!(
                "Sens de tri inconnu : {dir}",
                dir = format!("{other:?}")
            )))
        }
    };
    Ok(InvoiceSort { by, descending })
}

/// A column's header: its link (the other way round when it is the sort
/// already, else up) and its `aria-sort`.
#[derive(serde::Serialize)]
struct SortHeader {
    key: &'static str,
    href: String,
    aria: &'static str,
}

fn sort_headers(sort: InvoiceSort, filters: &[(&str, String)]) -> Vec<SortHeader> {
    InvoiceOrder::COLUMNS
        .iter()
        .map(|&by| {
            let current = sort.by == by;
            let descending = current && !sort.descending;
            let mut pairs = filters.to_vec();
            pairs.push(("sort", by.as_str().to_string()));
            pairs.push(("dir", if descending { "desc" } else { "asc" }.to_string()));
            let query = filter_params(&pairs);
            SortHeader {
                key: by.as_str(),
                href: format!("/admin/invoices?{query}"),
                aria: match (current, sort.descending) {
                    (false, _) => "none",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                },
            }
        })
        .collect()
}

/// What the invoices of a page add up to, in one currency: issued totals
/// (credit notes deducted) and what remains owed.
#[derive(serde::Serialize)]
struct PageTotal {
    currency: String,
    total: Money,
    due: Money,
}

fn page_totals(rows: &[invoices::Invoice]) -> Vec<PageTotal> {
    let mut out: Vec<PageTotal> = Vec::new();
    for i in rows.iter().filter(|i| i.status != InvoiceStatus::Draft) {
        let signed = match i.kind {
            InvoiceKind::Invoice => i.total.minor,
            InvoiceKind::CreditNote => -i.total.minor,
        };
        let due = match (i.kind, i.status) {
            (InvoiceKind::Invoice, InvoiceStatus::Issued) => i.balance_due().minor,
            _ => 0,
        };
        let currency = i.total.currency;
        let at = match out.iter().position(|t| t.total.currency == currency) {
            Some(at) => at,
            None => {
                out.push(PageTotal {
                    currency: currency.code().to_string(),
                    total: Money::zero(currency),
                    due: Money::zero(currency),
                });
                out.len() - 1
            }
        };
        out[at].total.minor += signed;
        out[at].due.minor += due;
    }
    out
}

fn parse_status(s: &str) -> Result<InvoiceStatus, ()> {
    match s {
        "draft" => Ok(InvoiceStatus::Draft),
        "issued" => Ok(InvoiceStatus::Issued),
        "paid" => Ok(InvoiceStatus::Paid),
        "cancelled" => Ok(InvoiceStatus::Cancelled),
        _ => Err(()),
    }
}

fn parse_kind(s: &str) -> Result<InvoiceKind, ()> {
    match s {
        "invoice" => Ok(InvoiceKind::Invoice),
        "credit_note" => Ok(InvoiceKind::CreditNote),
        _ => Err(()),
    }
}

async fn list(admin: Admin, Query(q): Query<ListQuery>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let sort = sort_of(&q)?;
    // Newest first pages by id (`before`); another order by rows skipped.
    let by_column = sort.by != InvoiceOrder::Newest;
    let offset = if by_column { q.offset.unwrap_or(0).max(0) } else { 0 };
    let wanted = InvoiceFilter {
        customer_id: q.customer_id,
        status: filter("status", &q.status, parse_status)?,
        kind: filter("kind", &q.kind, parse_kind)?,
        limit: PAGE_SIZE,
        before_id: if by_column { None } else { q.before },
        sort,
        offset,
        ..InvoiceFilter::default()
    };
    let rows = invoices::list(store, &wanted).await?;
    let full = rows.len() as i64 >= PAGE_SIZE;
    let next = if by_column {
        None
    } else {
        next_before(&rows, PAGE_SIZE, |i| i.id)
    };
    let next_offset = (by_column && full).then_some(offset.saturating_add(PAGE_SIZE));
    let ids: Vec<i64> = rows.iter().map(|i| i.customer_id).collect();
    let names = customers::names(store, &ids).await?;
    let today = super::billing_input::today(store).await?;
    let page_totals = page_totals(&rows);
    let rows: Vec<_> = rows
        .iter()
        .map(|i| {
            // The name as printed on an issued document, else the customer's current one.
            let name = i
                .snapshot
                .as_ref()
                .map(|s| s.customer.name.clone())
                .or_else(|| names.get(&i.customer_id).cloned());
            let late = i.status == InvoiceStatus::Issued
                && i.kind == InvoiceKind::Invoice
                && i.balance_due().minor > 0
                && i.due_date.is_some_and(|d| d < today);
            let days_late = late.then(|| i.due_date.map_or(0, |d| (today - d).num_days()));
            json!({
                "invoice": i,
                "customer": name,
                "due": i.balance_due(),
                "days_late": days_late,
                "state": shown_state(i),
            })
        })
        .collect();
    let filters = [
        ("status", q.status.trim().to_string()),
        ("kind", q.kind.trim().to_string()),
        ("customer_id", q.customer_id.map(|i| i.to_string()).unwrap_or_default()),
    ];
    let filters: Vec<(&str, String)> = filters.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    let mut kept = filters.clone();
    if by_column {
        kept.push(("sort", sort.by.as_str().to_string()));
        kept.push(("dir", if sort.descending { "desc" } else { "asc" }.to_string()));
    }
    let params = filter_params(&kept);
    admin.render(
        "admin/invoices/list.html",
        "invoices",
        context! {
            rows => rows,
            status => q.status.trim(),
            kind => q.kind.trim(),
            customer_id => q.customer_id,
            customers => super::billing_input::customer_choices(store, q.customer_id).await?,
            page_totals => page_totals,
            statuses => ["draft", "issued", "paid", "cancelled"],
            kinds => ["invoice", "credit_note"],
            params => params,
            next_before => next,
            next_offset => next_offset,
            sort => by_column.then(|| sort.by.as_str()),
            dir => if sort.descending { "desc" } else { "asc" },
            headers => sort_headers(sort, &filters),
        },
    )
}

/// The state as the list says it: an issued invoice partly paid is
/// "partiellement payée".
fn shown_state(i: &invoices::Invoice) -> &'static str {
    if i.kind == InvoiceKind::Invoice && i.status == InvoiceStatus::Issued && i.paid.minor > 0 {
        "partially_paid"
    } else {
        i.status.as_str()
    }
}
