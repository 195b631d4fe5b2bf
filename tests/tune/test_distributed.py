"""Two workers share one study through PostgreSQL and one MLflow server; one is killed.

Needs the PostgreSQL server binaries (``initdb``, ``pg_ctl``: Debian/Ubuntu
package ``postgresql``, found in ``/usr/lib/postgresql/*/bin`` or through
``$ECGSK_PG_BINDIR``) and the ``psycopg2`` driver; skips naming what is
missing otherwise. The server listens on 127.0.0.1 on a free port, with a
password, in a temporary folder, and is stopped afterwards; as root it runs
as the ``postgres`` user (or ``nobody``), since PostgreSQL refuses root.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from ecgsk.tune import with_driver

from .conftest import finish, new_store, sleeping, start_tune, wait_for

pytestmark = pytest.mark.slow

PASSWORD = "pa55-w0rd-xyz"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bindir():
    candidates = [os.environ.get("ECGSK_PG_BINDIR")]
    if shutil.which("initdb"):
        candidates.append(str(Path(shutil.which("initdb")).parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
                         reverse=True)
    for folder in candidates:
        if folder and all(os.access(Path(folder) / exe, os.X_OK) for exe in ("initdb", "pg_ctl")):
            return Path(folder)
    return None


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server on 127.0.0.1 with a database ``optuna``; yields its URL."""
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: install the "
                    "'postgresql' package or set ECGSK_PG_BINDIR")
    try:
        import psycopg2
    except ImportError:
        pytest.skip("the psycopg2 driver is not installed (pip install psycopg2-binary)")
    folder = Path(tempfile.mkdtemp(prefix="ecgsk-pg-"))
    prefix = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = "postgres"
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            user, entry = "nobody", pwd.getpwnam("nobody")
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        prefix = ["runuser", "-u", user, "--"]
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if prefix:
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    data, port = folder / "data", _free_port()
    subprocess.run(prefix + [str(bindir / "initdb"), "-D", str(data), "-U", "ecgsk",
                             "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8"],
                   check=True, capture_output=True, timeout=120)
    subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"),
                             "-o", f"-h 127.0.0.1 -p {port} -k {folder}", "-w", "start"],
                   check=True, capture_output=True, timeout=120)
    try:
        conn = psycopg2.connect(host="127.0.0.1", port=port, user="ecgsk", password=PASSWORD,
                                dbname="postgres")
        conn.autocommit = True
        conn.cursor().execute("CREATE DATABASE optuna")
        conn.close()
        yield f"postgresql://ecgsk:{PASSWORD}@127.0.0.1:{port}/optuna"
    finally:
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                                 "stop"], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def mlflow_server(empty_store, tmp_path_factory):
    """``mlflow server`` on 127.0.0.1 (one worker, no job execution); yields its URL."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    backend = new_store(empty_store, folder / "store")
    port = _free_port()
    exe = Path(sys.executable).with_name("mlflow")
    log = open(folder / "server.log", "w")  # noqa: SIM115 -- closed below
    proc = subprocess.Popen(
        [str(exe), "server", "--backend-store-uri", backend, "--artifacts-destination",
         str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("mlflow server did not start:\n"
                                + (folder / "server.log").read_text()[-3000:])
                time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server and its uvicorn worker
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_two_workers_share_a_study_and_survive_a_kill(
        postgres, mlflow_server, pipeline_files, ptbxl_root, signal_cache, tmp_path,
        monkeypatch):
    n_trials, name = 6, "shared-study"
    args = ["--pipeline", pipeline_files["slow_lr"], "--dataset", "ptbxl",
            "--task", "superdiagnostic", "--data", ptbxl_root, "--n-trials", n_trials,
            "--folds", 1, "--max-records", 200, "--n-boot", 20, "--storage", postgres,
            "--tracking-uri", mlflow_server, "--experiment", "shared", "--study-name", name,
            "--cache-dir", signal_cache, "--set", "sleep=3", "--no-progress"]
    mark = str(tmp_path / "sleeping")
    monkeypatch.setenv("ECGSK_TEST_SLEEP_MARK", mark)
    survivor = start_tune(args, tmp_path, tmp_path / "a.log")
    victim = start_tune(args, tmp_path, tmp_path / "b.log")

    def trials():
        try:
            return optuna.load_study(study_name=name, storage=with_driver(postgres)).get_trials()
        except KeyError:
            return []

    def of_victim(t):
        return (t.user_attrs.get("ecgsk.worker") or {}).get("pid") == victim.pid

    def victim_running():
        # Kill the second worker only once it has completed a trial of its own, so that
        # "both workers completed trials" below does not depend on timing under load.
        ts = trials()
        if not any(t.state == TrialState.COMPLETE and of_victim(t) for t in ts):
            return None
        # Its parameters sampled too: the trial queued again must repeat them. Then wait
        # for its 3 s sleep to begin, so that the kill sent next lands in it (at least 2 s
        # of it are left: sleeping() says so within 1 s of its start).
        trial = next((t for t in ts if t.state == TrialState.RUNNING and of_victim(t)
                      and "mlflow_run_id" in t.user_attrs and t.params), None)
        return trial if trial and sleeping(mark, victim.pid) else None

    killed = wait_for(victim_running, 240, "a trial of the second worker", [survivor, victim])
    victim.kill()
    finish(victim)
    status, log = finish(survivor, timeout=300)
    assert status == 0, log[-3000:]
    assert PASSWORD not in log and "postgresql://ecgsk:***@127.0.0.1" in log

    # Exactly the total asked, no trial left running or queued, none lost.
    final = {t.number: t for t in trials()}
    states = [t.state for t in final.values()]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == n_trials
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states
    workers = {(t.user_attrs.get("ecgsk.worker") or {}).get("uid") for t in final.values()
               if t.state == TrialState.COMPLETE}
    assert len(workers) == 2  # both workers completed trials
    assert final[killed.number].state == TrialState.FAIL
    (retry,) = [t for t in final.values() if t.system_attrs.get("failed_trial") == killed.number]
    assert retry.state == TrialState.COMPLETE and retry.params == killed.params != {}
    failed = [t for t in final.values() if t.state == TrialState.FAIL]
    surplus = [t for t in failed if t.user_attrs.get("ecgsk.surplus")]
    assert len(failed) == 1 + len(surplus)

    # One parent run for both workers; one run per trial that ran, with its state.
    client = MlflowClient(mlflow_server)
    exp = client.get_experiment_by_name("shared")
    runs = client.search_runs([exp.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("ecgsk.role") == "study"]
    assert parent.info.status == "FINISHED"
    trial_runs = [r for r in runs if r.data.tags.get("ecgsk.role") == "trial"]
    numbers = [int(r.data.tags["trial_number"]) for r in trial_runs]
    assert len(numbers) == len(set(numbers))  # no duplicate trial numbers
    assert set(numbers) == {t.number for t in final.values()} - {t.number for t in surplus}
    for run in trial_runs:
        trial = final[int(run.data.tags["trial_number"])]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.tags["state"] == trial.state.name
        assert run.info.status == ("KILLED" if trial.number == killed.number else "FINISHED")
    assert not [r for r in runs if r.info.status == "RUNNING"]
    (final_run,) = [r for r in runs if r.data.tags.get("ecgsk.role") == "final"]
    assert client.get_model_version(name, "1").run_id == final_run.info.run_id
    assert parent.data.params["tune.storage"] == postgres.replace(PASSWORD, "***")
    for run in runs:
        for value in [*run.data.params.values(), *run.data.tags.values()]:
            assert PASSWORD not in value


def test_workers_starting_at_once_create_optunas_tables_once(postgres):
    """Optuna's own table creation races on an empty PostgreSQL database; open_storage retries."""
    from concurrent.futures import ThreadPoolExecutor

    import psycopg2

    from ecgsk.tune import open_storage

    url = postgres.rsplit("/", 1)[0]
    host, port = url.rsplit("@", 1)[1].split(":")
    conn = psycopg2.connect(host=host, port=int(port), user="ecgsk", password=PASSWORD,
                            dbname="postgres")
    conn.autocommit = True
    conn.cursor().execute("CREATE DATABASE race")
    conn.close()
    with ThreadPoolExecutor(4) as pool:
        storages = list(pool.map(lambda _: open_storage(url + "/race"), range(4)))
    study = optuna.create_study(storage=storages[0], study_name="race")
    assert [s.get_study_id_from_name("race") for s in storages] == [study._study_id] * 4


def test_compare_against_a_server_prints_no_credentials(mlflow_server, pipeline_files,
                                                        ptbxl_root, signal_cache, tmp_path):
    """MLflow prints a "View run ... at <tracking URI>" line per run unless told not to."""
    secret_uri = mlflow_server.replace("http://", "http://alice:S3cret-pw@")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"}
    proc = subprocess.run(
        [sys.executable, "-m", "ecgsk.compare", "--pipelines", str(pipeline_files["stats_lr"]),
         "--dataset", "ptbxl", "--task", "superdiagnostic", "--data", str(ptbxl_root),
         "--max-records", "60", "--no-cv", "--n-boot", "20", "--tracking-uri", secret_uri,
         "--experiment", "secret", "--cache-dir", str(signal_cache), "--no-progress"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "stats_lr" in proc.stdout  # the comparison's table
    assert "S3cret-pw" not in proc.stdout + proc.stderr
    client = MlflowClient(mlflow_server)
    runs = client.search_runs([client.get_experiment_by_name("secret").experiment_id])
    assert runs and all("S3cret-pw" not in str(r.data.params) + str(r.data.tags) for r in runs)
