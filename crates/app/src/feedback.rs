//! Product feedback use cases: requests and the customers who asked for them, ranked by the
//! revenue behind each (impact), with every status change kept.
//!
//! Any staff member may file a request or add a customer's evidence (support, sales and product
//! hear customers too); editing, moving status and merging belong to managers and to the
//! request's product owner.

use crate::playbooks::{EventKind, TriggerEvent};
use crate::{Actor, App, AppError};
use chrono::Utc;
use domain::access::Role;
use domain::account::Account;
use domain::feedback::{
    impact, AskerFacts, EvidenceInput, Impact, RequestInput, RequestStatus, StatusChange, WebhookInput,
    RENEWING_SOON_DAYS,
};
use domain::timeline::{TimelineEntryInput, TimelineEvent};
use domain::usage::catalog::FeatureKey;
use domain::{AccountId, Reason, RequestId};
use std::collections::{HashMap, HashSet};
use store::{Evidence, FeatureRequest, NewEvidence, RequestWebhook, StatusEntry, StoreError};

/// A request with the revenue behind it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RankedRequest {
    #[serde(flatten)]
    pub request: FeatureRequest,
    pub impact: Impact,
}

/// Which requests a ranked list shows, and whose evidence counts.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub status: Option<RequestStatus>,
    /// Only open requests (not shipped or declined); ignored when `status` is given.
    pub open_only: bool,
    pub product_area: Option<String>,
    /// Only evidence from accounts of this tier counts (and requests without any drop out).
    pub tier: Option<String>,
    /// Only evidence from accounts in this segment counts.
    pub segment: Option<i64>,
}

/// Where status changes go, as any reader sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub url: Option<String>,
    /// `********` when a secret is set: it is never shown.
    pub secret: Option<String>,
}

/// A shipped request as the company reads it: why it was built and for whom.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReleaseNote {
    pub request: FeatureRequest,
    pub impact: Impact,
    pub shipped_on: chrono::NaiveDate,
    /// The names of the accounts that asked, by name.
    pub askers: Vec<String>,
}

/// Evidence with the account it came from.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct EvidenceWithAccount {
    #[serde(flatten)]
    pub evidence: Evidence,
    pub account_name: String,
}

/// Everything the request page shows.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RequestDetail {
    #[serde(flatten)]
    pub request: FeatureRequest,
    pub impact: Impact,
    pub evidence: Vec<EvidenceWithAccount>,
    pub history: Vec<StatusEntry>,
    /// Requests merged into this one.
    pub merged: Vec<RequestId>,
    /// Once shipped with a catalog feature: who of those who asked uses it.
    pub adoption: Option<Adoption>,
}

/// How the accounts that asked took up a shipped request's feature.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Adoption {
    pub feature_key: String,
    pub feature_name: String,
    pub feature_name_en: Option<String>,
    pub shipped_on: chrono::NaiveDate,
    pub days_since: i64,
    pub asked: usize,
    /// Accounts that asked and used the feature since it shipped.
    pub adopted: usize,
    /// The share of every other paying account that used it in the same days.
    pub others_share: Option<f64>,
    /// Most uses first.
    pub accounts: Vec<AccountAdoption>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AccountAdoption {
    pub account_id: AccountId,
    pub account_name: String,
    pub first_use: Option<chrono::NaiveDate>,
    pub uses: i64,
}

