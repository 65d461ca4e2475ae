# K0S201 and K0S203 in Rego: images the nodes cannot get when nothing may be pulled, and
# default_pull_policy: Always in an air-gapped cluster. The set of images a node holds is the target
# release's own bundle (k0s-policy's --airgap-images lists are not read here); a cluster is
# air-gapped when the exported data says so or a worker of the k0sctl file uploads an image bundle.
package k0s.pullpolicy

import rego.v1

import data.k0s.lib

image_dir := "/var/lib/k0s/images"

policy_path := ["spec", "images", "default_pull_policy"]

deny_image_not_in_airgap_set contains result if {
	some result in missing(_configs, data.k0s_releases.registries)
}

warn_always_pull_in_airgap contains result if {
	some result in always(_configs)
}

# Worked out once per document; both rules read it.
_configs := configs(input, data.k0s_releases)

missing_images(doc, rel) := missing(configs(doc, rel), rel.registries)

always_in_airgap(doc, rel) := always(configs(doc, rel))

# One entry per ClusterConfig: what it says and what k0s makes of it on the target release.
configs(doc, rel) := [entry |
	version := lib.target(doc, rel)
	patch := lib.patch_of(version, rel)
	minors := rel.minors
	minor := minors[patch.minor]
	some view in lib.views(doc)
	written := lib.pull_policy_of(view.config)
	entry := {
		"view": view,
		"version": version,
		"patch": patch,
		"minor": minor,
		"written": written,
		"effective": effective_policy(written, patch, minor),
		"repository": lib.repository_of(view.config),
		"airgapped": airgapped(view, rel),
		"pins": [pin | some pin in lib.pins(view.config, minor, patch); pin.ref != null],
	}
]

# k0s 1.21-1.25 read default_pull_policy and then use IfNotPresent anyway.
effective_policy(written, patch, minor) := written if {
	patch.pull_policy_honoured
	written in {"Always", "IfNotPresent", "Never"}
} else := minor.default_pull_policy

airgapped(view, rel) := true if {
	rel.airgapped == true
} else := true if {
	view.k0sctl != null
	uploads_image_bundle(view.k0sctl)
} else := false

uploads_image_bundle(k0sctl) if {
	hosts := k0sctl.spec.hosts
	is_array(hosts)
	some host in hosts
	is_object(host)
	host.role in {"worker", "controller+worker", "single"}
	is_array(host.files)
	some upload in host.files
	is_object(upload)
	some target in [_text(object.get(upload, "dstDir", "")), _text(object.get(upload, "dst", ""))]
	target != ""
	trimmed := trim_right(target, "/")
	some directory in [image_dir, _images_under(object.get(host, "dataDir", null))]
	startswith(trimmed, directory)
}

_text(value) := value if is_string(value)

_text(value) := "" if not is_string(value)

_images_under(dir) := "images" if dir == ""

_images_under(dir) := concat("", [dir, "images"]) if {
	is_string(dir)
	endswith(dir, "/")
}

_images_under(dir) := concat("/", [dir, "images"]) if {
	is_string(dir)
	dir != ""
	not endswith(dir, "/")
}

_images_under(dir) := "/var/lib/k0s/images" if not is_string(dir)

metrics_scraper(view) if {
	view.k0sctl != null
	hosts := view.k0sctl.spec.hosts
	is_array(hosts)
	some host in hosts
	is_object(host)
	is_array(host.installFlags)
	some flag in host.installFlags
	is_string(flag)
	contains(flag, "--enable-metrics-scraper")
}

# The components whose images a cluster with this config runs on the release.
components(entry) := [component |
	some component in _candidates(entry.view, entry.patch)
	entry.patch.images[component]
]

_candidates(view, patch) := array.concat(
	array.concat(["konnectivity", "metricsserver", "coredns"], _kube_proxy(view.config)),
	array.concat(
		array.concat(_pause(patch), _network(view.config)),
		array.concat(_pushgateway(view), _nllb(view.config)),
	),
)

_kube_proxy(config) := [] if config.spec.network.kubeProxy.disabled == true

_kube_proxy(config) := ["kubeproxy"] if not config.spec.network.kubeProxy.disabled == true

_pause(patch) := ["pause"] if {
	patch.images.pause
	not patch.minor in {"1.21", "1.22", "1.23", "1.24", "1.25", "1.26"}
} else := []

_network(config) := ["kuberouter.cni", "kuberouter.cniInstaller"] if {
	_provider(config) == "kuberouter"
} else := ["calico.cni", "calico.node", "calico.kubecontrollers"] if {
	_provider(config) == "calico"
} else := []

_provider(config) := object.get(network, "provider", "kuberouter") if {
	network := config.spec.network
	is_object(network)
} else := "kuberouter"

_pushgateway(view) := ["pushgateway"] if metrics_scraper(view) else := []

_nllb(config) := [_nllb_component(settings)] if {
	settings := config.spec.network.nodeLocalLoadBalancing
	is_object(settings)
	settings.enabled == true
} else := []

