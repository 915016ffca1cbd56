"""The narrated demo behind tests/demo (see there). Reads like a script on purpose.

Everything it says about drover comes from drover itself: its log lines (quoted as
"drover: ...") and `drover status --json` of the running daemon, read at the moment the
log line appears, so the story is in drover's order and with drover's figures. What the
demo does itself, and what is simulated, is said as such.

On any failure it stops at once, prints drover's last log lines and keeps its folder.
For the tests of that path (tests/integration/test_demo.py) two variables exist:
DEMO_FAULTS, a JSON list of tests/sim faults injected before drover starts, and
DEMO_STEP_TIMEOUT, the seconds any one step may take (default 20).
"""
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "sim"), os.path.join(HERE, "integration")]
from privatebus import FakeSystemd  # noqa: E402
from simfixture import Sim  # noqa: E402

DROVER = sys.argv[1]
T0 = time.monotonic()
STEP_TIMEOUT = float(os.environ.get("DEMO_STEP_TIMEOUT", "20"))
INSTANCES = 4
BUDGET = 1  # policy.max_unhealthy below


def say(text):
    print(f"[{time.monotonic() - T0:5.1f}s] {text}", flush=True)


class DemoFailed(Exception):
    pass


class Web(http.server.BaseHTTPRequestHandler):
    """The 'service' on this instance: answers 200 until the demo breaks it."""
    broken = False

    def do_GET(self):
        self.send_response(500 if Web.broken else 200)
        self.end_headers()
        self.wfile.write(b"broken\n" if Web.broken else b"hello\n")

    def log_message(self, *args):
        pass


