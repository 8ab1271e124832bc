//! A client of the JSON API for the `api_*` tests: it sends the API key, and
//! checks EVERY answer against the OpenAPI document — the status must be
//! documented for the operation, the body must validate against its schema
//! (the error shape for paths the document does not have), and a replay
//! header must be documented. So a drift between the API and its document
//! fails the test that meets it.

use serde_json::Value;

use crate::support::web::{Answer, Client, TestApp};
use crate::web::openapi_schema::Doc;

pub struct ApiClient {
    client: Client,
    base: String,
    http: reqwest::Client,
    doc: Doc,
}

impl ApiClient {
    pub fn new(app: &TestApp, key: &str) -> ApiClient {
        ApiClient {
            client: Client::new(&app.base).with_bearer(key),
            base: app.base.clone(),
            http: reqwest::Client::new(),
            doc: Doc::load(),
        }
    }

    /// The same client, every request saying `Accept-Language: {value}`.
    pub fn with_language(mut self, value: &str) -> ApiClient {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::ACCEPT_LANGUAGE, value.parse().expect("a header value"));
        self.http = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .expect("an HTTP client");
        self
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = self.http.get(format!("{}{path}", self.base));
        let answer = self.client.send(request).await;
        self.check("GET", path, &answer);
        answer
    }

    /// A PUT with a JSON body (no idempotency key: a PUT is idempotent itself).
    pub async fn put(&mut self, path: &str, body: &Value) -> Answer {
        let request = self
            .http
            .put(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        let answer = self.client.send(request).await;
        self.check("PUT", path, &answer);
        answer
    }

    pub async fn post(&mut self, path: &str, body: &Value) -> Answer {
        self.post_with(path, Some(body), None).await
    }

    /// A POST with an `Idempotency-Key`.
    pub async fn post_keyed(&mut self, path: &str, body: &Value, key: &str) -> Answer {
        self.post_with(path, Some(body), Some(key)).await
    }

    /// A POST without a body (contract transitions, capture).
    pub async fn post_empty(&mut self, path: &str) -> Answer {
        self.post_with(path, None, None).await
    }

    pub async fn post_with(&mut self, path: &str, body: Option<&Value>, key: Option<&str>) -> Answer {
        let mut request = self.http.post(format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let answer = self.client.send(request).await;
        self.check("POST", path, &answer);
        answer
    }

    /// A raw body with a content type (for 400s).
    pub async fn post_raw(&mut self, path: &str, content_type: &str, body: &str) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body.to_string());
        let answer = self.client.send(request).await;
        self.check("POST", path, &answer);
        answer
    }

    /// A file as the body (a bank statement), with an optional `Idempotency-Key`.
    pub async fn post_bytes(&mut self, path: &str, content_type: &str, bytes: Vec<u8>, key: Option<&str>) -> Answer {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(bytes);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let answer = self.client.send(request).await;
        self.check("POST", path, &answer);
        answer
    }

    /// Fails the test if `answer` is not what the document says `method path` answers.
    pub fn check(&self, method: &str, path: &str, answer: &Answer) {
        let what = format!("{method} {path} → {}", answer.status);
        assert_eq!(
            answer.header("content-type"),
            Some("application/json"),
            "{what}: not JSON: {}",
            answer.body
        );
        let body: Value = serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{what}: {e}: {}", answer.body));
        let documented = self
            .doc
            .template_of(path)
            .filter(|t| self.doc.root["paths"][t].get(method.to_ascii_lowercase()).is_some());
        let schema = match documented {
            Some(template) => {
                let response = self.doc.response(method, &template, answer.status).unwrap_or_else(|| {
                    panic!("{what}: status not documented for {method} {template}: {}", answer.body)
                });
                if answer.header("idempotent-replayed").is_some() {
                    assert!(
                        response["headers"].get("Idempotent-Replayed").is_some(),
                        "{what}: the replay header is not documented"
                    );
                }
                response["content"]["application/json"]["schema"].clone()
            }
            // Unknown routes and other methods answer the error shape.
            None => {
                assert!(answer.status == 404 || answer.status == 405, "{what}: {}", answer.body);
                serde_json::json!({ "$ref": "#/components/schemas/Error" })
            }
        };
        let problems = self.doc.validate(&schema, &body);
        assert!(
            problems.is_empty(),
            "{what}: the answer does not match the document:\n{}\n{}",
            problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
            serde_json::to_string_pretty(&body).unwrap_or_default()
        );
    }
}
