#!/usr/bin/env bash
# Fails, listing the places, when a C++/CUDA source is not formatted as .clang-format says.
# Fix with: git ls-files '*.cpp' '*.h' '*.cu' '*.cuh' | xargs clang-format -i   (clang-format 14)
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/..}" && pwd)
cd "$root"
fmt=${CLANG_FORMAT:-clang-format}
command -v "$fmt" >/dev/null || { echo "check_format: '$fmt' not found (apt-get install clang-format)" >&2; exit 2; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh')
else
  mapfile -t files < <(find . -path './build*' -prune -o -path './.*' -prune -o \
                         \( -name '*.cpp' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) -print | sort)
fi
out=$(printf '%s\0' "${files[@]}" | xargs -0 "$fmt" --dry-run 2>&1 | grep 'warning:' || true)
if [ -n "$out" ]; then
  echo "$out" | head -40
  echo "check_format: $(echo "$out" | cut -d: -f1 | sort -u | wc -l) file(s) not formatted; run: git ls-files '*.cpp' '*.h' '*.cu' '*.cuh' | xargs $fmt -i" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted as .clang-format says"
