"""Records in and out of a stream from the shell: ``pyflink-kinesis put`` and ``tail``.

:func:`kinesis_client` makes the boto3 client both commands use (an endpoint, region and
profile, else boto3's default chain; dummy credentials for a local server). :func:`put_lines`
writes lines as records with PutRecords, keeping each partition key's order through retries.
:func:`tail` reads every shard, a shard's children only after the shard itself, and takes KPL
aggregates apart. Every failure is a :class:`~pyflink_kinesis.errors.KinesisRecordsError` with a
one-line message. This module imports boto3 but never pyflink or py4j.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

import boto3
import botocore.config
import botocore.exceptions

from pyflink_kinesis import kpl
from pyflink_kinesis.config.endpoint import is_aws_host
from pyflink_kinesis.config.partition_keys import PARTITION_KEY_MAX_LENGTH, key_length
from pyflink_kinesis.config.values import stream_name_problem
from pyflink_kinesis.errors import KinesisRecordsError
from pyflink_kinesis.testing import DEFAULT_REGION

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import (
        PutRecordsRequestEntryTypeDef,
        RecordTypeDef,
        ShardTypeDef,
    )

__all__ = [
    "Connection",
    "PutSummary",
    "StartPosition",
    "TailRecord",
    "kinesis_client",
    "parse_start",
    "put_lines",
    "tail",
]

#: PutRecords takes at most 500 records and 5 MiB (data and partition keys) per request.
MAX_RECORDS_PER_PUT = 500
MAX_BYTES_PER_PUT = 5 * 1024 * 1024
#: A Kinesis record holds at most 1 MiB: data and partition key.
MAX_RECORD_BYTES = 1024 * 1024
# Records read ahead of the request being built: bounds the scan for keys already in it.
_READ_AHEAD = 4 * MAX_RECORDS_PER_PUT
# AWS serves 5 GetRecords per second and shard: tail asks a shard at most this often.
_SHARD_CALL_INTERVAL_S = 0.2
_DISCOVERY_INTERVAL_S = 1.0
# Providers of boto3's chain that ask a metadata service: pointless for a local server.
_METADATA_PROVIDERS = ("container-role", "iam-role")


# ----------------------------------------------------------------- the client


@dataclass(frozen=True)
class Connection:
    """Where the records are: ``endpoint`` (None: AWS), ``region`` and ``profile`` (None:
    boto3's default chain: ``AWS_REGION``, ``AWS_PROFILE``, the config files ...)."""

    endpoint: str | None = None
    region: str | None = None
    profile: str | None = None

    @property
    def is_local(self) -> bool:
        """True for an endpoint that is not AWS (kinesalite, kinesis-mock ...)."""
        return self.endpoint is not None and not is_aws_host(self.endpoint)

    def where(self, region: str) -> str:
        """How messages name the place: the endpoint, or AWS and the region."""
        return self.endpoint or f"AWS region {region}"


def kinesis_client(connection: Connection) -> tuple[KinesisClient, str]:
    """A Kinesis client for ``connection`` and the region it uses.

    Credentials come from ``profile`` or boto3's default chain; for a local endpoint with
    none found, dummy ones (local servers take any). Raises ``KinesisRecordsError`` for an
    unknown profile, a missing region or missing credentials (AWS only).
    """
    try:
        session = boto3.session.Session(
            profile_name=connection.profile, region_name=connection.region
        )
    except botocore.exceptions.ProfileNotFound as error:
        raise KinesisRecordsError(
            f"no AWS profile {connection.profile!r} in the AWS config files; give one they "
            f"have (aws configure list-profiles) or leave --profile out"
        ) from error
    region = session.region_name or (DEFAULT_REGION if connection.is_local else None)
    if region is None:
        raise KinesisRecordsError(
            "no AWS region: give --region (like us-east-1) or set AWS_REGION"
        )
    if connection.is_local:
        # botocore's resolver, reached through the private _session: boto3 has no public way.
        resolver = session._session.get_component("credential_provider")
        for name in _METADATA_PROVIDERS:
            resolver.remove(name)
    if session.get_credentials() is None:
        if not connection.is_local:
            raise KinesisRecordsError(
                "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "give --profile, or run where a role provides them"
            )
        session = boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name=region
        )
    config = botocore.config.Config(
        retries={"mode": "standard", "total_max_attempts": 3},
        connect_timeout=5,
        read_timeout=30,
    )
    client = session.client("kinesis", endpoint_url=connection.endpoint, config=config)
    return client, region


