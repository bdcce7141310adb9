"""Start-up cost of the Google-facing plugins: google.cloud.compute_v1's __init__ imports every
service of the API (1-2.5 s); the plugins import only the services they use, on first use.

Each check runs in a fresh interpreter, since this test process has imported compute_v1 already."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
PLUGINS = 'ansible_collections.gcli.offload.plugins'
# Services of the API that no plugin uses: loaded only when the package's __init__ ran.
UNUSED_SERVICES = ('accelerator_types', 'backend_services', 'target_grpc_proxies', 'vpn_tunnels')


def run_python(code):
    """Run `code` in a fresh interpreter with the collection importable; its JSON output."""
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def loaded_services_code(body):
    return '''
import json, sys
%s
services = sorted({m.split('.')[4] for m in sys.modules if m.startswith('google.cloud.compute_v1.services.')
                   and m.count('.') >= 4})
print(json.dumps({'services': services, 'compute_v1': 'google.cloud.compute_v1' in sys.modules,
                  'version': 'google.cloud.compute_v1.gapic_version' in sys.modules}))
''' % textwrap.dedent(body)


def test_importing_the_google_plugins_imports_no_compute_library():
    out = run_python(loaded_services_code('''
        import %(p)s.modules.cos_instance, %(p)s.modules.compute_firewall
        import %(p)s.modules.cloudbuild_trigger, %(p)s.modules.image_tag_info
        import %(p)s.inventory.gce_workers
    ''' % {'p': PLUGINS}))
    assert out == {'services': [], 'compute_v1': False, 'version': False}


def test_image_tag_info_imports_google_auth_only_to_use_it():
    # an anonymous or password registry read needs no google-auth (0.1 s of start-up)
    out = run_python('''
        import json, sys
        import %s.modules.image_tag_info
        print(json.dumps({'google.auth': 'google.auth' in sys.modules, 'google.oauth2': 'google.oauth2' in sys.modules}))
    ''' % PLUGINS)
    assert out == {'google.auth': False, 'google.oauth2': False}


def test_the_api_imports_only_the_services_it_uses():
    out = run_python(loaded_services_code('''
        from %s.module_utils._gcp_client import ComputeApi
        params = {'auth_kind': 'accesstoken', 'access_token': 't', 'project': 'proj-1',
                  'api_endpoint': 'http://127.0.0.1:9/compute/v1/'}
        api = ComputeApi(params)
        api.client('instances'), api.client('firewalls'), api.client('ZoneOperationsClient')
        api.types.Instance(name='w1'), api.types.Firewall(name='r')
    ''' % PLUGINS))
    assert out['compute_v1'] and out['services']
    assert {'instances', 'firewalls', 'zone_operations'} <= set(out['services'])
    unused = [s for s in UNUSED_SERVICES if s in out['services']]
    assert not unused, 'the whole google.cloud.compute_v1 package was imported (services %s)' % unused
    assert len(out['services']) < 10, out['services']


def test_the_compute_package_still_works_for_other_code_in_the_process():
    # e.g. the inventory plugin ran first in ansible-playbook, then something uses compute_v1 as usual
    out = run_python('''
        import json, sys
        from %s.module_utils._gcp_client import ComputeApi, compute_types
        types = compute_types()
        partial = 'google.cloud.compute_v1.services.accelerator_types' in sys.modules
        from google.cloud import compute_v1
        import google.cloud.compute_v1 as again
        print(json.dumps({'partial_before': partial, 'same': again is compute_v1,
                          'client': compute_v1.InstancesClient.__name__, 'version': bool(compute_v1.__version__),
                          'same_types': compute_v1.Instance is types.Instance,
                          'full_after': 'google.cloud.compute_v1.services.accelerator_types' in sys.modules}))
    ''' % PLUGINS)
    assert out == {'partial_before': False, 'same': True, 'client': 'InstancesClient', 'version': True,
                   'same_types': True, 'full_after': True}


def test_without_the_library_the_plugins_import_and_say_what_is_missing():
    out = run_python('''
        import json, sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == 'google.cloud.compute_v1' or name.startswith('google.cloud.compute_v1.'):
                    raise ModuleNotFoundError('No module named %%r' %% name, name=name)
                return None

        sys.meta_path.insert(0, Block())
        import %(p)s.modules.cos_instance, %(p)s.modules.compute_firewall, %(p)s.inventory.gce_workers
        from %(p)s.module_utils import _gcp_client
        try:
            _gcp_client.ComputeApi({'auth_kind': 'accesstoken', 'access_token': 't', 'project': 'proj-1'})
            error = None
        except _gcp_client.GcpError as exc:
            error = str(exc)
        print(json.dumps({'has': _gcp_client.HAS_COMPUTE, 'why': _gcp_client.COMPUTE_IMPORT_ERROR, 'error': error}))
    ''' % {'p': PLUGINS})
    assert out['has'] is False
    assert 'google.cloud.compute_v1' in out['why']
    assert 'google-cloud-compute is required' in out['error'] and 'pip install google-cloud-compute' in out['error']
