"""Deploying a job: the Managed Flink bundle run as the service runs it, on a standalone cluster.

``pyflink-kinesis bundle APP -o app.zip`` makes the zip; it is unpacked into an empty folder and
submitted the way Managed Service for Apache Flink does, from the property group the command
printed: ``flink run --python <python> --jarfile <jarfile> -pyfs <pyFiles>``. The cluster, its
Python workers and the client that submits run a clean runtime: a virtualenv with only ``pip
install apache-flink`` (the version of this session), started outside the checkout, so the job
has nothing but what the zip brings. The job's settings come from a local file in the service's
format (``application_properties()``).

The application, ``orders-job/layout_job.py``, imports local code of every layout the bundle
carries: a package, a nested package reading its data file with ``importlib.resources``, a
module and a namespace package; the demo (``demo/managed_flink``, a script and a module) is the
simplest case of it. Run with ``-s``, the test prints the command's output.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Callable, Iterator

import pytest

from pyflink_kinesis.testing import LocalKinesis
from tests.support.environment import fresh_process_environment
from tests.support.flink_cluster import Cluster, Runtime, clean_runtime, wait_for_output

REPO = Path(__file__).parents[2]
LAYOUT = Path(__file__).with_name("orders-job") / "layout_job.py"
sys.path.insert(0, str(LAYOUT.parent))
from layout_job import summary  # noqa: E402
from shaping.orders import is_paid, parse, sample_orders  # noqa: E402

StreamFactory = Callable[..., str]


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The clean runtime, made once per session (and removed after it: 0.7 GB); checked to lack
    what the zip must bring."""
    folder = tmp_path_factory.mktemp("clean-runtime")
    made = clean_runtime(folder)
    probe = subprocess.run(
        [made.python, "-c", "import importlib.util as u; import pyflink; "
         "print([m for m in ('pyflink_kinesis', 'boto3', 'botocore') if u.find_spec(m)])"],
        capture_output=True, text=True, env=fresh_process_environment(), cwd=folder,
    )
    assert probe.returncode == 0 and probe.stdout.strip() == "[]", probe.stdout + probe.stderr
    yield made
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, runtime: Runtime) -> Iterator[Cluster]:
    started = Cluster(tmp_path_factory.mktemp("cluster"), runtime)
    try:
        started.start()
        yield started
    finally:
        started.stop()


def run_bundled(app: Path, cluster: Cluster, local_kinesis: LocalKinesis,
                source: str, out: str, folder: Path) -> str:
    """Bundle ``app``, unpack the zip in ``folder`` and submit it as the service would, reading
    ``source`` and writing ``out``; return what the client printed."""
    made = subprocess.run(
        [sys.executable, "-m", "pyflink_kinesis", "bundle", str(app), "-o",
         str(folder / "app.zip")],
        capture_output=True, text=True, timeout=600, env=fresh_process_environment(),
    )
    assert made.returncode == 0, made.stderr
    print(made.stdout)
    [group] = json.loads(made.stdout[made.stdout.index("\n{") :])["PropertyGroups"]
    assert group["PropertyGroupId"] == "kinesis.analytics.flink.run.options"
    run_options = group["PropertyMap"]
    unpacked = folder / "unpacked"
    with zipfile.ZipFile(folder / "app.zip") as archive:
        archive.extractall(unpacked)

    client = {"aws.region": local_kinesis.region, "aws.endpoint": local_kinesis.endpoint,
              "aws.credentials.provider.basic.accesskeyid": "k",
              "aws.credentials.provider.basic.secretkey": "s"}
    properties = folder / "application_properties.json"
    properties.write_text(json.dumps([
        {"PropertyGroupId": "InputStream", "PropertyMap": {"stream.name": source, **client}},
        {"PropertyGroupId": "OutputStream", "PropertyMap": {"stream.name": out, **client}},
    ]))
    python = cluster.runtime.python
    submit = subprocess.run(
        [str(cluster.runtime.flink), "run", "--detached", "-m", f"localhost:{cluster.rest_port}",
         "-pyclientexec", python, "-pyexec", python,
         "--python", str(unpacked / run_options["python"]),
         "--jarfile", str(unpacked / run_options["jarfile"]),
         "-pyfs", ",".join(str(unpacked / f) for f in run_options["pyFiles"].split(","))],
        env={**cluster.env, "PYFLINK_KINESIS_APPLICATION_PROPERTIES": str(properties)},
        capture_output=True, text=True, timeout=300, cwd=folder,
    )
    assert submit.returncode == 0, submit.stdout[-3000:] + submit.stderr[-3000:]
    return submit.stdout


def test_a_bundle_of_packages_modules_and_data_files_runs_as_the_service_runs_it(
    cluster: Cluster, local_kinesis: LocalKinesis, stream_factory: StreamFactory, tmp_path: Path,
) -> None:
    """Every record passes through each kind of local code in the cluster's Python workers: a
    layout the workers cannot import fails the job (``ModuleNotFoundError``)."""
    source, out = stream_factory(4), stream_factory(2)
    orders = sample_orders(300)
    local_kinesis.put_records(source, orders, [parse(o).customer for o in orders])

    client_output = run_bundled(LAYOUT, cluster, local_kinesis, source, out, tmp_path)
    # flink run copies the pyFiles to a folder of its own before the client imports them.
    origin = re.search(r"pyflink_kinesis 0\.1\.0 from (\S+)", client_output)
    assert origin is not None, client_output[-3000:]
    assert origin.group(1).endswith("/site-packages/pyflink_kinesis/__init__.py"), origin
    assert not origin.group(1).startswith(str(REPO)), origin
    expected = sorted(summary(o) for o in orders if is_paid(o))
    arrived = wait_for_output(cluster, local_kinesis, out, expected)
    assert sorted(arrived) == expected, cluster.logs()
    placement: dict[str, set[str]] = {}
    for record in local_kinesis.read_all(out):
        assert record.partition_key == json.loads(record.text)["customer"]
        placement.setdefault(record.partition_key, set()).add(record.shard_id)
    assert all(len(shards) == 1 for shards in placement.values())
