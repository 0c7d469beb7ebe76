#!/usr/bin/env bash
# Install what building Provisio needs on a fresh Debian or Ubuntu machine:
# a C compiler and the X11/OpenGL headers Fyne compiles against, Xvfb,
# on which the console-start test opens the real window, Chromium, the
# real browser the web client's tests drive, systemd-analyze, which
# checks the service unit, and strace, with which a test holds what the
# server does against the unit's sandbox.
#
# Idempotent: when everything is installed it only says so, without running
# apt-get, so `make` can call it before every build. Prints one line saying
# what it did (plus a hint if Go is installed but not on PATH).
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

packages=(gcc libgl1-mesa-dev xorg-dev libxkbcommon-dev pkg-config xvfb systemd strace chromium)

if ! command -v go >/dev/null 2>&1; then
	if [ -x /usr/local/go/bin/go ]; then
		echo "deps: go is in /usr/local/go/bin but not on PATH; add: export PATH=/usr/local/go/bin:\$PATH (make does this itself)"
	else
		echo "deps: go not found; install Go 1.26 or later from https://go.dev/dl/" >&2
		exit 1
	fi
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: not a Debian system (no dpkg-query); install a C compiler, pkg-config and the X11/GL headers yourself"
	exit 0
fi

missing=()
for p in "${packages[@]}"; do
	# A removed package keeps a status such as "deinstall ok config-files",
	# so only the exact installed status counts.
	if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: all system packages already installed (${packages[*]})"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1; then
	# sudo drops the environment by default; env carries DEBIAN_FRONTEND
	# across without needing a sudoers SETENV rule.
	as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
else
	echo "deps: missing ${missing[*]}, and this is neither root nor has sudo; install them as root: apt-get install ${missing[*]}" >&2
	exit 1
fi

"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}"
