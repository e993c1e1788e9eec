# SPDX-License-Identifier: MIT
# CPack: Debian packages and a source tarball. In the build directory:
#   cpack -G DEB          clawspeak, libclawspeak<SONAME>, libclawspeak-dev (.deb)
#   cpack --config CPackSourceConfig.cmake      clawspeak-VERSION.tar.gz
# One package per install component (CMakeLists.txt): "cli" is the tool, "lib" the
# shared library alone (named after its SONAME, as Debian policy 8.1 asks, so two ABI
# versions can be installed side by side), "dev" what building against it needs.
# Dependencies on other libraries come from dpkg-shlibdeps, except those the library
# loads with dlopen (libcurl, libsoxr, PortAudio,
# libsndfile, libedit), which no ELF header names: those are looked up
# here, by the package that owns the library file on the build machine.

set(CSP_DEB_LIB_PACKAGE libclawspeak${CSP_SOVERSION})
set(CSP_DEB_MAINTAINER "clawspeak maintainers <clawspeak@lists.example.org>" CACHE STRING
  "Maintainer field of the .deb packages")

# The Debian package that ships a shared library file (e.g. libcurl.so.4 -> libcurl4),
# or FALLBACK when dpkg does not know it (a build off Debian).
function(csp_deb_owner out file fallback)
  set(owner ${fallback})
  find_program(CSP_DPKG_QUERY dpkg-query)
  if(CSP_DPKG_QUERY)
    execute_process(COMMAND ${CSP_DPKG_QUERY} -S "*/${file}" OUTPUT_VARIABLE found
      ERROR_QUIET RESULT_VARIABLE rc)
    if(rc EQUAL 0 AND found MATCHES "^([a-z0-9.+-]+)[:,]")
      set(owner ${CMAKE_MATCH_1})
    endif()
  endif()
  set(${out} ${owner} PARENT_SCOPE)
endfunction()
csp_deb_owner(CSP_DEB_CURL libcurl.so.4 libcurl4)
csp_deb_owner(CSP_DEB_SOXR libsoxr.so.0 libsoxr0)
csp_deb_owner(CSP_DEB_PORTAUDIO libportaudio.so.2 libportaudio2)
csp_deb_owner(CSP_DEB_SNDFILE libsndfile.so.1 libsndfile1)
csp_deb_owner(CSP_DEB_EDIT libedit.so.2 libedit2) # the tool's --chat prompt

set(CPACK_PACKAGE_NAME clawspeak)
set(CPACK_PACKAGE_VENDOR "the clawspeak authors")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_CONTACT "${CSP_DEB_MAINTAINER}")
set(CPACK_STRIP_FILES ON)

# --- Debian ---
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL cli lib dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CSP_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/clawspeak/clawspeak")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_CLI_PACKAGE_NAME clawspeak)
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION sound)
# The tool links libclawspeak statically (it runs from the build tree as is), so it
# needs what the library loads at run time itself; espeak-ng speaks with no key.
set(CPACK_DEBIAN_CLI_PACKAGE_DEPENDS "${CSP_DEB_CURL}, ${CSP_DEB_SOXR}, ${CSP_DEB_PORTAUDIO}, ${CSP_DEB_SNDFILE}, ${CSP_DEB_EDIT}")
set(CPACK_DEBIAN_CLI_PACKAGE_RECOMMENDS "espeak-ng")
set(CPACK_COMPONENT_CLI_DESCRIPTION "text to speech from the command line, over OpenRouter
clawspeak reads an OpenClaw config, resolves the speech provider and API key as
OpenClaw does, streams OpenRouter's audio/speech endpoint into mpg123 and plays
the audio through PortAudio or saves it with libsndfile. With no key it speaks
with a local engine (espeak-ng). It also transcribes audio files and listens to
the microphone, and 'clawspeak ask' speaks a chat model's replies.")

set(CPACK_DEBIAN_LIB_PACKAGE_NAME ${CSP_DEB_LIB_PACKAGE})
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_LIB_PACKAGE_DEPENDS "${CSP_DEB_CURL}, ${CSP_DEB_SOXR}, ${CSP_DEB_PORTAUDIO}, ${CSP_DEB_SNDFILE}")
# DEBIAN/shlibs (only the package with a shared library gets one), so that programs
# built against it get a versioned dependency; the ldconfig trigger.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/debian/triggers)
set(CPACK_COMPONENT_LIB_DESCRIPTION "text to speech over OpenRouter - shared library
libclawspeak resolves OpenClaw's speech settings and key, speaks text through
OpenRouter's audio/speech endpoint or a local engine, plays it or saves it, and
transcribes audio. This package holds the shared library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libclawspeak-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# clawspeak.pc's Requires.private and the CMake package's dependencies need the
# -dev packages of what the static library links.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${CSP_DEB_LIB_PACKAGE} (= ${PROJECT_VERSION}), libcjson-dev, libasound2-dev, libmpg123-dev, libebur128-dev, libspeexdsp-dev, libicu-dev, pkg-config")
set(CPACK_COMPONENT_DEV_DESCRIPTION "text to speech over OpenRouter - development files
libclawspeak resolves OpenClaw's speech settings and key, speaks text through
OpenRouter's audio/speech endpoint or a local engine, plays it or saves it, and
transcribes audio. This package holds the header, the static library, the
pkg-config file and the CMake package (clawspeak::clawspeak and
clawspeak::clawspeak_static).")

# Each package carries its copyright file and changelog, as Debian policy 12.5 and 12.7
# ask. Only cpack installs them (EXCLUDE_FROM_ALL): a plain cmake --install does not.
configure_file(${PROJECT_SOURCE_DIR}/cmake/debian/changelog.in ${PROJECT_BINARY_DIR}/debian/changelog @ONLY)
add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/debian/changelog.gz
  COMMAND gzip -9nc ${PROJECT_BINARY_DIR}/debian/changelog > ${PROJECT_BINARY_DIR}/debian/changelog.gz
  DEPENDS ${PROJECT_BINARY_DIR}/debian/changelog VERBATIM)
add_custom_target(deb_changelog ALL DEPENDS ${PROJECT_BINARY_DIR}/debian/changelog.gz)
foreach(component cli lib dev)
  string(TOUPPER ${component} upper)
  install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/copyright ${PROJECT_BINARY_DIR}/debian/changelog.gz
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${CPACK_DEBIAN_${upper}_PACKAGE_NAME}
    COMPONENT ${component} EXCLUDE_FROM_ALL)
endforeach()

# --- source tarball: the tree without git, build directories or editor droppings ---
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_PACKAGE_FILE_NAME clawspeak-${PROJECT_VERSION})
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/\\\\.git$" "/build[^/]*/" "/__pycache__/" "\\\\.pyc$" "~$" "\\\\.swp$")

include(CPack)
