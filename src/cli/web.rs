//! `comptoir-web`: the admin and API, with the worker in the same process by
//! default so that one command gives a working product; `comptoir-web admin
//! …` manages operator accounts (see `web_admin`).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use super::exit;
use super::web_admin::{self, AdminCommand};
use crate::app::{registry, AppContext};
use crate::config::Config;
use crate::jobs::{Worker, WorkerConfig};
use crate::store::redact_url;
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
    /// Operator accounts, sign-in links and API keys.
    #[command(subcommand)]
    Admin(AdminCommand),
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
        Some(Command::Admin(ref command)) => runtime.block_on(admin(&cli, command)),
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

/// `comptoir-web admin …` on the configured database; printed links point
/// to the public URL, else the bind address.
async fn admin(cli: &Cli, command: &AdminCommand) -> anyhow::Result<u8> {
    let store = super::worker::open(&cli.config).await?;
    let base = match &cli.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{}", cli.bind),
    };
    let code = web_admin::run(&store, command, &base).await;
    store.close().await;
    code
}

async fn serve(cli: Cli) -> anyhow::Result<()> {
    let shutdown = crate::telemetry::shutdown_signal();
    let config = Arc::new(cli.config);
    let store = super::with_book_key(super::worker::open(&config).await?, &config).await?;
    let listener = tokio::net::TcpListener::bind(&cli.bind)
        .await
        .with_context(|| format!("cannot listen on {}", cli.bind))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, database = %redact_url(&config.database_url()), "admin at http://{address}/admin");

    let web = WebConfig {
        public_url: cli.public_url.map(|u| u.trim_end_matches('/').to_string()),
        trust_proxy: cli.trust_proxy,
        listen: Some(address),
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
