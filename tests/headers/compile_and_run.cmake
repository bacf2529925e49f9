# cmake -DCOMPILER=cc -DFLAGS=a|b -DSOURCES=x.c|y.c -DOUTPUT=exe -P compile_and_run.cmake
# Compiles SOURCES into OUTPUT with COMPILER and FLAGS ('|'-separated lists),
# then runs OUTPUT; fails if either step fails.
string(REPLACE "|" ";" flags "${FLAGS}")
string(REPLACE "|" ";" sources "${SOURCES}")
execute_process(COMMAND ${COMPILER} ${flags} ${sources} -o ${OUTPUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling with ${COMPILER} failed (${rc})")
endif()
execute_process(COMMAND ${OUTPUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${OUTPUT} failed (${rc})")
endif()
