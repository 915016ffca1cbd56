"""What every chaos case asserts about a running drover (daemonfix.Daemon), whatever the
fault: it is alive, `drover status` answers, WATCHDOG=1 keeps coming, its memory and file
descriptors stay bounded, and no replacement goes out that was not needed.
"""
import os
import time

# `drover status` must answer within this (the daemon's loop is never blocked).
STATUS_LIMIT = 2.0
# Bounds for a daemon that runs a handful of checks: growth beyond these over a case is
# a leak, not noise (steady state is ~2 MiB RssAnon and ~20 fds).
RSS_GROWTH_KIB = 4096
FD_LIMIT = 64


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def asan_instrumented(pid):
    """ASan keeps freed memory in quarantine (256 MiB by default), so RssAnon grows in an
    ASan build whatever the code does; LeakSanitizer checks leaks there at exit instead."""
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


def proc_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Watch:
    """Samples one drover while a fault is on. Call sample() (or run()) often; every
    sample asserts the process is alive and its status answers in time."""

    def __init__(self, d, watchdog_sec=2.0):
        self.d = d
        self.watchdog_sec = watchdog_sec
        self.begin = time.monotonic()
        self.rss = []
        self.fds = []
        self.status_s = []
        self.last = None

    def alive(self):
        p = self.d.proc
        assert p is not None and p.poll() is None, \
            f"drover died ({p.returncode if p else None}):\n{self.d.log()[-3000:]}"

    def sample(self):
        self.alive()
        pid = self.d.proc.pid
        t0 = time.monotonic()
        st = self.d.status(timeout=10)
        took = time.monotonic() - t0
        self.status_s.append(took)
        assert took < STATUS_LIMIT, f"drover status took {took:.2f} s"
        try:
            if not asan_instrumented(pid):
                self.rss.append(proc_rss_kib(pid))
            self.fds.append(proc_fds(pid))
        except OSError:
            self.alive()
        self.last = st
        return st

    def run(self, seconds, every=0.3, each=None):
        """Samples for `seconds`; each(status) may assert more (e.g. nothing replaced)."""
        deadline = time.monotonic() + seconds
        while True:
            st = self.sample()
            if each:
                each(st)
            if time.monotonic() >= deadline:
                return st
            time.sleep(every)

    def until(self, predicate, timeout, what, every=0.2):
        deadline = time.monotonic() + timeout
        while True:
            st = self.sample()
            r = predicate(st)
            if r:
                return r
            assert time.monotonic() < deadline, \
                f"timed out waiting for {what}:\n{self.d.log()[-3000:]}"
            time.sleep(every)

    def watchdog_gaps(self):
        """The longest wait between WATCHDOG=1 pings since the watch began (including the
        wait from the last ping until now)."""
        with self.d.notify.lock:
            times = [t for t, m in self.d.notify.messages
                     if m == "WATCHDOG=1" and t >= self.begin]
        times.append(time.monotonic())
        gaps = [b - a for a, b in zip(times, times[1:])]
        return max(gaps) if gaps else float("inf")

    def check(self, rss_growth_kib=RSS_GROWTH_KIB, fd_limit=FD_LIMIT):
        """The end-of-case assertions: watchdog kept, memory and fds bounded."""
        self.alive()
        assert time.monotonic() - self.begin > self.watchdog_sec
        gap = self.watchdog_gaps()
        assert gap < self.watchdog_sec, \
            f"no WATCHDOG=1 for {gap:.2f} s (WatchdogSec {self.watchdog_sec} s)"
        if self.rss:
            # Compare the last third with the first sample: allocation that keeps
            # growing is a leak; a one-time bump (curl's caches) is not.
            tail = self.rss[len(self.rss) * 2 // 3:]
            assert min(tail) - self.rss[0] < rss_growth_kib, (self.rss[0], tail)
        if self.fds:
            assert max(self.fds) <= fd_limit, self.fds


def successful(d, action):
    return [c for c in d.calls(action) if c["status"] == 200]


def replaced_once(d, watch=None, timeout=30, settle=3.0):
    """Waits for one replacement request and proves no second one follows."""
    if watch:
        watch.until(lambda st: d.replacements(), timeout, "a replacement request")
        watch.run(settle)
    else:
        d.wait_for(d.replacements, timeout, "a replacement request")
        time.sleep(settle)
    calls = d.replacements()
    assert len(calls) == 1, calls
    return calls[0]


def nothing_replaced(d):
    def each(st):
        assert d.replacements() == [], d.log()[-2000:]
    return each


def write_plugin(d, name, body):
    """A shell plugin in d's plugin dir; its argv carries d.marker so the harness can find
    (and the teardown prove there is no) leftover process."""
    path = os.path.join(d.plugin_dir, name)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(tmp, 0o755)
    os.replace(tmp, path)
    return path


def plugin_check(d, name, path, **extra):
    c = {"name": name, "role": "liveness", "command": [path, d.marker], "interval": 1,
         "fall": 2, "rise": 1}
    c.update(extra)
    return c
