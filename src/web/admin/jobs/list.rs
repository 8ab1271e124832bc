//! `/admin/jobs`: the counts per state, the list with its filters, its
//! sortable columns and its pages, kept up to date by `live.json` (the page
//! works without it: reload), and the bulk form, which asks for a
//! confirmation naming how many jobs of which kinds it will act on.
//!
//! Sorting: `sort` names one of the whitelisted columns ([`JobSort`]: id,
//! kind, queue, state, attempt, run_at) and `dir` is `asc` or `desc`; a
//! column header links to its sort, reversed when it is the current one.
//! Pages are keyset: `before` is the id of the last job shown and `last` its
//! value in the sorted column. Filters, sort and page travel together.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::response::Response;
use chrono::DateTime;
use minijinja::context;
use serde::Deserialize;

use super::actions::{self, Action, Outcome, Request};
use super::{kind_label, state_label, view};
use crate::i18n::Text;
use crate::store::types::{JobFilter, JobOrder, JobRow, JobSort, JobSortValue, JobState};
use crate::text;
use crate::web::admin::{filter_text, Admin, AdminError, Form, Query, PAGE_SIZE};

/// Most jobs one bulk form may act on.
const BULK_LIMIT: usize = 500;

/// The query string as typed; [`Filters::read`] checks it and names what
/// does not fit in words.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RawFilters {
    #[serde(default, deserialize_with = "filter_text")]
    state: Option<String>,
    #[serde(default, deserialize_with = "filter_text")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "filter_text")]
    queue: Option<String>,
    #[serde(default, deserialize_with = "filter_text")]
    text: Option<String>,
    #[serde(default, deserialize_with = "filter_text")]
    sort: Option<String>,
    #[serde(default, deserialize_with = "filter_text")]
    dir: Option<String>,
    #[serde(default, deserialize_with = "filter_text")]
    before: Option<String>,
    #[serde(default, deserialize_with = "filter_text")]
    last: Option<String>,
}

/// What the list shows: its filters, its order and where its page starts.
struct Filters {
    state: Option<JobState>,
    kind: Option<String>,
    queue: Option<String>,
    text: Option<String>,
    sort: JobSort,
    ascending: bool,
    after: Option<(JobSortValue, i64)>,
}

/// The direction a column sorts in when first clicked: newest first for the
/// number, A to Z (or the lifecycle's order, the fewest attempts, the
/// earliest) for the others.
fn default_ascending(sort: JobSort) -> bool {
    sort != JobSort::Id
}

/// `sort` and `dir`, each left out when it is the default.
fn sort_pairs(sort: JobSort, ascending: bool) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    if sort != JobSort::Id {
        pairs.push(("sort", sort.as_str().to_string()));
    }
    if ascending != default_ascending(sort) {
        pairs.push(("dir", if ascending { "asc" } else { "desc" }.to_string()));
    }
    pairs
}

/// `job`'s value in `sort`, as the next page's `last` carries it (none for
/// the id, which `before` carries).
fn last_param(sort: JobSort, job: &JobRow) -> Option<String> {
    match sort {
        JobSort::Id => None,
        JobSort::Kind => Some(job.kind.clone()),
        JobSort::Queue => Some(job.queue.clone()),
        JobSort::State => Some(job.state.as_str().to_string()),
        JobSort::Attempt => Some(job.attempt.to_string()),
        // Microseconds: PostgreSQL keeps them, and a cursor must be exact.
        JobSort::RunAt => Some(job.run_at.timestamp_micros().to_string()),
    }
}

