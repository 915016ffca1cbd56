"""The health endpoint (http { listen; allow; drain_delay; }) end to end: the real
`drover run` against tests/sim, asked over loopback like a load balancer, HAProxy or
Prometheus would.

/health follows liveness and readiness but never a dependency; a drain turns it 503
before the terminate hooks start and waits drain_delay, capped by a spot deadline;
/metrics passes promtool and agrees with `drover status --json`; a flood of slow
connections is refused cheaply while an allowed client, `drover status` and the
watchdog carry on.
"""
import http.client
import json
import os
import resource
import socket
import subprocess
import time

import pytest

from conftest import require_tool

PROMTOOL = "/usr/bin/promtool"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, method="GET", host="127.0.0.1", source=None, timeout=5):
    """(status, headers dict, body text) of one request on a fresh connection."""
    c = http.client.HTTPConnection(host, port, timeout=timeout,
                                   source_address=(source, 0) if source else None)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        c.close()


def http_conf(port, **extra):
    h = {"listen": [f"127.0.0.1:{port}"]}
    h.update(extra)
    return h


def start(d, checks, port, http=None, **sections):
    sections.setdefault("policy", {"action": "none"})
    d.start(checks=checks, http=http or http_conf(port), **sections).wait_ready()
    d.wait_for(lambda: all(c["state"] != "pending" or c["role"] == "readiness"
                           for c in d.status()["checks"]), 15, "first results")
    return d


def wait_health(d, port, code, path="/health", timeout=15):
    return d.wait_for(lambda: get(port, path)[0] == code, timeout, f"{path} -> {code}")


def test_health_follows_liveness_and_readiness_not_dependencies(daemon):
    port = free_port()
    d = start(daemon, [daemon.flag_check("web"), daemon.flag_check("app", role="readiness"),
                       daemon.flag_check("db", role="dependency")], port)
    wait_health(d, port, 200)
    assert get(port, "/health") == (200, get(port, "/health")[1], "OK\n")
    assert get(port, "/health")[1]["content-type"].startswith("text/plain")
    assert get(port, "/live")[0] == 200 and get(port, "/ready")[0] == 200

    # A shared outage must not empty the pool: a failed dependency changes nothing.
    d.set_failing("db")
    d.wait_for(lambda: d.check("db")["state"] == "failed", 10, "db failed")
    assert get(port, "/health")[0] == 200

    d.set_failing("web")
    wait_health(d, port, 503)
    status, _, body = get(port, "/health")
    assert body == "liveness check failed: web\n"
    assert get(port, "/live")[0] == 503 and get(port, "/ready")[0] == 200
    d.set_failing("web", 0)
    wait_health(d, port, 200)

    d.set_failing("app")
    wait_health(d, port, 503)
    assert get(port, "/health")[2] == "readiness check not passing: app\n"
    assert get(port, "/ready")[0] == 503 and get(port, "/live")[0] == 200
    d.set_failing("app", 0)
    wait_health(d, port, 200)

    # The same answer in status, and as JSON for an allowed (loopback) source.
    assert d.status()["http"]["serving"] is True
    status, headers, body = get(port, "/health?format=json")
    assert status == 200 and headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc["serving"] is True and doc["draining"] is False and doc["reason"] == "OK"
    assert doc["elb_warning"] is None  # the sim's group checks EC2 only


def test_methods_paths_and_head(daemon):
    port = free_port()
    d = start(daemon, [daemon.flag_check("web")], port)
    wait_health(d, port, 200)
    status, headers, body = get(port, "/health", method="HEAD")
    assert status == 200 and body == "" and headers["content-length"] == "3"
    assert get(port, "/nope")[0] == 404
    assert get(port, "/health/")[0] == 404
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        status, headers, _ = get(port, "/health", method=method)
        assert status == 405 and headers["allow"] == "GET, HEAD"
    # A request over the 8 KiB cap is refused, one well under it answered.
    def big(n):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * n + b"\r\n\r\n")
            return s.recv(4096)
    assert big(2000).startswith(b"HTTP/1.1 200")
    for n in (9000, 65536):
        assert not big(n).startswith(b"HTTP/1.1 200")
    assert get(port, "/health")[0] == 200
    # Nothing a client sends changes state: the checks ran as often as before.
    assert d.status()["http"]["serving"] is True