@contextlib.contextmanager
def _aws_errors(stream: str, where: str) -> Iterator[None]:
    """Turn boto3's errors into one-line ``KinesisRecordsError``s about ``stream``."""
    try:
        yield
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = _first_line(error.response.get("Error", {}).get("Message", "") or str(error))
        if code == "ResourceNotFoundException":
            raise KinesisRecordsError(
                f"stream {stream!r} does not exist at {where}; check the name, region and "
                f"endpoint, or create the stream"
            ) from error
        if code in ("UnrecognizedClientException", "InvalidSignatureException",
                    "ExpiredTokenException", "AccessDeniedException"):
            raise KinesisRecordsError(
                f"{where} refused the credentials ({code}): {message}"
            ) from error
        raise KinesisRecordsError(f"{code or 'error'} from {where}: {message}") from error
    except botocore.exceptions.NoCredentialsError as error:
        raise KinesisRecordsError(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, give "
            "--profile, or run where a role provides them"
        ) from error
    except (botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.ConnectTimeoutError,
            botocore.exceptions.ReadTimeoutError) as error:
        raise KinesisRecordsError(
            f"cannot reach {where}: {_first_line(str(error))}; is the server running "
            f"(pyflink-kinesis local-kinesis) and the endpoint right?"
        ) from error
    except botocore.exceptions.BotoCoreError as error:
        raise KinesisRecordsError(f"{where}: {_first_line(str(error))}") from error


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def check_stream_name(stream: str) -> None:
    """Raise ``KinesisRecordsError`` when ``stream`` cannot be a Kinesis stream name."""
    problem = stream_name_problem(stream)
    if problem is not None:
        raise KinesisRecordsError(problem)


def check_stream(client: KinesisClient, stream: str, where: str) -> None:
    """Raise ``KinesisRecordsError`` unless ``stream`` exists at ``where`` and can be reached."""
    with _aws_errors(stream, where):
        client.describe_stream_summary(StreamName=stream)


# ----------------------------------------------------------------- put

KeyOf = Callable[[str], str]


def random_key(text: str) -> str:
    """A new random partition key (a UUID) for every record: spreads them over the shards."""
    return str(uuid.uuid4())


def fixed_key(key: str) -> KeyOf:
    """The partition key ``key`` for every record (all go to one shard, in order)."""
    problem = _key_problem(key)
    if problem is not None:
        raise KinesisRecordsError(f"--key {problem}")
    return lambda text: key


def json_field_key(path: str) -> KeyOf:
    """The partition key from the JSON field ``path`` of each record (dotted for nested
    fields), as ``PartitionKeyGenerator.json_field`` reads it: strings as they are, numbers
    and booleans as JSON writes them, objects and arrays as compact JSON."""
    names = path.split(".")
    if "" in names:
        raise KinesisRecordsError(
            f"--key-field {path!r} has an empty field name; write a name (like customer) or "
            f"a dotted path (like order.customer)"
        )

    def key_of(text: str) -> str:
        try:
            value: object = json.loads(text)
        except ValueError:
            raise _LineProblem(f"is not JSON, so it has no field {path!r}") from None
        for name in names:
            if not isinstance(value, dict):
                raise _LineProblem(f"has no field {path!r} (a value on its path is not an object)")
            value = value.get(name)
            if value is None:
                raise _LineProblem(f"has no field {path!r}, or it is null")
        if isinstance(value, str):
            return value
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    return key_of


class _LineProblem(ValueError):
    """What is wrong with one input line (the caller adds which line)."""


def _key_problem(key: str) -> str | None:
    length = key_length(key)
    if 1 <= length <= PARTITION_KEY_MAX_LENGTH:
        return None
    return (
        f"is {length} characters long; Kinesis takes partition keys of 1 to "
        f"{PARTITION_KEY_MAX_LENGTH}"
    )


