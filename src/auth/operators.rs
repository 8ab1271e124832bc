//! Operators of the admin: created from the command line or the setup link.

use super::sql;
use super::{hash_password, invalid, AuthError, Operator};
use crate::input;
use crate::store::{Store, StoreError, Tx};

/// What it takes to create an operator.
#[derive(Debug, Clone)]
pub struct NewOperator {
    pub email: String,
    pub name: String,
    pub password: String,
}

impl NewOperator {
    /// The e-mail checked ([`input::email`]) and lower-cased, the name one line.
    fn validated(&self) -> Result<(String, String), AuthError> {
        let email = normalized_email(&self.email)?;
        let name = match input::single_line(&self.name, 200) {
            Ok(name) if !name.is_empty() => name,
            Ok(_) => return Err(invalid("name", crate::text!("de 1 à {max} caractères", max = 200))),
            Err(e) => return Err(invalid("name", e.text())),
        };
        Ok((email, name))
    }
}

/// An operator's e-mail as stored: trimmed, lower-cased, checked.
pub(crate) fn normalized_email(text: &str) -> Result<String, AuthError> {
    input::email(text)
        .map(|e| e.to_lowercase())
        .map_err(|_| invalid("email", crate::text!("adresse e-mail invalide")))
}

/// Creates an operator inside `tx` (the setup link uses its own transaction).
pub(crate) async fn insert(tx: &mut Tx, new: &NewOperator) -> Result<Operator, AuthError> {
    let (email, name) = new.validated()?;
    let password = new.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AuthError::Hash(e.to_string()))??;
    match sql::operators::insert_operator(tx, &email, &name, &hash).await {
        Err(StoreError::Conflict(_)) => Err(AuthError::Exists(email)),
        other => Ok(other?),
    }
}

#[tracing::instrument(skip_all, fields(email = %new.email))]
pub async fn create_operator(store: &Store, new: &NewOperator) -> Result<Operator, AuthError> {
    let mut tx = store.begin().await?;
    let operator = insert(&mut tx, new).await?;
    tx.commit().await?;
    Ok(operator)
}

pub async fn count_operators(store: &Store) -> Result<i64, AuthError> {
    Ok(sql::operators::count_operators(store).await?)
}

/// The language the admin speaks to this operator in, from now on.
#[tracing::instrument(skip(store))]
pub async fn set_language(store: &Store, operator_id: i64, language: crate::i18n::Lang) -> Result<(), AuthError> {
    Ok(sql::operators::set_language(store, operator_id, language.code()).await?)
}

pub async fn list_operators(store: &Store) -> Result<Vec<Operator>, AuthError> {
    Ok(sql::operators::list_operators(store).await?)
}

/// Sets a new password and ends every session of the operator.
#[tracing::instrument(skip_all, fields(email))]
pub async fn reset_password(store: &Store, email: &str, password: &str) -> Result<Operator, AuthError> {
    let email = email.trim().to_lowercase();
    let (operator, _) = sql::operators::credentials(store, &email)
        .await?
        .ok_or(AuthError::NotFound)?;
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AuthError::Hash(e.to_string()))??;
    let mut tx = store.begin().await?;
    sql::operators::set_password(&mut tx, operator.id, &hash).await?;
    sql::sessions::delete_sessions_of(&mut tx, operator.id).await?;
    tx.commit().await?;
    Ok(operator)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(email: &str, name: &str) -> NewOperator {
        NewOperator {
            email: email.into(),
            name: name.into(),
            password: "long enough password".into(),
        }
    }

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(
            new(" Marie@Example.FR ", "Marie").validated().unwrap(),
            ("marie@example.fr".into(), "Marie".into())
        );
        for bad in [
            "",
            "marie",
            "@example.fr",
            "marie@example",
            "ma rie@example.fr",
            "marie@.fr",
            "marie@example.fr>",
            "\"ma rie\"@example.fr",
        ] {
            assert!(new(bad, "Marie").validated().is_err(), "{bad:?}");
        }
        assert!(new("marie@example.fr", "  ").validated().is_err());
        for bad in ["Marie\nDupont", "Marie\u{1b}", "Marie\u{202E}"] {
            assert!(new("marie@example.fr", bad).validated().is_err(), "{bad:?}");
        }
    }
}
