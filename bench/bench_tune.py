"""Hyperparameter studies with ``python -m ecgsk.tune``: what pruning saves, what a worker adds.

Two measurements, each a real ``python -m ecgsk.tune`` run on real PTB-XL
records (a stratified, seeded subset, ``superdiagnostic``, CV folds 1 and 2):

1. **Pruning.** The same 20-trial study of a small network (``ECGCNN`` with
   8-32 filters on 10 s at 50 Hz, ``max_epochs`` 10, no early stopping; TPE
   seeded 0; the same records) run three times: ``--pruner none``,
   ``--pruner median`` (5 startup trials, 2 warm-up steps; steps are the
   epochs of each fold) and ``--pruner hyperband``. Reported: wall time of
   the command, time of the search alone (first trial start to last trial
   end, from the Optuna storage), the epochs trained in all trials (the
   compute, independent of the machine's load), trials complete/pruned,
   and the best CV macro AUROC with the spread of its two folds (the noise
   of a 2-fold score on a small subset), plus the final refit's test AUROC.
   Target: pruning saves at least 40 % of the time at a best score within
   that noise.
2. **Workers.** A study of N trials (``--pruner none``) on a PostgreSQL
   storage started here (127.0.0.1, a free port, a temporary folder) and
   an ``mlflow server`` (127.0.0.1, one worker, sqlite backend): one worker,
   then two workers on a fresh study. Reported: trials per hour of the
   search.

Every run has ``OMP_NUM_THREADS=1`` (torch on one core): one worker uses one
core, two workers two, and runs suffer less from other jobs on the machine.

Usage::

    python bench/bench_tune.py --data ../shared/data/ptb-xl \\
        --markdown bench/results/tune.md

The machine's load average is recorded before and after: on a shared
machine, times vary with the other jobs.
"""

import argparse
import glob
import os
import platform
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import cpu_name  # noqa: E402

PIPELINE = '''
"""Small 1-D CNN (ecgsk.nets.ECGCNN) on standardised 50 Hz signals, for bench_tune.py."""

from sklearn.pipeline import Pipeline

from ecgsk.nets import ECGCNN
from ecgsk.neural import ECGNetClassifier
from ecgsk.preprocessing import Standardizer

DATASET = "ptbxl"
TASK = "superdiagnostic"
SAMPLING_RATE = 50
LENGTH = 500


def make_pipeline(lr=1e-3, width=8, weight_decay=1e-4, max_epochs=10, random_state=0):
    return Pipeline([
        ("scale", Standardizer()),
        ("net", ECGNetClassifier(
            ECGCNN, module__filters=(width, width, 2 * width, 2 * width), module__dense=(16,),
            max_epochs=max_epochs, batch_size=32, lr=lr, optimizer__weight_decay=weight_decay,
            patience=None, lr_patience=None, random_state=random_state)),
    ])


def search_space(trial):
    return {"lr": trial.suggest_float("lr", 1e-5, 1e-1, log=True),
            "width": trial.suggest_categorical("width", [8, 16, 32]),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True)}
'''


def machine():
    cpu = cpu_name()
    import mlflow
    import optuna
    import torch

    return {"cpu": cpu, "logical cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "optuna": optuna.__version__,
            "mlflow": mlflow.__version__, "platform": platform.platform()}


def load():
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def empty_store(folder):
    """A sqlite MLflow store with its tables (made once, copied per run)."""
    from mlflow.tracking import MlflowClient

    path = folder / "empty.db"
    MlflowClient(f"sqlite:///{path}").search_experiments(max_results=1)
    return path


def search_stats(storage, name):
    """Trials by state, the search span in seconds, and the best trial, from the storage."""
    import optuna
    from optuna.trial import TrialState

    from ecgsk.tune import with_driver

    study = optuna.load_study(study_name=name, storage=with_driver(storage))
    trials = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    start = min(t.datetime_start for t in trials)
    end = max(t.datetime_complete for t in trials)
    best = study.best_trial
    cv = best.user_attrs.get("cv_values", [])
    final = study.user_attrs.get("ecgsk.final") or {}
    return {"complete": sum(t.state == TrialState.COMPLETE for t in trials),
            "epochs": sum(t.user_attrs.get("epochs", 0) for t in trials),
            "pruned": sum(t.state == TrialState.PRUNED for t in trials),
            "span": (end - start).total_seconds(), "best": best.value, "best_trial": best.number,
            "best_folds": cv, "final_run": final.get("run_id")}


ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def run_tune(args, cwd, log):
    cmd = [sys.executable, "-m", "ecgsk.tune", *map(str, args), "--no-progress"]
    start = time.monotonic()
    with open(log, "w") as out:
        done = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=ENV)
    wall = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}); see {log}")
    return wall


