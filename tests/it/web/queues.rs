//! Paused queues on both backends: what the store lists (counts, queues
//! never seen before, the same order everywhere), the jobs page's queues
//! block for a French and an English operator (pause, resume, the flash that
//! says what it means, the audit entries, refusals), and the API
//! (`/api/queues`, pause and resume, idempotent, bad names), every answer
//! checked against the OpenAPI document.

use std::time::Duration;

use comptoir::jobs::{enqueue_now, EnqueueOptions, JobState, Noop};
use comptoir::store::queues::{QueueInfo, QueueName};
use comptoir::store::types::ClaimParams;
use comptoir::store::Store;

use crate::on_both_backends;
use crate::support::web::{Answer, Client, TestApp, EMAIL};
use crate::support::{Backend, TestDb};
use crate::web::api_client::ApiClient;
use crate::web::jobs::unescape;

async fn enqueue_in(store: &Store, queue: &str, opts: EnqueueOptions) -> i64 {
    enqueue_now(store, &Noop::default(), opts.queue(queue))
        .await
        .unwrap()
        .id()
}

fn name(text: &str) -> QueueName {
    QueueName::parse(text).unwrap()
}

fn find<'a>(queues: &'a [QueueInfo], name: &str) -> &'a QueueInfo {
    queues
        .iter()
        .find(|q| q.name == name)
        .unwrap_or_else(|| panic!("{name} not in {queues:?}"))
}

/// The flash of the page a form's answer redirects to.
async fn flash_after(client: &mut Client, answer: Answer) -> String {
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location(), Some("/admin/jobs"));
    let page = client.follow(answer).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let marker = "<p class=\"flash\" role=\"status\">";
    let start = page.body.find(marker).expect("a flash message") + marker.len();
    let end = start + page.body[start..].find("</p>").unwrap();
    unescape(&page.body[start..end])
}

/// The row of `queue` in the page's queues block.
fn queue_row(html: &str, queue: &str) -> String {
    let marker = format!("data-queue=\"{queue}\"");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no row for queue {queue}"));
    let end = at + html[at..].find("</tr>").unwrap();
    unescape(&html[at..end])
}

async fn jobs_page(client: &mut Client) -> String {
    let page = client.get("/admin/jobs").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body
}

// ------------------------------------------------------------------ the store

