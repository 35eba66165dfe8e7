"""`python -m sap` is the `sap` command (for when the console script is not on PATH)."""

from sap.cli import main

main()
