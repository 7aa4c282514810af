//! Product feedback: requests the product team may build, the customers who asked for each
//! (evidence, with how much it matters to them), and the revenue behind each request (impact),
//! so the product team ranks requests by customers and money instead of by votes.

use crate::fields::FieldReader;
use crate::fields::Fields;
use crate::ids::optional_text;
use crate::usage::catalog::FeatureKey;
use crate::{AccountId, AccountRef, ContactId, FieldError, Money, Reason, UserId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MAX_TITLE: usize = 200;
pub const MAX_DESCRIPTION: usize = 10_000;
pub const MAX_PRODUCT_AREA: usize = 100;
pub const MAX_QUOTE: usize = 2_000;
pub const MAX_STATUS_REASON: usize = 2_000;

coded! {
    /// Where a request stands, from the product team's side.
    RequestStatus {
        New = "new", "新規", "New";
        UnderReview = "under_review", "検討中", "Under review";
        Planned = "planned", "計画済み", "Planned";
        InProgress = "in_progress", "開発中", "In progress";
        Shipped = "shipped", "リリース済み", "Shipped";
        Declined = "declined", "見送り", "Declined";
    }
}

impl RequestStatus {
    /// Shipped and declined requests are closed: they no longer rank.
    pub fn is_open(self) -> bool {
        !matches!(self, RequestStatus::Shipped | RequestStatus::Declined)
    }
}

coded! {
    /// How much a request matters to the customer who asked.
    RequestImportance {
        NiceToHave = "nice_to_have", "あれば嬉しい", "Nice to have";
        Important = "important", "重要", "Important";
        Blocker = "blocker", "ないと困る（阻害要因）", "Blocker";
    }
}

coded! {
    /// Where the customer said it.
    EvidenceSource {
        Meeting = "meeting", "打ち合わせ", "Meeting";
        Ticket = "ticket", "問い合わせ", "Support ticket";
        Survey = "survey", "アンケートの回答", "Survey answer";
        Csm = "csm", "CSM の所感", "CSM";
    }
}

/// What a request says. The status has its own path (`StatusChange`), so it is never edited
/// without a history entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequestInput {
    pub title: String,
    pub description: Option<String>,
    pub product_area: Option<String>,
    /// The product-side owner.
    pub owner_id: Option<UserId>,
    /// The catalog feature that delivers it, once there is one.
    pub feature_key: Option<String>,
}

impl RequestInput {
    /// Reads a request from JSON (the API body, or a form turned into JSON).
    pub fn parse(value: serde_json::Value) -> Result<RequestInput, Vec<FieldError>> {
        let mut f = Fields::new(value, &["title", "description", "product_area", "owner_id", "feature_key"])?;
        let title = f.required("title", |raw| optional_text(Some(raw), MAX_TITLE).map(Option::unwrap_or_default));
        let description = f.text("description", MAX_DESCRIPTION);
        let product_area = f.text("product_area", MAX_PRODUCT_AREA);
        let owner_id = f.id("owner_id");
        let feature_key = f.parsed("feature_key", |raw| FeatureKey::parse(raw).map(|key| key.as_str().to_owned()));
        f.errors.finish(|| {
            Some(RequestInput {
                title: title?,
                description: description?,
                product_area: product_area?,
                owner_id: owner_id?.map(UserId),
                feature_key: feature_key?,
            })
        })
    }
}

/// A move to another status; declining needs a reason the customers can be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusChange {
    pub status: RequestStatus,
    pub reason: Option<String>,
}

impl StatusChange {
    pub fn parse(value: serde_json::Value) -> Result<StatusChange, Vec<FieldError>> {
        let mut f = Fields::new(value, &["status", "reason"])?;
        let status = f.required("status", RequestStatus::parse);
        let reason = f.text("reason", MAX_STATUS_REASON);
        if let (Some(RequestStatus::Declined), Some(None)) = (status, &reason) {
            f.errors.push("reason", Reason::Required);
        }
        f.errors.finish(|| Some(StatusChange { status: status?, reason: reason? }))
    }
}

/// A customer asking for a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EvidenceInput {
    pub account: AccountRef,
    pub contact_id: Option<ContactId>,
    pub importance: RequestImportance,
    pub source: EvidenceSource,
    /// The customer's words.
    pub quote: Option<String>,
}

impl EvidenceInput {
    pub fn parse(value: serde_json::Value) -> Result<EvidenceInput, Vec<FieldError>> {
        let mut f = Fields::new(value, &["account", "contact_id", "importance", "source", "quote"])?;
        let account = f.account("account");
        let contact_id = f.id("contact_id");
        let importance = f.parsed("importance", RequestImportance::parse);
        let source = f.parsed("source", EvidenceSource::parse);
        let quote = f.text("quote", MAX_QUOTE);
        if let Some(None) = account {
            f.errors.push("account", Reason::Required);
        }
        f.errors.finish(|| {
            Some(EvidenceInput {
                account: account??,
                contact_id: contact_id?.map(ContactId),
                importance: importance?.unwrap_or(RequestImportance::Important),
                source: source?.unwrap_or(EvidenceSource::Csm),
                quote: quote?,
            })
        })
    }
}

