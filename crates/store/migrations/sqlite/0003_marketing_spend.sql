-- Sales & marketing spend per calendar month ('YYYY-MM'), entered by users, for CAC.
CREATE TABLE marketing_spend (
    month TEXT PRIMARY KEY,
    amount TEXT NOT NULL
);
