-- Rate-limit counters (authkit.Limiter). Per key, tat is the theoretical
-- arrival time of the next event under the generic cell rate algorithm, in
-- microseconds since the Unix epoch. Keys are short and carry no personal
-- data: the Authenticator hashes the emails and addresses it limits on.
CREATE TABLE IF NOT EXISTS authkit_rate_limits (
    limit_key VARBINARY(255) NOT NULL,
    tat       BIGINT NOT NULL,
    PRIMARY KEY (limit_key),
    KEY authkit_rate_limits_tat_idx (tat)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
