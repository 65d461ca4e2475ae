# K0S101 and K0S102 in Rego: image pins that equal the target release's default (redundant) or the
# default of another release (stale). Same findings as k0s-policy's own rules for the same target;
# see docs/integrations/conftest.md for what the Rego versions leave out.
package k0s.images

import rego.v1

import data.k0s.lib

warn_redundant_pin contains result if {
	some result in redundant(_checked)
}

deny_stale_pin contains result if {
	some result in stale(_checked, data.k0s_releases)
}

# Worked out once per document; both rules read it.
_checked := checked_pins(input, data.k0s_releases)

redundant_pins(doc, rel) := redundant(checked_pins(doc, rel))

stale_pins(doc, rel) := stale(checked_pins(doc, rel), rel)

# Every valid pin of every ClusterConfig in the document, with the release it is measured against.
checked_pins(doc, rel) := [item |
	version := lib.target(doc, rel)
	patch := lib.patch_of(version, rel)
	minors := rel.minors
	minor := minors[patch.minor]
	some view in lib.views(doc)
	repository := lib.repository_of(view.config)
	some pin in lib.pins(view.config, minor, patch)
	pin.ref != null
	item := {
		"view": {"at": view.at},
		"pin": pin,
		"patch": {
			"images": {pin.component: dflt | dflt := patch.images[pin.component]},
			"repository_idempotent": patch.repository_idempotent,
			"repository_rewrites": patch.repository_rewrites,
		},
		"version": version,
		"repository": repository,
	}
]

redundant(checked) := {result |
	some item in checked
	matches_target(item)
	result := {
		"msg": concat("", [
			item.pin.component, " is pinned to ", lib.ref_text(item.pin.ref),
			", exactly the default of the target k0s ", item.version,
			": the pin changes nothing now and goes stale at the next upgrade; remove ",
			lib.loc(item.view.at, item.pin.path), " so k0s brings the image of each release it runs",
		]),
		"id": "K0S101R",
		"_loc": lib.loc(item.view.at, item.pin.anchor),
	}
}

stale(checked, rel) := {result |
	some item in checked
	not matches_target(item)
	owners := [version | some version in owners_of(item.pin.ref, item.repository, rel); version != item.version]
	count(owners) > 0
	result := {
		"msg": concat("", [
			item.pin.component, " is pinned to ", lib.ref_text(item.pin.ref),
			", the default of ", _owner_text(owners), ", but this cluster targets k0s ", item.version,
			" (default ", _default_text(item), "); remove ", lib.loc(item.view.at, item.pin.path),
			" so k0s runs the image of the release it runs",
		]),
		"id": "K0S102R",
		"_loc": lib.loc(item.view.at, item.pin.anchor),
		"release": owners[count(owners) - 1],
	}
}

matches_target(item) if {
	dflt := item.patch.images[item.pin.component]
	component := item.pin.component
	pinned := lib.running(item.pin.ref, component, item.patch, item.repository)
	shipped := lib.running(dflt, component, item.patch, item.repository)
	lib.same_image(pinned, shipped)
}

matches_target(item) if {
	dflt := item.patch.images[item.pin.component]
	lib.same_image(item.pin.ref, dflt)
}

_default_text(item) := lib.ref_text(dflt) if {
	dflt := item.patch.images[item.pin.component]
} else := "none"

# The releases whose default this image is: as written, or (with a repository set) after k0s renamed
# a default into the repository, as controllers persist it into the ClusterConfig object.
owners_of(ref, repository, rel) := array.concat(_as_written(ref, rel), _renamed(ref, repository, rel))

_as_written(ref, rel) := [version |
	defaults := rel.defaults
	some image in object.get(defaults, [lib.canonical(ref.name), lib.effective_tag(ref)], [])
	lib.same_image(image, ref)
	some version in image.versions
]

_renamed(ref, repository, rel) := [version |
	repository != ""
	wanted := lib.canonical(ref.name)
	by_tag := rel.by_tag
	defaults := rel.defaults
	some canonical in object.get(by_tag, ref.tag, [])
	some image in object.get(defaults, [canonical, ref.tag], [])
	renamed := lib.rewrite(image.name, repository, true)
	lib.canonical(renamed) == wanted
	some version in image.versions
]

# The data lists each release once per image, so the list is the releases.
_owner_text(owners) := concat("", ["k0s ", owners[0]]) if {
	count(owners) == 1
} else := concat("", [
	"k0s ", owners[0], " to ", owners[count(owners) - 1],
	" (", format_int(count(owners), 10), " releases)",
])
