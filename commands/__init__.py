"""Command groups of the ``campaign`` CLI, beyond the core commands in ``cli.py``."""
