"""The job rules: validation, names, the host directories the collection mounts or writes, and
the job container's argv."""

from __future__ import annotations

import pytest

from ansible_collections.gcli.offload.plugins.module_utils import _jobs as jobs

SPEC_ARGS = dict(pr=7, action='review', data_root='/mnt/disks/offload', image='gcli-offload/demo-job:latest',
                 repo_url='https://github.com/me/repo.git')


def spec(**overrides):
    args = dict(SPEC_ARGS)
    args.update(overrides)
    return jobs.job_spec(**args)


@pytest.mark.parametrize('value,expected', [(1, 1), ('123', 123), (999999999, 999999999), ('42', 42)])
def test_pr_accepts_positive_integers(value, expected):
    assert jobs.validate_pr(value) == expected


@pytest.mark.parametrize('value', [
    0, -1, '0', '-1', 'abc', '1; touch /tmp/x', '1.5', 1.5, '', ' 1', '1 ', '+1', True, None, [1],
    '1e3', '0x10', '١٢', 10 ** 9, '99999999999',
])
def test_pr_refuses_anything_else(value):
    with pytest.raises(jobs.JobInputError) as err:
        jobs.validate_pr(value)
    assert err.value.variable == 'pr'
    assert 'positive integer (a pull request number)' in str(err.value)


def test_an_issue_number_is_refused_as_an_issue_number():
    with pytest.raises(jobs.JobInputError) as err:
        jobs.validate_pr('0', 'issue')
    assert err.value.variable == 'issue' and 'positive integer (an issue number)' in str(err.value)


@pytest.mark.parametrize('action', jobs.ACTIONS)
def test_actions_allowed(action):
    assert jobs.validate_action(action) == action


@pytest.mark.parametrize('action', ['Open', 'Review', 'review;rm -rf /', '', None, 'shell'])
def test_actions_refused(action):
    with pytest.raises(jobs.JobInputError, match='^action: must be one of review, fix, ready, implement'):
        jobs.validate_action(action)


@pytest.mark.parametrize('path', ['/mnt/disks/offload', '/var/tmp/gcli-offload', '/a/b_c/d.e/f+g-h'])
def test_worker_paths_allowed(path):
    assert jobs.validate_worker_path(path, 'offload_data_root') == path


@pytest.mark.parametrize('path', [
    'relative/path', '/a/../etc', '/a/./b', '/', '/a b', '/a;b', '/a,b', '/a$b', '/a\nb', '', None, '~/x', '/ä',
])
def test_worker_paths_refused(path):
    with pytest.raises(jobs.JobInputError) as err:
        jobs.validate_worker_path(path, 'offload_data_root')
    assert err.value.variable == 'offload_data_root'


def test_worker_path_trailing_slash_is_normalised():
    assert jobs.validate_worker_path('/mnt/disks/offload/', 'x') == '/mnt/disks/offload'


@pytest.mark.parametrize('image', [
    'maintainer', 'gcli-offload/demo-job:latest', 'us-docker.pkg.dev/p/r/maintainer:feature-x',
    '127.0.0.1:5000/a/b:1', 'a/b@sha256:' + 'a' * 64, 'a/b:t@sha256:' + '0' * 64,
])
def test_images_allowed(image):
    assert jobs.validate_image(image) == image


@pytest.mark.parametrize('image', ['', 'UPPER/case', 'a b', 'a;b', '-rm', 'a:', 'a@sha256:short', '--privileged',
                                   '-l.x/y', '--privileged.a/b', 'a.-x/y', 'x-.a/b', '-h:5000/a'])
def test_images_refused(image):
    with pytest.raises(jobs.JobInputError, match='^offload_image: '):
        jobs.validate_image(image)


@pytest.mark.parametrize('url', [
    'https://github.com/me/repo.git', 'git@github.com:me/repo.git', 'ssh://git@host:22/r.git',
    'file:///srv/repo.git', '/srv/repo.git',
])
def test_repo_urls_allowed(url):
    assert jobs.validate_repo_url(url) == url


