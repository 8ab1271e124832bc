//! E-mail through a real SMTP server on loopback (aiosmtpd, Debian's
//! python3-aiosmtpd) and the default file transport: each message read back
//! from the maildir and parsed with mailparse (MIME parts, base64, quoted-printable,
//! RFC 2047 subjects), its PDF read with pdftotext. Once per idempotency key;
//! transient and permanent failures recorded.

use std::path::Path;
use std::time::Duration;

use crate::on_both_backends;
use crate::support::billing::*;
use crate::support::pdf::pdf_text;
use crate::support::smtp::{free_port, read_messages, Part, SmtpServer};
use crate::support::{Backend, TestDb};
use chrono::{Days, NaiveDate, Utc};
use comptoir::billing::emails::{self, EmailError};
use comptoir::billing::invoices::{self, Invoice};
use comptoir::billing::payments::PaymentMethod;
use comptoir::mail::{self, Attachment, EmailStatus, MailConfig, MailError, Mailer, OutgoingEmail, TransportConfig};

on_both_backends!(
    invoice_reaches_a_real_smtp_server_once_per_key,
    credit_note_cites_the_invoice_it_corrects,
    receipts_and_reminders_follow_the_payments,
    a_customer_without_email_is_a_permanent_error,
    default_file_transport_writes_a_readable_eml,
    unreachable_server_is_transient_and_a_retry_delivers_once,
    smtp_replies_decide_transient_or_permanent,
);

const FROM: &str = "Marie Dupont EI <marie@example.fr>";

// ---------------------------------------------------------------- helpers

