"""Make the connector jars visible to PyFlink's JVM and to the jobs it runs, with no add_jars call.

Three moments matter:

* **JVM launch.** PyFlink starts its JVM on the first ``get_gateway()`` call (usually inside
  ``StreamExecutionEnvironment.get_execution_environment()``). :func:`install` wraps PyFlink's
  ``launch_gateway`` so that, right before the JVM starts, the jars are resolved and put on its
  class path (PyFlink's launcher appends ``HADOOP_CLASSPATH`` to ``-cp``). The client and a local
  mini-cluster then load the connector like any Flink class.
* **A JVM that was already running** (``flink run --python``, or ``pyflink_kinesis`` imported
  after the environment was created): the jars are added to the JVM's context class loader when
  the first Kinesis object is built.
* **A job that leaves this JVM** (remote environment, ``flink run`` to a cluster), or a
  mini-cluster whose JVM did not start with the jars: when the job's graph is generated
  (DataStream) or just before a Table API job executes, the jars are added to the
  environment's ``pipeline.jars``, so Flink ships them with the job. A remote job also gets
  PyFlink's ``flink-python`` jar unless it has it, so its Python functions run on a cluster
  that keeps that jar in ``opt/``.

Shipping happens once a Kinesis object was built or a ``kinesis`` table was declared in this
process (:func:`mark_used`), so jobs that do not use Kinesis are left alone.

The same moments serve every local job (one that runs in this process's mini-cluster), Kinesis
or not: its Python workers get this interpreter unless another is set (:mod:`.workers`), its
failures are shown (:mod:`.failures`), and its workers' shutdown noise is kept out of the
terminal (:mod:`._quiet`). A JVM this package launches logs to a file of its own process
(:mod:`.logs`).

Optional jar sets (``glue``, ``firehose``) join when a feature needs them
(:func:`require_extra`). A set named in ``PYFLINK_KINESIS_EXTRAS`` (comma-separated), or asked
for with :func:`want_extra` before the JVM starts, goes on the launch class path instead; the
"firehose" set needs that in a local JVM (see :func:`jars.class_path_order`).
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from pyflink_kinesis import _quiet, failures, jars, logs, workers
from pyflink_kinesis.config.endpoint import JSON_PROTOCOL_SYSTEM_PROPERTIES, needs_json_protocol

# A class every supported connector release has; its presence means the jars are loaded.
PROBE_CLASS = "org.apache.flink.streaming.connectors.kinesis.FlinkKinesisConsumer"


class _State:
    installed = False
    # The jars this process put on the JVM's launch class path (empty: not launched by us).
    launch_class_path: tuple[Path, ...] = ()
    # True once any Kinesis Java object was built in this process.
    used = False
    # Optional jar sets (jars.resolve_extra) a feature asked for: loaded and shipped with jobs.
    extra_jars: tuple[Path, ...] = ()
    # Optional sets asked for before the JVM started (want_extra), and those it started with.
    wanted_extras: tuple[str, ...] = ()
    launch_extras: tuple[str, ...] = ()


#: Optional jar sets to put on the launch class path, comma-separated (e.g. ``firehose``).
EXTRAS_ENV = "PYFLINK_KINESIS_EXTRAS"


def install() -> None:
    """Hook PyFlink so the connector jars are registered and local jobs prepared with no user
    action. Idempotent."""
    if _State.installed:
        return
    from pyflink import java_gateway
    from pyflink.datastream import data_stream as ds
    from pyflink.datastream import stream_execution_environment as see
    from pyflink.table import table_environment as te
    from pyflink.table import table_result as tr

    java_gateway.launch_gateway = _launching(java_gateway.launch_gateway)
    env = see.StreamExecutionEnvironment
    env._generate_stream_graph = _preparing(env._generate_stream_graph, _prepare_stream_job)
    env.execute = failures.executing(env.execute)
    stream = ds.DataStream
    stream.execute_and_collect = _preparing(stream.execute_and_collect, _prepare_collect_job)
    t_env = te.TableEnvironment
    t_env._before_execute = _preparing(t_env._before_execute, _prepare_table_job)
    tr.TableResult.wait = failures.waiting(tr.TableResult.wait)
    _State.installed = True


def _launching(launch: Callable[[], Any]) -> Callable[[], Any]:
    """Launch PyFlink's JVM with the jars on its class path and a log file of its own."""

    @functools.wraps(launch)
    def launch_gateway() -> Any:
        extras = launch_extras()
        paths = tuple(jars.job_jars(extras))
        previous = os.environ.get("HADOOP_CLASSPATH")
        settings = {
            "HADOOP_CLASSPATH": os.pathsep.join(
                [*(str(p) for p in paths), *([previous] if previous else [])]),
            **logs.launch_environment(os.environ),
        }
        saved = {name: os.environ.get(name) for name in settings}
        os.environ.update(settings)
        try:
            gateway = launch()
        finally:
            for name, value in saved.items():
                if value is None:
                    del os.environ[name]
                else:
                    os.environ[name] = value
        _State.launch_class_path = paths
        _State.launch_extras = extras
        _prune_logs()
        return gateway

    return launch_gateway