async fn the_store_lists_queues_with_their_pause_and_counts(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    assert!(store.list_queues().await.unwrap().is_empty(), "nothing yet");

    for _ in 0..3 {
        enqueue_in(store, "alpha", EnqueueOptions::new()).await;
    }
    enqueue_in(store, "alpha", EnqueueOptions::new().run_in(Duration::from_secs(3600))).await;
    enqueue_in(store, "Zeta", EnqueueOptions::new()).await;
    let claimed = store
        .claim_jobs(&ClaimParams {
            queue: "alpha",
            limit: 1,
            rate_room: 1,
            worker_id: "queues-test",
            lease: Duration::from_secs(300),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    // A queue whose jobs all finished is not listed (nothing to pause or count).
    let done = enqueue_in(store, "finished", EnqueueOptions::new()).await;
    store.cancel_job(done, "test").await.unwrap();

    assert!(store.pause_queue(&name("émail"), "someone@example.fr").await.unwrap());
    assert!(
        !store.pause_queue(&name("émail"), "someone-else").await.unwrap(),
        "paused already"
    );
    assert!(store.pause_queue(&name("alpha"), "cli").await.unwrap());
    let before = store.now().await.unwrap();

    let queues = store.list_queues().await.unwrap();
    let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["Zeta", "alpha", "émail"], "by name, bytewise, on both backends");
    let alpha = find(&queues, "alpha");
    assert!(alpha.paused);
    assert_eq!((alpha.waiting, alpha.running), (3, 1), "{alpha:?}");
    assert_eq!(alpha.paused_by.as_deref(), Some("cli"));
    let at = alpha.paused_at.expect("paused_at");
    assert!(
        at <= before && before - at < chrono::TimeDelta::minutes(5),
        "{at} {before}"
    );
    let email = find(&queues, "émail");
    assert_eq!(
        email.paused_by.as_deref(),
        Some("someone@example.fr"),
        "the first pause keeps its author"
    );
    assert_eq!((email.waiting, email.running), (0, 0));
    let zeta = find(&queues, "Zeta");
    assert!(!zeta.paused && zeta.paused_at.is_none() && zeta.paused_by.is_none());
    assert_eq!((zeta.waiting, zeta.running), (1, 0));

    // A paused queue still accepts jobs.
    enqueue_in(store, "alpha", EnqueueOptions::new()).await;
    assert_eq!(store.queue_info(&name("alpha")).await.unwrap().waiting, 4);

    assert!(store.resume_queue(&name("alpha")).await.unwrap());
    assert!(!store.resume_queue(&name("alpha")).await.unwrap(), "not paused");
    assert!(!store.resume_queue(&name("never-seen")).await.unwrap());
    let alpha = store.queue_info(&name("alpha")).await.unwrap();
    assert!(
        !alpha.paused && alpha.paused_at.is_none() && alpha.paused_by.is_none(),
        "{alpha:?}"
    );
    assert_eq!(
        store.queue_info(&name("never-seen")).await.unwrap(),
        QueueInfo::empty("never-seen")
    );
    let state = store.get_job(claimed[0].id).await.unwrap().state;
    assert_eq!(state, JobState::Running, "pausing touches no job");

    // A pause in a transaction that rolls back never happened.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.pause_queue(&name("Zeta"), "cli").await.unwrap());
    assert!(tx.queue_info(&name("Zeta")).await.unwrap().paused, "seen inside");
    tx.rollback().await.unwrap();
    assert!(!store.queue_info(&name("Zeta")).await.unwrap().paused);
}

// ------------------------------------------------------------------ the admin

async fn an_operator_pauses_and_resumes_a_queue(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let store = &app.db.store;
    let job = enqueue_in(store, "billing", EnqueueOptions::new()).await;
    enqueue_in(store, "billing", EnqueueOptions::new()).await;

    let page = jobs_page(&mut client).await;
    assert!(page.contains("id=\"queue-list\""), "{page}");
    let row = queue_row(&page, "billing");
    assert!(row.contains("data-paused=\"no\""), "{row}");
    assert!(row.contains(">active<") && row.contains("Mettre en pause"), "{row}");
    assert!(row.contains("action=\"/admin/jobs/queues/pause\""), "{row}");
    assert!(row.contains("<td class=\"n\">2</td>"), "two waiting: {row}");
    // The worker's queues are there before any job names them.
    assert!(queue_row(&page, "default").contains("Mettre en pause"));

    let answer = client
        .post_form("/admin/jobs/queues/pause", &[("queue", "billing")])
        .await;
    let said = flash_after(&mut client, answer).await;
    assert_eq!(
        said,
        "File « billing » en pause : les tâches y attendent, aucune ne démarre"
    );
    let page = unescape(&jobs_page(&mut client).await);
    let row = queue_row(&page, "billing");
    assert!(row.contains("data-paused=\"yes\""), "{row}");
    assert!(
        row.contains("en pause depuis le ") && row.contains(&format!("(par {EMAIL})")),
        "{row}"
    );
    assert!(
        row.contains("Reprendre") && row.contains("/admin/jobs/queues/resume"),
        "{row}"
    );
    let job_row = &page[page.find(&format!("id=\"job-{job}\"")).unwrap()..];
    let job_row = &job_row[..job_row.find("</tr>").unwrap()];
    assert!(
        job_row.contains("billing <small class=\"warn\">(en pause)</small>"),
        "{job_row}"
    );

    // The dashboard says it too.
    let dashboard = client.get("/admin").await;
    assert_eq!(dashboard.status, 200, "{}", dashboard.body);
    let dashboard = unescape(&dashboard.body);
    assert!(
        dashboard.contains("id=\"paused-queues\"") && dashboard.contains("<code translate=\"no\">billing</code>"),
        "{dashboard}"
    );
    assert!(
        dashboard.contains("billing</a> <small class=\"warn\">(en pause)</small>"),
        "{dashboard}"
    );

    let info = store.queue_info(&name("billing")).await.unwrap();
    assert!(info.paused);
    assert_eq!(info.paused_by.as_deref(), Some(EMAIL));
    let audited = app.audited("queue.pause").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].target, "queue:billing");
    assert_eq!(audited[0].actor, EMAIL);

    // Twice: said so, nothing recorded again.
    let answer = client
        .post_form("/admin/jobs/queues/pause", &[("queue", "billing")])
        .await;
    assert_eq!(flash_after(&mut client, answer).await, "File « billing » déjà en pause");
    assert_eq!(app.audited("queue.pause").await.len(), 1);

    // A queue no job named yet can be paused ahead of its first job.
    let answer = client
        .post_form("/admin/jobs/queues/pause", &[("queue", "imports du soir")])
        .await;
    assert!(flash_after(&mut client, answer)
        .await
        .contains("« imports du soir » en pause"));
    assert!(queue_row(&jobs_page(&mut client).await, "imports du soir").contains("data-paused=\"yes\""));

    // The audit log says it in words, the queue linked to its jobs.
    let log = client.get("/admin/audit?action=queue.").await;
    assert_eq!(log.status, 200, "{}", log.body);
    let log = unescape(&log.body);
    assert!(log.contains("File de tâches mise en pause"), "{log}");
    assert!(
        log.contains("href=\"/admin/jobs?queue=billing\">file billing</a>"),
        "{log}"
    );

    let answer = client
        .post_form("/admin/jobs/queues/resume", &[("queue", "billing")])
        .await;
    assert_eq!(
        flash_after(&mut client, answer).await,
        "File « billing » reprise : ses tâches démarrent de nouveau"
    );
    assert!(!store.queue_info(&name("billing")).await.unwrap().paused);
    let dashboard = unescape(&client.get("/admin").await.body);
    assert!(
        !dashboard.contains("billing</code>"),
        "only imports du soir is paused now"
    );
    assert!(dashboard.contains("imports du soir</code>"), "{dashboard}");
    let resumed = app.audited("queue.resume").await;
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].target, "queue:billing");
    let answer = client
        .post_form("/admin/jobs/queues/resume", &[("queue", "billing")])
        .await;
    assert_eq!(
        flash_after(&mut client, answer).await,
        "File « billing » n'était pas en pause"
    );
    assert_eq!(app.audited("queue.resume").await.len(), 1);
}

