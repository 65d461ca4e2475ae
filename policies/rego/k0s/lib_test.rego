package k0s.lib_test

import rego.v1

import data.k0s.lib
import data.k0s.testdata

test_parse_image_splits_name_tag_and_digest if {
	lib.parse_image("10.0.0.5:5000/mirror/coredns:1.11.3") == {"name": "10.0.0.5:5000/mirror/coredns", "tag": "1.11.3", "digest": ""}
	digest := concat("", ["sha256:", concat("", [x | some _ in numbers.range(1, 64); x := "a"])])
	parsed := lib.parse_image(concat("@", ["coredns", digest]))
	parsed.tag == ""
	parsed.digest == digest
}

test_parse_image_rejects_what_the_container_tools_reject if {
	not lib.parse_image("quay.io/K0sproject/coredns:1")
	not lib.parse_image("quay.io/k0sproject/coredns:1 2")
	not lib.parse_image("coredns@sha256:abc")
	not lib.parse_image("")
}

test_canonical_names_fill_in_docker_hub if {
	lib.canonical("coredns") == "docker.io/library/coredns"
	lib.canonical("index.docker.io/foo/bar") == "docker.io/foo/bar"
	lib.canonical("quay.io/k0sproject/coredns") == "quay.io/k0sproject/coredns"
}

test_an_image_without_tag_is_latest if {
	lib.same_image(lib.parse_image("nginx"), lib.parse_image("docker.io/library/nginx:latest"))
	not lib.same_image(lib.parse_image("nginx:1"), lib.parse_image("nginx:2"))
}

test_repository_rewrite if {
	lib.rewrite("quay.io/k0sproject/coredns", "registry.example.com", false) == "registry.example.com/k0sproject/coredns"
	lib.rewrite("coredns", "registry.example.com", false) == "registry.example.com/coredns"
	lib.rewrite("registry.example.com/coredns", "registry.example.com", false) == "registry.example.com/coredns"
	lib.rewrite("registry.example.com/x/coredns", "registry.example.com", true) == "registry.example.com/x/coredns"
	lib.rewrite("coredns", "", false) == "coredns"
}

test_resolve_minor_patch_and_tag if {
	lib.resolve("1.30", testdata.releases) == "v1.30.1+k0s.0"
	lib.resolve("v1.30.0", testdata.releases) == "v1.30.0+k0s.0"
	lib.resolve(" v1.29.4+k0s.0 ", testdata.releases) == "v1.29.4+k0s.0"
	not lib.resolve("1.99", testdata.releases)
	not lib.resolve("v1.30.7", testdata.releases)
}

test_target_is_the_k0sctl_version_else_the_newest if {
	lib.target(testdata.k0sctl("1.29", {}, false), testdata.releases) == "v1.29.4+k0s.0"
	lib.target(testdata.config({}), testdata.releases) == "v1.30.1+k0s.0"
	exported := object.union(testdata.releases, {"target": "v1.30.0+k0s.0"})
	lib.target(testdata.k0sctl("1.29", {}, false), exported) == "v1.30.0+k0s.0"
}

test_views_find_embedded_and_listed_configs if {
	[view.at | some view in lib.views(testdata.k0sctl("1.30", {}, false))] == [["spec", "k0s", "config"]]
	listed := {"apiVersion": "v1", "kind": "List", "items": [{"kind": "Pod"}, testdata.config({})]}
	[view.at | some view in lib.views(listed)] == [["items", 1]]
}

test_pins_fill_in_the_default_name_or_tag if {
	patch := lib.patch_of("v1.30.1+k0s.0", testdata.releases)
	minor := testdata.releases.minors["1.30"]
	pins := lib.pins({"spec": {"images": {"coredns": {"version": "1.11.1"}}}}, minor, patch)
	[pin.ref | some pin in pins] == [{"name": "quay.io/k0sproject/coredns", "tag": "1.11.1", "digest": ""}]
	[pin.anchor | some pin in pins] == [["spec", "images", "coredns", "version"]]
}

test_a_tag_in_image_and_version_is_no_valid_pin if {
	patch := lib.patch_of("v1.30.1+k0s.0", testdata.releases)
	minor := testdata.releases.minors["1.30"]
	pins := lib.pins({"spec": {"images": {"coredns": {"image": "coredns:1", "version": "2"}}}}, minor, patch)
	[pin.ref | some pin in pins] == [null]
}