/// An SMTP mailer configured the way an operator does it, through the variables.
fn smtp_mailer(data_dir: &Path, port: u16) -> Mailer {
    let port = port.to_string();
    let config = MailConfig::from_vars(data_dir, |name| match name {
        "COMPTOIR_MAIL_FROM" => Some(FROM.to_string()),
        "COMPTOIR_SMTP_HOST" => Some("127.0.0.1".to_string()),
        "COMPTOIR_SMTP_PORT" => Some(port.clone()),
        "COMPTOIR_SMTP_TLS" => Some("none".to_string()),
        _ => None,
    })
    .expect("valid mail settings")
    .with_timeout(Duration::from_secs(10));
    Mailer::new(config).expect("mailer")
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn days_ago(n: u64) -> NaiveDate {
    today().checked_sub_days(Days::new(n)).unwrap()
}

fn reference(invoice: &Invoice) -> String {
    invoice.reference.clone().expect("issued")
}

/// The parts of a delivered message a reader sees.
struct Read {
    subject: String,
    text: String,
    html: String,
    /// (filename, content type, decoded bytes)
    attachments: Vec<(String, String, Vec<u8>)>,
}

fn read(message: &Part) -> Read {
    let raw_subject = message.header("Subject").expect("Subject");
    assert!(raw_subject.is_ascii(), "headers are 7-bit (RFC 2047): {raw_subject:?}");
    let leaves = message.leaves();
    let find = |media: &str| {
        leaves
            .iter()
            .find(|p| p.media_type() == media && p.filename().is_none())
            .unwrap_or_else(|| panic!("no {media} part"))
            .text()
    };
    Read {
        subject: message.decoded_header("Subject").unwrap(),
        text: find("text/plain"),
        html: find("text/html"),
        attachments: leaves
            .iter()
            .filter_map(|p| {
                let file = p.filename()?.to_string();
                Some((file, p.media_type().to_string(), p.decoded().to_vec()))
            })
            .collect(),
    }
}

fn only_pdf(r: &Read, filename: &str) -> String {
    assert_eq!(r.attachments.len(), 1, "one attachment");
    let (name, media, bytes) = &r.attachments[0];
    assert_eq!(name, filename);
    assert_eq!(media, "application/pdf");
    pdf_text(bytes)
}

async fn email_rows(db: &TestDb) -> i64 {
    count(db, "emails").await
}

// ---------------------------------------------------------------- tests

async fn invoice_reaches_a_real_smtp_server_once_per_key(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = create_customer(&db.store, person_input("Jean Dupré & Fils")).await;
    let draft = simple_draft(&db.store, customer.id, 120_000).await;
    let invoice = issue(&db.store, draft.id, date(2026, 1, 5)).await;
    let number = reference(&invoice);
    let server = SmtpServer::start().await;
    let mailer = smtp_mailer(db.dir.path(), server.port);

    let sent = emails::send_invoice(&db.store, &mailer, invoice.id, "job-41")
        .await
        .expect("sent");
    assert!(!sent.already_sent);
    assert_eq!(sent.to, "client@example.fr");
    assert_eq!(sent.transport, format!("smtp://127.0.0.1:{}", server.port));
    assert!(sent.message_id.starts_with('<') && sent.message_id.ends_with("@example.fr>"));

    let messages = server.messages();
    assert_eq!(messages.len(), 1, "one message delivered");
    let m = &messages[0];
    assert_eq!(
        m.header("X-RcptTo").as_deref(),
        Some("client@example.fr"),
        "envelope recipient"
    );
    assert_eq!(m.decoded_header("To").as_deref(), Some("client@example.fr"));
    let from = m.decoded_header("From").unwrap();
    assert!(
        from.contains("Marie Dupont EI") && from.contains("<marie@example.fr>"),
        "{from}"
    );
    assert_eq!(m.header("Message-ID"), Some(sent.message_id.clone()));
    assert!(m.header("Date").is_some());

    let r = read(m);
    assert_eq!(r.subject, format!("Facture {number} — Marie Dupont EI"));
    assert_eq!(sent.subject, r.subject);
    assert!(r.text.contains("Bonjour Jean Dupré & Fils,"), "{}", r.text);
    assert!(
        r.text.contains(&format!("la facture {number} du 05/01/2026")),
        "{}",
        r.text
    );
    assert!(r.text.contains(&eur(120_000).format_fr()), "{}", r.text);
    assert!(r.text.contains("au plus tard le 04/02/2026"), "{}", r.text);
    assert!(r.text.contains("SIREN 732829320"), "{}", r.text);
    assert!(
        !r.text.contains("pénalités"),
        "no business mentions for a person: {}",
        r.text
    );
    assert!(r.html.contains("Jean Dupré &amp; Fils"), "HTML is escaped: {}", r.html);
    assert!(!r.html.contains("Dupré & Fils"), "{}", r.html);
    assert!(r.html.contains(&format!("<strong>{number}</strong>")), "{}", r.html);
    let pdf = only_pdf(&r, &format!("{number}.pdf"));
    assert!(pdf.contains(&number), "{pdf}");
    assert!(pdf.contains("TVA non applicable"), "{pdf}");

    let row = mail::find(&db.store, "job-41").await.unwrap().expect("recorded");
    assert_eq!(row.status, EmailStatus::Sent);
    assert_eq!(row.message_id, sent.message_id);
    assert_eq!(
        (row.kind.as_str(), row.invoice_id, row.payment_id),
        ("invoice", Some(invoice.id), None)
    );
    assert_eq!(row.to_address, "client@example.fr");
    assert_eq!(row.subject, r.subject);
    assert_eq!(row.error, None);
    assert!(row.sent_at.is_some());
    let on_invoice = invoices::get(&db.store, invoice.id).await.unwrap();
    assert!(on_invoice.sent_at.is_some(), "the invoice is marked sent");

    // The job runs again (a retry, a rescue): nothing is sent twice.
    let again = emails::send_invoice(&db.store, &mailer, invoice.id, "job-41")
        .await
        .unwrap();
    assert!(again.already_sent);
    assert_eq!(again.message_id, sent.message_id);
    assert_eq!(again.sent_at, row.sent_at.unwrap());
    assert_eq!(server.messages().len(), 1, "delivered once");
    assert_eq!(email_rows(&db).await, 1);

    // Another job (the operator sends it again on purpose): another message.
    let resent = emails::send_invoice(&db.store, &mailer, invoice.id, "job-42")
        .await
        .unwrap();
    assert!(!resent.already_sent);
    assert_ne!(resent.message_id, sent.message_id);
    assert_eq!(server.messages().len(), 2);
    assert_eq!(mail::for_invoice(&db.store, invoice.id).await.unwrap().len(), 2);
}

async fn credit_note_cites_the_invoice_it_corrects(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let draft = simple_draft(&db.store, customer.id, 50_000).await;
    let invoice = issue(&db.store, draft.id, date(2026, 2, 2)).await;
    let note = credit(&db.store, invoice.id, Some(eur(20_000)), date(2026, 2, 10))
        .await
        .expect("credit note");
    let (number, original) = (reference(&note), reference(&invoice));
    let server = SmtpServer::start().await;
    let mailer = smtp_mailer(db.dir.path(), server.port);

    let sent = emails::send_invoice(&db.store, &mailer, note.id, "job-credit")
        .await
        .unwrap();
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let r = read(&messages[0]);
    assert_eq!(
        r.subject,
        format!("Avoir {number} sur la facture {original} — Marie Dupont EI")
    );
    assert!(
        r.text.contains(&format!("l'avoir {number} du 10/02/2026")),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(&format!("corrige la facture {original} du 02/02/2026")),
        "{}",
        r.text
    );
    assert!(r.text.contains(&eur(20_000).format_fr()), "{}", r.text);
    assert!(r.text.contains("Motif : Geste commercial"), "{}", r.text);
    assert!(r.html.contains(&number) && r.html.contains(&original));
    let pdf = only_pdf(&r, &format!("{number}.pdf"));
    assert!(pdf.contains(&number) && pdf.contains(&original), "{pdf}");
    let row = mail::find(&db.store, "job-credit").await.unwrap().unwrap();
    assert_eq!((row.kind.as_str(), row.status), ("credit_note", EmailStatus::Sent));
    assert_eq!(row.message_id, sent.message_id);
    assert!(invoices::get(&db.store, note.id).await.unwrap().sent_at.is_some());
}

async fn receipts_and_reminders_follow_the_payments(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let mut input = business_input();
    input.email = Some("compta@atelier-dupre.fr".into());
    let customer = create_customer(&db.store, input).await;
    let draft = simple_draft(&db.store, customer.id, 100_000).await;
    let invoice = issue(&db.store, draft.id, days_ago(60)).await;
    let number = reference(&invoice);
    let due = invoice.due_date.unwrap();
    let server = SmtpServer::start().await;
    let mailer = smtp_mailer(db.dir.path(), server.port);
    let fr = |d: NaiveDate| d.format("%d/%m/%Y").to_string();

    for level in [0, 4] {
        let err = emails::send_reminder(&db.store, &mailer, invoice.id, level, "job-bad-level")
            .await
            .unwrap_err();
        assert!(matches!(err, EmailError::NotSendable(_)) && err.is_permanent(), "{err}");
    }

    let sent = emails::send_reminder(&db.store, &mailer, invoice.id, 1, "job-r1")
        .await
        .unwrap();
    let r = read(&server.delivered(&sent.message_id));
    assert_eq!(r.subject, format!("Rappel : facture {number} arrivée à échéance"));
    assert!(
        r.text.contains(&format!("arrivée à échéance le {}", fr(due))),
        "{}",
        r.text
    );
    assert!(r.text.contains(&eur(100_000).format_fr()), "{}", r.text);
    assert!(
        !r.text.contains("L441-10"),
        "a first reminder stays friendly: {}",
        r.text
    );
    only_pdf(&r, &format!("{number}.pdf"));

    // A partial payment: a receipt with what remains, no attachment.
    let transfer = |minor, key| invoice_payment(&invoice, "manual", PaymentMethod::Transfer, eur(minor), key);
    let first = pay(&db.store, transfer(40_000, "pay-1"), days_ago(10)).await.id;
    let sent = emails::send_receipt(&db.store, &mailer, first, "job-receipt-1")
        .await
        .unwrap();
    let m = server.delivered(&sent.message_id);
    assert_eq!(m.header("X-RcptTo").as_deref(), Some("compta@atelier-dupre.fr"));
    let r = read(&m);
    assert_eq!(r.subject, format!("Reçu de votre paiement — facture {number}"));
    assert!(
        r.text.contains(&format!(
            "paiement de {} le {} (Virement)",
            eur(40_000).format_fr(),
            fr(days_ago(10))
        )),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains(&format!("Il reste {} à régler", eur(60_000).format_fr())),
        "{}",
        r.text
    );
    assert!(r.attachments.is_empty());
    let row = mail::find(&db.store, "job-receipt-1").await.unwrap().unwrap();
    assert_eq!(
        (row.kind.as_str(), row.payment_id, row.invoice_id),
        ("receipt", Some(first), Some(invoice.id))
    );

    // Second reminder: late-payment mentions for a business.
    let sent = emails::send_reminder(&db.store, &mailer, invoice.id, 2, "job-r2")
        .await
        .unwrap();
    let r = read(&server.delivered(&sent.message_id));
    assert_eq!(r.subject, format!("Deuxième relance : facture {number} impayée"));
    let late = (today() - due).num_days();
    assert!(r.text.contains(&format!("({late} jours de retard)")), "{}", r.text);
    assert!(r.text.contains(&eur(60_000).format_fr()), "{}", r.text);
    assert!(
        r.text.contains("L441-10") && r.text.contains("au taux de 10 % par an"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(&eur(4000).format_fr()),
        "the 40 € indemnity: {}",
        r.text
    );
    assert!(
        r.html.contains("L441-10") && r.html.contains("au taux de 10 % par an"),
        "{}",
        r.html
    );

    // Formal notice: pay within eight days.
    let sent = emails::send_reminder(&db.store, &mailer, invoice.id, 3, "job-r3")
        .await
        .unwrap();
    let r = read(&server.delivered(&sent.message_id));
    assert_eq!(r.subject, format!("Mise en demeure de payer la facture {number}"));
    assert!(r.text.contains("MISE EN DEMEURE"), "{}", r.text);
    let deadline = fr(today().checked_add_days(Days::new(8)).unwrap());
    assert!(r.text.contains(&format!("au plus tard le {deadline}")), "{}", r.text);
    let kinds: Vec<String> = mail::for_invoice(&db.store, invoice.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["reminder_1", "receipt", "reminder_2", "reminder_3"]);

    // Paid in full: the receipt carries the invoice marked paid; no more reminders.
    let last = pay(&db.store, transfer(60_000, "pay-2"), days_ago(2)).await.id;
    let sent = emails::send_receipt(&db.store, &mailer, last, "job-receipt-2")
        .await
        .unwrap();
    let r = read(&server.delivered(&sent.message_id));
    assert!(r.text.contains("La facture est entièrement réglée."), "{}", r.text);
    let pdf = only_pdf(&r, &format!("{number}-acquittee.pdf"));
    assert!(pdf.contains(&number), "{pdf}");
    assert!(
        pdf.contains(&format!("Facture acquittée le {}", fr(days_ago(2)))),
        "{pdf}"
    );

    let delivered = server.messages().len();
    let rows = email_rows(&db).await;
    let err = emails::send_reminder(&db.store, &mailer, invoice.id, 1, "job-r4")
        .await
        .unwrap_err();
    assert!(matches!(err, EmailError::NotSendable(_)) && err.is_permanent(), "{err}");
    assert!(err.to_string().contains("paid"), "{err}");
    // Not overdue yet: no reminder either.
    let fresh = issue(&db.store, simple_draft(&db.store, customer.id, 5_000).await.id, today()).await;
    let err = emails::send_reminder(&db.store, &mailer, fresh.id, 1, "job-r5")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no reminder before it is overdue"), "{err}");
    assert_eq!(
        (server.messages().len(), email_rows(&db).await),
        (delivered, rows),
        "nothing sent or recorded"
    );
}

async fn a_customer_without_email_is_a_permanent_error(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = business(&db.store).await; // no e-mail
    let draft = simple_draft(&db.store, customer.id, 30_000).await;
    let server = SmtpServer::start().await;
    let mailer = smtp_mailer(db.dir.path(), server.port);

    let err = emails::send_invoice(&db.store, &mailer, draft.id, "job-draft")
        .await
        .unwrap_err();
    assert!(matches!(err, EmailError::NotSendable(_)) && err.is_permanent(), "{err}");
    assert!(err.to_string().contains("draft"), "{err}");

    let invoice = issue(&db.store, draft.id, date(2026, 3, 1)).await;
    let err = emails::send_invoice(&db.store, &mailer, invoice.id, "job-1")
        .await
        .unwrap_err();
    assert!(matches!(err, EmailError::NoRecipient { .. }), "{err:?}");
    assert!(err.is_permanent());
    let text = err.to_string();
    assert!(
        text.contains(&reference(&invoice)) && text.contains("Atelier Dupré SARL"),
        "{text}"
    );
    assert!(text.contains("no e-mail address"), "{text}");
    assert_eq!(email_rows(&db).await, 0, "nothing recorded");
    assert!(server.messages().is_empty(), "nothing sent");
    assert!(invoices::get(&db.store, invoice.id).await.unwrap().sent_at.is_none());
}

async fn default_file_transport_writes_a_readable_eml(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let invoice = issued(&db.store, customer.id, 9_990, date(2026, 4, 1)).await;
    let number = reference(&invoice);

    // No SMTP host: files under <data dir>/mail/, the sender from COMPTOIR_MAIL_FROM.
    let config = MailConfig::from_vars(db.dir.path(), |name| {
        (name == "COMPTOIR_MAIL_FROM").then(|| FROM.to_string())
    })
    .unwrap();
    let dir = db.dir.path().join("mail");
    assert_eq!(config.transport, TransportConfig::File(dir.clone()));
    let mailer = Mailer::new(config).unwrap();
    let sent = emails::send_invoice(&db.store, &mailer, invoice.id, "job-file")
        .await
        .unwrap();
    assert_eq!(sent.transport, format!("file://{}", dir.display()));
    let files = read_messages(&dir, Some("eml"));
    assert_eq!(files.len(), 1, "one .eml file");
    let m = &files[0];
    assert_eq!(m.decoded_header("To").as_deref(), Some("client@example.fr"));
    assert_eq!(m.header("Message-ID"), Some(sent.message_id.clone()));
    let r = read(m);
    assert_eq!(r.subject, format!("Facture {number} — Marie Dupont EI"));
    assert!(r.text.contains(&eur(9_990).format_fr()), "{}", r.text);
    assert!(only_pdf(&r, &format!("{number}.pdf")).contains(&number));
    let row = mail::find(&db.store, "job-file").await.unwrap().unwrap();
    assert_eq!(
        (row.status, row.transport.as_str()),
        (EmailStatus::Sent, sent.transport.as_str())
    );
    emails::send_invoice(&db.store, &mailer, invoice.id, "job-file")
        .await
        .unwrap();
    assert_eq!(read_messages(&dir, Some("eml")).len(), 1, "written once per key");

    // Nothing set at all: the sender is the seller of the billing settings.
    let mailer = Mailer::new(
        MailConfig::from_env(db.dir.path())
            .map(|mut c| {
                c.from = None;
                c.transport = TransportConfig::File(dir.clone());
                c
            })
            .unwrap(),
    )
    .unwrap();
    emails::send_invoice(&db.store, &mailer, invoice.id, "job-file-2")
        .await
        .unwrap();
    let files = read_messages(&dir, Some("eml"));
    assert_eq!(files.len(), 2);
    let from = files[1].decoded_header("From").unwrap();
    assert!(
        from.contains("Marie Dupont EI") && from.contains("marie@example.fr"),
        "{from}"
    );
}

async fn unreachable_server_is_transient_and_a_retry_delivers_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    save_settings(&db.store).await;
    let customer = person(&db.store).await;
    let invoice = issued(&db.store, customer.id, 25_000, date(2026, 5, 4)).await;
    let port = free_port(); // nothing listens there yet
    let mailer = smtp_mailer(db.dir.path(), port);

    let err = emails::send_invoice(&db.store, &mailer, invoice.id, "job-7")
        .await
        .unwrap_err();
    assert!(err.is_transient(), "connection refused is transient: {err:?}");
    assert!(matches!(err, EmailError::Mail(MailError::Transient(_))), "{err:?}");
    let failed = mail::find(&db.store, "job-7").await.unwrap().expect("recorded");
    assert_eq!(failed.status, EmailStatus::Failed);
    assert!(failed.error.as_deref().is_some_and(|e| !e.is_empty()), "{failed:?}");
    assert!(failed.sent_at.is_none());
    assert!(invoices::get(&db.store, invoice.id).await.unwrap().sent_at.is_none());

    // The server comes back; the job's retry (same key) delivers, with the same Message-ID.
    let server = SmtpServer::start_on(port).await;
    let sent = emails::send_invoice(&db.store, &mailer, invoice.id, "job-7")
        .await
        .unwrap();
    assert!(!sent.already_sent);
    assert_eq!(sent.message_id, failed.message_id);
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].header("Message-ID"), Some(failed.message_id.clone()));
    let row = mail::find(&db.store, "job-7").await.unwrap().unwrap();
    assert_eq!(
        (row.status, row.error.clone(), row.id),
        (EmailStatus::Sent, None, failed.id)
    );
    assert!(invoices::get(&db.store, invoice.id).await.unwrap().sent_at.is_some());
    emails::send_invoice(&db.store, &mailer, invoice.id, "job-7")
        .await
        .unwrap();
    assert_eq!(server.messages().len(), 1, "delivered once");
    assert_eq!(email_rows(&db).await, 1);
}