@dataclass
class PutSummary:
    """What ``put_lines`` did: records written, PutRecords requests, entries retried."""

    records: int = 0
    requests: int = 0
    retried: int = 0
    shards: set[str] = field(default_factory=set)


@dataclass(eq=False)
class _Pending:
    """A record waiting to be stored (compared by identity)."""

    line: int
    key: str
    data: bytes
    attempts: int = 0

    @property
    def size(self) -> int:
        return len(self.data) + len(self.key.encode("utf-8"))


def put_lines(
    client: KinesisClient,
    stream: str,
    lines: Iterable[bytes],
    key_of: KeyOf,
    *,
    where: str,
    max_attempts: int = 10,
    sleep: Callable[[float], None] = time.sleep,
) -> PutSummary:
    """Write each non-blank line of ``lines`` (UTF-8, line ends removed) as one record.

    Records go in PutRecords requests of at most 500 records and 5 MiB, each holding at most
    one record per partition key: Kinesis may store a request's records in any order when some
    fail, so a key's next record waits until the one before it is stored. A rejected entry is
    sent again (backing off) before any later record of its key, up to ``max_attempts`` times.
    Raises ``KinesisRecordsError`` for a line that cannot be a record (saying which, and how
    many records were written before), or a record still rejected.
    """
    summary = PutSummary()
    pending: list[_Pending] = []
    source = _records(lines, key_of)
    problem: KinesisRecordsError | None = None  # a bad line: reported once what precedes is put
    failures = 0  # requests in a row with rejected entries, for the backoff
    with _aws_errors(stream, where):
        while True:
            while problem is None and len(pending) < _READ_AHEAD:
                try:
                    pending.append(next(source))
                except StopIteration:
                    break
                except KinesisRecordsError as error:
                    problem = error
            if not pending:
                if problem is not None:
                    raise KinesisRecordsError(
                        f"{problem}; the {summary.records} records before it were put into "
                        f"{stream!r}"
                    )
                return summary
            request = _next_request(pending)
            entries: list[PutRecordsRequestEntryTypeDef] = [
                {"Data": record.data, "PartitionKey": record.key} for record in request
            ]
            response = client.put_records(StreamName=stream, Records=entries)
            summary.requests += 1
            stored: set[_Pending] = set()
            for record, result in zip(request, response["Records"]):
                if not result.get("ErrorCode"):
                    stored.add(record)
                    summary.shards.add(result["ShardId"])
                    continue
                record.attempts += 1
                if record.attempts >= max_attempts:
                    raise KinesisRecordsError(
                        f"the record of line {record.line} was rejected {record.attempts} "
                        f"times ({result['ErrorCode']}: {result.get('ErrorMessage', '')}); "
                        f"{summary.records + len(stored)} records were put into {stream!r}"
                    )
            pending = [record for record in pending if record not in stored]
            summary.records += len(stored)
            rejected = len(request) - len(stored)
            summary.retried += rejected
            failures = failures + 1 if rejected else 0
            if rejected:
                sleep(min(0.1 * 2 ** (failures - 1), 2.0))


