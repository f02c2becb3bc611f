#!/usr/bin/env bash
# What the .deb holds (dpkg-deb --info/--contents): the three binaries, the unit, the default file
# as a conffile, the --help texts, the docs and the copyright file, with Debian's modes; its
# version is the project's; Depends names the package of every library the binaries need, and
# adduser, and never a -dev package.
# usage: contents_test.sh DEB_DIR VERSION DOCS_DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
deb=$(the_deb "$1") version=$2 docs=$3

field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = octomig ] || fail "Package is '$(field Package)'"
case "$(field Version)" in
  "$version"-*) ;;
  *) fail "Version '$(field Version)' is not the project's $version with a Debian revision" ;;
esac
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] \
  || fail "Architecture is '$(field Architecture)'"

depends=$(field Depends)
echo "Depends: $depends"
# depends_on PACKAGE: Depends names it, versioned or not ("libc6 (>= 2.34)"), alone or as an
# alternative ("a | b").
sed -E 's/\([^)]*\)//g; s/[,|]/\n/g' <<<"$depends" | awk 'NF { print $1 }' > "$work/depends.txt"
depends_on() { grep -qxF -- "$1" "$work/depends.txt"; }
depends_on adduser || fail "Depends lacks adduser (postinst creates the user with it): $depends"
if grep -qE -- '-dev( |,|$)' <<<"$depends"; then fail "Depends names a -dev package: $depends"; fi

dpkg-deb --contents "$deb" > "$work/contents.txt"
# has MODE PATH: the archive holds PATH (./usr/bin/octomigd) with that mode (-rwxr-xr-x).
has() {
  awk -v p="$2" -v m="$1" '$6 == p && $1 == m { found = 1 } END { exit !found }' \
    "$work/contents.txt" \
    || fail "no $2 with mode $1: $(grep -F -- "$2" "$work/contents.txt" || echo absent)"
}
for bin in octomigd octomig-admin octomig; do
  has -rwxr-xr-x "./usr/bin/$bin"
  has -rw-r--r-- "./usr/share/doc/octomig/$bin.help.txt"
done
has -rw-r--r-- ./lib/systemd/system/octomigd.service
has -rw-r--r-- ./etc/default/octomigd
has -rw-r--r-- ./usr/share/doc/octomig/copyright
has -rw-r--r-- ./usr/share/doc/octomig/README.md
has -rw-r--r-- ./usr/share/doc/octomig/changelog.Debian.gz
for doc in "$docs"/*.md; do
  has -rw-r--r-- "./usr/share/doc/octomig/$(basename "$doc")"
done
# Every file is root's, whatever user built the package.
if awk '$2 != "root/root" { bad = 1 } END { exit !bad }' "$work/contents.txt"; then
  fail "files not owned by root/root: $(awk '$2 != "root/root"' "$work/contents.txt")"
fi

mkdir "$work/control"
dpkg-deb --control "$deb" "$work/control"
[ "$(cat "$work/control/conffiles")" = /etc/default/octomigd ] \
  || fail "conffiles is not exactly /etc/default/octomigd: $(cat "$work/control/conffiles" 2>&1)"
for script in postinst prerm postrm; do
  [ -x "$work/control/$script" ] || fail "the package has no executable $script"
  sh -n "$work/control/$script" || fail "$script does not parse"
done

# The help texts are the binaries' own, not empty files.
mkdir "$work/root"
dpkg-deb -x "$deb" "$work/root"
grep -q -- '--data-dir DIR' "$work/root/usr/share/doc/octomig/octomigd.help.txt" \
  || fail "octomigd.help.txt is not octomigd's --help"
grep -q 'usage: octomig-admin' "$work/root/usr/share/doc/octomig/octomig-admin.help.txt" \
  || fail "octomig-admin.help.txt is not octomig-admin's --help"
grep -q 'usage: octomig <command>' "$work/root/usr/share/doc/octomig/octomig.help.txt" \
  || fail "octomig.help.txt is not octomig's --help"

# Every library a binary of the package needs (its ELF NEEDED entries) comes from a package that
# Depends names, so apt installs what the binaries load.
# owner_of PATH: the installed package holding a library, under any of its names (dpkg records
# /lib/... or /usr/lib/..., the name or its target, as each package shipped it).
owner_of() {
  local p=$1 real
  real=$(readlink -f "$p")
  for candidate in "$p" "$real" "${p#/usr}" "${real#/usr}" "/usr${p#/usr}" "/usr${real#/usr}"; do
    dpkg-query -S "$candidate" 2>/dev/null \
      | awk -F: 'NR == 1 { print $1; found = 1 } END { exit !found }' && return 0
  done
  return 1
}
ldconfig -p > "$work/ldconfig.txt"
for bin in octomigd octomig-admin octomig; do
  for lib in $(objdump -p "$work/root/usr/bin/$bin" | awk '$1 == "NEEDED" { print $2 }'); do
    path=$(awk -v l="$lib" '$1 == l && !p { p = $NF } END { print p }' "$work/ldconfig.txt")
    [ -n "$path" ] || fail "$bin needs $lib, which ldconfig does not know"
    owner=$(owner_of "$path") || fail "no installed package holds $path ($lib, needed by $bin)"
    # Depends may name the package or a name it provides (libspdlog1.10 provides
    # libspdlog1.10-fmt9, the name its shlibs file gives).
    names="$owner $(dpkg-query -W -f='${Provides}' "$owner" | sed -E 's/ \([^)]*\)//g; s/,/ /g')"
    found=
    for name in $names; do depends_on "$name" && found=1; done
    [ -n "$found" ] || fail "$bin needs $lib from $owner ($names), which Depends lacks: $depends"
  done
done
echo "ok: $deb"
