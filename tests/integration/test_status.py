"""`drover status` end to end against tests/sim: the headline of each situation a test
can reach (the rest are golden tests, tests/unit/test-status-text.c), the Nagios exit
of --check, --wide, the bounded reply, and the usage errors.
"""
import json
import re
import os
import subprocess

from test_daemon import aws_cli, replaced_once


def status(d, *args):
    e = d.env()
    return subprocess.run([d.bin, "status", *args], capture_output=True, text=True,
                          timeout=20, env=e)


def headline(d):
    p = status(d)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()[0]


def test_healthy_not_asked_yet(daemon):
    d = daemon
    d.start(checks=[d.flag_check("web"), d.flag_check("db", role="dependency")])
    d.wait_ready()
    d.wait_for(lambda: d.check("web")["last_run_s_ago"] is not None
               and d.check("db")["last_run_s_ago"] is not None, 10, "both checks ran")
    # The lifecycle watcher learns the group's name on its own (one Describe call).
    d.wait_for(lambda: (d.status().get("lifecycle") or {}).get("group"), 10, "the group's name")
    p = status(d)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "HEALTHY: 1 of 1 liveness checks passing"
    assert "\033[" not in p.stdout  # not a terminal: no colour
    group = next(x for x in lines if x.startswith("group "))
    assert "not asked yet" in group  # a healthy agent makes no Auto Scaling call
    assert d.sim.calls("DescribeScalingActivities") == []
    assert f"group        {d.sim.asg_name}: this instance InService" in p.stdout, p.stdout
    assert re.search(r"^drover +\S+, pid \d+, up \d+ s$", p.stdout, re.M), p.stdout
    c = status(d, "--check")
    assert (c.returncode, c.stdout) == (0, "DROVER " + lines[0] + "\n")
    doc = json.loads(status(d, "--json").stdout)
    assert doc["schema"] == 1
    for key in ("version", "pid", "uptime_s", "instance", "config", "checks", "heal",
                "summary", "grace_left_s"):
        assert key in doc, key
    assert doc["checks"][0]["output_truncated"] is False


def test_check_not_run_yet(daemon):
    d = daemon
    d.start(checks=[d.flag_check("web"), d.flag_check("slow", interval=3600)])
    d.set_slow("slow", 30)
    d.wait_ready()
    d.wait_for(lambda: d.check("web")["last_run_s_ago"] is not None, 10, "web ran")
    row = next(x for x in status(d).stdout.splitlines() if x.split()[:1] == ["slow"])
    assert "UNKNOWN" not in row and ("not run yet" in row or "running" in row), row


def test_held_back_then_replaced(daemon):
    d = daemon
    tag = (f"ResourceId={d.sim.asg_name},ResourceType=auto-scaling-group,"
           "Key=drover:paused,Value=true,PropagateAtLaunch=false")
    aws_cli(d, "create-or-update-tags", "--tags", tag)
    d.start(checks=[d.flag_check("web")])
    d.wait_ready()
    d.set_failing("web")
    d.wait_for(lambda: d.decision()["reason"] == "paused-tag", 15, "held back by the tag")
    head = headline(d)
    assert head.startswith("HELD BACK: unhealthy (failing: web), not replaced: ")
    assert "drover:paused" in head
    assert status(d, "--check").returncode == 1
    aws_cli(d, "delete-tags", "--tags",
            f"ResourceId={d.sim.asg_name},ResourceType=auto-scaling-group,Key=drover:paused")
    replaced_once(d)
    # Set Unhealthy, the sim's group terminates the instance and lets go of it.
    d.wait_for(lambda: headline(d).startswith(("UNHEALTHY: ", "REPLACED: ")), 10,
               "the UNHEALTHY or REPLACED headline")
    assert status(d, "--check").returncode == 2
    if headline(d).startswith("REPLACED: "):
        # systemd's one line agrees: not "standalone", as if never in a group.
        d.wait_for(lambda: any("no longer in the group (replaced)" in x
                               for x in d.notify.seen("STATUS=")), 5, "STATUS= replaced")
    p = status(d)
    assert "replacement  set-unhealthy requested 20" in p.stdout, p.stdout
    assert " ago), " in p.stdout  # ISO time plus how long ago


def test_off_ec2(daemon):
    d = daemon
    d.sim.fault("imds", kind="status", status=503)
    d.start(checks=[d.flag_check("web")])
    d.wait_ready()
    head = headline(d)
    assert head.startswith("UNKNOWN: IMDS unreachable (")
    assert "nothing is replaced" in head
    assert status(d, "--check").returncode == 3
    d.sim.clear_faults()
    d.wait_for(lambda: headline(d).startswith("HEALTHY: "), 30, "the identity, then HEALTHY")
    assert status(d, "--check").returncode == 0


NOISE_PLUGIN = """#!/bin/sh
head -c 65536 /dev/zero | tr '\\0' '\\1'
exit 0
"""


def test_bounded_reply_with_noisy_checks(daemon):
    """12 checks x 64 KiB of control bytes escape to 4.6 MB of JSON: past the client's
    4 MiB read, unless the reply cuts each output (and says so)."""
    d = daemon
    noise = os.path.join(d.plugin_dir, "noise")
    with open(noise, "w") as f:
        f.write(NOISE_PLUGIN)
    os.chmod(noise, 0o755)
    checks = [{"name": f"noise{i}", "role": "dependency", "command": [noise],
               "interval": 2} for i in range(12)]
    d.start(checks=checks)
    d.wait_ready()
    d.wait_for(lambda: all(c["last_run_s_ago"] is not None for c in d.status()["checks"]),
               20, "all twelve ran")
    p = status(d, "--json")
    assert p.returncode == 0, p.stderr
    assert len(p.stdout) < 2 * 1024 * 1024
    for c in json.loads(p.stdout)["checks"]:
        # 64 KiB of control bytes, each escaped as \xNN: four times that is the full length.
        assert c["output_truncated"] is True and c["output_bytes"] == 4 * 65536, c["name"]
        # (the plugin's bytes arrive made safe: every \x01 byte is the text "\\x01")
        assert 0 < len(c["output"]) and set(c["output"]) <= set("\\x01")
    text = status(d)
    assert text.returncode == 0
    row = next(x for x in text.stdout.splitlines() if x.split()[:1] == ["noise3"])
    assert row.endswith("...") and "\x01" not in text.stdout
    wide = status(d, "--wide", "noise3")
    assert wide.returncode == 0, wide.stderr
    assert "262144 bytes of output" in wide.stdout.splitlines()[0]
    assert wide.stdout.count("\\x01") == 65536
    nosuch = status(d, "--wide", "nosuch")
    assert nosuch.returncode == 2
    assert "no such check: nosuch (checks: noise0 noise1" in nosuch.stderr


def test_no_daemon_and_usage(run_drover, tmp_path):
    env = {"RUNTIME_DIRECTORY": str(tmp_path)}
    p = run_drover("status", env=env)
    assert p.returncode == 3 and "no daemon answers" in p.stderr
    p = run_drover("status", "--check", env=env)
    assert p.returncode == 3 and p.stdout == "DROVER UNKNOWN: no daemon answers\n"
    for args, code in ((["--bogus"], 2), (["extra"], 2), (["--check", "--bogus"], 3),
                       (["--check", "extra"], 3), (["--wide"], 2)):
        p = run_drover("status", *args, env=env)
        assert p.returncode == code, (args, p.returncode, p.stderr)
        assert p.stderr
