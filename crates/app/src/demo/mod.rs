//! `kizuna demo`: a realistic fictional SaaS customer base (an HR/payroll product sold to
//! Japanese companies), deterministic for a seed and a day. Written through the same import
//! path as customer files, so the demo exercises the real product.

use crate::{App, AppError};
use chrono::{Days, Months, NaiveDate};
use domain::access::Role;
use domain::account::{CustomFields, TouchModel};
use domain::health::pulse::{PulseInput, PulseReason};
use domain::interchange::accounts::AccountRecord;
use domain::interchange::contacts::ContactRecord;
use domain::interchange::subscriptions::SubscriptionRecord;
use domain::metrics::YearMonth;
use domain::settings::{FieldLabel, WorkspaceSettings};
use domain::staff::{StaffUserInput, TeamInput};
use domain::subscription::{AccountFigures, BillingInterval};
use domain::{Currency, Email, ExternalId, Money};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

mod usage;
mod voice;
pub use usage::{demo_catalog, DEMO_CATALOG};

#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    pub accounts: usize,
    pub seed: u64,
    /// How far back the customer base goes.
    pub history_months: u32,
    /// Also generate end users and their product usage (tracking events).
    pub usage: bool,
    /// Only the first N accounts get usage (all when `None`): large demos for benchmarks would
    /// otherwise hold hundreds of millions of events.
    pub usage_accounts: Option<usize>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { accounts: 300, seed: 42, history_months: 36, usage: true, usage_accounts: None }
    }
}

