#include "cuda/bench/device_memory.h"

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/cuda_check.h"

namespace moe::bench {

namespace {

cudaMemPool_t default_pool() {
    int device = 0;
    MOE_CUDA_CHECK(cudaGetDevice(&device));
    cudaMemPool_t pool = nullptr;
    MOE_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
    return pool;
}

double pool_attribute(cudaMemPool_t pool, cudaMemPoolAttr attr) {
    uint64_t v = 0;
    MOE_CUDA_CHECK(cudaMemPoolGetAttribute(pool, attr, &v));
    return double(v);
}

double device_used_bytes() {
    size_t free_b = 0, total_b = 0;
    MOE_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    return double(total_b - free_b);
}

double outside_pool_now(cudaMemPool_t pool) {
    return device_used_bytes() - pool_attribute(pool, cudaMemPoolAttrReservedMemCurrent);
}

}  // namespace

Json DeviceMemoryReading::to_json() const {
    return Json{{"peak_bytes", peak()},
                {"outside_pool_bytes", outside_pool},
                {"pool_used_high_bytes", pool_used_high},
                {"pool_reserved_high_bytes", pool_reserved_high},
                {"device_used_bytes", device_used}};
}

DeviceMemoryMeter::DeviceMemoryMeter() {
    MOE_CUDA_CHECK(cudaDeviceSynchronize());
    cudaMemPool_t pool = default_pool();
    MOE_CUDA_CHECK(cudaMemPoolTrimTo(pool, 0));
    baseline_outside_ = outside_pool_now(pool);
    reset_peak();
}

void DeviceMemoryMeter::reset_peak() {
    cudaMemPool_t pool = default_pool();
    uint64_t zero = 0;  // the only value these attributes accept: restart from the current use
    MOE_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &zero));
    MOE_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReservedMemHigh, &zero));
}

DeviceMemoryReading DeviceMemoryMeter::read() const {
    MOE_CUDA_CHECK(cudaDeviceSynchronize());
    cudaMemPool_t pool = default_pool();
    DeviceMemoryReading r;
    r.outside_pool = outside_pool_now(pool) - baseline_outside_;
    r.pool_used_high = pool_attribute(pool, cudaMemPoolAttrUsedMemHigh);
    r.pool_reserved_high = pool_attribute(pool, cudaMemPoolAttrReservedMemHigh);
    r.device_used = device_used_bytes();
    return r;
}

}  // namespace moe::bench
