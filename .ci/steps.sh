# Sourced by .ci/run: runs CI's steps one after another or beside each
# other, times each, and prints a table of the times when the run ends,
# whether it passed or not.
#
#   step NAME COMMAND...        run in the foreground; stop the run on failure
#   step_background NAME COMMAND...
#                               start beside the foreground steps, output to
#                               target/ci-logs/NAME.log
#   step_join NAME              wait for a background step, show its output,
#                               stop the run on failure
#
# A COMMAND is an executable (a script of .ci/ or a program), never a shell
# function: bash ignores `set -e` inside a function called where its status
# is tested, and a step must stop at its first failing command.

ci_started=$SECONDS
ci_log_dir=target/ci-logs
mkdir -p "$ci_log_dir"
declare -a ci_step_names=() ci_step_starts=() ci_step_seconds=() ci_step_results=()
declare -A ci_background_pids=() ci_background_starts=()

ci_record() { # NAME START STATUS [SECONDS]
  ci_step_names+=("$1")
  ci_step_starts+=($(($2 - ci_started)))
  ci_step_seconds+=("${4:-$((SECONDS - $2))}")
  if [ "$3" -eq 0 ]; then ci_step_results+=(ok); else ci_step_results+=("failed ($3)"); fi
}

step() {
  local name=$1 start=$SECONDS status=0
  shift
  echo "== $name"
  "$@" || status=$?
  ci_record "$name" "$start" "$status"
  if [ "$status" -ne 0 ]; then
    echo "step '$name' failed (exit $status)" >&2
    exit "$status"
  fi
}

step_background() {
  local name=$1
  shift
  echo "== $name (started beside the next steps; output in $ci_log_dir/$name.log)"
  # A process group of its own, so that stopping the step stops everything
  # it started (cargo's compilers, test servers) too.
  # It notes its own duration: it may end well before it is joined.
  rm -f "$ci_log_dir/$name.seconds"
  # shellcheck disable=SC2016
  setsid bash -c 'started=$SECONDS; status=0; "$@" || status=$?; echo $((SECONDS - started)) >"$0"; exit "$status"' \
    "$ci_log_dir/$name.seconds" "$@" >"$ci_log_dir/$name.log" 2>&1 &
  ci_background_pids[$name]=$!
  ci_background_starts[$name]=$SECONDS
}

step_join() {
  local name=$1 status=0
  echo "== $name (joined)"
  wait "${ci_background_pids[$name]}" || status=$?
  unset "ci_background_pids[$name]"
  cat "$ci_log_dir/$name.log"
  ci_record "$name" "${ci_background_starts[$name]}" "$status" "$(ci_background_seconds "$name")"
  if [ "$status" -ne 0 ]; then
    echo "step '$name' failed (exit $status)" >&2
    exit "$status"
  fi
}

ci_background_seconds() { # NAME: its own duration, when it noted one
  local noted
  noted=$(cat "$ci_log_dir/$1.seconds" 2>/dev/null || true)
  if [[ "$noted" =~ ^[0-9]+$ ]]; then echo "$noted"; fi
}

ci_stop_background() { # PID: TERM to its group, KILL after a grace period
  local pid=$1
  # The group, or the process alone if it has not made its group yet.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

ci_summary() {
  local status=$? name pid step_status
  # A background step not joined when the run stops (a foreground step
  # failed, or the run was stopped) is stopped with it; its own status is
  # shown where it had already ended.
  for name in "${!ci_background_pids[@]}"; do
    pid=${ci_background_pids[$name]}
    if kill -0 "$pid" 2>/dev/null; then
      ci_stop_background "$pid"
      echo "-- output of the stopped step '$name':"
    else
      echo "-- output of the step '$name', not joined:"
    fi
    step_status=0
    wait "$pid" 2>/dev/null || step_status=$?
    ci_record "$name" "${ci_background_starts[$name]}" "$step_status" "$(ci_background_seconds "$name")"
    tail -n 40 "$ci_log_dir/$name.log" || true
  done
  echo
  echo "== step times (seconds; a step's start is counted from the start of the run)"
  printf '%-28s %7s %7s  %s\n' step start seconds result
  local i
  for i in "${!ci_step_names[@]}"; do
    printf '%-28s %7d %7d  %s\n' "${ci_step_names[$i]}" "${ci_step_starts[$i]}" \
      "${ci_step_seconds[$i]}" "${ci_step_results[$i]}"
  done
  printf '%-28s %7s %7d  %s\n' total "" $((SECONDS - ci_started)) \
    "$([ "$status" -eq 0 ] && echo ok || echo "failed ($status)")"
}
trap ci_summary EXIT
# A run stopped from outside still prints its table and exits non-zero.
trap 'exit 143' TERM
trap 'exit 130' INT
