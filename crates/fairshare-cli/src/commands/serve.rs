//! `fairshare serve`: opens the store, publishes the thresholds in force, and serves.

use anyhow::Context as _;
use fairshare_web::AppState;

use super::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (default from the configuration: 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
    /// Fill an empty database with the demo programme first (`fairshare demo`).
    #[arg(long)]
    demo: bool,
}

pub async fn run(context: &Context, args: Args) -> anyhow::Result<()> {
    let store = context.store().await?;
    if args.demo && store.organisations().await?.is_empty() {
        super::demo::run(context, super::demo::DemoArgs::default()).await?;
    }
    let policy = context.config.thresholds.clone();
    if let Some(release) = store
        .publish_release_in_force(context.today(), &policy, "fairshare")
        .await
        .context("publishing the thresholds in force")?
    {
        tracing::info!(%release, "published the thresholds of the release in force");
    }
    let bind = args
        .bind
        .unwrap_or_else(|| context.config.server.bind.clone());
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let address = listener.local_addr()?;
    eprintln!("Fairshare is serving on http://{address} (Ctrl-C to stop)");
    let mut state = AppState::new(store.clone(), policy);
    state.webhooks = std::sync::Arc::new(fairshare_web::WebhookSecrets {
        github_sponsors: context.config.sponsorship.github_webhook_secret.clone(),
        opencollective: context
            .config
            .sponsorship
            .opencollective_webhook_secret
            .clone(),
    });
    fairshare_web::serve(listener, state).await?;
    store.close().await;
    Ok(())
}
