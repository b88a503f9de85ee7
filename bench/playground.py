"""How smooth the playground is: frames a second for a 2-8-8-1 network on the spiral.

    python bench/playground.py --out bench/playground.md [--smoke]

Three numbers per boundary resolution: the time to compute one frame (the grid through the
network, every neuron's map, train and test loss) and its size as JSON; the frames a second the
server publishes while playing (it paces itself to at most 30); and, when Playwright and
Chromium are present, the frames a second the page in headless Chromium actually draws, counted
in the page. The issue's floor is 10 frames a second at 50x50.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

SETTINGS = {"dataset": "spiral", "hidden": [8, 8], "activation": "tanh", "batch_size": 10,
            "optimizer": "adam", "learning_rate": 0.01}


def server_side(resolution: int, seconds: float) -> dict:
    from glassnet.playground.session import Session
    from glassnet.playground.settings import Settings

    session = Session(Settings.from_dict({**SETTINGS, "resolution": resolution}))
    try:
        with session._lock:
            start, n = time.perf_counter(), 0
            while n < 20 or time.perf_counter() - start < min(seconds, 1.0):
                text = json.dumps(session._frame())
                n += 1
            frame_ms = 1000 * (time.perf_counter() - start) / n
        session.play()
        first = session.epoch
        time.sleep(seconds)
        session.pause()
        fps = (session.epoch - first) / seconds        # one epoch a frame at this speed
    finally:
        session.close()
    return {"frame_ms": frame_ms, "frame_kb": len(text) / 1024, "server_fps": fps}


def browser_side(resolutions, seconds: float) -> dict | None:
    """Frames a second the page draws at each of ``resolutions``, one server and one browser
    for all of them; None without Playwright or Chromium."""
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    glassnet = Path(sys.executable).with_name("glassnet")
    server = subprocess.Popen([str(glassnet), "playground", "--port", str(port),
                               "--no-browser"], stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        import urllib.request

        for _ in range(300):
            try:
                urllib.request.urlopen(url + "api/state", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        query = "&".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                         for k, v in SETTINGS.items())
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}#{query}")
            page.wait_for_selector("canvas.neuron[data-layer='1'][data-unit='7']")
            # Count the frames the page draws: every one changes the epoch shown.
            page.evaluate("""() => { window.drawn = 0; new MutationObserver(() => window.drawn++)
                .observe(document.getElementById('epoch'), {childList: true}); }""")
            fps = {}
            for resolution in resolutions:
                page.evaluate(f"changeSettings({{resolution: {resolution}}})")
                page.wait_for_function(f"meta.resolution === {resolution}")
                page.click("#play")
                before = page.evaluate("window.drawn")
                page.wait_for_function(f"window.drawn > {before + 2}")
                start = page.evaluate("window.drawn")
                time.sleep(seconds)
                fps[resolution] = (page.evaluate("window.drawn") - start) / seconds
                page.click("#play")
            browser.close()
        return fps
    finally:
        server.terminate()
        server.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--smoke", action="store_true", help="a second per number")
    args = parser.parse_args()
    from run import emit, machine

    seconds = 1.0 if args.smoke else 5.0
    rows = []
    resolutions = (50, 100)
    page_fps = browser_side(resolutions, seconds)
    for resolution in resolutions:
        r = server_side(resolution, seconds)
        r["page_fps"] = None if page_fps is None else page_fps[resolution]
        rows.append((resolution, r))
        page = "-" if r["page_fps"] is None else f"{r['page_fps']:.1f}"
        print(f"{resolution}x{resolution}: frame {r['frame_ms']:.2f} ms, {r['frame_kb']:.0f} KB;"
              f" server {r['server_fps']:.1f} frames/s; page {page} frames/s", flush=True)
    lines = ["# Playground frame rate", "",
             "`python bench/playground.py`: a 2-8-8-1 tanh network on the spiral (batch 10, "
             "Adam), one epoch a frame; the server paces itself to at most 30 frames a "
             "second. The page's rate is counted in headless Chromium on the same machine.", "",
             f"Machine: {machine()}", "",
             "| boundary | frame compute | frame size | server frames/s | page frames/s |",
             "|---|---|---|---|---|"]
    for resolution, r in rows:
        page = "-" if r["page_fps"] is None else f"{r['page_fps']:.1f}"
        lines.append(f"| {resolution}x{resolution} | {r['frame_ms']:.2f} ms | "
                     f"{r['frame_kb']:.0f} KB | {r['server_fps']:.1f} | {page} |")
    if args.smoke:
        lines += ["", "SMOKE RUN: one second per number."]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
