"""Fixtures and the quick/full selection for the chaos suite.

DROVER_CHAOS=quick (the default, what CI runs) keeps the cases not marked `full`;
DROVER_CHAOS=full keeps everything. The rest are *deselected*, not skipped: in CI a skip
counts as a failure, a deselected case is simply not part of that run.
"""
import os
import shutil

import pytest
from daemonfix import daemon, daemon_factory  # noqa: F401
from simfixture import sim, sim_factory  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(HERE, "..", ".."))


def require_tool(path):
    """The same as tests/integration/conftest.py's. Test modules elsewhere do `from conftest
    import TOP_SRCDIR, require_tool` and get whichever conftest.py pytest loaded last: when
    that is this one (tests/chaos after tests/integration), they still find both."""
    if not (shutil.which(path) or os.access(path, os.X_OK)):
        pytest.skip(f"{path} is not installed")
    return path


def chaos_mode():
    mode = os.environ.get("DROVER_CHAOS", "quick")
    if mode not in ("quick", "full"):
        raise pytest.UsageError(f"DROVER_CHAOS must be quick or full, not {mode!r}")
    return mode


def pytest_configure(config):
    config.addinivalue_line("markers", "full: a chaos case run only with DROVER_CHAOS=full")


def pytest_collection_modifyitems(config, items):
    if chaos_mode() == "full":
        return
    keep, drop = [], []
    for item in items:
        mine = os.path.dirname(str(item.fspath)) == HERE
        (drop if mine and item.get_closest_marker("full") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def drover_bin():
    path = os.environ.get("DROVER_BIN") or os.path.join(TOP_SRCDIR, "build", "drover")
    if not os.access(path, os.X_OK):
        pytest.fail(f"drover binary not found at {path} (set DROVER_BIN)")
    return path
