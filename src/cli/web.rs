//! `comptoir-web`: the admin and API, with the worker in the same process by
//! default so that one command gives a working product.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;

use super::exit;
use crate::app::{registry, AppContext};
use crate::config::Config;
use crate::jobs::{Worker, WorkerConfig};
use crate::store::{redact_url, Store};
use crate::web::AppState;

#[derive(Debug, Parser)]
#[command(name = "comptoir-web", version, about = "Comptoir's web admin and API")]
struct Cli {
    #[command(flatten)]
    config: Config,
    /// Address to listen on.
    #[arg(long, env = "COMPTOIR_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Do not run a worker in this process (run `comptoir-worker` instead).
    #[arg(long)]
    no_worker: bool,
    /// Jobs run at once per queue by the embedded worker.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
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
    match runtime.block_on(serve(cli)) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::UNAVAILABLE)
        }
    }
}

async fn serve(cli: Cli) -> anyhow::Result<()> {
    let shutdown = crate::telemetry::shutdown_signal();
    let config = Arc::new(cli.config);
    let url = config.database_url();
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open database {}", redact_url(&url)))?;
    store.migrate().await.context("cannot apply migrations")?;
    let listener = tokio::net::TcpListener::bind(&cli.bind)
        .await
        .with_context(|| format!("cannot listen on {}", cli.bind))?;
    tracing::info!(address = %listener.local_addr()?, database = %redact_url(&url), "admin at http://{}/", listener.local_addr()?);

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
    let state = AppState::new(store.clone(), app.providers.clone()).context("cannot load templates")?;
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
