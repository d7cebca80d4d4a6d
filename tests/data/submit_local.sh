#!/usr/bin/env bash
# A stand-in for `sbatch`: start the job script as a separate local process and print a job id.
# The cluster-generic executor learns that the job ended from the marker files the script writes.
jobscript="${!#}"
nohup bash "$jobscript" > "$jobscript.log" 2>&1 < /dev/null &
echo "local-$!"