async fn bad_queue_forms_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in().await;
    let long = "x".repeat(101);
    for bad in ["", "   ", long.as_str()] {
        let answer = client.post_form("/admin/jobs/queues/pause", &[("queue", bad)]).await;
        assert_eq!(answer.status, 422, "{bad:?}: {}", answer.body);
        assert!(
            unescape(&answer.body).contains("File : un nom de 1 à 100 caractères"),
            "{bad:?}: {}",
            answer.body
        );
    }
    // The form's edge refuses control characters before the name is read.
    let answer = client
        .post_form("/admin/jobs/queues/pause", &[("queue", "a\u{1b}[2Jb")])
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert!(answer.body.contains("U+001B"), "{}", answer.body);
    let answer = client.post_form("/admin/jobs/queues/pause", &[]).await;
    assert_eq!(answer.status, 422, "no queue field: {}", answer.body);
    let answer = client
        .post_form("/admin/jobs/queues/explode", &[("queue", "billing")])
        .await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    // Without the CSRF token, refused.
    let answer = client
        .post_form_raw("/admin/jobs/queues/pause", &[("queue".into(), "billing".into())])
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(app.db.store.list_queues().await.unwrap().is_empty(), "nothing paused");
    assert!(app.audited("queue.pause").await.is_empty());
}

async fn an_english_operator_reads_the_queues_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut client = app.signed_in_english().await;
    enqueue_in(&app.db.store, "billing", EnqueueOptions::new()).await;

    let page = unescape(&jobs_page(&mut client).await);
    assert!(
        page.contains(">Queues<") && page.contains("A paused queue still accepts jobs"),
        "{page}"
    );
    let row = queue_row(&page, "billing");
    assert!(row.contains(">running<") && row.contains(">Pause<"), "{row}");

    let answer = client
        .post_form("/admin/jobs/queues/pause", &[("queue", "billing")])
        .await;
    assert_eq!(
        flash_after(&mut client, answer).await,
        "Queue “billing” paused: its jobs wait there, none starts"
    );
    let page = unescape(&jobs_page(&mut client).await);
    let row = queue_row(&page, "billing");
    assert!(
        row.contains("paused since ") && row.contains(&format!("(by {EMAIL})")),
        "{row}"
    );
    assert!(row.contains(">Resume<"), "{row}");
    assert!(page.contains("<small class=\"warn\">(paused)</small>"), "{page}");
    for french in ["Mettre en pause", "Reprendre", "en pause", "attendent", "En attente"] {
        assert!(!page.contains(french), "{french:?} on an English page");
    }
    let log = unescape(&client.get("/admin/audit").await.body);
    assert!(
        log.contains("Job queue paused") && log.contains(">queue billing</a>"),
        "{log}"
    );

    let answer = client
        .post_form("/admin/jobs/queues/resume", &[("queue", "billing")])
        .await;
    assert_eq!(
        flash_after(&mut client, answer).await,
        "Queue “billing” resumed: its jobs start again"
    );
    let answer = client.post_form("/admin/jobs/queues/pause", &[("queue", " ")]).await;
    assert_eq!(answer.status, 422);
    assert!(
        unescape(&answer.body).contains("Queue: a name of 1 to 100 characters"),
        "{}",
        answer.body
    );
}

