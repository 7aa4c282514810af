//! Product usage use cases: the feature catalog (through the API or a TOML file) and the
//! usage queries the API, the account page and health scores read.

use crate::{Actor, App, AppError};
use chrono::NaiveDate;
use domain::interchange::RowError;
use domain::usage::{
    days_before, feature_use, seat_activation, seats, time_series, Feature, FeatureDefinition, FeatureKey, FeatureUse,
    FeatureView, Granularity, Importance,
};
use domain::{AccountId, Reason};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use store::{AccountQuery, CatalogChanges, EndUser};

/// The usage windows every activity summary reports, in days.
pub const ACTIVITY_WINDOWS: [u64; 3] = [7, 30, 90];
/// The longest time series a query returns, in days.
pub const MAX_SERIES_DAYS: u64 = 5 * 366;

/// A feature catalog file: `[[feature]]` tables in TOML, each in the API's JSON shape.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogFile {
    pub features: Vec<FeatureDefinition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogToml {
    #[serde(default)]
    feature: Vec<toml::Spanned<toml::Table>>,
}

impl CatalogFile {
    /// Parses the file; every bad field is reported with the line of its `[[feature]]`.
    pub fn parse(file: &str, text: &str) -> Result<CatalogFile, AppError> {
        let rejected = |errors: Vec<RowError>| AppError::ImportRejected { file: file.to_owned(), errors };
        let line_of = |offset: usize| 1 + text[..offset.min(text.len())].matches('\n').count() as u64;
        let parsed: CatalogToml =
            toml::from_str(text).map_err(|e| rejected(vec![domain::interchange::toml_errors::row_error(text, &e)]))?;
        let mut errors = Vec::new();
        let mut features = Vec::new();
        let mut first_line: HashMap<String, u64> = HashMap::new();
        for table in parsed.feature {
            let line = line_of(table.span().start);
            let json = serde_json::to_value(table.get_ref()).unwrap_or_default();
            match FeatureDefinition::parse(json) {
                Ok(feature) => {
                    if let Some(first) = first_line.insert(feature.key.to_string(), line) {
                        errors.push(RowError {
                            line,
                            column: "key".into(),
                            reason: Reason::DuplicateInFile { first_line: first },
                        });
                    }
                    features.push(feature);
                }
                Err(fields) => {
                    errors.extend(fields.into_iter().map(|f| RowError { line, column: f.field, reason: f.reason }))
                }
            }
        }
        if errors.is_empty() {
            Ok(CatalogFile { features })
        } else {
            Err(rejected(errors))
        }
    }
}

/// One feature's (or event's) uses per step.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UsageSeries {
    /// The feature key, or the event name.
    pub key: String,
    pub name: String,
    /// Pairs of (first day of the step, uses).
    #[schema(value_type = Vec<(String, i64)>)]
    pub points: Vec<(NaiveDate, i64)>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountUsage {
    pub account_id: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// day, week or month.
    pub interval: &'static str,
    pub series: Vec<UsageSeries>,
}

/// Who is using an account, and how much of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountActivity {
    pub account_id: i64,
    pub as_of: NaiveDate,
    /// Distinct identified end users active in the last 7, 30 and 90 days (ending `as_of`).
    pub active_users_7d: i64,
    pub active_users_30d: i64,
    pub active_users_90d: i64,
    /// The custom window, when `from` was given.
    pub window: Option<ActiveWindow>,
    /// The seat base: the account's employees, else its main subscription's quantity.
    pub seats: Option<i64>,
    /// Active users in the last 30 days over seats.
    pub seat_activation: Option<f64>,
    pub end_users: usize,
    /// Distinct active users per day over the last 90 days (days without activity left out).
    #[schema(value_type = Vec<(String, i64)>)]
    pub daily_active_users: Vec<(NaiveDate, i64)>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActiveWindow {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub active_users: i64,
}

/// How widely one feature is used across accounts in a window.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeatureAdoptionRow {
    pub feature: String,
    pub name: String,
    pub importance: Importance,
    /// Accounts that used it in the window.
    pub accounts_using: i64,
    /// Paying customers today (MRR above zero): the base of `share`.
    pub paying_accounts: i64,
    /// accounts_using / paying_accounts.
    pub share: Option<f64>,
    pub uses: i64,
}

