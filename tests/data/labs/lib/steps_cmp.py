#!/usr/bin/env python3
"""Compare `fwcheck steps --format json` (stdin) with a steps lab's kernel.jsonl (argument):
per step, the established session and a new session, as the kernel saw them."""
import json, sys
kern = [json.loads(l) for l in open(sys.argv[1]) if '"step"' in l]
ours = [json.loads(l) for l in sys.stdin if l.strip()]
ours = [o for o in ours if o.get("type") == "step"]
bad = 0
for k, o in zip(kern, ours):
    s = o["sessions"][0]
    mark = ""
    if (s["established"], s["new"]) != (k["established"], k["new"]):
        mark = "  <== DIFFERS" + ("" if s["certain"] else " (fwcheck uncertain)")
        bad += 1
    elif not s["certain"]:
        mark = "  (fwcheck uncertain)"
    print(f'{k["step"]:3} est k={k["established"]!s:5} f={s["established"]!s:5}  '
          f'new k={k["new"]!s:5} f={s["new"]!s:5}  {o["command"][:60]}{mark}')
if len(kern) != len(ours):
    print(f"step counts differ: kernel {len(kern)}, fwcheck {len(ours)}"); bad += 1
sys.exit(1 if bad else 0)
