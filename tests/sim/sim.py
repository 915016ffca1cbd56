#!/usr/bin/python3
"""drover's local EC2 world: IMDS (one port per instance), an AWS endpoint (Auto
Scaling, EC2, CloudWatch; Query protocol, SigV4 verified) and a JSON control API, all on
loopback with free ports written to a ready file. Stops cleanly on SIGTERM/SIGINT.

    /usr/bin/python3 tests/sim/sim.py --ready-file /tmp/sim.json --instances 2
"""
import argparse
import collections
import ctypes
import json
import os
import select
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from control import ControlHandler  # noqa: E402
from credentials import CredentialStore  # noqa: E402
from faults import Faults  # noqa: E402
from httpbase import Handler, Server  # noqa: E402
from imds import ImdsHandler, Tokens  # noqa: E402
from model import World  # noqa: E402

LOG_CAP = 10000


class App:
    def __init__(self, args):
        self.verbose = args.verbose
        self.imds_v1 = args.imds_v1
        self.moving_notices = False     # see control.py /imds/moving-notices
        self.ready_file = args.ready_file
        self.creds = CredentialStore(args.credential_ttl)
        self.faults = Faults()
        self.tokens = Tokens()
        self.metrics = None
        self._log_lock = threading.Lock()
        self.calls = collections.deque(maxlen=LOG_CAP)
        self.imds_log = collections.deque(maxlen=LOG_CAP)
        self.imds_servers = {}
        self._stop = threading.Event()
        self.world = World(asg_name=args.asg_name, instances=args.instances,
                           min_size=args.min_size, max_size=args.max_size,
                           desired=args.desired, grace=args.health_check_grace,
                           region=args.region, spot=args.spot,
                           tags_in_imds=not args.no_tags_in_imds,
                           time_scale=args.time_scale, launch_delay=args.launch_delay,
                           terminate_delay=args.terminate_delay,
                           replace_delay=args.replace_delay,
                           standalone=args.standalone)
        for name, transition, timeout, result in args.lifecycle_hook:
            self.put_hook(name, transition, int(timeout), result)
        # listening now (so the port is in the ready file); served once botocore is
        # loaded: early connections wait in the backlog
        self.aws = Server(Handler, self, name="aws")
        self.control = Server(ControlHandler, self, name="control")
        with self.world.lock:
            for inst in self.world.instances.values():
                self._start_imds(inst)
            self.world.on_launch = self._start_imds
            self.world.on_terminated = self._stop_imds

    # ---- servers ----
    def _serve(self, server):
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True, name=server.name).start()

    def _start_imds(self, inst):
        server = Server(ImdsHandler, self, name=f"imds {inst.id}", instance_id=inst.id)
        inst.imds_port = server.port
        self.imds_servers[inst.id] = server
        self._serve(server)

    def _stop_imds(self, inst):
        server = self.imds_servers.pop(inst.id, None)
        if server:
            threading.Thread(target=lambda: (server.shutdown(), server.server_close()),
                             daemon=True).start()

    def _serve_aws(self):
        # botocore costs a third of a second of CPU to import: only pay it when the
        # first AWS client connects (many test sims only ever serve IMDS)
        select.select([self.aws.socket], [], [])
        from aws import AwsHandler
        from cloudwatch import MetricStore
        self.metrics = MetricStore()
        self.aws.RequestHandlerClass = AwsHandler
        self._serve(self.aws)

    def run(self):
        self._serve(self.control)
        self.write_ready()
        threading.Thread(target=self._serve_aws, daemon=True).start()
        while not self._stop.wait(0.02):
            self.world.tick()
        try:
            os.unlink(self.ready_file)
        except OSError:
            pass
        # Nothing is left to flush (the model lives in memory, logs are unbuffered
        # stderr); waiting for every server thread's poll would only slow tests down.
        sys.stderr.flush()
        os._exit(0)

    def stop(self, *_):
        self._stop.set()

    def write_ready(self):
        tmp = self.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.ready(), f, indent=1)
        os.replace(tmp, self.ready_file)

    def ready(self):
        with self.world.lock:
            imds = {i.id: i.imds_port for i in self.world.live_instances()}
        return {"pid": os.getpid(), "aws_port": self.aws.port,
                "control_port": self.control.port, "imds": imds,
                "region": self.world.region, "asg_name": self.world.asg_name,
                "credentials": {"access_key_id": self.creds.static[0],
                                "secret_access_key": self.creds.static[1]}}

    # ---- shared state ----
    def put_hook(self, name, transition, heartbeat_timeout=3600, default_result="ABANDON"):
        from autoscaling import put_hook
        return put_hook(self.world, name, transition, heartbeat_timeout, default_result)

    def log_call(self, entry):
        with self._log_lock:
            self.calls.append(entry)

    def log_imds(self, instance_id, method, path, status):
        with self._log_lock:
            self.imds_log.append({"time": time.time(), "instance": instance_id,
                                  "method": method, "path": path, "status": status})

    def calls_log(self, action=None):
        with self._log_lock:
            return [c for c in self.calls if action is None or c["action"] == action]

    def imds_log_copy(self):
        with self._log_lock:
            return list(self.imds_log)

    def state(self):
        state = self.world.to_json()
        state.update(self.ready(), faults=self.faults.to_json(),
                     credentials=self.creds.to_json(), imds_v1=self.imds_v1)
        return state


def _hook_arg(text):
    parts = text.split(":")
    if len(parts) != 4 or parts[1] not in ("launch", "terminate") or \
            parts[3] not in ("CONTINUE", "ABANDON") or not parts[2].isdigit():
        raise argparse.ArgumentTypeError("NAME:launch|terminate:TIMEOUT:CONTINUE|ABANDON")
    from model import LAUNCHING, TERMINATING
    parts[1] = LAUNCHING if parts[1] == "launch" else TERMINATING
    return parts


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ready-file", required=True, help="JSON with ports and credentials")
    p.add_argument("--instances", type=int, default=1)
    p.add_argument("--asg-name", default="drover-asg")
    p.add_argument("--min-size", type=int)
    p.add_argument("--max-size", type=int)
    p.add_argument("--desired", type=int)
    p.add_argument("--health-check-grace", type=float, default=0,
                   help="model seconds after launch before unhealthy is acted on")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--standalone", type=int, default=0,
                   help="instances outside any Auto Scaling group")
    p.add_argument("--spot", action="store_true")
    p.add_argument("--no-tags-in-imds", action="store_true")
    p.add_argument("--imds-v1", action="store_true", help="allow GETs without a token")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="model seconds per wall second for the group's timers")
    p.add_argument("--launch-delay", type=float, default=1.0, help="model seconds")
    p.add_argument("--terminate-delay", type=float, default=1.0, help="model seconds")
    p.add_argument("--replace-delay", type=float, default=0.0,
                   help="model seconds an Unhealthy instance stays InService before the "
                        "group replaces it")
    p.add_argument("--credential-ttl", type=float, default=6 * 3600,
                   help="wall seconds role credentials stay valid")
    p.add_argument("--lifecycle-hook", type=_hook_arg, action="append", default=[],
                   metavar="NAME:launch|terminate:TIMEOUT:RESULT")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.instances < 0 or args.instances > 200 or args.time_scale <= 0:
        sys.exit("sim: --instances must be 0..200 and --time-scale positive")
    try:   # die with the parent (a test runner that was killed) instead of lingering
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    app = App(args)
    signal.signal(signal.SIGTERM, app.stop)
    signal.signal(signal.SIGINT, app.stop)
    app.run()


if __name__ == "__main__":
    main()
