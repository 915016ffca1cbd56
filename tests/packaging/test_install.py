"""`make install`'s packaging part (Makefile.am, "packaging" section): the hooks.d event
directories, conf.d/, and an example configuration that never replaces an existing one;
`make uninstall` removes only what it installed unchanged."""
import filecmp
import os

from conftest import TOP_SRCDIR, run

EVENTS = ("launch", "terminate", "spot-interruption", "rebalance", "scheduled-event",
          "unhealthy")
EXAMPLE = os.path.join(TOP_SRCDIR, "packaging", "drover.conf")


def etc(dest):
    # dist_build is configured with the default prefix: sysconfdir is /usr/local/etc.
    return dest / "usr" / "local" / "etc" / "drover"


def make(dist_build, target, dest):
    run(["make", target, f"DESTDIR={dest}"], cwd=dist_build)


def test_install_creates_hook_dirs_and_example_config(dist_build, tmp_path):
    make(dist_build, "install-data-local", tmp_path)
    d = etc(tmp_path)
    assert sorted(os.listdir(d / "hooks.d")) == sorted(EVENTS)
    assert os.path.isdir(d / "conf.d")
    assert filecmp.cmp(d / "drover.conf", EXAMPLE, shallow=False)

    make(dist_build, "uninstall-local", tmp_path)
    assert not os.path.exists(d), "uninstall leaves nothing it installed"


def test_install_keeps_an_existing_config(dist_build, tmp_path):
    d = etc(tmp_path)
    d.mkdir(parents=True)
    (d / "drover.conf").write_text("checks = ();  # mine\n")
    make(dist_build, "install-data-local", tmp_path)
    assert (d / "drover.conf").read_text() == "checks = ();  # mine\n"

    make(dist_build, "uninstall-local", tmp_path)
    assert (d / "drover.conf").read_text() == "checks = ();  # mine\n"
    assert not os.path.exists(d / "hooks.d")