def _records(lines: Iterable[bytes], key_of: KeyOf) -> Iterator[_Pending]:
    """The records of the input lines, numbered from 1; blank lines are skipped."""
    for number, raw in enumerate(lines, start=1):
        data = raw.rstrip(b"\r\n")
        if not data.strip():
            continue
        try:
            key = key_of(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise KinesisRecordsError(f"line {number} is not UTF-8 text") from None
        except _LineProblem as problem:
            raise KinesisRecordsError(f"line {number} {problem}") from None
        key_problem = _key_problem(key)
        if key_problem is not None:
            raise KinesisRecordsError(f"line {number}: its partition key {key_problem}")
        record = _Pending(number, key, data)
        if record.size > MAX_RECORD_BYTES:
            raise KinesisRecordsError(
                f"line {number} is {record.size:,} bytes with its key; a Kinesis record holds "
                f"at most {MAX_RECORD_BYTES:,}"
            )
        yield record


def _next_request(pending: list[_Pending]) -> list[_Pending]:
    """The records of the next request: in order, at most one per key, within the limits."""
    request: list[_Pending] = []
    keys: set[str] = set()
    size = 0
    for record in pending:
        if record.key in keys:
            continue
        if size + record.size > MAX_BYTES_PER_PUT:
            break
        request.append(record)
        keys.add(record.key)
        size += record.size
        if len(request) == MAX_RECORDS_PER_PUT:
            break
    return request


# ----------------------------------------------------------------- tail


@dataclass(frozen=True)
class StartPosition:
    """Where ``tail`` starts: TRIM_HORIZON, LATEST, or AT_TIMESTAMP and ``timestamp``."""

    kind: str
    timestamp: datetime | None = None


def parse_start(text: str) -> StartPosition:
    """``TRIM_HORIZON``, ``LATEST``, an ISO 8601 time (UTC unless it has an offset) or epoch
    seconds; raises ``KinesisRecordsError`` for anything else."""
    if text.upper() in ("TRIM_HORIZON", "LATEST"):
        return StartPosition(text.upper())
    try:
        moment = datetime.fromtimestamp(float(text), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise KinesisRecordsError(
                f"--from {text!r} is not TRIM_HORIZON, LATEST, an ISO 8601 time (like "
                f"2024-05-01T12:00:00Z) or epoch seconds (like 1714564800)"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
    return StartPosition("AT_TIMESTAMP", moment)


@dataclass(frozen=True)
class TailRecord:
    """One user record as ``tail`` prints it; ``sub_sequence_number`` is its place in a KPL
    aggregate (None for a plain record)."""

    data: bytes
    partition_key: str
    sequence_number: str
    sub_sequence_number: int | None
    shard_id: str
    arrival: datetime

    def text(self) -> str:
        """The data as text: UTF-8 as it is, anything else as base64."""
        return self._decoded()[0]

    def json(self) -> str:
        """One line of JSON: data (with its encoding), partition key, sequence number, shard,
        arrival time (ISO 8601, UTC) and, for a record of an aggregate, its sub-sequence."""
        data, encoding = self._decoded()
        fields: dict[str, object] = {
            "data": data,
            "encoding": encoding,
            "partition_key": self.partition_key,
            "sequence_number": self.sequence_number,
            "shard": self.shard_id,
            "arrival": self.arrival.astimezone(timezone.utc).isoformat(timespec="milliseconds"),
        }
        if self.sub_sequence_number is not None:
            fields["sub_sequence_number"] = self.sub_sequence_number
        return json.dumps(fields, ensure_ascii=False)

    def _decoded(self) -> tuple[str, str]:
        try:
            return self.data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return base64.b64encode(self.data).decode("ascii"), "base64"


@dataclass
class _Shard:
    shard_id: str
    parents: tuple[str, ...]
    start: str  # the ShardIteratorType of its first iterator
    iterator: str | None = None
    finished: bool = False
    next_call: float = 0.0


class _Tail:
    """The shards of one stream as ``tail`` reads them."""

    def __init__(
        self, client: KinesisClient, stream: str, start: StartPosition,
        clock: Callable[[], float],
    ) -> None:
        self._client, self._stream, self._start, self._clock = client, stream, start, clock
        self._shards: dict[str, _Shard] = {}
        self._next_discovery = 0.0

    def discover(self) -> None:
        """List the stream's shards and add those not seen before.

        With LATEST, shards closed when tail starts are done (nothing can arrive in them) and
        shards that appear later (children of a reshard) are read from their start.
        """
        first = not self._shards
        for shard in self._list_shards():
            shard_id = shard["ShardId"]
            if shard_id in self._shards:
                continue
            named = (shard.get("ParentShardId"), shard.get("AdjacentParentShardId"))
            parents = tuple(parent for parent in named if parent)
            start = self._start.kind
            if start == "LATEST" and not first:
                start = "TRIM_HORIZON"
            closed = "EndingSequenceNumber" in shard.get("SequenceNumberRange", {})
            finished = first and closed and start == "LATEST"
            self._shards[shard_id] = _Shard(shard_id, parents, start, finished=finished)
        self._next_discovery = self._clock() + _DISCOVERY_INTERVAL_S

    def _list_shards(self) -> list[ShardTypeDef]:
        response = self._client.list_shards(StreamName=self._stream)
        shards = list(response["Shards"])
        while response.get("NextToken"):
            response = self._client.list_shards(NextToken=response["NextToken"])
            shards.extend(response["Shards"])
        return shards

    def discovery_due(self) -> bool:
        return self._clock() >= self._next_discovery

    def readable(self) -> list[_Shard]:
        """Unfinished shards whose parents are read to the end (or gone, or never seen)."""
        return [
            shard for shard in self._shards.values()
            if not shard.finished and all(
                parent not in self._shards or self._shards[parent].finished
                for parent in shard.parents
            )
        ]

    def read(self, shard: _Shard) -> list[TailRecord]:
        """One GetRecords of ``shard``: its user records; marks the shard finished at its end."""
        if shard.iterator is None:
            shard.iterator = self._first_iterator(shard)
        response = self._client.get_records(ShardIterator=shard.iterator, Limit=10000)
        shard.next_call = self._clock() + _SHARD_CALL_INTERVAL_S
        shard.iterator = response.get("NextShardIterator")
        if shard.iterator is None:
            shard.finished = True
            self._next_discovery = 0.0  # look for its children now
        return [user for record in response["Records"]
                for user in _user_records(record, shard.shard_id)]

    def _first_iterator(self, shard: _Shard) -> str:
        if shard.start == "AT_TIMESTAMP":
            assert self._start.timestamp is not None
            response = self._client.get_shard_iterator(
                StreamName=self._stream, ShardId=shard.shard_id, ShardIteratorType="AT_TIMESTAMP",
                Timestamp=self._start.timestamp,
            )
        else:
            response = self._client.get_shard_iterator(
                StreamName=self._stream, ShardId=shard.shard_id,
                ShardIteratorType=shard.start,  # type: ignore[arg-type]
            )
        return response["ShardIterator"]

    def wait_s(self, shards: Sequence[_Shard]) -> float:
        """How long until one of ``shards`` may be asked again (0 when one may now)."""
        now = self._clock()
        return max(0.0, min((shard.next_call for shard in shards), default=now) - now)


def _user_records(record: RecordTypeDef, shard_id: str) -> Iterator[TailRecord]:
    data = bytes(record["Data"])
    arrival = record["ApproximateArrivalTimestamp"]
    try:
        users = kpl.unpack(data)
    except kpl.KplFormatError:
        users = None  # shown as the Kinesis record it is
    if users is None:
        yield TailRecord(data, record["PartitionKey"], record["SequenceNumber"], None,
                         shard_id, arrival)
        return
    for index, user in enumerate(users):
        yield TailRecord(user.data, user.partition_key, record["SequenceNumber"], index,
                         shard_id, arrival)


def tail(
    client: KinesisClient,
    stream: str,
    start: StartPosition,
    emit: Callable[[TailRecord], None],
    *,
    where: str,
    count: int | None = None,
    timeout_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Read ``stream`` from ``start`` and hand each user record to ``emit``; return how many.

    Every shard is read, a child only after its parents are read to the end, so a key's
    records come in the order they were written, also across a reshard; new shards are
    found every second. Stops after ``count`` records, or when ``timeout_s`` ends (raising
    ``KinesisRecordsError`` when ``count`` was not reached), else runs until interrupted.
    """
    deadline = None if timeout_s is None else clock() + timeout_s
    emitted = 0
    reader = _Tail(client, stream, start, clock)
    with _aws_errors(stream, where):
        while count is None or emitted < count:
            if reader.discovery_due():
                reader.discover()
            shards = reader.readable()
            due = [shard for shard in shards if shard.next_call <= clock()]
            for shard in due:
                for record in reader.read(shard):
                    emit(record)
                    emitted += 1
                    if count is not None and emitted >= count:
                        return emitted
            if deadline is not None and clock() >= deadline:
                if count is None:
                    return emitted
                raise KinesisRecordsError(
                    f"timed out after {timeout_s:g} s with {emitted} of {count} records from "
                    f"{stream!r}"
                )
            if not due:
                pause = reader.wait_s(shards) if shards else _SHARD_CALL_INTERVAL_S
                if deadline is not None:
                    pause = min(pause, max(0.0, deadline - clock()))
                sleep(max(pause, 0.01))
    return emitted
