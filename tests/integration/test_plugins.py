"""The shipped Nagios plugins (plugins/), each on fixtures that make its decision
independent of the host: adjtimex readings, mount tables and statvfs numbers, journal
files built from export text, and a private D-Bus with a stand-in systemd."""
import os
import pathlib
import re
import shutil
import subprocess
import time

import pytest

from conftest import TOP_SRCDIR, require_tool

FIXTURES = os.path.join(TOP_SRCDIR, "tests", "integration", "plugin-fixtures")
JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
BOOT = "0123456789abcdef0123456789abcdef"
OTHER_BOOT = "fedcba9876543210fedcba9876543210"


def plugin_path(name):
    top = os.environ.get("top_builddir")
    if not top:
        top = os.path.dirname(os.environ.get("DROVER_BIN") or
                              os.path.join(TOP_SRCDIR, "build", "drover"))
    path = os.path.join(top, "plugins", name)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built")
    return path


def run(name, *args, env=None, timeout=30):
    e = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    e.update(env or {})
    p = subprocess.run([plugin_path(name), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, env=e)
    # Exactly one status line, whatever the state.
    assert p.stdout.count("\n") == 1, p.stdout
    return p.returncode, p.stdout.rstrip("\n")


# ---- common Nagios behaviour ----------------------------------------------------------
ALL = [("check_clock", "CLOCK"), ("check_fs", "FS"), ("check_kernel", "KERNEL"),
       ("check_systemd_unit", "SYSTEMD_UNIT")]


@pytest.mark.parametrize("name,label", ALL)
def test_help_version_and_usage_errors(name, label):
    p = subprocess.run([plugin_path(name), "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith(f"{name} - ")
    assert "-t, --timeout" in p.stdout
    p = subprocess.run([plugin_path(name), "-V"], capture_output=True, text=True)
    assert p.returncode == 0 and re.fullmatch(rf"{name} \(drover \d+\.\d+\.\d+\)\n", p.stdout)
    assert run(name, "--no-such-option") == (
        3, f"{label} UNKNOWN - invalid option '--no-such-option' (see --help)")
    assert run(name, "-t", "0") == (3, f"{label} UNKNOWN - invalid -t '0'")
    assert run(name, "-t", "5:maybe") == (3, f"{label} UNKNOWN - invalid -t '5:maybe'")


# ---- check_clock ----------------------------------------------------------------------
CLOCK_PERF = "'esterror'={}s;{};{};0; 'maxerror'={}s;;;0; 'synchronised'={};;;0;1"


@pytest.mark.parametrize("timex,args,code,line", [
    ("state=0 status=0x2001 esterror=512 maxerror=10500", [], 0,
     "CLOCK OK - clock synchronised, estimated error 0.000512s | "
     + CLOCK_PERF.format("0.000512", "0.1", "1", "0.0105", 1)),
    ("state=0 status=0x2001 esterror=250000 maxerror=600000", [], 1,
     "CLOCK WARNING - clock synchronised, estimated error 0.25s, outside warning range 0.1 | "
     + CLOCK_PERF.format("0.25", "0.1", "1", "0.6", 1)),
    ("state=0 status=1 esterror=2000000 maxerror=3000000", ["-w", "0.5", "-c", "~:1.5"], 2,
     "CLOCK CRITICAL - clock synchronised, estimated error 2s, outside critical range ~:1.5 | "
     + CLOCK_PERF.format("2", "0.5", "~:1.5", "3", 1)),
    ("state=5 status=0x41 esterror=16000000 maxerror=16000000", [], 2,
     "CLOCK CRITICAL - clock not synchronised (STA_UNSYNC), estimated error 16s | "
     + CLOCK_PERF.format("16", "0.1", "1", "16", 0)),
    ("state=5 status=0x2001 esterror=100 maxerror=100", [], 2,
     "CLOCK CRITICAL - clock not synchronised (TIME_ERROR), estimated error 0.0001s | "
     + CLOCK_PERF.format("0.0001", "0.1", "1", "0.0001", 0)),
    # "@" inverts: alert when the error is inside 0..0.001.
    ("state=0 status=0x2001 esterror=500 maxerror=500", ["-w", "@0:0.001"], 1,
     "CLOCK WARNING - clock synchronised, estimated error 0.0005s, outside warning range @0:0.001"
     " | " + CLOCK_PERF.format("0.0005", "@0:0.001", "1", "0.0005", 1)),
])
def test_clock(tmp_path, timex, args, code, line):
    f = tmp_path / "timex"
    f.write_text(timex + "\n")
    assert run("check_clock", "--timex", f, *args) == (code, line)


@pytest.mark.parametrize("content,args,line", [
    ("state=0 status=1", [], "CLOCK UNKNOWN - cannot read clock state from {f}: Invalid argument"),
    ("state=0 status=1 esterror=-5 maxerror=1", [],
     "CLOCK UNKNOWN - cannot read clock state from {f}: Invalid argument"),
    ("bogus", [], "CLOCK UNKNOWN - cannot read clock state from {f}: Invalid argument"),
    (None, [], "CLOCK UNKNOWN - cannot read clock state from {f}: No such file or directory"),
    ("state=0 status=1 esterror=1 maxerror=1", ["-w", "5:1"], "CLOCK UNKNOWN - invalid -w range '5:1'"),
    ("state=0 status=1 esterror=1 maxerror=1", ["extra"],
     "CLOCK UNKNOWN - unexpected argument 'extra' (see --help)"),
])
def test_clock_unknown(tmp_path, content, args, line):
    f = tmp_path / "timex"
    if content is not None:
        f.write_text(content)
    assert run("check_clock", "--timex", f, *args) == (3, line.format(f=f))


def test_clock_on_this_host():
    code, line = run("check_clock")
    assert code in (0, 1, 2)
    assert re.fullmatch(r"CLOCK (OK|WARNING|CRITICAL) - clock (not )?synchronised.* \| "
                        r"'esterror'=[0-9.]+s;0\.1;1;0; 'maxerror'=[0-9.]+s;;;0; "
                        r"'synchronised'=[01];;;0;1", line)


# ---- check_fs -------------------------------------------------------------------------
MOUNTINFO = """\
22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/root rw,discard
30 22 259:5 / /data ro,relatime shared:5 - xfs /dev/nvme1n1 ro,attr2
31 22 259:6 / /srv rw,noatime - ext4 /dev/nvme2n1 rw,errors=remount-ro
32 22 259:7 / /mnt/with\\040space rw - ext4 /dev/nvme3n1 rw
33 22 259:8 / /var/log rw - ext4 /dev/nvme4n1 ro
"""
# 1000 blocks of 4096: 500 used, 450 available to users -> 47.37% free.
STATVFS_OK = "bsize=4096 blocks=1000 bfree=500 bavail=450 files=100 ffree=90 favail=90"
PROBE = r" 'probe_time'=[0-9.]+s;;{};0;"


def fs_fixture(tmp_path, statvfs=STATVFS_OK, mountinfo=MOUNTINFO):
    (tmp_path / "mountinfo").write_text(mountinfo)
    (tmp_path / "statvfs").write_text(statvfs)
    probe = tmp_path / "probe"
    probe.mkdir(exist_ok=True)
    return ["--mountinfo", tmp_path / "mountinfo", "--statvfs", tmp_path / "statvfs",
            "-d", probe]


@pytest.mark.parametrize("path,statvfs,args,code,line", [
    ("/srv", STATVFS_OK, [], 0,
     "FS OK - /srv (ext4) rw, write probe ok; 47.37% space free, 90% inodes free | "
     "'space_free'=47.37%;10:;5:;0;100 'bytes_free'=1843200B;;;0; "
     "'inodes_free'=90%;10:;5:;0;100" + PROBE.format(5)),
    ("/srv/www/html", STATVFS_OK, ["-T", "2.5"], 0,
     "FS OK - /srv (ext4) rw, write probe ok; 47.37% space free, 90% inodes free | "
     "'space_free'=47.37%;10:;5:;0;100 'bytes_free'=1843200B;;;0; "
     "'inodes_free'=90%;10:;5:;0;100" + PROBE.format(2.5)),
    ("/mnt/with space", STATVFS_OK, ["-m", "-n"], 0,
     "FS OK - /mnt/with space (ext4) rw; 47.37% space free, 90% inodes free | "
     "'space_free'=47.37%;10:;5:;0;100 'bytes_free'=1843200B;;;0; "
     "'inodes_free'=90%;10:;5:;0;100"),
    ("/srv", "bsize=1024 blocks=1000 bfree=80 bavail=80 files=0 ffree=0 favail=0", ["-n"], 1,
     "FS WARNING - /srv (ext4) rw; 8% space free | "
     "'space_free'=8%;10:;5:;0;100 'bytes_free'=81920B;;;0;"),
    ("/srv", "bsize=4096 blocks=1000 bfree=500 bavail=450 files=100 ffree=5 favail=5",
     ["-n", "-W", "@0:20", "-K", "1"], 1,
     "FS WARNING - /srv (ext4) rw; 47.37% space free, 5% inodes free | "
     "'space_free'=47.37%;10:;5:;0;100 'bytes_free'=1843200B;;;0; "
     "'inodes_free'=5%;@0:20;1:;0;100"),
    ("/srv", "bsize=4096 blocks=1000 bfree=30 bavail=30 files=100 ffree=90 favail=90",
     ["-n"], 2,
     "FS CRITICAL - /srv (ext4) rw; 3% space free, 90% inodes free | "
     "'space_free'=3%;10:;5:;0;100 'bytes_free'=122880B;;;0; "
     "'inodes_free'=90%;10:;5:;0;100"),
    ("/data", STATVFS_OK, [], 2,
     "FS CRITICAL - /data is mounted read-only; 47.37% space free, 90% inodes free | "
     "'space_free'=47.37%;10:;5:;0;100 'bytes_free'=1843200B;;;0; "
     "'inodes_free'=90%;10:;5:;0;100"),
    # The superblock says ro although the mount options say rw (errors=remount-ro fired).
    ("/var/log/nginx", STATVFS_OK, [], 2,
     "FS CRITICAL - /var/log is mounted read-only; 47.37% space free, 90% inodes free | "
     "'space_free'=47.37%;10:;5:;0;100 'bytes_free'=1843200B;;;0; "
     "'inodes_free'=90%;10:;5:;0;100"),
    ("/srv/data", STATVFS_OK, ["-m", "-n"], 2,
     "FS CRITICAL - /srv/data is not a mount point (it is on /srv); 47.37% space free, "
     "90% inodes free | 'space_free'=47.37%;10:;5:;0;100 'bytes_free'=1843200B;;;0; "
     "'inodes_free'=90%;10:;5:;0;100"),
    ("/srv", STATVFS_OK, ["--probe-delay", "3", "-T", "0.3"], 2,
     "FS CRITICAL - write probe in {probe} did not finish within 0.3s; 47.37% space free, "
     "90% inodes free | 'space_free'=47.37%;10:;5:;0;100 'bytes_free'=1843200B;;;0; "
     "'inodes_free'=90%;10:;5:;0;100" + PROBE.format(0.3)),
])
def test_fs(tmp_path, path, statvfs, args, code, line):
    fixture = fs_fixture(tmp_path, statvfs)
    got_code, got = run("check_fs", "-p", path, *fixture, *args)
    assert got_code == code, got
    pattern = re.escape(line.format(probe=tmp_path / "probe")).replace(
        re.escape(PROBE.format(5)), PROBE.format(5)).replace(
        re.escape(PROBE.format(2.5)), PROBE.format(2.5)).replace(
        re.escape(PROBE.format(0.3)), PROBE.format(0.3))
    assert re.fullmatch(pattern, got), got
    assert not list((tmp_path / "probe").iterdir()) or "--probe-delay" in args


@pytest.mark.parametrize("args,line", [
    ([], "FS UNKNOWN - -p PATH is required (see --help)"),
    (["-p", "/srv", "-w", "ten"], "FS UNKNOWN - invalid -w range 'ten'"),
    (["-p", "/srv", "-T", "0"], "FS UNKNOWN - invalid -T '0'"),
    (["-p", "relative", "--mountinfo", "{tmp}/mountinfo"],
     "FS UNKNOWN - cannot find the mount of relative in {tmp}/mountinfo: No such file or directory"),
    (["-p", "/srv", "--mountinfo", "{tmp}/garbage"],
     "FS UNKNOWN - cannot find the mount of /srv in {tmp}/garbage: Bad message"),
    (["-p", "/srv", "--mountinfo", "{tmp}/mountinfo", "--statvfs", "{tmp}/statvfs", "-d",
      "{tmp}/missing"],
     "FS UNKNOWN - write probe in {tmp}/missing failed to create: No such file or directory; "
     "47.37% space free, 90% inodes free | 'space_free'=47.37%;10:;5:;0;100 "
     "'bytes_free'=1843200B;;;0; 'inodes_free'=90%;10:;5:;0;100 'probe_time'=0s;;5;0;"),
])
def test_fs_unknown(tmp_path, args, line):
    fs_fixture(tmp_path)
    (tmp_path / "garbage").write_text("this is not a mount table\n")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, got = run("check_fs", *args)
    assert code == 3
    assert got == line.format(tmp=tmp_path) or (
        "probe_time" in line and re.fullmatch(
            re.escape(line.format(tmp=tmp_path)).replace("'probe_time'=0s",
                                                         "'probe_time'=[0-9.]+s"), got)), got


def test_fs_probe_permission_is_unknown(tmp_path):
    """A probe directory the plugin's user may not write is a setup error, not a bad disk."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch users")
    import tempfile
    top = tempfile.mkdtemp(prefix="drover-check-fs-")
    try:
        os.chmod(top, 0o755)
        args = fs_fixture(pathlib.Path(top))
        os.chmod(os.path.join(top, "probe"), 0o555)
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            plugin_path("check_fs"), "-p", "/srv", *map(str, args)],
                           capture_output=True, text=True)
    finally:
        shutil.rmtree(top)
    assert p.returncode == 3, p.stdout
    assert p.stdout.startswith(f"FS UNKNOWN - write probe in {top}/probe failed to create: "
                               "Permission denied; 47.37% space free")


def test_fs_on_this_host(tmp_path):
    code, line = run("check_fs", "-p", tmp_path)
    assert code in (0, 1, 2), line
    assert re.fullmatch(r"FS (OK|WARNING|CRITICAL) - .*'space_free'=[0-9.]+%;10:;5:;0;100 "
                        r"'bytes_free'=\d+B;;;0;( 'inodes_free'=[0-9.]+%;10:;5:;0;100)?"
                        r" 'probe_time'=[0-9.]+s;;5;0;", line), line
    assert list(tmp_path.iterdir()) == []


# ---- check_kernel ---------------------------------------------------------------------
def make_journal(tmp_path, name, entries):
    """entries: (message, transport, boot); written with systemd-journal-remote."""
    require_tool(JOURNAL_REMOTE)
    t0 = 1700000000000000
    text = []
    for i, (msg, transport, boot) in enumerate(entries):
        text.append(f"__REALTIME_TIMESTAMP={t0 + i * 1000}\n__MONOTONIC_TIMESTAMP={1000 + i}\n"
                    f"_BOOT_ID={boot}\n_TRANSPORT={transport}\nPRIORITY=3\nMESSAGE={msg}\n\n")
    out = tmp_path / f"{name}.journal"
    subprocess.run([JOURNAL_REMOTE, "-o", str(out), "-"], input="".join(text), text=True,
                   check=True, capture_output=True)
    return out


def kernel_perf(**counts):
    sev = {"oom": "w", "hung_task": "w", "io_error": "c", "fs_error": "c",
           "ro_remount": "c", "mce": "c"}
    return " ".join(f"'{k}'={counts.get(k, 0)};{'0' if s == 'w' else ''};"
                    f"{'0' if s == 'c' else ''};0;" for k, s in sev.items())


BENIGN = [("Linux version 6.1.0-18-cloud-amd64", "kernel", BOOT),
          ("nvme nvme0: 2/0/0 default/read/poll queues", "kernel", BOOT),
          # Not the kernel: an application logging the same words must not count.
          ("Out of memory: Killed process 1 (init)", "stdout", BOOT),
          # Another boot's trouble is not this boot's.
          ("EXT4-fs error (device nvme1n1): ext4_find_entry:1455", "kernel", OTHER_BOOT)]


# One example of each format, old and new, that a default class must catch.
KERNEL_MESSAGES = [
    ("oom", "Out of memory: Kill process 4242 (java) score 912 or sacrifice child"),
    ("oom", "Out of memory: Killed process 4242 (java) total-vm:8048232kB, anon-rss:7821124kB"),
    ("oom", "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
            "global_oom,task_memcg=/system.slice/app.service,task=java,pid=4242,uid=1000"),
    ("oom", "Memory cgroup out of memory: Killed process 777 (python3) total-vm:1000kB"),
    ("hung_task", "INFO: task jbd2/nvme1n1-8:312 blocked for more than 120 seconds."),
    ("hung_task", "INFO: task kworker/u4:2:87 blocked for more than 122 seconds."),
    ("io_error", "blk_update_request: I/O error, dev nvme1n1, sector 2048 op 0x1:(WRITE) flags 0x0"),
    ("io_error", "I/O error, dev nvme1n1, sector 2048 op 0x0:(READ) flags 0x80700 phys_seg 1 prio"),
    ("io_error", "Buffer I/O error on dev nvme1n1p1, logical block 0, lost async page write"),
    ("fs_error", "EXT4-fs error (device nvme1n1p1): ext4_journal_check_start:83: comm x: Detected "
                 "aborted journal"),
    ("fs_error", "XFS (nvme1n1): Corruption detected. Unmount and run xfs_repair"),
    ("fs_error", "XFS (dm-0): Corruption of in-memory data (0x8) detected at xfs_trans_cancel"),
    ("ro_remount", "EXT4-fs (nvme1n1p1): Remounting filesystem read-only"),
    ("mce", "mce: [Hardware Error]: Machine check events logged"),
    ("mce", "Machine check events logged"),
]


@pytest.mark.parametrize("cls,msg", KERNEL_MESSAGES)
def test_kernel_default_patterns(tmp_path, cls, msg):
    j = make_journal(tmp_path, "k", BENIGN + [(msg, "kernel", BOOT)])
    code, line = run("check_kernel", "-f", j, "-b", BOOT)
    counts = {cls: 1}
    if "Machine check events logged" in msg:
        counts = {"mce": 1}
    sev = 1 if cls in ("oom", "hung_task") else 2
    state = "WARNING" if sev == 1 else "CRITICAL"
    assert (code, line) == (sev, f"KERNEL {state} - {cls}: 1; last {cls}: {msg[:200]} | "
                                 + kernel_perf(**counts))


def test_kernel_ok_warning_critical(tmp_path):
    ok = make_journal(tmp_path, "ok", BENIGN)
    assert run("check_kernel", "-f", ok, "-b", BOOT) == (
        0, "KERNEL OK - no kernel problems in 2 messages since boot | " + kernel_perf())
    # -b all counts the other boot's filesystem error too.
    assert run("check_kernel", "-f", ok, "-b", "all") == (
        2, "KERNEL CRITICAL - fs_error: 1; last fs_error: EXT4-fs error (device nvme1n1): "
           "ext4_find_entry:1455 | " + kernel_perf(fs_error=1))
    warn = make_journal(tmp_path, "warn", BENIGN + [
        ("Out of memory: Killed process 4242 (java|x) total-vm:8048232kB", "kernel", BOOT),
        ("oom-kill:constraint=CONSTRAINT_NONE,task=java,pid=4242", "kernel", BOOT)])
    assert run("check_kernel", "-f", warn, "-b", BOOT) == (
        1, "KERNEL WARNING - oom: 2; last oom: oom-kill:constraint=CONSTRAINT_NONE,task=java,"
           "pid=4242 | " + kernel_perf(oom=2))
    crit = make_journal(tmp_path, "crit", BENIGN + [
        ("Out of memory: Killed process 9 (a|b)", "kernel", BOOT),
        ("I/O error, dev nvme1n1, sector 0 op 0x0:(READ)", "kernel", BOOT),
        ("EXT4-fs (nvme1n1): Remounting filesystem read-only", "kernel", BOOT)])
    assert run("check_kernel", "-f", crit, "-b", BOOT) == (
        2, "KERNEL CRITICAL - oom: 1, io_error: 1, ro_remount: 1; last io_error: I/O error, dev "
           "nvme1n1, sector 0 op 0x0:(READ) | " + kernel_perf(oom=1, io_error=1, ro_remount=1))


def test_kernel_message_cannot_break_the_status_line(tmp_path):
    j = make_journal(tmp_path, "pipe", [
        ("Out of memory: Killed process 9 (evil|'x'=1;;;;) score", "kernel", BOOT)])
    code, line = run("check_kernel", "-f", j, "-b", BOOT)
    assert code == 1
    assert line.count("|") == 1
    assert "(evil/'x'=1;;;;)" in line


def test_kernel_patterns_and_severities(tmp_path):
    j = make_journal(tmp_path, "custom", BENIGN + [
        ("Out of memory: Killed process 4242 (java)", "kernel", BOOT),
        ("ena 0000:00:05.0 eth0: TX hasn't completed, qid 2, index 0", "kernel", BOOT),
        ("ena 0000:00:05.0 eth0: Found a Tx that wasn't completed on time", "kernel", BOOT)])
    assert run("check_kernel", "-f", j, "-b", BOOT, "-S", "oom=ok",
               "-e", "ena_tx=ena .*(TX hasn't completed|Tx that wasn't completed)",
               "-S", "ena_tx=warning") == (
        1, "KERNEL WARNING - ena_tx: 2; last ena_tx: ena 0000:00:05.0 eth0: Found a Tx that "
           "wasn't completed on time | 'oom'=1;;;0; 'hung_task'=0;0;;0; 'io_error'=0;;0;0; "
           "'fs_error'=0;;0;0; 'ro_remount'=0;;0;0; 'mce'=0;;0;0; 'ena_tx'=2;0;;0;")
    assert run("check_kernel", "-f", j, "-b", BOOT, "-E", "-e", "net=eth0") == (
        2, "KERNEL CRITICAL - net: 2; last net: ena 0000:00:05.0 eth0: Found a Tx that wasn't "
           "completed on time | 'net'=2;;0;0;")
    assert run("check_kernel", "-f", j, "-b", BOOT, "-E", "-e", "disk=nvme1") == (
        0, "KERNEL OK - no kernel problems in 5 messages since boot | 'disk'=0;;0;0;")


def test_kernel_cursor_reports_only_new_messages(tmp_path):
    first = make_journal(tmp_path, "first", BENIGN + [
        ("Out of memory: Killed process 1 (a)", "kernel", BOOT)])
    state = tmp_path / "cursor"
    assert run("check_kernel", "-f", first, "-b", BOOT, "-s", state) == (
        1, "KERNEL WARNING - oom: 1; last oom: Out of memory: Killed process 1 (a) | "
           + kernel_perf(oom=1))
    cursor = state.read_text()
    assert cursor.startswith("s=")
    assert run("check_kernel", "-f", first, "-b", BOOT, "-s", state) == (
        0, "KERNEL OK - no kernel problems in 0 messages since the last run | " + kernel_perf())
    assert state.read_text() == cursor
    # A cursor that matches nothing (another machine's) starts over from the boot's start.
    state.write_text("s=00000000000000000000000000000000;i=1;b=" + BOOT + ";m=1;t=1;x=1")
    code, line = run("check_kernel", "-f", first, "-b", BOOT, "-s", state)
    assert code == 1 and "oom: 1" in line


@pytest.mark.parametrize("args,line", [
    (["-f", "/nonexistent.journal"],
     "KERNEL UNKNOWN - cannot open the journal: No such file or directory"),
    (["-b", "not-a-boot-id"], "KERNEL UNKNOWN - invalid boot id 'not-a-boot-id'"),
    (["-e", "bad=("], "KERNEL UNKNOWN - invalid pattern for bad: Unmatched ( or \\("),
    (["-e", "Bad Name=x"], "KERNEL UNKNOWN - invalid class name 'Bad Name' (a-z, 0-9, _)"),
    (["-e", "novalue"], "KERNEL UNKNOWN - -e wants CLASS=REGEX, not 'novalue'"),
    (["-S", "oom=unknown"], "KERNEL UNKNOWN - -S wants CLASS=ok, warning or critical, not 'oom=unknown'"),
    (["-E"], "KERNEL UNKNOWN - no patterns (-E without -e)"),
    (["-D", "{tmp}/empty"],
     "KERNEL UNKNOWN - no readable journal files (is the journal persistent, and may this "
     "user read it?)"),
    (["-s", "{tmp}"], "KERNEL UNKNOWN - cannot read {tmp}: Is a directory"),
])
def test_kernel_unknown(tmp_path, args, line):
    (tmp_path / "empty").mkdir()
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert run("check_kernel", *args) == (3, line.format(tmp=tmp_path))


# ---- check_systemd_unit ---------------------------------------------------------------
BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path={path}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class FakeSystemd:
    def __init__(self, tmp_path):
        self.units_file = tmp_path / "units.json"
        self.state_dir = tmp_path / "state"
        self.address = f"unix:path={tmp_path}/bus"
        self.set({})

    def set(self, units, **extra):
        import json
        tmp = self.units_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"units": units, **extra}))
        tmp.rename(self.units_file)

    def run(self, *args):
        return run("check_systemd_unit", "-s", self.state_dir, *args,
                   env={"DBUS_SYSTEM_BUS_ADDRESS": self.address})


@pytest.fixture
def fake_systemd(tmp_path):
    require_tool("/usr/bin/dbus-daemon")
    conf = tmp_path / "bus.conf"
    conf.write_text(BUS_CONF.format(path=tmp_path / "bus"))
    procs = []
    try:
        daemon = subprocess.Popen(["/usr/bin/dbus-daemon", "--config-file", str(conf),
                                   "--nofork", "--print-address"], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        procs.append(daemon)
        assert daemon.stdout.readline().startswith("unix:")
        fake = FakeSystemd(tmp_path)
        stand_in = subprocess.Popen(["/usr/bin/python3", os.path.join(FIXTURES, "fake_systemd.py"),
                                     fake.address, str(fake.units_file)],
                                    stdout=subprocess.PIPE, text=True)
        procs.append(stand_in)
        assert stand_in.stdout.readline() == "READY\n"
        yield fake
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=10)


def unit(active="active", sub="running", load="loaded", **kw):
    return {"LoadState": load, "ActiveState": active, "SubState": sub, **kw}


def test_unit_states(fake_systemd):
    fake_systemd.set({
        "nginx.service": unit(NRestarts=4),
        "app.service": unit("activating", "auto-restart", NRestarts=0),
        "db.service": unit("failed", "failed", NRestarts=0),
        "backup.timer": unit("active", "waiting"),
        "gone.service": unit("inactive", "dead", NRestarts=0),
    })
    assert fake_systemd.run("-u", "nginx.service") == (
        0, "SYSTEMD_UNIT OK - nginx.service active (running), 0 restarts in 3600s | "
           "'restarts'=0;1;3;0; 'nrestarts'=4c;;;0;")
    assert fake_systemd.run("-u", "backup.timer") == (
        0, "SYSTEMD_UNIT OK - backup.timer active (waiting)")
    assert fake_systemd.run("-u", "app.service", "-W", "0") == (
        1, "SYSTEMD_UNIT WARNING - app.service activating (auto-restart) | 'nrestarts'=0c;;;0;")
    assert fake_systemd.run("-u", "db.service", "-W", "600") == (
        2, "SYSTEMD_UNIT CRITICAL - db.service failed (failed), 0 restarts in 600s | "
           "'restarts'=0;1;3;0; 'nrestarts'=0c;;;0;")
    assert fake_systemd.run("-u", "gone.service", "-W", "0") == (
        2, "SYSTEMD_UNIT CRITICAL - gone.service inactive (dead) | 'nrestarts'=0c;;;0;")
    assert fake_systemd.run("-u", "missing.service") == (
        2, "SYSTEMD_UNIT CRITICAL - missing.service not found")


def test_unit_flapping(fake_systemd):
    now = int(time.time())
    hist = fake_systemd.state_dir / "systemd-unit-nginx.service.history"
    fake_systemd.state_dir.mkdir()
    # Two hours ago it had restarted 1 time (outside the window), 10 minutes ago 3 times.
    hist.write_text(f"{now - 7200} 1\n{now - 600} 3\n")
    fake_systemd.set({"nginx.service": unit(NRestarts=5)})
    assert fake_systemd.run("-u", "nginx.service") == (
        1, "SYSTEMD_UNIT WARNING - nginx.service active (running), 2 restarts in 3600s "
           "(flapping) | 'restarts'=2;1;3;0; 'nrestarts'=5c;;;0;")
    lines = hist.read_text().splitlines()
    assert lines[0] == f"{now - 600} 3" and lines[-1].endswith(" 5") and len(lines) == 2
    fake_systemd.set({"nginx.service": unit("activating", "auto-restart", NRestarts=7)})
    assert fake_systemd.run("-u", "nginx.service", "-c", "3") == (
        2, "SYSTEMD_UNIT CRITICAL - nginx.service activating (auto-restart), 4 restarts in "
           "3600s (flapping) | 'restarts'=4;1;3;0; 'nrestarts'=7c;;;0;")
    # The counter was reset (a manual restart): what it shows now are new restarts.
    fake_systemd.set({"nginx.service": unit(NRestarts=1)})
    assert fake_systemd.run("-u", "nginx.service", "-w", "10", "-c", "20") == (
        0, "SYSTEMD_UNIT OK - nginx.service active (running), 5 restarts in 3600s | "
           "'restarts'=5;10;20;0; 'nrestarts'=1c;;;0;")


def test_failed_units(fake_systemd):
    fake_systemd.set({"nginx.service": unit(NRestarts=0), "sshd.service": unit()})
    assert fake_systemd.run("--failed") == (
        0, "SYSTEMD_UNIT OK - 0 failed units | 'failed'=0;;0;0;")
    fake_systemd.set({"nginx.service": unit(), "db.service": unit("failed", "failed"),
                      "apt-daily.service": unit("failed", "failed"),
                      "foo.mount": unit("failed", "failed")})
    assert fake_systemd.run("--failed") == (
        2, "SYSTEMD_UNIT CRITICAL - 3 failed units: db.service, apt-daily.service, foo.mount | "
           "'failed'=3;;0;0;")
    assert fake_systemd.run("--failed", "-x", "apt-*", "-x", "*.mount") == (
        2, "SYSTEMD_UNIT CRITICAL - 1 failed unit: db.service | 'failed'=1;;0;0;")
    assert fake_systemd.run("--failed", "-w", "0", "-c", "5") == (
        1, "SYSTEMD_UNIT WARNING - 3 failed units: db.service, apt-daily.service, foo.mount | "
           "'failed'=3;0;5;0;")
    # An old systemd without ListUnitsFiltered: the plugin filters ListUnits itself.
    fake_systemd.set({"nginx.service": unit(), "db.service": unit("failed", "failed")},
                     no_list_units_filtered=True)
    assert fake_systemd.run("--failed") == (
        2, "SYSTEMD_UNIT CRITICAL - 1 failed unit: db.service | 'failed'=1;;0;0;")


def test_unit_unknown(fake_systemd, tmp_path):
    fake_systemd.set({"nginx.service": unit(NRestarts=0)})
    assert fake_systemd.run() == (
        3, "SYSTEMD_UNIT UNKNOWN - give either -u UNIT or --failed (see --help)")
    assert fake_systemd.run("-u", "a.service", "--failed") == (
        3, "SYSTEMD_UNIT UNKNOWN - give either -u UNIT or --failed (see --help)")
    assert fake_systemd.run("-u", "../../etc/passwd") == (
        3, "SYSTEMD_UNIT UNKNOWN - invalid unit name")
    (tmp_path / "file").write_text("")
    assert run("check_systemd_unit", "-u", "nginx.service", "-s", tmp_path / "file",
               env={"DBUS_SYSTEM_BUS_ADDRESS": fake_systemd.address}) == (
        3, "SYSTEMD_UNIT UNKNOWN - nginx.service active (running), cannot keep restart "
           "history: Not a directory")
    assert run("check_systemd_unit", "-u", "nginx.service",
               env={"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/nobus"}) == (
        3, "SYSTEMD_UNIT UNKNOWN - cannot connect to the system bus: No such file or directory")


# ---- all four under `drover check` ----------------------------------------------------
def test_drover_check_runs_each_plugin(run_drover, fake_systemd, tmp_path):
    """drover runs plugins as its own child processes with a clean environment: the
    private bus is handed to check_systemd_unit through env(1)."""
    import json
    (tmp_path / "timex").write_text("state=0 status=0x2001 esterror=512 maxerror=10500\n")
    fs = fs_fixture(tmp_path, "bsize=1024 blocks=1000 bfree=80 bavail=80 files=0 ffree=0 favail=0")
    journal = make_journal(tmp_path, "k", BENIGN + [
        ("I/O error, dev nvme1n1, sector 0 op 0x0:(READ)", "kernel", BOOT)])
    fake_systemd.set({"nginx.service": unit(NRestarts=0)})
    checks = {
        "clock": [plugin_path("check_clock"), "--timex", str(tmp_path / "timex")],
        "fs": [plugin_path("check_fs"), "-p", "/srv", *map(str, fs), "-n"],
        "kernel": [plugin_path("check_kernel"), "-f", str(journal), "-b", BOOT],
        "nginx": ["/usr/bin/env", f"DBUS_SYSTEM_BUS_ADDRESS={fake_systemd.address}",
                  plugin_path("check_systemd_unit"), "-s", str(fake_systemd.state_dir),
                  "-u", "nginx.service"],
    }
    conf = tmp_path / "drover.conf"
    conf.write_text('plugins: { user = ""; };\nchecks = (\n' + ",\n".join(
        f'  {{ name = "{name}"; command = [ {", ".join(json.dumps(a) for a in argv)} ]; }}'
        for name, argv in checks.items()) + "\n);\n")
    p = run_drover("check", "-c", str(conf), "--json")
    doc = json.loads(p.stdout)
    assert p.returncode == doc["worst"] == 2, p.stderr
    by = {c["name"]: c for c in doc["checks"]}
    assert [(n, by[n]["state"]) for n in checks] == [
        ("clock", "OK"), ("fs", "WARNING"), ("kernel", "CRITICAL"), ("nginx", "OK")]
    assert by["clock"]["output"] == (
        "CLOCK OK - clock synchronised, estimated error 0.000512s")
    assert by["clock"]["perfdata"][0] == {"label": "esterror", "value": 0.000512, "uom": "s",
                                          "warn": "0.1", "crit": "1", "min": 0, "max": None}
    assert by["fs"]["output"] == "FS WARNING - /srv (ext4) rw; 8% space free"
    assert by["fs"]["perfdata"][0] == {"label": "space_free", "value": 8, "uom": "%",
                                       "warn": "10:", "crit": "5:", "min": 0, "max": 100}
    assert by["kernel"]["output"] == (
        "KERNEL CRITICAL - io_error: 1; last io_error: I/O error, dev nvme1n1, sector 0 op "
        "0x0:(READ)")
    assert {d["label"]: d["value"] for d in by["kernel"]["perfdata"]} == {
        "oom": 0, "hung_task": 0, "io_error": 1, "fs_error": 0, "ro_remount": 0, "mce": 0}
    assert by["nginx"]["output"] == (
        "SYSTEMD_UNIT OK - nginx.service active (running), 0 restarts in 3600s")
    assert [d["label"] for d in by["nginx"]["perfdata"]] == ["restarts", "nrestarts"]
