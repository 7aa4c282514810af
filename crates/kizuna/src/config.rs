//! Configuration: a TOML file, then `KIZUNA_*` environment variables (which win).
//! Unknown keys are warned about; the database URL never appears in logs or `Debug` output.

use domain::settings::WorkspaceSettings;
use domain::Currency;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A value that must not be printed (it may hold a password).
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WorkspaceConfig {
    pub currency: String,
    pub time_zone: String,
    pub fiscal_year_start_month: u32,
}

impl Default for WorkspaceConfig {
    fn default() -> Self {
        let defaults = WorkspaceSettings::default();
        WorkspaceConfig {
            currency: defaults.currency.to_string(),
            time_zone: defaults.time_zone,
            fiscal_year_start_month: defaults.fiscal_year_start_month,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<Secret>,
    /// Mark session cookies Secure and send HSTS (set when served over HTTPS).
    pub secure_cookies: bool,
    /// A fixed password for the demo administrator instead of a random one (tests, demos).
    pub demo_password: Option<Secret>,
    /// A feature catalog file (`[[feature]]` tables) applied when the server starts.
    pub feature_catalog: Option<PathBuf>,
    /// The SMTP server emails go through while an administrator has saved none in the app:
    /// `smtp://[user:password@]host[:port]` (plain), `…?tls=required` (STARTTLS) or `smtps://…`
    /// (implicit TLS). Without either, playbook emails wait in the outbox, which says so.
    pub smtp_url: Option<Secret>,
    /// Where people open Kizuna, e.g. `https://cs.example.com`: links in notification emails,
    /// Slack posts and digests start with it (without it they are paths).
    pub public_url: Option<String>,
    /// The sender of playbook emails, e.g. `Kizuna <cs@example.com>`.
    pub mail_from: String,
    /// Internal networks playbook webhooks and Slack posts may reach, e.g. `["10.0.0.0/8"]`.
    /// Loopback, link-local and private addresses are refused unless listed here.
    pub outbound_allow: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client, e.g. `["10.0.0.2"]`.
    pub trusted_proxies: Vec<String>,
    pub workspace: WorkspaceConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            secure_cookies: false,
            demo_password: None,
            feature_catalog: None,
            smtp_url: None,
            public_url: None,
            mail_from: "Kizuna <kizuna@localhost>".into(),
            outbound_allow: Vec::new(),
            trusted_proxies: Vec::new(),
            workspace: WorkspaceConfig::default(),
        }
    }
}

