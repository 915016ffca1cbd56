"""Fixtures for the packaging tests: a `make dist` tarball, the .deb and .rpm built
from it, and throwaway systemd containers to install the .deb into.

The packages are built once per session from a fresh tarball (what users get), never
from the working tree. Installing, upgrading and purging happen only inside the
containers (container.py), never on the build machine.

A missing tool skips outside CI and fails in CI (tap_report.py). The suite runs in the
plain build only: a sanitizer build's `make check` would build the same packages again.
"""
import glob
import os
import re
import shutil
import subprocess

import pytest

TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
TOP_BUILDDIR = os.environ.get("top_builddir", "")
HERE = os.path.dirname(os.path.abspath(__file__))


def require_tool(name):
    path = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not path:
        pytest.skip(f"{name} is not installed (tests/run installs it)")
    return path


def run(cmd, cwd=None, env=None, timeout=600, check=True):
    """Runs cmd, returns the CompletedProcess; on failure shows its output."""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, cwd=cwd, env=e, capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {p.returncode}\n--- stdout\n"
                    f"{p.stdout[-4000:]}\n--- stderr\n{p.stderr[-4000:]}")
    return p


def project_version():
    with open(os.path.join(TOP_SRCDIR, "configure.ac")) as f:
        m = re.search(r"AC_INIT\(\[drover\],\s*\[([^\]]+)\]", f.read())
    assert m, "AC_INIT not found in configure.ac"
    return m.group(1)


def _sanitizer_build():
    try:
        with open(os.path.join(TOP_BUILDDIR, "Makefile")) as f:
            return any(line.startswith("SAN_CFLAGS = -f") for line in f)
    except OSError:
        return False


def pytest_collection_modifyitems(config, items):
    if not _sanitizer_build():
        return
    mine = [i for i in items if str(i.fspath).startswith(HERE + os.sep)]
    if mine:
        config.hook.pytest_deselected(items=mine)
        items[:] = [i for i in items if i not in mine]


@pytest.fixture(scope="session")
def pkg_workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("packaging")


@pytest.fixture(scope="session")
def dist_tarball(pkg_workdir):
    """`make dist` from a fresh out-of-tree configure of the source tree."""
    if not os.path.exists(os.path.join(TOP_SRCDIR, "configure")):
        pytest.fail("run autoreconf -fi first: configure is missing")
    build = pkg_workdir / "dist-build"
    build.mkdir()
    run([os.path.join(TOP_SRCDIR, "configure"), "-q"], cwd=build)
    run(["make", "dist"], cwd=build)
    tars = glob.glob(str(build / "drover-*.tar.xz"))
    assert len(tars) == 1, tars
    return tars[0]


@pytest.fixture(scope="session")
def dist_build(dist_tarball, pkg_workdir):
    """The configured tree `make dist` ran in (for install-data-local tests)."""
    return pkg_workdir / "dist-build"


@pytest.fixture(scope="session")
def deb(dist_tarball, pkg_workdir):
    """Builds the .deb the documented way: unpack the tarball, copy packaging/debian
    to ./debian, dpkg-buildpackage -us -uc -b with the test suite skipped."""
    require_tool("dpkg-buildpackage")
    require_tool("dh")
    top = pkg_workdir / "deb"
    top.mkdir()
    run(["tar", "-xf", dist_tarball, "-C", str(top)])
    src = top / f"drover-{project_version()}"
    shutil.copytree(os.path.join(TOP_SRCDIR, "packaging", "debian"), src / "debian",
                    symlinks=True)
    for d, _, names in os.walk(src / "debian"):  # distcheck's source tree is read-only
        for p in [d] + [os.path.join(d, n) for n in names]:
            os.chmod(p, os.stat(p).st_mode | 0o200)
    run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src,
        env={"DEB_BUILD_OPTIONS": f"nocheck parallel={os.cpu_count() or 2}",
             "DEB_BUILD_PROFILES": "nocheck"})
    debs = glob.glob(str(top / "drover_*.deb"))
    assert len(debs) == 1, debs
    changes = glob.glob(str(top / "drover_*.changes"))
    return {"deb": debs[0], "changes": changes[0] if changes else None, "src": src}


@pytest.fixture(scope="session")
def rpm(dist_tarball, pkg_workdir):
    """rpmbuild --nodeps -bb from the tarball (Debian's rpm: no build deps database)."""
    require_tool("rpmbuild")
    top = pkg_workdir / "rpm"
    (top / "SOURCES").mkdir(parents=True)
    shutil.copy(dist_tarball, top / "SOURCES")
    run(["rpmbuild", "--nodeps", "--nocheck", "-bb",
         "--define", f"_topdir {top}",
         # Debian's rpm has no find-debuginfo; Amazon Linux builds the -debuginfo package.
         "--define", "debug_package %{nil}",
         os.path.join(TOP_SRCDIR, "packaging", "rpm", "drover.spec")])
    rpms = glob.glob(str(top / "RPMS" / "*" / "drover-*.rpm"))
    assert len(rpms) == 1, rpms
    return rpms[0]
