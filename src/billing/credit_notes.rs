//! Credit notes (factures d'avoir): the only way to cancel or correct an
//! issued invoice. A credit note cites the original number and date, is
//! numbered in its own series, and never credits more than what remains.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::catalog::Nature;
use super::error::{invalid, invoice_state, nature_words, BillingError};
use super::invoices::{self, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, NewInvoice};
use super::{dates, validate};
use crate::billing::sql::invoices as sql;
use crate::money::Money;
use crate::store::Tx;
use crate::text;

#[derive(Debug, Clone, Deserialize)]
pub struct CreditRequest {
    /// `None` credits everything that remains creditable.
    pub amount: Option<Money>,
    pub reason: String,
    pub issue_date: NaiveDate,
    /// Credit this nature only (e.g. the service that was cancelled); `None`
    /// splits the amount over the invoice's natures in proportion.
    #[serde(default)]
    pub nature: Option<Nature>,
}

/// Issues a credit note on invoice `invoice_id`.
#[tracing::instrument(skip(tx, request), fields(amount = ?request.amount))]
pub async fn issue(tx: &mut Tx, invoice_id: i64, request: CreditRequest) -> Result<Invoice, BillingError> {
    let original = invoices::lock(tx, invoice_id).await?;
    if original.kind != InvoiceKind::Invoice {
        return Err(BillingError::Conflict(text!(
            "un avoir ne peut pas lui-même être crédité"
        )));
    }
    if matches!(original.status, InvoiceStatus::Draft | InvoiceStatus::Cancelled) {
        return Err(BillingError::Conflict(
            text!(
                "la facture {invoice} est {state} : seule une facture émise peut être créditée",
                invoice = reference(&original)
            )
            .with("state", invoice_state(original.status.as_str())),
        ));
    }
    let reason = validate::text("reason", &request.reason, 300)?;
    dates::issue_date(request.issue_date, dates::today_in(tx).await?, original.issue_date)?;
    let creditable = Money::new(original.total.minor - original.credited.minor, original.total.currency);
    let amount = request.amount.unwrap_or(creditable);
    if amount.currency != original.total.currency {
        return Err(invalid(
            "amount",
            text!("la devise doit être {currency}", currency = original.total.currency),
        ));
    }
    if amount.minor <= 0 {
        return Err(invalid("amount", text!("doit être positif")));
    }
    if amount.minor > creditable.minor {
        return Err(invalid(
            "amount",
            text!(
                "{amount} dépasse ce qui reste à créditer sur {invoice} ({left})",
                amount = amount.format_fr(),
                invoice = reference(&original),
                left = creditable.format_fr()
            ),
        ));
    }
    let already = sql::credited_by_nature(tx, original.id).await?;
    let lines = match request.nature {
        Some(nature) => {
            let billed = original
                .totals_by_nature()
                .into_iter()
                .find(|(n, _)| *n == nature)
                .map_or(0, |(_, m)| m.minor);
            let credited = already.iter().find(|(n, _)| *n == nature).map_or(0, |(_, c)| *c);
            if amount.minor > billed - credited {
                return Err(invalid(
                    "amount",
                    text!(
                        "{amount} dépasse ce qui reste à créditer en {nature} sur {invoice} ({left})",
                        amount = amount.format_fr(),
                        invoice = reference(&original),
                        left = Money::new((billed - credited).max(0), amount.currency).format_fr()
                    )
                    .with("nature", nature_words(nature)),
                ));
            }
            vec![InvoiceLine {
                position: 1,
                description: format!(
                    "Avoir sur la facture n° {} du {} : {reason}",
                    reference(&original),
                    original
                        .issue_date
                        .map(|d| d.format("%d/%m/%Y").to_string())
                        .unwrap_or_default()
                ),
                nature,
                quantity: Decimal::ONE,
                unit: None,
                unit_price: amount,
                total: amount,
            }]
        }
        None => credit_lines(&original, &already, amount, &reason),
    };
    // A credit note refers to the sale its invoice billed: same date or
    // period of service (an invoice issued before they were recorded: its
    // issue date, as issuing sets it now), same purchase order and delivery
    // place.
    let service_date = match (original.service_date, original.service_period_start) {
        (None, None) => original.issue_date,
        (date, _) => date,
    };
    let new = NewInvoice {
        customer_id: original.customer_id,
        currency: amount.currency,
        lines: Vec::new(),
        contract_id: original.contract_id,
        order_id: original.order_id,
        period: None,
        service_date,
        service_period_start: original.service_period_start,
        service_period_end: original.service_period_end,
        purchase_order: original.purchase_order.clone(),
        delivery_address: original.delivery_address.clone(),
    };
    let id = sql::insert_draft(
        tx,
        InvoiceKind::CreditNote,
        &new,
        &new.details(),
        amount,
        Some(original.id),
        Some(&reason),
    )
    .await?;
    sql::insert_lines(tx, id, &lines).await?;
    let note = invoices::issue(tx, id, request.issue_date).await?;

    let credited = original.credited.minor + amount.minor;
    let status = if credited >= original.total.minor && original.paid.minor == 0 {
        InvoiceStatus::Cancelled
    } else if original.paid.minor + credited >= original.total.minor {
        InvoiceStatus::Paid
    } else {
        original.status
    };
    sql::set_credited(tx, original.id, credited, status).await?;
    Ok(note)
}

