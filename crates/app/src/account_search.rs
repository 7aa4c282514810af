//! Finding an account by what a person types or a client sends: Kizuna's numeric id, the
//! external id every page shows (`ACC-000098`), or part of the name, reading or domain
//! (compared as `domain::search` normalizes them).

use crate::{App, AppError};
use domain::account::Account;
use domain::{AccountId, AccountRef, ExternalId, Reason};
use store::StoreError;

/// What an account field's text named.
#[derive(Debug)]
pub enum AccountPick {
    Found(Box<Account>),
    /// No account has this id, and no account's name, external id, domain or reading contains it.
    NotFound,
    /// Several accounts contain the text: the first [`PICK_CANDIDATES`], by name.
    Several(Vec<Account>),
}

/// The most candidates offered when a typed text matches several accounts.
pub const PICK_CANDIDATES: i64 = 10;

impl App {
    /// Kizuna's id of the account a reference names. An external id is looked up first; a string
    /// of digits that is no account's external id is taken as Kizuna's id. Unknown: 422 on
    /// `account_id`. Whether a numeric id exists is checked by the use case that reads it.
    pub async fn account_id_of(&self, reference: &AccountRef) -> Result<AccountId, AppError> {
        let external = match reference {
            AccountRef::Id(id) => return Ok(*id),
            AccountRef::External(external) => external,
        };
        if let Some(id) = self.store.account_ids_by_external_id(std::slice::from_ref(external)).await?.get(external) {
            return Ok(*id);
        }
        reference.numeric().ok_or_else(|| AppError::invalid("account_id", Reason::UnknownAccount))
    }

    /// At most `limit` accounts whose name, external id, domain or reading contains `text`
    /// (width, case, spaces and katakana/hiragana aside): the account with exactly this external
    /// id first, then by name.
    pub async fn search_accounts(&self, text: &str, limit: i64) -> Result<Vec<Account>, AppError> {
        let mut found = Vec::new();
        if let Ok(external) = ExternalId::parse(text) {
            if let Some(id) =
                self.store.account_ids_by_external_id(std::slice::from_ref(&external)).await?.get(&external)
            {
                found.push(self.store.get_account(*id).await?);
            }
        }
        for account in self.store.search_accounts(text, limit).await? {
            if found.iter().all(|f| f.id != account.id) {
                found.push(account);
            }
        }
        found.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(found)
    }

    /// The account a person means by what they typed in an account field: its external id,
    /// Kizuna's id, or a text that only one account's name, external id, domain or reading
    /// contains.
    pub async fn pick_account(&self, typed: &str) -> Result<AccountPick, AppError> {
        let typed = typed.trim();
        let external = ExternalId::parse(typed).map_err(|reason| AppError::invalid("account_id", reason))?;
        let named = match self.account_id_of(&AccountRef::External(external)).await {
            Ok(id) => match self.store.get_account(id).await {
                Ok(account) => Some(account),
                Err(StoreError::NotFound { .. }) => None,
                Err(other) => return Err(other.into()),
            },
            Err(AppError::Invalid(_)) => None,
            Err(other) => return Err(other),
        };
        if let Some(account) = named {
            return Ok(AccountPick::Found(Box::new(account)));
        }
        let mut matches = self.search_accounts(typed, PICK_CANDIDATES).await?;
        Ok(match matches.len() {
            0 => AccountPick::NotFound,
            1 => AccountPick::Found(Box::new(matches.remove(0))),
            _ => AccountPick::Several(matches),
        })
    }
}
