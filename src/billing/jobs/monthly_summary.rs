//! The monthly run's summary: the callback of the batch of `InvoiceContract`
//! jobs a run fans out (see `monthly_run`), e-mailed to the operator (the
//! seller's e-mail in the settings) once every contract's job has finished:
//! the invoices made (numbers, customers, totals), the contracts not
//! invoiced and why, and the failures, with links to the admin's job and
//! contract pages. The links are absolute when `COMPTOIR_PUBLIC_URL` (where
//! operators reach the admin, as for `comptoir-web`) is set in the worker's
//! environment, else paths under `/admin`. Sent once per batch: the e-mail's
//! idempotency key is the batch's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::monthly_run::InvoiceContract;
use crate::billing::emails::{self, EmailError};
use crate::billing::invoices::{self, Invoice, InvoiceFilter, InvoiceKind};
use crate::billing::monthly::Period;
use crate::billing::{contracts, customers, settings, BillingError};
use crate::context::AppContext;
use crate::jobs::batch::{self, BatchOutcomes, JobOutcome};
use crate::jobs::{Job, JobContext, JobError, JobKind, JobResult, JobState, KindOptions, Outcome};
use crate::mail::{templates, Mailer, OutgoingEmail, SentEmail};
use crate::money::Money;
use crate::store::{Store, StoreError};

/// The environment variable naming where operators reach the admin.
pub const PUBLIC_URL_ENV: &str = "COMPTOIR_PUBLIC_URL";

