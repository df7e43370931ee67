"""Merge jars into one, as a service that takes a single jar (Managed Flink's ``jarfile``) needs.

Entries are taken in the order of the jars given, which is the class path order: when two jars
hold different files under one name, the first wins, as it would on the class path, and the
report lists the name. Service files (``META-INF/services/*``) are merged line by line;
license and notice files are concatenated, each part headed by the jar it came from; signature
files and ``module-info`` classes are left out (a merged jar is neither signed nor one module);
the manifest is written anew. The result is opened again and checked before it is kept.

Pure Python (zipfile): no JVM, no Maven.
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from pyflink_kinesis.errors import KinesisError

_SERVICES = "META-INF/services/"
_MANIFEST = "META-INF/MANIFEST.MF"
_SIGNATURE = re.compile(r"META-INF/[^/]+\.(SF|DSA|RSA|EC)$", re.IGNORECASE)
_MODULE_INFO = re.compile(r"(^|/)module-info\.class$")
_LEGAL = re.compile(r"META-INF/([^/]*-)?(LICENSE|NOTICE|DEPENDENCIES)[^/]*$", re.IGNORECASE)
# Fixed timestamps: the same jars always give the same bytes.
_DATE_TIME = (2020, 1, 1, 0, 0, 0)


class MergedJarError(KinesisError, RuntimeError):
    """A jar could not be read, or the merged jar failed its check."""


@dataclass
class MergeReport:
    """What :func:`merge_jars` did: entries written (directories included), and names resolved
    by class path order."""

    path: Path
    entries: int = 0
    services: list[str] = field(default_factory=list)
    #: Names held with different content by several jars: ``(name, jar kept, jars dropped)``.
    conflicts: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def merge_jars(jars: Sequence[Path], output: Path, created_by: str) -> MergeReport:
    """Write the entries of ``jars`` into one jar at ``output``; see the module comment."""
    contents: dict[str, tuple[str, bytes]] = {}  # name -> (jar, data), first jar wins
    losers: dict[str, list[str]] = {}
    services: dict[str, list[str]] = {}
    legal: dict[str, list[tuple[str, bytes]]] = {}
    dropped: set[str] = set()
    for jar in jars:
        for name, data in _entries(jar):
            if name.endswith("/"):
                continue  # directories are written for every file's parents below
            if name == _MANIFEST or _SIGNATURE.fullmatch(name) or _MODULE_INFO.search(name):
                dropped.add(name)
            elif name.startswith(_SERVICES) and "/" not in name[len(_SERVICES):]:
                lines = services.setdefault(name, [])
                lines += [line for line in _service_lines(data) if line not in lines]
            elif _LEGAL.fullmatch(name):
                parts = legal.setdefault(name, [])
                if all(data != seen for _, seen in parts):
                    parts.append((jar.name, data))
            elif name not in contents:
                contents[name] = (jar.name, data)
            elif contents[name][1] != data:
                losers.setdefault(name, []).append(jar.name)
    files = {name: data for name, (_, data) in contents.items()}
    files.update((name, ("\n".join(lines) + "\n").encode()) for name, lines in services.items())
    files.update((name, _concatenated(parts)) for name, parts in legal.items())
    report = MergeReport(
        output,
        services=sorted(services),
        conflicts=[(n, contents[n][0], tuple(j)) for n, j in sorted(losers.items())],
        dropped=sorted(dropped - {_MANIFEST}),
    )
    report.entries = _write(files, output, created_by)
    _check(output, files)
    return report


def _entries(jar: Path) -> Iterable[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(jar) as archive:
            for info in archive.infolist():
                yield info.filename, b"" if info.is_dir() else archive.read(info)
    except (OSError, zipfile.BadZipFile) as exc:
        raise MergedJarError(f"cannot read {jar} as a jar: {exc}") from exc


def _service_lines(data: bytes) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in data.decode("utf-8").splitlines())
    return [line for line in lines if line]


def _concatenated(parts: list[tuple[str, bytes]]) -> bytes:
    if len(parts) == 1:
        return parts[0][1]
    return b"\n".join(
        f"---- from {jar} ----\n".encode() + data.rstrip(b"\n") + b"\n" for jar, data in parts
    )


def _write(files: dict[str, bytes], output: Path, created_by: str) -> int:
    manifest = f"Manifest-Version: 1.0\r\nCreated-By: {created_by}\r\n\r\n".encode()
    directories = {
        name[: index + 1] for name in files for index, char in enumerate(name) if char == "/"
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(zipfile.ZipInfo("META-INF/", _DATE_TIME), b"")
            _add(archive, _MANIFEST, manifest)
            for directory in sorted(directories):
                if directory != "META-INF/":
                    archive.writestr(zipfile.ZipInfo(directory, _DATE_TIME), b"")
            for name in sorted(files):
                _add(archive, name, files[name])
        os.chmod(partial, 0o644)
        os.replace(partial, output)
    finally:
        Path(partial).unlink(missing_ok=True)
    return len(files) + len(directories | {"META-INF/"}) + 1  # + the manifest


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, _DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def _check(output: Path, files: dict[str, bytes]) -> None:
    """Open the written jar: every entry once, with the content meant for it."""
    with zipfile.ZipFile(output) as archive:
        names = archive.namelist()
        duplicates = sorted(n for n, count in Counter(names).items() if count > 1)
        missing = sorted(set(files) - set(names))
        wrong = sorted(n for n in files if n in names and archive.read(n) != files[n])
        damaged = archive.testzip()
    problems = [
        f"{what}: {', '.join(found[:5])}"
        for what, found in (("duplicate entries", duplicates), ("missing entries", missing),
                            ("entries with other content", wrong),
                            ("damaged entry", [damaged] if damaged else []))
        if found
    ]
    if problems:
        raise MergedJarError(f"the merged jar {output} failed its check: {'; '.join(problems)}")
