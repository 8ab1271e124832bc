//! A real SMTP server on loopback (aiosmtpd, Debian's python3-aiosmtpd)
//! delivering into a maildir, and the messages read back (with `mailparse`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- the server

/// An aiosmtpd process delivering into a maildir, killed on drop.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
    dir: super::TestDir,
}

pub fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let candidates = std::env::var("COMPTOIR_TEST_PYTHON")
            .into_iter()
            .chain(["python3".to_string(), "/usr/bin/python3".to_string()]);
        for candidate in candidates {
            let ok = Command::new(&candidate)
                .args(["-c", "import aiosmtpd"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return candidate;
            }
        }
        panic!("no python3 with aiosmtpd: apt-get install python3-aiosmtpd (or set COMPTOIR_TEST_PYTHON)")
    })
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        SmtpServer::start_on(free_port()).await
    }

    pub async fn start_on(port: u16) -> SmtpServer {
        let dir = super::TestDir::with_prefix("comptoir-smtp-");
        let maildir = dir.path().join("maildir");
        let log = std::fs::File::create(dir.path().join("aiosmtpd.log")).unwrap();
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start aiosmtpd");
        let mut server = SmtpServer {
            child,
            port,
            maildir,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("aiosmtpd exited ({status}): {}", server.log());
            }
            assert!(Instant::now() < deadline, "aiosmtpd did not listen: {}", server.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("aiosmtpd.log")).unwrap_or_default()
    }

    /// The messages delivered so far, oldest first.
    pub fn messages(&self) -> Vec<Part> {
        read_messages(&self.maildir.join("new"), None)
    }

    /// The one message delivered with this Message-ID.
    pub fn delivered(&self, message_id: &str) -> Part {
        let mut found: Vec<Part> = self
            .messages()
            .into_iter()
            .filter(|m| m.header("Message-ID").as_deref() == Some(message_id))
            .collect();
        assert_eq!(found.len(), 1, "{message_id} delivered once");
        found.pop().unwrap()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The files of `dir` (with extension `ext`, if given) parsed, oldest first.
pub fn read_messages(dir: &Path, ext: Option<&str>) -> Vec<Part> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| ext.is_none() || p.extension().and_then(|e| e.to_str()) == ext)
        .map(|p| (std::fs::metadata(&p).unwrap().modified().unwrap(), p))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|(_, p)| Part::parse(&std::fs::read(&p).unwrap()))
        .collect()
}

// ---------------------------------------------------------------- MIME

/// A message or one of its parts, read with `mailparse` (headers unfolded,
/// RFC 2047 words decoded on demand, bodies with their transfer encoding
/// undone), owned so that it outlives the bytes it was read from.
pub struct Part {
    /// `(name, raw value unfolded, value decoded)`.
    headers: Vec<(String, String, String)>,
    media_type: String,
    filename: Option<String>,
    body: Vec<u8>,
    parts: Vec<Part>,
}

impl Part {
    pub fn parse(raw: &[u8]) -> Part {
        Part::from_mail(&mailparse::parse_mail(raw).expect("a MIME message"))
    }

    fn from_mail(mail: &mailparse::ParsedMail) -> Part {
        let headers = mail
            .headers
            .iter()
            .map(|h| {
                let raw = String::from_utf8_lossy(h.get_value_raw()).replace(['\r', '\n'], "");
                (h.get_key(), raw.trim().to_string(), h.get_value())
            })
            .collect();
        let disposition = mail.get_content_disposition();
        let filename = (disposition.disposition == mailparse::DispositionType::Attachment)
            .then(|| disposition.params.get("filename").cloned())
            .flatten();
        Part {
            headers,
            media_type: mail.ctype.mimetype.to_ascii_lowercase(),
            filename,
            body: mail.get_body_raw().expect("a decodable body"),
            parts: mail.subparts.iter().map(Part::from_mail).collect(),
        }
    }

    fn find(&self, name: &str) -> Option<&(String, String, String)> {
        self.headers.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(name))
    }

    /// The raw (unfolded) value of header `name`.
    pub fn header(&self, name: &str) -> Option<String> {
        self.find(name).map(|(_, raw, _)| raw.clone())
    }

    /// The value of header `name` with its RFC 2047 words decoded.
    pub fn decoded_header(&self, name: &str) -> Option<String> {
        self.find(name).map(|(_, _, decoded)| decoded.clone())
    }

    /// `text/plain`, lower case, without parameters.
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// The file name of an attachment.
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// The leaves of the tree, depth first.
    pub fn leaves(&self) -> Vec<&Part> {
        if self.parts.is_empty() {
            vec![self]
        } else {
            self.parts.iter().flat_map(Part::leaves).collect()
        }
    }

    /// The body, its transfer encoding (base64, quoted-printable) undone.
    pub fn decoded(&self) -> &[u8] {
        &self.body
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 text")
    }
}

#[test]
fn reads_what_mail_software_writes() {
    let m = Part::parse(
        b"Subject: =?utf-8?b?RmFjdHVyZSDigJQ=?= =?utf-8?q?_caf=C3=A9?=\r\nX-Note: plain =?UTF-8?Q?r=C3=A9sum=C3=A9?=\r\n end\r\n\
          Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain\r\n\
          Content-Transfer-Encoding: quoted-printable\r\n\r\na=3Db=\r\nc\r\n--XX\r\nContent-Type: application/pdf\r\n\
          Content-Disposition: attachment; filename=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0x\r\nLjQ=\r\n--XX--\r\n",
    );
    assert_eq!(m.decoded_header("Subject").as_deref(), Some("Facture — café"));
    assert_eq!(m.decoded_header("X-Note").as_deref(), Some("plain résumé end"));
    assert_eq!(
        m.header("X-Note").as_deref(),
        Some("plain =?UTF-8?Q?r=C3=A9sum=C3=A9?= end")
    );
    assert_eq!(m.leaves().len(), 2);
    assert_eq!(m.leaves()[0].text(), "a=bc");
    assert_eq!(m.leaves()[0].filename(), None);
    assert_eq!(m.leaves()[1].media_type(), "application/pdf");
    assert_eq!(m.leaves()[1].filename(), Some("a.pdf"));
    assert_eq!(m.leaves()[1].decoded(), b"%PDF-1.4");
}