def test_allow_list_guards_details_and_metrics(daemon):
    port = free_port()
    d = start(daemon, [daemon.flag_check("web")], port,
              http={"listen": [f"[::]:{port}"], "allow": ["10.0.0.0/8"]})
    wait_health(d, port, 200)
    # The one-line answer is for whoever reaches the port (a load balancer) ...
    assert get(port, "/health") [0] == 200
    # ... details and metrics only for the allow-list, which loopback is not in now.
    assert get(port, "/health?format=json")[0] == 403
    assert get(port, "/metrics")[0] == 403

    # Over the dual-stack listener 127.0.0.1 arrives as ::ffff:127.0.0.1: normalised,
    # the IPv4 entry matches it.
    d.write_config(http={"listen": [f"[::]:{port}"], "allow": ["127.0.0.1/32"]})
    d.reload()
    assert get(port, "/metrics")[0] == 200
    assert get(port, "/health?format=json")[0] == 200


def test_bad_http_config_is_a_config_test_error(run_drover, tmp_path):
    path = tmp_path / "drover.conf"
    path.write_text('http: {\n  listen = [ "localhost:8053" ];\n'
                    '  allow = [ "10.0.0.1/8" ];\n  drain_delay = -1;\n};\n'
                    'plugins: { user = ""; };\n')   # the drover user need not exist here
    p = run_drover("config-test", "-c", str(path))
    assert p.returncode == 1
    assert p.stderr.splitlines() == [
        f'{path}:2: http.listen: element 1 must be a numeric address and port like '
        f'"0.0.0.0:8053" or "[::]:8053" (no host names; port 1-65535), not "localhost:8053"',
        f'{path}:3: http.allow: element 1 must be a network like "10.0.0.0/8" or '
        f'"2001:db8::/32", or one address, with no bits set past the prefix length, '
        f'not "10.0.0.1/8"',
        f"{path}:4: http.drain_delay must be between 0 and 3600 seconds, not -1",
    ]


PERF_PLUGIN = r"""#!/bin/sh
echo "fine | 'time'=125ms;;;0 'heap'=2KB 'load'=0.5 '/var'=25%;80;90 'weird\"one'=3"
exit 0
"""


def test_metrics_pass_promtool_and_match_status(daemon):
    promtool = require_tool(PROMTOOL)
    port = free_port()
    plugin = os.path.join(daemon.plugin_dir, "perf")
    with open(plugin, "w") as f:
        f.write(PERF_PLUGIN)
    os.chmod(plugin, 0o755)
    perf = {"name": "perf", "command": [plugin, daemon.marker], "interval": 8, "rise": 1}
    d = start(daemon, [perf, daemon.flag_check("db", role="dependency", interval=8)], port)
    d.wait_for(lambda: all(sum(c["results"].values()) >= 1 for c in d.status()["checks"]),
               20, "a result of each check")

    def results(st):
        return [c["results"] for c in st["checks"]]

    # The same daemon, read back to back; again if a check ran in between.
    for _ in range(20):
        before = d.status()
        status, headers, text = get(port, "/metrics")
        st = d.status()
        if results(before) == results(st):
            break
    else:
        pytest.fail("a check finished during every read")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr + text

    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            samples[series] = float(value)
    common = f'group="drover-asg",instance_id="{d.instance_id}"'

    def value(name, **labels):
        extra = "".join(f',{k}="{v}"' for k, v in labels.items())
        return samples[f"{name}{{{common}{extra}}}"]

    for c in st["checks"]:
        lab = {"check": c["name"], "role": c["role"]}
        assert value("drover_check_status", **lab) == c["status"]
        assert value("drover_check_duration_seconds", **lab) == c["duration_ms"] / 1000
        assert value("drover_check_passing", **lab) == (c["state"] == "passing")
        for s, n in c["results"].items():
            assert value("drover_check_results_total", **lab, status=s) == n
    assert value("drover_health_serving") == st["http"]["serving"]
    assert value("drover_info", version=st["version"]) == 1
    for key, name in (("remediation_attempted", "drover_remediations_attempted_total"),
                      ("lifecycle_hook_run", "drover_lifecycle_hooks_run_total")):
        assert value(name) == st["counters"][key]
    # Perfdata in base units, labels as the plugin wrote them (escaped).
    assert value("drover_perfdata", check="perf", label="time", uom="seconds") == 0.125
    assert value("drover_perfdata", check="perf", label="heap", uom="bytes") == 2048
    assert value("drover_perfdata", check="perf", label="/var", uom="percent") == 25
    assert value("drover_perfdata", check="perf", label="load", uom="") == 0.5
    assert value("drover_perfdata", check="perf", label='weird\\"one', uom="") == 3
    [pd] = [c["perfdata"] for c in st["checks"] if c["name"] == "perf"]
    assert {"label": "time", "value": 125, "uom": "ms"} in pd


