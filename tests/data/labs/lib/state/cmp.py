#!/usr/bin/python3
"""cmp.py SAVE FWJSON [tables...]: compare iptables-save -c counters with fwcheck's JSON rule/policy records."""
import json, sys, re
save, fwj = sys.argv[1], sys.argv[2]
tables = sys.argv[3:] or None
kern = {}  # (table, chain, slot) -> (p,b,text)
order = []
table = None; nums = {}
for line in open(save):
    line = line.rstrip('\n')
    if line.startswith('*'):
        table = line[1:]; nums = {}; continue
    if line.startswith('#') or line == 'COMMIT' or not line: continue
    if line.startswith(':'):
        parts = line[1:].split()
        chain, pol = parts[0], parts[1]
        if pol != '-':
            p, b = parts[2].strip('[]').split(':')
            k = (table, chain, 'policy'); kern[k] = (int(p), int(b), 'policy ' + pol); order.append(k)
        continue
    m = re.match(r'\[(\d+):(\d+)\] (.*)', line)
    if m:
        p, b, rule = int(m.group(1)), int(m.group(2)), m.group(3)
    else:
        p = b = None; rule = line
    chain = rule.split()[1]
    nums[chain] = nums.get(chain, 0) + 1
    k = (table, chain, nums[chain]); kern[k] = (p, b, rule); order.append(k)
fw = {}
summary = None; packets = []
for line in open(fwj):
    line = line.strip()
    if not line: continue
    v = json.loads(line)
    t = v.get('type')
    if t in ('rule', 'policy'):
        slot = v['number'] if t == 'rule' else 'policy'
        fw[(v['table'], v['chain'], slot)] = (v['packets'], v['bytes'], v.get('text') or 'policy', ('L' if v.get('at_least') else '')+('M' if v.get('at_most') else ''))
    elif t == 'summary': summary = v
    elif t == 'packet': packets.append(v)
bad = 0
print(f"{'table':7} {'chain':16} {'#':>6} {'k.pkt':>7} {'fw.pkt':>7} {'k.bytes':>9} {'fw.bytes':>9}  rule")
for k in order:
    if tables and k[0] not in tables: continue
    kp, kb, text = kern[k]
    f = fw.get(k)
    fp, fb = (f[0], f[1]) if f else (None, None)
    fl = f[3] if f else ''
    diff = (kp is not None) and (kp != fp or kb != fb)
    if diff and not fl: bad += 1
    print(f"{k[0]:7} {k[1]:16} {str(k[2]):>6} {str(kp):>7} {str(fp):>7} {str(kb):>9} {str(fb):>9}  {text[:90]}{' ['+fl+']' if fl else ''}{('   <-- DIFF' if not fl else '   <-- diff(bounded)') if diff else ''}")
extra = [k for k in fw if k not in kern and (not tables or k[0] in tables)]
for k in extra:
    print("fwcheck only:", k, fw[k])
if summary:
    print("summary:", {x: summary.get(x) for x in ('frames','judged','accepted','dropped','rejected','uncertain','not_judged')})
unc = [p for p in packets if p.get('certain') is False]
if unc:
    from collections import Counter
    print("uncertain reasons:", Counter(p.get('reason','?') for p in unc).most_common(10))
print("RESULT:", "AGREE" if bad == 0 and not extra else f"DISAGREE ({bad} counters differ)")
