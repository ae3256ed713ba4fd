"""``python cli.py``: the ``campaign`` command line from a checkout.

The commands live in :mod:`workflow.cli` so that the installed package carries
them under its one name; this file only runs them.
"""

from workflow.cli.main import EXIT_HELP, main

__all__ = ["EXIT_HELP", "main"]

if __name__ == "__main__":
    main()
