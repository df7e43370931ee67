"""Deploying a job: the Managed Flink bundle run as the service runs it, on a standalone cluster.

``pyflink-kinesis bundle demo/managed_flink/app.py`` makes the zip; it is unpacked into an empty
folder and submitted the way Managed Service for Apache Flink does, from the property group the
command printed: ``flink run --python <python> --jarfile <jarfile> -pyfs <pyFiles>``. The
Python that runs the client and the cluster's workers has apache-flink but not pyflink_kinesis:
the bundle brings it. The job's settings come from a local file in the service's format
(``application_properties()``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path
from typing import Callable, Iterator

import pytest

from pyflink_kinesis.testing import LocalKinesis
from tests.support.environment import fresh_process_environment
from tests.support.flink_cluster import FLINK, Cluster, wait_for_output

REPO = Path(__file__).parents[2]
APP = REPO / "demo" / "managed_flink" / "app.py"
sys.path.insert(0, str(APP.parent))
from orders import enrich, is_paid, sample_orders  # noqa: E402


@pytest.fixture(scope="module")
def flink_only_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python whose environment has apache-flink (and the rest of this one's site-packages)
    but cannot import pyflink_kinesis: this checkout's editable install is not carried over."""
    folder = tmp_path_factory.mktemp("flink-only")
    venv.create(folder, with_pip=False)
    python = folder / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "flink.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # (The editable install leaves data files in site-packages/pyflink_kinesis/, an importable
    # namespace package without modules.)
    probe = subprocess.run([str(python), "-c", "import pyflink, boto3, pyflink_kinesis.sink"],
                           capture_output=True, text=True, env=fresh_process_environment(),
                           cwd=folder)
    assert "No module named 'pyflink_kinesis.sink'" in probe.stderr, probe.stderr
    return str(python)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, flink_only_python: str) -> Iterator[Cluster]:
    started = Cluster(tmp_path_factory.mktemp("cluster"), python=flink_only_python)
    try:
        started.start()
        yield started
    finally:
        started.stop()


def test_the_bundle_runs_as_the_service_runs_it(
    cluster: Cluster, flink_only_python: str, local_kinesis: LocalKinesis,
    stream_factory: Callable[..., str], tmp_path: Path,
) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "pyflink_kinesis", "bundle", str(APP), "-o",
         str(tmp_path / "app.zip"), "--json"],
        capture_output=True, text=True, timeout=600, env=fresh_process_environment(),
    )
    assert made.returncode == 0, made.stderr
    [group] = json.loads(made.stdout)["PropertyGroups"]
    assert group["PropertyGroupId"] == "kinesis.analytics.flink.run.options"
    run_options = group["PropertyMap"]
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(tmp_path / "app.zip") as archive:
        archive.extractall(unpacked)

    source, out = stream_factory(4), stream_factory(2)
    orders = [json.dumps(o) for o in sample_orders(400)]
    local_kinesis.put_records(source, orders, [json.loads(o)["customer"] for o in orders])
    client = {"aws.region": local_kinesis.region, "aws.endpoint": local_kinesis.endpoint,
              "aws.credentials.provider.basic.accesskeyid": "k",
              "aws.credentials.provider.basic.secretkey": "s"}
    properties = tmp_path / "application_properties.json"
    properties.write_text(json.dumps([
        {"PropertyGroupId": "InputStream", "PropertyMap": {"stream.name": source, **client}},
        {"PropertyGroupId": "OutputStream", "PropertyMap": {"stream.name": out, **client}},
    ]))

    submit = subprocess.run(
        [str(FLINK), "run", "--detached", "-m", f"localhost:{cluster.rest_port}",
         "-pyclientexec", flink_only_python, "-pyexec", flink_only_python,
         "--python", str(unpacked / run_options["python"]),
         "--jarfile", str(unpacked / run_options["jarfile"]),
         "-pyfs", ",".join(str(unpacked / f) for f in run_options["pyFiles"].split(","))],
        env={**cluster.env, "PYFLINK_KINESIS_APPLICATION_PROPERTIES": str(properties)},
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert submit.returncode == 0, submit.stdout[-3000:] + submit.stderr[-3000:]
    # flink run copies the pyFiles to a folder of its own before the client imports them.
    origin = re.search(r"pyflink_kinesis 0\.1\.0 from (\S+)", submit.stdout)
    assert origin is not None, submit.stdout[-3000:]
    assert origin.group(1).endswith("/site-packages/pyflink_kinesis/__init__.py"), origin
    assert not origin.group(1).startswith(str(REPO)), origin
    expected = sorted(enrich(o) for o in orders if is_paid(o))
    arrived = wait_for_output(cluster, local_kinesis, out, expected)
    assert sorted(arrived) == expected, cluster.logs()
    placement: dict[str, set[str]] = {}
    for record in local_kinesis.read_all(out):
        assert record.partition_key == json.loads(record.text)["customer"]
        placement.setdefault(record.partition_key, set()).add(record.shard_id)
    assert all(len(shards) == 1 for shards in placement.values())
