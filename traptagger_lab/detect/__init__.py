"""Detection: MegaDetector models (loaded with megadetector's own code) and our batched inference.

Importing this package is cheap; torch and megadetector load inside the
functions that need them.
"""