/// A staff member of the fictional vendor.
#[derive(Debug, Clone)]
pub struct DemoStaff {
    pub name: &'static str,
    pub role: Role,
    pub email: &'static str,
    pub team: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct DemoData {
    pub teams: Vec<&'static str>,
    pub staff: Vec<DemoStaff>,
    pub accounts: Vec<AccountRecord>,
    pub contacts: Vec<ContactRecord>,
    pub subscriptions: Vec<SubscriptionRecord>,
    /// Sales & marketing spend per month, for CAC.
    pub spend: Vec<(YearMonth, Money)>,
    /// Each account's core subscription periods (start, end), sorted: usage and voice generation
    /// read them per account, which a scan of every subscription would make quadratic.
    pub core_periods: HashMap<String, Vec<(NaiveDate, Option<NaiveDate>)>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    pub staff: usize,
    pub accounts: usize,
    pub contacts: usize,
    pub subscription_periods: usize,
    /// Tracking messages stored now (0 when the store already held usage).
    pub usage_events: usize,
}

const ENTERPRISE_TEAM: &str = "エンタープライズCS";
const MID_TEAM: &str = "ミッドマーケットCS";
const SMB_TEAM: &str = "SMB・テックタッチ";
const SALES_TEAM: &str = "セールス";

/// The CS leader, whose address the README names for the demo.
pub const DEMO_LEADER_EMAIL: &str = "kenichi.sato@kizuna-demo.example";

const STAFF: &[(&str, &str, Option<&str>)] = &[
    ("佐藤 健一", DEMO_LEADER_EMAIL, None),
    ("高橋 美咲", "misaki.takahashi@kizuna-demo.example", Some(ENTERPRISE_TEAM)),
    ("田中 翔", "sho.tanaka@kizuna-demo.example", Some(ENTERPRISE_TEAM)),
    ("伊藤 彩", "aya.ito@kizuna-demo.example", Some(ENTERPRISE_TEAM)),
    ("渡辺 大輔", "daisuke.watanabe@kizuna-demo.example", Some(MID_TEAM)),
    ("山本 優子", "yuko.yamamoto@kizuna-demo.example", Some(MID_TEAM)),
    ("中村 拓海", "takumi.nakamura@kizuna-demo.example", Some(MID_TEAM)),
    ("小林 さくら", "sakura.kobayashi@kizuna-demo.example", Some(SMB_TEAM)),
    ("加藤 陸", "riku.kato@kizuna-demo.example", Some(SMB_TEAM)),
    ("吉田 誠", "makoto.yoshida@kizuna-demo.example", Some(SALES_TEAM)),
    ("山田 由美", "yumi.yamada@kizuna-demo.example", Some(SALES_TEAM)),
];

const PLACES: &[(&str, &str)] = &[
    ("あおば", "aoba"),
    ("さくら", "sakura"),
    ("ひかり", "hikari"),
    ("みらい", "mirai"),
    ("つばさ", "tsubasa"),
    ("北斗", "hokuto"),
    ("東海", "tokai"),
    ("大和", "yamato"),
    ("瀬戸内", "setouchi"),
    ("富士", "fuji"),
    ("青空", "aozora"),
    ("若葉", "wakaba"),
    ("銀河", "ginga"),
    ("朝日", "asahi"),
    ("新星", "shinsei"),
    ("港北", "kohoku"),
    ("白樺", "shirakaba"),
    ("紅葉", "momiji"),
    ("黒潮", "kuroshio"),
    ("六甲", "rokko"),
];
const WORDS: &[(&str, &str)] = &[
    ("", ""),
    ("中央", "chuo"),
    ("総合", "sogo"),
    ("第一", "daiichi"),
    ("日本", "nihon"),
    ("グローバル", "global"),
    ("ネクスト", "next"),
    ("サン", "sun"),
    ("ライフ", "life"),
    ("スマイル", "smile"),
];
const SUFFIXES: &[(&str, &str)] = &[
    ("商事", "shoji"),
    ("製作所", "seisakusho"),
    ("物流", "logistics"),
    ("フーズ", "foods"),
    ("ホールディングス", "hd"),
    ("システムズ", "systems"),
    ("建設", "kensetsu"),
    ("メディカル", "medical"),
    ("不動産", "estate"),
    ("テクノロジー", "tech"),
    ("電機", "denki"),
    ("薬品", "yakuhin"),
    ("工業", "kogyo"),
    ("エナジー", "energy"),
];
/// How the parts of the demo's company names are read (in katakana, as a フリガナ column holds
/// them): each account keeps its name's reading in the custom field `name_kana`, which account
/// search reads (`domain::search::READING_FIELDS`), so 「もみじ」 finds 株式会社紅葉エナジー.
const READINGS: &[(&str, &str)] = &[
    ("あおば", "アオバ"),
    ("さくら", "サクラ"),
    ("ひかり", "ヒカリ"),
    ("みらい", "ミライ"),
    ("つばさ", "ツバサ"),
    ("北斗", "ホクト"),
    ("東海", "トウカイ"),
    ("大和", "ヤマト"),
    ("瀬戸内", "セトウチ"),
    ("富士", "フジ"),
    ("青空", "アオゾラ"),
    ("若葉", "ワカバ"),
    ("銀河", "ギンガ"),
    ("朝日", "アサヒ"),
    ("新星", "シンセイ"),
    ("港北", "コウホク"),
    ("白樺", "シラカバ"),
    ("紅葉", "モミジ"),
    ("黒潮", "クロシオ"),
    ("六甲", "ロッコウ"),
    ("中央", "チュウオウ"),
    ("総合", "ソウゴウ"),
    ("第一", "ダイイチ"),
    ("日本", "ニホン"),
    ("商事", "ショウジ"),
    ("製作所", "セイサクショ"),
    ("物流", "ブツリュウ"),
    ("建設", "ケンセツ"),
    ("不動産", "フドウサン"),
    ("電機", "デンキ"),
    ("薬品", "ヤクヒン"),
    ("工業", "コウギョウ"),
];

/// The reading of a name part: from [`READINGS`], or the part itself (it is already katakana).
fn reading(part: &str) -> &str {
    READINGS.iter().find(|(written, _)| *written == part).map_or(part, |(_, read)| read)
}

/// A company name no earlier account has: the picked words in the picked form, else the other
/// form, else another middle word. Only a demo of thousands of accounts runs out and repeats.
fn unused_name(
    used: &mut HashSet<String>,
    place: &(&str, &'static str),
    word: &'static (&'static str, &'static str),
    suffix: &(&str, &'static str),
    prefixed: bool,
) -> (String, &'static (&'static str, &'static str)) {
    let written = |word: &(&str, &str), prefixed: bool| match prefixed {
        true => format!("株式会社{}{}{}", place.0, word.0, suffix.0),
        false => format!("{}{}{}株式会社", place.0, word.0, suffix.0),
    };
    let words = std::iter::once(word).chain(WORDS.iter().filter(|w| w.0 != word.0));
    let candidates = words.flat_map(|w| [(written(w, prefixed), w), (written(w, !prefixed), w)]);
    let mut candidates = candidates.peekable();
    let first = candidates.peek().cloned().unwrap_or_else(|| (written(word, prefixed), word));
    let chosen = candidates.find(|(name, _)| !used.contains(name)).unwrap_or(first);
    used.insert(chosen.0.clone());
    chosen
}

/// The industry a company's name says (物流 is logistics); a holding company's is `otherwise`.
fn industry_of(suffix: &str, otherwise: &'static str) -> &'static str {
    match suffix {
        "商事" => "卸売・商社",
        "製作所" | "電機" | "工業" | "薬品" => "製造",
        "物流" => "物流",
        "フーズ" => "飲食",
        "システムズ" | "テクノロジー" => "IT・通信",
        "建設" | "不動産" => "建設・不動産",
        "メディカル" => "医療・福祉",
        "エナジー" => "エネルギー",
        _ => otherwise,
    }
}

const INDUSTRIES: &[&str] =
    &["製造", "小売", "IT・通信", "医療・福祉", "建設・不動産", "物流", "飲食", "金融", "教育", "人材"];
const REGIONS: &[&str] = &["東京", "大阪", "名古屋", "福岡", "札幌", "仙台", "広島"];
const FAMILY: &[&str] = &["鈴木", "松本", "井上", "木村", "林", "清水", "山口", "森", "池田", "橋本", "石川", "前田"];
const GIVEN: &[&str] = &["太郎", "花子", "一郎", "陽子", "健太", "真由美", "直樹", "愛", "誠", "恵"];
const ROLES: &[&str] = &["admin", "champion", "decision_maker", "end_user"];
const CHURN_REASONS: &[(&str, &str)] = &[
    ("price", "予算削減のため解約。価格改定の影響が大きい。"),
    ("product_fit", "必要な機能（勤怠連携）が不足していた。"),
    ("champion_left", "導入推進者が退職し、社内で活用が進まなかった。"),
    ("competitor", "競合製品に乗り換え。給与計算と一体の製品を選択。"),
    ("business_closed", "事業縮小に伴う解約。"),
    ("low_usage", "オンボーディングが完了せず、利用が定着しなかった。"),
];

/// The leader administers the demo workspace; sales colleagues read; CSMs edit their accounts.
fn demo_role(email: &str, team: Option<&str>) -> Role {
    match team {
        None if email == DEMO_LEADER_EMAIL => Role::Admin,
        Some(SALES_TEAM) => Role::Viewer,
        _ => Role::Csm,
    }
}

/// SplitMix64: a tiny, well-known generator that gives the same data for the same seed on
/// every platform and version (library RNGs do not promise that).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn range(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tier {
    Enterprise,
    Mid,
    Smb,
}

impl Tier {
    fn label(self) -> &'static str {
        match self {
            Tier::Enterprise => "enterprise",
            Tier::Mid => "mid",
            Tier::Smb => "smb",
        }
    }
}

fn email(raw: &str) -> Email {
    Email::parse(raw).expect("demo addresses are valid")
}

fn external(raw: String) -> ExternalId {
    ExternalId::parse(&raw).expect("demo ids are non-empty")
}

fn add_days(day: NaiveDate, days: i64) -> NaiveDate {
    if days >= 0 {
        day.checked_add_days(Days::new(days as u64)).unwrap_or(day)
    } else {
        day.checked_sub_days(Days::new(days.unsigned_abs())).unwrap_or(day)
    }
}

/// Builds the whole demo company. Pure: the same options and day give the same data.
pub fn generate(options: DemoOptions, today: NaiveDate) -> DemoData {
    let mut rng = Rng(options.seed);
    let staff: Vec<DemoStaff> = STAFF
        .iter()
        .map(|(name, email, team)| DemoStaff { name, email, team: *team, role: demo_role(email, *team) })
        .collect();
    let members = |team: &str| -> Vec<&'static str> {
        STAFF.iter().filter(|(_, _, t)| *t == Some(team)).map(|(_, email, _)| *email).collect()
    };
    let (enterprise_csms, mid_csms, smb_csms, sales) =
        (members(ENTERPRISE_TEAM), members(MID_TEAM), members(SMB_TEAM), members(SALES_TEAM));
    let horizon = today.checked_sub_months(Months::new(options.history_months)).unwrap_or(today);
    let history_days = (today - horizon).num_days();

    let mut data = DemoData {
        teams: vec![ENTERPRISE_TEAM, MID_TEAM, SMB_TEAM, SALES_TEAM],
        staff,
        accounts: Vec::with_capacity(options.accounts),
        contacts: Vec::new(),
        subscriptions: Vec::new(),
        spend: Vec::new(),
        core_periods: HashMap::new(),
    };
    let mut used_names = HashSet::new();
    for index in 0..options.accounts {
        let number = index + 1;
        let tier = match rng.below(10) {
            0 => Tier::Enterprise,
            1..=3 => Tier::Mid,
            _ => Tier::Smb,
        };
        let (csms, touch, employees) = match tier {
            Tier::Enterprise => (&enterprise_csms, TouchModel::High, rng.range(1000, 12000)),
            Tier::Mid => (&mid_csms, TouchModel::Low, rng.range(100, 999)),
            Tier::Smb => (&smb_csms, TouchModel::Tech, rng.range(5, 99)),
        };
        let place = rng.pick(PLACES);
        let picked_word = rng.pick(WORDS);
        let suffix = rng.pick(SUFFIXES);
        let prefixed = rng.chance(70);
        let (name, word) = unused_name(&mut used_names, place, picked_word, suffix, prefixed);
        let slug = [place.1, word.1, suffix.1].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join("-");
        let domain = format!("{slug}-{number}.example.jp");
        // Later starts are more likely: the customer base grows.
        let offset = ((rng.below(1000) as f64 / 1000.0).sqrt() * (history_days - 20) as f64) as i64;
        let start = add_days(horizon, offset);
        let account_id = format!("ACC-{number:06}");
        let owner = *rng.pick(csms);
        let colleague = csms.iter().copied().filter(|c| *c != owner).nth(rng.below(csms.len() as u64 - 1) as usize);
        // The CS leader sponsors every enterprise account as its sub-owner: what happens to the
        // largest customers reaches their inbox too.
        let sub_owner = if tier == Tier::Enterprise { Some(DEMO_LEADER_EMAIL) } else { colleague };

        let history = subscription_history(&mut rng, tier, employees, start, today, &account_id);
        let periods: Vec<_> = history.periods.iter().map(|r| r.terms(domain::AccountId(0))).collect();
        let period_refs: Vec<_> = periods.iter().collect();
        let figures = AccountFigures::compute(&period_refs, today, false);
        let stage = demo_stage(&mut rng, &figures, history.last_expansion, today);
        let (churn_reason, churn_note) = if figures.is_churned() {
            let (reason, note) = rng.pick(CHURN_REASONS);
            (Some(reason.to_string()), Some(note.to_string()))
        } else {
            (None, None)
        };
        let mut custom = CustomFields::new();
        custom.insert(
            "contract_owner_dept".into(),
            rng.pick(&["人事部", "総務部", "経営企画部", "情報システム部"]).to_string(),
        );
        custom.insert("name_kana".into(), [place.0, word.0, suffix.0].map(reading).concat());

        let industry = *rng.pick(INDUSTRIES);
        data.accounts.push(AccountRecord {
            line: 0,
            external_id: external(account_id.clone()),
            name,
            domain: Some(domain.clone()),
            industry: Some(industry_of(suffix.0, industry).to_string()),
            region: Some(rng.pick(REGIONS).to_string()),
            employees: Some(employees),
            tier: Some(tier.label().into()),
            touch_model: Some(touch),
            stage: Some(stage.into()),
            owner_email: Some(email(owner)),
            sub_owner_email: sub_owner.map(email),
            sales_owner_email: Some(email(sales[rng.below(sales.len() as u64) as usize])),
            created_on: Some(add_days(start, -rng.range(0, 60))),
            churn_reason,
            churn_note,
            custom,
        });
        for c in 0..rng.range(1, 3) {
            let family = rng.pick(FAMILY);
            let given = rng.pick(GIVEN);
            data.contacts.push(ContactRecord {
                line: 0,
                external_id: external(format!("CON-{number:06}-{c}")),
                account_external_id: external(account_id.clone()),
                name: Some(format!("{family} {given}")),
                email: Some(email(&format!("contact{c}@{domain}"))),
                role: Some(if c == 0 { "admin".to_string() } else { rng.pick(ROLES).to_string() }),
                phone: Some(format!("03-{:04}-{:04}", rng.below(10000), rng.below(10000))),
                is_primary: c == 0,
                custom: CustomFields::new(),
            });
        }
        data.subscriptions.extend(history.periods);
    }
    let mut month = Some(YearMonth::of(horizon));
    while let Some(current) = month.filter(|m| m.first_day() <= today) {
        // Spend scales with the customer base, with noise; about a year of CAC payback.
        let base = (options.accounts as i64 * 150_000).max(1_000_000);
        data.spend.push((current, Money(Decimal::from(base + rng.range(-base / 5, base / 5)))));
        month = current.next();
    }
    for subscription in data.subscriptions.iter().filter(|s| s.product == "core") {
        data.core_periods
            .entry(subscription.account_external_id.to_string())
            .or_default()
            .push((subscription.start_date, subscription.end_date));
    }
    for periods in data.core_periods.values_mut() {
        periods.sort();
    }
    data
}

struct History {
    periods: Vec<SubscriptionRecord>,
    last_expansion: Option<NaiveDate>,
}

/// One account's contract story: an optional free trial, the core subscription with upgrades
/// and downgrades at term boundaries, a payroll add-on for some, churn, and sometimes a return.
fn subscription_history(
    rng: &mut Rng,
    tier: Tier,
    employees: i64,
    start: NaiveDate,
    today: NaiveDate,
    account: &str,
) -> History {
    let (interval, price, discount, churn_percent) = match tier {
        Tier::Enterprise => (BillingInterval::Year, 600, rng.range(10, 20), 4),
        Tier::Mid => {
            (if rng.chance(50) { BillingInterval::Year } else { BillingInterval::Month }, 700, rng.range(0, 10), 8)
        }
        Tier::Smb => (if rng.chance(15) { BillingInterval::Year } else { BillingInterval::Month }, 800, 0, 14),
    };
    let unit_price = if interval == BillingInterval::Year { price * 12 / 10 * 10 } else { price / 10 * 10 };
    // Mid-market customers billed monthly still sign a year; small ones are month to month.
    let commitment_months = (tier == Tier::Mid && interval == BillingInterval::Month).then_some(12);
    let core_id = format!("SUB-{}-CORE", &account[4..]);
    let addon_id = format!("SUB-{}-PAYROLL", &account[4..]);
    let record = |id: &str,
                  product: &str,
                  plan: &str,
                  from: NaiveDate,
                  to: Option<NaiveDate>,
                  qty: i64,
                  price: i64,
                  discount: i64,
                  interval: BillingInterval| SubscriptionRecord {
        line: 0,
        subscription_id: external(id.to_string()),
        account_external_id: external(account.to_string()),
        product: product.into(),
        plan: Some(plan.into()),
        start_date: from,
        end_date: to,
        billing_interval: interval,
        interval_count: 1,
        quantity: qty,
        unit_price: Money(Decimal::from(price)),
        discount_percent: Decimal::from(discount),
        currency: Currency::jpy(),
        custom: CustomFields::new(),
        commitment_months,
    };
    let mut periods = Vec::new();
    let mut last_expansion = None;
    let plan = match tier {
        Tier::Enterprise => "enterprise",
        Tier::Mid => "business",
        Tier::Smb => "standard",
    };
    let mut paid_from = start;
    if tier == Tier::Smb && rng.chance(25) {
        paid_from = add_days(start, 14);
        periods.push(record(&core_id, "core", "trial", start, Some(paid_from), employees, 0, 0, interval));
    }
    let mut seats = (employees * rng.range(40, 95) / 100).max(3);
    let mut period_start = paid_from;
    let mut churned_on = None;
    let term = Months::new(interval.months().max(3));
    let mut boundary = paid_from.checked_add_months(term).unwrap_or(today);
    while boundary <= today {
        let roll = rng.below(100);
        if roll < churn_percent {
            churned_on = Some(boundary);
            break;
        }
        let change = if roll < churn_percent + 25 {
            Some(seats + (seats * rng.range(10, 40) / 100).max(1))
        } else if roll < churn_percent + 32 {
            Some((seats - (seats * rng.range(10, 30) / 100).max(1)).max(1))
        } else {
            None
        };
        if let Some(new_seats) = change {
            periods.push(record(
                &core_id,
                "core",
                plan,
                period_start,
                Some(boundary),
                seats,
                unit_price,
                discount,
                interval,
            ));
            if new_seats > seats {
                last_expansion = Some(boundary);
            }
            seats = new_seats;
            period_start = boundary;
        }
        boundary = boundary.checked_add_months(term).unwrap_or(today);
    }
    periods.push(record(&core_id, "core", plan, period_start, churned_on, seats, unit_price, discount, interval));

    let addon_start = paid_from.checked_add_months(Months::new(rng.range(2, 12) as u32)).unwrap_or(today);
    let addon_ends = churned_on.unwrap_or(today);
    if tier != Tier::Smb && rng.chance(35) && addon_start < addon_ends {
        periods.push(record(
            &addon_id,
            "payroll",
            "payroll",
            addon_start,
            churned_on,
            seats,
            300,
            0,
            BillingInterval::Month,
        ));
        last_expansion = last_expansion.max(Some(addon_start));
    }
    if let Some(left) = churned_on {
        let back = left.checked_add_months(Months::new(rng.range(2, 8) as u32)).unwrap_or(today);
        if rng.chance(25) && back < today {
            periods.push(record(
                &core_id,
                "core",
                plan,
                back,
                None,
                (seats / 2).max(1),
                unit_price,
                discount,
                interval,
            ));
        }
    }
    History { periods, last_expansion }
}

fn demo_stage(
    rng: &mut Rng,
    figures: &AccountFigures,
    last_expansion: Option<NaiveDate>,
    today: NaiveDate,
) -> &'static str {
    if figures.is_churned() {
        return "churned";
    }
    let Some(first_paying) = figures.first_paying_day else {
        return "onboarding";
    };
    if (today - first_paying).num_days() < 90 {
        return "onboarding";
    }
    if figures.next_renewal_date.is_some_and(|renewal| (renewal - today).num_days() <= 60) && rng.chance(70) {
        return "renewal";
    }
    if rng.chance(6) {
        return "at_risk";
    }
    if last_expansion.is_some_and(|day| (today - day).num_days() <= 180) {
        return "expansion";
    }
    "adoption"
}

