"""End-to-end CPU benchmarks of neural_arch against PyTorch eager (``python -m benchmarks``),
the nanoGPT shakespeare_char reproduction (``python -m benchmarks.shakespeare_char``) and, in
``kernels.py``, the kernel-level benchmark. See ``benchmarks/README.md``."""
