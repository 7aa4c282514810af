-- Batch payloads are LZ4-compressed already and message keys are random hashes: PostgreSQL's own
-- compression of large values (pglz) would spend time on every ingest and gain nothing.
ALTER TABLE event_batches ALTER COLUMN payload SET STORAGE EXTERNAL;
ALTER TABLE event_batches ALTER COLUMN message_keys SET STORAGE EXTERNAL;
