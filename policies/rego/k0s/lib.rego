# Shared helpers of the k0s checks in Rego: which ClusterConfigs a document holds, the release a
# cluster targets, the images a ClusterConfig pins, and image references compared the way the
# container runtimes and k0s compare them.
#
# Every helper takes the document and the release data (data.k0s_releases, written by
# `k0s-policy releases export-data`) as arguments, so the tests call them directly.
#
# Written for rego-cpp (regopy) as well as OPA: a data subtree is bound to a local variable before
# it is indexed with a variable (rego-cpp is slow otherwise), no `some k, v in` inside
# comprehensions, no function calls inside brackets, no sprintf with several string arguments.
package k0s.lib

import rego.v1

k0s_api := "k0s.k0sproject.io/v1beta1"

k0sctl_api := "k0sctl.k0sproject.io/v1beta1"

is_cluster_config(doc) if {
	doc.apiVersion == k0s_api
	doc.kind in {"ClusterConfig", "Cluster"}
}

is_k0sctl(doc) if {
	doc.apiVersion == k0sctl_api
	doc.kind in {"Cluster", "cluster"}
}

# The ClusterConfigs of a document: the document itself, the config embedded in a k0sctl file, or
# the items of a `kind: List`. `at` is where the config sits in the document; `k0sctl` is the
# k0sctl Cluster around it (null for a standalone config).
views(doc) := array.concat(
	array.concat(
		[{"config": doc, "at": [], "k0sctl": null} | is_cluster_config(doc)],
		[{"config": config, "at": ["spec", "k0s", "config"], "k0sctl": doc} |
			is_k0sctl(doc)
			config := doc.spec.k0s.config
			is_object(config)
		],
	),
	[{"config": item, "at": ["items", i], "k0sctl": null} |
		doc.kind == "List"
		is_array(doc.items)
		some i
		item := doc.items[i]
		is_cluster_config(item)
	],
)

# A YAML path as k0s-policy reads `_loc`: "spec.images.kubeproxy.version".
loc(at, rest) := concat(".", [_segment(part) | some part in array.concat(at, rest)])

_segment(part) := part if is_string(part)

_segment(part) := format_int(part, 10) if is_number(part)

# --- the target release ---------------------------------------------------------------------------

# The version the cluster is checked against: the exported target (k0s-policy's --k0s-version), the
# k0sctl spec.k0s.version of the document, else the newest known release.
declared(doc, rel) := rel.target if {
	rel.target != ""
} else := version if {
	is_k0sctl(doc)
	version := doc.spec.k0s.version
	is_string(version)
	version != ""
} else := rel.newest

target(doc, rel) := resolve(declared(doc, rel), rel)

# A release with its default images and renamed components spelled out (the data stores them compactly).
patch_of(version, rel) := {
	"version": version,
	"minor": minor,
	"pull_policy_honoured": found.pull_policy_honoured,
	"repository_idempotent": found.repository_idempotent,
	"repository_rewrites": rewrites,
	"images": {component: unpack(found.images[component]) | some component in object.keys(found.images)},
} if {
	minor := minor_of(version)
	found := _patch_record(version, minor, rel)
	sets := rel.rewrite_sets
	rewrites := sets[found.rewrites]
}

_patch_record(version, minor, rel) := found if {
	patches := rel.patches
	found := object.get(patches, [minor, version], null)
	found != null
}

# The data packs a default image as "name|tag|digest".
unpack(packed) := {"name": parts[0], "tag": parts[1], "digest": parts[2]} if {
	parts := split(packed, "|")
}

# "v1.30.5+k0s.0" -> "1.30"
minor_of(version) := concat(".", array.slice(split(trim_prefix(version, "v"), "."), 0, 2))

