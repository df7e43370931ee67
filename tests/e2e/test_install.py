"""Every install path gives a working package: the wheel and the sdist built from a clean copy
of the repository, each installed into an empty virtualenv with pip as a user would, then the
``pyflink-kinesis`` command and a real job against the local Kinesis.

The copy holds what a clone holds (the files git tracks, no build output, no node_modules). The
wheel build compiles our Java classes with Maven (hatch_build.py), which the job uses
(``with_metadata``, ``json_field``), and carries the docs pages (``pyflink-kinesis docs``).
Then the installed jar is removed and a job made of the connector's classes alone still runs,
while ``with_metadata`` names the jar it lacks. Jars come from the machine's Maven repository
(``make jars`` filled it): downloads are off.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import pytest

from pyflink_kinesis.testing import ENV_EXECUTABLE, LocalKinesis, find_kinesalite
from tests.support.environment import fresh_process_environment

REPO = Path(__file__).parents[2]
JOB = Path(__file__).with_name("installed_job.py")
StreamFactory = Callable[..., str]


def clean_copy(destination: Path) -> Path:
    """The repository as a clone would have it: tracked (and new, not ignored) files only."""
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target)
    return destination


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` on a clean copy: the sdist, then the wheel built from it."""
    source = clean_copy(tmp_path_factory.mktemp("clone"))
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(source)],
                           capture_output=True, text=True, timeout=900,
                           env=fresh_process_environment())
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The wheel and the sdist, each pip-installed into its own empty virtualenv (both at
    once: mostly downloads and unpacking). Returns their Pythons."""
    [wheel], [sdist] = dist.glob("*.whl"), dist.glob("*.tar.gz")
    with ThreadPoolExecutor(max_workers=2) as pool:
        pythons = {kind: pool.submit(install, tmp_path_factory.mktemp(kind), requirement)
                   for kind, requirement in (("wheel", wheel), ("sdist", sdist))}
        return {kind: future.result() for kind, future in pythons.items()}


def install(target: Path, requirement: Path) -> Path:
    """An empty virtualenv with ``requirement`` pip-installed (dependencies from PyPI)."""
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", str(requirement)],
                               capture_output=True, text=True, timeout=1200,
                               env=fresh_process_environment(), cwd=target)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    return python


def run_job(python: Path, server: LocalKinesis, streams: StreamFactory, *flags: str
            ) -> dict[str, object]:
    source, out = streams(2), streams(2)
    records = [json.dumps({"customer": f"c{i % 7}", "n": i}) for i in range(200)]
    server.put_records(source, records)
    environment = fresh_process_environment(
        PYFLINK_KINESIS_OFFLINE="1", **{ENV_EXECUTABLE: str(find_kinesalite())}
    )
    completed = subprocess.run(
        [str(python), str(JOB), server.endpoint, source, out, str(len(records)), *flags],
        capture_output=True, text=True, timeout=600, env=environment, cwd=python.parent,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    report: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    arrived = server.read_all(out)
    assert sorted(r.text for r in arrived) == sorted(records)
    if not flags:
        assert all(r.partition_key == json.loads(r.text)["customer"] for r in arrived)
    return report


def check_installed(python: Path, server: LocalKinesis, streams: StreamFactory) -> Path:
    """``pyflink-kinesis --help``, ``docs``, and a job with our classes; returns the package's
    folder."""
    command = python.parent / "pyflink-kinesis"
    helped = subprocess.run([str(command), "--help"], capture_output=True, text=True,
                            env=fresh_process_environment(), cwd=python.parent)
    assert helped.returncode == 0 and "bundle" in helped.stdout, helped.stderr
    page = subprocess.run([str(command), "docs", "sink"], capture_output=True, text=True,
                          env=fresh_process_environment(), cwd=python.parent)
    assert page.stdout == (REPO / "docs" / "sink.md").read_text(encoding="utf-8"), page.stderr
    report = run_job(python, server, streams)
    package = Path(str(report["package"])).parent
    assert python.parent.parent in package.parents  # the installed copy, not the checkout
    assert (package / "_jars" / "pyflink-kinesis-java-0.1.0.jar").is_file()
    # The pages `pyflink-kinesis docs` prints, for users without a checkout.
    assert {path.name for path in (package / "_docs").glob("*.md")} == {
        "README.md", *(path.name for path in (REPO / "docs").glob("*.md"))}
    return package


def test_the_sdist_holds_what_the_wheel_build_needs(dist: Path) -> None:
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"hatch_build.py", "jars/manifest.toml", "jars/pyflink-kinesis-java/pom.xml",
            "tools/local-kinesis/package-lock.json", "README.md", "docs/sink.md"} <= names
    assert not any(name.endswith(".jar") or "node_modules" in name for name in names)


def test_the_wheel_installs_and_works_and_without_our_jar_says_so(
    installed: dict[str, Path], local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    python = installed["wheel"]
    package = check_installed(python, local_kinesis, stream_factory)

    for jar in (package / "_jars").glob("*.jar"):
        jar.unlink()
    report = run_job(python, local_kinesis, stream_factory, "--without-our-jar")
    assert str(report["missing_jar_error"]).startswith(
        "KinesisDeserializationSchema.with_metadata needs pyflink-kinesis-java-0.1.0.jar")


def test_the_sdist_installs_and_works(
    installed: dict[str, Path], local_kinesis: LocalKinesis, stream_factory: StreamFactory
) -> None:
    check_installed(installed["sdist"], local_kinesis, stream_factory)
