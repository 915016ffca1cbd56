"""Start and drive the sim from Python tests (the contract every integration test uses).

    with Sim(tmp_path, instances=2, time_scale=20) as sim:
        url = sim.imds_url(sim.instance_ids[0])

pytest fixtures (register with `from simfixture import sim, sim_factory`):
    sim          a running Sim with one instance, stopped after the test
    sim_factory  sim_factory(**Sim kwargs) -> a running Sim; all stopped after the test
"""
import itertools
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

SIM_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sim.py")
PYTHON3 = "/usr/bin/python3"
_seq = itertools.count()


class SimError(Exception):
    def __init__(self, status, message):
        super().__init__(f"sim control answered {status}: {message}")
        self.status = status
        self.message = message


class Sim:
    def __init__(self, workdir=None, *, instances=1, time_scale=1.0, asg_name="drover-asg",
                 min_size=None, max_size=None, desired=None, tags_in_imds=True,
                 spot=False, health_check_grace=0, region="us-east-1", extra_args=(),
                 start_timeout=20.0):
        self.workdir = str(workdir or tempfile.mkdtemp(prefix="drover-sim-"))
        os.makedirs(self.workdir, exist_ok=True)
        tag = f"{os.getpid()}-{next(_seq)}"
        self.ready_file = os.path.join(self.workdir, f"sim-ready-{tag}.json")
        self.log_file = os.path.join(self.workdir, f"sim-{tag}.log")
        self.region = region
        self.asg_name = asg_name
        args = [PYTHON3, SIM_PY, "--ready-file", self.ready_file,
                "--instances", str(instances), "--time-scale", str(time_scale),
                "--asg-name", asg_name, "--region", region,
                "--health-check-grace", str(health_check_grace)]
        for flag, value in (("--min-size", min_size), ("--max-size", max_size),
                            ("--desired", desired)):
            if value is not None:
                args += [flag, str(value)]
        if not tags_in_imds:
            args.append("--no-tags-in-imds")
        if spot:
            args.append("--spot")
        args += list(extra_args)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=log, env=env)
        self._wait_ready(start_timeout)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.ready_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                with open(self.log_file, errors="replace") as f:
                    raise RuntimeError(f"sim did not start: {f.read()[-4000:]}")
            time.sleep(0.02)
        with open(self.ready_file) as f:
            ready = json.load(f)
        self.ready = ready
        self.aws_url = f"http://127.0.0.1:{ready['aws_port']}"
        self.control_url = f"http://127.0.0.1:{ready['control_port']}"
        creds = ready["credentials"]
        self.static_credentials = (creds["access_key_id"], creds["secret_access_key"])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- control API ----
    def control(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.control_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as e:
            try:
                message = json.load(e).get("error")
            except ValueError:
                message = str(e)
            raise SimError(e.code, message) from None

    def state(self):
        return self.control("GET", "/state")

    def calls(self, action=None):
        path = "/calls" + (f"?action={action}" if action else "")
        return self.control("GET", path)

    def imds_calls(self):
        return self.control("GET", "/imds-calls")

    def fault(self, endpoint, *, path=None, kind, count=None, **kw):
        return self.control("POST", "/faults", dict(kw, endpoint=endpoint, path=path,
                                                     kind=kind, count=count))

    def clear_faults(self):
        self.control("DELETE", "/faults")

    # ---- conveniences ----
    @property
    def instance_ids(self):
        return [i["id"] for i in self.state()["instances"]
                if i["state"] != "Terminated" and i["in_group"]]

    @property
    def standalone_ids(self):
        """Instances outside any group (start the sim with extra_args=["--standalone", N])."""
        return [i["id"] for i in self.state()["instances"]
                if i["state"] != "Terminated" and not i["in_group"]]

    def instance(self, instance_id=None):
        instances = [i for i in self.state()["instances"]
                     if i["state"] != "Terminated" and i["in_group"]]
        if instance_id is None:
            return instances[0]
        return next(i for i in self.state()["instances"] if i["id"] == instance_id)

    def imds_url(self, instance_id=None):
        return f"http://127.0.0.1:{self.instance(instance_id)['imds_port']}"

    def set_instance(self, instance_id, **fields):
        return self.control("POST", f"/instances/{instance_id}", fields)

    def set_desired(self, desired, **bounds):
        return self.control("POST", "/group", dict(bounds, desired=desired))

    def add_lifecycle_hook(self, name, transition, heartbeat_timeout=3600,
                           default_result="ABANDON"):
        return self.control("POST", "/lifecycle-hooks", {
            "name": name, "transition": transition,
            "heartbeat_timeout": heartbeat_timeout, "default_result": default_result})

    def drover_config(self, instance_id=None):
        """The imds and aws sections of a drover.conf pointing at this sim."""
        return (f'imds: {{ endpoint = "{self.imds_url(instance_id)}"; }};\n'
                f'aws: {{ region = "{self.region}";\n'
                f'  endpoints: {{ autoscaling = "{self.aws_url}"; ec2 = "{self.aws_url}";\n'
                f'               cloudwatch = "{self.aws_url}"; }}; }};\n')

    def aws_env(self):
        """Environment for the AWS CLI or botocore signing with the static pair."""
        return {"AWS_ACCESS_KEY_ID": self.static_credentials[0],
                "AWS_SECRET_ACCESS_KEY": self.static_credentials[1],
                "AWS_DEFAULT_REGION": self.region, "AWS_CONFIG_FILE": "/dev/null",
                "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_PAGER": "", "AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "1"}

    def wait_for(self, predicate, timeout=10.0, interval=0.05, what="condition"):
        """Polls predicate(state) until it returns something truthy, and returns it."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate(self.state())
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(interval)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def sim_factory(tmp_path):
    sims = []

    def make(**kwargs):
        s = Sim(tmp_path, **kwargs)
        sims.append(s)
        return s
    yield make
    for s in sims:
        s.stop()


@pytest.fixture
def sim(sim_factory):
    return sim_factory()
