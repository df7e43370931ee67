"""A local job's failures, shown where its user looks: on stderr, and in the error raised.

Flink restarts a failing job (with checkpointing on, by default, forever) and tells only its log.
For every job that runs in this process's mini-cluster (a local job started with
``env.execute``, ``execute_async``, ``execute_and_collect`` or the Table API):

* each new cause of a failure is printed once to stderr while the job restarts::

      pyflink-kinesis: job 'orders' failed in Sink: Writer (1/2), restarting:
          java.lang.IllegalArgumentException: json_field('customr') has no partition key ...
      pyflink-kinesis: the job's full log: /.../pyflink/log/flink-me-job-4242-python-host.log

  (a cause counts as new when its exception, its message or its operator differ);
* ``env.execute()`` and ``TableResult.wait()`` of a job that fails raise
  :class:`~pyflink_kinesis.errors.JobFailedError` (task, root cause, log file) from py4j's error,
  so it comes last; a job nobody waits for gets its last failure printed like the others;
* a failure of the credential providers (a missing profile or token file, a role STS refuses,
  expired credentials) comes with what to do about the provider's settings, and an untrusted
  TLS certificate with how to trust its CA.

How: a ``JobListener`` (a py4j callback) on each environment that runs a local job hears of
each job submitted; a thread per job then reads the mini-cluster's REST API (the job's exception
history, ``/jobs/<id>/exceptions``, and its state) until the job ends. Jobs sent to a cluster
are not watched.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, TypeVar

from pyflink_kinesis.config.tls import jvm_untrusted_certificate
from pyflink_kinesis.errors import JobFailedError

#: How often a job's exception history is read.
POLL_S = 0.5
#: A job's states in which no failure is new any more.
_ENDED = frozenset({"FAILING", "FAILED", "CANCELLING", "CANCELED", "FINISHED", "SUSPENDED"})
_MINI_CLUSTER_CLIENT = "org.apache.flink.runtime.minicluster.MiniClusterJobClient"
_JOB_EXECUTION_EXCEPTION = "org.apache.flink.runtime.client.JobExecutionException"
# A printed cause longer than this many lines keeps its first and last ones (the log has all):
# a Python traceback ends with its exception.
_HEAD_LINES, _TAIL_LINES = 10, 20
# Flink appends the attempt to a task's name in the exception history.
_ATTEMPT = re.compile(r" - execution #\d+$")
_SUBTASK = re.compile(r" \(\d+/\d+\)$")
_HEADER = re.compile(r"(?P<exception>[\w$.]+)(?:: (?P<message>.*))?", re.DOTALL)
_REST = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy

F = TypeVar("F", bound=Callable[..., Any])

_PROVIDER = "aws.credentials.provider"
# Failures of the credential providers where the job runs, found in a stack trace, and what to
# do about each: the SDK's own message names what it missed, not the setting behind it.
_CREDENTIAL_HINTS = (
    (re.compile(r"Invalid AWS Credential Provider Type set in config"),
     f"the connector reports any error in creating a credential provider so, and drops its "
     f"cause: check the {_PROVIDER}.* keys and that the credentials file PROFILE names is "
     f"well-formed where the job runs"),
    (re.compile(r"Profile file contained no credentials for profile|Profile file '.*' does not "
                r"exist|No AWS profile named|profile file cannot be null"),
     f"PROFILE (or AUTO) found no such profile or credentials file where the job runs: check "
     f"{_PROVIDER}.profile.path and .profile.name, or AWS_SHARED_CREDENTIALS_FILE (the polling "
     f"consumer: AWS_CREDENTIAL_PROFILES_FILE) and AWS_PROFILE there"),
    (re.compile(r"WebIdentityToken\w*CredentialsProvider.*(NoSuchFileException|"
                r"AccessDeniedException)|(NoSuchFileException|AccessDeniedException).*"
                r"WebIdentityToken\w*CredentialsProvider", re.DOTALL),
     f"WEB_IDENTITY_TOKEN cannot read its token file where the job runs: check "
     f"{_PROVIDER}.webIdentityToken.file (else AWS_WEB_IDENTITY_TOKEN_FILE) and its permissions"),
    (re.compile(r"not authorized to perform: sts:AssumeRole|StsException|"
                r"AWSSecurityTokenServiceException", re.IGNORECASE),
     f"ASSUME_ROLE: STS refused to issue credentials for the role: check {_PROVIDER}.role.arn "
     f"and .role.externalId, and that the role's trust policy allows the caller (the "
     f"{_PROVIDER}.role.provider credentials)"),
    (re.compile(r"ExpiredToken|security token included in the request is expired"),
     "the credentials expired: a session token given as BASIC keys or in the environment is "
     "not renewed; use ASSUME_ROLE, WEB_IDENTITY_TOKEN or AUTO, which renew theirs"),
    (re.compile(r"Unable to load (AWS )?credentials from any (of the )?providers? in the chain"),
     f"AUTO found no credentials where the job runs (environment, system properties, web "
     f"identity, profile, container, instance role): provide some there, or set {_PROVIDER}"),
)


def failure_hint(stack_trace: str) -> str | None:
    """What to do about a failure in ``stack_trace`` whose fix the package knows (the
    credential providers, an untrusted TLS certificate), or None."""
    return next(
        (hint for pattern, hint in _CREDENTIAL_HINTS if pattern.search(stack_trace)),
        None,
    ) or jvm_untrusted_certificate(stack_trace)


@dataclass(frozen=True)
class Cause:
    """An exception of a Java stack trace: its class and its message (possibly many lines)."""

    exception: str
    message: str

    def __str__(self) -> str:
        return f"{self.exception}: {self.message}" if self.message else self.exception


def root_cause(stack_trace: str) -> Cause:
    """The cause to show of a Java stack trace (``Throwable.printStackTrace`` text).

    The last ``Caused by:``, or the exception above it when that one only adds to its message
    (``IOException: Cannot run program "python": error=2, ...`` over ``IOException: error=2,
    ...``), not when it merely wraps it (``RuntimeException: java.io.IOException: ...``).
    """
    chain = _chain(stack_trace)
    index = len(chain) - 1
    while index > 0:
        child, parent = chain[index], chain[index - 1]
        if not child.message or child.message not in parent.message:
            break
        if child.exception in parent.message:
            break
        index -= 1
    return chain[index]


def _chain(stack_trace: str) -> list[Cause]:
    """The exceptions of a stack trace, outermost first (suppressed ones left out)."""
    headers: list[list[str]] = [[]]
    in_header = True
    for line in stack_trace.splitlines():
        if line.startswith("Caused by: "):
            headers.append([line[len("Caused by: "):]])
            in_header = True
        elif line.startswith("\t"):
            in_header = False
        elif in_header:
            headers[-1].append(line)
    causes = []
    for lines in headers:
        text = "\n".join(lines).strip()
        match = _HEADER.fullmatch(text)
        if match:
            causes.append(Cause(match["exception"], (match["message"] or "").strip()))
        elif text:
            causes.append(Cause("", text))
    return causes or [Cause("", stack_trace.strip())]


@dataclass(frozen=True)
class Failure:
    """One entry of a job's exception history: a failure Flink handled."""

    cause: Cause
    #: The failed task, ``Sink: Writer (1/2)``; None for a failure of the whole job.
    task: str | None
    #: When it happened, epoch milliseconds.
    timestamp: int
    #: What to do, for a failure whose fix the package knows (``failure_hint``).
    hint: str | None = None

    def key(self) -> tuple[str, str, str | None]:
        """What makes a cause new: exception, message, operator (any subtask)."""
        operator = _SUBTASK.sub("", self.task) if self.task else None
        return (self.cause.exception, self.cause.message, operator)

    def describe(self, job: str, restarting: bool) -> str:
        """The lines printed for this failure of the job named ``job``."""
        where = f" in {self.task}" if self.task else ""
        lines = str(self.cause).splitlines() or [""]
        cut = len(lines) - _HEAD_LINES - _TAIL_LINES
        if cut > 0:
            lines = [*lines[:_HEAD_LINES], f"... ({cut} lines more in the log)",
                     *lines[-_TAIL_LINES:]]
        if self.hint:
            lines.append(f"what to do: {self.hint}")
        body = "\n".join(f"    {line}" for line in lines)
        return f"job {job!r} failed{where}{', restarting' if restarting else ''}:\n{body}"


