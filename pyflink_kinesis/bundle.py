"""``pyflink-kinesis bundle``: the zip a Managed Service for Apache Flink Python application runs.

The service runs a Python application from a zip in S3 and takes everything from it: the
script, one jar (``jarfile``) and Python files (``pyFiles``) named in the property group
``kinesis.analytics.flink.run.options``; it installs nothing with pip. The zip made here holds:

* ``app/``: the script and the local code it imports (found by reading its imports, and
  theirs, in the script's folder): modules, packages with their data files, nested packages and
  namespace packages (folders without ``__init__.py``), at their paths beside it. ``app`` is a
  ``pyFiles`` folder: Flink puts such a folder itself on the Python path of the client and of
  every worker, so the script's imports resolve the same way in each (a package folder named in
  ``pyFiles`` would not: its contents, not the package, would be on the path);
* ``lib/pyflink-kinesis-dependencies.jar``: the connector, its runtime jars and our classes
  (and optional sets such as ``glue`` when asked), merged into one jar (see
  :mod:`pyflink_kinesis.merged_jar`);
* ``site-packages/``: ``pyflink_kinesis`` and every Python distribution the script and it need
  that the service's runtime does not have (the runtime has ``apache-flink`` and what it
  requires). They must be pure Python: a compiled one is refused, naming it.

The service's runtime for this package is ``FLINK-1_20``, which runs Python 3.11: a bundle is
only made from an environment that matches it (what was tested is what runs). The bundled
``pyflink_kinesis`` finds its jar in the zip and never looks for jars elsewhere.

What the zip cannot carry is refused, before anything is submitted: code the script imports
from outside its folder that no installed distribution holds, compiled local modules, a local
module named like one the zip carries in ``site-packages``. An import found nowhere is reported
as a warning (it may be optional).
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from importlib import metadata, util
from importlib.machinery import EXTENSION_SUFFIXES, PathFinder
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from packaging.requirements import Requirement

from pyflink_kinesis import jars
from pyflink_kinesis.errors import JarResolutionError, KinesisError
from pyflink_kinesis.merged_jar import MergeReport, merge_jars
from pyflink_kinesis.properties import RUN_OPTIONS_GROUP

#: The Managed Flink runtime, and the Python and Flink line it runs.
RUNTIME = "FLINK-1_20"
RUNTIME_PYTHON = (3, 11)
RUNTIME_FLINK = "1.20"
JARFILE = "lib/pyflink-kinesis-dependencies.jar"
#: The script's folder in the zip: the script and its local code, at their paths beside it.
APP = "app"
SITE_PACKAGES = "site-packages"
#: The file in a bundled ``pyflink_kinesis`` that tells it where its jar is.
MARKER = "_bundled.json"
_PROVIDED_ROOT = "apache-flink"
_SKIPPED_PARTS = {"__pycache__"}
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
# Files of our own package that the zip has elsewhere (the jars are in the merged jar).
_OWN_SKIPPED = ("_jars",)
_DIST_INFO_SKIPPED = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


class BundleError(KinesisError, ValueError):
    """The bundle cannot work; ``problems`` says each reason and what to do."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        lines = [f"cannot make the bundle ({len(self.problems)} problem(s)):"]
        super().__init__("\n".join([*lines, *(f"  - {p}" for p in self.problems)]))


@dataclass
class Bundle:
    """A bundle written by :func:`make_bundle`: where, and what it holds."""

    path: Path
    #: The script's path in the zip, and those of the local code beside it.
    script: str
    local_modules: list[str]
    distributions: list[str]
    jar: MergeReport
    extras: tuple[str, ...]
    #: What may be missing from the zip, for the user to judge (imports found nowhere).
    warnings: list[str] = field(default_factory=list)

    @property
    def run_options(self) -> dict[str, str]:
        """The ``kinesis.analytics.flink.run.options`` property map for this zip."""
        return {"python": self.script, "jarfile": JARFILE,
                "pyFiles": ",".join([APP, SITE_PACKAGES])}

    def property_groups(self) -> list[dict[str, object]]:
        """The property group to set on the application, in CreateApplication's JSON shape."""
        return [{"PropertyGroupId": RUN_OPTIONS_GROUP, "PropertyMap": self.run_options}]


