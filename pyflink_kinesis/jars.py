"""Find the official Flink Kinesis connector jars for the installed PyFlink, or fetch them.

The jars are pinned in ``jars/manifest.toml`` per Flink minor version (Maven coordinates, size,
sha1, sha256). Optional jar sets (``extras``, e.g. ``glue`` for the AWS Glue Schema Registry) are
resolved only for the features that need them. Our own Java classes (``jars/pyflink-kinesis-java``,
built by ``make jars`` into ``pyflink_kinesis/_jars/``, shipped inside the wheel) come with every
set. :func:`resolve_jars` looks for each Maven jar, in this order:

1. the directory named by ``PYFLINK_KINESIS_JARS_DIR``;
2. the package's download cache (``PYFLINK_KINESIS_CACHE_DIR``, default
   ``$XDG_CACHE_HOME/pyflink-kinesis/jars`` or ``~/.cache/pyflink-kinesis/jars``);
3. ``jars/`` of a source checkout (filled by ``make jars``);
4. the local Maven repository (``~/.m2/repository``);
5. a download from Maven Central (``PYFLINK_KINESIS_MAVEN_URL`` overrides the repository URL)
   into the cache, checked against the manifest's sha256. ``PYFLINK_KINESIS_OFFLINE=1`` turns
   downloads off.

A jar found on disk is checked by size (cheap, done every time); a downloaded one by sha256.
``pyflink-kinesis jars verify`` checks the sha256 of every resolved jar.

Our own jar is optional: an installation without it (a wheel built without Maven, a jar
deleted) still serves everything made of the connector's classes alone, and a feature that
needs ours says so when it is used (:func:`own_jar`). Inside a zip made by ``pyflink-kinesis
bundle`` the package looks nowhere else: its one merged jar is all there is (:func:`bundled`).

This module knows nothing about the JVM: :mod:`pyflink_kinesis.gateway` registers the paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

from pyflink_kinesis.errors import JarResolutionError, UnsupportedFlinkVersionError

MAVEN_CENTRAL = "https://repo.maven.apache.org/maven2"
_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_JARS_DIR = _PACKAGE_DIR.parent / "jars"
BUILT_JARS_DIR = _PACKAGE_DIR / "_jars"
_MANIFEST_CANDIDATES = (_PACKAGE_DIR / "_manifest.toml", _CHECKOUT_JARS_DIR / "manifest.toml")
_DOWNLOAD_TIMEOUT_S = 120
#: Written by ``pyflink-kinesis bundle`` into the copy of this package that a zip carries.
BUNDLE_MARKER = _PACKAGE_DIR / "_bundled.json"


@dataclass(frozen=True)
class BundledJar:
    """The merged jar of a Managed Flink bundle, and the optional sets merged into it."""

    path: Path
    extras: tuple[str, ...]


def bundled(marker: Path = BUNDLE_MARKER) -> BundledJar | None:
    """The bundle's merged jar when this package runs from a ``pyflink-kinesis bundle`` zip
    (``<zip>/site-packages/pyflink_kinesis``), else None."""
    if not marker.is_file():
        return None
    data = json.loads(marker.read_text(encoding="utf-8"))
    root = marker.parent.parent.parent  # <zip>/site-packages/pyflink_kinesis/_bundled.json
    return BundledJar(root / data["jarfile"], tuple(data.get("extras", ())))


@dataclass(frozen=True)
class JarSpec:
    """One pinned jar: Maven coordinates plus the size and checksums it must have."""

    group: str
    artifact: str
    version: str
    size: int
    sha1: str
    sha256: str
    provides: str = ""

    @property
    def filename(self) -> str:
        """The jar's file name as Maven stores it."""
        return f"{self.artifact}-{self.version}.jar"

    @property
    def coordinates(self) -> str:
        """``group:artifact:version``, as Maven's ``-Dartifact`` takes it."""
        return f"{self.group}:{self.artifact}:{self.version}"

    @property
    def repository_path(self) -> str:
        """The jar's path inside a Maven repository layout."""
        return "/".join(
            [*self.group.split("."), self.artifact, self.version, self.filename]
        )


