//! The portfolio: every account's signals held in memory — subscription periods, daily feature
//! uses, events and active users, pulses, NPS answers and tickets — from which any account's
//! health signals as of any day are derived without reading the database. It is loaded once and
//! then changed in place for the accounts that changed (`replace_accounts`, `replace_usage_since`).

use chrono::NaiveDate;
use domain::account::Account;
use domain::health::activity::{activity_window, subtract_daily, sum_daily, ActivityWindow, BookPace};
use domain::health::{AccountSignals, ActivityKey, ActivityScope, HealthConfig, MeasureType, TicketSignal};
use domain::subscription::{AccountFigures, SubscriptionTerms};
use domain::usage::{
    days_before, feature_use_on, seat_activation, seats, Cadence, Feature, FeatureCalendar, Importance,
};
use domain::{AccountId, Money};
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The day accounts are scored as of, and each feature's expected periods on it (`None` for a
/// feature no scorecard reads, which is then not summarised at all).
pub struct Calendars {
    pub as_of: NaiveDate,
    pub features: Vec<Option<FeatureCalendar>>,
    /// The usage windows the activity trends read.
    pub activity: Vec<ActivityKey>,
    /// How many days back the contraction measures compare MRR with.
    pub mrr_windows: Vec<u32>,
    /// The whole book's pace in each activity window (see `BookPace`).
    pub book_pace: BTreeMap<ActivityKey, BookPace>,
}

/// The book's pace per day and window, worked out once: the windows end the day before, so a
/// day's pace changes only when usage of an earlier day is stored again (a backfill, an import).
/// A copy of the portfolio starts without it.
#[derive(Default)]
struct PaceCache(std::sync::Mutex<HashMap<(NaiveDate, ActivityKey), Option<BookPace>>>);

impl Clone for PaceCache {
    fn clone(&self) -> PaceCache {
        PaceCache::default()
    }
}

impl PaceCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<(NaiveDate, ActivityKey), Option<BookPace>>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Everything needed to score accounts as of any day, held in memory: the scoring engine's state.
/// It can be written as bytes (`to_bytes`) and read back, without the catalog's features.
#[derive(Clone, Serialize, Deserialize)]
pub struct Portfolio {
    #[serde(skip)]
    features: Vec<Feature>,
    periods: HashMap<AccountId, Vec<SubscriptionTerms>>,
    feature_days: HashMap<AccountId, HashMap<i64, Vec<(NaiveDate, i64)>>>,
    /// Every tracked event per account per day, oldest first.
    event_days: HashMap<AccountId, Vec<(NaiveDate, i64)>>,
    /// Active user-days per account, by day, with users numbered.
    user_days: HashMap<AccountId, Vec<(NaiveDate, u32)>>,
    /// CSM pulses per account as (day, score), oldest first.
    pulses: HashMap<AccountId, Vec<(NaiveDate, i64)>>,
    /// NPS answers per account; `None` when the workspace never imported any.
    nps: Option<HashMap<AccountId, Vec<(NaiveDate, i64)>>>,
    /// Support tickets per account; `None` when the workspace never imported any.
    tickets: Option<HashMap<AccountId, Vec<TicketSignal>>>,
    /// The workspace counts month-to-month contracts as renewing monthly.
    monthly_renews: bool,
    /// End users' numbers in `user_days`.
    users: HashMap<String, u32>,
    #[serde(skip)]
    paces: PaceCache,
}

/// Daily rollups as the store reads them, of all accounts or of some.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// (account, feature id, day, uses).
    pub feature_days: Vec<(AccountId, i64, NaiveDate, i64)>,
    /// Every tracked event per account and day.
    pub event_days: Vec<(AccountId, NaiveDate, i64)>,
    /// (account, day, end user id) for each day a user was active.
    pub user_days: Vec<(AccountId, NaiveDate, String)>,
}

