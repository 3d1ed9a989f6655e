#!/bin/sh
# SSH_ASKPASS for capture.sh: counts each prompt it answers, always wrongly.
echo 1 >>"$ASKPASS_COUNT"
echo "wrong-$$"
