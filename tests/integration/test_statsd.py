"""The statsd sink end to end: `drover run` against the sim, statsd pointed at a UDP
socket this test owns. Names, types, a negative gauge, dogstatsd tags, and the switches
that turn it off."""
import os
import re
import socket
import threading
import time

import pytest

from conftest import TOP_SRCDIR

NEGATIVE = os.path.join(TOP_SRCDIR, "tests", "integration", "plugins", "negative-perfdata")
LINE = re.compile(r"^[A-Za-z0-9_.]+:-?[0-9.e+]+\|(g|ms|c)(\|#[^|]*)?$")


class Collector:
    """A statsd server's front door: every datagram, kept whole."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.datagrams = []
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.datagrams.append(data)

    def lines(self):
        with self.lock:
            return [ln for d in self.datagrams for ln in d.decode().split("\n")]

    def grams(self):
        with self.lock:
            return list(self.datagrams)

    def close(self):
        self.running = False
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def collector():
    c = Collector()
    yield c
    c.close()


def neg_check(**extra):
    c = {"name": "clock", "role": "dependency", "command": [NEGATIVE], "interval": 1}
    c.update(extra)
    return c


def has(collector, pattern):
    rx = re.compile(pattern)
    return [ln for ln in collector.lines() if rx.search(ln)]


def test_names_types_and_a_negative_gauge(daemon, collector):
    d = daemon
    d.start(checks=[d.flag_check("web"), neg_check()],
            metrics={"sinks": ["cloudwatch", "statsd"], "statsd": collector.address,
                     "high_resolution": True})
    d.wait_ready()
    d.wait_for(lambda: has(collector, r"^drover\.check\.clock\.perfdata\.offset:-5\|g$"), 10,
               "the negative gauge")
    d.wait_for(lambda: has(collector, r"^drover\.instance\.healthy:1\|g$"), 10,
               "instance.healthy")
    # (checks start at random points of their interval: wait for web's first result)
    d.wait_for(lambda: has(collector, r"^drover\.check\.web\.status:0\|g$"), 10, "web's status")
    assert has(collector, r"^drover\.check\.web\.duration:[0-9.]+\|ms$")
    assert has(collector, r"^drover\.check\.web\.perfdata\.value:0\|g$")
    assert has(collector, r"^drover\.check\.clock\.perfdata\.temp:21\.5\|g$")
    for gram in collector.grams():
        assert 0 < len(gram) <= 1432, gram
        lines = gram.decode().split("\n")
        assert all(LINE.match(ln) for ln in lines), lines
        # -5 alone would be a delta: it always follows its 0 in the same datagram.
        for i, ln in enumerate(lines):
            if ln.startswith("drover.check.clock.perfdata.offset:-5|g"):
                assert i > 0 and lines[i - 1] == "drover.check.clock.perfdata.offset:0|g", lines
    # Several lines a datagram: one check's status, duration and perfdata go together.
    assert any(b"\n" in g for g in collector.grams())
    # CloudWatch still gets its metrics: sinks add up.
    d.wait_for(lambda: any(v == "CheckStatus" for c in d.calls("PutMetricData")
                           for v in c["params"].values()), 10, "CheckStatus in PutMetricData")
    # Counters: the failing check is replaced, once, and statsd hears of it.
    d.set_failing("web")
    d.wait_for(lambda: has(collector, r"^drover\.check\.web\.status:2\|g$"), 10, "status 2")
    d.wait_for(lambda: has(collector, r"^drover\.replacement\.requested:1\|c$"), 20,
               "replacement.requested")
    st = d.status()
    assert st["statsd"]["address"] == collector.address
    assert st["statsd"]["sent"] >= 3 and st["statsd"]["dropped"] == 0


def test_dogstatsd_tags_and_statsd_alone(daemon, collector):
    d = daemon
    d.start(checks=[d.flag_check("web"), neg_check()],
            metrics={"sinks": ["statsd"], "statsd": collector.address,
                     "statsd_prefix": "prod.web", "statsd_tags": "dogstatsd",
                     "per_instance": True})
    d.wait_ready()
    tags = rf"\|#check:web,autoscaling_group:drover-asg,instance_id:{d.instance_id}$"
    d.wait_for(lambda: has(collector, r"^prod\.web\.check\.status:0\|g" + tags), 10,
               "a tagged status")
    assert has(collector, r"^prod\.web\.check\.duration:[0-9.]+\|ms" + tags)
    d.wait_for(lambda: has(collector, r"^prod\.web\.check\.perfdata\.offset:-5\|g\|#check:clock,"),
               10, "a tagged negative gauge")
    assert has(collector, r"^prod\.web\.check\.perfdata\.offset:0\|g\|#check:clock,")
    d.wait_for(lambda: has(collector, r"^prod\.web\.instance\.healthy:1\|g\|#autoscaling_group:"
                                      rf"drover-asg,instance_id:{d.instance_id}$"),
               10, "tagged instance.healthy")
    # Nothing carries the check in its name: with tags, one series per metric.
    assert not has(collector, r"\.web\.web\.|check\.web\.")
    time.sleep(1.5)
    assert d.calls("PutMetricData") == [], "statsd alone: no CloudWatch"


def test_disabled_turns_every_sink_off(daemon, collector):
    d = daemon
    d.start(checks=[d.flag_check("web")],
            metrics={"enabled": False, "sinks": ["cloudwatch", "statsd"],
                     "statsd": collector.address})
    d.wait_ready()
    d.wait_for(lambda: d.check("web")["successes"] >= 3, 10, "three results")
    time.sleep(1.5)
    assert collector.grams() == []
    assert d.calls("PutMetricData") == []
    assert "statsd" not in d.status()


def test_nobody_listening_costs_a_count_not_a_wait(daemon):
    d = daemon
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    address = "127.0.0.1:%d" % s.getsockname()[1]
    s.close()     # the port is closed: every send is refused by ICMP
    d.start(checks=[d.flag_check("web")],
            metrics={"sinks": ["statsd"], "statsd": address})
    d.wait_ready()
    d.wait_for(lambda: d.status()["statsd"]["dropped"] >= 2, 10, "drops counted")
    n = d.check("web")["successes"]
    d.wait_for(lambda: d.check("web")["successes"] >= n + 2, 4, "checks keep their pace")
    assert "statsd: dropping metrics sent to " + address in d.log()
