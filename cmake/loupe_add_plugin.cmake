# loupe_add_plugin(NAME SOURCES a.c ... [SHADERS x.comp ...] [OUTPUT_DIR dir])
# One plugin = one MODULE library <NAME>.so that exports only lp_plugin_init. It sees only
# core/include (plugin.h) and links no part of the core: `-z defs` turns any call that bypasses
# the host table into a link error.
function(loupe_add_plugin name)
  cmake_parse_arguments(P "" "OUTPUT_DIR" "SOURCES;SHADERS" ${ARGN})
  if(NOT P_OUTPUT_DIR)
    set(P_OUTPUT_DIR ${LOUPE_PLUGIN_DIR})
  endif()
  add_library(${name} MODULE ${P_SOURCES})
  set_target_properties(${name} PROPERTIES PREFIX "" OUTPUT_NAME ${name}
                        LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR}
                        C_VISIBILITY_PRESET hidden)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/core/include)
  if(NOT LOUPE_SANITIZE)
    target_link_options(${name} PRIVATE -Wl,-z,defs)
  endif()
  target_link_libraries(${name} PRIVATE m)
  if(P_SHADERS)
    loupe_add_shaders(${name} ${name} ${P_SHADERS})
  endif()
endfunction()
