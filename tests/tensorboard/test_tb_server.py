"""End to end: the real ``tensorboard`` server serves a run gpuarr wrote, and a browser shows it.

The server runs on 127.0.0.1 on a port the OS picks, is given a bounded time to come up, and is
stopped by its PID. Both of TensorBoard's loaders are checked: the Rust data server
(``--load_fast=true``) and the Python one (``--load_fast=false``).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest
from headless_chromium import HeadlessChromium, find_chromium
from tb_helpers import decode_png

from gpuarr.tensorboard import SummaryWriter

RUN = "gpuarr_run"
TAG = "gpuarr_e2e/accuracy"
STARTUP_TIMEOUT = 90.0
PIXELS = np.random.default_rng(0).integers(0, 256, (3, 6, 5), dtype=np.uint8)


def _write_run(logdir: str) -> None:
    with SummaryWriter(os.path.join(logdir, RUN)) as w:
        for step in range(20):
            w.add_scalar(TAG, step / 20, step)
        w.add_histogram("gpuarr_e2e/weights", np.arange(100.0), 3)
        w.add_image("gpuarr_e2e/sample", PIXELS, 4)
        w.add_text("gpuarr_e2e/notes", "trained with **gpuarr**", 5)


class TensorBoardServer:
    """``tensorboard --logdir`` on 127.0.0.1 with an OS-chosen port."""

    def __init__(self, logdir: str, load_fast: str):
        cmd = [sys.executable, "-m", "tensorboard.main", "--logdir", logdir,
               "--host", "127.0.0.1", "--port", "0", f"--load_fast={load_fast}"]
        self.process = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            stdin=subprocess.PIPE,  # the Rust data server exits when this closes
        )
        self.output: list[str] = []
        lines: queue.Queue = queue.Queue()

        def pump() -> None:
            for line in self.process.stdout:
                self.output.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        self.url = None
        while self.url is None:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise TimeoutError("tensorboard did not start in time:\n" + self.log()) from None
            if line is None:
                self.stop()
                raise RuntimeError("tensorboard exited during startup:\n" + self.log())
            match = re.search(r"TensorBoard \S+ at (http://127\.0\.0\.1:\d+/)", line)
            if match:
                self.url = match.group(1)

    def log(self) -> str:
        return "".join(self.output)[-4000:]

    def get(self, path: str, **params: str) -> bytes:
        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        with urllib.request.urlopen(self.url + path + query, timeout=30) as response:
            return response.read()

    def get_json(self, path: str, **params: str):
        return json.loads(self.get(path, **params))

    def wait_for_run(self, run: str) -> None:
        """Poll the run list until the server has loaded ``run`` (bounded)."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while run not in self.get_json("data/runs"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"tensorboard never listed run {run!r}:\n" + self.log())
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)
        if self.process.stdin:
            self.process.stdin.close()


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("tensorboard_e2e"))
    _write_run(path)
    return path


@pytest.fixture(scope="module", params=["true", "false"], ids=["rust_loader", "python_loader"])
def server(request, logdir):
    srv = TensorBoardServer(logdir, request.param)
    try:
        srv.wait_for_run(RUN)
        yield srv
    finally:
        srv.stop()
    assert srv.process.returncode is not None


def test_http_api_serves_the_run(server):
    assert RUN in server.get_json("data/runs")

    tags = server.get_json("data/plugin/scalars/tags")
    assert TAG in tags[RUN]
    scalars = server.get_json("data/plugin/scalars/scalars", run=RUN, tag=TAG)
    assert [step for _, step, _ in scalars] == list(range(20))
    np.testing.assert_array_equal(
        np.array([v for _, _, v in scalars], dtype=np.float32),
        (np.arange(20) / 20).astype(np.float32),
    )

    assert "gpuarr_e2e/weights" in server.get_json("data/plugin/histograms/tags")[RUN]
    (histo,) = server.get_json(
        "data/plugin/histograms/histograms", run=RUN, tag="gpuarr_e2e/weights"
    )
    assert histo[1] == 3
    assert sum(count for _, _, count in histo[2]) == pytest.approx(100)

    assert "gpuarr_e2e/sample" in server.get_json("data/plugin/images/tags")[RUN]
    (image,) = server.get_json(
        "data/plugin/images/images", run=RUN, tag="gpuarr_e2e/sample", sample="0"
    )
    assert image["step"] == 4
    png = server.get(f"data/plugin/images/individualImage?{image['query']}")
    np.testing.assert_array_equal(decode_png(png), PIXELS.transpose(1, 2, 0))

    assert server.get_json("data/plugin/text/tags")[RUN] == ["gpuarr_e2e/notes/text_summary"]
    (text,) = server.get_json("data/plugin/text/text", run=RUN, tag="gpuarr_e2e/notes/text_summary")
    assert text["step"] == 5
    assert "<strong>gpuarr</strong>" in text["text"]  # rendered from the Markdown


# Text of the page including every shadow root (TensorBoard's dashboards are Polymer
# elements), skipping <style>/<script>. Resolves once `tag` appears, or after a deadline.
WAIT_FOR_TEXT_JS = """
new Promise((resolve) => {
  const tag = %s;
  const deadline = Date.now() + %d;
  const collect = (root, out) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentNode && node.parentNode.nodeName;
      if (parent !== "STYLE" && parent !== "SCRIPT") out.push(node.data.trim());
    }
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) collect(el.shadowRoot, out);
    return out;
  };
  const countDeep = (root, name) => {
    let n = root.querySelectorAll(name).length;
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) n += countDeep(el.shadowRoot, name);
    }
    return n;
  };
  const check = () => {
    const text = collect(document, []).filter((t) => t).join("\\n");
    if (text.includes(tag) || Date.now() > deadline) {
      resolve({text: text, cards: countDeep(document, "tf-scalar-card")});
    } else {
      setTimeout(check, 100);
    }
  };
  check();
})
"""


def _why_no_chromium() -> str:
    """Why `make test` (ci/ensure_chromium.sh) could not provide Chromium on this machine."""
    import os
    import shutil

    if os.geteuid() != 0:
        why = "this user is not root, so `make test` could not apt-get install it"
    elif shutil.which("apt-get") is None:
        why = "this machine has no apt-get to install Debian's chromium with"
    else:
        why = "`apt-get install chromium` failed (see ci/ensure_chromium.sh's output)"
    return f"Chromium is not installed and {why}; this end-to-end test needs headless Chromium"


def test_browser_shows_the_scalar_tag(logdir):
    chromium = find_chromium()
    if chromium is None:
        import os

        if os.environ.get("GPUARR_REQUIRE_CHROMIUM") == "1":  # CI must run it
            pytest.fail(_why_no_chromium())
        pytest.skip(_why_no_chromium())
    srv = TensorBoardServer(logdir, "auto")
    try:
        srv.wait_for_run(RUN)
        with HeadlessChromium(chromium, timeout=90) as browser:
            session = browser.open(srv.url + "#scalars")
            page = browser.evaluate(session, WAIT_FOR_TEXT_JS % (json.dumps(TAG), 60_000))
            assert TAG in page["text"], (page["text"][-3000:], browser.log_tail())
            assert page["cards"] >= 1  # a scalar chart card was rendered for it
            assert f"tag:\n{TAG}" in page["text"]  # the card heading
            assert RUN in page["text"]  # the run selector lists the run
    finally:
        srv.stop()