fn query_string(pairs: &[(&str, String)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

impl Filters {
    fn read(raw: RawFilters) -> Result<Filters, AdminError> {
        let state = match raw.state {
            None => None,
            Some(s) => Some(
                s.parse::<JobState>()
                    .map_err(|_| AdminError::Invalid(text!("État : « {state} » inconnu", state = shown(&s))))?,
            ),
        };
        let sort = match raw.sort {
            None => JobSort::Id,
            Some(s) => JobSort::parse(&s)
                .ok_or_else(|| AdminError::Invalid(text!("Tri : colonne « {column} » inconnue", column = shown(&s))))?,
        };
        let ascending = match raw.dir.as_deref() {
            None => default_ascending(sort),
            Some("asc") => true,
            Some("desc") => false,
            Some(other) => {
                return Err(AdminError::Invalid(text!(
                    "Tri : sens « {dir} » inconnu (asc ou desc)",
                    dir = shown(other)
                )))
            }
        };
        let after = match raw.before {
            None => None,
            Some(before) => {
                let id: i64 = before.parse().map_err(|_| {
                    AdminError::Invalid(text!(
                        "Page : « {value} » n'est pas un numéro de tâche",
                        value = shown(&before)
                    ))
                })?;
                Some((last_value(sort, raw.last.as_deref(), id)?, id))
            }
        };
        Ok(Filters {
            state,
            kind: raw.kind,
            queue: raw.queue,
            text: raw.text,
            sort,
            ascending,
            after,
        })
    }

    /// The filters alone, as query pairs.
    fn filter_pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("state", self.state.map(|s| s.as_str().to_string())),
            ("kind", self.kind.clone()),
            ("queue", self.queue.clone()),
            ("text", self.text.clone()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
    }

    /// Filters and sort: what every link of the page keeps.
    fn params(&self) -> String {
        let mut pairs = self.filter_pairs();
        pairs.extend(sort_pairs(self.sort, self.ascending));
        query_string(&pairs)
    }

    /// Filters, sort and this page's start: the page itself.
    fn page_params(&self, before: Option<&(i64, Option<String>)>) -> String {
        let mut pairs = self.filter_pairs();
        pairs.extend(sort_pairs(self.sort, self.ascending));
        if let Some((id, last)) = before {
            pairs.push(("before", id.to_string()));
            if let Some(last) = last {
                pairs.push(("last", last.clone()));
            }
        }
        query_string(&pairs)
    }

    /// This page's own start, as it came.
    fn current_start(&self) -> Option<(i64, Option<String>)> {
        self.after.as_ref().map(|(value, id)| {
            let last = match (self.sort, value) {
                (JobSort::Id, _) => None,
                (JobSort::State, JobSortValue::Int(rank)) => JobState::ALL
                    .get(usize::try_from(*rank).unwrap_or(usize::MAX))
                    .map(|s| s.as_str().to_string()),
                (_, JobSortValue::Int(v)) => Some(v.to_string()),
                (_, JobSortValue::Text(t)) => Some(t.clone()),
                (_, JobSortValue::Time(t)) => Some(t.timestamp_micros().to_string()),
            };
            (*id, last)
        })
    }
}

/// The sort value a next page link carries, read for `sort`.
fn last_value(sort: JobSort, last: Option<&str>, id: i64) -> Result<JobSortValue, AdminError> {
    if sort == JobSort::Id {
        return Ok(JobSortValue::Int(id));
    }
    let incomplete = || AdminError::Invalid(text!("Page : lien incomplet ou altéré, repartez de la première page"));
    let last = last.ok_or_else(incomplete)?;
    match sort {
        JobSort::Id => Ok(JobSortValue::Int(id)),
        JobSort::Kind | JobSort::Queue => Ok(JobSortValue::Text(last.to_string())),
        JobSort::State => last
            .parse::<JobState>()
            .map(|s| JobSortValue::Int(s.rank()))
            .map_err(|_| incomplete()),
        JobSort::Attempt => last.parse().map(JobSortValue::Int).map_err(|_| incomplete()),
        JobSort::RunAt => last
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .map(JobSortValue::Time)
            .ok_or_else(incomplete),
    }
}

/// The kinds and queues the product's worker knows, for the filters' suggestions.
fn known() -> &'static (Vec<&'static str>, Vec<String>) {
    static KNOWN: OnceLock<(Vec<&'static str>, Vec<String>)> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let registry = crate::app::registry();
        (registry.kinds().collect(), registry.queues().into_iter().collect())
    })
}

