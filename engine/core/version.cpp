#include "core/version.h"

#ifndef MOE_VERSION
#error "MOE_VERSION must be defined (engine/CMakeLists.txt passes the project version)"
#endif

namespace moe {

const char* engine_version() { return MOE_VERSION; }

}  // namespace moe
