"""pyflink-kinesis bundle: what the zip for Managed Service for Apache Flink holds, and what
it refuses. The bundle running on a cluster is in tests/e2e/test_deploy.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from pyflink_kinesis import bundle as bundle_module
from pyflink_kinesis import jars
from pyflink_kinesis.bundle import JARFILE, MARKER, Bundle, BundleError, make_bundle
from pyflink_kinesis.errors import JarResolutionError

APP = """
import json                      # the standard library: not bundled
import requests                  # apache-flink requires it: the runtime has it
from pyflink.datastream import StreamExecutionEnvironment
import helpers                   # a local module
from pkg.sub import VALUE        # a local package (with a nested one and a data file)
from ns.tool import TOOL         # a local namespace package (no __init__.py)
from pyflink_kinesis import FlinkKinesisConsumer
try:
    import not_installed_anywhere  # optional: a warning
except ImportError:
    pass
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "app.py").write_text(textwrap.dedent(APP))
    (root / "helpers.py").write_text("import boto3\n")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "sub.py").write_text("VALUE = 1\n")
    (root / "pkg" / "inner").mkdir()
    (root / "pkg" / "inner" / "__init__.py").write_text("")
    (root / "pkg" / "inner" / "table.json").write_text('{"eur": 1}')
    (root / "ns").mkdir()
    (root / "ns" / "tool.py").write_text("TOOL = 'ns'\n")
    (root / "pkg" / "__pycache__").mkdir()
    (root / "pkg" / "__pycache__" / "sub.cpython-311.pyc").write_bytes(b"")
    (root / "unused.py").write_text("import yaml\n")  # never imported: not bundled
    (root / "data").mkdir()
    (root / "data" / "rates.csv").write_text("eur,1\n")
    return root


@pytest.fixture(scope="module")
def made(project: Path) -> Bundle:
    return make_bundle(project / "app.py", project / "out" / "app.zip", include=["data"])


def test_the_zip_holds_script_modules_packages_and_one_jar(made: Bundle) -> None:
    with zipfile.ZipFile(made.path) as archive:
        names = set(archive.namelist())
        marker = json.loads(archive.read(f"site-packages/pyflink_kinesis/{MARKER}"))
    assert {"app/app.py", "app/helpers.py", "app/pkg/__init__.py", "app/pkg/sub.py",
            "app/pkg/inner/__init__.py", "app/pkg/inner/table.json", "app/ns/tool.py",
            "app/data/rates.csv", JARFILE} <= names
    assert "app/unused.py" not in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    packages = {n.split("/")[1] for n in names if n.startswith("site-packages/")}
    assert {"pyflink_kinesis", "boto3", "botocore", "jmespath", "s3transfer"} <= packages
    assert "tomli" not in packages  # required by pyflink-kinesis on Python < 3.11 only
    assert not {"pyflink", "apache_beam", "requests", "py4j"} & packages  # the runtime's
    assert not any(n.startswith("site-packages/pyflink_kinesis/_jars") for n in names)
    assert marker == {"jarfile": JARFILE, "extras": [], "runtime": "FLINK-1_20"}
    assert made.local_modules == [
        "app/helpers.py", "app/ns/tool.py", "app/pkg/__init__.py", "app/pkg/inner/__init__.py",
        "app/pkg/inner/table.json", "app/pkg/sub.py"]
    assert made.warnings == [
        "app.py imports not_installed_anywhere, found neither beside the script nor installed "
        "here: the zip does not carry it (fine if that import is optional)"]
    assert made.distributions == ["boto3", "botocore", "jmespath", "packaging",
                                  "pyflink-kinesis", "s3transfer"]


def test_the_property_group_names_what_the_zip_holds(made: Bundle) -> None:
    assert made.property_groups() == [{
        "PropertyGroupId": "kinesis.analytics.flink.run.options",
        "PropertyMap": {"python": "app/app.py", "jarfile": JARFILE,
                        "pyFiles": "app,site-packages"},
    }]


