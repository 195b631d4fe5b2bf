"""Pipeline parameters, data hashes and environment tags."""

import subprocess
from pathlib import Path

import mlflow
import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import ecgsk
from ecgsk.tracking._masking import is_secret_key
from ecgsk.tracking import (
    data_hash,
    environment_tags,
    log_data_info,
    log_environment,
    log_pipeline_params,
    mask_secrets,
    pipeline_params,
    setup_tracking,
    tracked_run,
)


class Remote(TransformerMixin, BaseEstimator):
    """A step with credentials among its parameters."""

    def __init__(self, uri="https://bob:s3cret@host/api?token=abc", api_token="xyz",
                 notes="", weights=None):
        self.uri = uri
        self.api_token = api_token
        self.notes = notes
        self.weights = weights

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


def _pipe(**remote):
    return Pipeline([("remote", Remote(**remote)),
                     ("flat", FunctionTransformer(np.ravel)),
                     ("scale", StandardScaler()),
                     ("clf", LogisticRegression(C=0.5, class_weight={0: 1, 1: 2}))])


def test_pipeline_params_flat_readable_and_masked():
    params = pipeline_params(_pipe(weights=np.arange(100.0)), "demo")
    assert params["pipeline"] == "demo"
    assert params["pipeline.class"] == "sklearn.pipeline.Pipeline"
    assert params["pipeline.steps"] == ("remote=Remote -> flat=FunctionTransformer -> "
                                        "scale=StandardScaler -> clf=LogisticRegression")
    assert params["clf__C"] == "0.5" and params["clf__class_weight"] == "{0: 1, 1: 2}"
    assert params["flat__func"] == "numpy.ravel"
    assert params["remote__weights"] == "ndarray(shape=(100,), dtype=float64)"
    # The step objects themselves are not parameters; their parameters are.
    assert not {"steps", "clf", "scale", "remote", "flat"} & set(params)
    # Secrets: by key name and inside values.
    assert params["remote__api_token"] == "***"
    assert "s3cret" not in params["remote__uri"] and "abc" not in params["remote__uri"]
    assert params["remote__uri"] == "https://bob:***@host/api?token=***"
    assert all(isinstance(v, str) for v in params.values())


def test_long_values_truncated_to_mlflow_limit(tracking_uri, client):
    setup_tracking(tracking_uri, "params")
    params = pipeline_params(_pipe(notes="x" * 10_000))
    assert len(params["remote__notes"]) == 6000
    assert params["remote__notes"].endswith("...[truncated]")
    with tracked_run("long") as run:
        logged = log_pipeline_params(_pipe(notes="x" * 10_000), "long")
    stored = client.get_run(run.info.run_id).data.params
    assert stored == logged and len(stored) > 20


def test_object_repr_without_address():
    class Opaque:
        pass

    params = pipeline_params(_pipe(notes=Opaque()))
    assert "0x" not in params["remote__notes"]
    assert params["remote__notes"].endswith("Opaque")


def test_pipeline_params_rejects_non_estimator():
    with pytest.raises(TypeError, match="sklearn estimator"):
        pipeline_params([1, 2])


def _records(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / f"{name}.hea").write_text(f"{name} 1 100 10\n")
        (folder / f"{name}.dat").write_bytes(b"\0" * 20)
    return [str(folder / n) for n in names]


def test_data_hash_of_paths(tmp_path):
    paths = _records(tmp_path / "a", ["r1", "r2", "r3"])
    y = np.array(["N", "A", "N"])
    h = data_hash(paths, y)
    assert h == data_hash(paths[::-1], y[::-1])  # order of records does not matter
    assert h != data_hash(paths, np.array(["N", "N", "N"]))  # labels do
    assert h != data_hash(paths[:2], y[:2])
    (tmp_path / "a" / "r2.dat").write_bytes(b"\0" * 21)  # a record changed on disk
    assert h != data_hash(paths, y)
    with pytest.raises(FileNotFoundError, match="r9"):
        data_hash(paths + [str(tmp_path / "a" / "r9")])


def test_data_hash_of_arrays(rng):
    X = rng.normal(size=(4, 2, 10)).astype(np.float32)
    assert data_hash(X) == data_hash(X.copy())
    assert data_hash(X) != data_hash(X.astype(np.float64))
    assert data_hash(X) != data_hash(X.reshape(4, 20))
    assert data_hash(X, [0, 1, 0, 1]) != data_hash(X, [1, 1, 0, 1])