@dataclass(frozen=True)
class BuiltJar:
    """A jar of our own, built from ``source`` (a Maven project) against one Flink line."""

    artifact: str
    version: str
    source: str
    provides: str = ""
    # The optional jar set it belongs to (e.g. "glue"); "" for the base set.
    extra: str = ""

    @property
    def filename(self) -> str:
        """The jar's file name as Maven builds it."""
        return f"{self.artifact}-{self.version}.jar"


@dataclass(frozen=True)
class JarManifest:
    """The jar sets, keyed by Flink minor version (``"1.20"``): Maven jars, our own built jars,
    and optional sets by feature name."""

    lines: Mapping[str, tuple[JarSpec, ...]]
    built: Mapping[str, tuple[BuiltJar, ...]] = field(default_factory=dict)
    extras: Mapping[str, Mapping[str, tuple[JarSpec, ...]]] = field(default_factory=dict)

    def jars_for(self, flink_version: str) -> tuple[JarSpec, ...]:
        """Return the Maven jar set for a Flink version such as ``1.20.5``.

        Raises :class:`UnsupportedFlinkVersionError` naming the installed and supported lines.
        """
        return self.lines[self._line(flink_version)]

    def built_for(self, flink_version: str, extra: str = "") -> tuple[BuiltJar, ...]:
        """Our own jars for a Flink version: the base set's, or those of the set ``extra``."""
        return tuple(j for j in self.built.get(self._line(flink_version), ()) if j.extra == extra)

    def extra_for(self, flink_version: str, extra: str) -> tuple[JarSpec, ...]:
        """The optional jar set ``extra`` (e.g. ``"glue"``) for a Flink version."""
        line = self._line(flink_version)
        available = self.extras.get(line, {})
        if extra not in available:
            raise JarResolutionError(
                f"pyflink_kinesis has no '{extra}' jars for Flink {line} (it has: "
                f"{', '.join(sorted(available)) or 'none'})."
            )
        return available[extra]

    def _line(self, flink_version: str) -> str:
        line = flink_minor(flink_version)
        if line not in self.lines:
            supported = ", ".join(sorted(self.lines))
            raise UnsupportedFlinkVersionError(
                f"apache-flink {flink_version} is installed, but pyflink_kinesis has connector "
                f"jars only for Flink {supported}. Install a supported version, e.g. "
                f"pip install 'apache-flink=={max(self.lines)}.*'."
            )
        return line


def flink_minor(version: str) -> str:
    """``"1.20.5"`` -> ``"1.20"``."""
    parts = version.split(".")
    if len(parts) < 2:
        raise UnsupportedFlinkVersionError(f"cannot read a Flink version from {version!r}")
    return ".".join(parts[:2])


def load_manifest(path: Path | None = None) -> JarManifest:
    """Read the jar manifest (the installed copy, else the checkout's ``jars/manifest.toml``)."""
    candidates = (path,) if path is not None else _MANIFEST_CANDIDATES
    for candidate in candidates:
        if candidate.is_file():
            with candidate.open("rb") as handle:
                return _parse_manifest(tomllib.load(handle))
    raise JarResolutionError(
        "the jar manifest is missing (looked at "
        + ", ".join(str(c) for c in candidates)
        + "); reinstall pyflink-kinesis."
    )


def _parse_manifest(data: Mapping[str, Any]) -> JarManifest:
    tables = data.get("flink", {})
    return JarManifest(
        lines={line: tuple(JarSpec(**jar) for jar in t["jars"]) for line, t in tables.items()},
        built={line: tuple(BuiltJar(**jar) for jar in t.get("built", ())) for line, t in
               tables.items()},
        extras={
            line: {name: tuple(JarSpec(**jar) for jar in specs)
                   for name, specs in t.get("extras", {}).items()}
            for line, t in tables.items()
        },
    )