const KNOWN_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "secure_cookies",
    "demo_password",
    "feature_catalog",
    "smtp_url",
    "public_url",
    "mail_from",
    "outbound_allow",
    "trusted_proxies",
    "workspace",
];
const KNOWN_WORKSPACE_KEYS: &[&str] = &["currency", "time_zone", "fiscal_year_start_month"];
const ENV_KEYS: &[&str] = &[
    "KIZUNA_CONFIG",
    "KIZUNA_LISTEN",
    "KIZUNA_DATA_DIR",
    "KIZUNA_DATABASE_URL",
    "KIZUNA_CURRENCY",
    "KIZUNA_TIME_ZONE",
    "KIZUNA_FISCAL_YEAR_START_MONTH",
    "KIZUNA_SECURE_COOKIES",
    "KIZUNA_DEMO_PASSWORD",
    "KIZUNA_FEATURE_CATALOG",
    "KIZUNA_SMTP_URL",
    "KIZUNA_PUBLIC_URL",
    "KIZUNA_MAIL_FROM",
    "KIZUNA_OUTBOUND_ALLOW",
    "KIZUNA_TRUSTED_PROXIES",
    "KIZUNA_LOG",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("environment variable {name}: {reason}")]
    Env { name: &'static str, reason: String },
    #[error("workspace setting {field}: {reason}")]
    Workspace { field: &'static str, reason: String },
    #[error("setting {key}: {reason}")]
    Setting { key: &'static str, reason: String },
}

impl Config {
    /// Reads the file (if given or `KIZUNA_CONFIG` names one) and applies the environment.
    pub fn load(file: Option<&Path>) -> Result<(Config, Vec<String>), ConfigError> {
        let mut warnings = Vec::new();
        let env_file = std::env::var_os("KIZUNA_CONFIG").map(PathBuf::from);
        let mut config = match file.map(Path::to_path_buf).or(env_file) {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
                let table: toml::Table =
                    toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.clone(), source })?;
                warnings.extend(unknown_keys(&table, &path));
                toml::from_str(&text).map_err(|source| ConfigError::Parse { path, source })?
            }
            None => Config::default(),
        };
        config.apply_env(&mut warnings)?;
        Ok((config, warnings))
    }

    fn apply_env(&mut self, warnings: &mut Vec<String>) -> Result<(), ConfigError> {
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("KIZUNA_") && !ENV_KEYS.contains(&name.as_ref()) {
                warnings.push(format!("unknown environment variable {name} is ignored"));
            }
        }
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        if let Some(listen) = var("KIZUNA_LISTEN") {
            self.listen = listen.parse().map_err(|e: std::net::AddrParseError| ConfigError::Env {
                name: "KIZUNA_LISTEN",
                reason: e.to_string(),
            })?;
        }
        if let Some(dir) = var("KIZUNA_DATA_DIR") {
            self.data_dir = PathBuf::from(dir);
        }
        if let Some(url) = var("KIZUNA_DATABASE_URL").or_else(|| var("DATABASE_URL")) {
            self.database_url = Some(Secret::new(url));
        }
        if let Some(secure) = var("KIZUNA_SECURE_COOKIES") {
            self.secure_cookies = matches!(secure.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes");
        }
        if let Some(password) = var("KIZUNA_DEMO_PASSWORD") {
            self.demo_password = Some(Secret::new(password));
        }
        if let Some(catalog) = var("KIZUNA_FEATURE_CATALOG") {
            self.feature_catalog = Some(PathBuf::from(catalog));
        }
        if let Some(url) = var("KIZUNA_SMTP_URL") {
            self.smtp_url = Some(Secret::new(url));
        }
        if let Some(url) = var("KIZUNA_PUBLIC_URL") {
            self.public_url = Some(url);
        }
        if let Some(from) = var("KIZUNA_MAIL_FROM") {
            self.mail_from = from;
        }
        if let Some(networks) = var("KIZUNA_OUTBOUND_ALLOW") {
            self.outbound_allow = vec![networks];
        }
        if let Some(proxies) = var("KIZUNA_TRUSTED_PROXIES") {
            self.trusted_proxies = vec![proxies];
        }
        if let Some(currency) = var("KIZUNA_CURRENCY") {
            self.workspace.currency = currency;
        }
        if let Some(zone) = var("KIZUNA_TIME_ZONE") {
            self.workspace.time_zone = zone;
        }
        if let Some(month) = var("KIZUNA_FISCAL_YEAR_START_MONTH") {
            self.workspace.fiscal_year_start_month = month.parse().map_err(|e: std::num::ParseIntError| {
                ConfigError::Env { name: "KIZUNA_FISCAL_YEAR_START_MONTH", reason: e.to_string() }
            })?;
        }
        Ok(())
    }

    /// The database to open: the configured URL, else a SQLite file in the data directory.
    pub fn database_url(&self) -> Secret {
        self.database_url
            .clone()
            .unwrap_or_else(|| Secret::new(format!("sqlite:{}", self.data_dir.join("kizuna.db").display())))
    }

    /// What to say in logs about the database, without credentials.
    pub fn database_label(&self) -> String {
        let url = self.database_url();
        let url = url.expose();
        if url.starts_with("sqlite:") {
            return url.to_owned();
        }
        let host = url.split('@').nth(1).unwrap_or("").split(['/', '?']).next().unwrap_or("");
        format!("postgres at {host}")
    }

    /// The configuration file's SMTP server (`smtp_url`, `mail_from`), if any.
    pub fn mail_server(&self) -> Result<Option<domain::mail::MailServer>, ConfigError> {
        let Some(url) = &self.smtp_url else {
            return Ok(None);
        };
        domain::mail::MailServer::from_url(url.expose(), &self.mail_from).map(Some).ok_or(ConfigError::Setting {
            key: "smtp_url",
            reason: "not smtp://[user:password@]host[:port][?tls=required] or smtps://…".into(),
        })
    }

    /// `public_url` without a trailing slash, when it is an http(s) URL.
    pub fn public_url(&self) -> Result<Option<String>, ConfigError> {
        match &self.public_url {
            None => Ok(None),
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                Ok(Some(url.trim_end_matches('/').to_owned()))
            }
            Some(_) => Err(ConfigError::Setting { key: "public_url", reason: "not an http(s) URL".into() }),
        }
    }

    /// The internal networks outbound calls may reach (`outbound_allow`).
    pub fn outbound_policy(&self) -> Result<domain::net::OutboundPolicy, ConfigError> {
        let networks = domain::net::parse_networks(&self.outbound_allow.join(","))
            .map_err(|reason| ConfigError::Setting { key: "outbound_allow", reason })?;
        Ok(domain::net::OutboundPolicy::allowing(networks))
    }

    /// The proxies believed about a client's address (`trusted_proxies`).
    pub fn trusted_proxies(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        domain::net::parse_networks(&self.trusted_proxies.join(","))
            .map_err(|reason| ConfigError::Setting { key: "trusted_proxies", reason })
    }

    /// The settings a new workspace starts with.
    pub fn initial_settings(&self) -> Result<WorkspaceSettings, ConfigError> {
        let currency = Currency::parse(&self.workspace.currency)
            .map_err(|r| ConfigError::Workspace { field: "currency", reason: r.message(domain::i18n::Lang::En) })?;
        let month =
            domain::settings::parse_fiscal_year_start_month(self.workspace.fiscal_year_start_month).map_err(|r| {
                ConfigError::Workspace { field: "fiscal_year_start_month", reason: r.message(domain::i18n::Lang::En) }
            })?;
        Ok(WorkspaceSettings {
            currency,
            time_zone: self.workspace.time_zone.clone(),
            fiscal_year_start_month: month,
            ..WorkspaceSettings::default()
        })
    }
}

