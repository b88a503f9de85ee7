"""The ``glassnet playground`` command started for a test, on a free loopback port."""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: as the machine's own probe starts it: no sandbox as root, and no calls home
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed: "
                                    "apt-get install chromium (.ci/run does)")


def launch(playwright):
    """Debian's Chromium, headless, driven by Playwright."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_playground() -> tuple[subprocess.Popen, int]:
    """The server process and its port, once it answers ``/api/state`` (30 s at most)."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("glassnet")), "playground", "--port",
               str(port), "--no-browser"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/state", timeout=1).read()
            return process, port
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"glassnet playground exited: {process.stdout.read()}")
            time.sleep(0.1)
    process.kill()
    pytest.fail("glassnet playground did not answer within 30 s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