def test_data_hash_reads_labels_by_value_not_dtype(rng, tmp_path):
    X = rng.normal(size=(4, 2, 10)).astype(np.float32)
    labels = np.array([0, 1, 0, 2])
    h = data_hash(X, labels)
    for same in (labels.astype(np.int32), labels.astype(np.uint8), labels.astype(float),
                 labels.tolist()):
        assert data_hash(X, same) == h
    assert data_hash(X, labels + 0.5) != data_hash(X, labels)  # other values
    Y = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1], [1, 1, 0]], dtype=bool)  # indicators
    assert data_hash(X, Y) == data_hash(X, Y.astype(np.int64)) != data_hash(X, ~Y)
    paths = _records(tmp_path / "a", ["r1", "r2", "r3", "r4"])
    assert data_hash(paths, labels.astype(np.int32)) == data_hash(paths, labels)
    # int64 labels keep the digest they had before labels were read by value.
    old = np.ascontiguousarray(labels.astype(np.int64)).tobytes() + b"|<i8|(4,)"
    import hashlib
    expected = hashlib.sha256()
    expected.update(f"{X.dtype.str}|{X.shape}\0".encode())
    expected.update(np.ascontiguousarray(X).tobytes())
    expected.update(old)
    assert data_hash(X, labels.astype(np.int64)) == expected.hexdigest()


def test_log_data_info(tracking_uri, client, ptbxl_root):
    from ecgsk.datasets import load_ptbxl

    setup_tracking(tracking_uri, "data")
    with pytest.warns(UserWarning):
        ds = load_ptbxl(ptbxl_root, "superdiagnostic")
    test = ds.subset(ds.folds == 10)
    with tracked_run("data") as run:
        logged = log_data_info("ptbxl", "superdiagnostic", "test: strat_fold 10", test.X,
                               test.y, classes=test.classes, prefix="test.")
        log_data_info("synthetic", "af", "all", np.zeros((3, 1, 5), np.float32),
                      np.array([0, 1, 1]), classes=["N", "A"])
    params = client.get_run(run.info.run_id).data.params
    assert params["test.n_records"] == str(len(test))
    assert params["test.sha256"] == data_hash(test.X, test.y) == logged["test.sha256"]
    counts = eval(params["test.label_counts"])  # noqa: S307 -- our own repr of a dict
    assert counts == {c: int(n) for c, n in zip(test.classes, test.y.sum(0))}
    assert params["data.label_counts"] == "{'N': 1, 'A': 2}"
    assert params["data.split"] == "all"


def test_environment_tags(tracking_uri, client):
    tags = environment_tags()
    assert tags["ecgsk.version.ecgsk"] == ecgsk.__version__
    assert tags["ecgsk.version.mlflow"] == mlflow.__version__
    assert {"ecgsk.version.torch", "ecgsk.version.sklearn", "ecgsk.version.skorch",
            "ecgsk.version.numpy"} <= set(tags)
    assert tags["ecgsk.cpu"] and tags["ecgsk.cpu"] != "unknown CPU"  # fits differ across CPUs
    repo = Path(ecgsk.__file__).resolve().parents[1]
    if (repo / ".git").exists():
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                              text=True, check=True).stdout.strip()
        assert tags["ecgsk.git.commit"] == head
        assert tags["ecgsk.git.dirty"] in ("true", "false")
    setup_tracking(tracking_uri, "env")
    with tracked_run("env") as run:
        log_environment()
    stored = client.get_run(run.info.run_id).data.tags
    assert {k: stored[k] for k in tags} == tags