fn require_manage(actor: &Actor, request: &FeatureRequest) -> Result<(), AppError> {
    let owner = actor.user_id().is_some() && request.input.owner_id == actor.user_id();
    if actor.role() >= Role::Manager || owner {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

impl App {
    /// Whether the actor may edit, move or merge this request: pages offer their forms only then.
    pub fn may_manage_request(&self, actor: &Actor, request: &FeatureRequest) -> bool {
        require_manage(actor, request).is_ok()
    }

    /// The owner must be a staff user and the feature one of the catalog's.
    async fn check_references(&self, input: &RequestInput) -> Result<(), AppError> {
        if let Some(owner) = input.owner_id {
            if let Err(StoreError::NotFound { .. }) = self.store.get_user(owner).await {
                return Err(AppError::invalid("owner_id", Reason::UnknownReference));
            }
        }
        if let Some(key) = &input.feature_key {
            let key = FeatureKey::parse(key).map_err(|reason| AppError::invalid("feature_key", reason))?;
            if let Err(StoreError::NotFound { .. }) = self.store.get_feature(&key).await {
                return Err(AppError::invalid("feature_key", Reason::UnknownReference));
            }
        }
        Ok(())
    }

    /// Since a request shipped with a catalog feature: which of the accounts that asked used it,
    /// and the share of every other paying account that did, from the ingested usage.
    async fn adoption(
        &self,
        request: &FeatureRequest,
        history: &[StatusEntry],
        askers: &HashMap<AccountId, (Account, AskerFacts)>,
    ) -> Result<Option<Adoption>, AppError> {
        let (RequestStatus::Shipped, Some(key)) = (request.status, request.input.feature_key.as_deref()) else {
            return Ok(None);
        };
        let Some(shipped_at) = history.iter().rev().find(|h| h.status == RequestStatus::Shipped) else {
            return Ok(None);
        };
        let key = FeatureKey::parse(key).map_err(|reason| AppError::invalid("feature_key", reason))?;
        let feature = match self.store.get_feature(&key).await {
            Ok(feature) => feature,
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        let shipped_on = shipped_at.changed_at.with_timezone(&self.zone()).date_naive();
        let today = self.today().max(shipped_on);
        let mut accounts = Vec::new();
        for (id, (account, _)) in askers {
            let days: Vec<_> = self
                .store
                .feature_days(*id, shipped_on, today)
                .await?
                .into_iter()
                .filter(|d| d.feature_id == feature.id && d.uses > 0)
                .collect();
            accounts.push(AccountAdoption {
                account_id: *id,
                account_name: account.input.name.clone(),
                first_use: days.iter().map(|d| d.day).min(),
                uses: days.iter().map(|d| d.uses).sum(),
            });
        }
        accounts.sort_by(|a, b| b.uses.cmp(&a.uses).then(a.account_name.cmp(&b.account_name)));
        let adopted = accounts.iter().filter(|a| a.uses > 0).count();
        let used_by: HashSet<AccountId> =
            self.store.feature_accounts(feature.id, shipped_on, today).await?.into_iter().collect();
        let paying = store::AccountQuery { paying: true, ..store::AccountQuery::default() };
        let others: Vec<AccountId> =
            self.store.matching_account_ids(&paying).await?.into_iter().filter(|id| !askers.contains_key(id)).collect();
        let others_used = others.iter().filter(|id| used_by.contains(id)).count();
        Ok(Some(Adoption {
            feature_key: key.as_str().to_owned(),
            feature_name: feature.definition.name.clone(),
            feature_name_en: feature.definition.name_en.clone(),
            shipped_on,
            days_since: (self.today() - shipped_on).num_days().max(0),
            asked: accounts.len(),
            adopted,
            others_share: (!others.is_empty()).then(|| others_used as f64 / others.len() as f64),
            accounts,
        }))
    }

    pub async fn create_request(&self, actor: &Actor, input: RequestInput) -> Result<FeatureRequest, AppError> {
        self.create_request_at(actor, input, Utc::now()).await
    }

    /// As `create_request`, dated `now` (the demo dates its history in the past).
    pub(crate) async fn create_request_at(
        &self,
        actor: &Actor,
        input: RequestInput,
        now: chrono::DateTime<Utc>,
    ) -> Result<FeatureRequest, AppError> {
        self.check_references(&input).await?;
        let request = self.store.create_request(&input, actor.user_id(), now).await?;
        self.record_change(actor, "create", "feature_request", &request.id.to_string(), None, Some(&request)).await?;
        Ok(request)
    }

    /// The request, or the one it was merged into (followed to the end).
    pub async fn get_request(&self, id: RequestId) -> Result<FeatureRequest, AppError> {
        let mut request = self.store.get_request(id).await?;
        let mut seen = HashSet::from([request.id]);
        while let Some(next) = request.merged_into.filter(|next| seen.insert(*next)) {
            request = self.store.get_request(next).await?;
        }
        Ok(request)
    }

    pub async fn update_request(
        &self,
        actor: &Actor,
        id: RequestId,
        input: RequestInput,
    ) -> Result<FeatureRequest, AppError> {
        let before = self.get_request(id).await?;
        require_manage(actor, &before)?;
        self.check_references(&input).await?;
        let after = self.store.update_request(before.id, &input, Utc::now()).await?;
        self.record_change(actor, "update", "feature_request", &after.id.to_string(), Some(&before), Some(&after))
            .await?;
        Ok(after)
    }

    /// Moves a request to another status and keeps the move in its history.
    pub async fn change_request_status(
        &self,
        actor: &Actor,
        id: RequestId,
        change: StatusChange,
    ) -> Result<FeatureRequest, AppError> {
        self.change_request_status_at(actor, id, change, Utc::now()).await
    }

    /// As `change_request_status`, dated `now` (the demo dates its history in the past).
    pub(crate) async fn change_request_status_at(
        &self,
        actor: &Actor,
        id: RequestId,
        change: StatusChange,
        now: chrono::DateTime<Utc>,
    ) -> Result<FeatureRequest, AppError> {
        let before = self.get_request(id).await?;
        require_manage(actor, &before)?;
        let after = self.store.change_request_status(before.id, &change, actor.user_id(), now).await?;
        self.record_change(actor, "status", "feature_request", &after.id.to_string(), Some(&before), Some(&after))
            .await?;
        if before.status != after.status {
            let askers = self.tell_askers(actor, &after, now).await?;
            self.post_status_change(&before, &after, askers.len(), now).await;
            if after.status == RequestStatus::Shipped {
                let events: Vec<TriggerEvent> = askers
                    .into_iter()
                    .map(|account| TriggerEvent {
                        account,
                        kind: EventKind::RequestShipped,
                        occurrence: format!("request:{}", after.id),
                        data: serde_json::json!({"request_id": after.id.0, "request": after.input.title}),
                    })
                    .collect();
                self.fire_triggers(&events).await?;
            }
        }
        Ok(after)
    }

    /// The issue tracker's webhook, its secret masked.
    pub async fn request_webhook(&self) -> Result<WebhookView, AppError> {
        let stored = self.store.request_webhook().await?;
        Ok(WebhookView {
            url: stored.as_ref().map(|w| w.url.clone()),
            secret: stored.map(|_| domain::playbooks::SECRET_MASK.to_owned()),
        })
    }

    /// Sets where status changes are posted (admins), or removes it (`None`). A new webhook
    /// needs a secret; an edit without one keeps the stored secret.
    pub async fn set_request_webhook(
        &self,
        actor: &Actor,
        input: Option<WebhookInput>,
    ) -> Result<WebhookView, AppError> {
        if actor.role() != Role::Admin {
            return Err(AppError::Forbidden);
        }
        let before = self.request_webhook().await?;
        let webhook = match input {
            None => None,
            Some(input) => {
                let policy = self.delivery.outbound.read().unwrap_or_else(|p| p.into_inner()).clone();
                if !crate::delivery::literal_host_permitted(&policy, &input.url) {
                    return Err(AppError::invalid("url", Reason::InternalAddress));
                }
                let secret = match input.secret {
                    Some(secret) => secret,
                    None => match self.store.request_webhook().await? {
                        Some(stored) => stored.secret,
                        None => return Err(AppError::invalid("secret", Reason::Required)),
                    },
                };
                Some(RequestWebhook { url: input.url, secret })
            }
        };
        self.store.save_request_webhook(webhook.as_ref(), Utc::now()).await?;
        let after = self.request_webhook().await?;
        self.record_change(actor, "update", "request_webhook", "1", Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// Posts a status change to the issue tracker's webhook, if there is one. A failed call does
    /// not undo the change: it is logged with the reason.
    async fn post_status_change(
        &self,
        before: &FeatureRequest,
        after: &FeatureRequest,
        accounts: usize,
        now: chrono::DateTime<Utc>,
    ) {
        let webhook = match self.store.request_webhook().await {
            Ok(Some(webhook)) => webhook,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, request = after.id.0, "request webhook not read");
                return;
            }
        };
        let body = serde_json::json!({
            "event": "request.status_changed",
            "request": {"id": after.id, "title": after.input.title, "product_area": after.input.product_area,
                        "status": after.status, "previous_status": before.status, "reason": after.status_reason,
                        "feature_key": after.input.feature_key, "path": format!("/requests/{}", after.id)},
            "accounts": accounts,
            "changed_at": now,
        });
        let delivery = format!("request-{}-{}", after.id, now.timestamp_millis());
        let body = body.to_string().into_bytes();
        if let Err(error) = self.post_signed("request webhook", &webhook.url, &webhook.secret, &delivery, body).await {
            tracing::warn!(%error, request = after.id.0, "request status change not posted to the webhook");
        }
    }

    /// Writes the move on the timeline of every account that asked, so their CSMs see it where
    /// they work (and can tell the customer); returns the accounts told.
    async fn tell_askers(
        &self,
        actor: &Actor,
        request: &FeatureRequest,
        now: chrono::DateTime<Utc>,
    ) -> Result<Vec<AccountId>, AppError> {
        let mut accounts: Vec<AccountId> =
            self.store.list_evidence(Some(request.id), None).await?.into_iter().map(|e| e.account_id).collect();
        accounts.sort();
        accounts.dedup();
        let mut csms = Vec::new();
        for &account in &accounts {
            csms.extend(crate::notifications::account_csms(&self.store.get_account(account).await?));
            let event = TimelineEvent::RequestStatusChanged {
                request_id: request.id.0,
                title: request.input.title.clone(),
                status: request.status,
                reason: request.status_reason.clone(),
            };
            self.store
                .create_timeline_entry(&TimelineEntryInput::recorded(account, actor.user_id(), now, event))
                .await?;
        }
        let notice = domain::notifications::Notice::request_status_changed(
            request.id.0,
            &request.input.title,
            &request.status.names(),
            request.status_reason.as_deref(),
            &now.to_rfc3339(),
        );
        self.notify_quietly(csms.into_iter().filter(|csm| Some(*csm) != actor.user_id()), &notice, now).await;
        Ok(accounts)
    }

    /// Records a customer asking for a request. The contact, when given, must be the account's.
    pub async fn add_request_evidence(
        &self,
        actor: &Actor,
        id: RequestId,
        input: EvidenceInput,
    ) -> Result<Evidence, AppError> {
        let request = self.get_request(id).await?;
        let account_id = self.account_id_of(&input.account).await?;
        if let Some(contact) = input.contact_id {
            match self.store.get_contact(contact).await {
                Ok(found) if found.input.account_id == account_id => {}
                Ok(_) | Err(StoreError::NotFound { .. }) => {
                    return Err(AppError::invalid("contact_id", Reason::UnknownReference))
                }
                Err(other) => return Err(other.into()),
            }
        }
        let new = NewEvidence {
            account_id,
            contact_id: input.contact_id,
            importance: input.importance,
            source: input.source,
            quote: input.quote,
        };
        let evidence = self.store.add_evidence(request.id, &new, actor.user_id(), Utc::now()).await?;
        self.record_change(actor, "create", "request_evidence", &evidence.id.to_string(), None, Some(&evidence))
            .await?;
        Ok(evidence)
    }

    /// Removes evidence: whoever added it, or whoever manages the request.
    pub async fn remove_request_evidence(&self, actor: &Actor, id: RequestId, evidence: i64) -> Result<(), AppError> {
        let request = self.get_request(id).await?;
        let found = self.store.list_evidence(Some(request.id), None).await?.into_iter().find(|e| e.id == evidence);
        let Some(found) = found else {
            return Err(AppError::NotFound {
                entity: store::Entity::FeatureRequest,
                id: format!("{id}/evidence/{evidence}"),
            });
        };
        let added_it = actor.user_id().is_some() && found.created_by == actor.user_id();
        if !added_it {
            require_manage(actor, &request)?;
        }
        self.store.delete_evidence(request.id, evidence).await?;
        self.record_change(actor, "delete", "request_evidence", &evidence.to_string(), Some(&found), None).await?;
        Ok(())
    }

    /// Merges a duplicate into another request: its evidence moves, each account still counts
    /// once, and its address leads to the survivor.
    pub async fn merge_requests(
        &self,
        actor: &Actor,
        duplicate: RequestId,
        into: RequestId,
    ) -> Result<FeatureRequest, AppError> {
        let from = self.store.get_request(duplicate).await?;
        if from.merged_into.is_some() {
            return Err(AppError::invalid("into", Reason::AlreadyMerged));
        }
        let target = match self.get_request(into).await {
            Err(AppError::Store(StoreError::NotFound { .. })) => {
                return Err(AppError::invalid("into", Reason::UnknownReference))
            }
            other => other?,
        };
        if target.id == from.id {
            return Err(AppError::invalid("into", Reason::SameRequest));
        }
        require_manage(actor, &from)?;
        self.store.merge_requests(from.id, target.id, Utc::now()).await?;
        self.record_change(actor, "merge", "feature_request", &from.id.to_string(), Some(&from), Some(&target)).await?;
        self.get_request(target.id).await
    }

    /// What Kizuna knows about each account for impact: ARR, at risk (the lowest grade), renewing
    /// within `RENEWING_SOON_DAYS`.
    async fn asker_facts(&self, accounts: &[AccountId]) -> Result<HashMap<AccountId, (Account, AskerFacts)>, AppError> {
        let config = self.health_config().await?;
        let lowest = config.grades.last().map(|g| g.key.clone());
        let today = self.today();
        let soon = today.checked_add_days(chrono::Days::new(RENEWING_SOON_DAYS)).unwrap_or(today);
        let mut ids = accounts.to_vec();
        ids.sort();
        ids.dedup();
        Ok(self
            .store
            .accounts_by_ids(&ids)
            .await?
            .into_iter()
            .map(|account| {
                let facts = AskerFacts {
                    arr: account.figures.arr,
                    at_risk: lowest.is_some() && account.health.grade == lowest,
                    renewing_soon: account.figures.next_renewal_date.is_some_and(|d| d >= today && d <= soon),
                };
                (account.id, (account, facts))
            })
            .collect())
    }

    /// The release notes: requests shipped in the last `days` days, latest first, each with the
    /// day it shipped, what the product team wrote, and the accounts that asked.
    pub async fn release_notes(&self, days: u64) -> Result<Vec<ReleaseNote>, AppError> {
        let zone = self.zone();
        let since = self.today().checked_sub_days(chrono::Days::new(days)).unwrap_or(self.today());
        let shipped = RequestFilter { status: Some(RequestStatus::Shipped), ..RequestFilter::default() };
        let mut notes = Vec::new();
        for ranked in self.ranked_requests(&shipped).await? {
            let history = self.store.request_status_history(ranked.request.id).await?;
            let Some(entry) = history.iter().rev().find(|h| h.status == RequestStatus::Shipped) else { continue };
            let shipped_on = entry.changed_at.with_timezone(&zone).date_naive();
            if shipped_on < since {
                continue;
            }
            let evidence = self.store.list_evidence(Some(ranked.request.id), None).await?;
            let mut ids: Vec<AccountId> = evidence.iter().map(|e| e.account_id).collect();
            ids.sort();
            ids.dedup();
            let mut askers: Vec<String> =
                self.store.accounts_by_ids(&ids).await?.into_iter().map(|a| a.input.name).collect();
            askers.sort();
            notes.push(ReleaseNote { request: ranked.request, impact: ranked.impact, shipped_on, askers });
        }
        notes.sort_by(|a, b| b.shipped_on.cmp(&a.shipped_on).then(b.request.id.cmp(&a.request.id)));
        Ok(notes)
    }

    /// Requests with the revenue behind each, highest impact first (then most accounts, newest).
    pub async fn ranked_requests(&self, filter: &RequestFilter) -> Result<Vec<RankedRequest>, AppError> {
        let weights = self.settings().request_impact_weights;
        let requests: Vec<FeatureRequest> = self
            .store
            .list_requests()
            .await?
            .into_iter()
            .filter(|r| match filter.status {
                Some(status) => r.status == status,
                None => !filter.open_only || r.status.is_open(),
            })
            .filter(|r| filter.product_area.as_deref().is_none_or(|area| r.input.product_area.as_deref() == Some(area)))
            .collect();
        let evidence = self.store.list_evidence(None, None).await?;
        let accounts: Vec<AccountId> = evidence.iter().map(|e| e.account_id).collect();
        let facts = self.asker_facts(&accounts).await?;
        let members: Option<HashSet<AccountId>> = match filter.segment {
            Some(segment) => Some(
                self.store
                    .segment_members(segment, i64::MAX, 0)
                    .await?
                    .items
                    .into_iter()
                    .map(|m| m.account.id)
                    .collect(),
            ),
            None => None,
        };
        let counts = |account: &AccountId| {
            let tier_matches = filter
                .tier
                .as_deref()
                .is_none_or(|tier| facts.get(account).is_some_and(|(a, _)| a.input.tier.as_deref() == Some(tier)));
            tier_matches && members.as_ref().is_none_or(|m| m.contains(account))
        };
        let filtering_accounts = filter.tier.is_some() || filter.segment.is_some();
        let mut by_request: HashMap<RequestId, Vec<&Evidence>> = HashMap::new();
        for e in evidence.iter().filter(|e| counts(&e.account_id)) {
            by_request.entry(e.request_id).or_default().push(e);
        }
        let mut ranked: Vec<RankedRequest> = requests
            .into_iter()
            .filter_map(|request| {
                let asked = by_request.get(&request.id).map(Vec::as_slice).unwrap_or_default();
                if filtering_accounts && asked.is_empty() {
                    return None;
                }
                let impact = impact(
                    asked.iter().map(|e| (e.account_id, e.importance)),
                    |id| facts.get(&id).map(|(_, f)| f.clone()),
                    &weights,
                );
                Some(RankedRequest { request, impact })
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.impact
                .score
                .0
                .cmp(&a.impact.score.0)
                .then(b.impact.accounts.cmp(&a.impact.accounts))
                .then(b.request.id.cmp(&a.request.id))
        });
        Ok(ranked)
    }

    /// A request (followed through merges) with its impact, evidence and history.
    pub async fn request_detail(&self, id: RequestId) -> Result<RequestDetail, AppError> {
        let request = self.get_request(id).await?;
        let evidence = self.store.list_evidence(Some(request.id), None).await?;
        let accounts: Vec<AccountId> = evidence.iter().map(|e| e.account_id).collect();
        let facts = self.asker_facts(&accounts).await?;
        let impact = impact(
            evidence.iter().map(|e| (e.account_id, e.importance)),
            |id| facts.get(&id).map(|(_, f)| f.clone()),
            &self.settings().request_impact_weights,
        );
        let history = self.store.request_status_history(request.id).await?;
        let merged = self.store.requests_merged_into(request.id).await?;
        let adoption = self.adoption(&request, &history, &facts).await?;
        let evidence = evidence
            .into_iter()
            .map(|evidence| {
                let account_name =
                    facts.get(&evidence.account_id).map(|(a, _)| a.input.name.clone()).unwrap_or_default();
                EvidenceWithAccount { evidence, account_name }
            })
            .collect();
        Ok(RequestDetail { request, impact, evidence, history, merged, adoption })
    }

    /// The requests an account asked for, newest first, each once with the account's strongest
    /// evidence for it (the newest of equals): an account that asked twice, or whose two requests
    /// were merged, still asked for one thing.
    pub async fn account_requests(&self, account: AccountId) -> Result<Vec<(Evidence, FeatureRequest)>, AppError> {
        let evidence = self.store.list_evidence(None, Some(account)).await?;
        let requests: HashMap<RequestId, FeatureRequest> =
            self.store.list_requests().await?.into_iter().map(|r| (r.id, r)).collect();
        let mut lines: Vec<(Evidence, FeatureRequest)> = Vec::new();
        for e in evidence {
            let Some(request) = requests.get(&e.request_id) else { continue };
            match lines.iter_mut().find(|(_, r)| r.id == request.id) {
                Some(line) if e.importance > line.0.importance => line.0 = e,
                Some(_) => {}
                None => lines.push((e, request.clone())),
            }
        }
        Ok(lines)
    }

    /// Requests not merged into another, newest first (only open ones when `open_only`), for
    /// pickers: without the evidence and impact `ranked_requests` reads.
    pub async fn requests(&self, open_only: bool) -> Result<Vec<FeatureRequest>, AppError> {
        let all = self.store.list_requests().await?;
        Ok(all.into_iter().filter(|r| !open_only || r.status.is_open()).collect())
    }

    /// Product areas in use, for filters and suggestions.
    pub async fn product_areas(&self) -> Result<Vec<String>, AppError> {
        let mut areas: Vec<String> =
            self.requests(false).await?.into_iter().filter_map(|r| r.input.product_area).collect();
        areas.sort();
        areas.dedup();
        Ok(areas)
    }
}