/// What the demo's CS team calls its custom fields on screen.
fn demo_field_labels() -> std::collections::BTreeMap<String, FieldLabel> {
    let label = |ja: &str, en: &str| FieldLabel { ja: Some(ja.into()), en: Some(en.into()) };
    [
        ("contract_owner_dept".to_owned(), label("契約担当部署", "Contracting department")),
        ("name_kana".to_owned(), label("社名（カナ）", "Name reading (kana)")),
    ]
    .into()
}

impl App {
    /// Fills the store with the demo company (idempotent: a second run changes nothing).
    pub async fn load_demo(&self, options: DemoOptions) -> Result<DemoSummary, AppError> {
        let data = generate(options, self.today());
        let store = &self.store;
        let mut team_ids = HashMap::new();
        for team in store.list_teams().await? {
            team_ids.insert(team.name.clone(), team.id);
        }
        for name in &data.teams {
            if !team_ids.contains_key(*name) {
                let team = store.create_team(&TeamInput { name: name.to_string() }).await?;
                team_ids.insert(team.name, team.id);
            }
        }
        let existing: HashMap<Email, domain::UserId> =
            store.list_users().await?.into_iter().map(|u| (u.input.email, u.id)).collect();
        for member in &data.staff {
            let input = StaffUserInput {
                email: email(member.email),
                name: member.name.to_string(),
                team_id: member.team.and_then(|t| team_ids.get(t).copied()),
                role: member.role,
                active: true,
            };
            match existing.get(&input.email) {
                Some(id) => store.update_user(*id, &input).await.map(drop)?,
                None => store.create_user(&input).await.map(drop)?,
            }
        }
        store.import_accounts(&data.accounts).await?;
        if self.settings().custom_field_labels.is_empty() {
            let settings = WorkspaceSettings { custom_field_labels: demo_field_labels(), ..self.settings() };
            self.update_settings(&crate::Actor::System("demo"), settings).await?;
        }
        store.import_contacts(&data.contacts).await?;
        store.import_subscriptions(&data.subscriptions).await?;
        let spend: Vec<(String, Money)> =
            data.spend.iter().map(|(month, amount)| (month.to_string(), *amount)).collect();
        store.import_spend(&spend).await?;
        self.refresh_all_figures().await?;
        store.apply_catalog(&demo_catalog().features, false, self.zone()).await?;
        let usage_events = if options.usage {
            let accounts = options.usage_accounts.unwrap_or(usize::MAX).min(data.accounts.len());
            self.load_demo_usage(&data, accounts, options.seed).await?
        } else {
            0
        };
        if options.usage && !self.store.has_nps().await? && !self.store.has_tickets().await? {
            self.load_demo_voice(&data, options.seed).await?;
        }
        if options.usage && self.store.playbooks().await?.is_empty() {
            self.load_demo_playbooks().await?;
        }
        if options.usage && self.store.onboarding_templates().await?.is_empty() {
            self.load_demo_onboarding().await?;
        }
        if options.usage && self.store.pulses(None).await?.is_empty() {
            self.load_demo_pulses(&data, options.seed).await?;
        }
        if options.usage && self.store.list_requests().await?.is_empty() {
            self.load_demo_requests(&data, options.seed).await?;
        }
        let new_forecasts = options.usage && self.store.latest_forecast_snapshot_day().await?.is_none();
        if new_forecasts {
            self.load_demo_forecast_history(options.seed).await?;
        }
        // Written straight to the store: every account's signals are read again.
        self.everything_changed().await?;
        let today = self.today();
        if options.usage && self.store.grades_on(today, None).await?.is_empty() {
            self.backfill_health_history(&history_days(today)).await?;
            // As if Kizuna had been running all week: the grades that fell in it start their
            // playbooks (the at-risk follow-up), not only today's.
            let week: Vec<_> = self.grade_drops(7, None).await?.iter().map(|d| d.trigger_event()).collect();
            self.fire_triggers(&week).await?;
        }
        if new_forecasts {
            // After the scores: each CSM calls from the grade they see.
            self.load_demo_renewal_calls(options.seed).await?;
        }
        self.store.refresh_statistics().await?;
        Ok(DemoSummary {
            staff: data.staff.len(),
            accounts: data.accounts.len(),
            contacts: data.contacts.len(),
            subscription_periods: data.subscriptions.len(),
            usage_events,
        })
    }

