"""pyflink_kinesis.workers: a local job's worker interpreter, without a JVM (settings are a dict).

Real jobs with these settings run in tests/e2e/test_first_run.py.
"""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path

import pytest

from pyflink_kinesis import PythonWorkerError, workers
from pyflink_kinesis.workers import (
    CLIENT_EXECUTABLE,
    EXECUTABLE,
    EXECUTION_MODE,
    LOOPBACK_ADDRESS,
    PYTHON_PATH,
    import_path,
    prepare_local_job,
)
from tests.support.interpreters import python_without_packages


class Settings(dict[str, str]):
    """A job's settings as :class:`workers.JobSettings`."""

    def get(self, key: str) -> str | None:  # type: ignore[override]
        return super().get(key)

    def set(self, key: str, value: str) -> None:
        self[key] = value


@pytest.fixture(autouse=True)
def no_client_executable_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(workers.CLIENT_EXECUTABLE_ENV, raising=False)


def test_both_interpreters_default_to_this_one() -> None:
    settings = Settings({LOOPBACK_ADDRESS: "localhost:1"})
    prepare_local_job(settings)
    assert settings[EXECUTABLE] == settings[CLIENT_EXECUTABLE] == sys.executable
    assert PYTHON_PATH not in settings  # not thread mode


def test_values_the_user_set_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings({EXECUTABLE: sys.executable, CLIENT_EXECUTABLE: "/opt/py/bin/python",
                         EXECUTION_MODE: "thread", PYTHON_PATH: "/mine"})
    prepare_local_job(settings)
    assert settings == {EXECUTABLE: sys.executable, CLIENT_EXECUTABLE: "/opt/py/bin/python",
                        EXECUTION_MODE: "thread", PYTHON_PATH: "/mine"}
    monkeypatch.setenv(workers.CLIENT_EXECUTABLE_ENV, "/opt/py/bin/python")
    from_variable = Settings()
    prepare_local_job(from_variable)
    assert CLIENT_EXECUTABLE not in from_variable  # Flink reads the variable


def test_thread_mode_gets_this_virtualenvs_import_path() -> None:
    settings = Settings({EXECUTION_MODE: "thread"})
    prepare_local_job(settings)
    entries = settings[PYTHON_PATH].split(os.pathsep)
    assert site.getsitepackages()[0] in entries  # pemja, pyflink
    assert str(Path(workers.__file__).parents[1]) in entries  # this checkout (editable)


def test_the_import_path_leaves_out_the_base_installation() -> None:
    stdlib = os.path.dirname(os.__file__)
    entries = import_path([stdlib, *site.getsitepackages(), ""]).split(os.pathsep)
    assert stdlib not in entries
    assert entries == [*site.getsitepackages(), os.getcwd()]


@pytest.mark.parametrize(
    ("settings", "missing"),
    [
        ({LOOPBACK_ADDRESS: "localhost:1"}, "pyflink"),  # Flink runs it only to find PyFlink
        ({}, "pyflink, pyflink_kinesis"),  # process mode: the workers run in it
        ({EXECUTION_MODE: "thread"}, "pemja, pyflink, pyflink_kinesis"),
    ],
    ids=["loopback", "process", "thread"],
)
def test_an_interpreter_without_what_its_workers_import_is_refused(
    tmp_path: Path, settings: dict[str, str], missing: str
) -> None:
    python = python_without_packages(tmp_path)
    with pytest.raises(PythonWorkerError) as raised:
        prepare_local_job(Settings({EXECUTABLE: python, **settings}))
    assert str(raised.value) == (
        f"the job's Python workers cannot start: python.executable is {python!r}, which cannot "
        f"import {missing}. Install apache-flink and pyflink-kinesis into that interpreter, set "
        "python.executable to one that has them, or leave it unset: a local job's workers then "
        f"run with the interpreter of this script ({sys.executable}).")


def test_an_interpreter_that_is_not_there_is_refused_by_name() -> None:
    with pytest.raises(PythonWorkerError, match=r"'python9\.99', which is not an executable "
                                                r"file on PATH"):
        prepare_local_job(Settings({EXECUTABLE: "python9.99"}))
    with pytest.raises(PythonWorkerError, match=r"which is not an executable file\. Install"):
        prepare_local_job(Settings({EXECUTABLE: "/nowhere/bin/python"}))


def test_a_bare_name_is_looked_up_on_path_as_flink_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "python").symlink_to(python_without_packages(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PythonWorkerError,
                       match=rf"is 'python' \({tmp_path}/python\), which cannot import pyflink"):
        prepare_local_job(Settings({EXECUTABLE: "python", LOOPBACK_ADDRESS: "localhost:1"}))
