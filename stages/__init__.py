"""segpipe's stages: library functions and the thin commands over them."""

from .threads import prefer_fork_safe_kernels

prefer_fork_safe_kernels()
