# cmake -DLIVECONF=<the built tool> -DOUT=<dir> -P completions.cmake: writes
# OUT/liveconf (bash) and OUT/_liveconf (zsh) from `liveconf completion`.
file(MAKE_DIRECTORY ${OUT})
execute_process(COMMAND ${LIVECONF} completion bash OUTPUT_FILE ${OUT}/liveconf
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${LIVECONF} completion zsh OUTPUT_FILE ${OUT}/_liveconf
                COMMAND_ERROR_IS_FATAL ANY)
