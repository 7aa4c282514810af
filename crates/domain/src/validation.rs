//! Why a value was refused, in both languages, naming the field it came from.

use crate::i18n::Lang;
use serde::Serialize;
use std::fmt;

/// The reason one value is invalid. Each variant renders in Japanese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    Required,
    TooLong {
        max: usize,
    },
    InvalidEmail,
    InvalidDate,
    InvalidTimestamp,
    InvalidInteger,
    InvalidDecimal,
    TooManyDecimals {
        max: u32,
    },
    Negative,
    OutOfRange {
        min: String,
        max: String,
    },
    NotOneOf {
        allowed: Vec<String>,
    },
    CurrencyMismatch {
        expected: String,
    },
    InvalidBoolean,
    UnknownColumn,
    MissingColumn,
    DuplicateColumn,
    DuplicateInFile {
        first_line: u64,
    },
    UnknownAccount,
    UnknownReference,
    AlreadyExists,
    EndNotAfterStart,
    EarlierThan {
        field: &'static str,
    },
    Overlaps {
        other_start: String,
    },
    InvalidTimeZone,
    Malformed {
        detail: String,
    },
    /// A TOML value of the wrong kind (`expected`: number, text, boolean, list, table, date).
    WrongTomlValue {
        found: String,
        expected: String,
    },
    UnknownTomlKey {
        key: String,
        allowed: Vec<String>,
    },
    MissingTomlKey {
        key: String,
    },
    DuplicateTomlKey {
        key: String,
    },
    UnknownTomlValue {
        value: String,
        allowed: Vec<String>,
    },
    /// The file is not TOML at all here; `detail` is the parser's own (English) words.
    TomlSyntax {
        detail: String,
    },
    WrongType {
        expected: &'static str,
    },
    TooShort {
        min: usize,
    },
    /// A share typed without its `%` that reads as a percentage (`102` for NRR).
    BareShare {
        percent: String,
        fraction: String,
    },
    /// A scorecard with fewer measures than a grade needs with data: it would grade no account.
    TooFewMeasures {
        min: usize,
    },
    UnknownField,
    OnlyWith {
        field: &'static str,
        value: &'static str,
    },
    /// Text holding U+0000, which no database column stores (refused at the edge).
    ContainsNul,
    /// A date range that spans more periods than one request may compute.
    TooManyPeriods {
        max: u64,
    },
    /// A value only Kizuna itself may write (e.g. timeline kind `system`).
    ReservedForSystem,
    /// Must name the acting user (e.g. a timeline entry's author).
    MustBeYourself,
    /// A committed term shorter than the billing term it is invoiced in.
    ShorterThanBilling {
        billing_months: u32,
    },
    /// A date that is not one of the account's renewals.
    NotARenewal,
    /// An outcome for a renewal whose day has not come.
    NotYetHappened,
    /// A forecast changed on a renewal whose outcome is already known.
    OutcomeKnown,
    /// A churn reason on a renewal whose outcome is not churned.
    NeedsChurnedOutcome,
    /// A feedback request that was already merged into another.
    AlreadyMerged,
    /// A feedback request merged into itself.
    SameRequest,
    /// A second answer from the same person to the same survey round.
    AlreadyAnswered,
    /// A survey link whose signature does not match what it says.
    LinkInvalid,
    /// A survey link past its expiry.
    LinkExpired,
    /// A URL whose host is an internal address, which outbound calls may not reach unless
    /// `outbound_allow` lists it.
    InternalAddress,
    /// Shares (a scorecard's measure weights in percent) that do not add up to 100.
    SharesNotWhole {
        total: String,
    },
    /// A record with more custom fields than one may hold (`account::MAX_CUSTOM_FIELDS`).
    TooManyCustomFields {
        max: usize,
    },
    /// More custom field names than a workspace keeps (`settings::MAX_NAMED_FIELDS`).
    TooManyFieldNames {
        max: usize,
    },
    /// Closes a file's error report that lists only the first problems: how many more there are.
    MoreProblems {
        count: usize,
    },
    /// A character a file cannot be written with in the encoding asked for (e.g. an emoji in a
    /// Shift_JIS export): which one and on which line.
    Unencodable {
        encoding: String,
        character: String,
        line: u64,
    },
    /// A CSV quote opened on this line and never closed: the rest of the file would read as
    /// one cell, so the rows after it would silently disappear.
    UnclosedQuote,
    /// A CSV row with another number of cells than the header has columns.
    CellCount {
        found: usize,
        expected: usize,
    },
    /// An outbox email in a status that does not allow this (sending one already sent,
    /// retrying one that did not fail…).
    EmailIs {
        status: crate::playbooks::mail::EmailStatus,
    },
}

