# packaging.cmake: install rules and the Debian package (`cpack -G DEB` in the build directory).
# The package holds the three binaries, the systemd unit, /etc/default/octomigd (a conffile), the
# binaries' --help texts and the docs; its Depends are computed by dpkg-shlibdeps. The service's
# files and maintainer scripts are in packaging/; README.md says how to run it as a service.
#
# The unit and the default file are installed to absolute paths (/lib/systemd/system,
# /etc/default), where Debian wants them whatever the prefix; CPack's DEB generator stages them
# under DESTDIR. Everything else is relative to the prefix, /usr in the package.

set(OCTOMIG_PACKAGING_DIR "${CMAKE_CURRENT_LIST_DIR}/../packaging")
get_filename_component(OCTOMIG_PACKAGING_DIR "${OCTOMIG_PACKAGING_DIR}" ABSOLUTE)
set(OCTOMIG_DOC_DESTINATION share/doc/octomig)
set(OCTOMIG_PACKAGE_MAINTAINER "octomig maintainers <octomig@localhost>"
    CACHE STRING "Maintainer field of the Debian package")
set(OCTOMIG_PACKAGE_REVISION "1" CACHE STRING "Debian revision of the package (the part after -)")

install(TARGETS octomigd octomig-admin octomig RUNTIME DESTINATION bin)
install(FILES "${OCTOMIG_PACKAGING_DIR}/octomigd.service" DESTINATION /lib/systemd/system)
install(FILES "${OCTOMIG_PACKAGING_DIR}/octomigd.default" DESTINATION /etc/default
        RENAME octomigd)
file(MAKE_DIRECTORY "${CMAKE_BINARY_DIR}/packaging")

# The --help text of each binary, written at build time by running it (none needs a data
# directory for --help), so that the installed documentation always matches the binaries.
set(_octomig_help_texts)
foreach(_bin IN ITEMS octomigd octomig-admin octomig)
  set(_out "${CMAKE_BINARY_DIR}/packaging/${_bin}.help.txt")
  add_custom_command(
    OUTPUT "${_out}"
    COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:${_bin}> -DOUT=${_out}
            -P "${OCTOMIG_PACKAGING_DIR}/help-text.cmake"
    DEPENDS ${_bin} "${OCTOMIG_PACKAGING_DIR}/help-text.cmake"
    WORKING_DIRECTORY "${CMAKE_BINARY_DIR}/packaging"
    COMMENT "Writing ${_bin} --help to ${_bin}.help.txt"
    VERBATIM)
  list(APPEND _octomig_help_texts "${_out}")
endforeach()

# Debian wants a changelog.Debian.gz in every package's doc folder; this one names the version
# and when it was configured (SOURCE_DATE_EPOCH, when set, fixes that date). The project's own
# history is its git log.
string(TIMESTAMP _octomig_changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(CONFIGURE OUTPUT "${CMAKE_BINARY_DIR}/packaging/changelog.Debian" CONTENT
"octomig (${OCTOMIG_VERSION}-${OCTOMIG_PACKAGE_REVISION}) stable; urgency=medium

  * octomig ${OCTOMIG_VERSION}, packaged from its sources with cpack.

 -- ${OCTOMIG_PACKAGE_MAINTAINER}  ${_octomig_changelog_date}
" @ONLY)
add_custom_command(
  OUTPUT "${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz"
  COMMAND gzip -9nkf changelog.Debian
  DEPENDS "${CMAKE_BINARY_DIR}/packaging/changelog.Debian"
  WORKING_DIRECTORY "${CMAKE_BINARY_DIR}/packaging"
  VERBATIM)
set(_octomig_doc_files "${CMAKE_BINARY_DIR}/packaging/changelog.Debian.gz")

file(GLOB _octomig_docs CONFIGURE_DEPENDS "${OCTOMIG_ROOT}/docs/*.md")
install(FILES ${_octomig_help_texts} ${_octomig_doc_files} "${OCTOMIG_ROOT}/README.md"
              ${_octomig_docs} "${OCTOMIG_PACKAGING_DIR}/copyright"
        DESTINATION ${OCTOMIG_DOC_DESTINATION})
add_custom_target(octomig_package_docs ALL DEPENDS ${_octomig_help_texts} ${_octomig_doc_files})

# ---- CPack: one Debian package, octomig_<version>-<revision>_<arch>.deb -------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME octomig)
set(CPACK_PACKAGE_VERSION "${OCTOMIG_VERSION}")
set(CPACK_PACKAGE_CONTACT "${OCTOMIG_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Octopus Deploy Migration API server, admin tool and client")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE "${OCTOMIG_PACKAGE_REVISION}")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
string(CONCAT CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "octomigd backs up and restores projects between Octopus-style servers as queued\n"
    "tasks (partial export and import), with a built-in package feed, on an\n"
    "event-sourced RocksDB store. octomig-admin works on its data directory and\n"
    "octomig drives migrations between two servers.\n"
    ".\n"
    "The package installs the octomigd.service systemd unit but neither enables nor\n"
    "starts it; settings go in /etc/default/octomigd.")
# Shared library dependencies from dpkg-shlibdeps (dpkg-dev), plus what the maintainer scripts
# use: adduser creates the octomig user.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${OCTOMIG_PACKAGING_DIR}/conffiles" "${OCTOMIG_PACKAGING_DIR}/postinst"
    "${OCTOMIG_PACKAGING_DIR}/prerm" "${OCTOMIG_PACKAGING_DIR}/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
