//! Where e-mail goes, read from the environment. Without an SMTP host the
//! default is a directory of `.eml` files under `<data dir>/mail/`, so that
//! nothing leaves the machine by accident.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;

use super::MailError;

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (a relay on loopback, a test server).
    None,
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// TLS from the first byte, "SMTPS" (port 465).
    Tls,
}

impl SmtpTls {
    pub fn parse(text: &str) -> Result<SmtpTls, MailError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" | "off" | "plain" => Ok(SmtpTls::None),
            "starttls" => Ok(SmtpTls::StartTls),
            "tls" | "smtps" | "ssl" => Ok(SmtpTls::Tls),
            other => Err(MailError::Config(format!(
                "COMPTOIR_SMTP_TLS={other:?}: expected none, starttls or tls"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::None => "none",
            SmtpTls::StartTls => "starttls",
            SmtpTls::Tls => "tls",
        }
    }

    /// The port used when none is given.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
        }
    }
}

/// An SMTP server and how to talk to it.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// User name and password, when the server wants them.
    pub credentials: Option<(String, String)>,
    /// For connecting and for each SMTP command.
    pub timeout: Duration,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Where messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportConfig {
    Smtp(SmtpConfig),
    /// One `.eml` file per message in this directory; nothing is sent.
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// The `From:` of every message. `None`: the seller's name and e-mail from
    /// the billing settings, read when a message is sent.
    pub from: Option<Mailbox>,
    pub transport: TransportConfig,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl MailConfig {
    /// Reads `COMPTOIR_MAIL_FROM`, `COMPTOIR_SMTP_HOST`, `COMPTOIR_SMTP_PORT`,
    /// `COMPTOIR_SMTP_TLS` (none | starttls | tls; starttls by default),
    /// `COMPTOIR_SMTP_USER` and `COMPTOIR_SMTP_PASSWORD`. Without a host,
    /// messages are written to `<data_dir>/mail/`.
    pub fn from_env(data_dir: &Path) -> Result<MailConfig, MailError> {
        MailConfig::from_vars(data_dir, |name| std::env::var(name).ok())
    }

    /// The same, reading the variables through `var` (tests, other sources).
    /// Empty values count as unset.
    pub fn from_vars(data_dir: &Path, var: impl Fn(&str) -> Option<String>) -> Result<MailConfig, MailError> {
        let get = |name: &str| var(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let from = get("COMPTOIR_MAIL_FROM")
            .map(|text| parse_mailbox("COMPTOIR_MAIL_FROM", &text))
            .transpose()?;
        let Some(host) = get("COMPTOIR_SMTP_HOST") else {
            for name in ["COMPTOIR_SMTP_PORT", "COMPTOIR_SMTP_TLS", "COMPTOIR_SMTP_USER"] {
                if get(name).is_some() {
                    return Err(MailError::Config(format!(
                        "{name} is set but COMPTOIR_SMTP_HOST is not: set the host, or unset {name} \
                         to write e-mails to {}",
                        data_dir.join("mail").display()
                    )));
                }
            }
            return Ok(MailConfig::file(from, data_dir.join("mail")));
        };
        let tls = match get("COMPTOIR_SMTP_TLS") {
            Some(text) => SmtpTls::parse(&text)?,
            None => SmtpTls::StartTls,
        };
        let port = match get("COMPTOIR_SMTP_PORT") {
            Some(text) => text
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| MailError::Config(format!("COMPTOIR_SMTP_PORT={text:?} is not a port number")))?,
            None => tls.default_port(),
        };
        let credentials = match (get("COMPTOIR_SMTP_USER"), var("COMPTOIR_SMTP_PASSWORD")) {
            (Some(user), Some(password)) if !password.is_empty() => Some((user, password)),
            (None, None) => None,
            (None, Some(p)) if p.is_empty() => None,
            (Some(_), _) => {
                return Err(MailError::Config(
                    "COMPTOIR_SMTP_USER is set without COMPTOIR_SMTP_PASSWORD".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(MailError::Config(
                    "COMPTOIR_SMTP_PASSWORD is set without COMPTOIR_SMTP_USER".into(),
                ))
            }
        };
        Ok(MailConfig {
            from,
            transport: TransportConfig::Smtp(SmtpConfig {
                host,
                port,
                tls,
                credentials,
                timeout: DEFAULT_TIMEOUT,
            }),
        })
    }

    /// Messages written as `.eml` files in `dir`.
    pub fn file(from: Option<Mailbox>, dir: impl Into<PathBuf>) -> MailConfig {
        MailConfig {
            from,
            transport: TransportConfig::File(dir.into()),
        }
    }

    /// Messages sent to `host:port`, without credentials.
    pub fn smtp(from: Option<Mailbox>, host: impl Into<String>, port: u16, tls: SmtpTls) -> MailConfig {
        MailConfig {
            from,
            transport: TransportConfig::Smtp(SmtpConfig {
                host: host.into(),
                port,
                tls,
                credentials: None,
                timeout: DEFAULT_TIMEOUT,
            }),
        }
    }

    /// Sets the sender from text such as `"Marie Dupont EI <marie@example.fr>"`.
    pub fn with_from(mut self, from: &str) -> Result<MailConfig, MailError> {
        self.from = Some(parse_mailbox("from", from)?);
        Ok(self)
    }

    /// Sets the SMTP timeout (no effect on the file transport).
    pub fn with_timeout(mut self, timeout: Duration) -> MailConfig {
        if let TransportConfig::Smtp(smtp) = &mut self.transport {
            smtp.timeout = timeout;
        }
        self
    }

    /// What the `emails` table records as the transport: `smtp://host:port` or `file://dir`.
    pub fn transport_label(&self) -> String {
        match &self.transport {
            TransportConfig::Smtp(s) => format!("smtp://{}:{}", s.host, s.port),
            TransportConfig::File(dir) => format!("file://{}", dir.display()),
        }
    }
}

pub(crate) fn parse_mailbox(what: &str, text: &str) -> Result<Mailbox, MailError> {
    text.trim().parse::<Mailbox>().map_err(|e| MailError::InvalidAddress {
        address: text.to_string(),
        reason: format!("{what}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<MailConfig, MailError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        MailConfig::from_vars(Path::new("/srv/comptoir"), |name| vars.get(name).cloned())
    }

    fn smtp(c: &MailConfig) -> &SmtpConfig {
        match &c.transport {
            TransportConfig::Smtp(s) => s,
            other => panic!("expected SMTP, got {other:?}"),
        }
    }

    #[test]
    fn without_a_host_messages_go_to_files_in_the_data_dir() {
        let c = config(&[]).unwrap();
        assert_eq!(c.transport, TransportConfig::File(PathBuf::from("/srv/comptoir/mail")));
        assert_eq!(c.from, None);
        let c = config(&[("COMPTOIR_MAIL_FROM", "Marie Dupont EI <marie@example.fr>")]).unwrap();
        let from = c.from.unwrap();
        assert_eq!(from.name.as_deref(), Some("Marie Dupont EI"));
        assert_eq!(from.email.to_string(), "marie@example.fr");
        assert!(matches!(
            config(&[("COMPTOIR_SMTP_PORT", "2525")]),
            Err(MailError::Config(m)) if m.contains("COMPTOIR_SMTP_HOST")
        ));
    }

    #[test]
    fn smtp_defaults_to_starttls_on_587() {
        let c = config(&[("COMPTOIR_SMTP_HOST", "smtp.example.fr")]).unwrap();
        assert_eq!(smtp(&c).tls, SmtpTls::StartTls);
        assert_eq!(smtp(&c).port, 587);
        assert_eq!(c.transport_label(), "smtp://smtp.example.fr:587");
        let c = config(&[("COMPTOIR_SMTP_HOST", "smtp.example.fr"), ("COMPTOIR_SMTP_TLS", "tls")]).unwrap();
        assert_eq!((smtp(&c).tls, smtp(&c).port), (SmtpTls::Tls, 465));
        let c = config(&[
            ("COMPTOIR_SMTP_HOST", "127.0.0.1"),
            ("COMPTOIR_SMTP_TLS", "none"),
            ("COMPTOIR_SMTP_PORT", "2525"),
            ("COMPTOIR_SMTP_USER", "marie"),
            ("COMPTOIR_SMTP_PASSWORD", "s3cret"),
        ])
        .unwrap();
        assert_eq!((smtp(&c).tls, smtp(&c).port), (SmtpTls::None, 2525));
        assert_eq!(smtp(&c).credentials, Some(("marie".into(), "s3cret".into())));
        assert!(!format!("{c:?}").contains("s3cret"), "the password stays out of logs");
    }

    #[test]
    fn bad_settings_are_refused_with_the_variable_named() {
        let refused = |vars: &[(&str, &str)], needle: &str| match config(vars) {
            Err(e) => assert!(e.to_string().contains(needle), "{e} should mention {needle}"),
            Ok(c) => panic!("accepted {c:?}"),
        };
        refused(
            &[("COMPTOIR_SMTP_HOST", "h"), ("COMPTOIR_SMTP_TLS", "maybe")],
            "COMPTOIR_SMTP_TLS",
        );
        refused(
            &[("COMPTOIR_SMTP_HOST", "h"), ("COMPTOIR_SMTP_PORT", "0")],
            "COMPTOIR_SMTP_PORT",
        );
        refused(
            &[("COMPTOIR_SMTP_HOST", "h"), ("COMPTOIR_SMTP_PORT", "smtp")],
            "COMPTOIR_SMTP_PORT",
        );
        refused(
            &[("COMPTOIR_SMTP_HOST", "h"), ("COMPTOIR_SMTP_USER", "u")],
            "COMPTOIR_SMTP_PASSWORD",
        );
        refused(
            &[("COMPTOIR_SMTP_HOST", "h"), ("COMPTOIR_SMTP_PASSWORD", "p")],
            "COMPTOIR_SMTP_USER",
        );
        refused(
            &[("COMPTOIR_MAIL_FROM", "Marie <not an address>")],
            "COMPTOIR_MAIL_FROM",
        );
        assert!(config(&[("COMPTOIR_MAIL_FROM", "nobody")]).unwrap_err().is_permanent());
    }
}
