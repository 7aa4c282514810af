//! What the form builders (scorecards, playbooks, onboarding templates) share: reading numbers
//! from form text, and errors labelled by the row they concern. Their selects use `pages::choices`.

use domain::i18n::{Lang, Text};
use domain::{FieldError, Reason};
use std::str::FromStr;

/// A form field's text from an optional value (empty for none).
pub fn text<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// A number from a form field: `None` when blank, `None` and an error naming the field when it
/// is not one.
pub fn number<T: FromStr>(errors: &mut Vec<FieldError>, field: String, raw: &str, reason: Reason) -> Option<T> {
    if raw.is_empty() {
        return None;
    }
    let parsed = raw.parse::<T>().ok();
    if parsed.is_none() {
        errors.push(FieldError::new(field, reason));
    }
    parsed
}

/// The words a builder's form shows for each field its checks can name (the keys of the TOML
/// files), so an error reads "Milestone 2 · Name (English)" and not "milestone[1].name_en".
const FIELD_NAMES: &[(&str, Text)] = &[
    ("name", Text::new("名前", "Name")),
    ("name_ja", Text::new("名前（日本語）", "Name (Japanese)")),
    ("name_en", Text::new("英語名", "English name")),
    ("key", Text::new("キー", "Key")),
    ("expected_days", Text::new("開始から何日で", "Due (days after start)")),
    ("rule", Text::new("自動で完了にするルール", "Completes itself when")),
    ("active_from", Text::new("自動開始の対象日", "Automatic starts from")),
    ("complete_stage", Text::new("完了したときのステージ", "Stage on completion")),
    ("trigger", Text::new("きっかけ", "Trigger")),
    ("type", Text::new("種類", "Type")),
    ("segment_id", Text::new("セグメント", "Segment")),
    ("days", Text::new("日数", "Days")),
    ("date", Text::new("日付", "Date")),
    ("cooldown_days", Text::new("再び始めるまでの日数", "Days before it can start again")),
    ("delay_days", Text::new("何日後", "After (days)")),
    ("due_in_days", Text::new("期限（日後）", "Due in (days)")),
    ("due_before_renewal_days", Text::new("更新日の何日前を期限に", "Due days before the renewal")),
    ("title", Text::new("タイトル", "Title")),
    ("kind", Text::new("種類", "Kind")),
    ("priority", Text::new("優先度", "Priority")),
    ("user_id", Text::new("ユーザー", "User")),
    ("action", Text::new("すること", "Action")),
    ("to_role", Text::new("宛先の役割", "To contacts with role")),
    ("subject", Text::new("件名", "Subject")),
    ("body", Text::new("本文", "Body")),
    ("webhook_url", Text::new("Slack の Webhook URL", "Slack webhook URL")),
    ("url", Text::new("URL", "URL")),
    ("secret", Text::new("署名の秘密鍵", "Signing secret")),
    ("message_id", Text::new("メッセージ", "Message")),
    ("stage", Text::new("新しいステージ", "New stage")),
    ("only_from", Text::new("動かす元のステージ", "Only from stages")),
    ("recipients", Text::new("宛先", "Recipients")),
    ("share", Text::new("比重", "Share")),
    ("weight", Text::new("比重", "Share")),
    ("points", Text::new("点数の付け方", "Points")),
    ("value", Text::new("値", "Value")),
    ("score", Text::new("点", "Points (0–100)")),
    ("critical_below", Text::new("重要シグナルの点数", "Critical below")),
    ("critical", Text::new("重要シグナル", "Critical")),
    ("below", Text::new("この点数未満", "Below")),
    ("grade", Text::new("グレード", "Grade")),
    ("feature", Text::new("機能", "Feature")),
    ("scope", Text::new("範囲", "Scope")),
    ("periods", Text::new("見る期間数", "Periods")),
    ("recent_days", Text::new("直近の日数", "Recent days")),
    ("baseline_days", Text::new("比べる過去の日数", "Baseline days")),
    ("min_baseline", Text::new("過去の最低利用量", "Minimum baseline")),
    ("metric", Text::new("数値", "What it counts")),
    ("unit", Text::new("入力する数値の単位", "Unit of an entered number")),
    ("direction", Text::new("向き", "Direction")),
    ("children_relation", Text::new("子との関係", "Its children are")),
    ("owner", Text::new("担当チーム", "Owner team")),
    ("parent", Text::new("親", "Parent")),
    ("milestone", Text::new("マイルストーン", "Milestones")),
    ("step", Text::new("ステップ", "Steps")),
    ("measure", Text::new("指標", "Measures")),
    ("node", Text::new("指標", "Nodes")),
    ("scorecard", Text::new("スコアカード", "Scorecard")),
];

/// A field path's words: each part named as the form names it (a part no form shows stays as written).
fn field_words(path: &str, lang: Lang) -> String {
    path.split('.')
        .filter(|part| !part.is_empty())
        .map(|part| FIELD_NAMES.iter().find(|(key, _)| *key == part).map_or(part, |(_, text)| text.pick(lang)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Errors in the reader's language; a field of a row (`step[1].title`, after `prefix` is taken
/// off) reads as the row's name from `row_name` (e.g. "Step 2") and the field's label.
pub fn messages(
    errors: &[FieldError],
    group: &str,
    prefix: Option<&str>,
    row_name: impl Fn(usize) -> String,
    lang: Lang,
) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            let field = prefix.and_then(|p| e.field.strip_prefix(p)).unwrap_or(&e.field);
            let row = field.strip_prefix(group).and_then(|r| r.strip_prefix('[')).and_then(|r| r.split_once(']'));
            let label = match row {
                Some((index, rest)) => {
                    let row = row_name(index.parse::<usize>().unwrap_or(0));
                    match field_words(rest, lang) {
                        words if words.is_empty() => row,
                        words => format!("{row} · {words}"),
                    }
                }
                None => field_words(field, lang),
            };
            format!("{label}: {}", e.message(lang))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_of_a_row_reads_as_the_row_and_the_words_its_form_shows() {
        let errors = [
            FieldError::new("milestone[1].name_en", Reason::Required),
            FieldError::new("trigger.days", Reason::Required),
            FieldError::new("milestone[0].something_new", Reason::Required),
        ];
        let en = messages(&errors, "milestone", None, |i| format!("Milestone {}", i + 1), Lang::En);
        let required = Reason::Required.message(Lang::En);
        assert_eq!(
            en,
            [
                format!("Milestone 2 · English name: {required}"),
                format!("Trigger · Days: {required}"),
                format!("Milestone 1 · something_new: {required}"),
            ]
        );
        let ja = messages(&errors[..1], "milestone", None, |i| format!("マイルストーン {}", i + 1), Lang::Ja);
        assert_eq!(ja, [format!("マイルストーン 2 · 英語名: {}", Reason::Required.message(Lang::Ja))]);
    }
}
