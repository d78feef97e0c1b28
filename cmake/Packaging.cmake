# Installation (cmake --install) and the Debian package (cpack, from the build
# directory; cpack -G TGZ for a tarball of the same tree):
#   bin/fleetmcp
#   share/fleetmcp/scripts/  pg_cluster.sh (the demo's PostgreSQL launcher),
#                            bootstrap_analytics_ro.sh and analytics_ro_role.sql
#   share/fleetmcp/data/     the demo's dataset
#   share/doc/fleetmcp/      README.md, docs/, and deploy/ (proxies, systemd unit,
#                            compose file, env example) as examples
include(GNUInstallDirs)

# `fleetmcp demo` finds share/fleetmcp from its own path, whatever the prefix.
file(RELATIVE_PATH fleetmcp_data_from_bin ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_DATADIR}/fleetmcp)
target_compile_definitions(fleetmcp_cli PRIVATE FLEETMCP_DATA_FROM_BIN="${fleetmcp_data_from_bin}")

install(TARGETS fleetmcp RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
set(fleetmcp_share ${CMAKE_INSTALL_DATADIR}/fleetmcp)
install(PROGRAMS scripts/pg_cluster.sh scripts/bootstrap_analytics_ro.sh DESTINATION ${fleetmcp_share}/scripts)
install(FILES scripts/analytics_ro_role.sql DESTINATION ${fleetmcp_share}/scripts)
install(FILES data/fleet_demo.sql data/fleet_demo_shift.sql DESTINATION ${fleetmcp_share}/data)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs deploy DESTINATION ${CMAKE_INSTALL_DOCDIR} USE_SOURCE_PERMISSIONS)

set(FLEETMCP_MAINTAINER "fleetmcp maintainers <maintainers@users.noreply.b-seed-08f2a303.example>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fleetmcp)
set(CPACK_PACKAGE_CONTACT "${FLEETMCP_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "read-only PostgreSQL gateway for MCP clients
fleetmcp serves a PostgreSQL database to MCP clients (Claude Code, Claude
Desktop, the MCP Inspector, SDK-based agents) over Streamable HTTP or stdio,
in a way that can never write, leak or hang it: a read-only role and
transactions, a SQL guard on PostgreSQL 16's parser, bounded results.
`fleetmcp demo` serves a synthetic fleet database from a private PostgreSQL
cluster (with postgresql-15 installed).")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
# Depends: exactly the shared libraries the binary links, found by dpkg-shlibdeps
# (libpq5, libsimdjson14, libssl3, libdeflate0, libstdc++6, libgcc-s1, libc6; Boost is
# header-only, libpg_query static). The demo's launcher needs a PostgreSQL 15
# server, psql and openssl; the bootstrap uses python3 for the SCRAM verifier.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql-15, postgresql-client-15, openssl")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3, curl")
set(CPACK_STRIP_FILES ON)
include(CPack)
