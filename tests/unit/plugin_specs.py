"""The argument specs the collection's plugins validate, and what their documentation
says, for units that check properties of every option (action groups, booleans)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

from ansible_collections.gcli.offload.plugins.plugin_utils._worker import WORKER_ARGUMENT_SPEC, WorkerAction

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = 'ansible_collections.gcli.offload.plugins'
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, 'plugins', 'modules')) if f.endswith('.py'))


class _Captured(Exception):
    def __init__(self, spec):
        super().__init__('captured')
        self.spec = spec


def _module_spec(name):
    """The argument spec a module's main() gives AnsibleModule (caught before it runs)."""
    module = importlib.import_module('%s.modules.%s' % (PACKAGE, name))

    def capture(argument_spec=None, **kwargs):
        raise _Captured(argument_spec)

    original = module.AnsibleModule
    module.AnsibleModule = capture
    try:
        module.main()
    except _Captured as exc:
        return exc.spec
    finally:
        module.AnsibleModule = original
    raise AssertionError('%s.main() built no AnsibleModule' % name)


def plugin_spec(name):
    """The spec the plugin validates: an action plugin's when it has one, else the module's."""
    if os.path.exists(os.path.join(ROOT, 'plugins', 'action', name + '.py')):
        action = importlib.import_module('%s.action.%s' % (PACKAGE, name)).ActionModule
        spec = dict(action.ARGUMENT_SPEC)
        if issubclass(action, WorkerAction):
            spec.update(WORKER_ARGUMENT_SPEC)  # WorkerAction._validated_args adds them
        return spec
    return _module_spec(name)


def documented(names):
    """{name: documented options (doc fragments included)}, from ansible-doc."""
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-doc'), '--json', '-t', 'module']
                          + ['gcli.offload.%s' % name for name in names], cwd=ROOT, capture_output=True, text=True,
                          check=True, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg')))
    return {name.rsplit('.', 1)[1]: doc['doc']['options'] for name, doc in json.loads(proc.stdout).items()}