def _prune_logs() -> None:
    with contextlib.suppress(OSError):  # a log directory we may not write to: PyFlink's problem
        logs.prune(logs.log_dir())


def _preparing(method: Callable[..., Any], prepare: Callable[[Any], None]) -> Callable[..., Any]:
    """Wrap a method every job of an environment (or stream) passes through so that it
    prepares the job first."""

    @functools.wraps(method)
    def preparing(owner: Any, *args: Any, **kwargs: Any) -> Any:
        prepare(owner)
        return method(owner, *args, **kwargs)

    return preparing


class _ConfigurationSettings:
    """A Java ``Configuration`` as :class:`workers.JobSettings`."""

    def __init__(self, configuration: Any) -> None:
        self._configuration = configuration

    def get(self, key: str) -> str | None:
        if not self._configuration.containsKey(key):
            return None
        return str(self._configuration.getString(key, ""))

    def set(self, key: str, value: str) -> None:
        self._configuration.setString(key, value)


class _TableSettings(_ConfigurationSettings):
    """A TableEnvironment's settings: read from its TableConfig (which falls back to the
    environment's), written to the environment's configuration, as PyFlink sets
    ``python.executable`` for a local table job."""

    def __init__(self, t_env: Any, configuration: Any) -> None:
        super().__init__(configuration)
        self._table_config = t_env.get_config()

    def get(self, key: str) -> str | None:
        value = self._table_config.get(key, None)
        return None if value is None else str(value)


def _prepare_local_job(j_env: Any, settings: workers.JobSettings) -> None:
    """Before a job of a Java environment starts: if it runs in this process, default its
    workers' interpreter, watch its failures, and quiet its workers' shutdown."""
    from pyflink.util.java_utils import get_j_env_configuration, is_local_deployment

    if not is_local_deployment(get_j_env_configuration(j_env)):
        return
    workers.prepare_local_job(settings)
    failures.watch_jobs_of(j_env)
    _quiet.quiet_beam_worker()


def _prepare_stream_job(env: Any) -> None:
    """Prepare a DataStream job (before its graph is generated)."""
    from pyflink.util.java_utils import get_j_env_configuration

    j_env = env._j_stream_execution_environment
    _prepare_local_job(j_env, _ConfigurationSettings(get_j_env_configuration(j_env)))
    if _State.used:
        ship_with_job(env)


def _prepare_collect_job(stream: Any) -> None:
    """Prepare the job of ``DataStream.execute_and_collect`` (which generates no graph)."""
    from pyflink.util.java_utils import get_j_env_configuration

    j_env = stream._j_data_stream.getExecutionEnvironment()
    _prepare_local_job(j_env, _ConfigurationSettings(get_j_env_configuration(j_env)))


def _prepare_table_job(t_env: Any) -> None:
    """Prepare a Table API job (just before it executes)."""
    from pyflink.util.java_utils import get_j_env_configuration

    j_env = t_env._get_j_env()
    _prepare_local_job(j_env, _TableSettings(t_env, get_j_env_configuration(j_env)))
    if _State.used:
        ship_with_table_job(t_env)