def installed_flink_version() -> str:
    """The version of the installed ``apache-flink`` distribution."""
    try:
        return metadata.version("apache-flink")
    except metadata.PackageNotFoundError as exc:
        raise UnsupportedFlinkVersionError(
            "apache-flink is not installed; pip install 'apache-flink==1.20.*'"
        ) from exc


def cache_dir() -> Path:
    """Where downloaded jars are kept."""
    configured = os.environ.get("PYFLINK_KINESIS_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pyflink-kinesis" / "jars"


def _user_jars_dir() -> Path | None:
    configured = os.environ.get("PYFLINK_KINESIS_JARS_DIR")
    return Path(configured) if configured else None


def _maven_local_repository() -> Path:
    return Path.home() / ".m2" / "repository"


def _candidates(spec: JarSpec) -> list[Path]:
    directories = [d for d in (_user_jars_dir(), cache_dir(), _CHECKOUT_JARS_DIR) if d]
    return [d / spec.filename for d in directories] + [
        _maven_local_repository() / spec.repository_path
    ]


def _check_size(path: Path, spec: JarSpec) -> None:
    size = path.stat().st_size
    if size != spec.size:
        raise JarResolutionError(
            f"{path} is {size} bytes but {spec.coordinates} is {spec.size} bytes: the file is "
            "damaged or another build. Delete it and run `make jars` (or let pyflink_kinesis "
            "download it again)."
        )


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, spec: JarSpec) -> None:
    """Check a jar's size and sha256 against the manifest; raise JarResolutionError if off."""
    _check_size(path, spec)
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise JarResolutionError(
            f"{path} has sha256 {actual}, expected {spec.sha256} for {spec.coordinates}. "
            "Delete the file and fetch it again."
        )


def download(spec: JarSpec, destination: Path, repository_url: str | None = None) -> Path:
    """Download one jar from a Maven repository into ``destination``, verifying its sha256.

    The file appears under its final name only once it is complete and verified.
    """
    base = (repository_url or os.environ.get("PYFLINK_KINESIS_MAVEN_URL") or MAVEN_CENTRAL)
    url = f"{base.rstrip('/')}/{spec.repository_path}"
    destination.mkdir(parents=True, exist_ok=True)
    target = destination / spec.filename
    fd, partial_name = tempfile.mkstemp(prefix=f".{spec.filename}.", dir=destination)
    partial = Path(partial_name)
    import urllib.error  # only a download needs them (15 ms of every import otherwise)
    import urllib.request

    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(
            url, timeout=_DOWNLOAD_TIMEOUT_S
        ) as response:
            shutil.copyfileobj(response, out, 1 << 20)
        verify(partial, spec)
        os.replace(partial, target)
    except (urllib.error.URLError, OSError) as exc:
        raise JarResolutionError(
            f"could not download {spec.coordinates} from {url}: {exc}. Run `make jars` with "
            "network access, or put the jar in a directory named by PYFLINK_KINESIS_JARS_DIR."
        ) from exc
    finally:
        partial.unlink(missing_ok=True)
    return target


def resolve_jars(
    *,
    flink_version: str | None = None,
    manifest: JarManifest | None = None,
    allow_download: bool | None = None,
) -> list[Path]:
    """Return the paths of the connector jars (and our own, when installed) for the installed
    Flink, downloading if needed; in a bundle, its merged jar.

    Raises :class:`UnsupportedFlinkVersionError` when no jar set matches the installed Flink,
    and :class:`JarResolutionError` when a jar is damaged or cannot be had.
    """
    bundle = bundled()
    if bundle is not None:
        return [_bundled_path(bundle)]
    manifest = manifest or load_manifest()
    version = flink_version or installed_flink_version()
    specs = manifest.jars_for(version)
    downloads = _downloads_allowed() if allow_download is None else allow_download
    built = (_find_built(jar) for jar in manifest.built_for(version))
    return [_resolve_one(spec, downloads) for spec in specs] + [p for p in built if p]


