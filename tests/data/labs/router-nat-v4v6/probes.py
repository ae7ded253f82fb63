# rlab.sh runs probes.py in the client namespace: the real-socket traffic of traffic.py
import os, subprocess, sys
d = os.path.dirname(os.path.abspath(__file__))
subprocess.run([sys.executable, os.path.join(d, 'traffic.py'), 'c', os.environ['RLAB'] + 's'])
