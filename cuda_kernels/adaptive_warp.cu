// DAIN's adaptive warping layer (FilterInterpolation), forward and backward.
//
// Specialised at compile time by a prelude that defines `scalar_t` (float or double).
// Layouts are contiguous NCHW: image (B,C,H,W), flow (B,2,H,W) in pixels (channel 0 = x, 1 = y),
// kernel (B,16,H,W), out (B,C,H,W).
//
// For output pixel p with q = p + flow(p): p is valid iff the flow is finite, 0 <= qx <= W-1,
// 0 <= qy <= H-1, |fx| < W/2 and |fy| < H/2. Invalid pixels copy image(p). Valid ones:
//   x0 = floor(qx), y0 = floor(qy), alpha = qx - x0, beta = qy - y0,
//   wx = [1-alpha, 1-alpha, alpha, alpha], wy = [1-beta, 1-beta, beta, beta],
//   out(p) = sum_{j,i} kernel[4j+i](p) * wy[j] * wx[i] * image(clamp(y0-1+j), clamp(x0-1+i)).
//
// Every kernel is one grid-stride loop over output pixels with no shared memory. The image gradient
// is a scatter with atomicAdd, a plain add on the CPU shim.

struct WarpTaps {
    long long pixel[16];   // clamped source pixel (y * W + x) of tap k = 4 * j + i
    scalar_t wx[4], wy[4];
};

__device__ __forceinline__ bool warp_taps(
    const scalar_t* __restrict__ flow, const int height, const int width, const int b, const int y,
    const int x, WarpTaps& taps)
{
    const long long plane = (long long)height * width;
    const long long pixel = (long long)y * width + x;
    const scalar_t fx = flow[(2LL * b) * plane + pixel];
    const scalar_t fy = flow[(2LL * b + 1) * plane + pixel];
    if (!(isfinite(fx) && isfinite(fy))) {
        return false;
    }
    const scalar_t qx = (scalar_t)x + fx;
    const scalar_t qy = (scalar_t)y + fy;
    if (!(qx >= (scalar_t)0 && qx <= (scalar_t)(width - 1) && qy >= (scalar_t)0 &&
          qy <= (scalar_t)(height - 1) && fabs(fx) < (scalar_t)0.5 * (scalar_t)width &&
          fabs(fy) < (scalar_t)0.5 * (scalar_t)height)) {
        return false;
    }
    const scalar_t x0 = floor(qx);
    const scalar_t y0 = floor(qy);
    const scalar_t alpha = qx - x0;
    const scalar_t beta = qy - y0;
    taps.wx[0] = taps.wx[1] = (scalar_t)1 - alpha;
    taps.wx[2] = taps.wx[3] = alpha;
    taps.wy[0] = taps.wy[1] = (scalar_t)1 - beta;
    taps.wy[2] = taps.wy[3] = beta;
    for (int j = 0; j < 4; ++j) {
        int row = (int)y0 - 1 + j;
        row = row < 0 ? 0 : (row > height - 1 ? height - 1 : row);
        for (int i = 0; i < 4; ++i) {
            int col = (int)x0 - 1 + i;
            col = col < 0 ? 0 : (col > width - 1 ? width - 1 : col);
            taps.pixel[4 * j + i] = (long long)row * width + col;
        }
    }
    return true;
}

extern "C" __global__ void adaptive_warp_forward(
    const scalar_t* __restrict__ image, const scalar_t* __restrict__ flow, const scalar_t* __restrict__ kernel,
    scalar_t* __restrict__ out, const int batch, const int channels, const int height, const int width)
{
    const long long plane = (long long)height * width;
    const long long total = (long long)batch * plane;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        const long long pixel = index % plane;
        const int x = (int)(pixel % width);
        const int y = (int)(pixel / width);
        const int b = (int)(index / plane);
        const scalar_t* image_b = image + (long long)b * channels * plane;
        scalar_t* out_b = out + (long long)b * channels * plane;
        WarpTaps taps;
        if (!warp_taps(flow, height, width, b, y, x, taps)) {
            for (int c = 0; c < channels; ++c) {
                out_b[c * plane + pixel] = image_b[c * plane + pixel];
            }
            continue;
        }
        scalar_t tap_weight[16];
        for (int k = 0; k < 16; ++k) {
            tap_weight[k] = kernel[((long long)b * 16 + k) * plane + pixel] * taps.wy[k / 4] * taps.wx[k % 4];
        }
        for (int c = 0; c < channels; ++c) {
            const scalar_t* image_c = image_b + c * plane;
            scalar_t acc = tap_weight[0] * image_c[taps.pixel[0]];
            for (int k = 1; k < 16; ++k) {
                acc += tap_weight[k] * image_c[taps.pixel[k]];
            }
            out_b[c * plane + pixel] = acc;
        }
    }
}