def test_auroc(tracking_uri, run_id):
    from mlflow.tracking import MlflowClient

    m = MlflowClient(tracking_uri).get_run(run_id).data.metrics
    return m["test_macro_auroc"], m["test_macro_auroc_ci_low"], m["test_macro_auroc_ci_high"]


# -- PostgreSQL and an MLflow server, on 127.0.0.1 in a temporary folder ----------------------
def pg_bindir(given):
    for folder in [given, *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]:
        if folder and all(os.access(Path(folder) / exe, os.X_OK) for exe in ("initdb", "pg_ctl")):
            return Path(folder)
    return None


class Postgres:
    def __init__(self, bindir):
        self.bindir, self.folder = bindir, Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.prefix = []
        if os.geteuid() == 0:  # PostgreSQL refuses root
            try:
                entry = pwd.getpwnam("postgres")
                user = "postgres"
            except KeyError:
                user, entry = "nobody", pwd.getpwnam("nobody")
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
            self.prefix = ["runuser", "-u", user, "--"]
        self.port = free_port()
        self.data = self.folder / "data"

    def start(self):
        subprocess.run(self.prefix + [str(self.bindir / "initdb"), "-D", str(self.data), "-U",
                                      "bench", "--auth=trust", "-E", "UTF8"],
                       check=True, capture_output=True)
        subprocess.run(self.prefix + [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                                      str(self.folder / "log"), "-o",
                                      f"-h 127.0.0.1 -p {self.port} -k {self.folder}", "-w",
                                      "start"], check=True, capture_output=True)
        return self

    def create_db(self, name):
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="bench",
                                dbname="postgres")
        conn.autocommit = True
        conn.cursor().execute(f"CREATE DATABASE {name}")
        conn.close()
        return f"postgresql://bench@127.0.0.1:{self.port}/{name}"

    def stop(self):
        subprocess.run(self.prefix + [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m",
                                      "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_mlflow_server(folder, store):
    backend = folder / "server.db"
    shutil.copy(store, backend)
    port = free_port()
    log = open(folder / "server.log", "w")  # noqa: SIM115 -- closed by stop_mlflow_server
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("mlflow")), "server", "--backend-store-uri",
         f"sqlite:///{backend}", "--artifacts-destination", str(folder / "artifacts"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return proc, log, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"mlflow server did not start; see {folder / 'server.log'}")
            time.sleep(0.3)


def stop_mlflow_server(proc, log):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="PTB-XL root")
    parser.add_argument("--max-records", type=int, default=400)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--pg-trials", type=int, default=8,
                        help="trials of each PostgreSQL study (1 worker, then 2)")
    parser.add_argument("--pg-bindir", help="folder of initdb and pg_ctl")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-pruning", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--markdown", help="write the results here")
    args = parser.parse_args()
    data = Path(args.data).expanduser().resolve()  # the runs start in their own folders

    work = Path(tempfile.mkdtemp(prefix="bench-tune-"))
    (work / "pipes").mkdir()
    pipe = work / "pipes" / "bench_net.py"
    pipe.write_text(textwrap.dedent(PIPELINE).lstrip())
    cache = work / "signals"
    store = empty_store(work)
    info = machine()
    load_before = load()
    common = ["--pipeline", pipe, "--dataset", "ptbxl", "--task", "superdiagnostic",
              "--data", data, "--folds", 1, 2, "--max-records", args.max_records,
              "--seed", 0, "--sampler", "tpe", "--set", f"max_epochs={args.epochs}",
              "--n-boot", 200, "--cache-dir", cache]
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    say(f"data: PTB-XL superdiagnostic, stratified subset of {args.max_records} records "
        f"(seed 0), CV folds 1 and 2; network: ECGCNN 8-32 filters, 50 Hz x 500 samples, "
        f"max_epochs {args.epochs}, batch 32; TPE seeded 0; {args.trials} trials")
    # Read the records into the cache first, so neither run pays for it.
    from ecgsk.compare._data import load_dataset, load_signals, stratified_subset

    ds = stratified_subset(load_dataset("ptbxl", "superdiagnostic", data, 50),
                           args.max_records, 0)
    load_signals(ds.X, sampling_rate=50, length=500, cache_dir=cache)

    runs = [("no pruning", ["--pruner", "none"]),
            ("median pruning", ["--pruner", "median", "--pruner-startup-trials", 5,
                                "--pruner-warmup-steps", 2]),
            ("hyperband pruning", ["--pruner", "hyperband"])]
    results = {}
    for label, pruner in ([] if args.skip_pruning else runs):
        folder = work / label.replace(" ", "_")
        folder.mkdir()
        shutil.copy(store, folder / "mlflow.db")
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        wall = run_tune(common + pruner + ["--n-trials", args.trials, "--tracking-uri", uri,
                                           "--study-name", "bench"], folder,
                        log=folder / "tune.log")
        stats = search_stats(f"sqlite:///{folder / 'optuna.db'}", "bench")
        stats["wall"] = wall
        stats["test"] = test_auroc(uri, stats["final_run"])
        results[label] = stats

    if results:
        say()
        say("| run | trials complete / pruned | epochs trained | wall time (s) | search time (s) "
            "| best CV macro AUROC (trial; its 2 folds) | test macro AUROC of its refit "
            "[95% CI] |")
        say("|---|---|---|---|---|---|---|")
        for label, s in results.items():
            folds = ", ".join(f"{v:.3f}" for v in s["best_folds"])
            t, lo, hi = s["test"]
            say(f"| {label} | {s['complete']} / {s['pruned']} | {s['epochs']} | {s['wall']:.0f} | "
                f"{s['span']:.0f} | {s['best']:.3f} (#{s['best_trial']}; {folds}) | "
                f"{t:.3f} [{lo:.3f}, {hi:.3f}] |")
        base = results["no pruning"]
        say()
        for label, pruned in list(results.items())[1:]:
            saved = 1 - pruned["span"] / base["span"]
            saved_wall = 1 - pruned["wall"] / base["wall"]
            saved_epochs = 1 - pruned["epochs"] / base["epochs"]
            spread = [abs(f[0] - f[1]) / 2 for f in (base["best_folds"], pruned["best_folds"])
                      if len(f) == 2]
            say(f"- {label} saves {100 * saved:.0f} % of the search time, "
                f"{100 * saved_wall:.0f} % of the wall time and {100 * saved_epochs:.0f} % of the "
                f"epochs; best CV score "
                f"{pruned['best']:.3f} vs {base['best']:.3f} without pruning (difference "
                f"{pruned['best'] - base['best']:+.3f}; half the spread of a best trial's two "
                f"folds, the noise of one 2-fold score: {max(spread, default=float('nan')):.3f})")

    if not args.skip_pg:
        bindir = pg_bindir(args.pg_bindir)
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            bindir = None
        if bindir is None:
            say("\nPostgreSQL part skipped: initdb/pg_ctl or psycopg2 not found.")
        else:
            pg = Postgres(bindir).start()
            server, server_log, url = start_mlflow_server(work, store)
            try:
                say()
                say(f"PostgreSQL storage ({bindir}), MLflow server {url} (sqlite backend, 1 "
                    f"worker); {args.pg_trials} trials, --pruner none")
                say()
                say("| workers | trials | search time (s) | trials per hour | wall time (s) |")
                say("|---|---|---|---|---|")
                for n_workers in (1, 2):
                    storage = pg.create_db(f"w{n_workers}")
                    folder = work / f"pg{n_workers}"
                    folder.mkdir()
                    cmd = [sys.executable, "-m", "ecgsk.tune", *map(str, common), "--pruner",
                           "none", "--n-trials", str(args.pg_trials), "--storage", storage,
                           "--tracking-uri", url, "--study-name", f"w{n_workers}",
                           "--experiment", f"bench-{n_workers}", "--no-progress"]
                    logs = [open(folder / f"w{i}.log", "w")  # noqa: SIM115 -- closed below
                            for i in range(n_workers)]
                    start = time.monotonic()
                    procs = [subprocess.Popen(cmd, cwd=folder, env=ENV, stdout=log,
                                              stderr=subprocess.STDOUT) for log in logs]
                    codes = [p.wait() for p in procs]
                    wall = time.monotonic() - start
                    for log in logs:
                        log.close()
                    if any(codes):
                        sys.exit(f"a worker failed ({codes}); see {folder}")
                    s = search_stats(storage, f"w{n_workers}")
                    n = s["complete"] + s["pruned"]
                    say(f"| {n_workers} | {n} | {s['span']:.0f} | {3600 * n / s['span']:.0f} | "
                        f"{wall:.0f} |")
            finally:
                stop_mlflow_server(server, server_log)
                pg.stop()
    load_after = load()
    if args.markdown:
        command = "python bench/bench_tune.py " + " ".join(sys.argv[1:])
        text = ["# `python -m ecgsk.tune`: pruning and workers", "",
                "Command (from the repository root):", "", "```", command, "```", "",
                "Machine:", ""]
        text += [f"- {k}: {v}" for k, v in info.items()]
        text += [f"- load average (1, 5, 15 min) before: {load_before}",
                 f"- load average after: {load_after}", "",
                 "What runs: see the docstring of `bench/bench_tune.py`.", "", "Output:", ""]
        text += lines
        Path(args.markdown).write_text("\n".join(text) + "\n")
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