/// Where request status changes are posted (an issue tracker's webhook). The secret is
/// write-only: absent or `SECRET_MASK` keeps the stored one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookInput {
    pub url: String,
    pub secret: Option<String>,
}

impl WebhookInput {
    pub fn parse(value: serde_json::Value) -> Result<WebhookInput, Vec<FieldError>> {
        use crate::playbooks::{check_outbound_url, check_webhook_secret, SECRET_MASK};
        let mut f = Fields::new(value, &["url", "secret"])?;
        let url = f.required("url", |raw| check_outbound_url(raw.trim()).map(|()| raw.trim().to_owned()));
        let secret = f.parsed("secret", |raw| {
            if raw == SECRET_MASK {
                return Ok(None);
            }
            check_webhook_secret(raw).map(|()| Some(raw.to_owned()))
        });
        f.errors.finish(|| Some(WebhookInput { url: url?, secret: secret?.flatten() }))
    }
}

/// How impact weighs what stands behind a request: each asking account's ARR times its
/// importance, raised for accounts at risk and for accounts renewing soon (they are the revenue a
/// request can still keep).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ImpactWeights {
    #[schema(value_type = String, example = "0.5")]
    #[serde(with = "rust_decimal::serde::str")]
    pub nice_to_have: Decimal,
    #[schema(value_type = String, example = "1")]
    #[serde(with = "rust_decimal::serde::str")]
    pub important: Decimal,
    #[schema(value_type = String, example = "2")]
    #[serde(with = "rust_decimal::serde::str")]
    pub blocker: Decimal,
    /// Added to the factor of an account whose health grade is the lowest.
    #[schema(value_type = String, example = "0.5")]
    #[serde(with = "rust_decimal::serde::str")]
    pub at_risk: Decimal,
    /// Added to the factor of an account renewing within `RENEWING_SOON_DAYS`.
    #[schema(value_type = String, example = "0.5")]
    #[serde(with = "rust_decimal::serde::str")]
    pub renewing_soon: Decimal,
}

/// How soon a renewal counts as "renewing soon" for impact.
pub const RENEWING_SOON_DAYS: u64 = 180;

impl Default for ImpactWeights {
    fn default() -> Self {
        ImpactWeights {
            nice_to_have: Decimal::new(5, 1),
            important: Decimal::ONE,
            blocker: Decimal::TWO,
            at_risk: Decimal::new(5, 1),
            renewing_soon: Decimal::new(5, 1),
        }
    }
}

/// The largest weight: a blocker from a renewing account at risk counts at most 30× its ARR.
const MAX_WEIGHT: i64 = 10;

impl ImpactWeights {
    const KEYS: [&'static str; 5] = ["nice_to_have", "important", "blocker", "at_risk", "renewing_soon"];

    /// These weights with the ones in `value` (a JSON object of numbers or decimal strings,
    /// each 0–10) replaced.
    pub fn updated_from(&self, value: &serde_json::Value) -> Result<ImpactWeights, Reason> {
        let serde_json::Value::Object(object) = value else {
            return Err(Reason::WrongType { expected: "an object of weights" });
        };
        let mut weights = self.clone();
        for (key, raw) in object {
            let text = match raw {
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::String(s) => s.clone(),
                _ => return Err(Reason::Malformed { detail: format!("{key}: expected a number") }),
            };
            let weight = crate::money::parse_decimal(&text)
                .ok()
                .filter(|w| *w >= Decimal::ZERO && *w <= Decimal::from(MAX_WEIGHT))
                .ok_or_else(|| Reason::Malformed {
                    detail: format!("{key}: expected a number from 0 to {MAX_WEIGHT}"),
                })?;
            let slot = match key.as_str() {
                "nice_to_have" => &mut weights.nice_to_have,
                "important" => &mut weights.important,
                "blocker" => &mut weights.blocker,
                "at_risk" => &mut weights.at_risk,
                "renewing_soon" => &mut weights.renewing_soon,
                _ => {
                    return Err(Reason::UnknownTomlKey {
                        key: key.clone(),
                        allowed: Self::KEYS.iter().map(|k| k.to_string()).collect(),
                    })
                }
            };
            *slot = weight;
        }
        Ok(weights)
    }

    fn of(&self, importance: RequestImportance) -> Decimal {
        match importance {
            RequestImportance::NiceToHave => self.nice_to_have,
            RequestImportance::Important => self.important,
            RequestImportance::Blocker => self.blocker,
        }
    }
}

/// What Kizuna knows about an account that asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AskerFacts {
    pub arr: Money,
    pub at_risk: bool,
    pub renewing_soon: bool,
}

