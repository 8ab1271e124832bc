//! `/admin/bank`, « Rapprochement bancaire »: the credits of the imported
//! statements that wait for the operator, each with its candidate invoices
//! (ranked by the number written, the amount owed, the payer's name and the
//! date) and four decisions: confirm a candidate, split across invoices,
//! not a sale, ignore. Each decision is one call of `billing::bank`, which
//! records the payments and the audit entry; this module reads forms.

use axum::response::Response;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{Admin, AdminError, Form, Path};
use crate::billing::bank::matcher::{AmountFit, Candidate, NameFit, OpenInvoice};
use crate::billing::bank::{self, Allocation, BankEntry, EntryKind, EntryPayment, EntryStatus};
use crate::billing::BillingError;
use crate::i18n::{Lang, Text};
use crate::money::Money;
use crate::text;
use crate::web::{Access, Routes};

/// A domain refusal's words, whether they are a message or still a string.
trait Words {
    fn words(self) -> Text;
}

impl Words for String {
    fn words(self) -> Text {
        Text::verbatim(self)
    }
}

impl Words for Text {
    fn words(self) -> Text {
        self
    }
}

/// What a decided or waiting entry has become, in words.
fn status_label(status: EntryStatus) -> Text {
    match status {
        EntryStatus::Waiting => text!("À rapprocher"),
        EntryStatus::Matched => text!("Rapproché automatiquement"),
        EntryStatus::Confirmed => text!("Rapproché"),
        EntryStatus::NotSale => text!("Hors ventes"),
        EntryStatus::Ignored => text!("Ignoré"),
    }
}

pub(super) const TEMPLATES: &[(&str, &str)] = &[crate::template!("admin/bank.html")];

/// Entries listed per part of the page.
const LISTED: i64 = 100;
/// Rows of the split form.
const SPLIT_ROWS: usize = 4;
/// Rows of the split form read at most.
const MAX_SPLIT: usize = 20;

pub(super) fn routes() -> Routes {
    Routes::new()
        .get("/admin/bank", Access::Operator, page)
        .post("/admin/bank/{id}/confirm", Access::Operator, confirm)
        .post("/admin/bank/{id}/split", Access::Operator, split)
        .post("/admin/bank/{id}/set-aside", Access::Operator, set_aside)
}

#[derive(Serialize)]
struct CandidateView {
    invoice_id: i64,
    reference: String,
    customer: String,
    owed: Money,
    /// What confirming pays: the credit, or what is owed when it is more.
    pays: Money,
    why: Vec<String>,
    warning: Option<String>,
}

fn candidate_view(entry: &BankEntry, c: &Candidate, lang: Lang) -> CandidateView {
    let mut why = Vec::new();
    if c.named {
        why.push(text!("numéro cité"));
    }
    why.push(match c.amount {
        AmountFit::Exact => text!("montant exact"),
        AmountFit::Partial => text!("paiement partiel"),
        AmountFit::Over => text!("trop-perçu"),
    });
    match c.name {
        NameFit::Same => why.push(text!("même nom")),
        NameFit::Close => why.push(text!("nom proche")),
        NameFit::Different => why.push(text!("autre nom")),
        NameFit::Unknown => {}
    }
    let why = why.into_iter().map(|t| t.in_lang(lang)).collect();
    let pays = Money::new(entry.amount.minor.min(c.invoice.owed.minor), entry.amount.currency);
    let warning = if c.before_issue {
        Some(text!("virement antérieur à la facture").in_lang(lang))
    } else if c.amount == AmountFit::Over {
        Some(
            text!(
                "{amount} resteront à rembourser au client",
                amount = Money::new(entry.amount.minor - c.invoice.owed.minor, entry.amount.currency).format_fr()
            )
            .in_lang(lang),
        )
    } else {
        None
    };
    CandidateView {
        invoice_id: c.invoice.id,
        reference: c.invoice.reference.clone(),
        customer: c.invoice.customer_name.clone(),
        owed: c.invoice.owed,
        pays,
        why,
        warning,
    }
}

