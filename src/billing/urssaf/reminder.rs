//! The reminder e-mail of a declaration: a few days before a deadline, the
//! operator (the seller's e-mail in the settings) gets the figures to
//! declare. Once per period, ever: the e-mail's idempotency key is the
//! period's, so a job run again, or enqueued again after the first was
//! pruned, finds it sent.

use chrono::NaiveDate;
use serde_json::json;

use super::{configured, declaration, DeclarationPeriod, DeclarationStatus};
use crate::billing::emails::{self, EmailError};
use crate::billing::settings;
use crate::mail::{templates, Mailer, OutgoingEmail, SentEmail};
use crate::store::Store;

/// Days before a deadline from which the reminder goes out.
pub const DAYS_BEFORE: i64 = 7;

/// The key of a period's reminder e-mail (and of the job that sends it).
pub fn key(period: DeclarationPeriod) -> String {
    format!("urssaf-reminder:{}", period.key())
}

/// The period of `frequency` whose reminder is due on `today`: it has
/// ended and its deadline is at most [`DAYS_BEFORE`] days ahead.
pub fn due(frequency: super::DeclarationFrequency, today: NaiveDate) -> Option<DeclarationPeriod> {
    let period = DeclarationPeriod::last_ended(frequency, today);
    let left = (period.deadline() - today).num_days();
    (period.status(today) == DeclarationStatus::ToDeclare && (0..=DAYS_BEFORE).contains(&left)).then_some(period)
}

fn fr(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// E-mails the operator the declaration of `period` as it stands on
/// `as_of` (the day the reminder was found due). Refused (not sendable)
/// when the seller has no e-mail, when the period had not ended on `as_of`,
/// or when its deadline is past on `today` (a reminder sent late is noise).
#[tracing::instrument(skip(store, mailer))]
pub async fn send(
    store: &Store,
    mailer: &Mailer,
    period: DeclarationPeriod,
    as_of: NaiveDate,
    today: NaiveDate,
) -> Result<SentEmail, EmailError> {
    if period.status(today) == DeclarationStatus::Overdue {
        return Err(EmailError::NotSendable(format!(
            "the URSSAF deadline of {} was {}: no reminder any more",
            period.label(),
            fr(period.deadline())
        )));
    }
    let seller = settings::load(store).await?;
    let to = seller.email.clone().ok_or_else(|| {
        EmailError::NotSendable("no e-mail in the billing settings: nowhere to send the URSSAF reminder".into())
    })?;
    let (services, _) = configured(store).await?;
    let decl = declaration(store, period, services, as_of).await?;
    if decl.status != DeclarationStatus::ToDeclare {
        return Err(EmailError::NotSendable(format!(
            "the URSSAF declaration of {} is {}: no reminder",
            decl.label,
            decl.status.label_fr()
        )));
    }
    let lines: Vec<_> = decl
        .lines
        .iter()
        .map(|l| {
            json!({
                "label": l.label,
                "received": l.received.format_fr(),
                "declared": crate::money::Money::new(l.declared_euros * 100, crate::money::Currency::EUR).format_fr(),
                "rate": format!("{} %", l.rate.normalize().to_string().replace('.', ",")),
                "contributions": l.contributions.format_fr(),
            })
        })
        .collect();
    let context = json!({
        "seller": {
            "name": seller.seller_name,
            "email": seller.email,
            "siren": seller.siren,
            "address_lines": seller.address.printed_lines(),
        },
        "period": decl.label,
        "deadline": fr(decl.deadline),
        "days_left": (decl.deadline - as_of).num_days(),
        "lines": lines,
        "total_contributions": decl.total_contributions.format_fr(),
        "warnings": decl.warnings,
    });
    let rendered = templates::render("urssaf_reminder", &context)?;
    Ok(mailer
        .send(
            store,
            OutgoingEmail {
                idempotency_key: key(period),
                from: emails::sender(store).await?,
                kind: "urssaf_reminder".into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::urssaf::DeclarationFrequency::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn due_within_seven_days_of_the_deadline() {
        // Q3 2026: deadline 31 October.
        assert_eq!(due(Quarterly, d(2026, 10, 23)), None);
        assert_eq!(due(Quarterly, d(2026, 10, 24)).map(|p| p.key()), Some("2026-Q3".into()));
        assert_eq!(due(Quarterly, d(2026, 10, 31)).map(|p| p.key()), Some("2026-Q3".into()));
        assert_eq!(due(Quarterly, d(2026, 11, 1)), None);
        // November 2026, monthly: deadline 31 December.
        assert_eq!(due(Monthly, d(2026, 12, 24)).map(|p| p.key()), Some("2026-11".into()));
        assert_eq!(due(Monthly, d(2026, 12, 7)), None);
        assert_eq!(
            key(DeclarationPeriod::parse("2026-Q3").unwrap()),
            "urssaf-reminder:2026-Q3"
        );
    }
}
