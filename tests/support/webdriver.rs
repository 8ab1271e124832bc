//! Just enough W3C WebDriver to drive a real headless Chromium through
//! chromedriver (Debian's chromium and chromium-driver): sessions, navigation,
//! elements by CSS selector, clicks, typing, text, waiting, screenshots.
//! Spoken over HTTP with reqwest; no browser-automation crate.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The W3C name of the key that holds an element's id in answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// `chromedriver` on a free port, killed on drop.
pub struct ChromeDriver {
    child: Child,
    pub base: String,
    log: PathBuf,
}

fn find_program(env: &str, candidates: &[&str]) -> Option<String> {
    if let Ok(p) = std::env::var(env) {
        return Some(p);
    }
    candidates.iter().find(|c| Path::new(c).exists()).map(|c| c.to_string())
}

impl ChromeDriver {
    /// Starts chromedriver (`COMPTOIR_TEST_CHROMEDRIVER`, else /usr/bin/chromedriver).
    pub async fn start(dir: &Path) -> ChromeDriver {
        let program = find_program("COMPTOIR_TEST_CHROMEDRIVER", &["/usr/bin/chromedriver"])
            .expect("chromedriver not found: apt-get install chromium chromium-driver (scripts/test does)");
        let port = super::smtp::free_port();
        let log = dir.join("chromedriver.log");
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = ChromeDriver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{}/status", driver.base)).send().await {
                if let Ok(v) = r.json::<Value>().await {
                    if v["value"]["ready"] == true {
                        return driver;
                    }
                }
            }
            assert!(Instant::now() < deadline, "chromedriver never ready: {}", driver.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session; closed on drop (best effort).
pub struct Browser {
    http: reqwest::Client,
    url: String,
    /// Where downloads land.
    pub downloads: PathBuf,
    /// Where screenshots of failures go.
    pub artifacts: PathBuf,
}

/// An element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// A new headless Chromium with its own profile and download directory.
    pub async fn new(driver: &ChromeDriver, dir: &Path) -> Browser {
        let binary = find_program(
            "COMPTOIR_TEST_CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        )
        .expect("chromium not found: apt-get install chromium chromium-driver (scripts/test does)");
        let downloads = dir.join("downloads");
        let profile = dir.join("profile");
        std::fs::create_dir_all(&downloads).unwrap();
        std::fs::create_dir_all(&profile).unwrap();
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": binary,
                    // The flags this machine needs: no sandbox as root, and no
                    // background connections (the network is closed).
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                        format!("--user-data-dir={}", profile.display()),
                    ],
                    "prefs": {
                        "download.default_directory": downloads.display().to_string(),
                        "download.prompt_for_download": false,
                        "plugins.always_open_pdf_externally": true,
                    },
                },
            }},
        });
        let http = reqwest::Client::new();
        let answer: Value = http
            .post(format!("{}/session", driver.base))
            .json(&capabilities)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("new session answer");
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}\n{}", driver.log()));
        Browser {
            http,
            url: format!("{}/session/{id}", driver.base),
            downloads,
            artifacts: dir.to_path_buf(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match answer["value"].get("error") {
            Some(error) => Err(format!("{error}: {}", answer["value"]["message"])),
            None => Ok(answer["value"].clone()),
        }
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await.expect("navigate");
    }

    pub async fn current_url(&self) -> String {
        self.get("/url")
            .await
            .expect("url")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn source(&self) -> String {
        self.get("/source")
            .await
            .expect("source")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The first element matching `css`, if any, now.
    pub async fn try_find(&self, css: &str) -> Option<Element> {
        let found = self
            .post("/element", json!({ "using": "css selector", "value": css }))
            .await
            .ok()?;
        found[ELEMENT].as_str().map(|id| Element(id.to_string()))
    }

    /// The element matching `css`, waiting up to 10 s for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        self.wait_for(css, Duration::from_secs(10)).await
    }

    pub async fn wait_for(&self, css: &str, within: Duration) -> Element {
        let deadline = Instant::now() + within;
        loop {
            if let Some(e) = self.try_find(css).await {
                return e;
            }
            if Instant::now() > deadline {
                self.fail(&format!("no element {css:?} on {}", self.current_url().await))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the text of `css` contains `needle` (live updates, job results).
    pub async fn wait_text(&self, css: &str, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(e) = self.try_find(css).await {
                let text = self.text(&e).await;
                if text.contains(needle) {
                    return text;
                }
                if Instant::now() > deadline {
                    self.fail(&format!("{css:?} says {text:?}, not {needle:?}")).await;
                }
            } else if Instant::now() > deadline {
                self.fail(&format!("no element {css:?}")).await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        if let Err(err) = self.post(&format!("/element/{}/click", e.0), json!({})).await {
            self.fail(&format!("click {css:?}: {err}")).await;
        }
    }

    /// Clears a field and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        let _ = self.post(&format!("/element/{}/clear", e.0), json!({})).await;
        if let Err(err) = self
            .post(&format!("/element/{}/value", e.0), json!({ "text": text }))
            .await
        {
            self.fail(&format!("type into {css:?}: {err}")).await;
        }
    }

    /// Chooses the option of value `value` of the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]")).await;
    }

    pub async fn text(&self, e: &Element) -> String {
        self.get(&format!("/element/{}/text", e.0))
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub async fn text_of(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.text(&e).await
    }

    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let e = self.find(css).await;
        self.get(&format!("/element/{}/attribute/{name}", e.0))
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    }

    /// Waits for a file to finish downloading (no `.crdownload` left) whose
    /// name satisfies `accept`; returns its path.
    pub async fn downloaded(&self, accept: impl Fn(&str) -> bool, within: Duration) -> PathBuf {
        let deadline = Instant::now() + within;
        loop {
            let names: Vec<String> = std::fs::read_dir(&self.downloads)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            if let Some(name) = names.iter().find(|n| accept(n) && !n.ends_with(".crdownload")) {
                return self.downloads.join(name);
            }
            if Instant::now() > deadline {
                self.fail(&format!("no download arrived; the folder has {names:?}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// With `COMPTOIR_TEST_SCREENSHOTS=<dir>`, saves a screenshot of the page
    /// as `<dir>/<name>.png` (to look at the admin as the test saw it).
    pub async fn shot(&self, name: &str) {
        let Ok(dir) = std::env::var("COMPTOIR_TEST_SCREENSHOTS") else {
            return;
        };
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(png) = self.get("/screenshot").await {
            if let Some(bytes) = png.as_str().and_then(base64_decode) {
                let _ = std::fs::write(Path::new(&dir).join(format!("{name}.png")), bytes);
            }
        }
    }

    /// Saves a screenshot and the page source, then panics with `why`.
    pub async fn fail(&self, why: &str) -> ! {
        let shot = self.artifacts.join("failure.png");
        if let Ok(png) = self.get("/screenshot").await {
            if let Some(b64) = png.as_str() {
                if let Some(bytes) = base64_decode(b64) {
                    let _ = std::fs::write(&shot, bytes);
                }
            }
        }
        let source = self.source().await;
        let kept = std::env::temp_dir().join(format!("comptoir-browser-failure-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&kept);
        let _ = std::fs::copy(&shot, kept.join("failure.png"));
        let _ = std::fs::write(kept.join("page.html"), &source);
        panic!(
            "{why}\n(screenshot and page kept in {})\n--- page ---\n{}",
            kept.display(),
            &source[..source.len().min(4000)]
        )
    }

    pub async fn close(&self) {
        let _ = self.call(reqwest::Method::DELETE, "", None).await;
    }
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buf = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}
