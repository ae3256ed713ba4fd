"""The ``campaign`` command line: the group in :mod:`workflow.cli.main`, and
one module per command group in :mod:`workflow.cli.commands`, each imported
only when one of its commands runs.

It lives inside the package so that an installed wheel carries it under the
one name ``workflow``; the checkout's ``cli.py`` runs the same group.
"""