impl Reason {
    pub fn message(&self, lang: Lang) -> String {
        use Reason::*;
        match (self, lang) {
            (TooManyPeriods { max }, Lang::Ja) => format!("期間が多すぎます（1 回のリクエストで {max} 期間まで）"),
            (TooManyPeriods { max }, Lang::En) => format!("spans too many periods (at most {max} per request)"),
            (ReservedForSystem, Lang::Ja) => "Kizuna 自身が書き込む値のため指定できません".into(),
            (ReservedForSystem, Lang::En) => "is reserved for entries Kizuna writes itself".into(),
            (InternalAddress, Lang::Ja) => {
                "内部アドレス（ループバック・プライベート・リンクローカル）には送れません（outbound_allow で許可できます）".into()
            }
            (InternalAddress, Lang::En) => {
                "is an internal (loopback, private or link-local) address; allow it with outbound_allow".into()
            }
            (SharesNotWhole { total }, Lang::Ja) => format!("比重の合計が {total}% です。100% にしてください"),
            (SharesNotWhole { total }, Lang::En) => format!("the shares add up to {total}%, not 100%"),
            (MustBeYourself, Lang::Ja) => "ログイン中のユーザー本人にしてください".into(),
            (MustBeYourself, Lang::En) => "must be you, the signed-in user".into(),
            (ShorterThanBilling { billing_months }, Lang::Ja) => {
                format!("請求の間隔（{billing_months} か月）より短くはできません")
            }
            (ShorterThanBilling { billing_months }, Lang::En) => {
                format!("must be at least the billing term ({billing_months} months)")
            }
            (NotARenewal, Lang::Ja) => "この顧客の更新日ではありません".into(),
            (NotARenewal, Lang::En) => "is not one of this account's renewal dates".into(),
            (NotYetHappened, Lang::Ja) => "更新日がまだ来ていないため、結果は記録できません".into(),
            (NotYetHappened, Lang::En) => "cannot be recorded before the renewal date".into(),
            (OutcomeKnown, Lang::Ja) => "結果が出た更新の予測は変更できません".into(),
            (OutcomeKnown, Lang::En) => "cannot change once the renewal's outcome is known".into(),
            (NeedsChurnedOutcome, Lang::Ja) => "解約理由は結果が「解約」のときだけ記録できます".into(),
            (NeedsChurnedOutcome, Lang::En) => "can only be given when the outcome is churned".into(),
            (AlreadyMerged, Lang::Ja) => "このリクエストはすでに別のリクエストに統合されています".into(),
            (AlreadyMerged, Lang::En) => "this request was already merged into another".into(),
            (SameRequest, Lang::Ja) => "統合先には別のリクエストを指定してください".into(),
            (SameRequest, Lang::En) => "must be another request".into(),
            (AlreadyAnswered, Lang::Ja) => "このアンケートには今回すでに回答いただいています。ありがとうございました。".into(),
            (AlreadyAnswered, Lang::En) => "You have already answered this survey this round. Thank you.".into(),
            (LinkInvalid, Lang::Ja) => "リンクが正しくありません。メールのリンクをそのまま開いてください".into(),
            (LinkInvalid, Lang::En) => "this link is not valid: open the link from the email as it is".into(),
            (LinkExpired, Lang::Ja) => "このリンクは有効期限が切れています".into(),
            (LinkExpired, Lang::En) => "this link has expired".into(),
            (TooManyCustomFields { max }, Lang::Ja) => format!("独自項目 (custom) は 1 件につき {max} 個までです"),
            (TooManyCustomFields { max }, Lang::En) => format!("at most {max} custom fields per record"),
            (TooManyFieldNames { max }, Lang::Ja) => format!("カスタム項目の表示名は {max} 個までです"),
            (TooManyFieldNames { max }, Lang::En) => format!("at most {max} custom field names"),
            (Unencodable { encoding, character, line }, Lang::Ja) => format!(
                "{line} 行目の「{character}」({}) は {encoding} で表せません。UTF-8 で書き出してください",
                code_point(character)
            ),
            (Unencodable { encoding, character, line }, Lang::En) => format!(
                "line {line}: “{character}” ({}) cannot be written in {encoding}; export as UTF-8 instead",
                code_point(character)
            ),
            (EmailIs { status }, Lang::Ja) => {
                format!("このメールは「{}」のため、この操作はできません", status.label().pick(lang))
            }
            (EmailIs { status }, Lang::En) => {
                format!("cannot be done: this email is {}", status.label().pick(lang))
            }
            (UnclosedQuote, Lang::Ja) => {
                "この行で開いた引用符（\"）が閉じられていません。以降の行がすべて 1 つのセルとして読まれてしまいます".into()
            }
            (UnclosedQuote, Lang::En) => {
                "a quote (\") opened on this line is never closed, so every later line would read as one cell".into()
            }
            (CellCount { found, expected }, Lang::Ja) => {
                format!("セルが {found} 個あります（見出しの列は {expected} 個）")
            }
            (CellCount { found, expected }, Lang::En) => format!("has {found} cells; the header has {expected}"),
            (MoreProblems { count }, Lang::Ja) => format!("ほか {} 件の問題があります", grouped(*count)),
            (MoreProblems { count }, Lang::En) => format!("… and {} more problem(s)", grouped(*count)),
            (ContainsNul, Lang::Ja) => "NUL 文字 (U+0000) は使えません".into(),
            (ContainsNul, Lang::En) => "must not contain the NUL character (U+0000)".into(),
            (Required, Lang::Ja) => "必須です".into(),
            (Required, Lang::En) => "is required".into(),
            (TooLong { max }, Lang::Ja) => format!("{max} 文字以内にしてください"),
            (TooLong { max }, Lang::En) => format!("must be at most {max} characters"),
            (InvalidEmail, Lang::Ja) => "メールアドレスの形式ではありません".into(),
            (InvalidEmail, Lang::En) => "is not an email address".into(),
            (InvalidDate, Lang::Ja) => "日付は YYYY-MM-DD または YYYY/MM/DD で指定してください".into(),
            (InvalidDate, Lang::En) => "must be a date as YYYY-MM-DD or YYYY/MM/DD".into(),
            (InvalidTimestamp, Lang::Ja) => "日時は RFC 3339 形式で指定してください".into(),
            (InvalidTimestamp, Lang::En) => "must be an RFC 3339 timestamp".into(),
            (InvalidInteger, Lang::Ja) => "整数ではありません".into(),
            (InvalidInteger, Lang::En) => "is not a whole number".into(),
            (InvalidDecimal, Lang::Ja) => "数値ではありません".into(),
            (InvalidDecimal, Lang::En) => "is not a number".into(),
            (TooManyDecimals { max }, Lang::Ja) => format!("小数点以下は {max} 桁までです"),
            (TooManyDecimals { max }, Lang::En) => {
                format!("must have at most {max} decimal places")
            }
            (Negative, Lang::Ja) => "0 以上にしてください".into(),
            (Negative, Lang::En) => "must be 0 or more".into(),
            (OutOfRange { min, max }, Lang::Ja) => {
                format!("{min} から {max} の範囲で指定してください")
            }
            (OutOfRange { min, max }, Lang::En) => format!("must be between {min} and {max}"),
            (NotOneOf { allowed }, Lang::Ja) => {
                format!("次のいずれかにしてください: {}", allowed.join(", "))
            }
            (NotOneOf { allowed }, Lang::En) => format!("must be one of: {}", allowed.join(", ")),
            (CurrencyMismatch { expected }, Lang::Ja) => {
                format!("通貨はワークスペースの通貨 {expected} と一致させてください")
            }
            (CurrencyMismatch { expected }, Lang::En) => {
                format!("must equal the workspace currency {expected}")
            }
            (InvalidBoolean, Lang::Ja) => "true または false で指定してください".into(),
            (InvalidBoolean, Lang::En) => "must be true or false".into(),
            (UnknownColumn, Lang::Ja) => "不明な列です（独自項目は custom. で始めてください）".into(),
            (UnknownColumn, Lang::En) => "is not a known column (custom fields must start with custom.)".into(),
            (MissingColumn, Lang::Ja) => "必須の列がありません".into(),
            (MissingColumn, Lang::En) => "required column is missing".into(),
            (DuplicateColumn, Lang::Ja) => "列が重複しています".into(),
            (DuplicateColumn, Lang::En) => "column appears twice".into(),
            (DuplicateInFile { first_line }, Lang::Ja) => {
                format!("{first_line} 行目と重複しています")
            }
            (DuplicateInFile { first_line }, Lang::En) => format!("duplicates line {first_line}"),
            (UnknownAccount, Lang::Ja) => "該当する顧客がありません".into(),
            (UnknownAccount, Lang::En) => "no account matches".into(),
            (UnknownReference, Lang::Ja) => "参照先が存在しません".into(),
            (UnknownReference, Lang::En) => "refers to something that does not exist".into(),
            (AlreadyExists, Lang::Ja) => "同じ値が既に存在します".into(),
            (AlreadyExists, Lang::En) => "is already used".into(),
            (EndNotAfterStart, Lang::Ja) => "終了日は開始日より後にしてください".into(),
            (EndNotAfterStart, Lang::En) => "must be after start_date".into(),
            // A date before another date of the same row, e.g. a ticket solved before it was created.
            (EarlierThan { field }, lang) => {
                // A form names the other date in words; a file's column keeps its name.
                let other = match *field {
                    "starts_on" => lang.pick("開始日", "the start date"),
                    "from" => lang.pick("開始日", "the first day"),
                    column => column,
                };
                let space = if other.is_ascii() { " " } else { "" };
                lang.pick(format!("{other}{space}より前の日付にはできません"), format!("must not be earlier than {other}"))
            }
            (Overlaps { other_start }, Lang::Ja) => {
                format!("同じ契約の {other_start} 開始の期間と重なっています")
            }
            (Overlaps { other_start }, Lang::En) => {
                format!("overlaps the period of the same subscription starting {other_start}")
            }
            (InvalidTimeZone, Lang::Ja) => "タイムゾーン名ではありません（例: Asia/Tokyo）".into(),
            (InvalidTimeZone, Lang::En) => "is not a time zone name (e.g. Asia/Tokyo)".into(),
            (WrongTomlValue { found, expected }, Lang::Ja) => {
                format!("{}を書いてください（{found} と書かれています）", value_kind_name(expected, lang))
            }
            (WrongTomlValue { found, expected }, Lang::En) => {
                format!("must be {} (found {found})", value_kind_name(expected, lang))
            }
            (UnknownTomlKey { key, allowed }, Lang::Ja) if allowed.is_empty() => format!("`{key}` という項目はありません"),
            (UnknownTomlKey { key, allowed }, Lang::Ja) => {
                format!("`{key}` という項目はありません（使える項目: {}）", allowed.join(", "))
            }
            (UnknownTomlKey { key, allowed }, Lang::En) if allowed.is_empty() => format!("there is no key `{key}`"),
            (UnknownTomlKey { key, allowed }, Lang::En) => {
                format!("there is no key `{key}` (keys: {})", allowed.join(", "))
            }
            (MissingTomlKey { key }, Lang::Ja) => format!("必須の項目 `{key}` がありません"),
            (MissingTomlKey { key }, Lang::En) => format!("the key `{key}` is required"),
            (DuplicateTomlKey { key }, Lang::Ja) => format!("項目 `{key}` が 2 回書かれています"),
            (DuplicateTomlKey { key }, Lang::En) => format!("the key `{key}` is written twice"),
            (UnknownTomlValue { value, allowed }, Lang::Ja) => {
                format!("`{value}` は使えません（{} のいずれか）", allowed.join(", "))
            }
            (UnknownTomlValue { value, allowed }, Lang::En) => {
                format!("`{value}` is not allowed here (one of: {})", allowed.join(", "))
            }
            (TomlSyntax { detail }, Lang::Ja) => format!("TOML の書き方に誤りがあります（{detail}）"),
            (TomlSyntax { detail }, Lang::En) => format!("is not valid TOML ({detail})"),
            (Malformed { detail }, Lang::Ja) => format!("読み取れません: {}", in_japanese(detail)),
            (Malformed { detail }, Lang::En) => format!("cannot be read: {detail}"),
            (WrongType { expected }, Lang::Ja) => {
                format!("型が違います（{} を指定してください）", in_japanese(expected))
            }
            (WrongType { expected }, Lang::En) => format!("must be {expected}"),
            (TooShort { min }, Lang::Ja) => format!("{min} 文字以上にしてください"),
            (TooShort { min }, Lang::En) => format!("must be at least {min} characters"),
            (BareShare { percent, fraction }, Lang::Ja) => {
                format!("割合は「{percent}」または「{fraction}」のように書いてください")
            }
            (BareShare { percent, fraction }, Lang::En) => format!("write a share as {percent} or {fraction}"),
            (TooFewMeasures { min }, Lang::Ja) => format!(
                "指標が {min} 個より少ないと、どの顧客もグレードが「不明」になります（グレードには {min} 個以上の指標のデータが必要です）。指標を足すか、必要な指標の数を減らしてください"
            ),
            (TooFewMeasures { min }, Lang::En) => format!(
                "with fewer than {min} measures every account would be graded unknown (a grade needs data for {min} measures); add measures or lower the number needed"
            ),
            (UnknownField, Lang::Ja) => "不明な項目です".into(),
            (UnknownField, Lang::En) => "is not a known field".into(),
            (OnlyWith { field, value }, Lang::Ja) => format!("{field} が {value} のときだけ指定できます"),
            (OnlyWith { field, value }, Lang::En) => format!("is only allowed when {field} is {value}"),
        }
    }
}

