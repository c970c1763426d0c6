"""Site and camera from the relative path."""

from __future__ import annotations

import pytest

from traptagger_lab.errors import ConfigurationError
from traptagger_lab.ingest.layout import Layout


def test_default_is_top_folder_and_bottom_folder() -> None:
    layout = Layout.parse(None, None)
    assert layout.locate("Site01/CamA/IMG_0001.JPG") == ("Site01", "CamA")
    assert layout.locate("Site01/IMG_0001.JPG") == ("Site01", "Site01")
    assert layout.locate("IMG_0001.JPG") is None


def test_nth_folder_shorthand() -> None:
    layout = Layout.parse("folder:2", "folder:1")
    assert layout.locate("2024/KRU-07/cam1/x.jpg") == ("KRU-07", "2024")
    assert Layout.parse(2, None).locate("a/b/c/x.jpg") == ("b", "c")
    assert layout.locate("2024/x.jpg") is None


def test_regex_first_group_or_whole_match() -> None:
    assert Layout.parse(r"KRU-\d+", None).locate("data/KRU-07_cam/x.jpg") == (
        "KRU-07",
        "KRU-07_cam",
    )
    layout = Layout.parse(r"/(S\d\d)/", r"(cam\d)")
    assert layout.locate("root/S03/2024/cam2/IMG.JPG") == ("S03", "cam2")
    assert layout.locate("root/other/cam2/IMG.JPG") is None
    assert layout.locate("root/S03/nocam/IMG.JPG") is None


def test_bad_patterns_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="not a valid regex"):
        Layout.parse("([unclosed", None)
    with pytest.raises(ConfigurationError, match="count from 1"):
        Layout.parse("folder:0", None)
