"""The ``binbot`` command line."""