/// Everything the portfolio holds of some accounts (or all), as read from the store.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub periods: Vec<SubscriptionTerms>,
    pub usage: Usage,
    pub pulses: Vec<(AccountId, NaiveDate, i64)>,
    /// `None` when the workspace never imported NPS answers.
    pub nps: Option<Vec<(AccountId, NaiveDate, i64)>>,
    /// `None` when the workspace never imported tickets.
    pub tickets: Option<Vec<(AccountId, TicketSignal)>>,
}

fn to_f64(money: Money) -> f64 {
    money.0.to_f64().unwrap_or(0.0)
}

impl Portfolio {
    /// Builds the state from daily feature uses (sorted by day) and active user-days; `kizuna
    /// bench health` fills it with generated data.
    pub fn new(
        features: Vec<Feature>,
        periods: HashMap<AccountId, Vec<SubscriptionTerms>>,
        mut feature_days: HashMap<AccountId, HashMap<i64, Vec<(NaiveDate, i64)>>>,
        mut user_days: HashMap<AccountId, Vec<(NaiveDate, u32)>>,
    ) -> Portfolio {
        for days in user_days.values_mut() {
            days.sort_unstable();
        }
        for days in feature_days.values_mut().flat_map(|by_feature| by_feature.values_mut()) {
            days.sort_unstable();
        }
        Portfolio {
            features,
            periods,
            feature_days,
            event_days: HashMap::new(),
            user_days,
            pulses: HashMap::new(),
            nps: None,
            tickets: None,
            monthly_renews: false,
            users: HashMap::new(),
            paces: PaceCache::default(),
        }
    }

    /// The whole portfolio from everything the store holds.
    pub fn load(features: Vec<Feature>, monthly_renews: bool, inputs: Inputs) -> Portfolio {
        let mut portfolio = Portfolio::new(features, HashMap::new(), HashMap::new(), HashMap::new());
        portfolio.monthly_renews = monthly_renews;
        portfolio.nps = inputs.nps.is_some().then(HashMap::new);
        portfolio.tickets = inputs.tickets.is_some().then(HashMap::new);
        portfolio.insert(inputs);
        portfolio
    }

    /// Everything held, as bytes, for a node to start from after a restart (the features are left
    /// out: they are read from the catalog again).
    pub fn to_bytes(&self) -> Result<Vec<u8>, postcard::Error> {
        postcard::to_stdvec(self)
    }

    /// A portfolio `to_bytes` wrote, with the catalog's `features`.
    pub fn from_bytes(features: Vec<Feature>, bytes: &[u8]) -> Result<Portfolio, postcard::Error> {
        let mut portfolio: Portfolio = postcard::from_bytes(bytes)?;
        portfolio.features = features;
        Ok(portfolio)
    }

    /// Whether month-to-month contracts count as renewing monthly in it.
    pub fn monthly_renews(&self) -> bool {
        self.monthly_renews
    }

    /// Replaces everything held of these accounts with `inputs` (read for exactly them); an
    /// account with no rows left is forgotten (deleted).
    pub fn replace_accounts(&mut self, accounts: &[AccountId], inputs: Inputs) {
        for id in accounts {
            self.periods.remove(id);
            self.feature_days.remove(id);
            self.event_days.remove(id);
            self.user_days.remove(id);
            self.pulses.remove(id);
            if let Some(nps) = &mut self.nps {
                nps.remove(id);
            }
            if let Some(tickets) = &mut self.tickets {
                tickets.remove(id);
            }
        }
        if inputs.nps.is_some() && self.nps.is_none() {
            self.nps = Some(HashMap::new());
        }
        if inputs.tickets.is_some() && self.tickets.is_none() {
            self.tickets = Some(HashMap::new());
        }
        self.paces.entries().clear();
        self.insert(inputs);
    }

