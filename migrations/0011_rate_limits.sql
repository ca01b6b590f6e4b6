-- Per-key rate limits. NULL means the service-wide value (RATE_LIMIT_BURST_PER_10S, RATE_LIMIT_DAILY).
ALTER TABLE api_keys
  ADD COLUMN rate_limit_burst_per_10s integer CHECK (rate_limit_burst_per_10s > 0),
  ADD COLUMN rate_limit_daily integer CHECK (rate_limit_daily > 0);