@pytest.mark.parametrize('url', ['', 'relative/repo', '-uhttps://x', 'https://x/$(id)', 'https://x/a b', 'ext::sh -c x'])
def test_repo_urls_refused(url):
    with pytest.raises(jobs.JobInputError, match='^offload_repo_url: '):
        jobs.validate_repo_url(url)


TOKEN = 'ghp_' + 'S3cret' * 6


@pytest.mark.parametrize('url', [
    'https://x-access-token:%s@github.com/me/r.git' % TOKEN, 'https://%s@github.com/me/r.git' % TOKEN,
    'http://u:%s@127.0.0.1:8080/r' % TOKEN, 'ssh://git:%s@github.com/me/r' % TOKEN, 'git://%s@host/r' % TOKEN,
    'me:%s@github.com:me/r.git' % TOKEN,
])
def test_repo_urls_with_credentials_are_refused_without_showing_them(url):
    with pytest.raises(jobs.JobInputError) as err:
        jobs.validate_repo_url(url, 'offload_upstream_url')
    assert str(err.value).startswith('offload_upstream_url: ')
    assert TOKEN not in str(err.value) and 'S3cret' not in str(err.value)
    assert 'github_auth.yml' in str(err.value) or 'must be a git URL' in str(err.value)


@pytest.mark.parametrize('url', [
    'https://-oProxyCommand=x/r', 'ssh://-oProxyCommand=x/r', 'ssh://git@-oProxyCommand=x/r', 'git@-oProxy=x:r',
    '-oProxy=x@host:r', 'https://h:port/r', 'https://a_b/r', 'https://h%2d/r', 'file://host/r', 'https://[zz]/r',
])
def test_repo_urls_whose_host_is_an_option_are_refused(url):
    with pytest.raises(jobs.JobInputError, match='^offload_repo_url: '):
        jobs.validate_repo_url(url)


@pytest.mark.parametrize('url', ['ssh://git@github.com/me/r', 'http://127.0.0.1:9418/r.git', 'https://[::1]:8443/r',
                                 'file://localhost/srv/r.git', 'git://git.example.com/r'])
def test_repo_urls_with_a_plain_host_are_allowed(url):
    assert jobs.validate_repo_url(url) == url


def test_redact_url():
    assert jobs.redact_url('https://u:%s@h/r' % TOKEN) == 'https://***@h/r'
    assert jobs.redact_url('u:%s@h:r' % TOKEN) == '***@h:r'
    assert jobs.redact_url('https://h/r') == 'https://h/r'


def test_command_must_be_an_argv():
    assert jobs.validate_command(['npm', 'test']) == ['npm', 'test']
    assert jobs.validate_command(None) is None
    for bad in ('npm test', [], [1], ['a\0b']):
        with pytest.raises(jobs.JobInputError, match='^offload_job_command: '):
            jobs.validate_command(bad)


@pytest.mark.parametrize('value,expected', [(1, 1), ('60', 60), (3600, 3600)])
def test_timeout_allowed(value, expected):
    assert jobs.validate_timeout(value) == expected


@pytest.mark.parametrize('value', [0, -5, 'soon', 1.5, True, jobs.MAX_TIMEOUT + 1, None])
def test_timeout_refused(value):
    with pytest.raises(jobs.JobInputError, match='^offload_job_timeout: '):
        jobs.validate_timeout(value)


def test_job_name_is_the_single_naming_rule():
    assert jobs.job_name(123, 'review') == 'offload-123-review'
    assert jobs.job_name('5', 'fix') == 'offload-5-fix'


def test_spec_derives_every_path_from_the_data_root():
    job = spec()
    assert job['name'] == 'offload-7-review'
    assert job['main_dir'] == '/mnt/disks/offload/main'
    assert job['worktree_dir'] == '/mnt/disks/offload/worktrees/offload-7-review'
    assert job['gitdir'] == '/mnt/disks/offload/main/.git/worktrees/offload-7-review'
    assert job['log_dir'] == '/mnt/disks/offload/logs/offload-7-review'
    assert job['gemini_dir'] == '/mnt/disks/offload/gemini'
    assert job['command'] == ['offload-entrypoint', '7', 'review']
    assert job['labels'] == {'gcli.offload.managed': 'true', 'gcli.offload.job': 'offload-7-review',
                             'gcli.offload.pr': '7', 'gcli.offload.action': 'review'}


