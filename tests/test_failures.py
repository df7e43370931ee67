"""pyflink_kinesis.failures without a JVM: causes read from Java stack traces, the exception
history read from REST answers, and which failures a watch prints.

A real job's failures are shown end to end in tests/e2e/test_first_run.py. Here the
mini-cluster's REST answers are played back (``_get`` replaced): the order in which a real one
gives them (a failure seen before or after the job's state changes, the cluster gone before the
last failure is read) happens there only by chance.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from pyflink_kinesis import failures
from pyflink_kinesis.failures import Cause, Failure, failure_hint, root_cause

TYPO = (
    "org.apache.flink.runtime.taskmanager.AsynchronousException: Caught exception while "
    "processing timer.\n"
    "\tat org.apache.flink.streaming.runtime.tasks.StreamTask.handleAsync(StreamTask.java:1)\n"
    "Caused by: TimerException{org.apache.flink.streaming.runtime.tasks."
    "ExceptionInChainedOperatorException: Could not forward element to next operator}\n"
    "\t... 15 more\n"
    "Caused by: org.apache.flink.streaming.runtime.tasks.ExceptionInChainedOperatorException: "
    "Could not forward element to next operator\n"
    "\tat org.apache.flink.streaming.runtime.tasks.ChainingOutput.push(ChainingOutput.java:1)\n"
    "\tSuppressed: java.lang.IllegalStateException: while closing\n"
    "\t\tat a.B.c(B.java:1)\n"
    "Caused by: java.lang.IllegalArgumentException: json_field('customr') has no partition key\n"
    "\tat io.pyflinkkinesis.FieldPartitionKeyGenerator.apply(FieldPartitionKeyGenerator.java:1)\n"
    "\t... 23 more\n"
)
NO_PYFLINK = (
    "java.io.IOException: Failed to execute the command: python -c import pyflink\n"
    "output: Traceback (most recent call last):\n"
    '  File "<string>", line 1, in <module>\n'
    "ModuleNotFoundError: No module named 'pyflink'\n"
    "\n"
    "\tat org.apache.flink.python.util.PythonEnvironmentManagerUtils.execute(P.java:1)\n"
)
NO_PYTHON = (
    "java.lang.RuntimeException: Failed to create stage bundle factory!\n"
    "\tat a.B.c(B.java:1)\n"
    'Caused by: java.io.IOException: Cannot run program "python": error=2, No such file\n'
    "\tat java.lang.ProcessBuilder.start(ProcessBuilder.java:1)\n"
    "Caused by: java.io.IOException: error=2, No such file\n"
    "\t... 30 more\n"
)
WRAPPED = (
    "java.lang.RuntimeException: java.lang.IllegalStateException: boom\n"
    "\tat a.B.c(B.java:1)\n"
    "Caused by: java.lang.IllegalStateException: boom\n"
    "\t... 3 more\n"
)


def test_the_root_cause_is_the_last_caused_by_not_a_suppressed_one() -> None:
    assert root_cause(TYPO) == Cause("java.lang.IllegalArgumentException",
                                     "json_field('customr') has no partition key")


def test_a_message_of_many_lines_is_kept_whole() -> None:
    cause = root_cause(NO_PYFLINK)
    assert cause.exception == "java.io.IOException"
    assert cause.message.splitlines()[-1] == "ModuleNotFoundError: No module named 'pyflink'"


def test_an_exception_that_adds_to_its_causes_message_is_shown_instead() -> None:
    assert str(root_cause(NO_PYTHON)) == (
        'java.io.IOException: Cannot run program "python": error=2, No such file')


def test_an_exception_that_only_wraps_its_cause_is_not() -> None:
    assert root_cause(WRAPPED) == Cause("java.lang.IllegalStateException", "boom")


def entry(stacktrace: str, task: str | None, timestamp: int) -> dict[str, Any]:
    """An entry of Flink's exception history as ``/jobs/<id>/exceptions`` gives it."""
    return {"exceptionName": stacktrace.split(":", 1)[0], "stacktrace": stacktrace,
            "timestamp": timestamp, "taskName": task, "failureLabels": {},
            "location": "localhost:-1", "concurrentExceptions": []}


def history(*entries: dict[str, Any]) -> dict[str, Any]:
    """A ``/jobs/<id>/exceptions`` answer: newest entry first, as Flink orders them."""
    ordered = sorted(entries, key=lambda e: e["timestamp"], reverse=True)
    return {"root-exception": None, "all-exceptions": [], "truncated": False,
            "exceptionHistory": {"entries": ordered, "truncated": False}}


