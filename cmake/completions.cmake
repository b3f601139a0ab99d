# cmake -DLIVECONF=<the built tool> -DOUT=<dir> -P completions.cmake: writes
# OUT/liveconf (bash) and OUT/_liveconf (zsh) from `liveconf completion`, and
# OUT/liveconf.1.gz from `liveconf man-page`.
file(MAKE_DIRECTORY ${OUT})
execute_process(COMMAND ${LIVECONF} completion bash OUTPUT_FILE ${OUT}/liveconf
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${LIVECONF} completion zsh OUTPUT_FILE ${OUT}/_liveconf
                COMMAND_ERROR_IS_FATAL ANY)
# The manual page, gzipped as Debian installs them (-n: no name or time
# stamp inside, so the file is the same on every build).
execute_process(COMMAND ${LIVECONF} man-page OUTPUT_FILE ${OUT}/liveconf.1
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND gzip -9nf ${OUT}/liveconf.1 COMMAND_ERROR_IS_FATAL ANY)
