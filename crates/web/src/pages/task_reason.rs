//! The tasks page's "why" panel: a task's stored reason (`domain::tasks::why`) said as sentences
//! in the reader's language — who created it (a playbook by name, linked to its page), what
//! started it, and the figures of that moment with money, dates, grades and stages formatted for
//! the reader. Data this version does not understand is listed as it was stored.

use super::format;
use domain::health::GradeBand;
use domain::i18n::{Lang, Text};
use domain::playbooks::Trigger;
use domain::tasks::why::{Fact, Origin};
use domain::tasks::TaskReason;
use domain::usage::Tz;
use domain::{Currency, Money};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;
use std::str::FromStr;

/// A piece of a sentence, linked when it names a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub text: String,
    pub href: Option<String>,
}

impl Part {
    fn text(text: impl Into<String>) -> Part {
        Part { text: text.into(), href: None }
    }
}

/// What the panel shows.
#[derive(Debug, Clone, PartialEq)]
pub struct WhyPanel {
    /// Who created the task and why, as one sentence (the playbook and segment linked).
    pub lead: Vec<Part>,
    /// One sentence per figure of the moment.
    pub facts: Vec<String>,
    /// Data Kizuna does not describe: (label, value) as stored.
    pub other: Vec<(String, String)>,
}

/// What the sentences need besides the reason: the names of playbooks and segments that still
/// exist (by id), the grades, the currency and the time zone.
pub struct Context<'a> {
    pub playbooks: &'a HashMap<i64, String>,
    pub segments: &'a HashMap<i64, String>,
    pub grades: &'a [GradeBand],
    pub currency: &'a Currency,
    pub zone: Tz,
    pub lang: Lang,
}

impl Context<'_> {
    fn pick(&self, ja: impl Into<String>, en: impl Into<String>) -> String {
        self.lang.pick(ja.into(), en.into())
    }

    fn money(&self, amount: Money) -> String {
        format::money(amount, self.currency, self.lang)
    }

    fn day(&self, day: chrono::NaiveDate) -> String {
        format::day_in_sentence(day, self.lang)
    }

    /// A grade's name in the reader's language; a key the configuration no longer has, as written.
    fn grade(&self, key: &str) -> String {
        match self.grades.iter().find(|g| g.key == key) {
            Some(band) if self.lang == Lang::Ja => band.name_ja.clone(),
            Some(band) => band.name_en.clone(),
            None => key.to_owned(),
        }
    }

    fn segment(&self, id: i64) -> Part {
        match self.segments.get(&id) {
            Some(name) => Part { text: name.clone(), href: Some(format!("/segments/{id}")) },
            None => Part::text(self.pick(format!("セグメント {id}（削除済み）"), format!("segment {id} (deleted)"))),
        }
    }

    fn days(&self, n: i64) -> String {
        super::format::days(n, self.lang)
    }
}

/// The panel of one task's reason.
pub fn panel(reason: &TaskReason, cx: &Context<'_>) -> WhyPanel {
    let why = reason.why();
    let summary = reason.summary.pick(cx.lang).to_owned();
    let lead = match &why.origin {
        Origin::Playbook { id, name } => {
            let playbook = match (cx.playbooks.get(id), name) {
                (Some(current), _) => Part { text: current.clone(), href: Some(format!("/playbooks/{id}")) },
                (None, Some(then)) => Part::text(cx.pick(format!("{then}（削除済み）"), format!("{then} (deleted)"))),
                (None, None) => Part::text(cx.pick(format!("ID {id}（削除済み）"), format!("ID {id} (deleted)"))),
            };
            let mut lead = vec![Part::text(cx.pick("プレイブック「", "Created by the playbook “")), playbook];
            match &why.trigger {
                Some(trigger) => {
                    lead.push(Part::text(cx.pick("」が作成しました。きっかけ: ", "” because ")));
                    lead.extend(trigger_parts(trigger, cx));
                    lead.push(Part::text(cx.pick("。", ".")));
                }
                None => lead.push(Part::text(cx.pick(format!("」が作成しました。{summary}"), format!("”: {summary}")))),
            }
            lead
        }
        Origin::Manual | Origin::Other(_) => vec![Part::text(summary)],
    };
    let mut facts = Vec::new();
    let mut other = Vec::new();
    for fact in &why.facts {
        match fact_sentence(fact, cx) {
            Some(sentence) => facts.push(sentence),
            None => {
                if let Fact::Other { key, value } = fact {
                    other.push((data_label(key, cx.lang), data_value(key, value, cx.currency, cx.lang)));
                }
            }
        }
    }
    WhyPanel { lead, facts, other }
}

