#include "cuda/cuda_context.h"

#include <spdlog/spdlog.h>

#include <cstdint>
#include <vector>

namespace moe::cuda {

namespace {
constexpr size_t kCublasWorkspaceBytes = size_t(32) << 20;  // fixed, so cuBLAS never allocates inside a graph
constexpr unsigned char kGuardByte = 0xA5;
}  // namespace

DeviceContext::DeviceContext(const CudaDeviceInfo& info, bool debug_guards) : info_(info), debug_(debug_guards) {
    MOE_CUDA_CHECK(cudaSetDevice(info.index));
    cudaMemPool_t pool;
    MOE_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, info.index));
    uint64_t keep = UINT64_MAX;  // keep freed blocks cached: the next forward reuses them without a driver call
    MOE_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
    cublas_workspace_ = DeviceBuffer(kCublasWorkspaceBytes, "the cuBLAS workspace");
    MOE_CUBLAS_CHECK(cublasSetStream(cublas_.get(), stream_.get()));
    MOE_CUBLAS_CHECK(cublasSetWorkspace(cublas_.get(), cublas_workspace_.get(), kCublasWorkspaceBytes));
    counters_ = DeviceBuffer(size_t(CounterSlot::Count) * sizeof(unsigned), "the fused-kernel block counters");
    bad_index_ = MappedHostBuffer(sizeof(int));
    MOE_CUDA_CHECK(cudaMemsetAsync(counters_.get(), 0, counters_.bytes(), stream_.get()));
    MOE_CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
}

DeviceContext::~DeviceContext() {
    MOE_CUDA_WARN(cudaStreamSynchronize(stream_.get()));
    MOE_CUDA_WARN(cudaStreamSynchronize(side_.get()));
}

bool DeviceContext::capturing() const {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    MOE_CUDA_CHECK(cudaStreamIsCapturing(stream_.get(), &status));
    return status != cudaStreamCaptureStatusNone;
}

DeviceContext::BadIndex DeviceContext::take_bad_index() {
    volatile int* flag = bad_index_.host<int>();
    const int code = *flag;
    if (code != 0) *flag = 0;
    return BadIndex(code);
}

void* DeviceContext::alloc(size_t bytes, const std::string& what) {
    if (bytes == 0) bytes = 16;
    void* p = nullptr;
    cudaError_t e = cudaMallocAsync(&p, bytes, stream_.get());
    if (e == cudaErrorMemoryAllocation && !capturing()) {
        (void)cudaGetLastError();
        cudaMemPool_t pool;
        MOE_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, info_.index));
        MOE_CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
        MOE_CUDA_CHECK(cudaMemPoolTrimTo(pool, 0));
        e = cudaMallocAsync(&p, bytes, stream_.get());
    }
    if (e == cudaErrorMemoryAllocation) throw out_of_memory_error(bytes, what);
    MOE_CUDA_CHECK(e);
    return p;
}

void DeviceContext::free(void* p) noexcept {
    if (p) MOE_CUDA_WARN(cudaFreeAsync(p, stream_.get()));
}

void DeviceContext::register_guarded(const void* raw, size_t payload_bytes) {
    auto* base = static_cast<unsigned char*>(const_cast<void*>(raw));
    MOE_CUDA_CHECK(cudaMemsetAsync(base, kGuardByte, kGuardBytes, stream_.get()));
    MOE_CUDA_CHECK(cudaMemsetAsync(base + kGuardBytes + payload_bytes, kGuardByte, kGuardBytes, stream_.get()));
    std::lock_guard lock(mutex_);
    live_sizes_[raw] = payload_bytes;
}

bool DeviceContext::guards_intact(const void* raw, size_t payload_bytes) {
    std::vector<unsigned char> front(kGuardBytes), back(kGuardBytes);
    const auto* base = static_cast<const unsigned char*>(raw);
    MOE_CUDA_CHECK(cudaMemcpyAsync(front.data(), base, kGuardBytes, cudaMemcpyDeviceToHost, stream_.get()));
    MOE_CUDA_CHECK(cudaMemcpyAsync(back.data(), base + kGuardBytes + payload_bytes, kGuardBytes,
                                   cudaMemcpyDeviceToHost, stream_.get()));
    MOE_CUDA_CHECK(cudaStreamSynchronize(stream_.get()));
    for (size_t i = 0; i < kGuardBytes; ++i)
        if (front[i] != kGuardByte || back[i] != kGuardByte) return false;
    return true;
}

void DeviceContext::unregister_guarded(const void* raw, size_t payload_bytes) noexcept {
    try {
        if (!capturing() && !guards_intact(raw, payload_bytes)) {
            ++damaged_at_free_;
            spdlog::error("CUDA tensor guard bytes overwritten (found when the tensor was freed)");
        }
    } catch (const std::exception& e) {
        spdlog::warn("guard check at free failed: {}", e.what());
    }
    std::lock_guard lock(mutex_);
    live_sizes_.erase(raw);
}

int64_t DeviceContext::check_guards() {
    std::vector<std::pair<const void*, size_t>> all;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [raw, size] : live_sizes_) all.emplace_back(raw, size);
    }
    int64_t damaged = damaged_at_free_.load();
    for (const auto& [raw, size] : all)
        if (!guards_intact(raw, size)) ++damaged;
    return damaged;
}

}  // namespace moe::cuda