def test_spec_names_the_first_bad_variable():
    with pytest.raises(jobs.JobInputError, match='^pr: '):
        spec(pr='1; touch /tmp/x', action='bogus')
    with pytest.raises(jobs.JobInputError, match='^offload_keep_worktree: '):
        spec(keep_worktree='maybe')
    with pytest.raises(jobs.JobInputError, match='^offload_repo_url: '):
        spec(repo_url='')
    # a caller that does not touch git may leave the URL out
    assert spec(repo_url=None)['repo_url'] == ''


def _option_values(argv, option):
    return [argv[i + 1] for i, a in enumerate(argv) if a == option]


def test_run_argv_mounts_labels_and_confinement():
    argv = jobs.job_run_argv(spec(command=['npm', 'test']))
    # no --rm: the runner reads the container's state (OOM-killed?) before it removes it
    assert argv[:4] == ['docker', 'run', '--name', 'offload-7-review']
    assert argv[-3:] == ['gcli-offload/demo-job:latest', 'npm', 'test']
    mounts = _option_values(argv, '--mount')
    assert mounts == [
        'type=bind,source=/mnt/disks/offload/worktrees/offload-7-review,target=/home/node/dev/worktree',
        'type=bind,source=/mnt/disks/offload/main,target=/home/node/dev/main,readonly',
        'type=bind,source=/mnt/disks/offload/main/.git/worktrees/offload-7-review,'
        'target=/home/node/dev/main/.git/worktrees/offload-7-review',
        'type=bind,source=/mnt/disks/offload/gemini,target=/home/node/.gemini,readonly',
        # no other job's admin dir is visible: an empty root-owned tmpfs under the job's own
        'type=tmpfs,target=/home/node/dev/main/.git/worktrees,tmpfs-size=65536,tmpfs-mode=0755',
    ]
    assert not any('docker.sock' in a for a in argv)
    assert '-v' not in argv and '--volume' not in argv and '--privileged' not in argv
    assert _option_values(argv, '--user') == ['1000:1000']
    assert _option_values(argv, '--cap-drop') == ['ALL']
    assert _option_values(argv, '--security-opt') == ['no-new-privileges']
    assert _option_values(argv, '--workdir') == ['/home/node/dev/worktree']
    assert _option_values(argv, '--log-driver') == ['none']  # no unmasked copy of the output in the daemon's files
    assert 'gcli.offload.job=offload-7-review' in _option_values(argv, '--label')
    env = _option_values(argv, '--env')
    assert 'GIT_OBJECT_DIRECTORY=/home/node/dev/main/.git/worktrees/offload-7-review/objects' in env
    assert 'GIT_ALTERNATE_OBJECT_DIRECTORIES=/home/node/dev/main/.git/objects' in env
    # git's auto-gc and maintenance off for every git in the job (main's store is read-only)
    assert {'GIT_CONFIG_COUNT=2', 'GIT_CONFIG_KEY_0=gc.auto', 'GIT_CONFIG_VALUE_0=0',
            'GIT_CONFIG_KEY_1=maintenance.auto', 'GIT_CONFIG_VALUE_1=false'} <= set(env)


def test_run_argv_keeps_hostile_strings_as_single_arguments():
    argv = jobs.job_run_argv(spec(command=['sh', '-c', 'echo "$(id)"; rm -rf / #']), extra_env={'X': 'a b;c'})
    assert argv[-3:] == ['sh', '-c', 'echo "$(id)"; rm -rf / #']
    assert 'X=a b;c' in argv