    /// Replaces these accounts' rollups from `since` on with `usage` (read for exactly them and
    /// those days): what another ingest added is taken as stored, so doing it twice is harmless.
    pub fn replace_usage_since(&mut self, accounts: &[AccountId], since: NaiveDate, usage: Usage) {
        fn cut<T>(days: &mut Vec<(NaiveDate, T)>, since: NaiveDate) {
            let keep = days.partition_point(|(day, _)| *day < since);
            days.truncate(keep);
        }
        for id in accounts {
            if let Some(by_feature) = self.feature_days.get_mut(id) {
                by_feature.values_mut().for_each(|days| cut(days, since));
            }
            if let Some(days) = self.event_days.get_mut(id) {
                cut(days, since);
            }
            if let Some(days) = self.user_days.get_mut(id) {
                cut(days, since);
            }
        }
        // A day's pace reads the days before it: those from `since` on have changed.
        self.paces.entries().retain(|(as_of, _), _| *as_of <= since);
        self.insert(Inputs { usage, ..Inputs::default() });
    }

    /// The bytes its series and maps take (their capacities; subscription periods' custom fields
    /// are not counted): `kizuna bench engine` reports it per account.
    pub fn approximate_bytes(&self) -> usize {
        fn map<K, V>(map: &HashMap<K, V>) -> usize {
            map.capacity() * (size_of::<K>() + size_of::<V>() + 1)
        }
        fn series<T>(days: &Vec<T>) -> usize {
            days.capacity() * size_of::<T>()
        }
        let periods: usize = self
            .periods
            .values()
            .flatten()
            .map(|t| {
                size_of::<SubscriptionTerms>()
                    + t.subscription_id.as_str().len()
                    + t.product.len()
                    + t.plan.as_ref().map_or(0, String::len)
            })
            .sum();
        let features: usize = self
            .feature_days
            .values()
            .map(|by_feature| map(by_feature) + by_feature.values().map(series).sum::<usize>())
            .sum();
        let voice = self.nps.as_ref().map_or(0, |nps| map(nps) + nps.values().map(series).sum::<usize>())
            + self.tickets.as_ref().map_or(0, |t| map(t) + t.values().map(series).sum::<usize>());
        map(&self.periods)
            + periods
            + map(&self.feature_days)
            + features
            + map(&self.event_days)
            + self.event_days.values().map(series).sum::<usize>()
            + map(&self.user_days)
            + self.user_days.values().map(series).sum::<usize>()
            + map(&self.pulses)
            + self.pulses.values().map(series).sum::<usize>()
            + voice
            + map(&self.users)
            + self.users.keys().map(String::len).sum::<usize>()
    }

    /// How many accounts it holds anything of.
    pub fn accounts(&self) -> usize {
        let ids: HashSet<&AccountId> =
            self.periods.keys().chain(self.event_days.keys()).chain(self.user_days.keys()).collect();
        ids.len()
    }

    /// Adds rows, then puts each touched account's series back in day order.
    fn insert(&mut self, inputs: Inputs) {
        let mut touched: HashSet<AccountId> = HashSet::new();
        for terms in inputs.periods {
            self.periods.entry(terms.account_id).or_default().push(terms);
        }
        for (id, feature, day, uses) in inputs.usage.feature_days {
            self.feature_days.entry(id).or_default().entry(feature).or_default().push((day, uses));
            touched.insert(id);
        }
        for (id, day, events) in inputs.usage.event_days {
            self.event_days.entry(id).or_default().push((day, events));
            touched.insert(id);
        }
        for (id, day, user) in inputs.usage.user_days {
            let next = self.users.len() as u32;
            let number = *self.users.entry(user).or_insert(next);
            self.user_days.entry(id).or_default().push((day, number));
            touched.insert(id);
        }
        for (id, day, score) in inputs.pulses {
            self.pulses.entry(id).or_default().push((day, score));
            touched.insert(id);
        }
        if let (Some(all), Some(answers)) = (&mut self.nps, inputs.nps) {
            for (id, day, score) in answers {
                all.entry(id).or_default().push((day, score));
                touched.insert(id);
            }
        }
        if let (Some(all), Some(tickets)) = (&mut self.tickets, inputs.tickets) {
            for (id, ticket) in tickets {
                all.entry(id).or_default().push(ticket);
            }
        }
        for id in touched {
            if let Some(by_feature) = self.feature_days.get_mut(&id) {
                by_feature.values_mut().for_each(|days| days.sort_unstable());
            }
            if let Some(days) = self.event_days.get_mut(&id) {
                days.sort_unstable();
            }
            if let Some(days) = self.user_days.get_mut(&id) {
                days.sort_unstable();
            }
            // Stable: of two pulses or answers on one day, the one read later stays the latest.
            for series in [self.pulses.get_mut(&id), self.nps.as_mut().and_then(|nps| nps.get_mut(&id))] {
                series.into_iter().for_each(|s| s.sort_by_key(|(day, _)| *day));
            }
        }
    }

