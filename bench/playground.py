"""How smooth the playground is: frames a second for a 2-8-8-1 network on the spiral, and for
the largest network the page allows (7 inputs, six hidden layers of 16), with the time a pause
takes to show.

    python bench/playground.py --out bench/playground.md [--smoke]

Three numbers per boundary resolution: the time to compute one frame (the grid through the
network, every neuron's map, train and test loss) and its size as JSON; the frames a second the
server publishes while playing (it paces itself to at most 30); and, when Playwright and
Chromium are present, the frames a second the page in headless Chromium actually draws, counted
in the page; and for both networks in the page, at 80x80 (the default): the frames a second
drawn, the time from a click on pause until the page shows it paused, and until the server's
paused frame is drawn (medians of five). The targets: at
least 25 frames a second and a pause shown within 100 ms on the largest network.
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
#: the largest network the page allows: every input feature, 6 hidden layers of 16
LARGEST = {**SETTINGS, "hidden": [16] * 6,
           "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]}
NETWORKS = {"2-8-8-1": SETTINGS, "7-16x6-1 (largest)": LARGEST}


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


def _query(settings) -> str:
    return "&".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                    for k, v in settings.items())


def browser_side(resolutions, seconds: float) -> dict | None:
    """``{"fps": {resolution: frames/s}, "networks": {name: (frames/s, pause ms)}}`` in
    headless Chromium, one server and one browser for all; None without Playwright or
    Chromium."""
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
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            out = {"fps": {}, "networks": {}}
            for name, settings in NETWORKS.items():
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{url}#{_query(settings)}")
                last = len(settings["hidden"]) - 1
                page.wait_for_selector(f"canvas.neuron[data-layer='{last}']"
                                       f"[data-unit='{settings['hidden'][-1] - 1}']")
                # Count the frames the page draws: every one changes the epoch shown.
                page.evaluate("""() => { window.drawn = 0; new MutationObserver(() =>
                    window.drawn++).observe(document.getElementById('epoch'),
                    {childList: true}); }""")
                for resolution in resolutions if settings is SETTINGS else (80,):
                    page.evaluate(f"changeSettings({{resolution: {resolution}}})")
                    page.wait_for_function(f"meta.settings.resolution === {resolution}")
                    fps = _play_and_count(page, seconds)
                    if settings is SETTINGS:
                        out["fps"][resolution] = fps
                    if resolution == 80:
                        out["networks"][name] = (fps, _pause_ms(page))
                page.close()
            browser.close()
        return out
    finally:
        server.terminate()
        server.wait(timeout=10)


def _play_and_count(page, seconds: float) -> float:
    page.click("#play")
    before = page.evaluate("window.drawn")
    page.wait_for_function(f"window.drawn > {before + 2}")
    start = page.evaluate("window.drawn")
    time.sleep(seconds)
    fps = (page.evaluate("window.drawn") - start) / seconds
    page.click("#play")
    page.wait_for_function("document.getElementById('play').getAttribute('aria-label') "
                           "=== 'Play'")
    return fps


def _pause_ms(page, tries: int = 5) -> tuple[float, float]:
    """Medians of the time from a click on pause to the page showing it (the button, which
    the page flips itself, and no frame of the run drawn after it), and to the server's
    paused frame being drawn (the epoch under way ended, its last picture shown); both
    timed in the page, from the click event."""
    shown, stopped = [], []
    for _ in range(tries):
        page.click("#play")
        page.wait_for_function("document.getElementById('play').getAttribute('aria-label') "
                               "=== 'Pause' && frame.status === 'playing'")
        time.sleep(0.3)
        page.evaluate("""() => { window.clicked = null; window.shownAt = null;
            window.stoppedAt = null; const play = document.getElementById('play');
            play.addEventListener('click', () => { window.clicked = performance.now(); },
                                  {once: true, capture: true});
            new MutationObserver((_, observer) => {
                if (play.getAttribute('aria-label') === 'Play' && window.shownAt === null)
                    window.shownAt = performance.now();
            }).observe(play, {attributes: true}); }""")
        page.click("#play")
        page.wait_for_function("frame.status === 'paused'", polling="raf")
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => { "
                      "window.stoppedAt = performance.now(); r(); }))")
        clicked, at, end = page.evaluate("[window.clicked, window.shownAt, window.stoppedAt]")
        shown.append(at - clicked)
        stopped.append(end - clicked)
    return sorted(shown)[len(shown) // 2], sorted(stopped)[len(stopped) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--smoke", action="store_true", help="a second per number")
    args = parser.parse_args()
    from run import emit, machine

    seconds = 1.0 if args.smoke else 5.0
    rows = []
    resolutions = (50, 80, 100)
    browser = browser_side(resolutions, seconds)
    page_fps = None if browser is None else browser["fps"]
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
    if browser is not None:
        lines += ["", "In the page, at 80x80, playing (frames drawn a second) and after a click "
                  "on pause (milliseconds, median of five, timed in the page from the click "
                  "event): until the page shows it paused (the button flips and no frame of the "
                  "run is drawn after the click), and until the server's paused frame is drawn "
                  "(the epoch under way has ended):",
                  "", "| network | page frames/s | pause shown after | paused frame drawn after |",
                  "|---|---|---|---|"]
        for name, (fps, (pause, stopped)) in browser["networks"].items():
            lines.append(f"| {name} | {fps:.1f} | {pause:.0f} ms | {stopped:.0f} ms |")
    if args.smoke:
        lines += ["", "SMOKE RUN: one second per number."]
    emit(lines, args.out)


if __name__ == "__main__":
    main()
