#!/usr/bin/env bash
# Build the iota-container runtime base image (Dockerfile.base) without any image registry.
#
# Without --from, a Debian bookworm base is made once with debootstrap (minbase + python3,
# python3-venv, ca-certificates) from the mirror in this machine's apt sources, upgraded from
# bookworm-updates and bookworm-security, slimmed, imported as
# iota-container/debian:bookworm-minbase and reused on later runs. The CA bundle (default:
# this host's /etc/ssl/certs/ca-certificates.crt) is staged into the build context and
# baked into the image, so pip can reach PyPI through a TLS-intercepting proxy.
#
# Usage: build-base-image.sh [--tag TAG] [--ca-bundle FILE | --no-ca-bundle]
#                            [--from IMAGE] [--rebuild-base] [--help]
#   --tag TAG          tag of the built image            (default iota-container/base:latest)
#   --ca-bundle FILE   extra CA certificates (PEM)        (default the host's system bundle)
#   --no-ca-bundle     add no CA certificates
#   --from IMAGE       base image to build FROM, e.g. debian:bookworm-slim (skips debootstrap)
#   --rebuild-base     make the debootstrap base again even if it exists
# Environment: IOTA_DEBIAN_MIRROR, IOTA_DEBIAN_SECURITY_MIRROR override the apt sources.
set -Eeuo pipefail

readonly PROG="${0##*/}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
# shellcheck source=scripts/lib/progress.sh
source "$REPO_ROOT/scripts/lib/progress.sh"
readonly DEBOOTSTRAP_IMAGE="iota-container/debian:bookworm-minbase"
readonly DEBOOTSTRAP_PACKAGES="python3,python3-venv,ca-certificates"
readonly HOST_CA_BUNDLE="/etc/ssl/certs/ca-certificates.crt"
readonly PLACEHOLDER_CA="docker/no-extra-ca.pem"
# Inside the build context, git-ignored (docker/*.staged.pem). A fixed name: the legacy
# builder keys every RUN's cache on the build-arg values, so a varying name would bust it.
readonly STAGED_CA="docker/extra-ca-bundle.staged.pem"

tag="iota-container/base:latest"
ca_bundle=""
use_ca_bundle=1
from_image=""
rebuild_base=0
ca_source=""
ca_arg=""

rootfs=""
staged_ca_path=""
current_step="setup"
step_started=0
timings=()

die() {
    echo "$PROG: error: $*" >&2
    exit 1
}

on_error() {
    echo "$PROG: error: step '$current_step' failed (exit $1)" >&2
}
trap 'on_error $?' ERR

usage() {
    sed -n '2,19s/^# \{0,1\}//p' "$0"
}

now_us() {
    echo "${EPOCHREALTIME//[!0-9]/}"
}

step_begin() {
    current_step="$1"
    step_started="$(now_us)"
    echo "==> $current_step"
}

step_end() {
    local elapsed_ms=$((($(now_us) - step_started) / 1000))
    local elapsed
    elapsed="$((elapsed_ms / 1000)).$(printf '%03d' $((elapsed_ms % 1000)) | cut -c1)s"
    timings+=("$(printf '%-48s %8s' "$current_step" "$elapsed")")
    echo "==> $current_step: done in $elapsed"
}