/// A scripted SMTP server answering `rcpt_reply` to RCPT TO.
async fn scripted_server(rcpt_reply: &'static str) -> u16 {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 scripted ESMTP\r\n").await?;
                while let Some(line) = lines.next_line().await? {
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let reply = match verb.as_str() {
                        "EHLO" => "250-scripted\r\n250 8BITMIME",
                        "HELO" | "MAIL" | "RSET" | "NOOP" => "250 OK",
                        "RCPT" => rcpt_reply,
                        "QUIT" => "221 bye",
                        _ => "502 not implemented",
                    };
                    write.write_all(format!("{reply}\r\n").as_bytes()).await?;
                    if verb == "QUIT" {
                        break;
                    }
                }
                Ok::<_, std::io::Error>(())
            });
        }
    });
    port
}

fn plain(key: &str, to: &str) -> OutgoingEmail {
    OutgoingEmail {
        idempotency_key: key.into(),
        kind: "test".into(),
        to: to.into(),
        from: None,
        subject: "Essai".into(),
        text: "Bonjour".into(),
        html: None,
        attachments: vec![Attachment {
            filename: "note.txt".into(),
            content_type: "text/plain".into(),
            bytes: b"note".to_vec(),
        }],
        invoice_id: None,
        payment_id: None,
    }
}