/// What an `InvoiceContract` job records as its progress once it knows
/// (read back here): `invoiced`, `nothing_to_invoice`, `net_not_positive`,
/// or `refused` (the contract cannot be invoiced as it stands; the job's
/// error says why).
pub(crate) fn outcome_progress(outcome: &str) -> Value {
    json!({ "outcome": outcome })
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MonthlySummary {
    pub batch_id: i64,
    /// `YYYY-MM`, the month invoiced.
    pub period: String,
}

impl JobKind for MonthlySummary {
    const KIND: &'static str = "billing.monthly_summary";
    fn options() -> KindOptions {
        KindOptions {
            queue: "mail".into(),
            max_attempts: 12,
            ..KindOptions::default()
        }
    }
}

impl Job<AppContext> for MonthlySummary {
    async fn perform(self, ctx: JobContext<AppContext>) -> JobResult {
        let public_url = std::env::var(PUBLIC_URL_ENV).ok();
        match send(ctx.store(), &ctx.app.mailer, &self, public_url.as_deref()).await {
            Ok(_) => Ok(Outcome::Done),
            Err(EmailError::NotSendable(why)) => Ok(Outcome::Cancel(why)),
            Err(EmailError::Billing(BillingError::NoSettings)) => Ok(Outcome::Cancel(
                "billing settings are not configured: no monthly summary".into(),
            )),
            Err(EmailError::Billing(BillingError::Store(StoreError::NotFound))) => Ok(Outcome::Discard(format!(
                "batch {} not found: no monthly summary",
                self.batch_id
            ))),
            Err(e) if e.is_transient() => Err(JobError::msg(e)),
            Err(e) => Ok(Outcome::Discard(e.to_string())),
        }
    }
}

/// The idempotency key of a batch's summary e-mail.
pub fn key(batch_id: i64) -> String {
    format!("monthly-summary:{batch_id}")
}

/// E-mails the operator the summary of batch `job.batch_id`; links start
/// with `public_url` when given.
#[tracing::instrument(skip(store, mailer))]
pub async fn send(
    store: &Store,
    mailer: &Mailer,
    job: &MonthlySummary,
    public_url: Option<&str>,
) -> Result<SentEmail, EmailError> {
    let seller = settings::load(store).await?;
    let to = seller.email.clone().ok_or_else(|| {
        EmailError::NotSendable("no e-mail in the billing settings: nowhere to send the monthly summary".into())
    })?;
    let period = Period::parse(&job.period)?;
    let outcomes = batch::outcomes(store, job.batch_id).await.map_err(BillingError::from)?;
    let links = Links::new(public_url);
    let summary = summarise(store, &outcomes, period, &links).await?;
    let mut context = summary;
    context["seller"] = json!({
        "name": seller.seller_name,
        "email": seller.email,
        "siren": seller.siren,
        "address_lines": seller.address.printed_lines(),
    });
    let rendered = templates::render("monthly_summary", &context)?;
    Ok(mailer
        .send(
            store,
            OutgoingEmail {
                idempotency_key: key(job.batch_id),
                from: emails::sender(store).await?,
                kind: "monthly_summary".into(),
                to,
                subject: rendered.subject,
                text: rendered.text,
                html: Some(rendered.html),
                attachments: Vec::new(),
                invoice_id: None,
                payment_id: None,
            },
        )
        .await?)
}

/// Admin links, absolute under the public URL when one is configured.
struct Links {
    base: String,
}

impl Links {
    fn new(public_url: Option<&str>) -> Links {
        let base = public_url
            .map(|u| u.trim().trim_end_matches('/'))
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .unwrap_or("");
        Links { base: base.to_string() }
    }

    fn to(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The template's context: the period, the invoices made, the contracts not
/// invoiced, the failures, and what could not be read back.
async fn summarise(
    store: &Store,
    outcomes: &BatchOutcomes,
    period: Period,
    links: &Links,
) -> Result<Value, BillingError> {
    let mut invoiced = Vec::new();
    let mut not_invoiced = Vec::new();
    let mut failures = Vec::new();
    let mut totals: BTreeMap<String, Money> = BTreeMap::new();
    for job in outcomes.of_kind::<InvoiceContract>() {
        let Ok(args) = job.args_as::<InvoiceContract>() else {
            failures.push(failure(job, None, text_error(job), links));
            continue;
        };
        let contract = contract_line(store, args.contract_id, links).await?;
        let invoice = invoice_of(store, args.contract_id, &args.period).await?;
        if let Some(invoice) = &invoice {
            let total = totals
                .entry(invoice.total.currency.code().to_string())
                .or_insert_with(|| Money::new(0, invoice.total.currency));
            *total = Money::new(total.minor + invoice.total.minor, invoice.total.currency);
            invoiced.push(json!({
                "reference": invoice.reference.clone().unwrap_or_default(),
                "total": invoice.total.format_fr(),
                "customer": contract["customer"],
                "contract_id": args.contract_id,
                "link": links.to(&format!("/admin/invoices/{}", invoice.id)),
            }));
        }
        let recorded = job
            .progress
            .as_ref()
            .and_then(|p| p.get("outcome"))
            .and_then(Value::as_str);
        let why = match (job.state, recorded, invoice.is_some()) {
            (JobState::Completed, _, true) => continue,
            (JobState::Completed, Some("net_not_positive"), false) => {
                "les remboursements du mois dépassent les achats : rien n'est facturé, les opérations restent ouvertes pour le mois suivant".to_string()
            }
            (JobState::Completed, Some("nothing_to_invoice"), false) => {
                "aucune opération à facturer sur la période".to_string()
            }
            (JobState::Completed, _, false) => "aucune facture émise".to_string(),
            (JobState::Discarded, Some("refused"), false) => text_error(job),
            // Failed, cancelled, or invoiced but its e-mail or debit could not be enqueued.
            _ => {
                failures.push(failure(job, Some(contract), text_error(job), links));
                continue;
            }
        };
        not_invoiced.push(json!({ "contract": contract, "why": why }));
    }
    // Jobs of other kinds do not belong to a monthly run's batch; shown as failures if ever there.
    for job in outcomes.jobs.iter().filter(|j| j.kind != InvoiceContract::KIND) {
        if job.state != JobState::Completed {
            failures.push(failure(job, None, text_error(job), links));
        }
    }
    let total: Vec<String> = totals.values().map(Money::format_fr).collect();
    Ok(json!({
        "period": format!("{} {}", crate::billing::dates::month_fr(period.month), period.year),
        "contracts": outcomes.size,
        "invoices": invoiced,
        "total": total.join(" + "),
        "not_invoiced": not_invoiced,
        "failures": failures,
        "missing": outcomes.missing,
        "jobs_link": links.to("/admin/jobs?kind=billing.invoice_contract"),
    }))
}

/// A contract as the e-mail names it: its number, its customer, its page.
async fn contract_line(store: &Store, contract_id: i64, links: &Links) -> Result<Value, BillingError> {
    let customer = match contracts::get(store, contract_id).await {
        Ok(c) => match customers::get(store, c.customer_id).await {
            Ok(customer) => customer.name,
            Err(BillingError::NotFound(_)) => String::new(),
            Err(e) => return Err(e),
        },
        Err(BillingError::NotFound(_)) => String::new(),
        Err(e) => return Err(e),
    };
    Ok(json!({
        "id": contract_id,
        "customer": customer,
        "link": links.to(&format!("/admin/contracts/{contract_id}")),
    }))
}

/// The invoice of `contract_id` for `period`, if the run made one (or an
/// earlier run did).
async fn invoice_of(store: &Store, contract_id: i64, period: &str) -> Result<Option<Invoice>, BillingError> {
    let filter = InvoiceFilter {
        contract_id: Some(contract_id),
        kind: Some(InvoiceKind::Invoice),
        limit: 1_000,
        ..InvoiceFilter::default()
    };
    Ok(invoices::list(store, &filter)
        .await?
        .into_iter()
        .find(|i| i.period.as_deref() == Some(period) && i.reference.is_some()))
}

fn text_error(job: &JobOutcome) -> String {
    job.last_error
        .clone()
        .unwrap_or_else(|| format!("tâche {} : {}", job.id, job.state.as_str()))
}

fn failure(job: &JobOutcome, contract: Option<Value>, error: String, links: &Links) -> Value {
    json!({
        "job_id": job.id,
        "job_link": links.to(&format!("/admin/jobs/{}", job.id)),
        "state": job.state.words().to_string(),
        "attempts": job.attempt,
        "error": error,
        "contract": contract,
    })
}