# An exact tag, a minor ("1.30": its newest patch) or a Kubernetes patch ("v1.30.2": its newest
# +k0s.N build). Other versions are left undefined: those checks then do not run.
resolve(text, rel) := version if {
	version := concat("", ["v", _bare(text)])
	_patch_record(version, minor_of(version), rel)
} else := version if {
	bare := _bare(text)
	regex.match(`^[0-9]+\.[0-9]+$`, bare)
	minors := rel.minors
	patches := minors[bare].patches
	version := patches[count(patches) - 1]
} else := version if {
	bare := _bare(text)
	regex.match(`^[0-9]+\.[0-9]+\.[0-9]+$`, bare)
	parts := split(bare, ".")
	minor := concat(".", [parts[0], parts[1]])
	prefix := concat("", ["v", bare, "+"])
	minors := rel.minors
	builds := [p | some p in minors[minor].patches; startswith(p, prefix)]
	count(builds) > 0
	version := builds[count(builds) - 1]
}

_bare(text) := trim_prefix(trim_space(text), "v")

# --- image references -----------------------------------------------------------------------------

_component := `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`

# A registry host is a first segment with a dot, a port or the name localhost.
_host := concat("", [
	`(?:`, _component, `(?:\.`, _component, `)+(?::[0-9]+)?|`, _component, `:[0-9]+|localhost|`,
	`\[[0-9a-fA-F:]+\](?::[0-9]+)?)`,
])

_segment_re := `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`

_reference := concat("", [
	`^(?:`, _host, `/)?`, _segment_re, `(?:/`, _segment_re, `)*`,
	`(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}))?$`,
])

host_like(segment) if contains(segment, ".")

host_like(segment) if contains(segment, ":")

host_like(segment) if segment == "localhost"

# `name[:tag][@digest]` split into its parts; undefined when the container tools would reject it.
parse_image(text) := ref if {
	is_string(text)
	regex.match(_reference, text)
	ref := split_ref(text)
	count(ref.name) <= 255
}

# The parts of a reference known to be valid (the release data's).
split_ref(text) := {"name": name, "tag": tag, "digest": digest} if {
	at := split(text, "@")
	digest := _digest_part(at)
	parts := split(at[0], ":")
	tag := _tag_part(parts)
	name := _name_part(at[0], parts, tag)
}

_digest_part(at) := "" if count(at) == 1

_digest_part(at) := at[1] if count(at) == 2

# The text after the last colon is a tag when no slash follows that colon.
_tag_part(parts) := "" if count(parts) == 1

_tag_part(parts) := "" if {
	count(parts) > 1
	contains(parts[count(parts) - 1], "/")
}

_tag_part(parts) := tag if {
	count(parts) > 1
	tag := parts[count(parts) - 1]
	not contains(tag, "/")
}

_name_part(remainder, _, tag) := remainder if tag == ""

_name_part(_, parts, tag) := concat(":", array.slice(parts, 0, count(parts) - 1)) if tag != ""

_has_registry(segments) if {
	count(segments) > 1
	host_like(segments[0])
}

ref_text(ref) := concat("", [ref.name, _suffix(":", ref.tag), _suffix("@", ref.digest)])

_suffix(_, value) := "" if value == ""

_suffix(separator, value) := concat("", [separator, value]) if value != ""

# The fully qualified name: "coredns" is docker.io/library/coredns.
canonical(name) := _qualify(_registry(parts[0]), concat("/", array.slice(parts, 1, count(parts)))) if {
	parts := split(name, "/")
	_has_registry(parts)
} else := _qualify("docker.io", name)

_registry(host) := "docker.io" if host == "index.docker.io"

_registry(host) := host if host != "index.docker.io"

_qualify(registry, path) := concat("/", [registry, "library", path]) if {
	registry == "docker.io"
	not contains(path, "/")
} else := concat("/", [registry, path])

# Same canonical name and tag (none at all means "latest"); digests count only when both have one.
same_image(a, b) if {
	canonical(a.name) == canonical(b.name)
	effective_tag(a) == effective_tag(b)
	_digests_agree(a.digest, b.digest)
}