    /// The demo's segment of last season's year-end adjustment users and its four playbooks
    /// (`examples/playbooks/`): at-risk follow-up, renewal in 90 days, the outreach every
    /// 15 October to that segment, and telling customers a request they asked for shipped.
    async fn load_demo_playbooks(&self) -> Result<(), AppError> {
        let system = crate::Actor::System("demo");
        let segment = self
            .create_segment(
                &system,
                &store::SegmentInput {
                    name: "前シーズンに年末調整を使った顧客".into(),
                    name_en: Some("Used year-end adjustment last season".into()),
                    rule: DEMO_YEAR_END_SEGMENT.into(),
                    description: Some("年末調整シーズン前の連絡の対象".into()),
                },
            )
            .await?;
        for (file, text) in DEMO_PLAYBOOKS {
            let mut definition = crate::playbooks::parse_playbook_toml(file, text)?;
            if matches!(definition.trigger, domain::playbooks::Trigger::YearlyOn { .. }) {
                definition.segment_id = Some(segment.id);
            }
            self.save_playbook(&system, None, definition).await?;
        }
        self.load_demo_tech_touch(segment.id).await
    }

    /// A slide-in inviting last season's year-end adjustment users to start this season (with a
    /// 10 % holdout, measured on the submissions it should bring) and a quarterly NPS asked in
    /// the product and by email: what a CS team would set up first. Nobody has seen or answered
    /// them yet; the product's users do once it loads kizuna.js.
    async fn load_demo_tech_touch(&self, year_end_segment: i64) -> Result<(), AppError> {
        let system = crate::Actor::System("demo");
        let message = domain::tech_touch::Message::parse(serde_json::json!({
            "name": "年末調整シーズンのご案内",
            "style": "slide_in",
            "title": "年末調整の準備を始めましょう",
            "title_en": "Time to prepare year-end adjustment",
            "body": "従業員への申告書の配布は 11 月中がおすすめです。昨年の設定をそのまま使えます。",
            "body_en": "Send the declaration forms to employees in November; last year's settings carry over.",
            "button": "手順を見る",
            "button_en": "See how",
            "button_url": "/help/year-end-adjustment",
            "segment_id": year_end_segment,
            "max_shows": 3,
            "min_days_between": 2,
            "holdout_percent": 10,
            "goal_event": "Year End Adjustment Submitted",
        }))
        .map_err(AppError::Invalid)?;
        self.save_message(&system, None, message).await?;
        let survey = domain::tech_touch::Survey::parse(
            serde_json::json!({"name": "四半期 NPS", "kind": "nps", "every_days": 90}),
            self.today(),
        )
        .map_err(AppError::Invalid)?;
        self.save_survey(&system, None, survey).await?;
        Ok(())
    }

