//! `/admin/audit`: the audit log, newest first, filtered by actor, action
//! (exact, or a prefix ending in `.`), target and day range, paginated by
//! id (`before`).

use axum::response::Response;
use chrono::{Days, NaiveDate};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{empty_as_none, filter_text, next_before, Admin, AdminError, Query, PAGE_SIZE};
use crate::audit::{self, AuditEntry, AuditFilter};
use crate::web::{Access, Routes};

pub(super) const TEMPLATES: &[(&str, &str)] = &[crate::template!("admin/audit/list.html")];

pub(super) fn routes() -> Routes {
    Routes::new().get("/admin/audit", Access::Operator, list)
}

#[derive(Deserialize, Serialize, Default)]
struct Filters {
    #[serde(default, deserialize_with = "filter_text", skip_serializing_if = "Option::is_none")]
    actor: Option<String>,
    #[serde(default, deserialize_with = "filter_text", skip_serializing_if = "Option::is_none")]
    action: Option<String>,
    #[serde(default, deserialize_with = "filter_text", skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    /// First day (the operator's), inclusive.
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    from: Option<NaiveDate>,
    /// Last day (the operator's), inclusive.
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing_if = "Option::is_none")]
    to: Option<NaiveDate>,
    #[serde(default, deserialize_with = "empty_as_none", skip_serializing)]
    before: Option<i64>,
}

#[derive(Serialize)]
struct EntryView<'a> {
    #[serde(flatten)]
    entry: &'a AuditEntry,
    /// The details as one line of JSON.
    details_json: String,
    /// What the details say in words, when they do (`payment.backdated`).
    note: Option<&'a str>,
    /// Query strings that filter on this entry's actor, action, target.
    by_actor: String,
    by_action: String,
    by_target: String,
}

fn query(name: &str, value: &str) -> String {
    serde_urlencoded::to_string([(name, value)]).unwrap_or_default()
}

async fn list(admin: Admin, Query(f): Query<Filters>) -> Result<Response, AdminError> {
    // Days are the operator's: from their midnight to the next.
    let midnight = |d: NaiveDate| crate::local_time::day_start(d).ok();
    let until = match f.to {
        Some(to) => Some(to.checked_add_days(Days::new(1)).and_then(midnight).ok_or_else(|| {
            AdminError::Invalid(crate::i18n::Text::verbatim(
                "to : date hors limites / date out of range",
            ))
        })?),
        None => None,
    };
    let filter = AuditFilter {
        actor: f.actor.clone(),
        action: f.action.clone(),
        target: f.target.clone(),
        since: f.from.and_then(midnight),
        until,
        before_id: f.before,
        limit: PAGE_SIZE,
    };
    let entries = audit::list(&admin.state.store, &filter).await?;
    let views: Vec<EntryView> = entries
        .iter()
        .map(|entry| EntryView {
            entry,
            details_json: entry.details.to_string(),
            note: entry.details.get("note").and_then(|n| n.as_str()),
            by_actor: query("actor", &entry.actor),
            by_action: query("action", &entry.action),
            by_target: query("target", &entry.target),
        })
        .collect();
    // The filters again, for the next page's link.
    let params = serde_urlencoded::to_string(&f).unwrap_or_default();
    admin.render(
        "admin/audit/list.html",
        "audit",
        context! {
            entries => views,
            filters => &f,
            params => params,
            next_before => next_before(&entries, PAGE_SIZE, |e| e.id),
        },
    )
}
