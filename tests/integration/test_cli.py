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


def test_version_refuses_what_it_does_not_know(run_drover):
    p = run_drover("version", "--json")
    assert p.returncode == 2 and p.stdout == ""
    assert "unexpected argument '--json'" in p.stderr
    assert run_drover("version", "extra").returncode == 2


# Every verb refuses an unknown flag and a stray argument: 2, or 3 (UNKNOWN) for the
# Nagios-style ones, so that a typo in a monitoring system never reads as CRITICAL.
USAGE = [
    (["run", "--bogus"], 2), (["run", "extra"], 2),
    (["status", "--bogus"], 2), (["status", "extra"], 2),
    (["status", "--check", "--bogus"], 3), (["status", "--check", "extra"], 3),
    (["config-test", "--bogus"], 2), (["config-test", "extra"], 2),
    (["metadata", "--bogus"], 2), (["metadata", "a", "b"], 2),
    (["aws-test", "--bogus"], 2), (["aws-test", "extra"], 2),
    (["version", "--bogus"], 2),
    (["check", "--bogus"], 3),
]


def test_usage_errors(run_drover, tmp_path):
    env = {"RUNTIME_DIRECTORY": str(tmp_path)}
    for args, code in USAGE:
        p = run_drover(*args, env=env, timeout=20)
        assert p.returncode == code, (args, p.returncode, p.stdout, p.stderr)
        assert p.stderr, args


def test_tests_run_help_prints_usage_and_exits():
    import os
    import subprocess
    from conftest import TOP_SRCDIR
    p = subprocess.run([os.path.join(TOP_SRCDIR, "tests", "run"), "--help"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("Usage: tests/run")
    assert "--quick" in p.stdout
    p = subprocess.run([os.path.join(TOP_SRCDIR, "tests", "run"), "--bogus"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 2 and "--bogus" in p.stderr



def complete(tmp_path, *words):
    """What the shipped bash completion offers for `drover WORDS...` (last one partial)."""
    import os
    import subprocess
    from conftest import TOP_SRCDIR
    script = os.path.join(TOP_SRCDIR, "packaging", "completion", "drover")
    words = ["drover", *words]
    quoted = " ".join("'" + w + "'" for w in words)
    prog = (f"source '{script}'; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
            "_drover; printf '%s\\n' \"${COMPREPLY[@]}\"")
    p = subprocess.run(["/bin/bash", "-c", prog], capture_output=True, text=True, timeout=20,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    return sorted(x for x in p.stdout.splitlines() if x)


def test_bash_completion(tmp_path):
    assert "status" in complete(tmp_path, "st") and complete(tmp_path, "st") == ["status"]
    assert complete(tmp_path, "status", "--") == ["--check", "--help", "--json", "--wide"]
    conf = tmp_path / "drover.conf"
    conf.write_text('checks = ( { name = "web"; command = [ "/bin/true" ]; },\n'
                    '  { name = "db"; command = [ "/bin/true" ]; } );\n')
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "x.conf").write_text(
        'checks = ( { name = "wheels"; command = [ "/bin/true" ]; } );\n')
    assert complete(tmp_path, "check", "-c", str(conf), "w") == ["web", "wheels"]
    assert complete(tmp_path, "check", "-c", str(conf), "--j") == ["--json"]
