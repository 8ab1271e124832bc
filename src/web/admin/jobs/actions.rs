//! What an operator can do to a job, in which states, and how each attempt
//! is applied (with its audit entry, in one transaction) and told back.
//!
//! | action | allowed when the job is | refused when |
//! |---|---|---|
//! | retry now | scheduled, retryable, discarded, cancelled | available (already due), running, completed |
//! | cancel (reason) | available, scheduled, retryable, running (its worker stops it) | completed, cancelled, discarded |
//! | discard (reason) | available, scheduled, retryable | running (cancel it), completed, cancelled, discarded |
//! | run at (operator's time) | available, scheduled, retryable, discarded, cancelled | running, completed |
//!
//! A completed job is never run again from the admin: its effects (a charge,
//! an e-mail) happened. The store's own guards decide in the end; a job that
//! changed state between the page and the click is refused, never half-done.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::json;

use super::super::{Admin, AdminError};
use crate::audit::{self, Record};
use crate::store::types::{JobRow, JobState};
use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Retry,
    Cancel,
    Discard,
    RunAt,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Retry, Action::Cancel, Action::Discard, Action::RunAt];

    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == text)
    }

    pub fn name(self) -> &'static str {
        match self {
            Action::Retry => "retry",
            Action::Cancel => "cancel",
            Action::Discard => "discard",
            Action::RunAt => "run_at",
        }
    }

    pub fn allows(self, state: JobState) -> bool {
        use JobState::*;
        match self {
            Action::Retry => matches!(state, Scheduled | Retryable | Discarded | Cancelled),
            Action::Cancel => matches!(state, Available | Scheduled | Retryable | Running),
            Action::Discard => matches!(state, Available | Scheduled | Retryable),
            Action::RunAt => matches!(state, Available | Scheduled | Retryable | Discarded | Cancelled),
        }
    }

    fn audit_action(self) -> &'static str {
        match self {
            Action::Retry => "job.retry",
            Action::Cancel => "job.cancel",
            Action::Discard => "job.discard",
            Action::RunAt => "job.reschedule",
        }
    }

    /// The past participle, feminine like « tâche »: "relancée".
    /// What the operator asks, as the confirmation page says it.
    pub fn infinitive(self) -> &'static str {
        match self {
            Action::Retry => "Relancer maintenant",
            Action::Cancel => "Annuler",
            Action::Discard => "Écarter",
            Action::RunAt => "Reprogrammer",
        }
    }

    fn participle(self) -> &'static str {
        match self {
            Action::Retry => "relancée",
            Action::Cancel => "annulée",
            Action::Discard => "écartée",
            Action::RunAt => "reprogrammée",
        }
    }

    /// For the flash: "3 relancées".
    fn done_word(self, n: usize) -> String {
        format!("{n} {}{}", self.participle(), if n > 1 { "s" } else { "" })
    }
}

/// Why a job in `state` refuses any action that does not allow it.
fn state_says(state: JobState) -> &'static str {
    match state {
        JobState::Available => "attend déjà son tour",
        JobState::Scheduled => "est programmée",
        JobState::Running => "est en cours",
        JobState::Retryable => "attend une nouvelle tentative",
        JobState::Completed => "est terminée",
        JobState::Cancelled => "est annulée",
        JobState::Discarded => "est écartée",
    }
}

/// What the operator asked, checked.
#[derive(Debug, Clone)]
pub struct Request {
    pub action: Action,
    pub reason: Option<String>,
    pub run_at: Option<DateTime<Utc>>,
}

