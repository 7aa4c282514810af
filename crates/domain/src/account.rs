//! Accounts: the customer companies a CS team looks after.

use crate::fields::{FieldReader, Fields};
use crate::i18n::{Lang, Text};
use crate::ids::{required_text, AccountId, ExternalId, UserId};
use crate::subscription::AccountFigures;
use crate::validation::FieldError;
use crate::validation::Reason;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TouchModel {
    High,
    Low,
    Tech,
}

impl TouchModel {
    pub const ALL: [TouchModel; 3] = [Self::High, Self::Low, Self::Tech];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Low => "low",
            Self::Tech => "tech",
        }
    }

    pub fn name(self, lang: Lang) -> &'static str {
        match self {
            Self::High => Text::new("ハイタッチ", "High touch"),
            Self::Low => Text::new("ロータッチ", "Low touch"),
            Self::Tech => Text::new("テックタッチ", "Tech touch"),
        }
        .pick(lang)
    }

    pub fn parse(raw: &str) -> Result<TouchModel, Reason> {
        let wanted = raw.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == wanted)
            .ok_or_else(|| Reason::NotOneOf { allowed: Self::ALL.iter().map(|t| t.as_str().to_owned()).collect() })
    }
}

/// Lifecycle stages every workspace starts with; a workspace may define its own list.
pub const DEFAULT_STAGES: [&str; 6] = ["onboarding", "adoption", "expansion", "renewal", "at_risk", "churned"];

/// Checks a stage against the workspace's list.
pub fn parse_stage(raw: &str, allowed: &[String]) -> Result<String, Reason> {
    let wanted = raw.trim().to_lowercase();
    if allowed.contains(&wanted) {
        Ok(wanted)
    } else {
        Err(Reason::NotOneOf { allowed: allowed.to_vec() })
    }
}

// The longest value (in characters) of each free-text field of an account. The JSON API
// (`web::api::accounts`) and accounts.csv (`interchange::accounts`) both check these.
pub const MAX_NAME: usize = 500;
pub const MAX_DOMAIN: usize = 500;
pub const MAX_INDUSTRY: usize = 500;
pub const MAX_REGION: usize = 500;
pub const MAX_TIER: usize = 100;
pub const MAX_CHURN_REASON: usize = 500;
pub const MAX_CHURN_NOTE: usize = 5_000;

/// Custom fields, keyed without their `custom.` prefix.
pub type CustomFields = BTreeMap<String, String>;

pub const CUSTOM_PREFIX: &str = "custom.";

// Custom fields of accounts, contacts and subscription periods, by JSON and by CSV alike: at most
// 50 per record, keys of at most 64 characters, values of at most 1,000.
pub const MAX_CUSTOM_FIELDS: usize = 50;
pub const MAX_CUSTOM_KEY: usize = 64;
pub const MAX_CUSTOM_VALUE: usize = 1_000;

/// Checks the name of a custom field (after the `custom.` prefix).
pub fn parse_custom_key(raw: &str) -> Result<String, Reason> {
    let key = raw.trim();
    if key.is_empty() {
        return Err(Reason::Required);
    }
    if key.contains('\0') {
        return Err(Reason::ContainsNul);
    }
    if key.chars().count() > MAX_CUSTOM_KEY {
        return Err(Reason::TooLong { max: MAX_CUSTOM_KEY });
    }
    Ok(key.to_owned())
}

/// Checks the value of a custom field.
pub fn check_custom_value(value: &str) -> Result<(), Reason> {
    if value.contains('\0') {
        return Err(Reason::ContainsNul);
    }
    if value.chars().count() > MAX_CUSTOM_VALUE {
        return Err(Reason::TooLong { max: MAX_CUSTOM_VALUE });
    }
    Ok(())
}

