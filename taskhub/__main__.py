"""``python -m taskhub`` (what torchrun runs: ``torchrun --nproc_per_node=2 -m taskhub run ...``)."""
import sys

from taskhub.cli import main

sys.exit(main())