class Drover:
    """The `drover run` under demonstration: its process, its log and its status."""

    def __init__(self, conf, env, log_path):
        self.env = env
        self.log_path = log_path
        self.seen = 0
        with open(log_path, "w") as log:
            self.proc = subprocess.Popen([DROVER, "run", "-c", conf], env=env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def check_alive(self):
        if self.proc.poll() is not None:
            raise DemoFailed(f"drover exited with status {self.proc.returncode}")

    def lines(self):
        """drover's log lines, without the syslog priority prefix ("<5>")."""
        with open(self.log_path, errors="replace") as f:
            out = []
            for raw in f.read().splitlines():
                out.append(raw[3:] if raw[:1] == "<" and raw[2:3] == ">" else raw)
            return out

    def status(self, text=False):
        args = [DROVER, "status"] + ([] if text else ["--json"])
        p = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=10)
        if text:
            return p.stdout
        try:
            return json.loads(p.stdout) if p.returncode == 0 else None
        except ValueError:
            return None

    def wait_log(self, *needles, what, fail=None):
        """The next log line (after the ones already narrated) with all needles in it;
        fail(status), when given, may give a reason to stop before the timeout."""
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            self.check_alive()
            if fail:
                reason = fail(self.status() or {})
                if reason:
                    raise DemoFailed(reason)
            lines = self.lines()
            for i in range(self.seen, len(lines)):
                if all(n in lines[i] for n in needles):
                    self.seen = i + 1
                    return lines[i]
            time.sleep(0.2 if fail else 0.05)
        raise DemoFailed(f"no sign of {what} within {STEP_TIMEOUT:.0f} s")

    def wait_status(self, pred, what, fail=None):
        """The first status for which pred holds; fail(status) may give a reason to stop."""
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            self.check_alive()
            st = self.status()
            if st is not None:
                if pred(st):
                    return st
                reason = fail(st) if fail else None
                if reason:
                    raise DemoFailed(reason)
            time.sleep(0.1)
        raise DemoFailed(f"{what} not seen in drover status within {STEP_TIMEOUT:.0f} s")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def storm_limit(desired):
    """policy.max_replacements_per_hour's default "25%" of the desired capacity, at least 1
    (drover-safety(7))."""
    return max(1, (desired or 0) * 25 // 100)


def quote(line):
    say(f"drover: {line}")


def write_config(work, sim, me, port):
    conf = os.path.join(work, "drover.conf")
    with open(conf, "w") as f:
        f.write(f"""
imds: {{ endpoint = "{sim.imds_url(me)}"; timeout_ms = 500; retries = 1; }};
aws: {{ endpoints: {{ autoscaling = "{sim.aws_url}"; ec2 = "{sim.aws_url}";
                      cloudwatch = "{sim.aws_url}"; }};
        timeout_ms = 2000; max_attempts = 1; }};
plugins: {{ user = ""; group = ""; }};
policy: {{ grace_period = 0; jitter = 1.0; confirm_interval = 2.0; max_unhealthy = {BUDGET}; }};
metrics: {{ interval = 2.0; high_resolution = true; }};
hooks: {{ dir = "{work}/hooks.d"; }};
checks = (
  {{ name = "web"; role = "liveness";
     command = [ "/usr/lib/nagios/plugins/check_http", "-H", "127.0.0.1",
                 "-p", "{port}", "-t", "2" ];
     interval = 1.0; timeout = 3.0; fall = 3; rise = 2;
     remediate = {{ restart_unit = "demo-web.service"; attempts = 1; delay = 0.5;
                   backoff = 1.0; settle = 3.0; }}; }}
);
""")
    os.chmod(conf, 0o644)
    return conf


def identity_failure(d):
    """A reason to stop while drover has no identity: it said why in its log."""
    def fail(st):
        if st.get("instance", {}).get("known"):
            return None
        said = [ln for ln in d.lines() if "IMDS" in ln]
        return f"drover cannot read the simulated IMDS: {said[-1]}" if said else None
    return fail


def group_failure(st):
    err = (st.get("heal", {}).get("group") or {}).get("error")
    return f"drover cannot get an answer from the simulated Auto Scaling: {err}" if err else None


def story(d, sim, systemd, me, first_ids):
    st = d.wait_status(lambda s: s.get("instance", {}).get("known"),
                       "the instance identity", identity_failure(d))
    inst = st["instance"]
    say(f"drover {st.get('version', '?')} is running as {inst.get('instance_id')} "
        f"({inst.get('instance_type')}, {inst.get('availability_zone')}), "
        "read from the simulated IMDS")
    say(f"drover status: {st.get('summary')} (a healthy instance costs no AWS calls: "
        "drover asks the group only when it must decide)")

    quote(d.wait_log("check web", "is now passing", what="the web check passing"))
    time.sleep(1.0)
    Web.broken = True
    say("demo: *** breaking the web service: it now answers HTTP 500 ***")
    quote(d.wait_log("check web", "is now failed", what="the web check failing"))
    say("  (fall = 3: three CRITICAL results in a row, one a second)")
    quote(d.wait_log("restarting demo-web.service", what="the remediation"))
    quote(d.wait_log("remediation of web", what="the remediation's result"))
    restarts = systemd.calls("RestartUnit")
    if not restarts:
        raise DemoFailed("drover said it restarted demo-web.service, but no RestartUnit "
                         "call reached the stand-in systemd")
    say("  (simulated: systemd here is a stand-in on a private D-Bus bus; it took the "
        f"RestartUnit call ({len(restarts)} so far) and restarted nothing, so the service "
        "stays broken)")
    quote(d.wait_log("instance is unhealthy", what="the unhealthy verdict"))
    say("  (remediate.attempts = 1 is used up: only a new instance can help now)")
    line = d.wait_log("replacement requested", what="the replacement request",
                      fail=group_failure)
    st = d.status() or {}
    heal = st.get("heal", {})
    g = heal.get("group") or {}
    quote(line)
    desired = g.get("desired")
    say(f"  (fleet guard passed: the group's fresh answer, in drover status, says desired "
        f"{desired}; policy.max_unhealthy = {BUDGET} lets {BUDGET} of {desired} be out of "
        "InService+Healthy at once)")
    say(f"  (storm brake passed: {g.get('health_replacements_last_hour')} health "
        f"replacement(s) in the group's last hour, limit {storm_limit(desired)}: "
        f"the default \"25%\" of {desired})")
    rep = heal.get("replacement") or {}
    if rep.get("action"):
        say(f"drover status: replacement {rep.get('action')} requested, "
            f"confirmed by the group: {'yes' if rep.get('confirmed') else 'not yet'}")

    # The simulated group does the rest, as Auto Scaling would.
    deadline = time.monotonic() + STEP_TIMEOUT
    told = set()
    while time.monotonic() < deadline:
        d.check_alive()
        insts = {i["id"]: i for i in sim.state()["instances"]}
        if insts[me]["state"].startswith("Terminat") and "term" not in told:
            told.add("term")
            say(f"simulated Auto Scaling: {me} is {insts[me]['state']}")
        in_service = [i for i, v in insts.items() if v["state"] == "InService"]
        fresh = sorted(set(in_service) - set(first_ids))
        if "term" in told and fresh and len(in_service) >= INSTANCES:
            say(f"simulated Auto Scaling: launched {', '.join(fresh)} in its place; "
                f"{len(in_service)} instances InService again")
            break
        time.sleep(0.2)
    else:
        raise DemoFailed(f"the simulated group did not replace {me} within "
                         f"{STEP_TIMEOUT:.0f} s")
    d.wait_status(lambda s: (s.get("heal", {}).get("replacement") or {}).get("confirmed"),
                  "the group's confirmation")
    puts = sim.calls("PutMetricData")
    say(f"CloudWatch (simulated) received {len(puts)} PutMetricData call(s) from drover")


def main():
    work = tempfile.mkdtemp(prefix="drover-demo-")
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Web)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    sim = systemd = d = None
    ok = False
    try:
        sim = Sim(os.path.join(work, "sim"), instances=INSTANCES, time_scale=10)
        for fault in json.loads(os.environ.get("DEMO_FAULTS") or "[]"):
            sim.fault(**fault)
        systemd = FakeSystemd(work)
        first_ids = list(sim.instance_ids)
        me = first_ids[0]
        say(f"simulated on loopback: Auto Scaling group {sim.asg_name} with {INSTANCES} "
            f"instances, its IMDS, EC2 and CloudWatch (tests/sim); drover runs as {me}")
        say(f"demo: a web service on 127.0.0.1:{web.server_port}, checked by check_http every "
            "second, remediation: restart demo-web.service once")
        conf = write_config(work, sim, me, web.server_port)
        env = {"PATH": "/usr/bin:/bin", "STATE_DIRECTORY": os.path.join(work, "state"),
               "RUNTIME_DIRECTORY": os.path.join(work, "run"),
               "DBUS_SYSTEM_BUS_ADDRESS": systemd.address}
        for sub in ("state", "run"):
            os.makedirs(os.path.join(work, sub))
        d = Drover(conf, env, os.path.join(work, "drover.log"))
        story(d, sim, systemd, me, first_ids)
        print("\n--- drover status, as an operator would see it ---", flush=True)
        print(d.status(text=True).rstrip("\n"), flush=True)
        print("---", flush=True)
        ok = True
    except Exception as e:  # noqa: BLE001 - every failure ends the demo the same way
        print(f"\ndemo FAILED: {e}", flush=True)
        if d is not None:
            print("drover's last log lines:", flush=True)
            for line in d.lines()[-15:]:
                print(f"  {line}", flush=True)
    finally:
        if d is not None:
            d.stop()
        if systemd is not None:
            systemd.stop()
        if sim is not None:
            if not ok:  # a sim held up by an injected fault would take 10 s to stop
                sim.proc.kill()
            sim.stop()
        web.shutdown()
    if ok:
        if not os.environ.get("DEMO_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
        say("done: the sick instance was replaced, and nobody was paged")
        return 0
    print(f"kept for a look: {work} (drover.log, drover.conf, sim/)", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
