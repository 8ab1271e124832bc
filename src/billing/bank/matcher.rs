//! Which issued invoice a bank credit pays, as a person would tell: the
//! invoice's number as customers write it (`F-2026-0001`, `FACT 2026 0001`,
//! `f2026-1`, an ISO 11649 `RF` reference wrapping it), the amount still
//! owed, the payer's name against the customer's (accents, case and legal
//! forms aside) and the date.
//!
//! Pure functions over what the caller loaded: [`rank`] orders the open
//! invoices a credit may pay, [`verdict`] says whether the best is certain
//! enough to become a payment without the operator. Written here rather than
//! taken from a crate: the rules are Comptoir's own (its numbering, the
//! French ways of writing it, what counts as certain for the livre de recettes).

use chrono::NaiveDate;

use crate::billing::import::decode::words;
use crate::money::Money;

/// A credit read from a statement.
#[derive(Debug, Clone)]
pub struct Credit<'a> {
    pub amount: Money,
    pub booked_on: NaiveDate,
    pub payer: Option<&'a str>,
    /// The remittance text, the structured reference and anything else the
    /// bank wrote about the transfer.
    pub text: &'a str,
}

/// An issued invoice with something still owed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OpenInvoice {
    pub id: i64,
    pub reference: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub owed: Money,
    pub issued_on: Option<NaiveDate>,
    pub due_on: Option<NaiveDate>,
}

/// How a credit's amount compares with what an invoice owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountFit {
    Exact,
    /// Less than owed: a partial payment.
    Partial,
    /// More than owed: an overpayment.
    Over,
}

/// How the payer's name compares with the customer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameFit {
    /// Every word of one is in the other.
    Same,
    /// A distinctive word in common.
    Close,
    Different,
    /// The bank gave no payer name.
    Unknown,
}

/// An invoice the credit may pay, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub invoice: OpenInvoice,
    /// The remittance names this invoice's number.
    pub named: bool,
    pub amount: AmountFit,
    pub name: NameFit,
    /// The credit was booked before the invoice was issued.
    pub before_issue: bool,
    pub score: i32,
}

/// What to do with a credit.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A unique exact match: record it as the payment of this invoice.
    Pay(OpenInvoice),
    /// The operator decides; the reason is in French.
    Wait(String),
}

/// At most this many candidates are shown.
pub const SHOWN: usize = 5;

/// The invoice numbers a text may name, as (prefix, year, number): the
/// prefix is the letters written before the year (`F`, `FACT`), if any.
pub fn references_in(text: &str) -> Vec<(Option<String>, i32, u32)> {
    let tokens: Vec<String> = tokens(text);
    let year = |t: &str| t.len() == 4 && t.chars().all(|c| c.is_ascii_digit()) && (1990..=2199).contains(&num(t));
    let number = |t: &str| (1..=7).contains(&t.len()) && t.chars().all(|c| c.is_ascii_digit()) && num(t) > 0;
    let mut out = Vec::new();
    let mut push = |r: (Option<String>, i32, u32)| {
        if !out.contains(&r) {
            out.push(r);
        }
    };
    for (i, t) in tokens.iter().enumerate() {
        let letters = t.chars().take_while(char::is_ascii_alphabetic).count();
        let (prefix, digits) = t.split_at(letters);
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let next = tokens.get(i + 1).map(String::as_str).unwrap_or("");
        let after = tokens.get(i + 2).map(String::as_str).unwrap_or("");
        let prefix = (!prefix.is_empty()).then(|| prefix.to_string());
        match (prefix, digits.len()) {
            // `FACT 2026 0001`, `F-2026-0001`, `FACT 20260001`
            (Some(p), 0) if p.len() <= 10 => {
                if year(next) && number(after) {
                    push((Some(p), num(next) as i32, num(after)));
                } else if next.len() >= 5 && next.len() <= 11 && year(&next[..4]) && number(&next[4..]) {
                    push((Some(p), num(&next[..4]) as i32, num(&next[4..])));
                }
            }
            // `F2026-0001`, `f2026-1`
            (Some(p), 4) if year(digits) && number(next) => push((Some(p), num(digits) as i32, num(next))),
            // `F20260001` as banks glue it
            (Some(p), n) if (5..=11).contains(&n) && year(&digits[..4]) && number(&digits[4..]) => {
                push((Some(p), num(&digits[..4]) as i32, num(&digits[4..])))
            }
            _ => {}
        }
    }
    out
}

