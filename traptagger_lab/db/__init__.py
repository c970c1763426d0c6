"""The organisation database: models, engines and migrations."""

from traptagger_lab.db.engine import make_engine, session_factory, transaction, upgrade
from traptagger_lab.db.models import Base

__all__ = ["Base", "make_engine", "session_factory", "transaction", "upgrade"]
