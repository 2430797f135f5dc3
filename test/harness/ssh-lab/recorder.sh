#!/bin/bash
# ssh-lab's ForceCommand (test/harness/ssh-lab.ts copies it into each lab as
# recorder.sh; sshd runs it as `recorder.sh NAME LAB` for every session).
# SAFETY: it records the requested command and NEVER runs it: one line in
# LAB/log/NAME.log (time ms, host, user, client address, auth method, exit
# code, command with \ tab newline CR escaped), then the reply
# "[sshlab NAME] recorded: <command>", or LAB/hosts/NAME/reply when that file
# exists, and exits with LAB/hosts/NAME/exit after LAB/hosts/NAME/sleep
# seconds (what SshLab.behave sets).
name=$1 lab=$2
h=$lab/hosts/$name
req=${SSH_ORIGINAL_COMMAND-}
[ -n "${SSH_ORIGINAL_COMMAND+set}" ] || req='(interactive shell requested)'
code=$(cat "$h/exit" 2>/dev/null); [[ $code =~ ^[0-9]{1,3}$ ]] || code=0
pause=$(cat "$h/sleep" 2>/dev/null); [[ $pause =~ ^[0-9]{1,4}$ ]] || pause=0
method=-
if [ -n "${SSH_USER_AUTH-}" ] && [ -r "$SSH_USER_AUTH" ]; then read -r method _ < "$SSH_USER_AUTH"; fi
enc=${req//\\/\\\\}; enc=${enc//$'\t'/\\t}; enc=${enc//$'\n'/\\n}; enc=${enc//$'\r'/\\r}
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date +%s%3N)" "$name" "$(id -un)" "${SSH_CLIENT%% *}" "$method" "$code" "$enc" >> "$lab/log/$name.log"
if [ -f "$h/reply" ]; then cat "$h/reply"; else printf '[sshlab %s] recorded: %s\n' "$name" "$req"; fi
[ "$code" = 0 ] || printf 'sshlab %s: exit %s as configured\n' "$name" "$code" >&2
[ "$pause" = 0 ] || sleep "$pause"
exit "$code"
