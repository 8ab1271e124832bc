//! A local HTTP server standing in for a payment provider: it checks each request against the
//! provider's documented API (see `expect.rs`), records it, and answers what the test scripts,
//! from documented response bodies in `fixtures/`.

mod expect;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;

/// A documented response body, from `fixtures/{name}.json`.
#[macro_export]
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/providers_replay/fixtures/",
            $name,
            ".json"
        ))
    };
}

/// Which API the server speaks, and so which rules requests must follow.
#[derive(Debug, Clone)]
pub enum Api {
    Stripe,
    Paypal { client_id: String, client_secret: String },
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as `application/x-www-form-urlencoded` pairs, decoded.
    pub fn form(&self) -> Vec<(String, String)> {
        decode_form(std::str::from_utf8(&self.body).unwrap_or(""))
    }

    pub fn field(&self, name: &str) -> Option<String> {
        self.form().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

pub fn decode_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the server answers.
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            body: body.into(),
            delay: Duration::ZERO,
            headers: Vec::new(),
        }
    }

    /// Answers only after `delay` (to outlast the client's timeout).
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

/// The test's script: the request, and how many requests with the same method and path came
/// before it.
type Script = dyn Fn(&Recorded, usize) -> Reply + Send + Sync;

struct Shared {
    api: Api,
    script: Box<Script>,
    log: Mutex<Vec<Recorded>>,
    violations: Mutex<Vec<String>>,
}

pub struct Replay {
    pub base: String,
    shared: Arc<Shared>,
}

impl Replay {
    /// Listens on 127.0.0.1, on a free port, until the test's runtime ends.
    pub async fn start(api: Api, script: impl Fn(&Recorded, usize) -> Reply + Send + Sync + 'static) -> Replay {
        let shared = Arc::new(Shared {
            api,
            script: Box::new(script),
            log: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(handle).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("replay server") });
        Replay { base, shared }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().unwrap().clone()
    }

    pub fn requests_to(&self, method: Method, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }

    /// Every way a request strayed from the documented API.
    pub fn violations(&self) -> Vec<String> {
        self.shared.violations.lock().unwrap().clone()
    }

    pub fn assert_followed_the_api(&self) {
        let violations = self.violations();
        assert!(
            violations.is_empty(),
            "requests broke the documented API:\n{}",
            violations.join("\n")
        );
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        method,
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers,
        body,
    };
    let earlier = {
        let mut log = shared.log.lock().unwrap();
        let n = log
            .iter()
            .filter(|r| r.method == recorded.method && r.path == recorded.path)
            .count();
        log.push(recorded.clone());
        n
    };
    let problems = expect::problems(&shared.api, &recorded);
    if !problems.is_empty() {
        let summary = problems.join("; ");
        shared.violations.lock().unwrap().extend(
            problems
                .iter()
                .map(|p| format!("{} {}: {p}", recorded.method, recorded.path)),
        );
        return expect::refusal(&shared.api, &summary);
    }
    let reply = (shared.script)(&recorded, earlier);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = (
        StatusCode::from_u16(reply.status).unwrap(),
        [("content-type", "application/json")],
        reply.body,
    )
        .into_response();
    for (name, value) in reply.headers {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_str(&value).unwrap());
    }
    response
}
