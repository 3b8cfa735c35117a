# Sourced by install.sh and test.sh: apt_install PACKAGE... installs Debian packages with
# apt-get (through sudo when not root and sudo exists), refreshing the package lists once if the
# first try fails. Returns non-zero when apt-get is missing or the install failed.
apt_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    local sudo=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
    $sudo apt-get install -y -qq "$@" >/dev/null 2>&1 \
        || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq "$@" >/dev/null; }
}
