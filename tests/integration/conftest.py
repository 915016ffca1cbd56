"""Shared fixtures for drover's integration tests.

Tests run the real drover binary ($DROVER_BIN, set by `make check`) and talk only to
loopback. Helpers that need a tool call require_tool(), which skips outside CI and fails
in CI (see tap_report.py).
"""
import os
import shutil
import subprocess

import pytest
from simfixture import sim, sim_factory  # noqa: F401
from daemonfix import daemon, daemon_factory  # noqa: F401

TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))


def _sanitizer_build():
    try:
        with open(os.path.join(os.environ.get("top_builddir", ""), "Makefile")) as f:
            return any(line.startswith("SAN_CFLAGS = -f") for line in f)
    except OSError:
        return False


def pytest_collection_modifyitems(config, items):
    """Tests that build drover from scratch (test_readme.py's walk-through) run once, in
    the plain build: a sanitizer build's `make check` would only build the same again."""
    if not _sanitizer_build():
        return
    mine = [i for i in items if i.get_closest_marker("plain_build_only")]
    if mine:
        config.hook.pytest_deselected(items=mine)
        items[:] = [i for i in items if i not in mine]


def require_tool(path):
    if not (shutil.which(path) or os.access(path, os.X_OK)):
        pytest.skip(f"{path} is not installed")
    return path


@pytest.fixture(scope="session")
def drover_bin():
    path = os.environ.get("DROVER_BIN") or os.path.join(TOP_SRCDIR, "build", "drover")
    if not os.access(path, os.X_OK):
        pytest.fail(f"drover binary not found at {path} (set DROVER_BIN)")
    return path


@pytest.fixture
def run_drover(drover_bin):
    """Runs `drover ARGS...` and returns the CompletedProcess (text mode)."""
    def run(*args, timeout=60, env=None, **kw):
        e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        e.update(env or {})
        return subprocess.run([drover_bin, *args], capture_output=True, text=True,
                              timeout=timeout, env=e, **kw)
    return run
