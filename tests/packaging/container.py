"""A throwaway Debian 12 with a real systemd as PID 1, for installing the .deb.

What works on machines whose own PID 1 is not systemd (issue 8): a debootstrap
--variant=minbase root, cached per day under /var/cache/drover-tests, copied per test,
booted with `systemd-nspawn --boot --register=no --keep-unit --private-network` and
SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1; commands run inside through `nsenter -t LEADER -a`
(LEADER: the container's PID 1, the child of the nspawn process). machinectl does not
work here. The container has only a loopback interface; tests that need IMDS and AWS
start tests/sim on the host *inside the container's network namespace* (nsenter -n), so
drover reaches it on 127.0.0.1 without any network.

The runtime libraries drover links against are included at debootstrap time: apt in the
container has no network.
"""
import datetime
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time

CACHE_DIR = os.environ.get("DROVER_TEST_CACHE", "/var/cache/drover-tests")
MIRROR = os.environ.get("DROVER_DEBOOTSTRAP_MIRROR", "http://deb.debian.org/debian")
SUITE = "bookworm"
INCLUDE = ("systemd,dbus,procps,libcurl4,libjansson4,libconfig9,libexpat1,libssl3,"
           "zlib1g,libmicrohttpd12")
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class ContainerError(Exception):
    pass


def cached_rootfs():
    """Path of today's cached root, creating it (about 50 s) when missing. Concurrent
    test runs serialize on a lock; older roots are removed."""
    os.makedirs(CACHE_DIR, exist_ok=True)
    digest = hashlib.sha256(f"{SUITE} {INCLUDE} {MIRROR}".encode()).hexdigest()[:10]
    key = f"{SUITE}-{datetime.date.today():%Y%m%d}-{digest}"
    path = os.path.join(CACHE_DIR, key)
    with open(os.path.join(CACHE_DIR, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(path, ".drover-complete")):
            return path
        for old in os.listdir(CACHE_DIR):
            if old.startswith(f"{SUITE}-") and old != key:
                shutil.rmtree(os.path.join(CACHE_DIR, old), ignore_errors=True)
        tmp = path + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        p = subprocess.run(["debootstrap", "--variant=minbase", f"--include={INCLUDE}",
                            SUITE, tmp, MIRROR], capture_output=True, text=True,
                           timeout=900)
        if p.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ContainerError(f"debootstrap failed ({p.returncode}):\n"
                                 f"{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
        # No console login prompt on our log, no apt timers waking up in tests.
        for unit in ("console-getty.service", "apt-daily.timer",
                     "apt-daily-upgrade.timer"):
            mask = os.path.join(tmp, "etc/systemd/system", unit)
            if not os.path.lexists(mask):
                os.symlink("/dev/null", mask)
        open(os.path.join(tmp, ".drover-complete"), "w").close()
        os.rename(tmp, path)
        return path


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


class Container:
    """One booted container. Use as a context manager, or call start()/stop()."""

    def __init__(self, workdir, name="c"):
        self.root = os.path.join(str(workdir), f"root-{name}")
        self.overlay = os.path.join(str(workdir), f"overlay-{name}")
        self.mounted = False
        self.log_path = os.path.join(str(workdir), f"nspawn-{name}.log")
        self.proc = None
        self.leader = None
        self.sims = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=60):
        self._make_root(cached_rootfs())
        env = {"PATH": PATH, "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1", "LANG": "C.UTF-8"}
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                ["systemd-nspawn", "-q", "-D", self.root, "--boot", "--register=no",
                 "--keep-unit", "--private-network"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ContainerError(f"systemd-nspawn exited {self.proc.returncode}:\n"
                                     f"{self.log()}")
            kids = _children(self.proc.pid)
            if kids:
                self.leader = kids[0]
                r = self.sh("systemctl is-system-running --wait", check=False,
                            timeout=max(1, deadline - time.monotonic()))
                if r.stdout.strip() in ("running", "degraded"):
                    return
            time.sleep(0.1)
        raise ContainerError(f"container did not boot in {timeout} s:\n{self.log()}")

    def _make_root(self, base):
        """An overlay over the cached root (instant), or a copy where overlayfs is not
        available."""
        upper, work = os.path.join(self.overlay, "upper"), os.path.join(self.overlay, "work")
        for d in (upper, work, self.root):
            os.makedirs(d)
        r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                            f"lowerdir={base},upperdir={upper},workdir={work}", self.root],
                           capture_output=True)
        if r.returncode == 0:
            self.mounted = True
            return
        os.rmdir(self.root)
        subprocess.run(["cp", "-a", "--reflink=auto", base, self.root], check=True)

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def sh(self, script, check=True, timeout=60, input=None):
        """Runs a shell script inside the container as root; CompletedProcess (text)."""
        p = subprocess.run(["nsenter", "-t", str(self.leader), "-a", "/bin/sh", "-c",
                            script], capture_output=True, text=True, timeout=timeout,
                           input=input, env={"PATH": PATH, "LANG": "C.UTF-8",
                                             "SYSTEMD_PAGER": "", "TERM": "dumb"})
        if check and p.returncode != 0:
            raise ContainerError(f"in container: {script!r} exited {p.returncode}\n"
                                 f"--- stdout\n{p.stdout[-3000:]}\n--- stderr\n"
                                 f"{p.stderr[-3000:]}")
        return p

    def path(self, p):
        """The host path of the container's absolute path p."""
        return os.path.join(self.root, p.lstrip("/"))

    def write(self, p, text, mode=0o644):
        host = self.path(p)
        os.makedirs(os.path.dirname(host), exist_ok=True)
        with open(host, "w") as f:
            f.write(text)
        os.chmod(host, mode)

    def install(self, package):
        """Copies a .deb in and installs it with dpkg (no network, no apt)."""
        dest = "/root/" + os.path.basename(package)
        shutil.copy(package, self.path(dest))
        return self.sh(f"dpkg -i {dest}", timeout=120)

    def wait_for(self, script, timeout=30, interval=0.2):
        """Runs script until it exits 0; returns its CompletedProcess or raises."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.sh(script, check=False)
            if r.returncode == 0:
                return r
            if time.monotonic() > deadline:
                raise ContainerError(f"timed out after {timeout} s waiting for "
                                     f"{script!r}: {r.stdout[-2000:]}{r.stderr[-2000:]}")
            time.sleep(interval)

    def start_sim(self, sim_dir, *args, timeout=30):
        """Starts tests/sim on the host inside the container's network namespace and
        returns its ready-file data (ports are the container's 127.0.0.1)."""
        ready = os.path.join(os.path.dirname(self.root), f"sim-{len(self.sims)}.json")
        log = open(ready + ".log", "w")
        p = subprocess.Popen(
            ["nsenter", "-t", str(self.leader), "-n", "/usr/bin/python3",
             os.path.join(sim_dir, "sim.py"), "--ready-file", ready, *args],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env={"PATH": PATH, "PYTHONPATH": sim_dir, "PYTHONDONTWRITEBYTECODE": "1"})
        self.sims.append(p)
        deadline = time.monotonic() + timeout
        while not os.path.exists(ready):
            if p.poll() is not None or time.monotonic() > deadline:
                raise ContainerError(f"sim did not start: see {ready}.log")
            time.sleep(0.1)
        with open(ready) as f:
            return json.load(f)

    def stop(self):
        for p in self.sims:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if self.proc and self.proc.poll() is None:
            # nspawn turns SIGTERM into an orderly shutdown of the container.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.mounted:
            subprocess.run(["umount", "-l", self.root])
            self.mounted = False
            os.rmdir(self.root)
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.overlay, ignore_errors=True)