/// The page's rows, as its filters, sort and start select them.
async fn rows(admin: &Admin, f: &Filters) -> Result<Vec<JobRow>, AdminError> {
    Ok(admin
        .state
        .store
        .list_jobs_ordered(
            &JobFilter {
                state: f.state,
                kind: f.kind.clone(),
                queue: f.queue.clone(),
                text: f.text.clone(),
                limit: PAGE_SIZE,
                before_id: None,
            },
            &JobOrder {
                by: f.sort,
                ascending: f.ascending,
                after: f.after.clone(),
            },
        )
        .await?)
}

/// Jobs per state, every queue together, in the order of `JobState::ALL`.
async fn counts(admin: &Admin) -> Result<Vec<(JobState, i64)>, AdminError> {
    let by_queue = admin.state.store.count_jobs().await?;
    Ok(JobState::ALL
        .iter()
        .map(|s| (*s, by_queue.iter().filter(|c| c.state == *s).map(|c| c.count).sum()))
        .collect())
}

/// The rows as pages show them, an invoice named by its number.
async fn views(admin: &Admin, rows: &[JobRow]) -> Result<Vec<serde_json::Value>, AdminError> {
    let lang = admin.lang();
    let mut jobs: Vec<_> = rows.iter().map(|j| view(j, lang)).collect();
    let invoice_ids: Vec<i64> = jobs
        .iter()
        .filter(|j| j["object"]["key"] == "invoice_id")
        .filter_map(|j| j["object"]["id"].as_i64())
        .collect();
    let references = crate::billing::invoices::references(&admin.state.store, &invoice_ids).await?;
    for j in jobs.iter_mut().filter(|j| j["object"]["key"] == "invoice_id") {
        if let Some(reference) = j["object"]["id"].as_i64().and_then(|id| references.get(&id)) {
            j["object"]["label"] = text!("facture {reference}", reference = reference).in_lang(lang).into();
        }
    }
    Ok(jobs)
}

/// What the page's script refreshes every two seconds: the counts per state
/// (`count.available`…) and each listed job's state in words
/// (`job.12.state`) and attempt (`job.12.attempt`).
#[tracing::instrument(skip_all)]
pub(super) async fn live(admin: Admin, Query(raw): Query<RawFilters>) -> Result<Response, AdminError> {
    let f = Filters::read(raw)?;
    let lang = admin.lang();
    let mut out = serde_json::Map::new();
    for (state, n) in counts(&admin).await? {
        out.insert(format!("count.{}", state.as_str()), n.into());
    }
    for job in rows(&admin, &f).await? {
        out.insert(format!("job.{}.state", job.id), state_label(&job).in_lang(lang).into());
        out.insert(
            format!("job.{}.attempt", job.id),
            format!("{}/{}", job.attempt, job.max_attempts).into(),
        );
    }
    out.insert("done".into(), false.into());
    Ok(axum::response::IntoResponse::into_response(axum::Json(
        serde_json::Value::Object(out),
    )))
}

/// The sortable columns' headers: label, link, and `aria-sort` on the sorted one.
fn columns(f: &Filters, lang: crate::i18n::Lang) -> Vec<serde_json::Value> {
    let columns: [(JobSort, Text, &str); 6] = [
        (JobSort::Id, text!("N°"), "n"),
        (JobSort::Kind, text!("Type"), ""),
        (JobSort::Queue, text!("File"), ""),
        (JobSort::State, text!("État"), ""),
        (JobSort::Attempt, text!("Tentative"), "n"),
        (JobSort::RunAt, text!("Prévue"), ""),
    ];
    columns
        .into_iter()
        .map(|(sort, label, class)| {
            let current = sort == f.sort;
            let ascending = if current { !f.ascending } else { default_ascending(sort) };
            let mut pairs = f.filter_pairs();
            pairs.extend(sort_pairs(sort, ascending));
            let query = query_string(&pairs);
            serde_json::json!({
                "key": sort.as_str(),
                "label": label.in_lang(lang),
                "class": class,
                "href": if query.is_empty() { "/admin/jobs".to_string() } else { format!("/admin/jobs?{query}") },
                "aria_sort": current.then_some(if f.ascending { "ascending" } else { "descending" }),
            })
        })
        .collect()
}