/// What started the playbook, as the end of "… because …" / 「きっかけ: …」.
fn trigger_parts(trigger: &Trigger, cx: &Context<'_>) -> Vec<Part> {
    let text = |ja: String, en: String| vec![Part::text(cx.pick(ja, en))];
    match trigger {
        Trigger::RenewalWithin { days } => {
            let days = cx.days(i64::from(*days));
            text(format!("更新日まで {days}以内になりました"), format!("the renewal came within {days}"))
        }
        Trigger::GradeChanged { to: Some(to), .. } => {
            let to = cx.grade(to);
            text(format!("ヘルスグレードが「{to}」になりました"), format!("the health grade became {to}"))
        }
        Trigger::GradeChanged { .. } => text("ヘルスグレードが変わりました".into(), "the health grade changed".into()),
        Trigger::EnteredSegment { segment_id } => vec![
            Part::text(cx.pick("セグメント「", "the account entered the segment “")),
            cx.segment(*segment_id),
            Part::text(cx.pick("」に入りました", "”")),
        ],
        Trigger::YearlyOn { date } => {
            let on = yearly_day(date, cx.lang);
            text(format!("毎年の実行日（{on}）になりました"), format!("its yearly date ({on}) came"))
        }
        Trigger::NoActivityFor { days } => {
            let days = cx.days(i64::from(*days));
            text(format!("{days}間、利用がありませんでした"), format!("no one had used the product for {days}"))
        }
        Trigger::NpsDetractor => text("NPS で 0〜6 の回答がありました".into(), "an NPS answer of 0–6 came in".into()),
        Trigger::RequestShipped => text(
            "この顧客が依頼した製品リクエストがリリースされました".into(),
            "a product request this account asked for shipped".into(),
        ),
        Trigger::MilestoneOverdue { milestone } => match milestone {
            Some(key) => text(
                format!("オンボーディングのマイルストーン「{key}」が予定日を過ぎました"),
                format!("the onboarding milestone “{key}” passed its expected day"),
            ),
            None => text(
                "オンボーディングのマイルストーンが予定日を過ぎました".into(),
                "an onboarding milestone passed its expected day".into(),
            ),
        },
    }
}

/// `MM-DD` as 「12月1日」 / "Dec 1"; as written if it is not a day.
fn yearly_day(date: &str, lang: Lang) -> String {
    match chrono::NaiveDate::parse_from_str(&format!("2000-{date}"), "%Y-%m-%d") {
        Ok(day) if lang == Lang::Ja => day.format("%-m月%-d日").to_string(),
        Ok(day) => day.format("%b %-d").to_string(),
        Err(_) => date.to_owned(),
    }
}

