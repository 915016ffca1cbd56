"""A fleet: one simulated Auto Scaling group (tests/sim) and one `drover run` per
instance, each with its own state and runtime directories, notify socket and config
pointing at its instance's IMDS port. When the group launches a replacement, a new drover
starts for it; when the group terminates an instance, its drover is stopped (as the
instance would shut down).

A sampler thread polls the sim's state continuously and records, for every sample, how
much capacity is missing: the desired capacity minus the group's instances that are
InService and Healthy.

    with Fleet(tmp_path, drover_bin, instances=20) as fleet:
        fleet.start(policy={...})
        fleet.fail_all("web")
        fleet.wait(lambda st: ..., 60, "...")
        fleet.max_missing()
"""
import os
import threading
import time

from daemonfix import Daemon
from privatebus import FakeSystemd
from simfixture import Sim


def missing_capacity(st):
    healthy = sum(1 for i in st["instances"] if i["in_group"] and i["state"] == "InService"
                  and i["health"] == "Healthy")
    return st["group"]["desired"] - healthy


def health_replacements(st):
    return [a for a in st["activities"] if "user health-check" in (a.get("Cause") or "")]


class Fleet:
    def __init__(self, workdir, drover_bin, instances=20, time_scale=10, sim_args=()):
        self.dir = str(workdir)
        self.bin = drover_bin
        self.sim = Sim(os.path.join(self.dir, "sim"), instances=instances,
                       time_scale=time_scale, extra_args=list(sim_args))
        self.systemd = None
        self.members = {}        # instance id -> Daemon (running or stopped)
        self.original = list(self.sim.instance_ids)
        self.samples = []        # (monotonic time, missing capacity, health replacements)
        self.errors = []
        self.lock = threading.Lock()
        self.running = False
        self.thread = None
        self.conf = {}
        self.checks = None
        self.new_flag = 0        # what a new instance's checks report
        try:
            self.systemd = FakeSystemd(self.dir)
        except Exception:
            self.sim.stop()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- drovers ----
    def _launch(self, iid, port):
        d = Daemon(os.path.join(self.dir, iid), self.bin, self.sim, self.systemd)
        d.instance_id = iid
        d.imds_port = port
        checks = [d.flag_check(c["name"], **{k: v for k, v in c.items() if k != "name"})
                  for c in self.checks]
        for c in self.checks:
            if self.new_flag:
                d.set_failing(c["name"], self.new_flag)
        d.write_config(checks, **self.conf)
        d.start(watchdog_sec=5)
        self.members[iid] = d
        return d

    def start(self, checks=None, **conf):
        """One drover per instance, then the sampler. checks: [{"name", ...flag_check
        arguments}]; conf: config sections over daemonfix's test defaults."""
        self.checks = checks or [{"name": "web"}]
        self.conf = {"metrics": {"enabled": False}}
        for k, v in conf.items():
            self.conf.setdefault(k, {}).update(v)
        st = self.sim.state()
        for i in st["instances"]:
            if i["in_group"] and i["state"] != "Terminated":
                self._launch(i["id"], i["imds_port"])
        deadline = time.monotonic() + 30
        for d in self.members.values():
            d.wait_ready(timeout=max(1, deadline - time.monotonic()))
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self):
        while self.running:
            try:
                st = self.sim.state()
            except Exception as e:  # the sim is stopping, or overloaded: note it
                self.errors.append(f"sim state: {e}")
                time.sleep(0.1)
                continue
            now = time.monotonic()
            with self.lock:
                self.samples.append((now, missing_capacity(st), len(health_replacements(st))))
                for i in st["instances"]:
                    if not i["in_group"]:
                        continue
                    d = self.members.get(i["id"])
                    if d is None and i["state"] != "Terminated":
                        try:
                            self._launch(i["id"], i["imds_port"])
                        except Exception as e:
                            self.errors.append(f"launch {i['id']}: {e}")
                    elif d is not None and i["state"] == "Terminated" and \
                            d.proc.poll() is None:
                        # The instance is gone: so is its drover (SIGTERM, as at shutdown).
                        d.proc.terminate()
            time.sleep(0.05)

    def running_members(self):
        with self.lock:
            return [d for d in self.members.values() if d.proc.poll() is None]

    def statuses(self):
        """instance id -> `drover status --json` of every drover that answers (one being
        stopped with its instance may not)."""
        out = {}
        for d in self.running_members():
            try:
                out[d.instance_id] = d.status(timeout=10)
            except AssertionError:
                pass
        return out

    def fail_all(self, name, code=2, also_new=False):
        """Makes check `name` fail on every running instance (and, with also_new, on
        every instance launched from now on)."""
        if also_new:
            self.new_flag = code
        for d in self.running_members():
            d.set_failing(name, code)

    def pass_all(self, name):
        self.new_flag = 0
        for d in self.running_members():
            d.set_failing(name, 0)

    # ---- observing ----
    def wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            st = self.sim.state()
            r = predicate(st)
            if r:
                return r
            if time.monotonic() > deadline:
                raise AssertionError(f"fleet: timed out waiting for {what}; "
                                     f"missing now {missing_capacity(st)}")
            time.sleep(0.2)

    def max_missing(self, since=0.0):
        with self.lock:
            return max((m for t, m, _ in self.samples if t >= since), default=0)

    def replaced_originals(self, st=None):
        st = st or self.sim.state()
        gone = {i["id"] for i in st["instances"]
                if i["state"] in ("Terminated", "Terminating", "Terminating:Wait",
                                  "Terminating:Proceed") or i["health"] == "Unhealthy"}
        return [i for i in self.original if i in gone]

    def crashed(self):
        """Drovers that exited on their own (not stopped by the harness or the test)."""
        out = []
        for iid, d in list(self.members.items()):
            rc = d.proc.poll()
            if rc is not None and rc != 0:
                out.append((iid, rc, d.log()[-1500:]))
        return out

    def replacement_calls(self):
        return [c for a in ("SetInstanceHealth", "TerminateInstanceInAutoScalingGroup",
                            "TerminateInstances") for c in self.sim.calls(a)
                if c["status"] == 200]

    def decision_windows(self):
        """For each replacement request: (instance, seconds from the DescribeAutoScalingGroups
        answer it decided on to the request reaching the group), and the number of races:
        requests whose deciding look came inside another request's window, i.e. could
        not have seen it."""
        calls = self.sim.calls()
        looks = {}
        windows = []
        for c in sorted(calls, key=lambda c: c["time"]):
            who = c.get("instance")
            if c["action"] == "DescribeAutoScalingGroups" and c["status"] == 200:
                looks[who] = c["time"]
            elif c["action"] == "SetInstanceHealth" and c["status"] == 200 and who in looks:
                windows.append((who, looks[who], c["time"]))
        races = sum(1 for _, look, _ in windows
                    if any(a_look < look < a_req for _, a_look, a_req in windows
                           if a_look != look))
        return [(who, round(req - look, 3)) for who, look, req in windows], races

    def stop(self):
        self.running = False
        if self.thread:
            self.thread.join(timeout=5)
        problems = []
        for iid, d in self.members.items():
            try:
                if d.proc.poll() is None and d.stop() != 0:
                    problems.append(f"{iid}: drover exited {d.proc.returncode} on SIGTERM")
            except AssertionError as e:
                problems.append(f"{iid}: {e}")
            d.cleanup()
        if self.systemd:
            self.systemd.stop()
        self.sim.stop()
        return problems