def lifecycle_hooks_conf(**extra):
    h = {"timeout": 20, "heartbeat_interval": 1, "poll_interval": 0.5,
         "lifecycle_hook_names": {"terminate": "drain"}}
    h.update(extra)
    return h


CURL_HOOK = r"""#!/bin/sh
date +%s.%N > "{out}.started"
curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{port}/health > "{out}.tmp"
mv "{out}.tmp" "{out}.code"
"""


def add_curl_hook(d, event, port):
    os.makedirs(os.path.join(d.hooks_dir, event), mode=0o755, exist_ok=True)
    out = os.path.join(d.dir, f"hook-{event}")
    path = os.path.join(d.hooks_dir, event, "10-look")
    with open(path, "w") as f:
        f.write(CURL_HOOK.format(out=out, port=port))
    os.chmod(path, 0o755)
    return out


def read(path):
    with open(path) as f:
        return f.read().strip()


def watch_503(d, port, until, timeout):
    """The time /health first answered 503, polling until until() is true."""
    first = None
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, d.log()[-3000:]
        if first is None and get(port, "/health")[0] == 503:
            first = time.time()
        time.sleep(0.05)
    return first


def test_drain_turns_503_then_waits_before_terminate_hooks(daemon_factory):
    require_tool("/usr/bin/curl")
    d = daemon_factory(instances=2, extra_args=["--lifecycle-hook",
                                                "drain:terminate:30:ABANDON"])
    port = free_port()
    out = add_curl_hook(d, "terminate", port)
    start(d, [d.flag_check("web")], port, http=http_conf(port, drain_delay=3),
          hooks=lifecycle_hooks_conf())
    wait_health(d, port, 200)
    time.sleep(1)
    assert not os.path.exists(out + ".started")  # nothing drains while InService

    d.sim.set_desired(1, min=0)  # the group scales our (oldest) instance in
    first_503 = watch_503(d, port, lambda: os.path.exists(out + ".code"), 30)
    started = float(read(out + ".started"))
    assert first_503 is not None and first_503 < started
    assert read(out + ".code") == "503"  # the hook saw the drain too
    st = d.status()["http"]
    assert st["draining"] is True and st["drain_reason"] == "terminate"
    assert started - st["drain_since"] >= 2.5  # drain_delay = 3 (drain_since is whole s)
    assert started - first_503 >= 2.5
    # The group kept waiting meanwhile: heartbeats during the delay.
    beats = [c for c in d.calls("RecordLifecycleActionHeartbeat")
             if c["status"] == 200 and c["time"] < started]
    assert beats
    d.wait_for(lambda: [c for c in d.calls("CompleteLifecycleAction") if c["status"] == 200],
               30, "CompleteLifecycleAction")
    assert get(port, "/health")[2] == "draining: terminate\n"


