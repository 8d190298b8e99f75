// DAIN's depth-aware flow projection (DepthFlowProjection), forward and backward.
//
// Specialised at compile time by a prelude that defines `scalar_t` (float or double).
// Layouts are contiguous NCHW: flow (B,2,H,W) in pixels (channel 0 = x, 1 = y), weight (B,1,H,W)
// (inverse depth), out (B,2,H,W), count (B,1,H,W), fill_n (B,1,H,W).
//
// Forward: for every source pixel p with finite flow f, finite weight w > 0 and q = p + f inside
// [0, W-1] x [0, H-1] (inclusive), each of the 4 corners c = (T|Bm, L|R) of q, with
// L = floor(qx), R = min(L+1, W-1), T = floor(qy), Bm = min(T+1, H-1), receives
// out[c] += -w * f and count[c] += w (full weight, not bilinear; border corners may repeat).
// Then out /= count where count > 0, and (optionally) every hole (count == 0) takes the mean of the
// nearest covered pixels found scanning left, right, up and down.
//
// Every kernel is one grid-stride loop. Splatting uses atomicAdd; the scans run one thread per row
// (or column) and write only inside that row (or column), so the CPU shim's serial loop, with
// atomicAdd as a plain add, computes the same thing.

__device__ __forceinline__ bool projection_source(
    const scalar_t* __restrict__ flow, const scalar_t* __restrict__ weight, const int height, const int width,
    const int b, const int y, const int x, scalar_t& fx, scalar_t& fy, scalar_t& w,
    long long (&corners)[4])
{
    const long long plane = (long long)height * width;
    const long long pixel = (long long)y * width + x;
    fx = flow[(2LL * b) * plane + pixel];
    fy = flow[(2LL * b + 1) * plane + pixel];
    w = weight[(long long)b * plane + pixel];
    if (!(isfinite(fx) && isfinite(fy) && isfinite(w) && w > (scalar_t)0)) {
        return false;
    }
    const scalar_t qx = (scalar_t)x + fx;
    const scalar_t qy = (scalar_t)y + fy;
    if (!(qx >= (scalar_t)0 && qx <= (scalar_t)(width - 1) && qy >= (scalar_t)0 &&
          qy <= (scalar_t)(height - 1))) {
        return false;
    }
    const int left = (int)floor(qx);
    const int top = (int)floor(qy);
    const int right = left + 1 < width ? left + 1 : width - 1;
    const int bottom = top + 1 < height ? top + 1 : height - 1;
    corners[0] = (long long)top * width + left;
    corners[1] = (long long)top * width + right;
    corners[2] = (long long)bottom * width + left;
    corners[3] = (long long)bottom * width + right;
    return true;
}

extern "C" __global__ void projection_splat(
    const scalar_t* __restrict__ flow, const scalar_t* __restrict__ weight, scalar_t* __restrict__ out,
    scalar_t* __restrict__ count, const int batch, const int height, const int width)
{
    const long long plane = (long long)height * width;
    const long long total = (long long)batch * plane;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        const int x = (int)(index % width);
        const int y = (int)((index / width) % height);
        const int b = (int)(index / plane);
        scalar_t fx, fy, w;
        long long corners[4];
        if (!projection_source(flow, weight, height, width, b, y, x, fx, fy, w, corners)) {
            continue;
        }
        scalar_t* out_x = out + (2LL * b) * plane;
        scalar_t* out_y = out + (2LL * b + 1) * plane;
        scalar_t* count_b = count + (long long)b * plane;
        for (int k = 0; k < 4; ++k) {
            atomicAdd(out_x + corners[k], -w * fx);
            atomicAdd(out_y + corners[k], -w * fy);
            atomicAdd(count_b + corners[k], w);
        }
    }
}

extern "C" __global__ void projection_normalize(
    scalar_t* __restrict__ out, const scalar_t* __restrict__ count, const int batch, const int height,
    const int width)
{
    const long long plane = (long long)height * width;
    const long long total = (long long)batch * plane;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        const scalar_t c = count[index];
        if (c > (scalar_t)0) {
            const long long b = index / plane;
            const long long pixel = index % plane;
            out[(2 * b) * plane + pixel] /= c;
            out[(2 * b + 1) * plane + pixel] /= c;
        }
    }
}

// One thread per line (a row when `along_rows`, else a column). For each hole of the line, adds the
// value of the nearest covered pixel before it and after it (when found) into out at the hole and
// counts the directions found in fill_n. Reads only covered pixels, writes only holes of its line.
extern "C" __global__ void projection_fill_scan(
    scalar_t* __restrict__ out, const scalar_t* __restrict__ count, scalar_t* __restrict__ fill_n,
    const int batch, const int height, const int width, const int along_rows)
{
    const long long plane = (long long)height * width;
    const int lines = along_rows ? height : width;
    const int length = along_rows ? width : height;
    const long long step = along_rows ? 1 : width;
    const long long total = (long long)batch * lines;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        const long long b = index / lines;
        const int line = (int)(index % lines);
        const long long start = along_rows ? (long long)line * width : (long long)line;
        const scalar_t* count_b = count + b * plane;
        scalar_t* fill_b = fill_n + b * plane;
        scalar_t* out_x = out + (2 * b) * plane;
        scalar_t* out_y = out + (2 * b + 1) * plane;
        for (int direction = 0; direction < 2; ++direction) {
            long long found = -1;
            for (int i = 0; i < length; ++i) {
                const int position = direction == 0 ? i : length - 1 - i;
                const long long pixel = start + position * step;
                if (count_b[pixel] > (scalar_t)0) {
                    found = pixel;
                } else if (found >= 0) {
                    out_x[pixel] += out_x[found];
                    out_y[pixel] += out_y[found];
                    fill_b[pixel] += (scalar_t)1;
                }
            }
        }
    }
}

