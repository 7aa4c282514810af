//! Saved segments: rules checked when saved, each account's facts gathered from what the app
//! already keeps (the account row with its figures and current health, staff and teams, and the
//! usage rollups through the health `Portfolio`), live previews, and membership kept current
//! with a history of every entry and exit.
//!
//! Membership is re-evaluated where health scores are recomputed (`recompute_health`: within a
//! second of a change, and hourly for every account, which also moves rules that count days),
//! and in full when a segment is created or its rule changes.

use crate::health::Portfolio;
use crate::{Actor, App, AppError};
use chrono::{DateTime, NaiveDate, Utc};
use domain::access::Role;
use domain::account::Account;
use domain::i18n::{Bilingual, Lang};
use domain::ids::optional_text;
use domain::segments::{AccountFacts, FeatureFacts, Field, Segment, SegmentError};
use domain::validation::Errors;
use domain::{AccountId, Money, Reason, TeamId, UserId};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, HashSet};
use store::{
    AccountSegment, HistoryQuery, SavedSegment, SegmentEvent, SegmentInput, SegmentMembers, SegmentSummary, StoreError,
};

const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 2_000;
const MAX_RULE: usize = 10_000;

/// An account entering or leaving a saved segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SegmentChange {
    pub segment_id: i64,
    #[schema(value_type = i64)]
    pub account_id: AccountId,
    pub entered: bool,
    pub at: DateTime<Utc>,
}

/// One error in a rule: line and column count from 1 (columns in characters); `offset` and
/// `length` are in bytes of the rule's UTF-8 text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RuleError {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
    pub length: usize,
    pub message: Bilingual,
}

impl From<&SegmentError> for RuleError {
    fn from(error: &SegmentError) -> RuleError {
        RuleError {
            line: error.line,
            column: error.column,
            offset: error.offset,
            length: error.length,
            message: Bilingual::new(error.message(Lang::Ja), error.message(Lang::En)),
        }
    }
}

/// An account in a preview.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PreviewAccount {
    pub id: i64,
    pub name: String,
    pub arr: Money,
    pub grade: Option<String>,
    /// The grade's name in both languages, as the workspace's health configuration names it.
    pub grade_name: Option<Bilingual>,
    pub score: Option<f64>,
}

/// Who a rule would pick now: how many accounts, their ARR and the largest ones; or, for a rule
/// that does not check, its errors (and nothing else).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SegmentPreview {
    pub count: usize,
    pub arr: Money,
    pub accounts: Vec<PreviewAccount>,
    pub errors: Vec<RuleError>,
}

/// Checks a segment's fields and rule against the feature catalog's keys, collecting every
/// problem; returns the input as stored (name and description trimmed, the rule as written) and
/// the checked rule.
pub fn check_segment(input: &SegmentInput, features: &BTreeSet<String>) -> Result<(SegmentInput, Segment), AppError> {
    let mut fields = Errors::new();
    let name = fields.check("name", domain::ids::required_text(Some(&input.name), MAX_NAME));
    let name_en = fields.check("name_en", optional_text(input.name_en.as_deref(), MAX_NAME));
    let description = fields.check("description", optional_text(input.description.as_deref(), MAX_DESCRIPTION));
    let rule_text = if input.rule.trim().is_empty() {
        fields.push("rule", Reason::Required);
        None
    } else if input.rule.chars().count() > MAX_RULE {
        fields.push("rule", Reason::TooLong { max: MAX_RULE });
        None
    } else {
        Some(input.rule.clone())
    };
    let parsed = rule_text.as_deref().map(|rule| Segment::parse_with_catalog(rule, features));
    let fields = fields.into_vec();
    match (name, name_en, description, rule_text, parsed) {
        (Some(name), Some(name_en), Some(description), Some(rule), Some(Ok(segment))) if fields.is_empty() => {
            Ok((SegmentInput { name, name_en, rule, description }, segment))
        }
        (.., Some(Err(errors))) => Err(AppError::RuleRejected { fields, errors }),
        _ => Err(AppError::RuleRejected { fields, errors: Vec::new() }),
    }
}

