//! Text encodings of CSV files: UTF-8 (with or without BOM) and Shift_JIS/CP932 from Excel.

use crate::validation::Reason;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Utf8,
    ShiftJis,
}

impl Encoding {
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
    fn bytes_that_are_neither_encoding_are_refused() {
        assert!(decode(&[0x82, 0xff, 0xff], None).is_err());
    }
}