/// Upper-case alphanumeric words, accents folded; an ISO 11649 creditor
/// reference (`RF12F20260001`, check digits verified) stands for what it wraps.
fn tokens(text: &str) -> Vec<String> {
    words(text)
        .to_ascii_uppercase()
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| unwrap_rf(w).unwrap_or(w).to_string())
        .collect()
}

fn num(digits: &str) -> u32 {
    digits.parse().unwrap_or(0)
}

/// The payload of a valid ISO 11649 reference.
pub fn unwrap_rf(token: &str) -> Option<&str> {
    let t = token.strip_prefix("RF")?;
    if t.len() < 3 || !t[..2].chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (check, payload) = t.split_at(2);
    if payload.len() > 21 || !payload.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    // Mod 97-10 over payload + "RF" + check digits, letters as 10..35.
    let mut rem: u32 = 0;
    for c in format!("{payload}RF{check}").chars() {
        let v = c.to_digit(36)?;
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    (rem == 1).then_some(payload)
}

/// Words written before a year that mean "invoice" or "number", not a series.
const GENERIC: &[&str] = &[
    "FACT",
    "FACTURE",
    "FACTURES",
    "FAC",
    "FCT",
    "FA",
    "FACTNO",
    "INV",
    "INVOICE",
    "REF",
    "REFERENCE",
    "NO",
    "N",
    "NUM",
    "NUMERO",
    "NR",
];

/// The (prefix, year, number) of an invoice's printed reference, `F2026-0042`.
fn parts(reference: &str) -> Option<(String, i32, u32)> {
    let (series, number) = reference.rsplit_once('-')?;
    if series.len() < 4 || !series.is_char_boundary(series.len() - 4) {
        return None;
    }
    let (prefix, year) = series.split_at(series.len() - 4);
    Some((prefix.to_ascii_uppercase(), year.parse().ok()?, number.parse().ok()?))
}

/// Whether `written` names the invoice `reference`.
fn names(written: &[(Option<String>, i32, u32)], reference: &str) -> bool {
    let Some((prefix, year, number)) = parts(reference) else {
        return false;
    };
    written.iter().any(|(p, y, n)| {
        *y == year
            && *n == number
            && p.as_deref()
                .is_none_or(|p| p == prefix || GENERIC.contains(&p) || (prefix.is_empty() && p.len() <= 10))
    })
}

/// Legal forms, civilities and small words that say nothing of who pays.
const NOISE: &[&str] = &[
    "sarl",
    "sas",
    "sasu",
    "eurl",
    "sa",
    "sci",
    "snc",
    "scp",
    "selarl",
    "ei",
    "eirl",
    "ste",
    "societe",
    "ets",
    "m",
    "mr",
    "mme",
    "mlle",
    "monsieur",
    "madame",
    "mademoiselle",
    "ou",
    "et",
    "la",
    "le",
    "les",
    "de",
    "du",
    "des",
    "d",
    "l",
    "vir",
    "sepa",
    "virement",
    "from",
    "de",
];

fn name_words(name: &str) -> Vec<String> {
    words(name)
        .split(' ')
        .filter(|w| !w.is_empty() && !NOISE.contains(w))
        .map(str::to_string)
        .collect()
}

/// How `payer` compares with `customer`, whatever the case, accents, word
/// order, hyphens and legal forms (`CHATEAU BRULE ELODIE` is `Élodie Château-Brûlé`).
pub fn name_fit(payer: Option<&str>, customer: &str) -> NameFit {
    let Some(payer) = payer.filter(|p| !p.trim().is_empty()) else {
        return NameFit::Unknown;
    };
    let (p, c) = (name_words(payer), name_words(customer));
    if p.is_empty() || c.is_empty() {
        return NameFit::Unknown;
    }
    let within = |a: &[String], b: &[String]| a.iter().all(|w| b.contains(w));
    if within(&c, &p) || within(&p, &c) {
        NameFit::Same
    } else if p.iter().any(|w| w.len() >= 3 && c.contains(w)) {
        NameFit::Close
    } else {
        NameFit::Different
    }
}

/// The open invoices `credit` may pay, best first (at most [`SHOWN`]): those
/// it names, those owing exactly its amount, those of a customer with the
/// payer's name. Invoices in another currency are never candidates.
pub fn rank(credit: &Credit<'_>, open: &[OpenInvoice]) -> Vec<Candidate> {
    let written = references_in(credit.text);
    let mut out: Vec<Candidate> = open
        .iter()
        .filter(|i| i.owed.currency == credit.amount.currency && i.owed.minor > 0)
        .filter_map(|invoice| {
            let named = names(&written, &invoice.reference);
            let amount = match credit.amount.minor.cmp(&invoice.owed.minor) {
                std::cmp::Ordering::Equal => AmountFit::Exact,
                std::cmp::Ordering::Less => AmountFit::Partial,
                std::cmp::Ordering::Greater => AmountFit::Over,
            };
            let name = name_fit(credit.payer, &invoice.customer_name);
            let close_name = matches!(name, NameFit::Same | NameFit::Close);
            if !named && amount != AmountFit::Exact && !close_name {
                return None;
            }
            let before_issue = invoice.issued_on.is_some_and(|d| credit.booked_on < d);
            let score = if named { 60 } else { 0 }
                + match amount {
                    AmountFit::Exact => 30,
                    AmountFit::Partial => 8,
                    AmountFit::Over => 4,
                }
                + match name {
                    NameFit::Same => 20,
                    NameFit::Close => 10,
                    NameFit::Different => -10,
                    NameFit::Unknown => 0,
                }
                - if before_issue { 40 } else { 0 };
            Some(Candidate {
                invoice: invoice.clone(),
                named,
                amount,
                name,
                before_issue,
                score,
            })
        })
        .collect();
    // Best score first; then the invoice due first (the oldest debt is paid first).
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.invoice.due_on.cmp(&b.invoice.due_on))
            .then(a.invoice.id.cmp(&b.invoice.id))
    });
    out.truncate(SHOWN);
    out
}

