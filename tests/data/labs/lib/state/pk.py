#!/usr/bin/python3
"""pk.py FW.json [filter-substring]: one line per packet record"""
import json,sys
for line in open(sys.argv[1]):
    v=json.loads(line)
    if v.get('type')!='packet': continue
    r=v.get('rule') or {}
    rs=f"{r.get('chain','')}#{r.get('number','P')}" if r else ''
    s=f"{v['frame']:4} {v['time']%1000:9.4f} {v.get('direction','?'):3} {v.get('src','')}:{v.get('sport',v.get('icmp_type',''))} > {v.get('dst','')}:{v.get('dport',v.get('icmp_code',''))} {v.get('proto','')} {v.get('tcp_flags','')} len={v.get('length')} {v.get('ctstate','')} {v.get('verdict','')} {'C' if v.get('certain') else 'UNCERTAIN'} {rs}"
    extra={k:v[k] for k in v if k in('reason','reject_reply_to','copy_of','would_not_be_sent','not_judged','note')}
    if extra: s+=' '+json.dumps(extra)[:300]
    if len(sys.argv)<3 or sys.argv[2] in s: print(s)