impl Request {
    /// From the form's text fields; refusals name the field.
    pub fn parse(action: &str, reason: Option<&str>, run_at: Option<&str>) -> Result<Request, AdminError> {
        let action = Action::parse(action.trim()).ok_or_else(|| {
            AdminError::Invalid(crate::i18n::Text::verbatim(format!(
                "action : « {} » inconnue (retry, cancel, discard ou run_at) / unknown action",
                action.chars().take(40).collect::<String>()
            )))
        })?;
        let reason = match reason.map(|r| crate::input::single_line(r, 500)) {
            None => None,
            Some(Ok(r)) => Some(r).filter(|r| !r.is_empty()),
            Some(Err(e)) => {
                return Err(AdminError::Invalid(crate::i18n::Text::verbatim(format!(
                    "reason : {}",
                    e.fr_en()
                ))))
            }
        };
        let run_at = match run_at.map(str::trim).filter(|t| !t.is_empty()) {
            Some(text) => Some(parse_local(text)?),
            None => None,
        };
        if action == Action::RunAt && run_at.is_none() {
            return Err(AdminError::Invalid(crate::i18n::Text::verbatim(
                "run_at : date et heure requises / date and time required",
            )));
        }
        Ok(Request { action, reason, run_at })
    }
}

/// A `datetime-local` value (`2026-12-01T08:30`, seconds optional), read in
/// the operator's time zone.
fn parse_local(text: &str) -> Result<DateTime<Utc>, AdminError> {
    [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .ok_or_else(|| {
        AdminError::Invalid(crate::i18n::Text::verbatim(format!(
            "run_at : « {} » n'est pas une date et heure AAAA-MM-JJTHH:MM / not a date and time",
            text.chars().take(40).collect::<String>()
        )))
    })
    .and_then(|local| {
        crate::local_time::from_local(local)
            .map_err(|e| AdminError::Invalid(crate::i18n::Text::verbatim(format!("run_at : {e}"))))
    })
}

/// How one job's action went.
#[derive(Debug)]
pub enum Outcome {
    Done(Box<JobRow>),
    /// Refused, with the French sentence that says why ("#12 est en cours").
    Refused(String),
}

/// Applies `req` to job `id`: checks its state, then changes it and writes
/// the audit entry in one transaction. `NotFound` for an unknown id.
pub async fn apply(admin: &Admin, id: i64, req: &Request) -> Result<Outcome, AdminError> {
    let store = &admin.state.store;
    let before = store.get_job(id).await?;
    if !req.action.allows(before.state) {
        return Ok(Outcome::Refused(format!("#{id} {}", state_says(before.state))));
    }
    let mut tx = store.begin().await?;
    let result = match req.action {
        Action::Retry => tx.retry_job(id).await,
        Action::Cancel => tx.cancel_job(id, &reason_text(admin, req, "annulée")).await,
        Action::Discard => tx.discard_job(id, &reason_text(admin, req, "écartée")).await,
        Action::RunAt => match req.run_at {
            Some(at) => tx.reschedule_job(id, at).await,
            None => {
                return Err(AdminError::Invalid(crate::i18n::Text::verbatim(
                    "run_at : date et heure requises",
                )))
            }
        },
    };
    let after = match result {
        Ok(job) => job,
        Err(StoreError::Conflict(_)) => {
            drop(tx);
            return Ok(Outcome::Refused(explain_conflict(admin, id, req.action).await?));
        }
        Err(e) => return Err(e.into()),
    };
    let details = json!({
        "from": before.state,
        "to": after.state,
        "kind": after.kind,
        "reason": req.reason,
        "run_at": req.run_at,
    });
    audit::record_in(
        &mut tx,
        &admin.actor,
        Record::new(req.action.audit_action(), format!("job:{id}")).details(details),
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::Done(Box::new(after)))
}

/// What goes in the job's error history for a cancel or a discard.
fn reason_text(admin: &Admin, req: &Request, verb: &str) -> String {
    match &req.reason {
        Some(reason) => format!("{reason} ({verb} par {})", admin.actor.name),
        None => format!("{verb} par {}", admin.actor.name),
    }
}

/// The store refused after our check: the job moved meanwhile, or reviving
/// it would take a unique key that another live job holds.
async fn explain_conflict(admin: &Admin, id: i64, action: Action) -> Result<String, AdminError> {
    let now = admin.state.store.get_job(id).await?;
    Ok(if !action.allows(now.state) {
        format!("#{id} {} (elle vient de changer d'état)", state_says(now.state))
    } else {
        format!("#{id} ne peut pas revivre : une autre tâche détient sa clé unique")
    })
}

/// "Tâche #12 relancée (maintenant available, prévue le 01/12/2026 09:30:00)", in the operator's time zone.
pub fn done_sentence(action: Action, job: &JobRow) -> String {
    format!(
        "Tâche #{} {} (maintenant {}, prévue le {})",
        job.id,
        action.participle(),
        job.state,
        crate::local_time::format_fr(job.run_at)
    )
}

/// "3 relancées, 1 refusée : #12 est en cours".
pub fn summary(action: Action, outcomes: &[Outcome]) -> String {
    const SHOWN: usize = 8;
    let done = outcomes.iter().filter(|o| matches!(o, Outcome::Done(_))).count();
    let refused: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Refused(why) => Some(why.as_str()),
            Outcome::Done(_) => None,
        })
        .collect();
    let mut text = String::new();
    if done > 0 || refused.is_empty() {
        text.push_str(&action.done_word(done));
    }
    if !refused.is_empty() {
        if !text.is_empty() {
            text.push_str(", ");
        }
        let s = if refused.len() > 1 { "s" } else { "" };
        text.push_str(&format!("{} refusée{s} : ", refused.len()));
        text.push_str(&refused[..refused.len().min(SHOWN)].join(" ; "));
        if refused.len() > SHOWN {
            text.push_str(&format!(" ; … et {} autres", refused.len() - SHOWN));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_allows_what_the_table_says() {
        use JobState::*;
        let allowed = |a: Action| -> Vec<JobState> { JobState::ALL.into_iter().filter(|s| a.allows(*s)).collect() };
        assert_eq!(allowed(Action::Retry), [Scheduled, Retryable, Cancelled, Discarded]);
        assert_eq!(allowed(Action::Cancel), [Available, Scheduled, Running, Retryable]);
        assert_eq!(allowed(Action::Discard), [Available, Scheduled, Retryable]);
        assert_eq!(
            allowed(Action::RunAt),
            [Available, Scheduled, Retryable, Cancelled, Discarded]
        );
    }

    #[test]
    fn summaries() {
        let done = || Outcome::Done(Box::new(fake_row()));
        let refused = |s: &str| Outcome::Refused(s.to_string());
        assert_eq!(
            summary(Action::Retry, &[done(), done(), done(), refused("#12 est en cours")]),
            "3 relancées, 1 refusée : #12 est en cours"
        );
        assert_eq!(
            summary(Action::Cancel, &[refused("#1 est terminée"), refused("#2 est annulée")]),
            "2 refusées : #1 est terminée ; #2 est annulée"
        );
        assert_eq!(summary(Action::Discard, &[done()]), "1 écartée");
        let many: Vec<Outcome> = (0..10).map(|i| refused(&format!("#{i} est en cours"))).collect();
        assert!(summary(Action::RunAt, &many).ends_with("#7 est en cours ; … et 2 autres"));
    }

    #[test]
    fn requests_name_the_bad_field() {
        let r = Request::parse("run_at", None, Some("2026-12-01T08:30")).unwrap();
        // Typed in Paris (winter: UTC+1).
        assert_eq!(r.run_at.unwrap().to_rfc3339(), "2026-12-01T07:30:00+00:00");
        match Request::parse("run_at", None, Some("2027-03-28T02:30")) {
            Err(AdminError::Invalid(m)) => assert!(m.to_string().contains("heure d'été"), "{m}"),
            other => panic!("a time the clocks skip: {other:?}"),
        }
        for (action, at, field) in [
            ("explode", None, "action"),
            ("run_at", None, "run_at"),
            ("run_at", Some("demain"), "run_at"),
        ] {
            match Request::parse(action, None, at) {
                Err(AdminError::Invalid(m)) => assert!(m.to_string().starts_with(field), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }

    fn fake_row() -> JobRow {
        JobRow {
            id: 1,
            kind: "noop".into(),
            args: json!({}),
            queue: "default".into(),
            priority: 0,
            state: JobState::Available,
            attempt: 0,
            max_attempts: 1,
            run_at: Utc::now(),
            locked_by: None,
            locked_at: None,
            started_at: None,
            lease_expires_at: None,
            errors: vec![],
            unique_key: None,
            progress: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            finished_at: None,
        }
    }
}