def test_drain_delay_is_capped_by_the_spot_deadline(daemon_factory):
    require_tool("/usr/bin/curl")
    d = daemon_factory(instances=1, spot=True)
    port = free_port()
    out = add_curl_hook(d, "spot-interruption", port)
    start(d, [d.flag_check("web")], port, http=http_conf(port, drain_delay=600),
          hooks=lifecycle_hooks_conf())
    wait_health(d, port, 200)
    d.sim.set_instance(d.instance_id, spot_action={"action": "terminate", "in": 20})
    noticed = time.time()
    first_503 = watch_503(d, port, lambda: os.path.exists(out + ".code"), 30)
    started = float(read(out + ".started"))
    assert read(out + ".code") == "503"
    assert first_503 is not None and first_503 < started
    # Half of the 20 s left (not 600 s), so the hooks keep the other half.
    assert 8 <= started - noticed <= 14, started - noticed
    assert "capped by the deadline" in d.log()


def test_elb_health_check_type_is_said_once(daemon):
    port = free_port()
    daemon.sim.control("POST", "/group", {"health_check_type": "EC2,ELB"})
    d = start(daemon, [daemon.flag_check("web")], port)
    d.wait_for(lambda: d.status()["http"]["elb_warning"], 15, "the ELB warning")
    assert "without drover's grace period, fleet guard or brakes" in \
        d.status()["http"]["elb_warning"]
    text = subprocess.run([d.bin, "status"], capture_output=True, text=True, timeout=10,
                          env=d.env()).stdout
    assert "http         /health 200: OK\n" in text
    assert "warning      the group's HealthCheckType includes ELB" in text
    time.sleep(2)
    assert d.log().count("HealthCheckType includes ELB") == 1
    # Asked once for the endpoint; lifecycle asks once more at start, for the group's
    # retention policy (one question for both is still to do).
    assert len([c for c in d.sim.calls("DescribeAutoScalingGroups")
                if c.get("instance") == d.instance_id]) <= 2


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_flood_of_slow_connections_is_refused_cheaply(daemon):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    port = free_port()
    d = start(daemon, [daemon.flag_check("web")], port)
    wait_health(d, port, 200)
    cpu0 = cpu_seconds(d.proc.pid)
    pings0 = len(d.notify.seen("WATCHDOG=1"))
    t0 = time.monotonic()
    flood = []
    try:
        # 1,000 slowloris connections from one source (127.0.0.2): each sends half a
        # request line and then trickles a byte now and then.
        for _ in range(1000):
            s = socket.socket()
            s.setblocking(False)
            s.bind(("127.0.0.2", 0))
            try:
                s.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            flood.append(s)
        time.sleep(0.5)
        for s in flood:
            try:
                s.send(b"GET /health HTTP/1.1\r\nX-Slow: ")
            except OSError:
                pass
        # An allowed client and `drover status` still answer, promptly.
        for _ in range(5):
            t = time.monotonic()
            assert get(port, "/health", timeout=2)[0] == 200
            assert time.monotonic() - t < 1
            st = d.status(timeout=5)
            time.sleep(0.5)
        assert st["http"]["connections"] <= 8 + 1  # the per-source cap, plus our own
        # Trickle below the idle timeout: only the total deadline ends them.
        open_ones = []
        for _ in range(6):
            open_ones = []
            for s in flood:
                try:
                    s.send(b"a")
                    open_ones.append(s)
                except OSError:
                    pass
            time.sleep(2)
        # ~14 s in: everything past the 10 s deadline was shut down by drover.
        alive = 0
        for s in flood:
            try:
                s.setblocking(True)
                s.settimeout(0.01)
                if s.recv(1) != b"":
                    alive += 1
            except socket.timeout:
                alive += 1
            except OSError:
                pass
        assert alive == 0, f"{alive} slow connections outlived the request deadline"
    finally:
        for s in flood:
            s.close()
    elapsed = time.monotonic() - t0
    # The watchdog (WATCHDOG_USEC 2 s: pinged every second) kept being fed ...
    pings = len(d.notify.seen("WATCHDOG=1")) - pings0
    assert pings >= elapsed / 1.5, (pings, elapsed)
    # ... and refusing cost little: well under a second of CPU for the whole flood.
    assert cpu_seconds(d.proc.pid) - cpu0 < 1.0
    assert get(port, "/health")[0] == 200
