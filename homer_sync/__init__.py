"""homer-sync: keep HOMER's IP aliases in line with an inventory."""

__version__ = "0.1.0"
