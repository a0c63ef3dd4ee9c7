# Finds CamGraph's dependencies. Required: libtorch, nlohmann-json, xxhash (header-only).
# Optional (each enables the node families that need it): CUDA, OpenCV, FFmpeg, Qt 6.

find_package(Torch REQUIRED)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)

# xxhash is used header-only (XXH_INLINE_ALL); only the header is needed.
find_path(XXHASH_INCLUDE_DIR xxhash.h REQUIRED)
add_library(camgraph_xxhash INTERFACE)
target_include_directories(camgraph_xxhash SYSTEM INTERFACE ${XXHASH_INCLUDE_DIR})
target_compile_definitions(camgraph_xxhash INTERFACE XXH_INLINE_ALL)

# Torch's imported target adds its own flags; expose a clean interface target.
add_library(camgraph_torch INTERFACE)
if(Torch_VERSION VERSION_GREATER_EQUAL 2.0)
  # PyPI's libtorch 2.x exports the std::filesystem it links statically (pytorch/pytorch#133437), and
  # some of those copies crash when called from outside (std::filesystem::remove_all jumps to a null
  # pointer with torch 2.11). libstdc++ linked ahead of libtorch comes first in the dynamic linker's
  # search, so std::filesystem resolves to it. Debian's libtorch 1.13 exports none: unchanged there.
  target_link_libraries(camgraph_torch INTERFACE stdc++)
endif()
target_link_libraries(camgraph_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(camgraph_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})

set(CAMGRAPH_HAVE_CUDA OFF)
if(CAMGRAPH_CUDA)
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      # Native code for Hopper, PTX that any GPU from Turing on can JIT.
      set(CMAKE_CUDA_ARCHITECTURES "75-virtual;90-real")
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(CAMGRAPH_HAVE_CUDA ON)
    # The CUDA runtime our kernels link. With a CUDA libtorch: the shared one, the same runtime as
    # torch's (its streams, its error state). With a CPU libtorch our kernels never get a CUDA
    # tensor, so the static runtime: the program then starts on machines without the CUDA toolkit
    # (the Debian packages; packaging/README.md).
    if(CAFFE2_USE_CUDA OR TORCH_LIBRARIES MATCHES "torch_cuda|c10_cuda")
      set(CAMGRAPH_CUDART CUDA::cudart)
    else()
      set(CAMGRAPH_CUDART CUDA::cudart_static)
    endif()
  endif()
endif()

find_package(OpenCV 4 QUIET COMPONENTS core imgproc imgcodecs calib3d video)
set(CAMGRAPH_HAVE_OPENCV ${OpenCV_FOUND})

find_package(PkgConfig QUIET)
set(CAMGRAPH_HAVE_FFMPEG OFF)
if(PkgConfig_FOUND)
  pkg_check_modules(LIBAV QUIET IMPORTED_TARGET libavcodec libavformat libavutil libswscale)
  if(LIBAV_FOUND)
    set(CAMGRAPH_HAVE_FFMPEG ON)
  endif()
endif()

find_package(GTest QUIET)
find_package(benchmark QUIET)

if(CAMGRAPH_GUI)
  # Widgets and PrintSupport: QCustomPlot (training plots) and native file/colour dialogs, ui/ only.
  find_package(Qt6 6.4 COMPONENTS Core Gui Qml Quick QuickControls2 Widgets PrintSupport Test QUIET)
  # Debian's libqcustomplot-dev: CMake package QCustomPlotQt6, target QCustomPlotQt6::QCustomPlotQt6.
  if(Qt6_FOUND)
    find_package(QCustomPlotQt6 QUIET)
  endif()
  if(NOT Qt6_FOUND OR NOT QCustomPlotQt6_FOUND)
    message(WARNING "Qt 6 (Quick, Widgets) or QCustomPlotQt6 not found: building without the editor (CAMGRAPH_GUI=OFF)")
    set(CAMGRAPH_GUI OFF)
  endif()
endif()
