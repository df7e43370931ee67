"""merge_jars: one jar from many, in class path order, services merged, checked."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from pyflink_kinesis.merged_jar import MergedJarError, merge_jars


def jar(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_entries_services_and_legal_files_are_merged(tmp_path: Path) -> None:
    first = jar(tmp_path / "a.jar", {
        "META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\r\nMain-Class: A\r\n",
        "META-INF/services/x.Factory": b"# comment\na.Factory\nshared.Factory\n",
        "META-INF/LICENSE": b"license A",
        "META-INF/A.SF": b"signature",
        "META-INF/versions/9/module-info.class": b"module",
        "a/A.class": b"A",
        "same/S.class": b"S",
        "clash/C.class": b"first",
    })
    second = jar(tmp_path / "b.jar", {
        "META-INF/services/x.Factory": b"shared.Factory\nb.Factory\n",
        "META-INF/LICENSE": b"license B",
        "b/B.class": b"B",
        "same/S.class": b"S",
        "clash/C.class": b"second",
    })
    report = merge_jars([first, second], tmp_path / "out" / "merged.jar", "test")

    with zipfile.ZipFile(report.path) as merged:
        names = merged.namelist()
        assert merged.read("META-INF/services/x.Factory") == (
            b"a.Factory\nshared.Factory\nb.Factory\n")
        assert merged.read("clash/C.class") == b"first"  # the class path's order
        assert merged.read("same/S.class") == b"S"
        license_text = merged.read("META-INF/LICENSE")
        assert b"---- from a.jar ----\nlicense A" in license_text
        assert b"---- from b.jar ----\nlicense B" in license_text
        assert b"Main-Class" not in merged.read("META-INF/MANIFEST.MF")
    assert len(names) == len(set(names))
    assert "META-INF/A.SF" not in names and "META-INF/versions/9/module-info.class" not in names
    assert {"a/", "b/", "clash/", "META-INF/services/"} <= set(names)
    assert report.conflicts == [("clash/C.class", "a.jar", ("b.jar",))]
    assert report.services == ["META-INF/services/x.Factory"]
    assert report.dropped == ["META-INF/A.SF", "META-INF/versions/9/module-info.class"]


def test_the_same_jars_give_the_same_bytes(tmp_path: Path) -> None:
    source = jar(tmp_path / "a.jar", {"a/A.class": b"A", "b/B.class": b"B"})
    one = merge_jars([source], tmp_path / "one.jar", "test").path.read_bytes()
    two = merge_jars([source], tmp_path / "two.jar", "test").path.read_bytes()
    assert one == two


def test_a_file_that_is_not_a_jar_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jar"
    broken.write_text("not a zip")
    with pytest.raises(MergedJarError, match=r"cannot read .*broken\.jar as a jar"):
        merge_jars([broken], tmp_path / "out.jar", "test")
    assert not (tmp_path / "out.jar").exists()