/// One figure as a sentence; `None` for data this version does not describe.
fn fact_sentence(fact: &Fact, cx: &Context<'_>) -> Option<String> {
    let score = |s: f64| format!("{s:.1}");
    Some(match fact {
        Fact::GradeChanged { from, to, score: value } => {
            let (from, to) = (cx.grade(from), cx.grade(to));
            match value {
                Some(s) => cx.pick(
                    format!("ヘルスグレードが「{from}」から「{to}」に変わりました（スコア {}）。", score(*s)),
                    format!("The health grade changed from {from} to {to} (score {}).", score(*s)),
                ),
                None => cx.pick(
                    format!("ヘルスグレードが「{from}」から「{to}」に変わりました。"),
                    format!("The health grade changed from {from} to {to}."),
                ),
            }
        }
        Fact::Health { score: Some(s), grade: Some(grade) } => {
            let grade = cx.grade(grade);
            cx.pick(
                format!("ヘルススコアは {}（{grade}）でした。", score(*s)),
                format!("The health score was {} ({grade}).", score(*s)),
            )
        }
        Fact::Health { score: Some(s), grade: None } => {
            cx.pick(format!("ヘルススコアは {} でした。", score(*s)), format!("The health score was {}.", score(*s)))
        }
        Fact::Health { score: None, grade: Some(grade) } => {
            let grade = cx.grade(grade);
            cx.pick(format!("ヘルスグレードは「{grade}」でした。"), format!("The health grade was {grade}."))
        }
        Fact::Health { score: None, grade: None } => return None,
        Fact::Drivers(drivers) => {
            let listed: Vec<&str> = drivers.iter().map(|d| d.pick(cx.lang)).collect();
            cx.pick(format!("主な要因: {}。", listed.join("、")), format!("Main drivers: {}.", listed.join("; ")))
        }
        Fact::Renewal { on, days_left } => {
            let day = cx.day(*on);
            match days_left {
                Some(0) => cx.pick(
                    format!("次回の更新日は{day}で、当日でした。"),
                    format!("The next renewal was on {day}, that day."),
                ),
                Some(n) if *n > 0 => {
                    let days = cx.days(*n);
                    cx.pick(
                        format!("次回の更新日は{day}で、あと {days}でした。"),
                        format!("The next renewal was on {day}, {days} away."),
                    )
                }
                _ => cx.pick(format!("次回の更新日は{day}でした。"), format!("The next renewal was on {day}.")),
            }
        }
        Fact::Arr(amount) => {
            let amount = cx.money(*amount);
            cx.pick(format!("ARR は {amount} でした。"), format!("ARR was {amount}."))
        }
        Fact::Mrr(amount) => {
            let amount = cx.money(*amount);
            cx.pick(format!("MRR は {amount} でした。"), format!("MRR was {amount}."))
        }
        Fact::Stage(key) => {
            let stage = format::stage(key, cx.lang);
            cx.pick(format!("ステージは「{stage}」でした。"), format!("The stage was {stage}."))
        }
        Fact::LastActive(Some(day)) => {
            let day = cx.day(*day);
            cx.pick(
                format!("最後に利用があったのは{day}です。"),
                format!("The last day anyone used the product was {day}."),
            )
        }
        Fact::LastActive(None) => {
            cx.pick("製品はまだ一度も利用されていませんでした。", "No one had used the product yet.")
        }
        Fact::NpsAnswer { score, on: Some(day) } => {
            let day = cx.day(*day);
            cx.pick(format!("{day}の NPS 回答は {score} 点でした。"), format!("The NPS answer on {day} was {score}."))
        }
        Fact::NpsAnswer { score, on: None } => {
            cx.pick(format!("NPS 回答は {score} 点でした。"), format!("The NPS answer was {score}."))
        }
        Fact::Milestone { key, due_on: Some(day) } => {
            let day = cx.day(*day);
            cx.pick(
                format!("マイルストーン「{key}」の予定日は{day}でした。"),
                format!("The milestone “{key}” was expected by {day}."),
            )
        }
        Fact::Milestone { key, due_on: None } => {
            cx.pick(format!("マイルストーン「{key}」が未完了でした。"), format!("The milestone “{key}” was not done."))
        }
        Fact::EnteredSegment { segment_id, at } => {
            let segment = cx.segment(*segment_id).text;
            match at {
                Some(at) => {
                    let day = cx.day(at.with_timezone(&cx.zone).date_naive());
                    cx.pick(
                        format!("{day}にセグメント「{segment}」に入りました。"),
                        format!("The account entered the segment “{segment}” on {day}."),
                    )
                }
                None => cx.pick(
                    format!("セグメント「{segment}」に入りました。"),
                    format!("The account entered the segment “{segment}”."),
                ),
            }
        }
        Fact::Other { .. } => return None,
    })
}

/// A label for data keys Kizuna itself writes; others (a playbook's own keys) as written.
pub fn data_label(key: &str, lang: Lang) -> String {
    let t = |ja: &'static str, en: &'static str| Text::new(ja, en).pick(lang).to_owned();
    match key {
        "arr" => "ARR".into(),
        "mrr" => "MRR".into(),
        "health_score" | "score" => t("ヘルススコア", "Health score"),
        "health_grade" => t("ヘルスグレード", "Health grade"),
        "next_renewal" | "renewal_date" => t("次回更新日", "Next renewal"),
        "days_left" | "days_to_renewal" => t("更新日までの日数", "Days to renewal"),
        "stage" => t("ステージ", "Stage"),
        "last_active_day" => t("最終利用日", "Last active day"),
        "nps_score" => t("NPS スコア", "NPS score"),
        "answered_on" => t("回答日", "Answered on"),
        "due_on" => t("予定日", "Expected on"),
        "from" => t("変化前", "From"),
        "to" => t("変化後", "To"),
        "request" => t("製品リクエスト", "Product request"),
        "request_id" => t("リクエスト番号", "Request number"),
        other => other.to_owned(),
    }
}

