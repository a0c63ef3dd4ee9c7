# Installation (GNUInstallDirs) and the Debian packages (CPack). See packaging/README.md.
#
#   PREFIX/bin/camgraph-cli, camgraph          the programs
#   PREFIX/share/camgraph/examples/            example graphs and sweeps
#   PREFIX/share/camgraph/clip/                the CLIP vocabulary (MIT) for single-file checkpoints
#   PREFIX/share/applications, icons, mime, metainfo, man/man1, doc/<package>/
#
# The programs find share/camgraph from their own location (camgraph/shipped_files.h), so an
# installed tree is relocatable; the build tree gets the same shape below (links into the sources).
include(GNUInstallDirs)
# `make package` builds first; cpack and `cmake --install` then only install (no hidden rebuild of
# every target, tests included, from inside the package test).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(CAMGRAPH_DATA_SUBDIR ${CMAKE_INSTALL_DATADIR}/camgraph)
set(CAMGRAPH_APP_ID org.camgraph.CamGraph)

# ---- the build tree's share/camgraph: links, so edits to the sources show at once ----------
set(_build_data ${CMAKE_BINARY_DIR}/share/camgraph)
file(MAKE_DIRECTORY ${_build_data})
file(CREATE_LINK ${PROJECT_SOURCE_DIR}/examples-graphs ${_build_data}/examples SYMBOLIC)
file(CREATE_LINK ${PROJECT_SOURCE_DIR}/resources/clip ${_build_data}/clip SYMBOLIC)

# The installed programs resolve every library at start-up (lintian: hardening-no-bindnow).
foreach(prog camgraph-cli camgraph)
  if(TARGET ${prog})
    target_link_options(${prog} PRIVATE LINKER:-z,now)
  endif()
endforeach()

# ---- component cli: camgraph-cli and the shipped files (no Qt) -------------------------------
install(TARGETS camgraph-cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples-graphs/ DESTINATION ${CAMGRAPH_DATA_SUBDIR}/examples
        COMPONENT cli)
# Its MIT licence and origin are in the packages' copyright file (packaging/debian/copyright).
install(FILES ${PROJECT_SOURCE_DIR}/resources/clip/bpe_simple_vocab_16e6.txt.gz
        DESTINATION ${CAMGRAPH_DATA_SUBDIR}/clip COMPONENT cli)

# ---- component editor: camgraph and the desktop integration ----------------------------------
if(TARGET camgraph)
  install(TARGETS camgraph RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT editor)
  set(_desk ${PROJECT_SOURCE_DIR}/packaging/desktop)
  install(FILES ${_desk}/${CAMGRAPH_APP_ID}.desktop DESTINATION ${CMAKE_INSTALL_DATADIR}/applications
          COMPONENT editor)
  install(FILES ${_desk}/${CAMGRAPH_APP_ID}.metainfo.xml DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo
          COMPONENT editor)
  install(FILES ${_desk}/camgraph-mime.xml DESTINATION ${CMAKE_INSTALL_DATADIR}/mime/packages RENAME camgraph.xml
          COMPONENT editor)
  install(FILES ${_desk}/icons/${CAMGRAPH_APP_ID}.svg
          DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps COMPONENT editor)
  foreach(size 16 24 32 48 64 128 256)
    install(FILES ${_desk}/icons/${CAMGRAPH_APP_ID}-${size}.png
            DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps RENAME ${CAMGRAPH_APP_ID}.png
            COMPONENT editor)
  endforeach()
endif()

# ---- man pages from the programs' own --help (help2man), so they cannot drift -----------------
find_program(HELP2MAN_EXECUTABLE help2man)
set(_man_dir ${CMAKE_BINARY_DIR}/man)
set(_man_pages)
if(HELP2MAN_EXECUTABLE)
  set(_man_programs camgraph-cli)
  if(TARGET camgraph)
    list(APPEND _man_programs camgraph)
  endif()
  foreach(prog ${_man_programs})
    if(prog STREQUAL "camgraph")
      set(_component editor)
    else()
      set(_component cli)
    endif()
    add_custom_command(
      OUTPUT ${_man_dir}/${prog}.1 ${_man_dir}/${prog}.1.gz
      COMMAND bash ${PROJECT_SOURCE_DIR}/packaging/man/make_man.sh ${HELP2MAN_EXECUTABLE} $<TARGET_FILE:${prog}>
              ${PROJECT_SOURCE_DIR}/packaging/man/${prog}.h2m ${_man_dir}/${prog}.1
      DEPENDS ${prog} ${PROJECT_SOURCE_DIR}/packaging/man/make_man.sh ${PROJECT_SOURCE_DIR}/packaging/man/${prog}.h2m
      COMMENT "man page ${prog}(1) from ${prog} --help"
      VERBATIM)
    list(APPEND _man_pages ${_man_dir}/${prog}.1)
    install(FILES ${_man_dir}/${prog}.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT ${_component})
  endforeach()
  add_custom_target(camgraph_man_pages ALL DEPENDS ${_man_pages})
