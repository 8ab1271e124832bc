//! `/admin/audit`: the audit log, newest first, filtered by actor, action
//! (exact, or a prefix ending in `.`), target and day range, paginated by
//! id (`before`).
//!
//! Said in words: each action by its name ("Facture émise"), each target as
//! the business object it is, linked ("F2026-0003", the customer's name,
//! "tâche 42"), each detail by its field's name and its value in words
//! ("12,50 €", "ancien → nouveau"); the raw details stay one click away.
//! The objects a page names are read in one query per kind of object.

use axum::response::Response;
use chrono::{DateTime, Days, NaiveDate, Utc};
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{empty_as_none, filter_text, next_before, Admin, AdminError, Query, PAGE_SIZE};
use crate::audit::{self, words, AuditEntry, AuditFilter, Objects, Wanted};
use crate::billing::render::BookPeriod;
use crate::i18n::{Lang, Text};
use crate::money::{Currency, Money};
use crate::text;
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

/// Words, with the page they lead to when there is one.
#[derive(Serialize, Debug, Clone, PartialEq)]
struct Named {
    label: String,
    href: Option<String>,
}

impl Named {
    fn plain(label: impl Into<String>) -> Named {
        Named {
            label: label.into(),
            href: None,
        }
    }

    fn link(label: impl Into<String>, href: impl Into<String>) -> Named {
        Named {
            label: label.into(),
            href: Some(href.into()),
        }
    }
}

/// One detail of an entry: its field's name and its value in words.
#[derive(Serialize, Debug, Clone, PartialEq)]
struct Fact {
    label: String,
    value: String,
    href: Option<String>,
}

#[derive(Serialize)]
struct EntryView<'a> {
    id: i64,
    at: DateTime<Utc>,
    actor: String,
    ip: &'a str,
    /// The action's name; its code when it has none here.
    action: String,
    target: Named,
    facts: Vec<Fact>,
    /// The details as recorded (one line of JSON), when there are any.
    details_json: Option<String>,
    /// Query strings that filter on this entry's actor, action, target.
    by_actor: String,
    by_action: String,
    by_target: String,
}

fn query(name: &str, value: &str) -> String {
    serde_urlencoded::to_string([(name, value)]).unwrap_or_default()
}

