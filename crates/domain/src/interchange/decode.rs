//! Text encodings of CSV files: UTF-8 (with or without BOM) and Shift_JIS/CP932 from Excel, read
//! and written.

use crate::validation::Reason;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Utf8,
    ShiftJis,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::ShiftJis => "shift_jis",
        }
    }

    pub fn parse(raw: &str) -> Result<Encoding, Reason> {
        match raw.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "utf8" | "utf_8" => Ok(Encoding::Utf8),
            "shift_jis" | "sjis" | "cp932" | "windows_31j" => Ok(Encoding::ShiftJis),
            _ => Err(Reason::NotOneOf { allowed: vec!["utf-8".into(), "shift_jis".into()] }),
        }
    }
}

/// Decodes a file. Without a declared encoding, valid UTF-8 is UTF-8 and anything else is tried
/// as Shift_JIS (CP932); bytes that fit neither are refused rather than stored as mojibake.
pub fn decode(bytes: &[u8], declared: Option<Encoding>) -> Result<(String, Encoding), Reason> {
    let without_bom = bytes.strip_prefix(b"\xEF\xBB\xBF");
    let encoding = match (declared, without_bom) {
        (Some(encoding), _) => encoding,
        (None, Some(_)) => Encoding::Utf8,
        (None, None) if std::str::from_utf8(bytes).is_ok() => Encoding::Utf8,
        (None, None) => Encoding::ShiftJis,
    };
    match encoding {
        Encoding::Utf8 => std::str::from_utf8(without_bom.unwrap_or(bytes))
            .map(|text| (text.to_owned(), Encoding::Utf8))
            .map_err(|e| Reason::Malformed { detail: format!("not valid UTF-8 at byte {}", e.valid_up_to()) }),
        Encoding::ShiftJis => {
            let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
            if had_errors {
                Err(Reason::Malformed { detail: "neither UTF-8 nor Shift_JIS".into() })
            } else {
                Ok((text.into_owned(), Encoding::ShiftJis))
            }
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How a file Kizuna writes is encoded. Excel (Japanese or not) reads UTF-8 only after a byte
/// order mark, so that is the default; programs may prefer plain UTF-8; Excel before 2016 and
/// other Japanese tools read Shift_JIS (CP932). `decode` reads all three back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportEncoding {
    #[default]
    Utf8Bom,
    Utf8,
    ShiftJis,
}

impl ExportEncoding {
    pub const NAMES: [&'static str; 3] = ["utf-8-bom", "utf-8", "shift_jis"];

    pub fn parse(raw: &str) -> Result<ExportEncoding, Reason> {
        match raw.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "utf8_bom" | "utf_8_bom" | "utf_8_sig" | "utf8_sig" => Ok(ExportEncoding::Utf8Bom),
            "utf8" | "utf_8" => Ok(ExportEncoding::Utf8),
            "shift_jis" | "sjis" | "cp932" | "windows_31j" => Ok(ExportEncoding::ShiftJis),
            _ => Err(Reason::NotOneOf { allowed: Self::NAMES.map(String::from).to_vec() }),
        }
    }

    /// The `charset` of a `text/csv` response.
    pub fn charset(self) -> &'static str {
        match self {
            ExportEncoding::Utf8Bom | ExportEncoding::Utf8 => "utf-8",
            ExportEncoding::ShiftJis => "shift_jis",
        }
    }
}

/// Encodes a file Kizuna wrote. A character Shift_JIS cannot represent is refused, naming it
/// and its line, rather than written as `?` and read back as something else.
pub fn encode(text: &str, encoding: ExportEncoding) -> Result<Vec<u8>, Reason> {
    match encoding {
        ExportEncoding::Utf8 => Ok(text.as_bytes().to_vec()),
        ExportEncoding::Utf8Bom => {
            let mut bytes = Vec::with_capacity(BOM.len() + text.len());
            bytes.extend_from_slice(BOM);
            bytes.extend_from_slice(text.as_bytes());
            Ok(bytes)
        }
        ExportEncoding::ShiftJis => {
            let mut encoder = encoding_rs::SHIFT_JIS.new_encoder();
            let capacity = encoder.max_buffer_length_from_utf8_without_replacement(text.len()).unwrap_or(text.len());
            let mut bytes = Vec::with_capacity(capacity);
            let (result, read) = encoder.encode_from_utf8_to_vec_without_replacement(text, &mut bytes, true);
            match result {
                encoding_rs::EncoderResult::Unmappable(character) => Err(Reason::Unencodable {
                    encoding: "Shift_JIS".into(),
                    character: character.to_string(),
                    line: 1 + text[..read].matches('\n').count() as u64,
                }),
                // The buffer holds the worst case, so the whole text fits.
                encoding_rs::EncoderResult::InputEmpty | encoding_rs::EncoderResult::OutputFull => Ok(bytes),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_bom_is_stripped() {
        let (text, encoding) = decode("\u{feff}name\n".as_bytes(), None).unwrap();
        assert_eq!((text.as_str(), encoding), ("name\n", Encoding::Utf8));
    }

    #[test]
    fn shift_jis_is_detected_and_decoded_without_mojibake() {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode("株式会社テスト,東京");
        let (text, encoding) = decode(&bytes, None).unwrap();
        assert_eq!((text.as_str(), encoding), ("株式会社テスト,東京", Encoding::ShiftJis));
    }

    #[test]
    fn every_export_encoding_reads_back_as_the_text_written() {
        let text = "account_id,name\nA1,株式会社テスト～①髙﨑\n";
        let with_bom = encode(text, ExportEncoding::default()).unwrap();
        assert!(with_bom.starts_with(BOM), "UTF-8 files carry a BOM by default, for Excel");
        assert_eq!(decode(&with_bom, None).unwrap(), (text.to_owned(), Encoding::Utf8));
        let plain = encode(text, ExportEncoding::Utf8).unwrap();
        assert_eq!(plain, text.as_bytes());
        let sjis = encode(text, ExportEncoding::ShiftJis).unwrap();
        assert_eq!(decode(&sjis, None).unwrap(), (text.to_owned(), Encoding::ShiftJis));
        assert_eq!(ExportEncoding::parse("Shift-JIS"), Ok(ExportEncoding::ShiftJis));
        assert_eq!(ExportEncoding::parse("utf-8"), Ok(ExportEncoding::Utf8));
        assert!(ExportEncoding::parse("latin1").is_err());
    }

    #[test]
    fn a_character_shift_jis_lacks_is_refused_with_its_line() {
        let refused = encode("name\nさくら\n絵文字 😀\n", ExportEncoding::ShiftJis).unwrap_err();
        assert_eq!(refused, Reason::Unencodable { encoding: "Shift_JIS".into(), character: "😀".into(), line: 3 });
        assert_eq!(
            refused.message(crate::i18n::Lang::Ja),
            "3 行目の「😀」(U+1F600) は Shift_JIS で表せません。UTF-8 で書き出してください"
        );
    }

    #[test]
    fn bytes_that_are_neither_encoding_are_refused() {
        assert!(decode(&[0x82, 0xff, 0xff], None).is_err());
    }
}
