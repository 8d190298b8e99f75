"""Benchmark the three cuda_kernels ops against the floor set by memory bandwidth.

For each op at 1920x1080 (batch 1): forward and backward time of the PyTorch reference on this CPU,
and, when a CUDA GPU with CuPy is present, of the CuPy kernels and of the reference on that GPU.
The floor is the minimum bytes the op must move (read its inputs once, write its outputs once)
divided by the bandwidth of a large tensor copy measured here on the same device.

    .venv/bin/python benchmarks/bench_kernels.py [--height 1080 --width 1920 --repeats 3 --threads 1]

Prints a Markdown table; wall times are medians, "cpu s" is this process's CPU time per call (the
CPU column is sensitive to other load on the machine; the load average is printed with it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from cuda_kernels import (
    adaptive_warp,
    adaptive_warp_reference,
    correlation,
    correlation_reference,
    depth_flow_projection,
    depth_flow_projection_reference,
)

BYTES = 4  # float32


@dataclass
class Case:
    name: str
    kernel: Callable[..., torch.Tensor]
    reference: Callable[..., torch.Tensor]
    make_inputs: Callable[[torch.device], list[torch.Tensor]]
    forward_elements: int  # float32 elements an ideal forward reads + writes
    backward_elements: int  # float32 elements an ideal backward reads + writes
    cpu: bool = True


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def copy_bandwidth(device: torch.device, megabytes: int = 256) -> float:
    """Bytes per second of a large device-local tensor copy (read + write counted)."""
    source = torch.empty(megabytes * 2**20 // BYTES, device=device).uniform_()
    target = torch.empty_like(source)
    times = []
    for _ in range(5):
        synchronize(device)
        start = time.perf_counter()
        target.copy_(source)
        synchronize(device)
        times.append(time.perf_counter() - start)
    return 2 * source.numel() * BYTES / min(times)


def time_call(fn: Callable[[], object], device: torch.device, repeats: int) -> tuple[float, float]:
    """(median wall seconds, mean process CPU seconds) of ``fn`` after one warm-up call."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        synchronize(device)
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        synchronize(device)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.fmean(cpus)