/// The filter's choice of actions: every action by its name, grouped by
/// what they act on, each group also offered whole (its prefix).
#[derive(Serialize)]
struct ActionGroup {
    label: String,
    prefix: &'static str,
    actions: Vec<(&'static str, String)>,
}

fn action_groups(lang: Lang) -> Vec<ActionGroup> {
    let mut groups: Vec<ActionGroup> = Vec::new();
    for code in words::ACTIONS {
        let prefix = &code[..code.find('.').map_or(code.len(), |i| i + 1)];
        let name = words::action(code).map_or_else(|| code.to_string(), |t| t.in_lang(lang));
        match groups.last_mut() {
            Some(g) if g.prefix == prefix => g.actions.push((code, name)),
            _ => groups.push(ActionGroup {
                label: words::group(prefix).map_or_else(|| prefix.to_string(), |t| t.in_lang(lang)),
                prefix,
                actions: vec![(code, name)],
            }),
        }
    }
    groups
}

async fn list(admin: Admin, Query(f): Query<Filters>) -> Result<Response, AdminError> {
    let lang = admin.lang();
    // Days are the operator's: from their midnight to the next.
    let midnight = |d: NaiveDate| crate::local_time::day_start(d).ok();
    let until = match f.to {
        Some(to) => Some(
            to.checked_add_days(Days::new(1))
                .and_then(midnight)
                .ok_or_else(|| AdminError::Invalid(text!("Au : date hors limites")))?,
        ),
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
    let mut wanted = Wanted::default();
    for entry in &entries {
        want_target(&mut wanted, &entry.target);
        want_details(&mut wanted, &entry.details);
    }
    if let Some(target) = &f.target {
        want_target(&mut wanted, target);
    }
    let objects = audit::objects(&admin.state.store, &wanted).await?;
    let views: Vec<EntryView> = entries.iter().map(|entry| view(entry, &objects, lang)).collect();
    // The filters again, for the next page's link.
    let params = serde_urlencoded::to_string(&f).unwrap_or_default();
    let groups = action_groups(lang);
    // A filter typed by hand that the choice does not offer is kept as it is.
    let known_action = f.action.as_deref().is_none_or(|a| {
        groups
            .iter()
            .any(|g| g.prefix == a || g.actions.iter().any(|(code, _)| *code == a))
    });
    admin.render(
        "admin/audit/list.html",
        "audit",
        context! {
            entries => views,
            actor => f.actor.as_deref().unwrap_or(""),
            action => f.action.as_deref().unwrap_or(""),
            known_action => known_action,
            target => f.target.as_deref().unwrap_or(""),
            target_named => f.target.as_deref().map(|t| target(t, &objects, lang)),
            from => f.from.map(|d| d.to_string()).unwrap_or_default(),
            to => f.to.map(|d| d.to_string()).unwrap_or_default(),
            groups => groups,
            params => params,
            next_before => next_before(&entries, PAGE_SIZE, |e| e.id),
        },
    )
}

fn view<'a>(entry: &'a AuditEntry, objects: &Objects, lang: Lang) -> EntryView<'a> {
    let has_details = entry.details.as_object().is_some_and(|d| !d.is_empty());
    EntryView {
        id: entry.id,
        at: entry.at,
        actor: actor(&entry.actor, lang),
        ip: &entry.ip,
        action: words::action(&entry.action).map_or_else(|| entry.action.clone(), |t| t.in_lang(lang)),
        target: target(&entry.target, objects, lang),
        facts: facts(&entry.action, &entry.details, objects, lang),
        details_json: has_details.then(|| entry.details.to_string()),
        by_actor: query("actor", &entry.actor),
        by_action: query("action", &entry.action),
        by_target: query("target", &entry.target),
    }
}

/// Who acted: an operator's e-mail, an API key, the command line, the sign-in form.
fn actor(name: &str, lang: Lang) -> String {
    match name {
        "cli" => text!("ligne de commande").in_lang(lang),
        "sign-in form" => text!("formulaire de connexion").in_lang(lang),
        _ => match name.strip_prefix("api:") {
            Some(key) => text!("clé API {key}", key = key).in_lang(lang),
            None => name.to_string(),
        },
    }
}

/// `kind:id` split; a target without an id is its kind alone.
fn split_target(target: &str) -> (&str, &str) {
    target.split_once(':').unwrap_or((target, ""))
}

fn want_target(wanted: &mut Wanted, target: &str) {
    let (kind, id) = split_target(target);
    if kind == "product" {
        if !id.is_empty() {
            wanted.products.insert(id.to_string());
        }
        return;
    }
    let Ok(id) = id.parse::<i64>() else { return };
    let set = match kind {
        "invoice" => &mut wanted.invoices,
        "customer" => &mut wanted.customers,
        "operator" => &mut wanted.operators,
        "api_key" => &mut wanted.api_keys,
        "payment" => &mut wanted.payments,
        "contract" => &mut wanted.contracts,
        "order" => &mut wanted.orders,
        "import" => &mut wanted.imports,
        "bank_entry" => &mut wanted.bank_entries,
        "document" => &mut wanted.documents,
        _ => return,
    };
    set.insert(id);
}

/// The ids the details cite that the page names: invoices and customers.
fn want_details(wanted: &mut Wanted, details: &Value) {
    let id = |v: Option<&Value>| v.and_then(Value::as_i64);
    let mut add = |d: &Value| {
        wanted.invoices.extend(id(d.get("invoice_id")));
        wanted.invoices.extend(id(d.get("credited_invoice_id")));
        wanted.customers.extend(id(d.get("customer_id")));
    };
    add(details);
    for part in ["before", "after"] {
        if let Some(d) = details.get(part) {
            add(d);
        }
    }
    if let Some(payments) = details.get("payments").and_then(Value::as_array) {
        for p in payments {
            add(p);
        }
    }
}

