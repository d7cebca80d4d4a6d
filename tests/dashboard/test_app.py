"""The dashboard's HTTP API, in-process through Starlette's TestClient."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest

pytest.importorskip("starlette")

from starlette.testclient import TestClient

from phyper import tune
from phyper.dashboard import create_app

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
ORIGIN = {"Origin": BASE}


@pytest.fixture
def client(store):
    app = create_app(store["root"], port=PORT, token="secret", tick=60)
    with TestClient(app, base_url=BASE) as client:
        yield client


def decide(client, run_hash, verdict="go", gate="review", note=None, token=True, headers=None):
    body = {"kind": "run", "hash": run_hash, "gate": gate, "decision": verdict, "note": note}
    url = "/api/decide" + ("?token=secret" if token else "")
    return client.post(
        url, content=json.dumps(body), headers=ORIGIN if headers is None else headers
    )


def test_overview_counts_runs_and_lists_the_study(client, store):
    overview = client.get("/api/overview").json()
    assert overview["runs"]["by_status"] == {
        "awaiting_decision": 2,
        "completed": 2,
    }  # study trials without tune.Run are no runs
    assert overview["decisions_waiting"] == 2
    (study,) = overview["studies"]
    view = tune.StudyView.read(store["root"], "search")
    assert study["name"] == "search" and study["trials"] == len(view.trials)
    assert study["best_value"] == view.best_value
    assert study["sparkline"][-1] == view.best_value


def test_queue_lists_waiting_runs_with_gate_epoch_reason_and_hyperparameters(client, store):
    items = {item["hash"]: item for item in client.get("/api/queue").json()["items"]}
    item = items[store["hashes"]["waiting"]]
    assert (item["gate"], item["epoch"]) == ("review", 2)
    assert "after_epoch(2)" in item["reason"]
    assert item["hyperparameters"]["width"] == 2
    peers = client.get(f"/api/run/all/{item['hash']}/peers").json()
    assert peers["own"]["metric"] == "loss" and peers["own"]["epochs"] == [1.0, 2.0]
    # runs differing from it in one hyperparameter (width) are its comparison
    assert {p["label"] for p in peers["peers"]} >= {"width=1", "width=3"}


def test_a_decision_is_recorded_with_who_and_a_second_one_is_refused(client, store):
    run_hash = store["hashes"]["waiting"]
    answer = decide(client, run_hash, note="curves look fine")
    assert answer.status_code == 200, answer.text
    folder = os.path.join(store["root"], "all", run_hash)
    with open(os.path.join(folder, "decision-review.json")) as stream:
        document = json.load(stream)
    assert document["decision"] == "go" and document["note"] == "curves look fine"
    assert "dashboard" in document["by"] and "testclient" in document["by"]
    second = decide(client, run_hash, verdict="no-go")
    assert second.status_code == 409
    message = second.json()["error"]
    assert "already decided: go by" in message and document["decided_at"] in message
    # the command line is refused the same way
    with pytest.raises(tune.DecisionError, match="already decided"):
        tune.decide(store["root"], run_hash, go=False)


def test_a_decision_made_by_the_command_line_is_a_conflict_for_the_page(client, store):
    run_hash = store["hashes"]["other_waiting"]
    tune.decide(store["root"], run_hash, go=False, note="enough")
    answer = decide(client, run_hash)
    assert answer.status_code == 409
    assert "already decided: no-go by" in answer.json()["error"] and "enough" in answer.text


def test_changes_need_the_token_and_the_same_origin(client, store):
    run_hash = store["hashes"]["waiting"]
    assert decide(client, run_hash, token=False).status_code == 403
    assert decide(client, run_hash, headers={}).status_code == 403
    other = {"Origin": "http://evil.example"}
    assert decide(client, run_hash, headers=other).status_code == 403
    assert not os.path.exists(os.path.join(store["root"], "all", run_hash, "decision-review.json"))
    # the cookie set by a tokened page load is a token too
    assert client.get("/?token=secret").status_code == 200
    assert decide(client, run_hash, token=False).status_code == 200


def test_host_header_is_checked(client):
    assert client.get("/api/overview", headers={"Host": "evil.example"}).status_code == 403
    assert client.get("/api/overview", headers={"Host": f"localhost:{PORT}"}).status_code == 200
    assert client.get("/api/overview", headers={"Host": "127.0.0.1:1"}).status_code == 403


def test_bound_beyond_localhost_every_request_needs_the_token(store):
    app = create_app(store["root"], host="0.0.0.0", port=PORT, token="secret", tick=60)
    with TestClient(app, base_url=BASE) as client:
        assert client.get("/").status_code == 403
        assert client.get("/api/overview").status_code == 403
        assert client.get("/api/overview", headers={"X-Phyper-Token": "wrong"}).status_code == 403
        assert client.get("/?token=secret").status_code == 200
        assert client.get("/api/overview").status_code == 200  # the cookie


@pytest.mark.parametrize(
    "path",
    ["/api/run/all/..%2F..%2Fetc", "/api/run/..%2F/" + "a" * 32, "/api/study/..",
     "/api/study/%2Fetc%2Fpasswd", "/run/all/ABCDEF"],
)  # fmt: skip
def test_names_that_are_not_hashes_or_study_names_never_reach_the_filesystem(client, path):
    assert client.get(path).status_code in (400, 404)


def test_trials_csv_keeps_exact_floats(client, store):
    text = client.get("/api/study/search/trials.csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    trials = {t.number: t for t in store["study"].trials}
    assert len(rows) == len(trials)
    for row in rows:
        trial = trials[int(row["number"])]
        assert float(row["value"]) == trial.value  # exactly, not to 6 digits
        assert float(row["rate"]) == trial.params["rate"]


def test_store_strings_are_sent_as_json_text(client, store):
    from tests.dashboard.conftest import HOSTILE

    run = client.get(f"/api/run/all/{store['hashes']['hostile']}").json()
    assert run["hyperparameters"]["label"] == HOSTILE
    # pages are fixed files: nothing from the store is templated into HTML
    page = client.get(f"/run/all/{store['hashes']['hostile']}").text
    assert "__xss" not in page and "default-src 'self'" in str(
        client.get("/").headers["content-security-policy"]
    )


def test_poll_returns_only_new_metric_rows(client, store):
    from tests.dashboard.conftest import make_run

    run_hash = store["hashes"]["done"]
    first = client.get(
        "/api/poll", params={"topic": "run", "hash": run_hash, "cursor": "0:0"}
    ).json()
    assert [r[0] for r in first["metrics"]["rows"]] == [1.0, 2.0, 3.0]
    again = client.get("/api/poll", params={"topic": "run", "hash": run_hash,
                                            "cursor": first["cursor"]}).json()  # fmt: skip
    assert "metrics" not in again  # nothing changed: an empty answer
    make_run(store["root"], width=1, epochs=5)  # the same run, two epochs more
    later = client.get("/api/poll", params={"topic": "run", "hash": run_hash,
                                            "cursor": first["cursor"]}).json()  # fmt: skip
    assert [r[0] for r in later["metrics"]["rows"]] == [4.0, 5.0]


def test_events_stream_sends_the_first_update(client):
    with client.stream(
        "GET", "/api/events", params={"topic": "overview", "cursor": "0"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = []
        for line in response.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    update = json.loads(lines[-1][len("data:") :])
    assert update["topic"] == "overview" and update["data"]["runs"]["total"] > 0


def test_static_plotly_comes_from_the_installed_package(client):
    import plotly

    response = client.get("/static/plotly.min.js")
    assert response.status_code == 200
    bundled = os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js")
    assert len(response.content) == os.path.getsize(bundled)
    assert client.get("/static/../_app.py").status_code == 404
