"""`drover check`: real Nagios plugins and misbehaving ones (tests/integration/plugins)."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import TOP_SRCDIR, require_tool

NAGIOS = "/usr/lib/nagios/plugins"
PLUGINS = os.path.join(TOP_SRCDIR, "tests", "integration", "plugins")
STATES = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
CHECK_KEYS = ["name", "status", "state", "output", "perfdata", "duration_ms"]
PERF_KEYS = ["label", "value", "uom", "warn", "crit", "min", "max"]


@pytest.fixture
def plugdir():
    """A copy of the test plugins in a directory the user "nobody" can reach (pytest's
    tmp_path is private to root), root-owned and not writable by others as drover wants."""
    d = tempfile.mkdtemp(prefix="drover-plugins-")
    os.chmod(d, 0o755)
    for name in os.listdir(PLUGINS):
        shutil.copy(os.path.join(PLUGINS, name), d)
        os.chmod(os.path.join(d, name), 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def marker():
    """A unique word given to misbehaving plugins; every process they start carries it."""
    m = "drover-test-" + uuid.uuid4().hex
    yield m
    # Never leave a stray process behind, even when a test fails.
    for pid in pids_with(m):
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def pids_with(word):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if word.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def assert_no_process_left(word):
    deadline = time.monotonic() + 3
    while pids_with(word) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pids_with(word) == [], f"processes left behind: {pids_with(word)}"


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(tmp_path, checks, plugins="user = \"nobody\"; group = \"nogroup\";"):
    """checks: list of (name, argv, extra-settings-string)."""
    items = []
    for name, argv, extra in checks:
        items.append(f'{{ name = {q(name)}; command = [ {", ".join(q(a) for a in argv)} ]; '
                     f'{extra} }}')
    path = tmp_path / "drover.conf"
    path.write_text(f"plugins: {{ {plugins} }};\nchecks = (\n  " + ",\n  ".join(items)
                    + "\n);\n")
    return str(path)


def check_json(run_drover, conf, *names, timeout=60):
    t0 = time.monotonic()
    p = run_drover("check", "-c", conf, "--json", *names, timeout=timeout)
    elapsed = time.monotonic() - t0
    assert p.stdout.endswith("\n")
    doc = json.loads(p.stdout)
    assert list(doc) == ["checks", "worst"]
    for c in doc["checks"]:
        assert list(c) == CHECK_KEYS
        assert isinstance(c["status"], int) and c["state"] == STATES[c["status"]]
        assert isinstance(c["output"], str) and isinstance(c["duration_ms"], int)
        for pd in c["perfdata"]:
            assert list(pd) == PERF_KEYS
    assert p.returncode == doc["worst"], p.stderr
    return doc, {c["name"]: c for c in doc["checks"]}, elapsed


def test_check_dummy_states_and_worst(run_drover, tmp_path):
    require_tool(f"{NAGIOS}/check_dummy")
    conf = write_config(tmp_path, [
        (f"s{n}", [f"{NAGIOS}/check_dummy", str(n), f"text {n}"], "") for n in range(4)])
    doc, by, _ = check_json(run_drover, conf)
    assert [c["name"] for c in doc["checks"]] == ["s0", "s1", "s2", "s3"]
    assert [c["status"] for c in doc["checks"]] == [0, 1, 2, 3]
    assert by["s0"]["output"] == "OK: text 0"
    assert by["s1"]["output"] == "WARNING: text 1"
    assert by["s2"]["output"] == "CRITICAL: text 2"
    assert by["s3"]["output"] == "UNKNOWN: text 3"
    # CRITICAL ranks above UNKNOWN above WARNING.
    assert doc["worst"] == 2


@pytest.mark.parametrize("codes,worst", [
    ([0], 0), ([0, 1], 1), ([1, 3], 3), ([3, 2], 2), ([0, 1, 3], 3)])
def test_worst_ranking(run_drover, tmp_path, codes, worst):
    require_tool(f"{NAGIOS}/check_dummy")
    conf = write_config(tmp_path, [
        (f"c{i}", [f"{NAGIOS}/check_dummy", str(n)], "") for i, n in enumerate(codes)])
    doc, _, _ = check_json(run_drover, conf)
    assert doc["worst"] == worst


def test_named_checks_and_unknown_name(run_drover, tmp_path):
    require_tool(f"{NAGIOS}/check_dummy")
    conf = write_config(tmp_path, [
        ("a", [f"{NAGIOS}/check_dummy", "0"], ""), ("b", [f"{NAGIOS}/check_dummy", "2"], "")])
    doc, _, _ = check_json(run_drover, conf, "a")
    assert [c["name"] for c in doc["checks"]] == ["a"] and doc["worst"] == 0
    p = run_drover("check", "-c", conf, "a", "nope")
    assert p.returncode == 3
    assert "no such check: nope (checks: a b)" in p.stderr
    assert p.stdout == ""


def test_table_output(run_drover, tmp_path):
    require_tool(f"{NAGIOS}/check_dummy")
    conf = write_config(tmp_path, [
        ("web", [f"{NAGIOS}/check_dummy", "1", "slow"], ""),
        ("db", [f"{NAGIOS}/check_dummy", "0", "fine"], "")])
    p = run_drover("check", "-c", conf)
    assert p.returncode == 1
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATE", "DURATION", "OUTPUT"]
    # Rows come as the checks finish, so in either order.
    rows = {x.split()[0]: x for x in lines[1:]}
    assert len(lines) == 3 and "\033[" not in p.stdout  # not a terminal: no colour
    assert rows["web"].split()[:2] == ["web", "WARNING"] and rows["web"].endswith("WARNING: slow")
    assert rows["db"].split()[:2] == ["db", "OK"] and rows["db"].endswith("OK: fine")


def test_real_plugins_disk_and_procs(run_drover, tmp_path):
    require_tool(f"{NAGIOS}/check_disk")
    require_tool(f"{NAGIOS}/check_procs")
    conf = write_config(tmp_path, [
        ("disk", [f"{NAGIOS}/check_disk", "-w", "0%", "-c", "0%", "-p", "/"], ""),
        ("procs", [f"{NAGIOS}/check_procs", "-w", "100000", "-c", "200000"], "")])
    doc, by, _ = check_json(run_drover, conf)
    assert by["disk"]["status"] == 0 and by["disk"]["output"].startswith("DISK OK")
    (pd,) = [x for x in by["disk"]["perfdata"] if x["label"] == "/"]
    assert isinstance(pd["value"], (int, float)) and pd["min"] == 0 and pd["max"] > 0
    assert by["procs"]["status"] == 0 and by["procs"]["output"].startswith("PROCS OK")
    assert by["procs"]["perfdata"][0]["label"] == "procs"


def test_perfdata_quoted_labels_exact(run_drover, tmp_path, plugdir):
    conf = write_config(tmp_path, [("perf", [f"{plugdir}/perfdata"], "")])
    doc, by, _ = check_json(run_drover, conf)
    c = by["perf"]
    assert c["status"] == 1
    assert c["output"] == ("WARNING - disk filling\nfirst detail line\nsecond detail line")
    assert c["perfdata"] == [
        {"label": "disk used", "value": 42.5, "uom": "%", "warn": "80", "crit": "90",
         "min": 0, "max": 100},
        {"label": "it's", "value": 3, "uom": "ms", "warn": "@5:20", "crit": "~:10",
         "min": None, "max": None},
        {"label": "queue", "value": None, "uom": "", "warn": None, "crit": None,
         "min": None, "max": None},
        {"label": "hits", "value": 12, "uom": "c", "warn": None, "crit": None,
         "min": 0, "max": None},
        {"label": "odd label", "value": 7, "uom": "KB", "warn": None, "crit": None,
         "min": None, "max": None},
    ]


@pytest.mark.parametrize("extra,status", [("", 2), ('timeout_state = "warning";', 1),
                                          ('timeout_state = "unknown";', 3)])
def test_never_exits_times_out(run_drover, tmp_path, plugdir, marker, extra, status):
    conf = write_config(tmp_path, [
        ("hang", [f"{plugdir}/never-exits", marker], f"timeout = 1.0; kill_grace = 0.5; {extra}")])
    doc, by, elapsed = check_json(run_drover, conf)
    assert by["hang"]["status"] == status
    assert by["hang"]["output"] == "plugin timed out after 1 s"
    assert by["hang"]["perfdata"] == []
    assert 0.9 < elapsed < 5
    assert_no_process_left(marker)


def test_ignores_sigterm_gets_sigkill(run_drover, tmp_path, plugdir, marker):
    conf = write_config(tmp_path, [
        ("stubborn", [f"{plugdir}/ignores-term", marker], "timeout = 0.5; kill_grace = 0.5;")])
    doc, by, elapsed = check_json(run_drover, conf)
    assert by["stubborn"]["status"] == 2
    assert by["stubborn"]["output"] == "plugin timed out after 0.5 s"
    assert 0.9 < elapsed < 5  # timeout + grace
    assert_no_process_left(marker)


def test_closes_stdout_and_keeps_running(run_drover, tmp_path, plugdir, marker):
    conf = write_config(tmp_path, [
        ("quiet", [f"{plugdir}/closes-stdout", marker], "timeout = 1.0; kill_grace = 0.2;")])
    doc, by, elapsed = check_json(run_drover, conf)
    assert by["quiet"]["status"] == 2
    assert by["quiet"]["output"] == "plugin timed out after 1 s"
    assert elapsed < 5
    assert_no_process_left(marker)


def test_child_holding_pipe_does_not_hang(run_drover, tmp_path, plugdir, marker):
    conf = write_config(tmp_path, [
        ("orphan", [f"{plugdir}/leaves-child", marker], "timeout = 30.0;")])
    doc, by, elapsed = check_json(run_drover, conf)
    # The plugin's own verdict stands; its leftover child is killed, not waited for.
    assert by["orphan"]["status"] == 0
    assert by["orphan"]["output"].startswith("OK - parent done")
    assert by["orphan"]["perfdata"][0]["label"] == "children"
    assert elapsed < 10
    assert_no_process_left(marker)


def run_measured(drover_bin, args):
    """Runs drover, returns (stdout, exit status, wall seconds, max RSS in KiB)."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    t0 = time.monotonic()
    p = subprocess.Popen([drover_bin, *args], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=env)
    out = p.stdout.read()
    p.stdout.close()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return out.decode(), p.returncode, time.monotonic() - t0, ru.ru_maxrss


