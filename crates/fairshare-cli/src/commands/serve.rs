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
    let programme = context.rules(&store).await?;
    if args.demo && store.organisations().await?.is_empty() {
        super::demo::run(context, super::demo::DemoArgs::default()).await?;
    }
    // No state of the reference data may keep the site down: a release that cannot be
    // published is reported, and its pages say what is wrong.
    match store
        .publish_release_in_force(context.today(), &programme.thresholds, "fairshare")
        .await
    {
        Ok(Some(release)) => {
            tracing::info!(%release, "published the thresholds of the release in force")
        }
        Ok(None) => {}
        Err(error) => tracing::warn!(
            %error,
            "the thresholds in force could not be published; serving without them"
        ),
    }
    let bind = args
        .bind
        .unwrap_or_else(|| context.config.server.bind.clone());
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let address = listener.local_addr()?;
    eprintln!("Fairshare is serving on http://{address} (Ctrl-C to stop)");
    let mut state = AppState::new(store.clone(), context.config.rules()?);
    state.limits = std::sync::Arc::new(context.config.server.limits()?);
    state.webhooks = std::sync::Arc::new(fairshare_web::WebhookSecrets {
        github_sponsors: context.config.sponsorship.github_webhook_secret.clone(),
        opencollective: context
            .config
            .sponsorship
            .opencollective_webhook_secret
            .clone(),
        github: context.config.github.webhook_secret.clone(),
        gitlab: context.config.gitlab.webhook_secret.clone(),
        crowdin: context.config.crowdin.webhook_secret.clone(),
    });
    let scheduler_settings = context.config.scheduler_settings()?;
    // The repository webhook reads the configured repositories and those of the
    // `github` sources; with neither, every repository the secret signs.
    let mut repositories = context.config.contributions.github_repositories.clone();
    repositories.extend(
        scheduler_settings
            .sources
            .iter()
            .filter_map(|s| match &s.settings {
                fairshare_engine::sources::SourceSettings::Github { repo, .. } => {
                    Some(repo.clone())
                }
                _ => None,
            }),
    );
    // The GitLab webhook reads the projects of the `gitlab` sources; with none, every
    // project the secret comes with.
    let gitlab_projects = scheduler_settings
        .sources
        .iter()
        .filter_map(|s| match &s.settings {
            fairshare_engine::sources::SourceSettings::Gitlab { project, .. } => {
                Some(project.clone())
            }
            _ => None,
        })
        .collect();
    state.contribution_webhooks = std::sync::Arc::new(fairshare_web::ContributionWebhooks {
        repositories: std::sync::Arc::new(fairshare_import::github_archive::ArchiveFilter::new(
            &repositories,
        )),
        gitlab_projects,
        settings: context.config.contributions.settings(),
    });
    state.machine = std::sync::Arc::new(fairshare_web::Machine {
        review: context
            .config
            .scheduler
            .enabled
            .then_some(scheduler_settings.review),
        approve_reviews: scheduler_settings.publish == fairshare_scheduler::Publish::Approve,
        metrics_token: context
            .config
            .server
            .metrics_token
            .clone()
            .filter(|t| !t.is_empty()),
    });
    let site = &context.config.site;
    for (setting, url) in [
        ("site.opencollective_url", &site.opencollective_url),
        ("site.github_sponsors_url", &site.github_sponsors_url),
        ("site.logo_url", &site.logo_url),
        ("site.base_url", &site.base_url),
    ] {
        if let Some(url) = url {
            fairshare_engine::links::web_link(url)
                .map_err(|why| anyhow::anyhow!("fairshare.toml: {setting}: {why}"))?;
        }
    }
    let policy_html = match &site.policy_file {
        Some(path) => fairshare_web::markdown_html(
            &std::fs::read_to_string(path)
                .with_context(|| format!("cannot read site.policy_file {}", path.display()))?,
        ),
        None => fairshare_web::markdown_html(fairshare_web::DEFAULT_POLICY),
    };
    state.site = std::sync::Arc::new(fairshare_web::SiteSettings {
        project: site.project.clone(),
        opencollective_url: site.opencollective_url.clone(),
        github_sponsors_url: site.github_sponsors_url.clone(),
        logo_url: site.logo_url.clone(),
        base_url: site
            .base_url
            .clone()
            .or_else(|| context.config.mail.base_url.clone())
            .map(|url| url.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("http://{address}")),
        policy_html,
    });
    state.mailer = std::sync::Arc::new(context.config.mail.mailer(&address.to_string(), site)?);
    let github = &context.config.github_login;
    if !github.client_id.is_empty() {
        state.github_login = Some(std::sync::Arc::new(
            fairshare_web::github_login::GithubLogin {
                client_id: github.client_id.clone(),
                client_secret: github.client_secret.clone(),
                authorize_url: github.authorize_url.clone(),
                token_url: github.token_url.clone(),
                api_url: github.api_url.clone(),
            },
        ));
    }
    {
        let clock = store.clock().clone();
        state.today = std::sync::Arc::new(move || clock.today());
    }
    // The programme's machine: sources, the monthly review and mail, on their own.
    let scheduler = if context.config.scheduler.enabled {
        let scheduler =
            super::sources::scheduler_of(scheduler_settings, store.clone(), state.mailer.clone())
                .await?;
        let period = std::time::Duration::from_secs(context.config.scheduler.tick_secs);
        Some(tokio::spawn(scheduler.run_forever(period)))
    } else {
        None
    };
    let spool_dir = context
        .config
        .server
        .webhook_spool(&context.config.database_url);
    let spool = std::sync::Arc::new(
        fairshare_web::spool::WebhookSpool::open(&spool_dir)
            .with_context(|| format!("cannot use the webhook spool {}", spool_dir.display()))?,
    );
    state.spool = Some(spool.clone());
    // Deliveries kept while the database was busy are stored as soon as it is free.
    let drain = {
        let (store, today) = (store.clone(), state.today.clone());
        tokio::spawn(async move {
            loop {
                spool.drain(&store, today()).await;
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
        })
    };
    fairshare_web::serve(listener, state).await?;
    drain.abort();
    if let Some(scheduler) = scheduler {
        scheduler.abort();
    }
    store.close().await;
    Ok(())
}
