//! Reading the billing pages in tests: an element's text by its id, the
//! value of a form field, the id at the end of a redirect, a PDF's text.

use crate::support::web::{Client, TestApp};

/// The text of the element whose `id` is given, tags stripped, entities
/// decoded, blanks collapsed; `None` when there is no such element.
pub fn text_by_id(html: &str, id: &str) -> Option<String> {
    element_by(html, &format!("id=\"{id}\"")).map(|inner| plain(&inner))
}

/// The inner HTML of the first element carrying `attribute` (`id="x"`).
pub fn element_by(html: &str, attribute: &str) -> Option<String> {
    let at = html.find(attribute)?;
    let open = html[..at].rfind('<')?;
    let name: String = html[open + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let start = at + html[at..].find('>')? + 1;
    let (open_tag, close_tag) = (format!("<{name}"), format!("</{name}>"));
    let mut depth = 1;
    let mut i = start;
    while depth > 0 {
        let next_open = html[i..].find(&open_tag).map(|p| p + i);
        let next_close = html[i..].find(&close_tag).map(|p| p + i)?;
        match next_open {
            Some(o) if o < next_close => {
                depth += 1;
                i = o + open_tag.len();
            }
            _ => {
                depth -= 1;
                if depth == 0 {
                    return Some(html[start..next_close].to_string());
                }
                i = next_close + close_tag.len();
            }
        }
    }
    None
}

/// Text without tags, with the few entities the templates produce decoded.
pub fn plain(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = decode(&out).replace('\u{a0}', " ");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The entities minijinja's escaping produces, decoded.
pub fn decode(text: &str) -> String {
    text.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Where the "next page" link goes.
pub fn next_page(html: &str) -> Option<String> {
    let at = html.find("rel=\"next\" href=\"")? + "rel=\"next\" href=\"".len();
    let len = html[at..].find('"')?;
    Some(decode(&html[at..at + len]))
}

/// The `value` of the input named `name` in `html`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let open = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[open..end];
    let v = tag.find("value=\"")? + "value=\"".len();
    let len = tag[v..].find('"')?;
    Some(tag[v..v + len].to_string())
}

/// The number at the end of a redirect's location (`/admin/invoices/12` → 12).
pub fn id_in(location: Option<&str>) -> i64 {
    let location = location.expect("a redirect");
    location
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no id at the end of {location}"))
}

/// A GET answered with raw bytes (a PDF), with the client's session.
pub async fn get_bytes(app: &TestApp, client: &Client, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let session = client.cookie("comptoir_session").expect("signed in");
    let response = reqwest::Client::new()
        .get(app.url(path))
        .header("cookie", format!("comptoir_session={session}"))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body").to_vec();
    (status, headers, bytes)
}

/// Audit actions recorded on `target`, oldest first.
pub async fn audit_actions(app: &TestApp, target: &str) -> Vec<String> {
    let entries = comptoir::audit::list(
        &app.db.store,
        &comptoir::audit::AuditFilter {
            target: Some(target.to_string()),
            limit: 100,
            ..Default::default()
        },
    )
    .await
    .expect("audit");
    let mut actions: Vec<(i64, String)> = entries
        .into_iter()
        .filter(|e| e.target == target)
        .inspect(|e| {
            assert_eq!(e.actor, crate::support::web::EMAIL, "who");
            assert_eq!(e.ip, "127.0.0.1", "from where");
        })
        .map(|e| (e.id, e.action))
        .collect();
    actions.sort();
    actions.into_iter().map(|(_, a)| a).collect()
}

#[test]
fn reading_elements() {
    let html = r#"<dl><dd id="x" data-s="1"><span class="a">payée <small>paid</small></span></dd><dd>other</dd></dl>
        <input name="key" value="abc">"#;
    assert_eq!(text_by_id(html, "x").as_deref(), Some("payée paid"));
    assert_eq!(text_by_id(html, "y"), None);
    assert_eq!(input_value(html, "key").as_deref(), Some("abc"));
    assert_eq!(id_in(Some("/admin/invoices/12")), 12);
}
