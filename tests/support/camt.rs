//! camt.053 statements in the shapes French banks export (BNP Paribas, Société
//! Générale, Crédit Agricole): EUR, one `Ntry` per booking with its
//! `AcctSvcrRef`, the ISO bank transaction code plus the CFONB one, `NtryDtls`
//! with the transaction's references, parties and remittance information, and
//! batch bookings as one entry with several `TxDtls`. Every document is valid
//! against the official XSD of its version (`tests/fixtures/camt/`).

use std::fmt::Write as _;
use std::path::Path;

use chrono::NaiveDate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// camt.053.001.02 (the one most French banks still send).
    V02,
    /// camt.053.001.08
    V08,
}

impl Version {
    fn namespace(self) -> &'static str {
        match self {
            Version::V02 => "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02",
            Version::V08 => "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08",
        }
    }

    fn xsd(self) -> &'static str {
        match self {
            Version::V02 => "camt.053.001.02.xsd",
            Version::V08 => "camt.053.001.08.xsd",
        }
    }
}

/// One transaction of an entry (`TxDtls`).
#[derive(Debug, Clone)]
pub struct Tx {
    pub amount_minor: i64,
    /// The other party: the debtor of a credit, the creditor of a debit.
    pub name: Option<String>,
    pub iban: Option<String>,
    pub ustrd: Vec<String>,
    /// RmtInf/Strd/CdtrRefInf/Ref (type SCOR).
    pub creditor_ref: Option<String>,
    /// Refs/EndToEndId; None is written as NOTPROVIDED, as banks do.
    pub end_to_end: Option<String>,
    /// Refs/AcctSvcrRef of the transaction.
    pub tx_ref: Option<String>,
}

/// One booking (`Ntry`).
#[derive(Debug, Clone)]
pub struct Entry {
    /// AcctSvcrRef
    pub reference: String,
    pub booking: NaiveDate,
    pub value: NaiveDate,
    pub credit: bool,
    pub reversal: bool,
    /// None = sum of txs.
    pub amount_minor: Option<i64>,
    /// 1 = single, >1 = batch with `<Btch><NbOfTxs>`, 0 = no NtryDtls (then amount_minor is needed).
    pub txs: Vec<Tx>,
    /// AddtlNtryInf
    pub additional: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Statement {
    pub id: String,
    pub iban: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub entries: Vec<Entry>,
}

/// A transaction with a name and one unstructured remittance line.
pub fn tx(amount_minor: i64, name: &str, ustrd: &str) -> Tx {
    Tx {
        amount_minor,
        name: Some(name.to_string()),
        iban: None,
        ustrd: if ustrd.is_empty() {
            Vec::new()
        } else {
            vec![ustrd.to_string()]
        },
        creditor_ref: None,
        end_to_end: None,
        tx_ref: None,
    }
}

/// ISO 11649 creditor reference: "RF" + 2 check digits (mod 97-10) + payload.
pub fn rf_reference(payload: &str) -> String {
    let payload: String = payload
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    assert!(
        !payload.is_empty() && payload.len() <= 21 && payload.chars().all(|c| c.is_ascii_alphanumeric()),
        "référence RF impossible : {payload:?}"
    );
    let mut remainder: u32 = 0;
    for c in payload.chars().chain("RF00".chars()) {
        let value = c.to_digit(36).expect("alphanumeric");
        for digit in value.to_string().chars() {
            remainder = (remainder * 10 + digit.to_digit(10).expect("digit")) % 97;
        }
    }
    format!("RF{:02}{payload}", 98 - remainder)
}

/// The complete camt.053 document (UTF-8, EUR).
pub fn document(version: Version, statements: &[Statement]) -> String {
    assert!(!statements.is_empty(), "un relevé camt.053 a au moins un Stmt");
    let created = statements.iter().map(|s| s.to).max().expect("statements") + chrono::Days::new(1);
    let mut xml = String::new();
    let w = &mut xml;
    w.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        w,
        "<Document xmlns=\"{}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">",
        version.namespace()
    );
    w.push_str("  <BkToCstmrStmt>\n    <GrpHdr>\n");
    let msg_id: String = format!("CAMT053{}{}", created.format("%Y%m%d"), statements[0].id)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(35)
        .collect();
    let _ = writeln!(w, "      <MsgId>{}</MsgId>", esc(&msg_id));
    let _ = writeln!(w, "      <CreDtTm>{created}T06:15:00</CreDtTm>");
    w.push_str("      <MsgPgntn>\n        <PgNb>1</PgNb>\n        <LastPgInd>true</LastPgInd>\n      </MsgPgntn>\n");
    w.push_str("    </GrpHdr>\n");

    // Balances run on from one statement of an account to the next.
    let mut balances: Vec<(String, i64)> = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        let iban = compact_iban(&statement.iban);
        let opening = balances
            .iter()
            .find(|(i, _)| *i == iban)
            .map(|(_, b)| *b)
            .unwrap_or(100_000); // 1 000,00 €
        let closing = opening
            + statement
                .entries
                .iter()
                .map(|e| {
                    let amount = entry_amount(e);
                    if e.credit {
                        amount
                    } else {
                        -amount
                    }
                })
                .sum::<i64>();
        balances.retain(|(i, _)| *i != iban);
        balances.push((iban.clone(), closing));

