"""The Argo CD Config Management Plugin: its generate script run on real example directories, and
the plugin, ConfigMap and repo-server patch it is installed with."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, SIBLING_STALE_PIN, write

ARGOCD = REPO_ROOT / "deploy" / "argocd"
GENERATE = ARGOCD / "generate.sh"
EXAMPLES = REPO_ROOT / "examples"


def generate(app: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Runs the plugin's generate command the way the CMP server does: in the app directory."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ARGOCD_", "PARAM_", "K0S_POLICY"))}
    clean["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{clean.get('PATH', '')}"
    clean.update(env)
    return subprocess.run(
        ["sh", str(GENERATE)], cwd=app, env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def copy_example(name: str, tmp_path: Path) -> Path:
    app = tmp_path / "repo" / "apps" / name
    shutil.copytree(EXAMPLES / name, app)
    return app


def documents(text: str) -> list[object]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def test_clean_app_emits_its_manifests_unchanged(tmp_path: Path) -> None:
    app = copy_example("airgap-upgrade-fixed", tmp_path)
    done = generate(app)
    assert done.returncode == 0, done.stderr
    manifest = (app / "manifests" / "clusterconfig-k0s.yaml").read_text()
    assert done.stdout == manifest  # byte for byte: the one applicable file, nothing added
    assert documents(done.stdout) == documents(manifest)
    # the report is on stderr; the k0sctl file was checked (it gives the target) but not emitted
    assert "target k0s v1.30.5+k0s.0 (from k0sctl spec.k0s.version" in done.stderr
    assert done.stderr.endswith("\n2 files, 2 documents, 1 cluster: 1 info\n")  # no error, no warning
    assert "k0sctl.yaml is a k0sctl file: checked, not emitted" in done.stderr


def test_failing_app_blocks_the_sync(tmp_path: Path) -> None:
    app = copy_example("airgap-upgrade", tmp_path)
    done = generate(app, ARGOCD_APP_NAME="edge-prod")
    assert done.returncode == 1
    assert done.stdout == ""  # nothing for Argo CD to apply
    assert "manifests/clusterconfig-k0s.yaml:37:16: error K0S102 kubeproxy" in done.stderr
    assert "k0s-policy: blocking the sync of edge-prod (exit 1, fail level error)" in done.stderr


def test_fail_level_from_application_env_and_parameter(tmp_path: Path) -> None:
    bad = copy_example("airgap-upgrade", tmp_path)
    done = generate(bad, ARGOCD_ENV_K0S_POLICY_FAIL_ON="never")
    assert done.returncode == 0
    assert documents(done.stdout) == documents((bad / "manifests" / "clusterconfig-k0s.yaml").read_text())
    assert "error K0S102" in done.stderr  # still reported

    clean = copy_example("airgap-upgrade-fixed", tmp_path / "other")
    # the fixed example still has one info finding (K0S401); a parameter beats the env
    done = generate(clean, ARGOCD_ENV_K0S_POLICY_FAIL_ON="never", PARAM_FAIL_ON="info")
    assert done.returncode == 1 and done.stdout == ""
    assert "info K0S401" in done.stderr
    done = generate(clean, PARAM_FAIL_ON="info", ARGOCD_ENV_K0S_POLICY_IGNORE="K0S401")
    assert done.returncode == 0 and done.stdout


def test_bad_setting_blocks_with_a_usage_error(tmp_path: Path) -> None:
    app = copy_example("airgap-upgrade-fixed", tmp_path)
    done = generate(app, ARGOCD_ENV_K0S_POLICY_K0S_VERSION="9.99")
    assert done.returncode == 2 and done.stdout == ""
    assert "--k0s-version 9.99" in done.stderr


def test_several_files_are_separated_and_hidden_files_skipped(tmp_path: Path) -> None:
    app = copy_example("airgap-upgrade-fixed", tmp_path)
    write(app, "manifests/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: edge")
    write(app, ".k0s-policy.yaml", "registries: [registry.example.com]\n")
    write(app, ".github/workflow.yaml", "on: push\n")
    done = generate(app)
    assert done.returncode == 0, done.stderr
    kinds = [d["kind"] for d in documents(done.stdout)]  # type: ignore[index]
    assert kinds == ["ClusterConfig", "Namespace"]
    assert done.stdout.endswith("name: edge\n")


# A stale pin that never spells "k0s": YAML escapes hide it from a byte-level pre-filter
HIDDEN_STALE_PIN = r"""apiVersion: "\x6b0s.\x6b0sproject.io/v1beta1"
kind: ClusterConfig
metadata:
  name: hidden
