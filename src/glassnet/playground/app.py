"""The playground's web app (Starlette): the page, its controls, and a stream of frames.

Routes (all local; the page loads nothing from outside):

- ``GET /``, ``/static/...``: the page and its assets, shipped in the package
- ``GET /api/state``: the current run (settings, points, input maps) and its last frame
- ``POST /api/settings``: a JSON object of settings; starts a new run (paused)
- ``POST /api/control``: ``{"action": "play" | "pause" | "step" | "reset" | "regenerate"}``
- ``POST /api/weight``: ``{"layer", "name": "W" | "b", "row", "column", "value"}``
- ``POST /api/view``: ``{"bend": [layer, i, j] | null}``
- ``POST /api/data``: a CSV of x1, x2, label (the body); starts a run on it
- ``GET /api/neuron?layer=&unit=&sample=``: the formula of one neuron, with live numbers,
  its batch's gradients and one update step
- ``GET /api/thumbnails``: a few points of each built-in data set, for their pictures
- ``GET /api/frames``: server-sent events, one ``frame`` per picture (``?limit=N`` ends after N)
- ``GET /api/model.safetensors``, ``/api/model.onnx``, ``/api/train.py``: exports

A bad request is answered 400 with ``{"error": message}`` naming the problem.

The server trusts no other page (``Guard``): it answers only requests whose ``Host`` is a
loopback name (or the ``--host`` it was started on), so a DNS-rebinding page cannot read it;
a ``POST`` whose ``Origin`` (or, without one, ``Referer``) is another site's is refused, and
its body must be ``application/json`` (``text/csv`` for an upload), which a cross-site page
cannot send without a CORS preflight this server never grants. Bodies are read with a size
limit enforced while reading (413 as soon as it is passed). A frame stream costs no thread
(it polls the newest frame's version), and at most ``MAX_STREAMS`` are open at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import io
import json
import tempfile
import threading
import time
import weakref
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import io as model_io
from . import data
from .codegen import training_script
from .session import Session, live_change
from .settings import MAX_SAMPLES, Settings

__all__ = ["Playground", "create_app"]

MAX_UPLOAD = 1 << 20          # bytes of a request body (CSV or JSON)
MAX_STREAMS = 32              # frame streams open at once
MAX_RUNS = 16                 # runs (tabs) at once
DEFAULT_RUN = "default"
#: how often idle runs are looked for (seconds)
SWEEP_EVERY = 5.0
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
#: the largest magnitude of an uploaded coordinate or label, and of an edited weight
MAX_VALUE = 1e6


class Guard:
    """ASGI middleware: refuse requests from other sites before any handler runs.

    ``hosts``: the host names (no port) this server answers to; loopback names by default.
    """

    def __init__(self, app, hosts=()):
        self.app = app
        self.hosts = LOOPBACK | {h.lower() for h in hosts if h not in ("0.0.0.0", "::", "")}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        problem = self.problem(scope["method"], headers)
        if problem:
            return await JSONResponse({"error": problem}, status_code=403)(scope, receive, send)
        return await self.app(scope, receive, send)

    def problem(self, method: str, headers: dict) -> str | None:
        host = headers.get("host", "")
        if _hostname(host) not in self.hosts:
            return f"this server answers only at a loopback address, not Host {host[:80]!r}"
        if method in ("GET", "HEAD", "OPTIONS"):
            return None
        origin = headers.get("origin") or _origin_of(headers.get("referer", ""))
        if origin and origin != "null" and _hostname(origin.split("://", 1)[-1]) not in \
                self.hosts:
            return f"requests from another site ({origin[:80]}) are refused"
        if origin == "null":
            return "requests from an opaque origin are refused"
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in ("application/json", "text/csv"):
            return (f"a POST body must be application/json (text/csv for /api/data); got "
                    f"{kind or 'no content type'!r}")
        return None


def _hostname(host: str) -> str:
    """``host[:port]`` without its port, lower-cased (``[::1]:8000`` -> ``[::1]``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _origin_of(url: str) -> str:
    if "://" not in url:
        return ""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"


async def _body(request: Request, limit: int = MAX_UPLOAD) -> bytes:
    """The request body, refused (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLargeError(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLargeError(limit)
        chunks.append(chunk)
    return b"".join(chunks)


class _BodyTooLargeError(ValueError):
    def __init__(self, limit):
        super().__init__(f"the request body is larger than {limit} bytes")


class Playground:
    """The one run a local playground shows, and the frames it has published."""

    def __init__(self, settings: Settings | None = None):
        self._changed = threading.Condition()
        self._text, self._version = None, 0
        self.session = None
        self.replace(settings or Settings())

    def _publish(self, text: str) -> None:
        with self._changed:
            self._text, self._version = text, self._version + 1
            self._changed.notify_all()

    def replace(self, settings: Settings) -> Session:
        """Start a new (paused) run of ``settings``, closing the old one."""
        session = Session(settings, publish=self._publish)   # raises before anything changes
        old, self.session = self.session, session
        if old is not None:
            old.close()
        session.set_bend(None)          # publish its first frame after the old one's last
        return session

    def latest(self) -> tuple[int, str | None]:
        """The newest frame and its version number (no waiting)."""
        with self._changed:
            return self._version, self._text

    def wait(self, version: int, timeout: float) -> tuple[int, str | None]:
        """The newest frame once there is one newer than ``version`` (or after ``timeout``)."""
        with self._changed:
            if self._version == version:
                self._changed.wait(timeout)
            return self._version, self._text

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


class Runs:
    """One ``Playground`` per page: each tab names its run (``?run=ID``, kept in the tab's
    ``sessionStorage``, so a reload re-attaches and another tab never touches it). A run whose
    pages have all gone is paused after ``pause_after`` seconds and ended after ``end_after``
    (``sweep``); requests that name no run share the ``default`` one."""

    def __init__(self, settings: Settings | None, pause_after: float = 30.0,
                 end_after: float = 1800.0):
        self.settings, self.pause_after, self.end_after = settings, pause_after, end_after
        self._runs: dict[str, Playground] = {}
        self._seen: dict[str, float] = {}
        self._streams: dict[str, int] = {}
        self._lock = threading.Lock()
        self.get(DEFAULT_RUN)

    def get(self, run_id: str) -> Playground:
        with self._lock:
            self._seen[run_id] = time.monotonic()
            run = self._runs.get(run_id)
            if run is not None:
                return run
            if len(self._runs) >= MAX_RUNS:
                raise _BusyError(f"at most {MAX_RUNS} runs at once; close a tab (idle runs end "
                                 f"after {self.end_after:g} s)")
            run = self._runs[run_id] = Playground(self.settings)
            return run

    def streaming(self, run_id: str, change: int) -> None:
        with self._lock:
            self._streams[run_id] = self._streams.get(run_id, 0) + change
            self._seen[run_id] = time.monotonic()

    def sweep(self, now: float | None = None) -> None:
        """Pause the runs no page has watched for ``pause_after`` seconds; end those idle for
        ``end_after`` (never the default run)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for run_id, run in list(self._runs.items()):
                if self._streams.get(run_id, 0) > 0:
                    continue
                idle = now - self._seen.get(run_id, now)
                if idle > self.end_after and run_id != DEFAULT_RUN:
                    run.close()
                    del self._runs[run_id]
                    self._seen.pop(run_id, None)
                elif idle > self.pause_after and run.session.status == "playing":
                    run.session.pause()

    def __len__(self):
        return len(self._runs)

    def close(self) -> None:
        with self._lock:
            for run in self._runs.values():
                run.close()


class _BusyError(ValueError):
    pass


def _run_id(request: Request) -> str:
    run_id = request.query_params.get("run", DEFAULT_RUN)
    if not run_id or len(run_id) > 64 or not all(c.isalnum() or c in "-_" for c in run_id):
        raise ValueError("run must be 1 to 64 letters, digits, '-' or '_'")
    return run_id


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json(request: Request) -> dict:
    raw = await _body(request)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):        # RecursionError: nesting 100k levels deep
        raise ValueError("the request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    return body


def parse_csv(text: str) -> list[list[float]]:
    """Rows of x1, x2, label from a CSV (a header line of names is skipped)."""
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t ")
    except csv.Error:
        dialect = csv.excel
    rows = []
    limit = csv.field_size_limit(MAX_UPLOAD)     # a long field is one bad line, not csv.Error
    try:
        parsed = list(csv.reader(io.StringIO(text), dialect))
    except csv.Error as error:
        raise ValueError(f"not a CSV: {error}") from None
    finally:
        csv.field_size_limit(limit)
    for number, row in enumerate(parsed, start=1):
        cells = [c.strip() for c in row if c.strip() != ""]
        if not cells:
            continue
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if number == 1 and not rows:
                continue                      # a header
            raise ValueError(f"line {number}: {str(row)[:80]} is not three numbers x1, x2, "
                             "label") from None
        if not all(abs(v) <= MAX_VALUE for v in values):
            raise ValueError(f"line {number}: every value must be a finite number of "
                             f"magnitude at most {MAX_VALUE:g}")
        if len(values) != 3:
            raise ValueError(f"line {number}: expected 3 columns (x1, x2, label), got "
                             f"{len(values)}")
        rows.append(values)
        if len(rows) > MAX_SAMPLES:
            raise ValueError(f"at most {MAX_SAMPLES} rows")
    if len(rows) < 4:
        raise ValueError("the CSV needs at least 4 rows of x1, x2, label")
    return rows


def _int_param(request: Request, name: str, default: int = 0) -> int:
    text = request.query_params.get(name, str(default))
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer; got {text[:40]!r}") from None


def _int_field(body: dict, name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer; got {str(value)[:40]}")
    return value


#: how often a frame stream looks for a new frame (seconds)
POLL = 1 / 60


@functools.lru_cache(maxsize=1)
def _thumbnails() -> dict:
    """``{name: [[x1, x2, label], ...]}``: 150 points of each built-in data set at a little
    noise, rounded (a few KB in all); the page draws them as the data sets' pictures."""
    out = {}
    for name in data.DATASETS:
        X, y = data.generate(name, 150, noise=10, seed=0)
        out[name] = [[round(float(a), 2), round(float(b), 2),
                      round(float(t), 2) if name in data.REGRESSION else int(t)]
                     for (a, b), t in zip(X, y)]
    return out


def create_app(settings: Settings | None = None, hosts=(), pause_after: float = 30.0,
               end_after: float = 1800.0) -> Starlette:
    """The ASGI app; ``app.state.runs`` holds a ``Playground`` per page (``Runs``), and
    ``app.state.playground`` is the default run. ``hosts``: host names it answers to besides
    the loopback ones (``Guard``)."""
    runs = Runs(settings, pause_after, end_after)
    playground = runs.get(DEFAULT_RUN)
    static = resources.files("glassnet.playground") / "static"

    def run(request) -> Playground:
        return runs.get(_run_id(request))

    def current(request) -> Session:
        return run(request).session

    async def index(request):
        return Response((static / "index.html").read_text(encoding="utf-8"),
                        media_type="text/html")

    async def state(request):
        session = current(request)
        return JSONResponse({**session.describe(), "frame": session.frame,
                             "curve": session.curve, "onnx": _has_onnx()})

    async def settings_route(request):
        try:
            # An uploaded table stays in the settings: the page can switch back to it.
            new = Settings.from_dict(await _json(request), current(request).settings)
            # The same settings again (a reload re-sending its URL) keep the run going; a new
            # learning rate, optimizer or penalty carries on from the weights it has.
            session = current(request)
            if live_change(session.settings, new) is not None:
                session.change(new)
            elif new != session.settings:
                await asyncio.to_thread(run(request).replace, new)
        except _BodyTooLargeError as error:
            return _error(str(error), 413)
        except ValueError as error:
            return _error(str(error))
        return await state(request)

    async def control(request):
        try:
            action = (await _json(request)).get("action")
            session = current(request)
            if action == "play":
                session.play()
            elif action == "pause":
                session.pause()
            elif action == "step":
                session.step(1)
            elif action in ("reset", "regenerate"):
                settings = session.settings
                if action == "regenerate":
                    settings = Settings.from_dict({"data_seed": settings.data_seed + 1},
                                                  settings)
                await asyncio.to_thread(run(request).replace, settings)
                return await state(request)
            else:
                raise ValueError("action must be play, pause, step, reset or regenerate; got "
                                 f"{action!r}")
        except ValueError as error:
            return _error(str(error))
        return JSONResponse({"status": current(request).status, "epoch": current(request).epoch})

    async def weight(request):
        try:
            body = await _json(request)
            value = body.get("value")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not abs(value) <= MAX_VALUE:
                raise ValueError(f"value must be a number of magnitude at most {MAX_VALUE:g}; "
                                 f"got {str(value)[:40]}")
            current(request).edit(_int_field(body, "layer", -1), str(body.get("name", "W")),
                           _int_field(body, "row", -1), _int_field(body, "column", 0),
                           float(value))
        except (TypeError, ValueError) as error:
            return _error(f"weight edit: {error}")
        return JSONResponse({"ok": True})

    async def view(request):
        try:
            current(request).set_bend((await _json(request)).get("bend"))
        except (TypeError, ValueError) as error:
            return _error(f"view: {error}")
        return JSONResponse({"ok": True})

    async def upload(request):
        try:
            rows = parse_csv((await _body(request)).decode("utf-8-sig"))
            new = Settings.from_dict({"dataset": "custom", "custom": rows},
                                     current(request).settings)
            if new.task == "classification" and new.head == "sigmoid" and \
                    len({row[2] for row in rows}) > 2:
                new = Settings.from_dict({"head": "softmax"}, new)
            await asyncio.to_thread(run(request).replace, new)
        except UnicodeDecodeError:
            return _error("the CSV must be UTF-8 text")
        except _BodyTooLargeError as error:
            return _error(str(error), 413)
        except ValueError as error:
            return _error(f"CSV: {error}")
        return await state(request)

    async def neuron(request):
        try:
            layer, unit, sample = (_int_param(request, name) for name in
                                   ("layer", "unit", "sample"))
            result = current(request).neuron(layer, unit, sample)
        except ValueError as error:
            return _error(str(error))
        return JSONResponse(result)

    async def thumbnails(request):
        """A few points of every built-in data set, for the page's small pictures of them."""
        return JSONResponse(_thumbnails())

    streams = {"open": 0}

    async def frames(request):
        try:
            limit = _int_param(request, "limit")
        except ValueError as error:
            return _error(str(error))
        if streams["open"] >= MAX_STREAMS:
            return _error(f"at most {MAX_STREAMS} frame streams at once; close a tab", 503)
        try:
            mine, run_id = run(request), _run_id(request)
        except ValueError as error:
            return _error(str(error), 503 if isinstance(error, _BusyError) else 400)
        streams["open"] += 1               # counted now: the next request sees it
        runs.streaming(run_id, +1)
        released = []

        def release():
            if not released:
                released.append(True)
                streams["open"] -= 1
                runs.streaming(run_id, -1)

        async def stream():
            # Polls the newest frame's version: no thread waits per stream, so idle streams
            # never starve the requests that need one (settings, uploads).
            version, sent, idle = -1, 0, 0.0
            try:
                while not limit or sent < limit:
                    new, text = mine.latest()
                    if new == version or text is None:
                        await asyncio.sleep(POLL)
                        idle += POLL
                        if idle >= 1.0:
                            if await request.is_disconnected():
                                break
                            idle = 0.0
                            yield ": keep-alive\n\n"
                        continue
                    version, sent, idle = new, sent + 1, 0.0
                    yield f"event: frame\ndata: {text}\n\n"
            finally:
                release()

        body = stream()
        weakref.finalize(body, release)     # a stream never started is released too
        return StreamingResponse(body, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    async def model_file(request):
        net = current(request).snapshot()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "playground.safetensors"
            try:
                model_io.save(net, path, metadata=_metadata(current(request)))
            except ValueError as error:
                return _error(str(error))
            content = path.read_bytes()
        return Response(content, media_type="application/octet-stream", headers={
            "Content-Disposition": 'attachment; filename="playground.safetensors"'})

    async def onnx_file(request):
        if not _has_onnx():
            return _error("ONNX export needs the onnx package: pip install 'glassnet[onnx]'",
                          404)
        from ..export.onnx import to_onnx

        session = current(request)
        model = to_onnx(session.snapshot(), feature_names=list(session.settings.features))
        return Response(model.SerializeToString(), media_type="application/octet-stream",
                        headers={"Content-Disposition":
                                 'attachment; filename="playground.onnx"'})

    async def script(request):
        session = current(request)
        return Response(training_script(session.initial_settings, session.epoch,
                                        session.changes, session.edit_log()),
                        media_type="text/x-python", headers={
                            "Content-Disposition": 'attachment; filename="train.py"'})

    routes = [
        Route("/", index),
        Route("/api/state", state),
        Route("/api/settings", settings_route, methods=["POST"]),
        Route("/api/control", control, methods=["POST"]),
        Route("/api/weight", weight, methods=["POST"]),
        Route("/api/view", view, methods=["POST"]),
        Route("/api/data", upload, methods=["POST"]),
        Route("/api/neuron", neuron),
        Route("/api/thumbnails", thumbnails),
        Route("/api/frames", frames),
        Route("/api/model.safetensors", model_file),
        Route("/api/model.onnx", onnx_file),
        Route("/api/train.py", script),
        Mount("/static", StaticFiles(directory=str(static)), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app):
        async def janitor():
            while True:
                await asyncio.sleep(min(SWEEP_EVERY, pause_after))
                runs.sweep()

        task = asyncio.create_task(janitor())
        yield
        task.cancel()
        runs.close()                 # the training threads end with the server

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        _BusyError: lambda request, error: _error(str(error), 503),
        ValueError: lambda request, error: _error(str(error))})
    app.state.playground, app.state.runs = playground, runs
    app.add_middleware(Guard, hosts=hosts)
    return app


def _metadata(session: Session) -> dict:
    s = session.settings
    meta = {"source": "glassnet playground", "features": list(s.features),
            "task": session.plane.task, "epoch": session.epoch,
            "settings": json.loads(json.dumps(s.to_dict()))}
    if s.dataset == "custom":
        # An uploaded table's x1 and x2 were standardised before the features: new points go
        # through the same (x - offset) / scale first.
        from .data import upload_scaling

        columns = upload_scaling(s.custom).columns
        meta["input_scaling"] = {c["name"]: {"offset": c["offset"], "scale": c["scale"]}
                                 for c in columns}
    return meta


def _has_onnx() -> bool:
    try:
        import onnx  # noqa: F401
    except ImportError:
        return False
    return True
