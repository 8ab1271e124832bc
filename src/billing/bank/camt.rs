//! ISO 20022 camt.053 (BankToCustomerStatement) read as a stream.
//!
//! Versions 001.02 to 001.13 are read alike: elements are matched on their
//! local names, namespaces and prefixes are ignored, and the few places where
//! versions differ are all accepted (`<Sts>BOOK</Sts>` or `<Sts><Cd>BOOK</Cd></Sts>`,
//! `Dbtr/Nm` or `Dbtr/Pty/Nm`, `TxDtls/Amt` or `TxDtls/AmtDtls/TxAmt/Amt`).
//!
//! One entry (`Ntry`) is held in memory at a time; a batch booking (an entry
//! with several `TxDtls`) gives one [`CamtEntry`] per transaction.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::str::FromStr;

use chrono::NaiveDate;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

/// How much of a file [`looks_like_camt`] looks at.
const HEAD_LIMIT: usize = 4096;
/// Text kept per element (the longest camt text, `AddtlNtryInf`, is 500 characters).
const TEXT_LIMIT: usize = 4096;
/// Unstructured remittance lines kept per transaction.
const USTRD_LIMIT: usize = 64;
/// Transactions one entry may hold (a batch booking).
const TX_LIMIT: usize = 100_000;
/// Element nesting accepted (camt.053 needs about 15).
const DEPTH_LIMIT: usize = 64;

/// Whether the start of a file is a camt.053 document (after an optional UTF-8 BOM and whitespace:
/// `<?xml` or `<Document` ... and the namespace or root mentions `camt.053` / `BkToCstmrStmt`).
/// Read at most the first 4 KiB.
pub fn looks_like_camt(head: &[u8]) -> bool {
    let head = &head[..head.len().min(HEAD_LIMIT)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(head.len());
    let head = &head[start..];
    let xml_start = head.starts_with(b"<?xml") || head.starts_with(b"<!--") || {
        // `<Document` or `<prefix:Document`
        let name_end = head
            .iter()
            .skip(1)
            .position(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
            .map(|p| p + 1)
            .unwrap_or(head.len());
        head.first() == Some(&b'<') && {
            let name = &head[1..name_end];
            let local = name.rsplit(|b| *b == b':').next().unwrap_or(name);
            local == b"Document"
        }
    };
    if !xml_start {
        return false;
    }
    let text = String::from_utf8_lossy(head);
    text.contains("camt.053") || text.contains("BkToCstmrStmt")
}

#[derive(Debug, Clone, PartialEq)]
pub struct CamtEntry {
    /// 1-based line in the file of the `<Ntry>` start tag, or of the `<TxDtls>` for a batch transaction.
    pub line: u64,
    /// Idempotency key: the same in every import of the same statement.
    pub key: String,
    /// Stmt/Id
    pub statement_id: String,
    /// Stmt/Acct/Id/IBAN (or Othr/Id), spaces removed, upper case.
    pub account: Option<String>,
    /// BookgDt/Dt or the date part of BookgDt/DtTm (the value date for a
    /// pending entry that has no booking date).
    pub booking_date: NaiveDate,
    /// ValDt/Dt or ValDt/DtTm
    pub value_date: Option<NaiveDate>,
    /// > 0; a batch transaction's own amount.
    pub amount: Decimal,
    /// The Ccy attribute of that amount.
    pub currency: String,
    /// CdtDbtInd CRDT (true) / DBIT (false); a transaction may carry its own.
    pub credit: bool,
    /// RvslInd true
    pub reversal: bool,
    /// Status BOOK; PDNG, INFO, FUTR => false.
    pub booked: bool,
    /// The debtor for a credit, the creditor for a debit (for a reversal, the
    /// parties of the transaction it reverses: the debtor of a reversed credit).
    pub counterparty_name: Option<String>,
    /// DbtrAcct (or CdtrAcct) Id/IBAN or Id/Othr/Id, same side as the name.
    pub counterparty_iban: Option<String>,
    /// Every RmtInf/Ustrd joined by " ", then AddtlTxInf, then AddtlNtryInf; whitespace collapsed.
    pub remittance: String,
    /// RmtInf/Strd/CdtrRefInf/Ref
    pub creditor_reference: Option<String>,
    /// Refs/EndToEndId, "NOTPROVIDED" counts as none.
    pub end_to_end_id: Option<String>,
    /// The entry's AcctSvcrRef (or NtryRef), for display.
    pub bank_reference: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CamtError {
    #[error("impossible de lire {path} : {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("XML illisible à la ligne {line} : {message}")]
    Xml { line: u64, message: String },
    #[error("ce n'est pas un relevé camt.053 : {0}")]
    NotCamt(String),
}

/// An entry that cannot be read: the file is refused with each such entry named by its line.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryProblem {
    pub line: u64,
    pub message: String,
}

/// A `BufRead` that counts the newlines in the bytes consumed from it, so
/// that the line of the next event is known.
struct LineCounter<R> {
    inner: R,
    newlines: u64,
}

impl<R: BufRead> Read for LineCounter<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if amt > 0 {
            // The bytes being consumed are in the buffer already: no read happens here.
            if let Ok(buffer) = self.inner.fill_buf() {
                let n = amt.min(buffer.len());
                self.newlines += buffer[..n].iter().filter(|b| **b == b'\n').count() as u64;
            }
        }
        self.inner.consume(amt);
    }
}

#[derive(Default)]
struct Amount {
    text: String,
    currency: Option<String>,
}

#[derive(Default)]
struct TxState {
    line: u64,
    acct_svcr_ref: Option<String>,
    tx_id: Option<String>,
    end_to_end_id: Option<String>,
    amount: Option<Amount>,
    tx_amount: Option<Amount>,
    instructed_amount: Option<Amount>,
    credit_debit: Option<String>,
    debtor: Option<String>,
    ultimate_debtor: Option<String>,
    debtor_account: Option<String>,
    creditor: Option<String>,
    ultimate_creditor: Option<String>,
    creditor_account: Option<String>,
    ustrd: Vec<String>,
    creditor_reference: Option<String>,
    additional: Option<String>,
}

#[derive(Default)]
struct EntryState {
    line: u64,
    ntry_ref: Option<String>,
    amount: Option<Amount>,
    credit_debit: Option<String>,
    reversal: Option<String>,
    status: Option<String>,
    booking: Option<String>,
    value: Option<String>,
    acct_svcr_ref: Option<String>,
    additional: Option<String>,
    txs: Vec<TxState>,
}

pub struct CamtReader {
    reader: Reader<LineCounter<BufReader<File>>>,
    buf: Vec<u8>,
    /// Local names of the open elements, `Document` first.
    stack: Vec<String>,
    /// Text of the innermost element (when inside a statement).
    text: String,
    /// The Ccy attribute of the last `Amt` opened.
    currency: Option<String>,
    statement_id: String,
    account: Option<String>,
    entry: Option<EntryState>,
    pending: VecDeque<Result<CamtEntry, EntryProblem>>,
    /// Occurrences of each content hash (entries with neither AcctSvcrRef nor NtryRef).
    hashes: HashMap<[u8; 8], u32>,
    done: bool,
    path: String,
    /// A single-byte encoding declared by `<?xml encoding=...?>`; None for UTF-8.
    encoding: Option<&'static encoding_rs::Encoding>,
}