@pytest.mark.parametrize('rc,words', [
    (1, 'failed with exit code 1'),
    (2, 'failed with exit code 2'),
    (128, 'failed with exit code 128'),
    (137, 'was killed by SIGKILL (exit code 137)'),
    (143, 'was killed by SIGTERM (exit code 143)'),
    (129, 'was killed by SIGHUP (exit code 129)'),
    (138, 'was killed by signal 10 (exit code 138)'),
    (255, 'failed with exit code 255'),
])
def test_exit_reason_names_the_signal_of_a_killed_job(rc, words):
    assert jobs.exit_reason(rc) == words


@pytest.mark.parametrize('text,full', [
    ('fatal: write error: No space left on device\nfatal: index-pack failed', True),
    ('error: unable to write file calc.py: Disk quota exceeded', True),
    ('fatal: could not read from remote repository', False),
    ('', False),
    (None, False),
])
def test_disk_full_is_recognised_in_command_output(text, full):
    assert jobs.disk_full(text) is full


def test_disk_full_message_says_where_and_what_to_do():
    msg = jobs.disk_full_message('w1', '/mnt/disks/offload', 'git prepared the worktree offload-1-review')
    assert msg.startswith('the disk of w1 is full at /mnt/disks/offload (no space left on device while git '
                          'prepared the worktree offload-1-review): free space there')
    assert 'clean.yml -e all=true' in msg and '/mnt/disks/offload/logs' in msg


# ---- resource limits -------------------------------------------------------------------------

GIB = 1024 ** 3


@pytest.mark.parametrize('value,expected', [
    ('auto', None), ('', None), (None, None), ('AUTO', None), ('64m', 64 * 1024 ** 2), ('4g', 4 * GIB),
    ('4G', 4 * GIB), ('1048576k', GIB), (GIB, GIB), (str(GIB), GIB),
])
def test_memory_takes_auto_bytes_and_units(value, expected):
    assert spec(memory=value)['limits']['memory'] == expected


@pytest.mark.parametrize('value,message', [
    ('5m', 'must be between 6 MiB and'), (0, 'must be between'), ('4 g', 'must be auto or a size'),
    ('4gb', 'must be auto or a size'), ('-1g', 'must be auto or a size'), ('1.5g', 'must be auto or a size'),
    (True, 'must be auto or a size'), ('١٢m', 'must be auto or a size'), ('4g; touch /tmp/x', 'must be auto or a size'),
    ('--memory=0', 'must be auto or a size'), (2 ** 64, 'must be between'),
])
def test_memory_refuses_anything_else(value, message):
    with pytest.raises(jobs.JobInputError, match='offload_job_memory: ' + message):
        spec(memory=value)


@pytest.mark.parametrize('value,expected', [('1', 1.0), ('1.5', 1.5), (2, 2.0), (0.25, 0.25), ('auto', None)])
def test_cpus_takes_decimals(value, expected):
    assert spec(cpus=value)['limits']['cpus'] == expected


@pytest.mark.parametrize('value', ['0', '0.001', '1.555', '-1', 'two', True, '1e3', '2000', ' 1', 'nan'])
def test_cpus_refuses_anything_else(value):
    with pytest.raises(jobs.JobInputError, match='offload_job_cpus: must be'):
        spec(cpus=value)


@pytest.mark.parametrize('value', ['7', 0, '-1', '1.5', True, '٣٢', 2 ** 64])
def test_pids_refuses_out_of_range_and_non_numbers(value):
    with pytest.raises(jobs.JobInputError, match='offload_job_pids: must be'):
        spec(pids=value)


def test_disk_reserve_can_be_turned_off():
    assert spec(disk_reserve='0')['limits']['disk_reserve'] == 0


def test_defaults_are_derived_from_the_worker():
    limits = jobs.worker_limits(spec()['limits'], 'w', cpus=8, memory=32 * GIB, disk_size=200 * GIB)
    assert limits == {'memory': 24 * GIB, 'cpus': 6.0, 'pids': 8192, 'disk_reserve': 2 * GIB}
    small = jobs.worker_limits(spec()['limits'], 'w', cpus=1, memory=GIB, disk_size=20 * 1024 ** 2)
    assert small == {'memory': 768 * 1024 ** 2, 'cpus': 1.0, 'pids': 1024, 'disk_reserve': 1024 ** 2}