def make_bundle(
    script: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    extras: Sequence[str] = (),
    include: Sequence[str | os.PathLike[str]] = (),
) -> Bundle:
    """Write the zip for ``script`` to ``output``; see the module comment.

    ``extras`` adds optional jar sets (``"glue"``) to the jar; ``include`` adds more files or
    folders (data files, modules imported in ways the import reader cannot see), at their paths
    relative to the script's folder. Raises :class:`BundleError` listing every reason the
    bundle could not work (a script that does not exist, a runtime mismatch, jars that cannot
    be had offline, compiled dependencies, an included path outside the script's folder, local
    code the zip cannot carry: see the module comment).
    """
    problems: list[str] = []
    warnings: list[str] = []
    script_path = Path(script).resolve()
    if not script_path.is_file() or script_path.suffix != ".py":
        problems.append(f"{script}: no such Python script (a .py file)")
    problems += _runtime_problems()
    root = script_path.parent
    extra_files = _included(root, include, problems)
    jar_paths = _jar_paths(extras, problems)
    local, imported = (_local_code(script_path, problems) if script_path.is_file()
                       else ([], {}))
    distributions = _distributions(imported, problems, warnings)
    problems += _shadowing_problems(local, distributions)
    if problems:
        raise BundleError(problems)
    output_path = Path(output).resolve()
    with tempfile.TemporaryDirectory() as work:
        report = merge_jars(jar_paths, Path(work) / "merged.jar",
                            f"pyflink-kinesis {_own_version()} bundle")
        bundle = Bundle(output_path, f"{APP}/{script_path.name}",
                        [f"{APP}/{p.as_posix()}" for p in local], sorted(distributions), report,
                        tuple(extras), warnings)
        _write_zip(bundle, root, [Path(script_path.name), *local, *extra_files],
                   distributions, report.path)
    report.path = Path(JARFILE)  # the merged jar now lives in the zip only
    return bundle


def _runtime_problems() -> list[str]:
    problems = []
    if sys.version_info[:2] != RUNTIME_PYTHON:
        wanted = ".".join(map(str, RUNTIME_PYTHON))
        problems.append(
            f"this is Python {sys.version_info.major}.{sys.version_info.minor}, but Managed "
            f"Flink's {RUNTIME} runtime runs Python {wanted}: make the bundle in a Python "
            f"{wanted} environment where the job was tested"
        )
    try:
        flink = jars.installed_flink_version()
    except JarResolutionError as exc:
        problems.append(str(exc))
    else:
        if jars.flink_minor(flink) != RUNTIME_FLINK:
            problems.append(
                f"apache-flink {flink} is installed, but the {RUNTIME} runtime is Flink "
                f"{RUNTIME_FLINK}: install apache-flink=={RUNTIME_FLINK}.* and test the job with it"
            )
    return problems


def _jar_paths(extras: Sequence[str], problems: list[str]) -> list[Path]:
    try:
        return jars.job_jars(extras)
    except JarResolutionError as exc:
        problems.append(f"the jars: {exc}")
        return []


def _included(root: Path, include: Sequence[str | os.PathLike[str]],
              problems: list[str]) -> list[Path]:
    found = []
    for item in include:
        path = (root / item).resolve()
        if not path.exists():
            problems.append(f"--include {item}: no such file or folder")
        elif root not in path.parents:
            problems.append(f"--include {item}: not inside the script's folder {root}")
        else:
            found += [p.relative_to(root) for p in _files_under(path)]
    return found


