"""The dashboard end to end: headless Chromium (the system's, through Playwright) against a
real server in a thread, over a store made by the example's real code.

Without Chromium the tests skip, saying why; in CI (``CI=true``) they fail instead. Every
page visited is saved as a screenshot in the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from phyper import tune
from tests.dashboard.conftest import HOSTILE
from tests.dashboard.live import LiveServer, chromium_path, launch
from tests.workflow import copy_workspace, environment

SWEEP = "config/quick.yaml"
IN_CI = os.environ.get("CI") == "true"


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install 'phyper[dev]')")
    if chromium_path() is None:
        _missing("no Chromium: install the `chromium` package or set PHYPER_CHROMIUM")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def example(workspace, *arguments, expect=0):
    result = subprocess.run(
        [sys.executable, "-m", "example", *arguments],
        cwd=workspace, env=environment(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == expect, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """The example's quick sweep: a random search of three trials, two runs waiting at the
    review gate, and one run whose hyperparameter value and metric name hold markup."""
    workspace = copy_workspace(tmp_path_factory.mktemp("dashboard"))
    example(workspace, "tune", "--sweep", SWEEP, "--sampler", "random", "--n-trials", "3")
    for seed in (1, 2):
        example(
            workspace, "review", "--sweep", SWEEP, "--after", "1", "--seed", str(seed), expect=3
        )
    script = f"""
        from example.config import load
        from phyper import tune
        parser, instances = load({SWEEP!r})
        instance = instances[0].replace(transformation={HOSTILE!r})
        with tune.Run(instance, stop=tune.max_epochs(2)) as run:
            for epoch in run.epochs():
                run.report(**{{"<i>loss</i>": 1.0 / epoch}})
        print(instance.get_instance_hash())
    """
    hostile = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=workspace, env=environment(), capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return workspace, hostile


def reviewed_hash(workspace, seed: int) -> str:
    """The hash of the model `python -m example review --seed SEED` trains."""
    from example.config import load

    _, instances = load(workspace / SWEEP, folder=str(workspace / "derived_data"))
    return instances[0].replace(seed=seed).get_instance_hash()


@pytest.fixture(scope="module")
def server(workspace):
    folder, _ = workspace
    command = f"{sys.executable} -m example train-model --sweep {SWEEP} --hash {{hash}}"
    with LiveServer(
        folder / "derived_data", on_decision=command, workdir=str(folder), tick=0.3
    ) as live:
        yield live


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    context.set_default_timeout(60_000)  # a loaded 2-core machine parses plotly.js slowly
    page = context.new_page()
    page.shots = tmp_path  # screenshots of what the test saw
    yield page
    context.close()


def shoot(page, name: str) -> None:
    page.screenshot(path=str(page.shots / f"{name}.png"), full_page=True)


def test_overview_lists_the_studies(server, page):
    page.goto(server.url("/"))
    row = page.locator('#studies tr[data-study="iris-random"]')
    row.wait_for()
    assert "validation_loss" in row.inner_text()
    assert page.locator('[data-status="awaiting_decision"] .n').inner_text() == "2"
    shoot(page, "overview")


def test_a_training_started_now_grows_on_its_page_without_a_reload(server, workspace, page):
    folder, _ = workspace
    script = f"""
        import os
        import time
        from example.config import load
        from example.preprocess import ensure_preprocessed
        from example.train import train_model
        from phyper import tune

        class Slow(tune.EpochEndHook):
            # after epoch 1, wait until the page is open; then an epoch every 0.4 s

            def on_epoch_end(self, *, epoch, **arguments):
                while epoch == 1 and not os.path.exists("release"):
                    time.sleep(0.05)
                time.sleep(0.4)

        _, instances = load({SWEEP!r})
        instance = instances[0].replace(seed=7, n_epochs=40)
        ensure_preprocessed(instance)
        print(instance.get_instance_hash(), flush=True)
        train_model(instance, hooks=(Slow(),))
    """
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=folder, env=environment(), stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        run_hash = process.stdout.readline().strip()
        state = folder / "derived_data" / "all" / run_hash / "run.json"
        deadline = time.monotonic() + 60
        while not state.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        page.goto(server.url(f"/run/all/{run_hash}"))
        plot = '[data-metric="validation_loss"]'
        # the points plotted so far (0 until plotly has drawn)
        points = f"((document.querySelector('{plot}') || {{}}).data || [{{x: []}}])[0].x.length"
        page.wait_for_function(f"{points} >= 1", timeout=60_000)
        page.evaluate("window.__same_page = true")
        (folder / "release").touch()  # the training goes on from epoch 2
        page.wait_for_function(f"{points} >= 4", timeout=30_000)
        assert page.evaluate("window.__same_page") is True  # no reload happened
        assert page.evaluate("window.phyperLive.mode") == "sse"
        shoot(page, "run-growing")
        assert process.wait(timeout=60) == 0
        epochs = tune.load_result(str(state.parent)).epochs  # 40, or fewer with patience
        page.wait_for_function(f"{points} == {epochs}", timeout=10_000)
        page.wait_for_function(
            "document.querySelector('#run-status').innerText.includes('completed')", timeout=10_000
        )
    finally:
        process.kill()
        process.wait()


def test_go_records_the_decision_and_on_decision_resumes_the_run(server, workspace, page):
    folder, _ = workspace
    run_hash = reviewed_hash(folder, 1)
    run_folder = folder / "derived_data" / "all" / run_hash
    page.goto(server.url("/queue"))
    card = page.locator(f'section[data-key^="run:all/{run_hash}"]')
    card.wait_for()
    card.locator("textarea").fill("curves look <b>fine</b>")
    card.get_by_role("button", name="Go", exact=True).click()
    card.locator(".message.ok").wait_for()
    assert "Recorded: go by" in card.locator(".message").inner_text()
    decision = json.loads((run_folder / "decision-review.json").read_text())
    assert decision["decision"] == "go" and decision["note"] == "curves look <b>fine</b>"
    assert "dashboard" in decision["by"]
    shoot(page, "queue-decided")
    deadline = time.monotonic() + 120
    while tune.load_result(str(run_folder)).status != tune.COMPLETED:
        assert time.monotonic() < deadline, (run_folder / "on-decision-review.log").read_text()
        time.sleep(0.3)
    card.locator(".resumed").wait_for(timeout=10_000)  # the queue page saw it leave the queue
    log_file = run_folder / "on-decision-review.log"
    while "exit code" not in log_file.read_text():  # the command ends after the run's commit
        assert time.monotonic() < deadline, log_file.read_text()
        time.sleep(0.2)
    page.goto(server.url(f"/run/all/{run_hash}"))
    page.locator(".action-log").wait_for()
    log = page.locator(".action-log").inner_text()
    assert "train-model" in log and "exit code 0" in log
    assert "completed" in page.locator("#run-status").inner_text()
    assert "curves look <b>fine</b>" in page.locator("#run-decisions").inner_text()
    shoot(page, "run-resumed")


def test_a_stale_go_from_a_second_page_gets_the_conflict_message(server, workspace, browser, page):
    folder, _ = workspace
    run_hash = reviewed_hash(folder, 2)
    selector = f'section[data-key^="run:all/{run_hash}"]'
    other = browser.new_context().new_page()
    other.context.set_default_timeout(60_000)
    for each in (page, other):
        each.goto(server.url("/queue"))
        each.locator(selector).wait_for()
    page.locator(selector).get_by_role("button", name="No-go").click()
    page.locator(f"{selector} .message.ok").wait_for()
    other.locator(selector).get_by_role("button", name="Go", exact=True).click()
    message = other.locator(f"{selector} .message.error")
    message.wait_for()
    text = message.inner_text()
    assert "already decided: no-go by" in text and " at 20" in text, text
    other.screenshot(path=str(page.shots / "stale-conflict.png"), full_page=True)
    other.context.close()


def test_markup_from_the_store_shows_as_text(server, workspace, page):
    _, hostile = workspace
    page.goto(server.url(f"/run/all/{hostile}"))
    table = page.locator("#run-params")
    table.wait_for()
    page.locator('[data-metric="<i>loss</i>"] .gtitle').wait_for(timeout=60_000)
    assert HOSTILE in table.inner_text()
    assert page.locator('[data-metric="<i>loss</i>"] .gtitle').text_content() == "<i>loss</i>"
    assert page.evaluate("window.__xss") is None
    assert page.locator("main script, main img").count() == 0
    shoot(page, "run-hostile")


def test_without_the_token_a_server_bound_beyond_localhost_refuses(workspace, page):
    folder, _ = workspace
    with LiveServer(folder / "derived_data", host="0.0.0.0") as open_server:
        refused = page.goto(open_server.url("/", token=False))
        assert refused.status == 403 and "token" in page.inner_text("body")
        assert page.request.get(open_server.url("/api/overview", token=False)).status == 403
        allowed = page.goto(open_server.url("/"))
        assert allowed.status == 200
        page.locator("#studies").wait_for()
        assert page.request.get(open_server.url("/api/overview", token=False)).status == 200


def test_polling_fallback_updates_the_overview(server, workspace, page):
    folder, _ = workspace
    from example.config import load

    page.goto(server.url("/?live=poll"))  # as behind a proxy that buffers event streams
    page.locator("#run-counts").wait_for()
    total = "document.querySelector('#run-counts .tile:nth-child(2) .n').innerText"
    before = int(page.evaluate(total))
    assert page.evaluate("window.phyperLive.mode") == "poll"
    _, instances = load(folder / SWEEP, folder=str(folder / "derived_data"))
    with tune.Run(instances[0].replace(seed=11), stop=tune.max_epochs(1)) as run:
        for _ in run.epochs():
            run.report(validation_loss=0.5)
    page.wait_for_function(f"{total} == '{before + 1}'", timeout=30_000)