    /// The standard onboarding template (`examples/onboarding.toml`), active for accounts that
    /// began paying in the last 120 days; their plans start (and rules complete milestones) at
    /// the health recompute that follows.
    async fn load_demo_onboarding(&self) -> Result<(), AppError> {
        let mut template: domain::onboarding::OnboardingTemplate =
            crate::playbooks::parse_toml(DEMO_ONBOARDING.0, DEMO_ONBOARDING.1)?;
        template.active_from = self.today().checked_sub_days(chrono::Days::new(DEMO_ONBOARDING_DAYS));
        self.save_onboarding_template(&crate::Actor::System("demo"), None, template).await?;
        Ok(())
    }

    /// A year of renewal forecasts as the CS team would have called them: a snapshot the day
    /// before each of the last twelve months began, each of that month's renewals called from how
    /// it ended, with the misses a team makes (a renewal that churned was seen at risk more often
    /// than not; one in twenty that renewed was called at risk). Without it the forecast accuracy on
    /// /renewals and in the KPI tree would have nothing to show until a team had worked a year.
    async fn load_demo_forecast_history(&self, seed: u64) -> Result<(), AppError> {
        use domain::renewals::{ForecastCategory, RenewalOutcome};
        let mut rng = Rng(seed ^ 0x00F0_2ECA_57ED);
        let today = self.today();
        let this_month = chrono::Datelike::with_day(&today, 1).unwrap_or(today);
        for back in (1..=12).rev() {
            let Some(month) = this_month.checked_sub_months(Months::new(back)) else { continue };
            let (Some(taken_on), Some(end)) =
                (month.pred_opt(), month.checked_add_months(Months::new(1)).and_then(|m| m.pred_opt()))
            else {
                continue;
            };
            let rows: Vec<store::ForecastSnapshotRow> = self
                .renewal_items(None, month, end)
                .await?
                .into_iter()
                .filter(|item| item.arr.0 > rust_decimal::Decimal::ZERO)
                .map(|item| {
                    let forecast = match item.outcome() {
                        Some(RenewalOutcome::Churned) => match rng.below(100) {
                            0..=59 => ForecastCategory::AtRisk,
                            60..=89 => ForecastCategory::Likely,
                            _ => ForecastCategory::Commit,
                        },
                        _ => match rng.below(100) {
                            0..=69 => ForecastCategory::Commit,
                            70..=94 => ForecastCategory::Likely,
                            _ => ForecastCategory::AtRisk,
                        },
                    };
                    store::ForecastSnapshotRow {
                        taken_on,
                        account_id: item.account_id,
                        renewal_date: item.date,
                        arr: item.arr,
                        forecast: Some(forecast),
                        churn_probability: None,
                    }
                })
                .collect();
            self.store.save_forecast_snapshot(taken_on, &rows).await?;
        }
        Ok(())
    }

