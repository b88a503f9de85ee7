"""The playground's web app (Starlette): the page, its controls, and a stream of frames.

Routes (all local; the page loads nothing from outside):

- ``GET /``, ``/static/...``: the page and its assets, shipped in the package
- ``GET /api/state``: the current run (settings, points, input maps) and its last frame
- ``POST /api/settings``: a JSON object of settings; starts a new run (paused)
- ``POST /api/control``: ``{"action": "play" | "pause" | "step" | "reset" | "regenerate"}``
- ``POST /api/weight``: ``{"layer", "name": "W" | "b", "row", "column", "value"}``
- ``POST /api/view``: ``{"bend": [layer, i, j] | null}``
- ``POST /api/data``: a CSV of x1, x2, label (the body); starts a run on it
- ``GET /api/neuron?layer=&unit=&sample=``: the formula of one neuron, with live numbers
- ``GET /api/frames``: server-sent events, one ``frame`` per picture (``?limit=N`` ends after N)
- ``GET /api/model.safetensors``, ``/api/model.onnx``, ``/api/train.py``: exports

A bad request is answered 400 with ``{"error": message}`` naming the problem.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import tempfile
import threading
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import io as model_io
from .codegen import training_script
from .session import Session
from .settings import MAX_SAMPLES, Settings

__all__ = ["Playground", "create_app"]

MAX_UPLOAD = 1 << 20          # bytes of CSV


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

    def wait(self, version: int, timeout: float) -> tuple[int, str | None]:
        """The newest frame once there is one newer than ``version`` (or after ``timeout``)."""
        with self._changed:
            if self._version == version:
                self._changed.wait(timeout)
            return self._version, self._text

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
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
    for number, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        cells = [c.strip() for c in row if c.strip() != ""]
        if not cells:
            continue
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if number == 1 and not rows:
                continue                      # a header
            raise ValueError(f"line {number}: {row!r} is not three numbers x1, x2, label")\
                from None
        if len(values) != 3:
            raise ValueError(f"line {number}: expected 3 columns (x1, x2, label), got "
                             f"{len(values)}")
        rows.append(values)
        if len(rows) > MAX_SAMPLES:
            raise ValueError(f"at most {MAX_SAMPLES} rows")
    if len(rows) < 4:
        raise ValueError("the CSV needs at least 4 rows of x1, x2, label")
    return rows


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI app; ``app.state.playground`` is its ``Playground``."""
    playground = Playground(settings)
    static = resources.files("glassnet.playground") / "static"

    def current() -> Session:
        return playground.session

    async def index(request):
        return Response((static / "index.html").read_text(encoding="utf-8"),
                        media_type="text/html")

    async def state(request):
        session = current()
        return JSONResponse({**session.describe(), "frame": session.frame,
                             "curve": session.curve, "onnx": _has_onnx()})

    async def settings_route(request):
        try:
            # An uploaded table stays in the settings: the page can switch back to it.
            new = Settings.from_dict(await _json(request), current().settings)
            await asyncio.to_thread(playground.replace, new)
        except ValueError as error:
            return _error(str(error))
        return await state(request)

    async def control(request):
        try:
            action = (await _json(request)).get("action")
            session = current()
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
                await asyncio.to_thread(playground.replace, settings)
                return await state(request)
            else:
                raise ValueError("action must be play, pause, step, reset or regenerate; got "
                                 f"{action!r}")
        except ValueError as error:
            return _error(str(error))
        return JSONResponse({"status": current().status, "epoch": current().epoch})

    async def weight(request):
        try:
            body = await _json(request)
            current().edit(int(body.get("layer", -1)), str(body.get("name", "W")),
                           int(body.get("row", -1)), int(body.get("column", 0)),
                           float(body.get("value")))
        except (TypeError, ValueError) as error:
            return _error(f"weight edit: {error}")
        return JSONResponse({"ok": True})

    async def view(request):
        try:
            current().set_bend((await _json(request)).get("bend"))
        except (TypeError, ValueError) as error:
            return _error(f"view: {error}")
        return JSONResponse({"ok": True})

    async def upload(request):
        body = await request.body()
        if len(body) > MAX_UPLOAD:
            return _error(f"the CSV is larger than {MAX_UPLOAD} bytes", 413)
        try:
            rows = parse_csv(body.decode("utf-8-sig"))
            new = Settings.from_dict({"dataset": "custom", "custom": rows},
                                     current().settings)
            if new.task == "classification" and new.head == "sigmoid" and \
                    len({row[2] for row in rows}) > 2:
                new = Settings.from_dict({"head": "softmax"}, new)
            await asyncio.to_thread(playground.replace, new)
        except UnicodeDecodeError:
            return _error("the CSV must be UTF-8 text")
        except ValueError as error:
            return _error(f"CSV: {error}")
        return await state(request)

    async def neuron(request):
        q = request.query_params
        try:
            result = current().neuron(int(q.get("layer", "0")), int(q.get("unit", "0")),
                                      int(q.get("sample", "0")))
        except ValueError as error:
            return _error(str(error))
        return JSONResponse(result)

    async def frames(request):
        try:
            limit = int(request.query_params.get("limit", "0"))
        except ValueError:
            return _error("limit must be an integer")

        async def stream():
            version, sent = -1, 0
            while not limit or sent < limit:
                new, text = await asyncio.to_thread(playground.wait, version, 1.0)
                if await request.is_disconnected():
                    break
                if new == version or text is None:
                    yield ": keep-alive\n\n"
                    continue
                version, sent = new, sent + 1
                yield f"event: frame\ndata: {text}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    async def model_file(request):
        net = current().snapshot()
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "playground.safetensors"
            try:
                model_io.save(net, path, metadata=_metadata(current()))
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

        model = to_onnx(current().snapshot(), feature_names=list(current().settings.features))
        return Response(model.SerializeToString(), media_type="application/octet-stream",
                        headers={"Content-Disposition":
                                 'attachment; filename="playground.onnx"'})

    async def script(request):
        session = current()
        return Response(training_script(session.settings, session.epoch),
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
        Route("/api/frames", frames),
        Route("/api/model.safetensors", model_file),
        Route("/api/model.onnx", onnx_file),
        Route("/api/train.py", script),
        Mount("/static", StaticFiles(directory=str(static)), name="static"),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        playground.close()           # the training thread ends with the server

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.playground = playground
    return app


def _metadata(session: Session) -> dict:
    s = session.settings
    return {"source": "glassnet playground", "features": list(s.features),
            "task": session.plane.task, "epoch": session.epoch,
            "settings": json.loads(json.dumps(s.to_dict()))}


def _has_onnx() -> bool:
    try:
        import onnx  # noqa: F401
    except ImportError:
        return False
    return True
