//! A real headless Chromium (Debian's chromium and chromium-driver) driven
//! through chromedriver with fantoccini: the driver process, a session with a
//! profile and a download directory of its own, and the waits, downloads and
//! failure reports the browser test needs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

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

/// A browser session.
pub struct Browser {
    client: Client,
    /// Where downloads land.
    pub downloads: PathBuf,
    /// Where the screenshot and the page of a failure go (the test's
    /// directory, kept with `COMPTOIR_TEST_KEEP=1`).
    pub artifacts: PathBuf,
}

/// The flags this machine needs: no sandbox as root, and no background
/// connections (the network is closed).
fn capabilities(binary: &str, profile: &Path, downloads: &Path) -> Capabilities {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": binary,
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
    });
    match capabilities {
        Value::Object(map) => map,
        _ => unreachable!("an object"),
    }
}

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
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities(&binary, &profile, &downloads))
            .connect(&driver.base)
            .await
            .unwrap_or_else(|e| panic!("no session: {e}\n{}", driver.log()));
        Browser {
            client,
            downloads,
            artifacts: dir.to_path_buf(),
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// The attribute `name` of the first element matching `css`.
    pub async fn attribute(&self, css: &str, name: &str) -> String {
        let e = self.find(css).await;
        e.attr(name).await.ok().flatten().unwrap_or_default()
    }

    /// Resizes the window: 390 × 844 is a phone held upright.
    pub async fn set_size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize the window");
    }

    /// The page's serious and critical WCAG 2.1 A/AA violations as axe-core
    /// finds them (injected from tests/browser/node_modules, which
    /// scripts/test installs): one line each, "rule: help (elements)".
    pub async fn axe_violations(&self) -> Vec<String> {
        let path = std::env::var("COMPTOIR_TEST_AXE").unwrap_or_else(|_| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/browser/node_modules/axe-core/axe.min.js"
            )
            .to_string()
        });
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("axe-core not found at {path} ({e}): npm ci --prefix tests/browser (scripts/test does)")
        });
        self.client.execute(&source, vec![]).await.expect("inject axe-core");
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ': ' + v.help + ' (' + v.nodes.slice(0, 4).map(n => n.target.join(' ')).join(', ') + ')')))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("run axe-core");
        found
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_else(|| vec![format!("axe answered {found}")])
    }

    /// How far the page sticks out of the window, if it does: "N px wide in a
    /// W px window (widest: element)".
    pub async fn overflow(&self) -> Option<String> {
        let found = self
            .client
            .execute(
                "const w = document.documentElement.clientWidth;
                 const wide = document.documentElement.scrollWidth;
                 let worst = null;
                 const clipped = e => {
                   for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
                     if (getComputedStyle(p).overflowX !== 'visible') { return true; }
                   }
                   return false;
                 };
                 for (const e of document.querySelectorAll('body *')) {
                   if (clipped(e)) { continue; }
                   const r = e.getBoundingClientRect();
                   if (r.right > w + 1 && (!worst || r.right > worst[1])) {
                     worst = [e.tagName + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''), r.right];
                   }
                 }
                 return [w, wide, worst ? worst[0] : null];",
                vec![],
            )
            .await
            .expect("measure the page");
        let (width, scroll) = (found[0].as_f64().unwrap_or(0.0), found[1].as_f64().unwrap_or(0.0));
        (scroll > width).then(|| format!("{scroll} px wide in a {width} px window (widest: {})", found[2]))
    }

    /// Fails when the page is wider than the window (it would scroll sideways),
    /// naming the widest element that sticks out.
    pub async fn assert_fits_width(&self, page: &str) {
        if let Some(overflow) = self.overflow().await {
            self.fail(&format!("{page} is {overflow}")).await;
        }
    }

    pub async fn current_url(&self) -> String {
        self.client.current_url().await.expect("url").to_string()
    }

    /// The element matching `css`, waiting up to 10 s for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        self.wait_for(css, Duration::from_secs(10)).await
    }

    pub async fn wait_for(&self, css: &str, within: Duration) -> Element {
        let found = self
            .client
            .wait()
            .at_most(within)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(element) => element,
            Err(e) => {
                let at = self.current_url().await;
                self.fail(&format!("no element {css:?} on {at}: {e}")).await
            }
        }
    }

    /// Waits until the text of `css` contains `needle` (live updates, job results).
    pub async fn wait_text(&self, css: &str, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(e) => Some(self.text(&e).await),
                Err(_) => None,
            };
            if let Some(text) = &text {
                if text.contains(needle) {
                    return text.clone();
                }
            }
            if Instant::now() > deadline {
                match text {
                    Some(text) => self.fail(&format!("{css:?} says {text:?}, not {needle:?}")).await,
                    None => self.fail(&format!("no element {css:?}")).await,
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        if let Err(err) = e.click().await {
            self.fail(&format!("click {css:?}: {err}")).await;
        }
    }

    /// Clears a field and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        let _ = e.clear().await;
        if let Err(err) = e.send_keys(text).await {
            self.fail(&format!("type into {css:?}: {err}")).await;
        }
    }

    /// Chooses the option of value `value` of the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]")).await;
    }

    pub async fn text(&self, e: &Element) -> String {
        e.text().await.unwrap_or_default()
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
            // Chromium reserves the final name with an empty file while it
            // writes `….crdownload`: done once no part is left and the file has bytes.
            let writing = names.iter().any(|n| n.ends_with(".crdownload"));
            let complete = |n: &String| std::fs::metadata(self.downloads.join(n)).is_ok_and(|m| m.len() > 0);
            if let Some(name) = names
                .iter()
                .find(|n| accept(n) && !n.ends_with(".crdownload") && !writing && complete(n))
            {
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
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(Path::new(&dir).join(format!("{name}.png")), png);
        }
    }

    /// Saves a screenshot and the page source beside the test's files, then
    /// panics with `why`.
    pub async fn fail(&self, why: &str) -> ! {
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(self.artifacts.join("failure.png"), png);
        }
        let source = self.client.source().await.unwrap_or_default();
        let _ = std::fs::write(self.artifacts.join("page.html"), &source);
        panic!(
            "{why}\n(failure.png and page.html in {}, kept with COMPTOIR_TEST_KEEP=1)\n--- page ---\n{}",
            self.artifacts.display(),
            source.chars().take(4000).collect::<String>()
        )
    }

    /// Ends the session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
