-- Home asks every page view for paying accounts and ARR per grade, and how many accounts are in
-- onboarding: a covering index answers the first from the index alone, and an index on the
-- stage counts the second (and narrows the accounts list by stage) without reading every row.
CREATE INDEX accounts_grade_totals ON accounts (health_grade, mrr_hundredths, arr_hundredths);
CREATE INDEX accounts_stage ON accounts (stage);