#[tracing::instrument(skip_all)]
pub(super) async fn page(admin: Admin, Query(raw): Query<RawFilters>) -> Result<Response, AdminError> {
    let f = Filters::read(raw)?;
    let lang = admin.lang();
    let rows = rows(&admin, &f).await?;
    let next = (rows.len() as i64 >= PAGE_SIZE)
        .then(|| rows.last())
        .flatten()
        .map(|last| f.page_params(Some(&(last.id, last_param(f.sort, last)))));
    let jobs = views(&admin, &rows).await?;
    let sort_params = sort_pairs(f.sort, f.ascending);
    let counts: Vec<serde_json::Value> = counts(&admin)
        .await?
        .into_iter()
        .map(|(s, n)| {
            let mut pairs = vec![("state", s.as_str().to_string())];
            pairs.extend(sort_params.clone());
            serde_json::json!({
                "state": s.as_str(),
                "label": s.words().in_lang(lang),
                "count": n,
                "href": format!("/admin/jobs?{}", query_string(&pairs)),
            })
        })
        .collect();
    let here = f.page_params(f.current_start().as_ref());
    let back = if here.is_empty() {
        "/admin/jobs".to_string()
    } else {
        format!("/admin/jobs?{here}")
    };
    let sort_only = query_string(&sort_params);
    let all_queues = super::queues::all(&admin).await?;
    let paused: Vec<&str> = all_queues
        .iter()
        .filter(|q| q.paused)
        .map(|q| q.name.as_str())
        .collect();
    let (kinds, queues) = known();
    let kinds: Vec<serde_json::Value> = kinds
        .iter()
        .map(|k| serde_json::json!({ "kind": k, "label": kind_label(k).map(|t| t.in_lang(lang)) }))
        .collect();
    admin.render(
        "admin/jobs/list.html",
        "jobs",
        context! {
            jobs => jobs,
            counts => counts,
            live => format!("/admin/jobs/live.json?{here}"),
            filters => context! {
                state => f.state.map(JobState::as_str).unwrap_or(""),
                kind => f.kind.as_deref().unwrap_or(""),
                queue => f.queue.as_deref().unwrap_or(""),
                text => f.text.as_deref().unwrap_or(""),
            },
            filtered => f.state.is_some() || f.kind.is_some() || f.queue.is_some() || f.text.is_some(),
            clear => if sort_only.is_empty() { "/admin/jobs".to_string() } else { format!("/admin/jobs?{sort_only}") },
            sort_fields => sort_params.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>(),
            columns => columns(&f, lang),
            kinds => kinds,
            queues => queues,
            queue_rows => super::queues::rows(&all_queues, lang),
            paused => paused,
            params => f.params(),
            next => next,
            back => back,
        },
    )
}

