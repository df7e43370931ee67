"""The errors pyflink_kinesis raises: one hierarchy, rooted at :class:`KinesisError`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence


class KinesisError(Exception):
    """Base class of every error this package raises; catch it to catch them all."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a config: the key (or setting) it is about and what is wrong.

    The message never contains a secret value: secrets are shown as ``****``.
    """

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key!r}: {self.message}"


class KinesisConfigError(KinesisError, ValueError):
    """A config or a builder's settings are invalid; ``problems`` lists every problem found.

    Validation collects all problems before raising, so one run reports them all. ``str()``
    is a readable report with one line per problem.
    """

    def __init__(self, problems: Iterable[ConfigProblem], subject: str = "config") -> None:
        self.problems = tuple(problems)
        self.subject = subject
        super().__init__(self.report())

    def report(self) -> str:
        """The multi-line report ``str()`` returns."""
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{count} {noun} in the {self.subject}:"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def __repr__(self) -> str:
        return f"KinesisConfigError(subject={self.subject!r}, problems={self.problems!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.problems, self.subject))


class KinesisConfigWarning(UserWarning):
    """A config that works, but probably not as meant (the message says what Java will do)."""


class JarResolutionError(KinesisError, RuntimeError):
    """The connector jars could not be found, fetched or verified.

    The message says which jar, where it was looked for and how to provide it (for example a
    directory in ``PYFLINK_KINESIS_JARS_DIR``, or network access to Maven Central).
    """


class UnsupportedFlinkVersionError(JarResolutionError):
    """The installed PyFlink version has no pinned Kinesis connector release.

    Install an ``apache-flink`` version this package supports, or point
    ``PYFLINK_KINESIS_JARS_DIR`` at jars built for your Flink version.
    """


class AvroSchemaError(KinesisConfigError):
    """An Avro schema given to :class:`~pyflink_kinesis.schemas.AvroDeserializationSchema` is
    unusable: unreadable file, invalid JSON, invalid schema, or a Java record class that cannot
    be loaded. ``problems`` names each place in the schema that is wrong and what to do.
    """

    def __init__(self, problems: Iterable[ConfigProblem], subject: str = "Avro schema") -> None:
        super().__init__(problems, subject)


class StreamCheckError(KinesisError):
    """:func:`~pyflink_kinesis.check_streams` found streams a job could not read.

    ``problems`` lists them: one per stream (missing, not ACTIVE, credentials rejected), or one
    for ``aws.endpoint`` when Kinesis cannot be reached. No secret appears in the message.
    """

    def __init__(self, problems: Sequence[ConfigProblem], where: str) -> None:
        self.problems = tuple(problems)
        lines = [f"{len(self.problems)} stream problem(s) at {where}:"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


class KinesisRecordsError(KinesisError):
    """``pyflink-kinesis put`` or ``tail`` could not write or read records.

    The message is one line saying why (endpoint unreachable, stream missing, credentials
    missing or refused, an input line that cannot be a record ...) and what to do.
    """


class PythonWorkerError(KinesisError, RuntimeError):
    """A local job's Python workers cannot start with the interpreter ``python.executable``
    names (missing, or without PyFlink or this package); raised before the job is submitted.

    The message names the interpreter, what it lacks, and the ways out.
    """


class JobFailedError(KinesisError, RuntimeError):
    """A job started from Python failed: raised by ``env.execute()`` and ``TableResult.wait()``
    in place of py4j's error, which is kept as ``__cause__`` (its Java stack trace is shown
    first, this message last).

    ``str()`` names the job, the task that failed, the root cause (Java exception class and
    message) and Flink's log file, where every stack trace of the job is.
    """

    def __init__(self, message: str, job_id: str, cause: str) -> None:
        super().__init__(message)
        self.job_id = job_id
        #: The root cause, ``<Java exception class>: <message>``.
        self.cause = cause

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.job_id, self.cause))
