"""The ``pyflink-kinesis`` command: jars, the configuration reference, a local Kinesis, records
in and out, bundles, a job's IAM policy, and where a job's Flink log is.

``pyflink-kinesis --help`` lists the commands; each has its own ``--help``. Exit status: 0 on
success, 1 when the command could not do its work (one line on stderr says why; ``--debug``
adds the traceback), 2 for a command line it cannot read, 130 when interrupted with Ctrl-C.
``python -m pyflink_kinesis`` is the same command. A new command is a function that adds its
parser with :func:`_command` and a handler that returns the exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from pyflink_kinesis import logs
from pyflink_kinesis.errors import KinesisError

_Handler = Callable[[argparse.Namespace], int]


class CommandError(KinesisError):
    """A command was given something it cannot work with; the message says what to give."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = _parse(_parser(), argv)
    handler: _Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``tail | head``): nothing is wrong. Python would
        # complain when it flushes stdout at exit, so stdout goes to /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if args.debug:
            raise
        print(f"pyflink-kinesis {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 1


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``, also with an optional positional after options (``put STREAM --key K
    FILE``), which argparse alone leaves unrecognized."""
    args, extra = parser.parse_known_args(argv)
    late = getattr(args, "late_positional", None)
    if late is not None and getattr(args, late) is None and len(extra) == 1 and (
        not extra[0].startswith("-") or extra[0] == "-"
    ):
        setattr(args, late, Path(extra[0]))
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line: its first line, then the items of a problem list
    (lines starting ``- ``) joined by ``; ``. Other lines (a server log) are left to --debug.
    An error that is none of ours (or an OSError) is named by its type."""
    first, *rest = str(exc).strip().splitlines() or [type(exc).__name__]
    items = [line.strip()[2:] for line in rest if line.strip().startswith("- ")]
    text = " ".join([first, "; ".join(items)]) if items else first
    if len(rest) > len(items):
        text += " (--debug shows the rest)"
    if isinstance(exc, (KinesisError, OSError)):
        return text
    return f"{type(exc).__name__}: {text}"


def _command(
    commands: Any, name: str, *, help: str, description: str, handler: _Handler | None = None
) -> argparse.ArgumentParser:
    """Add the subcommand ``name``: its parser (with ``--debug``), run by ``handler``."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help, description=description, parents=[_common()]
    )
    if handler is not None:
        parser.set_defaults(handler=handler)
    return parser


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="on an error, show the traceback too")
    return common


def _connection_options(parser: argparse.ArgumentParser) -> None:
    """``--endpoint``, ``--region`` and ``--profile``, as ``put`` and ``tail`` take them."""
    parser.add_argument("--endpoint", metavar="URL",
                        help="a Kinesis-compatible server, like http://localhost:4567 (default: "
                        "AWS)")
    parser.add_argument("--region", metavar="NAME",
                        help="the AWS region, like us-east-1 (default: AWS_REGION or the "
                        "profile's; us-east-1 for a local --endpoint)")
    parser.add_argument("--profile", metavar="NAME",
                        help="a profile of the AWS config files (default: AWS_PROFILE, else "
                        "boto3's chain: environment, config files, role)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyflink-kinesis",
        description="Amazon Kinesis for PyFlink: the connector's jars, the configuration "
        "reference, a local Kinesis for development, records in and out of a stream, and "
        "bundles for Managed Service for Apache Flink.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_jars, _add_config, _add_local_kinesis, _add_put, _add_tail, _add_bundle,
                _add_iam_policy, _add_docs, _add_logs):
        add(commands)
    return parser


def _add_jars(commands: Any) -> None:
    jars = commands.add_parser(
        "jars", help="the connector jars: where they are, fetch them, verify them",
        description="The connector jars for the installed PyFlink (pinned in the package's "
        "manifest with their sha256), and our own Java classes.")
    jar_commands = jars.add_subparsers(dest="jars_command", required=True, metavar="ACTION")
    path = _command(jar_commands, "path", help="print the jar paths a job uses, one a line",
                    description="Print the jars a job of this installation uses, one a line.",
                    handler=_jars)
    path.add_argument("--extra", action="append", default=[], metavar="NAME",
                      help="also an optional jar set (glue, firehose); repeatable")
    fetch = _command(jar_commands, "fetch", help="download the jars (checked by sha256)",
                     description="Download the pinned jars and check their sha256.",
                     handler=_jars)
    fetch.add_argument("--dest", type=Path, default=None,
                       help="where to put them (default: the download cache)")
    fetch.add_argument("--maven", action="store_true", help="fetch with mvn dependency:copy")
    fetch.add_argument("--extra", action="append", default=[], metavar="NAME",
                       help="also an optional jar set (glue, firehose); repeatable")
    _command(jar_commands, "verify", help="check the sha256 of every jar a job uses",
             description="Check the sha256 of every jar a job uses against the manifest.",
             handler=_jars)


def _add_config(commands: Any) -> None:
    config = _command(
        commands, "config", help="the configuration reference: every key, or the keys named",
        description="Every key of the consumer config, the sink and SQL tables, with type, "
        "default, allowed values and meaning (Markdown). Name keys to see only those.",
        handler=_config)
    config.add_argument("keys", nargs="*", metavar="KEY", help="e.g. flink.stream.initpos")


def _add_local_kinesis(commands: Any) -> None:
    local = _command(
        commands, "local-kinesis", help="run a local Kinesis-compatible server until Ctrl-C",
        description="Start the pinned local Kinesis server (kinesalite, patched as the tests "
        "run it; or kinesis-mock for enhanced fan-out and UpdateShardCount), print its endpoint "
        "and the config to paste into a job, and stop it on Ctrl-C. Needs Node.js; the server "
        "is installed with npm on first use (pinned by the package's lock file).",
        handler=_local_kinesis)
    local.add_argument("--server", choices=("kinesalite", "kinesis-mock"), default="kinesalite",
                       help="kinesalite (default: fast, with --aws-quotas) or kinesis-mock "
                       "(enhanced fan-out, UpdateShardCount)")
    local.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 for containers)")
    local.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    local.add_argument("--region", default="us-east-1",
                       help="the region in the streams' ARNs, which clients must use (default "
                       "us-east-1)")
    local.add_argument("--stream", action="append", default=[], metavar="NAME[:SHARDS]",
                       help="create a stream (1 shard unless given); repeatable")
    local.add_argument("--aws-quotas", action="store_true",
                       help="enforce AWS's per-shard quotas (provisioned mode): writes 1,000 "
                       "records/s and 1 MiB/s, reads 5 GetRecords/s and 2 MiB/s; kinesalite only")
    local.add_argument("--quota", action="append", default=[], metavar="NAME=VALUE",
                       help="enforce quotas with this limit changed (implies --aws-quotas); NAME "
                       "is write_records_per_s, write_bytes_per_s, read_calls_per_s or "
                       "read_bytes_per_s; repeatable")


def _add_put(commands: Any) -> None:
    put = _command(
        commands, "put", help="put lines from a file or stdin into a stream, one record each",
        description="Put each non-blank line of FILE (or of stdin) into STREAM as one record "
        "(UTF-8), with PutRecords in requests of up to 500 records and 5 MiB. Rejected records "
        "are sent again, a partition key's records always in their order. Prints a one-line "
        "summary on stderr.",
        handler=_put)
    put.add_argument("stream", metavar="STREAM", help="the stream to write to")
    put.add_argument("file", metavar="FILE", nargs="?", type=Path,
                     help="the lines to put (default: stdin; - is stdin too)")
    put.set_defaults(late_positional="file")
    keys = put.add_mutually_exclusive_group()
    keys.add_argument("--key-field", metavar="PATH",
                      help="partition key from this field of each line's JSON object; dotted "
                      "for nested fields (order.customer)")
    keys.add_argument("--key", metavar="KEY",
                      help="this partition key for every record (one shard, in order)")
    _connection_options(put)


def _add_tail(commands: Any) -> None:
    tail = _command(
        commands, "tail", help="print the records of a stream as they come, like kcat -C",
        description="Print each record of STREAM on a line: every shard, a shard's children "
        "only after the shard is read to its end (so a key's records print in order across a "
        "reshard), KPL aggregates taken apart, new shards followed. Runs until Ctrl-C, "
        "--count records or --timeout.",
        handler=_tail)
    tail.add_argument("stream", metavar="STREAM", help="the stream to read")
    tail.add_argument("--from", dest="start", default="LATEST", metavar="POSITION",
                      help="TRIM_HORIZON (the oldest record kept), LATEST (what comes next; "
                      "the default), or a time: ISO 8601 (UTC unless it has an offset) or "
                      "epoch seconds")
    tail.add_argument("--format", choices=("text", "json"), default="text",
                      help="text: the data (base64 when it is not UTF-8); json: one object a "
                      "line with data, encoding, partition_key, sequence_number, shard, "
                      "arrival (default: text)")
    tail.add_argument("--count", type=_positive_int, metavar="N",
                      help="stop after N records (exit 0)")
    tail.add_argument("--timeout", type=_positive_float, metavar="SECONDS",
                      help="stop after SECONDS: exit 1 if --count records have not come by "
                      "then, else 0")
    _connection_options(tail)


def _add_bundle(commands: Any) -> None:
    bundle = _command(
        commands, "bundle", help="make the zip of a Managed Service for Apache Flink Python "
        "application",
        description="Make the zip a Managed Service for Apache Flink (runtime FLINK-1_20) "
        "Python application runs: the script and its local modules, pyflink_kinesis and the "
        "Python packages the service lacks, and one jar under lib/. Prints the property group "
        "to set on the application.",
        handler=_bundle)
    bundle.add_argument("script", type=Path, help="the job's Python script")
    bundle.add_argument("-o", "--output", type=Path, required=True, help="the zip to write")
    bundle.add_argument("--extra", action="append", default=[], metavar="NAME",
                        help="add an optional jar set to the jar (glue, firehose); repeatable")
    bundle.add_argument("--include", action="append", default=[], metavar="PATH",
                        help="add a file or folder beside the script; repeatable")
    bundle.add_argument("--json", action="store_true",
                        help="print only the property groups, as CreateApplication JSON")


def _add_iam_policy(commands: Any) -> None:
    policy = _command(
        commands, "iam-policy", help="print the least-privilege IAM policy of a job's readers "
        "and writers",
        description="Print the IAM policy (JSON) a job's role needs: for each reader and "
        "writer the job describes, exactly the calls the connector makes, on its stream, EFO "
        "consumer, Firehose delivery stream and Glue registry. 'pyflink-kinesis docs deploy' "
        "shows the description's format.",
        handler=_iam_policy)
    policy.add_argument("description", type=Path,
                        help="the job's readers and writers (JSON)")
    policy.add_argument("--properties", type=Path, metavar="FILE",
                        help="the application's runtime properties (application_properties"
                        ".json), for entries that name a property group")
    policy.add_argument("--account", metavar="ID",
                        help="the AWS account of streams given by name (default: the "
                        "description's account)")


def _add_docs(commands: Any) -> None:
    docs = _command(
        commands, "docs", help="print a page of the documentation (without TOPIC: list them)",
        description="Print a page of pyflink-kinesis's documentation (Markdown), as installed "
        "with the package. Without TOPIC, list the topics.",
        handler=_docs)
    docs.add_argument("topic", nargs="?", metavar="TOPIC", help="e.g. sink, or readme")


def _add_logs(commands: Any) -> None:
    parser = _command(
        commands, "logs", help="where Flink's log of a job is, and its end",
        description="Print the path of Flink's log of the newest job on this machine (or of "
        "process PID), whose it is, and its last lines. Flink writes every failure's full "
        "stack trace there. Each process that imported pyflink_kinesis before PyFlink started "
        "has a file of its own; the directory is shared by every PyFlink process.",
        handler=logs.run_command)
    parser.add_argument("-n", "--lines", type=_positive_int, default=40,
                        help="how many lines of its end to print (default 40)")
    parser.add_argument("--pid", type=_positive_int, default=None,
                        help="the log of this process")
    parser.add_argument("--path", action="store_true", help="print only the file's path")
    parser.add_argument("--list", action="store_true",
                        help="list every log in the directory, newest first, with its owner")


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _jars(args: argparse.Namespace) -> int:
    from pyflink_kinesis import jars

    if args.jars_command == "fetch":
        manifest, version = jars.load_manifest(), jars.installed_flink_version()
        listed = manifest.jars_for(version) + tuple(
            spec for extra in args.extra for spec in manifest.extra_for(version, extra)
        )
        # Optional sets share jars (the AWS SDK of "glue" and "firehose"): fetch each once.
        unique: dict[str, jars.JarSpec] = {}
        for spec in listed:
            unique.setdefault(spec.coordinates, spec)
        specs = tuple(unique.values())
        dest = args.dest or jars.cache_dir()
        paths = (jars.fetch_with_maven(specs, dest) if args.maven
                 else [jars.fetch(spec, dest) for spec in specs])
    elif args.jars_command == "verify":
        paths = jars.resolve_jars()
        pinned = {spec.filename: spec for spec in
                 jars.load_manifest().jars_for(jars.installed_flink_version())}
        for jar in paths:
            if jar.name in pinned:
                jars.verify(jar, pinned[jar.name])
                print(f"ok  {jar}")
            else:
                print(f"--  {jar} (built here: no pinned checksum)")
        return 0
    else:
        paths = jars.job_jars(args.extra)
    for jar in paths:
        print(jar)
    return 0


def _config(args: argparse.Namespace) -> int:
    from pyflink_kinesis.config import docs

    print(docs.render_keys(args.keys) if args.keys else docs.render_markdown())
    return 0


def _local_kinesis(args: argparse.Namespace) -> int:
    from pyflink_kinesis.testing import KinesisMock, LocalKinesis

    streams = [_stream(text) for text in args.stream]
    quotas = _quotas(args)
    server: Any
    if args.server == "kinesalite":
        server = LocalKinesis(region=args.region, host=args.host, port=args.port, install=True,
                              quotas=quotas)
    else:
        if quotas is not None:
            raise CommandError("--aws-quotas and --quota work with kinesalite only; "
                               "kinesis-mock has no per-shard quotas")
        server = KinesisMock(region=args.region, host=args.host, port=args.port, install=True)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    with server:
        for name, shards in streams:
            server.create_stream(name, shards)
        config = {
            "aws.region": server.region,
            "aws.endpoint": server.endpoint,
            "aws.credentials.provider.basic.accesskeyid": "local",
            "aws.credentials.provider.basic.secretkey": "local",
        }
        print(f"{args.server} is listening at {server.endpoint} (region {server.region})")
        for name, shards in streams:
            print(f"stream {name!r}: {shards} shard(s)")
        if quotas is not None:
            print(f"per-shard quotas: {quotas}")
        print("config for FlinkKinesisConsumer and KinesisStreamsSink:")
        print(json.dumps(config, indent=4))
        print("Ctrl-C stops it.", flush=True)
        stopped.wait()
    print(f"{args.server} stopped", flush=True)
    return 0


def _quotas(args: argparse.Namespace) -> Any:
    """The ``Quotas`` that ``--aws-quotas`` and ``--quota NAME=VALUE`` ask for, else None."""
    from dataclasses import fields

    from pyflink_kinesis.testing import Quotas

    if not args.aws_quotas and not args.quota:
        return None
    names = [field.name for field in fields(Quotas)]
    limits: dict[str, float] = {}
    for text in args.quota:
        name, _, value = text.partition("=")
        try:
            limit = float(value)
        except ValueError:
            limit = 0.0
        if name not in names or not limit > 0:
            raise CommandError(f"--quota takes NAME=VALUE with NAME one of {', '.join(names)} "
                               f"and VALUE > 0, not {text!r}")
        limits[name] = limit
    return Quotas(**limits)


def _stream(text: str) -> tuple[str, int]:
    from pyflink_kinesis.config.values import stream_name_problem

    name, _, shards = text.partition(":")
    if not name or (shards and not shards.isdigit()) or shards == "0":
        raise CommandError(f"--stream takes NAME or NAME:SHARDS (SHARDS >= 1), not {text!r}")
    problem = stream_name_problem(name)
    if problem is not None:
        raise CommandError(f"--stream {problem}")
    return name, int(shards or 1)


def _put(args: argparse.Namespace) -> int:
    from pyflink_kinesis import records

    records.check_stream_name(args.stream)
    if args.key_field is not None:
        key_of = records.json_field_key(args.key_field)
    elif args.key is not None:
        key_of = records.fixed_key(args.key)
    else:
        key_of = records.random_key
    connection = records.Connection(args.endpoint, args.region, args.profile)
    client, region = records.kinesis_client(connection)
    where = connection.where(region)
    with _input_lines(args.file) as lines:
        records.check_stream(client, args.stream, where)
        started = time.monotonic()
        summary = records.put_lines(client, args.stream, lines, key_of, where=where)
    retried = f", {_count(summary.retried, 'record')} sent again" if summary.retried else ""
    print(f"put {_count(summary.records, 'record')} into {args.stream!r} in "
          f"{time.monotonic() - started:.1f} s ({_count(summary.requests, 'request')} to "
          f"{_count(len(summary.shards), 'shard')}{retried})", file=sys.stderr)
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


@contextlib.contextmanager
def _input_lines(path: Path | None) -> Iterator[Iterable[bytes]]:
    """The lines of ``path`` (stdin when None or ``-``), as bytes."""
    if path is None or str(path) == "-":
        yield sys.stdin.buffer
        return
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"{path}: is a folder, not a file of lines") from None
    with file:
        yield file


def _tail(args: argparse.Namespace) -> int:
    from pyflink_kinesis import records

    records.check_stream_name(args.stream)
    start = records.parse_start(args.start)
    connection = records.Connection(args.endpoint, args.region, args.profile)
    client, region = records.kinesis_client(connection)
    render = records.TailRecord.json if args.format == "json" else records.TailRecord.text

    def emit(record: records.TailRecord) -> None:
        sys.stdout.write(render(record) + "\n")
        sys.stdout.flush()

    records.tail(client, args.stream, start, emit, where=connection.where(region),
                 count=args.count, timeout_s=args.timeout)
    return 0


def _bundle(args: argparse.Namespace) -> int:
    from pyflink_kinesis.bundle import RUNTIME, make_bundle

    bundle = make_bundle(args.script, args.output, extras=args.extra, include=args.include)
    for warning in bundle.warnings:
        print(f"pyflink-kinesis bundle: warning: {warning}", file=sys.stderr)
    groups = json.dumps({"PropertyGroups": bundle.property_groups()}, indent=2)
    if args.json:
        print(groups)
        return 0
    size = bundle.path.stat().st_size / 1e6
    print(f"wrote {bundle.path} ({size:.1f} MB) for Managed Service for Apache Flink {RUNTIME}")
    print(f"  script:          {bundle.script}")
    print(f"  local modules:   {', '.join(bundle.local_modules) or 'none'}")
    print(f"  Python packages: {', '.join(bundle.distributions)}")
    print(f"  jar:             {bundle.run_options['jarfile']} ({bundle.jar.entries} entries"
          + (f", optional sets {', '.join(bundle.extras)}" if bundle.extras else "") + ")")
    for name, kept, dropped in bundle.jar.conflicts:
        print(f"  note: {name} is in {kept} and, different, in {', '.join(dropped)}: kept "
              f"{kept}'s, as the class path would")
    print("Set this property group on the application (runtime properties):")
    print(groups)
    return 0


def _iam_policy(args: argparse.Namespace) -> int:
    from pyflink_kinesis.iam import job_policy, policy_json
    from pyflink_kinesis.properties import application_properties

    try:
        description = json.loads(args.description.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CommandError(f"{args.description} is not valid JSON: {exc}") from exc
    if not isinstance(description, dict):
        raise CommandError(f"{args.description} holds {type(description).__name__}; expected "
                           f'an object with "readers" and "writers"')
    if args.account:
        description["account"] = args.account
    groups = application_properties(args.properties) if args.properties else None
    print(policy_json(job_policy(description, groups)))
    return 0


def _docs(args: argparse.Namespace) -> int:
    from pyflink_kinesis import docs

    print(docs.page(args.topic) if args.topic else docs.listing(), end="")
    return 0