def test_failures_come_oldest_first_with_the_task_without_its_attempt() -> None:
    found = failures.failures(history(entry(TYPO, "Sink: Writer (2/2) - execution #1", 20),
                                      entry(NO_PYFLINK, None, 10)))
    assert [(f.task, f.timestamp) for f in found] == [(None, 10), ("Sink: Writer (2/2)", 20)]


def test_failures_flink_grouped_with_another_are_failures_too() -> None:
    grouped = entry(TYPO, "Sink: Writer (1/2) - execution #0", 20)
    grouped["concurrentExceptions"] = [entry(NO_PYFLINK, "Map (2/2) - execution #0", 21)]
    found = failures.failures(history(grouped))
    assert [(f.task, f.timestamp) for f in found] == [("Sink: Writer (1/2)", 20), ("Map (2/2)", 21)]


def test_a_cause_is_new_for_another_operator_not_another_subtask() -> None:
    cause = root_cause(TYPO)
    one, two, other = (Failure(cause, task, 0) for task in
                       ("Sink: Writer (1/2)", "Sink: Writer (2/2)", "Map (1/2)"))
    assert one.key() == two.key() != other.key()


def test_a_long_cause_keeps_its_first_and_last_lines() -> None:
    """(A Python traceback in a Java message ends with the exception.)"""
    failure = Failure(Cause("E", "\n".join(f"line {i}" for i in range(100))), "Map (1/1)", 0)
    lines = failure.describe("job", restarting=True).splitlines()
    assert lines[0] == "job 'job' failed in Map (1/1), restarting:"
    assert lines[1:3] == ["    E: line 0", "    line 1"]
    assert lines[10:13] == ["    line 9", "    ... (70 lines more in the log)", "    line 80"]
    assert lines[-1] == "    line 99"
    assert len(lines) == 1 + 10 + 1 + 20


class Result:
    """A JobClient's ``getJobExecutionResult()`` future."""

    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def isDone(self) -> bool:
        return True

    def get(self) -> None:
        if self.error is not None:
            raise self.error


class Client:
    def __init__(self, error: Exception | None = None) -> None:
        self.result = Result(error)

    def getJobExecutionResult(self) -> Result:
        return self.result


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """REST answers to play back, in order: a history, then a job, ...; OSError once gone."""
    played: list[Any] = []

    def get(url: str) -> dict[str, Any]:
        if not played:
            raise OSError("connection refused")
        answer = played.pop(0)
        assert url.endswith("/exceptions?maxExceptions=20") == ("exceptionHistory" in answer)
        return answer  # type: ignore[no-any-return]

    monkeypatch.setattr(failures, "_get", get)
    monkeypatch.setattr(failures, "POLL_S", 0)
    monkeypatch.setattr(failures._State, "log_file", "/logs/flink.log")
    yield played


def job(state: str) -> dict[str, Any]:
    return {"name": "orders", "state": state}


def watch(client: Client, executed: bool = False) -> failures._Watch:
    watching = failures._Watch("0" * 32, "http://localhost:1", client, executed)
    watching.run()
    return watching