def test_local_imports_resolve_on_the_path_flink_gives_the_client_and_workers(
    made: Bundle, tmp_path: Path
) -> None:
    """Flink copies each pyFiles entry into a folder of its own and puts on the Python path the
    entry itself if it is a folder, else that folder of its own (zips, unused here, are
    extracted). The cluster run is in tests/e2e/test_deploy.py; this is the same rule, fast."""
    with zipfile.ZipFile(made.path) as archive:
        archive.extractall(tmp_path / "zip")
    path = []
    for number, entry in enumerate(made.run_options["pyFiles"].split(",")):
        source, own = tmp_path / "zip" / entry, tmp_path / "python-files" / str(number)
        if source.is_dir():
            shutil.copytree(source, own / source.name)
            path.append(str(own / source.name))
        else:
            own.mkdir(parents=True)
            shutil.copy2(source, own)
            path.append(str(own))
    imported = subprocess.run(
        [sys.executable, "-c", "import helpers, pkg.sub, ns.tool; from importlib import resources; "
         "print(resources.files('pkg.inner').joinpath('table.json').read_text(), ns.tool.TOOL)"],
        capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == ['{"eur":', "1}", "ns"]


def test_the_jar_holds_the_connector_its_runtime_and_our_classes(made: Bundle) -> None:
    with zipfile.ZipFile(made.path) as archive:
        inner = made.path.with_name("inner.jar")
        inner.write_bytes(archive.read(JARFILE))
    with zipfile.ZipFile(inner) as merged:
        names = merged.namelist()
        factories = merged.read("META-INF/services/org.apache.flink.table.factories.Factory")
    assert len(names) == len(set(names))
    for wanted in (
        "org/apache/flink/streaming/connectors/kinesis/FlinkKinesisConsumer.class",
        "org/apache/flink/connector/kinesis/sink/KinesisStreamsSink.class",
        "org/joda/time/DateTime.class",  # a runtime dependency of the connector
        "org/apache/flink/formats/avro/AvroDeserializationSchema.class",
        "org/apache/flink/connector/kinesis/sink/SubtaskInitializingSink.class",  # ours
    ):
        assert wanted in names
    # Both the connector's and flink-sql-avro's table factories are registered.
    assert b"KinesisDynamicTableFactory" in factories and b"AvroFormatFactory" in factories
    assert made.jar.entries == len(names)


def test_the_bundled_package_finds_its_jar_and_nothing_else(made: Bundle, tmp_path: Path) -> None:
    with zipfile.ZipFile(made.path) as archive:
        archive.extractall(tmp_path)
    marker = tmp_path / "site-packages" / "pyflink_kinesis" / MARKER
    found = jars.bundled(marker)
    assert found is not None and found.path == tmp_path / JARFILE and found.path.is_file()
    assert found.extras == ()


def test_everything_that_cannot_work_is_refused_at_once(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle_module, "RUNTIME_PYTHON", (3, 9))
    (project / "compiled.py").write_text("import yaml\n")
    with pytest.raises(BundleError) as raised:
        make_bundle(project / "compiled.py", project / "x.zip", include=["nowhere", "/etc"])
    problems = raised.value.problems
    assert any("Managed Flink's FLINK-1_20 runtime runs Python 3.9" in p for p in problems)
    assert any(p.startswith("--include nowhere: no such file or folder") for p in problems)
    assert any(p.startswith("--include /etc: not inside the script's folder") for p in problems)
    assert any(p.startswith("PyYAML is a compiled package") for p in problems)
    assert not (project / "x.zip").exists()
    with pytest.raises(BundleError, match=r"no-such\.py: no such Python script"):
        make_bundle(project / "no-such.py", project / "x.zip")


def test_local_code_the_zip_cannot_carry_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job, elsewhere = tmp_path / "job", tmp_path / "elsewhere"
    job.mkdir()
    elsewhere.mkdir()
    (job / "app.py").write_text("import fast, boto3, shared\n")
    (job / "fast.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    (job / "boto3.py").write_text("")  # pyflink_kinesis needs the real one: site-packages/boto3
    (elsewhere / "shared.py").write_text("")  # importable here through sys.path only
    monkeypatch.syspath_prepend(str(elsewhere))
    with pytest.raises(BundleError) as raised:
        make_bundle(job / "app.py", tmp_path / "x.zip")
    assert sorted(raised.value.problems) == [
        f"app.py imports shared from {elsewhere / 'shared.py'}, outside the script's folder, "
        "and no installed distribution lists it among its files (an editable install does "
        "not): the zip cannot carry it; move it beside the script, or pip install it",
        "boto3: local code beside the script has the name of a module the zip carries in "
        "site-packages/ (from boto3): rename the local one",
        "fast.cpython-311-x86_64-linux-gnu.so beside the script is a compiled module: a build "
        "for this machine may not load on the service; bundle its source instead",
    ]
    assert not (tmp_path / "x.zip").exists()


def test_jars_that_cannot_be_had_are_a_reason(project: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def offline() -> list[Path]:
        raise JarResolutionError("org.apache.flink:flink-connector-kinesis was not found")

    monkeypatch.setattr(jars, "resolve_jars", offline)
    with pytest.raises(BundleError, match=r"the jars: org\.apache\.flink:flink-connector-kinesis"):
        make_bundle(project / "app.py", project / "x.zip")


def test_a_bundle_with_the_firehose_set_merges_aws_base_ahead_of_the_kinesis_jar() -> None:
    """In the merged jar the first copy of a class wins: aws-base's must (docs/firehose.md)."""
    problems: list[str] = []
    names = [path.name for path in bundle_module._jar_paths(["firehose"], problems)]
    assert problems == []
    assert "flink-connector-aws-kinesis-firehose-4.3.0-1.19.jar" in names
    assert names.index("flink-connector-aws-base-4.3.0-1.19.jar") < names.index(
        "flink-connector-kinesis-4.3.0-1.19.jar"
    )