else()
  message(WARNING "help2man not found: no man pages (packaging/install-deps.sh installs it)")
endif()

# ---- Debian changelog and copyright, per package ------------------------------------------
set(_doc_out ${CMAKE_BINARY_DIR}/packaging)
configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/changelog.in ${_doc_out}/changelog @ONLY)
add_custom_command(
  OUTPUT ${_doc_out}/changelog.Debian.gz
  COMMAND gzip -9nc ${_doc_out}/changelog > ${_doc_out}/changelog.Debian.gz
  DEPENDS ${_doc_out}/changelog
  VERBATIM)
add_custom_target(camgraph_debian_changelog ALL DEPENDS ${_doc_out}/changelog.Debian.gz)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/copyright ${_doc_out}/changelog.Debian.gz
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/camgraph-cli COMPONENT cli)
if(TARGET camgraph)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/copyright ${_doc_out}/changelog.Debian.gz
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/camgraph COMPONENT editor)
endif()

# ---- CPack: camgraph-cli (headless, no Qt) and camgraph (the editor) -----------------------
set(CAMGRAPH_PACKAGE_MAINTAINER "The CamGraph developers <dev@camgraph.invalid>"
    CACHE STRING "Maintainer field of the Debian packages")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME camgraph)
set(CPACK_PACKAGE_VENDOR "The CamGraph developers")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${CAMGRAPH_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "camera-motion video datasets from node graphs")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL cli)
if(TARGET camgraph)
  list(APPEND CPACK_COMPONENTS_ALL editor)
endif()
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION graphics)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_CLI_PACKAGE_NAME camgraph-cli)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION science)
set(CPACK_DEBIAN_CLI_PACKAGE_RECOMMENDS "colmap")
set(CPACK_DEBIAN_CLI_PACKAGE_SUGGESTS "slurm-client")
set(CPACK_COMPONENT_CLI_DESCRIPTION
    "camera-motion video datasets from node graphs (command line)\n"
    "camgraph-cli runs CamGraph workflows (.cgraph files) without a display:\n"
    "single runs, parameter sweeps on one machine or a Slurm cluster, dataset\n"
    "indexing. It ships the example graphs and the CLIP vocabulary. Stable\n"
    "Diffusion checkpoints, LoRAs and other model weights are the user's own.")
set(CPACK_DEBIAN_EDITOR_PACKAGE_NAME camgraph)
set(CPACK_DEBIAN_EDITOR_PACKAGE_DEPENDS
    "camgraph-cli (= ${PROJECT_VERSION}-1), qml6-module-qtquick, qml6-module-qtquick-controls, \
qml6-module-qtquick-layouts, qml6-module-qtquick-shapes, qml6-module-qtquick-templates, \
qml6-module-qtquick-window, qml6-module-qtqml-workerscript, qt6-qpa-plugins")
set(CPACK_COMPONENT_EDITOR_DESCRIPTION
    "camera-motion video datasets from node graphs (editor)\n"
    "CamGraph builds synthetic video datasets labelled with the camera move each\n"
    "clip shows, for training camera-controllable video models. This package\n"
    "holds the node editor (Qt Quick), its desktop entry and the\n"
    "application/x-camgraph file type, so .cgraph files open in CamGraph.")
include(CPack)

# The package test: cpack, dpkg -x into a scratch root, run and validate what was installed.
if(CAMGRAPH_TESTS)
  add_test(NAME package_deb COMMAND bash ${PROJECT_SOURCE_DIR}/packaging/tests/package_test.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(package_deb PROPERTIES LABELS package TIMEOUT 900)
endif()