def own_jar(
    feature: str, *, flink_version: str | None = None, manifest: JarManifest | None = None
) -> Path:
    """The jar of our own Java classes, which ``feature`` needs.

    Raises :class:`JarResolutionError` naming the feature and how to get the jar when this
    installation has none.
    """
    bundle = bundled()
    if bundle is not None:
        return _bundled_path(bundle)
    manifest = manifest or load_manifest()
    (jar,) = manifest.built_for(flink_version or installed_flink_version())
    path = _find_built(jar)
    if path is None:
        raise JarResolutionError(f"{feature} needs {_missing_built(jar)}")
    return path


def resolve_extra(
    extra: str,
    *,
    flink_version: str | None = None,
    manifest: JarManifest | None = None,
    allow_download: bool | None = None,
) -> list[Path]:
    """Return the paths of the optional jar set ``extra`` (e.g. ``"glue"``), fetching if needed.

    In a bundle they are in its merged jar (nothing more to add), or the bundle lacks them.
    """
    bundle = bundled()
    if bundle is not None:
        if extra not in bundle.extras:
            raise JarResolutionError(
                f"this bundle's jar was made without the '{extra}' jars: make the bundle again "
                f"with `pyflink-kinesis bundle --extra {extra} ...`"
            )
        return []
    manifest = manifest or load_manifest()
    version = flink_version or installed_flink_version()
    specs = manifest.extra_for(version, extra)
    downloads = _downloads_allowed() if allow_download is None else allow_download
    built = []
    for jar in manifest.built_for(version, extra):
        path = _find_built(jar)
        if path is None:
            raise JarResolutionError(f"the '{extra}' jar set needs {_missing_built(jar)}")
        built.append(path)
    return [_resolve_one(spec, downloads) for spec in specs] + built


#: The jar whose unshaded AWS sink classes must come before the Kinesis jar's copies of them.
AWS_BASE_JAR_PREFIX = "flink-connector-aws-base-"
KINESIS_JAR_PREFIX = "flink-connector-kinesis-"


def class_path_order(paths: Sequence[Path]) -> list[Path]:
    """``paths`` with ``flink-connector-aws-base`` moved just before ``flink-connector-kinesis``
    when it came after it; otherwise unchanged (duplicates dropped, first kept).

    The Kinesis jar carries copies of four aws-base classes (``AWSExceptionClassifierUtil``,
    ``AWSExceptionHandler``, ``AWSOptionUtils``, ``AsyncClientOptionsUtils``) compiled against
    its shaded AWS SDK; on a class path, in ``pipeline.jars`` and in a merged jar the first copy
    wins. The Firehose sink needs aws-base's own (with the Kinesis copy, every Firehose service
    error is a ``ClassCastException`` in the writer's error handling); Kinesis uses neither
    copy of the first two and works with either of the last two when the SDK is present.
    """
    unique = list(dict.fromkeys(paths))
    base = [p for p in unique if p.name.startswith(AWS_BASE_JAR_PREFIX)]
    kinesis = [i for i, p in enumerate(unique) if p.name.startswith(KINESIS_JAR_PREFIX)]
    if not base or not kinesis or unique.index(base[0]) < kinesis[0]:
        return unique
    rest = [p for p in unique if p not in base]
    at = rest.index(unique[kinesis[0]])
    return [*rest[:at], *base, *rest[at:]]


def job_jars(extras: Sequence[str] = ()) -> list[Path]:
    """The base set and the optional sets ``extras``, in :func:`class_path_order`: what a
    class path, ``pipeline.jars`` or a merged jar should hold, in that order."""
    return class_path_order(
        [*resolve_jars(), *(path for extra in extras for path in resolve_extra(extra))]
    )


def _bundled_path(bundle: BundledJar) -> Path:
    if not bundle.path.is_file():
        raise JarResolutionError(
            f"this bundle's jar {bundle.path} is missing: unpack the whole zip made by "
            "`pyflink-kinesis bundle`, or make it again"
        )
    return bundle.path


def _downloads_allowed() -> bool:
    return os.environ.get("PYFLINK_KINESIS_OFFLINE", "") in ("", "0", "false")


