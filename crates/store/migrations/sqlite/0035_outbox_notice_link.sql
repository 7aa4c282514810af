-- Notices of an email awaiting approval linked to /playbooks/outbox, which is no page: the
-- outbox is /outbox, and each email has its own anchor there.
UPDATE notifications
SET link = '/outbox#email-' || substr(dedupe_key, 7)
WHERE link = '/playbooks/outbox' AND dedupe_key LIKE 'email:%';