    fn distinct_users(&self, account: AccountId, from: NaiveDate, to: NaiveDate) -> i64 {
        let Some(days) = self.user_days.get(&account) else { return 0 };
        let start = days.partition_point(|(day, _)| *day < from);
        let users: HashSet<u32> =
            days[start..].iter().take_while(|(day, _)| *day <= to).map(|(_, user)| *user).collect();
        users.len() as i64
    }

    /// The account's NPS answers as (day, score), oldest first; none when none were imported.
    pub fn nps_answers(&self, account: AccountId) -> &[(NaiveDate, i64)] {
        self.nps.as_ref().and_then(|nps| nps.get(&account)).map_or(&[], Vec::as_slice)
    }

    /// The account's periods that had started by `day`: what was known then.
    fn periods_known(&self, account: AccountId, day: NaiveDate) -> Vec<&SubscriptionTerms> {
        self.periods.get(&account).map(|p| p.iter().filter(|t| t.start_date <= day).collect()).unwrap_or_default()
    }

    pub fn figures(&self, account: AccountId, day: NaiveDate) -> AccountFigures {
        AccountFigures::compute(&self.periods_known(account, day), day, self.monthly_renews)
    }

    /// The next end of a committed term longer than a month after `day`, whatever the
    /// workspace's setting for monthly contracts; `None` when the account is month to month.
    pub fn next_term_end(&self, account: AccountId, day: NaiveDate) -> Option<NaiveDate> {
        domain::renewals::next_renewal_date(&self.periods_known(account, day), day, false)
    }

    /// Every feature's calendar as of a day, in catalog order: computed once for many accounts.
    pub fn calendars(&self, as_of: NaiveDate, periods: usize) -> Calendars {
        Calendars {
            as_of,
            features: self
                .features
                .iter()
                .map(|f| Some(FeatureCalendar::new(&f.definition.cadence, as_of, periods)))
                .collect(),
            activity: Vec::new(),
            mrr_windows: Vec::new(),
            book_pace: BTreeMap::new(),
        }
    }

    /// The calendars of the features the configuration's scorecards read: those named by a
    /// measure, and core ones when a breadth measure counts them.
    pub fn calendars_for(&self, config: &HealthConfig, as_of: NaiveDate) -> Calendars {
        let measures: Vec<&domain::health::MeasureSpec> = config.scorecards.iter().flat_map(|c| &c.measures).collect();
        let breadth = measures.iter().any(|m| m.kind == MeasureType::Breadth);
        let core_adherence = |annual: bool| {
            measures.iter().any(|m| {
                m.scope == Some(ActivityScope::Core)
                    && match m.kind {
                        MeasureType::CadenceAdherence => !annual,
                        MeasureType::SeasonalAdherence => annual,
                        _ => false,
                    }
            })
        };
        let (core_cadence, core_seasonal) = (core_adherence(false), core_adherence(true));
        let core_trend = config.activity_keys().iter().any(|k| k.feature.is_none() && k.scope == ActivityScope::Core);
        let periods = config.periods_needed();
        Calendars {
            as_of,
            features: self
                .features
                .iter()
                .map(|f| {
                    let d = &f.definition;
                    let named = measures.iter().any(|m| m.feature.as_deref() == Some(d.key.as_str()));
                    let core = d.importance == Importance::Core;
                    let annual = d.cadence.season().is_some();
                    let counted =
                        core && ((!annual && (breadth || core_cadence || core_trend)) || (annual && core_seasonal));
                    (named || counted).then(|| FeatureCalendar::new(&d.cadence, as_of, periods))
                })
                .collect(),
            book_pace: self.book_pace(&config.activity_keys().into_iter().collect::<Vec<_>>(), as_of),
            activity: config.activity_keys().into_iter().collect(),
            mrr_windows: config.contraction_windows().into_iter().collect(),
        }
    }

