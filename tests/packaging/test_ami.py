"""The AMI recipes, validated by tools without AWS: Packer's own parser (Debian's 1.6.6
has no plugins, so `validate -syntax-only`, `fmt -check` and `inspect`), a YAML parser
and structural checks for the Image Builder component and the cloud-init snippet, `sh -n`
for every embedded script, and `drover config-test` for the configuration they write."""
import os
import re
import subprocess

import pytest

from conftest import TOP_SRCDIR, require_tool, run

AMI = os.path.join(TOP_SRCDIR, "packaging", "ami")
TEMPLATE = os.path.join(AMI, "drover.pkr.hcl")


def yaml_load(name):
    yaml = pytest.importorskip("yaml")  # python3-yaml
    with open(os.path.join(AMI, name)) as f:
        return yaml.safe_load(f)


def sh_syntax_ok(script):
    p = subprocess.run(["sh", "-n"], input=script, capture_output=True, text=True)
    assert p.returncode == 0, f"sh -n: {p.stderr}\n{script}"


def packer(*args, cwd=AMI):
    require_tool("packer")
    return run(["packer", *args], cwd=cwd, env={"CHECKPOINT_DISABLE": "1"})


def test_packer_template_parses():
    out = packer("validate", "-syntax-only", TEMPLATE).stdout
    assert "Syntax-only check passed" in out


def test_packer_template_is_formatted():
    packer("fmt", "-check", "-diff", AMI)


def test_packer_template_rejects_a_broken_copy(tmp_path):
    """The syntax check is not a no-op: the same template with one brace too many fails."""
    require_tool("packer")
    with open(TEMPLATE) as f:
        text = f.read()
    broken = tmp_path / "broken.pkr.hcl"
    broken.write_text(text.replace("build {", "build {{", 1))
    p = subprocess.run(["packer", "validate", "-syntax-only", str(broken)],
                       capture_output=True, text=True, env={"CHECKPOINT_DISABLE": "1",
                                                            "PATH": os.environ["PATH"]})
    assert p.returncode != 0


def test_packer_template_builds_an_ebs_ami_and_installs_drover():
    out = packer("inspect", TEMPLATE).stdout
    assert "amazon-ebs.drover" in out
    provisioners = out.split("provisioners:", 1)[1].split("post-processors:", 1)[0].split()
    assert provisioners == ["file", "shell"], out
    for var in ("var.base", "var.package", "var.region"):
        assert var in out
    with open(TEMPLATE) as f:
        text = f.read()
    assert re.search(r'http_tokens\s*=\s*"required"', text), "bake for IMDSv2"
    assert "install-drover.sh" in text and "iam-policy.json" in text


def test_install_script():
    path = os.path.join(AMI, "install-drover.sh")
    assert os.access(path, os.X_OK)
    with open(path) as f:
        script = f.read()
    sh_syntax_ok(script)
    for needle in ("systemctl enable drover.service", "drover config-test",
                   "apt-get install", "dnf install", "rm -rf /var/lib/drover/*"):
        assert needle in script


def test_install_script_refuses_other_files(tmp_path):
    p = subprocess.run(["sh", os.path.join(AMI, "install-drover.sh")],
                       env={"PATH": "/usr/bin:/bin", "DROVER_PACKAGE": "drover.tar.gz"},
                       capture_output=True, text=True)
    assert p.returncode == 1 and "neither a .deb nor an .rpm" in p.stderr


IMAGEBUILDER_ACTIONS = {"ExecuteBash", "S3Download", "WebDownload", "CreateFile",
                        "UpdateOS", "Reboot", "SetFileOwner", "ExecuteBinary"}


def test_imagebuilder_component():
    doc = yaml_load("imagebuilder-component.yaml")
    assert doc["schemaVersion"] == 1.0
    assert doc["name"] and doc["description"]
    params = {k: v for p in doc["parameters"] for k, v in p.items()}
    assert params["PackageS3Uri"]["type"] == "string"
    phases = {p["name"]: p for p in doc["phases"]}
    assert set(phases) <= {"build", "validate", "test"} and "build" in phases
    used = set()
    for phase in doc["phases"]:
        names = [s["name"] for s in phase["steps"]]
        assert len(names) == len(set(names)), f"duplicate step names in {phase['name']}"
        for step in phase["steps"]:
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", step["name"])
            assert step["action"] in IMAGEBUILDER_ACTIONS, step["action"]
            if step["action"] == "ExecuteBash":
                for cmd in step["inputs"]["commands"]:
                    sh_syntax_ok(cmd)
            used |= set(re.findall(r"\{\{\s*(\w+)\s*\}\}", str(step["inputs"])))
    assert used <= set(params), f"undeclared parameters: {used - set(params)}"
    build = str(phases["build"])
    assert "systemctl enable drover.service" in build
    assert "is-enabled" in str(phases["validate"])


def test_cloud_init_snippet(tmp_path, drover_bin):
    with open(os.path.join(AMI, "cloud-init.yaml")) as f:
        assert f.readline().rstrip() == "#cloud-config"
    doc = yaml_load("cloud-init.yaml")
    assert set(doc) <= {"write_files", "runcmd", "packages", "package_update",
                        "bootcmd"}, set(doc)
    for cmd in doc["runcmd"]:
        assert isinstance(cmd, (str, list))
        if isinstance(cmd, list) and cmd[:2] == ["sh", "-c"]:
            sh_syntax_ok(cmd[2])
    assert "systemctl enable drover.service" in str(doc["runcmd"])
    # The drop-in it writes is valid next to the packaged example configuration.
    drop_ins = [w for w in doc["write_files"] if w["path"].startswith("/etc/drover/conf.d/")]
    assert drop_ins
    (tmp_path / "conf.d").mkdir()
    with open(os.path.join(TOP_SRCDIR, "packaging", "drover.conf")) as f:
        (tmp_path / "drover.conf").write_text(f.read())
    for w in drop_ins:
        assert w["path"].endswith(".conf") and w["permissions"] == "0644"
        (tmp_path / "conf.d" / os.path.basename(w["path"])).write_text(w["content"])
    # The packages create the drover user; a test machine need not have it.
    if subprocess.run(["getent", "passwd", "drover"], capture_output=True).returncode != 0:
        (tmp_path / "conf.d" / "00-test-no-drover-user.conf").write_text(
            'plugins: { user = ""; };\nhooks: { user = ""; };\n')
    p = run([drover_bin, "config-test", "-c", str(tmp_path / "drover.conf")], check=False)
    assert p.returncode == 0, p.stderr


@pytest.fixture
def drover_bin():
    path = os.environ.get("DROVER_BIN") or os.path.join(TOP_SRCDIR, "build", "drover")
    if not os.access(path, os.X_OK):
        pytest.fail(f"drover binary not found at {path} (set DROVER_BIN)")
    return path
