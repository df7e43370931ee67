"""Wheel build hook: our Java classes are compiled with Maven into the wheel.

``pip install .``, ``pip install pyflink-kinesis-<v>.tar.gz`` and ``python -m build`` all run
it; the wheel gets ``pyflink_kinesis/_jars/<artifact>-<version>.jar`` for each Maven module the
jar manifest lists as built (``[[flink."<line>".built]]``). It needs a JDK (11 or newer) and
Maven 3.8+ on PATH and reaches Maven Central for the modules' build dependencies; without them
the build stops, saying what is missing. A jar already in ``pyflink_kinesis/_jars`` that is
newer than its module's sources (``make jars``, or a Docker build stage with Maven) is taken as
it is. Editable installs (``pip install -e .``) skip the hook: a source checkout builds the jars
with ``make jars``.

Set ``PYFLINK_KINESIS_SKIP_JAVA_BUILD=1`` to build a wheel without our jars on purpose: the
package then serves everything made of the connector's classes alone and names the feature that
needs ours when it is used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python < 3.11 builds
    import tomli as tomllib

SKIP = "PYFLINK_KINESIS_SKIP_JAVA_BUILD"


class JavaBuildHook(BuildHookInterface):  # type: ignore[misc]
    """Builds the Maven modules of ``jars/`` and puts their jars into the wheel."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        if os.environ.get(SKIP, "") not in ("", "0", "false"):
            self.app.display_warning(f"{SKIP} is set: no pyflink_kinesis Java classes in the wheel")
            return
        root = Path(self.root)
        for module, jar in _built_jars(root):
            built = root / "pyflink_kinesis" / "_jars" / jar
            if _fresh(built, root / module):
                self.app.display_info(f"pyflink-kinesis: {jar} is built already")
            else:
                built = _maven_package(root / module, jar)
                self.app.display_info(f"pyflink-kinesis: built {jar} from {module} with Maven")
            build_data["force_include"][str(built)] = f"pyflink_kinesis/_jars/{jar}"


def _built_jars(root: Path) -> list[tuple[str, str]]:
    """``(module folder, jar file name)`` of every jar the manifest says we build."""
    with (root / "jars" / "manifest.toml").open("rb") as handle:
        manifest = tomllib.load(handle)
    found = []
    for line in manifest.get("flink", {}).values():
        for jar in line.get("built", ()):
            entry = (jar["source"], f"{jar['artifact']}-{jar['version']}.jar")
            if entry not in found:
                found.append(entry)
    return found


def _fresh(jar: Path, module: Path) -> bool:
    """Whether ``jar`` exists and is newer than every file of the Maven ``module``."""
    if not jar.is_file():
        return False
    sources = [module / "pom.xml", *(p for p in (module / "src").rglob("*") if p.is_file())]
    return all(source.stat().st_mtime <= jar.stat().st_mtime for source in sources)


def _maven_package(module: Path, jar: str) -> Path:
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(
            f"building the pyflink-kinesis wheel compiles its Java classes ({module.name}) with "
            f"Maven, and {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not on "
            "PATH. Install a JDK (11 or 17) and Maven 3.8 or newer, then build again; or set "
            f"{SKIP}=1 for a wheel without them (features that need them then say so)."
        )
    command = ["mvn", "-q", "-B", "-DskipTests", "-f", str(module / "pom.xml"), "package"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    built = module / "target" / jar
    if completed.returncode != 0 or not built.is_file():
        output = (completed.stdout + completed.stderr)[-3000:]
        raise RuntimeError(
            f"`{' '.join(command)}` failed (exit {completed.returncode}); Maven needs Maven "
            f"Central (or a mirror in ~/.m2/settings.xml) for the build dependencies:\n{output}"
        )
    return built
