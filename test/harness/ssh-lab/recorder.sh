#!/bin/bash
# ssh-lab's ForceCommand (test/harness/ssh-lab.ts copies it into each lab as
# recorder.sh; sshd runs it as `recorder.sh NAME LAB` for every session).
# SAFETY: it records the requested command and NEVER runs it: one line in
# LAB/log/NAME.log (time ms, host, user, client address, auth method, exit
# code, command with \ tab newline CR escaped), then the reply
# "[sshlab NAME] recorded: <command>", or LAB/hosts/NAME/reply when that file
# exists, and exits with LAB/hosts/NAME/exit after LAB/hosts/NAME/sleep
# seconds (what SshLab.behave sets). LAB/hosts/NAME/on/<md5 of the command>/
# holds the same files for one command only (SshLab.behaveOn), plus `drop`:
# the recorder then kills its own sshd session, dropping the connection.
name=$1 lab=$2
h=$lab/hosts/$name
req=${SSH_ORIGINAL_COMMAND-}
[ -n "${SSH_ORIGINAL_COMMAND+set}" ] || req='(interactive shell requested)'
key=$(printf '%s' "$req" | md5sum); key=${key%% *}
[ -d "$h/on/$key" ] && h=$h/on/$key
code=$(cat "$h/exit" 2>/dev/null); [[ $code =~ ^[0-9]{1,3}$ ]] || code=0
pause=$(cat "$h/sleep" 2>/dev/null); [[ $pause =~ ^[0-9]{1,4}$ ]] || pause=0
method=-
if [ -n "${SSH_USER_AUTH-}" ] && [ -r "$SSH_USER_AUTH" ]; then read -r method _ < "$SSH_USER_AUTH"; fi
enc=${req//\\/\\\\}; enc=${enc//$'\t'/\\t}; enc=${enc//$'\n'/\\n}; enc=${enc//$'\r'/\\r}
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date +%s%3N)" "$name" "$(id -un)" "${SSH_CLIENT%% *}" "$method" "$code" "$enc" >> "$lab/log/$name.log"
if [ -f "$h/reply" ]; then cat "$h/reply"; else printf '[sshlab %s] recorded: %s\n' "$name" "$req"; fi
[ "$code" = 0 ] || printf 'sshlab %s: exit %s as configured\n' "$name" "$code" >&2
[ "$pause" = 0 ] || sleep "$pause"
if [ -f "$h/drop" ]; then
  # the nearest sshd above this script is the session's: killing it drops the connection
  p=$PPID
  while [ "$p" -gt 1 ] && [ "$(cat /proc/$p/comm 2>/dev/null)" != sshd ]; do p=$(awk '{print $4}' /proc/$p/stat 2>/dev/null || echo 1); done
  [ "$p" -gt 1 ] && kill -9 "$p"
fi
exit "$code"
