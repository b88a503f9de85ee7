"""The local playground server trusts no other page: tested against the real ``glassnet
playground`` process with forged ``Host``, ``Origin`` and content types, a body that announces
2 GB, idle streams, hostile JSON; and in headless Chromium from a page on another origin."""

import http.server
import json
import socket
import threading
import time
import urllib.request

import pytest

pytest.importorskip("starlette", reason="the playground extra is not installed")

from .playground_server import (  # noqa: E402
    free_port,
    launch,
    needs_chromium,
    start_playground,
    stop,
)


@pytest.fixture(scope="module")
def server():
    process, port = start_playground()
    yield port
    stop(process)


def raw(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    """Send ``request`` as it is (forged headers included); the status and the body read."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        try:
            while b"\r\n\r\n" not in data or len(data) < 12:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.settimeout(0.5)
            while chunk := s.recv(65536):
                data += chunk
        except OSError:
            pass
    return int(data.split(b" ", 2)[1]), data.split(b"\r\n\r\n", 1)[-1]


def post(port, path, body: bytes, content_type="application/json", host=None, origin=None):
    headers = [f"POST {path} HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}",
               f"Content-Type: {content_type}", f"Content-Length: {len(body)}",
               "Connection: close"]
    if origin:
        headers.append(f"Origin: {origin}")
    return raw(port, ("\r\n".join(headers) + "\r\n\r\n").encode() + body)


def state(port) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/state", timeout=10) as r:
        return json.loads(r.read())


def test_a_rebound_host_is_refused(server):
    status, body = raw(server, b"GET /api/state HTTP/1.1\r\nHost: attacker.example:"
                       + str(server).encode() + b"\r\nConnection: close\r\n\r\n")
    assert status == 403 and b"loopback" in body
    assert b"points" not in body                     # nothing of the run leaks
    for host in (f"localhost:{server}", f"127.0.0.1:{server}"):
        assert raw(server, f"GET /api/state HTTP/1.1\r\nHost: {host}\r\nConnection: close"
                           f"\r\n\r\n".encode())[0] == 200


def test_a_cross_site_post_is_refused_and_changes_nothing(server):
    before = state(server)["settings"]
    body = json.dumps({"hidden": "1", "learning_rate": 3}).encode()
    # text/plain is what a page on any site may POST without a preflight.
    assert post(server, "/api/settings", body, "text/plain")[0] == 403
    assert post(server, "/api/settings", body, origin="http://evil.example")[0] == 403
    assert post(server, "/api/data", b"1,2,0\n3,4,1\n5,6,0\n7,8,1\n", "text/plain")[0] == 403
    assert state(server)["settings"] == before
    status, _ = post(server, "/api/settings", json.dumps({"hidden": "3"}).encode(),
                     origin=f"http://127.0.0.1:{server}")
    assert status == 200 and state(server)["settings"]["hidden"] == [3]


def test_a_body_announcing_2_gb_is_refused_before_it_arrives(server):
    start = time.monotonic()
    status, body = raw(server, (f"POST /api/data HTTP/1.1\r\nHost: 127.0.0.1:{server}\r\n"
                                "Content-Type: text/csv\r\nContent-Length: 2000000000\r\n\r\n"
                                "1,2,0\n").encode())
    assert status == 413 and b"larger than" in body
    assert time.monotonic() - start < 5                # answered, not waiting for 2 GB


def test_hostile_json_and_values_are_400s_that_name_the_field(server):
    deep = b"[" * 100_000 + b"]" * 100_000
    status, body = post(server, "/api/settings", deep)
    assert status == 400 and b"JSON object" in body
    status, body = post(server, "/api/weight", json.dumps(
        {"layer": 0, "name": "W", "row": 0, "column": 0, "value": 1e305}).encode())
    assert status == 400 and b"value must be a number of magnitude" in body
    status, body = raw(server, f"GET /api/neuron?layer=abc HTTP/1.1\r\nHost: 127.0.0.1:"
                               f"{server}\r\nConnection: close\r\n\r\n".encode())
    assert status == 400 and b"layer must be an integer" in body
    status, body = post(server, "/api/data", b"1,2,0\n1e308,1,1\n3,4,1\n5,6,0\n", "text/csv")
    assert status == 400 and b"line 2" in body
    assert state(server)["settings"]["dataset"] != "custom"      # the page is not broken


def test_idle_streams_never_block_a_request(server):
    """150 idle frame streams: at most 32 are served, and settings still answer at once."""
    sockets, statuses = [], []
    try:
        for _ in range(150):
            s = socket.create_connection(("127.0.0.1", server), timeout=10)
            s.sendall(f"GET /api/frames HTTP/1.1\r\nHost: 127.0.0.1:{server}\r\n\r\n".encode())
            sockets.append(s)
        time.sleep(1.0)
        for s in sockets:
            s.settimeout(2)
            statuses.append(int(s.recv(64).split(b" ", 2)[1]))
        start = time.monotonic()
        status, _ = post(server, "/api/settings", json.dumps({"hidden": "2"}).encode())
        assert status == 200 and time.monotonic() - start < 10
    finally:
        for s in sockets:
            s.close()
    assert statuses.count(200) == 32 and statuses.count(503) == 118


@needs_chromium
def test_a_page_on_another_origin_cannot_drive_the_server_in_a_real_browser(server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    page_port = free_port()
    # The attacker's page: a simple POST (no preflight) and a JSON one (preflighted).
    (tmp_path / "index.html").write_text(f"""<script>
    window.results = [];
    const target = "http://127.0.0.1:{server}";
    fetch(target + "/api/settings", {{method: "POST", mode: "no-cors",
        headers: {{"Content-Type": "text/plain"}}, body: '{{"hidden": "1"}}'}})
      .then(() => results.push("sent"), e => results.push("blocked"));
    fetch(target + "/api/settings", {{method: "POST",
        headers: {{"Content-Type": "application/json"}}, body: '{{"hidden": "1"}}'}})
      .then(r => results.push("read " + r.status), e => results.push("blocked"));
    </script>""")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    other = http.server.ThreadingHTTPServer(("127.0.0.1", page_port), handler)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    before = state(server)["settings"]
    try:
        with sync_api.sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{page_port}/index.html")
            page.wait_for_function("window.results.length === 2", timeout=15000)
            results = page.evaluate("window.results")
            browser.close()
    finally:
        other.shutdown()
    assert "read 200" not in results                 # nothing readable came back
    assert state(server)["settings"] == before       # and nothing changed