fn invoice(id: i64, known: Option<&str>, objects: &Objects, lang: Lang) -> Named {
    let href = format!("/admin/invoices/{id}");
    if let Some(reference) = known {
        return Named::link(reference, href);
    }
    match objects.invoices.get(&id) {
        Some(i) => match &i.reference {
            Some(reference) => Named::link(reference.clone(), href),
            None => Named::link(text!("brouillon n° {id}", id = id).in_lang(lang), href),
        },
        None => Named::plain(text!("facture n° {id}", id = id).in_lang(lang)),
    }
}

fn customer(id: i64, objects: &Objects, lang: Lang) -> Named {
    match objects.customers.get(&id) {
        Some(name) => Named::link(name.clone(), format!("/admin/customers/{id}")),
        None => Named::plain(text!("client n° {id}", id = id).in_lang(lang)),
    }
}

fn job(id: i64, lang: Lang) -> Named {
    Named::link(text!("tâche {id}", id = id).in_lang(lang), format!("/admin/jobs/{id}"))
}

/// What an entry acted on, as the business object it is.
fn target(target: &str, objects: &Objects, lang: Lang) -> Named {
    let (kind, raw) = split_target(target);
    let say = |t: Text| t.in_lang(lang);
    if kind == "product" {
        return match objects.products.get(raw) {
            Some(name) => Named::link(format!("{name} ({raw})"), "/admin/catalog"),
            None => Named::link(raw, "/admin/catalog"),
        };
    }
    if kind == "book" {
        let label = BookPeriod::parse(raw).map_or_else(|_| raw.to_string(), |p| super::book::period_label(p, lang));
        return Named::link(
            say(text!("livre de recettes, {period}", period = label)),
            format!("/admin/book?{}", query("period", raw)),
        );
    }
    if kind == "archive" {
        return Named::link(say(text!("archive {year}", year = raw)), "/admin/archives");
    }
    if kind == "settings" {
        return Named::link(say(text!("réglages du vendeur")), "/admin/settings");
    }
    if kind == "session" {
        return Named::plain(say(text!("session")));
    }
    if kind == "queue" {
        return Named::link(
            say(text!("file {queue}", queue = raw)),
            format!("/admin/jobs?{}", query("queue", raw)),
        );
    }
    let Ok(id) = raw.parse::<i64>() else {
        return Named::plain(target);
    };
    match kind {
        "invoice" => invoice(id, None, objects, lang),
        "customer" => customer(id, objects, lang),
        "job" => job(id, lang),
        "payment" => {
            let href = format!("/admin/payments/{id}");
            match objects.payments.get(&id) {
                Some(p) => {
                    let amount = p.amount.map(|m| m.format_fr()).unwrap_or_default();
                    let label = match &p.reference {
                        Some(r) => say(text!("paiement de {amount}, {invoice}", amount = amount, invoice = r)),
                        None => say(text!("paiement de {amount}", amount = amount)),
                    };
                    Named::link(label, href)
                }
                None => Named::plain(say(text!("paiement n° {id}", id = id))),
            }
        }
        "operator" => match objects.operators.get(&id) {
            Some(name) => Named::plain(name.clone()),
            None => Named::plain(say(text!("opérateur n° {id}", id = id))),
        },
        "api_key" => match objects.api_keys.get(&id) {
            Some((name, prefix)) => Named::link(format!("{name} (ck_{prefix}_…)"), "/admin/api-keys"),
            None => Named::plain(say(text!("clé API n° {id}", id = id))),
        },
        "contract" => {
            let href = format!("/admin/contracts/{id}");
            match objects.contracts.get(&id) {
                Some(name) => Named::link(
                    say(text!("contrat n° {id}, {customer}", id = id, customer = name)),
                    href,
                ),
                None => Named::plain(say(text!("contrat n° {id}", id = id))),
            }
        }
        "order" => {
            let href = format!("/admin/orders/{id}");
            match objects.orders.get(&id) {
                Some(name) => Named::link(
                    say(text!("commande n° {id}, {customer}", id = id, customer = name)),
                    href,
                ),
                None => Named::plain(say(text!("commande n° {id}", id = id))),
            }
        }
        "import" => {
            let href = format!("/admin/imports/{id}");
            match objects.imports.get(&id) {
                Some(file) => Named::link(say(text!("import n° {id}, {file}", id = id, file = file)), href),
                None => Named::plain(say(text!("import n° {id}", id = id))),
            }
        }
        "bank_entry" => match objects.bank_entries.get(&id) {
            Some(b) => {
                let amount = b.amount.map(|m| m.format_fr()).unwrap_or_default();
                let date = b.booking_date.format("%d/%m/%Y").to_string();
                let label = match &b.payer {
                    Some(payer) => say(text!(
                        "virement de {amount} du {date}, {payer}",
                        amount = amount,
                        date = date,
                        payer = payer
                    )),
                    None => say(text!("virement de {amount} du {date}", amount = amount, date = date)),
                };
                Named::link(label, "/admin/bank")
            }
            None => Named::plain(say(text!("virement n° {id}", id = id))),
        },
        "document" => match objects.documents.get(&id) {
            Some(file) => Named::link(file.clone(), "/admin/book"),
            None => Named::plain(say(text!("fichier n° {id}", id = id))),
        },
        _ => Named::plain(target),
    }
}

