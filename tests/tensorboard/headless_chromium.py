"""A minimal DevTools-protocol client for headless Chromium, over ``--remote-debugging-pipe``.

Chromium reads JSON commands from file descriptor 3 and writes replies and events to file
descriptor 4, each message ended by a NUL byte; no WebSocket library is needed.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser")

# Flags for a root user in a container with no network beyond 127.0.0.1.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1024",
)


def _above_nine(fd: int) -> int:
    """A duplicate of ``fd`` numbered 10 or more (the original is closed)."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class HeadlessChromium:
    """Start Chromium, send DevTools commands, read replies; all with deadlines.

    Example:
        >>> with HeadlessChromium(find_chromium()) as browser:  # doctest: +SKIP
        ...     session = browser.open("http://127.0.0.1:6006/")
        ...     browser.evaluate(session, "document.title")
    """

    def __init__(self, executable: str, timeout: float = 60.0):
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # Move the child's ends above 9, so that placing them at 3 and 4 cannot clobber them.
        to_child_r, from_child_w = (_above_nine(fd) for fd in (to_child_r, from_child_w))
        args = [*FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-pipe",
                "about:blank"]
        # Chromium logs a lot (D-Bus is missing in containers): to a file, not a pipe that
        # could fill up and block it.
        self._log = tempfile.TemporaryFile()
        # bash moves our pipe ends to descriptors 3 and 4 before exec-ing Chromium.
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_child_r} 4>&{from_child_w}', executable, *args],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0

    def __enter__(self) -> HeadlessChromium:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no reply from Chromium in time")
            ready, _, _ = select.select([self._from_child], [], [], remaining)
            if ready:
                chunk = os.read(self._from_child, 1 << 16)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the DevTools pipe:\n{self.log_tail()}")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def log_tail(self, size: int = 3000) -> str:
        """The end of Chromium's own log, for error messages."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-size:]

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and return its result (events received meanwhile are dropped)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method} failed: {reply['error']}")
                return reply["result"]

    def wait_for_event(self, method: str, session: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._read_message(deadline)
            if message.get("method") == method and message.get("sessionId") == session:
                return message.get("params", {})

    def open(self, url: str) -> str:
        """Open ``url`` in a new tab, wait for its load event, return the session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self.send("Page.enable", {}, session)
        self.send("Page.navigate", {"url": url}, session)
        self.wait_for_event("Page.loadEventFired", session)
        return session

    def evaluate(self, session: str, expression: str) -> Any:
        """Evaluate JavaScript in the page (promises are awaited) and return its value."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                try:
                    self.send("Browser.close")
                except (RuntimeError, TimeoutError, OSError):
                    pass
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        finally:
            for fd in (self._to_child, self._from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._log.close()
            shutil.rmtree(self._profile, ignore_errors=True)
