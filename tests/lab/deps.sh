#!/bin/sh
# Install the Debian packages that building hmctl and running its tests need.
#
# `make deps` runs this before `make test`, `make demo` and `make check-asan`, so it must be
# cheap and silent when everything is present already: dpkg-query is asked first, and apt-get
# (with its `update`) runs only for what is missing.
set -eu

PACKAGES="
build-essential pkg-config
libncurses-dev libcurl4-openssl-dev libjansson-dev libssh2-1-dev libsqlite3-dev libssl-dev
libinih-dev libxlsxwriter-dev libarchive-dev libmicrohttpd-dev libmariadb-dev libcmocka-dev
zlib1g-dev libminizip-dev
bats bats-assert bats-support mandoc
docker.io busybox-static rabbitmq-server mariadb-server redis-server influxdb
openssh-server openssh-client python3-aiosmtpd python3-openpyxl
tmux jq curl openssl iproute2 iptables sqlite3 prometheus pssh htop hyperfine procps
"

# A package counts as present only when dpkg reports it fully installed ("install ok
# installed"); half-configured or removed-but-config-left states need apt-get again. One
# dpkg-query call for the whole list keeps the common (nothing missing) case fast.
# shellcheck disable=SC2086 # word splitting of the package list is intended
installed=$(dpkg-query -W -f='${Package} ${Status}\n' $PACKAGES 2>/dev/null |
	awk '$2 == "install" && $3 == "ok" && $4 == "installed" { printf " %s", $1 }' || true)
missing=""
for pkg in $PACKAGES; do
	case "$installed " in
	*" $pkg "*) ;;
	*) missing="$missing $pkg" ;;
	esac
done

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"

# Root runs apt-get directly; anyone else goes through sudo.
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
else
	SUDO="sudo"
fi

# Another apt-get or unattended-upgrades may hold the dpkg lock for a while; apt-get then fails
# at once. Retry a few times with a short wait instead of failing the whole build.
apt_retry() {
	tries=0
	while :; do
		if $SUDO env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a apt-get "$@"; then
			return 0
		fi
		tries=$((tries + 1))
		if [ "$tries" -ge 6 ]; then
			echo "deps: apt-get $* failed $tries times" >&2
			return 1
		fi
		echo "deps: apt-get busy or failed, retrying in 10s ($tries/6)" >&2
		sleep 10
	done
}

apt_retry -qq update
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt_retry -qq -y --no-install-recommends install $missing
