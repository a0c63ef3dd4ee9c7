# Shared by bench/gpu/check.sh (on a GPU machine) and bench/gpu/torch2_check.sh (here): the GPU
# subset configuration of CamGraph. Sourced, not run.
#
# The GPU machine has a CUDA toolkit, cmake, ninja and a pip-installed PyTorch with CUDA, and none of
# Qt, OpenCV, FFmpeg, ICU, nlohmann-json, xxhash, GoogleTest or Google Benchmark. The header-only
# libraries and the test/benchmark libraries travel as Debian .deb files in .gpu-deps/ (fetched with
# `make gpu-deps`) and are unpacked here with dpkg -x into a private prefix.

# Unpacks every .deb of $1 (default .gpu-deps) into the prefix $2; prints the prefix's usr folder.
gpu_deps_unpack() {
  local debs=${1:-.gpu-deps} prefix=$2
  ls "$debs"/*.deb >/dev/null 2>&1 || { echo "gpu_env: no .deb files in $debs (run 'make gpu-deps' first)" >&2; return 1; }
  local stamp="$prefix/.stamp" want
  want=$(cd "$debs" && ls *.deb | sort | tr '\n' ' ')
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    rm -rf "$prefix" && mkdir -p "$prefix"
    for f in "$debs"/*.deb; do dpkg -x "$f" "$prefix" || return 1; done
    echo "$want" >"$stamp"
  fi
}

# The CMake arguments of the GPU subset: torch from $1 (its share/cmake folder), the private prefix
# $2 (with usr/ inside), CUDA architectures $3. CMAKE_LIBRARY_PATH keeps TorchConfig's find_library
# on that torch where another libtorch is installed system-wide (Debian's, here). Families that need Qt, OpenCV, FFmpeg or ICU are
# skipped even where those happen to be installed, so that every machine builds the same subset.
# TORCH_LIBRARY and c10_LIBRARY are pinned to this libtorch: TorchConfig finds them with
# find_library, whose cached result can name a system libtorch (Debian's 1.13 in /usr/lib); two
# c10 libraries in one process abort at start-up.
gpu_cmake_args() {
  local torch_cmake=$1 prefix=$2 archs=$3
  local triplet
  triplet=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
  printf '%s\n' \
    "-DCMAKE_BUILD_TYPE=Release" \
    "-DCMAKE_PREFIX_PATH=$torch_cmake;$prefix/usr" \
    "-DCMAKE_LIBRARY_PATH=$torch_cmake/../../lib" \
    "-DTORCH_LIBRARY=$torch_cmake/../../lib/libtorch.so" \
    "-Dc10_LIBRARY=$torch_cmake/../../lib/libc10.so" \
    "-Dnlohmann_json_DIR=$prefix/usr/share/cmake/nlohmann_json" \
    "-DGTest_DIR=$prefix/usr/lib/$triplet/cmake/GTest" \
    "-Dbenchmark_DIR=$prefix/usr/lib/$triplet/cmake/benchmark" \
    "-DXXHASH_INCLUDE_DIR=$prefix/usr/include" \
    "-DCMAKE_CUDA_ARCHITECTURES=$archs" \
    "-DCAMGRAPH_GUI=OFF" \
    "-DCMAKE_DISABLE_FIND_PACKAGE_OpenCV=ON" \
    "-DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON" \
    "-DCMAKE_DISABLE_FIND_PACKAGE_ICU=ON"
}

# The targets of the GPU subset that the check builds: the benchmark and the CLI; and the test
# binaries whose CUDA tests it runs (those that exist in this tree).
GPU_CHECK_TARGETS=(bench_raster_gpu camgraph-cli)
# binary:folder of its test sources. check.sh builds a binary only when a TEST line there names
# a CUDA test (Cuda, CUDA, Gpu, GPU, OnDevice), so that a cold build stays small.
GPU_TEST_BINARIES=(camgraph_splat_raster_tests:nodes/splat/raster/tests camgraph_splat_train_tests:nodes/splat/train/tests
                   splat_nodes_tests:nodes/splat/tests shot_nodes_tests:nodes/shot/tests)

# has_cuda_tests FOLDER: whether its *_test.cpp files define tests whose names match the filter.
has_cuda_tests() {
  grep -hE '^ *(TEST|TEST_F|TEST_P)\(' "$1"/*_test.cpp 2>/dev/null | grep -qE 'Cuda|CUDA|Gpu|GPU|OnDevice'
}

# has_target BUILD TARGET: whether the configured build defines TARGET.
has_target() {
  if [ -f "$1/build.ninja" ]; then ninja -C "$1" -t targets all 2>/dev/null | grep -q "^$2:"
  else cmake --build "$1" --target help 2>/dev/null | grep -q "\.\.\. $2\$"; fi
}