/// Everything a user may set on an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountInput {
    pub external_id: ExternalId,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub employees: Option<i64>,
    pub tier: Option<String>,
    pub touch_model: Option<TouchModel>,
    pub stage: Option<String>,
    pub owner_id: Option<UserId>,
    pub sub_owner_id: Option<UserId>,
    pub sales_owner_id: Option<UserId>,
    pub created_on: Option<NaiveDate>,
    pub churn_reason: Option<String>,
    pub churn_note: Option<String>,
    pub custom: CustomFields,
}

/// What an account's record says about the customer, read alike from the API's JSON and from
/// accounts.csv; ids, owners and the creation day are named differently in each and read apart.
pub struct AccountDetails {
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub employees: Option<i64>,
    pub tier: Option<String>,
    pub touch_model: Option<TouchModel>,
    pub stage: Option<String>,
    pub churn_reason: Option<String>,
    pub churn_note: Option<String>,
    pub custom: CustomFields,
}

impl AccountDetails {
    /// Reads every field before giving up, so each bad one is reported.
    pub fn read(r: &mut impl FieldReader, stages: &[String]) -> Option<AccountDetails> {
        let name = r.required("name", |raw| required_text(Some(raw), MAX_NAME));
        let domain = r.text("domain", MAX_DOMAIN);
        let industry = r.text("industry", MAX_INDUSTRY);
        let region = r.text("region", MAX_REGION);
        let employees = r.parsed("employees", parse_employees);
        let tier = r.text("tier", MAX_TIER).map(|t| t.map(|t| t.to_lowercase()));
        let touch_model = r.parsed("touch_model", TouchModel::parse);
        let stage = r.parsed("stage", |raw| parse_stage(raw, stages));
        let churn_reason = r.text("churn_reason", MAX_CHURN_REASON);
        let churn_note = r.text("churn_note", MAX_CHURN_NOTE);
        let custom = r.custom("custom");
        Some(AccountDetails {
            name: name?,
            domain: domain?,
            industry: industry?,
            region: region?,
            employees: employees?,
            tier: tier?,
            touch_model: touch_model?,
            stage: stage?,
            churn_reason: churn_reason?,
            churn_note: churn_note?,
            custom: custom?,
        })
    }
}

/// An account as read back, with the figures derived from its subscriptions and its latest
/// health score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Account {
    pub id: AccountId,
    #[serde(flatten)]
    pub input: AccountInput,
    #[serde(flatten)]
    pub figures: AccountFigures,
    #[serde(default)]
    pub health: CurrentHealth,
    pub updated_at: DateTime<Utc>,
}

/// The health score as last computed, kept on the account so lists can filter and sort by it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CurrentHealth {
    pub score: Option<f64>,
    /// The grade key; `None` until the account was first scored.
    pub grade: Option<String>,
    /// Score change against 30 days before.
    pub delta_30d: Option<f64>,
    /// The day it was computed for.
    pub on: Option<NaiveDate>,
}

/// A stage's name: the built-in stages in the reader's language, a workspace's own as written.
pub fn stage_name(key: &str, lang: Lang) -> String {
    let name = match key {
        "onboarding" => Text::new("オンボーディング", "Onboarding"),
        "adoption" => Text::new("活用", "Adoption"),
        "expansion" => Text::new("拡大", "Expansion"),
        "renewal" => Text::new("更新", "Renewal"),
        "at_risk" => Text::new("リスク", "At risk"),
        "churned" => Text::new("解約", "Churned"),
        other => return other.to_owned(),
    };
    name.pick(lang).to_owned()
}

/// The tier a filter means: a usual tier's name in either language (as the pages show it) is
/// its key; anything else is taken as a key, ignoring case.
pub fn tier_key(typed: &str) -> String {
    usual_tier_key(typed).map_or_else(|| typed.trim().to_lowercase(), str::to_owned)
}

/// The stage a filter means, as [`tier_key`] reads a tier.
pub fn stage_key(typed: &str) -> String {
    usual_stage_key(typed).map_or_else(|| typed.trim().to_lowercase(), str::to_owned)
}