spec:
  images:
    coredns:
      image: "quay.io/\x6b0sproject/coredns"
      version: 1.11.1
"""


def test_everything_emitted_is_checked(tmp_path: Path) -> None:
    app = copy_example("airgap-upgrade-fixed", tmp_path)
    # excluded by the app's own configuration, and invisible to the "mentions k0s" pre-filter: both
    # were emitted unchecked
    write(app, "manifests/hidden.yaml", HIDDEN_STALE_PIN)
    write(app, "vendor/pin.yaml", SIBLING_STALE_PIN)
    write(app, ".k0s-policy.yaml", "exclude: [vendor/**]\n")
    done = generate(app)
    assert done.returncode == 1 and done.stdout == "", done.stderr
    assert "manifests/hidden.yaml:9:16: error K0S102 coredns pinned to 1.11.1" in done.stderr
    assert "vendor/pin.yaml:9:16: error K0S102" in done.stderr
    assert "--strict-config: .k0s-policy.yaml: not applied: exclude: vendor/**" in done.stderr


def test_app_config_may_tighten_but_not_relax_unless_allowed(tmp_path: Path) -> None:
    app = tmp_path / "repo" / "apps" / "edge"
    write(app, "k0s.yaml", SIBLING_STALE_PIN)
    relaxing = """\
        rules:
          K0S102: off
          K0S103: {severity: info}
          K0S005: {severity: error}
        ignore:
          - {rule: K0S102, reason: "trust me"}
        """
    write(app, ".k0s-policy.yaml", relaxing)
    done = generate(app, PARAM_K0S_VERSION="1.30")
    assert done.returncode == 1 and done.stdout == ""
    assert "k0s.yaml:9:16: error K0S102" in done.stderr
    for entry in ("rules: K0S102: off", "rules: K0S103: severity info", "ignore (line 6): K0S102"):
        assert f"--strict-config: .k0s-policy.yaml: not applied: {entry}" in done.stderr
    assert "K0S005: severity error" not in done.stderr  # raising a severity is tightening: kept
    # the operator lets the configuration relax the check
    done = generate(app, PARAM_K0S_VERSION="1.30", PARAM_ALLOW_CONFIG_RELAX="true")
    assert done.returncode == 0 and "K0S102" not in done.stderr, done.stderr
    assert documents(done.stdout) == documents(SIBLING_STALE_PIN)
    done = generate(app, PARAM_ALLOW_CONFIG_RELAX="yes")
    assert done.returncode == 2 and "allow-config-relax must be true or false" in done.stderr


@pytest.mark.parametrize("name", ["manifests/a[1].yaml", "manifests/a*.yaml", "manifests/a\nb.yaml"])
def test_names_that_cannot_be_checked_exactly_block_the_sync(tmp_path: Path, name: str) -> None:
    app = copy_example("airgap-upgrade-fixed", tmp_path)
    write(app, "manifests/a1.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: decoy\n")
    write(app, name, SIBLING_STALE_PIN)
    done = generate(app)
    assert done.returncode == 2 and done.stdout == ""
    assert "cannot be checked exactly; rename it" in done.stderr


KUSTOMIZE = shutil.which("kustomize") or shutil.which("kubectl")


@pytest.mark.skipif(KUSTOMIZE is None, reason="needs kustomize or kubectl")
def test_kustomization_is_rendered_checked_and_emitted(tmp_path: Path) -> None:
    app = copy_example("airgap-upgrade", tmp_path)
    (app / "k0sctl.yaml").unlink()
    write(
        app,
        "kustomization.yaml",
        """\
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources: [manifests/clusterconfig-k0s.yaml]
        buildMetadata: [originAnnotations]
        """,
    )
    done = generate(app, ARGOCD_ENV_K0S_POLICY_K0S_VERSION="v1.30.5+k0s.0")
    assert done.returncode == 1 and done.stdout == ""
    # the rendered stream keeps the origin: findings point at the source file and its lines
    assert "manifests/clusterconfig-k0s.yaml:37:16: error K0S102 kubeproxy" in done.stderr

    fixed = copy_example("airgap-upgrade-fixed", tmp_path / "fixed")
    (fixed / "k0sctl.yaml").unlink()
    write(fixed, "kustomization.yaml", "resources: [manifests/clusterconfig-k0s.yaml]\n")
    done = generate(fixed, PARAM_K0S_VERSION="1.30")
    assert done.returncode == 0, done.stderr
    assert documents(done.stdout) == documents((fixed / "manifests" / "clusterconfig-k0s.yaml").read_text())


# --- installation files ---------------------------------------------------------------------------------


def test_plugin_and_its_configmap() -> None:
    text = (ARGOCD / "plugin.yaml").read_text()
    plugin = yaml.safe_load(text)
    assert (plugin["apiVersion"], plugin["kind"]) == ("argoproj.io/v1alpha1", "ConfigManagementPlugin")
    assert plugin["metadata"]["name"] == "k0s-policy"
    assert plugin["spec"]["generate"]["command"] == ["sh", "/usr/local/bin/k0s-policy-argocd-generate"]
    names = {p["name"] for p in plugin["spec"]["parameters"]["static"]}
    assert names == {"fail-on", "k0s-version", "select", "ignore", "allow-config-relax"}
    script = GENERATE.read_text()
    for name in names:
        assert f"PARAM_{name.upper().replace('-', '_')}" in script
    configmap = yaml.safe_load((ARGOCD / "cmp-plugin.yaml").read_text())
    assert configmap["kind"] == "ConfigMap" and configmap["metadata"]["name"] == "k0s-policy-cmp-plugin"
    assert configmap["data"]["plugin.yaml"] == text
    # the image puts the script where the plugin runs it
    assert "/usr/local/bin/k0s-policy-argocd-generate" in (ARGOCD / "Dockerfile").read_text()


def _sidecar(deployment: dict) -> tuple[dict, dict[str, dict]]:
    spec = deployment["spec"]["template"]["spec"]
    (sidecar,) = [c for c in spec["containers"] if c["name"] == "k0s-policy"]
    return sidecar, {v["name"]: v for v in spec["volumes"]}


def _check_sidecar(sidecar: dict, volumes: dict[str, dict]) -> None:
    assert sidecar["command"] == ["/var/run/argocd/argocd-cmp-server"]
    assert sidecar["securityContext"]["runAsUser"] == 999
    assert sidecar["securityContext"]["runAsNonRoot"] is True
    mounts = {m["mountPath"]: m for m in sidecar["volumeMounts"]}
    assert mounts["/var/run/argocd"]["name"] == "var-files"
    assert mounts["/home/argocd/cmp-server/plugins"]["name"] == "plugins"
    config = mounts["/home/argocd/cmp-server/config/plugin.yaml"]
    assert config["subPath"] == "plugin.yaml"
    assert volumes[config["name"]]["configMap"]["name"] == "k0s-policy-cmp-plugin"
    tmp = mounts["/tmp"]["name"]
    assert tmp != "tmp" and volumes[tmp] == {"name": tmp, "emptyDir": {}}  # its own /tmp


def test_repo_server_patch_shape() -> None:
    patch = yaml.safe_load((ARGOCD / "repo-server-patch.yaml").read_text())
    assert (patch["kind"], patch["metadata"]["name"]) == ("Deployment", "argocd-repo-server")
    sidecar, volumes = _sidecar(patch)
    _check_sidecar(sidecar, volumes)
    assert "var-files" not in volumes and "plugins" not in volumes  # the repo-server has those


REPO_SERVER = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: argocd-repo-server
  namespace: argocd
spec:
  selector: {matchLabels: {app.kubernetes.io/name: argocd-repo-server}}
  template:
    metadata: {labels: {app.kubernetes.io/name: argocd-repo-server}}
    spec:
      containers:
        - name: argocd-repo-server
          image: quay.io/argoproj/argocd:v2.13.0
          volumeMounts:
            - {name: var-files, mountPath: /var/run/argocd}
            - {name: plugins, mountPath: /home/argocd/cmp-server/plugins}
            - {name: tmp, mountPath: /tmp}
      volumes:
        - {name: var-files, emptyDir: {}}
        - {name: plugins, emptyDir: {}}
        - {name: tmp, emptyDir: {}}
"""


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")
def test_repo_server_patch_applies_with_kubectl(tmp_path: Path) -> None:
    deployment = write(tmp_path, "repo-server.yaml", REPO_SERVER)
    done = subprocess.run(
        [
            "kubectl",
            "patch",
            "--local",
            "-f",
            str(deployment),
            "--type",
            "strategic",
            "--patch-file",
            str(ARGOCD / "repo-server-patch.yaml"),
            "-o",
            "yaml",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    patched = yaml.safe_load(done.stdout)
    names = [c["name"] for c in patched["spec"]["template"]["spec"]["containers"]]
    assert sorted(names) == ["argocd-repo-server", "k0s-policy"]
    sidecar, volumes = _sidecar(patched)
    _check_sidecar(sidecar, volumes)
    assert {"var-files", "plugins", "tmp"} <= set(volumes)
