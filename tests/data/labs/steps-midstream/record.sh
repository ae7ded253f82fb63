#!/bin/sh
# A `fwcheck steps` lab (as root): namespaces hs-host (203.0.113.10, 2001:db8:1::10) and
# hs-admin (203.0.113.77) on one veth; a live TCP session to port 22 (a line every 0.1 s,
# echoed) and, after each step of script.sh (one command a step, run in hs-host), whether a
# line sent after the step comes back within 2.5 s and whether a new connection completes.
set -e
cd "$(dirname "$0")"
awk 'NF && !/^#/ {print; print ""}' script.sh > /tmp/steps.plan
python3 ../lib/steps_lab.py hs- /tmp/steps.plan kernel.jsonl
