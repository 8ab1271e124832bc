//! The jobs pages: list filters and pages, a job's page with its secrets
//! masked, each action allowed and refused, bulk actions with a mix, and the
//! audit entries they leave.

use std::time::Duration;

use comptoir::audit::{self, Actor, AuditEntry, AuditFilter, Record};
use comptoir::jobs::{
    enqueue_now, retry, EnqueueOptions, Job, JobContext, JobError, JobKind, JobResult, JobRow, JobState, KindOptions,
    Noop, Outcome, Registry,
};
use comptoir::store::types::{ClaimParams, NewJob, RunAt};
use comptoir::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::on_both_backends;
use crate::support::web::{Answer, Client, TestApp};
use crate::support::worker::{config, drain};
use crate::support::Backend;

/// Inserts a job of any kind with any args (no registry check), committed.
async fn insert(store: &Store, kind: &str, queue: &str, args: serde_json::Value, run_at: RunAt) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let out = tx
        .insert_jobs(&[NewJob {
            kind: kind.into(),
            args,
            queue: queue.into(),
            priority: 0,
            max_attempts: 3,
            run_at,
            unique_key: None,
            concurrency: None,
            rate: None,
        }])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    out[0].id()
}

async fn scheduled(store: &Store) -> i64 {
    enqueue_now(
        store,
        &Noop::default(),
        EnqueueOptions::new().run_in(Duration::from_secs(3600)),
    )
    .await
    .unwrap()
    .id()
}

async fn claim_all(store: &Store) -> Vec<i64> {
    store
        .claim_jobs(&ClaimParams {
            rate_room: 0,
            queue: "default",
            limit: 100,
            worker_id: "web-test",
            lease: Duration::from_secs(300),
        })
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .collect()
}

async fn job(app: &TestApp, id: i64) -> JobRow {
    app.db.store.get_job(id).await.unwrap()
}