/// Whether the candidates of a credit hold a unique exact match: the one
/// invoice the remittance names, owing exactly the amount; or, with no
/// number written, the one invoice owing exactly the amount whose customer
/// has the payer's name. Anything else waits, with the reason in French.
pub fn verdict(credit: &Credit<'_>, candidates: &[Candidate]) -> Verdict {
    let amount = credit.amount.format_fr();
    let named: Vec<&Candidate> = candidates.iter().filter(|c| c.named).collect();
    let refs = |cs: &[&Candidate]| {
        cs.iter()
            .map(|c| c.invoice.reference.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match named.as_slice() {
        [one] if one.before_issue => {
            return Verdict::Wait(format!(
                "le virement est antérieur à l'émission de {} : à vérifier",
                one.invoice.reference
            ))
        }
        [one] => {
            return match one.amount {
                AmountFit::Exact => Verdict::Pay(one.invoice.clone()),
                AmountFit::Partial => Verdict::Wait(format!(
                    "paiement partiel de {} : {amount} reçus, {} dus",
                    one.invoice.reference,
                    one.invoice.owed.format_fr()
                )),
                AmountFit::Over => Verdict::Wait(format!(
                    "trop-perçu sur {} : {amount} reçus, {} dus",
                    one.invoice.reference,
                    one.invoice.owed.format_fr()
                )),
            }
        }
        [] => {}
        several => {
            return Verdict::Wait(format!(
                "le libellé nomme plusieurs factures ({}) : à répartir",
                refs(several)
            ))
        }
    }
    let exact_same: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.amount == AmountFit::Exact && c.name == NameFit::Same && !c.before_issue)
        .collect();
    match exact_same.as_slice() {
        [one] => Verdict::Pay(one.invoice.clone()),
        [] if candidates.is_empty() => {
            Verdict::Wait("aucune facture due ne correspond (ni numéro, ni montant, ni nom)".into())
        }
        [] => Verdict::Wait(format!(
            "aucun numéro de facture dans le libellé ; facture possible : {}",
            refs(&candidates.iter().collect::<Vec<_>>())
        )),
        several => Verdict::Wait(format!(
            "plusieurs factures du même client dues pour {amount} ({}) : laquelle ?",
            refs(several)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR)
    }

    fn day(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    fn open(id: i64, reference: &str, customer: &str, owed: i64) -> OpenInvoice {
        OpenInvoice {
            id,
            reference: reference.into(),
            customer_id: id * 10,
            customer_name: customer.into(),
            owed: eur(owed),
            issued_on: Some(day("2026-03-01")),
            due_on: Some(day("2026-03-31")),
        }
    }

    fn credit<'a>(minor: i64, payer: Option<&'a str>, text: &'a str) -> Credit<'a> {
        Credit {
            amount: eur(minor),
            booked_on: day("2026-03-15"),
            payer,
            text,
        }
    }

    fn decide(c: &Credit<'_>, invoices: &[OpenInvoice]) -> Verdict {
        verdict(c, &rank(c, invoices))
    }

    #[test]
    fn every_way_of_writing_an_invoice_number() {
        let book = [
            open(1, "F2026-0001", "Atelier Martin", 120_000),
            open(2, "F2026-0010", "Atelier Martin", 99_00),
        ];
        for text in [
            "F2026-0001",
            "F-2026-0001",
            "FACT 2026 0001",
            "f2026-1",
            "Facture n° F2026/0001 merci",
            "VIR SEPA ATELIER MARTIN F20260001",
            "facture 2026-0001",
            "FACTURE F 2026 1",
            "RF12F20260001",
            "Réf. : F2026.0001",
        ] {
            let c = credit(120_000, Some("ATELIER MARTIN"), text);
            let best = rank(&c, &book);
            assert!(best[0].named && best[0].invoice.id == 1, "{text:?}: {best:?}");
            assert_eq!(decide(&c, &book), Verdict::Pay(book[0].clone()), "{text:?}");
        }
        for text in [
            "VIR INST 2026-0001",
            "CB CARREFOUR 15/03/2026",
            "F2026-0001X",
            "REF123456789",
            "RF19F20260001",
        ] {
            assert!(
                rank(&credit(1, None, text), &book).iter().all(|c| !c.named),
                "{text:?} names no invoice"
            );
        }
    }

    #[test]
    fn iso_11649_references() {
        assert_eq!(unwrap_rf("RF12F20260001"), Some("F20260001"));
        assert_eq!(unwrap_rf("RF18539007547034"), Some("539007547034"));
        assert_eq!(unwrap_rf("RF13F20260001"), None);
        assert_eq!(unwrap_rf("RFX"), None);
    }

    #[test]
    fn two_invoices_with_the_same_amount_wait_for_the_operator() {
        let book = [
            open(1, "F2026-0001", "Élodie Château-Brûlé", 50_000),
            open(2, "F2026-0002", "Élodie Château-Brûlé", 50_000),
        ];
        let c = credit(50_000, Some("CHATEAU BRULE ELODIE"), "VIREMENT LOYER");
        let Verdict::Wait(why) = decide(&c, &book) else {
            panic!("two candidates must wait")
        };
        assert!(why.contains("F2026-0001") && why.contains("F2026-0002"), "{why}");
        // The number written decides between them.
        let c = credit(50_000, Some("CHATEAU BRULE ELODIE"), "FACT 2026 0002");
        assert_eq!(decide(&c, &book), Verdict::Pay(book[1].clone()));
    }

    #[test]
    fn a_payer_with_accents_and_a_legal_form_is_the_customer() {
        assert_eq!(
            name_fit(Some("SARL CHATEAU-BRULE"), "Château-Brûlé SARL"),
            NameFit::Same
        );
        assert_eq!(
            name_fit(Some("M ELODIE CHATEAU BRULE"), "Élodie Château-Brûlé"),
            NameFit::Same
        );
        assert_eq!(
            name_fit(Some("BOULANGERIE DURAND SAS"), "Boulangerie Durand"),
            NameFit::Same
        );
        assert_eq!(name_fit(Some("DURAND PIERRE"), "Boulangerie Durand"), NameFit::Close);
        assert_eq!(name_fit(Some("GARAGE LEROY"), "Boulangerie Durand"), NameFit::Different);
        assert_eq!(name_fit(None, "Boulangerie Durand"), NameFit::Unknown);
        // Without a number, the exact amount and the name make a unique match.
        let book = [
            open(1, "F2026-0001", "Château-Brûlé SARL", 80_000),
            open(2, "F2026-0002", "Boulangerie Durand", 80_000),
        ];
        let c = credit(80_000, Some("SARL CHATEAU-BRULE"), "VIR SEPA PRESTATION MARS");
        assert_eq!(decide(&c, &book), Verdict::Pay(book[0].clone()));
        // Without a name, the same amount twice is no match.
        let c = credit(80_000, None, "VIR SEPA PRESTATION MARS");
        assert!(matches!(decide(&c, &book), Verdict::Wait(_)));
    }

    #[test]
    fn overpayments_and_partial_payments_wait() {
        let book = [open(1, "F2026-0001", "Atelier Martin", 100_000)];
        let over = credit(120_000, Some("ATELIER MARTIN"), "F2026-0001");
        let Verdict::Wait(why) = decide(&over, &book) else {
            panic!()
        };
        assert!(why.starts_with("trop-perçu sur F2026-0001"), "{why}");
        assert_eq!(rank(&over, &book)[0].amount, AmountFit::Over);
        let partial = credit(40_000, Some("ATELIER MARTIN"), "acompte F2026-0001");
        let Verdict::Wait(why) = decide(&partial, &book) else {
            panic!()
        };
        assert!(why.starts_with("paiement partiel de F2026-0001"), "{why}");
        assert_eq!(rank(&partial, &book)[0].amount, AmountFit::Partial);
    }

    #[test]
    fn nothing_to_match_and_other_cases() {
        let book = [open(1, "F2026-0001", "Atelier Martin", 100_000)];
        let c = credit(5_000, Some("GARAGE LEROY"), "REMBOURSEMENT");
        assert_eq!(
            decide(&c, &book),
            Verdict::Wait("aucune facture due ne correspond (ni numéro, ni montant, ni nom)".into())
        );
        // Two numbers written: the operator splits.
        let book2 = [
            open(1, "F2026-0001", "Atelier Martin", 100_000),
            open(2, "F2026-0002", "Atelier Martin", 50_000),
        ];
        let c = credit(150_000, Some("ATELIER MARTIN"), "F2026-0001 ET F2026-0002");
        assert!(matches!(decide(&c, &book2), Verdict::Wait(w) if w.contains("à répartir")));
        // Paid before the invoice existed: checked by hand.
        let mut early = credit(100_000, None, "F2026-0001");
        early.booked_on = day("2026-02-01");
        assert!(matches!(decide(&early, &book), Verdict::Wait(w) if w.contains("antérieur")));
        // Another currency is never a candidate.
        let usd = Credit {
            amount: Money::new(100_000, "USD".parse::<Currency>().unwrap()),
            ..credit(0, None, "F2026-0001")
        };
        assert!(rank(&usd, &book).is_empty());
    }
}
