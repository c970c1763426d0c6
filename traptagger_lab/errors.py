"""The small hierarchy of errors that TrapTagger Lab raises.

Per-item problems (a corrupt photo, a path that names no site) are *data*:
they are recorded with a reason and the work goes on. These exceptions are
for problems that stop an operation as a whole.
"""

from __future__ import annotations


class TrapTaggerError(Exception):
    """Base class of every error raised on purpose by TrapTagger Lab."""


class ConfigurationError(TrapTaggerError):
    """Settings or parameters are invalid (bad URL, bad regex, bad option)."""


class DatabaseAccessError(TrapTaggerError):
    """The database cannot be reached, refuses the login, or does not exist."""


class NotFoundError(TrapTaggerError, LookupError):
    """A named survey, camera, image or other record does not exist."""


class SourceError(TrapTaggerError):
    """A source of photos (folder, S3 prefix, CSV, KML) cannot be read."""


class InputFileError(TrapTaggerError):
    """A user-supplied table or file has bad content.

    The message names the file and row so the user can fix it.
    """

    def __init__(self, path: str, reason: str, row: int | None = None) -> None:
        self.path = path
        self.row = row
        self.reason = reason
        where = f"{path}, row {row}" if row is not None else path
        super().__init__(f"{where}: {reason}")


class StaleWorkError(TrapTaggerError):
    """Work an annotator submits is no longer theirs to do: the lease ran out and the
    sequence went to someone else, or the sequence changed. The answer is to reload."""


class AccessError(TrapTaggerError, PermissionError):
    """Someone acted on work that belongs to another person (another annotator's job)."""
