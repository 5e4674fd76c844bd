//! The `fairshare` binary: parses the command line, loads the configuration, sets up
//! logging and hands over to one module per command group in `commands/`.

mod commands;
mod config;
mod output;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat};

/// Fairshare: a fair, auditable community partners programme for open source projects.
#[derive(Parser)]
#[command(name = "fairshare", version, about, long_about = None)]
struct Cli {
    /// Configuration file (default: ./fairshare.toml if it exists).
    #[arg(long, global = true, env = "FAIRSHARE_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… (overrides the configuration).
    #[arg(
        long,
        global = true,
        env = "FAIRSHARE_DATABASE_URL",
        hide_env_values = true
    )]
    database: Option<String>,
    /// Who is acting, recorded in the audit log (default: $USER).
    #[arg(
        long = "as",
        global = true,
        env = "FAIRSHARE_ACTOR",
        value_name = "NAME"
    )]
    actor: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web UI and JSON API.
    Serve(commands::serve::Args),
    /// Show the effective configuration.
    #[command(subcommand)]
    Config(commands::admin::ConfigCommand),
    /// Big Mac data: import releases, list them, and handle countries missing from them.
    #[command(subcommand)]
    Bigmac(commands::bigmac::BigmacCommand),
    /// Fair monthly sponsorship thresholds per country, and their publication.
    Thresholds(commands::thresholds::Args),
    /// Import contributions and the organisation directory.
    #[command(subcommand)]
    Import(commands::import::ImportCommand),
    /// Count activities, grouped by org, member, kind, source, team or month.
    Activities(commands::ledger::ActivitiesArgs),
    /// Members and their identities: show, merge, split, undo.
    #[command(subcommand)]
    Members(commands::ledger::MembersCommand),
    /// Sponsorship payments: manual entries, removals, sponsor accounts, duplicates.
    #[command(subcommand)]
    Payments(commands::payments::PaymentsCommand),
    /// Month by month: what an organisation paid, what it owed, whether it complied.
    Compliance(commands::payments::ComplianceArgs),
    /// Every organisation's score for a month, by kind.
    Scores(commands::scores::ScoresArgs),
    /// The activities behind an organisation's score, with their points and caps.
    Explain(commands::scores::ExplainArgs),
    /// Fill the database with a realistic, fictional programme (deterministic per seed).
    Demo(commands::demo::DemoArgs),
    /// Apply to become a Community Partner (the evaluation is attached).
    Apply(commands::applications::ApplyArgs),
    /// Set what an organisation shows on its public page.
    Profile(commands::applications::ProfileArgs),
    /// The community report over a window (HTML with charts, JSON or CSV).
    Report(commands::report::ReportArgs),
    /// Accounts for the web: add with roles, confirm an address, list.
    #[command(subcommand)]
    Users(commands::users::UsersCommand),
    /// Review applications: list, show, decide, and staff confirmations.
    #[command(subcommand)]
    Applications(commands::applications::ApplicationsCommand),
    /// Re-evaluate every partner for a complete month and publish its ranking.
    ReviewMonth(commands::scores::ReviewArgs),
    /// A month's published ranking.
    Ranking(commands::scores::RankingArgs),
    /// Is an organisation eligible? Both criteria with the months behind them.
    Evaluate(commands::scores::EvaluateArgs),
    /// Exclude activities from scoring, with reasons (audited, shown to the organisation).
    #[command(subcommand)]
    Corrections(commands::corrections::CorrectionsCommand),
    /// Exchange rates: import ECB reference rates, convert amounts.
    #[command(subcommand)]
    Rates(commands::rates::RatesCommand),
    /// Read the audit log.
    Audit(commands::admin::AuditArgs),
    /// A consistent copy of the SQLite database, safe while it is in use.
    Backup(commands::backup::BackupArgs),
    /// Replace the SQLite database with a checked backup (stop `serve` first).
    Restore(commands::backup::RestoreArgs),
    /// Check the database: schema version, and on SQLite integrity and foreign keys.
    Check,
    /// Every source the scheduler runs, with its last run, outcome and next run.
    Sources(commands::sources::SourcesArgs),
    /// Run the sources due now (or the named ones) once; non-zero if one failed.
    Sync(commands::sources::SyncArgs),
    /// The programme's rules in force: show, history, record a new version.
    #[command(subcommand)]
    Rules(commands::rules::RulesCommand),
    /// The activity counts pages and scores read: verify them against the activities,
    /// or rebuild them.
    #[command(subcommand)]
    Rollups(commands::rollups::RollupsCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => return fail(&e),
    };
    if let Some(url) = &cli.database {
        config.database_url = url.clone();
    }
    let serving = matches!(cli.command, Command::Serve(_));
    init_logging(config.log.format, if serving { "info" } else { "warn" });
    let context = commands::Context {
        config,
        actor: cli
            .actor
            .or_else(|| std::env::var("USER").ok())
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| "cli".into()),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&e.into()),
    };
    let result = runtime.block_on(async move {
        let outcome = match cli.command {
            Command::Serve(args) => commands::serve::run(&context, args).await,
            Command::Config(command) => commands::admin::config(&context, command),
            Command::Bigmac(command) => commands::bigmac::run(&context, command).await,
            Command::Thresholds(args) => commands::thresholds::run(&context, args).await,
            Command::Import(command) => commands::import::run(&context, command).await,
            Command::Activities(args) => commands::ledger::activities(&context, args).await,
            Command::Members(command) => commands::ledger::members(&context, command).await,
            Command::Rates(command) => commands::rates::run(&context, command).await,
            Command::Backup(args) => commands::backup::backup(&context, args).await,
            Command::Restore(args) => commands::backup::restore(&context, args).await,
            Command::Check => commands::backup::check(&context).await,
            Command::Scores(args) => commands::scores::scores(&context, args).await,
            Command::Corrections(command) => commands::corrections::run(&context, command).await,
            Command::Evaluate(args) => commands::scores::evaluate(&context, args).await,
            Command::ReviewMonth(args) => commands::scores::review_month(&context, args).await,
            Command::Ranking(args) => commands::scores::ranking(&context, args).await,
            Command::Apply(args) => commands::applications::apply(&context, args).await,
            Command::Profile(args) => commands::applications::profile(&context, args).await,
            Command::Report(args) => commands::report::run(&context, args).await,
            Command::Users(command) => commands::users::run(&context, command).await,
            Command::Rules(command) => commands::rules::run(&context, command).await,
            Command::Demo(args) => commands::demo::run(&context, args).await,
            Command::Applications(command) => commands::applications::run(&context, command).await,
            Command::Explain(args) => commands::scores::explain(&context, args).await,
            Command::Payments(command) => commands::payments::run(&context, command).await,
            Command::Compliance(args) => commands::payments::compliance(&context, args).await,
            Command::Audit(args) => commands::admin::audit(&context, args).await,
            Command::Sources(args) => commands::sources::sources(&context, args).await,
            Command::Sync(args) => commands::sources::sync(&context, args).await,
            Command::Rollups(command) => commands::rollups::run(&context, command).await,
        };
        match outcome {
            Err(e) => Err(commands::suggest_organisations(&context, e).await),
            done => done,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stopped early (`| head`) is not an error of ours.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Whether the error is a closed standard output, also when the CSV or JSON writer
/// wrapped it.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == BrokenPipe)
            || cause.downcast_ref::<csv::Error>().is_some_and(
                |e| matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == BrokenPipe),
            )
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(BrokenPipe))
    })
}

fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}

/// Structured logs on standard error; `FAIRSHARE_LOG` (or `RUST_LOG`) sets the filter.
fn init_logging(format: LogFormat, default_level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("FAIRSHARE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default_level));
    // Colours only for a person at a terminal: a redirected log gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