def test_given_limits_are_kept_and_checked_against_the_worker():
    given = spec(memory='1g', cpus='1.5', pids='100', disk_reserve='10m')['limits']
    assert jobs.worker_limits(given, 'w', 2, 4 * GIB) == {
        'memory': GIB, 'cpus': 1.5, 'pids': 100, 'disk_reserve': 10 * 1024 ** 2}
    with pytest.raises(jobs.JobInputError, match='offload_job_cpus: must be at most 2, the CPUs of w, got 3'):
        jobs.worker_limits(spec(cpus=3)['limits'], 'w', 2, 4 * GIB)
    with pytest.raises(jobs.JobInputError, match='offload_job_memory: must be at most 4 GiB, the memory of w, got 8 GiB'):
        jobs.worker_limits(spec(memory='8g')['limits'], 'w', 2, 4 * GIB)


def test_run_argv_carries_the_limits_without_swap():
    limits = jobs.worker_limits(spec(memory='512m', cpus='1.5', pids='64')['limits'], 'w', 2, 4 * GIB)
    argv = jobs.job_run_argv(spec(), limits=limits)
    assert _option_values(argv, '--memory') == [str(512 * 1024 ** 2)]
    assert _option_values(argv, '--memory-swap') == [str(512 * 1024 ** 2)]
    assert _option_values(argv, '--cpus') == ['1.5']
    assert _option_values(argv, '--pids-limit') == ['64']
    assert argv.index('--memory') < argv.index('gcli-offload/demo-job:latest')


@pytest.mark.parametrize('text,failed', [
    ('bash: fork: retry: Resource temporarily unavailable', True),
    ('bash: fork: Resource temporarily unavailable', True),
    ('sh: 1: Cannot fork', True),
    ('BlockingIOError: [Errno 11] Resource temporarily unavailable', True),
    ('Error: spawn /bin/sh EAGAIN', True),
    ("RuntimeError: can't start new thread", True),
    ('read: Resource temporarily unavailable on a socket', False),
    ('all 12 tests passed', False),
    (None, False),
])
def test_fork_failures_are_recognised_in_a_log(text, failed):
    assert jobs.fork_failed(text) is failed


@pytest.mark.parametrize('number,words', [(512 * 1024 ** 2, '512 MiB'), (GIB, '1 GiB'), (1536 * 1024 ** 2, '1.5 GiB'),
                                          (300 * 1024, '300 KiB'), (12, '12 bytes')])
def test_human_size(number, words):
    assert jobs.human_size(number) == words


# ---- egress ------------------------------------------------------------------------------------

def test_an_open_job_is_on_the_job_network():
    argv = jobs.job_run_argv(spec())
    assert _option_values(argv, '--network') == ['gcli-offload-jobs']
    assert not any(a.startswith(('HTTPS_PROXY', 'https_proxy')) for a in argv)


def test_a_job_without_egress_has_no_network():
    assert _option_values(jobs.job_run_argv(spec(egress='none')), '--network') == ['none']


def test_a_github_job_is_on_the_internal_network_with_the_proxy():
    argv = jobs.job_run_argv(spec(egress='github'))
    assert _option_values(argv, '--network') == ['gcli-offload-egress']
    env = _option_values(argv, '--env')
    assert 'HTTPS_PROXY=http://gcli-offload-proxy:3128' in env and 'https_proxy=http://gcli-offload-proxy:3128' in env


def test_the_allow_list_defaults_to_github_the_registries_and_the_gemini_api():
    allow = spec(egress='github')['egress']['allow']
    assert 'github.com' in allow and 'registry.npmjs.org' in allow and 'generativelanguage.googleapis.com' in allow
    assert spec(egress_allow=[])['egress']['allow'] == allow
    assert spec(egress_allow=['b.example.com', '.example.org', '10.1.2.3', 'b.example.com'])['egress']['allow'] == [
        '.example.org', '10.1.2.3', 'b.example.com']


