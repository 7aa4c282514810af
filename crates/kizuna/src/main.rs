//! `kizuna`: the one binary. Parses the command line and configuration, wires the store, the
//! application and the web server together, and runs the chosen command.

mod bench;
mod bench_engine;
mod bench_health;
mod bench_metrics;
mod config;
mod metrics_cli;
mod progress;
mod renewals_cli;

use app::demo::DemoOptions;
use app::{Actor, App, AppError, CatalogFile, ImportKind};
use clap::{Parser, Subcommand, ValueEnum};
use config::Config;
use domain::access::Role;
use domain::i18n::Lang;
use domain::interchange::{Encoding, ExportEncoding};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

// Ingest and page rendering allocate many small JSON values from several threads at once, which
// mimalloc serves markedly faster than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "kizuna", version, about = "Kizuna: self-hostable customer success platform")]
struct Cli {
    /// Configuration file (TOML); KIZUNA_* environment variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the web server (applies migrations first).
    Serve {
        /// Fill the database with the demo company before serving.
        #[arg(long)]
        demo: bool,
        /// Number of demo accounts, with --demo.
        #[arg(long, default_value_t = 300)]
        demo_accounts: usize,
        /// Listen address, e.g. 127.0.0.1:8080 (overrides the configuration).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Import a CSV file (all or nothing).
    Import {
        kind: Kind,
        file: PathBuf,
        /// utf-8 or shift_jis; detected when absent.
        #[arg(long)]
        encoding: Option<String>,
    },
    /// Export a CSV file in the import format (UTF-8 with a BOM, which Excel needs, unless
    /// --encoding says otherwise), as `GET /api/v1/exports/{kind}` does.
    Export {
        kind: Kind,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// utf-8-bom (default), utf-8 or shift_jis.
        #[arg(long)]
        encoding: Option<String>,
    },
    /// Fill the database with a realistic fictional customer base.
    Demo {
        #[arg(long, default_value_t = 300)]
        accounts: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Leave out end users and product usage (three years of events; large with many accounts).
        #[arg(long)]
        no_usage: bool,
    },
    /// Health scores: the configuration and the backtest against real churn.
    Health {
        #[command(subcommand)]
        action: HealthAction,
    },
    /// The feature catalog: which events mean a feature was used, its cadence and importance.
    Features {
        #[command(subcommand)]
        action: FeaturesAction,
    },
    /// Exit 0 when the server at the configured address answers /healthz.
    Healthcheck {
        /// Base URL of the server; default: the configured listen address.
        #[arg(long)]
        url: Option<String>,
    },
    /// Manage staff users who can sign in.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// SaaS metrics (metrics.md): mrr, movements, churn, retention, cohorts, ltv.
    Metrics(metrics_cli::MetricsArgs),
    /// Renewals: the pipeline, the churn model and its backtest, forecast snapshots and accuracy.
    Renewals {
        #[command(subcommand)]
        action: renewals_cli::RenewalsAction,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Measure performance; results belong in BENCHMARKS.md.
    Bench {
        #[command(subcommand)]
        target: bench::Target,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Create a staff user who can sign in (or set the password of an existing one). The
    /// password is read from standard input; without input a random one is generated and shown.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Make the user an administrator (same as --role admin).
        #[arg(long)]
        admin: bool,
        /// admin, manager, csm or viewer.
        #[arg(long, default_value = "viewer")]
        role: String,
    },
}

#[derive(Subcommand)]
enum HealthAction {
    /// Save a health configuration file (grades and scorecards; see examples/health.toml).
    Apply { file: PathBuf },
    /// Recompute every account's score now and store today's snapshots (a running server also
    /// does this every hour and within a second of each change).
    Recompute,
    /// Score every paying account as of the first of each month in the range, using only the
    /// data of that day, and compare with churn within the horizon: AUC, churn per grade, lift,
    /// calibration.
    Backtest {
        /// First day (YYYY-MM-DD); default two years ago.
        #[arg(long)]
        from: Option<String>,
        /// Last day; default the horizon before today (so every point's horizon has passed).
        #[arg(long)]
        to: Option<String>,
        /// Days after each point in which a churn counts, e.g. 90d or 90.
        #[arg(long, default_value = "90d")]
        horizon: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write every observation (account, day, score, grade, churned, each measure's
        /// points) to this CSV file, to check the numbers outside Kizuna.
        #[arg(long)]
        observations: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum FeaturesAction {
    /// Make the catalog hold the features of a TOML file (see examples/features.toml); changed
    /// features are re-derived from the stored events.
    Apply {
        file: PathBuf,
        /// Also remove features the file does not list.
        #[arg(long)]
        prune: bool,
    },
    /// Print the catalog as a TOML file.
    Export,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Accounts,
    Contacts,
    Subscriptions,
    /// Sales & marketing spend per month (month, amount), for CAC.
    Spend,
    /// NPS survey answers (account_id, contact_email, score, responded_at, comment).
    Nps,
    /// Support tickets (ticket_id, account_id, created_at, solved_at, priority, status, subject).
    Tickets,
    /// Usage events: NDJSON, one Segment message per line, optionally gzipped (backfill).
    Events,
}

impl Kind {
    /// The CSV format of this kind; events are NDJSON and have none.
    fn csv(self, lang: Lang) -> Result<ImportKind, CliError> {
        match self {
            Kind::Accounts => Ok(ImportKind::Accounts),
            Kind::Contacts => Ok(ImportKind::Contacts),
            Kind::Subscriptions => Ok(ImportKind::Subscriptions),
            Kind::Spend => Ok(ImportKind::Spend),
            Kind::Nps => Ok(ImportKind::Nps),
            Kind::Tickets => Ok(ImportKind::Tickets),
            Kind::Events => Err(CliError::Usage(
                lang.pick("イベントは CSV では書き出せません", "events are not exported as CSV").to_owned(),
            )),
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("{0}")]
    App(#[from] AppError),
    #[error("{0}")]
    Store(#[from] store::StoreError),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("{0}")]
    Usage(String),
}

fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
    let context = context.into();
    move |source| CliError::Io { context, source }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KIZUNA_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let lang = Lang::from_locale(&std::env::var("LANG").unwrap_or_default());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, lang)) {
        Ok(code) => code,
        Err(CliError::App(AppError::ImportRejected { file, errors })) => {
            eprintln!("{}", AppError::import_report(&file, &errors, lang));
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("kizuna: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn open_app(config: &Config) -> Result<Arc<App>, CliError> {
    let url = config.database_url();
    if url.expose().starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(io_error(format!("cannot create data directory {}", config.data_dir.display())))?;
    }
    tracing::info!(database = %config.database_label(), "opening database");
    let store = store::open(url.expose()).await?;
    Ok(Arc::new(App::start(store, config.initial_settings()?).await?))
}

/// The backtest's observations as CSV: one row per account and day, the measures' points in
/// the scorecard's order (empty: no data).
fn write_observations(history: &app::health::ScoredHistory, path: &std::path::Path) -> Result<(), CliError> {
    let name = path.display().to_string();
    let file = std::fs::File::create(path).map_err(io_error(&name))?;
    let mut out = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let failed = |e: csv::Error| CliError::Usage(format!("{name}: {e}"));
    let mut header = vec!["account_id", "as_of", "score", "grade", "churned_within_horizon"];
    header.extend(history.measures.iter().map(String::as_str));
    out.write_record(&header).map_err(failed)?;
    let number = |value: Option<f64>| value.map(|v| format!("{v:.1}")).unwrap_or_default();
    for o in &history.observations {
        let mut row = vec![
            history.external_ids.get(&o.account).map(ToString::to_string).unwrap_or_default(),
            o.as_of.to_string(),
            number(o.score),
            o.grade.clone(),
            u8::from(o.churned).to_string(),
        ];
        row.extend(o.points.iter().map(|p| number(*p)));
        out.write_record(&row).map_err(failed)?;
    }
    out.flush().map_err(io_error(&name))
}

fn backtest_table(
    r: &domain::health::backtest::BacktestReport,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    horizon: u64,
    lang: Lang,
) -> String {
    let pct = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{:.1}%", v * 100.0));
    let num = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.3}"));
    let mut out = lang.pick(format!("バックテスト {from}〜{to}（毎月1日時点、{horizon} 日以内の解約）: 観測 {}、解約 {}（{}）\nAUC {}、最下位グレードのリフト {}\n\nグレード別:\n", r.observations, r.churned, pct(r.churn_rate), num(r.auc), num(r.worst_grade_lift)),
        format!("Backtest {from} to {to} (first of each month, churn within {horizon} days): {} observations, {} churned ({})\nAUC {}, lift of the worst grade {}\n\nBy grade:\n", r.observations, r.churned, pct(r.churn_rate), num(r.auc), num(r.worst_grade_lift)),
    );
    for g in &r.by_grade {
        out.push_str(&format!("  {:<10} {:>6} {:>6} {:>7}\n", g.grade, g.accounts, g.churned, pct(g.churn_rate)));
    }
    out.push_str(lang.pick("\nスコア帯別（校正）:\n", "\nBy score (calibration):\n"));
    for b in &r.calibration {
        out.push_str(&format!(
            "  {:>3}–{:<3} {:>6} {:>6} {:>7}\n",
            b.from,
            b.from + 10,
            b.accounts,
            b.churned,
            pct(b.churn_rate)
        ));
    }
    out.push_str(lang.pick(
        "\n指標別（単独の AUC、データのある割合、50点未満 / 50点以上の解約率）:\n",
        "\nBy measure (its own AUC, coverage, churn below 50 points / at 50 or more):\n",
    ));
    for m in &r.measures {
        out.push_str(&format!(
            "  {:<28} {:>6} {:>7} {:>7} ({}) {:>7} ({})\n",
            m.key,
            num(m.auc),
            pct(m.coverage),
            pct(m.low.churn_rate),
            m.low.accounts,
            pct(m.high.churn_rate),
            m.high.accounts
        ));
    }
    match &r.suggested {
        Some(s) => {
            out.push_str(&lang.pick(
                format!(
                    "\n推奨ウェイト（履歴からのロジスティック回帰、交差検証 AUC {}）:\n",
                    num(s.cross_validated_auc)
                ),
                format!(
                    "\nSuggested weights (logistic regression on this history, cross-validated AUC {}):\n",
                    num(s.cross_validated_auc)
                ),
            ));
            for w in &s.weights {
                match (w.weight, w.coefficient) {
                    (Some(weight), Some(b)) => out.push_str(&format!("  {:<28} {weight:>4}  ({b:+.3})\n", w.key)),
                    _ => out.push_str(&format!(
                        "  {:<28} {:>4}  ({})\n",
                        w.key,
                        "—",
                        lang.pick("データ不足: 今の重みのまま", "too little data: keeps its weight")
                    )),
                }
            }
        }
        None => out.push_str(lang.pick(
            "\n推奨ウェイト: 解約の履歴が少なすぎます\n",
            "\nSuggested weights: too few churners in the history\n",
        )),
    }
    out
}

/// Applies a feature catalog file and says what changed.
async fn apply_catalog(app: &App, file: &Path, prune: bool, lang: Lang) -> Result<(), CliError> {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(io_error(format!("cannot read {name}")))?;
    let catalog = CatalogFile::parse(&name, &text)?;
    let c = app.apply_catalog(&Actor::System("cli"), &catalog, prune).await?;
    println!(
        "{}",
        lang.pick(
            format!(
                "{name}: 機能カタログ（新規 {}、更新 {}、変更なし {}、削除 {}）",
                c.created.len(),
                c.updated.len(),
                c.unchanged.len(),
                c.removed.len()
            ),
            format!(
                "{name}: feature catalog ({} created, {} updated, {} unchanged, {} removed)",
                c.created.len(),
                c.updated.len(),
                c.unchanged.len(),
                c.removed.len()
            ),
        )
    );
    Ok(())
}

async fn run(cli: Cli, lang: Lang) -> Result<ExitCode, CliError> {
    let (mut config, warnings) = Config::load(cli.config.as_deref())?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    match cli.command {
        Command::Serve { demo, demo_accounts, listen } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            let app = open_app(&config).await?;
            if let Some(file) = &config.feature_catalog {
                apply_catalog(&app, file, false, lang).await?;
            }
            app.configure_mail(config.mail_server()?);
            app.configure_public_url(config.public_url()?);
            app.configure_outbound(config.outbound_policy()?);
            let mut notes = Vec::new();
            if demo {
                let summary = app.load_demo(DemoOptions { accounts: demo_accounts, ..DemoOptions::default() }).await?;
                tracing::info!(accounts = summary.accounts, "demo data loaded");
                notes.push(demo_credentials(&app, &config, lang).await?);
            }
            app.ensure_figures_current().await?;
            app.keep_portfolio_saved(config.data_dir.join("portfolio.saved"));
            app.load_portfolio().await?;
            tokio::spawn(app.clone().keep_figures_current(Duration::from_secs(300)));
            tokio::spawn(app.clone().keep_health_current(Duration::from_secs(3600)));
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .map_err(io_error(format!("cannot listen on {}", config.listen)))?;
            let address = listener.local_addr().map_err(io_error("listener address"))?;
            if let Some(token) = app.setup_token_if_needed().await? {
                notes.push(match lang {
                    Lang::Ja => format!("管理者がまだいません。次の一度限りのリンクで最初の管理者を作成してください（24 時間有効）:\n  http://{address}/setup/{token}"),
                    Lang::En => format!("No one can sign in yet. Create the first administrator with this one-time link (valid 24 hours):\n  http://{address}/setup/{token}"),
                });
            }
            println!(
                "{}",
                lang.pick(
                    format!("Kizuna を起動しました: http://{address}/"),
                    format!("Kizuna is running at http://{address}/")
                )
            );
            for note in notes {
                println!("{note}");
            }
            let options =
                web::WebOptions { secure_cookies: config.secure_cookies, trusted_proxies: config.trusted_proxies()? };
            web::serve(listener, app.clone(), options, shutdown_signal()).await.map_err(io_error("server"))?;
            // The next start reads the portfolio from here instead of the whole database.
            match app.save_portfolio().await {
                Ok(Some(bytes)) => tracing::info!(bytes, "portfolio saved"),
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "saving the portfolio failed"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            open_app(&config).await?;
            println!("{}", lang.pick("マイグレーションを適用しました。", "Migrations applied."));
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { kind: Kind::Events, file, .. } => {
            let app = open_app(&config).await?;
            let name = file.display().to_string();
            let checked = app.check_events(open_events(&file)?);
            let lines = checked.map_err(|errors| AppError::ImportRejected { file: name.clone(), errors })?;
            let progress = progress::Bar::new(lines as u64, lang);
            let counts = app.backfill_events(&name, open_events(&file)?, |done| progress.show(done as u64)).await?;
            progress.finish();
            println!(
                "{}",
                lang.pick(format!("{name}: {lines} 件のイベント（保存 {}、重複のため無視 {}、顧客未確定 {}）", counts.stored, counts.duplicates, counts.unattributed),
                    format!("{name}: {lines} events ({} stored, {} duplicates ignored, {} not yet attributed to an account)", counts.stored, counts.duplicates, counts.unattributed),
                )
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { kind, file, encoding } => {
            let encoding = encoding
                .map(|e| Encoding::parse(&e).map_err(|r| CliError::Usage(format!("--encoding: {}", r.message(lang)))))
                .transpose()?;
            let bytes = std::fs::read(&file).map_err(io_error(format!("cannot read {}", file.display())))?;
            let app = open_app(&config).await?;
            let outcome = app
                .import_csv(&Actor::System("cli"), kind.csv(lang)?, &file.display().to_string(), &bytes, encoding)
                .await?;
            let c = &outcome.counts;
            println!(
                "{}",
                match lang {
                    Lang::Ja => format!(
                        "{}: {} 行を取り込みました（新規 {}、更新 {}、変更なし {}）",
                        file.display(),
                        outcome.rows,
                        c.created,
                        c.updated,
                        c.unchanged
                    ),
                    Lang::En => format!(
                        "{}: imported {} rows ({} created, {} updated, {} unchanged)",
                        file.display(),
                        outcome.rows,
                        c.created,
                        c.updated,
                        c.unchanged
                    ),
                }
            );
            for email in &c.users_created {
                println!("  {}: {email}", lang.pick("無効ユーザーとして作成", "created inactive user"));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { kind, output, encoding } => {
            let encoding = encoding
                .map(|e| {
                    ExportEncoding::parse(&e).map_err(|r| CliError::Usage(format!("--encoding: {}", r.message(lang))))
                })
                .transpose()?
                .unwrap_or_default();
            let app = open_app(&config).await?;
            let csv = app.export_csv(kind.csv(lang)?, encoding).await?;
            match output {
                Some(path) => {
                    std::fs::write(&path, csv).map_err(io_error(format!("cannot write {}", path.display())))?
                }
                None => {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    out.write_all(&csv)
                        .and_then(|()| out.flush())
                        .map_err(io_error(lang.pick("書き出せません", "cannot write the export")))?
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { accounts, seed, no_usage } => {
            let app = open_app(&config).await?;
            let s = app.load_demo(DemoOptions { accounts, seed, usage: !no_usage, ..DemoOptions::default() }).await?;
            println!(
                "{}",
                match lang {
                    Lang::Ja => format!(
                        "デモデータ: スタッフ {}、顧客 {}、連絡先 {}、契約期間 {}、利用イベント {}",
                        s.staff, s.accounts, s.contacts, s.subscription_periods, s.usage_events
                    ),
                    Lang::En => format!(
                        "Demo data: {} staff, {} accounts, {} contacts, {} subscription periods, {} usage events",
                        s.staff, s.accounts, s.contacts, s.subscription_periods, s.usage_events
                    ),
                }
            );
            println!("{}", demo_credentials(&app, &config, lang).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck { url } => {
            let base = url.unwrap_or_else(|| format!("http://{}", config.listen));
            let healthy = match reqwest::Client::new()
                .get(format!("{}/healthz", base.trim_end_matches('/')))
                .timeout(Duration::from_secs(5))
                .send()
                .await
            {
                Ok(response) => response.status().is_success(),
                Err(_) => false,
            };
            println!("{}", if healthy { lang.pick("正常", "healthy") } else { lang.pick("応答なし", "unhealthy") });
            Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::User { action: UserAction::Create { email, name, admin, role } } => {
            let email =
                domain::Email::parse(&email).map_err(|r| CliError::Usage(format!("--email: {}", r.message(lang))))?;
            let role = if admin {
                Role::Admin
            } else {
                Role::parse(&role).map_err(|r| CliError::Usage(format!("--role: {}", r.message(lang))))?
            };
            let mut typed = String::new();
            if !std::io::stdin().is_terminal() {
                std::io::stdin().read_line(&mut typed).map_err(io_error("reading the password from standard input"))?;
            }
            let typed = typed.trim_end_matches(['\r', '\n']).to_owned();
            let (password, generated) = if typed.is_empty() {
                (app::auth::generated_password().map_err(CliError::App)?, true)
            } else {
                (typed, false)
            };
            let app = open_app(&config).await?;
            // An existing user keeps their team and, unless a new one is given, their name.
            let existing = app.user_by_email(&email).await?;
            let team_id = existing.as_ref().and_then(|user| user.input.team_id);
            let name = name
                .or_else(|| existing.map(|user| user.input.name))
                .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or_default().to_owned());
            let input = domain::staff::StaffUserInput { email: email.clone(), name, team_id, role, active: true };
            app.create_user_with_password(&Actor::System("cli"), &input, &password).await?;
            println!(
                "{}",
                lang.pick(
                    format!("{email} を {} として作成しました。", role.as_str()),
                    format!("{email} can now sign in as {}.", role.as_str())
                )
            );
            if generated {
                println!("{}", lang.pick(format!("パスワード: {password}"), format!("password: {password}")));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Metrics(args) => {
            let app = open_app(&config).await?;
            metrics_cli::run(&app, args, lang).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Renewals { action } => {
            let app = open_app(&config).await?;
            renewals_cli::run(&app, action, lang).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Health { action: HealthAction::Apply { file } } => {
            let app = open_app(&config).await?;
            let name = file.display().to_string();
            let text = std::fs::read_to_string(&file).map_err(io_error(format!("cannot read {name}")))?;
            let health = app::health::parse_health_toml(&name, &text)?;
            app.set_health_config(&Actor::System("cli"), health).await?;
            println!(
                "{}",
                lang.pick(format!("{name}: ヘルス設定を保存しました"), format!("{name}: health configuration saved"))
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Health { action: HealthAction::Recompute } => {
            let app = open_app(&config).await?;
            let s = app.recompute_health(None).await?;
            println!(
                "{}",
                lang.pick(
                    format!("ヘルススコアを再計算しました: 顧客 {}、グレード変更 {}", s.accounts, s.grade_changes),
                    format!("Health scores recomputed: {} accounts, {} grade changes", s.accounts, s.grade_changes)
                )
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Health { action: HealthAction::Backtest { from, to, horizon, json, observations } } => {
            let app = open_app(&config).await?;
            let horizon: u64 = horizon.trim_end_matches('d').parse().map_err(|_| {
                CliError::Usage(lang.pick(
                    format!("--horizon: 日数で指定してください（例: 90d）: {horizon}"),
                    format!("--horizon: give days, e.g. 90d: {horizon}"),
                ))
            })?;
            let date = |flag: &str, raw: Option<String>, default: chrono::NaiveDate| match raw {
                Some(raw) => domain::interchange::parse_date(&raw)
                    .map_err(|r| CliError::Usage(format!("{flag}: {}", r.message(lang)))),
                None => Ok(default),
            };
            let today = app.today();
            let to = date("--to", to, today.checked_sub_days(chrono::Days::new(horizon)).unwrap_or(today))?;
            let from = date("--from", from, to.checked_sub_months(chrono::Months::new(24)).unwrap_or(to))?;
            let report = app.health_backtest(from, to, horizon).await?;
            if let Some(path) = observations {
                let history = app.health_backtest_history(from, to, horizon).await?;
                write_observations(&history, &path)?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            } else {
                print!("{}", backtest_table(&report, from, to, horizon, lang));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Features { action: FeaturesAction::Apply { file, prune } } => {
            let app = open_app(&config).await?;
            apply_catalog(&app, &file, prune, lang).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Features { action: FeaturesAction::Export } => {
            let app = open_app(&config).await?;
            print!("{}", app.catalog_toml().await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            print!("{}", web::openapi::document());
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { target } => bench::run(target).await.map(|_| ExitCode::SUCCESS),
    }
}

/// An NDJSON file, decompressed when it starts with gzip's magic bytes.
fn open_events(path: &std::path::Path) -> Result<Box<dyn std::io::BufRead + Send>, CliError> {
    use std::io::{BufRead, BufReader};
    let file = std::fs::File::open(path).map_err(io_error(format!("cannot read {}", path.display())))?;
    let mut reader = BufReader::new(file);
    let gzipped =
        reader.fill_buf().map_err(io_error(format!("cannot read {}", path.display())))?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzipped { Box::new(BufReader::new(flate2::read::GzDecoder::new(reader))) } else { Box::new(reader) })
}

/// Sets (and says) the password of the demo's admin, so the demo can be signed in to.
async fn demo_credentials(app: &App, config: &Config, lang: Lang) -> Result<String, CliError> {
    let preset = config.demo_password.as_ref().map(|p| p.expose().to_owned());
    let (email, password) = app.demo_admin_password(preset.as_deref()).await?;
    Ok(lang.pick(
        format!("デモの管理者（CS リーダー）: {email} / パスワード: {password}"),
        format!("Demo administrator (the CS leader): {email} / password: {password}"),
    ))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