async fn smtp_replies_decide_transient_or_permanent(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mailer = |port| smtp_mailer(db.dir.path(), port);

    let refused = mailer(scripted_server("550 5.1.1 <client@example.fr>: mailbox unavailable").await);
    let err = refused
        .send(&db.store, plain("k-550", "client@example.fr"))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Permanent(_)) && err.is_permanent(), "{err:?}");
    assert!(err.to_string().contains("mailbox unavailable"), "{err}");
    let row = mail::find(&db.store, "k-550").await.unwrap().unwrap();
    assert_eq!(row.status, EmailStatus::Failed);
    assert!(row.error.unwrap().contains("550"));

    let busy = mailer(scripted_server("451 4.3.0 try again later").await);
    let err = busy
        .send(&db.store, plain("k-451", "client@example.fr"))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Transient(_)) && err.is_transient(), "{err:?}");
    assert_eq!(
        mail::find(&db.store, "k-451").await.unwrap().unwrap().status,
        EmailStatus::Failed
    );

    // A malformed address never reaches the server and is not worth retrying.
    let err = busy
        .send(&db.store, plain("k-bad", "client at example.fr"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, MailError::InvalidAddress { .. }) && err.is_permanent(),
        "{err:?}"
    );
    let row = mail::find(&db.store, "k-bad").await.unwrap().unwrap();
    assert_eq!(row.status, EmailStatus::Failed);
    assert!(row.error.unwrap().contains("client at example.fr"));

    // A key names one e-mail: reusing it for another kind is refused.
    let mut other = plain("k-451", "client@example.fr");
    other.kind = "other".into();
    let err = busy.send(&db.store, other).await.unwrap_err();
    assert!(
        matches!(err, MailError::KeyReused { .. }) && err.is_permanent(),
        "{err:?}"
    );
}
