"""The ``pyflink-kinesis`` command: jars, the configuration reference, a local Kinesis, bundles,
and where a job's Flink log is.

``pyflink-kinesis --help`` lists the commands; each has its own ``--help``. Exit status: 0 on
success, 1 when the command could not do its work (the message says why, on stderr), 2 for a
command line it cannot read. ``python -m pyflink_kinesis`` is the same command.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

from pyflink_kinesis import logs
from pyflink_kinesis.errors import KinesisError

_Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    handler: _Handler = args.handler
    try:
        return handler(args)
    except KinesisError as exc:
        print(f"pyflink-kinesis {args.command}: error: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyflink-kinesis",
        description="Amazon Kinesis for PyFlink: the connector's jars, the configuration "
        "reference, a local Kinesis for development, and bundles for Managed Service for "
        "Apache Flink.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    jars = commands.add_parser(
        "jars", help="the connector jars: where they are, fetch them, verify them",
        description="The connector jars for the installed PyFlink (pinned in the package's "
        "manifest with their sha256), and our own Java classes.")
    jar_commands = jars.add_subparsers(dest="jars_command", required=True, metavar="ACTION")
    path = jar_commands.add_parser("path", help="print the jar paths a job uses, one a line")
    path.add_argument("--extra", action="append", default=[], metavar="NAME",
                      help="also an optional jar set (glue, firehose); repeatable")
    fetch = jar_commands.add_parser("fetch", help="download the jars (checked by sha256)")
    fetch.add_argument("--dest", type=Path, default=None,
                       help="where to put them (default: the download cache)")
    fetch.add_argument("--maven", action="store_true", help="fetch with mvn dependency:copy")
    fetch.add_argument("--extra", action="append", default=[], metavar="NAME",
                       help="also an optional jar set (glue, firehose); repeatable")
    jar_commands.add_parser("verify", help="check the sha256 of every jar a job uses")
    jars.set_defaults(handler=_jars)

    config = commands.add_parser(
        "config", help="the configuration reference: every key, or the keys named",
        description="Every key of the consumer config, the sink and SQL tables, with type, "
        "default, allowed values and meaning (Markdown). Name keys to see only those.")
    config.add_argument("keys", nargs="*", metavar="KEY", help="e.g. flink.stream.initpos")
    config.set_defaults(handler=_config)

    local = commands.add_parser(
        "local-kinesis", help="run a local Kinesis-compatible server until Ctrl-C",
        description="Start the pinned local Kinesis server (kinesalite, patched as the tests "
        "run it; or kinesis-mock for enhanced fan-out and UpdateShardCount), print its endpoint "
        "and the config to paste into a job, and stop it on Ctrl-C. Needs Node.js; the server "
        "is installed with npm on first use (pinned by the package's lock file).")
    local.add_argument("--server", choices=("kinesalite", "kinesis-mock"), default="kinesalite")
    local.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 for containers)")
    local.add_argument("--port", type=int, default=None, help="port (default: a free one)")
    local.add_argument("--region", default="us-east-1")
    local.add_argument("--stream", action="append", default=[], metavar="NAME[:SHARDS]",
                       help="create a stream (1 shard unless given); repeatable")
    local.add_argument("--aws-quotas", action="store_true",
                       help="enforce AWS's per-shard quotas (provisioned mode): writes 1,000 "
                       "records/s and 1 MiB/s, reads 5 GetRecords/s and 2 MiB/s; kinesalite only")
    local.add_argument("--quota", action="append", default=[], metavar="NAME=VALUE",
                       help="enforce quotas with this limit changed (implies --aws-quotas); NAME "
                       "is write_records_per_s, write_bytes_per_s, read_calls_per_s or "
                       "read_bytes_per_s; repeatable")
    local.set_defaults(handler=_local_kinesis)

    bundle = commands.add_parser(
        "bundle", help="make the zip of a Managed Service for Apache Flink Python application",
        description="Make the zip a Managed Service for Apache Flink (runtime FLINK-1_20) "
        "Python application runs: the script and its local modules, pyflink_kinesis and the "
        "Python packages the service lacks, and one jar under lib/. Prints the property group "
        "to set on the application.")
    bundle.add_argument("script", type=Path, help="the job's Python script")
    bundle.add_argument("-o", "--output", type=Path, required=True, help="the zip to write")
    bundle.add_argument("--extra", action="append", default=[], metavar="NAME",
                        help="add an optional jar set to the jar (glue, firehose); repeatable")
    bundle.add_argument("--include", action="append", default=[], metavar="PATH",
                        help="add a file or folder beside the script; repeatable")
    bundle.add_argument("--json", action="store_true",
                        help="print only the property groups, as CreateApplication JSON")
    bundle.set_defaults(handler=_bundle)

    logs.add_command(commands)
    return parser


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
            raise SystemExit("pyflink-kinesis local-kinesis: --aws-quotas and --quota work with "
                             "kinesalite only; kinesis-mock has no per-shard quotas")
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
            raise SystemExit(f"pyflink-kinesis local-kinesis: --quota takes NAME=VALUE with NAME "
                             f"one of {', '.join(names)} and VALUE > 0, not {text!r}")
        limits[name] = limit
    return Quotas(**limits)


def _stream(text: str) -> tuple[str, int]:
    name, _, shards = text.partition(":")
    if not name or (shards and not shards.isdigit()) or shards == "0":
        raise SystemExit(f"pyflink-kinesis local-kinesis: --stream takes NAME or NAME:SHARDS "
                         f"(SHARDS >= 1), not {text!r}")
    return name, int(shards or 1)


def _bundle(args: argparse.Namespace) -> int:
    from pyflink_kinesis.bundle import RUNTIME, make_bundle

    bundle = make_bundle(args.script, args.output, extras=args.extra, include=args.include)
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


if __name__ == "__main__":
    sys.exit(main())