        w.push_str("    <Stmt>\n");
        let _ = writeln!(w, "      <Id>{}</Id>", esc(&statement.id));
        let _ = writeln!(w, "      <ElctrncSeqNb>{}</ElctrncSeqNb>", index + 1);
        let _ = writeln!(w, "      <CreDtTm>{created}T06:15:00</CreDtTm>");
        let _ = writeln!(
            w,
            "      <FrToDt>\n        <FrDtTm>{}T00:00:00</FrDtTm>\n        <ToDtTm>{}T23:59:59</ToDtTm>\n      </FrToDt>",
            statement.from, statement.to
        );
        let bic_tag = match version {
            Version::V02 => "BIC",
            Version::V08 => "BICFI",
        };
        let _ = writeln!(
            w,
            "      <Acct>\n        <Id>\n          <IBAN>{}</IBAN>\n        </Id>\n        <Ccy>EUR</Ccy>\n        <Svcr>\n          <FinInstnId>\n            <{bic_tag}>{}</{bic_tag}>\n          </FinInstnId>\n        </Svcr>\n      </Acct>",
            esc(&iban),
            bic(&iban)
        );
        balance(w, "OPBD", opening, statement.from);
        balance(w, "CLBD", closing, statement.to);
        for entry in &statement.entries {
            write_entry(w, version, entry);
        }
        w.push_str("    </Stmt>\n");
    }
    w.push_str("  </BkToCstmrStmt>\n</Document>\n");
    xml
}

