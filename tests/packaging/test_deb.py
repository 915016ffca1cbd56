"""The Debian package: built from `make dist`'s tarball with packaging/debian, and what
is in it. Installing it happens in test_systemd.py, inside a container."""
import glob
import os
import re

import pytest

from conftest import TOP_SRCDIR, project_version, require_tool, run

pytestmark = pytest.mark.slow

EVENTS = ("launch", "terminate", "spot-interruption", "rebalance", "scheduled-event",
          "unhealthy")
PLUGINS = ("check_clock", "check_fs", "check_kernel", "check_systemd_unit")


def contents(deb):
    """{path: (mode string, owner)} from dpkg-deb -c."""
    out = run(["dpkg-deb", "-c", deb]).stdout
    files = {}
    for line in out.splitlines():
        f = line.split()
        path = f[5].lstrip(".")
        files[path.rstrip("/") or "/"] = (f[0], f[1])
    return files


def control_field(deb, field):
    return run(["dpkg-deb", "-f", deb, field]).stdout.strip()


def control_file(deb, name):
    return run(["dpkg-deb", "-I", deb, name], check=False).stdout


def test_deb_version_matches_configure(deb):
    assert control_field(deb["deb"], "Package") == "drover"
    assert control_field(deb["deb"], "Version") == f"{project_version()}-1"


def test_deb_contents(deb):
    files = contents(deb["deb"])
    expected = ["/usr/bin/drover", "/lib/systemd/system/drover.service",
                "/usr/lib/sysusers.d/drover.conf", "/usr/lib/tmpfiles.d/drover.conf",
                "/etc/drover/drover.conf",
                "/etc/drover/conf.d", "/etc/drover/hooks.d", "/var/lib/drover",
                "/usr/share/man/man8/drover.8.gz", "/usr/share/man/man5/drover.conf.5.gz",
                "/usr/share/man/man8/drover-plugins.8.gz",
                "/usr/share/man/man7/drover-hooks.7.gz", "/usr/share/man/man7/drover-safety.7.gz",
                "/usr/share/man/man7/drover-checks.7.gz", "/usr/share/man/man7/drover-aws.7.gz",
                "/usr/share/doc/drover/copyright"]
    expected += [f"/usr/libexec/drover/plugins/{p}" for p in PLUGINS]
    expected += [f"/etc/drover/hooks.d/{e}" for e in EVENTS]
    expected += [f"/lib/systemd/system/{os.path.basename(u)}"
                 for u in glob.glob(os.path.join(TOP_SRCDIR, "units", "*.target"))]
    missing = [p for p in expected if p not in files]
    assert not missing, f"missing from the .deb: {missing}"
    for p in ["/usr/bin/drover"] + [f"/usr/libexec/drover/plugins/{x}" for x in PLUGINS]:
        assert files[p][0] == "-rwxr-xr-x" and files[p][1] == "root/root", (p, files[p])
    assert files["/etc/drover/drover.conf"][0] == "-rw-r--r--"
    assert files["/etc/drover/hooks.d/unhealthy"][0].startswith("drwxr-xr-x")
    # The unit's StateDirectoryMode=0751, not dh's default 0755 (drover-safety(7)).
    assert files["/var/lib/drover"] == ("drwxr-x--x", "root/root"), files["/var/lib/drover"]
    # Nothing from the build tree, no stray sysusers file under its source name.
    assert not [p for p in files if p.endswith(".sysusers") or "/build/" in p]
    assert not [p for p in files if p.startswith("/usr/local")]


def test_deb_debug_symbols_package(deb):
    """README and packaging/README.md promise a drover-dbgsym package next to the .deb."""
    dbg = glob.glob(os.path.join(os.path.dirname(deb["deb"]), "drover-dbgsym_*.deb"))
    assert len(dbg) == 1, dbg
    assert any(p.startswith("/usr/lib/debug/.build-id/") and p.endswith(".debug")
               for p in contents(dbg[0])), "no debug symbols in drover-dbgsym"


def test_deb_conffile_and_unit(deb):
    conffiles = control_file(deb["deb"], "conffiles").split()
    assert "/etc/drover/drover.conf" in conffiles
    src = deb["src"]
    with open(os.path.join(src, "debian", "drover", "lib", "systemd", "system",
                           "drover.service")) as f:
        unit = f.read()
    assert "ExecStart=/usr/bin/drover run" in unit
    assert "@bindir@" not in unit and "/usr/local" not in unit


def test_deb_maintainer_scripts(deb):
    postinst = control_file(deb["deb"], "postinst")
    # Enabled and started the Debian way (dh_installsystemd) ...
    assert "deb-systemd-helper" in postinst and "drover.service" in postinst
    assert "_dh_action=start" in postinst
    assert re.search(r"deb-systemd-invoke \$_dh_action 'drover\.service'", postinst)
    # Installing or upgrading is not a termination: the lifecycle targets are left to
    # drover (starting drover-terminate.target would run every drain unit).
    for script in ("postinst", "prerm", "postrm", "preinst"):
        text = control_file(deb["deb"], script)
        for line in text.splitlines():
            if "deb-systemd-invoke" in line:
                assert ".target" not in line, f"{script}: {line}"
    # ... after the drover user exists (dh_installsysusers).
    assert "systemd-sysusers" in postinst and "drover.conf" in postinst
    assert postinst.index("systemd-sysusers") < postinst.index("deb-systemd-invoke")
    # check_systemd_unit's history directory, owned by that user (tmpfiles.d).
    assert postinst.index("systemd-sysusers") < postinst.index("systemd-tmpfiles") < \
        postinst.index("deb-systemd-invoke")
    postrm = control_file(deb["deb"], "postrm")
    assert "purge" in postrm and "/var/lib/drover" in postrm
    prerm = control_file(deb["deb"], "prerm")
    assert "deb-systemd-invoke stop" in prerm


def test_deb_depends_on_runtime_libraries(deb):
    depends = control_field(deb["deb"], "Depends")
    for lib in ("libcurl4", "libjansson4", "libconfig9", "libssl3", "libexpat1",
                "libsystemd0", "zlib1g", "libmicrohttpd12"):
        assert re.search(rf"\b{lib}\b", depends), f"{lib} not in Depends: {depends}"


def test_deb_binary_is_hardened(deb):
    src = deb["src"]
    binary = os.path.join(src, "debian", "drover", "usr", "bin", "drover")
    out = run(["readelf", "-h", "-d", "-l", "-W", binary]).stdout
    assert "DYN (Position-Independent Executable" in out or "Type: DYN" in out
    assert "BIND_NOW" in out or "FLAGS_1" in out and "NOW" in out
    assert "GNU_RELRO" in out


def test_lintian_has_no_errors(deb):
    require_tool("lintian")
    r = run(["lintian", "--fail-on", "error", "--no-tag-display-limit", deb["deb"]],
            check=False, timeout=300)
    errors = [line for line in r.stdout.splitlines() if line.startswith("E:")]
    assert r.returncode == 0 and not errors, r.stdout + r.stderr
    # Warnings too are only the ones packaging/README.md explains (the 0751 state
    # directory is a deliberate choice, overridden in drover.lintian-overrides).
    warnings = [line.split()[2] for line in r.stdout.splitlines() if line.startswith("W:")]
    assert set(warnings) <= {"initial-upload-closes-no-bugs"}, r.stdout
