"""`phyper dashboard`: the command serves the store, prints its URL, and `import phyper` stays
light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from phyper.cli import main


def test_import_phyper_imports_no_web_stack():
    code = "import sys, phyper, phyper.tune; print(sorted({'starlette', 'uvicorn', 'plotly'} "
    code += "& set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_missing_root_is_a_usage_error(tmp_path, capsys):
    assert main(["dashboard", "--root", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_the_command_prints_its_url_and_serves_the_store(store):
    command = [sys.executable, "-m", "phyper", "dashboard", "--root", store["root"], "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    try:
        url = None
        for line in process.stdout:
            if "?token=" in line:
                url = line.strip()
                break
        assert url is not None and url.startswith("http://127.0.0.1:")
        base, _, token = url.partition("/?token=")
        deadline = time.monotonic() + 60
        while True:  # the URL is printed just before the server starts listening
            try:
                with urllib.request.urlopen(f"{base}/api/overview", timeout=30) as response:
                    overview = json.load(response)
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert overview["runs"]["total"] == 4 and overview["studies"][0]["name"] == "search"
        request = urllib.request.Request(f"{base}/api/decide", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(request, timeout=30)  # no token, no change
        assert len(token) >= 30
    finally:
        process.terminate()
        process.wait(timeout=30)
