"""Jar registration with PyFlink's JVM and jobs, with no add_jars call.

Each case runs in a fresh Python process: PyFlink starts one JVM per process, and how the jars
get in depends on whether that JVM was started before or after pyflink_kinesis was imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from pyflink_kinesis import jars
from tests.support.environment import fresh_process_environment

pytestmark = pytest.mark.jvm

BUILD_JOB = """
from pyflink.common.serialization import SimpleStringSchema
consumer = FlinkKinesisConsumer("s", SimpleStringSchema(), {"aws.region": "us-east-1"})
env.add_source(consumer).print()
env.get_execution_plan()
env.get_execution_plan()
conf = get_j_env_configuration(env._j_stream_execution_environment)
"""


def run_python(*parts: str) -> dict[str, object]:
    """Run code in a fresh interpreter; it prints one JSON object as its last line."""
    code = "\n".join(textwrap.dedent(part) for part in parts)
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True,
        env=fresh_process_environment(),
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def expected_urls() -> set[str]:
    return {p.as_uri() for p in jars.resolve_jars()}


def test_importing_first_puts_the_jars_on_the_jvm_class_path() -> None:
    result = run_python("""
        import json, os
        before = os.environ.get("HADOOP_CLASSPATH")
        import pyflink_kinesis
        from pyflink_kinesis import FlinkKinesisConsumer
        from pyflink_kinesis.gateway import PROBE_CLASS as CONSUMER_CLASS
        from pyflink.datastream import StreamExecutionEnvironment
        from pyflink.java_gateway import get_gateway
        from pyflink.util.java_utils import get_j_env_configuration
        env = StreamExecutionEnvironment.get_execution_environment()
        system_loader = get_gateway().jvm.ClassLoader.getSystemClassLoader()
        get_gateway().jvm.Class.forName(CONSUMER_CLASS, False, system_loader)
    """, BUILD_JOB, """
        import sys
        print(json.dumps({"pipeline_jars": conf.getString("pipeline.jars", ""),
                          "hadoop_classpath_restored":
                              os.environ.get("HADOOP_CLASSPATH") == before,
                          "python_is_this_one":
                              conf.getString("python.executable", "") == sys.executable}))
    """)
    # The mini-cluster runs in this JVM: the job needs nothing shipped, and its Python workers
    # run this interpreter, whatever `python` is on PATH.
    assert result == {"pipeline_jars": "", "hadoop_classpath_restored": True,
                      "python_is_this_one": True}


def test_a_jvm_started_before_import_gets_the_jars_loaded_and_shipped_with_the_job() -> None:
    result = run_python("""
        import json
        from pyflink.datastream import StreamExecutionEnvironment
        from pyflink.util.java_utils import get_j_env_configuration
        env = StreamExecutionEnvironment.get_execution_environment()
        from pyflink_kinesis import FlinkKinesisConsumer
    """, BUILD_JOB, """
        print(json.dumps({"pipeline_jars": conf.getString("pipeline.jars", "")}))
    """)
    shipped = str(result["pipeline_jars"])
    assert all(url in shipped for url in expected_urls()), shipped


def test_a_job_for_a_remote_cluster_ships_the_jars_and_keeps_the_clusters_python() -> None:
    result = run_python("""
        import json
        from pyflink.common import Configuration
        from pyflink.datastream import StreamExecutionEnvironment
        from pyflink.util.java_utils import get_j_env_configuration
        from pyflink_kinesis import FlinkKinesisConsumer
        config = Configuration()
        config.set_string("execution.target", "remote")
        env = StreamExecutionEnvironment.get_execution_environment()
        env.configure(config)  # a local environment forces target "local" at creation
    """, BUILD_JOB, """
        print(json.dumps({"pipeline_jars": conf.getString("pipeline.jars", ""),
                          "python": conf.getString("python.executable", "unset")}))
    """)
    shipped = str(result["pipeline_jars"])
    # Each jar once, although the plan was generated twice.
    assert all(shipped.count(url) == 1 for url in expected_urls()), shipped
    assert result["python"] == "unset"  # the cluster's workers run the cluster's Python


@pytest.mark.parametrize("pyflink_loaders", ["none", "loading-thread", "every-thread"])
def test_an_extra_jar_set_is_loadable_whichever_gateway_thread_serves_a_call(
    pyflink_loaders: str, tmp_path: Path,
) -> None:
    """py4j serves each connection with a Java thread of its own and opens another connection
    whenever Python threads call Java at once (a job's listener and watcher do): jars loaded
    later must be found from every one, not only from the thread that loaded them. Also when
    PyFlink gave gateway threads class loaders of their own first (it does so, on the thread
    serving the call, for ``pipeline.jars`` set in a config or ``env.add_jars``): on the thread
    that loads ours, or on every thread, each with its own loader (seen in the suite: a test's
    ``add_jars`` left one thread that never saw the Glue jars loaded later)."""
    jar = tmp_path / "empty.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    add_jar = f"add_jars_to_context_class_loader([{jar.as_uri()!r}])"
    first = {"none": "", "loading-thread": add_jar,
             "every-thread": f"at_once(lambda: {add_jar})"}[pyflink_loaders]
    result = run_python(f"""
        import json, threading
        from pyflink.util.java_utils import add_jars_to_context_class_loader
        from pyflink_kinesis import gateway
        view = gateway.jvm()

        def at_once(call):
            threads = [threading.Thread(target=call) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        at_once(lambda: view.Thread.sleep(300))  # four connections, four Java threads
        {first}
        loaders = set()
        at_once(lambda: loaders.add(
            view.Thread.currentThread().getContextClassLoader().hashCode()))
        gateway.require_extra("glue")
        found = []
        at_once(lambda: found.append(
            type(view.io.pyflinkkinesis.glue.GlueSchemaRegistryAvro).__name__))
        print(json.dumps({{"found": sorted(found), "loaders": len(loaders)}}))
    """)
    assert result["found"] == ["JavaClass"] * 4
    # The case happened: with PyFlink's loaders, threads held more than one (every-thread: up to
    # four, as the four calls happen to overlap).
    assert (result["loaders"] == 1) == (pyflink_loaders == "none"), result