    /// The whole book's pace in each window these keys read (one per core feature for a key over
    /// the core features), over the accounts paying on `as_of`; remembered per day.
    fn book_pace(&self, keys: &[ActivityKey], as_of: NaiveDate) -> BTreeMap<ActivityKey, BookPace> {
        let known = |paces: &HashMap<(NaiveDate, ActivityKey), Option<BookPace>>| {
            let resolved = self.resolved_keys(keys);
            let found: Option<BTreeMap<ActivityKey, Option<BookPace>>> =
                resolved.into_iter().map(|key| paces.get(&(as_of, key.clone())).map(|pace| (key, *pace))).collect();
            found.map(|found| found.into_iter().filter_map(|(key, pace)| Some((key, pace?))).collect())
        };
        if let Some(paces) = known(&self.paces.entries()) {
            return paces;
        }
        let mut windows: BTreeMap<ActivityKey, Vec<ActivityWindow>> = BTreeMap::new();
        for (id, terms) in &self.periods {
            if terms.iter().any(|t| t.covers(as_of) && t.mrr().0 > rust_decimal::Decimal::ZERO) {
                for (key, window) in self.activity_windows(*id, keys, as_of) {
                    windows.entry(key).or_default().push(window);
                }
            }
        }
        let mut paces = self.paces.entries();
        for key in self.resolved_keys(keys) {
            let pace = windows.get(&key).and_then(BookPace::of);
            paces.insert((as_of, key), pace);
        }
        known(&paces).unwrap_or_default()
    }

    /// The account's signals using only what had happened by the calendars' day.
    pub fn signals(&self, account: &Account, calendars: &Calendars) -> AccountSignals {
        let id = account.id;
        let as_of = calendars.as_of;
        let empty = HashMap::new();
        let days = self.feature_days.get(&id).unwrap_or(&empty);
        let features = self
            .features
            .iter()
            .zip(&calendars.features)
            .filter_map(|(f, calendar)| {
                Some(feature_use_on(f, calendar.as_ref()?, days.get(&f.id).map_or(&[][..], Vec::as_slice)))
            })
            .collect();
        let now = self.figures(id, as_of);
        AccountSignals {
            as_of,
            customer_since: now.first_paying_day,
            features,
            active_users_30d: self.distinct_users(id, days_before(as_of, 29), as_of),
            active_users_prev_30d: self.distinct_users(id, days_before(as_of, 59), days_before(as_of, 30)),
            seats: seats(account.input.employees, self.main_quantity(id, as_of)),
            nps: self.nps.as_ref().map(|by_account| by_account.get(&id).cloned().unwrap_or_default()),
            tickets: self.tickets.as_ref().map(|by_account| by_account.get(&id).cloned().unwrap_or_default()),
            pulse: self.pulses.get(&id).and_then(|p| p.iter().rev().find(|(day, _)| *day <= as_of).copied()),
            next_renewal: now.next_renewal_date,
            mrr_now: to_f64(now.mrr),
            mrr_before: calendars
                .mrr_windows
                .iter()
                .map(|days| (*days, to_f64(self.figures(id, days_before(as_of, u64::from(*days))).mrr)))
                .collect(),
            activity: self.activity_windows(id, &calendars.activity, as_of),
            book_pace: calendars.book_pace.clone(),
        }
    }

