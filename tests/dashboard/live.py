"""A real dashboard server in a thread and the system's Chromium, for the browser tests, the
benchmark (bench/bench_dashboard.py) and the screenshot script.

Chromium comes from ``$PHYPER_CHROMIUM`` or ``chromium`` on the PATH (Debian's package);
``playwright install`` is never needed.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import typing

from phyper.dashboard import create_app, free_port


def chromium_path() -> str | None:
    """The Chromium executable to drive, or None."""
    configured = os.environ.get("PHYPER_CHROMIUM")
    if configured:
        return configured if os.path.isfile(configured) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright: typing.Any) -> typing.Any:
    """Headless Chromium from the system (raises FileNotFoundError without one)."""
    path = chromium_path()
    if path is None:
        raise FileNotFoundError(
            "no Chromium: install the `chromium` package or set PHYPER_CHROMIUM to its executable"
        )
    return playwright.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])


class LiveServer:
    """``with LiveServer(root) as server:`` serves the dashboard on a free port of
    ``host``; ``server.url(path)`` is an address with the token."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        host: str = "127.0.0.1",
        start_timeout: float = 120,
        **options: object,
    ):
        import uvicorn

        self.start_timeout = start_timeout
        self.host = host
        self.port = free_port("127.0.0.1" if host in ("0.0.0.0", "::") else host)
        self.app = create_app(root, host=host, port=self.port, **options)  # type: ignore[arg-type]
        self.dashboard = self.app.state.dashboard
        config = uvicorn.Config(
            self.app, host=host, port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def token(self) -> str:
        return str(self.dashboard.guard.token)

    def url(self, path: str = "/", token: bool = True) -> str:
        base = f"http://127.0.0.1:{self.port}{path}"
        if not token:
            return base
        return base + ("&" if "?" in path else "?") + f"token={self.token}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout  # the store is indexed first
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the dashboard server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
