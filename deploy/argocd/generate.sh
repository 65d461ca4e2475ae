#!/bin/sh
# Argo CD Config Management Plugin (v2) "generate" step for k0s-policy.
#
# Runs in the application's source directory inside the k0s-policy sidecar of argocd-repo-server.
#   stdout  the application's manifests, unchanged, and nothing else: Argo CD applies what is here
#   stderr  the k0s-policy report (Argo CD shows it with the manifest-generation error)
#   exit    0 when no finding reaches the fail level; otherwise non-zero and no manifests, so
#           manifest generation fails and Argo CD does not sync
#
# What is checked is what is emitted. With a kustomization in the directory, `kustomize build .` (or
# `kubectl kustomize .`) renders the manifests and k0s-policy checks that rendered stream. Without
# one, the script prints every non-empty YAML/JSON file below the directory except hidden ones and
# k0sctl files (k0sctl input, not objects a cluster can apply), and names each of those files, the
# k0sctl files too, to k0s-policy, which checks them in place (exact file:line locations): a named
# file is read whatever it contains and whatever `exclude:` says. A file name k0s-policy would read
# as a pattern (with * ? [) or that holds a line break blocks the sync instead.
#
# The app's .k0s-policy.yaml may tighten the check (raise severities, declare clusters) but not
# switch rules off, lower them, ignore findings or exclude files (--strict-config), unless the
# operator allows it with the allow-config-relax parameter. Nothing from the repository is executed.
#
# Settings: a plugin parameter wins over the Application's plugin env (Argo CD prefixes that with
# ARGOCD_ENV_), which wins over the default.
#   fail-on      / K0S_POLICY_FAIL_ON      lowest severity that blocks: error (default), warning, info, never
#   k0s-version  / K0S_POLICY_K0S_VERSION  target k0s version when nothing in the app declares it
#   select       / K0S_POLICY_SELECT       only these rules (ids or prefixes, comma separated)
#   ignore       / K0S_POLICY_IGNORE       skip these rules (ids or prefixes, comma separated)
#   allow-config-relax / K0S_POLICY_ALLOW_CONFIG_RELAX  "true": the app's .k0s-policy.yaml may switch
#                rules off, lower severities, ignore and exclude, as in CI (default: it may not)
# K0S_POLICY (the sidecar's own env) names the k0s-policy executable, `k0s-policy` by default.
set -eu

fail_on=${PARAM_FAIL_ON:-${ARGOCD_ENV_K0S_POLICY_FAIL_ON:-error}}
k0s_version=${PARAM_K0S_VERSION:-${ARGOCD_ENV_K0S_POLICY_K0S_VERSION:-}}
select_rules=${PARAM_SELECT:-${ARGOCD_ENV_K0S_POLICY_SELECT:-}}
ignore_rules=${PARAM_IGNORE:-${ARGOCD_ENV_K0S_POLICY_IGNORE:-}}
allow_relax=${PARAM_ALLOW_CONFIG_RELAX:-${ARGOCD_ENV_K0S_POLICY_ALLOW_CONFIG_RELAX:-false}}
k0s_policy=${K0S_POLICY:-k0s-policy}

set -- check --format text --fail-on "$fail_on"
if [ -n "$k0s_version" ]; then set -- "$@" --k0s-version "$k0s_version"; fi
if [ -n "$select_rules" ]; then set -- "$@" --select "$select_rules"; fi
if [ -n "$ignore_rules" ]; then set -- "$@" --ignore "$ignore_rules"; fi
case "$allow_relax" in
    true) ;;
    false) set -- "$@" --strict-config ;;
    *)
        echo "k0s-policy: allow-config-relax must be true or false, not '$allow_relax'" >&2
        exit 2
        ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/k0s-policy-cmp.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
manifests="$work/manifests.yaml"
: >"$manifests"

app=${ARGOCD_APP_NAME:-this application}

if [ -f kustomization.yaml ] || [ -f kustomization.yml ] || [ -f Kustomization ]; then
    if command -v kustomize >/dev/null 2>&1; then
        kustomize build . >"$manifests"
    else
        kubectl kustomize . >"$manifests"
    fi
    set -- "$@" -- -
    input=$manifests
else
    newline='
'
    # a name with a line break would be two names below: refuse it before reading the list
    if [ -n "$(find . -mindepth 1 -name '.*' -prune -o -type f -name "*$newline*" -print)" ]; then
        echo "k0s-policy: a file name in $app holds a line break: it cannot be checked exactly; rename it" >&2
        exit 2
    fi
    find . -mindepth 1 -name '.*' -prune -o -type f \
        \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) -print | LC_ALL=C sort >"$work/files"
    set -- "$@" --
    first=1
    while IFS= read -r file; do
        case "$file" in
            *'*'* | *'?'* | *'['*)
                echo "k0s-policy: $file: k0s-policy reads * ? [ in a name as a pattern, so the file cannot be checked exactly; rename it" >&2
                exit 2
                ;;
        esac
        if [ ! -s "$file" ]; then continue; fi  # nothing to emit, nothing to check
        set -- "$@" "${file#./}"
        if grep -Eq '^apiVersion:[[:space:]]*["'\'']?k0sctl\.k0sproject\.io/' "$file"; then
            echo "k0s-policy: ${file#./} is a k0sctl file: checked, not emitted" >&2
            continue
        fi
        if [ "$first" -eq 0 ]; then printf -- '---\n' >>"$manifests"; fi
        first=0
        cat "$file" >>"$manifests"
        # a file without a final newline must not glue its last line to the separator
        if [ -n "$(tail -c 1 "$file")" ]; then echo >>"$manifests"; fi
    done <"$work/files"
    input=/dev/null
fi

status=0
"$k0s_policy" "$@" <"$input" >&2 || status=$?
if [ "$status" -ne 0 ]; then
    echo "k0s-policy: blocking the sync of $app (exit $status, fail level $fail_on)" >&2
    exit "$status"
fi
cat "$manifests"
