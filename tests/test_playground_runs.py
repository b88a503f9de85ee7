"""A run per tab: each page's network is its own, survives a reload, pauses when its pages are
gone and ends later; the history stays bounded; the server stops on SIGTERM with a tab open."""

import json
import signal
import socket
import time
import urllib.request

import pytest

pytest.importorskip("starlette", reason="the playground extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from glassnet.playground import session as session_module  # noqa: E402
from glassnet.playground.app import create_app  # noqa: E402
from glassnet.playground.settings import Settings  # noqa: E402

from .playground_server import launch, needs_chromium, start_playground, stop  # noqa: E402

SETTINGS = Settings(dataset="moons", hidden=(3,), batch_size=0, learning_rate=0.3)


@pytest.fixture
def client():
    app = create_app(SETTINGS)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        c.runs = app.state.runs
        yield c


def test_two_tabs_train_two_networks_and_a_reload_reattaches(client):
    a = client.post("/api/settings?run=tab-a", json={"hidden": "5,5"}).json()
    b = client.post("/api/settings?run=tab-b", json={"hidden": "2"}).json()
    assert a["settings"]["hidden"] == [5, 5] and b["settings"]["hidden"] == [2]
    client.post("/api/control?run=tab-a", json={"action": "step"})
    assert client.runs.get("tab-a").session.wait_until_idle(30)
    # Tab B's settings and tab A's step touched nothing of the other's run.
    assert client.get("/api/state?run=tab-a").json()["settings"]["hidden"] == [5, 5]
    assert client.runs.get("tab-a").session.epoch == 1
    assert client.runs.get("tab-b").session.epoch == 0
    # A reload asks for the state of its run again: the same network, the same epoch.
    again = client.get("/api/state?run=tab-a").json()
    assert again["settings"]["hidden"] == [5, 5] and again["frame"]["epoch"] == 1
    assert client.get("/api/state?run=bad id!").status_code == 400


def test_a_run_whose_pages_are_gone_pauses_then_ends(client):
    client.post("/api/settings?run=gone", json={"hidden": "2"})
    run = client.runs.get("gone")
    run.session.play()
    assert run.session.status == "playing"
    start = time.monotonic()
    client.runs.sweep(start + 1.0)              # a page seen a second ago: left alone
    assert run.session.status == "playing"
    client.runs.sweep(start + 31)               # no page for longer than pause_after (30 s)
    assert run.session.status == "paused"
    client.runs.sweep(start + 1801)             # and than end_after: the run is ended
    assert "gone" not in client.runs._runs
    assert run.session._thread is None or not run.session._thread.is_alive()
    assert "default" in client.runs._runs       # the default run stays


def test_the_loss_history_is_bounded(monkeypatch):
    monkeypatch.setattr(session_module, "MAX_CURVE", 50)
    session = session_module.Session(SETTINGS)
    try:
        session.step(300)
        assert session.wait_until_idle(60)
        assert len(session.curve) <= 51 and session.curve[-1][0] == session.epoch
        epochs = [point[0] for point in session.curve]
        assert epochs == sorted(epochs) and epochs[0] == 0       # still the whole run
    finally:
        session.close()


def test_sigterm_stops_the_server_while_a_tab_streams_and_trains():
    process, port = start_playground()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/control?run=t",
                                     data=json.dumps({"action": "play"}).encode(),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()
    stream = socket.create_connection(("127.0.0.1", port))
    stream.sendall(f"GET /api/frames?run=t HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    assert stream.recv(64).startswith(b"HTTP/1.1 200")
    start = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    finally:
        stream.close()
        if process.poll() is None:
            process.kill()
    assert time.monotonic() - start < 15        # it trained 11 more minutes before


@pytest.fixture(scope="module")
def chromium():
    """One ``glassnet playground`` process and one headless Chromium for the page tests."""
    sync_api = pytest.importorskip("playwright.sync_api")
    process, port = start_playground()
    try:
        with sync_api.sync_playwright() as p:
            browser = launch(p)
            yield browser, f"http://127.0.0.1:{port}/"
            browser.close()
    finally:
        stop(process)


@needs_chromium
def test_two_tabs_keep_their_own_networks_in_a_real_browser(chromium):
    browser, url = chromium
    one, two = browser.new_page(), browser.new_page()
    for page in (one, two):
        page.set_default_timeout(90_000)      # a hang guard on a loaded machine
    one.goto(url + "#hidden=5,5")
    one.wait_for_function("document.querySelectorAll('.hidden-layer').length === 2")
    two.goto(url + "#hidden=3&dataset=plane")
    two.wait_for_function("document.querySelectorAll('.hidden-layer').length === 1")
    # A regression's output control says what it is, and cannot be changed.
    assert two.eval_on_selector("#head", "e => [e.value, e.disabled]") == \
        ["identity", True]
    assert two.get_attribute("#play", "aria-label") == "Play"
    one.click("#step")
    one.wait_for_function("document.getElementById('epoch').textContent === '001'")
    assert one.eval_on_selector("#head", "e => [e.value, e.disabled]") == \
        ["sigmoid", False]
    two.reload()                         # the same tab, the same run
    two.wait_for_function("document.querySelectorAll('.hidden-layer').length === 1")
    one.reload()
    one.wait_for_function("document.querySelectorAll('.hidden-layer').length === 2")
    one.wait_for_function("document.getElementById('epoch').textContent === '001'")
    runs = {one.evaluate("sessionStorage.getItem('glassnet-run')"),
            two.evaluate("sessionStorage.getItem('glassnet-run')")}
    assert len(runs) == 2 and None not in runs


@needs_chromium
def test_a_line_can_be_hovered_for_its_weight_and_edited_inline_in_a_real_browser(chromium):
    browser, url = chromium
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(90_000)          # a hang guard on a loaded machine
    page.goto(url + "#hidden=3,3&dataset=xor")
    page.wait_for_function("document.querySelectorAll('.link-hit').length === 2 * 3"
                           " + 3 * 3 + 3 * 1")
    run = page.evaluate("sessionStorage.getItem('glassnet-run')")

    def weight():
        with urllib.request.urlopen(f"{url}api/state?run={run}", timeout=10) as r:
            return json.loads(r.read())["frame"]["weights"][1][2][1]

    selector = 'path.link-hit[data-layer="1"][data-row="2"][data-column="1"]'
    x, y = page.eval_on_selector(selector, """el => {
        const p = el.getPointAtLength(el.getTotalLength() / 2), m = el.getScreenCTM();
        return [p.x * m.a + m.e, p.y * m.d + m.f]; }""")
    # The line, not the neuron columns, is what the mouse finds there.
    assert page.evaluate(f"document.elementFromPoint({x}, {y}).matches('{selector}')")
    page.mouse.move(x, y)
    tip = page.text_content("#tooltip")
    assert tip.startswith("W2[2,1] = ")
    assert float(tip.split("= ")[1].split(" ")[0]) == pytest.approx(weight(), rel=1e-3)
    page.mouse.click(x, y)
    page.wait_for_selector("#weight-editor:not([hidden])")
    page.fill("#weight-editor input", "1.5")
    page.press("#weight-editor input", "Enter")
    for _ in range(100):                 # the edit reaches the run between epochs
        if weight() == 1.5:
            break
        time.sleep(0.1)
    assert weight() == 1.5
    page.mouse.move(x + 1, y)
    page.wait_for_function("document.getElementById('tooltip').textContent"
                           ".startsWith('W2[2,1] = 1.5')")
    # A new network keeps the last run's test-loss curve, drawn under the new one.
    page.click("#step")
    page.wait_for_function("document.getElementById('epoch').textContent === '001'")
    page.evaluate("changeSettings({hidden: '2'})")
    page.wait_for_function("document.querySelectorAll('.hidden-layer').length === 1")
    assert page.evaluate("pastCurves.length") == 1


@needs_chromium
def test_the_inspector_pins_a_neuron_renders_its_math_and_predicts_its_update(chromium):
    """At 1024 px with two layers of 16: the output and the inspector stay in view; a click
    pins a neuron (another hovered does not replace it); its formula is typeset MathML; the
    step it shows, W - lr dW, is where one more full-batch SGD epoch puts its weights."""
    browser, url = chromium
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.set_default_timeout(90_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url + "#hidden=16,16&dataset=circle&batch_size=0&learning_rate=0.3"
              "&optimizer=sgd")
    page.wait_for_selector("canvas.neuron[data-layer='1'][data-unit='15']")
    page.click("#step")
    page.wait_for_function("document.getElementById('epoch').textContent === '001'")
    page.click("canvas.neuron[data-layer='0'][data-unit='3']")
    page.wait_for_selector("#formula .step math")
    assert "hidden layer 1, neuron 4" in page.text_content("#formula .inspector-head")
    assert page.eval_on_selector("#formula math", "m => m.getBoundingClientRect().width") > 50
    page.hover("canvas.neuron[data-layer='1'][data-unit='0']")
    time.sleep(0.5)
    assert "hidden layer 1, neuron 4" in page.text_content("#formula .inspector-head")
    for selector in ("#formula", "#output"):
        box = page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect(); "
                                              "return [r.left, r.top, r.right, r.bottom]; }")
        assert box[0] >= 0 and box[2] <= 1024 and box[1] < 768 and box[3] <= 768, selector
    # The step-through table: one row per incoming weight, then the bias; each ends "= next".
    predicted = page.eval_on_selector_all(
        "#formula .step mtr", "rows => rows.map(r => { const cells = r.querySelectorAll("
        "'mtd'); const mns = cells[cells.length - 1].querySelectorAll('mn'); "
        "return Number(mns[mns.length - 1].textContent); })")
    assert len(predicted) == 2 + 1
    page.click("#step")
    page.wait_for_function("document.getElementById('epoch').textContent === '002'")
    weights = page.evaluate("[frame.weights[0][0][3], frame.weights[0][1][3], "
                            "frame.biases[0][3]]")
    assert predicted == pytest.approx(weights, rel=2e-3, abs=2e-4)
    # A data set's picture chooses it.
    page.click("#thumbnails canvas[data-name='xor']")
    page.wait_for_function("meta.settings.dataset === 'xor'")
    assert page.eval_on_selector("#thumbnails canvas.chosen", "c => c.dataset.name") == "xor"
    assert not errors, errors
    page.close()
