"""README.md walked through as a new user would, so it cannot go stale unseen.

Every fenced block of README.md is one of:
  ```sh            the first block only: the two commands; `tests/demo` is run as written
  ```sh run        run as written, in a copy of the tree (the source build)
  ```sh no-test    cannot run here (apt-get, dpkg-buildpackage, systemctl, AWS): bash -n
  ```libconfig     a drop-in: `drover config-test` must accept it beside the packaged file
The source build and the demo build drover from scratch: a minute or two each.
"""
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import TOP_SRCDIR, require_tool

README = os.path.join(TOP_SRCDIR, "README.md")
CHECK_HTTP = "/usr/lib/nagios/plugins/check_http"
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
       "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/root")}
KINDS = {"sh run", "sh no-test", "libconfig"}
# Things README, the man pages or the unit once said that were false, or pointed nowhere.
STALE = [r"DESIGN\.md", r"policy documentation", r"AWS protocol layer", r"\[/path\]",
         r"may have a /path", r"mode 0750\)", r"top level of the tree holds only",
         r"removes the configuration", r"must exist\.\s*\(The default"]


def readme():
    with open(README) as f:
        return f.read()


def blocks():
    """[(info string, text, line number)] of README's fenced blocks."""
    out = []
    lines = readme().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(.*)$", lines[i])
        if m:
            start = i
            i += 1
            body = []
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            out.append((m.group(1).strip(), "\n".join(body) + "\n", start + 1))
        i += 1
    return out


def of_kind(kind):
    return [(text, line) for info, text, line in blocks() if info == kind]


