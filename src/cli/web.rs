//! `comptoir-web`: the admin and API, with the worker in the same process by
//! default so that one command gives a working product; `comptoir-web admin
//! …` manages operator accounts.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use super::exit;
use crate::app::{registry, AppContext};
use crate::config::Config;
use crate::jobs::{Worker, WorkerConfig};
use crate::store::{redact_url, Store};
use crate::web::{AppState, WebConfig};

#[derive(Debug, Parser)]
#[command(name = "comptoir-web", version, about = "Comptoir's web admin and API")]
struct Cli {
    #[command(flatten)]
    config: Config,
    /// Address to listen on.
    #[arg(long, env = "COMPTOIR_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Where operators reach the admin (e.g. https://admin.example.fr), for
    /// printed links; an https URL makes cookies Secure.
    #[arg(long, env = "COMPTOIR_PUBLIC_URL")]
    public_url: Option<String>,
    /// Behind a reverse proxy: take the client's address from X-Forwarded-For.
    #[arg(long, env = "COMPTOIR_TRUST_PROXY")]
    trust_proxy: bool,
    /// Do not run a worker in this process (run `comptoir-worker` instead).
    #[arg(long)]
    no_worker: bool,
    /// Jobs run at once per queue by the embedded worker.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Operator accounts of the admin.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
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
    /// List operators.
    List,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init("info,sqlx=warn");
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::UNAVAILABLE);
        }
    };
    let result = match cli.command {
        Some(Command::Admin(ref command)) => runtime.block_on(admin(&cli.config, command)),
        None => runtime.block_on(serve(cli)).map(|()| exit::OK),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::UNAVAILABLE)
        }
    }
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let url = config.database_url();
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open database {}", redact_url(&url)))?;
    store.migrate().await.context("cannot apply migrations")?;
    Ok(store)
}

/// The password: COMPTOIR_ADMIN_PASSWORD, else asked on a terminal (without
/// echo), else the first line of standard input.
fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("COMPTOIR_ADMIN_PASSWORD") {
        return Ok(p);
    }
    use std::io::{BufRead, IsTerminal, Write};
    let terminal = std::io::stdin().is_terminal();
    let stty = |arg: &str| {
        let _ = std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status();
    };
    if terminal {
        eprint!("Password (at least {} characters): ", crate::auth::MIN_PASSWORD_CHARS);
        let _ = std::io::stderr().flush();
        stty("-echo");
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if terminal {
        stty("echo");
        eprintln!();
    }
    read.context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn admin(config: &Config, command: &AdminCommand) -> anyhow::Result<u8> {
    use crate::auth::{self, AuthError, NewOperator};
    let store = open_store(config).await?;
    let refused = |e: AuthError| -> anyhow::Result<u8> {
        match e {
            AuthError::Store(e) => Err(e).context("database"),
            other => {
                eprintln!("error: {other}");
                Ok(exit::JOBS_FAILED)
            }
        }
    };
    let code = match command {
        AdminCommand::Create { email, name } => {
            let password = read_password()?;
            let new = NewOperator {
                email: email.clone(),
                name: name.clone(),
                password,
            };
            match auth::create_operator(&store, &new).await {
                Ok(op) => {
                    crate::audit::record(
                        &store,
                        &crate::audit::Actor::cli(),
                        crate::audit::Record::new("operator.create", format!("operator:{}", op.id)),
                    )
                    .await?;
                    println!("operator {} created: {} <{}>", op.id, op.name, op.email);
                    exit::OK
                }
                Err(e) => refused(e)?,
            }
        }
        AdminCommand::ResetPassword { email } => {
            let password = read_password()?;
            match auth::reset_password(&store, email, &password).await {
                Ok(op) => {
                    crate::audit::record(
                        &store,
                        &crate::audit::Actor::cli(),
                        crate::audit::Record::new("operator.reset_password", format!("operator:{}", op.id)),
                    )
                    .await?;
                    println!("password of {} changed; their sessions are ended", op.email);
                    exit::OK
                }
                Err(AuthError::NotFound) => {
                    eprintln!("error: no operator with the e-mail {email}");
                    exit::JOBS_FAILED
                }
                Err(e) => refused(e)?,
            }
        }
        AdminCommand::List => {
            for op in auth::list_operators(&store).await? {
                let state = if op.disabled_at.is_some() { "disabled" } else { "active" };
                println!("{}\t{}\t{}\t{}", op.id, op.email, op.name, state);
            }
            exit::OK
        }
    };
    store.close().await;
    Ok(code)
}

async fn serve(cli: Cli) -> anyhow::Result<()> {
    let shutdown = crate::telemetry::shutdown_signal();
    let config = Arc::new(cli.config);
    let store = open_store(&config).await?;
    let listener = tokio::net::TcpListener::bind(&cli.bind)
        .await
        .with_context(|| format!("cannot listen on {}", cli.bind))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, database = %redact_url(&config.database_url()), "admin at http://{address}/admin");

    let web = WebConfig {
        public_url: cli.public_url.map(|u| u.trim_end_matches('/').to_string()),
        trust_proxy: cli.trust_proxy,
    };
    // No operator yet: a one-time link creates the first one.
    if let Some(token) = crate::auth::create_setup_link(&store).await.context("setup link")? {
        let base = web.public_url.clone().unwrap_or_else(|| format!("http://{address}"));
        eprintln!(
            "\nNo operator account yet. Open this link (valid {} hours, once) to create the first one:\n\n    {base}/setup/{token}\n\nor run: comptoir-web admin create --email … --name …\n",
            crate::auth::SETUP_LINK_LIFETIME.as_secs() / 3600
        );
    }

    let app = AppContext::from_config(config.clone()).context("configuration")?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = if cli.no_worker {
        None
    } else {
        let mut stop = stop_rx.clone();
        let worker = Worker::new(
            store.clone(),
            Arc::new(registry()),
            app.clone(),
            WorkerConfig {
                concurrency: cli.concurrency.max(1),
                ..WorkerConfig::default()
            },
        );
        Some(tokio::spawn(worker.run(async move {
            let _ = stop.wait_for(|s| *s).await;
        })))
    };
    let state = AppState::new(store.clone(), app, web).context("cannot load templates")?;
    let mut stop = stop_rx.clone();
    let server = tokio::spawn(crate::web::serve(listener, state, async move {
        let _ = stop.wait_for(|s| *s).await;
    }));
    shutdown.await;
    let _ = stop_tx.send(true);
    if let Some(w) = worker {
        w.await.context("worker task failed")?.context("worker failed")?;
    }
    server.await.context("server task failed")?.context("server failed")?;
    store.close().await;
    Ok(())
}