fn require_manage(actor: &Actor) -> Result<(), AppError> {
    if actor.role() >= Role::Manager {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Who owns what: staff emails and the name of each user's team.
struct Directory {
    emails: HashMap<UserId, String>,
    teams: HashMap<UserId, String>,
}

/// What the rules being evaluated read beyond the account row. Each usage fact costs a walk
/// over the account's usage, so only the ones some rule reads are gathered.
pub(crate) struct Needs {
    seat_activation: bool,
    last_activity: bool,
    features: BTreeSet<String>,
}

impl Needs {
    pub(crate) fn of<'a>(segments: impl IntoIterator<Item = &'a Segment>) -> Needs {
        let mut needs = Needs { seat_activation: false, last_activity: false, features: BTreeSet::new() };
        for segment in segments {
            let fields = segment.fields_used();
            needs.seat_activation |= fields.contains(&Field::SeatActivation);
            needs.last_activity |= fields.contains(&Field::DaysSinceActivity);
            needs.features.extend(segment.features_used());
        }
        needs
    }

    fn usage(&self) -> bool {
        self.seat_activation || self.last_activity || !self.features.is_empty()
    }
}

/// An account's facts as of `today`; usage facts only when a portfolio is given.
fn facts_of(
    account: &Account,
    today: NaiveDate,
    directory: &Directory,
    usage: Option<&Portfolio>,
    needs: &Needs,
) -> AccountFacts {
    let email = |user: Option<UserId>| user.and_then(|id| directory.emails.get(&id).cloned());
    let input = &account.input;
    let mut facts = AccountFacts {
        tier: input.tier.clone(),
        stage: input.stage.clone(),
        touch_model: input.touch_model,
        owner_email: email(input.owner_id),
        sub_owner_email: email(input.sub_owner_id),
        // The owning team is the main owner's, else the sub owner's.
        team: [input.owner_id, input.sub_owner_id]
            .into_iter()
            .flatten()
            .find_map(|id| directory.teams.get(&id).cloned()),
        mrr: Some(account.figures.mrr.0),
        arr: Some(account.figures.arr.0),
        score: account.health.score,
        grade: account.health.grade.clone(),
        score_trend_30d: account.health.delta_30d,
        renewal_date: account.figures.next_renewal_date,
        first_paying_day: account.figures.first_paying_day,
        employees: input.employees,
        custom: input.custom.clone(),
        ..AccountFacts::new(today, input.name.clone())
    };
    if let Some(portfolio) = usage {
        if needs.seat_activation {
            facts.seat_activation = portfolio.seat_activation(account, today);
        }
        if needs.last_activity {
            facts.last_activity_on = portfolio.last_active_day(account.id, today);
        }
        for feature in portfolio.features().iter().filter(|f| needs.features.contains(f.definition.key.as_str())) {
            let uses = portfolio.feature_uses(account.id, feature.id).to_vec();
            facts
                .features
                .insert(feature.definition.key.to_string(), FeatureFacts::new(&feature.definition.cadence, uses));
        }
    }
    facts
}

impl App {
    pub async fn segments(&self) -> Result<Vec<SegmentSummary>, AppError> {
        Ok(self.store.list_segments().await?)
    }

    /// One segment with its current member count and ARR.
    pub async fn segment(&self, id: i64) -> Result<SegmentSummary, AppError> {
        let segment = self.store.get_segment(id).await?;
        let members = self.store.segment_members(id, 0, 0).await?;
        Ok(SegmentSummary { segment, members: members.total, arr: members.arr })
    }

    /// The feature catalog's keys: the features a rule being saved or previewed may name.
    pub async fn feature_keys(&self) -> Result<BTreeSet<String>, AppError> {
        Ok(self.store.list_features().await?.into_iter().map(|f| f.definition.key.to_string()).collect())
    }

    /// Saves a new segment (managers and admins) and computes its members.
    pub async fn create_segment(&self, actor: &Actor, input: &SegmentInput) -> Result<SavedSegment, AppError> {
        require_manage(actor)?;
        let (input, segment) = check_segment(input, &self.feature_keys().await?)?;
        let saved = self.store.create_segment(&input, Utc::now()).await?;
        self.record_change(actor, "create", "segment", &saved.id.to_string(), None, Some(&input)).await?;
        self.evaluate_everyone((saved.id, segment)).await?;
        Ok(saved)
    }

    /// Changes a segment; a changed rule recomputes its members (entries and exits go to the history).
    pub async fn update_segment(&self, actor: &Actor, id: i64, input: &SegmentInput) -> Result<SavedSegment, AppError> {
        require_manage(actor)?;
        let before = self.store.get_segment(id).await?;
        let (input, segment) = check_segment(input, &self.feature_keys().await?)?;
        let saved = self.store.update_segment(id, &input, Utc::now()).await?;
        self.record_change(actor, "update", "segment", &id.to_string(), Some(&before.input()), Some(&input)).await?;
        if before.rule != saved.rule {
            self.evaluate_everyone((id, segment)).await?;
        }
        Ok(saved)
    }

    pub async fn delete_segment(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        require_manage(actor)?;
        let before = self.store.get_segment(id).await?;
        self.store.delete_segment(id).await?;
        self.record_change(actor, "delete", "segment", &id.to_string(), Some(&before.input()), None).await
    }

    pub async fn segment_members(&self, id: i64, limit: i64, offset: i64) -> Result<SegmentMembers, AppError> {
        Ok(self.store.segment_members(id, limit, offset).await?)
    }

    /// A segment's entries and exits, newest first.
    pub async fn segment_history(&self, id: i64, limit: i64, offset: i64) -> Result<Vec<SegmentEvent>, AppError> {
        self.store.get_segment(id).await?;
        let query = HistoryQuery { segment_id: Some(id), limit, offset, ..HistoryQuery::default() };
        Ok(self.store.segment_history(&query).await?)
    }

    /// The segments an account is in, and its entries and exits, newest first.
    pub async fn account_segments(
        &self,
        account: AccountId,
        limit: i64,
    ) -> Result<(Vec<AccountSegment>, Vec<SegmentEvent>), AppError> {
        self.store.get_account(account).await?;
        let query = HistoryQuery { account_id: Some(account), limit, ..HistoryQuery::default() };
        Ok((self.store.segments_of_account(account).await?, self.store.segment_history(&query).await?))
    }

    /// Who the rule would pick today: the count, their ARR and the `limit` largest by ARR; or
    /// the rule's errors.
    pub async fn preview_segment(&self, rule: &str, limit: usize) -> Result<SegmentPreview, AppError> {
        if rule.chars().count() > MAX_RULE {
            return Err(AppError::invalid("rule", Reason::TooLong { max: MAX_RULE }));
        }
        let segment = match Segment::parse_with_catalog(rule, &self.feature_keys().await?) {
            Ok(segment) => segment,
            Err(errors) => {
                return Ok(SegmentPreview {
                    count: 0,
                    arr: Money::ZERO,
                    accounts: Vec::new(),
                    errors: errors.iter().map(RuleError::from).collect(),
                })
            }
        };
        let accounts = self.all_accounts().await?;
        let facts = self.account_facts(&accounts, &Needs::of([&segment])).await?;
        let mut matching: Vec<&Account> = accounts
            .iter()
            .zip(&facts)
            .filter(|(_, facts)| segment.matches(facts))
            .map(|(account, _)| account)
            .collect();
        let arr = matching.iter().map(|a| a.figures.arr).sum::<Money>();
        let config = self.health_config().await?;
        let grade_name = |key: &str| config.grade_name(key);
        matching.sort_by(|a, b| b.figures.arr.0.cmp(&a.figures.arr.0).then(a.id.0.cmp(&b.id.0)));
        Ok(SegmentPreview {
            count: matching.len(),
            arr,
            accounts: matching
                .iter()
                .take(limit)
                .map(|a| PreviewAccount {
                    id: a.id.0,
                    name: a.input.name.clone(),
                    arr: a.figures.arr,
                    grade: a.health.grade.clone(),
                    grade_name: a.health.grade.as_deref().map(grade_name),
                    score: a.health.score,
                })
                .collect(),
            errors: Vec::new(),
        })
    }

    /// Evaluates every saved segment for these accounts (as read, with their current health),
    /// moves accounts in and out with a history entry each, and returns the moves.
    pub(crate) async fn reevaluate_segments(&self, rows: &[Account]) -> Result<Vec<SegmentChange>, AppError> {
        let mut segments = Vec::new();
        for saved in self.store.segment_definitions().await? {
            match Segment::parse(&saved.rule) {
                Ok(segment) => segments.push((saved.id, segment)),
                // Checked when saved; only a change of the language could make it fail now.
                Err(errors) => {
                    tracing::warn!(segment = saved.id, ?errors, "a saved segment rule no longer checks")
                }
            }
        }
        self.evaluate_rows(&segments, rows).await
    }

    /// Evaluates one saved segment for every account (it was just created or changed).
    async fn evaluate_everyone(&self, segment: (i64, Segment)) -> Result<Vec<SegmentChange>, AppError> {
        self.evaluate_rows(&[segment], &self.all_accounts().await?).await
    }

    async fn evaluate_rows(
        &self,
        segments: &[(i64, Segment)],
        rows: &[Account],
    ) -> Result<Vec<SegmentChange>, AppError> {
        if segments.is_empty() {
            return Ok(Vec::new());
        }
        let started = std::time::Instant::now();
        let facts = self.account_facts(rows, &Needs::of(segments.iter().map(|(_, s)| s))).await?;
        let gathered = started.elapsed();
        let ids: Vec<AccountId> = rows.iter().map(|a| a.id).collect();
        let mut members_of: HashMap<i64, HashSet<AccountId>> = HashMap::new();
        for (segment, account) in self.store.memberships_among(&ids).await? {
            members_of.entry(segment).or_default().insert(account);
        }
        let read = started.elapsed();
        let at = Utc::now();
        let mut changes = Vec::new();
        for (id, segment) in segments {
            let members = members_of.remove(id).unwrap_or_default();
            let (mut entered, mut left) = (Vec::new(), Vec::new());
            for (account, facts) in rows.iter().zip(&facts) {
                match (segment.matches(facts), members.contains(&account.id)) {
                    (true, false) => entered.push(account.id),
                    (false, true) => left.push(account.id),
                    _ => {}
                }
            }
            if entered.is_empty() && left.is_empty() {
                continue;
            }
            let applied = match self.store.apply_membership(*id, &entered, &left, at).await {
                Ok(applied) => applied,
                // Deleted while being evaluated.
                Err(StoreError::NotFound { .. }) => continue,
                Err(other) => return Err(other.into()),
            };
            let moves =
                applied.entered.into_iter().map(|a| (a, true)).chain(applied.left.into_iter().map(|a| (a, false)));
            changes.extend(moves.map(|(account_id, entered)| SegmentChange {
                segment_id: *id,
                account_id,
                entered,
                at,
            }));
        }
        tracing::debug!(
            accounts = rows.len(),
            segments = segments.len(),
            moves = changes.len(),
            facts_ms = gathered.as_millis(),
            members_ms = (read - gathered).as_millis(),
            apply_ms = (started.elapsed() - read).as_millis(),
            "segments evaluated"
        );
        Ok(changes)
    }

    /// Each account's facts as of today, in the order given.
    pub(crate) async fn account_facts(
        &self,
        accounts: &[Account],
        needs: &Needs,
    ) -> Result<Vec<AccountFacts>, AppError> {
        let today = self.today();
        let teams: HashMap<TeamId, String> =
            self.store.list_teams().await?.into_iter().map(|t| (t.id, t.name)).collect();
        let mut directory = Directory { emails: HashMap::new(), teams: HashMap::new() };
        for user in self.store.list_users().await? {
            directory.emails.insert(user.id, user.input.email.as_str().to_owned());
            if let Some(team) = user.input.team_id.and_then(|id| teams.get(&id)) {
                directory.teams.insert(user.id, team.clone());
            }
        }
        let facts = |account: &Account, usage: Option<&Portfolio>| facts_of(account, today, &directory, usage, needs);
        if !needs.usage() {
            return Ok(accounts.iter().map(|a| facts(a, None)).collect());
        }
        let portfolio = self.portfolio().await?;
        Ok(accounts.iter().map(|a| facts(a, Some(&portfolio))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, rule: &str) -> SegmentInput {
        SegmentInput { name: name.into(), name_en: None, rule: rule.into(), description: Some("  ".into()) }
    }

    #[test]
    fn a_good_segment_is_trimmed_and_keeps_its_rule_as_written() {
        let (checked, segment) = check_segment(&input("  大口  ", "arr  >=  1000"), &BTreeSet::new()).unwrap();
        assert_eq!(
            (checked.name.as_str(), checked.rule.as_str(), checked.description),
            ("大口", "arr  >=  1000", None)
        );
        assert_eq!(segment.to_string(), "arr >= 1000");
    }

    #[test]
    fn every_problem_is_reported_at_once_with_positions() {
        let Err(AppError::RuleRejected { fields, errors }) =
            check_segment(&input("", "arr > \"x\" and\nsocre > 1"), &BTreeSet::new())
        else {
            panic!("expected a rejection")
        };
        assert_eq!(fields.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["name"]);
        let positions: Vec<(usize, usize)> = errors.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(positions, [(1, 7), (2, 1)]);
        let rule_error = RuleError::from(&errors[1]);
        assert!(rule_error.message.en.contains("`socre`"), "{rule_error:?}");
        assert!(rule_error.message.ja.contains("不明な項目"), "{rule_error:?}");
    }

    #[test]
    fn only_the_usage_facts_a_rule_reads_are_gathered() {
        let needs = |rule: &str| Needs::of([&Segment::parse(rule).unwrap()]);
        let idle = needs("days_since_activity >= 30");
        assert!(idle.last_activity && !idle.seat_activation && idle.usage());
        let seats = needs("seat_activation < 0.5");
        assert!(seats.seat_activation && !seats.last_activity && seats.usage());
        let feature = needs("used_within(\"payslip\", 30d)");
        assert!(feature.features.contains("payslip") && feature.usage());
        assert!(!needs("arr >= 1000").usage());
    }

    #[test]
    fn a_blank_rule_is_required() {
        let Err(AppError::RuleRejected { fields, errors }) = check_segment(&input("x", "  "), &BTreeSet::new()) else {
            panic!()
        };
        assert_eq!((fields[0].field.as_str(), errors.len()), ("rule", 0));
    }
}
