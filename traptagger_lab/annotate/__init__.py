"""Annotation: label trees, tasks over a survey's clusters, and safe job allocation."""