def tree_copy(dst):
    """The tree as a clean clone has it: git's tracked files (as they are in the working
    tree), or, outside a git checkout (a tarball), the source tree without build output."""
    if os.path.isdir(os.path.join(TOP_SRCDIR, ".git")) or os.path.isfile(
            os.path.join(TOP_SRCDIR, ".git")):
        files = subprocess.run(["git", "-C", TOP_SRCDIR, "ls-files", "-z"], check=True,
                               capture_output=True).stdout.decode().split("\0")
        for rel in filter(None, files):
            src = os.path.join(TOP_SRCDIR, rel)
            if not os.path.lexists(src):
                continue
            os.makedirs(os.path.join(dst, os.path.dirname(rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(dst, rel), follow_symlinks=False)
    else:
        def build_output(folder, names):
            if os.path.abspath(folder) != os.path.abspath(TOP_SRCDIR):
                return []
            return [n for n in names if n in ("build", "autom4te.cache", "debian")
                    or (n.startswith("build-") and n != "build-aux")]
        shutil.copytree(TOP_SRCDIR, dst, symlinks=True, dirs_exist_ok=True,
                        ignore=build_output)
    return dst


def test_every_block_is_marked():
    found = blocks()
    assert found, "README.md has no fenced blocks"
    assert found[0][0] == "sh", "the first block must be the two commands (```sh)"
    for info, _, line in found[1:]:
        assert info in KINDS, f"README.md:{line}: block marked {info!r}, not one of {KINDS}"


def test_first_block_is_the_two_commands():
    info, text, _ = blocks()[0]
    commands = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    assert [c for c in commands if c] == ["tests/demo", "tests/run"]
    for c in ("tests/demo", "tests/run"):
        assert os.access(os.path.join(TOP_SRCDIR, c), os.X_OK), f"{c} is not executable"


@pytest.mark.parametrize("kind", ["sh run", "sh no-test"])
def test_shell_blocks_parse(kind):
    for text, line in of_kind(kind):
        p = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
        assert p.returncode == 0, f"README.md:{line}: {p.stderr}"


# The packages create the drover user, and a configuration that leaves plugins.user at its
# default is refused without it. A test machine need not have it: a drop-in says so,
# without changing what README shows.
NO_DROVER_USER = 'plugins: { user = ""; };\nhooks: { user = ""; };\n'


def no_user_dropin(confd):
    if subprocess.run(["getent", "passwd", "drover"], capture_output=True).returncode != 0:
        (confd / "00-test-no-drover-user.conf").write_text(NO_DROVER_USER)


def test_configuration_blocks_are_valid(drover_bin, tmp_path):
    require_tool(CHECK_HTTP)
    confs = of_kind("libconfig")
    assert confs, "README.md shows no configuration"
    for n, (text, line) in enumerate(confs):
        d = tmp_path / f"c{n}"
        (d / "conf.d").mkdir(parents=True)
        shutil.copy(os.path.join(TOP_SRCDIR, "packaging", "drover.conf"), d / "drover.conf")
        (d / "conf.d" / "50-readme.conf").write_text(text)
        no_user_dropin(d / "conf.d")
        p = subprocess.run([drover_bin, "config-test", "-c", str(d / "drover.conf")],
                           capture_output=True, text=True, env=ENV, timeout=30)
        assert p.returncode == 0 and "configuration OK" in p.stdout + p.stderr, \
            f"README.md:{line}: {p.stdout}{p.stderr}"


def test_commands_table_names_every_command(drover_bin):
    help_text = subprocess.run([drover_bin, "--help"], capture_output=True, text=True,
                               env=ENV).stdout
    commands = re.findall(r"^  ([a-z][a-z-]*)\b", help_text.split("Commands:", 1)[1], re.M)
    assert "run" in commands and "config-test" in commands
    section = readme().split("## Commands", 1)[1].split("\n## ", 1)[0]
    for c in commands:
        assert f"`drover {c}" in section, f"drover {c} is not in README's Commands"


def test_links_and_man_pages_exist():
    text = readme()
    for target in re.findall(r"\]\(([^)]+)\)", text):
        if "://" in target:
            continue
        assert os.path.exists(os.path.join(TOP_SRCDIR, target.split("#")[0])), target
    with open(os.path.join(TOP_SRCDIR, "Makefile.am")) as f:
        makefile = f.read()
    pages = set(re.findall(r"`(drover[a-z.-]*)\((\d)\)`", text))
    assert ("drover-safety", "7") in pages and ("drover-hooks", "7") in pages
    for name, sect in pages:
        rel = [p for p in (f"agent/man/{name}.{sect}", f"plugins/{name}.{sect}")
               if os.path.exists(os.path.join(TOP_SRCDIR, p))]
        assert rel, f"README names {name}({sect}), which is not in the tree"
        assert rel[0] in makefile, f"{rel[0]} is not installed (dist_man_MANS)"


def test_no_stale_or_dangling_statements():
    paths = [README, os.path.join(TOP_SRCDIR, "packaging", "README.md"),
             os.path.join(TOP_SRCDIR, "units", "drover.service.in"),
             os.path.join(TOP_SRCDIR, "plugins", "drover-plugins.8")]
    man = os.path.join(TOP_SRCDIR, "agent", "man")
    paths += [os.path.join(man, p) for p in os.listdir(man)]
    for path in paths:
        with open(path) as f:
            text = f.read().replace("\\-", "-")
        for pattern in STALE:
            m = re.search(pattern, text)
            assert not m, f"{os.path.relpath(path, TOP_SRCDIR)}: stale {m.group(0)!r}"


def test_readme_is_a_front_door():
    n = len(readme().splitlines())
    assert n < 400, f"README.md has {n} lines: the reference belongs in the man pages"
    assert "Further reading" in readme()


def test_deadline_snippet_works_without_a_deadline(tmp_path):
    """drover-hooks(7): DROVER_DEADLINE is empty on a scale-in; the snippet copes."""
    with open(os.path.join(TOP_SRCDIR, "agent", "man", "drover-hooks.7")) as f:
        man = f.read()
    m = re.search(r"^\.nf\n(# Seconds this hook may still take\..*?)^\.fi", man, re.M | re.S)
    assert m, "the deadline snippet is not in drover-hooks(7)"
    snippet = m.group(1).replace("\\-", "-").replace("\\e", "\\")
    scale_in = subprocess.run(["sh", "-euc", snippet], capture_output=True, text=True,
                              env=dict(ENV, DROVER_DEADLINE=""))
    assert scale_in.returncode == 0 and scale_in.stdout == "600 s left\n", scale_in
    spot = subprocess.run(["sh", "-euc", snippet], capture_output=True, text=True,
                          env=dict(ENV, DROVER_DEADLINE=str(int(time.time()) + 100)))
    assert spot.returncode == 0 and 95 <= int(spot.stdout.split()[0]) <= 100, spot


@pytest.mark.slow
@pytest.mark.plain_build_only
def test_source_build_from_a_clean_clone(tmp_path):
    """README's `sh run` block, as written, in a copy of the tree without build output;
    `make install` goes to a DESTDIR, never to this machine's /usr."""
    require_tool("autoreconf")
    runs = of_kind("sh run")
    assert len(runs) == 1, "README has one source build"
    script, line = runs[0]
    src = tree_copy(str(tmp_path / "clone"))
    root = tmp_path / "root"
    env = dict(ENV, DESTDIR=str(root))
    p = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=src, env=env,
                       capture_output=True, text=True, timeout=1200)
    assert p.returncode == 0, f"README.md:{line}: exit {p.returncode}\n{p.stdout[-3000:]}" \
        f"\n{p.stderr[-3000:]}"
    drover = root / "usr" / "bin" / "drover"
    version = subprocess.run([str(drover), "version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("drover "), version
    for f in ("etc/drover/drover.conf", "usr/libexec/drover/plugins/check_fs",
              "usr/share/man/man8/drover.8", "usr/share/man/man7/drover-safety.7",
              "usr/share/man/man7/drover-hooks.7"):
        assert (root / f).exists(), f"make install did not install /{f}"
    units = list(root.glob("**/systemd/system/drover.service"))
    assert units, "no drover.service installed"
    assert "ExecStart=/usr/bin/drover run" in units[0].read_text()
    # The README's drop-in beside the configuration the build installed.
    require_tool(CHECK_HTTP)
    (root / "etc" / "drover" / "conf.d" / "50-web.conf").write_text(of_kind("libconfig")[0][0])
    no_user_dropin(root / "etc" / "drover" / "conf.d")
    p = subprocess.run([str(drover), "config-test", "-c", str(root / "etc/drover/drover.conf")],
                       capture_output=True, text=True, env=ENV)
    assert p.returncode == 0 and "configuration OK" in p.stdout + p.stderr, p


@pytest.mark.slow
@pytest.mark.plain_build_only
def test_demo_as_written(tmp_path):
    """`tests/demo`, the first command of README, in a copy of the tree: it builds drover
    and tells the story to its end (test_demo.py checks the story and the failure path)."""
    require_tool(CHECK_HTTP)
    src = tree_copy(str(tmp_path / "clone"))
    p = subprocess.run(["tests/demo"], cwd=src, env=dict(ENV, TMPDIR=str(tmp_path)),
                       capture_output=True, text=True, timeout=1200)
    out = p.stdout
    assert p.returncode == 0, out[-4000:] + p.stderr[-2000:]
    assert re.search(r"^==> building drover: \.+", out, re.M), out[:2000]
    assert re.search(r"^==> built drover \S+$", out, re.M), out[:2000]
    assert "--- drover status, as an operator would see it ---" in out
    assert out.rstrip("\n").splitlines()[-1].endswith(
        "done: the sick instance was replaced, and nobody was paged"), out[-2000:]
    assert not [d for d in os.listdir(tmp_path) if d.startswith("drover-demo-")]