// -------------------------------------------------------------------- the API

async fn the_api_lists_pauses_and_resumes_queues(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    enqueue_in(&app.db.store, "billing", EnqueueOptions::new()).await;

    let list = api.get("/api/queues").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let list = list.json();
    let queues = list["queues"].as_array().unwrap();
    let billing = queues.iter().find(|q| q["name"] == "billing").expect("billing listed");
    assert_eq!(billing["paused"], false);
    assert_eq!(billing["waiting"], 1);
    assert!(
        queues.iter().any(|q| q["name"] == "default"),
        "the worker's queues: {list}"
    );

    let paused = api.post_empty("/api/queues/billing/pause").await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    let paused = paused.json();
    assert_eq!(paused["changed"], true);
    assert_eq!(paused["queue"]["name"], "billing");
    assert_eq!(paused["queue"]["paused"], true);
    assert_eq!(paused["queue"]["waiting"], 1);
    let by = paused["queue"]["paused_by"].as_str().unwrap().to_string();
    assert!(by.starts_with("api:"), "{by}");
    assert!(paused["queue"]["paused_at"].is_string());

    let again = api.post_empty("/api/queues/billing/pause").await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["changed"], false);
    assert_eq!(again.json()["queue"]["paused_by"], by.as_str());

    // Percent-encoded names, and one no job named yet.
    let spaced = api.post_empty("/api/queues/imports%20du%20soir/pause").await;
    assert_eq!(spaced.status, 200, "{}", spaced.body);
    assert_eq!(spaced.json()["queue"]["name"], "imports du soir");
    assert_eq!(spaced.json()["queue"]["waiting"], 0);

    // Under an Idempotency-Key, the answer is replayed.
    let first = api.post_with("/api/queues/mail/pause", None, Some("q-1")).await;
    assert_eq!(first.status, 200);
    let replay = api.post_with("/api/queues/mail/pause", None, Some("q-1")).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json(), first.json());

    let list = api.get("/api/queues").await.json();
    let paused_names: Vec<&str> = list["queues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["paused"] == true)
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(paused_names, ["billing", "imports du soir", "mail"]);

    let resumed = api.post_empty("/api/queues/billing/resume").await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    assert_eq!(resumed.json()["changed"], true);
    assert_eq!(resumed.json()["queue"]["paused"], false);
    assert!(resumed.json()["queue"]["paused_by"].is_null());
    let twice = api.post_empty("/api/queues/billing/resume").await;
    assert_eq!(twice.json()["changed"], false);

    let targets: Vec<String> = app.audited("queue.pause").await.into_iter().map(|e| e.target).collect();
    assert_eq!(targets, ["queue:mail", "queue:imports du soir", "queue:billing"]);
    let resumes = app.audited("queue.resume").await;
    assert_eq!(resumes.len(), 1);
    assert_eq!(resumes[0].actor, by);
}

async fn the_api_refuses_bad_queue_names(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let long = "x".repeat(101);
    for bad in ["%20", "%20%20%09", long.as_str(), "a%00b", "a%0Ab"] {
        for action in ["pause", "resume"] {
            let answer = api.post_empty(&format!("/api/queues/{bad}/{action}")).await;
            assert_eq!(answer.status, 422, "{bad}: {}", answer.body);
            let error = &answer.json()["error"];
            assert_eq!(error["code"], "invalid");
            assert_eq!(error["fields"][0]["field"], "name", "{bad}: {}", answer.body);
        }
    }
    let french = ApiClient::new(&app, &key)
        .with_language("fr")
        .post_empty("/api/queues/%20/pause")
        .await;
    assert!(
        french.body.contains("un nom de file de 1 à 100 caractères"),
        "{}",
        french.body
    );
    assert!(app.db.store.list_queues().await.unwrap().is_empty(), "nothing paused");
    assert!(app.audited("queue.pause").await.is_empty());
    let anonymous = app.client().get("/api/queues").await;
    assert_eq!(anonymous.status, 401);
}

on_both_backends!(
    the_store_lists_queues_with_their_pause_and_counts,
    an_operator_pauses_and_resumes_a_queue,
    bad_queue_forms_are_refused,
    an_english_operator_reads_the_queues_in_english,
    the_api_lists_pauses_and_resumes_queues,
    the_api_refuses_bad_queue_names,
);
