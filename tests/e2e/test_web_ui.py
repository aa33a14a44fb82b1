"""The web UI in a real browser: headless Debian Chromium driven by Playwright, against a real
`provledger serve` process over the shipped examples, a training case with long metric series,
and an E3SM performance archive uploaded through the page. Screenshots go to docs/images/."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.e3sm_archive import E3smRun, exec_id, write_tar_gz

sync_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("provledger"))
CHROMIUM = "/usr/bin/chromium"
IMAGES = ROOT / "docs" / "images"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"
)


@dataclass
class Site:
    url: str
    read_token: str
    write_token: str
    home: Path
    tar: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _training_records(folder: Path) -> None:
    """Two runs of a training case with 3000-step loss curves (downsampled for display)."""
    folder.mkdir()
    for n, (lr, code) in enumerate(((0.01, "c0ffee1"), (0.02, "c0ffee2")), start=1):
        loss = [
            {
                "value": 2.0 * math.exp(-step / (900 / (n * 0.8))) + 0.05 * math.sin(step / 17),
                "step": step,
            }
            for step in range(3000)
        ]
        acc = [
            {"value": 1 - 0.9 * math.exp(-step / 700 * n), "step": step}
            for step in range(0, 3000, 10)
        ]
        record = {
            "execution_id": f"train-{n}",
            "case": "ml/mnist-cnn",
            "group": "training",
            "status": "succeeded",
            "started": f"2026-02-0{n}T09:00:00Z",
            "ended": f"2026-02-0{n}T09:4{n}:00Z",
            "spec": {
                "format": "yaml",
                "resolved": {
                    "model": {"layers": 4, "dropout": 0.25},
                    "optimizer": {"name": "adam", "lr": lr},
                },
            },
            "params": {"lr": lr, "batch": 64},
            "code": {"repository": "https://example.org/mnist.git", "commit": code},
            "metrics": {"loss": loss, "accuracy": acc},
            "steps": [
                {"name": "load data", "at": f"2026-02-0{n}T09:00:05Z"},
                {"name": "train", "at": f"2026-02-0{n}T09:01:00Z"},
                {"name": "evaluate", "at": f"2026-02-0{n}T09:40:00Z"},
            ],
            "logs": ["epoch 1 done", "epoch 2 done", "saved model"],
        }
        (folder / f"train-{n}.record.json").write_text(json.dumps(record))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("web")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVLEDGER_")}
    env["PROVLEDGER_HOME"] = str(tmp / "home")
    _cli(env, "ingest", str(ROOT / "examples" / "records"))
    _training_records(tmp / "training")
    _cli(env, "ingest", str(tmp / "training"))
    read = _cli(env, "token", "create", "--scope", "read", "--name", "web-read")
    write = _cli(env, "token", "create", "--scope", "write", "--name", "web-write")
    tar = write_tar_gz(
        [E3smRun(exec_id=exec_id(1)), E3smRun(exec_id=exec_id(2), compiler="gnu")],
        tmp / "e3sm-archive.tar.gz",
    )
    port = _free_port()
    process = subprocess.Popen(
        [CLI, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "no server")
    try:
        yield Site(url, read, write, tmp / "home", tar)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _logged_in(browser: sync_api.Browser, site: Site, token: str) -> sync_api.Page:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(site.url + "/")
    assert "/login" in page.url  # reads need a token: the login form first
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(site.url + "/")
    return page


def _shot(page: sync_api.Page, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / name))


@pytest.fixture
def reader(browser: sync_api.Browser, site: Site) -> Iterator[sync_api.Page]:
    page = _logged_in(browser, site, site.read_token)
    yield page
    page.context.close()


@pytest.fixture
def writer(browser: sync_api.Browser, site: Site) -> Iterator[sync_api.Page]:
    page = _logged_in(browser, site, site.write_token)
    yield page
    page.context.close()


def test_the_cases_page_filters_by_group_and_every_page_opens(
    reader: sync_api.Page, site: Site
) -> None:
    page = reader
    expect = sync_api.expect
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    expect(page.locator("#cases tbody tr")).to_have_count(3)
    _shot(page, "cases.png")
    page.get_by_label("Group").select_option("training")  # htmx swaps the table in place
    expect(page.locator("#cases tbody tr")).to_have_count(1)
    expect(page.locator("#cases tbody")).to_contain_text("mnist-cnn")
    assert "group=training" in page.url  # the filtered page has its own URL
    page.goto(site.url + "/status")
    expect(page.get_by_role("heading", name="Status")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Projections")
    page.goto(site.url + "/?format=json")
    assert {c["key"] for c in json.loads(page.locator("body").inner_text())["items"]} >= {
        "climate/ocean-box",
        "ml/mnist-cnn",
    }


def test_a_where_expression_narrows_a_case_and_a_reader_sees_no_write_controls(
    reader: sync_api.Page, site: Site
) -> None:
    page = reader
    expect = sync_api.expect
    page.goto(site.url + "/cases/climate/ocean-box")
    expect(page.locator("#executions tbody tr")).to_have_count(4)
    page.get_by_label("Where").fill("params.compiler = 'intel' and status = succeeded")
    page.get_by_label("Columns").fill("params.dt,metrics.time_total_sec.last")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#executions tbody tr")).to_have_count(1)
    expect(page.locator("#executions tbody")).to_contain_text("run-3")
    expect(page.locator("#executions thead")).to_contain_text("metrics.time_total_sec")
    expect(page.locator("#executions tbody")).to_contain_text("2340")
    assert page.get_by_role("button", name="Set canonical").count() == 0
    assert page.get_by_role("link", name="Upload").count() == 0
    page.goto(site.url + "/cases/climate/ocean-box?where=params.dt%20%3D%3D")
    expect(page.locator(".error")).to_contain_text("query")


def test_an_execution_page_draws_a_chart_per_metric(reader: sync_api.Page, site: Site) -> None:
    page = reader
    expect = sync_api.expect
    page.goto(site.url + "/cases/ml/mnist-cnn")
    page.locator("#executions").get_by_role("link", name="train-1").click()
    expect(page.get_by_role("heading", name="Execution train-1")).to_be_visible()
    canvases = page.locator("figure.chart canvas")
    expect(canvases).to_have_count(2)
    for i in range(2):
        box = canvases.nth(i).bounding_box()
        assert box is not None
        assert box["width"] > 100
        assert box["height"] > 100
    expect(page.locator("figure.chart figcaption").nth(1)).to_contain_text(
        "3000 points (1000 shown)"
    )
    expect(page.locator("#history-table")).to_contain_text("ExecutionRecorded")
    page.locator("#metrics").scroll_into_view_if_needed()
    _shot(page, "execution.png")
    download = page.request.get(page.url + "/metrics.json")
    assert len(download.json()["loss"]) == 3000  # the full series stays a download
    crate = page.request.get(page.url + "/ro-crate.zip")
    assert crate.status == 200
    assert crate.body()[:2] == b"PK"


def test_two_executions_compare_side_by_side_with_overlaid_curves(
    reader: sync_api.Page, site: Site
) -> None:
    page = reader
    expect = sync_api.expect
    page.goto(site.url + "/cases/ml/mnist-cnn")
    page.get_by_label("compare train-1").check()
    page.get_by_label("compare train-2").check()
    page.get_by_role("button", name="Compare selected").click()
    expect(page.get_by_role("heading", name="Compare 2 executions")).to_be_visible()
    expect(page.locator("tr.changed").filter(has_text="optimizer.lr")).to_have_count(1)
    expect(page.locator("figure.chart canvas")).to_have_count(2)
    page.locator("#h-curves").scroll_into_view_if_needed()
    _shot(page, "compare.png")


def test_a_file_link_leads_to_its_lineage_graph_and_on_to_the_producer(
    reader: sync_api.Page, site: Site
) -> None:
    page = reader
    expect = sync_api.expect
    page.goto(site.url + "/cases/climate/ocean-box")
    page.locator("#executions").get_by_role("link", name="run-2", exact=True).click()
    page.locator("#files a[href^='/files/']").nth(1).click()  # the output
    expect(page.get_by_role("heading", name="File")).to_be_visible()
    expect(page.locator("table").first).to_contain_text("run-2")
    expect(page.locator("svg.lineage a")).not_to_have_count(0)
    _shot(page, "file.png")
    page.locator("svg.lineage a[href^='/executions/']").first.click()
    expect(page.get_by_role("heading", name="Execution run-2")).to_be_visible()


def test_a_writer_uploads_an_e3sm_tar_and_sets_a_canonical_seen_in_the_history(
    writer: sync_api.Page, site: Site
) -> None:
    page = writer
    expect = sync_api.expect
    page.get_by_role("link", name="Upload").click()
    page.get_by_label("File").set_input_files(str(site.tar))
    page.get_by_role("button", name="Upload and ingest").click()
    expect(page.locator("#ingest-summary")).to_be_visible()
    expect(page.locator("[data-count=created]")).to_have_text("2")
    _shot(page, "ingest.png")

    page.goto(site.url + "/cases/climate/ocean-box")
    page.locator("#canonical-execution").select_option(label="run-3 (succeeded)")
    page.get_by_label("Reason (kept in history)").fill("finer grid")
    page.get_by_role("button", name="Set canonical").click()
    expect(page.get_by_role("status")).to_contain_text("Canonical changed")
    expect(page.locator("tr.is-canonical")).to_contain_text("run-3")
    _shot(page, "case.png")
    page.locator("#executions").get_by_role("link", name="run-3", exact=True).click()
    chosen = page.locator("#history-table tr").filter(has_text="CanonicalChosen")
    expect(chosen).to_contain_text("finer grid")
    expect(chosen).to_contain_text("token:web-write")


def test_writes_are_refused_to_a_read_token_and_without_the_csrf_token(
    reader: sync_api.Page, writer: sync_api.Page, site: Site
) -> None:
    page = reader
    page.goto(site.url + "/ingest")
    assert page.locator("input[type=file]").count() == 0
    sync_api.expect(page.get_by_role("alert")).to_contain_text("write token")
    form = {"execution_id": "run-2", "reason": "sneaky"}
    refused = page.request.post(site.url + "/cases/climate/ocean-box/canonical", form=form)
    assert refused.status == 403
    assert "write token is needed" in refused.text()
    # A write cookie without the form's CSRF token: refused too.
    refused = writer.request.post(site.url + "/cases/climate/ocean-box/canonical", form=form)
    assert refused.status == 403
    assert "CSRF" in refused.text()
    # And nothing changed.
    writer.goto(site.url + "/cases/climate/ocean-box")
    assert "sneaky" not in writer.content()


@pytest.fixture(scope="module", autouse=True)
def _no_stray_browser_profile() -> Iterator[None]:
    yield
    shutil.rmtree(Path.home() / ".config" / "chromium" / "Crash Reports", ignore_errors=True)
