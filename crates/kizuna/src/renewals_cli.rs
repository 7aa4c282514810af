//! `kizuna renewals …`: the renewal pipeline, the churn model with its backtest, the weekly
//! forecast snapshot and forecast accuracy, as the renewals page and API show them.

use crate::CliError;
use app::renewals::{RenewalFilter, RenewalRow};
use app::App;
use clap::Subcommand;
use domain::i18n::Lang;
use domain::renewals::churn::ChurnBacktest;

#[derive(Subcommand)]
pub enum RenewalsAction {
    /// Every renewal in the range (default: the next 12 months), by date, as CSV, with the churn
    /// probability (the model is fitted first).
    List {
        /// First day (YYYY-MM-DD); default today.
        #[arg(long)]
        from: Option<String>,
        /// Last day; default the day before 12 months after --from.
        #[arg(long)]
        to: Option<String>,
    },
    /// Fit the churn model on every past renewal now; print what it learned from and its
    /// out-of-time backtest (AUC and calibration on the last 12 months).
    Fit {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Also write every example the model learned from and was backtested on to this CSV
        /// file (one row per account and day, with its facts), to check the numbers elsewhere.
        #[arg(long, value_name = "FILE")]
        examples: Option<std::path::PathBuf>,
    },
    /// Save today's forecast snapshot (the server takes one weekly by itself).
    Snapshot,
    /// Forecast against kept ARR for each closed month with a snapshot before it.
    Accuracy,
}

fn day(flag: &str, raw: &str, lang: Lang) -> Result<chrono::NaiveDate, CliError> {
    domain::interchange::parse_date(raw).map_err(|r| CliError::Usage(format!("{flag}: {raw}: {}", r.message(lang))))
}

pub async fn run(app: &App, action: RenewalsAction, lang: Lang) -> Result<(), CliError> {
    match action {
        RenewalsAction::List { from, to } => {
            let from = from.as_deref().map(|raw| day("--from", raw, lang)).transpose()?.unwrap_or_else(|| app.today());
            let default_to =
                from.checked_add_months(chrono::Months::new(12)).and_then(|d| d.pred_opt()).unwrap_or(from);
            let to = to.as_deref().map(|raw| day("--to", raw, lang)).transpose()?.unwrap_or(default_to);
            // A fresh process has no model yet: fit it so the list carries probabilities.
            app.ensure_churn_model().await?;
            let rows = app.renewal_rows(&RenewalFilter::default(), from, to).await?;
            print_rows(&rows, lang)?;
        }
        RenewalsAction::Fit { json, examples } => {
            let state = app.fit_churn_model().await?;
            if let Some(path) = examples {
                write_examples(&app.churn_examples().await?, &path)?;
            }
            if json {
                let backtest = state.backtest.as_ref().ok();
                let value = serde_json::json!({
                    "fitted_on": state.fitted_on,
                    "model": state.model.as_ref().map(|m| serde_json::json!({"examples": m.examples, "churns": m.churns})).map_err(|e| e.to_string()),
                    "backtest": backtest,
                });
                println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
            } else {
                match &state.model {
                    Ok(model) => println!(
                        "{}",
                        lang.pick(
                            format!(
                                "学習データ: 過去の顧客×月 {} 件（90日以内の解約 {} 件）",
                                model.examples, model.churns
                            ),
                            format!(
                                "Fitted on {} past account-months ({} followed by a churn within 90 days)",
                                model.examples, model.churns
                            )
                        )
                    ),
                    Err(error) => println!("{}", error.explain().pick(lang)),
                }
                match &state.backtest {
                    Ok(backtest) => print_backtest(backtest, lang),
                    Err(error) => println!("{}", error.explain().pick(lang)),
                }
            }
        }
        RenewalsAction::Snapshot => {
            let rows = app.take_forecast_snapshot().await?;
            println!(
                "{}",
                lang.pick(
                    format!("予測のスナップショットを保存しました: 更新 {rows} 件"),
                    format!("Forecast snapshot saved: {rows} renewals")
                )
            );
        }
        RenewalsAction::Accuracy => {
            let months = app.forecast_accuracy().await?;
            if months.is_empty() {
                println!("{}", lang.pick("締まった月の予測はまだありません", "No closed month has a forecast yet"));
            }
            for month in months {
                for c in &month.categories {
                    let category = c.forecast.map_or("-", |f| f.label(lang));
                    let ratio = c.ratio().map_or("-".to_owned(), |r| format!("{:.1}%", r * 100.0));
                    println!(
                        "{}\t{}\t{category}\t{}\t{}\t{}\t{ratio}",
                        month.month.format("%Y-%m"),
                        month.snapshot_on,
                        c.renewals,
                        c.forecast_arr.0,
                        c.renewed_arr.0
                    );
                }
            }
        }
    }
    Ok(())
}

