-- What the team calls each custom field on screen, in each language (JSON: key → {ja, en}).
ALTER TABLE workspace_settings ADD COLUMN custom_field_labels TEXT NOT NULL DEFAULT '{}';
