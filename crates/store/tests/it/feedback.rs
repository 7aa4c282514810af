//! The feedback store: requests with their status history, evidence per request and per
//! account, and merging duplicates in one transaction. On SQLite, and on PostgreSQL when
//! TEST_DATABASE_URL is set.

use chrono::{TimeZone, Utc};
use domain::feedback::{EvidenceSource, RequestImportance, RequestInput, RequestStatus, StatusChange};
use domain::{AccountId, RequestId};
use store::testing::TestStore;
use store::{Entity, NewEvidence, Store, StoreError};
use test_macros::store_test;

fn request(title: &str) -> RequestInput {
    RequestInput {
        title: title.into(),
        description: Some("CSV で一括更新したい".into()),
        product_area: Some("import".into()),
        owner_id: None,
        feature_key: None,
    }
}

fn asked(account: AccountId, importance: RequestImportance) -> NewEvidence {
    NewEvidence { account_id: account, contact_id: None, importance, source: EvidenceSource::Meeting, quote: None }
}

async fn account(store: &dyn Store, external: &str) -> AccountId {
    store.create_account(&store::testing::account_input(external, external)).await.unwrap().id
}

#[store_test]
async fn a_request_keeps_every_status_it_went_through_in_order(t: TestStore) {
    let s = t.store.as_ref();
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let created = s.create_request(&request("一括更新"), None, now).await.unwrap();
    assert_eq!(created.status, RequestStatus::New, "{}", t.label);
    let later = now + chrono::Duration::days(3);
    let declined = StatusChange { status: RequestStatus::Declined, reason: Some("対象外".into()) };
    let after = s.change_request_status(created.id, &declined, None, later).await.unwrap();
    assert_eq!((after.status, after.status_reason.as_deref()), (RequestStatus::Declined, Some("対象外")));
    assert_eq!(after.updated_at, later, "{}", t.label);
    let history: Vec<RequestStatus> =
        s.request_status_history(created.id).await.unwrap().into_iter().map(|h| h.status).collect();
    assert_eq!(history, [RequestStatus::New, RequestStatus::Declined], "{}", t.label);
    let missing = s.change_request_status(RequestId(created.id.0 + 99), &declined, None, later).await;
    assert!(matches!(missing, Err(StoreError::NotFound { entity: Entity::FeatureRequest, .. })), "{}", t.label);
    t.finish().await;
}

#[store_test]
async fn merging_moves_the_evidence_and_hides_the_duplicate_from_the_list(t: TestStore) {
    let s = t.store.as_ref();
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let (a, b) = (account(s, "A").await, account(s, "B").await);
    let keep = s.create_request(&request("SSO"), None, now).await.unwrap();
    let duplicate = s.create_request(&request("SAML login"), None, now).await.unwrap();
    s.add_evidence(keep.id, &asked(a, RequestImportance::Important), None, now).await.unwrap();
    s.add_evidence(duplicate.id, &asked(a, RequestImportance::Blocker), None, now).await.unwrap();
    s.add_evidence(duplicate.id, &asked(b, RequestImportance::NiceToHave), None, now).await.unwrap();

    s.merge_requests(duplicate.id, keep.id, now).await.unwrap();
    assert_eq!(s.list_evidence(Some(keep.id), None).await.unwrap().len(), 3, "{}", t.label);
    assert!(s.list_evidence(Some(duplicate.id), None).await.unwrap().is_empty(), "{}", t.label);
    let listed: Vec<RequestId> = s.list_requests().await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(listed, [keep.id], "{}", t.label);
    assert_eq!(s.get_request(duplicate.id).await.unwrap().merged_into, Some(keep.id), "{}", t.label);
    assert_eq!(s.requests_merged_into(keep.id).await.unwrap(), [duplicate.id], "{}", t.label);
    assert_eq!(s.list_evidence(None, Some(a)).await.unwrap().len(), 2, "{}", t.label);
    let again = s.merge_requests(duplicate.id, keep.id, now).await;
    assert!(matches!(again, Err(StoreError::NotFound { .. })), "a merged request cannot merge again: {}", t.label);
    t.finish().await;
}

#[store_test]
async fn evidence_for_an_account_that_does_not_exist_is_refused_and_removal_names_its_request(t: TestStore) {
    let s = t.store.as_ref();
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let a = account(s, "A").await;
    let first = s.create_request(&request("API"), None, now).await.unwrap();
    let second = s.create_request(&request("Webhooks"), None, now).await.unwrap();
    let missing =
        s.add_evidence(first.id, &asked(AccountId(a.0 + 1000), RequestImportance::Important), None, now).await;
    assert!(matches!(missing, Err(StoreError::InvalidReference { entity: Entity::FeatureRequest })), "{}", t.label);
    let evidence = s.add_evidence(first.id, &asked(a, RequestImportance::Important), None, now).await.unwrap();
    assert!(s.delete_evidence(second.id, evidence.id).await.is_err(), "evidence is removed only from its own request");
    s.delete_evidence(first.id, evidence.id).await.unwrap();
    assert!(s.list_evidence(Some(first.id), None).await.unwrap().is_empty(), "{}", t.label);
    t.finish().await;
}
