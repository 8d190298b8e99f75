// PWC-Net cost volume (correlation), forward and backward.
//
// Specialised at compile time by a prelude that defines `scalar_t` (float or double).
// Layouts are contiguous NCHW. D = (2*max_displacement + 1)^2 output channels,
// channel d = (dy + md) * (2 * md + 1) + (dx + md)  (dy-major, then dx).
//
//   out[b, d, y, x] = (1 / C) * sum_c feat1[b, c, y, x] * feat2[b, c, y + dy, x + dx]
//
// feat2 is zero outside the image. Every kernel is one grid-stride loop over its outputs, with
// no shared memory, no __syncthreads and no atomics, so it runs serially on the CPU shim.

extern "C" __global__ void correlation_forward(
    const scalar_t* __restrict__ feat1, const scalar_t* __restrict__ feat2, scalar_t* __restrict__ out,
    const int batch, const int channels, const int height, const int width, const int max_displacement)
{
    const int span = 2 * max_displacement + 1;
    const int displacements = span * span;
    const long long plane = (long long)height * width;
    const long long total = (long long)batch * displacements * plane;
    const scalar_t inv_channels = (scalar_t)1 / (scalar_t)channels;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        const int x = (int)(index % width);
        const int y = (int)((index / width) % height);
        const int d = (int)((index / plane) % displacements);
        const int b = (int)(index / (plane * displacements));
        const int dy = d / span - max_displacement;
        const int dx = d % span - max_displacement;
        const int x2 = x + dx;
        const int y2 = y + dy;
        scalar_t acc = 0;
        if (x2 >= 0 && x2 < width && y2 >= 0 && y2 < height) {
            const scalar_t* p1 = feat1 + (long long)b * channels * plane + (long long)y * width + x;
            const scalar_t* p2 = feat2 + (long long)b * channels * plane + (long long)y2 * width + x2;
            for (int c = 0; c < channels; ++c) {
                acc += p1[c * plane] * p2[c * plane];
            }
            acc *= inv_channels;
        }
        out[index] = acc;
    }
}

// grad_feat1[b, c, y, x] = (1 / C) * sum_d grad_out[b, d, y, x] * feat2[b, c, y + dy, x + dx]
extern "C" __global__ void correlation_backward_feat1(
    const scalar_t* __restrict__ grad_out, const scalar_t* __restrict__ feat2,
    scalar_t* __restrict__ grad_feat1,
    const int batch, const int channels, const int height, const int width, const int max_displacement)
{
    const int span = 2 * max_displacement + 1;
    const int displacements = span * span;
    const long long plane = (long long)height * width;
    const long long total = (long long)batch * channels * plane;
    const scalar_t inv_channels = (scalar_t)1 / (scalar_t)channels;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        const int x = (int)(index % width);
        const int y = (int)((index / width) % height);
        const long long bc = index / plane;  // b * channels + c
        const int b = (int)(bc / channels);
        const scalar_t* g = grad_out + (long long)b * displacements * plane + (long long)y * width + x;
        const scalar_t* f2 = feat2 + bc * plane;
        scalar_t acc = 0;
        for (int d = 0; d < displacements; ++d) {
            const int x2 = x + d % span - max_displacement;
            const int y2 = y + d / span - max_displacement;
            if (x2 >= 0 && x2 < width && y2 >= 0 && y2 < height) {
                acc += g[d * plane] * f2[(long long)y2 * width + x2];
            }
        }
        grad_feat1[index] = acc * inv_channels;
    }
}

// grad_feat2[b, c, y, x] = (1 / C) * sum_d grad_out[b, d, y - dy, x - dx] * feat1[b, c, y - dy, x - dx]
extern "C" __global__ void correlation_backward_feat2(
    const scalar_t* __restrict__ grad_out, const scalar_t* __restrict__ feat1,
    scalar_t* __restrict__ grad_feat2,
    const int batch, const int channels, const int height, const int width, const int max_displacement)
{
    const int span = 2 * max_displacement + 1;
    const int displacements = span * span;
    const long long plane = (long long)height * width;
    const long long total = (long long)batch * channels * plane;
    const scalar_t inv_channels = (scalar_t)1 / (scalar_t)channels;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        const int x = (int)(index % width);
        const int y = (int)((index / width) % height);
        const long long bc = index / plane;
        const int b = (int)(bc / channels);
        const scalar_t* g = grad_out + (long long)b * displacements * plane;
        const scalar_t* f1 = feat1 + bc * plane;
        scalar_t acc = 0;
        for (int d = 0; d < displacements; ++d) {
            const int x1 = x - (d % span - max_displacement);
            const int y1 = y - (d / span - max_displacement);
            if (x1 >= 0 && x1 < width && y1 >= 0 && y1 < height) {
                const long long pixel = (long long)y1 * width + x1;
                acc += g[d * plane + pixel] * f1[pixel];
            }
        }
        grad_feat2[index] = acc * inv_channels;
    }
}