/// The revenue behind a request. Each account counts once, with the highest importance any of
/// its evidence gives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Impact {
    pub accounts: usize,
    pub blockers: usize,
    pub arr: Money,
    pub at_risk_arr: Money,
    pub renewing_arr: Money,
    /// Σ ARR × (importance weight + at-risk weight if at risk + renewal weight if renewing soon).
    pub score: Money,
}

/// The impact of one request from its evidence (account and importance, repeats allowed).
pub fn impact(
    evidence: impl IntoIterator<Item = (AccountId, RequestImportance)>,
    facts: impl Fn(AccountId) -> Option<AskerFacts>,
    weights: &ImpactWeights,
) -> Impact {
    let mut strongest: BTreeMap<AccountId, RequestImportance> = BTreeMap::new();
    for (account, importance) in evidence {
        let entry = strongest.entry(account).or_insert(importance);
        *entry = (*entry).max(importance);
    }
    let mut total = Impact::default();
    let mut score = Decimal::ZERO;
    for (account, importance) in strongest {
        let asker =
            facts(account).unwrap_or(AskerFacts { arr: Money::default(), at_risk: false, renewing_soon: false });
        total.accounts += 1;
        total.blockers += usize::from(importance == RequestImportance::Blocker);
        total.arr = total.arr + asker.arr;
        let mut factor = weights.of(importance);
        if asker.at_risk {
            total.at_risk_arr = total.at_risk_arr + asker.arr;
            factor += weights.at_risk;
        }
        if asker.renewing_soon {
            total.renewing_arr = total.renewing_arr + asker.arr;
            factor += weights.renewing_soon;
        }
        score += asker.arr.0 * factor;
    }
    total.score = Money(Money(score).reported());
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(arr: i64, at_risk: bool, renewing_soon: bool) -> AskerFacts {
        AskerFacts { arr: Money(Decimal::from(arr)), at_risk, renewing_soon }
    }

    #[test]
    fn an_account_asking_twice_counts_once_with_its_strongest_importance() {
        let evidence = [
            (AccountId(1), RequestImportance::NiceToHave),
            (AccountId(1), RequestImportance::Blocker),
            (AccountId(2), RequestImportance::Important),
        ];
        let found = impact(
            evidence,
            |id| Some(if id == AccountId(1) { facts(1_000, false, false) } else { facts(500, false, false) }),
            &ImpactWeights::default(),
        );
        assert_eq!(found.accounts, 2);
        assert_eq!(found.blockers, 1);
        assert_eq!(found.arr, Money(Decimal::from(1_500)));
        assert_eq!(found.score, Money(Decimal::from(2 * 1_000 + 500)));
    }

    #[test]
    fn at_risk_and_renewing_accounts_raise_the_score_by_their_weights() {
        let found = impact(
            [(AccountId(7), RequestImportance::Important)],
            |_| Some(facts(1_000, true, true)),
            &ImpactWeights::default(),
        );
        assert_eq!(found.at_risk_arr, Money(Decimal::from(1_000)));
        assert_eq!(found.renewing_arr, Money(Decimal::from(1_000)));
        assert_eq!(found.score, Money(Decimal::from(2_000)));
    }

    #[test]
    fn weights_change_only_where_sent_and_stay_within_zero_to_ten() {
        let weights = ImpactWeights::default().updated_from(&json!({"blocker": "3", "at_risk": 1})).unwrap();
        assert_eq!(
            (weights.blocker, weights.at_risk, weights.important),
            (Decimal::from(3), Decimal::ONE, Decimal::ONE)
        );
        assert!(ImpactWeights::default().updated_from(&json!({"blocker": 11})).is_err());
        assert!(ImpactWeights::default().updated_from(&json!({"votes": 1})).is_err());
        assert!(ImpactWeights::default().updated_from(&json!({"blocker": -1})).is_err());
    }

    #[test]
    fn declining_without_a_reason_is_refused_and_names_the_field() {
        let errors = StatusChange::parse(json!({"status": "declined"})).unwrap_err();
        assert_eq!(errors[0].field, "reason");
        assert!(StatusChange::parse(json!({"status": "declined", "reason": "Out of scope"})).is_ok());
        assert!(StatusChange::parse(json!({"status": "planned"})).is_ok());
    }

    #[test]
    fn a_request_needs_a_title_within_its_limit_and_a_plain_feature_key() {
        let errors =
            RequestInput::parse(json!({"title": "x".repeat(MAX_TITLE + 1), "feature_key": "a b"})).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["title", "feature_key"]);
        assert!(RequestInput::parse(json!({"description": "no title"})).is_err());
    }

    #[test]
    fn evidence_names_an_account_by_id_or_external_id_and_defaults_to_important_from_the_csm() {
        let evidence = EvidenceInput::parse(json!({"account": "ACC-1"})).unwrap();
        assert_eq!(evidence.importance, RequestImportance::Important);
        assert_eq!(evidence.source, EvidenceSource::Csm);
        assert!(EvidenceInput::parse(json!({"importance": "blocker"})).is_err());
        assert!(EvidenceInput::parse(json!({"account": 3, "importance": "urgent"})).is_err());
    }
}
