"""`drover config-test`: exit status and the exact messages on stderr."""
import grp
import os
import pwd

import pytest

from conftest import TOP_SRCDIR

PLUGIN = "/bin/true"
# Last in a file, so that the lines asserted above it keep their numbers. (The default
# user "drover" is checked too and need not exist where the tests run.)
NOBODY = 'plugins: { user = "nobody"; group = "nogroup"; };\n'


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
    assert (p.stdout, p.stderr) == ("configuration OK\n", "")


def drover_account_exists():
    try:
        pwd.getpwnam("drover")
        grp.getgrnam("drover")
        return True
    except KeyError:
        return False


def test_packaged_example_is_valid(run_drover):
    path = os.path.join(TOP_SRCDIR, "packaging", "drover.conf")
    p = run_drover("config-test", "-c", path)
    if drover_account_exists():  # the packages create it
        assert p.returncode == 0, p.stderr
        assert p.stderr == "configuration OK\n"
    else:  # and without it, config-test says so instead of every check failing later
        assert p.returncode == 1
        assert f'{path}: plugins.user is "drover" by default, and no such user exists' \
            in p.stderr, p.stderr


def test_integers_libconfig_would_wrap(run_drover, conf):
    """libconfig 1.5 keeps 32 bits: 4294967296 used to become 0 and config-test said OK."""
    path = conf('plugins: { user = ""; };\n'
                'policy: { grace_period = 4294967296; max_unhealthy = 0x80000000; };\n'
                'imds: { retries = 4294967297L; };\n'
                'metrics: { interval = 1e30; };\n')
    p = run_drover("config-test", "-c", path)
    assert p.returncode == 1
    rng = ("is out of range: an integer must lie between -2147483648 and 2147483647 "
           "(hex up to 0x7FFFFFFF) unless it ends in L")
    assert p.stderr.splitlines() == [f"{path}:2: 4294967296 {rng}",
                                     f"{path}:2: 0x80000000 {rng}"]
    path = conf('plugins: { user = ""; };\n'
                'imds: { retries = 4294967297L; };\n'
                'metrics: { interval = 1e30; };\n')
    p = run_drover("config-test", "-c", path)
    assert p.stderr.splitlines() == [
        f"{path}:2: imds.retries must be between 0 and 10, not 4294967297",
        f"{path}:3: metrics.interval must be between 1 and 3600 seconds, not 1e+30"]
    p = run_drover("config-test", "-c", conf('plugins: { user = ""; };\n'
                                             'policy: { grace_period = 86400; };\n'))
    assert p.returncode == 0, p.stderr


def test_default_user_is_checked_and_group_needs_a_user(run_drover, conf, tmp_path):
    path = conf('plugins: { user = "no-such-drover-user"; };\n')
    p = run_drover("config-test", "-c", path)
    assert p.returncode == 1
    assert "names a user 'no-such-drover-user' that does not exist" in p.stderr
    path = conf('plugins: { user = ""; group = "nogroup"; };\n')
    p = run_drover("config-test", "-c", path)
    assert p.returncode == 1
    assert p.stderr == (f'{path}:1: plugins.group = "nogroup" has no effect without a user: '
                        "set a user too, or remove the group\n")
    if not drover_account_exists():
        p = run_drover("config-test", "-c", conf("checks = ();\n"))
        assert p.returncode == 1
        assert "plugins.user is \"drover\" by default, and no such user exists" in p.stderr


def test_all_errors_at_once(run_drover, conf):
    path = conf('imds: { endpoint = "https://169.254.169.254"; retries = 11; };\n'
                'policy: { dry_run = "yes"; actoin = "none"; };\n'
                'checks = ( { name = "web"; command = [ "check_http" ]; } );\n' + NOBODY)
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


def test_statsd_bad_address_and_prefix(run_drover, conf):
    # (plugins.user = "": the default user need not exist on this machine)
    path = conf('metrics: { sinks = [ "statsd" ];\n'
                '           statsd = "statsd.internal:8125";\n'
                '           statsd_prefix = "my app"; };\nplugins: { user = ""; };\n')
    p = run_drover("config-test", "-c", path)
    assert p.returncode == 1
    assert p.stderr.splitlines() == [
        f'{path}:2: metrics.statsd must be a numeric address and port like 127.0.0.1:8125 '
        f'or [::1]:8125 (no host names), not "statsd.internal:8125"',
        f'{path}:3: metrics.statsd_prefix must be "" or dot-separated names of letters, '
        f'digits and _ (like "drover" or "prod.web"), at most 128 characters, not "my app"',
    ]
    good = conf('metrics: { sinks = [ "cloudwatch", "statsd" ]; statsd = "[::1]:8125";\n'
                '           statsd_prefix = "prod.web"; statsd_tags = "dogstatsd"; };\n'
                'plugins: { user = ""; };\n')
    p = run_drover("config-test", "-c", good)
    assert p.returncode == 0, p.stderr


def test_syntax_error(run_drover, conf):
    path = conf("imds: {\n  retries = ;\n};\n")
    p = run_drover("config-test", "-c", path)
    assert p.returncode == 1
    assert p.stderr == f"{path}:2: syntax error: retries has no value before ';'\n"


def test_syntax_error_hints(run_drover, conf):
    """libconfig 1.5 says only "syntax error" and a line (the last one, for an unclosed
    brace): the pre-scanner names the token, the opening line and a hint."""
    cases = [
        ('checks = [\n  { name = "web"; command = [ "/bin/true" ]; }\n];\n',
         "2: syntax error: checks is a list ( ), not an array [ ]"),
        ("policy: {\n  grace_period = 10;\n\nmetrics: { enabled = true; };\n",
         "1: syntax error: the '{' of policy opened here is never closed"),
        ('plugins: { user = drover; };\n', "1: syntax error: the value of user must be "
         'quoted: "drover"'),
        ('checks = (\n  { name = "a"; command = [ "/bin/true" ]; }\n'
         '  { name = "b"; command = [ "/bin/true" ]; }\n);\n',
         "3: syntax error: missing ',' between two elements of checks"),
    ]
    for text, want in cases:
        path = conf(text)
        p = run_drover("config-test", "-c", path)
        assert p.returncode == 1
        assert p.stderr.startswith(f"{path}:{want}"), p.stderr


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
    path = conf(f'checks = ( {{ name = "gone"; command = [ "{tmp_path}/no-such-plugin" ]; }} );\n'
                + NOBODY)
    p = run_drover("config-test", "-c", path)
    assert p.returncode == 1
    assert p.stderr == (f"{path}:1: check 'gone': cannot run {tmp_path}/no-such-plugin: "
                        f"No such file or directory\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="ownership rules apply when drover runs as root")
def test_untrusted_files_refused_as_root(run_drover, conf, tmp_path):
    plugin = write(tmp_path / "plugin", "#!/bin/sh\nexit 0\n", 0o777)
    path = conf(f'checks = ( {{ name = "p"; command = [ "{plugin}" ]; }} );\n' + NOBODY)
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