/// `U+1F600`: the code points of a short text, for characters a reader may not see.
/// The Japanese of the fixed English phrases that `WrongType` and `Malformed` carry (what a
/// value should look like); other text (a parser's own words, a value) is kept as it is.
fn in_japanese(english: &str) -> &str {
    match english {
        "a string" | "text" | "strings" => "文字列",
        "a positive id" => "正の整数の ID",
        "a staff user id" => "スタッフのユーザー ID",
        "me or a positive id" => "me または正の整数の ID",
        "a positive id or an external id" => "正の整数の ID または外部 ID",
        "a request id" => "リクエストの ID",
        "an object of strings" => "文字列の値を持つオブジェクト",
        "a JSON object" | "an object" => "JSON オブジェクト",
        "true or false" => "true または false",
        "a list of strings" => "文字列のリスト",
        "a list of reason codes" => "理由コードのリスト",
        "a list of origins" => "オリジンのリスト",
        "a list of stage names" => "ステージ名のリスト",
        "a list of channels" => "通知チャネルのリスト",
        "a channel name" => "通知チャネル名",
        "a day of the year as MM-DD" => "MM-DD 形式の日付",
        "a season as MM-DD..MM-DD, e.g. 11-01..01-31" => "MM-DD..MM-DD 形式の期間（例: 11-01..01-31）",
        "lowercase letters, digits, _ or -" | "a-z, 0-9, _ and -" => "英小文字・数字・_・-",
        "lowercase letters, digits, _ and - (at most 64)" | "a-z, 0-9, _ and -, at most 64" => {
            "英小文字・数字・_・-（64 文字まで）"
        }
        "imported or tracking" => "imported または tracking",
        "an object with ja and en" => "ja と en を持つオブジェクト",
        "an object of weights" => "重みのオブジェクト",
        "an object of traits" => "属性のオブジェクト",
        "an object of strings, numbers or booleans" => "文字列・数値・真偽値を持つオブジェクト",
        "an object of kind: [channels]" => "種類: [チャネル] のオブジェクト",
        "an object of field sources" => "項目ごとの取得元のオブジェクト",
        "an object of custom field names" => "カスタム項目名のオブジェクト",
        "an http(s) URL" => "http(s) の URL",
        "an array of email addresses" => "メールアドレスのリスト",
        "a colour as #RRGGBB" => "#RRGGBB 形式の色",
        "https://… or /path" => "https://… または /パス",
        "key=value" => "項目名=値",
        "key:value" | "expected key:value" => "項目名:値",
        "host name" => "ホスト名",
        "PEM certificate" => "PEM 形式の証明書",
        "not UTF-8" => "UTF-8 ではありません",
        "neither UTF-8 nor Shift_JIS" => "UTF-8 でも Shift_JIS でもありません",
        "does not match" => "一致しません",
        "YYYY-MM" => "YYYY-MM 形式の月",
        "ISO 4217 code such as JPY" => "JPY のような ISO 4217 の通貨コード",
        "the parents form a loop" => "親子関係が循環しています",
        "exactly one scorecard has no applies_to (the default)" => {
            "applies_to のない既定のスコアカードをちょうど 1 つにしてください"
        }
        "grades go from best to worst with falling min" => "グレードは良い順に、min が下がるように並べてください",
        "a ratio has exactly two children: numerator, denominator" => {
            "比率の子はちょうど 2 つ（分子・分母）にしてください"
        }
        other => other,
    }
}

