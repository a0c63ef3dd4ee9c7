# Helpers shared by every part of the build.

set(CAMGRAPH_NODE_FAMILIES "" CACHE INTERNAL "")
set(CAMGRAPH_SKIPPED_FAMILIES "" CACHE INTERNAL "")

# Torch headers are the slowest part of the build: every target that includes them
# reuses one precompiled header.
set(CAMGRAPH_TORCH_PCH_HEADERS <ATen/ATen.h> <torch/types.h> <vector> <string> <memory>)

# Libraries (-fPIC) and executables (-fPIE) need separate precompiled headers.
function(camgraph_use_torch_pch target)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    target_precompile_headers(${target} REUSE_FROM camgraph_pch_anchor_exe)
  else()
    target_precompile_headers(${target} REUSE_FROM camgraph_pch_anchor)
  endif()
endfunction()

function(camgraph_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers>)
endfunction()

# camgraph_add_node_family(NAME <name> SOURCES ... [CUDA_SOURCES ...] [REQUIRES <flag>...] [LIBS ...])
# Builds nodes/<name> as a static library when every REQUIRES flag (a CAMGRAPH_HAVE_* variable) is ON.
# The family must define `void camgraph::register_<name>_nodes(camgraph::Registry&)`.
function(camgraph_add_node_family)
  cmake_parse_arguments(F "" "NAME" "SOURCES;CUDA_SOURCES;REQUIRES;LIBS" ${ARGN})
  foreach(req IN LISTS F_REQUIRES)
    if(NOT ${req})
      set(CAMGRAPH_SKIPPED_FAMILIES "${CAMGRAPH_SKIPPED_FAMILIES};${F_NAME} (needs ${req})" CACHE INTERNAL "")
      set(CAMGRAPH_FAMILY_${F_NAME}_BUILT OFF PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(target camgraph_nodes_${F_NAME})
  add_library(${target} STATIC ${F_SOURCES})
  if(F_CUDA_SOURCES AND CAMGRAPH_HAVE_CUDA)
    target_sources(${target} PRIVATE ${F_CUDA_SOURCES})
    target_compile_definitions(${target} PUBLIC CAMGRAPH_WITH_CUDA=1)
    target_link_libraries(${target} PUBLIC CUDA::cudart)
    set_target_properties(${target} PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
  endif()
  target_link_libraries(${target} PUBLIC camgraph_engine ${F_LIBS})
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/..)
  camgraph_use_torch_pch(${target})
  camgraph_warnings(${target})
  set(CAMGRAPH_NODE_FAMILIES "${CAMGRAPH_NODE_FAMILIES};${F_NAME}" CACHE INTERNAL "")
  set(CAMGRAPH_FAMILY_${F_NAME}_BUILT ON PARENT_SCOPE)
endfunction()

# camgraph_add_test(<name> SOURCES ... LIBS ... [LABELS ...])
function(camgraph_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  camgraph_use_torch_pch(${name})
  target_compile_definitions(${name} PRIVATE
    CAMGRAPH_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  camgraph_warnings(${name})
  include(GoogleTest)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 120
    PROPERTIES LABELS "${T_LABELS}" ENVIRONMENT "CAMGRAPH_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

function(camgraph_print_summary)
  message(STATUS "CamGraph configuration:")
  message(STATUS "  libtorch       ${Torch_VERSION} ${TORCH_INSTALL_PREFIX}")
  message(STATUS "  CUDA kernels   ${CAMGRAPH_HAVE_CUDA}")
  message(STATUS "  OpenCV         ${CAMGRAPH_HAVE_OPENCV}")
  message(STATUS "  FFmpeg         ${CAMGRAPH_HAVE_FFMPEG}")
  message(STATUS "  editor (Qt)    ${CAMGRAPH_GUI}")
  message(STATUS "  node families  ${CAMGRAPH_NODE_FAMILIES}")
  if(CAMGRAPH_SKIPPED_FAMILIES)
    message(STATUS "  skipped        ${CAMGRAPH_SKIPPED_FAMILIES}")
  endif()
endfunction()