// Holes that found at least one covered neighbour become the mean of the found values.
extern "C" __global__ void projection_fill_average(
    scalar_t* __restrict__ out, const scalar_t* __restrict__ count, const scalar_t* __restrict__ fill_n,
    const int batch, const int height, const int width)
{
    const long long plane = (long long)height * width;
    const long long total = (long long)batch * plane;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        const scalar_t n = fill_n[index];
        if (!(count[index] > (scalar_t)0) && n > (scalar_t)0) {
            const long long b = index / plane;
            const long long pixel = index % plane;
            out[(2 * b) * plane + pixel] /= n;
            out[(2 * b + 1) * plane + pixel] /= n;
        }
    }
}

// Backward of the hole fill, in place on grad (B,2,H,W): every hole that was filled from n found
// neighbours hands grad[hole] / n to each of them. Same line layout and write discipline as the
// forward scan: reads holes, writes only covered pixels of its own line.
extern "C" __global__ void projection_fill_scan_backward(
    scalar_t* __restrict__ grad, const scalar_t* __restrict__ count, const scalar_t* __restrict__ fill_n,
    const int batch, const int height, const int width, const int along_rows)
{
    const long long plane = (long long)height * width;
    const int lines = along_rows ? height : width;
    const int length = along_rows ? width : height;
    const long long step = along_rows ? 1 : width;
    const long long total = (long long)batch * lines;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        const long long b = index / lines;
        const int line = (int)(index % lines);
        const long long start = along_rows ? (long long)line * width : (long long)line;
        const scalar_t* count_b = count + b * plane;
        const scalar_t* fill_b = fill_n + b * plane;
        scalar_t* grad_x = grad + (2 * b) * plane;
        scalar_t* grad_y = grad + (2 * b + 1) * plane;
        for (int direction = 0; direction < 2; ++direction) {
            long long found = -1;
            for (int i = 0; i < length; ++i) {
                const int position = direction == 0 ? i : length - 1 - i;
                const long long pixel = start + position * step;
                if (count_b[pixel] > (scalar_t)0) {
                    found = pixel;
                } else if (found >= 0) {
                    const scalar_t n = fill_b[pixel];
                    grad_x[found] += grad_x[pixel] / n;
                    grad_y[found] += grad_y[pixel] / n;
                }
            }
        }
    }
}

// Backward of splat + normalise, one thread per source pixel (no atomics), grad already carrying
// the hole-fill contributions. With out = -sum(w f) / sum(w) at corner c:
//   grad_flow(p)   = sum_c -grad(c) * w(p) / count(c)
//   grad_weight(p) = sum_c sum_ch -grad(c) / count(c) * (f(p) + out(c))   (exact, exact_weight_grad=1)
//                  = sum_c sum_ch -grad(c) / count(c) * (f(p) - out(c))   (official DAIN, =0)
// Skipped source pixels get zero gradients.
extern "C" __global__ void projection_splat_backward(
    const scalar_t* __restrict__ grad, const scalar_t* __restrict__ flow, const scalar_t* __restrict__ weight,
    const scalar_t* __restrict__ out, const scalar_t* __restrict__ count, scalar_t* __restrict__ grad_flow,
    scalar_t* __restrict__ grad_weight, const int batch, const int height, const int width,
    const int exact_weight_grad)
{
    const long long plane = (long long)height * width;
    const long long total = (long long)batch * plane;
    const scalar_t sign = exact_weight_grad ? (scalar_t)1 : (scalar_t)-1;
    for (long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x; index < total;
         index += (long long)blockDim.x * gridDim.x) {
        const int x = (int)(index % width);
        const int y = (int)((index / width) % height);
        const int b = (int)(index / plane);
        const long long pixel = (long long)y * width + x;
        scalar_t fx, fy, w;
        long long corners[4];
        scalar_t gfx = 0, gfy = 0, gw = 0;
        if (projection_source(flow, weight, height, width, b, y, x, fx, fy, w, corners)) {
            const scalar_t* grad_x = grad + (2LL * b) * plane;
            const scalar_t* grad_y = grad + (2LL * b + 1) * plane;
            const scalar_t* out_x = out + (2LL * b) * plane;
            const scalar_t* out_y = out + (2LL * b + 1) * plane;
            const scalar_t* count_b = count + (long long)b * plane;
            for (int k = 0; k < 4; ++k) {
                const long long c = corners[k];
                const scalar_t gx = grad_x[c] / count_b[c];
                const scalar_t gy = grad_y[c] / count_b[c];
                gfx -= gx * w;
                gfy -= gy * w;
                gw -= gx * (fx + sign * out_x[c]) + gy * (fy + sign * out_y[c]);
            }
        }
        if (grad_flow) {
            grad_flow[(2LL * b) * plane + pixel] = gfx;
            grad_flow[(2LL * b + 1) * plane + pixel] = gfy;
        }
        if (grad_weight) {
            grad_weight[(long long)b * plane + pixel] = gw;
        }
    }
}