_nllb_component(settings) := "nllb.traefik" if {
	object.get(settings, "type", "EnvoyProxy") == "Traefik"
} else := "nllb.envoyProxy"

# component -> the image k0s runs and the pin that chose it (null for the release default).
running(entry) := [item |
	some component in components(entry)
	pin := _pin_for(entry.pins, component)
	dflt := entry.patch.images[component]
	chosen := _chosen(pin, dflt)
	item := {
		"component": component,
		"pin": pin,
		"ref": lib.running(chosen, component, entry.patch, entry.repository),
	}
]

_pin_for(pins, component) := pin if {
	some pin in pins
	pin.component == component
} else := null

_chosen(pin, _) := pin.ref if pin != null

_chosen(pin, dflt) := dflt if pin == null

# What the nodes hold: the release's default images, as shipped and as renamed by the repository.
bundle(entry) := array.concat(
	[image | some component in object.keys(entry.patch.images); image := entry.patch.images[component]],
	[renamed |
		some component in object.keys(entry.patch.images)
		image := entry.patch.images[component]
		renamed := lib.running(image, component, entry.patch, entry.repository)
	],
)

# The bundle as a set of keys, so that each image the cluster runs is one lookup: name and tag
# ("nt"), name, tag and digest ("ntd"), name and tag of an image without digest ("nt0"), and name
# and digest ("nd": equal digests under one name are one image, whatever the tags say).
bundle_keys(images) := {key |
	some image in images
	name := lib.canonical(image.name)
	tag := lib.effective_tag(image)
	some key in array.concat([concat("|", ["nt", name, tag])], _digest_keys(name, tag, image.digest))
}

_digest_keys(name, tag, digest) := [concat("|", ["nt0", name, tag])] if digest == ""

_digest_keys(name, tag, digest) := [concat("|", ["ntd", name, tag, digest]), concat("|", ["nd", name, digest])] if {
	digest != ""
}

# lib.same_image, plus one digest under one name: is the image among the keys?
holds(keys, ref) if {
	ref.digest == ""
	concat("|", ["nt", lib.canonical(ref.name), lib.effective_tag(ref)]) in keys
}

holds(keys, ref) if {
	ref.digest != ""
	some key in _digest_queries(lib.canonical(ref.name), lib.effective_tag(ref), ref.digest)
	key in keys
}

_digest_queries(name, tag, digest) := [
	concat("|", ["ntd", name, tag, digest]),
	concat("|", ["nt0", name, tag]),
	concat("|", ["nd", name, digest]),
]

nothing_pulled(entry) if entry.effective == "Never"

nothing_pulled(entry) if {
	entry.airgapped
	entry.effective == "IfNotPresent"
}

# An air-gapped node may still pull from the repository or a registry it reaches.
pullable(entry, ref, registries) if {
	entry.effective != "Never"
	some reachable in array.concat(registries, [entry.repository])
	prefix := trim_right(reachable, "/")
	prefix != ""
	_under(ref.name, prefix)
}

_under(name, prefix) if name == prefix

_under(name, prefix) if startswith(name, concat("", [prefix, "/"]))

# The image is missing only because the repository is put in front twice (K0S202 reports that).
only_doubled(entry, item, images) if {
	item.pin != null
	ref := item.pin.ref
	entry.repository != ""
	not entry.patch.repository_idempotent
	item.component in entry.patch.repository_rewrites
	startswith(ref.name, entry.repository)
	lib.rewrite(ref.name, entry.repository, false) != ref.name
	once := lib.with_name(ref, lib.rewrite(ref.name, entry.repository, true))
	holds(images, once)
}

anchor(entry, item) := item.pin.anchor if {
	item.pin != null
} else := policy_path if {
	entry.written != null
	entry.written != ""
} else := []

missing(entries, registries) := {result |
	some entry in entries
	nothing_pulled(entry)
	images := bundle_keys(bundle(entry))
	some item in running(entry)
	not holds(images, item.ref)
	not pullable(entry, item.ref, registries)
	not only_doubled(entry, item, images)
	result := {
		"msg": concat("", [
			item.component, " runs ", lib.ref_text(item.ref), ", which is not in the k0s ", entry.version,
			" air-gap bundle; with pull policy ", entry.effective, _airgap_note(entry),
			" the node cannot get the image and the pod does not start",
		]),
		"id": "K0S201R",
		"_loc": lib.loc(entry.view.at, anchor(entry, item)),
	}
}

_airgap_note(entry) := " in an air-gapped cluster" if {
	entry.effective != "Never"
} else := ""

always(entries) := {result |
	some entry in entries
	entry.airgapped
	entry.written == "Always"
	entry.patch.pull_policy_honoured
	result := {
		"msg": "default_pull_policy is Always in an air-gapped cluster: every start of a k0s system pod needs a registry and the imported bundle is never used; use Never or IfNotPresent",
		"id": "K0S203R",
		"_loc": lib.loc(entry.view.at, policy_path),
	}
}
