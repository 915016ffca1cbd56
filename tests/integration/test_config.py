"""`drover config-test`: exit status and the exact messages on stderr."""
import os

import pytest

from conftest import TOP_SRCDIR

PLUGIN = "/bin/true"


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return str(path)


@pytest.fixture
def conf(tmp_path):
    """Writes tmp_path/drover.conf (and drop-ins: name -> text) and returns its path."""
    def make(text, dropins=None):
        for name, body in (dropins or {}).items():
            write(tmp_path / "conf.d" / name, body)
        return write(tmp_path / "drover.conf", text)
    return make


GOOD = f"""
plugins: {{ user = "nobody"; group = "nogroup"; timeout = 5; }};
policy: {{ action = "set-unhealthy"; max_unhealthy = "10%"; }};
checks = (
  {{ name = "web"; command = [ "{PLUGIN}", "-H", "127.0.0.1" ];
     interval = 10.0; fall = 3; rise = 2;
     remediate = {{ restart_unit = "nginx.service"; attempts = 2; }}; }}
);
"""


def test_good_config(run_drover, conf):
    p = run_drover("config-test", "-c", conf(GOOD))
    assert p.returncode == 0, p.stderr
    assert p.stderr == "configuration OK\n"
    assert p.stdout == ""


def test_packaged_example_is_valid(run_drover):
    p = run_drover("config-test", "-c", os.path.join(TOP_SRCDIR, "packaging", "drover.conf"))
    assert p.returncode == 0, p.stderr
    assert p.stderr == "configuration OK\n"


def test_all_errors_at_once(run_drover, conf):
    path = conf('imds: { endpoint = "https://169.254.169.254"; retries = 11; };\n'
                'policy: { dry_run = "yes"; actoin = "none"; };\n'
                'checks = ( { name = "web"; command = [ "check_http" ]; } );\n')
    p = run_drover("config-test", "-c", path)
    assert p.returncode == 1
    assert p.stderr.splitlines() == [
        f'{path}:1: imds.endpoint must use http:// (IMDS is plain HTTP on a link-local '
        f'address), not "https://169.254.169.254"',
        f"{path}:1: imds.retries must be between 0 and 10, not 11",
        f"{path}:2: policy.dry_run must be true or false, not a string",
        f"{path}:2: unknown key 'policy.actoin' (did you mean 'action'?)",
        f"{path}:3: check 'web': command must start with an absolute path to the program, "
        f'not "check_http"',
    ]


def test_syntax_error(run_drover, conf):
    path = conf("imds: {\n  retries = ;\n};\n")
    p = run_drover("config-test", "-c", path)
    assert p.returncode == 1
    assert p.stderr == f"{path}:2: syntax error\n"


def test_dropin_conflict_names_both_files(run_drover, conf, tmp_path):
    path = conf(GOOD.replace("policy: { action", "policy: { dry_run = true; action"),
                {"50-ops.conf": "policy: { dry_run = false; };\n",
                 "60-more.conf": f'checks = ( {{ name = "web"; command = [ "{PLUGIN}" ]; }} );\n'})
    p = run_drover("config-test", "-c", path)
    assert p.returncode == 1
    d = tmp_path / "conf.d"
    assert p.stderr.splitlines() == [
        f"{d}/50-ops.conf:1: policy.dry_run already set at {path}:3",
        f"{d}/60-more.conf:1: check 'web' is already defined at {path}:5",
    ]


def test_dropins_append_checks(run_drover, conf):
    path = conf(GOOD, {"10-db.conf": f'checks = ( {{ name = "db"; role = "dependency"; '
                                     f'command = [ "{PLUGIN}" ]; }} );\n',
                       "ignored.conf.orig": "this is not read {"})
    p = run_drover("config-test", "-c", path)
    assert p.returncode == 0, p.stderr


def test_missing_plugin_is_an_error(run_drover, conf, tmp_path):
    path = conf(f'checks = ( {{ name = "gone"; command = [ "{tmp_path}/no-such-plugin" ]; }} );\n')
    p = run_drover("config-test", "-c", path)
    assert p.returncode == 1
    assert p.stderr == (f"{path}:1: check 'gone': cannot run {tmp_path}/no-such-plugin: "
                        f"No such file or directory\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership rules apply when drover runs as root")
def test_untrusted_files_refused_as_root(run_drover, conf, tmp_path):
    plugin = write(tmp_path / "plugin", "#!/bin/sh\nexit 0\n", 0o777)
    path = conf(f'checks = ( {{ name = "p"; command = [ "{plugin}" ]; }} );\n')
    os.chmod(path, 0o664)
    p = run_drover("config-test", "-c", path)
    assert p.returncode == 1
    assert p.stderr.splitlines() == [
        f"{path}: refusing to use it: writable by group or others",
        f"{path}:1: check 'p': refusing to run {plugin}: file {plugin} is writable by group or "
        "others",
    ]


def test_missing_main_file(run_drover, tmp_path):
    p = run_drover("config-test", "-c", str(tmp_path / "nope.conf"))
    assert p.returncode == 1
    assert p.stderr == f"{tmp_path}/nope.conf: cannot read: No such file or directory\n"


def test_usage_errors(run_drover):
    p = run_drover("config-test", "--bogus")
    assert p.returncode == 2
    assert "Usage: drover config-test [-c FILE]" in p.stderr
    p = run_drover("config-test", "extra")
    assert p.returncode == 2
    assert "unexpected argument 'extra'" in p.stderr