def launch_extras() -> tuple[str, ...]:
    """The optional jar sets a JVM launched now starts with: those named in
    ``PYFLINK_KINESIS_EXTRAS``, then those asked for with :func:`want_extra`."""
    named = (e.strip() for e in os.environ.get(EXTRAS_ENV, "").split(","))
    return tuple(dict.fromkeys([*filter(None, named), *_State.wanted_extras]))


def want_extra(extra: str) -> None:
    """Note that this process will use the optional jar set ``extra``: a JVM not yet started
    starts with it on its class path. Touches no JVM."""
    if extra not in _State.wanted_extras:
        _State.wanted_extras = (*_State.wanted_extras, extra)


def started_with_extra(extra: str) -> bool:
    """True when this process launched its JVM with the optional jar set ``extra``."""
    return extra in _State.launch_extras


def mark_used() -> None:
    """Note that this process uses the connector: later jobs get the jars shipped if needed."""
    jvm()


def jvm() -> Any:
    """The py4j JVM view, with the connector classes loadable. Marks the jars as in use."""
    from pyflink.java_gateway import get_gateway

    view = get_gateway().jvm
    if not _State.launch_class_path and not _loadable(view):
        _load_in_gateway(view, jars.resolve_jars())
    _State.used = True
    return view


def require_extra(extra: str) -> Any:
    """The py4j JVM view with the optional jar set ``extra`` (e.g. ``"glue"``) loadable too.

    The jars join this JVM's context class loader and, from then on, every job's
    ``pipeline.jars`` (they are not on the launch class path, so even a local job needs them).
    """
    view = jvm()
    paths = [p for p in jars.resolve_extra(extra) if p not in _State.extra_jars]
    loadable = [p for p in paths if p not in _State.launch_class_path]
    if loadable:
        _load_in_gateway(view, loadable)
    _State.extra_jars = (*_State.extra_jars, *paths)
    return view


def _load_in_gateway(view: Any, paths: Sequence[Path]) -> None:
    """Make ``paths`` loadable by py4j in every thread of the gateway.

    PyFlink's ``add_jars_to_context_class_loader`` gives only the Java thread serving this py4j
    call a new context class loader (the one py4j finds classes with), or adds to this thread's
    loader in place when PyFlink made that one earlier (it does, on the thread serving the call,
    for ``pipeline.jars`` set in a config and for ``env.add_jars``), leaving other threads as
    they were. py4j serves each connection with its own thread and opens another connection
    whenever two Python threads call Java at once (a job's listener and watcher do), and a later
    call of this thread may be served by any of them. So every other thread gets the jars too:
    one whose loader is this one's ancestor (what the JVM started with, or an earlier loader of
    ours) gets this one, which sees all that loader saw (the gateway's accepting thread too, whose
    future connections inherit it); one with another loader PyFlink or we made (a plain
    ``URLClassLoader``) gets the jars added to it in place, as PyFlink does. Flink's own loaders
    (a job's user code) are left alone.
    """
    from pyflink.util.java_utils import add_jars_to_context_class_loader

    urls = [p.as_uri() for p in paths]
    add_jars_to_context_class_loader(urls)
    loader = view.Thread.currentThread().getContextClassLoader()
    ancestors = []
    parent = loader.getParent()
    while parent is not None:
        ancestors.append(parent)
        parent = parent.getParent()
    extended = [loader]
    for thread in view.Thread.getAllStackTraces().keySet():
        current = thread.getContextClassLoader()
        if current is None or any(current.equals(e) for e in extended):
            continue
        if any(current.equals(a) for a in ancestors):
            thread.setContextClassLoader(loader)
        elif current.getClass().getName() == "java.net.URLClassLoader":
            _add_urls_in_place(view, current, urls)
            extended.append(current)


def _add_urls_in_place(view: Any, loader: Any, urls: Sequence[str]) -> None:
    """Add jar ``urls`` to a ``java.net.URLClassLoader`` (its protected ``addURL``)."""
    from pyflink.util.java_utils import to_jarray

    url_class = view.Class.forName("java.net.URL")
    add_url = view.Class.forName("java.net.URLClassLoader").getDeclaredMethod(
        "addURL", to_jarray(view.Class, [url_class])
    )
    add_url.setAccessible(True)
    for url in urls:
        add_url.invoke(loader, to_jarray(view.Object, [view.java.net.URL(url)]))