    /// The windows these keys read: each key as it is, except one over the core features, which
    /// stands for one key per core (non-annual) feature, each judged on its own habit.
    fn resolved_keys(&self, keys: &[ActivityKey]) -> Vec<ActivityKey> {
        let mut resolved = Vec::new();
        for key in keys {
            match (&key.feature, key.scope) {
                (None, ActivityScope::Core) => resolved.extend(
                    self.features
                        .iter()
                        .filter(|f| {
                            f.definition.importance == Importance::Core && f.definition.cadence.season().is_none()
                        })
                        .map(|f| ActivityKey {
                            feature: Some(f.definition.key.to_string()),
                            scope: ActivityScope::All,
                            ..key.clone()
                        }),
                ),
                _ => resolved.push(key.clone()),
            }
        }
        resolved
    }

    /// The account's usage in the recent window of each key (as `resolved_keys` resolves them)
    /// and the baseline before it.
    fn activity_windows(
        &self,
        account: AccountId,
        keys: &[ActivityKey],
        as_of: NaiveDate,
    ) -> BTreeMap<ActivityKey, ActivityWindow> {
        let users = self.user_days.get(&account).map_or(&[][..], Vec::as_slice);
        let empty = HashMap::new();
        let by_feature = self.feature_days.get(&account).unwrap_or(&empty);
        let uses_of = |f: &Feature| by_feature.get(&f.id).map_or(&[][..], Vec::as_slice);
        let annual = |f: &Feature| f.definition.cadence.season().is_some();
        let mut windows = BTreeMap::new();
        for key in self.resolved_keys(keys) {
            let window = match &key.feature {
                Some(feature) => {
                    let Some(f) = self.features.iter().find(|f| f.definition.key.as_str() == feature) else { continue };
                    activity_window(&key, as_of, uses_of(f), users, false)
                }
                None => {
                    let events = self.event_days.get(&account).map_or(&[][..], Vec::as_slice);
                    let seasonal: Vec<&[(NaiveDate, i64)]> = self
                        .features
                        .iter()
                        .filter(|f| annual(f))
                        .map(uses_of)
                        .filter(|uses| !uses.is_empty())
                        .collect();
                    let uses = if seasonal.is_empty() {
                        events.to_vec()
                    } else {
                        subtract_daily(events, &sum_daily(&seasonal))
                    };
                    activity_window(&key, as_of, &uses, users, true)
                }
            };
            windows.insert(key, window);
        }
        windows
    }

    /// The quantity of the account's largest subscription on the day.
    fn main_quantity(&self, account: AccountId, as_of: NaiveDate) -> Option<i64> {
        self.periods.get(&account).and_then(|p| {
            p.iter().filter(|t| t.covers(as_of)).max_by(|a, b| a.mrr().0.cmp(&b.mrr().0)).map(|t| t.quantity)
        })
    }

    /// The feature catalog the portfolio was read with.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// One account's uses of one feature per day, oldest first.
    pub fn feature_uses(&self, account: AccountId, feature_id: i64) -> &[(NaiveDate, i64)] {
        self.feature_days.get(&account).and_then(|days| days.get(&feature_id)).map_or(&[], Vec::as_slice)
    }

    /// Active end users in the 30 days ending `as_of` over the account's seats, as the usage
    /// page reports it.
    pub fn seat_activation(&self, account: &Account, as_of: NaiveDate) -> Option<f64> {
        let seats = seats(account.input.employees, self.main_quantity(account.id, as_of));
        seat_activation(self.distinct_users(account.id, days_before(as_of, 29), as_of), seats)
    }

    /// Support tickets the account opened from `from` to `to`; `None` when the workspace never
    /// imported tickets.
    pub fn tickets_opened(&self, account: AccountId, from: NaiveDate, to: NaiveDate) -> Option<usize> {
        let tickets = self.tickets.as_ref()?;
        Some(tickets.get(&account).map_or(0, |t| t.iter().filter(|t| t.created >= from && t.created <= to).count()))
    }