    /// The calls a CS team has made on the renewals of the next `DEMO_CALLED_DAYS`, from the
    /// grade each CSM sees: a healthy customer mostly committed, a neutral one likely, an at-risk
    /// one at risk, one renewal in five not called yet. Without them every coming renewal on
    /// /renewals would be uncalled beside a year of past calls.
    async fn load_demo_renewal_calls(&self, seed: u64) -> Result<(), AppError> {
        use domain::renewals::{ForecastCategory, RenewalCall};
        let mut rng = Rng(seed ^ 0x0CA1_1ED0);
        let today = self.today();
        let Some(until) = today.checked_add_days(Days::new(DEMO_CALLED_DAYS)) else { return Ok(()) };
        let items: Vec<crate::renewals::RenewalItem> = self
            .renewal_items(None, today, until)
            .await?
            .into_iter()
            .filter(|item| item.arr.0 > Decimal::ZERO && item.call.is_none())
            .collect();
        let ids: Vec<domain::AccountId> = items.iter().map(|item| item.account_id).collect();
        let accounts: HashMap<domain::AccountId, domain::account::Account> =
            self.store.accounts_by_ids(&ids).await?.into_iter().map(|a| (a.id, a)).collect();
        for item in items {
            let Some(account) = accounts.get(&item.account_id) else { continue };
            let (skip, roll) = (rng.below(5) == 0, rng.below(100));
            if skip {
                continue;
            }
            let (forecast, note) = match account.health.grade.as_deref() {
                Some("at_risk") if roll < 70 => {
                    (ForecastCategory::AtRisk, "利用が落ちている。更新前に決裁者との面談を調整中")
                }
                Some("at_risk") => (ForecastCategory::Likely, "課題は把握済み。改善計画を先方と共有した"),
                Some("neutral") if roll < 60 => (ForecastCategory::Likely, "予算は確保の見込み。稟議の結果待ち"),
                Some("neutral") if roll < 80 => (ForecastCategory::AtRisk, "主担当の異動で利用が不安定"),
                Some("neutral") => (ForecastCategory::Commit, "継続の意向を担当者から確認済み"),
                Some(domain::health::UNKNOWN_GRADE) | None => continue,
                Some(_) if roll < 75 => (ForecastCategory::Commit, "継続の意向を担当者から確認済み"),
                Some(_) => (ForecastCategory::Likely, "来期の予算を確認中"),
            };
            let call = RenewalCall {
                forecast: Some(forecast),
                forecast_note: Some(note.into()),
                outcome: None,
                churn_reason: None,
                outcome_note: None,
            };
            let stored = store::StoredRenewalCall {
                account_id: item.account_id,
                renewal_date: item.date,
                call,
                updated_by: account.input.owner_id,
                updated_at: chrono::Utc::now(),
            };
            self.store.save_renewal_call(&stored).await?;
        }
        Ok(())
    }

    /// The CSM's own judgement on the accounts they moved to stage "at risk": a recent pulse of
    /// 1 or 2 with its reason, as a CSM records it when they change the stage. Without it the
    /// demo would show accounts in stage "at risk" graded healthy.
    async fn load_demo_pulses(&self, data: &DemoData, seed: u64) -> Result<(), AppError> {
        let today = self.today();
        let at_risk: Vec<&AccountRecord> =
            data.accounts.iter().filter(|a| a.stage.as_deref() == Some("at_risk")).collect();
        let ids = self
            .store
            .account_ids_by_external_id(&at_risk.iter().map(|a| a.external_id.clone()).collect::<Vec<_>>())
            .await?;
        let mut rng = Rng(seed ^ 0x0050_15E5);
        for account in at_risk {
            let Some(id) = ids.get(&account.external_id) else { continue };
            let author = match &account.owner_email {
                Some(email) => self.store.user_by_email(email).await?.map(|u| u.id),
                None => None,
            };
            let (reasons, comment) = if rng.chance(50) {
                (vec![PulseReason::LowEngagement], "利用が落ちていて、定例も2回続けて流れた")
            } else {
                (vec![PulseReason::ChampionLeft], "推進者が異動し、後任と話せていない")
            };
            let input = PulseInput { score: rng.range(1, 2), reasons, comment: Some(comment.into()) };
            let day = today.checked_sub_days(Days::new(rng.below(20) + 1)).unwrap_or(today);
            self.store.add_pulse(*id, author, &input, day).await?;
        }
        Ok(())
    }