@pytest.mark.parametrize("mode", ["exits", "forever"])
def test_flood_is_truncated_fast_and_small(drover_bin, tmp_path, plugdir, marker, mode):
    require_tool(f"{NAGIOS}/check_dummy")
    (tmp_path / "flood").mkdir()
    (tmp_path / "base").mkdir()
    conf = write_config(tmp_path / "flood", [
        ("flood", [f"{plugdir}/flood", marker] + (["forever"] if mode == "forever" else []),
         "timeout = 2.0; kill_grace = 0.2; max_output = 4096;"),
        ("dummy", [f"{NAGIOS}/check_dummy", "0"], "")])
    base = write_config(tmp_path / "base", [("dummy", [f"{NAGIOS}/check_dummy", "0"], "")])
    out, rc, elapsed, rss = run_measured(drover_bin, ["check", "-c", conf, "--json"])
    c = json.loads(out)["checks"][0]
    if mode == "exits":
        # About 20 MB written, 4 KiB kept, the plugin's verdict stands.
        assert c["status"] == 0 and rc == 0
        assert c["output"].startswith("OK - flooding\nxxxx")
        assert len(c["output"].encode()) <= 4096
        assert elapsed < 8
    else:
        assert c["status"] == 2 and rc == 2
        assert c["output"] == "plugin timed out after 2 s"
        assert 1.9 < elapsed < 6
    # Small: no more memory than a run with only a quiet plugin, give or take 16 MiB.
    _, _, _, base_rss = run_measured(drover_bin, ["check", "-c", base, "--json"])
    assert rss - base_rss < 16 * 1024, (rss, base_rss)
    assert_no_process_left(marker)


