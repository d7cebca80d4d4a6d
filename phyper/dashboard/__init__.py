"""``phyper dashboard``: watch runs and studies live, and answer go/no-go gates from a page.

An optional extra (``pip install 'phyper-ml[dashboard]'``: Starlette, uvicorn, and plotly for the
plotly.js it ships). ``import phyper`` imports none of it.

    phyper dashboard --root derived_data [--host 127.0.0.1] [--port 8050] [--on-decision CMD]

From Python (the server runs until interrupted)::

    from phyper.dashboard import serve
    serve("derived_data", port=8050, on_decision="python -m example train-model --hash {hash}")

``create_app(root, ...)`` gives the ASGI application itself (for tests, or another server).
"""

from __future__ import annotations

import os
import socket
import sys
import typing

from ._app import Dashboard, create_app
from ._security import Guard

__all__ = ["Dashboard", "Guard", "create_app", "serve"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on at the moment."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def serve(
    root: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8050,
    on_decision: str | None = None,
    token: str | None = None,
    out: typing.TextIO | None = None,
) -> None:
    """Serve the dashboard over ``root`` until interrupted; prints the URL to open first."""
    import uvicorn

    out = out or sys.stdout
    if port == 0:
        port = free_port(host)
    app = create_app(root, host=host, port=port, token=token, on_decision=on_decision)
    dashboard: Dashboard = app.state.dashboard
    print(f"phyper dashboard over {dashboard.root}: indexing the store...", file=out, flush=True)
    dashboard.start()
    index = dashboard.index
    print(
        f"  {len(index.runs)} runs, {len(index.studies)} studies, read in "
        f"{index.load_seconds:.2f} s",
        file=out,
    )
    if on_decision:
        print(f"  after each decision it runs: {on_decision}", file=out)
    print(f"Open this address (it holds the access token):\n    {dashboard.guard.url()}", file=out)
    print("Stop with Ctrl-C.", file=out, flush=True)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    uvicorn.Server(config).run()
