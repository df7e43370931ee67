"""Helpers for the local server tests: processes, listening sockets, records by key."""

from __future__ import annotations

import os
from collections import defaultdict

from pyflink_kinesis.testing import KinesisRecord


def pid_exists(pid: int) -> bool:
    """Whether a process runs under ``pid`` (a zombie waiting to be reaped does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            return stat_file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def listening_addresses(port: int) -> list[str]:
    """Hex local addresses of sockets listening on ``port`` (Linux /proc/net/tcp{,6})."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                address, port_hex = fields[1].split(":")
                if int(port_hex, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                    found.append(address)
    return found


def by_key(records: list[KinesisRecord]) -> dict[str, list[int]]:
    """Record payloads (integers) grouped by partition key, in read order."""
    grouped: dict[str, list[int]] = defaultdict(list)
    for record in records:
        grouped[record.partition_key].append(int(record.text))
    return dict(grouped)
