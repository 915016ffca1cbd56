"""drover(8) documents every subcommand and long option the binary has, and renders
without groff warnings."""
import os
import re
import subprocess

import pytest

from conftest import TOP_SRCDIR, require_tool

MAN = os.path.join(TOP_SRCDIR, "agent", "man", "drover.8")


@pytest.fixture(scope="module")
def drover_bin():
    path = os.environ.get("DROVER_BIN") or os.path.join(TOP_SRCDIR, "build", "drover")
    if not os.access(path, os.X_OK):
        pytest.fail(f"drover binary not found at {path} (set DROVER_BIN)")
    return path


def man_text():
    with open(MAN) as f:
        # Undo roff escapes so "config\-test" reads as "config-test".
        return f.read().replace("\\-", "-")


def subcommands(drover_bin):
    out = subprocess.run([drover_bin, "--help"], capture_output=True, text=True).stdout
    return re.findall(r"^  ([a-z][a-z-]*)\b", out.split("Commands:", 1)[1], re.M)


def test_every_subcommand_is_documented(drover_bin):
    text = man_text()
    commands = subcommands(drover_bin)
    assert "check" in commands and "config-test" in commands
    section = text.split(".SH COMMANDS", 1)[1].split(".SH ", 1)[0]
    for cmd in commands:
        assert re.search(rf"^\.B {re.escape(cmd)}$", section, re.M), f"{cmd} not in COMMANDS"
        assert f"drover {cmd}" in text.split(".SH DESCRIPTION", 1)[0], f"{cmd} not in SYNOPSIS"


def test_every_long_option_is_documented(drover_bin):
    text = man_text()
    for cmd in subcommands(drover_bin):
        out = subprocess.run([drover_bin, cmd, "--help"], capture_output=True, text=True,
                             timeout=10).stdout
        for opt in set(re.findall(r"(--[a-z][a-z0-9-]+)", out)):
            assert opt in text, f"drover {cmd} {opt} is not in drover(8)"


def test_renders_without_warnings():
    require_tool("groff")
    p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", MAN], capture_output=True,
                       text=True)
    assert p.returncode == 0 and not p.stderr.strip(), p.stderr
