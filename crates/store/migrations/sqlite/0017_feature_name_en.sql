-- Feature names on English pages and in English health explanations (NULL: the name).
ALTER TABLE features ADD COLUMN name_en TEXT;
