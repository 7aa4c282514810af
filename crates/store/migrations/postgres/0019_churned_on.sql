-- The day an account churned (it paid before and its MRR is zero now), kept with its other
-- derived figures (`domain::subscription::churned_on`). A churned account has no current health.
-- Clearing `figures_on` makes the next start recompute every account's figures, this one too.

ALTER TABLE accounts ADD COLUMN churned_on DATE;
UPDATE accounts SET figures_on = NULL;
