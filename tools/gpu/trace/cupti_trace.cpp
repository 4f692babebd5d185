// A GPU timeline without Nsight Systems (not usable on the lent machines, KINDS.md): preload this
// library into any CUDA program and it writes every kernel, memcpy and memset with its device
// timestamps, and every CUDA runtime call with its host timestamps, to $CUPTI_TRACE_OUT (CSV:
// kind,start_ns,end_ns,name). tools/gpu/trace/gaps.py reads it: where the GPU sits idle and what
// the host was doing meanwhile.
//   g++ -O2 -shared -fPIC -I/usr/local/cuda/include tools/gpu/trace/cupti_trace.cpp \
//       -L/usr/local/cuda/lib64 -lcupti -o libcupti_trace.so
//   CUPTI_TRACE_OUT=trace.csv LD_PRELOAD=./libcupti_trace.so moe-engine bench-train ...
// Built by tools/gpu/prepare_prebuilt.sh (TRACE=1) into the carry folder's lib/.
#include <cupti.h>
#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace {

constexpr size_t kBufferBytes = 8 << 20;
std::FILE* g_out = nullptr;
std::mutex g_mutex;

void check(CUptiResult r, const char* what) {
    if (r == CUPTI_SUCCESS) return;
    const char* msg = nullptr;
    cuptiGetResultString(r, &msg);
    std::fprintf(stderr, "cupti_trace: %s failed: %s\n", what, msg ? msg : "?");
}

// Kernel names demangled and cut at the argument list (one CSV field, no commas).
std::string short_name(const char* mangled) {
    if (!mangled) return "?";
    int status = 0;
    char* d = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
    std::string s = status == 0 && d ? d : mangled;
    std::free(d);
    const std::string anon = "(anonymous namespace)::";
    for (size_t p = s.find(anon); p != std::string::npos; p = s.find(anon)) s.erase(p, anon.size());
    if (const size_t p = s.find('('); p != std::string::npos && p > 0) s.resize(p);
    for (char& c : s)
        if (c == ',' || c == '\n') c = ';';
    return s;
}

void write_record(const CUpti_Activity* rec) {
    switch (rec->kind) {
    case CUPTI_ACTIVITY_KIND_KERNEL:
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: {
        const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(rec);
        std::fprintf(g_out, "kernel,%llu,%llu,%s\n", (unsigned long long)k->start, (unsigned long long)k->end,
                     short_name(k->name).c_str());
        break;
    }
    case CUPTI_ACTIVITY_KIND_MEMCPY: {
        const auto* m = reinterpret_cast<const CUpti_ActivityMemcpy6*>(rec);
        std::fprintf(g_out, "memcpy,%llu,%llu,memcpy kind %d %llu B\n", (unsigned long long)m->start,
                     (unsigned long long)m->end, int(m->copyKind), (unsigned long long)m->bytes);
        break;
    }
    case CUPTI_ACTIVITY_KIND_MEMSET: {
        const auto* m = reinterpret_cast<const CUpti_ActivityMemset4*>(rec);
        std::fprintf(g_out, "memset,%llu,%llu,memset %llu B\n", (unsigned long long)m->start,
                     (unsigned long long)m->end, (unsigned long long)m->bytes);
        break;
    }
    case CUPTI_ACTIVITY_KIND_RUNTIME: {
        const auto* a = reinterpret_cast<const CUpti_ActivityAPI*>(rec);
        const char* name = nullptr;
        cuptiGetCallbackName(CUPTI_CB_DOMAIN_RUNTIME_API, a->cbid, &name);
        std::fprintf(g_out, "runtime,%llu,%llu,%s\n", (unsigned long long)a->start, (unsigned long long)a->end,
                     name ? name : "?");
        break;
    }
    default:
        break;
    }
}

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
    *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kBufferBytes));
    *size = kBufferBytes;
    *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
    {
        const std::lock_guard<std::mutex> lock(g_mutex);
        CUpti_Activity* rec = nullptr;
        while (g_out && cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) write_record(rec);
    }
    std::free(buffer);
}

void finish() {
    check(cuptiActivityFlushAll(1), "cuptiActivityFlushAll");
    const std::lock_guard<std::mutex> lock(g_mutex);
    if (g_out) std::fclose(g_out);
    g_out = nullptr;
}

__attribute__((constructor)) void start() {
    const char* path = std::getenv("CUPTI_TRACE_OUT");
    if (!path || !*path) return;
    g_out = std::fopen(path, "w");
    if (!g_out) {
        std::fprintf(stderr, "cupti_trace: cannot write %s\n", path);
        return;
    }
    std::fputs("kind,start_ns,end_ns,name\n", g_out);
    check(cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed), "cuptiActivityRegisterCallbacks");
    check(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL), "enable kernels");
    check(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMCPY), "enable memcpy");
    check(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMSET), "enable memset");
    check(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_RUNTIME), "enable runtime");
    std::atexit(finish);
}

}  // namespace