/// Checks a query window: `from` defaults to 90 days before `to`, which defaults to today.
pub fn usage_window(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), AppError> {
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| days_before(to, 89));
    if from > to {
        return Err(AppError::invalid("to", Reason::EndNotAfterStart));
    }
    if (to - from).num_days() as u64 >= MAX_SERIES_DAYS {
        return Err(AppError::invalid("from", Reason::OutOfRange { min: "to − 5 years".into(), max: "to".into() }));
    }
    Ok((from, to))
}

impl App {
    pub async fn features(&self) -> Result<Vec<Feature>, AppError> {
        Ok(self.store.list_features().await?)
    }

    pub async fn feature(&self, key: &FeatureKey) -> Result<Feature, AppError> {
        Ok(self.store.get_feature(key).await?)
    }

    pub async fn create_feature(&self, actor: &Actor, definition: FeatureDefinition) -> Result<Feature, AppError> {
        let feature = self.store.create_feature(&definition, self.zone()).await?;
        self.everything_changed().await?;
        let view = FeatureView::from(&feature);
        self.record_change(actor, "create", "feature", &view.key, None, Some(&view)).await?;
        Ok(feature)
    }

    pub async fn update_feature(
        &self,
        actor: &Actor,
        key: &FeatureKey,
        definition: FeatureDefinition,
    ) -> Result<Feature, AppError> {
        let before = FeatureView::from(&self.store.get_feature(key).await?);
        let feature = self.store.update_feature(key, &definition, self.zone()).await?;
        self.everything_changed().await?;
        let after = FeatureView::from(&feature);
        self.record_change(actor, "update", "feature", key.as_str(), Some(&before), Some(&after)).await?;
        Ok(feature)
    }

    pub async fn delete_feature(&self, actor: &Actor, key: &FeatureKey) -> Result<(), AppError> {
        let before = FeatureView::from(&self.store.get_feature(key).await?);
        self.store.delete_feature(key).await?;
        self.everything_changed().await?;
        self.record_change(actor, "delete", "feature", key.as_str(), Some(&before), None).await
    }

    /// Makes the catalog match a file; `prune` removes features the file does not list.
    pub async fn apply_catalog(
        &self,
        actor: &Actor,
        file: &CatalogFile,
        prune: bool,
    ) -> Result<CatalogChanges, AppError> {
        let changes = self.store.apply_catalog(&file.features, prune, self.zone()).await?;
        self.everything_changed().await?;
        if changes != (CatalogChanges { unchanged: changes.unchanged.clone(), ..Default::default() }) {
            self.record_change(actor, "apply", "feature_catalog", "file", None, Some(&changes)).await?;
        }
        Ok(changes)
    }

    /// The catalog as a file `CatalogFile::parse` reads back.
    pub async fn catalog_toml(&self) -> Result<String, AppError> {
        let features: Vec<serde_json::Value> =
            self.store.list_features().await?.iter().map(|f| FeatureView::from(f).definition_json()).collect();
        toml::to_string(&serde_json::json!({ "feature": features }))
            .map_err(|e| AppError::Internal(format!("writing the feature catalog as TOML: {e}")))
    }

    /// Uses of each feature (all, or those named) per step.
    pub async fn feature_usage(
        &self,
        account: AccountId,
        from: NaiveDate,
        to: NaiveDate,
        step: Granularity,
        only: &[FeatureKey],
    ) -> Result<AccountUsage, AppError> {
        self.store.get_account(account).await?;
        let features = self.selected_features(only).await?;
        let mut days: HashMap<i64, Vec<(NaiveDate, i64)>> = HashMap::new();
        for d in self.store.feature_days(account, from, to).await? {
            days.entry(d.feature_id).or_default().push((d.day, d.uses));
        }
        let series = features
            .iter()
            .map(|f| UsageSeries {
                key: f.definition.key.to_string(),
                name: f.definition.name.clone(),
                points: time_series(days.get(&f.id).map_or(&[][..], Vec::as_slice), from, to, step),
            })
            .collect();
        Ok(AccountUsage { account_id: account.0, from, to, interval: step_name(step), series })
    }