async fn job_audit(app: &TestApp) -> Vec<AuditEntry> {
    audit::list(
        &app.db.store,
        &AuditFilter {
            action: Some("job.".into()),
            limit: 500,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// The ids of the rows of the `#jobs` table, in order.
fn row_ids(html: &str) -> Vec<i64> {
    html.match_indices("<tr id=\"job-")
        .filter_map(|(at, m)| {
            let rest = &html[at + m.len()..];
            rest[..rest.find('"')?].parse().ok()
        })
        .collect()
}

/// HTML as text: the entities minijinja writes, decoded.
pub fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The flash of the page a form's answer redirects to.
async fn flash_after(client: &mut Client, answer: Answer) -> String {
    assert_eq!(answer.status, 303, "{}", answer.body);
    let page = client.follow(answer).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let marker = "<p class=\"flash\" role=\"status\">";
    let start = page.body.find(marker).expect("a flash message") + marker.len();
    let end = start + page.body[start..].find("</p>").unwrap();
    unescape(&page.body[start..end])
}

/// GETs `path` and checks that the rows of `#jobs` are exactly `expected`.
async fn check_rows(client: &mut Client, path: &str, expected: &[i64]) -> String {
    let page = client.get(path).await;
    assert_eq!(page.status, 200, "{path}: {}", page.body);
    let mut got = row_ids(&page.body);
    got.sort_unstable();
    let mut want = expected.to_vec();
    want.sort_unstable();
    assert_eq!(got, want, "{path}");
    unescape(&page.body)
}

/// Posts the bulk form with these fields (and the session's CSRF token).
async fn bulk(client: &mut Client, mut fields: Vec<(String, String)>) -> Answer {
    fields.push(("_csrf".into(), client.csrf.clone().expect("signed in")));
    client.post_form_raw("/admin/jobs/bulk", &fields).await
}

fn bulk_form(action: &str, ids: &[i64], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = vec![
        ("action".into(), action.into()),
        ("back".into(), "/admin/jobs?state=scheduled".into()),
        ("confirmed".into(), "yes".into()),
    ];
    fields.extend(ids.iter().map(|i| ("ids".to_string(), i.to_string())));
    fields.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    fields
}

async fn list_filters_and_pagination(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    let mut noops = Vec::new();
    for _ in 0..57 {
        noops.push(
            enqueue_now(store, &Noop::default(), EnqueueOptions::new())
                .await
                .unwrap()
                .id(),
        );
    }
    let mut mail = Vec::new();
    for name in ["Dupont", "DUPONT & fils", "Martin"] {
        mail.push(insert(store, "test.mail", "mail", json!({ "customer": name }), RunAt::Now).await);
    }
    let later = scheduled(store).await;
    let mut client = app.signed_in().await;

    let first = client.get("/admin/jobs").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body.contains("id=\"job-filters\"") && first.body.contains("<table id=\"jobs\">"));
    // French only: no English twin left.
    for english in [
        "<small>jobs",
        "filter</small>",
        "retry now",
        "no jobs",
        "/ next page",
        "any</option>",
    ] {
        assert!(!first.body.contains(english), "{english} on a French page");
    }
    let ids = row_ids(&first.body);
    assert_eq!(ids.len(), 50, "a page holds 50 jobs");
    assert_eq!(ids[0], later, "newest first");
    assert!(first
        .body
        .contains(&format!("<tr id=\"job-{later}\" data-state=\"scheduled\">")));
    let next = format!("/admin/jobs?before={}", ids[49]);
    assert!(
        unescape(&first.body).contains(&format!("href=\"{next}\"")),
        "a next page link"
    );
    let second = client.get(&next).await;
    let rest = row_ids(&second.body);
    assert_eq!(rest.len(), 61 - 50);
    assert_eq!(rest.last(), noops.first(), "down to the oldest");
    assert!(!second.body.contains("rel=\"next\""), "last page");

    // Filters, alone and together; the next link keeps them.
    check_rows(&mut client, "/admin/jobs?state=scheduled", &[later]).await;
    check_rows(&mut client, "/admin/jobs?kind=test.mail", &mail).await;
    check_rows(&mut client, "/admin/jobs?queue=mail", &mail).await;
    check_rows(&mut client, "/admin/jobs?text=dupont", &mail[..2]).await;
    check_rows(
        &mut client,
        "/admin/jobs?queue=mail&text=martin&state=available",
        &mail[2..],
    )
    .await;
    let none = check_rows(&mut client, "/admin/jobs?kind=noop&text=dupont", &[]).await;
    assert!(none.contains("Aucune tâche pour ces filtres"));
    let noop_page = check_rows(&mut client, "/admin/jobs?kind=noop&state=available", &noops[7..]).await;
    assert!(
        noop_page.contains(&format!(
            "href=\"/admin/jobs?state=available&kind=noop&before={}\"",
            noops[7]
        )),
        "the next page keeps the filters"
    );
    // Empty fields are no filter; a bad state is named.
    check_rows(&mut client, "/admin/jobs?state=&kind=&queue=mail&text=", &mail).await;
    let bad = client.get("/admin/jobs?state=sleeping").await;
    assert_eq!(bad.status, 422);
    assert!(
        unescape(&bad.body).contains("État : « sleeping » inconnu"),
        "{}",
        bad.body
    );
}

async fn a_job_page_shows_everything_but_secrets(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    let iban = "FR7630006000011234567890189";
    let id = insert(
        store,
        "test.sepa",
        "default",
        json!({
            "mandate": { "IBAN": iban, "bic": "AGRIFRPP882" },
            "note": "prélèvement sur FR76 3000 6000 0112 3456 7890 189",
            "payment_method": "pm_1NqXyz2eZvKYlo2C",
            "amount_minor": 123456,
            "customer": "Dupont",
        }),
        RunAt::In(Duration::from_secs(600)),
    )
    .await;
    let mut client = app.signed_in().await;
    let answer = client
        .post_form(
            &format!("/admin/jobs/{id}/cancel"),
            &[(
                "reason",
                "le client a fourni FR7630006000011234567890189 et tok_visa_abcdef99",
            )],
        )
        .await;
    assert!(flash_after(&mut client, answer)
        .await
        .starts_with(&format!("Tâche #{id} annulée")));

    let page = client.get(&format!("/admin/jobs/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for secret in [iban, "30006000", "3000 6000", "AGRIFRPP", "2eZvKYlo", "visa_abcd"] {
        assert!(!page.body.contains(secret), "{secret} shown on the job page");
    }
    assert!(page.body.contains("••••0189"), "masked, last four shown");
    assert!(
        page.body.contains("123456") && page.body.contains("Dupont"),
        "the rest is shown"
    );
    assert!(page.body.contains("<span id=\"job-state\" class=\"state-cancelled\""));
    assert!(page.body.contains("test.sepa"));
    assert!(
        page.body.contains("par marie@example.fr"),
        "who cancelled, in the error history"
    );
    // The list's last error is masked too.
    let list = client.get("/admin/jobs").await;
    assert!(!list.body.contains(iban) && list.body.contains("••••0189"));

    // Live state as JSON; unknown or malformed ids are 404 pages.
    let live = client.get(&format!("/admin/jobs/{id}/status.json")).await;
    assert_eq!(live.status, 200);
    let live = live.json();
    assert_eq!(
        (live["state"].as_str(), live["done"].as_bool()),
        (Some("cancelled"), Some(true))
    );
    for path in [
        "/admin/jobs/987654",
        "/admin/jobs/987654/status.json",
        "/admin/jobs/abc",
        "/admin/jobs/12.xml",
    ] {
        let answer = client.get(path).await;
        assert_eq!(answer.status, 404, "{path}");
        assert!(answer.body.contains("introuvable"), "{path}: {}", answer.body);
    }
}

async fn progress_is_shown_and_polled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    let id = insert(store, "test.import", "default", json!({}), RunAt::Now).await;
    assert_eq!(claim_all(store).await, [id]);
    assert!(store
        .set_job_progress(id, 1, &json!({ "done": 40, "total": 160 }))
        .await
        .unwrap());
    let mut client = app.signed_in().await;
    let page = client.get(&format!("/admin/jobs/{id}")).await;
    assert!(
        page.body
            .contains(&format!("data-poll=\"/admin/jobs/{id}/status.json\"")),
        "a running job is polled"
    );
    assert!(page.body.contains("value=\"25.0\""), "{}", page.body);
    let live = client.get(&format!("/admin/jobs/{id}/status.json")).await.json();
    assert_eq!(live["progress_percent"], json!(25.0));
    assert_eq!(live["progress_text"], json!("40 / 160 (25 %)"));
    assert_eq!(
        (live["state"].as_str(), live["done"].as_bool()),
        (Some("running"), Some(false))
    );
}

async fn each_action_where_it_is_allowed_and_refused_elsewhere(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    let mut client = app.signed_in().await;
    let a = scheduled(store).await;
    let post = |id: i64, action: &str| format!("/admin/jobs/{id}/{action}");

    // Scheduled → retry now.
    let answer = client.post_form(&post(a, "retry"), &[]).await;
    assert_eq!(answer.location(), Some(format!("/admin/jobs/{a}").as_str()));
    assert!(flash_after(&mut client, answer)
        .await
        .starts_with(&format!("Tâche #{a} relancée")));
    assert_eq!(job(&app, a).await.state, JobState::Available);
    // Available: retrying again is refused, nothing changes.
    let before = job(&app, a).await;
    let answer = client.post_form(&post(a, "retry"), &[]).await;
    assert_eq!(
        flash_after(&mut client, answer).await,
        format!("Refusé : #{a} attend déjà son tour")
    );
    assert_eq!(job(&app, a).await, before);
    // Run at a given time, typed and shown in Paris (UTC+1 in January).
    let answer = client
        .post_form(&post(a, "run_at"), &[("run_at", "2030-01-02T04:04")])
        .await;
    assert!(flash_after(&mut client, answer).await.contains("02/01/2030 04:04:00"));
    let j = job(&app, a).await;
    assert_eq!(
        (j.state, j.run_at.to_rfc3339()),
        (JobState::Scheduled, "2030-01-02T03:04:00+00:00".into())
    );
    // Discard with a reason; then cancel is refused; retry revives it; cancel.
    let answer = client.post_form(&post(a, "discard"), &[("reason", "plus utile")]).await;
    assert!(flash_after(&mut client, answer)
        .await
        .starts_with(&format!("Tâche #{a} écartée")));
    let j = job(&app, a).await;
    assert_eq!(j.state, JobState::Discarded);
    assert_eq!(
        j.errors.last().unwrap().error,
        "plus utile (écartée par marie@example.fr)"
    );
    let answer = client.post_form(&post(a, "cancel"), &[]).await;
    assert_eq!(
        flash_after(&mut client, answer).await,
        format!("Refusé : #{a} est écartée")
    );
    let answer = client.post_form(&post(a, "retry"), &[]).await;
    flash_after(&mut client, answer).await;
    assert_eq!(job(&app, a).await.state, JobState::Available);
    let answer = client.post_form(&post(a, "cancel"), &[("reason", "doublon")]).await;
    flash_after(&mut client, answer).await;
    assert_eq!(job(&app, a).await.state, JobState::Cancelled);

    // Every allowed action left its entry, with what it did.
    let entries = job_audit(&app).await;
    let actions: Vec<&str> = entries.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["job.retry", "job.reschedule", "job.discard", "job.retry", "job.cancel"]
    );
    let target = format!("job:{a}");
    assert!(entries
        .iter()
        .all(|e| e.target == target && e.actor == "marie@example.fr" && e.ip == "127.0.0.1"));
    assert_eq!(entries[4].details["from"], "scheduled");
    assert_eq!(entries[3].details["run_at"], "2030-01-02T03:04:00Z");
    assert_eq!(entries[2].details["reason"], "plus utile");
    assert_eq!(entries[0].details["to"], "cancelled");

    // Completed: everything refused, nothing changed, nothing audited.
    let done = enqueue_now(store, &Noop::default(), EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    app.drain().await;
    let before = job(&app, done).await;
    assert_eq!(before.state, JobState::Completed);
    for action in ["retry", "cancel", "discard", "run_at"] {
        let answer = client
            .post_form(&post(done, action), &[("run_at", "2030-01-01T00:00")])
            .await;
        assert_eq!(
            flash_after(&mut client, answer).await,
            format!("Refusé : #{done} est terminée"),
            "{action}"
        );
    }
    assert_eq!(job(&app, done).await, before);
    // Running: discard, retry, run_at refused; cancel allowed.
    let running = one_running(store).await;
    for action in ["retry", "discard", "run_at"] {
        let answer = client
            .post_form(&post(running, action), &[("run_at", "2030-01-01T00:00")])
            .await;
        assert_eq!(
            flash_after(&mut client, answer).await,
            format!("Refusé : #{running} est en cours")
        );
    }
    assert_eq!(job(&app, running).await.state, JobState::Running);
    let answer = client.post_form(&post(running, "cancel"), &[]).await;
    flash_after(&mut client, answer).await;
    assert_eq!(job(&app, running).await.state, JobState::Cancelled);
    assert_eq!(job_audit(&app).await.len(), 6, "only the allowed actions are audited");

    // Reviving a job whose unique key a newer job holds: refused, told why.
    let old = enqueue_now(
        store,
        &Noop::default(),
        EnqueueOptions::new()
            .unique_key("daily")
            .run_in(Duration::from_secs(60)),
    )
    .await
    .unwrap()
    .id();
    store.cancel_job(old, "replaced").await.unwrap();
    enqueue_now(
        store,
        &Noop::default(),
        EnqueueOptions::new()
            .unique_key("daily")
            .run_in(Duration::from_secs(60)),
    )
    .await
    .unwrap();
    let answer = client.post_form(&post(old, "retry"), &[]).await;
    assert_eq!(
        flash_after(&mut client, answer).await,
        format!("Refusé : #{old} ne peut pas revivre : une autre tâche détient sa clé unique")
    );
    assert_eq!(job(&app, old).await.state, JobState::Cancelled);
    assert_eq!(job_audit(&app).await.len(), 6);

    // Bad requests: named, nothing applied.
    let b = scheduled(store).await;
    let missing = client.post_form(&post(b, "run_at"), &[("run_at", "")]).await;
    assert_eq!(missing.status, 422);
    assert!(
        missing.body.contains("Date et heure : requises pour reprogrammer"),
        "{}",
        missing.body
    );
    let garbled = client
        .post_form(&post(b, "run_at"), &[("run_at", "demain matin")])
        .await;
    assert_eq!(garbled.status, 422);
    assert_eq!(client.post_form(&post(b, "explode"), &[]).await.status, 404);
    assert_eq!(client.post_form(&post(987_654, "retry"), &[]).await.status, 404);
    let no_token = client.post_form_raw(&post(b, "retry"), &[]).await;
    assert_eq!(no_token.status, 403, "a form without its CSRF token");
    assert_eq!(job(&app, b).await.state, JobState::Scheduled);
    assert_eq!(job_audit(&app).await.len(), 6);
}

/// A job claimed by a worker (running, not started).
async fn one_running(store: &Store) -> i64 {
    let running = enqueue_now(store, &Noop::default(), EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    assert_eq!(claim_all(store).await, [running]);
    running
}

async fn bulk_actions_tell_each_outcome(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    let mut client = app.signed_in().await;
    let running = one_running(store).await;
    let waiting = [scheduled(store).await, scheduled(store).await, scheduled(store).await];
    let answer = bulk(
        &mut client,
        bulk_form("retry", &[waiting[0], running, waiting[1], waiting[2]], &[]),
    )
    .await;
    assert_eq!(
        answer.location(),
        Some("/admin/jobs?state=scheduled"),
        "back where the operator was"
    );
    assert_eq!(
        flash_after(&mut client, answer).await,
        format!("3 relancées, 1 refusée : #{running} est en cours")
    );
    for w in waiting {
        assert_eq!(job(&app, w).await.state, JobState::Available);
    }
    assert_eq!(job(&app, running).await.state, JobState::Running);
    assert_eq!(job_audit(&app).await.len(), 3);

    // Run at, with an unknown id and a duplicate.
    let fields = bulk_form(
        "run_at",
        &[waiting[0], 987_654, waiting[0]],
        &[("run_at", "2031-05-06T09:08:09")],
    );
    let answer = bulk(&mut client, fields).await;
    assert_eq!(
        flash_after(&mut client, answer).await,
        "1 reprogrammée, 1 refusée : #987654 introuvable"
    );
    assert_eq!(
        job(&app, waiting[0]).await.run_at.to_rfc3339(),
        "2031-05-06T07:08:09+00:00",
        "typed in Paris, summer time (UTC+2)"
    );

    // Discard two, then cancel all four: the discarded ones are refused.
    let answer = bulk(
        &mut client,
        bulk_form("discard", &waiting[1..], &[("reason", "campagne annulée")]),
    )
    .await;
    assert_eq!(flash_after(&mut client, answer).await, "2 écartées");
    let answer = bulk(
        &mut client,
        bulk_form("cancel", &[running, waiting[0], waiting[1], waiting[2]], &[]),
    )
    .await;
    assert_eq!(
        flash_after(&mut client, answer).await,
        format!(
            "2 annulées, 2 refusées : #{} est écartée ; #{} est écartée",
            waiting[1], waiting[2]
        )
    );
    let entries = job_audit(&app).await;
    let count = |action: &str| entries.iter().filter(|e| e.action == action).count();
    assert_eq!(
        (
            count("job.retry"),
            count("job.reschedule"),
            count("job.discard"),
            count("job.cancel")
        ),
        (3, 1, 2, 2)
    );
    assert!(entries
        .iter()
        .any(|e| e.action == "job.discard" && e.details["reason"] == "campagne annulée"));

    // Nothing checked; bad fields: named, nothing applied.
    let before = job(&app, waiting[0]).await;
    let answer = bulk(&mut client, bulk_form("retry", &[], &[])).await;
    assert_eq!(flash_after(&mut client, answer).await, "Aucune tâche cochée");
    let bad = bulk(&mut client, bulk_form("explode", &[waiting[0]], &[])).await;
    assert_eq!(bad.status, 422);
    assert!(
        unescape(&bad.body).contains("Action : « explode » inconnue"),
        "{}",
        bad.body
    );
    let mut fields = bulk_form("retry", &[waiting[0]], &[]);
    fields.push(("ids".into(), "12abc".into()));
    let bad = bulk(&mut client, fields).await;
    assert_eq!(bad.status, 422);
    assert!(
        unescape(&bad.body).contains("Tâches cochées : « 12abc » n'est pas un numéro de tâche"),
        "{}",
        bad.body
    );
    let bad = bulk(&mut client, bulk_form("run_at", &[waiting[0]], &[])).await;
    assert_eq!(bad.status, 422);
    assert_eq!(job(&app, waiting[0]).await, before);
    assert_eq!(job_audit(&app).await.len(), 8);
    // A `back` elsewhere is not followed.
    let mut fields = bulk_form("retry", &[], &[]);
    fields[1].1 = "https://evil.example/admin/jobs".into();
    assert_eq!(bulk(&mut client, fields).await.location(), Some("/admin/jobs"));
}

/// The bulk form asks first, naming how many jobs of which kinds; the list
/// counts jobs per state, names what each job is about, tells a claimed job
/// from a started one, and keeps all that up to date through `live.json`.
async fn the_list_counts_names_and_asks_before_a_bulk_action(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    let mut client = app.signed_in().await;
    let running = one_running(store).await;
    let waiting = [scheduled(store).await, scheduled(store).await];
    let invoice_job = insert(
        store,
        "billing.send_invoice_email",
        "mail",
        serde_json::json!({ "invoice_id": 42 }),
        RunAt::In(std::time::Duration::from_secs(3600)),
    )
    .await;

    let page = client.get("/admin/jobs").await;
    assert_eq!(page.status, 200);
    let html = unescape(&page.body);
    assert!(
        html.contains(
            "<a href=\"/admin/jobs?state=scheduled\">programmée <strong data-field=\"count.scheduled\">3</strong>"
        ),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"/admin/invoices/42\">facture n° 42</a>"),
        "what the job is about"
    );
    let row = &html[html.find(&format!("<tr id=\"job-{running}\"")).unwrap()..];
    assert!(
        row[..row.find("</tr>").unwrap()].contains("réservée, pas encore commencée"),
        "claimed, not started"
    );
    let live = client.get("/admin/jobs/live.json").await.json();
    assert_eq!(live["count.scheduled"], 3);
    assert_eq!(live["count.running"], 1);
    assert_eq!(live[format!("job.{invoice_job}.state")], "programmée");

    // Asked first: how many, of which kinds, and what will be left alone. Nothing happens.
    let mut fields = bulk_form("retry", &[waiting[0], waiting[1], invoice_job, running], &[]);
    fields.retain(|(k, _)| k != "confirmed");
    let asked = bulk(&mut client, fields).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    let text = unescape(&asked.body);
    assert!(text.contains("Relancer maintenant 4 tâches ?"), "{text}");
    assert!(
        text.contains(
            "<tr data-kind=\"noop\"><td><code>noop</code> Tâche d'essai (ne fait rien)</td><td class=\"n\">3</td>"
        ),
        "{text}"
    );
    assert!(text.contains("programmée : 2, en cours : 1"), "states in words: {text}");
    assert!(text.contains("<tr data-kind=\"billing.send_invoice_email\">"));
    assert!(text.contains("1 ne le permet pas"), "the running one: {text}");
    assert_eq!(job(&app, waiting[0]).await.state, JobState::Scheduled);
    assert!(job_audit(&app).await.is_empty(), "nothing done before the confirmation");
    // The confirmation carries the same choice back.
    let form = &text[text.find("id=\"bulk-confirm-form\"").unwrap()..];
    let form = &form[..form.find("</form>").unwrap()];
    let hidden: Vec<(String, String)> = form
        .match_indices("<input type=\"hidden\" name=\"")
        .map(|(at, m)| {
            let rest = &form[at + m.len()..];
            let name = &rest[..rest.find('"').unwrap()];
            let v = rest.find("value=\"").unwrap() + 7;
            (name.to_string(), rest[v..v + rest[v..].find('"').unwrap()].to_string())
        })
        .filter(|(name, _)| name != "_csrf")
        .collect();
    assert!(hidden.contains(&("confirmed".to_string(), "yes".to_string())));
    assert!(hidden.contains(&("back".to_string(), "/admin/jobs?state=scheduled".to_string())));
    // A `back` from elsewhere does not become the page's "Annuler" link.
    let mut fields = bulk_form("retry", &[waiting[0]], &[]);
    fields.retain(|(k, _)| k != "confirmed");
    fields[1].1 = "javascript:alert(1)".into();
    let asked_elsewhere = bulk(&mut client, fields).await;
    assert!(
        !asked_elsewhere.body.contains("javascript:"),
        "{}",
        asked_elsewhere.body
    );
    assert!(
        unescape(&asked_elsewhere.body).contains("href=\"/admin/jobs\">Annuler</a>"),
        "{}",
        asked_elsewhere.body
    );
    let done = bulk(&mut client, hidden).await;
    assert_eq!(
        flash_after(&mut client, done).await,
        format!("3 relancées, 1 refusée : #{running} est en cours")
    );
}

/// Fails its first attempt, then succeeds; its retry is due at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FailsOnce {}

impl JobKind for FailsOnce {
    const KIND: &'static str = "test.fails_once";
    fn options() -> KindOptions {
        KindOptions {
            backoff: retry::constant_backoff::<1>,
            ..KindOptions::default()
        }
    }
}

impl Job<()> for FailsOnce {
    async fn perform(self, ctx: JobContext<()>) -> JobResult {
        if ctx.job.attempt == 1 {
            return Err(JobError::msg("boom on attempt 1"));
        }
        Ok(Outcome::Done)
    }
}

/// The `data-event` of each line of the job page's timeline, in order.
fn timeline_events(html: &str) -> Vec<String> {
    let start = html
        .find("<ol class=\"timeline\" id=\"job-timeline\">")
        .expect("a timeline");
    let end = start + html[start..].find("</ol>").unwrap();
    html[start..end]
        .match_indices("data-event=\"")
        .map(|(at, m)| {
            let rest = &html[start + at + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// The timeline's text, one line per event, tags dropped.
fn timeline_text(html: &str) -> Vec<String> {
    let start = html
        .find("<ol class=\"timeline\" id=\"job-timeline\">")
        .expect("a timeline");
    let end = start + html[start..].find("</ol>").unwrap();
    html[start..end]
        .split("<li ")
        .skip(1)
        .map(|li| {
            let mut text = String::new();
            let mut in_tag = true; // the rest of the <li tag
            for c in li.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            unescape(&text.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .collect()
}

/// A job that failed once then succeeded: its page tells each attempt with
/// its start, duration and error, the retry scheduled and the end; an
/// operator's cancel is one line with its reason; who asked for a job is
/// said when the journal recorded it. In French, then in English.
async fn a_job_page_tells_its_timeline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    let id = enqueue_now(store, &FailsOnce {}, EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    audit::record(store, &Actor::cli(), Record::new("test.enqueue", format!("job:{id}")))
        .await
        .unwrap();
    let registry = || Registry::<()>::new().register::<FailsOnce>();
    let mut job = self::job(&app, id).await;
    for _ in 0..50 {
        drain(store, registry(), &(), config(1)).await;
        job = self::job(&app, id).await;
        if job.state == JobState::Completed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!((job.state, job.attempt), (JobState::Completed, 2), "{job:?}");
    // The engine kept when the failed attempt started and when its retry was due.
    let failed = &job.errors[0];
    let started = failed.started_at.expect("the failed attempt's start");
    assert!(started <= failed.at, "{failed:?}");
    assert!(failed.retry_at.expect("its retry") >= failed.at, "{failed:?}");

    let mut client = app.signed_in().await;
    let page = client.get(&format!("/admin/jobs/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        timeline_events(&page.body),
        ["created", "attempt", "retry", "attempt", "finished"],
        "{}",
        page.body
    );
    let lines = timeline_text(&page.body);
    let local = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&chrono_tz::Europe::Paris)
            .format("%d/%m/%Y %H:%M:%S")
            .to_string()
    };
    assert_eq!(
        lines[0],
        format!("{} Créée dans la file « default » par cli", local(job.created_at))
    );
    assert!(
        lines[1].starts_with(&format!("{} Tentative 1 — échec au bout de ", local(started))),
        "{lines:?}"
    );
    assert!(
        lines[1].ends_with(&format!(", le {} boom on attempt 1", local(failed.at))),
        "{lines:?}"
    );
    assert!(lines[2].ends_with("Nouvelle tentative prévue"), "{lines:?}");
    assert!(
        lines[3].starts_with(&format!(
            "{} Tentative 2 — réussie en ",
            local(job.started_at.or(job.locked_at).unwrap())
        )),
        "{lines:?}"
    );
    assert_eq!(lines[4], format!("{} Terminée", local(job.finished_at.unwrap())));
    // Durations said as people say them: "3 ms", "1,2 s".
    let said = &lines[1]["Tentative 1 — échec au bout de ".len() + 20..];
    let duration = &said[..said.find(", le").unwrap()];
    assert!(
        duration.ends_with(" ms") || duration.ends_with(" s"),
        "{duration:?} in {lines:?}"
    );

    // An operator's cancel: one line, with its reason.
    let waiting = scheduled(store).await;
    let answer = client
        .post_form(&format!("/admin/jobs/{waiting}/cancel"), &[("reason", "doublon")])
        .await;
    flash_after(&mut client, answer).await;
    let page = client.get(&format!("/admin/jobs/{waiting}")).await;
    assert_eq!(timeline_events(&page.body), ["created", "operator"], "{}", page.body);
    let lines = timeline_text(&page.body);
    assert!(
        lines[1].ends_with("Annulée par marie@example.fr — Motif : doublon"),
        "{lines:?}"
    );

    // In English.
    let mut english = app.signed_in_english().await;
    let page = english.get(&format!("/admin/jobs/{id}")).await;
    let lines = timeline_text(&page.body);
    assert!(lines[0].ends_with("Created in the “default” queue by cli"), "{lines:?}");
    assert!(lines[1].contains("Attempt 1 — failed after "), "{lines:?}");
    assert!(lines[2].ends_with("Retry due"), "{lines:?}");
    assert!(lines[3].contains("Attempt 2 — succeeded in "), "{lines:?}");
    assert!(lines[4].ends_with("Completed"), "{lines:?}");
    let text = unescape(&page.body);
    for french in [
        "Tentative",
        "Historique",
        "Créée",
        "Erreurs",
        "Arguments <small>(valeurs",
    ] {
        assert!(!text.contains(french), "{french} on an English page: {text}");
    }
}

/// Finished jobs are deleted one (after a confirmation) or in bulk (through
/// the confirmation that counts them); a job that has not finished is
/// refused with why, and nothing is deleted; each delete is audited with
/// what the job was.
async fn finished_jobs_are_deleted_and_others_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    let mut client = app.signed_in().await;
    let done = enqueue_now(store, &Noop::default(), EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    app.drain().await;
    assert_eq!(job(&app, done).await.state, JobState::Completed);
    let cancelled = scheduled(store).await;
    store.cancel_job(cancelled, "plus utile").await.unwrap();
    let discarded = insert(
        store,
        "test.sepa",
        "default",
        json!({ "iban": "FR7630006000011234567890189" }),
        RunAt::Now,
    )
    .await;
    store.discard_job(discarded, "abandon").await.unwrap();
    let running = one_running(store).await;
    let waiting = scheduled(store).await;

    // One, from its page: the button is there only for a finished job.
    let page = client.get(&format!("/admin/jobs/{done}")).await;
    assert!(page.body.contains("id=\"job-delete\""), "{}", page.body);
    let page = client.get(&format!("/admin/jobs/{running}")).await;
    assert!(!page.body.contains("id=\"job-delete\""));
    // Asked first, nothing deleted yet.
    let asked = client.post_form(&format!("/admin/jobs/{done}/delete"), &[]).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    let text = unescape(&asked.body);
    assert!(text.contains("Supprimer 1 tâche ?"), "{text}");
    assert!(text.contains("id=\"delete-warning\""), "{text}");
    assert!(
        text.contains(&format!("action=\"/admin/jobs/{done}/delete\"")),
        "{text}"
    );
    assert!(
        text.contains(&format!("href=\"/admin/jobs/{done}\">Annuler</a>")),
        "{text}"
    );
    assert!(text.contains("terminée : 1"), "{text}");
    assert_eq!(job(&app, done).await.state, JobState::Completed);
    // Confirmed: gone, back to the list.
    let answer = client
        .post_form(&format!("/admin/jobs/{done}/delete"), &[("confirmed", "yes")])
        .await;
    assert_eq!(answer.location(), Some("/admin/jobs"));
    assert_eq!(
        flash_after(&mut client, answer).await,
        format!("Tâche #{done} supprimée")
    );
    assert!(matches!(
        store.get_job(done).await,
        Err(comptoir::store::StoreError::NotFound)
    ));
    assert_eq!(client.get(&format!("/admin/jobs/{done}")).await.status, 404);
    assert_eq!(
        client
            .post_form(&format!("/admin/jobs/{done}/delete"), &[("confirmed", "yes")])
            .await
            .status,
        404,
        "deleted already"
    );
    // A job that has not finished: refused with why, confirmed or not.
    for fields in [vec![], vec![("confirmed", "yes")]] {
        let answer = client
            .post_form(&format!("/admin/jobs/{running}/delete"), &fields)
            .await;
        assert_eq!(answer.location(), Some(format!("/admin/jobs/{running}").as_str()));
        assert_eq!(
            flash_after(&mut client, answer).await,
            format!(
                "Refusé : #{running} n'est pas finie (en cours) : seule une tâche terminée, annulée ou écartée peut être supprimée"
            )
        );
    }
    assert_eq!(job(&app, running).await.state, JobState::Running);

    // In bulk: the confirmation counts them and says which will be left.
    let mut fields = bulk_form("delete", &[cancelled, discarded, running, waiting], &[]);
    fields.retain(|(k, _)| k != "confirmed");
    let asked = bulk(&mut client, fields).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    let text = unescape(&asked.body);
    assert!(text.contains("Supprimer 4 tâches ?"), "{text}");
    assert!(text.contains("2 ne le permettent pas dans leur état"), "{text}");
    assert!(text.contains("action=\"/admin/jobs/bulk\""), "{text}");
    assert_eq!(job(&app, cancelled).await.state, JobState::Cancelled);
    let answer = bulk(
        &mut client,
        bulk_form("delete", &[cancelled, discarded, running, waiting], &[]),
    )
    .await;
    assert_eq!(
        flash_after(&mut client, answer).await,
        format!(
            "2 supprimées, 2 refusées : #{running} n'est pas finie (en cours) : seule une tâche terminée, annulée ou écartée peut être supprimée ; #{waiting} n'est pas finie (programmée) : seule une tâche terminée, annulée ou écartée peut être supprimée"
        )
    );
    for gone in [cancelled, discarded] {
        assert!(matches!(
            store.get_job(gone).await,
            Err(comptoir::store::StoreError::NotFound)
        ));
    }
    assert_eq!(job(&app, running).await.state, JobState::Running);
    assert_eq!(job(&app, waiting).await.state, JobState::Scheduled);

    // Audited with what each job was, its args masked.
    let entries: Vec<AuditEntry> = job_audit(&app)
        .await
        .into_iter()
        .filter(|e| e.action == "job.delete")
        .collect();
    assert_eq!(entries.len(), 3);
    let of = |id: i64| entries.iter().find(|e| e.target == format!("job:{id}")).unwrap();
    assert_eq!(of(done).details["from"], "completed");
    assert_eq!(of(done).details["kind"], "noop");
    assert_eq!(of(cancelled).details["from"], "cancelled");
    assert_eq!(of(discarded).details["kind"], "test.sepa");
    assert!(!of(discarded).details.to_string().contains("30006000"), "args masked");
    assert!(entries.iter().all(|e| e.actor == "marie@example.fr"));
}

/// Every sortable column, both ways, over two pages: the rows come in the
/// column's order (then by number), the header says it (`aria-sort`) and
/// links to the reverse, and the filters, the sort and the pages travel
/// together. Only the whitelisted columns are accepted.
async fn the_list_sorts_by_each_column_both_ways(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    let mut ids = Vec::new();
    for i in 0..62u64 {
        let kind = ["b.send", "a.charge", "c.close"][(i % 3) as usize];
        let queue = if i % 4 == 0 { "default" } else { "mail" };
        let run_at = if i % 5 == 0 {
            RunAt::Now
        } else {
            RunAt::In(Duration::from_secs(60 * (i % 7 + 1)))
        };
        ids.push(insert(store, kind, queue, json!({ "n": i }), run_at).await);
    }
    // Some variety in states and attempts.
    store.cancel_job(ids[1], "x").await.unwrap();
    store.discard_job(ids[2], "y").await.unwrap();
    let claimed = claim_all(store).await;
    assert!(!claimed.is_empty());
    let mut client = app.signed_in().await;

    let mut all = Vec::new();
    for id in &ids {
        all.push(job(&app, *id).await);
    }
    let rank = |s: JobState| JobState::ALL.iter().position(|x| *x == s).unwrap();
    for (sort, name) in [
        (0, "id"),
        (1, "kind"),
        (2, "queue"),
        (3, "state"),
        (4, "attempt"),
        (5, "run_at"),
    ] {
        for ascending in [true, false] {
            let mut expected = all.clone();
            expected.sort_by(|a, b| {
                let by = match sort {
                    0 => std::cmp::Ordering::Equal,
                    1 => a.kind.cmp(&b.kind),
                    2 => a.queue.cmp(&b.queue),
                    3 => rank(a.state).cmp(&rank(b.state)),
                    4 => a.attempt.cmp(&b.attempt),
                    _ => a.run_at.cmp(&b.run_at),
                };
                by.then(a.id.cmp(&b.id))
            });
            if !ascending {
                expected.reverse();
            }
            let expected: Vec<i64> = expected.iter().map(|j| j.id).collect();
            let dir = if ascending { "asc" } else { "desc" };
            let path = format!("/admin/jobs?sort={name}&dir={dir}");
            let page = client.get(&path).await;
            assert_eq!(page.status, 200, "{path}: {}", page.body);
            assert_eq!(row_ids(&page.body), expected[..50], "{path}");
            let html = unescape(&page.body);
            let aria = if ascending { "ascending" } else { "descending" };
            assert!(
                html.contains(&format!("data-sort=\"{name}\" aria-sort=\"{aria}\"")),
                "{path}: {html}"
            );
            assert_eq!(html.matches("aria-sort=").count(), 1, "only the sorted header");
            // The header links to the reverse order.
            let header = &html[html.find(&format!("data-sort=\"{name}\"")).unwrap()..];
            let href = &header[header.find("href=\"").unwrap() + 6..];
            let href = &href[..href.find('"').unwrap()];
            // A direction is written only when it is not the column's first
            // (newest first for the number, ascending for the others).
            let reverse = match (name, ascending) {
                ("id", true) => "/admin/jobs".to_string(),
                ("id", false) => "/admin/jobs?dir=asc".to_string(),
                (_, true) => format!("/admin/jobs?sort={name}&dir=desc"),
                (_, false) => format!("/admin/jobs?sort={name}"),
            };
            assert_eq!(href, reverse);
            // The next page keeps the order.
            let next = &html[html.find("rel=\"next\" href=\"").expect("a next page") + 17..];
            let next = &next[..next.find('"').unwrap()];
            assert!(next.contains(&format!("sort={name}")) || name == "id", "{next}");
            let second = client.get(next).await;
            assert_eq!(second.status, 200, "{next}: {}", second.body);
            assert_eq!(row_ids(&second.body), expected[50..], "{next}");
            assert!(!second.body.contains("rel=\"next\""));
        }
    }

    // Filters and sort travel together: the next page, the headers, the
    // state counts, the filter form, the bulk form's way back, live.json.
    let page = client.get("/admin/jobs?queue=mail&sort=run_at&dir=desc").await;
    let html = unescape(&page.body);
    let mail: Vec<&JobRow> = all.iter().filter(|j| j.queue == "mail").collect();
    assert_eq!(row_ids(&page.body).len(), mail.len().min(50));
    assert!(html.contains("href=\"/admin/jobs?queue=mail&sort=kind\""), "{html}");
    assert!(
        html.contains("href=\"/admin/jobs?state=scheduled&sort=run_at&dir=desc\""),
        "{html}"
    );
    assert!(html.contains("<input type=\"hidden\" name=\"sort\" value=\"run_at\">"));
    assert!(html.contains("<input type=\"hidden\" name=\"dir\" value=\"desc\">"));
    assert!(html.contains("name=\"back\" value=\"/admin/jobs?queue=mail&sort=run_at&dir=desc\""));
    assert!(html.contains("data-poll=\"/admin/jobs/live.json?queue=mail&sort=run_at&dir=desc\""));

    // Only the whitelisted columns and directions; a broken cursor is named.
    for path in [
        "/admin/jobs?sort=args",
        "/admin/jobs?sort=id%3BDROP%20TABLE%20comptoir_jobs",
        "/admin/jobs?sort=kind&dir=sideways",
        "/admin/jobs?sort=kind&before=12",
        "/admin/jobs?sort=run_at&before=12&last=soon",
    ] {
        let bad = client.get(path).await;
        assert_eq!(bad.status, 422, "{path}");
        let text = unescape(&bad.body);
        assert!(text.contains("Tri : ") || text.contains("Page : "), "{path}: {text}");
    }
    assert_eq!(store.get_job(ids[0]).await.unwrap().id, ids[0], "still there");
}

/// An operator who reads English sees the jobs pages, their live labels,
/// their flashes and their refusals in English only.
async fn an_english_operator_reads_the_jobs_pages_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = &app.db.store;
    let ready = enqueue_now(store, &Noop::default(), EnqueueOptions::new())
        .await
        .unwrap()
        .id();
    let later = scheduled(store).await;
    let mut client = app.signed_in_english().await;

    let page = client.get("/admin/jobs").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = unescape(&page.body);
    for english in [
        "<h1>Jobs</h1>",
        "Jobs by state",
        ">Filter</button>",
        "For the selected jobs",
        "Delete (finished jobs only)",
        "Test job (does nothing)",
        ">ready</td>",
        ">scheduled</td>",
        "aria-sort=\"descending\"",
    ] {
        assert!(html.contains(english), "{english}: {html}");
    }
    for french in [
        "Tâches",
        "Filtrer",
        "prête",
        "programmée",
        "Aucune",
        "Pour les tâches",
        "<small>jobs",
    ] {
        assert!(!html.contains(french), "{french} on an English page");
    }
    let live = client.get("/admin/jobs/live.json").await.json();
    assert_eq!(live[format!("job.{ready}.state")], "ready");

    let page = client.get(&format!("/admin/jobs/{later}")).await;
    let html = unescape(&page.body);
    for english in [
        "Job #",
        "Retry now",
        "Timeline",
        "Next run due",
        "Lease until",
        "No errors",
    ] {
        assert!(html.contains(english), "{english}: {html}");
    }
    for french in ["Tâche", "Relancer", "Historique", "Prévue", "Aucune erreur"] {
        assert!(!html.contains(french), "{french} on an English page");
    }
    let status = client.get(&format!("/admin/jobs/{later}/status.json")).await.json();
    assert_eq!(status["state_label"], "scheduled");

    // Flashes and refusals.
    let answer = client.post_form(&format!("/admin/jobs/{later}/retry"), &[]).await;
    let said = flash_after(&mut client, answer).await;
    assert!(
        said.starts_with(&format!("Job #{later} retried (now ready, due ")),
        "{said}"
    );
    let answer = client.post_form(&format!("/admin/jobs/{later}/retry"), &[]).await;
    assert_eq!(
        flash_after(&mut client, answer).await,
        format!("Refused: #{later} is already waiting for its turn")
    );
    let answer = client.post_form(&format!("/admin/jobs/{later}/delete"), &[]).await;
    assert_eq!(
        flash_after(&mut client, answer).await,
        format!(
            "Refused: #{later} has not finished (ready): only a completed, cancelled or discarded job can be deleted"
        )
    );
    let mut fields = bulk_form("cancel", &[ready, later], &[]);
    fields.retain(|(k, _)| k != "confirmed");
    let asked = bulk(&mut client, fields).await;
    let text = unescape(&asked.body);
    assert!(text.contains("Cancel 2 jobs?"), "{text}");
    assert!(text.contains("ready: 2"), "{text}");
    let answer = bulk(&mut client, bulk_form("cancel", &[ready, later], &[])).await;
    assert_eq!(flash_after(&mut client, answer).await, "2 cancelled");
    let bad = client.get("/admin/jobs?sort=args").await;
    assert_eq!(bad.status, 422);
    assert!(
        unescape(&bad.body).contains("Sort: unknown column “args”"),
        "{}",
        bad.body
    );
    let bad = client
        .post_form(&format!("/admin/jobs/{later}/run_at"), &[("run_at", "demain")])
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        unescape(&bad.body).contains("Date and time: “demain” is not a date and time"),
        "{}",
        bad.body
    );
}

on_both_backends!(
    the_list_counts_names_and_asks_before_a_bulk_action,
    list_filters_and_pagination,
    a_job_page_shows_everything_but_secrets,
    progress_is_shown_and_polled,
    each_action_where_it_is_allowed_and_refused_elsewhere,
    bulk_actions_tell_each_outcome,
    a_job_page_tells_its_timeline,
    finished_jobs_are_deleted_and_others_refused,
    the_list_sorts_by_each_column_both_ways,
    an_english_operator_reads_the_jobs_pages_in_english,
);
