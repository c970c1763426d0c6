"""Site and camera from the relative path."""

from __future__ import annotations

import pytest

from traptagger_lab.errors import ConfigurationError
from traptagger_lab.ingest.layout import Layout, guess_cameras


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


def test_one_camera_per_site_on_request() -> None:
    layout = Layout.parse("folder:1", "site")
    assert layout.locate("StationA/PBE/a.jpg") == ("StationA", "StationA")
    assert layout.camera_text == "site"
    assert Layout.parse(None, " SITE ").camera_is_site


def test_sorted_folders_of_one_camera_are_one_camera() -> None:
    """camtrapR's station/species layout: a camera's photos renamed and sorted by species."""
    sorted_by_species = [
        "StationA/PBE/StationA__2009-04-21__00-40-00(1).JPG",
        "StationA/VTA/StationA__2009-05-01__03-00-00(1).JPG",
        "StationB/MNE/StationB__2009-04-10__04-08-00(1).JPG",
        "StationB/PBE/StationB__2009-04-15__07-21-00(1).JPG",
    ]
    chosen, why = guess_cameras(Layout.parse(None, None), sorted_by_species)
    assert chosen.camera_is_site
    assert "one camera per site" in why
    assert "StationA: PBE, VTA" in why
    assert chosen.locate(sorted_by_species[0]) == ("StationA", "StationA")


def test_two_cameras_at_a_site_repeat_file_names() -> None:
    paired = ["Site01/CamA/IMG_0001.JPG", "Site01/CamB/img_0001.jpg", "Site02/CamA/IMG_0001.JPG"]
    chosen, why = guess_cameras(Layout.parse(None, None), paired)
    assert not chosen.camera_is_site
    assert "at Site01, two folders hold files of the same name" in why
    single = ["Site01/CamA/IMG_0001.JPG", "Site02/CamA/IMG_0002.JPG"]
    assert not guess_cameras(Layout.parse(None, None), single)[0].camera_is_site
    given = Layout.parse(None, "folder:2")
    assert guess_cameras(given, paired)[0] is given  # a pattern given is never second-guessed
