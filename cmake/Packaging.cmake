# Install rules and the Debian package (CPack DEB), included from
# CMakeLists.txt. `bash scripts/package.sh` builds the package; README.md,
# "Debian package and systemd units", says what it holds.
#
#   /usr/bin/livesync-reference, /usr/bin/livesync-watcher
#   /etc/livesync/reference.ini, /etc/livesync/watcher.ini     (conffiles)
#   /lib/systemd/system/livesync-reference.service
#   /lib/systemd/system/livesync-watcher@.service
#   /usr/share/man/man1/livesync-{reference,watcher}.1.gz     (help2man)
#   /usr/share/livesync/make-certs.sh, /usr/share/doc/livesync/
#
# The man pages are made from the programs' --help and --version by help2man
# (Debian package help2man) with config/man/*.h2m added; without help2man
# the target livesync-man fails with a sentence saying so.

include(GNUInstallDirs)
# `make install` and CPack install what is built, without building `all`
# (tests and benchmarks) first: scripts/package.sh builds the programs and
# man pages itself.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(LIVESYNC_PROGRAMS livesync-reference livesync-watcher)
install(TARGETS ${LIVESYNC_PROGRAMS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Absolute: /etc and /lib/systemd/system whatever the prefix (a package
# installs into /usr; bookworm's units live in /lib/systemd/system).
install(FILES config/reference.ini config/watcher.ini DESTINATION /etc/livesync)
install(FILES config/systemd/livesync-reference.service
              config/systemd/livesync-watcher@.service
        DESTINATION /lib/systemd/system)
install(PROGRAMS scripts/make-certs.sh DESTINATION ${CMAKE_INSTALL_DATADIR}/livesync)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# -- man pages ------------------------------------------------------------------
find_program(LIVESYNC_HELP2MAN help2man)
find_program(LIVESYNC_GZIP gzip)
set(man_pages "")
set(man_names_livesync-reference "keep a live mirror of the tree a livesync watcher sends")
set(man_names_livesync-watcher "mirror a directory tree live to a livesync reference")
foreach(prog IN LISTS LIVESYNC_PROGRAMS)
  set(page ${CMAKE_CURRENT_BINARY_DIR}/man/${prog}.1)
  set(include ${CMAKE_CURRENT_SOURCE_DIR}/config/man/${prog}.h2m)
  if(LIVESYNC_HELP2MAN AND LIVESYNC_GZIP)
    # --no-discard-stderr: CAF's help text may go to stderr. gzip -n: no
    # name or time stamp, so the page is reproducible.
    add_custom_command(OUTPUT ${page}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/man
      COMMAND ${LIVESYNC_HELP2MAN} --no-info --no-discard-stderr
              --section=1 --name=${man_names_${prog}} --include=${include}
              --output=${page} $<TARGET_FILE:${prog}>
      COMMAND ${LIVESYNC_GZIP} -9nf ${page}
      DEPENDS ${prog} ${include}
      COMMENT "help2man: ${prog}.1"
      VERBATIM)
  else()
    add_custom_command(OUTPUT ${page}.gz
      COMMAND ${CMAKE_COMMAND} -E echo
              "livesync-man: help2man and gzip are needed for the man pages (apt-get install help2man)"
      COMMAND ${CMAKE_COMMAND} -E false
      VERBATIM)
  endif()
  list(APPEND man_pages ${page}.gz)
endforeach()
add_custom_target(livesync-man DEPENDS ${man_pages})
# OPTIONAL: a plain `cmake --install` without the man pages built still
# works; scripts/package.sh builds livesync-man first.
install(FILES ${man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 OPTIONAL)

# -- the Debian package -----------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME livesync)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "livesync maintainers <livesync@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "live mirror of a directory tree to another host")
# The extended description (CPack puts the summary above it and indents it).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "livesync-watcher sees every change in a directory tree through inotify and
sends it over mutual TLS to livesync-reference on another host, which
applies it atomically: renames are replayed, large files travel as deltas,
permission bits and mtimes are kept.

systemd units: livesync-reference.service, livesync-watcher@.service (one
instance per watched tree). Example configuration in /etc/livesync/.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # livesync_VERSION_ARCH.deb
# Library dependencies from dpkg-shlibdeps; passwd for useradd (postinst).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "openssl")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_CURRENT_SOURCE_DIR}/cmake/debian/conffiles
  ${CMAKE_CURRENT_SOURCE_DIR}/cmake/debian/postinst
  ${CMAKE_CURRENT_SOURCE_DIR}/cmake/debian/prerm
  ${CMAKE_CURRENT_SOURCE_DIR}/cmake/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/package)
# Only what install() lists above, under /usr.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
include(CPack)