effective_tag(ref) := "latest" if {
	ref.tag == ""
	ref.digest == ""
} else := ref.tag

_digests_agree(a, _) if a == ""

_digests_agree(_, b) if b == ""

_digests_agree(a, b) if a == b

with_name(ref, name) := {"name": name, "tag": ref.tag, "digest": ref.digest}

# k0s's spec.images.repository rewrite: a registry host is replaced, otherwise the repository goes
# in front; releases with the idempotency guard leave names that already start with it alone.
rewrite(name, repository, _) := name if repository == ""

rewrite(name, repository, idempotent) := name if {
	repository != ""
	idempotent
	startswith(name, repository)
}

rewrite(name, repository, idempotent) := concat("/", [repository, _after_host(name)]) if {
	repository != ""
	not _kept(name, repository, idempotent)
}

_kept(name, repository, idempotent) if {
	idempotent == true
	startswith(name, repository)
}

_after_host(name) := concat("/", array.slice(parts, 1, count(parts))) if {
	parts := split(name, "/")
	_has_registry(parts)
} else := name

# The image k0s runs for a component: the repository rewrite applied where the release applies it.
running(ref, component, patch, repository) := with_name(ref, rewrite(ref.name, repository, patch.repository_idempotent)) if {
	repository != ""
	component in patch.repository_rewrites
} else := ref

# --- what a ClusterConfig sets --------------------------------------------------------------------

repository_of(config) := repository if {
	repository := config.spec.images.repository
	is_string(repository)
} else := ""

pull_policy_of(config) := policy if {
	policy := config.spec.images.default_pull_policy
	is_string(policy)
} else := null

# Every image the config sets explicitly on this release, as k0s reads it: a missing name or tag is
# the release's default. `ref` is null when the result is no valid image reference.
pins(config, minor, patch) := [pin |
	some component in object.keys(minor.image_paths)
	path := split(minor.image_paths[component], ".")
	node := object.get(config, path, null)
	is_object(node)
	_sets_image(node)
	pin := {
		"component": component,
		"path": path,
		"anchor": _anchor(node, path),
		"ref": _pin_ref(node, object.get(patch.images, component, null)),
	}
]

_sets_image(node) if "image" in object.keys(node)

_sets_image(node) if "version" in object.keys(node)

_anchor(node, path) := array.concat(path, ["version"]) if {
	"version" in object.keys(node)
} else := array.concat(path, ["image"])

_pin_ref(node, dflt) := ref if {
	image := _image_of(object.get(node, "image", null), dflt)
	is_string(image)
	image != ""
	base := _parsed_or_null(image)
	ref := _combine(image, base, _version_of(object.get(node, "version", null), base, dflt))
} else := null

_image_of(image, dflt) := dflt.name if {
	_falsy(image)
	dflt != null
} else := image

_parsed_or_null(image) := parsed if {
	parsed := parse_image(image)
} else := null

# A version left out is the release's default tag, unless the image names a tag or digest itself.
_version_of(version, base, dflt) := dflt.tag if {
	_falsy(version)
	dflt != null
	not _tagged(base)
} else := version if {
	is_string(version)
} else := ""

_tagged(base) if {
	base != null
	base.tag != ""
}

_tagged(base) if {
	base != null
	base.digest != ""
}

# k0s joins image and version as "image:version"; a tag in both, or a bare digest as version, is invalid.
_combine(_, base, version) := base if {
	version == ""
	base != null
}

_combine(image, base, version) := parse_image(concat(":", [image, version])) if {
	version != ""
	base != null
	not _tagged(base)
	not startswith(version, "sha256:")
	not startswith(version, "sha512:")
}

_falsy(value) if value == null

_falsy(value) if value == ""

_falsy(value) if value == false

_falsy(value) if value == 0

_falsy(value) if value == []

_falsy(value) if value == {}
