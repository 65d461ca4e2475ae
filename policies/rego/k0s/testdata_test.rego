# A small release catalogue in the shape `k0s-policy releases export-data` writes, for the unit
# tests: 1.25 (ignores default_pull_policy), 1.29 and 1.30 with two images each.
package k0s.testdata

import rego.v1

paths := {"kubeproxy": "spec.images.kubeproxy", "coredns": "spec.images.coredns"}

releases := {
	"format": 1,
	"newest": "v1.30.1+k0s.0",
	"target": "",
	"airgapped": false,
	"registries": [],
	"minors": {
		"1.25": {"default_pull_policy": "IfNotPresent", "image_paths": paths, "patches": ["v1.25.2+k0s.0"]},
		"1.29": {"default_pull_policy": "IfNotPresent", "image_paths": paths, "patches": ["v1.29.4+k0s.0"]},
		"1.30": {
			"default_pull_policy": "IfNotPresent",
			"image_paths": paths,
			"patches": ["v1.30.0+k0s.0", "v1.30.1+k0s.0"],
		},
	},
	"patches": {
		"1.25": {"v1.25.2+k0s.0": _patch(false, false, "v1.25.2", "1.9.4")},
		"1.29": {"v1.29.4+k0s.0": _patch(true, false, "v1.29.4", "1.11.1")},
		"1.30": {
			"v1.30.0+k0s.0": _patch(true, false, "v1.30.0", "1.11.3"),
			"v1.30.1+k0s.0": _patch(true, true, "v1.30.1", "1.11.3"),
		},
	},
	"rewrite_sets": [["coredns", "kubeproxy"]],
	"defaults": {
		"quay.io/k0sproject/kube-proxy": {
			"v1.25.2": [_image("quay.io/k0sproject/kube-proxy", "v1.25.2", ["v1.25.2+k0s.0"])],
			"v1.29.4": [_image("quay.io/k0sproject/kube-proxy", "v1.29.4", ["v1.29.4+k0s.0"])],
			"v1.30.0": [_image("quay.io/k0sproject/kube-proxy", "v1.30.0", ["v1.30.0+k0s.0"])],
			"v1.30.1": [_image("quay.io/k0sproject/kube-proxy", "v1.30.1", ["v1.30.1+k0s.0"])],
		},
		"quay.io/k0sproject/coredns": {
			"1.9.4": [_image("quay.io/k0sproject/coredns", "1.9.4", ["v1.25.2+k0s.0"])],
			"1.11.1": [_image("quay.io/k0sproject/coredns", "1.11.1", ["v1.29.4+k0s.0"])],
			"1.11.3": [_image("quay.io/k0sproject/coredns", "1.11.3", ["v1.30.0+k0s.0", "v1.30.1+k0s.0"])],
		},
	},
	"by_tag": {
		"v1.25.2": ["quay.io/k0sproject/kube-proxy"],
		"v1.29.4": ["quay.io/k0sproject/kube-proxy"],
		"v1.30.0": ["quay.io/k0sproject/kube-proxy"],
		"v1.30.1": ["quay.io/k0sproject/kube-proxy"],
		"1.9.4": ["quay.io/k0sproject/coredns"],
		"1.11.1": ["quay.io/k0sproject/coredns"],
		"1.11.3": ["quay.io/k0sproject/coredns"],
	},
}

airgapped_releases := object.union(releases, {"airgapped": true})

_patch(honoured, idempotent, proxy, dns) := {
	"pull_policy_honoured": honoured,
	"repository_idempotent": idempotent,
	"rewrites": 0,
	"images": {
		"kubeproxy": concat("|", ["quay.io/k0sproject/kube-proxy", proxy, ""]),
		"coredns": concat("|", ["quay.io/k0sproject/coredns", dns, ""]),
	},
}

_image(name, tag, versions) := {"name": name, "tag": tag, "digest": "", "versions": versions}

# A standalone ClusterConfig with these spec.images.
config(images) := {"apiVersion": "k0s.k0sproject.io/v1beta1", "kind": "ClusterConfig", "spec": {"images": images}}

# A k0sctl Cluster on `version` whose worker imports a bundle when `bundle` is true.
k0sctl(version, images, bundle) := {
	"apiVersion": "k0sctl.k0sproject.io/v1beta1",
	"kind": "Cluster",
	"spec": {
		"hosts": [{"role": "worker", "files": _uploads(bundle)}],
		"k0s": {"version": version, "config": {"spec": {"images": images}}},
	},
}

_uploads(bundle) := [{"src": "bundle.tar", "dstDir": "/var/lib/k0s/images/"}] if bundle

_uploads(bundle) := [] if not bundle