    /// Product requests heard from the demo's customers, each at its own stage, with the
    /// customers who asked in their words.
    async fn load_demo_requests(&self, data: &DemoData, seed: u64) -> Result<(), AppError> {
        use domain::feedback::{
            EvidenceInput, EvidenceSource, RequestImportance, RequestInput, RequestStatus, StatusChange,
        };
        let system = crate::Actor::System("demo");
        let mut rng = Rng(seed ^ 0x00FE_EDBA);
        let customers: Vec<&AccountRecord> = data.accounts.iter().filter(|a| a.churn_reason.is_none()).collect();
        if customers.is_empty() {
            return Ok(());
        }
        let sources = [EvidenceSource::Meeting, EvidenceSource::Ticket, EvidenceSource::Survey, EvidenceSource::Csm];
        for (title, area, feature, status, reason, askers, quotes) in DEMO_REQUESTS {
            let input = RequestInput {
                title: title.to_string(),
                description: None,
                product_area: Some(area.to_string()),
                owner_id: None,
                feature_key: feature.map(str::to_owned),
            };
            let filed = chrono::Utc::now() - chrono::Duration::days(DEMO_SHIPPED_DAYS_AGO + 60);
            let request = self.create_request_at(&system, input, filed).await?;
            let asked = (askers * customers.len()).div_ceil(300).max(1);
            for _ in 0..asked {
                let account = rng.pick(&customers);
                let importance = match rng.below(10) {
                    0..=1 => RequestImportance::Blocker,
                    2..=6 => RequestImportance::Important,
                    _ => RequestImportance::NiceToHave,
                };
                let evidence = EvidenceInput {
                    account: domain::AccountRef::External(account.external_id.clone()),
                    contact_id: None,
                    importance,
                    source: *rng.pick(&sources),
                    quote: Some(rng.pick(quotes).to_string()),
                };
                self.add_request_evidence(&system, request.id, evidence).await?;
            }
            if *status != RequestStatus::New {
                let change = StatusChange { status: *status, reason: reason.map(str::to_owned) };
                let days_ago = if *status == RequestStatus::Shipped { DEMO_SHIPPED_DAYS_AGO } else { 3 };
                let at = chrono::Utc::now() - chrono::Duration::days(days_ago);
                self.change_request_status_at(&system, request.id, change, at).await?;
            }
        }
        Ok(())
    }

    /// Stores the demo's NPS answers and tickets through the same import path as customer files.
    async fn load_demo_voice(&self, data: &DemoData, seed: u64) -> Result<(), AppError> {
        let today = self.today();
        let (mut answers, mut tickets) = (Vec::new(), Vec::new());
        let contacts = voice::primary_contacts(data);
        for index in 0..data.accounts.len() {
            let (a, t) = voice::account_voice(data, index, seed, today, &contacts);
            answers.extend(a);
            tickets.extend(t);
        }
        self.store.import_nps(&answers).await?;
        self.store.import_tickets(&tickets).await?;
        Ok(())
    }

    /// Stores the demo's usage through the real ingest path, unless the store already holds
    /// usage (usage depends on the day it is generated, so a later run would add a second story).
    async fn load_demo_usage(&self, data: &DemoData, accounts: usize, seed: u64) -> Result<usize, AppError> {
        if !self.store.events(None, 1).await?.is_empty() {
            return Ok(0);
        }
        let today = self.today();
        let mut pending: Vec<domain::tracking::Message> = Vec::new();
        let mut stored = 0;
        for index in 0..accounts {
            pending.extend(usage::account_messages(data, index, seed, today));
            if pending.len() >= 5_000 || index + 1 == accounts {
                stored += self.store.ingest(&pending, chrono::Utc::now(), false, self.zone()).await?.stored;
                pending.clear();
            }
        }
        Ok(stored)
    }
}

const DEMO_YEAR_END_SEGMENT: &str = "used_last_season(\"year_end_adjustment\") and arr > 0";

const DEMO_ONBOARDING: (&str, &str) =
    ("examples/onboarding.toml", include_str!("../../../../examples/onboarding.toml"));
/// Demo accounts whose first paying day is this recent get an onboarding plan.
const DEMO_ONBOARDING_DAYS: u64 = 120;
/// How far ahead the demo's CSMs have called their renewals.
const DEMO_CALLED_DAYS: u64 = 60;

/// The demo's product requests: title, product area, catalog feature, status, the reason shown
/// with it, how many of every 300 customers asked, and what they said.
type DemoRequest = (
    &'static str,
    &'static str,
    Option<&'static str>,
    domain::feedback::RequestStatus,
    Option<&'static str>,
    usize,
    &'static [&'static str],
);

/// How long ago the demo's shipped request shipped: long enough for its adoption report.
const DEMO_SHIPPED_DAYS_AGO: i64 = 45;

const DEMO_REQUESTS: &[DemoRequest] = {
    use domain::feedback::RequestStatus::*;
    &[
        (
            "Salesforce との双方向連携",
            "連携",
            None,
            Planned,
            Some("来期第1四半期に着手予定"),
            14,
            &["商談の情報を二重入力している", "営業が Salesforce しか見ないので同期したい"],
        ),
        (
            "給与明細の一括 PDF ダウンロード",
            "給与明細",
            None,
            InProgress,
            None,
            22,
            &["毎月100件を手で落としている", "監査で過去分をまとめて出したい"],
        ),
        (
            "年末調整の進捗をメールでリマインド",
            "年末調整",
            Some("year_end_adjustment"),
            Shipped,
            Some("11月リリース。設定 > 通知 から有効にできます。"),
            18,
            &["未提出の社員を一人ずつ追いかけている", "締切前に自動で催促したい"],
        ),
        (
            "SAML シングルサインオン",
            "認証",
            None,
            UnderReview,
            None,
            9,
            &["情シスの規程で SSO が必須", "Okta でログインさせたい"],
        ),
        ("勤怠データの CSV 取り込み", "連携", None, New, None, 11, &["勤怠システムから毎月手で転記している"]),
        (
            "スマホアプリで明細確認",
            "給与明細",
            None,
            Declined,
            Some("スマートフォンのブラウザ表示を改善して対応します。アプリは今期の計画にありません。"),
            7,
            &["現場の社員は PC を持っていない"],
        ),
        (
            "部署ごとの細かい権限設定",
            "権限管理",
            None,
            New,
            None,
            6,
            &["支店長には自分の支店だけ見せたい", "人事以外に給与額を見せたくない"],
        ),
    ]
};

