"""End-to-end CPU benchmarks of neural_arch against PyTorch eager (``python -m benchmarks``),
the nanoGPT shakespeare_char reproduction (``python -m benchmarks.shakespeare_char``) and, in
``kernels.py``, the kernel-level benchmark. See ``benchmarks/README.md``."""

# Before NumPy loads, in this process and in every worker it spawns (they import this package
# first): neural_arch picks OpenBLAS's kernels for this CPU (neural_arch/blas_choice.py), as it
# does for any script that imports it before NumPy.
import neural_arch  # noqa: E402,F401
