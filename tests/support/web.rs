//! The web app served in-process on a fresh database, and an HTTP client
//! that keeps its cookies and fills in the CSRF token, like a browser would.

use comptoir::app::AppContext;
use comptoir::audit::{AuditEntry, AuditFilter};
use comptoir::jobs::{JobFilter, JobRow, Report};
use comptoir::web::{AppState, WebConfig};

use super::worker::{app_context, drain_app};
use super::{Backend, TestDb};

/// The operator every signed-in test uses.
pub const EMAIL: &str = "marie@example.fr";
pub const PASSWORD: &str = "correct horse battery staple";

/// The app on `127.0.0.1:<ephemeral>`, no worker (tests drain explicitly).
pub struct TestApp {
    pub db: TestDb,
    pub base: String,
    pub ctx: AppContext,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, |_| None).await
    }

    pub async fn spawn_with(backend: Backend, lookup: impl Fn(&str) -> Option<String>) -> TestApp {
        let db = TestDb::new(backend).await;
        let ctx = app_context(&db, lookup);
        TestApp::serve(db, ctx).await
    }

    /// The app with its e-mails sent to `smtp`, a real SMTP server.
    pub async fn spawn_with_smtp(backend: Backend, smtp: &super::smtp::SmtpServer) -> TestApp {
        let db = TestDb::new(backend).await;
        let mut ctx = app_context(&db, |_| None);
        let config = comptoir::mail::MailConfig::smtp(None, "127.0.0.1", smtp.port, comptoir::mail::SmtpTls::None)
            .with_from("Comptoir <comptoir@example.fr>")
            .expect("mail config");
        ctx.mailer = comptoir::mail::Mailer::new(config).expect("mailer");
        TestApp::serve(db, ctx).await
    }

    pub async fn serve(db: TestDb, ctx: AppContext) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let base = format!("http://{address}");
        let web = WebConfig {
            listen: Some(address),
            ..WebConfig::default()
        };
        let state = AppState::new(db.store.clone(), ctx.clone(), web).expect("templates");
        let server = tokio::spawn(async move {
            let _ = comptoir::web::serve(listener, state, std::future::pending()).await;
        });
        TestApp { db, base, ctx, server }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A client with no cookies.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// Creates the test operator (once) and returns a client signed in as it.
    pub async fn signed_in(&self) -> Client {
        let new = comptoir::auth::NewOperator {
            email: EMAIL.into(),
            name: "Marie Dupont".into(),
            password: PASSWORD.into(),
        };
        match comptoir::auth::create_operator(&self.db.store, &new).await {
            Ok(_) | Err(comptoir::auth::AuthError::Exists(_)) => {}
            Err(e) => panic!("create operator: {e}"),
        }
        let mut client = self.client();
        client.sign_in(EMAIL, PASSWORD).await;
        client
    }

    /// A client signed in as the test operator, who reads the admin in English.
    pub async fn signed_in_english(&self) -> Client {
        let mut client = self.signed_in().await;
        let answer = client
            .post_form("/admin/language", &[("language", "en"), ("back", "/admin")])
            .await;
        assert_eq!(answer.status, 303, "{}", answer.text());
        client
    }

    /// An API key (`ck_…`) of the test operator.
    pub async fn api_key(&self) -> String {
        let new = comptoir::auth::NewOperator {
            email: "api-owner@example.fr".into(),
            name: "API owner".into(),
            password: PASSWORD.into(),
        };
        let operator = match comptoir::auth::create_operator(&self.db.store, &new).await {
            Ok(op) => op,
            Err(comptoir::auth::AuthError::Exists(_)) => comptoir::auth::list_operators(&self.db.store)
                .await
                .unwrap()
                .into_iter()
                .find(|o| o.email == "api-owner@example.fr")
                .unwrap(),
            Err(e) => panic!("create operator: {e}"),
        };
        comptoir::auth::create_key(&self.db.store, operator.id, "tests")
            .await
            .expect("api key")
            .secret
    }

    /// `comptoir-web ARGS` on this app's database, as an operator would run
    /// it on the server (printed links point to this app);
    /// `COMPTOIR_ADMIN_PASSWORD` is `password`, if given.
    pub async fn web_cli(&self, args: &[&str], password: Option<&str>) -> std::process::Output {
        let mut command = self.cli_command(env!("CARGO_BIN_EXE_comptoir-web"), args);
        command.stdin(std::process::Stdio::null());
        if let Some(password) = password {
            command.env("COMPTOIR_ADMIN_PASSWORD", password);
        }
        tokio::task::spawn_blocking(move || command.output().expect("run comptoir-web"))
            .await
            .expect("comptoir-web task")
    }

    /// The audit log's entries of `action`, newest first.
    pub async fn audited(&self, action: &str) -> Vec<AuditEntry> {
        let filter = AuditFilter {
            action: Some(action.into()),
            limit: 50,
            ..Default::default()
        };
        comptoir::audit::list(&self.db.store, &filter).await.expect("audit log")
    }

    /// The jobs of `kind`, whatever their state.
    pub async fn jobs_of(&self, kind: &str) -> Vec<JobRow> {
        let filter = JobFilter {
            kind: Some(kind.into()),
            limit: 50,
            ..Default::default()
        };
        self.db.store.list_jobs(&filter).await.expect("list jobs")
    }

    /// `program ARGS` with the environment of [`TestApp::web_cli`] and no
    /// `COMPTOIR_ADMIN_PASSWORD` (e.g. `script` running `comptoir-web` on a
    /// pseudo-terminal).
    pub fn cli_command(&self, program: &str, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(program);
        command.env(comptoir::billing::seal::KEY_ENV, crate::support::book_key_path());
        command
            .args(args)
            .env("DATABASE_URL", &self.db.url)
            .env("COMPTOIR_PUBLIC_URL", &self.base)
            .env("COMPTOIR_DATA_DIR", self.db.dir.path().join("cli-data"))
            .env("RUST_LOG", "warn")
            .env_remove("COMPTOIR_ADMIN_PASSWORD");
        command
    }

    /// The database's today (what the app dates things with).
    pub async fn today(&self) -> chrono::NaiveDate {
        self.db.store.now().await.expect("now").date_naive()
    }

    /// Runs every due job with the product's registry, then returns.
    pub async fn drain(&self) -> Report {
        drain_app(&self.db.store, &self.ctx).await
    }
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The body with the HTML escapes of the templates undone, to look
    /// for a message as the operator reads it.
    pub fn text(&self) -> String {
        self.body
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#x2f;", "/")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    /// Where a redirect goes.
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }
}

