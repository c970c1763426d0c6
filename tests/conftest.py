"""Session-scoped real assets: sample survey, database servers, Dask cluster, S3 (moto)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from traptagger_lab.sample import SampleSpec, SampleSurvey, make_sample_survey

REPO = Path(__file__).resolve().parent.parent
#: The suite's own knobs; every other ``TRAPTAGGER_*`` variable is the caller's deployment.
SUITE_SETTINGS = ("TRAPTAGGER_SHARED_DATA", "TRAPTAGGER_TEST_MYSQL", "TRAPTAGGER_TEST_POSTGRES")


def clear_caller_settings() -> list[str]:
    """Remove the caller's ``TRAPTAGGER_*`` settings from this process (and so from every
    process a test starts): a server user's real database or store must never be what a
    test reads or writes. Returns the names removed."""
    names = [n for n in os.environ if n.startswith("TRAPTAGGER_") and n not in SUITE_SETTINGS]
    for name in names:
        del os.environ[name]
    return names


clear_caller_settings()  # before any test, fixture or subprocess reads them
SHARED_DATA = Path(os.environ.get("TRAPTAGGER_SHARED_DATA", REPO.parent / "shared" / "data"))
MYSQL_SERVER = os.environ.get("TRAPTAGGER_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306")
POSTGRES_SERVER = os.environ.get(
    "TRAPTAGGER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432"
)
#: The two database servers, as fixture params (organisations are provisioned on servers only).
SERVERS = [
    pytest.param(MYSQL_SERVER, marks=pytest.mark.mysql, id="mysql"),
    pytest.param(POSTGRES_SERVER, marks=pytest.mark.postgres, id="postgres"),
]
ARTIFACTS = REPO / "test-artifacts"

#: The small spec the self-contained tests use (fast to generate and ingest).
TEST_SPEC = SampleSpec(bursts_per_camera=4, width=640, height=480, seed=11)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-cloud",
        action="store_true",
        help="also run tests that start paid cloud resources (EC2)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-cloud"):
        return
    skip = pytest.mark.skip(reason="starts paid cloud resources: pass --run-cloud")
    for item in items:
        if "cloud" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_caller_settings() -> Iterator[None]:
    """Each test starts without deployment settings, and leaves none behind for the next."""
    clear_caller_settings()
    yield
    clear_caller_settings()


@pytest.fixture(scope="session")
def sample_survey(tmp_path_factory: pytest.TempPathFactory) -> SampleSurvey:
    """A generated survey with problem files and a video (read-only for tests)."""
    return make_sample_survey(tmp_path_factory.mktemp("sample") / "survey", TEST_SPEC)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The published reference data beside the checkout (skips when absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA


def _server_database(kind: str) -> Iterator[str]:
    """A fresh, empty database on a real server; dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"tt_test_{uuid.uuid4().hex[:12]}"
    server = MYSQL_SERVER if kind == "mysql" else POSTGRES_SERVER
    admin_db = "" if kind == "mysql" else "/postgres"
    admin = create_engine(server + admin_db, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # the server is down or unreachable: say so plainly
        pytest.fail(f"{kind} server at {server} is not usable ({exc}); .ci/run starts it")
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as connection:
            if kind == "postgres":
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("mysql", marks=pytest.mark.mysql),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend in turn: SQLite, MariaDB, PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lab.db'}"
    else:
        yield from _server_database(request.param)


@pytest.fixture(scope="session")
def dask_client() -> Iterator[object]:
    """A real two-worker LocalCluster shared by the tests that need one."""
    import logging

    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.WARNING,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A real moto S3 server on a free loopback port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: str) -> str:
    """A new, empty bucket on the moto server."""
    import boto3

    name = f"tt-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `traptagger` commands in-process on a fresh workspace (no Dask); asserts success."""
    from typer.testing import CliRunner

    from traptagger_lab.cli import app

    monkeypatch.setenv("TRAPTAGGER_WORKSPACE", str(tmp_path / "cli-workspace"))
    monkeypatch.setenv("TRAPTAGGER_DASK_SCHEDULER", "sync")
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result

    return invoke


@pytest.fixture
def lab_factory(tmp_path: Path) -> Iterator[object]:
    """Open labs on given settings; all are closed at the end of the test."""
    from traptagger_lab.lab import open_lab

    opened = []

    def factory(**settings: object) -> object:
        settings.setdefault("workspace", str(tmp_path / "workspace"))
        settings.setdefault("dask_scheduler", "sync")
        lab = open_lab(**settings)  # type: ignore[arg-type]
        opened.append(lab)
        return lab

    yield factory
    for lab in opened:
        lab.close()


@pytest.fixture
def lab(database_url: str, sample_survey: SampleSurvey, lab_factory: Any) -> Any:
    """A lab on each backend with the sample survey ingested and clustered (survey "S")."""
    lab = lab_factory(database_url=database_url)
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    return lab


def annotate_all(lab: Any, survey: str, labels: list[str]) -> Any:
    """A species task over the survey whose clusters are labelled in turn with ``labels``."""
    task = lab.tasks.create(survey, "species", labels=labels)
    while (job := lab.annotate.next_job(task, "ann", size=10)) is not None:
        for cluster in job.clusters:
            lab.annotate.submit(job, cluster, labels=[labels[cluster % len(labels)]])
    return task


@pytest.fixture(scope="session")
def random_detector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A YOLOv5n6 P6 detector with random (BatchNorm-calibrated) weights, in MD's file layout."""
    pytest.importorskip("torch", reason="detection needs the detect extra (make test installs it)")
    pytest.importorskip("megadetector")
    from traptagger_lab.detect.testing import build_random_detector

    # Seed 2 gives a model that is neither silent nor saturated on the sample photos
    # (random networks are chaotic; other seeds answer 0 or 300 boxes everywhere).
    path = tmp_path_factory.mktemp("models") / "md_random_n6.pt"
    return build_random_detector(path, "yolov5n6", seed=2)


def run_notebook(name: str, folder: Path) -> tuple[list[Any], str]:
    """Execute ``notebooks/<name>.ipynb`` in ``folder``; assert no cell failed.

    Returns its pictures (PNG bytes, also saved in test-artifacts/) and all its text output.
    """
    import base64

    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(REPO / f"notebooks/{name}.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pictures = [
        base64.b64decode(o["data"]["image/png"])
        for o in outputs
        if "image/png" in o.get("data", {})
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    for index, picture in enumerate(pictures):
        (ARTIFACTS / f"{name}_{index}.png").write_bytes(picture)
    text = "".join(
        str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in outputs
    )
    return pictures, text