def test_flood_table_says_truncated(run_drover, tmp_path, plugdir, marker):
    conf = write_config(tmp_path, [("flood", [f"{plugdir}/flood", marker],
                                    "max_output = 1024;")])
    p = run_drover("check", "-c", conf)
    assert p.returncode == 0
    assert p.stdout.splitlines()[1].endswith("OK - flooding [output truncated]")


def test_deleted_while_running(run_drover, tmp_path, plugdir):
    path = f"{plugdir}/deletes-itself"
    # As root ("nobody" may not delete in a root-owned directory; an upgrade would).
    conf = write_config(tmp_path, [("gone", [path], "")], plugins='user = "";')
    doc, by, _ = check_json(run_drover, conf)
    assert by["gone"]["status"] == 0
    assert by["gone"]["output"] == "OK - I was deleted while running"
    assert not os.path.exists(path)
    # Now it is missing: a clear UNKNOWN, not a crash.
    doc, by, _ = check_json(run_drover, conf)
    assert by["gone"]["status"] == 3
    assert by["gone"]["output"] == f"plugin not found: {path}"


def test_broken_plugins_are_unknown(run_drover, tmp_path, plugdir):
    noexec = f"{plugdir}/not-executable"
    with open(noexec, "w") as f:
        f.write("#!/bin/sh\necho OK\n")
    os.chmod(noexec, 0o644)
    conf = write_config(tmp_path, [
        ("segv", [f"{plugdir}/killed-by-signal"], ""),
        ("odd", [f"{plugdir}/exit-42"], ""),
        ("noexec", [noexec], ""),
        ("missing", [f"{plugdir}/no-such-plugin"], ""),
        ("dir", [plugdir], "")])
    doc, by, _ = check_json(run_drover, conf)
    assert all(c["status"] == 3 for c in doc["checks"])
    assert by["segv"]["output"] == "plugin killed by signal SIGSEGV: about to crash"
    assert by["odd"]["output"] == "plugin exited with status 42: something odd happened"
    assert by["noexec"]["output"] == f"plugin is not executable: {noexec}"
    assert by["missing"]["output"] == f"plugin not found: {plugdir}/no-such-plugin"
    assert by["dir"]["output"] == f"plugin is not a regular file: {plugdir}"
    assert doc["worst"] == 3


