"""The playground in a real headless browser: Debian's Chromium driven by Playwright.

The server is the ``glassnet playground`` command itself. The test changes the data and the
layers, plays until the test loss is low, and checks that the picture moved, the formula shows
live numbers and the downloaded model loads. It fails if the page draws nothing or stops
updating. Screenshots go to the test's folder, or to ``$GLASSNET_SCREENSHOTS`` when set.

Skipped, with the reason, when Playwright or Chromium is absent (``.ci/run`` installs both).
"""

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn

from .playground_server import start_playground, stop

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright is not installed: pip install playwright")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed: "
                                "apt-get install chromium (.ci/run does)")

# As the machine's own probe starts it: no sandbox as root, and no calls home.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server():
    process, port = start_playground()
    yield f"http://127.0.0.1:{port}/"
    stop(process)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path):
    folder = Path(os.environ.get("GLASSNET_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_page(browser, url):
    """A page that may reach the server and nothing else; every other request is recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    # A hang guard, not a speed test: a loaded CI machine may take its time.
    page.set_default_timeout(90_000)
    page.outside, page.errors = [], []

    def route(r):
        if r.request.url.startswith(url) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            page.outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    return page


def epoch(page) -> int:
    return int(page.text_content("#epoch"))


def colours(page, selector: str) -> int:
    """How many different colours the canvas shows: 1 for a blank one."""
    return page.evaluate("""(sel) => {
        const c = document.querySelector(sel), d = c.getContext("2d")
            .getImageData(0, 0, c.width, c.height).data, seen = new Set();
        for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return seen.size; }""", selector)


def picture(page, selector: str) -> str:
    return page.evaluate("(sel) => document.querySelector(sel).toDataURL()", selector)


def settle(page, expected_layers: int):
    """Wait until the page has redrawn the network for a new run."""
    page.wait_for_function(f"document.querySelectorAll('.hidden-layer').length === "
                           f"{expected_layers}")
    page.wait_for_function("document.getElementById('epoch').textContent === '000'")


def test_the_page_trains_a_network_the_user_shaped(server, browser, shots, tmp_path):
    page = open_page(browser, server)
    page.goto(server)
    page.wait_for_selector("canvas.neuron")
    assert epoch(page) == 0
    assert colours(page, "#output") > 20, "the boundary is blank"
    assert colours(page, "canvas.feature-map") > 5, "the input maps are blank"
    page.screenshot(path=shots / "playground-start.png")

    # The data set and the layers: xor, three hidden layers, the first one wider.
    page.select_option("#dataset", "xor")
    settle(page, 2)
    assert page.input_value("#dataset") == "xor"
    page.click("#add-layer")
    settle(page, 3)
    page.click(".hidden-layer >> nth=0 >> .add-unit")
    page.wait_for_function("document.querySelectorAll(\".node.hidden[data-layer='0']\")"
                           ".length === 5")
    page.select_option("#learning_rate", "0.1")
    page.wait_for_function("location.hash.includes('learning_rate=0.1')")
    page.select_option("#epochs_per_frame", "5")
    page.wait_for_function("location.hash.includes('epochs_per_frame=5')")
    assert re.search(r"hidden=5%2C2%2C2|hidden=5,2,2", page.evaluate("location.hash"))
    before = picture(page, "#output")

    page.click("#play")
    page.wait_for_function("Number(document.getElementById('epoch').textContent) > 0")
    first = epoch(page)
    page.wait_for_function(f"Number(document.getElementById('epoch').textContent) > {first}",
                           timeout=30_000)   # still updating
    page.wait_for_function("Number(document.getElementById('test-loss').textContent) < 0.2",
                           timeout=120_000)
    page.screenshot(path=shots / "playground-trained.png")
    page.click("#play")                                   # pause
    page.wait_for_function("document.getElementById('play').textContent.includes('\u25b6')")
    # The epoch under way has ended, and the page has drawn its frame (on the next animation
    # frame after it came; the frames of the stopping run before it are not drawn).
    page.wait_for_function("frame.status === 'paused' && "
                           "Number(document.getElementById('epoch').textContent) === frame.epoch")
    paused = epoch(page)
    assert paused > first
    after = picture(page, "#output")
    assert after != before, "the boundary did not change while training"
    assert colours(page, "#output") > 20
    assert float(page.text_content("#test-loss")) < 0.2

    # Hover a neuron: its formula with the live numbers, and the backward quantities.
    page.hover("canvas.neuron[data-layer='0'][data-unit='0']")
    page.wait_for_function("document.getElementById('formula').textContent.includes('z = ')")
    formula = page.text_content("#formula")
    assert "hidden layer 1, neuron 1 (tanh)" in formula and f"epoch {epoch(page)}" in formula
    assert re.search(r"z = -?[\d.]+\*x1\(-?[\d.e-]+\) \+ -?[\d.]+\*x2\(", formula)
    assert "a = tanh(z) = " in formula and "dZ = " in formula and "dW = [" in formula
    page.screenshot(path=shots / "playground-formula.png")

    # Download the model; it loads, and holds the weights the page draws.
    with page.expect_download() as download:
        page.click("#download-model")
    path = tmp_path / "playground.safetensors"
    download.value.save_as(path)
    net = gn.load(path)
    assert [layer.units for layer in net.dense_layers] == [5, 2, 2, 1]
    shown = page.evaluate("frame.weights[0]")
    np.testing.assert_allclose(net.dense_layers[0].W, shown, atol=1e-5)
    assert gn.io.load_metadata(path)["epoch"] == paused

    # The bend view draws the plane through two units of a hidden layer.
    page.select_option("#bend-layer", "1")
    page.wait_for_function("frame.bend && frame.bend.layer === 1")
    assert colours(page, "#bend") > 3
    page.screenshot(path=shots / "playground-bend.png", full_page=True)

    assert not page.outside, f"the page reached outside: {page.outside}"
    assert not page.errors, f"the page had errors: {page.errors}"

    # The whole state is in the URL: a new page opened on it shows the same run.
    url = page.url
    page.context.close()
    again = open_page(browser, server)
    again.goto(url)
    again.wait_for_function("document.querySelectorAll('.hidden-layer').length === 3")
    assert again.input_value("#dataset") == "xor"
    assert again.input_value("#learning_rate") == "0.1"
    assert again.text_content("#epoch") == "000"
    again.context.close()


def test_an_uploaded_csv_and_a_softmax_head(server, browser, shots, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 2))
    y = np.arange(90) % 3
    X += np.array([[0, 3], [3, -2], [-3, -2]])[y]
    table = tmp_path / "three.csv"
    table.write_text("x,y,class\n" + "\n".join(f"{a:.4f},{b:.4f},{c}"
                                                for (a, b), c in zip(X, y)))
    page = open_page(browser, server)
    page.goto(server + "#dataset=circle&hidden=4")
    settle(page, 1)
    page.set_input_files("#upload", str(table))
    page.wait_for_function("document.getElementById('dataset').value === 'custom'")
    assert page.input_value("#head") == "softmax"
    assert "3 classes" in page.text_content("#task")
    assert page.locator(".node.out").count() == 3
    page.click("#step")
    page.wait_for_function("document.getElementById('epoch').textContent === '001'")
    assert colours(page, "#output") > 3
    page.screenshot(path=shots / "playground-csv.png")
    # A bad file is refused with the reason, and the run stays.
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,0\n1,zz,1\n3,4,1\n5,6,0\n")
    page.set_input_files("#upload", str(bad))
    page.wait_for_function("document.getElementById('error').textContent.includes('line 2')")
    assert page.input_value("#dataset") == "custom"
    assert not page.outside
    page.context.close()
