"""Column types shared by the models and the migrations (frozen: migrations depend on them)."""

from __future__ import annotations

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.dialects import mysql

#: Microsecond precision everywhere (MySQL's DATETIME drops fractions by default).
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
#: Primary keys: BIGINT on servers, INTEGER on SQLite (so it stays the rowid alias).
BigId = BigInteger().with_variant(Integer(), "sqlite")
