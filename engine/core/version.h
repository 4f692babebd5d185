// The engine's version (CMake's project version), for `moe-engine --version` and the HTTP server's
// `Server: moe-engine/<version>` header.
#pragma once

namespace moe {

const char* engine_version();  // "0.1.0"

}  // namespace moe
