"""A job submitted to a standalone Flink cluster gets the connector jars with no manual step.

The cluster is started from the installed PyFlink distribution: a JobManager and a TaskManager,
each its own JVM on loopback, neither with the connector on its class path. Jobs reach it with
``flink run --python`` (tests/e2e/cluster_job.py and the demo) and from a Python remote
environment; only pyflink_kinesis can have shipped the jars. With BASIC credentials, the secret
key shows in none of the cluster's log files.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

from pyflink_kinesis.testing import LocalKinesis
from tests.support.flink_cluster import Cluster, wait_for_output

JOB = Path(__file__).with_name("cluster_job.py")
REPO = Path(__file__).parents[2]
DEMO = REPO / "demo" / "kinesis_to_kinesis.py"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One cluster for the module's tests; each test cancels its jobs. The repository is on
    its PYTHONPATH, for the job module's own imports."""
    started = Cluster(tmp_path_factory.mktemp("cluster"), pythonpath=[REPO])
    try:
        started.start()
        yield started
    finally:
        started.stop()


@pytest.fixture
def secret() -> str:
    return f"cluster-secret-{uuid.uuid4().hex}"


def test_flink_run_python_ships_the_jars_to_a_standalone_cluster(
    cluster: Cluster, local_kinesis: LocalKinesis, stream_factory: Callable[..., str],
    secret: str,
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    records = [f"order-{i}" for i in range(300)]
    local_kinesis.put_records(source, records)

    submit = subprocess.run(
        [str(cluster.runtime.flink), "run", "--detached",
         "-m", f"localhost:{cluster.rest_port}",
         "-pyclientexec", sys.executable, "-pyexec", sys.executable,
         "--python", str(JOB), local_kinesis.endpoint, source, out],
        env={**cluster.env, "CLUSTER_JOB_SECRET_KEY": secret},
        capture_output=True, text=True, timeout=300,
    )
    assert submit.returncode == 0, submit.stdout[-3000:] + submit.stderr[-3000:]
    arrived = wait_for_output(cluster, local_kinesis, out, records)
    assert sorted(arrived) == sorted(f"clustered:{r}" for r in records), cluster.logs()
    assert secret not in submit.stdout + submit.stderr
    assert cluster.files_mentioning(secret) == []


def test_a_remote_environment_from_python_ships_the_jars_to_a_standalone_cluster(
    cluster: Cluster, local_kinesis: LocalKinesis, stream_factory: Callable[..., str],
    secret: str,
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    records = [f"remote-{i}" for i in range(300)]
    local_kinesis.put_records(source, records)

    submit = subprocess.run(
        [sys.executable, str(JOB), "--remote", f"localhost:{cluster.rest_port}",
         local_kinesis.endpoint, source, out],
        env={**cluster.env, "CLUSTER_JOB_SECRET_KEY": secret},
        capture_output=True, text=True, timeout=300,
    )
    assert submit.returncode == 0, submit.stdout[-3000:] + submit.stderr[-3000:]
    arrived = wait_for_output(cluster, local_kinesis, out, records)
    # The remote job has a Python map: flink-python travelled with it too.
    assert sorted(arrived) == sorted(f"remote:{r}" for r in records), cluster.logs()
    assert secret not in submit.stdout + submit.stderr
    assert cluster.files_mentioning(secret) == []


def test_the_demo_job_runs_on_a_standalone_cluster_with_flink_run(cluster: Cluster) -> None:
    """``flink run --python demo/kinesis_to_kinesis.py``: the demo starts its own kinesalite
    on loopback, which the cluster's TaskManager reaches, and checks what arrived itself."""
    demo = subprocess.run(
        [str(cluster.runtime.flink), "run",
         "-m", f"localhost:{cluster.rest_port}",
         "-pyclientexec", sys.executable, "-pyexec", sys.executable,
         "--python", str(DEMO), "--records", "400", "--timeout", "180"],
        env=cluster.env, capture_output=True, text=True, timeout=400,
    )
    output = demo.stdout + demo.stderr
    assert demo.returncode == 0 and "check: OK" in demo.stdout, output[-4000:] + cluster.logs()
    assert "wrote 300 to 'paid-orders'" in demo.stdout, demo.stdout
    overview = cluster.rest("/jobs/overview").get("jobs", [])
    assert any(j["name"] == "demo: orders -> paid-orders" for j in overview), overview