def _files_under(path: Path) -> Iterable[Path]:
    candidates = sorted(path.rglob("*")) if path.is_dir() else [path]
    for candidate in candidates:
        if (candidate.is_file() and not _SKIPPED_PARTS.intersection(candidate.parts)
                and not candidate.name.endswith(_SKIPPED_SUFFIXES)):
            yield candidate


def _imports(source: Path) -> set[str]:
    """The top-level names a Python file imports (absolute imports only)."""
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"), str(source))
    except (SyntaxError, UnicodeDecodeError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _local_code(script: Path, problems: list[str]) -> tuple[list[Path], dict[str, Path]]:
    """The files of the script's local code (relative to its folder), and every top-level
    name the script and that code import that is not local, with a file importing it."""
    root = script.parent
    importlib.invalidate_caches()  # the import system's view of the folder may predate its files
    local: set[Path] = set()
    outside: dict[str, Path] = {}
    pending = [script]
    seen: set[Path] = set()
    while pending:
        source = pending.pop()
        if source in seen:
            continue
        seen.add(source)
        for name in sorted(_imports(source)):
            files = _local_files(name, root, problems)
            if files is None:
                outside.setdefault(name, source.relative_to(root))
                continue
            local.update(f.relative_to(root) for f in files if f != script)
            pending += [f for f in files if f.suffix == ".py"]
    return sorted(local), outside


def _local_files(name: str, root: Path, problems: list[str]) -> list[Path] | None:
    """The files of ``name`` if the script's folder has it as Python finds it there (a module,
    a package or a namespace package: every file under its folder), else None."""
    spec = PathFinder.find_spec(name, [str(root)])
    if spec is None:
        return None
    if spec.submodule_search_locations is None:
        files = [Path(str(spec.origin))]
    else:
        files = list(_files_under(root / name))
    for compiled in (f for f in files if f.name.endswith(tuple(EXTENSION_SUFFIXES))):
        problems.append(
            f"{compiled.relative_to(root)} beside the script is a compiled module: a build for "
            "this machine may not load on the service; bundle its source instead"
        )
    return files


def _shadowing_problems(local: Sequence[Path],
                        distributions: Mapping[str, metadata.Distribution]) -> list[str]:
    """Local code named like a module the zip carries in site-packages: which one a process
    imports would depend on the order of its path."""
    carried = {name: dist.metadata["Name"] for dist in distributions.values()
               for name in _top_level_names(dist)}
    return [
        f"{name}: local code beside the script has the name of a module the zip carries in "
        f"{SITE_PACKAGES}/ (from {carried[name]}): rename the local one"
        for name in sorted({p.parts[0].removesuffix(".py") for p in local} & set(carried))
    ]


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_closure(roots: Iterable[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions ``roots`` require, themselves included. Markers are
    evaluated here, which is the runtime's Python (checked before); extras are not followed."""
    found: dict[str, metadata.Distribution] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        key = _normalized(dist.metadata["Name"])
        if key in found:
            continue
        found[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return found


def _distributions(imported: Mapping[str, Path], problems: list[str],
                   warnings: list[str]) -> dict[str, metadata.Distribution]:
    """What the zip must carry: ``pyflink-kinesis`` and what the script imports, with their
    requirements, less what the runtime has (``apache-flink`` and its requirements). An
    imported name no distribution holds is a problem if it is found elsewhere (the zip cannot
    carry it), a warning if it is found nowhere."""
    owners = metadata.packages_distributions()
    roots = {"pyflink-kinesis"}
    unowned = []
    for name in sorted(set(imported) - set(sys.stdlib_module_names)):
        roots.update(owners.get(name, ()))
        if name not in owners:
            unowned.append(name)
    provided = _requirement_closure([_PROVIDED_ROOT])
    closure = _requirement_closure(roots)
    needed = {k: d for k, d in closure.items() if k not in provided}
    known = {n for dist in [*closure.values(), *provided.values()] for n in _top_level_names(dist)}
    for name in (n for n in unowned if n not in known):
        where = _found_at(name)
        importer = imported[name].as_posix()
        if where is None:
            warnings.append(
                f"{importer} imports {name}, found neither beside the script nor installed "
                "here: the zip does not carry it (fine if that import is optional)"
            )
        else:
            problems.append(
                f"{importer} imports {name} from {where}, outside the script's folder, and no "
                "installed distribution lists it among its files (an editable install does "
                "not): the zip cannot carry it; move it beside the script, or pip install it"
            )
    for _, dist in sorted(needed.items()):
        wheel = dist.read_text("WHEEL") or ""
        if "Root-Is-Purelib: false" in wheel:
            problems.append(
                f"{dist.metadata['Name']} is a compiled package: a build for this machine may "
                "not load on the service; use a pure-Python alternative, or install it at run "
                "time with t_env.set_python_requirements(...)"
            )
    return needed


def _found_at(name: str) -> str | None:
    """Where this process would import the top-level module ``name`` from, if anywhere."""
    try:
        spec = util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.has_location:
        return str(spec.origin)
    return next(iter(spec.submodule_search_locations or []), str(spec.origin))


def _top_level_names(dist: metadata.Distribution) -> list[str]:
    text = dist.read_text("top_level.txt")
    if text:
        return [line.strip() for line in text.splitlines() if line.strip()]
    names = set()
    for file in dist.files or []:
        first = file.parts[0]
        if not first.endswith((".dist-info", ".egg-info", ".pth")) and first != "..":
            names.add(first[:-3] if first.endswith(".py") else first)
    if not names:  # an editable install records only its finder: ask the import system
        names = {_normalized(dist.metadata["Name"]).replace("-", "_")}
    return sorted(names)


def _distribution_files(dist: metadata.Distribution) -> Iterable[tuple[Path, str]]:
    """``(file, path in site-packages)`` of a distribution's modules and metadata."""
    for name in _top_level_names(dist):
        spec = util.find_spec(name)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            base = Path(next(iter(spec.submodule_search_locations)))
            skipped = _OWN_SKIPPED if name == "pyflink_kinesis" else ()
            for file in _files_under(base):
                relative = file.relative_to(base)
                if not relative.parts or relative.parts[0] not in skipped:
                    yield file, f"{name}/{relative.as_posix()}"
        elif spec.origin and spec.origin.endswith(".py"):
            yield Path(spec.origin), Path(spec.origin).name
    info = f"{_normalized(dist.metadata['Name']).replace('-', '_')}-{dist.version}.dist-info"
    for recorded in dist.files or []:
        if recorded.parts[0].endswith(".dist-info") and recorded.name not in _DIST_INFO_SKIPPED:
            yield Path(str(recorded.locate())), f"{info}/{recorded.name}"


def _write_zip(bundle: Bundle, root: Path, app: list[Path],
               distributions: dict[str, metadata.Distribution], jar: Path) -> None:
    bundle.path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{bundle.path.name}.", dir=bundle.path.parent)
    os.close(fd)
    marker = json.dumps({"jarfile": JARFILE, "extras": list(bundle.extras),
                         "runtime": RUNTIME}, indent=2)
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(set(app)):
                archive.write(root / path, f"{APP}/{path.as_posix()}")
            archive.write(jar, JARFILE)
            for dist in distributions.values():
                for file, name in _distribution_files(dist):
                    if file.is_file():
                        archive.write(file, f"{SITE_PACKAGES}/{name}")
            archive.writestr(f"{SITE_PACKAGES}/pyflink_kinesis/{MARKER}", marker)
        os.chmod(partial, 0o644)
        os.replace(partial, bundle.path)
    finally:
        Path(partial).unlink(missing_ok=True)


def _own_version() -> str:
    try:
        return metadata.version("pyflink-kinesis")
    except metadata.PackageNotFoundError:
        return "unknown"