/// The bulk form: `ids` (repeated), `action`, `reason`, `run_at`, `back`.
#[tracing::instrument(skip_all)]
pub(super) async fn bulk(admin: Admin, Form(fields): Form<Vec<(String, String)>>) -> Result<Response, AdminError> {
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let back = field("back")
        .filter(|b| b.starts_with("/admin/jobs") && !b.contains("//") && crate::web::admin::is_admin_path(b))
        .unwrap_or("/admin/jobs")
        .to_string();
    let mut ids = Vec::new();
    for (_, value) in fields.iter().filter(|(k, _)| k == "ids") {
        let id: i64 = value.trim().parse().map_err(|_| {
            AdminError::Invalid(text!(
                "Tâches cochées : « {value} » n'est pas un numéro de tâche",
                value = shown(value)
            ))
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let req = Request::parse(field("action").unwrap_or(""), field("reason"), field("run_at"))?;
    if ids.is_empty() {
        return Ok(admin.redirect(&back, text!("Aucune tâche cochée")));
    }
    if ids.len() > BULK_LIMIT {
        return Err(AdminError::Invalid(text!(
            "Tâches cochées : {max} au plus à la fois",
            max = BULK_LIMIT
        )));
    }
    if field("confirmed") != Some("yes") {
        // `back` as checked, not as posted: it is also the page's "Annuler" link.
        let hidden: Vec<(String, String)> = fields
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "confirmed" | "back") && k != crate::web::guard::CSRF_FIELD)
            .cloned()
            .collect();
        return confirmation(
            &admin,
            &Confirm {
                post_to: "/admin/jobs/bulk",
                hidden: &hidden,
                ids: &ids,
                action: req.action,
                back: &back,
            },
        )
        .await;
    }
    let lang = admin.lang();
    let mut outcomes = Vec::with_capacity(ids.len());
    for id in ids {
        let outcome = match actions::apply(&admin, id, &req).await {
            Ok(o) => o,
            Err(AdminError::NotFound) => Outcome::Refused(text!("#{id} introuvable", id = id).in_lang(lang)),
            Err(e) => {
                tracing::warn!(job.id = id, error = %e, "bulk action failed");
                Outcome::Refused(text!("#{id} : échec, réessayez", id = id).in_lang(lang))
            }
        };
        outcomes.push(outcome);
    }
    Ok(admin.redirect(&back, actions::summary(req.action, &outcomes, lang)))
}

/// A confirmation to ask: where its form posts, what it carries again, and
/// the jobs it is about.
pub(super) struct Confirm<'a> {
    pub post_to: &'a str,
    pub hidden: &'a [(String, String)],
    pub ids: &'a [i64],
    pub action: Action,
    pub back: &'a str,
}

/// "Relancer maintenant 12 tâches ?", with how many of each kind and in
/// which state, and the form again with `confirmed=yes`.
pub(super) async fn confirmation(admin: &Admin, c: &Confirm<'_>) -> Result<Response, AdminError> {
    let lang = admin.lang();
    // Per kind: how many, and per state (by its rank) its words and how many.
    type States = BTreeMap<i64, (String, i64)>;
    let mut kinds: BTreeMap<String, (i64, States)> = BTreeMap::new();
    let mut missing = 0;
    let mut refused = 0;
    for id in c.ids {
        match admin.state.store.get_job(*id).await {
            Ok(job) => {
                if !c.action.allows(job.state) {
                    refused += 1;
                }
                let entry = kinds.entry(job.kind.clone()).or_default();
                entry.0 += 1;
                let state = entry
                    .1
                    .entry(job.state.rank())
                    .or_insert_with(|| (job.state.words().in_lang(lang), 0));
                state.1 += 1;
            }
            Err(crate::store::StoreError::NotFound) => missing += 1,
            Err(e) => return Err(e.into()),
        }
    }
    let kinds: Vec<serde_json::Value> = kinds
        .into_iter()
        .map(|(kind, (n, states))| {
            let states: Vec<(String, i64)> = states.into_values().collect();
            serde_json::json!({
                "kind": kind,
                "label": kind_label(&kind).map(|t| t.in_lang(lang)),
                "count": n,
                "states": states,
            })
        })
        .collect();
    admin.render(
        "admin/jobs/confirm.html",
        "jobs",
        context! {
            action => c.action.infinitive().in_lang(lang),
            deleting => c.action == Action::Delete,
            post_to => c.post_to,
            count => c.ids.len(),
            kinds => kinds,
            missing => missing,
            refused => refused,
            hidden => c.hidden,
            back => c.back,
        },
    )
}

fn shown(value: &str) -> String {
    value.chars().take(30).collect()
}
