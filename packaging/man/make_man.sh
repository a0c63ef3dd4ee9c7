#!/usr/bin/env bash
# Writes PROGRAM's man page from its own --help and --version (help2man), plus PAGE.h2m's extra
# sections; for camgraph-cli, a COMMANDS section made of every subcommand's --help. Also writes
# OUT.gz (gzip -9n, as Debian installs man pages).
# usage: make_man.sh HELP2MAN PROGRAM PAGE.h2m OUT
set -euo pipefail
help2man=$1 program=$2 include=$3 out=$4
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$include" "$tmp/page.h2m"

# roff-escape a preformatted block: backslashes, and lines starting with . or '
roff_block() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }

if [ "$(basename "$program")" = camgraph-cli ]; then
  {
    echo "[COMMANDS]"
    for sub in run validate nodes batch "batch gather" dataset cache paths; do
      echo ".SS \"camgraph-cli $sub\""
      echo ".nf"
      # shellcheck disable=SC2086  # "batch gather" is two words on purpose
      "$program" $sub --help | roff_block
      echo ".fi"
    done
  } >>"$tmp/page.h2m"
fi

# help2man runs the program; it must not need a display (both answer --help before any set-up).
QT_QPA_PLATFORM=offscreen "$help2man" --no-info --no-discard-stderr --section 1 \
  --include "$tmp/page.h2m" --output "$out" "$program"
gzip -9nc "$out" >"$out.gz"
