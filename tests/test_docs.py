"""``pyflink-kinesis docs`` (pyflink_kinesis/docs.py), and what keeps the pages a user reads true:
messages point at pages that exist, links between pages land, version pins agree."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pyflink_kinesis import docs
from tests.support.environment import fresh_process_environment

REPO = Path(__file__).parents[1]
PACKAGE = REPO / "pyflink_kinesis"
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_DOC_PATH = re.compile(r"(?<![\w/-])docs/[\w.-]+\.md")
_TOPIC = re.compile(r"pyflink-kinesis docs ([a-z][\w.-]*)")
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyflink_kinesis", "docs", *args],
                          capture_output=True, text=True, timeout=60,
                          env=fresh_process_environment())


def test_without_a_topic_it_lists_every_page_with_its_title() -> None:
    listed = run()
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[2:]}
    assert list(rows) == ["readme", *(path.stem for path in PAGES[1:])]
    assert "Writing with KinesisStreamsSink" in rows["sink"]


def test_a_topic_prints_its_page_as_it_is() -> None:
    for topic in ("sink", "SINK.md"):
        printed = run(topic)
        assert printed.returncode == 0, printed.stderr
        assert printed.stdout == (REPO / "docs" / "sink.md").read_text(encoding="utf-8")
    assert run("readme").stdout == (REPO / "README.md").read_text(encoding="utf-8")


def test_an_unknown_topic_is_one_line_on_stderr_and_exit_1() -> None:
    unknown = run("sinc")
    assert unknown.returncode == 1
    assert unknown.stdout == ""
    assert unknown.stderr.count("\n") == 1
    assert unknown.stderr.startswith("pyflink-kinesis docs: error: no page 'sinc'; did you mean "
                                     "'sink'? the topics are readme, cli, configuration, ")


def test_the_installed_layout_is_read_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    (tmp_path / "README.md").write_text("# pyflink-kinesis\n")
    (tmp_path / "sink.md").write_text("# Writing\n")
    monkeypatch.setattr(docs, "_INSTALLED", tmp_path)
    assert list(docs.pages()) == ["readme", "sink"]
    assert docs.page("sink") == "# Writing\n"


def package_strings() -> list[tuple[str, str]]:
    """Every string literal of the package (messages, docstrings, f-string parts), by file."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((str(path.relative_to(REPO)), node.value))
    return found


def test_no_message_of_the_package_points_at_a_docs_path() -> None:
    """A pip user has no docs/ folder: messages and docstrings name `pyflink-kinesis docs X`."""
    pointing = [(where, match) for where, text in package_strings()
                for match in _DOC_PATH.findall(text)]
    assert pointing == []


def test_every_topic_named_in_the_package_and_the_pages_exists() -> None:
    topics = set(docs.pages())
    named = [(where, topic) for where, text in package_strings()
             for topic in _TOPIC.findall(text)]
    named += [(page.name, topic) for page in PAGES
              for topic in _TOPIC.findall(page.read_text(encoding="utf-8"))]
    assert named
    assert [(where, topic) for where, topic in named
            if topic.removesuffix(".md").rstrip(".") not in topics] == []


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the page's headings."""
    found: set[str] = set()
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        fenced ^= line.lstrip().startswith("```")
        if not fenced and line.startswith("#"):
            heading = line.lstrip("#").strip().lower()
            anchor = re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")
            found.add(anchor if anchor not in found else f"{anchor}-1")
    return found


def test_every_link_between_pages_lands_on_a_page_and_a_heading() -> None:
    broken = []
    for page in PAGES:
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://")):
                continue
            file, _, anchor = target.partition("#")
            linked = (page.parent / file).resolve() if file else page
            if not linked.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []


def test_the_kubernetes_example_names_one_flink_release() -> None:
    """The image tag, the image's Flink and apache-flink, and the flink-python jar agree (the
    local PyFlink may be another 1.20 patch release: the job runs on the image's)."""
    deploy = (REPO / "docs" / "deploy.md").read_text(encoding="utf-8")
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", deploy, re.DOTALL)
               if "FlinkDeployment" in b]
    spec = yaml.safe_load(block)["spec"]
    dockerfile = (REPO / "docker" / "flink" / "Dockerfile").read_text(encoding="utf-8")
    versions = {
        "image tag": spec["image"].rsplit(":", 1)[1],
        "jarURI": re.fullmatch(r"local:///opt/flink/opt/flink-python-(.+)\.jar",
                               spec["job"]["jarURI"]).group(1),  # type: ignore[union-attr]
        "Dockerfile FROM": re.findall(r"^FROM flink:([\d.]+)-", dockerfile, re.MULTILINE)[0],
        "Dockerfile apache-flink": re.findall(r"apache-flink==([\d.]+)", dockerfile)[0],
    }
    assert len(set(versions.values())) == 1, versions
    assert spec["flinkVersion"] == "v" + "_".join(versions["image tag"].split(".")[:2])
