"""``python -m siambench`` (and ``torchrun -m siambench``) runs the CLI."""

from siambench.cli import main

main()
