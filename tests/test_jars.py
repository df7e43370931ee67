"""Jar resolution: the manifest, the search order, size and checksum checks, and downloads."""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Iterator

import pytest

from pyflink_kinesis import jars
from pyflink_kinesis.errors import JarResolutionError, UnsupportedFlinkVersionError

CONTENT = b"PK\x03\x04 a small stand-in for a jar"


def spec_for(content: bytes, artifact: str = "demo-connector") -> jars.JarSpec:
    return jars.JarSpec(
        group="org.example",
        artifact=artifact,
        version="1.0-1.20",
        size=len(content),
        sha1=hashlib.sha1(content).hexdigest(),
        sha256=hashlib.sha256(content).hexdigest(),
    )


SPEC = spec_for(CONTENT)
MANIFEST = jars.JarManifest({"1.20": (SPEC,)})


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every search location at empty temporary directories."""
    monkeypatch.setenv("PYFLINK_KINESIS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PYFLINK_KINESIS_JARS_DIR", raising=False)
    monkeypatch.delenv("PYFLINK_KINESIS_OFFLINE", raising=False)
    monkeypatch.setattr(jars, "_CHECKOUT_JARS_DIR", tmp_path / "checkout-jars")
    monkeypatch.setattr(jars, "_maven_local_repository", lambda: tmp_path / "m2")


def put(directory: Path, content: bytes = CONTENT, spec: jars.JarSpec = SPEC) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / spec.filename
    path.write_bytes(content)
    return path


@pytest.fixture
def maven_repo(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Maven repository layout served over HTTP on loopback; yields (url, root)."""
    root = tmp_path / "repo"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


def publish(root: Path, content: bytes) -> None:
    path = root / SPEC.repository_path
    path.parent.mkdir(parents=True)
    path.write_bytes(content)


def test_the_shipped_manifest_pins_the_flink_1_20_jars() -> None:
    specs = jars.load_manifest().jars_for("1.20.5")
    connector = specs[0]
    assert connector.coordinates == "org.apache.flink:flink-connector-kinesis:4.3.0-1.19"
    assert all(len(s.sha256) == 64 and len(s.sha1) == 40 and s.size > 0 for s in specs)
    assert len({s.coordinates for s in specs}) == len(specs)


def test_unsupported_flink_version_names_installed_and_supported_versions() -> None:
    with pytest.raises(UnsupportedFlinkVersionError) as error:
        MANIFEST.jars_for("1.17.2")
    assert "1.17.2" in str(error.value) and "1.20" in str(error.value)


def test_the_user_directory_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = put(tmp_path / "mine")
    put(tmp_path / "cache")
    put(tmp_path / "checkout-jars")
    monkeypatch.setenv("PYFLINK_KINESIS_JARS_DIR", str(tmp_path / "mine"))
    assert jars.resolve_jars(flink_version="1.20.0", manifest=MANIFEST) == [user]


def test_search_order_cache_then_checkout_then_maven_repository(tmp_path: Path) -> None:
    in_m2 = put((tmp_path / "m2" / SPEC.repository_path).parent)
    assert jars.resolve_jars(flink_version="1.20.0", manifest=MANIFEST) == [in_m2]
    in_checkout = put(tmp_path / "checkout-jars")
    assert jars.resolve_jars(flink_version="1.20.0", manifest=MANIFEST) == [in_checkout]
    in_cache = put(tmp_path / "cache")
    assert jars.resolve_jars(flink_version="1.20.0", manifest=MANIFEST) == [in_cache]


def test_a_jar_of_the_wrong_size_is_reported_not_used(tmp_path: Path) -> None:
    put(tmp_path / "cache", CONTENT + b"tail")
    with pytest.raises(JarResolutionError, match="bytes"):
        jars.resolve_jars(flink_version="1.20.0", manifest=MANIFEST)


