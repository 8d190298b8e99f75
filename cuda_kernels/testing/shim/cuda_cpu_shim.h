// Minimal CUDA-on-CPU shim: lets the kernels of cuda_kernels/*.cu compile with g++ and run serially.
//
// __global__/__device__/__forceinline__ are defined away, dim3 and the four index variables are
// thread-local globals set by the launchers (one loop over blocks and threads, see cpu_shim.py), and
// atomicAdd is a plain add, which is exact in a serial loop. Kernels that use __syncthreads or
// shared memory are not supported: every kernel of this package is a grid-stride loop without them.
#ifndef CUDA_KERNELS_CPU_SHIM_H
#define CUDA_KERNELS_CPU_SHIM_H

#include <cmath>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline

using std::fabs;
using std::floor;
using std::isfinite;

struct dim3 {
    unsigned int x, y, z;
    dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};

static thread_local dim3 blockIdx(0, 0, 0);
static thread_local dim3 threadIdx(0, 0, 0);
static thread_local dim3 blockDim(1, 1, 1);
static thread_local dim3 gridDim(1, 1, 1);

template <typename T>
inline T atomicAdd(T* address, T value) {
    const T old = *address;
    *address = old + value;
    return old;
}

// Runs `body()` once for every (block, thread) of a 3-D launch, in order, with the index variables set.
template <typename Body>
inline void shim_launch(dim3 grid, dim3 block, Body body) {
    gridDim = grid;
    blockDim = block;
    for (unsigned int bz = 0; bz < grid.z; ++bz)
        for (unsigned int by = 0; by < grid.y; ++by)
            for (unsigned int bx = 0; bx < grid.x; ++bx)
                for (unsigned int tz = 0; tz < block.z; ++tz)
                    for (unsigned int ty = 0; ty < block.y; ++ty)
                        for (unsigned int tx = 0; tx < block.x; ++tx) {
                            blockIdx = dim3(bx, by, bz);
                            threadIdx = dim3(tx, ty, tz);
                            body();
                        }
}

#endif  // CUDA_KERNELS_CPU_SHIM_H