const DEMO_PLAYBOOKS: [(&str, &str); 4] = [
    ("examples/playbooks/at-risk.toml", include_str!("../../../../examples/playbooks/at-risk.toml")),
    ("examples/playbooks/renewal-90.toml", include_str!("../../../../examples/playbooks/renewal-90.toml")),
    (
        "examples/playbooks/year-end-outreach.toml",
        include_str!("../../../../examples/playbooks/year-end-outreach.toml"),
    ),
    ("examples/playbooks/request-shipped.toml", include_str!("../../../../examples/playbooks/request-shipped.toml")),
];

/// The past days the demo scores: weekly over the last 13 weeks, then each of the last 6 days.
fn history_days(today: NaiveDate) -> Vec<NaiveDate> {
    let back = |days: u64| today.checked_sub_days(chrono::Days::new(days));
    (1..=13).rev().map(|week| back(week * 7)).chain((1..=6).rev().map(back)).flatten().collect()
}

impl App {
    /// Gives the demo's CS leader (an admin) a password so that someone can sign in: `preset`
    /// when given (e.g. for browser tests), otherwise a new random one each time.
    pub async fn demo_admin_password(&self, preset: Option<&str>) -> Result<(Email, String), AppError> {
        let password = match preset {
            Some(password) => password.to_owned(),
            None => crate::auth::new_secret("")?.chars().take(16).collect(),
        };
        let leader = email(DEMO_LEADER_EMAIL);
        let user = self
            .store
            .user_by_email(&leader)
            .await?
            .ok_or_else(|| AppError::NotFound { entity: store::Entity::User, id: DEMO_LEADER_EMAIL.to_owned() })?;
        self.create_user_with_password(&crate::Actor::System("demo"), &user.input, &password).await?;
        Ok((leader, password))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_history_is_weekly_for_a_quarter_then_daily_for_the_last_week() {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let days = history_days(day("2026-11-23"));
        assert_eq!(days.len(), 19);
        assert_eq!(
            (days[0], days[12], days[13], days[18]),
            (day("2026-08-24"), day("2026-11-16"), day("2026-11-17"), day("2026-11-22"))
        );
        assert!(days.windows(2).all(|w| w[0] < w[1]));
    }
    use domain::subscription::overlapping_periods;

    fn today() -> NaiveDate {
        "2026-11-23".parse().unwrap()
    }

    #[test]
    fn same_seed_and_day_give_the_same_company() {
        let a = generate(DemoOptions { accounts: 50, seed: 7, ..DemoOptions::default() }, today());
        let b = generate(DemoOptions { accounts: 50, seed: 7, ..DemoOptions::default() }, today());
        assert_eq!(a.accounts, b.accounts);
        assert_eq!(a.subscriptions, b.subscriptions);
        let c = generate(DemoOptions { accounts: 50, seed: 8, ..DemoOptions::default() }, today());
        assert_ne!(a.accounts, c.accounts);
    }

    #[test]
    fn every_demo_account_keeps_the_reading_of_its_name_for_search() {
        let data = generate(DemoOptions { accounts: 200, seed: 42, ..DemoOptions::default() }, today());
        for account in &data.accounts {
            let kana = &account.custom["name_kana"];
            assert!(kana.chars().all(|c| ('\u{30A1}'..='\u{30FC}').contains(&c)), "{}: {kana}", account.name);
        }
        let momiji = data.accounts.iter().find(|a| a.name.contains("紅葉")).expect("a 紅葉 company");
        assert!(momiji.custom["name_kana"].starts_with("モミジ"));
    }

    #[test]
    fn no_two_demo_accounts_share_a_name_and_each_industry_fits_its_name() {
        let data = generate(DemoOptions::default(), today());
        let names: HashSet<&str> = data.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names.len(), data.accounts.len());
        for account in data.accounts.iter().filter(|a| a.name.contains("物流")) {
            assert_eq!(account.industry.as_deref(), Some("物流"), "{}", account.name);
        }
    }

    #[test]
    fn demo_has_the_story_a_cs_team_expects() {
        let data = generate(DemoOptions::default(), today());
        assert_eq!(data.accounts.len(), 300);
        let tiers: HashSet<_> = data.accounts.iter().filter_map(|a| a.tier.clone()).collect();
        assert_eq!(tiers.len(), 3);
        assert!(data.accounts.iter().all(|a| a.owner_email.is_some() && a.sub_owner_email.is_some()));
        let churned = data.accounts.iter().filter(|a| a.churn_reason.is_some()).count();
        assert!(churned > 10, "some accounts churned with a reason: {churned}");
        let annual = data.subscriptions.iter().filter(|s| s.billing_interval == BillingInterval::Year).count();
        let monthly = data.subscriptions.iter().filter(|s| s.billing_interval == BillingInterval::Month).count();
        assert!(annual > 0 && monthly > 0);
        assert!(data.subscriptions.iter().any(|s| s.product == "payroll"), "add-on cross-sell");
        assert!(data.subscriptions.iter().any(|s| s.unit_price == Money::ZERO), "free trials");
        let mut by_sub: HashMap<&ExternalId, Vec<&SubscriptionRecord>> = HashMap::new();
        for s in &data.subscriptions {
            by_sub.entry(&s.subscription_id).or_default().push(s);
        }
        let reactivated =
            by_sub.values().any(|rows| rows.windows(2).any(|w| w[0].end_date.is_some_and(|end| end < w[1].start_date)));
        assert!(reactivated, "a customer left and came back");
        let first = data.accounts.iter().filter_map(|a| a.created_on).min().unwrap();
        assert!((today() - first).num_days() > 900, "history spans about three years");
        let terms: Vec<_> = data.subscriptions.iter().map(|r| r.terms(domain::AccountId(0))).collect();
        let refs: Vec<_> = terms.iter().collect();
        assert!(overlapping_periods(&refs).is_empty(), "generated periods never overlap");
    }
}