impl CamtReader {
    pub fn open(path: &Path) -> Result<CamtReader, CamtError> {
        let file = File::open(path).map_err(|source| CamtError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let counter = LineCounter {
            inner: BufReader::new(file),
            newlines: 0,
        };
        let mut reader = Reader::from_reader(counter);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        let mut camt = CamtReader {
            reader,
            buf: Vec::new(),
            stack: Vec::new(),
            text: String::new(),
            currency: None,
            statement_id: String::new(),
            account: None,
            entry: None,
            pending: VecDeque::new(),
            hashes: HashMap::new(),
            done: false,
            path: path.display().to_string(),
            encoding: None,
        };
        camt.read_root(path)?;
        Ok(camt)
    }

    fn line(&self) -> u64 {
        self.reader.get_ref().newlines + 1
    }

    fn xml_error(&self, message: impl Into<String>) -> CamtError {
        CamtError::Xml {
            line: self.line(),
            message: message.into(),
        }
    }

    fn io_or_xml(&self, path: &Path, error: quick_xml::Error) -> CamtError {
        match error {
            quick_xml::Error::Io(source) => CamtError::Io {
                path: path.display().to_string(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            other => self.xml_error(other.to_string()),
        }
    }

    /// Reads up to the `BkToCstmrStmt` start tag, refusing anything else.
    fn read_root(&mut self, path: &Path) -> Result<(), CamtError> {
        let mut buf = std::mem::take(&mut self.buf);
        let result = self.read_root_with(path, &mut buf);
        self.buf = buf;
        result
    }

    fn read_root_with(&mut self, path: &Path, buf: &mut Vec<u8>) -> Result<(), CamtError> {
        let mut namespace: Option<String> = None;
        loop {
            buf.clear();
            let event = match self.reader.read_event_into(buf) {
                Ok(event) => event,
                Err(error) => return Err(self.io_or_xml(path, error)),
            };
            let empty = matches!(event, Event::Empty(_));
            match event {
                Event::Decl(decl) => {
                    // UTF-8 unless declared otherwise (some exports are ISO-8859-1).
                    if let Some(Ok(label)) = decl.encoding() {
                        match encoding_rs::Encoding::for_label(&label) {
                            Some(encoding) if encoding == encoding_rs::UTF_8 => {}
                            Some(encoding) if encoding.is_single_byte() => self.encoding = Some(encoding),
                            _ => {
                                return Err(self.xml_error(format!(
                                    "encodage « {} » non pris en charge",
                                    String::from_utf8_lossy(&label)
                                )))
                            }
                        }
                    }
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::DocType(_) => return Err(self.xml_error("DOCTYPE refusé")),
                Event::Text(text) => {
                    if !text.iter().all(|b| b.is_ascii_whitespace()) {
                        return Err(CamtError::NotCamt(
                            "le fichier ne commence pas par un élément XML".into(),
                        ));
                    }
                }
                Event::Start(start) | Event::Empty(start) => {
                    let name = local_name(&start);
                    let ns = iso_namespace(&start, &self.reader);
                    if self.stack.is_empty() {
                        if name != "Document" {
                            return Err(CamtError::NotCamt(format!(
                                "l'élément racine est « {name} » au lieu de « Document »{}",
                                ns.map(|n| format!(" ({n})")).unwrap_or_default()
                            )));
                        }
                        namespace = ns;
                        self.stack.push(name);
                    } else if name == "BkToCstmrStmt" {
                        // `<BkToCstmrStmt/>`: no statement, the document's end follows.
                        if !empty {
                            self.stack.push(name);
                        }
                        return Ok(());
                    } else {
                        return Err(CamtError::NotCamt(format!(
                            "le document contient « {name} » au lieu de « BkToCstmrStmt »{}",
                            namespace.or(ns).map(|n| format!(" ({n})")).unwrap_or_default()
                        )));
                    }
                }
                Event::End(_) | Event::Eof => {
                    return Err(CamtError::NotCamt(if self.stack.is_empty() {
                        "aucun élément XML".into()
                    } else {
                        "le document est vide".into()
                    }));
                }
                Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(CamtError::NotCamt(
                        "le fichier ne commence pas par un élément XML".into(),
                    ))
                }
            }
        }
    }

    /// The next entry (or entry problem), None at the end of the document.
    pub fn next_entry(&mut self) -> Result<Option<Result<CamtEntry, EntryProblem>>, CamtError> {
        loop {
            if let Some(next) = self.pending.pop_front() {
                return Ok(Some(next));
            }
            if self.done {
                return Ok(None);
            }
            if let Err(error) = self.step() {
                // Nothing more is read from a file found broken.
                self.done = true;
                return Err(error);
            }
        }
    }

    /// Reads one XML event.
    fn step(&mut self) -> Result<(), CamtError> {
        let line = self.line();
        self.buf.clear();
        let mut buf = std::mem::take(&mut self.buf);
        let result = self.reader.read_event_into(&mut buf);
        let outcome = match result {
            Err(quick_xml::Error::Io(source)) => Err(CamtError::Io {
                path: self.path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            }),
            Err(error) => Err(self.xml_error(error.to_string())),
            Ok(event) => self.handle(event, line),
        };
        self.buf = buf;
        outcome
    }

    fn handle(&mut self, event: Event<'_>, line: u64) -> Result<(), CamtError> {
        match event {
            Event::Start(start) => self.start(&start, line),
            Event::Empty(start) => {
                self.start(&start, line)?;
                self.end()
            }
            Event::End(_) => self.end(),
            Event::Text(text) => {
                if self.collecting() {
                    let text = self.decode(&text)?;
                    self.push_text(&text);
                } else if self.stack.is_empty() && !text.iter().all(|b| b.is_ascii_whitespace()) {
                    return Err(self.xml_error("texte après la fin du document"));
                }
                Ok(())
            }
            Event::CData(data) => {
                if self.collecting() {
                    let text = self.decode(&data)?;
                    self.push_text(&text);
                }
                Ok(())
            }
            Event::GeneralRef(reference) => {
                let resolved = if reference.is_char_ref() {
                    match reference.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => {
                            return Err(self.xml_error(format!(
                                "référence de caractère « &{}; » invalide",
                                String::from_utf8_lossy(&reference)
                            )))
                        }
                    }
                } else {
                    let name = String::from_utf8_lossy(&reference).into_owned();
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(value) => value.to_string(),
                        None => return Err(self.xml_error(format!("entité « &{name}; » inconnue"))),
                    }
                };
                if self.collecting() {
                    self.push_text(&resolved);
                }
                Ok(())
            }
            Event::DocType(_) => Err(self.xml_error("DOCTYPE refusé")),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => Ok(()),
            Event::Eof => {
                if !self.stack.is_empty() {
                    return Err(self.xml_error(format!(
                        "document tronqué (« {} » jamais fermé)",
                        self.stack.last().map(String::as_str).unwrap_or("")
                    )));
                }
                self.done = true;
                Ok(())
            }
        }
    }

    fn decode<'b>(&self, bytes: &'b [u8]) -> Result<std::borrow::Cow<'b, str>, CamtError> {
        match self.encoding {
            Some(encoding) => Ok(encoding.decode_without_bom_handling(bytes).0),
            None => std::str::from_utf8(bytes)
                .map(std::borrow::Cow::Borrowed)
                .map_err(|_| self.xml_error("texte qui n'est pas de l'UTF-8")),
        }
    }

    fn collecting(&self) -> bool {
        self.stack.len() >= 4 && self.stack[2] == "Stmt"
    }

    fn push_text(&mut self, text: &str) {
        if self.text.len() < TEXT_LIMIT {
            let room = TEXT_LIMIT - self.text.len();
            if text.len() <= room {
                self.text.push_str(text);
            } else {
                let mut cut = room;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                self.text.push_str(&text[..cut]);
            }
        }
    }

    fn start(&mut self, start: &BytesStart<'_>, line: u64) -> Result<(), CamtError> {
        if self.stack.is_empty() {
            return Err(self.xml_error("élément après la fin du document"));
        }
        if self.stack.len() >= DEPTH_LIMIT {
            return Err(self.xml_error("éléments imbriqués trop profondément"));
        }
        let name = local_name(start);
        self.text.clear();
        if name == "Amt" {
            self.currency = start
                .attributes()
                .flatten()
                .find(|a| a.key.local_name().as_ref() == b"Ccy")
                .and_then(|a| {
                    a.decode_and_unescape_value(self.reader.decoder())
                        .ok()
                        .map(|v| v.trim().to_string())
                });
        }
        self.stack.push(name);
        let depth = self.stack.len();
        if depth == 3 && self.stack[2] == "Stmt" {
            self.statement_id.clear();
            self.account = None;
        } else if depth == 4 && self.stack[2] == "Stmt" && self.stack[3] == "Ntry" {
            self.entry = Some(EntryState {
                line,
                ..EntryState::default()
            });
        } else if depth == 6 && self.stack[3] == "Ntry" && self.stack[4] == "NtryDtls" && self.stack[5] == "TxDtls" {
            let too_many = match self.entry.as_mut() {
                Some(entry) if entry.txs.len() < TX_LIMIT => {
                    entry.txs.push(TxState {
                        line,
                        ..TxState::default()
                    });
                    false
                }
                Some(_) => true,
                None => false,
            };
            if too_many {
                return Err(self.xml_error(format!("plus de {TX_LIMIT} transactions dans une même écriture")));
            }
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), CamtError> {
        let depth = self.stack.len();
        if depth >= 4 && self.stack[2] == "Stmt" {
            let text = std::mem::take(&mut self.text);
            if self.stack[3] == "Ntry" {
                if depth == 4 {
                    if let Some(entry) = self.entry.take() {
                        self.finish_entry(entry);
                    }
                } else {
                    let rel = self.stack[4..].join("/");
                    let currency = self.currency.clone();
                    if let Some(entry) = self.entry.as_mut() {
                        entry_field(entry, &rel, text, currency);
                    }
                }
            } else {
                let rel = self.stack[3..].join("/");
                let text = text.trim();
                match rel.as_str() {
                    "Id" => self.statement_id = text.to_string(),
                    "Acct/Id/IBAN" | "Acct/Id/Othr/Id" if !text.is_empty() => {
                        self.account = Some(normalize_account(text))
                    }
                    _ => {}
                }
            }
        }
        self.text.clear();
        self.stack.pop();
        Ok(())
    }

    fn finish_entry(&mut self, entry: EntryState) {
        let results = build_entries(entry, &self.statement_id, self.account.as_deref(), &mut self.hashes);
        self.pending.extend(results);
    }
}

