-- Per account field, which source wins over tracking group traits (JSON; missing fields take the defaults).
ALTER TABLE workspace_settings ADD COLUMN tracking_field_sources TEXT NOT NULL DEFAULT '{}';
