package k0s.images_test

import rego.v1

import data.k0s.images
import data.k0s.testdata

test_a_pin_equal_to_the_target_default_is_redundant if {
	doc := testdata.config({"kubeproxy": {"image": "quay.io/k0sproject/kube-proxy", "version": "v1.30.1"}})
	[[r.id, r._loc] | some r in images.redundant_pins(doc, testdata.releases)] == [["K0S101R", "spec.images.kubeproxy.version"]]
	count(images.stale_pins(doc, testdata.releases)) == 0
}

test_a_pin_of_another_release_is_stale if {
	doc := testdata.config({"coredns": {"version": "1.11.1"}})
	[[r.id, r._loc, r.release] | some r in images.stale_pins(doc, testdata.releases)] == [["K0S102R", "spec.images.coredns.version", "v1.29.4+k0s.0"]]
}

test_a_custom_pin_is_neither if {
	doc := testdata.config({"coredns": {"image": "registry.example.com/coredns", "version": "9"}})
	count(images.redundant_pins(doc, testdata.releases)) == 0
	count(images.stale_pins(doc, testdata.releases)) == 0
}

test_the_k0sctl_version_is_the_target if {
	doc := testdata.k0sctl("v1.29.4+k0s.0", {"kubeproxy": {"image": "quay.io/k0sproject/kube-proxy", "version": "v1.29.4"}}, false)
	[r._loc | some r in images.redundant_pins(doc, testdata.releases)] == ["spec.k0s.config.spec.images.kubeproxy.version"]
}

test_a_default_renamed_into_the_repository_is_stale if {
	doc := testdata.config({
		"repository": "registry.example.com",
		"kubeproxy": {"image": "registry.example.com/k0sproject/kube-proxy", "version": "v1.29.4"},
	})
	[r.id | some r in images.stale_pins(doc, testdata.releases)] == ["K0S102R"]
}

test_an_invalid_reference_is_left_to_the_schema_rules if {
	doc := testdata.config({"coredns": {"image": "quay.io/K0sproject/coredns", "version": "1.11.1"}})
	count(images.stale_pins(doc, testdata.releases)) == 0
}
