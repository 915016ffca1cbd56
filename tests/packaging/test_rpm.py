"""The RPM for Amazon Linux 2023, built with Debian's rpm (`rpmbuild --nodeps`: its
database is empty, so BuildRequires are only checked to be named)."""
import glob
import os
import re

import pytest

from conftest import TOP_SRCDIR, project_version, require_tool, run

pytestmark = pytest.mark.slow
SPEC = os.path.join(TOP_SRCDIR, "packaging", "rpm", "drover.spec")


def query(pkg, *args):
    return run(["rpm", "-qp", *args, pkg]).stdout


def test_rpm_version_matches_configure(rpm):
    assert query(rpm, "--qf", "%{NAME} %{VERSION}") == f"drover {project_version()}"


def test_rpm_contents(rpm):
    files = set(query(rpm, "-l").split())
    expected = {"/usr/bin/drover", "/usr/lib/systemd/system/drover.service",
                "/usr/lib/systemd/system-preset/80-drover.preset",
                "/usr/lib/sysusers.d/drover.conf", "/etc/drover/drover.conf",
                "/etc/drover/conf.d", "/etc/drover/hooks.d", "/var/lib/drover",
                "/usr/libexec/drover/plugins/check_fs",
                "/usr/libexec/drover/plugins/check_clock",
                "/usr/libexec/drover/plugins/check_kernel",
                "/usr/libexec/drover/plugins/check_systemd_unit"}
    expected |= {f"/etc/drover/hooks.d/{e}" for e in (
        "launch", "terminate", "spot-interruption", "rebalance", "scheduled-event",
        "unhealthy")}
    expected |= {f"/usr/lib/systemd/system/{os.path.basename(u)}"
                 for u in glob.glob(os.path.join(TOP_SRCDIR, "units", "*.target"))}
    assert not expected - files, f"missing from the rpm: {sorted(expected - files)}"
    assert any(f.startswith("/usr/share/man/man8/drover.8") for f in files)
    assert any(f.startswith("/usr/share/man/man5/drover.conf.5") for f in files)
    for page in ("drover-hooks", "drover-safety", "drover-checks", "drover-aws"):
        assert any(f.startswith(f"/usr/share/man/man7/{page}.7") for f in files), page
    assert not [f for f in files if f.startswith("/usr/local") or f.endswith(".sysusers")]


def test_rpm_state_dirs(rpm):
    out = query(rpm, "--qf", "[%{FILENAMES} %{FILEMODES:perms} %{FILEUSERNAME}\n]")
    modes = {}
    for line in out.splitlines():
        path, perms, user = line.rsplit(" ", 2)
        modes[path] = f"{perms} {user}"
    assert modes["/var/lib/drover"] == "drwxr-x--x root"
    assert modes["/var/lib/drover/plugins"] == "drwxr-x--- drover"


def test_rpm_config_is_noreplace(rpm):
    out = query(rpm, "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]")
    flags = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    assert "c" in flags["/etc/drover/drover.conf"] and "n" in flags["/etc/drover/drover.conf"]
    assert query(rpm, "--configfiles").split() == ["/etc/drover/drover.conf"]


def test_rpm_scriptlets(rpm):
    scripts = query(rpm, "--scripts")
    sections = dict(re.findall(r"^(\w+)install scriptlet[^\n]*:\n(.*?)(?=^\w+install "
                               r"scriptlet|\Z)", scripts, re.S | re.M))
    assert "useradd" in sections["pre"] and "drover" in sections["pre"]
    assert "systemctl" in sections["post"] and "preset" in sections["post"]
    assert ".target" not in scripts, "the lifecycle targets are drover's to start"
    assert "disable --now" in sections["preun"] or "systemd-update-helper" in sections["preun"]
    assert "try-restart" in sections["postun"] or "systemd-update-helper" in sections["postun"]


def test_rpm_requires_runtime_libraries(rpm):
    requires = query(rpm, "--requires")
    for lib in ("libcurl.so.4", "libjansson.so.4", "libconfig.so.9", "libcrypto.so.3",
                "libsystemd.so.0", "libexpat.so.1", "libz.so.1", "libmicrohttpd.so.12"):
        assert lib in requires, f"{lib} not required:\n{requires}"


def test_spec_names_build_requires():
    require_tool("rpmspec")
    out = run(["rpmspec", "-q", "--buildrequires", SPEC]).stdout
    for dep in ("pkgconfig(libcurl)", "pkgconfig(jansson)", "pkgconfig(libsystemd)",
                "pkgconfig(libconfig)", "pkgconfig(libcrypto)", "pkgconfig(expat)",
                "pkgconfig(zlib)", "pkgconfig(libmicrohttpd)", "pkgconfig(cmocka)", "gcc",
                "make",
                "systemd-rpm-macros"):
        assert dep in out, f"BuildRequires lacks {dep}:\n{out}"


def test_spec_check_runs_the_tests_and_can_be_skipped():
    require_tool("rpmspec")
    parsed = run(["rpmspec", "-P", SPEC]).stdout
    check = parsed.split("%check", 1)[1].split("%pre", 1)[0]
    assert "make" in check and " check" in check