fn local_name(start: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(start.local_name().as_ref()).into_owned()
}

/// The ISO 20022 namespace declared on an element, for messages.
fn iso_namespace<R>(start: &BytesStart<'_>, reader: &Reader<R>) -> Option<String> {
    start.attributes().flatten().find_map(|a| {
        let key = a.key.as_ref();
        if key == b"xmlns" || key.starts_with(b"xmlns:") {
            let value = a.decode_and_unescape_value(reader.decoder()).ok()?;
            value
                .contains("iso:20022")
                .then(|| value.rsplit(':').next().unwrap_or(&value).to_string())
        } else {
            None
        }
    })
}

fn set(slot: &mut Option<String>, text: String) {
    if slot.is_none() {
        let text = text.trim();
        if !text.is_empty() {
            *slot = Some(text.to_string());
        }
    }
}

fn amount(slot: &mut Option<Amount>, text: String, currency: Option<String>) {
    if slot.is_none() {
        *slot = Some(Amount {
            text: text.trim().to_string(),
            currency,
        });
    }
}

/// Stores the text of an element inside `Ntry` (`rel` is its path below `Ntry`).
fn entry_field(entry: &mut EntryState, rel: &str, text: String, currency: Option<String>) {
    match rel {
        "NtryRef" => set(&mut entry.ntry_ref, text),
        "Amt" => amount(&mut entry.amount, text, currency),
        "CdtDbtInd" => set(&mut entry.credit_debit, text),
        "RvslInd" => set(&mut entry.reversal, text),
        "Sts" | "Sts/Cd" | "Sts/Prtry" => set(&mut entry.status, text),
        "BookgDt/Dt" | "BookgDt/DtTm" => set(&mut entry.booking, text),
        "ValDt/Dt" | "ValDt/DtTm" => set(&mut entry.value, text),
        "AcctSvcrRef" => set(&mut entry.acct_svcr_ref, text),
        "AddtlNtryInf" => set(&mut entry.additional, text),
        _ => {
            if let Some(tx_rel) = rel.strip_prefix("NtryDtls/TxDtls/") {
                if let Some(tx) = entry.txs.last_mut() {
                    tx_field(tx, tx_rel, text, currency);
                }
            }
        }
    }
}

/// Stores the text of an element inside `TxDtls` (`rel` is its path below `TxDtls`).
fn tx_field(tx: &mut TxState, rel: &str, text: String, currency: Option<String>) {
    // From .07 on, a party is wrapped in Pty (Party40Choice): RltdPties/Dbtr/Pty/Nm.
    let unwrapped;
    let rel = if rel.starts_with("RltdPties/") && rel.contains("/Pty/") {
        unwrapped = rel.replacen("/Pty/", "/", 1);
        unwrapped.as_str()
    } else {
        rel
    };
    match rel {
        "Refs/AcctSvcrRef" => set(&mut tx.acct_svcr_ref, text),
        "Refs/TxId" => set(&mut tx.tx_id, text),
        "Refs/EndToEndId" => set(&mut tx.end_to_end_id, text),
        "Amt" => amount(&mut tx.amount, text, currency),
        "CdtDbtInd" => set(&mut tx.credit_debit, text),
        "AmtDtls/TxAmt/Amt" => amount(&mut tx.tx_amount, text, currency),
        "AmtDtls/InstdAmt/Amt" => amount(&mut tx.instructed_amount, text, currency),
        "RltdPties/Dbtr/Nm" => set(&mut tx.debtor, text),
        "RltdPties/UltmtDbtr/Nm" => set(&mut tx.ultimate_debtor, text),
        "RltdPties/Cdtr/Nm" => set(&mut tx.creditor, text),
        "RltdPties/UltmtCdtr/Nm" => set(&mut tx.ultimate_creditor, text),
        "RltdPties/DbtrAcct/Id/IBAN" | "RltdPties/DbtrAcct/Id/Othr/Id" => set(&mut tx.debtor_account, text),
        "RltdPties/CdtrAcct/Id/IBAN" | "RltdPties/CdtrAcct/Id/Othr/Id" => set(&mut tx.creditor_account, text),
        "RmtInf/Ustrd" => {
            let line = collapse(&text);
            if !line.is_empty() && tx.ustrd.len() < USTRD_LIMIT {
                tx.ustrd.push(line);
            }
        }
        "RmtInf/Strd/CdtrRefInf/Ref" => set(&mut tx.creditor_reference, text),
        "AddtlTxInf" => set(&mut tx.additional, text),
        _ => {}
    }
}

