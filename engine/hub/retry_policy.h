// How long to wait before trying again: exponential backoff with jitter, or what the server asked
// for (Retry-After on 429/503). Counts attempts without progress; a download that receives bytes
// starts counting again (as huggingface_hub's http_get does).
#pragma once

namespace moe::hub {

struct RetryPolicy {
    int max_attempts = 6;          // attempts in a row without a single new byte
    double base_seconds = 0.5;     // first wait; doubles each time
    double max_seconds = 16.0;     // cap of the exponential part
    double max_retry_after = 300;  // a server asking for longer than this is an error (hub.rate_limited)

    // Wait before attempt `attempt + 1` (attempt >= 1). retry_after < 0 means the server gave none.
    double wait_seconds(int attempt, double retry_after) const;
};

// Reads MOE_HUB_BACKOFF_BASE (seconds) so tests can shorten the waits; otherwise the defaults.
RetryPolicy default_retry_policy();

}  // namespace moe::hub
