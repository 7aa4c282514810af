-- The committed term of a subscription period, in months (issue 17): renewals fall at its ends.
-- NULL keeps the earlier behaviour for quarterly or longer billing (the billing term) and means
-- month to month, with no renewal, for monthly billing. Clearing `figures_on` makes the next
-- start recompute every account's next renewal date under the new rule.
ALTER TABLE subscription_periods ADD COLUMN commitment_months BIGINT;
UPDATE accounts SET figures_on = NULL;