def failures(exceptions: Mapping[str, Any]) -> list[Failure]:
    """The failures of a ``/jobs/<id>/exceptions`` answer, oldest first: each entry and the
    failures Flink grouped with it (``concurrentExceptions``: other tasks that failed in the same
    restart, such as another pipeline of the job)."""
    entries = exceptions.get("exceptionHistory", {}).get("entries", [])
    found = [
        Failure(
            root_cause(stack_trace),
            _ATTEMPT.sub("", each["taskName"]) if each.get("taskName") else None,
            int(each.get("timestamp", 0)),
            failure_hint(stack_trace),
        )
        for entry in entries
        for each in (entry, *entry.get("concurrentExceptions", ()))
        for stack_trace in [each.get("stacktrace") or each.get("exceptionName", "")]
    ]
    return sorted(found, key=lambda failure: failure.timestamp)


class _State:
    lock = threading.Lock()
    printing = threading.Lock()  # one failure's lines together
    # identityHashCode of each Java environment the listener is registered on.
    environments: ClassVar[set[int]] = set()
    # Watchers by job id, while their job runs and until a blocking caller has read them.
    watches: ClassVar[dict[str, _Watch]] = {}
    # How many threads are inside env.execute(): the jobs submitted meanwhile are theirs.
    executing = 0
    # Jobs a TableResult.wait() waits for.
    waited_for: ClassVar[set[str]] = set()
    log_file: str | None = None


