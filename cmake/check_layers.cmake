# Checks that ddim's layers stand on each other in order (cmake -DROOT=DIR -P check_layers.cmake).
#
# The library's headers and sources live in one folder per layer, the same folders under
# include/ddim/ and src/, listed here lowest first. A file may include headers of its own layer
# and of lower layers, never of an upper one; a public header never includes a private one of
# src/ (an installed package has none); every folder is a listed layer, so a new folder has to
# be placed here first; the umbrella header ddim/ddim.h includes every public header. Any
# violation ends the script with one line per offending include.
set(DDIM_LAYERS core io pictures data metrics nn diffusion methods training analysis)
list(JOIN DDIM_LAYERS " < " order)

if(NOT ROOT)
  message(FATAL_ERROR "check_layers: give the source tree, cmake -DROOT=DIR -P check_layers.cmake")
endif()

set(problems "")
foreach(top include/ddim src)
  if(NOT IS_DIRECTORY "${ROOT}/${top}")
    continue()
  endif()
  file(GLOB entries RELATIVE "${ROOT}/${top}" "${ROOT}/${top}/*")
  foreach(entry ${entries})
    if(IS_DIRECTORY "${ROOT}/${top}/${entry}")
      list(FIND DDIM_LAYERS "${entry}" rank)
      if(rank EQUAL -1)
        list(APPEND problems "${top}/${entry}/ is not a layer (cmake/check_layers.cmake lists them)")
      endif()
    elseif(NOT "${top}/${entry}" STREQUAL "include/ddim/ddim.h")
      list(APPEND problems "${top}/${entry} lies outside the layer folders")
    endif()
  endforeach()
endforeach()

foreach(layer ${DDIM_LAYERS})
  list(FIND DDIM_LAYERS "${layer}" own)
  file(GLOB_RECURSE files "${ROOT}/include/ddim/${layer}/*" "${ROOT}/src/${layer}/*")
  foreach(f ${files})
    file(RELATIVE_PATH rel "${ROOT}" "${f}")
    file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
    foreach(line ${lines})
      # "ddim/LAYER/x.h" (public) or "LAYER/x.h" (private, from src/).
      if(line MATCHES "#[ \t]*include[ \t]*[<\"]ddim/([a-z_0-9]+)/")
        set(target "${CMAKE_MATCH_1}")
        set(private FALSE)
      elseif(line MATCHES "#[ \t]*include[ \t]*\"([a-z_0-9]+)/")
        set(target "${CMAKE_MATCH_1}")
        set(private TRUE)
      else()
        continue()
      endif()
      list(FIND DDIM_LAYERS "${target}" rank)
      if(rank EQUAL -1)
        continue()  # a third-party header such as <torch/torch.h> or <nlohmann/json.hpp>
      endif()
      string(STRIP "${line}" shown)
      if(rank GREATER own)
        list(APPEND problems "${rel} (${layer}) includes ${target}/ (an upper layer): ${shown}")
      endif()
      if(private AND rel MATCHES "^include/")
        list(APPEND problems "${rel} is public and includes a private header of src/: ${shown}")
      endif()
    endforeach()
  endforeach()
endforeach()

# The umbrella header includes every public header.
if(EXISTS "${ROOT}/include/ddim/ddim.h")
  file(READ "${ROOT}/include/ddim/ddim.h" umbrella)
  file(GLOB_RECURSE public RELATIVE "${ROOT}/include" "${ROOT}/include/ddim/*/*.h")
  foreach(h ${public})
    string(FIND "${umbrella}" "#include \"${h}\"" at)
    if(at EQUAL -1)
      list(APPEND problems "include/ddim/ddim.h does not include ${h}")
    endif()
  endforeach()
endif()

if(problems)
  list(LENGTH problems n)
  list(JOIN problems "\n  " shown)
  message(FATAL_ERROR "ddim layers: ${n} violation(s), lowest layer first: ${order}\n  ${shown}\n")
endif()
message(STATUS "ddim layers: every include goes down or sideways (${order})")