#[derive(Serialize)]
struct EntryView {
    entry: BankEntry,
    reversal: bool,
    status: String,
    candidates: Vec<CandidateView>,
    /// The split form's rows, filled with the candidates the text names.
    split: Vec<(String, String)>,
    payments: Vec<EntryPayment>,
}

fn split_rows(entry: &BankEntry, candidates: &[Candidate]) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut left = entry.amount.minor;
    for c in candidates.iter().filter(|c| c.named) {
        let part = left.min(c.invoice.owed.minor);
        if part <= 0 {
            break;
        }
        rows.push((
            c.invoice.reference.clone(),
            Money::new(part, entry.amount.currency).format_number_fr(false),
        ));
        left -= part;
    }
    rows.resize(SPLIT_ROWS.max(rows.len()), (String::new(), String::new()));
    rows
}

async fn page(admin: Admin) -> Result<Response, AdminError> {
    let lang = admin.lang();
    let store = &admin.state.store;
    let open = bank::open_invoices(store).await?;
    let mut waiting = Vec::new();
    for entry in bank::list(store, Some(EntryStatus::Waiting), LISTED).await? {
        let candidates = bank::candidates(&entry, &open);
        waiting.push(EntryView {
            reversal: entry.kind == EntryKind::Reversal,
            status: status_label(entry.status).in_lang(lang),
            split: split_rows(&entry, &candidates),
            candidates: candidates.iter().map(|c| candidate_view(&entry, c, lang)).collect(),
            payments: Vec::new(),
            entry,
        });
    }
    let decided: Vec<EntryView> = bank::decided(store, LISTED)
        .await?
        .into_iter()
        .map(|(entry, payments)| EntryView {
            reversal: entry.kind == EntryKind::Reversal,
            status: status_label(entry.status).in_lang(lang),
            payments,
            candidates: Vec::new(),
            split: Vec::new(),
            entry,
        })
        .collect();
    let references: Vec<&OpenInvoice> = open.iter().collect();
    admin.render(
        "admin/bank.html",
        "bank",
        context! {
            waiting => waiting,
            waiting_total => bank::waiting_count(store).await?,
            decided => decided,
            open => references,
        },
    )
}

const BACK: &str = "/admin/bank";

/// A refusal the operator can act on goes back to the page as a message;
/// anything else is an error page.
fn refused(admin: &Admin, e: BillingError) -> Result<Response, AdminError> {
    let refusal = |why: Text| admin.redirect(BACK, text!("Refusé : {why}").with("why", why));
    match e {
        BillingError::Invalid { message, .. } => Ok(refusal(message.words())),
        BillingError::Conflict(message) => Ok(refusal(message.words())),
        e @ BillingError::Refused(_) => match AdminError::from(e) {
            AdminError::Invalid(why) | AdminError::Conflict(why) => Ok(refusal(why)),
            other => Err(other),
        },
        BillingError::NotFound(_) => Ok(refusal(text!("cette écriture ou cette facture est introuvable"))),
        other => Err(other.into()),
    }
}

fn confirmed_flash(entry: &BankEntry) -> Text {
    let amount = entry.amount.format_fr();
    let date = entry.booking_date.format("%d/%m/%Y").to_string();
    if entry.excess.minor > 0 {
        text!(
            "Virement de {amount} du {date} rapproché ; trop-perçu de {excess} à rembourser au client",
            amount = amount,
            date = date,
            excess = entry.excess.format_fr()
        )
    } else {
        text!("Virement de {amount} du {date} rapproché", amount = amount, date = date)
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    invoice_id: String,
}

/// Pays the candidate chosen with the credit (what it owes at most).
async fn confirm(admin: Admin, Path(id): Path<i64>, Form(form): Form<ConfirmForm>) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let Ok(invoice_id) = form.invoice_id.trim().parse::<i64>() else {
        return Ok(admin.redirect(BACK, text!("Refusé : choisissez une facture")));
    };
    let entry = bank::get(store, id).await?;
    let open = bank::open_invoices(store).await?;
    let Some(invoice) = open.iter().find(|o| o.id == invoice_id) else {
        return Ok(admin.redirect(
            BACK,
            text!("Refusé : cette facture n'est plus due (payée ou annulée entre-temps)"),
        ));
    };
    let amount = Money::new(entry.amount.minor.min(invoice.owed.minor), entry.amount.currency);
    let mut tx = store.begin().await?;
    match bank::confirm(&mut tx, &admin.actor, id, &[Allocation { invoice_id, amount }]).await {
        Ok(done) => {
            tx.commit().await?;
            Ok(admin.redirect(
                BACK,
                text!("{done} à {invoice}", invoice = invoice.reference).with("done", confirmed_flash(&done)),
            ))
        }
        Err(e) => {
            tx.rollback().await?;
            refused(&admin, e)
        }
    }
}

