"""A pytest plugin that writes one TAP line per test to a file (Debian has no pytest-tap).

In CI (CI=true) a skipped test is reported as a failure: a missing tool or data set
that a test needs must fail the run, never hide behind a skip.
"""
import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--tap-file", default=None, help="write TAP results to this file")


class _Tap:
    def __init__(self, path):
        self.path = path
        self.lines = []

    def pytest_runtest_logreport(self, report):
        name = report.nodeid.replace("#", "_")
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.skipped and os.environ.get("CI") == "true":
                self.lines.append(f"not ok - {name} (skipped in CI: {report.longrepr})")
            elif report.skipped:
                reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
                self.lines.append(f"ok - {name} # SKIP {reason}")
            elif report.passed:
                self.lines.append(f"ok - {name}")
            else:
                self.lines.append(f"not ok - {name}")
        elif report.when == "teardown" and report.failed:
            self.lines.append(f"not ok - {name} (teardown)")

    def pytest_sessionfinish(self, session, exitstatus):
        with open(self.path, "w") as f:
            for i, line in enumerate(self.lines, 1):
                f.write(line.replace(" - ", f" {i} - ", 1) + "\n")
            if exitstatus not in (0, 1):
                n = len(self.lines) + 1
                f.write(f"not ok {n} - pytest exited with status {exitstatus}\n")
                self.lines.append("x")
            f.write(f"1..{len(self.lines)}\n")


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    path = config.getoption("--tap-file")
    if path:
        config.pluginmanager.register(_Tap(path), "tap-writer")