def test_each_new_cause_is_printed_once_and_the_log_with_the_first(
    answers: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    typo = entry(TYPO, "Sink: Writer (1/2) - execution #0", 1)
    again = entry(TYPO, "Sink: Writer (2/2) - execution #1", 2)
    other = entry(NO_PYFLINK, "Map (1/2) - execution #2", 3)
    answers += [history(), job("RUNNING"),
                history(typo), job("RESTARTING"),
                history(typo, again), job("RUNNING"),
                history(typo, again, other), job("RESTARTING"),
                history(typo, again, other), job("CANCELED")]
    assert watch(Client()).final is None
    assert capsys.readouterr().err.splitlines() == [
        "pyflink-kinesis: job 'orders' failed in Sink: Writer (1/2), restarting:",
        "    java.lang.IllegalArgumentException: json_field('customr') has no partition key",
        "pyflink-kinesis: the job's full log: /logs/flink.log",
        "pyflink-kinesis: job 'orders' failed in Map (1/2), restarting:",
        "    java.io.IOException: Failed to execute the command: python -c import pyflink",
        "    output: Traceback (most recent call last):",
        '      File "<string>", line 1, in <module>',
        "    ModuleNotFoundError: No module named 'pyflink'",
    ]


def test_the_failure_that_ends_a_job_is_printed_unless_a_blocking_call_raises_it(
    answers: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    restart, last = entry(NO_PYFLINK, "Map (1/1)", 1), entry(TYPO, "Sink: Writer (1/1)", 2)
    played = [history(restart), job("RESTARTING"), history(restart, last), job("FAILING")]
    answers += played
    nobody_waits = watch(Client())
    assert nobody_waits.final is not None and nobody_waits.final.task == "Sink: Writer (1/1)"
    printed = capsys.readouterr().err
    assert "failed in Map (1/1), restarting:" in printed
    assert "pyflink-kinesis: job 'orders' failed in Sink: Writer (1/1):\n" in printed

    answers += played
    execute_waits = watch(Client(), executed=True)
    assert execute_waits.final == nobody_waits.final
    assert "failed in Sink: Writer (1/1):" not in capsys.readouterr().err


def test_a_job_that_failed_between_two_reads_is_reported_from_its_result(
    answers: list[Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers += [history(), job("RUNNING")]  # then the mini-cluster is gone
    monkeypatch.setattr(failures, "_find", lambda throwable, name: throwable)
    monkeypatch.setattr(failures, "_stack_trace", lambda throwable: TYPO)
    error = Exception("py4j")
    error.java_exception = object()  # type: ignore[attr-defined]
    final = watch(Client(error)).final
    assert final == Failure(root_cause(TYPO), None, 0)
    assert "pyflink-kinesis: job 'orders' failed:\n    java.lang.IllegalArgumentException" in (
        capsys.readouterr().err)


_SDK = "org.apache.flink.kinesis.shaded.software.amazon.awssdk"


@pytest.mark.parametrize(
    ("stack_trace", "names"),
    [
        (f"{_SDK}.core.exception.SdkClientException: Profile file contained no credentials for "
         f"profile 'absent': ProfileFile(...)", "PROFILE"),
        ("java.lang.IllegalStateException: Profile file '/tmp/none' does not exist.", "PROFILE"),
        (f"java.io.UncheckedIOException: java.nio.file.NoSuchFileException: /run/token\n"
         f"\tat {_SDK}.auth.credentials.WebIdentityTokenFileCredentialsProvider.resolve"
         f"Credentials(WebIdentityTokenFileCredentialsProvider.java:1)\n"
         f"Caused by: java.nio.file.NoSuchFileException: /run/token", "WEB_IDENTITY_TOKEN"),
        (f"{_SDK}.services.sts.model.StsException: User: arn:aws:iam::1:user/u is not "
         f"authorized to perform: sts:AssumeRole on resource: arn:aws:iam::1:role/r "
         f"(Service: Sts, Status Code: 403)", "ASSUME_ROLE"),
        (f"{_SDK}.services.kinesis.model.KinesisException: The security token included in the "
         f"request is expired (Service: Kinesis, Status Code: 400)", "expired"),
        ("java.lang.IllegalArgumentException: Invalid AWS Credential Provider Type set in "
         "config. Valid values are: ENV_VAR, SYS_PROP, PROFILE, ", "drops its cause"),
        (f"{_SDK}.core.exception.SdkClientException: Unable to load credentials from any of the "
         f"providers in the chain AwsCredentialsProviderChain(...)", "AUTO"),
    ],
)
def test_credential_failures_get_a_hint_naming_the_provider(stack_trace: str, names: str) -> None:
    hint = failure_hint(stack_trace)
    assert hint is not None and names in hint
    failure = Failure(root_cause(stack_trace), None, 0, hint)
    assert f"what to do: {hint}" in failure.describe("orders", restarting=False)


def test_other_failures_and_files_get_no_failure_hint() -> None:
    assert failure_hint(TYPO) is None
    assert failure_hint("java.nio.file.NoSuchFileException: /data/input.csv") is None


def test_an_untrusted_certificate_is_shown_with_what_to_do() -> None:
    cause = Cause("sun.security.provider.certpath.SunCertPathBuilderException",
                  "unable to find valid certification path to requested target")
    failure = Failure(cause, "Sink: Writer (1/1)", 0, failure_hint(f"{cause}\n\tat ..."))
    lines = failure.describe("job", restarting=False).splitlines()
    assert lines[1] == f"    {cause}"
    assert lines[2].startswith(
        "    what to do: an endpoint's TLS certificate is not trusted by the JVM; ")
    assert len(lines) == 3
