// CUDA glue (filled in with the CUDA kernels).
