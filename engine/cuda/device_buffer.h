// RAII owners for every CUDA resource the backend holds: device and pinned memory, streams,
// events, the cuBLAS handle and CUDA graphs. Move-only; releasing never throws (errors are logged).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstring>
#include <utility>

#include "cuda/cuda_check.h"

namespace moe::cuda {

// cudaMalloc'd device memory (weights and other long-lived buffers). See DeviceContext for the
// stream-ordered pool used by activations.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    // Throws cuda.out_of_memory with the size asked for and what is free.
    explicit DeviceBuffer(size_t bytes, const char* what = "a device buffer");
    ~DeviceBuffer() { reset(); }
    DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
        if (this != &o) {
            reset();
            ptr_ = std::exchange(o.ptr_, nullptr);
            bytes_ = std::exchange(o.bytes_, 0);
        }
        return *this;
    }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    void* get() const { return ptr_; }
    template <class T>
    T* as() const { return static_cast<T*>(ptr_); }
    size_t bytes() const { return bytes_; }
    void reset() noexcept {
        if (ptr_) MOE_CUDA_WARN(cudaFree(ptr_));
        ptr_ = nullptr;
        bytes_ = 0;
    }

private:
    void* ptr_ = nullptr;
    size_t bytes_ = 0;
};

// Page-locked host memory (asynchronous copies, telemetry read-back).
class PinnedBuffer {
public:
    PinnedBuffer() = default;
    explicit PinnedBuffer(size_t bytes) : bytes_(bytes) { MOE_CUDA_CHECK(cudaMallocHost(&ptr_, bytes)); }
    ~PinnedBuffer() {
        if (ptr_) MOE_CUDA_WARN(cudaFreeHost(ptr_));
    }
    PinnedBuffer(PinnedBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
    PinnedBuffer& operator=(PinnedBuffer&& o) noexcept {
        std::swap(ptr_, o.ptr_);
        std::swap(bytes_, o.bytes_);
        return *this;
    }
    PinnedBuffer(const PinnedBuffer&) = delete;
    PinnedBuffer& operator=(const PinnedBuffer&) = delete;
    template <class T>
    T* as() const { return static_cast<T*>(ptr_); }
    size_t bytes() const { return bytes_; }

private:
    void* ptr_ = nullptr;
    size_t bytes_ = 0;
};

// Page-locked host memory mapped into the device's address space: kernels store into it directly
// (zero-copy), the host reads it after a synchronisation without a copy (device-side error flags).
class MappedHostBuffer {
public:
    MappedHostBuffer() = default;
    explicit MappedHostBuffer(size_t bytes) : bytes_(bytes) {
        MOE_CUDA_CHECK(cudaHostAlloc(&host_, bytes, cudaHostAllocMapped));
        std::memset(host_, 0, bytes);
        MOE_CUDA_CHECK(cudaHostGetDevicePointer(&device_, host_, 0));
    }
    ~MappedHostBuffer() {
        if (host_) MOE_CUDA_WARN(cudaFreeHost(host_));
    }
    MappedHostBuffer(MappedHostBuffer&& o) noexcept
        : host_(std::exchange(o.host_, nullptr)), device_(std::exchange(o.device_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
    MappedHostBuffer& operator=(MappedHostBuffer&& o) noexcept {
        std::swap(host_, o.host_);
        std::swap(device_, o.device_);
        std::swap(bytes_, o.bytes_);
        return *this;
    }
    MappedHostBuffer(const MappedHostBuffer&) = delete;
    MappedHostBuffer& operator=(const MappedHostBuffer&) = delete;
    template <class T>
    T* host() const { return static_cast<T*>(host_); }
    template <class T>
    T* device() const { return static_cast<T*>(device_); }

private:
    void* host_ = nullptr;
    void* device_ = nullptr;
    size_t bytes_ = 0;
};

class Stream {
public:
    Stream() { MOE_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
    ~Stream() {
        if (s_) MOE_CUDA_WARN(cudaStreamDestroy(s_));
    }
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    cudaStream_t get() const { return s_; }

private:
    cudaStream_t s_ = nullptr;
};

class Event {
public:
    explicit Event(unsigned flags = cudaEventDefault) { MOE_CUDA_CHECK(cudaEventCreateWithFlags(&e_, flags)); }
    ~Event() {
        if (e_) MOE_CUDA_WARN(cudaEventDestroy(e_));
    }
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    cudaEvent_t get() const { return e_; }

private:
    cudaEvent_t e_ = nullptr;
};

class CublasHandle {
public:
    CublasHandle() { MOE_CUBLAS_CHECK(cublasCreate(&h_)); }
    ~CublasHandle() {
        if (h_) (void)cublasDestroy(h_);
    }
    CublasHandle(const CublasHandle&) = delete;
    CublasHandle& operator=(const CublasHandle&) = delete;
    cublasHandle_t get() const { return h_; }

private:
    cublasHandle_t h_ = nullptr;
};

// A captured CUDA graph and its executable instance.
class Graph {
public:
    Graph() = default;
    ~Graph() { reset(); }
    Graph(const Graph&) = delete;
    Graph& operator=(const Graph&) = delete;
    // Takes ownership of a captured graph and instantiates it.
    void adopt(cudaGraph_t g) {
        reset();
        graph_ = g;
        MOE_CUDA_CHECK(cudaGraphInstantiate(&exec_, graph_, 0));
    }
    void launch(cudaStream_t s) const { MOE_CUDA_CHECK(cudaGraphLaunch(exec_, s)); }
    bool ready() const { return exec_ != nullptr; }
    void reset() noexcept {
        if (exec_) MOE_CUDA_WARN(cudaGraphExecDestroy(exec_));
        if (graph_) MOE_CUDA_WARN(cudaGraphDestroy(graph_));
        exec_ = nullptr;
        graph_ = nullptr;
    }

private:
    cudaGraph_t graph_ = nullptr;
    cudaGraphExec_t exec_ = nullptr;
};

}  // namespace moe::cuda