def test_cannot_exec_bad_interpreter(run_drover, tmp_path, plugdir):
    bad = f"{plugdir}/bad-interpreter"
    with open(bad, "w") as f:
        f.write("#!/nonexistent/interpreter\n")
    os.chmod(bad, 0o755)
    conf = write_config(tmp_path, [("bad", [bad], "")])
    doc, by, _ = check_json(run_drover, conf)
    assert by["bad"]["status"] == 3
    assert by["bad"]["output"] == f"cannot exec {bad}: No such file or directory"


def test_child_setup_user_env_fds(run_drover, tmp_path, plugdir):
    if os.geteuid() != 0:
        pytest.skip("dropping privileges needs root")
    conf = write_config(tmp_path, [("who", [f"{plugdir}/whoami"], "")])
    doc, by, _ = check_json(run_drover, conf)
    c = by["who"]
    assert c["status"] == 0, c["output"]
    info = json.loads(c["output"][len("OK - "):])
    assert (info["uid"], info["euid"], info["gid"]) == (65534, 65534, 65534)
    assert info["groups"] == [65534]
    assert info["env"] == {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    assert info["fds"] == [0, 1, 2]
    assert info["cwd"] == "/"
    assert info["stdin"] == 0
    assert info["pgid"] == info["pid"]  # its own process group
    assert int(info["sigblk"], 16) == 0
    # Python itself ignores SIGPIPE and SIGXFSZ; nothing else may be inherited.
    assert int(info["sigign"], 16) & ~((1 << 12) | (1 << 24)) == 0


def test_user_empty_keeps_our_user(run_drover, tmp_path, plugdir):
    conf = write_config(tmp_path, [("who", [f"{plugdir}/whoami"], "")], plugins='user = "";')
    doc, by, _ = check_json(run_drover, conf)
    info = json.loads(by["who"]["output"][len("OK - "):])
    assert info["uid"] == os.getuid()


def test_shell_command(run_drover, tmp_path):
    path = tmp_path / "drover.conf"
    path.write_text('plugins: { user = ""; };\n'
                    'checks = ( { name = "sh"; shell = true; '
                    'command = [ "echo \\"WARNING - from sh | n=$((1+2))\\"; exit 1" ]; } );\n')
    doc, by, _ = check_json(run_drover, str(path))
    assert by["sh"]["status"] == 1
    assert by["sh"]["output"] == "WARNING - from sh"
    assert by["sh"]["perfdata"][0]["value"] == 3


def test_concurrency_limit(run_drover, tmp_path):
    # Six plugins that log when they start and end; at most two may overlap, and two do.
    log = tmp_path / "log"
    script = (f'echo "start $(date +%s.%N)" >> {log}; sleep 0.3; '
              f'echo "end $(date +%s.%N)" >> {log}; echo OK')
    path = tmp_path / "drover.conf"
    items = ", ".join(f'{{ name = "s{i}"; shell = true; command = [ {q(script)} ]; }}'
                      for i in range(6))
    path.write_text(f'plugins: {{ user = ""; concurrency = 2; }};\nchecks = ( {items} );\n')
    doc, by, elapsed = check_json(run_drover, str(path))
    assert doc["worst"] == 0 and len(doc["checks"]) == 6
    events = sorted((float(t), kind) for kind, t in
                    (line.split() for line in log.read_text().splitlines()))
    # At equal times an end sorts before a start ("end" < "start").
    running = peak = 0
    for _, kind in events:
        running += 1 if kind == "start" else -1
        peak = max(peak, running)
    assert peak == 2
    assert all(c["duration_ms"] >= 290 for c in doc["checks"])


def test_sigterm_kills_running_plugins(drover_bin, tmp_path, plugdir, marker):
    conf = write_config(tmp_path, [
        (f"h{i}", [f"{plugdir}/never-exits", marker], "timeout = 60.0;") for i in range(3)])
    p = subprocess.Popen([drover_bin, "check", "-c", conf], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 5
    while len(pids_with(marker)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(pids_with(marker)) >= 3
    p.terminate()
    out, err = p.communicate(timeout=10)
    assert p.returncode == 3
    assert "interrupted" in err
    assert_no_process_left(marker)


def test_bad_config_is_unknown(run_drover, tmp_path):
    path = tmp_path / "drover.conf"
    path.write_text("checks = ( { name = 1; } );\n")
    p = run_drover("check", "-c", str(path))
    assert p.returncode == 3
    assert "drover.conf:1" in p.stderr


def test_no_checks(run_drover, tmp_path):
    path = tmp_path / "drover.conf"
    path.write_text("plugins: { user = \"\"; };\n")
    p = run_drover("check", "-c", str(path), "--json")
    assert p.returncode == 0
    assert json.loads(p.stdout) == {"checks": [], "worst": 0}


def test_rows_as_they_finish(drover_bin, tmp_path):
    """The slowest check must not hide the others: the fast row is out while it runs."""
    conf = write_config(tmp_path, [("slow", ["/bin/sh", "-c", "sleep 4; echo slow done"], ""),
                                   ("fast", ["/bin/sh", "-c", "echo fast done"], "")],
                        plugins="user = \"\"; group = \"\";")
    p = subprocess.Popen([drover_bin, "check", "-c", conf], stdout=subprocess.PIPE, text=True)
    started = time.monotonic()
    header = p.stdout.readline()
    first = p.stdout.readline()
    took = time.monotonic() - started
    rest = p.stdout.read()
    p.wait(timeout=20)
    assert header.split() == ["NAME", "STATE", "DURATION", "OUTPUT"]
    assert first.split()[:2] == ["fast", "OK"] and took < 3, (first, took)
    assert rest.split()[:2] == ["slow", "OK"]


def run_on_a_terminal(argv, env):
    """Runs argv with stdout on a pseudo-terminal; returns what it wrote there."""
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdout=slave, stderr=subprocess.DEVNULL, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    p.wait(timeout=20)
    os.close(master)
    return out.decode()


def test_colour_on_a_terminal_only_and_no_color(drover_bin, tmp_path):
    conf = write_config(tmp_path, [("bad", ["/bin/sh", "-c", "echo broken; exit 2"], "")],
                        plugins="user = \"\"; group = \"\";")
    env = {"PATH": "/usr/bin:/bin", "TERM": "xterm"}
    assert "\033[31mCRITICAL" in run_on_a_terminal([drover_bin, "check", "-c", conf], env)
    for extra in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
        out = run_on_a_terminal([drover_bin, "check", "-c", conf], dict(env, **extra))
        assert "CRITICAL" in out and "\033[" not in out, extra
