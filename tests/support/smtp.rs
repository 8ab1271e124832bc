//! A real SMTP server on loopback (aiosmtpd, Debian's python3-aiosmtpd)
//! delivering into a maildir, the messages read back (just enough MIME), and
//! PDFs read back with pdftotext.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub use mime_reader::Part;

// ---------------------------------------------------------------- the server

/// An aiosmtpd process delivering into a maildir, killed on drop.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
    dir: tempfile::TempDir,
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
        let dir = tempfile::tempdir().expect("temp dir");
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

/// The text of a PDF, through pdftotext.
pub fn pdf_text(bytes: &[u8]) -> String {
    assert!(
        bytes.starts_with(b"%PDF"),
        "not a PDF: {:?}",
        &bytes[..bytes.len().min(16)]
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) installed");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

// ---------------------------------------------------------------- MIME

/// Just enough MIME to read back what was sent: headers (unfolded, RFC 2047),
/// multipart bodies split on their boundary, base64 and quoted-printable.
pub mod mime_reader {
    pub struct Part {
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        parts: Vec<Part>,
    }

    impl Part {
        pub fn parse(raw: &[u8]) -> Part {
            let raw = String::from_utf8_lossy(raw).replace("\r\n", "\n");
            let (head, body) = match raw.find("\n\n") {
                Some(i) => (&raw[..i], &raw[i + 2..]),
                None => (raw.as_str(), ""),
            };
            let mut headers: Vec<(String, String)> = Vec::new();
            for line in head.lines() {
                if line.starts_with([' ', '\t']) {
                    if let Some((_, value)) = headers.last_mut() {
                        value.push_str(line);
                    }
                } else if let Some((name, value)) = line.split_once(':') {
                    headers.push((name.trim().to_string(), value.trim().to_string()));
                }
            }
            let mut part = Part {
                headers,
                body: body.as_bytes().to_vec(),
                parts: Vec::new(),
            };
            if part.media_type().starts_with("multipart/") {
                let boundary = part.param("Content-Type", "boundary").expect("multipart boundary");
                part.parts = split(body, &boundary)
                    .iter()
                    .map(|p| Part::parse(p.as_bytes()))
                    .collect();
            }
            part
        }

        /// The raw (unfolded) value of header `name`.
        pub fn header(&self, name: &str) -> Option<String> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        }

        pub fn decoded_header(&self, name: &str) -> Option<String> {
            self.header(name).map(|v| decode_words(&v))
        }

        /// `text/plain`, lower case, without parameters.
        pub fn media_type(&self) -> String {
            self.header("Content-Type")
                .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
                .unwrap_or_else(|| "text/plain".into())
        }

        pub fn param(&self, header: &str, name: &str) -> Option<String> {
            let value = self.header(header)?;
            value.split(';').skip(1).find_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().trim_matches('"').to_string())
            })
        }

        pub fn filename(&self) -> Option<String> {
            self.header("Content-Disposition")
                .filter(|d| d.trim_start().to_ascii_lowercase().starts_with("attachment"))
                .and_then(|_| self.param("Content-Disposition", "filename"))
        }

        /// The leaves of the tree, depth first.
        pub fn leaves(&self) -> Vec<&Part> {
            if self.parts.is_empty() {
                vec![self]
            } else {
                self.parts.iter().flat_map(Part::leaves).collect()
            }
        }

        pub fn decoded(&self) -> Vec<u8> {
            let encoding = self
                .header("Content-Transfer-Encoding")
                .unwrap_or_default()
                .to_ascii_lowercase();
            match encoding.as_str() {
                "base64" => base64(&String::from_utf8_lossy(&self.body)),
                "quoted-printable" => quoted_printable(&String::from_utf8_lossy(&self.body)),
                _ => self.body.clone(),
            }
        }

        pub fn text(&self) -> String {
            String::from_utf8(self.decoded()).expect("UTF-8 text")
        }
    }

    /// The bodies between `--boundary` lines, up to `--boundary--`.
    fn split(body: &str, boundary: &str) -> Vec<String> {
        let (delimiter, close) = (format!("--{boundary}"), format!("--{boundary}--"));
        let mut parts = Vec::new();
        let mut current: Option<Vec<&str>> = None;
        for line in body.split('\n') {
            let trimmed = line.trim_end();
            if trimmed == close {
                parts.extend(current.take().map(|l| l.join("\n")));
                break;
            } else if trimmed == delimiter {
                parts.extend(current.take().map(|l| l.join("\n")));
                current = Some(Vec::new());
            } else if let Some(lines) = current.as_mut() {
                lines.push(line);
            }
        }
        parts
    }

    pub fn base64(text: &str) -> Vec<u8> {
        let value = |c: u8| -> u32 {
            match c {
                b'A'..=b'Z' => u32::from(c - b'A'),
                b'a'..=b'z' => u32::from(c - b'a') + 26,
                b'0'..=b'9' => u32::from(c - b'0') + 52,
                b'+' => 62,
                b'/' => 63,
                _ => panic!("not base64: {:?}", c as char),
            }
        };
        let symbols: Vec<u8> = text
            .bytes()
            .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
            .collect();
        let mut out = Vec::with_capacity(symbols.len() * 3 / 4);
        for chunk in symbols.chunks(4) {
            let n = chunk.iter().fold(0u32, |acc, c| (acc << 6) | value(*c)) << (6 * (4 - chunk.len()));
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
        }
        out
    }

    pub fn quoted_printable(text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
                b'=' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad escape ={hex}")));
                    i += 3;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        out
    }

    /// RFC 2047: `=?UTF-8?B?…?=` and `=?UTF-8?Q?…?=`; blanks between two
    /// encoded words are dropped.
    pub fn decode_words(value: &str) -> String {
        let mut out = String::new();
        let mut rest = value;
        let mut after_word = false;
        while let Some(start) = rest.find("=?") {
            let (before, candidate) = rest.split_at(start);
            match word(candidate) {
                Some((decoded, used)) => {
                    if !(after_word && before.trim().is_empty()) {
                        out.push_str(before);
                    }
                    out.push_str(&decoded);
                    rest = &candidate[used..];
                    after_word = true;
                }
                None => {
                    out.push_str(before);
                    out.push_str("=?");
                    rest = &candidate[2..];
                    after_word = false;
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn word(text: &str) -> Option<(String, usize)> {
        let inner = text.strip_prefix("=?")?;
        let (charset, inner) = inner.split_once('?')?;
        let (encoding, inner) = inner.split_once('?')?;
        let end = inner.find("?=")?;
        let payload = &inner[..end];
        if payload.contains(char::is_whitespace) {
            return None;
        }
        assert!(charset.eq_ignore_ascii_case("utf-8"), "charset {charset}");
        let bytes = match encoding {
            "B" | "b" => base64(payload),
            "Q" | "q" => quoted_printable(&payload.replace('_', " ")),
            _ => return None,
        };
        let used = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
        Some((String::from_utf8(bytes).expect("UTF-8 word"), used))
    }

    #[test]
    fn decodes_what_mail_software_writes() {
        assert_eq!(
            decode_words("=?utf-8?b?RmFjdHVyZSDigJQ=?= =?utf-8?q?_caf=C3=A9?="),
            "Facture — café"
        );
        assert_eq!(
            decode_words("plain =?UTF-8?Q?r=C3=A9sum=C3=A9?= end"),
            "plain résumé end"
        );
        assert_eq!(quoted_printable("a=3Db=\nc"), b"a=bc");
        assert_eq!(base64("JVBERi0x\nLjQ="), b"%PDF-1.4");
        let m = Part::parse(
            b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\nContent-Type: text/plain\r\n\
              \r\nhello\r\n--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\
              Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--XX--\r\n",
        );
        assert_eq!(m.leaves().len(), 2);
        assert_eq!(m.leaves()[0].text(), "hello");
        assert_eq!(m.leaves()[1].filename().as_deref(), Some("a.pdf"));
        assert_eq!(m.leaves()[1].decoded(), b"%PDF");
    }
}
