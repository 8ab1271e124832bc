//! Jobs through the API, on both backends: `POST /api/jobs` enqueues a job
//! of a registered kind with its defaults or the request's (audited,
//! replayed under the same Idempotency-Key, the live job answered for a
//! taken unique key), refuses bad args naming the field, an unknown kind
//! naming the known ones, and bad options field by field with nothing
//! stored; `GET /api/job-kinds` lists the kinds. Every answer is checked
//! against the OpenAPI document.

use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::billing::count;
use crate::support::web::TestApp;
use crate::support::Backend;
use crate::web::api_client::ApiClient;

on_both_backends!(
    jobs_are_enqueued_with_defaults_and_options,
    bad_requests_are_refused_field_by_field,
    the_kinds_are_listed
);

/// The fields a 422 names.
fn fields(answer: &Value) -> Vec<String> {
    answer["error"]["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|f| f["field"].as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The message of the 422's field `name`.
fn message(answer: &Value, name: &str) -> String {
    answer["error"]["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["field"] == name))
        .and_then(|f| f["message"].as_str())
        .unwrap_or_default()
        .to_string()
}

async fn jobs_are_enqueued_with_defaults_and_options(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);

    // The kind's defaults.
    let created = api
        .post("/api/jobs", &json!({"kind": "noop", "args": {"sleep_ms": 5}}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let view = created.json();
    assert_eq!(view["duplicate"], false);
    assert_eq!(
        (
            &view["kind"],
            &view["queue"],
            &view["priority"],
            &view["max_attempts"],
            &view["state"]
        ),
        (
            &json!("noop"),
            &json!("default"),
            &json!(0),
            &json!(25),
            &json!("available")
        )
    );
    assert_eq!(view["unique_key"], Value::Null);
    let id = view["id"].as_i64().expect("an id");
    let job = app.db.store.get_job(id).await.expect("the job");
    assert_eq!(job.args, json!({"sleep_ms": 5}));
    let audit = app.audited("job.enqueue").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].target, format!("job:{id}"));
    assert!(audit[0].actor.starts_with("api:"), "{}", audit[0].actor);
    assert_eq!(audit[0].details["kind"], "noop");

    // `args` left out is `{}`; every option given.
    let later = api
        .post_keyed(
            "/api/jobs",
            &json!({
                "kind": "billing.send_invoice_email",
                "args": {"invoice_id": 7},
                "queue": "mail-later",
                "priority": -4,
                "run_at": "2999-01-01T08:00:00+02:00",
                "unique_key": "invoice-7-mail",
                "max_attempts": 2,
            }),
            "job-1",
        )
        .await;
    assert_eq!(later.status, 201, "{}", later.body);
    let later = later.json();
    assert_eq!(
        (
            &later["queue"],
            &later["priority"],
            &later["max_attempts"],
            &later["state"]
        ),
        (&json!("mail-later"), &json!(-4), &json!(2), &json!("scheduled"))
    );
    assert_eq!(later["run_at"], "2999-01-01T06:00:00Z");
    assert_eq!(later["unique_key"], "invoice-7-mail");

    // The same request under the same key: replayed, not run again.
    let replay = api
        .post_keyed(
            "/api/jobs",
            &json!({
                "kind": "billing.send_invoice_email",
                "args": {"invoice_id": 7},
                "queue": "mail-later",
                "priority": -4,
                "run_at": "2999-01-01T08:00:00+02:00",
                "unique_key": "invoice-7-mail",
                "max_attempts": 2,
            }),
            "job-1",
        )
        .await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json(), later);

    // The unique key taken: the live job answered, nothing inserted.
    let duplicate = api
        .post("/api/jobs", &json!({"kind": "noop", "unique_key": "invoice-7-mail"}))
        .await;
    assert_eq!(duplicate.status, 201, "{}", duplicate.body);
    let duplicate = duplicate.json();
    assert_eq!(duplicate["duplicate"], true);
    assert_eq!(duplicate["id"], later["id"]);
    assert_eq!(duplicate["kind"], "billing.send_invoice_email", "the live job as it is");
    assert_eq!(count(&app.db, "comptoir_jobs").await, 2);
    assert_eq!(
        app.audited("job.enqueue").await.len(),
        3,
        "the duplicate is audited too"
    );

    // A French caller reads the refusals in French.
    let mut french = ApiClient::new(&app, &key).with_language("fr");
    let refused = french.post("/api/jobs", &json!({"kind": "nope"})).await;
    assert_eq!(refused.status, 422);
    assert!(
        message(&refused.json(), "kind").starts_with("type de tâche inconnu : nope"),
        "{}",
        refused.body
    );

    // Without a key: 401.
    let mut stranger = ApiClient::new(&app, "ck_not_a_key");
    assert_eq!(stranger.post("/api/jobs", &json!({"kind": "noop"})).await.status, 401);
    assert_eq!(count(&app.db, "comptoir_jobs").await, 2);
}

async fn bad_requests_are_refused_field_by_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let cases = [
        (json!({"kind": "nope"}), "kind"),
        (json!({"args": {}}), ""),
        (json!({"kind": "noop", "args": [1]}), "args"),
        (json!({"kind": "noop", "args": null}), "args"),
        (json!({"kind": "noop", "args": {"sleep_ms": "soon"}}), "args.sleep_ms"),
        (json!({"kind": "noop", "args": {"unknown": 1}}), "args.unknown"),
        (json!({"kind": "billing.send_invoice_email", "args": {}}), "args"),
        (
            json!({"kind": "billing.send_invoice_email", "args": {"invoice_id": "seven"}}),
            "args.invoice_id",
        ),
        (json!({"kind": "noop", "queue": "   "}), "queue"),
        (json!({"kind": "noop", "queue": "q".repeat(101)}), "queue"),
        (json!({"kind": "noop", "priority": 40000}), "priority"),
        (json!({"kind": "noop", "max_attempts": 0}), "max_attempts"),
        (json!({"kind": "noop", "unique_key": ""}), "unique_key"),
        (json!({"kind": "noop", "run_at": "tomorrow"}), "run_at"),
        (json!({"kind": "noop", "colour": "blue"}), "colour"),
    ];
    for (body, field) in cases {
        let answer = api.post("/api/jobs", &body).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        let json = answer.json();
        assert_eq!(json["error"]["code"], "invalid", "{}", answer.body);
        assert!(
            fields(&json).contains(&field.to_string()),
            "{body} names {field:?}: {}",
            answer.body
        );
    }
    let unknown = api.post("/api/jobs", &json!({"kind": "nope"})).await.json();
    let said = message(&unknown, "kind");
    assert!(said.starts_with("unknown job kind: nope (known kinds: "), "{said}");
    assert!(
        said.contains("noop") && said.contains("billing.send_invoice_email"),
        "{said}"
    );
    let missing = api
        .post("/api/jobs", &json!({"kind": "billing.send_invoice_email", "args": {}}))
        .await
        .json();
    assert!(message(&missing, "args").contains("invoice_id"), "{missing}");
    // Several problems at once.
    let many = api
        .post(
            "/api/jobs",
            &json!({"kind": "noop", "queue": "", "max_attempts": -1, "unique_key": ""}),
        )
        .await
        .json();
    assert_eq!(fields(&many), ["queue", "max_attempts", "unique_key"]);
    let not_json = api.post_raw("/api/jobs", "application/json", "{").await;
    assert_eq!(not_json.status, 400);
    assert_eq!(count(&app.db, "comptoir_jobs").await, 0, "nothing refused is stored");
    assert!(app.audited("job.enqueue").await.is_empty());
}

async fn the_kinds_are_listed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.api_key().await;
    let mut api = ApiClient::new(&app, &key);
    let answer = api.get("/api/job-kinds").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let kinds = answer.json()["kinds"].as_array().cloned().expect("kinds");
    let registry = comptoir::app::registry();
    let names: Vec<&str> = kinds.iter().map(|k| k["kind"].as_str().unwrap_or("?")).collect();
    assert_eq!(names, registry.kinds().collect::<Vec<_>>());
    let noop = kinds.iter().find(|k| k["kind"] == "noop").expect("noop");
    assert_eq!(
        noop,
        &json!({"kind": "noop", "queue": "default", "priority": 0, "max_attempts": 25, "concurrency": null, "rate": null})
    );
    let mail = kinds
        .iter()
        .find(|k| k["kind"] == "billing.send_invoice_email")
        .expect("the invoice e-mail");
    assert_eq!(mail["queue"], "mail");
    let mut stranger = ApiClient::new(&app, "ck_not_a_key");
    assert_eq!(stranger.get("/api/job-kinds").await.status, 401);
}
