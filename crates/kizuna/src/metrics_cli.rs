//! `kizuna metrics …`: the metrics API's figures on the command line, as a table, CSV or JSON.

use crate::CliError;
use app::metrics::{parse_interval, MetricsFilter};
use app::App;
use clap::{Args, ValueEnum};
use domain::account::TouchModel;
use domain::i18n::Lang;
use domain::metrics::{PeriodReport, YearMonth};
use domain::Email;
use rust_decimal::Decimal;
use serde::Serialize;
use store::AccountQuery;

#[derive(Clone, Copy, ValueEnum)]
pub enum What {
    /// MRR, ARR and movements per period.
    Mrr,
    /// Every movement, with the subscription periods that caused it.
    Movements,
    /// Customer and MRR churn rates per period.
    Churn,
    /// NRR, GRR and quick ratio per period, and trailing-12-month NRR/GRR at --to.
    Retention,
    /// Logo and revenue retention by first-paying month.
    Cohorts,
    /// ARPA, LTV, CAC, CAC payback and LTV/CAC per period.
    Ltv,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Args)]
pub struct MetricsArgs {
    what: What,
    /// First day (YYYY-MM-DD); default: a year before --to.
    #[arg(long)]
    from: Option<String>,
    /// Last day (YYYY-MM-DD); default: today in the workspace time zone.
    #[arg(long)]
    to: Option<String>,
    /// day, week, month, quarter or fiscal_year.
    #[arg(long, default_value = "month")]
    interval: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    #[arg(long)]
    tier: Option<String>,
    #[arg(long)]
    stage: Option<String>,
    /// high, low or tech.
    #[arg(long)]
    touch_model: Option<String>,
    /// Accounts this staff user (by email) owns or sub-owns.
    #[arg(long)]
    owner: Option<String>,
    /// A custom field as key:value.
    #[arg(long)]
    custom: Option<String>,
    /// Only subscriptions of this product.
    #[arg(long)]
    product: Option<String>,
    /// Movements per account and product.
    #[arg(long)]
    by_product: bool,
}

fn usage(flag: &str, reason: domain::Reason, lang: Lang) -> CliError {
    CliError::Usage(format!("{flag}: {}", reason.message(lang)))
}

fn money(amount: domain::Money) -> String {
    format!("{:.2}", amount.reported())
}

fn rate(value: Option<Decimal>) -> String {
    value.map(|v| v.round_dp(4).to_string()).unwrap_or_else(|| "—".into())
}

fn period(report: &PeriodReport) -> String {
    format!("{}..{}", report.period.first(), report.period.last())
}

