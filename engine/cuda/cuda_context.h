// What one CUDA backend shares with every tensor it made: the device, the compute stream, the
// cuBLAS handle and the stream-ordered allocator. Tensors hold a shared_ptr to it, so it lives
// until the last tensor is gone, whatever the order of destruction.
//
// Activations come from the device's default memory pool through cudaMallocAsync on the compute
// stream (microseconds, no device sync, and legal inside CUDA-graph capture); the pool keeps freed
// memory cached. Debug mode (tests) adds guard bytes around every tensor and fills fresh op outputs
// with NaN, so an out-of-bounds write or an unwritten element shows.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "cuda/cuda_device.h"
#include "cuda/device_buffer.h"
#include "cuda/upload_ring.h"

namespace moe::cuda {

class DeviceContext {
public:
    DeviceContext(const CudaDeviceInfo& info, bool debug_guards);
    ~DeviceContext();
    DeviceContext(const DeviceContext&) = delete;
    DeviceContext& operator=(const DeviceContext&) = delete;

    const CudaDeviceInfo& info() const { return info_; }
    cudaStream_t stream() const { return stream_.get(); }
    cudaStream_t side_stream() const { return side_.get(); }
    cublasHandle_t cublas() const { return cublas_.get(); }
    bool debug() const { return debug_; }
    bool capturing() const;  // the compute stream is being captured into a graph

    // Device words that are 0 between kernels: fused kernels count finished blocks in them to find
    // their last block (which resets the word). One slot per kernel family; kernels on the one
    // compute stream never overlap, so a slot is never shared by two running kernels.
    enum class CounterSlot { Router = 0, Count };
    unsigned* counter(CounterSlot slot) const { return counters_.as<unsigned>() + int(slot); }

    // Row indices that only the device sees (gather_rows, scatter_add_rows) are checked there: a
    // kernel that meets one out of range stores its op code in this word of mapped host memory.
    // take_bad_index() returns the code stored so far (0: none) and clears it; the backend calls it
    // after every synchronisation (CudaBackend::synchronize), so the error surfaces at the next one.
    enum class BadIndex : int { None = 0, GatherRows = 1, ScatterAddRows = 2 };
    int* bad_index_flag() const { return bad_index_.device<int>(); }
    BadIndex take_bad_index();

    // Stream-ordered allocation on the compute stream. Throws cuda.out_of_memory (needed vs free GiB)
    // after trimming the pool's cache and retrying once.
    void* alloc(size_t bytes, const std::string& what);
    void free(void* p) noexcept;

    // Host-to-device copy on the compute stream through page-locked staging (upload_ring.h): the
    // host does not wait for the queue to drain, and `src` may be reused when this returns.
    void upload(void* dst, const void* src, size_t bytes) { uploads_.copy(dst, src, bytes, stream_.get()); }

    // Debug guards: 256 bytes of 0xA5 before and after every tensor.
    static constexpr size_t kGuardBytes = 256;
    void register_guarded(const void* raw, size_t payload_bytes);
    void unregister_guarded(const void* raw, size_t payload_bytes) noexcept;
    // Checks every live guarded allocation (synchronises); returns the number of damaged guards,
    // including those found when tensors were freed.
    int64_t check_guards();

private:
    bool guards_intact(const void* raw, size_t payload_bytes);

    CudaDeviceInfo info_;
    Stream stream_;
    Stream side_;
    CublasHandle cublas_;
    DeviceBuffer cublas_workspace_;
    DeviceBuffer counters_;
    MappedHostBuffer bad_index_;
    UploadRing uploads_{size_t(8) << 20};
    bool debug_ = false;
    std::mutex mutex_;
    std::unordered_map<const void*, size_t> live_sizes_;
    std::atomic<int64_t> damaged_at_free_{0};
};

// Stream-ordered scratch memory for the duration of one op (freed in stream order, so kernels
// enqueued before the free still see it).
class Scratch {
public:
    Scratch(DeviceContext& ctx, size_t bytes, const char* what) : ctx_(ctx), p_(ctx.alloc(bytes, what)) {}
    ~Scratch() { ctx_.free(p_); }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    template <class T>
    T* as() const { return static_cast<T*>(p_); }
    void* get() const { return p_; }

private:
    DeviceContext& ctx_;
    void* p_;
};

}  // namespace moe::cuda