    /// Tracked events per name per step.
    pub async fn event_usage(
        &self,
        account: AccountId,
        from: NaiveDate,
        to: NaiveDate,
        step: Granularity,
    ) -> Result<AccountUsage, AppError> {
        self.store.get_account(account).await?;
        let mut days: BTreeMap<String, Vec<(NaiveDate, i64)>> = BTreeMap::new();
        for d in self.store.event_days(account, from, to).await? {
            days.entry(d.event).or_default().push((d.day, d.count));
        }
        let series = days
            .into_iter()
            .map(|(event, days)| UsageSeries {
                key: event.clone(),
                name: event,
                points: time_series(&days, from, to, step),
            })
            .collect();
        Ok(AccountUsage { account_id: account.0, from, to, interval: step_name(step), series })
    }

    /// Each feature's last use, its recent expected periods and, for annual features, this
    /// season against last.
    pub async fn feature_status(
        &self,
        account: AccountId,
        as_of: NaiveDate,
        periods: usize,
    ) -> Result<Vec<FeatureUse>, AppError> {
        self.store.get_account(account).await?;
        let features = self.store.list_features().await?;
        // Two seasons back covers last season of any annual feature and the periods asked for.
        let from = days_before(as_of, 3 * 366);
        let mut days: HashMap<i64, Vec<(NaiveDate, i64)>> = HashMap::new();
        for d in self.store.feature_days(account, from, as_of).await? {
            days.entry(d.feature_id).or_default().push((d.day, d.uses));
        }
        Ok(features
            .iter()
            .map(|f| feature_use(f, days.get(&f.id).map_or(&[][..], Vec::as_slice), as_of, periods))
            .collect())
    }

    pub async fn account_activity(
        &self,
        account: AccountId,
        as_of: NaiveDate,
        window_from: Option<NaiveDate>,
    ) -> Result<AccountActivity, AppError> {
        let record = self.store.get_account(account).await?;
        let mut active = [0i64; 3];
        for (slot, days) in active.iter_mut().zip(ACTIVITY_WINDOWS) {
            *slot = self.store.active_users(account, days_before(as_of, days - 1), as_of).await?;
        }
        let window = match window_from {
            Some(from) => {
                let (from, to) = usage_window(Some(from), Some(as_of), as_of)?;
                Some(ActiveWindow { from, to, active_users: self.store.active_users(account, from, to).await? })
            }
            None => None,
        };
        let seats = seats(record.input.employees, self.main_subscription_quantity(account, as_of).await?);
        Ok(AccountActivity {
            account_id: account.0,
            as_of,
            active_users_7d: active[0],
            active_users_30d: active[1],
            active_users_90d: active[2],
            window,
            seats,
            seat_activation: seat_activation(active[1], seats),
            end_users: self.store.end_users(account).await?.len(),
            daily_active_users: self.store.active_users_per_day(account, days_before(as_of, 89), as_of).await?,
        })
    }

    pub async fn end_users(&self, account: AccountId) -> Result<Vec<EndUser>, AppError> {
        self.store.get_account(account).await?;
        Ok(self.store.end_users(account).await?)
    }

    /// The event names tracking received in the last `days` days, most used first, each with
    /// the features of the catalog that count it: what the catalog editor suggests.
    pub async fn received_events(
        &self,
        days: u64,
        limit: i64,
    ) -> Result<Vec<(store::ReceivedEvent, Vec<String>)>, AppError> {
        let today = self.today();
        let from = today.checked_sub_days(chrono::Days::new(days.saturating_sub(1))).unwrap_or(today);
        let features = self.store.list_features().await?;
        Ok(self
            .store
            .received_events(from, today, limit)
            .await?
            .into_iter()
            .map(|received| {
                let counted_by = features
                    .iter()
                    .filter(|f| f.definition.event.matches(&received.event))
                    .map(|f| f.definition.key.to_string())
                    .collect();
                (received, counted_by)
            })
            .collect())
    }

