"""tests/demo.py's failure path: whatever goes wrong, the demo stops at once, says what,
shows drover's last log lines and keeps its folder (the one it names). Its success path
is run as README says, by test_readme.py."""
import json
import os
import re
import shutil
import subprocess
import time

from conftest import TOP_SRCDIR, require_tool

DEMO = os.path.join(TOP_SRCDIR, "tests", "demo.py")
CHECK_HTTP = "/usr/lib/nagios/plugins/check_http"


def run_demo(drover, tmp_path, timeout=90, **env):
    e = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TMPDIR": str(tmp_path)}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    e.update(env)
    start = time.monotonic()
    p = subprocess.run(["/usr/bin/python3", DEMO, drover], capture_output=True, text=True,
                       timeout=timeout, env=e)
    return p, time.monotonic() - start


def kept_folder(out):
    m = re.search(r"^kept for a look: (\S+) ", out, re.M)
    assert m, f"the demo does not say which folder it kept:\n{out}"
    return m.group(1)


def assert_failed_and_kept(p, took, limit, reason, log_line):
    out = p.stdout
    assert p.returncode == 1, out + p.stderr
    assert took < limit, f"the demo took {took:.1f} s to give up (limit {limit} s)"
    assert re.search(rf"^demo FAILED: .*{reason}", out, re.M), out
    assert "drover's last log lines:" in out, out
    tail = out.split("drover's last log lines:", 1)[1]
    assert log_line in tail, out
    work = kept_folder(out)
    assert os.path.isdir(work), f"{work} named but deleted"
    with open(os.path.join(work, "drover.log")) as f:
        assert log_line in f.read()
    assert out.rstrip("\n").splitlines()[-1].startswith("kept for a look: "), out
    shutil.rmtree(work)


def test_demo_stops_at_once_when_drover_exits_at_start(tmp_path):
    fake = tmp_path / "drover"
    fake.write_text("#!/bin/sh\necho 'cannot start: the fake drover of test_demo' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    p, took = run_demo(str(fake), tmp_path)
    assert_failed_and_kept(p, took, 15, "drover exited with status 1",
                           "cannot start: the fake drover of test_demo")


def test_demo_stops_at_once_when_the_sim_never_answers(drover_bin, tmp_path):
    """IMDS (and AWS) hold every request for 10 minutes: drover says IMDS is unreachable
    and the demo passes that on instead of waiting for a story that cannot happen."""
    faults = [{"endpoint": "imds", "kind": "latency", "seconds": 600},
              {"endpoint": "aws", "kind": "latency", "seconds": 600}]
    p, took = run_demo(drover_bin, tmp_path, DEMO_FAULTS=json.dumps(faults))
    assert_failed_and_kept(p, took, 15, "drover cannot read the simulated IMDS",
                           "IMDS")


def test_demo_stops_when_auto_scaling_never_answers(drover_bin, tmp_path):
    """Only the AWS endpoint hangs: the story goes as far as drover gets (the unhealthy
    verdict), then stops on drover's own reason (the group's error in its status)."""
    require_tool(CHECK_HTTP)
    faults = [{"endpoint": "aws", "kind": "latency", "seconds": 600}]
    p, took = run_demo(drover_bin, tmp_path, DEMO_FAULTS=json.dumps(faults),
                       DEMO_STEP_TIMEOUT="20")
    assert "drover: instance is unhealthy" in p.stdout, p.stdout
    assert_failed_and_kept(p, took, 40, "cannot get an answer from the simulated Auto Scaling",
                           "cannot ask the group")


def test_demo_success_removes_its_folder_and_ends_with_status(drover_bin, tmp_path):
    """The whole story against the real drover: in drover's order, with its figures,
    saying what is simulated, ending with a real `drover status` and a full last line."""
    require_tool(CHECK_HTTP)
    p, _ = run_demo(drover_bin, tmp_path)
    out = p.stdout
    assert p.returncode == 0, out + p.stderr
    order = ["drover: check web (liveness) is now passing",
             "demo: *** breaking the web service",
             "drover: check web (liveness) is now failed",
             "drover: check web failed: restarting demo-web.service",
             "simulated: systemd here is a stand-in",
             "drover: instance is unhealthy",
             "replacement requested (set-unhealthy)",
             "policy.max_unhealthy = 1 lets 1 of 4 be out",
             "storm brake passed: 0 health replacement(s)",
             "simulated Auto Scaling: launched",
             "--- drover status, as an operator would see it ---",
             "\ninstance     "]
    pos = [out.find(s) for s in order]
    assert -1 not in pos, dict(zip(order, pos))
    assert pos == sorted(pos), dict(zip(order, pos))
    assert out.rstrip("\n").splitlines()[-1].endswith(
        "done: the sick instance was replaced, and nobody was paged"), out
    assert not [d for d in os.listdir(tmp_path) if d.startswith("drover-demo-")]
