#!/usr/bin/env bash
# The shell steps of the k0s-policy GitHub Action (action.yml), kept here so they can be run and
# tested with plain bash outside GitHub:
#
#   action-run.sh install   create a virtualenv and install k0s-policy from the action's checkout
#   action-run.sh check     run the check: annotations on stdout, SARIF when asked for
#   action-run.sh finish    end the job with the exit code the check recorded
#
# Inputs come from environment variables; action.yml sets them from the action's inputs:
#   INPUT_PATHS          what to check, separated by blanks or new lines (default: .)
#   INPUT_K0S_VERSION    --k0s-version for every cluster (default: what the repository declares)
#   INPUT_FAIL_ON        error | warning | info | never (default: error)
#   INPUT_DIFF_BASE      git revision to compare with (--diff-base); empty: the pull request's base
#                        branch on pull_request events, none otherwise; "none" switches it off
#   INPUT_UPLOAD_SARIF   "true": also write SARIF to INPUT_SARIF_FILE (action.yml uploads it)
#   INPUT_SARIF_FILE     where the SARIF goes (default: k0s-policy.sarif)
#   INPUT_ARGS           further arguments for `k0s-policy check`, separated by blanks
#   K0S_POLICY           the k0s-policy command (default: k0s-policy on PATH)
#   K0S_POLICY_DEFER_EXIT  "true": record the exit code and exit 0, so later steps (the SARIF
#                        upload) still run; `finish` then fails the job
# and from what the runner sets: GITHUB_EVENT_NAME, GITHUB_BASE_REF, GITHUB_OUTPUT,
# GITHUB_STEP_SUMMARY, RUNNER_TEMP, GITHUB_ACTION_PATH.
#
# The check runs in the current directory, which in a workflow is the repository root
# ($GITHUB_WORKSPACE): paths in annotations and SARIF are relative to it, as GitHub expects.
set -euo pipefail

output() {  # output NAME VALUE: a step output, when running under GitHub
    # The delimiter form with a random delimiter: a line break in VALUE (a path, a file name) stays
    # inside VALUE instead of starting another output.
    if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
        local delimiter
        delimiter="k0s_policy_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
        printf '%s<<%s\n%s\n%s\n' "$1" "$delimiter" "$2" "$delimiter" >>"$GITHUB_OUTPUT"
    fi
}

