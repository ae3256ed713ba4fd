"""The ``campaign`` command line: the group and its core commands in
:mod:`workflow.cli.main`, one module per command group beside it.

It lives inside the package so that an installed wheel carries it under the
one name ``workflow``; the checkout's ``cli.py`` runs the same group.
"""
