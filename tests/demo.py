"""The narrated demo behind tests/demo (see there). Reads like a script on purpose."""
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


def say(text):
    print(f"[{time.monotonic() - T0:5.1f}s] {text}", flush=True)


class Web(http.server.BaseHTTPRequestHandler):
    """The 'service' on this instance: answers 200 until it is broken."""
    broken = False

    def do_GET(self):
        self.send_response(500 if Web.broken else 200)
        self.end_headers()
        self.wfile.write(b"broken\n" if Web.broken else b"hello\n")

    def log_message(self, *args):
        pass


def main():
    work = tempfile.mkdtemp(prefix="drover-demo-")
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Web)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    sim = Sim(os.path.join(work, "sim"), instances=4, time_scale=10)
    systemd = FakeSystemd(work)
    drover = None
    try:
        first_ids = list(sim.instance_ids)
        me = first_ids[0]
        say(f"simulated Auto Scaling group {sim.asg_name}: {len(sim.instance_ids)} instances "
            f"InService; drover runs on {me}")
        say(f"web service on 127.0.0.1:{web.server_port}, checked with check_http every second")
        conf = os.path.join(work, "drover.conf")
        with open(conf, "w") as f:
            f.write(f"""
imds: {{ endpoint = "{sim.imds_url(me)}"; }};
aws: {{ endpoints: {{ autoscaling = "{sim.aws_url}"; ec2 = "{sim.aws_url}";
                      cloudwatch = "{sim.aws_url}"; }}; }};
plugins: {{ user = ""; group = ""; }};
policy: {{ grace_period = 0; jitter = 1.0; confirm_interval = 2.0; max_unhealthy = 1; }};
metrics: {{ interval = 2.0; high_resolution = true; }};
hooks: {{ dir = "{work}/hooks.d"; }};
checks = (
  {{ name = "web"; role = "liveness";
     command = [ "/usr/lib/nagios/plugins/check_http", "-H", "127.0.0.1",
                 "-p", "{web.server_port}", "-t", "2" ];
     interval = 1.0; timeout = 3.0; fall = 3; rise = 2;
     remediate = {{ restart_unit = "demo-web.service"; attempts = 1; delay = 0.5;
                   backoff = 1.0; settle = 3.0; }}; }}
);
""")
        os.chmod(conf, 0o644)
        env = {"PATH": "/usr/bin:/bin", "STATE_DIRECTORY": os.path.join(work, "state"),
               "RUNTIME_DIRECTORY": os.path.join(work, "run"),
               "DBUS_SYSTEM_BUS_ADDRESS": systemd.address}
        for d in ("state", "run"):
            os.makedirs(os.path.join(work, d))
        log = open(os.path.join(work, "drover.log"), "w")
        drover = subprocess.Popen([DROVER, "run", "-c", conf], env=env, stdout=log, stderr=log)
        status = lambda: json.loads(subprocess.run(  # noqa: E731
            [DROVER, "status", "--json"], env=env, capture_output=True, text=True).stdout or "{}")

        seen = set()

        def once(key, text):
            if key not in seen:
                seen.add(key)
                say(text)

        deadline = time.monotonic() + 50
        broke_at = None
        while time.monotonic() < deadline:
            st = status()
            checks = {c["name"]: c for c in st.get("checks", [])}
            heal = st.get("heal", {})
            web_check = checks.get("web", {})
            if web_check.get("state") == "passing":
                once("passing", f"check web passing: {web_check.get('output')}")
            if "passing" in seen and broke_at is None:
                time.sleep(2)
                Web.broken = True
                broke_at = time.monotonic()
                say("*** breaking the web service (it now answers 500) ***")
            if web_check.get("status_name") == "CRITICAL":
                once("critical", f"check web CRITICAL: {web_check.get('output')}")
            if web_check.get("state") == "failed":
                once("failed", "check web failed 3 times in a row (fall = 3): the instance is sick")
            if systemd.calls("RestartUnit"):
                once("restart", "remediation: drover asked systemd to restart demo-web.service "
                                "(RestartUnit, mode replace); the service stays broken")
            for h in heal.get("history", []):
                once(h, "drover: " + h.split(" ", 1)[1])
            if sim.calls("DescribeAutoScalingGroups"):
                once("guard", "fleet guard: drover asked the group how many instances are "
                              "already out of service (budget: 1)")
            if sim.calls("SetInstanceHealth"):
                once("set", f"SetInstanceHealth {me} Unhealthy received by Auto Scaling")
            inst = {i["id"]: i for i in sim.state()["instances"]}
            if inst[me]["state"].startswith("Terminat"):
                once("term", f"the group is terminating {me} ({inst[me]['state']})")
            in_service = [i for i, v in inst.items() if v["state"] == "InService"]
            if "term" in seen and len(in_service) >= 4:
                fresh = sorted(set(in_service) - set(first_ids))
                once("replaced", f"the group launched {', '.join(fresh)} in its place: "
                                 f"{len(in_service)} instances InService again")
            puts = sim.calls("PutMetricData")
            if puts:
                once("metrics", f"metrics recorded: {len(puts)} PutMetricData call(s) "
                                "(CheckStatus, CheckDuration, InstanceHealthy, ...)")
            if {"replaced", "metrics", "set"} <= seen and "term" in seen:
                break
            time.sleep(0.25)
        ok = {"set", "replaced"} <= seen
        say("done: the sick instance was replaced without anyone" if ok
            else "demo did not reach the end; see " + work)
        return 0 if ok else 1
    finally:
        if drover:
            drover.terminate()
            drover.wait(timeout=10)
        systemd.stop()
        sim.stop()
        web.shutdown()
        if not os.environ.get("DEMO_KEEP"):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