def use_json_protocol(properties: Mapping[str, str]) -> None:
    """Switch the connector's AWS SDKs in this JVM to JSON when the endpoint is not AWS.

    These are JVM-wide system properties: they reach a local mini-cluster (same JVM); a
    separate cluster needs them in ``env.java.opts.all`` (see ``pyflink-kinesis docs
    local-kinesis``).
    """
    if needs_json_protocol(properties):
        system = jvm().System
        for name, value in JSON_PROTOCOL_SYSTEM_PROPERTIES.items():
            system.setProperty(name, value)


def _loadable(view: Any) -> bool:
    loader = view.Thread.currentThread().getContextClassLoader()
    try:
        view.Class.forName(PROBE_CLASS, False, loader)
    except Exception:  # py4j raises Py4JJavaError wrapping ClassNotFoundException
        return False
    return True


def _jars_to_ship(j_env: Any, present: str) -> list[str]:
    """The jar URLs a job of this Java environment needs in ``pipeline.jars`` and lacks.

    A job that runs in this JVM's mini-cluster already sees jars on the launch class path; any
    other job (remote cluster, or a JVM launched without them) needs them shipped.
    """
    from pyflink.util.java_utils import get_j_env_configuration, is_local_deployment

    local = is_local_deployment(get_j_env_configuration(j_env))
    if _State.launch_class_path and local:
        needed = [p for p in _State.extra_jars if p not in _State.launch_class_path]
    else:
        needed = jars.class_path_order([*jars.resolve_jars(), *_State.extra_jars])
    if not local and "flink-python" not in present:
        needed += _flink_python_jar()
    # A jar already listed under another spelling of its URL (`flink run --jarfile` writes
    # file:/x, as_uri file:///x) is there: look for its file name.
    return [p.as_uri() for p in needed if f"/{p.name}" not in present]


def _flink_python_jar() -> list[Path]:
    """PyFlink's own runtime jar, which a cluster needs for a job's Python operators.

    ``flink run --python`` ships it; a job sent from a Python remote environment does not, and
    a Flink distribution keeps it in ``opt/``, not ``lib/`` (so the cluster fails with
    ``ClassNotFoundException: ...ExternalPythonProcessOperator``).
    """
    import pyflink

    return sorted((Path(pyflink.__file__).parent / "opt").glob("flink-python-*.jar"))[:1]


def ship_with_job(env: Any) -> None:
    """Add the jars to a StreamExecutionEnvironment's ``pipeline.jars`` when its job needs them."""
    from pyflink.util.java_utils import get_j_env_configuration

    j_env = env._j_stream_execution_environment
    configuration = get_j_env_configuration(j_env)
    present = str(configuration.getString("pipeline.jars", ""))
    missing = _jars_to_ship(j_env, present)
    if missing:
        env.add_jars(*missing)
    _no_loopback_for_remote_jobs(configuration)


def _no_loopback_for_remote_jobs(configuration: Any) -> None:
    """Let a remote job's Python workers start on the cluster.

    PyFlink starts a loopback worker server when an environment is created, which is always
    local (``get_execution_environment``), and leaves its address in the configuration after
    ``env.configure(...)`` points the environment at a cluster: the cluster's TaskManagers then
    try to reach that address and the job fails with "Process died with exit code 0".
    """
    from pyflink.util.java_utils import is_local_deployment

    if not is_local_deployment(configuration):
        configuration.removeKey("python.loopback-server.address")


def ship_with_table_job(t_env: Any) -> None:
    """Add the jars to a TableEnvironment's ``pipeline.jars`` when its job needs them."""
    config = t_env.get_config()
    present = config.get("pipeline.jars", "") or ""
    missing = _jars_to_ship(t_env._get_j_env(), present)
    if missing:
        config.set("pipeline.jars", ";".join([*filter(None, [present]), *missing]))
