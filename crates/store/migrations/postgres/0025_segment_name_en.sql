-- A segment's English name (shown to English readers; the name is shown otherwise).
ALTER TABLE segments ADD COLUMN name_en TEXT;
