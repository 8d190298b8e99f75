"""cuda_kernels/testing."""