fn unknown_keys(table: &toml::Table, path: &Path) -> Vec<String> {
    let mut warnings = Vec::new();
    for (key, value) in table {
        if !KNOWN_KEYS.contains(&key.as_str()) {
            warnings.push(format!("{}: unknown key {key} is ignored", path.display()));
        }
        if key == "workspace" {
            if let Some(workspace) = value.as_table() {
                for inner in workspace.keys().filter(|k| !KNOWN_WORKSPACE_KEYS.contains(&k.as_str())) {
                    warnings.push(format!("{}: unknown key workspace.{inner} is ignored", path.display()));
                }
            }
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_database_url() {
        let config = Config {
            database_url: Some(Secret::new("postgres://kizuna:hunter2@db/kizuna".into())),
            ..Config::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert_eq!(config.database_label(), "postgres at db");
    }

    #[test]
    fn unknown_keys_are_reported_with_the_file() {
        let table: toml::Table =
            toml::from_str("listen = \"127.0.0.1:1\"\ncolour = 1\n[workspace]\ncurrency = \"JPY\"\nzone = 2\n")
                .unwrap();
        let warnings = unknown_keys(&table, Path::new("kizuna.toml"));
        assert_eq!(
            warnings,
            vec!["kizuna.toml: unknown key colour is ignored", "kizuna.toml: unknown key workspace.zone is ignored"]
        );
    }
}
