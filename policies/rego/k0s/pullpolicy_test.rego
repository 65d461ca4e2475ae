package k0s.pullpolicy_test

import rego.v1

import data.k0s.pullpolicy
import data.k0s.testdata

test_never_with_an_image_outside_the_bundle if {
	doc := testdata.config({"default_pull_policy": "Never", "coredns": {"version": "1.11.1"}})
	[[r.id, r._loc] | some r in pullpolicy.missing_images(doc, testdata.releases)] == [["K0S201R", "spec.images.coredns.version"]]
}

test_never_with_the_release_defaults_is_fine if {
	doc := testdata.config({"default_pull_policy": "Never"})
	count(pullpolicy.missing_images(doc, testdata.releases)) == 0
}

test_if_not_present_pulls_when_the_cluster_is_online if {
	doc := testdata.config({"coredns": {"version": "1.11.1"}})
	count(pullpolicy.missing_images(doc, testdata.releases)) == 0
	[r.id | some r in pullpolicy.missing_images(doc, testdata.airgapped_releases)] == ["K0S201R"]
}

test_a_reachable_registry_may_still_serve_the_image if {
	doc := testdata.config({"coredns": {"image": "registry.example.com/coredns", "version": "1"}})
	online := object.union(testdata.airgapped_releases, {"registries": ["registry.example.com/"]})
	count(pullpolicy.missing_images(doc, online)) == 0
}

test_always_in_a_cluster_that_imports_a_bundle if {
	doc := testdata.k0sctl("1.30", {"default_pull_policy": "Always"}, true)
	[[r.id, r._loc] | some r in pullpolicy.always_in_airgap(doc, testdata.releases)] == [["K0S203R", "spec.k0s.config.spec.images.default_pull_policy"]]
	count(pullpolicy.always_in_airgap(testdata.k0sctl("1.30", {"default_pull_policy": "Always"}, false), testdata.releases)) == 0
}

test_releases_before_1_26_ignore_the_policy if {
	doc := testdata.k0sctl("1.25", {"default_pull_policy": "Always"}, true)
	count(pullpolicy.always_in_airgap(doc, testdata.releases)) == 0
}

test_bundle_uploads_follow_the_data_dir if {
	host := {"role": "worker", "dataDir": "/srv/k0s/", "files": [{"dst": "/srv/k0s/images/bundle.tar"}]}
	pullpolicy.uploads_image_bundle({"spec": {"hosts": [host]}})
	not pullpolicy.uploads_image_bundle({"spec": {"hosts": [object.union(host, {"role": "controller"})]}})
}