def test_download_verifies_and_caches(tmp_path: Path, maven_repo: tuple[str, Path],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    url, root = maven_repo
    publish(root, CONTENT)
    monkeypatch.setenv("PYFLINK_KINESIS_MAVEN_URL", url)
    [path] = jars.resolve_jars(flink_version="1.20.0", manifest=MANIFEST)
    assert path == tmp_path / "cache" / SPEC.filename
    assert path.read_bytes() == CONTENT
    assert sorted(p.name for p in path.parent.iterdir()) == [SPEC.filename]


def test_download_with_a_wrong_checksum_fails_and_leaves_nothing(
    tmp_path: Path, maven_repo: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, root = maven_repo
    tampered = bytes([CONTENT[0] ^ 1]) + CONTENT[1:]  # same size, other bytes
    publish(root, tampered)
    monkeypatch.setenv("PYFLINK_KINESIS_MAVEN_URL", url)
    with pytest.raises(JarResolutionError, match="sha256"):
        jars.resolve_jars(flink_version="1.20.0", manifest=MANIFEST)
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_missing_artifact_says_where_it_looked(maven_repo: tuple[str, Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = maven_repo
    monkeypatch.setenv("PYFLINK_KINESIS_MAVEN_URL", url)
    with pytest.raises(JarResolutionError, match=r"could not download .*404"):
        jars.resolve_jars(flink_version="1.20.0", manifest=MANIFEST)


def test_offline_mode_does_not_download(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYFLINK_KINESIS_OFFLINE", "1")
    with pytest.raises(JarResolutionError, match="downloads are off"):
        jars.resolve_jars(flink_version="1.20.0", manifest=MANIFEST)


def test_verify_detects_changed_content(tmp_path: Path) -> None:
    good = put(tmp_path / "a")
    jars.verify(good, SPEC)
    bad = tmp_path / "b" / SPEC.filename
    bad.parent.mkdir()
    bad.write_bytes(bytes([CONTENT[0] ^ 1]) + CONTENT[1:])
    with pytest.raises(JarResolutionError, match="sha256"):
        jars.verify(bad, SPEC)


BUILT = jars.BuiltJar(artifact="our-classes", version="0.1.0", source="jars/our-classes")
GLUE_BUILT = jars.BuiltJar(artifact="our-glue", version="0.1.0", source="jars/g", extra="glue")
GLUE_SPEC = spec_for(b"glue jar", artifact="glue-lib")
WITH_BUILT = jars.JarManifest(
    {"1.20": (SPEC,)},
    built={"1.20": (BUILT, GLUE_BUILT)},
    extras={"1.20": {"glue": (GLUE_SPEC,)}},
)


def test_our_built_jar_comes_with_every_set_and_extras_only_on_demand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jars, "BUILT_JARS_DIR", tmp_path / "built")
    connector = put(tmp_path / "checkout-jars")
    glue = put(tmp_path / "checkout-jars", b"glue jar", GLUE_SPEC)
    (tmp_path / "built").mkdir()
    (tmp_path / "built" / BUILT.filename).write_bytes(b"classes")
    (tmp_path / "built" / GLUE_BUILT.filename).write_bytes(b"glue classes")

    assert jars.resolve_jars(flink_version="1.20.5", manifest=WITH_BUILT) == [
        connector, tmp_path / "built" / BUILT.filename
    ]
    assert jars.resolve_extra("glue", flink_version="1.20.5", manifest=WITH_BUILT) == [
        glue, tmp_path / "built" / GLUE_BUILT.filename
    ]


def test_a_missing_built_jar_is_left_out_and_named_by_the_feature_that_needs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jars, "BUILT_JARS_DIR", tmp_path / "built")
    put(tmp_path / "checkout-jars")

    resolved = jars.resolve_jars(flink_version="1.20.5", manifest=WITH_BUILT)
    assert [p.name for p in resolved] == [spec.filename for spec in WITH_BUILT.lines["1.20"]]
    with pytest.raises(JarResolutionError,
                       match=r"^with_metadata needs our-classes-0\.1\.0\.jar.*make jars"):
        jars.own_jar("with_metadata", flink_version="1.20.5", manifest=WITH_BUILT)
    with pytest.raises(JarResolutionError, match=r"^the 'glue' jar set needs "):
        jars.resolve_extra("glue", flink_version="1.20.5", manifest=WITH_BUILT)


def test_an_unknown_extra_names_the_ones_there_are() -> None:
    with pytest.raises(JarResolutionError, match=r"no 'kafka' jars.*glue"):
        jars.resolve_extra("kafka", flink_version="1.20.5", manifest=WITH_BUILT)


def test_the_shipped_manifest_builds_what_the_java_modules_declare() -> None:
    """Each built jar's artifact and version match its Maven project (the Makefile copies
    ``target/<artifact>-<version>.jar``), and the Makefile builds it."""
    root = Path(jars.__file__).resolve().parent.parent
    makefile = (root / "Makefile").read_text()
    built = jars.load_manifest().built["1.20"]
    assert {jar.extra for jar in built} == {"", "glue"}
    for jar in built:
        pom = (root / jar.source / "pom.xml").read_text()
        project = pom.split("<dependencies>")[0]
        assert f"<artifactId>{jar.artifact}</artifactId>" in project
        assert re.search(rf"<version>{re.escape(jar.version)}</version>", project)
        assert f"pyflink_kinesis/_jars/{jar.filename}" in makefile


def jar_paths(*names: str) -> list[Path]:
    return [Path("/j") / name for name in names]


KINESIS = "flink-connector-kinesis-4.3.0-1.19.jar"
AWS_BASE = "flink-connector-aws-base-4.3.0-1.19.jar"


def test_class_path_order_puts_aws_base_just_before_the_kinesis_jar() -> None:
    """The first copy of a class wins: aws-base's own AWSExceptionClassifierUtil must win over
    the Kinesis jar's (compiled against its shaded SDK) wherever both are listed."""
    given = jar_paths("joda.jar", KINESIS, "ours.jar", "sdk-core.jar", AWS_BASE, "firehose.jar")
    assert jars.class_path_order(given) == jar_paths(
        "joda.jar", AWS_BASE, KINESIS, "ours.jar", "sdk-core.jar", "firehose.jar"
    )


@pytest.mark.parametrize(
    "names",
    [(AWS_BASE, "a.jar", KINESIS), (KINESIS, "a.jar"), ("a.jar", AWS_BASE), ("a.jar",), ()],
)
def test_class_path_order_leaves_other_orders_alone(names: tuple[str, ...]) -> None:
    assert jars.class_path_order(jar_paths(*names)) == jar_paths(*names)


def test_class_path_order_drops_a_jar_listed_twice() -> None:
    """The "glue" and "firehose" sets share aws-base and the AWS SDK jars."""
    given = jar_paths(KINESIS, AWS_BASE, "sdk-core.jar", AWS_BASE, "sdk-core.jar")
    assert jars.class_path_order(given) == jar_paths(AWS_BASE, KINESIS, "sdk-core.jar")


def test_the_shipped_firehose_set_is_the_connector_aws_base_and_its_sdk() -> None:
    manifest = jars.load_manifest()
    firehose = {spec.artifact: spec for spec in manifest.extra_for("1.20.5", "firehose")}
    assert firehose["flink-connector-aws-kinesis-firehose"].version == "4.3.0-1.19"
    glue = {spec.artifact: spec for spec in manifest.extra_for("1.20.5", "glue")}
    for shared in set(firehose) & set(glue):  # the same jar in both sets: one file serves both
        assert firehose[shared].sha256 == glue[shared].sha256
    assert next(iter(firehose)) == "flink-connector-aws-base"
    assert {"firehose", "netty-nio-client", "netty-codec-http2", "sdk-core"} <= set(firehose)
    assert {spec.version for spec in firehose.values() if spec.group == "software.amazon.awssdk"} \
        == {"2.22.12"}
    assert "flink-connector-kinesis" not in firehose


def test_maven_fetch_keeps_a_verified_jar_and_fetches_the_missing_ones_in_one_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make jars`` runs it for the base set and every optional set, which share jars."""
    present = put(tmp_path, CONTENT, spec_for(CONTENT, "present"))
    missing = [spec_for(b"fetched", "missing"), spec_for(b"also fetched", "other")]
    poms: list[str] = []
    commands: list[list[str]] = []

    def fake_mvn(command: list[str], check: bool) -> None:
        commands.append(command)
        poms.append(Path(command[command.index("-f") + 1]).read_text())
        for spec in missing:
            (tmp_path / spec.filename).write_bytes(b"fetched" if spec.artifact == "missing"
                                                   else b"also fetched")

    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/mvn")
    monkeypatch.setattr("subprocess.run", fake_mvn)
    paths = jars.fetch_with_maven([spec_for(CONTENT, "present"), *missing], tmp_path)
    assert paths == [present, *(tmp_path / spec.filename for spec in missing)]
    [pom] = poms
    assert "<artifactId>missing</artifactId>" in pom and "<artifactId>other</artifactId>" in pom
    assert "<artifactId>present</artifactId>" not in pom
    assert pom.count("<exclusion><groupId>*</groupId>") == 2  # the jars alone
    assert f"-DoutputDirectory={tmp_path.resolve()}" in commands[0]


def test_maven_fetch_gives_maven_an_absolute_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Maven resolves a relative output folder against its pom's (temporary) folder."""
    spec = spec_for(b"fetched", "lib")
    monkeypatch.chdir(tmp_path)

    def fake_mvn(command: list[str], check: bool) -> None:
        [folder] = [arg.split("=", 1)[1] for arg in command if arg.startswith("-DoutputDirectory")]
        assert Path(folder).is_absolute(), folder
        Path(folder, spec.filename).write_bytes(b"fetched")

    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/mvn")
    monkeypatch.setattr("subprocess.run", fake_mvn)
    assert jars.fetch_with_maven([spec], Path("jars")) == [Path("jars") / spec.filename]


def test_maven_fetch_takes_two_versions_of_one_artifact_in_two_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = spec_for(b"old", "lib"), replace(spec_for(b"new", "lib"), version="2.0")
    versions: list[list[str]] = []

    def fake_mvn(command: list[str], check: bool) -> None:
        pom = Path(command[command.index("-f") + 1]).read_text()
        listed = [spec for spec in (old, new) if f"<version>{spec.version}</version>" in pom]
        versions.append([spec.version for spec in listed])
        for spec in listed:
            (tmp_path / spec.filename).write_bytes(b"old" if spec is old else b"new")

    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/mvn")
    monkeypatch.setattr("subprocess.run", fake_mvn)
    jars.fetch_with_maven([old, new], tmp_path)
    assert versions == [[old.version], [new.version]]


