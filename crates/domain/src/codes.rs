//! Code lists: closed sets of values stored and exchanged as stable snake_case codes, each with
//! a name in both languages.

/// A code list with a stable snake_case code and a name in each language.
macro_rules! coded {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal, $ja:literal, $en:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            pub fn parse(raw: &str) -> Result<$name, $crate::Reason> {
                let wanted = raw.trim().to_ascii_lowercase();
                Self::ALL.iter().copied().find(|v| v.as_str() == wanted).ok_or_else(|| $crate::Reason::NotOneOf {
                    allowed: Self::ALL.iter().map(|v| v.as_str().to_owned()).collect(),
                })
            }

            /// The name in both languages.
            pub fn names(self) -> $crate::i18n::Bilingual {
                $crate::i18n::Bilingual::new(self.label($crate::i18n::Lang::Ja), self.label($crate::i18n::Lang::En))
            }

            pub fn label(self, lang: $crate::i18n::Lang) -> &'static str {
                match (self, lang) {
                    $(($name::$variant, $crate::i18n::Lang::Ja) => $ja,)+
                    $(($name::$variant, $crate::i18n::Lang::En) => $en,)+
                }
            }
        }
    };
}