/// The churn model's examples as CSV: `set` is `learn` (an account on the first of a month:
/// did it leave within 90 days?) or `renewal` (a renewal after the backtest's cut-off, seen 30,
/// 60 or 90 days before); empty cells are facts not known that day. The last columns are the
/// health measures' points, one per measure key.
fn write_examples(export: &app::renewals::ChurnExport, path: &std::path::Path) -> Result<(), CliError> {
    let name = path.display().to_string();
    let file = std::fs::File::create(path).map_err(crate::io_error(&name))?;
    let mut out = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let failed = |e: csv::Error| CliError::Usage(format!("{name}: {e}"));
    let examples = &export.examples;
    let mut header: Vec<String> = [
        "set",
        "account_id",
        "day",
        "outcome_by",
        "churned",
        "before_cutoff",
        "health_score",
        "active_users_ratio",
        "days_inactive",
        "mrr_change_90d",
        "tenure_years",
        "arr",
        "renewal_due",
        "month_to_month",
        "pulse",
        "usage_ratio",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    header.extend(examples.measure_keys.iter().cloned());
    out.write_record(&header).map_err(failed)?;
    let sets = [("learn", &examples.observations), ("renewal", &examples.renewals)];
    for (set, list) in sets {
        for e in list.iter() {
            let f = &e.facts;
            let flag = |b: bool| u8::from(b).to_string();
            let number = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
            let mut row = vec![
                set.to_owned(),
                export.external_ids.get(&e.account_id).map(ToString::to_string).unwrap_or_default(),
                e.day.to_string(),
                e.outcome_by.to_string(),
                flag(e.churned),
                flag(e.outcome_by <= examples.cutoff),
                number(f.health_score),
                number(f.active_users_ratio),
                f.days_inactive.map(|d| d.to_string()).unwrap_or_default(),
                number(Some(f.mrr_change_90d)),
                number(Some(f.tenure_years)),
                number(Some(f.arr)),
                flag(f.renewal_due),
                flag(f.month_to_month),
                f.pulse.map(|p| p.to_string()).unwrap_or_default(),
                number(f.usage_ratio),
            ];
            row.extend(f.measures.iter().map(|points| number(points.map(f64::from))));
            out.write_record(&row).map_err(failed)?;
        }
    }
    out.flush().map_err(crate::io_error(&name))
}

/// An AUC to three places, or "-" when it could not be computed.
fn auc_text(auc: Option<f64>) -> String {
    auc.map_or("-".to_owned(), |a| format!("{a:.3}"))
}

fn print_backtest(backtest: &ChurnBacktest, lang: Lang) {
    let (auc, health_auc) = (auc_text(backtest.auc), auc_text(backtest.health_auc));
    println!(
        "{}",
        lang.pick(format!(
                "バックテスト（{} 以降の更新 {} 件、解約 {} 件、学習 {} 件）: AUC {auc}（ヘルススコアのみ {health_auc}）",
                backtest.cutoff, backtest.tested_on, backtest.churns_tested, backtest.trained_on
            ),
            format!(
                "Backtest ({} renewals from {}, {} churned; trained on {}): AUC {auc} (health score alone {health_auc})",
                backtest.tested_on, backtest.cutoff, backtest.churns_tested, backtest.trained_on
            ),
        )
    );
    let book = &backtest.book;
    let (book_auc, book_health_auc) = (auc_text(book.auc), auc_text(book.health_auc));
    println!(
        "{}",
        lang.pick(format!(
                "全顧客（{} より後の毎月1日の有料顧客 {} 件、90日以内の解約 {} 件）: AUC {book_auc}（ヘルススコアのみ {book_health_auc}）",
                backtest.cutoff, book.account_months, book.churns
            ),
            format!(
                "Whole book ({} paying account-months after {}, {} left within 90 days): AUC {book_auc} (health score alone {book_health_auc})",
                book.account_months, backtest.cutoff, book.churns
            ),
        )
    );
    let (predicted, actual) = (lang.pick("予測", "predicted"), lang.pick("実際", "actual"));
    for band in &backtest.calibration {
        let percent = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{:.1}%", v * 100.0));
        println!(
            "  {:>3.0}–{:>3.0}%  n={:<6} {predicted} {:>6}  {actual} {:>6}",
            band.from * 100.0,
            band.to * 100.0,
            band.renewals,
            percent(band.predicted),
            percent(band.actual)
        );
    }
}

fn print_rows(rows: &[RenewalRow], lang: Lang) -> Result<(), CliError> {
    let mut out = csv::Writer::from_writer(std::io::stdout());
    let failed = |e: csv::Error| CliError::Usage(format!("renewals CSV: {e}"));
    out.write_record(["external_id", "name", "renewal_date", "arr", "forecast", "outcome", "churn_probability"])
        .map_err(failed)?;
    for row in rows {
        out.write_record([
            row.account.input.external_id.to_string(),
            row.account.input.name.clone(),
            row.item.date.to_string(),
            row.item.arr.0.to_string(),
            row.item.forecast().map(|f| f.label(lang).to_owned()).unwrap_or_default(),
            row.item.outcome().map(|o| o.label(lang).to_owned()).unwrap_or_default(),
            row.item.churn.as_ref().map(|c| format!("{:.3}", c.probability)).unwrap_or_default(),
        ])
        .map_err(failed)?;
    }
    out.flush().map_err(crate::io_error("standard output"))
}
