//! The accounts pages: the list (`/accounts`, filters, saved views, CSV) and one account's page
//! (`/accounts/{id}`, the account 360).

pub mod list;
pub mod show;