    /// Uses of the core features used daily, weekly or monthly, from `from` to `to`.
    pub fn core_feature_uses(&self, account: AccountId, from: NaiveDate, to: NaiveDate) -> i64 {
        let Some(by_feature) = self.feature_days.get(&account) else { return 0 };
        self.features
            .iter()
            .filter(|f| {
                f.definition.importance == Importance::Core
                    && matches!(f.definition.cadence, Cadence::Daily | Cadence::Weekly | Cadence::Monthly)
            })
            .filter_map(|f| by_feature.get(&f.id))
            .flat_map(|days| days.iter().filter(|(day, _)| *day >= from && *day <= to).map(|(_, uses)| *uses))
            .sum()
    }

    /// The last day on or before `as_of` with an active end user or a feature use.
    pub fn last_active_day(&self, account: AccountId, as_of: NaiveDate) -> Option<NaiveDate> {
        let user_day = self.user_days.get(&account).and_then(|days| {
            let upto = days.partition_point(|(day, _)| *day <= as_of);
            upto.checked_sub(1).map(|last| days[last].0)
        });
        let feature_day =
            self.feature_days.get(&account).into_iter().flat_map(|by_feature| by_feature.values()).filter_map(|days| {
                days.iter().rev().find(|(day, uses)| *day <= as_of && *uses > 0).map(|(day, _)| *day)
            });
        user_day.into_iter().chain(feature_day).max()
    }

    /// Uses per day (all events but the seasonal features') in the 30 days to `as_of` against
    /// the 180 days before; `None` when that baseline is thin (under 90 days or 20 uses).
    pub fn usage_ratio(&self, account: AccountId, as_of: NaiveDate) -> Option<f64> {
        let key = ActivityKey { feature: None, scope: ActivityScope::All, recent_days: 30, baseline_days: 180 };
        let window = self.activity_windows(account, std::slice::from_ref(&key), as_of).remove(&key)?;
        if window.baseline_days < 90 || window.baseline_uses < 20 {
            return None;
        }
        let recent = window.recent_uses as f64 / f64::from(window.recent_days.max(1));
        Some(recent / (window.baseline_uses as f64 / f64::from(window.baseline_days)))
    }

    /// Days on which the account's MRR fell to zero (churn).
    pub fn churn_days(&self, account: AccountId) -> Vec<NaiveDate> {
        let periods: Vec<&SubscriptionTerms> =
            self.periods.get(&account).map(|p| p.iter().collect()).unwrap_or_default();
        domain::subscription::churn_days(&periods)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).expect("a day of November")
    }

    #[test]
    fn a_portfolio_written_as_bytes_reads_back_the_same_signals() {
        let (one, two) = (AccountId(1), AccountId(2));
        let inputs = Inputs {
            periods: Vec::new(),
            usage: Usage {
                feature_days: vec![(one, 7, day(2), 3), (one, 7, day(5), 4), (two, 8, day(3), 1)],
                event_days: vec![(one, day(2), 3), (one, day(5), 4), (two, day(3), 1)],
                user_days: vec![(one, day(2), "u-1".into()), (two, day(3), "u-2".into())],
            },
            pulses: vec![(one, day(4), 2)],
            nps: Some(vec![(two, day(6), 9)]),
            tickets: Some(vec![(one, TicketSignal { created: day(1), solved: None, urgent: true })]),
        };
        let before = Portfolio::load(Vec::new(), true, inputs);
        let bytes = before.to_bytes().expect("every field can be written");
        let after = Portfolio::from_bytes(Vec::new(), &bytes).expect("what was written reads back");
        assert_eq!(after.accounts(), before.accounts());
        assert!(after.monthly_renews());
        assert_eq!(after.feature_uses(one, 7), before.feature_uses(one, 7));
        assert_eq!(after.nps_answers(two), &[(day(6), 9)]);
        assert_eq!(after.last_active_day(one, day(30)), Some(day(5)));
        assert_eq!(after.tickets_opened(one, day(1), day(30)), Some(1));
        assert!(Portfolio::from_bytes(Vec::new(), &bytes[..bytes.len() / 2]).is_err(), "a cut file is refused");
    }
}
