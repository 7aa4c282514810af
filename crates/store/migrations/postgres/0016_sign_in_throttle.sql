-- Sign-in and password attempts per key (`email:…`, `ip:…`, `password:…`) in a fixed window,
-- shared by every app node. Times are unix seconds.
CREATE TABLE sign_in_throttle (
    throttle_key TEXT PRIMARY KEY,
    window_started_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL
);
