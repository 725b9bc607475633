# Sourced by the installer scripts: sets `as_root` (the command prefix that runs as root:
# nothing, or sudo) and defines `apt_install`. Needs PACKAGE (what to tell the user to
# install when neither root nor password-less sudo is available). CI has no stdin.

needs_root() {
    echo "$PACKAGE not installed; as root, run:" >&2
    echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y" \
        "--no-install-recommends $PACKAGE" >&2
    exit 1
}

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    # Without a terminal sudo cannot ask for a password: check before trying.
    if [ -t 0 ]; then as_root=(sudo); else as_root=(sudo -n); fi
    "${as_root[@]}" true || needs_root
else
    needs_root
fi

apt_install() {
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "$@"
}
