#!/usr/bin/env bash
# Builds the Debian packages from a finished build (cpack), unpacks them into a scratch root
# (dpkg -x) and checks what a user gets: the installed camgraph-cli runs an installed example graph
# and lists the nodes, finding its shipped files in the scratch root (relocatable); camgraph-cli
# does not pull in Qt; the desktop entry, the MIME type (glob and magic) and the AppStream
# metainfo pass their validators; the man pages hold the programs' --help; the editor starts
# offscreen from the installed tree; lintian reports no error.
# usage: package_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/camgraph-package-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "cpack -G DEB"
cpack --config "$build/CPackConfig.cmake" -B "$work/debs" >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack"; }
shopt -s nullglob
cli_deb=("$work"/debs/camgraph-cli_*.deb)
gui_deb=("$work"/debs/camgraph_*.deb)
[ ${#cli_deb[@]} -eq 1 ] || fail "expected one camgraph-cli_*.deb, got: $(ls "$work/debs")"
ls -l "$work"/debs/*.deb

step "control fields"
cli_depends=$(dpkg-deb -f "${cli_deb[0]}" Depends)
echo "camgraph-cli Depends: $cli_depends"
[ -n "$cli_depends" ] || fail "camgraph-cli has no computed Depends (dpkg-shlibdeps)"
echo "$cli_depends" | grep -qi "qt6\|libqt" && fail "camgraph-cli depends on Qt: $cli_depends"
echo "$cli_depends" | grep -q "libtorch" || fail "camgraph-cli does not depend on libtorch: $cli_depends"
dpkg-deb -f "${cli_deb[0]}" Recommends | grep -q colmap || fail "camgraph-cli does not recommend colmap"
root="$work/root"
mkdir -p "$root"
for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$root"; done

step "files in place"
for f in usr/bin/camgraph-cli usr/share/camgraph/examples/demo.cgraph usr/share/camgraph/examples/sweeps \
         usr/share/camgraph/clip/bpe_simple_vocab_16e6.txt.gz usr/share/man/man1/camgraph-cli.1.gz \
         usr/share/doc/camgraph-cli/copyright usr/share/doc/camgraph-cli/changelog.Debian.gz; do
  [ -e "$root/$f" ] || fail "missing $f"
done
objdump -p "$root/usr/bin/camgraph-cli" | grep NEEDED | grep -i "libqt" && fail "camgraph-cli links Qt"
# Every library the installed programs load comes from a Debian package (not /usr/local, not the
# CUDA toolkit): what apt installs from Depends is all they need. One dpkg query for all of them
# (libtorch alone brings ~100; a query each took most of this test's two minutes). A library is
# owned when dpkg knows it by the path ldd gives, its real path, or that path without /usr (merged-/usr).
mapfile -t libs < <(for bin in "$root"/usr/bin/*; do ldd "$bin" | awk '/=> \//{print $3}'; done | sort -u)
candidates=()
for lib in "${libs[@]}"; do
  real=$(readlink -f "$lib")
  candidates+=("$lib" "$real" "${real#/usr}")
done
owned=$(dpkg-query -S "${candidates[@]}" 2>/dev/null | sed 's/^.*: //' | sort -u || true)
for lib in "${libs[@]}"; do
  real=$(readlink -f "$lib")
  grep -qxF -e "$lib" -e "$real" -e "${real#/usr}" <<<"$owned" ||
    fail "an installed program loads $lib, which no Debian package provides"
done
echo "${#libs[@]} libraries loaded, each from a Debian package"

# Run with a minimal environment from a folder outside the sources and the build.
run_env=(env -i PATH=/usr/bin:/bin HOME="$work/home" LANG=C.UTF-8)
mkdir -p "$work/home" "$work/runtime"
chmod 700 "$work/runtime"
cli="$root/usr/bin/camgraph-cli"

step "installed camgraph-cli: --version, nodes, paths"
(cd "$work" && "${run_env[@]}" "$cli" --version) | grep -q "^camgraph-cli [0-9]" || fail "--version"
nodes=$(cd "$work" && "${run_env[@]}" "$cli" nodes)
[ "$(echo "$nodes" | wc -l)" -ge 20 ] || fail "camgraph-cli nodes listed only: $nodes"
echo "$nodes" | grep -q "^splat.train" || fail "nodes lacks splat.train"
paths=$(cd "$work" && "${run_env[@]}" "$cli" paths --json)
echo "$paths"
python3 - "$paths" "$root" <<'PY' || fail "paths: shipped files not found in the scratch root"
import json, sys
p, root = json.loads(sys.argv[1]), sys.argv[2]
want = root + "/usr/share/camgraph"
assert p["data_dirs"] == [want], p["data_dirs"]
assert p["examples"] == want + "/examples", p["examples"]
assert p["clip_vocabulary"] == want + "/clip/bpe_simple_vocab_16e6.txt.gz", p["clip_vocabulary"]
assert p["program"] == root + "/usr/bin/camgraph-cli", p["program"]
PY

step "installed camgraph-cli runs installed example graphs"
for g in checker-resize motion-static; do
  (cd "$work" && "${run_env[@]}" "$cli" validate "$root/usr/share/camgraph/examples/$g.cgraph") || fail "validate $g"
done
(cd "$work" && "${run_env[@]}" "$cli" run "$root/usr/share/camgraph/examples/checker-resize.cgraph" --out "$work/out" --quiet) ||
  fail "run checker-resize.cgraph"
[ -s "$work/out/checker/noise.png" ] || fail "checker-resize.cgraph wrote no image"
file "$work/out/checker/noise.png" | grep -q "PNG image data, 128 x 128" || fail "not a 128x128 PNG: $(file "$work/out/checker/noise.png")"

step "man pages from --help"
zcat "$root/usr/share/man/man1/camgraph-cli.1.gz" | grep -q '^\.SH COMMANDS' || fail "camgraph-cli.1 has no COMMANDS"
zcat "$root/usr/share/man/man1/camgraph-cli.1.gz" | grep -q 'camgraph\\-cli batch SWEEP' || fail "camgraph-cli.1 lacks --help text"

if [ ${#gui_deb[@]} -eq 1 ]; then
  step "editor package"
  for f in usr/bin/camgraph usr/share/applications/org.camgraph.CamGraph.desktop \
           usr/share/metainfo/org.camgraph.CamGraph.metainfo.xml usr/share/mime/packages/camgraph.xml \
           usr/share/icons/hicolor/scalable/apps/org.camgraph.CamGraph.svg \
           usr/share/icons/hicolor/48x48/apps/org.camgraph.CamGraph.png usr/share/man/man1/camgraph.1.gz \
           usr/share/doc/camgraph/copyright; do
    [ -e "$root/$f" ] || fail "missing $f"
  done
  dpkg-deb -f "${gui_deb[0]}" Depends | grep -q "camgraph-cli (= " || fail "camgraph does not depend on camgraph-cli"
  desktop-file-validate "$root/usr/share/applications/org.camgraph.CamGraph.desktop" || fail "desktop-file-validate"
  grep -q "^MimeType=application/x-camgraph;" "$root/usr/share/applications/org.camgraph.CamGraph.desktop" ||
    fail "desktop entry does not open application/x-camgraph"
  appstreamcli validate --no-net "$root/usr/share/metainfo/org.camgraph.CamGraph.metainfo.xml" || fail "appstreamcli validate"
  zcat "$root/usr/share/man/man1/camgraph.1.gz" | grep -q 'smoke\\-test' || fail "camgraph.1 lacks --help text"

  step "MIME type: glob and magic (shared-mime-info, read by GIO)"
  mkdir -p "$work/mime/share"
  cp -r "$root/usr/share/mime" "$work/mime/share/"
  update-mime-database "$work/mime/share/mime"
  cp "$root/usr/share/camgraph/examples/demo.cgraph" "$work/by-glob.cgraph"
  cp "$root/usr/share/camgraph/examples/demo.cgraph" "$work/by-magic"
  mime_of() {
    XDG_DATA_DIRS="$work/mime/share:/usr/share" XDG_DATA_HOME="$work/home/.local/share" \
      gio info -a standard::content-type "$1" | sed -n 's/.*standard::content-type: //p'
  }
  [ "$(mime_of "$work/by-glob.cgraph")" = application/x-camgraph ] || fail "*.cgraph is $(mime_of "$work/by-glob.cgraph")"
  [ "$(mime_of "$work/by-magic")" = application/x-camgraph ] || fail "content sniffing gives $(mime_of "$work/by-magic")"

  step "the installed editor starts offscreen and opens an installed graph"
  (cd "$work" && "${run_env[@]}" QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR="$work/runtime" \
     timeout 120 "$root/usr/bin/camgraph" --smoke-test "$root/usr/share/camgraph/examples/demo.cgraph") ||
    fail "camgraph --smoke-test"
fi

if command -v lintian >/dev/null; then
  step "lintian"
  # Suppressed tags and why: packaging/README.md, "lintian".
  lintian --suppress-tags-from-file "$(dirname "$0")/lintian-explained.txt" "$work"/debs/*.deb | tee "$work/lintian.log" || true
  grep -q "^E:" "$work/lintian.log" && fail "lintian errors (see above)"
fi
echo "package test: ok"
