# loupe_add_shaders(TARGET OWNER file.comp ...)
# Compiles each GLSL compute shader with glslc into ${CMAKE_BINARY_DIR}/shaders/<OWNER>/<stem>.spv.inc
# (a C initializer list of uint32_t words, `glslc -mfmt=c`) and makes TARGET depend on it, so
# the owning .so embeds its SPIR-V:  static const uint32_t k[] =
#                                    #include "<OWNER>/<stem>.spv.inc"
#                                    ;
function(loupe_add_shaders target owner)
  set(out_dir ${CMAKE_BINARY_DIR}/shaders/${owner})
  file(MAKE_DIRECTORY ${out_dir})
  set(outputs)
  foreach(src ${ARGN})
    get_filename_component(abs ${src} ABSOLUTE)
    get_filename_component(stem ${src} NAME_WE)
    set(out ${out_dir}/${stem}.spv.inc)
    add_custom_command(
      OUTPUT ${out}
      COMMAND ${GLSLC} -O --target-env=vulkan1.2 -mfmt=c
              -I ${CMAKE_SOURCE_DIR}/shaders/common -I ${CMAKE_SOURCE_DIR}/shaders -MD -MF ${out}.d -o ${out} ${abs}
      DEPENDS ${abs}
      DEPFILE ${out}.d
      COMMENT "glslc ${owner}/${stem}.comp"
      VERBATIM)
    list(APPEND outputs ${out})
  endforeach()
  target_sources(${target} PRIVATE ${outputs})
  target_include_directories(${target} PRIVATE ${CMAKE_BINARY_DIR}/shaders)
endfunction()
