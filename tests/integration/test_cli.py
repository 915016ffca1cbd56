import re


def test_version(run_drover):
    p = run_drover("version")
    assert p.returncode == 0
    assert re.fullmatch(r"drover \d+\.\d+\.\d+\n", p.stdout)


def test_help_lists_commands(run_drover):
    p = run_drover("--help")
    assert p.returncode == 0
    assert "Usage: drover COMMAND" in p.stdout


def test_unknown_command(run_drover):
    p = run_drover("frobnicate")
    assert p.returncode == 2
    assert "unknown command 'frobnicate'" in p.stderr
