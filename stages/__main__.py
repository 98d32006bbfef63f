"""`python -m stages` runs the segpipe command (what torch.distributed.run launches for multi-GPU
training)."""

from .cli import main

main()
