"""Ingest: find photos and videos, read their metadata, hash, make derived copies, record.

Pure cores per file (:mod:`.photos`, :mod:`.videos`), a worker batch
(:mod:`.batch`), a database writer (:mod:`.writer`) and the run that ties
them together on Dask (:mod:`.run`).
"""