/// The key of one of Kizuna's usual tiers named (or keyed) as typed, in either language.
pub fn usual_tier_key(typed: &str) -> Option<&'static str> {
    key_named(typed, &["enterprise", "mid", "smb"], tier_name)
}

/// The key of one of Kizuna's usual stages named (or keyed) as typed, in either language.
pub fn usual_stage_key(typed: &str) -> Option<&'static str> {
    key_named(typed, &["onboarding", "adoption", "expansion", "renewal", "at_risk", "churned"], stage_name)
}

fn key_named(typed: &str, keys: &[&'static str], name: fn(&str, Lang) -> String) -> Option<&'static str> {
    let typed = typed.trim().to_lowercase();
    keys.iter().copied().find(|key| {
        *key == typed || [Lang::Ja, Lang::En].into_iter().any(|lang| name(key, lang).to_lowercase() == typed)
    })
}

/// A tier's name: Kizuna's usual tiers in the reader's language, a workspace's own as written.
pub fn tier_name(key: &str, lang: Lang) -> String {
    let name = match key {
        "enterprise" => Text::new("エンタープライズ", "Enterprise"),
        "mid" => Text::new("中堅", "Mid-market"),
        "smb" => Text::new("中小", "SMB"),
        other => return other.to_owned(),
    };
    name.pick(lang).to_owned()
}

/// A contact role's name: the usual roles in the reader's language, others as written.
pub fn contact_role_name(key: &str, lang: Lang) -> String {
    let name = match key {
        "admin" => Text::new("管理者", "Administrator"),
        "champion" => Text::new("推進者", "Champion"),
        "decision_maker" => Text::new("決裁者", "Decision maker"),
        "end_user" => Text::new("利用者", "End user"),
        "billing" => Text::new("請求担当", "Billing"),
        other => return other.to_owned(),
    };
    name.pick(lang).to_owned()
}

/// The churn reason codes Kizuna knows by name (a workspace may use others, shown as written).
const CHURN_REASONS: &[(&str, Text)] = &[
    ("price", Text::new("価格・予算", "Price or budget")),
    ("product_fit", Text::new("機能が合わない", "Product fit")),
    ("champion_left", Text::new("推進者の離脱", "Champion left")),
    ("competitor", Text::new("競合への乗り換え", "Moved to a competitor")),
    ("business_closed", Text::new("事業の縮小・終了", "Business closed or shrank")),
    ("low_usage", Text::new("利用が定着しなかった", "Never adopted")),
    ("acquired", Text::new("買収・統合", "Acquired or merged")),
    ("other", Text::new("その他", "Other")),
];

/// A churn reason in the reader's language when it is a known code, else as the workspace wrote it.
pub fn churn_reason_label(reason: &str, lang: Lang) -> &str {
    CHURN_REASONS.iter().find(|(code, _)| *code == reason).map_or(reason, |(_, label)| label.pick(lang))
}

/// Parses an employee count: a whole number ≥ 0.
pub fn parse_employees(raw: &str) -> Result<i64, Reason> {
    let cleaned: String = raw.trim().chars().filter(|c| *c != ',').collect();
    let value: i64 = cleaned.parse().map_err(|_| Reason::InvalidInteger)?;
    if value < 0 {
        return Err(Reason::Negative);
    }
    if value > MAX_EMPLOYEES {
        return Err(Reason::OutOfRange { min: "0".into(), max: MAX_EMPLOYEES.to_string() });
    }
    Ok(value)
}

/// More people than any company employs (the largest employers have a few million).
pub const MAX_EMPLOYEES: i64 = 100_000_000;

impl AccountInput {
    /// An account known only by its id and name, every other field empty.
    pub fn new(external_id: ExternalId, name: impl Into<String>) -> AccountInput {
        AccountInput {
            external_id,
            name: name.into(),
            domain: None,
            industry: None,
            region: None,
            employees: None,
            tier: None,
            touch_model: None,
            stage: None,
            owner_id: None,
            sub_owner_id: None,
            sales_owner_id: None,
            created_on: None,
            churn_reason: None,
            churn_note: None,
            custom: CustomFields::new(),
        }
    }

    /// The fields the API takes.
    pub const FIELDS: &[&str] = &[
        "external_id",
        "name",
        "domain",
        "industry",
        "region",
        "employees",
        "tier",
        "touch_model",
        "stage",
        "owner_id",
        "sub_owner_id",
        "sales_owner_id",
        "created_on",
        "churn_reason",
        "churn_note",
        "custom",
    ];

    /// Reads the API's JSON: every bad field is named at once.
    pub fn from_json(value: Value, stages: &[String]) -> Result<AccountInput, Vec<FieldError>> {
        let mut f = Fields::new(value, Self::FIELDS)?;
        let external_id = f.required("external_id", ExternalId::parse);
        let details = AccountDetails::read(&mut f, stages);
        let owner_id = f.id("owner_id");
        let sub_owner_id = f.id("sub_owner_id");
        let sales_owner_id = f.id("sales_owner_id");
        let created_on = f.date("created_on");
        f.errors.finish(|| {
            let details = details?;
            Some(AccountInput {
                external_id: external_id?,
                name: details.name,
                domain: details.domain,
                industry: details.industry,
                region: details.region,
                employees: details.employees,
                tier: details.tier,
                touch_model: details.touch_model,
                stage: details.stage,
                owner_id: owner_id?.map(UserId),
                sub_owner_id: sub_owner_id?.map(UserId),
                sales_owner_id: sales_owner_id?.map(UserId),
                created_on: created_on?,
                churn_reason: details.churn_reason,
                churn_note: details.churn_note,
                custom: details.custom,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_and_stage_filters_take_the_names_the_pages_show_in_either_language() {
        assert_eq!(tier_key("エンタープライズ"), "enterprise");
        assert_eq!(tier_key(" Mid-market "), "mid");
        assert_eq!(tier_key("SMB"), "smb");
        assert_eq!(tier_key("Gold"), "gold", "a workspace's own tier stays as typed, in lower case");
        assert_eq!(stage_key("オンボーディング"), "onboarding");
        assert_eq!(stage_key("At risk"), "at_risk");
        assert_eq!(stage_key("renewal"), "renewal");
        assert_eq!(stage_key("Pilot"), "pilot", "a workspace's own stage stays as typed, in lower case");
    }

    #[test]
    fn stage_must_be_one_of_the_workspace_stages() {
        let stages: Vec<String> = DEFAULT_STAGES.iter().map(|s| s.to_string()).collect();
        assert_eq!(parse_stage(" Adoption ", &stages).unwrap(), "adoption");
        assert!(matches!(parse_stage("trial", &stages), Err(Reason::NotOneOf { .. })));
    }

    #[test]
    fn custom_keys_and_values_have_limits() {
        assert_eq!(parse_custom_key(&"k".repeat(MAX_CUSTOM_KEY)).map(|k| k.len()), Ok(MAX_CUSTOM_KEY));
        assert_eq!(parse_custom_key(&"k".repeat(MAX_CUSTOM_KEY + 1)), Err(Reason::TooLong { max: MAX_CUSTOM_KEY }));
        assert_eq!(parse_custom_key("a\0b"), Err(Reason::ContainsNul));
        assert_eq!(check_custom_value(&"値".repeat(MAX_CUSTOM_VALUE)), Ok(()));
        assert_eq!(check_custom_value(&"値".repeat(MAX_CUSTOM_VALUE + 1)), Err(Reason::TooLong { max: 1_000 }));
    }

    #[test]
    fn employees_accept_separators_and_refuse_negatives() {
        assert_eq!(parse_employees("1,200"), Ok(1200));
        assert_eq!(parse_employees("-3"), Err(Reason::Negative));
        assert_eq!(parse_employees("many"), Err(Reason::InvalidInteger));
    }
}
