"""Publishing a PolicyReport to the API server (``audit --publish-report``).

One server-side apply (a PATCH with ``application/apply-patch+yaml``, field manager ``k0s-policy``,
forced) creates the report on the first run and replaces its results on every later one: the CRD's
``results`` list is atomic, so the applied list is the whole list. The write needs ``create`` and
``patch`` on ``policyreports.wgpolicyk8s.io`` in the report's namespace and nothing else
(deploy/kubernetes/rbac.yaml). The ``kubernetes`` client (extra ``[live]``) is imported only here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from checker.inputs.live import DEFAULT_TIMEOUT, LiveError, client_configuration
from checker.report.policyreport import FIELD_MANAGER, GROUP, VERSION

PLURAL = "policyreports"
APPLY_PATCH = "application/apply-patch+yaml"
DEFAULT_NAMESPACE = "k0s-policy"
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def default_namespace(in_cluster: bool, account_file: Path = SERVICE_ACCOUNT_NAMESPACE) -> str:
    """The pod's own namespace in a cluster (where its Role allows the write), k0s-policy otherwise."""
    if in_cluster:
        try:
            namespace = account_file.read_text(encoding="utf-8").strip()
        except OSError:
            namespace = ""
        if namespace:
            return namespace
    return DEFAULT_NAMESPACE


def publish(
    report: dict[str, Any],
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    in_cluster: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Applies one namespaced PolicyReport; returns "namespace/name" of the object written.

    LiveError when the client, the credentials, the CRD or the permission is missing."""
    metadata = report["metadata"]
    namespace, name = metadata["namespace"], metadata["name"]
    configuration, _ = client_configuration(kubeconfig, context, in_cluster)
    configuration.retries = 1
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    where = f"policyreports.{GROUP} {namespace}/{name}"
    with client.ApiClient(configuration) as api:
        custom = client.CustomObjectsApi(api)
        try:
            response: Any = custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                report,
                field_manager=FIELD_MANAGER,
                force=True,
                _content_type=APPLY_PATCH,
                _preload_content=False,
                _request_timeout=(timeout, timeout),
            )
        except ApiException as err:
            if err.status == 404:
                raise LiveError(
                    f"the cluster serves no {GROUP}/{VERSION} PolicyReports, or no namespace {namespace}: "
                    "install the PolicyReport CRD (Policy Reporter or Kyverno ship it)"
                ) from None
            if err.status in (401, 403):
                raise LiveError(
                    f"the API server refused to let us apply {where} (HTTP {err.status}); publishing needs "
                    f"create and patch on policyreports.{GROUP} in {namespace} (deploy/kubernetes/rbac.yaml)"
                ) from None
            raise LiveError(f"applying {where} failed: HTTP {err.status} {err.reason}") from None
        except (HTTPError, OSError) as err:
            raise LiveError(f"cannot reach the API server at {configuration.host}: {err}") from None
    try:
        written = json.loads(response.data)
    except (ValueError, UnicodeDecodeError) as err:
        raise LiveError(f"applying {where}: the answer is not JSON ({err})") from None
    if not isinstance(written, dict) or written.get("kind") != "PolicyReport":
        raise LiveError(f"applying {where}: the API server did not answer with the PolicyReport")
    return f"{namespace}/{name}"