/// Splits the credit across the invoices named by their numbers.
/// The form's rows are `invoice_1`, `amount_1`, … `invoice_N`, `amount_N`.
async fn split(
    admin: Admin,
    Path(id): Path<i64>,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> Result<Response, AdminError> {
    let store = &admin.state.store;
    let entry = bank::get(store, id).await?;
    let open = bank::open_invoices(store).await?;
    let mut allocations = Vec::new();
    let mut names = Vec::new();
    for i in 0..MAX_SPLIT {
        let field = |name: &str| form.get(&format!("{name}_{}", i + 1)).map(|v| v.trim()).unwrap_or("");
        let (reference, amount) = (field("invoice"), field("amount"));
        if reference.is_empty() && amount.is_empty() {
            continue;
        }
        let Some(invoice) = open.iter().find(|o| o.reference.eq_ignore_ascii_case(reference)) else {
            return Ok(admin.redirect(
                BACK,
                text!(
                    "Refusé : ligne {line} : « {reference} » n'est pas une facture due",
                    line = i + 1,
                    reference = reference
                ),
            ));
        };
        let Some(amount) = Money::parse(amount, entry.amount.currency).ok().filter(|m| m.minor > 0) else {
            return Ok(admin.redirect(
                BACK,
                text!(
                    "Refusé : ligne {line} : montant « {amount} » illisible",
                    line = i + 1,
                    amount = amount
                ),
            ));
        };
        names.push(invoice.reference.clone());
        allocations.push(Allocation {
            invoice_id: invoice.id,
            amount,
        });
    }
    let mut tx = store.begin().await?;
    match bank::confirm(&mut tx, &admin.actor, id, &allocations).await {
        Ok(done) => {
            tx.commit().await?;
            Ok(admin.redirect(
                BACK,
                text!("{done} et réparti entre {invoices}", invoices = names.join(", "))
                    .with("done", confirmed_flash(&done)),
            ))
        }
        Err(e) => {
            tx.rollback().await?;
            refused(&admin, e)
        }
    }
}

#[derive(Deserialize)]
struct SetAsideForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    note: String,
}

/// Not a sale, or ignored.
async fn set_aside(admin: Admin, Path(id): Path<i64>, Form(form): Form<SetAsideForm>) -> Result<Response, AdminError> {
    let Some(status) =
        EntryStatus::parse(form.status.trim()).filter(|s| matches!(s, EntryStatus::NotSale | EntryStatus::Ignored))
    else {
        return Ok(admin.redirect(BACK, text!("Refusé : choisissez « hors ventes » ou « ignorer »")));
    };
    let store = &admin.state.store;
    let mut tx = store.begin().await?;
    match bank::set_aside(&mut tx, &admin.actor, id, status, &form.note).await {
        Ok(done) => {
            tx.commit().await?;
            Ok(admin.redirect(
                BACK,
                text!(
                    "Virement de {amount} du {date} classé : {status}",
                    amount = done.amount.format_fr(),
                    date = done.booking_date.format("%d/%m/%Y")
                )
                .with(
                    "status",
                    if status == EntryStatus::NotSale {
                        text!("hors ventes")
                    } else {
                        text!("ignoré")
                    },
                ),
            ))
        }
        Err(e) => {
            tx.rollback().await?;
            refused(&admin, e)
        }
    }
}