/// An HTTP client with a cookie store of its own and the CSRF token of its
/// session (read from the last page that carried one).
pub struct Client {
    base: String,
    http: reqwest::Client,
    cookies: std::collections::BTreeMap<String, String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            cookies: Default::default(),
            csrf: None,
            bearer: None,
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.get(name).cloned()
    }

    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_string(), value.to_string());
    }

    pub fn with_bearer(mut self, key: &str) -> Client {
        self.bearer = Some(key.to_string());
        self
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// GET `path` as this client (its cookies), the body as bytes (a file to download).
    pub async fn download(&self, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let answer = self
            .http
            .get(self.url(path))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("download");
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        (status, headers, answer.bytes().await.expect("body").to_vec())
    }

    pub async fn send(&mut self, mut request: reqwest::RequestBuilder) -> Answer {
        if !self.cookies.is_empty() {
            request = request.header("cookie", self.cookie_header());
        }
        if let Some(key) = &self.bearer {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let response = request.send().await.expect("request");
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap_or("");
            let pair = text.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || text.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_string(), value.to_string());
                }
            }
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        if let Some(token) = csrf_in(&body) {
            self.csrf = Some(token);
        }
        Answer { status, headers, body }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = self.http.get(self.url(path));
        self.send(request).await
    }

    /// Follows redirects (303s after forms) until a non-redirect answer.
    pub async fn follow(&mut self, mut answer: Answer) -> Answer {
        for _ in 0..10 {
            match (answer.status, answer.location().map(str::to_string)) {
                (301 | 302 | 303 | 307 | 308, Some(location)) => answer = self.get(&location).await,
                _ => return answer,
            }
        }
        panic!("too many redirects")
    }

    /// Posts a URL-encoded form with the session's CSRF token added.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut fields: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if let Some(token) = &self.csrf {
            fields.push(("_csrf".into(), token.clone()));
        }
        self.post_form_raw(path, &fields).await
    }

    /// Posts a form exactly as given (no CSRF token added).
    pub async fn post_form_raw(&mut self, path: &str, fields: &[(String, String)]) -> Answer {
        let body = serde_urlencoded::to_string(fields).expect("form");
        let request = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// Posts a multipart form with one file; the CSRF token goes in the query.
    pub async fn post_file(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file_field: &str,
        filename: &str,
        bytes: &[u8],
    ) -> Answer {
        let boundary = format!("comptoir{:016x}", fastrand::u64(..));
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &self.csrf {
            Some(token) => format!("{}{path}{sep}_csrf={token}", self.base),
            None => self.url(path),
        };
        let request = self
            .http
            .post(url)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        self.send(request).await
    }

    /// Signs in through the form, as a browser does.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        let page = self.get("/admin/login").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let answer = self
            .post_form(
                "/admin/login",
                &[("email", email), ("password", password), ("next", "/admin")],
            )
            .await;
        assert_eq!(answer.status, 303, "sign-in refused: {}", answer.body);
        // The session's own CSRF token comes with the first page.
        let home = self.get("/admin").await;
        assert_eq!(home.status, 200, "{}", home.body);
        answer
    }
}

/// A command's standard output, trimmed.
pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The value of the first `name="_csrf"` hidden field of a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"_csrf\"")?;
    let rest = &html[at..];
    let value = rest.find("value=\"")? + "value=\"".len();
    let end = rest[value..].find('"')?;
    Some(rest[value..value + end].to_string())
}
