-- What Kizuna recorded on a timeline, as structured JSON (rendered in the reader's language).
ALTER TABLE timeline_entries ADD COLUMN event TEXT;