@pytest.mark.parametrize('value', ['closed', 'OPEN', '', None, True, ['open']])
def test_egress_refuses_anything_but_the_three_modes(value):
    with pytest.raises(jobs.JobInputError, match='offload_job_egress: must be one of open, github, none'):
        spec(egress=value)


@pytest.mark.parametrize('value', [
    'github.com', ['--privileged'], ['*.github.com'], ['github.com:443'], ['GitHub.com'], ['a b'], ['a;b'],
    ['-a.com'], ['a-.com'], ['gіthub.com'], ['x' * 254], [''], [1], ['a.com'] * 201, {'a': 1},
])
def test_egress_allow_refuses_what_is_not_a_host_name(value):
    with pytest.raises(jobs.JobInputError, match='offload_job_egress_allow: '):
        spec(egress='github', egress_allow=value)


# --- the host directories the collection mounts or writes ---


@pytest.mark.parametrize('path', [
    '/etc', '/etc/gcli', '/proc', '/proc/1', '/sys', '/dev', '/dev/shm', '/run', '/run/docker.sock', '/var/run',
    '/var/run/docker', '/root', '/root/x', '/usr', '/usr/local/x', '/bin', '/boot', '/lib64', '/var/lib/docker',
    '/var/lib/docker/volumes/x', '/var/lib/docker-engine', '/var/lib/containerd', '/var/lib/containerd2/x',
    '/var/lib/kubelet/pods', '/var/snap/docker/x',
])
def test_system_kernel_and_runtime_directories_are_refused(path):
    with pytest.raises(jobs.JobInputError, match='^offload_gemini_dir: must not be .* or under it'):
        jobs.validate_host_dir(path, 'offload_gemini_dir')
    with pytest.raises(jobs.JobInputError):
        jobs.job_spec(pr=1, action='review', data_root=path, image='img')


@pytest.mark.parametrize('path', ['/mnt/disks/offload', '/var/tmp/gcli-offload', '/home/me/offload', '/var/lib/offload',
                                  '/srv/etc', '/tmp/proc', '/data/run', '/var/lib/offload-docker'])
def test_other_directories_are_allowed(path):
    assert jobs.validate_host_dir(path, 'offload_data_root') == path


def test_secrets_may_live_in_a_directory_of_their_own_under_dev_shm_only():
    assert jobs.validate_host_dir('/dev/shm/gcli-offload', 'offload_secrets_dir', secrets=True) == '/dev/shm/gcli-offload'
    for path in ('/dev/shm', '/dev/mqueue/x', '/run/secrets', '/etc/gcli'):
        with pytest.raises(jobs.JobInputError, match='/dev/shm/<name>'):
            jobs.validate_host_dir(path, 'offload_secrets_dir', secrets=True)
    with pytest.raises(jobs.JobInputError):
        jobs.validate_host_dir('/dev/shm/x', 'offload_data_root')  # not for anything else


def test_the_path_the_worker_resolves_is_checked_too():
    assert jobs.validate_host_dir('/var/tmp/link', 'offload_data_root', resolved='/var/tmp/real') == '/var/tmp/link'
    with pytest.raises(jobs.JobInputError, match=r"resolves to '/proc' on the worker"):
        jobs.validate_host_dir('/var/tmp/link', 'offload_gemini_dir', resolved='/proc')
    with pytest.raises(jobs.JobInputError, match='resolves to'):
        jobs.validate_host_dir('/dev/shm/link', 'gh_token_file', secrets=True, resolved='/etc/shadow')


def test_job_spec_checks_the_data_root_and_the_gemini_dir():
    with pytest.raises(jobs.JobInputError, match='^offload_gemini_dir: must not be /proc'):
        jobs.job_spec(pr=1, action='review', data_root='/mnt/disks/offload', image='img', gemini_dir='/proc')
    with pytest.raises(jobs.JobInputError, match='^offload_gemini_dir: must not be /var/run'):
        jobs.job_spec(pr=1, action='review', data_root='/mnt/disks/offload', image='img', gemini_dir='/var/run')
