"""Runtime properties of a Managed Service for Apache Flink application, and their local twin.

Managed Flink hands an application its runtime properties (property groups set on the
application) in ``/etc/flink/application_properties.json``: a JSON list of
``{"PropertyGroupId": ..., "PropertyMap": {...}}``. :func:`application_properties` reads that
file on the service and a file of the same format elsewhere, so one script runs in both places.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pyflink_kinesis.errors import KinesisError

#: Where Managed Service for Apache Flink puts the application's runtime properties.
SERVICE_PATH = Path("/etc/flink/application_properties.json")
#: The environment variable naming a local properties file (used when the service's is absent).
ENV_PATH = "PYFLINK_KINESIS_APPLICATION_PROPERTIES"
#: The property group that tells Managed Flink how to run a Python application.
RUN_OPTIONS_GROUP = "kinesis.analytics.flink.run.options"


class ApplicationPropertiesError(KinesisError, ValueError):
    """The application's runtime properties could not be found or read; the message says
    which file and what is wrong with it."""


def application_properties(path: str | os.PathLike[str] | None = None) -> dict[str, dict[str, str]]:
    """The runtime property groups: ``{group id: {key: value}}``.

    Read from ``path`` when given; otherwise from the service's file
    (``/etc/flink/application_properties.json``) when it exists, else from the file named by
    ``$PYFLINK_KINESIS_APPLICATION_PROPERTIES``. Raises :class:`ApplicationPropertiesError`
    when there is no file to read, or it is not a list of property groups (naming the file and
    the entry). Values are strings, as the service gives them.
    """
    source = _source(path)
    try:
        groups = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ApplicationPropertiesError(f"cannot read {source}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ApplicationPropertiesError(f"{source} is not valid JSON: {exc}") from exc
    return _groups(groups, source)


def _source(path: str | os.PathLike[str] | None) -> Path:
    if path is not None:
        return Path(path)
    if SERVICE_PATH.is_file():
        return SERVICE_PATH
    configured = os.environ.get(ENV_PATH)
    if configured:
        return Path(configured)
    raise ApplicationPropertiesError(
        f"no application properties: {SERVICE_PATH} (where Managed Service for Apache Flink "
        f"puts them) does not exist and {ENV_PATH} is not set. Outside the service, write the "
        f"property groups to a JSON file and name it in {ENV_PATH}, or pass its path."
    )


def _groups(data: object, source: Path) -> dict[str, dict[str, str]]:
    expected = 'a JSON list of {"PropertyGroupId": "...", "PropertyMap": {"key": "value"}}'
    if not isinstance(data, list):
        raise ApplicationPropertiesError(f"{source} holds {type(data).__name__}; {expected}")
    groups: dict[str, dict[str, str]] = {}
    for index, group in enumerate(data):
        where = f"{source}, entry {index}"
        if not isinstance(group, dict) or not isinstance(group.get("PropertyGroupId"), str):
            raise ApplicationPropertiesError(f"{where} has no PropertyGroupId; {expected}")
        name, values = group["PropertyGroupId"], group.get("PropertyMap", {})
        if not isinstance(values, dict):
            raise ApplicationPropertiesError(f"{where} ({name}): PropertyMap is not an object")
        if name in groups:
            raise ApplicationPropertiesError(f"{where}: group {name!r} is given twice")
        groups[name] = {str(key): _text(value) for key, value in values.items()}
    return groups


def _text(value: object) -> str:
    """The service gives every value as a string; a local file may say 4 or true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)