escape_data() {  # escape_data TEXT: TEXT for the message of a workflow command (GitHub's escapeData)
    local text=${1//%/%25}
    text=${text//$'\r'/%0D}
    printf '%s' "${text//$'\n'/%0A}"
}

show_command() {  # show_command ARGS...: the command line, quoted, so no argument starts a log line
    local shown
    printf -v shown ' %q' "$@"
    echo "k0s-policy${shown}"
}

install() {
    local source="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"
    local python="${INSTALL_PYTHON:-python3}"
    local venv="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/k0s-policy-venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$source"
    "$venv/bin/k0s-policy" --version
    output bin "$venv/bin/k0s-policy"
}

supports() {  # supports FLAG: whether this k0s-policy's `check` knows FLAG
    local help
    help="$("$k0s_policy" check --help 2>/dev/null || true)"
    [[ "$help" == *"$1"* ]]
}

resolve_diff_base() {  # sets diff_base to the revision to compare with, or to nothing
    diff_base=""
    local base="${INPUT_DIFF_BASE:-}"
    if [[ "$base" == "none" ]]; then
        return 0
    fi
    local defaulted=false
    if [[ -z "$base" ]]; then
        case "${GITHUB_EVENT_NAME:-}" in
            pull_request | pull_request_target)
                if [[ -n "${GITHUB_BASE_REF:-}" ]]; then
                    base="origin/${GITHUB_BASE_REF}"
                    defaulted=true
                fi
                ;;
        esac
    fi
    if [[ -z "$base" ]]; then
        return 0
    fi
    if ! supports --diff-base; then
        echo "::warning title=k0s-policy::this k0s-policy has no --diff-base yet; checking the whole tree instead of the change against $(escape_data "$base")"
        return 0
    fi
    if [[ "$base" == -* ]]; then  # a revision is never an option, for git or for k0s-policy
        echo "::error title=k0s-policy::diff-base $(escape_data "$base") is not a git revision"
        return 2
    fi
    if ! git rev-parse --verify --quiet "${base}^{commit}" >/dev/null 2>&1; then
        if [[ "$defaulted" == true ]]; then
            echo "::warning title=k0s-policy::the pull request base $(escape_data "$base") is not in this checkout (use actions/checkout with fetch-depth: 0); checking the whole tree"
            return 0
        fi
        echo "::error title=k0s-policy::diff-base $(escape_data "$base") is not a commit in this checkout (use actions/checkout with fetch-depth: 0)"
        return 2
    fi
    diff_base="$base"
}

check() {
    k0s_policy="${K0S_POLICY:-k0s-policy}"
    local fail_on="${INPUT_FAIL_ON:-error}"
    case "$fail_on" in
        error | warning | info | never) ;;
        *)
            echo "::error title=k0s-policy::fail-on must be error, warning, info or never, not '$(escape_data "$fail_on")'"
            output exit-code 2
            exit 2
            ;;
    esac

    local -a paths=() extra=() args=(check)
    read -r -d '' -a paths <<<"${INPUT_PATHS:-.}" || true
    read -r -d '' -a extra <<<"${INPUT_ARGS:-}" || true
    if ((${#paths[@]} == 0)); then
        paths=(.)
    fi
    local -a common=()
    if [[ -n "${INPUT_K0S_VERSION:-}" ]]; then
        common+=(--k0s-version "$INPUT_K0S_VERSION")
    fi
    args+=("${common[@]}" --fail-on "$fail_on" --format github)
    local status=0
    resolve_diff_base || status=$?
    if ((status != 0)); then
        output exit-code "$status"
        exit "$status"
    fi
    if [[ -n "$diff_base" ]]; then
        args+=(--diff-base "$diff_base")
    fi
    local sarif=""
    local -a sarif_args=()
    if [[ "${INPUT_UPLOAD_SARIF:-false}" == "true" ]]; then
        sarif="${INPUT_SARIF_FILE:-k0s-policy.sarif}"
        mkdir -p -- "$(dirname -- "$sarif")"
        rm -f -- "$sarif"
        if [[ -n "$diff_base" ]]; then
            # Code scanning compares the pull request's alerts with the base branch's: SARIF that
            # held only what the change adds would show every older alert as fixed by it. So the
            # SARIF comes from a check of the whole tree, and only annotations and the exit code
            # from the comparison.
            sarif_args=(check "${common[@]}" --fail-on never --format sarif --output "$sarif" "${extra[@]}")
            sarif_args+=(-- "${paths[@]}")
        else
            args+=(--format sarif --output "$sarif")
        fi
    fi
    # Options end before the paths: a path such as "--ignore=K0S" is a path, never a flag.
    args+=("${extra[@]}" -- "${paths[@]}")

    show_command "${args[@]}"
    local code=0
    "$k0s_policy" "${args[@]}" || code=$?
    output exit-code "$code"
    if ((${#sarif_args[@]} > 0)); then
        show_command "${sarif_args[@]}"
        "$k0s_policy" "${sarif_args[@]}" || true
    fi
    if [[ -n "$sarif" && -s "$sarif" ]]; then
        output sarif-file "$sarif"
    fi
    if [[ "${K0S_POLICY_DEFER_EXIT:-false}" == "true" ]]; then
        exit 0
    fi
    exit "$code"
}

finish() {
    local code="${K0S_POLICY_EXIT_CODE:-0}"
    if [[ "$code" != 0 ]]; then
        echo "k0s-policy: the check exited with $code (fail-on: ${INPUT_FAIL_ON:-error})" >&2
    fi
    exit "$code"
}

case "${1:-check}" in
    install) install ;;
    check) check ;;
    finish) finish ;;
    *)
        echo "usage: $0 [install|check|finish]" >&2
        exit 2
        ;;
esac