/// Validates `xml_path` against the official XSD of `version`; panics with xmllint's output when invalid.
pub fn assert_valid(version: Version, xml_path: &Path) {
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/camt")
        .join(version.xsd());
    let output = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(&xsd)
        .arg(xml_path)
        .output()
        .unwrap_or_else(|e| panic!("xmllint introuvable ({e}) : apt-get install libxml2-utils"));
    if !output.status.success() {
        panic!(
            "{} n'est pas valide selon {} :\n{}{}",
            xml_path.display(),
            xsd.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn entry_amount(entry: &Entry) -> i64 {
    let amount = entry.amount_minor.unwrap_or_else(|| {
        assert!(
            !entry.txs.is_empty(),
            "écriture {} sans transaction : amount_minor est nécessaire",
            entry.reference
        );
        entry.txs.iter().map(|t| t.amount_minor).sum()
    });
    assert!(amount > 0, "écriture {} : montant {amount} <= 0", entry.reference);
    amount
}

fn write_entry(w: &mut String, version: Version, entry: &Entry) {
    let amount = entry_amount(entry);
    let indicator = if entry.credit { "CRDT" } else { "DBIT" };
    w.push_str("      <Ntry>\n");
    let _ = writeln!(w, "        <Amt Ccy=\"EUR\">{}</Amt>", money(amount));
    let _ = writeln!(w, "        <CdtDbtInd>{indicator}</CdtDbtInd>");
    if entry.reversal {
        w.push_str("        <RvslInd>true</RvslInd>\n");
    }
    match version {
        Version::V02 => w.push_str("        <Sts>BOOK</Sts>\n"),
        Version::V08 => w.push_str("        <Sts>\n          <Cd>BOOK</Cd>\n        </Sts>\n"),
    }
    let _ = writeln!(
        w,
        "        <BookgDt>\n          <Dt>{}</Dt>\n        </BookgDt>",
        entry.booking
    );
    let _ = writeln!(
        w,
        "        <ValDt>\n          <Dt>{}</Dt>\n        </ValDt>",
        entry.value
    );
    let _ = writeln!(w, "        <AcctSvcrRef>{}</AcctSvcrRef>", esc(&entry.reference));
    // SEPA credit transfer received (RCDT) or issued (ICDT), and the CFONB
    // operation code French banks add (05 virement reçu, 06 virement émis).
    let (family, cfonb) = if entry.credit != entry.reversal {
        ("RCDT", "05")
    } else {
        ("ICDT", "06")
    };
    let _ = writeln!(
        w,
        "        <BkTxCd>\n          <Domn>\n            <Cd>PMNT</Cd>\n            <Fmly>\n              <Cd>{family}</Cd>\n              <SubFmlyCd>ESCT</SubFmlyCd>\n            </Fmly>\n          </Domn>\n          <Prtry>\n            <Cd>{cfonb}</Cd>\n            <Issr>CFONB</Issr>\n          </Prtry>\n        </BkTxCd>"
    );
    if !entry.txs.is_empty() {
        w.push_str("        <NtryDtls>\n");
        if entry.txs.len() > 1 {
            let _ = writeln!(
                w,
                "          <Btch>\n            <NbOfTxs>{}</NbOfTxs>\n            <TtlAmt Ccy=\"EUR\">{}</TtlAmt>\n            <CdtDbtInd>{indicator}</CdtDbtInd>\n          </Btch>",
                entry.txs.len(),
                money(entry.txs.iter().map(|t| t.amount_minor).sum())
            );
        }
        for tx in &entry.txs {
            write_tx(w, version, entry, tx);
        }
        w.push_str("        </NtryDtls>\n");
    }
    if let Some(additional) = &entry.additional {
        let _ = writeln!(w, "        <AddtlNtryInf>{}</AddtlNtryInf>", esc(additional));
    }
    w.push_str("      </Ntry>\n");
}

fn write_tx(w: &mut String, version: Version, entry: &Entry, tx: &Tx) {
    assert!(tx.amount_minor > 0, "transaction de montant {} <= 0", tx.amount_minor);
    let indicator = if entry.credit { "CRDT" } else { "DBIT" };
    w.push_str("          <TxDtls>\n            <Refs>\n");
    if let Some(tx_ref) = &tx.tx_ref {
        let _ = writeln!(w, "              <AcctSvcrRef>{}</AcctSvcrRef>", esc(tx_ref));
    }
    let _ = writeln!(
        w,
        "              <EndToEndId>{}</EndToEndId>",
        esc(tx.end_to_end.as_deref().unwrap_or("NOTPROVIDED"))
    );
    w.push_str("            </Refs>\n");
    let amount = money(tx.amount_minor);
    match version {
        Version::V02 => {
            let _ = writeln!(
                w,
                "            <AmtDtls>\n              <TxAmt>\n                <Amt Ccy=\"EUR\">{amount}</Amt>\n              </TxAmt>\n            </AmtDtls>"
            );
        }
        Version::V08 => {
            let _ = writeln!(w, "            <Amt Ccy=\"EUR\">{amount}</Amt>");
            let _ = writeln!(w, "            <CdtDbtInd>{indicator}</CdtDbtInd>");
        }
    }
    if tx.name.is_some() || tx.iban.is_some() {
        // The other party: the debtor of a credit (or of the credit a reversal cancels).
        let (party, account) = if entry.credit != entry.reversal {
            ("Dbtr", "DbtrAcct")
        } else {
            ("Cdtr", "CdtrAcct")
        };
        w.push_str("            <RltdPties>\n");
        if let Some(name) = &tx.name {
            match version {
                Version::V02 => {
                    let _ = writeln!(
                        w,
                        "              <{party}>\n                <Nm>{}</Nm>\n              </{party}>",
                        esc(name)
                    );
                }
                Version::V08 => {
                    let _ = writeln!(
                        w,
                        "              <{party}>\n                <Pty>\n                  <Nm>{}</Nm>\n                </Pty>\n              </{party}>",
                        esc(name)
                    );
                }
            }
        }
        if let Some(iban) = &tx.iban {
            let _ = writeln!(
                w,
                "              <{account}>\n                <Id>\n                  <IBAN>{}</IBAN>\n                </Id>\n              </{account}>",
                esc(&compact_iban(iban))
            );
        }
        w.push_str("            </RltdPties>\n");
    }
    if !tx.ustrd.is_empty() || tx.creditor_ref.is_some() {
        w.push_str("            <RmtInf>\n");
        for line in &tx.ustrd {
            let _ = writeln!(w, "              <Ustrd>{}</Ustrd>", esc(line));
        }
        if let Some(reference) = &tx.creditor_ref {
            let _ = writeln!(
                w,
                "              <Strd>\n                <CdtrRefInf>\n                  <Tp>\n                    <CdOrPrtry>\n                      <Cd>SCOR</Cd>\n                    </CdOrPrtry>\n                  </Tp>\n                  <Ref>{}</Ref>\n                </CdtrRefInf>\n              </Strd>",
                esc(reference)
            );
        }
        w.push_str("            </RmtInf>\n");
    }
    w.push_str("          </TxDtls>\n");
}

fn balance(w: &mut String, code: &str, amount_minor: i64, date: NaiveDate) {
    let indicator = if amount_minor < 0 { "DBIT" } else { "CRDT" };
    let _ = writeln!(
        w,
        "      <Bal>\n        <Tp>\n          <CdOrPrtry>\n            <Cd>{code}</Cd>\n          </CdOrPrtry>\n        </Tp>\n        <Amt Ccy=\"EUR\">{}</Amt>\n        <CdtDbtInd>{indicator}</CdtDbtInd>\n        <Dt>\n          <Dt>{date}</Dt>\n        </Dt>\n      </Bal>",
        money(amount_minor.abs())
    );
}

fn money(minor: i64) -> String {
    assert!(minor >= 0);
    format!("{}.{:02}", minor / 100, minor % 100)
}

fn compact_iban(iban: &str) -> String {
    iban.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

/// The BIC of the bank a French IBAN belongs to (its 5-digit bank code).
fn bic(iban: &str) -> &'static str {
    match iban.get(4..9) {
        Some("30004") => "BNPAFRPP",
        Some("30003") => "SOGEFRPP",
        Some("30002") => "CRLYFRPP",
        Some("20041") => "PSSTFRPP",
        _ => "AGRIFRPP",
    }
}

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
