"""The one base of every stage's parameters (:class:`StageParams`).

Each stage's parameters (how images are clustered, how detection batches,
when a suggestion becomes a label, how a classifier trains...) are a pydantic
model built on this base: an unknown field is refused (a misspelt option never
goes unnoticed), each field documents what it does and its unit, and a value
out of its range is refused with the field named. Instances are frozen: change
one with :meth:`StageParams.replace`, which checks the new values too.

This module sits at the bottom of the house beside ``settings`` and ``errors``: it
imports pydantic only.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class StageParams(BaseModel):
    """Parameters of one pipeline stage: documented, range-checked, unknown fields refused.

    A subclass declares each field as ``Field(default=..., description="what it does
    (unit)", ge=..., le=...)``. A bad value raises :class:`pydantic.ValidationError`
    naming the field, which ``traptagger_lab.messages.explain`` turns into one line.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied, validated like a new instance (unlike
        ``model_copy(update=...)``, which takes any value as it is).

        Raises:
            pydantic.ValidationError: for an unknown field or a value out of range.
        """
        return type(self)(**{**dict(self), **changes})

    def describe(self) -> list[dict[str, Any]]:
        """Each field as a row: ``field``, ``value``, ``default`` (``"required"`` when there
        is none) and ``description``; ``pandas.DataFrame(params.describe())`` in a notebook."""
        rows = []
        for name, info in type(self).model_fields.items():
            default = (
                "required" if info.is_required() else info.get_default(call_default_factory=True)
            )
            rows.append(
                {
                    "field": name,
                    "value": getattr(self, name),
                    "default": default,
                    "description": info.description or "",
                }
            )
        return rows
