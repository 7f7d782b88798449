"""Allows ``python -m colsec``."""

from colsec.cli import main

main()