def _built_dirs() -> list[Path]:
    return [d for d in (_user_jars_dir(), BUILT_JARS_DIR) if d]


def _find_built(jar: BuiltJar) -> Path | None:
    for directory in _built_dirs():
        if (directory / jar.filename).is_file():
            return directory / jar.filename
    return None


def _missing_built(jar: BuiltJar) -> str:
    return (
        f"{jar.filename} ({jar.provides or 'pyflink_kinesis Java classes'}), which was not "
        f"found in {', '.join(str(d) for d in _built_dirs())}. Install pyflink-kinesis from a "
        "wheel built with Java and Maven (pip builds one from source when both are installed); "
        f"in a source checkout run `make jars` (it builds {jar.source} with Maven)."
    )


def _resolve_one(spec: JarSpec, allow_download: bool) -> Path:
    candidates = _candidates(spec)
    for candidate in candidates:
        if candidate.is_file():
            _check_size(candidate, spec)
            return candidate
    if not allow_download:
        raise JarResolutionError(
            f"{spec.coordinates} was not found (looked at "
            + ", ".join(str(c) for c in candidates)
            + ") and downloads are off (PYFLINK_KINESIS_OFFLINE). Run `make jars` or "
            "`pyflink-kinesis jars fetch`."
        )
    return download(spec, cache_dir())


def fetch_with_maven(specs: Sequence[JarSpec], destination: Path) -> list[Path]:
    """Fetch jars with Maven into ``destination`` and verify them; a jar already there with
    the pinned sha256 is kept as it is.

    One Maven run copies every missing jar (``dependency:copy-dependencies`` of a throwaway pom
    listing them, without their dependencies): a Maven start per jar took minutes for the
    optional sets. A pom holds one version of an artifact, so two versions take two runs.
    """
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JarResolutionError("Maven (mvn) is not on PATH; install it or use `fetch`.")
    missing = [spec for spec in specs if not _in_place(destination / spec.filename, spec)]
    while missing:
        batch = list({(spec.group, spec.artifact): spec for spec in reversed(missing)}.values())
        _copy_with_maven(mvn, batch, destination)
        missing = [spec for spec in missing if spec not in batch]
    paths = []
    for spec in specs:
        path = destination / spec.filename
        verify(path, spec)
        paths.append(path)
    return paths


def _in_place(path: Path, spec: JarSpec) -> bool:
    return path.is_file() and path.stat().st_size == spec.size and sha256_of(path) == spec.sha256


def _copy_with_maven(mvn: str, specs: Sequence[JarSpec], destination: Path) -> None:
    """Copy ``specs`` (one version of each artifact) into ``destination`` in one Maven run."""
    dependencies = "".join(
        f"<dependency><groupId>{spec.group}</groupId><artifactId>{spec.artifact}</artifactId>"
        f"<version>{spec.version}</version><exclusions><exclusion><groupId>*</groupId>"
        f"<artifactId>*</artifactId></exclusion></exclusions></dependency>"
        for spec in specs
    )
    pom = (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>io.pyflinkkinesis</groupId><artifactId>jar-fetch</artifactId>"
        "<version>0</version><packaging>pom</packaging>"
        f"<dependencies>{dependencies}</dependencies></project>"
    )
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pyflink-kinesis-mvn-") as work:
        pom_path = Path(work) / "pom.xml"
        pom_path.write_text(pom, encoding="utf-8")
        subprocess.run(
            [mvn, "-q", "-B", "-f", str(pom_path), "dependency:copy-dependencies",
             # Absolute: Maven takes a relative one from the pom's folder.
             "-DexcludeTransitive=true", f"-DoutputDirectory={destination.resolve()}"],
            check=True,
        )


def fetch(spec: JarSpec, destination: Path) -> Path:
    """The jar ``spec`` in ``destination``: verified if there, else downloaded and verified."""
    path = destination / spec.filename
    if path.is_file():
        verify(path, spec)
        return path
    return download(spec, destination)

