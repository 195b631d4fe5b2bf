"""A real compare run seen through python -m ecgsk.ui in headless Chromium (Playwright).

Needs Playwright for Python (``pip install playwright``) and a Chromium
binary (Debian: ``apt-get install chromium``; ``playwright install`` is not
needed). Without them the test skips, saying which is missing. Set
``ECGSK_UPDATE_DOCS=1`` to also refresh ``docs/mlflow-compare.png``, the
README's screenshot.
"""

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from .conftest import FLAT_LR, STATS_LR, UIProcess, new_store, write_module

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
EXPERIMENT = "ui-browser"
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "mlflow-compare.png"
TIMEOUT_MS = 45_000


def _chromium():
    for candidate in (os.environ.get("ECGSK_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright for Python is not installed (pip install playwright)")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium binary (apt-get install chromium, or set ECGSK_CHROMIUM)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def compared(browser, empty_store, signal_cache, ptbxl_root, tmp_path_factory):
    """A tiny real comparison (CLI): two pipelines by path, folds 1 and 2, 60 records."""
    folder = tmp_path_factory.mktemp("ui-pipelines")
    stats = write_module(folder, "stats_lr", STATS_LR)
    flat = write_module(folder, "flat_lr", FLAT_LR.format(
        dataset="ptbxl", task=("superdiagnostic", "binary")))
    uri = new_store(empty_store, tmp_path_factory.mktemp("ui-store"))
    cmd = [sys.executable, "-m", "ecgsk.compare", "--pipelines", str(stats), str(flat),
           "--dataset", "ptbxl", "--task", "superdiagnostic", "--data", str(ptbxl_root),
           "--folds", "1", "2", "--max-records", "60", "--n-boot", "20",
           "--tracking-uri", uri, "--experiment", EXPERIMENT, "--cache-dir", str(signal_cache),
           "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    runs = {r.info.run_name: r for r in client.search_runs(
        [exp.experiment_id], "tags.`ecgsk.role` = 'pipeline'")}
    return uri, client, exp, runs


@pytest.fixture(scope="module")
def ui_url(compared, tmp_path_factory):
    uri = compared[0]
    ui = UIProcess(["--port", "0", "--backend-store-uri", uri],
                   tmp_path_factory.mktemp("ui") / "ui.log")
    try:
        yield ui.wait_ready()
        assert ui.interrupt() == 0, ui.output()[-2000:]
    finally:
        ui.kill()


@pytest.fixture
def page(browser, ui_url):
    context = browser.new_context(viewport={"width": 1500, "height": 950})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


def _open(page, url):
    # The UI is a single-page app polling its API: wait for the DOM, then for what we look for.
    page.goto(url, wait_until="domcontentloaded")


def _close_assistant(page):
    """Fold MLflow 3's assistant side panel, if shown, to leave room for the content."""
    close = page.get_by_role("button", name="Close")
    if close.count():
        try:
            close.first.click(timeout=3000)
        except Exception:  # noqa: BLE001 -- a cosmetic step; the page is checked anyway
            pass


def test_experiment_is_listed(page, ui_url, compared):
    _open(page, f"{ui_url}/#/experiments")
    page.get_by_text(EXPERIMENT, exact=True).first.wait_for()
    assert EXPERIMENT in page.inner_text("body")


def test_runs_and_metric_values_show(page, ui_url, compared, tmp_path):
    _, client, exp, runs = compared
    assert set(runs) == {"stats_lr", "flat_lr"}
    _open(page, f"{ui_url}/#/experiments/{exp.experiment_id}/runs")
    page.get_by_text("compare ptbxl/superdiagnostic").first.wait_for()
    # Both pipeline runs side by side in the comparison view.
    query = urllib.parse.urlencode({
        "runs": json.dumps([runs["stats_lr"].info.run_id, runs["flat_lr"].info.run_id]),
        "experiments": json.dumps([exp.experiment_id])})
    _open(page, f"{ui_url}/#/compare-runs?{query}")
    page.get_by_text("Comparing 2 Runs").first.wait_for()
    text = page.inner_text("body")
    assert "stats_lr" in text and "flat_lr" in text
    _close_assistant(page)
    page.screenshot(path=str(tmp_path / "compare-runs.png"))
    # A logged metric's value, on the run's page (filtered by the metric search box).
    run = runs["stats_lr"]
    value = run.data.metrics["test_macro_auroc"]
    _open(page, f"{ui_url}/#/experiments/{exp.experiment_id}/runs/{run.info.run_id}")
    page.get_by_placeholder("Search metrics").fill("test_macro_auroc")
    page.get_by_text(repr(value), exact=True).first.wait_for()
    assert repr(value) in page.inner_text("body")
    _close_assistant(page)
    page.screenshot(path=str(tmp_path / "run.png"))


def test_confusion_matrix_artifact_opens(page, ui_url, compared, tmp_path):
    _, client, exp, runs = compared
    run_id = runs["stats_lr"].info.run_id
    artifact = "test/confusion_matrix.png"

    def is_artifact(response):
        return ("/get-artifact" in response.url
                and artifact in urllib.parse.unquote(response.url))

    # The artifact view fetches the file from the server, then shows it from a blob: URL.
    with page.expect_response(is_artifact) as fetched:
        _open(page, f"{ui_url}/#/experiments/{exp.experiment_id}/runs/{run_id}/artifacts/"
                    f"{artifact}")
    response = fetched.value
    assert response.ok and response.headers["content-type"].startswith("image/png")
    # The page consumed that response's stream; fetch the same URL again for its bytes.
    again = page.request.get(response.url)
    assert again.ok and again.headers["content-type"].startswith("image/png")
    body = again.body()
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    with open(client.download_artifacts(run_id, artifact), "rb") as f:
        assert body == f.read()  # the PNG compare logged, byte for byte
    image = page.locator("img[src^='blob:']:visible").first
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=image.element_handle())
    assert image.evaluate("img => img.naturalWidth") > 200
    page.get_by_text(artifact, exact=True).first.wait_for()  # the file's title
    page.get_by_text("roc_curves.png", exact=True).first.wait_for()  # its siblings listed
    _close_assistant(page)
    page.screenshot(path=str(tmp_path / "confusion-matrix.png"))
    assert (tmp_path / "confusion-matrix.png").stat().st_size > 10_000
    if os.environ.get("ECGSK_UPDATE_DOCS") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOT))
