"""Test support for the kernels: the same CUDA sources built for the CPU by a small C++ shim."""