def time_forward_backward(
    op: Callable[..., torch.Tensor], inputs: list[torch.Tensor], device: torch.device, repeats: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """((wall, cpu) of the forward under no_grad, (wall, cpu) of the backward alone)."""
    with torch.no_grad():
        forward = time_call(lambda: op(*inputs), device, repeats)
    leaves = [t.detach().requires_grad_() for t in inputs]
    grad = None
    walls, cpus = [], []
    for attempt in range(repeats + 1):  # attempt 0 is a warm-up
        out = op(*leaves)  # graph built outside the timed region
        grad = torch.randn_like(out) if grad is None else grad
        synchronize(device)
        wall, cpu = time.perf_counter(), time.process_time()
        torch.autograd.grad(out, leaves, grad)
        synchronize(device)
        if attempt:
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        del out
    return forward, (statistics.median(walls), statistics.fmean(cpus))


def cases(height: int, width: int, corr_channels: int) -> list[Case]:
    pixels = height * width

    def rand(device: torch.device, *shape: int, scale: float = 1.0, offset: float = 0.0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(sum(shape))
        return (torch.rand(shape, generator=generator) * scale + offset).to(device)

    def flow(device: torch.device) -> torch.Tensor:
        return rand(device, 1, 2, height, width, scale=16.0, offset=-8.0)

    displacements = 81
    return [
        Case(
            f"correlation (C={corr_channels}, d=4)",
            correlation,
            correlation_reference,
            lambda d: [rand(d, 1, corr_channels, height, width), rand(d, 1, corr_channels, height, width)],
            forward_elements=(2 * corr_channels + displacements) * pixels,
            backward_elements=(displacements + 4 * corr_channels) * pixels,
        ),
        Case(
            "depth_flow_projection (fill)",
            depth_flow_projection,
            depth_flow_projection_reference,
            lambda d: [flow(d), rand(d, 1, 1, height, width, offset=0.1)],
            forward_elements=(2 + 1 + 2) * pixels,
            backward_elements=(2 + 2 + 1 + 2 + 1) * pixels,
        ),
        Case(
            "adaptive_warp (C=3)",
            adaptive_warp,
            adaptive_warp_reference,
            lambda d: [rand(d, 1, 3, height, width), flow(d), rand(d, 1, 16, height, width)],
            forward_elements=(2 * 3 + 2 + 16) * pixels,
            backward_elements=(3 * 3 + 2 * (2 + 16)) * pixels,
        ),
        Case(
            "adaptive_warp (C=196, DAIN context)",
            adaptive_warp,
            adaptive_warp_reference,
            lambda d: [rand(d, 1, 196, height, width), flow(d), rand(d, 1, 16, height, width)],
            forward_elements=(2 * 196 + 2 + 16) * pixels,
            backward_elements=(3 * 196 + 2 * (2 + 16)) * pixels,
            cpu=False,
        ),
    ]


def fmt(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e3:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--corr-channels", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    cpu = torch.device("cpu")
    gpu = torch.device("cuda") if torch.cuda.is_available() else None
    from cuda_kernels._cupy_launch import cupy_available

    cpu_bandwidth = copy_bandwidth(cpu)
    gpu_bandwidth = copy_bandwidth(gpu) if gpu is not None else None
    print(f"# cuda_kernels benchmark, {args.width}x{args.height}, batch 1, float32")
    load = os.getloadavg()[0]
    threads = torch.get_num_threads()
    print(f"CPU: {os.cpu_count()} logical cores, torch threads {threads}, load average {load:.2f}")
    print(f"CPU copy bandwidth {cpu_bandwidth / 1e9:.2f} GB/s")
    if gpu is not None:
        name = torch.cuda.get_device_name(gpu)
        print(f"GPU: {name}, copy bandwidth {gpu_bandwidth / 1e9:.0f} GB/s, CuPy {cupy_available()}")
    else:
        print("GPU: none (GPU columns n/a)")
    print()
    columns = ["op", "pass", "CPU floor ms", "CPU reference ms (cpu s)", "GPU floor ms", "GPU CuPy ms"]
    print("| " + " | ".join([*columns, "GPU reference ms"]) + " |")
    print("|---|---|---|---|---|---|---|")
    for case in cases(args.height, args.width, args.corr_channels):
        results: dict[str, tuple] = {}
        if case.cpu:
            results["cpu"] = time_forward_backward(case.reference, case.make_inputs(cpu), cpu, args.repeats)
        if gpu is not None:
            inputs = case.make_inputs(gpu)
            if cupy_available():
                results["gpu_kernel"] = time_forward_backward(case.kernel, inputs, gpu, max(args.repeats, 10))
            results["gpu_reference"] = time_forward_backward(
                case.reference, inputs, gpu, max(args.repeats, 10)
            )
        for index, (label, elements) in enumerate(
            (("forward", case.forward_elements), ("backward", case.backward_elements))
        ):
            cpu_floor = elements * BYTES / cpu_bandwidth
            gpu_floor = elements * BYTES / gpu_bandwidth if gpu_bandwidth else None
            cpu_cell = "skipped (too slow on CPU)"
            if "cpu" in results:
                wall, cpu_seconds = results["cpu"][index]
                cpu_cell = f"{fmt(wall)} ({cpu_seconds:.2f})"
            kernel = results.get("gpu_kernel")
            reference = results.get("gpu_reference")
            kernel_cell = fmt(kernel[index][0] if kernel else None)
            reference_cell = fmt(reference[index][0] if reference else None)
            cells = [case.name, label, fmt(cpu_floor), cpu_cell, fmt(gpu_floor), kernel_cell, reference_cell]
            print("| " + " | ".join(cells) + " |")
    shim_figures(args.height, args.width)


def shim_figures(height: int, width: int) -> None:
    """Build time of the CPU shim and one serial projection splat through it (needs g++)."""
    import shutil

    if shutil.which("g++") is None:
        print("\nCPU shim: g++ not found")
        return
    from cuda_kernels.testing import cpu_shim

    start = time.perf_counter()
    library = cpu_shim.build_shim_from_source(
        cpu_shim.kernel_source("depth_flow_projection.cu", "float"), "bench_projection", "float"
    )
    build = time.perf_counter() - start
    generator = torch.Generator().manual_seed(0)
    flow = (torch.rand(1, 2, height, width, generator=generator) * 16 - 8).numpy()
    weight = (torch.rand(1, 1, height, width, generator=generator) + 0.1).numpy()
    times = []
    for _ in range(3):
        out = torch.zeros(1, 2, height, width).numpy()
        count = torch.zeros(1, 1, height, width).numpy()
        start = time.perf_counter()
        library.launch(
            "projection_splat",
            (-(-height * width // 256),),
            (256,),
            flow,
            weight,
            out,
            count,
            1,
            height,
            width,
        )
        times.append(time.perf_counter() - start)
    print(f"\nCPU shim: g++ build of depth_flow_projection.cu {build:.2f} s; "
          f"serial splat at {width}x{height} {statistics.median(times) * 1e3:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