/// Turns a complete `Ntry` into one entry, or one per transaction of a batch.
fn build_entries(
    entry: EntryState,
    statement_id: &str,
    account: Option<&str>,
    hashes: &mut HashMap<[u8; 8], u32>,
) -> Vec<Result<CamtEntry, EntryProblem>> {
    let mut problems: Vec<String> = Vec::new();
    let amount = match &entry.amount {
        None => {
            problems.push("montant (Amt) manquant".into());
            None
        }
        Some(a) => parse_amount(&a.text).map_err(|m| problems.push(m)).ok(),
    };
    let currency = check_currency(entry.amount.as_ref().and_then(|a| a.currency.as_deref()))
        .map_err(|m| problems.push(m))
        .ok();
    let credit = parse_credit(entry.credit_debit.as_deref())
        .map_err(|m| problems.push(m))
        .ok();
    let reversal = match entry.reversal.as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            problems.push(format!("indicateur d'extourne (RvslInd) « {other} » illisible"));
            false
        }
    };
    let booked = match entry.status.as_deref() {
        None => {
            problems.push("statut (Sts) manquant".into());
            false
        }
        Some(status) => status.eq_ignore_ascii_case("BOOK"),
    };
    let value_date = match entry.value.as_deref() {
        None => None,
        Some(text) => parse_date(text)
            .ok_or_else(|| problems.push(format!("date de valeur « {text} » illisible")))
            .ok(),
    };
    let booking_date = match entry.booking.as_deref() {
        Some(text) => parse_date(text)
            .ok_or_else(|| problems.push(format!("date de comptabilisation « {text} » illisible")))
            .ok(),
        // A pending entry may not be booked yet: its value date stands in.
        None if !booked && value_date.is_some() => value_date,
        None => {
            problems.push("date de comptabilisation manquante".into());
            None
        }
    };
    let (Some(amount), Some(currency), Some(credit), Some(booking_date), true) =
        (amount, currency, credit, booking_date, problems.is_empty())
    else {
        return vec![Err(EntryProblem {
            line: entry.line,
            message: problems.join(" ; "),
        })];
    };

    let account_key = account.unwrap_or("-");
    let bank_reference = entry.acct_svcr_ref.clone().or_else(|| entry.ntry_ref.clone());
    let entry_ref = match &bank_reference {
        Some(reference) => reference.clone(),
        None => {
            let remittance = collapse(
                &entry
                    .txs
                    .iter()
                    .flat_map(|tx| tx.ustrd.iter().chain(tx.additional.iter()))
                    .chain(entry.additional.iter())
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            let end_to_end = entry
                .txs
                .iter()
                .filter_map(|tx| end_to_end(tx.end_to_end_id.as_deref()))
                .collect::<Vec<_>>()
                .join(",");
            let digest = Sha256::digest(
                format!(
                    "{statement_id}|{booking_date}|{}|{}|{remittance}|{end_to_end}",
                    amount.normalize(),
                    if credit { "CRDT" } else { "DBIT" }
                )
                .as_bytes(),
            );
            let mut short = [0u8; 8];
            short.copy_from_slice(&digest[..8]);
            let occurrence = hashes.entry(short).or_insert(0);
            *occurrence += 1;
            let hex: String = short.iter().map(|b| format!("{b:02x}")).collect();
            format!("h{hex}.{occurrence}")
        }
    };
    let entry_key = format!("camt:{account_key}:{entry_ref}");

    let common = |tx: Option<&TxState>, credit: bool| {
        let debtor_side = credit != reversal;
        let (name, iban) = match tx {
            None => (None, None),
            Some(tx) if debtor_side => (
                tx.debtor.clone().or_else(|| tx.ultimate_debtor.clone()),
                tx.debtor_account.as_deref().map(normalize_account),
            ),
            Some(tx) => (
                tx.creditor.clone().or_else(|| tx.ultimate_creditor.clone()),
                tx.creditor_account.as_deref().map(normalize_account),
            ),
        };
        let remittance = collapse(
            &tx.map(|tx| tx.ustrd.iter().chain(tx.additional.iter()))
                .into_iter()
                .flatten()
                .chain(entry.additional.iter())
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        );
        (name, iban, remittance)
    };

    if entry.txs.len() <= 1 {
        let tx = entry.txs.first();
        let (counterparty_name, counterparty_iban, remittance) = common(tx, credit);
        return vec![Ok(CamtEntry {
            line: entry.line,
            key: entry_key,
            statement_id: statement_id.to_string(),
            account: account.map(str::to_string),
            booking_date,
            value_date,
            amount,
            currency,
            credit,
            reversal,
            booked,
            counterparty_name,
            counterparty_iban,
            remittance,
            creditor_reference: tx.and_then(|tx| tx.creditor_reference.clone()),
            end_to_end_id: tx.and_then(|tx| end_to_end(tx.end_to_end_id.as_deref())),
            bank_reference,
        })];
    }

    let mut used_refs = std::collections::HashSet::new();
    let mut results = Vec::with_capacity(entry.txs.len());
    for (index, tx) in entry.txs.iter().enumerate() {
        let index = index + 1;
        let own = tx
            .amount
            .as_ref()
            .or(tx.tx_amount.as_ref())
            .or(tx.instructed_amount.as_ref());
        let mut problems = Vec::new();
        let tx_amount = match own {
            None => {
                problems.push("montant de la transaction manquant".to_string());
                None
            }
            Some(a) => parse_amount(&a.text).map_err(|m| problems.push(m)).ok(),
        };
        let tx_currency = match own.and_then(|a| a.currency.as_deref()) {
            None => Some(currency.clone()),
            Some(c) => check_currency(Some(c)).map_err(|m| problems.push(m)).ok(),
        };
        let tx_credit = match tx.credit_debit.as_deref() {
            None => Some(credit),
            Some(c) => parse_credit(Some(c)).map_err(|m| problems.push(m)).ok(),
        };
        let (Some(tx_amount), Some(tx_currency), Some(tx_credit), true) =
            (tx_amount, tx_currency, tx_credit, problems.is_empty())
        else {
            results.push(Err(EntryProblem {
                line: tx.line,
                message: problems.join(" ; "),
            }));
            continue;
        };
        let mut tx_ref = tx
            .acct_svcr_ref
            .clone()
            .or_else(|| tx.tx_id.clone())
            .or_else(|| end_to_end(tx.end_to_end_id.as_deref()))
            .unwrap_or_else(|| format!("#{index}"));
        if !used_refs.insert(tx_ref.clone()) {
            tx_ref = format!("{tx_ref}#{index}");
            used_refs.insert(tx_ref.clone());
        }
        let (counterparty_name, counterparty_iban, remittance) = common(Some(tx), tx_credit);
        results.push(Ok(CamtEntry {
            line: tx.line,
            key: format!("{entry_key}:{tx_ref}"),
            statement_id: statement_id.to_string(),
            account: account.map(str::to_string),
            booking_date,
            value_date,
            amount: tx_amount,
            currency: tx_currency,
            credit: tx_credit,
            reversal,
            booked,
            counterparty_name,
            counterparty_iban,
            remittance,
            creditor_reference: tx.creditor_reference.clone(),
            end_to_end_id: end_to_end(tx.end_to_end_id.as_deref()),
            bank_reference: bank_reference.clone(),
        }));
    }
    results
}