// Gradients of kernel and flow, one thread per output pixel (no atomics). With
// s_k = sum_c grad_out_c(p) * image_c(tap k):
//   grad_kernel[k] = s_k * wy[j] * wx[i]
//   grad_fx = sum_k s_k * kernel[k] * wy[j] * dwx[i],  dwx = [-1, -1, 1, 1]
//   grad_fy = sum_k s_k * kernel[k] * dwy[j] * wx[i],  dwy = [-1, -1, 1, 1]
// (floor held fixed). Invalid pixels get zero gradients. Either output pointer may be null.
extern "C" __global__ void adaptive_warp_backward_kernel_flow(
    const scalar_t* __restrict__ grad_out, const scalar_t* __restrict__ image,
    const scalar_t* __restrict__ flow, const scalar_t* __restrict__ kernel,
    scalar_t* __restrict__ grad_kernel, scalar_t* __restrict__ grad_flow,
    const int batch, const int channels, const int height, const int width)
{
    const long long plane = (long long)height * width;
    const long long total = (long long)batch * plane;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        const long long pixel = index % plane;
        const int x = (int)(pixel % width);
        const int y = (int)(pixel / width);
        const int b = (int)(index / plane);
        WarpTaps taps;
        scalar_t s[16];
        for (int k = 0; k < 16; ++k) {
            s[k] = 0;
        }
        const bool valid = warp_taps(flow, height, width, b, y, x, taps);
        if (valid) {
            const scalar_t* image_b = image + (long long)b * channels * plane;
            const scalar_t* grad_b = grad_out + (long long)b * channels * plane;
            for (int c = 0; c < channels; ++c) {
                const scalar_t g = grad_b[c * plane + pixel];
                const scalar_t* image_c = image_b + c * plane;
                for (int k = 0; k < 16; ++k) {
                    s[k] += g * image_c[taps.pixel[k]];
                }
            }
        }
        if (grad_kernel) {
            for (int k = 0; k < 16; ++k) {
                grad_kernel[((long long)b * 16 + k) * plane + pixel] =
                    valid ? s[k] * taps.wy[k / 4] * taps.wx[k % 4] : (scalar_t)0;
            }
        }
        if (grad_flow) {
            scalar_t gfx = 0, gfy = 0;
            if (valid) {
                for (int k = 0; k < 16; ++k) {
                    const int j = k / 4;
                    const int i = k % 4;
                    const scalar_t sk = s[k] * kernel[((long long)b * 16 + k) * plane + pixel];
                    gfx += (i < 2 ? -sk : sk) * taps.wy[j];
                    gfy += (j < 2 ? -sk : sk) * taps.wx[i];
                }
            }
            grad_flow[(2LL * b) * plane + pixel] = gfx;
            grad_flow[(2LL * b + 1) * plane + pixel] = gfy;
        }
    }
}

// Image gradient, one thread per output pixel scattering with atomicAdd into a zeroed grad_image:
// valid p adds grad_out_c(p) * kernel[k](p) * wy[j] * wx[i] at each tap; an invalid p copied image(p),
// so it adds grad_out_c(p) at p (the true derivative; the official op gave 0 there).
extern "C" __global__ void adaptive_warp_backward_image(
    const scalar_t* __restrict__ grad_out, const scalar_t* __restrict__ flow,
    const scalar_t* __restrict__ kernel, scalar_t* __restrict__ grad_image,
    const int batch, const int channels, const int height, const int width)
{
    const long long plane = (long long)height * width;
    const long long total = (long long)batch * plane;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        const long long pixel = index % plane;
        const int x = (int)(pixel % width);
        const int y = (int)(pixel / width);
        const int b = (int)(index / plane);
        const scalar_t* grad_b = grad_out + (long long)b * channels * plane;
        scalar_t* grad_image_b = grad_image + (long long)b * channels * plane;
        WarpTaps taps;
        if (!warp_taps(flow, height, width, b, y, x, taps)) {
            for (int c = 0; c < channels; ++c) {
                atomicAdd(grad_image_b + c * plane + pixel, grad_b[c * plane + pixel]);
            }
            continue;
        }
        scalar_t tap_weight[16];
        for (int k = 0; k < 16; ++k) {
            tap_weight[k] = kernel[((long long)b * 16 + k) * plane + pixel] * taps.wy[k / 4] * taps.wx[k % 4];
        }
        for (int c = 0; c < channels; ++c) {
            const scalar_t g = grad_b[c * plane + pixel];
            scalar_t* grad_image_c = grad_image_b + c * plane;
            for (int k = 0; k < 16; ++k) {
                atomicAdd(grad_image_c + taps.pixel[k], g * tap_weight[k]);
            }
        }
    }
}
