#!/usr/bin/env bash
# Builds the .deb with cargo-deb and checks that it holds every file it must.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null 2>&1 || cargo install cargo-deb --locked --quiet
cargo build --release
# Cargo's target folder, wherever CARGO_TARGET_DIR puts it: cargo-deb reads
# the assets under "target/release/" in Cargo.toml from there.
release=${CARGO_TARGET_DIR:-target}/release
assets=$release/assets
mkdir -p "$assets"
bin=$release/tweet-attacks
"$bin" man > "$assets/tweet-attacks.1"
# Compressed here: cargo-deb leaves assets from the target folder as they are.
gzip -9nc "$assets/tweet-attacks.1" > "$assets/tweet-attacks.1.gz"
"$bin" completions bash > "$assets/tweet-attacks.bash"
"$bin" completions zsh > "$assets/_tweet-attacks"
"$bin" completions fish > "$assets/tweet-attacks.fish"
deb=$(cargo deb --no-build --quiet)
echo "built $deb"
listing=$(dpkg-deb -c "$deb")
status=0
for want in \
    "-rwxr-xr-x.*./usr/bin/tweet-attacks$" \
    "./etc/cron.d/tweet-attacks$" \
    "./lib/systemd/system/tweet-attacks.service$" \
    "./lib/systemd/system/tweet-attacks.timer$" \
    "-rw-------.*./etc/tweet-attacks.toml$" \
    "./usr/share/man/man1/tweet-attacks.1" \
    "./usr/share/bash-completion/completions/tweet-attacks$" \
    "./usr/share/doc/tweet-attacks/README$" \
    "./usr/share/doc/tweet-attacks/REFERENCE$"; do
  if ! grep -Eq -- "$want" <<<"$listing"; then
    echo "deb: missing $want" >&2
    status=1
  fi
done
dpkg-deb -I "$deb" postinst | grep -q "/var/lib/tweet-attacks" || { echo "deb: postinst does not create /var/lib/tweet-attacks" >&2; status=1; }
dpkg-deb -I "$deb" postrm | grep -q "rm -rf /var/lib/tweet-attacks" || { echo "deb: postrm does not purge /var/lib/tweet-attacks" >&2; status=1; }
dpkg-deb -I "$deb" postinst | grep -q "deb-systemd-helper enable 'tweet-attacks.timer'" || { echo "deb: postinst does not enable the timer" >&2; status=1; }
dpkg-deb -f "$deb" Depends | grep -q "cron | .*systemd-sysv" || { echo "deb: Depends pulls in no scheduler" >&2; status=1; }
# The man page covers every subcommand.
for sub in run replay parse show status outbox "outbox retry" "outbox drop" verify-credentials export completions man; do
  name=$(printf '%s' "tweet-attacks $sub" | sed 's/-/\\-/g')
  grep -qxF ".SS \"$name\"" "$assets/tweet-attacks.1" || { echo "deb: man page lacks $sub" >&2; status=1; }
done
# lintian, with nothing to report: no error, no warning.
if ! command -v lintian >/dev/null 2>&1; then
  apt-get install -y -qq lintian >/dev/null
fi
if lintian --fail-on error,warning --tag-display-limit 0 "$deb"; then
  echo "deb: lintian clean"
else
  echo "deb: lintian found problems (above)" >&2
  status=1
fi
[ "$status" = 0 ] && echo "deb: contents ok"
exit "$status"
