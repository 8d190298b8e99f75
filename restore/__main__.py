"""``python -m restore`` runs the CLI."""

from restore.cli import main

main()