/// Fields shown as dates, and as instants.
const DATES: &[&str] = &[
    "received_on",
    "recorded_on",
    "issue_date",
    "service_date",
    "service_period_start",
    "service_period_end",
    "revoked_on",
    "booking_date",
];
const INSTANTS: &[&str] = &["expires_at", "run_at"];

fn plural(lang: Lang, n: i64, one: Text, other: Text) -> String {
    let singular = match lang {
        Lang::Fr => n.abs() <= 1,
        Lang::En => n == 1,
    };
    if singular {
        one.in_lang(lang)
    } else {
        other.in_lang(lang)
    }
}

/// A value of field `key` in words ("12,50 €", "01/12/2026", "oui").
fn said(key: &str, value: &Value, currency: Option<Currency>, lang: Lang) -> String {
    match value {
        Value::Null => "—".into(),
        Value::Bool(b) => words::yes_no(*b).in_lang(lang),
        Value::Number(n) => {
            let int = n.as_i64();
            match (key, int) {
                (k, Some(minor)) if k.ends_with("_minor") => match currency {
                    Some(c) => Money::new(minor, c).format_fr(),
                    None => minor.to_string(),
                },
                ("payment_terms_days" | "days_back", Some(n)) => {
                    plural(lang, n, text!("{n} jour", n = n), text!("{n} jours", n = n))
                }
                ("bytes" | "size", Some(n)) => super::archives::file_size(n, lang),
                ("late_penalty_rate", _) => format!("{} %", n.to_string().replace('.', ",")),
                _ => n.to_string(),
            }
        }
        Value::String(s) => {
            if let Some(words) = words::value(key, s) {
                return words.in_lang(lang);
            }
            if DATES.contains(&key) {
                if let Ok(d) = s.parse::<NaiveDate>() {
                    return d.format("%d/%m/%Y").to_string();
                }
            }
            if INSTANTS.contains(&key) {
                if let Ok(t) = s.parse::<DateTime<Utc>>() {
                    return crate::local_time::format_fr_minutes(t);
                }
            }
            match key {
                "late_penalty_rate" => format!("{} %", s.replace('.', ",")),
                "language" => Lang::parse(s).map_or_else(|| s.clone(), |l| l.name().to_string()),
                "period" => BookPeriod::parse(s).map_or_else(|_| s.clone(), |p| super::book::period_label(p, lang)),
                "format" => s.to_uppercase(),
                "sha256" if s.len() > 16 => format!("{}…", &s[..16]),
                "prefix" => format!("ck_{s}_…"),
                _ => s.clone(),
            }
        }
        Value::Object(o) => {
            // A postal address, or an amount kept with its currency.
            if let (Some(minor), Some(code)) = (o.get("minor").and_then(Value::as_i64), o.get("currency")) {
                if let Some(c) = code.as_str().and_then(|c| c.parse::<Currency>().ok()) {
                    return Money::new(minor, c).format_fr();
                }
            }
            let mut parts: Vec<String> = o
                .get("lines")
                .and_then(Value::as_array)
                .map(|l| l.iter().filter_map(Value::as_str).map(String::from).collect())
                .unwrap_or_default();
            let town: Vec<&str> = ["postcode", "city", "country"]
                .iter()
                .filter_map(|k| o.get(*k).and_then(Value::as_str))
                .filter(|s| !s.is_empty())
                .collect();
            if !town.is_empty() {
                parts.push(town.join(" "));
            }
            parts.join(", ")
        }
        Value::Array(items) => items
            .iter()
            .map(|v| said(key, v, currency, lang))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The value of field `key`, linked to its object when it names one.
fn value_of(key: &str, value: &Value, d: &Map<String, Value>, objects: &Objects, lang: Lang) -> Named {
    let currency = d
        .get("currency")
        .and_then(Value::as_str)
        .and_then(|c| c.parse::<Currency>().ok());
    match (key, value.as_i64()) {
        ("invoice_id", Some(id)) => invoice(id, d.get("reference").and_then(Value::as_str), objects, lang),
        ("credited_invoice_id", Some(id)) => {
            invoice(id, d.get("credited_reference").and_then(Value::as_str), objects, lang)
        }
        ("customer_id", Some(id)) => customer(id, objects, lang),
        ("payment_id", Some(id)) => Named::link(
            text!("paiement n° {id}", id = id).in_lang(lang),
            format!("/admin/payments/{id}"),
        ),
        ("job_id" | "job" | "charge_job_id" | "email_job_id", Some(id)) => job(id, lang),
        ("refund_id" | "operation_id", Some(id)) => Named::plain(text!("n° {id}", id = id).in_lang(lang)),
        _ => Named::plain(said(key, value, currency, lang)),
    }
}

/// Fields shown through another (a number with its invoice's link), or not
/// at all (the currency, with its amounts).
fn shown_elsewhere(key: &str, d: &Map<String, Value>) -> bool {
    match key {
        "currency" | "before" | "after" => true,
        "reference" => d.contains_key("invoice_id"),
        "credited_reference" => d.contains_key("credited_invoice_id"),
        _ => false,
    }
}

/// An entry's details in words: each field by its name; a change as
/// "ancien → nouveau"; a job's states; a bank credit's payments.
fn facts(action: &str, details: &Value, objects: &Objects, lang: Lang) -> Vec<Fact> {
    let Some(d) = details.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let fact = |key: &str, value: Named| Fact {
        label: words::field(key).map_or_else(|| key.to_string(), |t| t.in_lang(lang)),
        value: value.label,
        href: value.href,
    };
    if action.starts_with("job.") {
        let state = |k: &str| {
            d.get(k)
                .and_then(Value::as_str)
                .map(|s| words::job_state(s).map_or_else(|| s.to_string(), |t| t.in_lang(lang)))
        };
        if let (Some(from), Some(to)) = (state("from"), state("to")) {
            out.push(fact("status", Named::plain(format!("{from} → {to}"))));
        }
        for key in ["reason", "run_at"] {
            if let Some(v) = d.get(key).filter(|v| !v.is_null()) {
                out.push(fact(key, Named::plain(said(key, v, None, lang))));
            }
        }
        return out;
    }
    // A change: before and after side by side, or the entry's fields against `before`.
    let before = d.get("before").and_then(Value::as_object);
    let (after, rest): (&Map<String, Value>, bool) = match d.get("after").and_then(Value::as_object) {
        Some(after) => (after, false),
        None => (d, true),
    };
    if let Some(before) = before {
        for (key, new) in after {
            if shown_elsewhere(key, after) || words::field(key).is_none() {
                continue;
            }
            let Some(old) = before.get(key) else { continue };
            if old != new {
                let currency_map = if rest { d } else { after };
                let old = value_of(key, old, currency_map, objects, lang).label;
                let new = value_of(key, new, currency_map, objects, lang).label;
                out.push(fact(key, Named::plain(format!("{old} → {new}"))));
            }
        }
        if !rest {
            return out;
        }
    }
    for (key, value) in d {
        if value.is_null() || shown_elsewhere(key, d) || words::field(key).is_none() {
            continue;
        }
        // The backdating's note repeats its fields, in French.
        if key == "note" && action == "payment.backdated" {
            continue;
        }
        if before.is_some_and(|b| b.contains_key(key)) {
            continue; // said above, when it changed
        }
        if key == "payments" {
            let currency = d
                .get("currency")
                .and_then(Value::as_str)
                .and_then(|c| c.parse::<Currency>().ok());
            for p in value.as_array().into_iter().flatten() {
                let Some(id) = p.get("invoice_id").and_then(Value::as_i64) else {
                    continue;
                };
                let mut named = invoice(id, None, objects, lang);
                if let (Some(minor), Some(c)) = (p.get("amount_minor").and_then(Value::as_i64), currency) {
                    named.label = format!("{} : {}", named.label, Money::new(minor, c).format_fr());
                }
                out.push(fact("invoice_id", named));
            }
            continue;
        }
        out.push(fact(key, value_of(key, value, d, objects, lang)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn objects() -> Objects {
        let mut o = Objects::default();
        o.invoices.insert(
            5,
            audit::InvoiceName {
                reference: Some("F2026-0003".into()),
                credit_note: false,
            },
        );
        o.customers.insert(7, "Élodie Château-Brûlé".into());
        o
    }

    #[test]
    fn targets_are_business_objects() {
        let o = objects();
        assert_eq!(
            target("invoice:5", &o, Lang::Fr),
            Named::link("F2026-0003", "/admin/invoices/5")
        );
        assert_eq!(target("customer:7", &o, Lang::Fr).label, "Élodie Château-Brûlé");
        assert_eq!(target("job:42", &o, Lang::Fr).label, "tâche 42");
        assert_eq!(target("job:42", &o, Lang::En).label, "job 42");
        assert_eq!(target("invoice:9", &o, Lang::Fr), Named::plain("facture n° 9"));
        assert_eq!(target("weird", &o, Lang::Fr), Named::plain("weird"));
    }

    #[test]
    fn details_are_said_in_words() {
        let o = objects();
        let d = json!({ "invoice_id": 5, "reference": "F2026-0003", "amount_minor": 1250, "currency": "EUR",
                        "method": "transfer", "received_on": "2026-12-01", "charge_job_id": null });
        let got = facts("payment.record", &d, &o, Lang::Fr);
        let said: Vec<(String, String)> = got.iter().map(|f| (f.label.clone(), f.value.clone())).collect();
        assert!(said.contains(&("Montant".into(), "12,50\u{a0}€".into())), "{said:?}");
        assert!(said.contains(&("Facture".into(), "F2026-0003".into())), "{said:?}");
        assert!(
            said.contains(&("Moyen de paiement".into(), "Virement".into())),
            "{said:?}"
        );
        assert!(said.contains(&("Reçu le".into(), "01/12/2026".into())), "{said:?}");
        assert_eq!(got.len(), 4, "{said:?}");

        let change = json!({ "before": { "name": "Élodie", "email": "a@b.fr" }, "after": { "name": "Élodie C.", "email": "a@b.fr" } });
        let changed = facts("customer.update", &change, &o, Lang::En);
        assert_eq!(changed.len(), 1);
        assert_eq!(
            (changed[0].label.as_str(), changed[0].value.as_str()),
            ("Name", "Élodie → Élodie C.")
        );

        let job = json!({ "from": "retryable", "to": "available", "kind": "x", "reason": null, "run_at": null });
        let got = facts("job.retry", &job, &o, Lang::Fr);
        assert_eq!(got[0].value, "à retenter → prête");
    }
}