/// A stored value as the reader reads it: money and dates formatted, a yes/no in words.
pub fn data_value(key: &str, value: &Value, currency: &Currency, lang: Lang) -> String {
    match value {
        Value::String(text) if key == "arr" || key == "mrr" => match Decimal::from_str(text) {
            Ok(amount) => format::money(Money(amount), currency, lang),
            Err(_) => text.clone(),
        },
        Value::String(text) if key == "stage" => format::stage(text, lang),
        Value::String(text) => match text.parse::<chrono::NaiveDate>() {
            Ok(day) => format::day_in_sentence(day, lang),
            Err(_) => text.clone(),
        },
        Value::Number(id) if key == "request_id" => format!("#{id}"),
        Value::Null => "—".into(),
        Value::Bool(yes) => {
            Text::new(if *yes { "はい" } else { "いいえ" }, if *yes { "yes" } else { "no" }).pick(lang).into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::i18n::Bilingual;
    use serde_json::json;

    fn texts(parts: &[Part]) -> String {
        parts.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn a_renewal_playbook_task_reads_as_sentences_in_both_languages() {
        let playbooks = HashMap::from([(2, "更新前フォロー".to_owned())]);
        let segments = HashMap::new();
        let grades = domain::health::scorecard::default_grades();
        let currency = Currency::jpy();
        let reason = TaskReason {
            source: "playbook:2".into(),
            summary: Bilingual::new("プレイブック「更新前フォロー」: 更新日まで 60 日以内", "x"),
            data: json!({"playbook": "更新前フォロー", "trigger": {"type": "renewal_within", "days": 60},
                         "occurrence": "renewal:2026-12-19",
                         "data": {"renewal_date": "2026-12-19", "days_left": 45, "arr": "249600.00"}}),
        };
        let cx = |lang| Context {
            playbooks: &playbooks,
            segments: &segments,
            grades: &grades,
            currency: &currency,
            zone: "Asia/Tokyo".parse().unwrap(),
            lang,
        };
        let ja = panel(&reason, &cx(Lang::Ja));
        assert_eq!(
            texts(&ja.lead),
            "プレイブック「更新前フォロー」が作成しました。きっかけ: 更新日まで 60 日以内になりました。"
        );
        assert_eq!(ja.lead[1].href.as_deref(), Some("/playbooks/2"));
        assert_eq!(ja.facts, ["次回の更新日は2026年12月19日で、あと 45 日でした。", "ARR は ¥249,600 でした。"]);
        assert!(ja.other.is_empty());
        let en = panel(&reason, &cx(Lang::En));
        assert_eq!(
            texts(&en.lead),
            "Created by the playbook “更新前フォロー” because the renewal came within 60 days."
        );
        assert_eq!(en.facts, ["The next renewal was on Dec 19, 2026, 45 days away.", "ARR was JPY 249,600."]);
    }

    #[test]
    fn unknown_data_keeps_a_label_and_a_formatted_value() {
        let jpy = Currency::jpy();
        assert_eq!(data_value("arr", &json!("1200000.00"), &jpy, Lang::Ja), "¥1,200,000");
        assert_eq!(data_value("when", &json!("2026-12-01"), &jpy, Lang::En), "Dec 1, 2026");
        assert_eq!(data_label("days_to_renewal", Lang::Ja), "更新日までの日数");
        assert_eq!(data_label("custom_key", Lang::En), "custom_key");
        assert_eq!(
            (data_label("request_id", Lang::En), data_value("request_id", &json!(3), &jpy, Lang::En)),
            ("Request number".to_owned(), "#3".to_owned()),
            "a shipped request's task names the request, not its data keys"
        );
        assert_eq!(data_label("request", Lang::Ja), "製品リクエスト");
        assert_eq!(yearly_day("12-01", Lang::Ja), "12月1日");
        assert_eq!(yearly_day("oops", Lang::En), "oops");
    }
}
