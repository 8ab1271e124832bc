//! `comptoir-web admin …`: operator accounts, the way back in for a
//! locked-out operator (a one-time sign-in link), and API keys for scripts
//! that start with no browser. Every change is in the audit log as `cli`.

use anyhow::Context;
use clap::Subcommand;

use super::exit;
use crate::audit::{self, Actor, Record};
use crate::auth::{self, AuthError, LinkVia, NewOperator};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub(super) enum AdminCommand {
    /// Create an operator. The password is read from standard input (first
    /// line), or asked for on a terminal, or taken from COMPTOIR_ADMIN_PASSWORD.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
    /// Set a new password (same sources as `create`); ends the operator's sessions.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
    /// Print a one-time sign-in link (valid 30 minutes, once) for an
    /// operator: the way back in when sign-ins are locked by someone else's
    /// failures. It does not unlock them.
    SigninLink {
        #[arg(long)]
        email: String,
    },
    /// API keys of an operator.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// List operators.
    List,
}

#[derive(Debug, Subcommand)]
pub(super) enum ApiKeyCommand {
    /// Create an API key for the operator and print it (shown once; only its
    /// SHA-256 is stored).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
}

/// The password: COMPTOIR_ADMIN_PASSWORD, else asked on the terminal without
/// echo (`rpassword`, which restores the terminal even on Ctrl-C), else the
/// first line of standard input.
fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("COMPTOIR_ADMIN_PASSWORD") {
        return Ok(p);
    }
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        let prompt = format!("Password (at least {} characters): ", crate::auth::MIN_PASSWORD_CHARS);
        return rpassword::prompt_password(prompt).context("cannot read the password from the terminal");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// A refusal is said on standard error with exit 1; a database failure is an error.
fn refused(e: AuthError, email: &str) -> anyhow::Result<u8> {
    match e {
        AuthError::Store(e) => Err(e).context("database"),
        AuthError::NotFound => {
            eprintln!("error: no operator with the e-mail {email}");
            Ok(exit::JOBS_FAILED)
        }
        other => {
            eprintln!("error: {other}");
            Ok(exit::JOBS_FAILED)
        }
    }
}

/// Runs one admin command; `link_base` is where the admin is reached (the
/// public URL, else the bind address), for printed links.
pub(super) async fn run(store: &Store, command: &AdminCommand, link_base: &str) -> anyhow::Result<u8> {
    let cli = Actor::cli();
    let code = match command {
        AdminCommand::Create { email, name } => {
            let password = read_password()?;
            let new = NewOperator {
                email: email.clone(),
                name: name.clone(),
                password,
            };
            match auth::create_operator(store, &new).await {
                Ok(op) => {
                    audit::record(
                        store,
                        &cli,
                        Record::new("operator.create", format!("operator:{}", op.id)),
                    )
                    .await?;
                    println!("operator {} created: {} <{}>", op.id, op.name, op.email);
                    exit::OK
                }
                Err(e) => refused(e, email)?,
            }
        }
        AdminCommand::ResetPassword { email } => {
            let password = read_password()?;
            match auth::reset_password(store, email, &password).await {
                Ok(op) => {
                    let record = Record::new("operator.reset_password", format!("operator:{}", op.id));
                    audit::record(store, &cli, record).await?;
                    println!("password of {} changed; their sessions are ended", op.email);
                    exit::OK
                }
                Err(e) => refused(e, email)?,
            }
        }
        AdminCommand::SigninLink { email } => match auth::create_signin_link(store, email, LinkVia::Cli).await {
            Ok(link) => {
                let record = Record::new("operator.signin_link", format!("operator:{}", link.operator.id))
                    .details(serde_json::json!({ "via": LinkVia::Cli.as_str(), "expires_at": link.expires_at }));
                audit::record(store, &cli, record).await?;
                eprintln!(
                    "One-time sign-in link for {} (valid {} minutes, once; it does not lift the lock on password sign-ins):",
                    link.operator.email,
                    auth::SIGNIN_LINK_LIFETIME.as_secs() / 60
                );
                println!("{}", link.url(link_base));
                exit::OK
            }
            Err(e) => refused(e, email)?,
        },
        AdminCommand::ApiKey(ApiKeyCommand::Create { email, name }) => {
            let wanted = email.trim().to_lowercase();
            let Some(operator) = auth::list_operators(store)
                .await?
                .into_iter()
                .find(|o| o.email == wanted)
            else {
                return refused(AuthError::NotFound, email);
            };
            if operator.disabled_at.is_some() {
                eprintln!("error: the operator {} is disabled", operator.email);
                return Ok(exit::JOBS_FAILED);
            }
            let mut tx = store.begin().await?;
            let created = match auth::create_key_in(&mut tx, operator.id, name).await {
                Ok(created) => created,
                Err(e) => return refused(e, email),
            };
            let record = Record::new("api_key.create", format!("api_key:{}", created.key.id)).details(
                serde_json::json!({ "name": created.key.name, "prefix": created.key.prefix, "operator": operator.id }),
            );
            audit::record_in(&mut tx, &cli, record).await?;
            tx.commit().await?;
            eprintln!(
                "API key {:?} of {} created (ck_{}_…); it is shown once:",
                created.key.name, operator.email, created.key.prefix
            );
            println!("{}", created.secret);
            exit::OK
        }
        AdminCommand::List => {
            for op in auth::list_operators(store).await? {
                let state = if op.disabled_at.is_some() { "disabled" } else { "active" };
                println!("{}\t{}\t{}\t{}", op.id, op.email, op.name, state);
            }
            exit::OK
        }
    };
    Ok(code)
}