fn code_point(text: &str) -> String {
    text.chars().map(|c| format!("U+{:04X}", u32::from(c))).collect::<Vec<_>>().join(" ")
}

/// A kind of TOML value as a reader calls it.
fn value_kind_name(kind: &str, lang: Lang) -> &'static str {
    let (ja, en) = match kind {
        "number" => ("数値", "a number"),
        "text" => ("文字列（\"…\" で囲む）", "text in \"quotes\""),
        "boolean" => ("true か false", "true or false"),
        "list" => ("配列（[…]）", "a list ([…])"),
        "table" => ("テーブル", "a table"),
        "date" => ("日付", "a date"),
        _ => ("別の種類の値", "another kind of value"),
    };
    crate::i18n::Text::new(ja, en).pick(lang)
}

/// A count with thousands separators: `999,000`.
pub fn grouped(count: usize) -> String {
    let digits = count.to_string();
    let mut end = match digits.len() % 3 {
        0 => 3,
        head => head,
    };
    let mut out = digits[..end].to_owned();
    while end < digits.len() {
        out.push(',');
        out.push_str(&digits[end..end + 3]);
        end += 3;
    }
    out
}

/// One invalid field: its name (a JSON pointer-ish path or a CSV column) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub reason: Reason,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: Reason) -> FieldError {
        FieldError { field: field.into(), reason }
    }

    pub fn message(&self, lang: Lang) -> String {
        self.reason.message(lang)
    }

    /// The same error on a field of the part named `at` (`playbook[1]` + `name` → `playbook[1].name`).
    pub fn prefixed(self, at: &str) -> FieldError {
        FieldError { field: format!("{at}.{}", self.field), reason: self.reason }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason.message(Lang::En))
    }
}

