# help-text.cmake: writes a binary's --help text to a file, at build time, for the package's
# documentation (cmake -DEXE=... -DOUT=... -P help-text.cmake). It fails the build when --help
# fails or prints nothing, so a package never ships an empty or broken text.
execute_process(
  COMMAND "${EXE}" --help
  OUTPUT_VARIABLE text
  ERROR_VARIABLE err
  RESULT_VARIABLE rc
  TIMEOUT 30)
if(NOT rc EQUAL 0 OR text STREQUAL "")
  message(FATAL_ERROR "${EXE} --help failed (${rc}): ${err}")
endif()
file(WRITE "${OUT}" "${text}")
