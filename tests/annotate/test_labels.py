"""Label trees: built-ins, hotkeys, tags, CSV round trip and clear CSV errors."""

from __future__ import annotations

import pytest

from traptagger_lab.annotate.labels import (
    BUILTIN,
    RESERVED_KEYS,
    assign_hotkeys,
    build_tree,
    from_csv,
    to_csv,
)
from traptagger_lab.errors import InputFileError


def test_tree_with_builtins_tags_and_unique_hotkeys() -> None:
    defs = build_tree({"Antelope": ["Impala", "Kudu"], "Zebra": []}, tags=["juvenile"])
    names = [d.name for d in defs]
    assert names[: len(BUILTIN)] == list(BUILTIN)
    assert names[len(BUILTIN) :] == ["Antelope", "Impala", "Kudu", "Zebra", "juvenile"]
    by_name = {d.name: d for d in defs}
    assert by_name["Impala"].parent == "Antelope"
    assert by_name["Zebra"].parent is None
    assert by_name["juvenile"].is_tag
    assert not by_name["Zebra"].is_tag
    keys = [d.hotkey for d in defs]
    assert len(set(keys)) == len(keys)
    assert not set(keys) & RESERVED_KEYS
    assert by_name["Zebra"].hotkey == "z"


def test_hotkeys_fall_back_when_letters_are_taken() -> None:
    keys = assign_hotkeys(["Aa", "Ab", "Ac"])
    assert keys == {"Aa": "a", "Ab": "b", "Ac": "c"}
    many = assign_hotkeys([f"x{i}" for i in range(40)])
    assert sum(k is None for k in many.values()) == 40 - len(set(many.values()) - {None})


def test_duplicates_are_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        build_tree(["Impala", "impala"])


def test_csv_round_trip_and_errors() -> None:
    defs = build_tree({"Antelope": ["Impala"]}, tags=["flash failed"])
    assert from_csv(to_csv(defs), "labels.csv") == defs
    with pytest.raises(InputFileError, match=r"labels.csv, row 3: parent 'Cat' is not defined"):
        from_csv("name,parent,hotkey,kind\nLion,,l,label\nServal,Cat,s,label\n", "labels.csv")
    with pytest.raises(InputFileError, match="row 3: hotkey 'l' is used twice"):
        from_csv("name,parent,hotkey,kind\nLion,,l,label\nLeopard,,l,label\n", "labels.csv")
    with pytest.raises(InputFileError, match="missing"):
        from_csv("species\nLion\n", "labels.csv")
