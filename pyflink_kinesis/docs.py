"""The documentation, where the package is installed: ``pyflink-kinesis docs [TOPIC]``.

The wheel carries the repository's ``docs/`` folder and ``README.md`` in
``pyflink_kinesis/_docs/`` (pyproject.toml's force-include); a source checkout reads them where
they are. A page's topic is its file name without ``.md`` (``sink`` for ``sink.md``), and
``readme`` for the README. Pages link to each other as ``NAME.md``: ``pyflink-kinesis docs NAME``
prints that page.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from pyflink_kinesis.errors import KinesisError

_INSTALLED = Path(__file__).parent / "_docs"
_CHECKOUT = Path(__file__).parent.parent
README_TOPIC = "readme"
_README_TITLE = "Install, quickstart, and which page covers what"


def pages() -> dict[str, Path]:
    """Every page by topic: the README first, then ``docs/*.md`` by name."""
    if _INSTALLED.is_dir():
        folder, readme = _INSTALLED, _INSTALLED / "README.md"
    else:
        folder, readme = _CHECKOUT / "docs", _CHECKOUT / "README.md"
    found = {README_TOPIC: readme} if readme.is_file() else {}
    found.update((path.stem, path) for path in sorted(folder.glob("*.md"))
                 if path.name != "README.md")
    return found


def title(path: Path) -> str:
    """A page's first heading, without Markdown's marks."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].replace("`", "").strip()
    return path.stem


def listing() -> str:
    """The topics, each with its page's title, as ``pyflink-kinesis docs`` prints them."""
    found = pages()
    width = max(map(len, found), default=0)
    lines = ["pyflink-kinesis docs TOPIC prints a page:", ""]
    lines += [f"  {topic:<{width}}  {_README_TITLE if topic == README_TOPIC else title(path)}"
              for topic, path in found.items()]
    return "\n".join(lines) + "\n"


def page(topic: str) -> str:
    """The Markdown of the page ``topic`` (``sink``, ``sink.md`` and ``SINK`` alike).

    Raises :class:`~pyflink_kinesis.errors.KinesisError` naming the topics when there is no
    such page.
    """
    found = pages()
    wanted = topic.lower()[:-3] if topic.lower().endswith(".md") else topic.lower()
    if wanted in found:
        return found[wanted].read_text(encoding="utf-8")
    close = difflib.get_close_matches(wanted, found, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise KinesisError(f"no page {topic!r}; {hint}the topics are {', '.join(found)}")
