"""The dashboard's routes: four pages (static HTML and JavaScript, store data fetched as JSON
and always inserted as text), a JSON API, one server-sent event stream per open page, and the
one changing request, a go/no-go decision.

    GET  /  /queue  /study/NAME  /run/RESOURCE/HASH      the pages
    GET  /api/overview  /api/queue  /api/study/NAME  /api/run/RESOURCE/HASH
    GET  /api/study/NAME/curves  /api/study/NAME/trials.csv  /api/run/RESOURCE/HASH/peers
    GET  /api/run/RESOURCE/HASH/metrics?offset=N        metrics.csv from byte N
    GET  /api/events?topic=...   (server-sent events)   /api/poll?topic=...  (the fallback)
    POST /api/decide   {"kind": "run"|"study", "hash"|"study", "resource", "gate",
                        "decision": "go"|"no-go", "note"}
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import getpass
import io
import json
import math
import os
import threading
import time
import typing

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from ..tune._errors import DecisionError
from ..tune._gate import check_name, decide
from ..tune._study import decide_study
from ._actions import Actions
from ._data import StoreIndex, decision_of, tail_metrics
from ._security import BadName, Guard, GuardMiddleware, check_hash, check_resource, check_study

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
PAGES = ("overview", "queue", "study", "run")
STATIC_FILES = frozenset({"dashboard.css", "common.js", "overview.js", "queue.js", "study.js",
                          "run.js"})  # fmt: skip
TICK_SECONDS = 0.5
SSE_WAIT_SECONDS = 0.25
MAX_NOTE = 2000


def plotly_js() -> str:
    """The path of the plotly.js bundle shipped inside the installed ``plotly`` package."""
    import plotly

    path = os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"plotly.min.js is missing from the plotly package at {path!r}")
    return path


def dumps(document: object) -> str:
    """JSON for the browser: NaN and infinities (which JSON lacks) become null."""
    try:
        return json.dumps(document, allow_nan=False, default=str)
    except ValueError:
        return json.dumps(_finite(document), allow_nan=False, default=str)


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json(document: object, status: int = 200) -> Response:
    return Response(dumps(document), status_code=status, media_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, status)


class Dashboard:
    """The application state: the index of the store, the guard, the optional action."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int = 8050,
        token: str | None = None,
        on_decision: str | None = None,
        tick: float = TICK_SECONDS,
        workdir: str | None = None,
    ) -> None:
        self.root = os.path.abspath(os.fspath(root))
        self.index = StoreIndex(self.root)
        self.guard = Guard(host, port, token)
        self.actions = Actions(on_decision, self.index, workdir) if on_decision else None
        self.tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pages = {name: self._render_shell(name) for name in PAGES}

    # ------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Index the store and start the ticker (the app's startup does it)."""
        if not self.index.version:
            self.index.load()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run_ticks, daemon=True, name="ticker")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run_ticks(self) -> None:
        while not self._stop.wait(self.tick):
            self.step()

    def step(self) -> None:
        """One tick: read what changed, act on new decisions."""
        try:
            self.index.refresh()
            if self.actions is not None and self.actions.check():
                self.index.refresh()
        except Exception as error:  # a tick that fails is logged; the next one tries again
            print(f"phyper dashboard: reading the store failed: {error!r}", flush=True)

    # ------------------------------------------------------------------------ pages

    def _render_shell(self, page: str) -> bytes:
        # plotly.js is loaded by the page's script once its text is drawn (common.js)
        with open(os.path.join(STATIC, "page.html"), encoding="utf-8") as stream:
            shell = stream.read()
        scripts = f'<script src="/static/common.js"></script>\n<script src="/static/{page}.js">'
        scripts += "</script>"
        return shell.replace("{{page}}", page).replace("{{scripts}}", scripts).encode("utf-8")

    def page(self, name: str) -> Response:
        return Response(
            self._pages[name],
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-eval'; "
                "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )

    # ---------------------------------------------------------------------- folders

    def run_folder(self, resource: str, run_hash: str) -> str:
        """The folder of a run named by a request (both names checked)."""
        return os.path.join(self.root, check_resource(resource), check_hash(run_hash))

    # ------------------------------------------------------------------------ topics

    def poll(self, params: typing.Mapping[str, str]) -> dict[str, typing.Any] | None:
        """What changed for one open page since its cursor (None: nothing)."""
        topic = params.get("topic", "")
        cursor = params.get("cursor", "")
        if topic in ("overview", "queue"):
            if cursor == str(self.index.version):
                return None
            data = self.index.overview() if topic == "overview" else self.index.queue()
            return {"topic": topic, "cursor": str(data["version"]), "data": data}
        if topic == "run":
            folder = self.run_folder(params.get("resource", "all"), params.get("hash", ""))
            offset, _, seen = cursor.partition(":")
            tail = tail_metrics(folder, int(offset) if offset.isdigit() else 0)
            version = str(self.index.version)
            detail = self.index.run_detail(folder) if seen != version else None
            if not tail["rows"] and detail is None and not tail["reset"]:
                return None
            return {
                "topic": topic,
                "cursor": f"{tail['offset']}:{version}",
                "metrics": tail,
                "run": detail,
            }
        if topic == "study":
            name = check_study(params.get("study", ""))
            with self.index.lock:
                study = self.index.studies.get(name)
                if study is None:
                    return None
                since = int(cursor) if cursor.isdigit() else 0
                if since == study.version:
                    return None
                changed = study.changed_since(since)
                summary = study.summary(sparkline=False)  # O(1): the page draws its own
                version = study.version
            return {"topic": topic, "cursor": str(version), "trials": changed, "summary": summary}
        raise BadName(f"topic {topic[:40]!r}: expected overview, queue, run or study")

    # --------------------------------------------------------------------- deciding

    def decide(self, body: dict[str, typing.Any], client: str) -> Response:
        kind = body.get("kind")
        verdict = body.get("decision")
        if verdict not in ("go", "no-go"):
            return _error(400, f"decision {verdict!r}: expected 'go' or 'no-go'")
        note = body.get("note") or None
        if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
            return _error(400, f"a note is text of at most {MAX_NOTE} characters")
        gate = check_name(body.get("gate"), "gate name", BadName)
        by = f"{_user()} (dashboard, {client})"
        if kind == "run":
            resource = check_resource(str(body.get("resource", "all")))
            run_hash = check_hash(str(body.get("hash", "")))
            folder = self.run_folder(resource, run_hash)
            subject = f"run {run_hash[:12]}"
            if not os.path.isdir(folder):
                return _error(404, f"no run {run_hash} under {resource!r}")
        elif kind == "study":
            name = check_study(str(body.get("study", "")))
            folder = os.path.join(self.root, "studies", name)
            subject = f"study {name!r}"
            if not os.path.isdir(folder):
                return _error(404, f"no study {name!r}")
        else:
            return _error(400, f"kind {kind!r}: expected 'run' or 'study'")
        earlier = decision_of(folder, gate)
        if earlier is not None:
            return _conflict(subject, gate, earlier)
        try:
            if kind == "run":
                row = self.index.run_detail(folder) or {}
                if row.get("status") != "awaiting_decision" or row.get("gate") != gate:
                    return _error(
                        409,
                        f"{subject} no longer awaits a decision at gate {gate!r} (status "
                        f"{row.get('status')}); reload the page",
                    )
                path = decide(
                    self.root, run_hash, go=verdict == "go", note=note, resource=resource, by=by
                )
                self.index.touch_run(folder)
            else:
                with self.index.lock:
                    study = self.index.studies.get(name)
                    awaiting = study.awaiting if study else None
                if awaiting != gate:
                    return _error(409, f"{subject} does not await gate {gate!r}; reload the page")
                path = decide_study(self.root, name, go=verdict == "go", note=note, by=by)
        except DecisionError as error:
            earlier = decision_of(folder, gate)
            if earlier is not None:
                return _conflict(subject, gate, earlier)
            return _error(409, str(error))
        if self.actions is not None:
            self.actions.check()
        return _json({"recorded": os.path.basename(path), "decision": decision_of(folder, gate)})


def _conflict(subject: str, gate: str, earlier: dict[str, typing.Any]) -> Response:
    note = f" (note: {earlier['note']})" if earlier.get("note") else ""
    return _json(
        {
            "error": f"gate {gate!r} of {subject} was already decided: {earlier.get('decision')} "
            f"by {earlier.get('by')} at {earlier.get('decided_at')}{note}",
            "decision": earlier,
        },
        409,
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def trials_csv(detail: dict[str, typing.Any]) -> str:
    """The trials table as CSV; floats as Python writes them (``repr``: the shortest text that
    reads back to the same float)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = detail["param_names"]
    writer.writerow(["number", "state", "value", "hash", *names, "duration", "error"])

    def cell(value: object) -> object:
        if value is None:
            return ""
        if isinstance(value, float):
            return repr(value)
        return value

    for t in detail["trials_list"]:
        params = t["params"]
        writer.writerow(
            [cell(v) for v in (t["number"], t["state"], t["value"], t["hash"],
                               *(params.get(n) for n in names), t["duration"], t["error"])]
        )  # fmt: skip
    return out.getvalue()


# ---------------------------------------------------------------------------- the app


def create_app(
    root: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8050,
    token: str | None = None,
    on_decision: str | None = None,
    tick: float = TICK_SECONDS,
    workdir: str | None = None,
) -> typing.Any:
    """The ASGI application over the store at ``root``; ``app.state.dashboard`` holds the
    :class:`Dashboard` (its guard's ``url()`` is the address to open). ``on_decision`` runs in
    ``workdir`` (default: the current directory).

    >>> import tempfile
    >>> app = create_app(tempfile.mkdtemp(), port=8123, token="t")
    >>> app.state.dashboard.guard.url()
    'http://127.0.0.1:8123/?token=t'
    """
    dashboard = Dashboard(
        root, host=host, port=port, token=token, on_decision=on_decision, tick=tick,
        workdir=workdir,
    )  # fmt: skip

    async def run_in_thread(function: typing.Callable[[], typing.Any]) -> typing.Any:
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(function)

    def guarded(
        handler: typing.Callable[[Request], typing.Awaitable[Response]],
    ) -> typing.Callable[[Request], typing.Awaitable[Response]]:
        async def wrapper(request: Request) -> Response:
            try:
                return await handler(request)
            except BadName as error:
                return _error(400, str(error))

        return wrapper

    async def overview_page(request: Request) -> Response:
        return dashboard.page("overview")

    async def queue_page(request: Request) -> Response:
        return dashboard.page("queue")

    async def study_page(request: Request) -> Response:
        check_study(request.path_params["name"])
        return dashboard.page("study")

    async def run_page(request: Request) -> Response:
        dashboard.run_folder(request.path_params["resource"], request.path_params["hash"])
        return dashboard.page("run")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "plotly.min.js":
            return FileResponse(
                plotly_js(),
                media_type="text/javascript",
                headers={"Cache-Control": "public, max-age=86400"},
            )
        if name not in STATIC_FILES:
            return _error(404, f"no static file {name[:40]!r}")
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        return FileResponse(os.path.join(STATIC, name), media_type=kind)

    async def api_overview(request: Request) -> Response:
        return _json(await run_in_thread(dashboard.index.overview))

    async def api_queue(request: Request) -> Response:
        return _json(await run_in_thread(dashboard.index.queue))

    async def api_study(request: Request) -> Response:
        name = check_study(request.path_params["name"])
        detail = await run_in_thread(lambda: dashboard.index.study_detail(name))
        return _error(404, f"no study {name!r}") if detail is None else _json(detail)

    async def api_study_curves(request: Request) -> Response:
        name = check_study(request.path_params["name"])
        curves = await run_in_thread(lambda: dashboard.index.study_curves(name))
        return _error(404, f"no study {name!r}") if curves is None else _json(curves)

    async def api_study_csv(request: Request) -> Response:
        name = check_study(request.path_params["name"])
        detail = await run_in_thread(lambda: dashboard.index.study_detail(name))
        if detail is None:
            return _error(404, f"no study {name!r}")
        return Response(
            trials_csv(detail),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}-trials.csv"'},
        )

    async def api_run(request: Request) -> Response:
        folder = dashboard.run_folder(request.path_params["resource"], request.path_params["hash"])
        detail = await run_in_thread(lambda: dashboard.index.run_detail(folder))
        if detail is None:
            return _error(404, f"no run in {os.path.relpath(folder, dashboard.root)!r}")
        return _json({**detail, "cursor_version": dashboard.index.version})

    async def api_run_metrics(request: Request) -> Response:
        folder = dashboard.run_folder(request.path_params["resource"], request.path_params["hash"])
        offset = request.query_params.get("offset", "0")
        if not offset.isdigit():
            return _error(400, f"offset {offset[:20]!r}: expected a byte count")
        return _json(await run_in_thread(lambda: tail_metrics(folder, int(offset))))

    async def api_run_peers(request: Request) -> Response:
        folder = dashboard.run_folder(request.path_params["resource"], request.path_params["hash"])
        metric = request.query_params.get("metric") or None

        def read() -> dict[str, typing.Any]:
            from ._data import metric_curve

            detail = dashboard.index.run_detail(folder) or {}
            own = metric_curve(folder, metric or detail.get("monitor"))
            return {"own": own, "peers": dashboard.index.peers(folder, own["metric"])}

        return _json(await run_in_thread(read))

    async def api_poll(request: Request) -> Response:
        params = dict(request.query_params)
        update = await run_in_thread(lambda: dashboard.poll(params))
        return _json(update or {"topic": params.get("topic"), "cursor": params.get("cursor")})

    async def api_events(request: Request) -> Response:
        params = dict(request.query_params)
        # the first poll checks the names before the stream starts (a bad one is a 400)
        first = await run_in_thread(lambda: dashboard.poll(params))

        async def stream() -> typing.AsyncIterator[str]:
            cursor = params.get("cursor", "")
            last_sent = time.monotonic()
            yield "retry: 1000\n\n"
            update = first
            while True:
                if update is None and await request.is_disconnected():
                    return
                if update is None:
                    update = await run_in_thread(
                        functools.partial(dashboard.poll, {**params, "cursor": cursor})
                    )
                if update is not None:
                    cursor = update["cursor"]
                    yield f"event: update\ndata: {dumps(update)}\n\n"
                    last_sent = time.monotonic()
                    update = None
                    continue
                if time.monotonic() - last_sent > 15:
                    yield ": keep-alive\n\n"
                    last_sent = time.monotonic()
                await asyncio.sleep(SSE_WAIT_SECONDS)
                update = None

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def api_decide(request: Request) -> Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "expected a JSON object")
        if not isinstance(body, dict):
            return _error(400, "expected a JSON object")
        client = request.client.host if request.client else "unknown"
        return await run_in_thread(lambda: dashboard.decide(body, client))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> typing.AsyncIterator[None]:
        await run_in_thread(dashboard.start)
        try:
            yield
        finally:
            dashboard.stop()

    routes = [
        Route("/", guarded(overview_page)),
        Route("/queue", guarded(queue_page)),
        Route("/study/{name}", guarded(study_page)),
        Route("/run/{resource}/{hash}", guarded(run_page)),
        Route("/static/{name}", guarded(static)),
        Route("/api/overview", guarded(api_overview)),
        Route("/api/queue", guarded(api_queue)),
        Route("/api/study/{name}", guarded(api_study)),
        Route("/api/study/{name}/curves", guarded(api_study_curves)),
        Route("/api/study/{name}/trials.csv", guarded(api_study_csv)),
        Route("/api/run/{resource}/{hash}", guarded(api_run)),
        Route("/api/run/{resource}/{hash}/metrics", guarded(api_run_metrics)),
        Route("/api/run/{resource}/{hash}/peers", guarded(api_run_peers)),
        Route("/api/poll", guarded(api_poll)),
        Route("/api/events", guarded(api_events)),
        Route("/api/decide", guarded(api_decide), methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.dashboard = dashboard
    app.add_middleware(GuardMiddleware, guard=dashboard.guard)
    return app