fn reference(i: &Invoice) -> String {
    i.reference.clone().unwrap_or_else(|| format!("#{}", i.id))
}

/// A full credit repeats the original lines; a partial one splits the amount
/// over the natures of the original in proportion (largest remainder, exact).
fn credit_lines(original: &Invoice, already: &[(Nature, i64)], amount: Money, reason: &str) -> Vec<InvoiceLine> {
    let cites = format!(
        "Avoir sur la facture n° {} du {}",
        reference(original),
        original
            .issue_date
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_default()
    );
    if amount.minor == original.total.minor && original.credited.minor == 0 {
        return original
            .lines
            .iter()
            .map(|l| InvoiceLine {
                description: format!("{} ({cites})", l.description),
                ..l.clone()
            })
            .collect();
    }
    // Split over what remains creditable per nature, so that successive
    // partial credits end with every nature credited exactly.
    let by_nature: Vec<(Nature, Money)> = original
        .totals_by_nature()
        .into_iter()
        .map(|(n, m)| {
            let done = already.iter().find(|(k, _)| *k == n).map_or(0, |(_, c)| *c);
            (n, Money::new(m.minor - done, m.currency))
        })
        .collect();
    let total = by_nature.iter().map(|(_, m)| m.minor).sum::<i64>().max(1);
    let mut shares: Vec<(usize, i64, i64)> = by_nature
        .iter()
        .enumerate()
        .map(|(i, (_, m))| {
            // Floor division: a nature netted negative (a refund line of the
            // monthly run) gets its negative share, and every remainder is >= 0.
            let exact = i128::from(amount.minor) * i128::from(m.minor);
            (
                i,
                exact.div_euclid(i128::from(total)) as i64,
                exact.rem_euclid(i128::from(total)) as i64,
            )
        })
        .collect();
    let mut left = amount.minor - shares.iter().map(|s| s.1).sum::<i64>();
    shares.sort_by_key(|s| std::cmp::Reverse(s.2));
    for share in shares.iter_mut() {
        if left <= 0 {
            break;
        }
        share.1 += 1;
        left -= 1;
    }
    shares.sort_by_key(|s| s.0);
    shares
        .into_iter()
        .filter(|(_, minor, _)| *minor != 0)
        .enumerate()
        .map(|(pos, (i, minor, _))| {
            let part = Money::new(minor, amount.currency);
            InvoiceLine {
                position: pos as i32 + 1,
                description: format!("{cites} : {reason}"),
                nature: by_nature[i].0,
                quantity: Decimal::ONE,
                unit: None,
                unit_price: part,
                total: part,
            }
        })
        .collect()
}