def watch_jobs_of(j_env: Any) -> None:
    """Have the local jobs of a Java ``StreamExecutionEnvironment`` watched (once per env)."""
    from pyflink.java_gateway import get_gateway

    key = int(get_gateway().jvm.System.identityHashCode(j_env))
    with _State.lock:
        if key in _State.environments:
            return
        _State.environments.add(key)
    j_env.registerJobListener(_LISTENER)


class _JobListener:
    """``org.apache.flink.core.execution.JobListener``: starts a watch for each job submitted.

    Flink calls it in the thread that submits the job, and an exception here would fail the
    submission: it only hands the job over to a thread of its own.
    """

    def onJobSubmitted(self, j_client: Any, j_error: Any) -> None:
        if j_client is None:
            return
        with _State.lock:
            executed = _State.executing > 0
        threading.Thread(target=_watch, args=(j_client, executed), daemon=True,
                         name="pyflink-kinesis job watch").start()

    def onJobExecuted(self, result: Any, error: Any) -> None:
        pass

    class Java:
        implements: ClassVar[list[str]] = ["org.apache.flink.core.execution.JobListener"]


_LISTENER = _JobListener()


def _watch(j_client: Any, executed: bool) -> None:
    try:
        if str(j_client.getClass().getName()) != _MINI_CLUSTER_CLIENT:
            return
        from pyflink.util.java_utils import get_field_value

        rest = str(get_field_value(j_client, "miniCluster").getRestAddress().get().toString())
        watch = _Watch(str(j_client.getJobID().toString()), rest, j_client, executed)
    except Exception:  # the job ended before it could be watched: nothing to show
        return
    with _State.lock:
        _State.watches[watch.job_id] = watch
    watch.run()


class _Watch:
    """Reads one job's exception history until the job ends, printing each new cause once."""

    def __init__(self, job_id: str, rest: str, j_client: Any, executed: bool) -> None:
        self.job_id = job_id
        self.name = job_id
        self._url = f"{rest.rstrip('/')}/jobs/{job_id}"
        self._client: Any = j_client
        self._executed = executed
        #: The failure that ended the job, once known.
        self.final: Failure | None = None
        self.done = threading.Event()
        self._shown: set[tuple[str, str, str | None]] = set()
        self._told_log = False

    @property
    def claimed(self) -> bool:
        """True when a blocking call raises the job's failure (then this does not print it)."""
        with _State.lock:
            return self._executed or self.job_id in _State.waited_for

    def run(self) -> None:
        try:
            self._follow()
            if self.final is not None and not self.claimed:
                self._show(self.final, restarting=False)
        except Exception:  # py4j gone (the interpreter exits): nothing more to show
            pass
        finally:
            self._client = None  # the mini-cluster may go: keep no Java object alive
            self.done.set()
            if self.final is None or not self.claimed:  # else the blocking call takes it
                with _State.lock:
                    _State.watches.pop(self.job_id, None)

    def _follow(self) -> None:
        latest = 0
        while True:
            try:
                # The history first: a state read after it that is not FAILING or FAILED means
                # every failure in it was one the job restarted from.
                history = failures(_get(f"{self._url}/exceptions?maxExceptions=20"))
                job = _get(self._url)
            except OSError:  # the mini-cluster shut down once the job ended, or is busy
                if self._client.getJobExecutionResult().isDone():
                    break
                self.done.wait(POLL_S)
                continue
            self.name = str(job.get("name", self.name))
            new = [failure for failure in history if failure.timestamp > latest]
            latest = max([latest, *(failure.timestamp for failure in new)])
            state = str(job.get("state"))
            failed = state in ("FAILING", "FAILED")
            if failed and new:
                self.final = new.pop()
            for failure in new:
                self._show(failure, restarting=True)
            if state in _ENDED and not (failed and self.final is None):
                break
            self.done.wait(POLL_S)
        if self.final is None:
            self.final = self._result_failure()

    def _result_failure(self) -> Failure | None:
        """The failure the job's result reports (no task named), or None if it did not fail."""
        try:
            self._client.getJobExecutionResult().get()
        except Exception as exc:
            java = getattr(exc, "java_exception", None)
            if java is None or _find(java, _JOB_EXECUTION_EXCEPTION) is None:
                return None
            stack_trace = _stack_trace(java)
            return Failure(root_cause(stack_trace), None, 0, failure_hint(stack_trace))
        return None

    def _show(self, failure: Failure, restarting: bool) -> None:
        if failure.key() in self._shown:
            return
        self._shown.add(failure.key())
        text = f"pyflink-kinesis: {failure.describe(self.name, restarting)}"
        if not self._told_log:
            self._told_log = True
            text += f"\npyflink-kinesis: the job's full log: {log_file()}"
        with _State.printing:
            print(text, file=sys.stderr, flush=True)