/// Collects every field error of one input instead of stopping at the first.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn new() -> Errors {
        Errors(Vec::new())
    }

    pub fn push(&mut self, field: &str, reason: Reason) {
        self.0.push(FieldError::new(field, reason));
    }

    /// Keeps the value when it parsed, records the error otherwise.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, Reason>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(reason) => {
                self.push(field, reason);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    /// Returns the value built from the checked fields, or every recorded error.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            if let Some(value) = build() {
                return Ok(value);
            }
        }
        Err(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands_in_both_languages() {
        assert_eq!([grouped(0), grouped(999), grouped(1_000), grouped(999_000)], ["0", "999", "1,000", "999,000"]);
        let more = Reason::MoreProblems { count: 999_000 };
        assert_eq!(more.message(Lang::En), "… and 999,000 more problem(s)");
        assert_eq!(more.message(Lang::Ja), "ほか 999,000 件の問題があります");
    }

    #[test]
    fn what_a_value_should_look_like_reads_in_japanese_and_a_parsers_own_words_stay() {
        let url = Reason::WrongType { expected: "an http(s) URL" };
        assert_eq!(url.message(Lang::Ja), "型が違います（http(s) の URL を指定してください）");
        assert_eq!(url.message(Lang::En), "must be an http(s) URL");
        let link = Reason::Malformed { detail: "https://… or /path".into() };
        assert_eq!(link.message(Lang::Ja), "読み取れません: https://… または /パス");
        let parser = Reason::Malformed { detail: "1:22 unexpected character `%`".into() };
        assert_eq!(parser.message(Lang::Ja), "読み取れません: 1:22 unexpected character `%`");
    }
}