parse_args() {
    while (($#)); do
        case "$1" in
            --tag) [[ $# -ge 2 && -n $2 ]] || die "--tag needs a value"; tag="$2"; shift 2 ;;
            --ca-bundle) [[ $# -ge 2 && -n $2 ]] || die "--ca-bundle needs a file"; ca_bundle="$2"; shift 2 ;;
            --no-ca-bundle) use_ca_bundle=0; shift ;;
            --from) [[ $# -ge 2 && -n $2 ]] || die "--from needs an image"; from_image="$2"; shift 2 ;;
            --rebuild-base) rebuild_base=1; shift ;;
            -h | --help) usage; exit 0 ;;
            *) die "unknown argument: $1 (see --help)" ;;
        esac
    done
    if ((!use_ca_bundle)) && [[ -n $ca_bundle ]]; then
        die "--ca-bundle and --no-ca-bundle exclude each other"
    fi
}

cleanup() {
    if [[ -n $staged_ca_path ]]; then
        rm -f "$staged_ca_path"
    fi
    if [[ -n $rootfs && -d $rootfs ]]; then
        remove_rootfs "$rootfs"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# An interrupted debootstrap can leave /proc, /sys or a bind-mounted /dev inside the
# target: unmount them, deepest first.
unmount_under() {
    local mount_point
    while read -r mount_point; do
        umount -l "$mount_point" 2>/dev/null || true
    done < <(awk -v d="$1/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r)
}

remove_rootfs() {
    unmount_under "$1"
    # --one-file-system: never follow a mount we could not undo into the host's /dev.
    rm -rf --one-file-system "${1:?}"
}

apt_install() {
    [[ $EUID -eq 0 ]] || die "installing $* needs root; run: sudo $0"
    command -v apt-get >/dev/null 2>&1 || die "$* is missing and there is no apt-get to install it"
    echo "$PROG: installing $* with apt"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null \
        || die "apt-get install $* failed"
}

# The site of the first apt source whose suite is $1, else of the first one whose URL ends
# in $2, else $3. apt-get indextargets reads both one-line and deb822 sources.
apt_source_site() {
    local suite="$1" path_suffix="$2" fallback="$3" sources site
    # shellcheck disable=SC2016 # $(SITE) is apt's placeholder, not the shell's
    sources="$(apt-get indextargets --format '$(SITE) $(RELEASE)' 2>/dev/null | sort -u || true)"
    site="$(awk -v s="$suite" '$2 == s {print $1; exit}' <<<"$sources")"
    if [[ -z $site ]]; then
        site="$(awk -v p="$path_suffix" '$1 ~ ("/" p "/?$") {print $1; exit}' <<<"$sources")"
    fi
    echo "${site:-$fallback}"
}

# apt configuration of the image: full sources (debootstrap writes only the main suite) and
# the same rules as Debian's official slim images, for whatever apt installs later too.
configure_rootfs_apt() {
    local dir="${1:?}" mirror="$2" security_mirror="$3"
    rm -f "$dir/etc/apt/sources.list"
    cat >"$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    cat >"$dir/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
    cat >"$dir/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$dir/etc/apt/apt.conf.d/docker-no-languages"
}

# debootstrap installs the bookworm suite only; bring in bookworm-updates and
# bookworm-security (openssl, python3.11, expat ...) as the official images do.
upgrade_rootfs() {
    local dir="${1:?}" log="$2"
    local -a in_chroot=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
        DEBIAN_FRONTEND=noninteractive chroot "$dir")
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    mount -t proc proc "$dir/proc"
    if ! "${in_chroot[@]}" apt-get update -q >>"$log" 2>&1 \
        || ! "${in_chroot[@]}" apt-get upgrade -y -q -o Dpkg::Options::=--force-confold >>"$log" 2>&1; then
        umount "$dir/proc"
        die "apt-get upgrade in the rootfs failed: $(tail -n 1 "$log") (full log: $log)"
    fi
    umount "$dir/proc"
}

# What the image should not carry: this host's identity, apt lists and caches, logs, docs
# (copyright files are kept).
slim_rootfs() {
    local dir="${1:?}"
    unmount_under "$dir"
    find "$dir/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$dir"/usr/share/{man,groff,info,linda,locale}/* "$dir"/usr/share/lintian/overrides/*
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/* "$dir"/var/cache/debconf/*-old
    rm -rf "$dir"/var/log/* "$dir"/tmp/* "$dir"/var/tmp/*
    mkdir -p "$dir/var/lib/apt/lists/partial" "$dir/var/cache/apt/archives/partial"
    # Docker bind-mounts its own.
    : >"$dir/etc/resolv.conf"
    : >"$dir/etc/hostname"
}

make_debootstrap_base() {
    if ((!rebuild_base)) && docker image inspect "$DEBOOTSTRAP_IMAGE" >/dev/null 2>&1; then
        echo "$PROG: reusing $DEBOOTSTRAP_IMAGE (--rebuild-base to make it again)"
        return
    fi
    [[ $EUID -eq 0 ]] || die "debootstrap needs root; run: sudo $0 (or pass --from IMAGE)"
    local missing=()
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    [[ -e /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)
    if ((${#missing[@]})); then
        apt_install "${missing[@]}"
    fi

    local mirror security_mirror log
    mirror="${IOTA_DEBIAN_MIRROR:-$(apt_source_site bookworm debian http://deb.debian.org/debian)}"
    security_mirror="${IOTA_DEBIAN_SECURITY_MIRROR:-$(apt_source_site bookworm-security \
        debian-security http://deb.debian.org/debian-security)}"
    rootfs="$(mktemp -d /var/tmp/iota-rootfs.XXXXXX)"
    log="/var/tmp/iota-debootstrap.log"

    step_begin "debootstrap ($mirror)"
    : >"$log"
    run_with_heartbeat "debootstrap" --log "$log" \
        debootstrap --variant=minbase --include="$DEBOOTSTRAP_PACKAGES" bookworm "$rootfs" "$mirror" \
        || die "debootstrap failed: $(tail -n 1 "$log") (full log: $log)"
    step_end

    step_begin "apt upgrade (updates, security)"
    configure_rootfs_apt "$rootfs" "$mirror" "$security_mirror"
    run_with_heartbeat "apt upgrade in the rootfs" upgrade_rootfs "$rootfs" "$log"
    slim_rootfs "$rootfs"
    step_end

    step_begin "docker import"
    # Docker provides /dev, /proc and /sys; the host's must not leak into the image.
    tar --numeric-owner --one-file-system -C "$rootfs" \
        --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . \
        | docker import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'ENV LANG=C.UTF-8' \
            --change 'CMD ["bash"]' \
            --message "debootstrap --variant=minbase --include=$DEBOOTSTRAP_PACKAGES bookworm $mirror" \
            - "$DEBOOTSTRAP_IMAGE" >/dev/null
    local python_version
    python_version="$(docker run --rm --network none "$DEBOOTSTRAP_IMAGE" python3 -V 2>&1)" \
        || die "$DEBOOTSTRAP_IMAGE does not run python3 -V: $python_version"
    echo "$PROG: $DEBOOTSTRAP_IMAGE runs $python_version"
    step_end
    remove_rootfs "$rootfs"
    rootfs=""
}

# Sets ca_source: the CA bundle to bake in, or "" for none. Checked before any slow step.
resolve_ca_source() {
    ca_source=""
    ((use_ca_bundle)) || return 0
    if [[ -n $ca_bundle ]]; then
        ca_source="$ca_bundle"
    elif [[ -e $HOST_CA_BUNDLE ]]; then
        ca_source="$HOST_CA_BUNDLE"
    else
        return 0
    fi
    [[ -f $ca_source && -r $ca_source ]] || die "CA bundle $ca_source is not a readable file"
    grep -q 'BEGIN CERTIFICATE' "$ca_source" || die "CA bundle $ca_source holds no PEM certificate"
}

# Sets ca_arg, the EXTRA_CA_BUNDLE build argument: a path inside the build context.
stage_ca_bundle() {
    ca_arg="$PLACEHOLDER_CA"
    [[ -n $ca_source ]] || return 0
    staged_ca_path="$REPO_ROOT/$STAGED_CA"
    cp -- "$ca_source" "$staged_ca_path"
    ca_arg="$STAGED_CA"
}

project_version() {
    local version
    version="$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$REPO_ROOT/pyproject.toml" | head -n 1)"
    echo "${version:-unknown}"
}

ensure_engine() {
    command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1 && return
    echo "$PROG: the Docker engine does not answer; starting it"
    "$REPO_ROOT/scripts/start-docker-engine.sh" || die "no Docker engine (scripts/start-docker-engine.sh failed)"
}

# The base's Python, platform and distributions, read inside it, become the label
# io.iota-container.environment: `iota-container build --backend oci` resolves and installs a
# notebook's packages for exactly that platform, without a Docker engine. A label adds no layer.
label_environment() {
    local description
    description="$(docker run --rm --network none --entrypoint python "$tag" \
        -m iota_container.environment </dev/null)" \
        || die "$tag could not describe its Python environment: $description"
    printf 'FROM %s\nARG IOTA_ENVIRONMENT\nLABEL io.iota-container.environment="${IOTA_ENVIRONMENT}"\n' "$tag" \
        | docker build --quiet --build-arg "IOTA_ENVIRONMENT=$description" --tag "$tag" - >/dev/null \
        || die "labelling $tag with its environment failed"
}

main() {
    parse_args "$@"
    local started
    started="$(now_us)"
    for required in Dockerfile.base pyproject.toml setup.py README.md iota_container "$PLACEHOLDER_CA"; do
        [[ -e $REPO_ROOT/$required ]] || die "$REPO_ROOT/$required is missing"
    done
    resolve_ca_source
    # Two builds in one checkout would delete each other's staged CA bundle: take turns.
    exec 9<"$REPO_ROOT/Dockerfile.base"
    flock -w 900 9 || die "another $PROG is still running in $REPO_ROOT"
    ensure_engine

    local base_image="$from_image"
    if [[ -z $base_image ]]; then
        make_debootstrap_base
        base_image="$DEBOOTSTRAP_IMAGE"
    fi

    stage_ca_bundle

    step_begin "docker build $tag"
    docker build \
        --file "$REPO_ROOT/Dockerfile.base" \
        --build-arg "BASE_IMAGE=$base_image" \
        --build-arg "EXTRA_CA_BUNDLE=$ca_arg" \
        --build-arg "IOTA_VERSION=$(project_version)" \
        --tag "$tag" \
        --force-rm \
        "$REPO_ROOT" \
        || die "docker build of $tag failed (base $base_image, CA bundle ${ca_source:-none})"
    step_end

    step_begin "label $tag with its Python environment"
    label_environment
    step_end

    current_step="total"
    step_started="$started"
    step_end >/dev/null
    echo "==> step durations"
    printf '    %s\n' "${timings[@]}"
    docker image ls "$tag"
}

main "$@"