@pytest.mark.parametrize("text, expected", [
    ("postgresql://me:pw@db/x", "postgresql://me:***@db/x"),
    ("https://h/api?page=2&api_key=k1", "https://h/api?page=2&api_key=***"),
    ("Authorization: Bearer abc.def", "Authorization: *** ***"),
    ("max_tokens=5 n_layers=3", "max_tokens=5 n_layers=3"),
    # A bytes value in a dict's repr: "b" was masked, the password kept after it.
    ("{'password': b'hunter2', 'n': 1}", "{'password': b'***', 'n': 1}"),
    # psycopg2's message for a missing PGPASSWORD: "no" is not a password.
    ("failed: fe_sendauth: no password supplied", "failed: fe_sendauth: no password supplied"),
    ("aws_secret: zzz x-auth-token: t1 dbpassword=p", "aws_secret: *** x-auth-token: *** "
                                                     "dbpassword=***"),
    ("PGPASSWORD: pw accessToken: t clientSecret: s", "PGPASSWORD: *** accessToken: *** "
                                                      "clientSecret: ***"),
    # SQLAlchemy reads a password up to the "@", "/" included.
    ("postgresql://me:ab/SECRET2@127.0.0.1:9/mlflow", "postgresql://me:***@127.0.0.1:9/mlflow"),
    ("http://127.0.0.1:5000/#/experiments/1", "http://127.0.0.1:5000/#/experiments/1"),
    # A dict parameter's repr (FunctionTransformer's kw_args, say), and JSON.
    ("{'token': 'tok-SECRET1', 'C': 1.0}", "{'token': '***', 'C': 1.0}"),
    ('{"password": "hunter2", "n": 3}', '{"password": "***", "n": 3}'),
    # A quoted value with spaces is masked to its closing quote (it kept " w" and " words").
    ("host=h user=u password='p w' port=5", "host=h user=u password='***' port=5"),
    ("{'password': 'two words', 'n': 3}", "{'password': '***', 'n': 3}"),
    ("password='open and never closed", "password='*** and never closed"),
    # The scheme's name was masked and the credentials kept.
    ("Authorization: Basic dXNlcjpwYXNz", "Authorization: *** ***"),
    ('{"Authorization": "Basic dXNl="}', '{"Authorization": "***"}'),
    ("basic statistics of the data", "basic statistics of the data"),
    ("private_key=-----BEGIN", "private_key=***"),
    # A tuple or list value is masked whole; its first item only was.
    ("Remote(auth=('u', 'authpw'), creds=('alice', 's3cr3t'), passphrase='pp')",
     "Remote(auth=***, creds=***, passphrase='***')"),
    # A token as the lone user of an https URI was kept whole.
    ("https://ghp_abc123@github.com/o/r.git", "https://***@github.com/o/r.git"),
    ("git+https://tok@h/r", "git+https://***@h/r"),
    ("postgresql://me@db/x", "postgresql://me@db/x"),
    # A user named like a secret lost the host after its masked password.
    ("https://x-access-token:ghp_abc@github.com/o/r.git",
     "https://x-access-token:***@github.com/o/r.git"),
])
def test_mask_secrets(text, expected):
    assert mask_secrets(text) == expected


@pytest.mark.parametrize("key, secret", [
    ("db_password", True), ("clf__api_key", True), ("dbPassword", True), ("clientSecret", True),
    ("private_key", True), ("passphrase", True), ("max_tokens", False), ("secretary", False),
    ("creds", True), ("db_cred", True), ("credit", False),
    # camelCase humps split as "_" does: the lowercased names had no separator to split on
    ("accessToken", True), ("authToken", True), ("hfToken", True), ("secretKey", True),
    ("clf__apiToken", True), ("maxTokens", False), ("OAuthScope", False),
    # An acronym's hump, and - or . where the suffixes read _: all were logged in clear.
    ("HFToken", True), ("APIToken", True), ("JWTToken", True), ("OAuthToken", True),
    ("X-Api-Key", True), ("api.key", True), ("private-key", True), ("access-key", True),
    ("HTTPMaxTokens", False), ("max-tokens", False),
])
def test_is_secret_key(key, secret):
    assert is_secret_key(key) is secret


class _Remote(BaseEstimator):
    def __init__(self, auth=None, creds=None, passphrase=None, url=None):
        self.auth, self.creds, self.passphrase, self.url = auth, creds, passphrase, url

    def fit(self, X, y=None):
        return self


def test_no_secret_of_a_nested_pipeline_or_a_name_is_logged_in_clear(tracking_uri, client):
    # A nested pipeline's "<name>__steps" repeated every step's repr, its secrets in clear;
    # a pipeline's name, the dataset and the split were logged unmasked.
    from sklearn.pipeline import make_pipeline

    remote = _Remote(auth=("u", "authpw"), creds=("alice", "s3cr3t"), passphrase="pp123",
                     url="https://me:urlpw@host/x")
    pipe = Pipeline([("remote", make_pipeline(remote)), ("clf", LogisticRegression())])
    setup_tracking(tracking_uri, "secrets")
    with tracked_run("r", tags={"db": "mysql://u:tagpw@h/d", "api_token": "tagtok"},
                     description="uses https://x:descpw@h") as run:
        log_pipeline_params(pipe, "https://u:namepw@h")
        log_data_info("https://user:dspw@host/data?token=dstok", "t", "sftp://me:splitpw@h",
                      np.zeros((3, 2)), prefix="d.")
    data = client.get_run(run.info.run_id).data
    logged = " ".join([*data.params.values(), *data.tags.values()])
    for secret in ("authpw", "s3cr3t", "pp123", "urlpw", "tagpw", "tagtok", "descpw", "namepw",
                   "dspw", "dstok", "splitpw"):
        assert secret not in logged, secret
    assert data.params["remote__steps"] == "_remote=_Remote"
    assert data.tags["api_token"] == "***" and data.tags["db"] == "mysql://u:***@h/d"


def test_a_secret_cut_by_the_length_limit_is_masked_first():
    from ecgsk.tracking._params import _short

    text = "x" * 230 + " https://me:" + "p" * 40 + "@host"
    assert "ppp" not in _short(text)
