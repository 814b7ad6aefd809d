-- Rate-limit counters (authkit.Limiter). Per key, tat is the theoretical
-- arrival time of the next event under the generic cell rate algorithm, in
-- microseconds since the Unix epoch. Keys are short and carry no personal
-- data: the Authenticator hashes the emails and addresses it limits on.
CREATE TABLE authkit_rate_limits (
    limit_key text COLLATE "C" NOT NULL,
    tat       bigint NOT NULL,
    CONSTRAINT authkit_rate_limits_pkey PRIMARY KEY (limit_key)
);

CREATE INDEX authkit_rate_limits_tat_idx ON authkit_rate_limits (tat);
