"""The ``campaign`` sub-commands, grouped by what they act on."""