    /// Per feature: how many paying customers used it in the window.
    pub async fn feature_adoption(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<FeatureAdoptionRow>, AppError> {
        let features = self.store.list_features().await?;
        let paying =
            self.store.list_accounts(&AccountQuery { paying: true, limit: 1, ..AccountQuery::default() }).await?.total;
        let adoption: HashMap<i64, store::FeatureAdoption> =
            self.store.feature_adoption(from, to).await?.into_iter().map(|a| (a.feature_id, a)).collect();
        Ok(features
            .iter()
            .map(|f| {
                let used = adoption.get(&f.id);
                let accounts_using = used.map_or(0, |a| a.accounts);
                FeatureAdoptionRow {
                    feature: f.definition.key.to_string(),
                    name: f.definition.name.clone(),
                    importance: f.definition.importance,
                    accounts_using,
                    paying_accounts: paying,
                    share: (paying > 0).then(|| accounts_using as f64 / paying as f64),
                    uses: used.map_or(0, |a| a.uses),
                }
            })
            .collect())
    }

    async fn selected_features(&self, only: &[FeatureKey]) -> Result<Vec<Feature>, AppError> {
        let all = self.store.list_features().await?;
        if only.is_empty() {
            return Ok(all);
        }
        only.iter()
            .map(|key| {
                all.iter()
                    .find(|f| &f.definition.key == key)
                    .cloned()
                    .ok_or_else(|| AppError::invalid("feature", Reason::UnknownReference))
            })
            .collect()
    }

    /// The quantity of the account's highest-MRR subscription on `day`.
    async fn main_subscription_quantity(&self, account: AccountId, day: NaiveDate) -> Result<Option<i64>, AppError> {
        let periods = self.store.periods_of_accounts(Some(&[account])).await?;
        Ok(periods
            .iter()
            .filter(|p| p.terms.covers(day))
            .max_by(|a, b| a.terms.mrr().0.cmp(&b.terms.mrr().0))
            .map(|p| p.terms.quantity))
    }
}

fn step_name(step: Granularity) -> &'static str {
    match step {
        Granularity::Day => "day",
        Granularity::Week => "week",
        Granularity::Month => "month",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catalog_file_reports_the_line_of_each_bad_feature() {
        let text = "[[feature]]\nkey = \"payslip\"\nname = \"給与明細\"\nevent = \"Payslip Published\"\ncadence = \"monthly\"\nimportance = \"core\"\n\n[[feature]]\nkey = \"payslip\"\nname = \"x\"\nevent = \"e\"\ncadence = \"hourly\"\nimportance = \"core\"\n";
        let Err(AppError::ImportRejected { file, errors }) = CatalogFile::parse("features.toml", text) else {
            panic!("expected a rejection");
        };
        assert_eq!(file, "features.toml");
        let found: Vec<(u64, String)> = errors.iter().map(|e| (e.line, e.column.clone())).collect();
        assert_eq!(found, vec![(8, "cadence".to_string())]);
    }

    #[test]
    fn a_catalog_file_rejects_a_key_listed_twice() {
        let feature =
            "[[feature]]\nkey = \"a\"\nname = \"A\"\nevent = \"e\"\ncadence = \"weekly\"\nimportance = \"core\"\n";
        let Err(AppError::ImportRejected { errors, .. }) = CatalogFile::parse("f.toml", &format!("{feature}{feature}"))
        else {
            panic!("expected a rejection");
        };
        assert_eq!(errors[0].reason, Reason::DuplicateInFile { first_line: 1 });
        assert_eq!(errors[0].line, 7);
    }

    #[test]
    fn toml_syntax_errors_name_their_line() {
        let Err(AppError::ImportRejected { errors, .. }) = CatalogFile::parse("f.toml", "[[feature]]\nkey = \n") else {
            panic!("expected a rejection");
        };
        assert_eq!(errors[0].line, 2);
    }

    #[test]
    fn the_shipped_catalog_parses() {
        assert_eq!(crate::demo::demo_catalog().features.len(), 5);
    }

    #[test]
    fn windows_default_to_ninety_days_and_refuse_reversed_ranges() {
        let today: NaiveDate = "2026-11-23".parse().unwrap();
        assert_eq!(usage_window(None, None, today).unwrap(), ("2026-08-26".parse().unwrap(), today));
        assert!(usage_window(Some(today), Some("2026-01-01".parse().unwrap()), today).is_err());
    }
}