def _get(url: str) -> dict[str, Any]:
    with _REST.open(url, timeout=10) as answer:
        result: dict[str, Any] = json.load(answer)
    return result


def log_file() -> str:
    """The Flink log this process's JVM writes (``log.file``)."""
    if _State.log_file is None:
        from pyflink.java_gateway import get_gateway

        _State.log_file = str(get_gateway().jvm.System.getProperty("log.file"))
    return _State.log_file


def _stack_trace(j_throwable: Any) -> str:
    from pyflink.java_gateway import get_gateway

    return str(get_gateway().jvm.org.apache.flink.util.ExceptionUtils.stringifyException(
        j_throwable))


def _find(j_throwable: Any, class_name: str) -> Any:
    """The first exception of that class in the chain, or None."""
    while j_throwable is not None:
        if str(j_throwable.getClass().getName()) == class_name:
            return j_throwable
        j_throwable = j_throwable.getCause()
    return None


def job_failed_error(error: Exception) -> JobFailedError | None:
    """Our error for py4j's ``error`` when it is the failure of a watched job, else None."""
    java = getattr(error, "java_exception", None)
    failed = _find(java, _JOB_EXECUTION_EXCEPTION) if java is not None else None
    if failed is None:
        return None
    job_id = str(failed.getJobID().toString())
    with _State.lock:
        watch = _State.watches.pop(job_id, None)
    if watch is None:
        return None
    watch.done.wait(timeout=10)  # it stops once the mini-cluster is gone
    stack_trace = _stack_trace(java)
    cause = root_cause(stack_trace)
    task = watch.final.task if watch.final and watch.final.cause == cause else None
    where = f" in {task}" if task else ""
    hint = failure_hint(stack_trace)
    return JobFailedError(
        f"job {watch.name!r} ({job_id}) failed{where}: {cause}\n"
        + (f"What to do: {hint}\n" if hint else "") +
        f"Flink's log of this process has every stack trace: {log_file()} "
        "(`pyflink-kinesis logs` prints its end)",
        job_id, str(cause))


def _raising_job_failures(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``, raising :class:`JobFailedError` for a watched job's failure."""
    try:
        return call(*args, **kwargs)
    except Exception as error:
        failed = job_failed_error(error)
        if failed is None:
            raise
        raise failed from error


def executing(execute: F) -> F:
    """Wrap ``StreamExecutionEnvironment.execute``: its job's failure raises JobFailedError."""

    @functools.wraps(execute)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with _State.lock:
            _State.executing += 1
        try:
            return _raising_job_failures(execute, *args, **kwargs)
        finally:
            with _State.lock:
                _State.executing -= 1

    return wrapped  # type: ignore[return-value]


def waiting(wait: F) -> F:
    """Wrap ``TableResult.wait``: its job's failure raises JobFailedError."""

    @functools.wraps(wait)
    def wrapped(table_result: Any, *args: Any, **kwargs: Any) -> Any:
        client = table_result.get_job_client()
        job_id = str(client.get_job_id()) if client is not None else ""
        with _State.lock:
            _State.waited_for.add(job_id)
        try:
            return _raising_job_failures(wait, table_result, *args, **kwargs)
        finally:
            with _State.lock:  # returned, or gave up after its timeout: print as usual
                _State.waited_for.discard(job_id)

    return wrapped  # type: ignore[return-value]
