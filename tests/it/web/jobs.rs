//! The jobs pages: list filters and pages, a job's page with its secrets
//! masked, each action allowed and refused, bulk actions with a mix, and the
//! audit entries they leave.

use std::time::Duration;

use comptoir::audit::{self, AuditEntry, AuditFilter};
use comptoir::jobs::{enqueue_now, EnqueueOptions, JobRow, JobState, Noop};
use comptoir::store::types::{ClaimParams, NewJob, RunAt};
use comptoir::store::Store;
use serde_json::json;

use crate::on_both_backends;
use crate::support::web::{Answer, Client, TestApp};
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
    assert!(bad.body.contains("state"), "{}", bad.body);
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
    assert!(missing.body.contains("run_at"), "{}", missing.body);
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
    assert_eq!(
        flash_after(&mut client, answer).await,
        "Aucune tâche cochée / no job selected"
    );
    let bad = bulk(&mut client, bulk_form("explode", &[waiting[0]], &[])).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("action"));
    let mut fields = bulk_form("retry", &[waiting[0]], &[]);
    fields.push(("ids".into(), "12abc".into()));
    let bad = bulk(&mut client, fields).await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("ids"));
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
        text.contains("<tr data-kind=\"noop\"><td><code>noop</code></td><td class=\"n\">3</td>"),
        "{text}"
    );
    assert!(text.contains("<tr data-kind=\"billing.send_invoice_email\">"));
    assert!(text.contains("1 ne le permet pas"), "the running one: {text}");
    assert_eq!(job(&app, waiting[0]).await.state, JobState::Scheduled);
    assert!(job_audit(&app).await.is_empty(), "nothing done before the confirmation");
    // The confirmation carries the same choice back.
    let hidden: Vec<(String, String)> = text
        .match_indices("<input type=\"hidden\" name=\"")
        .map(|(at, m)| {
            let rest = &text[at + m.len()..];
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

on_both_backends!(
    the_list_counts_names_and_asks_before_a_bulk_action,
    list_filters_and_pagination,
    a_job_page_shows_everything_but_secrets,
    progress_is_shown_and_polled,
    each_action_where_it_is_allowed_and_refused_elsewhere,
    bulk_actions_tell_each_outcome,
);
