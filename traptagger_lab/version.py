"""The version of TrapTagger Lab (recorded with every processing run and model)."""

__version__ = "0.1.0"