pub async fn run(app: &App, args: MetricsArgs, lang: Lang) -> Result<(), CliError> {
    let parse_day = |flag: &str, raw: &str| domain::interchange::parse_date(raw).map_err(|r| usage(flag, r, lang));
    let to = args.to.as_deref().map(|raw| parse_day("--to", raw)).transpose()?.unwrap_or_else(|| app.today());
    let default_from = to.checked_sub_months(chrono::Months::new(12)).and_then(|d| d.succ_opt()).unwrap_or(to);
    let from = args.from.as_deref().map(|raw| parse_day("--from", raw)).transpose()?.unwrap_or(default_from);
    let interval = parse_interval(&args.interval, app.settings().fiscal_year_start_month)
        .map_err(|r| usage("--interval", r, lang))?;
    let owner = match &args.owner {
        Some(raw) => {
            let email = Email::parse(raw).map_err(|r| usage("--owner", r, lang))?;
            let user = app.user_by_email(&email).await?;
            Some(
                user.ok_or_else(|| {
                    CliError::Usage(format!("--owner: {email}: {}", domain::Reason::UnknownReference.message(lang)))
                })?
                .id,
            )
        }
        None => None,
    };
    let custom = args
        .custom
        .as_deref()
        .map(|raw| raw.split_once(':').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .map(|pair| {
            pair.ok_or_else(|| usage("--custom", domain::Reason::Malformed { detail: "key:value".into() }, lang))
        })
        .transpose()?;
    let filter = MetricsFilter {
        accounts: AccountQuery {
            owner,
            tier: args.tier.map(|t| t.to_lowercase()),
            stage: args.stage.map(|s| s.to_lowercase()),
            touch_model: args
                .touch_model
                .as_deref()
                .map(TouchModel::parse)
                .transpose()
                .map_err(|r| usage("--touch-model", r, lang))?,
            custom,
            ..AccountQuery::default()
        },
        product: args.product.map(|p| p.to_lowercase()),
        by_product: args.by_product,
        segment: None,
    };
    match args.what {
        What::Mrr | What::Churn | What::Retention => {
            let reports = app.metrics_report(&filter, interval, from, to).await?;
            let trailing = app.metrics_trailing_year(&filter, to).await?;
            let (header, rows) = report_rows(args.what, &reports);
            emit(
                args.format,
                &header,
                rows,
                &(&reports, trailing.as_ref().filter(|_| matches!(args.what, What::Retention))),
            )?;
            if let (What::Retention, Format::Table, Some(t)) = (args.what, args.format, trailing) {
                let (nrr, grr) = (rate(t.nrr), rate(t.grr));
                println!(
                    "{}",
                    match lang {
                        Lang::Ja => format!("{to} までの直近 12 か月: NRR {nrr} GRR {grr}"),
                        Lang::En => format!("trailing 12 months to {to}: NRR {nrr} GRR {grr}"),
                    }
                );
            }
        }
        What::Movements => {
            let movements = app.metrics_movements(&filter, from, to).await?;
            let header =
                ["day", "account", "product", "kind", "amount", "mrr_before", "mrr_after", "caused_by_periods"];
            let rows = movements
                .iter()
                .map(|m| {
                    let v = &m.movement;
                    vec![
                        v.day.to_string(),
                        v.account.to_string(),
                        v.product.clone().unwrap_or_default(),
                        format!("{:?}", v.kind).to_lowercase(),
                        money(v.amount),
                        money(v.mrr_before),
                        money(v.mrr_after),
                        m.caused_by.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(" "),
                    ]
                })
                .collect();
            emit(args.format, &header, rows, &movements)?;
        }
        What::Cohorts => {
            let first = YearMonth::of(from);
            let last = YearMonth::of(to);
            let cohorts = app.metrics_cohorts(&filter, first, last).await?;
            let header = ["cohort", "k", "month", "paying_accounts", "mrr", "logo_retention", "revenue_retention"];
            let rows = cohorts
                .iter()
                .flat_map(|c| {
                    c.months.iter().map(move |m| {
                        vec![
                            c.month.to_string(),
                            m.k.to_string(),
                            m.month.to_string(),
                            m.paying_accounts.to_string(),
                            money(m.mrr),
                            rate(m.logo_retention),
                            rate(m.revenue_retention),
                        ]
                    })
                })
                .collect();
            emit(args.format, &header, rows, &cohorts)?;
        }
        What::Ltv => {
            let reports = app.metrics_unit_economics(&filter, interval, from, to).await?;
            let header = [
                "period",
                "arpa",
                "monthly_churn",
                "ltv",
                "spend",
                "new_accounts",
                "cac",
                "cac_payback_months",
                "ltv_to_cac",
            ];
            let rows = reports
                .iter()
                .map(|r| {
                    let opt = |m: Option<domain::Money>| m.map(money).unwrap_or_else(|| "—".into());
                    vec![
                        format!("{}..{}", r.period.first(), r.period.last()),
                        opt(r.ltv.arpa),
                        rate(r.ltv.mean_monthly_customer_churn_rate),
                        opt(r.ltv.ltv),
                        opt(r.sales_marketing_spend),
                        r.new_accounts.to_string(),
                        opt(r.cac),
                        rate(r.cac_payback_months),
                        rate(r.ltv_to_cac),
                    ]
                })
                .collect();
            emit(args.format, &header, rows, &reports)?;
        }
    }
    Ok(())
}

fn report_rows(what: What, reports: &[PeriodReport]) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = match what {
        What::Mrr => vec![
            "period",
            "mrr_start",
            "mrr_end",
            "arr_end",
            "new",
            "expansion",
            "contraction",
            "churn",
            "reactivation",
        ],
        What::Churn => vec![
            "period",
            "customers_start",
            "customers_end",
            "churned_customers",
            "customer_churn_rate",
            "gross_mrr_churn_rate",
            "net_mrr_churn_rate",
        ],
        _ => vec!["period", "mrr_start", "retained_mrr", "nrr", "grr", "quick_ratio"],
    };
    let rows = reports
        .iter()
        .map(|r| match what {
            What::Mrr => vec![
                period(r),
                money(r.mrr_start),
                money(r.mrr_end),
                money(r.arr_end),
                money(r.movements.new.amount),
                money(r.movements.expansion.amount),
                money(r.movements.contraction.amount),
                money(r.movements.churn.amount),
                money(r.movements.reactivation.amount),
            ],
            What::Churn => vec![
                period(r),
                r.customers_start.to_string(),
                r.customers_end.to_string(),
                r.churned_customers.to_string(),
                rate(r.customer_churn_rate),
                rate(r.gross_mrr_churn_rate),
                rate(r.net_mrr_churn_rate),
            ],
            _ => vec![
                period(r),
                money(r.mrr_start),
                money(r.retained_mrr),
                rate(r.nrr),
                rate(r.grr),
                rate(r.quick_ratio),
            ],
        })
        .collect();
    (header, rows)
}

fn emit(format: Format, header: &[&str], rows: Vec<Vec<String>>, json: &impl Serialize) -> Result<(), CliError> {
    match format {
        Format::Json => {
            println!("{}", serde_json::to_string_pretty(json).map_err(|e| CliError::Usage(e.to_string()))?);
        }
        Format::Csv => {
            let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
            print!("{}", domain::interchange::write_csv(&header, rows).map_err(|e| CliError::Usage(e.to_string()))?);
        }
        Format::Table => {
            let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
            for row in &rows {
                for (width, cell) in widths.iter_mut().zip(row) {
                    *width = (*width).max(cell.chars().count());
                }
            }
            let line = |cells: Vec<String>| {
                cells.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}", w = *w)).collect::<Vec<_>>().join("  ")
            };
            println!("{}", line(header.iter().map(|h| h.to_string()).collect()));
            for row in rows {
                println!("{}", line(row));
            }
        }
    }
    Ok(())
}
