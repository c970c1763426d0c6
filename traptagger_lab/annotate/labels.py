"""Label trees for annotation tasks: names, parents, hotkeys, built-ins, tags, CSV in and out.

``labels`` may be a list of names (``["Impala", "Zebra"]``) or a nested mapping
for a tree (``{"Antelope": ["Impala", "Kudu"], "Zebra": []}``). Every task also
gets the built-in labels annotators need (Nothing, Unknown, Knocked down,
Vehicle, Human). Informational tags (``juvenile``, ``flash failed``) are kept
apart from species. Hotkeys follow TrapTagger: the first free letter or digit
of the name, with a few keys kept for the annotation screen itself.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from traptagger_lab.errors import InputFileError

BUILTIN = ("Nothing", "Unknown", "Knocked down", "Vehicle", "Human")
#: Keys the annotation screen uses itself (undo, skip, next, notes...).
RESERVED_KEYS = frozenset({"0", "9", "v", "q", "n", "u", " ", "-"})
KEY_SLOTS = "abcdefghijklmnopqrstuvwxyz12345678"
CSV_COLUMNS = ["name", "parent", "hotkey", "kind"]

LabelSpec = Sequence[str] | Mapping[str, "LabelSpec"]


@dataclass(frozen=True)
class LabelDef:
    """One label of a tree before it is stored: its name, parent name, hotkey and kind."""

    name: str
    parent: str | None
    hotkey: str | None
    is_tag: bool = False
    builtin: bool = False


def _walk(spec: LabelSpec, parent: str | None) -> Iterable[tuple[str, str | None]]:
    if isinstance(spec, Mapping):
        for name, children in spec.items():
            yield str(name).strip(), parent
            yield from _walk(children or [], str(name).strip())
    else:
        for name in spec:
            yield str(name).strip(), parent


def assign_hotkeys(names: Sequence[str], taken: Iterable[str] = ()) -> dict[str, str | None]:
    """A hotkey per name: its first free letter/digit, else the first free slot, else none."""
    used = set(RESERVED_KEYS) | {k.lower() for k in taken}
    keys: dict[str, str | None] = {}
    for name in names:
        choice = next((c for c in name.lower() if c in KEY_SLOTS and c not in used), None)
        if choice is None:
            choice = next((c for c in KEY_SLOTS if c not in used), None)
        if choice is not None:
            used.add(choice)
        keys[name] = choice
    return keys


def build_tree(
    labels: LabelSpec, tags: Sequence[str] = (), builtins: bool = True
) -> list[LabelDef]:
    """Label definitions for a task, parents before children, with hotkeys.

    Raises:
        ValueError: for an empty name, or a name used twice under the same parent.
    """
    pairs = list(_walk(labels, None))
    if builtins:
        pairs = [
            (b, None) for b in BUILTIN if b.lower() not in {n.lower() for n, _ in pairs}
        ] + pairs
    seen: set[tuple[str, str | None]] = set()
    for name, parent in pairs:
        if not name:
            raise ValueError("a label needs a name")
        key = (name.lower(), parent.lower() if parent else None)
        if key in seen:
            raise ValueError(f"label {name!r} appears twice under {parent or 'the top level'}")
        seen.add(key)
    keys = assign_hotkeys([n for n, _ in pairs] + list(tags))
    defs = [
        LabelDef(n, p, keys[n], builtin=builtins and n in BUILTIN and p is None) for n, p in pairs
    ]
    return defs + [LabelDef(t, None, keys[t], is_tag=True) for t in tags]


def to_csv(defs: Sequence[LabelDef]) -> str:
    """The label set as CSV (name, parent, hotkey, kind), to share between tasks and people."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for d in defs:
        kind = "tag" if d.is_tag else "builtin" if d.builtin else "label"
        writer.writerow([d.name, d.parent or "", d.hotkey or "", kind])
    return out.getvalue()


def from_csv(text: str, name: str) -> list[LabelDef]:
    """Read a label set written by :func:`to_csv` (or by hand).

    Raises:
        InputFileError: naming the row, for missing columns, unknown kinds, unknown parents
            or a hotkey used twice.
    """
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    missing = set(CSV_COLUMNS[:2]) - set(rows[0].keys() if rows else [])
    if not rows or missing:
        raise InputFileError(name, f"need columns {CSV_COLUMNS}; missing {sorted(missing)}", row=1)
    defs: list[LabelDef] = []
    known: set[str] = set()
    keys: set[str] = set()
    for number, row in enumerate(rows, start=2):
        label = (row.get("name") or "").strip()
        parent = (row.get("parent") or "").strip() or None
        kind = (row.get("kind") or "label").strip().lower()
        hotkey = (row.get("hotkey") or "").strip().lower() or None
        if not label:
            raise InputFileError(name, "empty name", row=number)
        if kind not in ("label", "tag", "builtin"):
            raise InputFileError(name, f"kind {kind!r} is not label, tag or builtin", row=number)
        if parent is not None and parent not in known:
            raise InputFileError(name, f"parent {parent!r} is not defined above", row=number)
        if hotkey is not None and hotkey in keys:
            raise InputFileError(name, f"hotkey {hotkey!r} is used twice", row=number)
        known.add(label)
        if hotkey:
            keys.add(hotkey)
        defs.append(LabelDef(label, parent, hotkey, kind == "tag", kind == "builtin"))
    return defs
