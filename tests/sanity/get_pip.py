"""Stand-in for the get-pip bootstrap script ansible-test downloads from a host
this machine cannot reach: pip comes from the interpreter's own ensurepip, then
the packages ansible-test asks for come from the package index as usual (with
the machine's pip configuration: ensurepip is run in a child process because it
disables pip's config files in the process that calls it)."""

from __future__ import annotations

import subprocess
import sys

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'], stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args))
