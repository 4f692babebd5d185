// HTTP answers from the hub turned into moe::Error with stable codes and sentences a person can act on:
// hub.unauthorized (401), hub.gated (gated repository: accept the licence, set HF_TOKEN),
// hub.not_found (404), hub.rate_limited (429), hub.network (transport errors, 5xx).
#pragma once

#include <string>

#include "core/error.h"
#include "hub/http_request.h"

namespace moe::hub {

// The error for a response that is not 2xx (or a failed transfer). `repo` names the repository
// for the gated message ("" when none); `what` says what was being fetched ("file list of org/name").
Error http_failure(const HttpResult& r, const std::string& url, const std::string& repo, const std::string& what);

// Whether trying again can help: transport errors, 408, 429, 5xx.
bool is_retryable(const HttpResult& r);

// Seconds the server asked us to wait (Retry-After as seconds or an HTTP date); -1 when absent.
double retry_after_seconds(const HttpHead& head);

}  // namespace moe::hub