fn parse_amount(text: &str) -> Result<Decimal, String> {
    let text = text.trim();
    let unreadable = || format!("montant « {text} » illisible");
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    if whole.is_empty()
        || fraction.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(unreadable());
    }
    let value = Decimal::from_str(text).map_err(|_| unreadable())?;
    if value.is_zero() {
        return Err(format!("montant « {text} » nul"));
    }
    Ok(value)
}

fn check_currency(currency: Option<&str>) -> Result<String, String> {
    match currency {
        None => Err("devise (Ccy) manquante".into()),
        Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => Ok(c.to_string()),
        Some(c) => Err(format!("devise (Ccy) « {c} » inconnue")),
    }
}

fn parse_credit(indicator: Option<&str>) -> Result<bool, String> {
    match indicator {
        Some("CRDT") => Ok(true),
        Some("DBIT") => Ok(false),
        Some(other) => Err(format!("sens (CdtDbtInd) « {other} » inconnu")),
        None => Err("sens (CdtDbtInd) manquant".into()),
    }
}

/// `Dt` (2026-01-05) or the date part of `DtTm` (2026-01-05T10:00:00+01:00).
fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let date = text.get(..10)?;
    if text.len() > 10 && !text[10..].starts_with('T') {
        return None;
    }
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

fn end_to_end(id: Option<&str>) -> Option<String> {
    id.map(str::trim)
        .filter(|id| !id.is_empty() && !id.eq_ignore_ascii_case("NOTPROVIDED"))
        .map(str::to_string)
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn normalize_account(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// camt.053.001.02 as BNP Paribas sends it: a credit with the owner as
    /// creditor, a batch booking of three transfers, a reversal, and a fee
    /// without details.
    const V02: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <BkToCstmrStmt>
    <GrpHdr>
      <MsgId>CAMT053BNP20260201</MsgId>
      <CreDtTm>2026-02-01T06:15:00</CreDtTm>
    </GrpHdr>
    <Stmt>
      <Id>STMT-2026-01</Id>
      <ElctrncSeqNb>1</ElctrncSeqNb>
      <CreDtTm>2026-02-01T06:15:00</CreDtTm>
      <Acct>
        <Id>
          <IBAN>FR7630004000031234567890143</IBAN>
        </Id>
        <Ccy>EUR</Ccy>
      </Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">1000.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-01-01</Dt></Dt>
      </Bal>
      <Ntry>
        <Amt Ccy="EUR">1250.50</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-01-05</Dt></BookgDt>
        <ValDt><Dt>2026-01-06</Dt></ValDt>
        <AcctSvcrRef>BNP0001</AcctSvcrRef>
        <BkTxCd>
          <Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>
          <Prtry><Cd>05</Cd><Issr>CFONB</Issr></Prtry>
        </BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs>
              <EndToEndId>NOTPROVIDED</EndToEndId>
            </Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">1250.50</Amt></TxAmt></AmtDtls>
            <RltdPties>
              <Dbtr><Nm>Élodie Château-Brûlé &amp; Fils SARL</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>FR1420041010050500013M02606</IBAN></Id></DbtrAcct>
              <Cdtr><Nm>JEAN DUPONT EI</Nm></Cdtr>
              <CdtrAcct><Id><IBAN>FR7630004000031234567890143</IBAN></Id></CdtrAcct>
            </RltdPties>
            <RmtInf>
              <Ustrd>Facture   F-2026-0001</Ustrd>
              <Ustrd>
                acompte</Ustrd>
            </RmtInf>
            <AddtlTxInf>VIR SEPA RECU</AddtlTxInf>
          </TxDtls>
        </NtryDtls>
        <AddtlNtryInf>VIR SEPA ELODIE CHATEAU</AddtlNtryInf>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">600.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-01-10</Dt></BookgDt>
        <ValDt><Dt>2026-01-10</Dt></ValDt>
        <AcctSvcrRef>BNP0002</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <Btch><NbOfTxs>3</NbOfTxs></Btch>
          <TxDtls>
            <Refs><AcctSvcrRef>TX-A</AcctSvcrRef><EndToEndId>E2E-A</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">100.00</Amt></TxAmt></AmtDtls>
            <RltdPties><Dbtr><Nm>Client A</Nm></Dbtr></RltdPties>
            <RmtInf><Ustrd>F-2026-0002</Ustrd></RmtInf>
          </TxDtls>
          <TxDtls>
            <Refs><EndToEndId>E2E-B</EndToEndId><TxId>TXID-B</TxId></Refs>
            <AmtDtls><InstdAmt><Amt Ccy="EUR">200.00</Amt></InstdAmt></AmtDtls>
            <RltdPties><UltmtDbtr><Nm>Client B</Nm></UltmtDbtr></RltdPties>
          </TxDtls>
          <TxDtls>
            <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">300.00</Amt></TxAmt></AmtDtls>
            <RmtInf>
              <Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>F-2026-0003</Ref></CdtrRefInf></Strd>
            </RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">1250.50</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <RvslInd>true</RvslInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-01-12</Dt></BookgDt>
        <ValDt><Dt>2026-01-06</Dt></ValDt>
        <AcctSvcrRef>BNP0003</AcctSvcrRef>
        <BkTxCd><Prtry><Cd>05</Cd><Issr>CFONB</Issr></Prtry></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <RltdPties>
              <Dbtr><Nm>Élodie Château-Brûlé &amp; Fils SARL</Nm></Dbtr>
              <Cdtr><Nm>JEAN DUPONT EI</Nm></Cdtr>
            </RltdPties>
          </TxDtls>
        </NtryDtls>
      </Ntry>
      <Ntry>
        <NtryRef>FRAIS-01</NtryRef>
        <Amt Ccy="EUR">7.9</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><DtTm>2026-01-31T23:00:00+01:00</DtTm></BookgDt>
        <BkTxCd><Prtry><Cd>FRAIS</Cd></Prtry></BkTxCd>
        <AddtlNtryInf>COMMISSION
          TENUE DE COMPTE</AddtlNtryInf>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
"#;

    /// camt.053.001.08 with a namespace prefix, two statements, a structured
    /// ISO 11649 reference, a pending entry and a batch split over two NtryDtls.
    const V08: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<camt:Document xmlns:camt="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
  <camt:BkToCstmrStmt>
    <camt:GrpHdr>
      <camt:MsgId>SG-20260201</camt:MsgId>
      <camt:CreDtTm>2026-02-01T05:00:00+01:00</camt:CreDtTm>
    </camt:GrpHdr>
    <camt:Stmt>
      <camt:Id>SG-1</camt:Id>
      <camt:Acct><camt:Id><camt:IBAN>FR7630003000405555555555555</camt:IBAN></camt:Id></camt:Acct>
      <camt:Bal>
        <camt:Tp><camt:CdOrPrtry><camt:Cd>CLBD</camt:Cd></camt:CdOrPrtry></camt:Tp>
        <camt:Amt Ccy="EUR">10.00</camt:Amt>
        <camt:CdtDbtInd>CRDT</camt:CdtDbtInd>
        <camt:Dt><camt:Dt>2026-01-31</camt:Dt></camt:Dt>
      </camt:Bal>
      <camt:Ntry>
        <camt:Amt Ccy="EUR">480.00</camt:Amt>
        <camt:CdtDbtInd>CRDT</camt:CdtDbtInd>
        <camt:Sts><camt:Cd>BOOK</camt:Cd></camt:Sts>
        <camt:BookgDt><camt:Dt>2026-01-20</camt:Dt></camt:BookgDt>
        <camt:ValDt><camt:DtTm>2026-01-21T00:00:00</camt:DtTm></camt:ValDt>
        <camt:AcctSvcrRef>SG0001</camt:AcctSvcrRef>
        <camt:BkTxCd><camt:Domn><camt:Cd>PMNT</camt:Cd><camt:Fmly><camt:Cd>RCDT</camt:Cd><camt:SubFmlyCd>ESCT</camt:SubFmlyCd></camt:Fmly></camt:Domn></camt:BkTxCd>
        <camt:NtryDtls>
          <camt:TxDtls>
            <camt:Refs><camt:EndToEndId>E2E-SG-1</camt:EndToEndId></camt:Refs>
            <camt:Amt Ccy="EUR">480.00</camt:Amt>
            <camt:CdtDbtInd>CRDT</camt:CdtDbtInd>
            <camt:RltdPties>
              <camt:Dbtr><camt:Pty><camt:Nm>Atelier Bois &amp; Fer</camt:Nm></camt:Pty></camt:Dbtr>
              <camt:DbtrAcct><camt:Id><camt:IBAN>FR1420041010050500013M02606</camt:IBAN></camt:Id></camt:DbtrAcct>
            </camt:RltdPties>
            <camt:RmtInf>
              <camt:Strd>
                <camt:CdtrRefInf>
                  <camt:Tp><camt:CdOrPrtry><camt:Cd>SCOR</camt:Cd></camt:CdOrPrtry></camt:Tp>
                  <camt:Ref>RF12F20260001</camt:Ref>
                </camt:CdtrRefInf>
              </camt:Strd>
            </camt:RmtInf>
          </camt:TxDtls>
        </camt:NtryDtls>
      </camt:Ntry>
      <camt:Ntry>
        <camt:Amt Ccy="EUR">75.00</camt:Amt>
        <camt:CdtDbtInd>CRDT</camt:CdtDbtInd>
        <camt:Sts><camt:Cd>PDNG</camt:Cd></camt:Sts>
        <camt:ValDt><camt:Dt>2026-02-02</camt:Dt></camt:ValDt>
        <camt:BkTxCd><camt:Domn><camt:Cd>PMNT</camt:Cd><camt:Fmly><camt:Cd>RCDT</camt:Cd><camt:SubFmlyCd>ESCT</camt:SubFmlyCd></camt:Fmly></camt:Domn></camt:BkTxCd>
        <camt:NtryDtls>
          <camt:TxDtls>
            <camt:RmtInf><camt:Ustrd>F-2026-0009</camt:Ustrd></camt:RmtInf>
          </camt:TxDtls>
        </camt:NtryDtls>
      </camt:Ntry>
    </camt:Stmt>
    <camt:Stmt>
      <camt:Id>SG-2</camt:Id>
      <camt:Acct><camt:Id><camt:Othr><camt:Id>0003 000405 7777</camt:Id></camt:Othr></camt:Id></camt:Acct>
      <camt:Bal>
        <camt:Tp><camt:CdOrPrtry><camt:Cd>CLBD</camt:Cd></camt:CdOrPrtry></camt:Tp>
        <camt:Amt Ccy="EUR">10.00</camt:Amt>
        <camt:CdtDbtInd>CRDT</camt:CdtDbtInd>
        <camt:Dt><camt:Dt>2026-01-31</camt:Dt></camt:Dt>
      </camt:Bal>
      <camt:Ntry>
        <camt:Amt Ccy="EUR">30.00</camt:Amt>
        <camt:CdtDbtInd>DBIT</camt:CdtDbtInd>
        <camt:Sts><camt:Cd>BOOK</camt:Cd></camt:Sts>
        <camt:BookgDt><camt:Dt>2026-01-25</camt:Dt></camt:BookgDt>
        <camt:AcctSvcrRef>SG0002</camt:AcctSvcrRef>
        <camt:BkTxCd><camt:Domn><camt:Cd>PMNT</camt:Cd><camt:Fmly><camt:Cd>ICDT</camt:Cd><camt:SubFmlyCd>ESCT</camt:SubFmlyCd></camt:Fmly></camt:Domn></camt:BkTxCd>
        <camt:NtryDtls>
          <camt:TxDtls>
            <camt:Refs><camt:EndToEndId>E2E-X</camt:EndToEndId></camt:Refs>
            <camt:Amt Ccy="EUR">10.00</camt:Amt>
            <camt:RltdPties>
              <camt:Cdtr><camt:Pty><camt:Nm>Fournisseur X</camt:Nm></camt:Pty></camt:Cdtr>
              <camt:CdtrAcct><camt:Id><camt:IBAN>FR7612345000010000000000187</camt:IBAN></camt:Id></camt:CdtrAcct>
            </camt:RltdPties>
          </camt:TxDtls>
        </camt:NtryDtls>
        <camt:NtryDtls>
          <camt:TxDtls>
            <camt:Refs><camt:EndToEndId>E2E-X</camt:EndToEndId></camt:Refs>
            <camt:Amt Ccy="EUR">20.00</camt:Amt>
            <camt:CdtDbtInd>DBIT</camt:CdtDbtInd>
            <camt:RltdPties>
              <camt:Cdtr><camt:Pty><camt:Nm>Fournisseur Y</camt:Nm></camt:Pty></camt:Cdtr>
            </camt:RltdPties>
          </camt:TxDtls>
        </camt:NtryDtls>
      </camt:Ntry>
    </camt:Stmt>
  </camt:BkToCstmrStmt>
</camt:Document>
"#;

    fn write(dir: &tempfile::TempDir, name: &str, xml: &str) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, xml).unwrap();
        path
    }

    /// Every item of a file (entries and entry problems).
    fn read_all(path: &Path) -> Result<Vec<Result<CamtEntry, EntryProblem>>, CamtError> {
        let mut reader = CamtReader::open(path)?;
        let mut items = Vec::new();
        while let Some(item) = reader.next_entry()? {
            items.push(item);
        }
        Ok(items)
    }

    fn entries(xml: &str) -> Vec<CamtEntry> {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "releve.xml", xml);
        read_all(&path).unwrap().into_iter().map(|item| item.unwrap()).collect()
    }

    /// 1-based line of the first occurrence of `needle` in `xml`.
    fn line_of(xml: &str, needle: &str) -> u64 {
        let at = xml.find(needle).unwrap_or_else(|| panic!("{needle} absent"));
        1 + xml[..at].matches('\n').count() as u64
    }

    /// Line of the n-th (0-based) occurrence of `needle`.
    fn nth_line(xml: &str, needle: &str, n: usize) -> u64 {
        let at = xml.match_indices(needle).nth(n).unwrap().0;
        1 + xml[..at].matches('\n').count() as u64
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn reads_a_v02_statement() {
        let all = entries(V02);
        assert_eq!(all.len(), 1 + 3 + 1 + 1);
        let first = &all[0];
        assert_eq!(
            first,
            &CamtEntry {
                line: line_of(V02, "<Ntry>"),
                key: "camt:FR7630004000031234567890143:BNP0001".into(),
                statement_id: "STMT-2026-01".into(),
                account: Some("FR7630004000031234567890143".into()),
                booking_date: date("2026-01-05"),
                value_date: Some(date("2026-01-06")),
                amount: dec("1250.50"),
                currency: "EUR".into(),
                credit: true,
                reversal: false,
                booked: true,
                counterparty_name: Some("Élodie Château-Brûlé & Fils SARL".into()),
                counterparty_iban: Some("FR1420041010050500013M02606".into()),
                remittance: "Facture F-2026-0001 acompte VIR SEPA RECU VIR SEPA ELODIE CHATEAU".into(),
                creditor_reference: None,
                end_to_end_id: None,
                bank_reference: Some("BNP0001".into()),
            }
        );
    }

    #[test]
    fn splits_a_batch_into_its_transactions() {
        let all = entries(V02);
        let batch = &all[1..4];
        let keys: Vec<&str> = batch.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "camt:FR7630004000031234567890143:BNP0002:TX-A",
                "camt:FR7630004000031234567890143:BNP0002:TXID-B",
                "camt:FR7630004000031234567890143:BNP0002:#3",
            ]
        );
        let amounts: Vec<Decimal> = batch.iter().map(|e| e.amount).collect();
        assert_eq!(amounts, [dec("100"), dec("200"), dec("300")]);
        for (n, entry) in batch.iter().enumerate() {
            assert_eq!(entry.line, nth_line(V02, "<TxDtls>", n + 1));
            assert_eq!(entry.bank_reference.as_deref(), Some("BNP0002"));
            assert!(entry.credit && entry.booked);
        }
        assert_eq!(batch[0].counterparty_name.as_deref(), Some("Client A"));
        assert_eq!(batch[0].remittance, "F-2026-0002");
        assert_eq!(batch[0].end_to_end_id.as_deref(), Some("E2E-A"));
        assert_eq!(batch[1].counterparty_name.as_deref(), Some("Client B"));
        assert_eq!(batch[2].creditor_reference.as_deref(), Some("F-2026-0003"));
        assert_eq!(batch[2].end_to_end_id, None);
    }

    #[test]
    fn reads_a_reversal_and_an_entry_without_details() {
        let all = entries(V02);
        let reversal = &all[4];
        assert!(reversal.reversal && !reversal.credit);
        assert_eq!(reversal.key, "camt:FR7630004000031234567890143:BNP0003");
        assert_eq!(reversal.amount, dec("1250.50"));
        // The parties are those of the credit it cancels.
        assert_eq!(
            reversal.counterparty_name.as_deref(),
            Some("Élodie Château-Brûlé & Fils SARL")
        );
        let fee = &all[5];
        assert_eq!(fee.line, line_of(V02, "<NtryRef>") - 1);
        assert_eq!(fee.key, "camt:FR7630004000031234567890143:FRAIS-01");
        assert_eq!(fee.booking_date, date("2026-01-31"));
        assert_eq!(fee.value_date, None);
        assert_eq!(fee.amount, dec("7.9"));
        assert_eq!(fee.remittance, "COMMISSION TENUE DE COMPTE");
        assert_eq!(fee.counterparty_name, None);
    }

    #[test]
    fn reads_a_v08_document_with_two_statements() {
        let all = entries(V08);
        assert_eq!(all.len(), 4);
        let first = &all[0];
        assert_eq!(first.line, line_of(V08, "<camt:Ntry>"));
        assert_eq!(first.key, "camt:FR7630003000405555555555555:SG0001");
        assert_eq!(first.statement_id, "SG-1");
        assert_eq!(first.value_date, Some(date("2026-01-21")));
        assert!(first.booked && first.credit && !first.reversal);
        assert_eq!(first.counterparty_name.as_deref(), Some("Atelier Bois & Fer"));
        assert_eq!(first.counterparty_iban.as_deref(), Some("FR1420041010050500013M02606"));
        assert_eq!(first.creditor_reference.as_deref(), Some("RF12F20260001"));
        assert_eq!(first.end_to_end_id.as_deref(), Some("E2E-SG-1"));
        assert_eq!(first.remittance, "");

        let pending = &all[1];
        assert!(!pending.booked);
        assert_eq!(pending.booking_date, date("2026-02-02"));
        assert!(pending.key.starts_with("camt:FR7630003000405555555555555:h"));
        assert_eq!(pending.bank_reference, None);
        assert_eq!(pending.remittance, "F-2026-0009");

        // The second statement, its batch spread over two NtryDtls.
        let (x, y) = (&all[2], &all[3]);
        assert_eq!(x.statement_id, "SG-2");
        assert_eq!(x.account.as_deref(), Some("00030004057777"));
        assert_eq!(x.key, "camt:00030004057777:SG0002:E2E-X");
        assert_eq!(y.key, "camt:00030004057777:SG0002:E2E-X#2");
        assert_eq!((x.amount, y.amount), (dec("10"), dec("20")));
        assert!(!x.credit && !y.credit);
        assert_eq!(x.counterparty_name.as_deref(), Some("Fournisseur X"));
        assert_eq!(x.counterparty_iban.as_deref(), Some("FR7612345000010000000000187"));
        assert_eq!(y.counterparty_name.as_deref(), Some("Fournisseur Y"));
        assert_eq!(y.line, nth_line(V08, "<camt:TxDtls>", 3));
    }

    #[test]
    fn keys_are_stable_and_distinct() {
        let identical = V08.replace(
            "</camt:Stmt>\n    <camt:Stmt>",
            &format!(
                "{}</camt:Stmt>\n    <camt:Stmt>",
                &V08[V08
                    .find("      <camt:Ntry>\n        <camt:Amt Ccy=\"EUR\">75.00")
                    .unwrap()..V08.find("    </camt:Stmt>").unwrap()]
            ),
        );
        let first = entries(&identical);
        let second = entries(&identical);
        assert_eq!(first, second);
        let keys: std::collections::HashSet<&str> = first.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys.len(), first.len(), "{first:#?}");
        // The two identical pending entries without references: the same hash, counted.
        let hashed: Vec<&str> = first
            .iter()
            .filter(|e| e.bank_reference.is_none())
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(hashed.len(), 2);
        assert!(hashed[0].ends_with(".1") && hashed[1].ends_with(".2"));
        assert_eq!(hashed[0].trim_end_matches(".1"), hashed[1].trim_end_matches(".2"));
        assert_eq!(entries(V02), entries(V02));
    }

    #[test]
    fn names_the_line_of_an_unreadable_entry() {
        let xml = V02.replace(">7.9<", ">12,5O<").replace(
            "<CdtDbtInd>DBIT</CdtDbtInd>\n        <RvslInd>",
            "<CdtDbtInd>X</CdtDbtInd>\n        <RvslInd>",
        );
        let dir = tempfile::tempdir().unwrap();
        let items = read_all(&write(&dir, "bad.xml", &xml)).unwrap();
        let problems: Vec<EntryProblem> = items.into_iter().filter_map(Result::err).collect();
        assert_eq!(
            problems,
            [
                EntryProblem {
                    line: nth_line(&xml, "<Ntry>", 2),
                    message: "sens (CdtDbtInd) « X » inconnu".into(),
                },
                EntryProblem {
                    line: nth_line(&xml, "<Ntry>", 3),
                    message: "montant « 12,5O » illisible".into(),
                },
            ]
        );
        let xml = V02.replace("<BookgDt><Dt>2026-01-05</Dt></BookgDt>", "");
        let items = read_all(&write(&dir, "nodate.xml", &xml)).unwrap();
        assert_eq!(
            items[0],
            Err(EntryProblem {
                line: line_of(&xml, "<Ntry>"),
                message: "date de comptabilisation manquante".into(),
            })
        );
        // A batch transaction without an amount of its own.
        let xml = V02.replace(
            "<AmtDtls><InstdAmt><Amt Ccy=\"EUR\">200.00</Amt></InstdAmt></AmtDtls>",
            "",
        );
        let items = read_all(&write(&dir, "noamt.xml", &xml)).unwrap();
        assert_eq!(
            items[2],
            Err(EntryProblem {
                line: nth_line(&xml, "<TxDtls>", 2),
                message: "montant de la transaction manquant".into(),
            })
        );
        assert!(items[1].is_ok() && items[3].is_ok());
    }

    #[test]
    fn refuses_a_truncated_document() {
        let dir = tempfile::tempdir().unwrap();
        let cut = &V02[..V02.find("<AcctSvcrRef>BNP0003").unwrap()];
        let path = write(&dir, "cut.xml", cut);
        match read_all(&path) {
            Err(CamtError::Xml { line, message }) => {
                assert!(message.contains("tronqué"), "{message}");
                assert!(line >= cut.matches('\n').count() as u64, "{line}");
            }
            other => panic!("{other:?}"),
        }
        let path = write(&dir, "cut2.xml", &V02[..V02.find("BNP0002").unwrap() - 3]);
        assert!(matches!(read_all(&path), Err(CamtError::Xml { .. })));
        let path = write(&dir, "mismatch.xml", &V02.replace("</Sts>", "</Stx>"));
        assert!(matches!(read_all(&path), Err(CamtError::Xml { .. })));
    }

    #[test]
    fn refuses_a_doctype() {
        let dir = tempfile::tempdir().unwrap();
        let xml = V02.replace(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<?xml version=\"1.0\"?>\n<!DOCTYPE Document [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n",
        );
        match CamtReader::open(&write(&dir, "xxe.xml", &xml)) {
            Err(CamtError::Xml { line, message }) => {
                assert_eq!(message, "DOCTYPE refusé");
                assert_eq!(line, 2);
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("DOCTYPE accepté"),
        }
        let xml = V02.replace("Fils SARL", "Fils &x; SARL");
        assert!(matches!(
            read_all(&write(&dir, "entity.xml", &xml)),
            Err(CamtError::Xml { .. })
        ));
    }

    #[test]
    fn refuses_other_messages() {
        let dir = tempfile::tempdir().unwrap();
        let pain = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">
  <CstmrCdtTrfInitn><GrpHdr><MsgId>1</MsgId></GrpHdr></CstmrCdtTrfInitn>
</Document>
"#;
        match CamtReader::open(&write(&dir, "pain.xml", pain)) {
            Err(CamtError::NotCamt(message)) => {
                assert!(message.contains("CstmrCdtTrfInitn"), "{message}");
                assert!(message.contains("pain.001.001.03"), "{message}");
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("pain.001 accepté"),
        }
        let camt052 = V02
            .replace("camt.053.001.02", "camt.052.001.02")
            .replace("BkToCstmrStmt>", "BkToCstmrAcctRpt>");
        assert!(matches!(
            CamtReader::open(&write(&dir, "camt052.xml", &camt052)),
            Err(CamtError::NotCamt(_))
        ));
        assert!(matches!(
            CamtReader::open(&write(&dir, "html.xml", "<html><body/></html>")),
            Err(CamtError::NotCamt(_))
        ));
        assert!(matches!(
            CamtReader::open(&write(&dir, "csv.xml", "date;montant\n2026-01-01;12\n")),
            Err(CamtError::NotCamt(_))
        ));
        assert!(matches!(
            CamtReader::open(&dir.path().join("absent.xml")),
            Err(CamtError::Io { .. })
        ));
    }

    #[test]
    fn reads_a_latin1_file_and_an_empty_statement_list() {
        let dir = tempfile::tempdir().unwrap();
        let xml = V02.replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&xml);
        let path = dir.path().join("latin1.xml");
        std::fs::write(&path, &bytes).unwrap();
        let all: Vec<CamtEntry> = read_all(&path).unwrap().into_iter().map(Result::unwrap).collect();
        assert_eq!(all, entries(V02));
        // The same bytes declared as UTF-8 are refused.
        let path = dir.path().join("fake-utf8.xml");
        let lying = [
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            &bytes[bytes.iter().position(|b| *b == b'\n').unwrap()..],
        ]
        .concat();
        std::fs::write(&path, lying).unwrap();
        assert!(matches!(read_all(&path), Err(CamtError::Xml { .. })));

        let empty = "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt/></Document>";
        assert_eq!(entries(empty), []);
    }

    #[test]
    fn recognizes_camt_heads() {
        assert!(looks_like_camt(V02.as_bytes()));
        assert!(looks_like_camt(V08.as_bytes()));
        let with_bom = [b"\xEF\xBB\xBF  \n".as_slice(), V02.as_bytes()].concat();
        assert!(looks_like_camt(&with_bom));
        let bare = V02.split_once("?>\n").unwrap().1;
        assert!(looks_like_camt(bare.as_bytes()));
        assert!(!looks_like_camt(
            b"<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\"/>"
        ));
        assert!(!looks_like_camt(b"Date;Libelle;Montant\n"));
        assert!(!looks_like_camt(b"<html><body>camt.053</body></html>"));
        // Only the first 4 KiB count.
        let far = format!("<?xml version=\"1.0\"?>\n<!--{}-->\n<BkToCstmrStmt/>", " ".repeat(5000));
        assert!(!looks_like_camt(far.as_bytes()));
    }
}
