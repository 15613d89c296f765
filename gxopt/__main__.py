"""``python -m gxopt``."""

from gxopt.cli import main

main()
