"""`python -m textauto` is the `textauto` command."""

from textauto.cli import main

main()
