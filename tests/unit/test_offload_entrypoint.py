# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker/offload-entrypoint on a fake worktree, with stub gh, gemini and npm on PATH.

The system's tools are reached through a directory of symlinks that leaves out gh,
gemini and npm, so a test decides which of them exist. Parallelism is proven with a
rendezvous (each part waits, with a deadline, for the other's marker file), never
with sleeps.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENTRYPOINT = os.path.join(ROOT, 'docker', 'offload-entrypoint')
TOKEN = 'ghp_TESTtoken0123456789abcdefABCDEF'
HIDDEN = {'gh', 'gemini', 'npm', 'npx'}
GIT_ENV = {'GIT_AUTHOR_NAME': 't', 'GIT_AUTHOR_EMAIL': 't@example.invalid',
           'GIT_COMMITTER_NAME': 't', 'GIT_COMMITTER_EMAIL': 't@example.invalid'}

# A part that must run at the same time as another: it leaves its marker, then waits
# (poll with a deadline) for the other's. Run one after the other, the first times out.
RENDEZVOUS = '''\
touch "$MARKS/{me}"
i=0
while [ ! -e "$MARKS/{other}" ]; do
  i=$((i + 1)); [ $i -lt 400 ] || {{ echo "{me}: {other} never started: not in parallel"; exit 97; }}
  sleep 0.025
done
'''


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    os.chmod(path, mode)


@pytest.fixture(scope='session')
def system_bin(tmp_path_factory):
    """Symlinks to every system executable except gh, gemini and npm."""
    d = tmp_path_factory.mktemp('sysbin')
    for src in ('/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'):
        if not os.path.isdir(src):
            continue
        for name in os.listdir(src):
            target = os.path.join(src, name)
            link = d / name
            if name in HIDDEN or link.exists() or not os.access(target, os.X_OK):
                continue
            os.symlink(target, link)
    return str(d)


class Job:
    def __init__(self, tmp, system_bin):
        self.tmp = tmp
        self.home = tmp / 'home'
        self.stubs = tmp / 'stubs'
        self.marks = tmp / 'marks'
        self.calls = tmp / 'calls'
        self.token_file = tmp / 'secrets' / 'gh_token'
        for d in (self.home, self.stubs, self.marks, self.calls):
            d.mkdir()
        self.main = tmp / 'main'
        self.worktree = tmp / 'worktree'
        self.env = {'PATH': '%s:%s' % (self.stubs, system_bin), 'HOME': str(self.home), 'LANG': 'C.UTF-8',
                    'MARKS': str(self.marks), 'CALLS': str(self.calls), 'TMPDIR': str(tmp),
                    'OFFLOAD_MAIN_DIR': str(self.main), 'OFFLOAD_GH_TOKEN_FILE': str(self.token_file),
                    'GIT_CONFIG_NOSYSTEM': '1', **GIT_ENV}
        self.git('init', '-q', '-b', 'main', str(self.main))
        self.set_makefile(self.main, 'test:\n\t@echo main-tests-ok\n')
        self.git('-C', str(self.main), 'add', '-A')
        self.git('-C', str(self.main), 'commit', '-q', '-m', 'main: start')
        self.git('-C', str(self.main), 'remote', 'add', 'upstream', 'https://github.com/acme/widget.git')
        self.git('-C', str(self.main), 'worktree', 'add', '-q', '-b', 'pr', str(self.worktree))

    def git(self, *args):
        return subprocess.run(['git', *args], check=True, capture_output=True, text=True,
                              env={**os.environ, **GIT_ENV, 'HOME': str(self.home)}).stdout

    @staticmethod
    def set_makefile(repo, text):
        write(str(repo / 'Makefile'), text)

    def commit_pr(self, makefile=None, files=None):
        if makefile is not None:
            self.set_makefile(self.worktree, makefile)
        for name, text in (files or {}).items():
            write(str(self.worktree / name), text)
        write(str(self.worktree / 'feature.txt'), 'feature\n')
        self.git('-C', str(self.worktree), 'add', '-A')
        self.git('-C', str(self.worktree), 'commit', '-q', '-m', 'pr: add a feature')

    def stub(self, name, body='', rc=0):
        """A stub command: records its argv (one a line) and GH_TOKEN/GH_REPO, GEMINI_API_KEY and
        GEMINI_CLI_HOME, runs body, exits rc."""
        script = '#!/bin/sh\n' \
                 'n=$(ls "$CALLS" | wc -l)\n' \
                 'f="$CALLS/$n.%s"\n' \
                 'for a in "$@"; do printf "%%s\\n" "$a"; done >"$f.argv"\n' \
                 'printf "GH_TOKEN=%%s\\nGH_REPO=%%s\\n" "${GH_TOKEN:-}" "${GH_REPO:-}" >"$f.env"\n' \
                 'printf "GEMINI_API_KEY=%%s\\nGEMINI_CLI_HOME=%%s\\n" "${GEMINI_API_KEY:-}" "${GEMINI_CLI_HOME:-}" ' \
                 '>>"$f.env"\n' \
                 'echo "%s stub: $*"\n' \
                 '%s\nexit %d\n' % (name, name, body, rc)
        write(str(self.stubs / name), script, 0o755)

    def calls_of(self, name):
        out = []
        for f in sorted(os.listdir(self.calls)):
            if f.endswith('.%s.argv' % name):
                with open(self.calls / f, encoding='utf-8') as fh:
                    argv = fh.read().splitlines()
                with open(self.calls / f.replace('.argv', '.env'), encoding='utf-8') as fh:
                    env = dict(line.split('=', 1) for line in fh.read().splitlines())
                out.append((argv, env))
        return out

    def token(self, value=TOKEN + '\n'):
        self.token_file.parent.mkdir(exist_ok=True)
        self.token_file.write_text(value)
        self.token_file.chmod(0o600)

    def run(self, *args, env=None):
        proc = subprocess.run([ENTRYPOINT, *args], cwd=str(self.worktree), capture_output=True, text=True,
                              env={**self.env, **(env or {})}, timeout=120, check=False)
        proc.log = proc.stdout + proc.stderr
        return proc


@pytest.fixture
def job(tmp_path, system_bin):
    return Job(tmp_path, system_bin)


def assert_token_nowhere(job, proc):
    assert TOKEN not in proc.log
    for name in ('gh', 'gemini', 'npm'):
        for argv, _env in job.calls_of(name):
            assert not any(TOKEN in a for a in argv)
    for dirpath, _dirs, files in os.walk(job.tmp):
        if dirpath.startswith(str(job.calls)):
            continue  # the stubs' own records of their environment
        for f in files:
            path = os.path.join(dirpath, f)
            if path == str(job.token_file) or not os.path.isfile(path) or os.path.islink(path):
                continue
            with open(path, 'rb') as fh:
                assert TOKEN.encode() not in fh.read(), path


# --- usage ------------------------------------------------------------------------

@pytest.mark.parametrize('args', [[], ['1'], ['x', 'review'], ['-1', 'review'], ['', 'review'],
                                  ['1', 'review', 'extra']])
def test_usage(job, args):
    proc = job.run(*args)
    assert proc.returncode == 64
    assert 'usage: offload-entrypoint PR ACTION' in proc.stderr
    assert proc.stdout == ''


def test_unknown_action_runs_nothing(job):
    job.stub('gemini')
    proc = job.run('1', 'open')
    assert proc.returncode == 64
    assert "unknown action 'open'" in proc.stderr
    assert job.calls_of('gemini') == [] and proc.stdout == ''


# --- review ---------------------------------------------------------------------

def test_review_alone_is_the_build_as_before(job):
    """No gh, no gemini (the demo image): the build's output as it is, its status the job's."""
    job.commit_pr(makefile='test:\n\t@echo pr-tests-ran\n\t@echo OK\n')
    proc = job.run('7', 'review')
    assert proc.returncode == 0, proc.log
    assert 'offload job: PR #7, action review' in proc.stdout
    assert 'no GitHub token file' in proc.stdout
    assert 'gh pr checks skipped' in proc.stdout and 'AI review skipped' in proc.stdout
    assert '==> make test\npr-tests-ran\nOK\n' in proc.stdout
    assert proc.stdout.rstrip().endswith('OK')
    assert 'feature.txt' in proc.stdout  # the diff stat against main


def test_review_alone_keeps_the_build_exit_code(job):
    job.commit_pr(makefile='test:\n\t@echo AssertionError: boom; exit 3\n')
    proc = job.run('7', 'review')
    assert proc.returncode == 2  # make's status for a failed recipe
    assert 'AssertionError: boom' in proc.stdout


def test_review_runs_build_checks_and_ai_review_in_parallel(job):
    job.token()
    job.commit_pr(makefile='test:\n\t@sh ./rendezvous.sh\n\t@echo build-done\n',
                  files={'rendezvous.sh': RENDEZVOUS.format(me='build', other='ai')})
    job.stub('gh', body='echo "all checks passed"')
    job.stub('gemini', body=RENDEZVOUS.format(me='ai', other='build') + 'echo "LGTM from the AI"')
    proc = job.run('12', 'review')
    assert proc.returncode == 0, proc.log
    assert '[build] build-done' in proc.stdout
    assert '[checks] all checks passed' in proc.stdout
    assert '[ai_review] LGTM from the AI' in proc.stdout
    assert proc.stdout.rstrip().endswith('==> review: build ok, checks ok, ai_review ok')
    (gh_argv, gh_env), = job.calls_of('gh')
    assert gh_argv == ['pr', 'checks', '12']
    # from the upstream remote; gh never gets the model's key or the gemini home
    assert gh_env == {'GH_TOKEN': TOKEN, 'GH_REPO': 'acme/widget', 'GEMINI_API_KEY': '', 'GEMINI_CLI_HOME': ''}
    (ai_argv, _ai_env), = job.calls_of('gemini')
    assert ai_argv[0] == '--prompt' and 'Review pull request #12' in ai_argv[1]
    assert 'Do not modify any file' in ai_argv[1]
    assert_token_nowhere(job, proc)


def test_rendezvous_fails_when_run_one_after_the_other(job):
    """The parallelism proof can fail: a lone part waiting for the other times out."""
    job.stub('gemini', body=RENDEZVOUS.format(me='ai', other='never'))
    proc = subprocess.run([str(job.stubs / 'gemini')], env=job.env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 97 and 'not in parallel' in proc.stdout


@pytest.mark.parametrize('gh_rc,ai_rc,build_fails,expected_rc,summary', [
    (1, 0, False, 1, 'build ok, checks failed (1), ai_review ok'),
    (8, 0, False, 0, 'build ok, checks pending, ai_review ok'),
    (0, 5, False, 1, 'build ok, checks ok, ai_review failed (5)'),
    (1, 0, True, 2, 'build failed (2), checks failed (1), ai_review ok'),
])
def test_review_status(job, gh_rc, ai_rc, build_fails, expected_rc, summary):
    job.token()
    job.commit_pr(makefile='test:\n\t@echo tests\n' + ('\t@exit 1\n' if build_fails else ''))
    job.stub('gh', rc=gh_rc)
    job.stub('gemini', rc=ai_rc)
    proc = job.run('3', 'review')
    assert proc.returncode == expected_rc, proc.log
    assert proc.stdout.rstrip().endswith('==> review: ' + summary)


def test_review_skips_checks_without_a_token(job):
    job.commit_pr()
    job.stub('gh')
    job.stub('gemini')
    proc = job.run('3', 'review')
    assert proc.returncode == 0, proc.log
    assert 'gh pr checks skipped (needs gh and a GitHub token)' in proc.stdout
    assert job.calls_of('gh') == []
    assert proc.stdout.rstrip().endswith('==> review: build ok, ai_review ok')


# --- one part (the supervisor runs each in a container of its own) -----------------

def test_the_build_part_runs_only_the_build(job):
    job.commit_pr(makefile='test:\n\t@echo pr-tests-ran\n')
    job.stub('gh')
    job.stub('gemini')
    proc = job.run('7', 'review', 'build')
    assert proc.returncode == 0, proc.log
    assert 'offload job: PR #7, action review, part build' in proc.stdout
    assert '==> make test\npr-tests-ran\n' in proc.stdout and '[build]' not in proc.stdout
    assert job.calls_of('gh') == [] and job.calls_of('gemini') == []


def test_the_checks_part_runs_only_gh_with_the_token(job):
    job.token()
    job.commit_pr(makefile='test:\n\t@echo BUILD-RAN\n')
    job.stub('gh', body='echo "all checks passed"', rc=8)
    proc = job.run('12', 'review', 'checks')
    assert proc.returncode == 8, proc.log  # pending: the supervisor reads 8 as such
    assert 'all checks passed' in proc.stdout and 'BUILD-RAN' not in proc.stdout
    (gh_argv, gh_env), = job.calls_of('gh')
    assert gh_argv == ['pr', 'checks', '12'] and gh_env['GH_TOKEN'] == TOKEN
    assert_token_nowhere(job, proc)


@pytest.mark.parametrize('part, words', [('checks', 'gh pr checks skipped'), ('ai_review', 'AI review skipped')])
def test_a_part_without_its_tool_is_skipped(job, part, words):
    job.commit_pr(makefile='test:\n\t@echo BUILD-RAN\n')
    proc = job.run('12', 'review', part)
    assert proc.returncode == 0, proc.log
    assert words in proc.stdout and 'BUILD-RAN' not in proc.stdout


def test_the_ai_review_part_runs_gemini(job):
    job.token()
    job.commit_pr()
    job.stub('gemini', body='echo LGTM')
    proc = job.run('12', 'review', 'ai_review')
    assert proc.returncode == 0 and 'LGTM' in proc.stdout, proc.log
    (ai_argv, _env), = job.calls_of('gemini')
    assert 'Review pull request #12' in ai_argv[1]


@pytest.mark.parametrize('args', [['1', 'review', 'ready'], ['1', 'ready', 'build'], ['1', 'fix', 'implement']])
def test_a_part_of_another_action_is_refused(job, args):
    proc = job.run(*args)
    assert proc.returncode == 64 and 'has no part' in proc.stderr and 'usage' in proc.stderr


# --- the token --------------------------------------------------------------------

CREDENTIAL_FILL = ('printf "protocol=https\\nhost=github.com\\n\\n" | GIT_TERMINAL_PROMPT=0 git credential fill'
                   ' >"$TMPDIR/cred.$1" 2>/dev/null || true; '
                   'printf "protocol=https\\nhost=example.com\\n\\n" | GIT_TERMINAL_PROMPT=0 '
                   'git credential fill >/dev/null 2>&1 || echo no-credential-for-other-hosts')


def test_git_reads_the_token_from_the_file_through_its_credential_helper_in_gh(job):
    job.token(TOKEN + '\r\n')  # a CRLF file works too
    job.commit_pr()
    job.stub('gh', CREDENTIAL_FILL)
    proc = job.run('4', 'review')
    assert proc.returncode == 0, proc.log
    with open(job.tmp / 'cred.pr', encoding='utf-8') as f:
        cred = f.read()
    os.remove(job.tmp / 'cred.pr')
    assert 'username=x-access-token\npassword=%s\n' % TOKEN in cred
    assert 'no-credential-for-other-hosts' in proc.stdout
    assert 'GitHub token read from' in proc.stdout
    (_argv, env), = job.calls_of('gh')
    assert env['GH_TOKEN'] == TOKEN
    # nothing written to the user's or the repository's git config
    assert os.listdir(job.home) == []
    assert TOKEN not in job.git('-C', str(job.main), 'config', '--list')
    assert_token_nowhere(job, proc)


@pytest.mark.parametrize('action', ['review', 'ready'])
def test_the_pull_requests_build_and_tests_run_without_the_token(job, action):
    """make test is the pull request's code: no GH_TOKEN, no credential helper for github.com."""
    job.token()
    job.commit_pr(makefile='test:\n\t@echo "GH_TOKEN=[$${GH_TOKEN:-}]"\n'
                           '\t@env | grep -c "^GIT_CONFIG" || true\n'
                           '\t@printf "protocol=https\\nhost=github.com\\n\\n" | GIT_TERMINAL_PROMPT=0 '
                           'git credential fill 2>/dev/null | grep -c "^password=" || echo no-credential-in-the-build\n')
    job.stub('gh')
    proc = job.run('4', action)
    assert proc.returncode == 0, proc.log
    assert 'GH_TOKEN=[]' in proc.stdout
    assert 'no-credential-in-the-build' in proc.stdout
    if action == 'review':  # gh still gets it
        (_argv, env), = job.calls_of('gh')
        assert env['GH_TOKEN'] == TOKEN
    assert_token_nowhere(job, proc)


def test_the_token_file_can_be_changed_after_start(job):
    """The helper reads the file when git asks, not a copy made at start."""
    job.token()
    job.commit_pr()
    job.stub('gh', 'echo ghp_rotated > "$OFFLOAD_GH_TOKEN_FILE"; '
                   'printf "protocol=https\\nhost=github.com\\n\\n" | git credential fill')
    proc = job.run('4', 'review')
    assert proc.returncode == 0, proc.log
    assert 'password=ghp_rotated' in proc.stdout


@pytest.mark.parametrize('content', ['ghp_abc; rm -rf /\n', 'ghp abc\n', 'ghp_$(id)\n'])
def test_a_token_file_that_is_not_a_token_is_refused(job, content):
    job.token(content)
    job.commit_pr()
    proc = job.run('4', 'review')
    assert proc.returncode == 65
    assert 'is not a GitHub token' in proc.stderr
    assert content.strip() not in proc.log


def test_an_unreadable_token_file_is_an_error(job):
    if os.geteuid() == 0:
        pytest.skip('root reads any file')
    job.token()
    job.token_file.chmod(0)
    proc = job.run('4', 'review')
    assert proc.returncode == 65 and 'not readable' in proc.stderr


def test_an_empty_token_file_means_unauthenticated(job):
    job.token('')
    job.commit_pr()
    job.stub('gh')
    proc = job.run('4', 'review')
    assert proc.returncode == 0, proc.log
    assert 'is empty' in proc.stdout and job.calls_of('gh') == []


# --- ready ---------------------------------------------------------------------------

def test_ready_when_main_is_an_ancestor(job):
    job.commit_pr(makefile='test:\n\t@echo tests-ran\npreflight:\n\t@echo preflight-ran\n')
    proc = job.run('5', 'ready')
    assert proc.returncode == 0, proc.log
    assert '==> make preflight\npreflight-ran' in proc.stdout
    assert 'main is an ancestor of the PR head: ready' in proc.stdout


def test_not_ready_when_main_moved_on(job):
    job.commit_pr()
    write(str(job.main / 'later.txt'), 'later\n')
    job.git('-C', str(job.main), 'add', '-A')
    job.git('-C', str(job.main), 'commit', '-q', '-m', 'main: later')
    proc = job.run('5', 'ready')
    assert proc.returncode == 1
    assert 'main is NOT an ancestor of the PR head: rebase needed' in proc.stdout
    assert 'main-tests-ok' in proc.stdout  # the checks ran first


def test_ready_fails_when_preflight_fails(job):
    job.commit_pr(makefile='preflight:\n\t@echo lint-error; exit 1\n')
    proc = job.run('5', 'ready')
    assert proc.returncode == 2
    assert 'lint-error' in proc.stdout and 'ancestor' not in proc.stdout


@pytest.mark.skipif(shutil.which('node') is None, reason='needs node (reads package.json scripts)')
@pytest.mark.parametrize('scripts,expected', [
    ({'preflight': 'x', 'test': 'y'}, [['ci', '--no-audit', '--no-fund'], ['run', 'preflight']]),
    ({'test': 'y'}, [['ci', '--no-audit', '--no-fund'], ['run', 'build', '--if-present'], ['test']]),
])
def test_ready_with_package_json_does_a_clean_install_then_preflight(job, scripts, expected):
    import json
    job.commit_pr(files={'package.json': json.dumps({'name': 'x', 'scripts': scripts})})
    os.makedirs(job.worktree / 'node_modules' / 'stale')
    job.stub('npm')
    proc = job.run('5', 'ready')
    assert proc.returncode == 0, proc.log
    assert [argv for argv, _env in job.calls_of('npm')] == expected
    assert not os.path.exists(job.worktree / 'node_modules')  # clean: removed before npm ci


@pytest.mark.skipif(shutil.which('node') is None, reason='needs node')
def test_review_build_with_package_json(job):
    job.commit_pr(files={'package.json': '{"name": "x"}'})
    job.stub('npm')
    proc = job.run('5', 'review')
    assert proc.returncode == 0, proc.log
    assert [argv for argv, _env in job.calls_of('npm')] == [
        ['ci', '--no-audit', '--no-fund'], ['run', 'build', '--if-present'], ['test']]


# --- fix / implement ---------------------------------------------------------------------

@pytest.mark.parametrize('action', ['fix', 'implement'])
def test_fix_and_implement_need_gemini(job, action):
    job.commit_pr()
    proc = job.run('6', action)
    assert proc.returncode == 69
    assert "action '%s' needs the gemini CLI" % action in proc.stderr


@pytest.mark.parametrize('action,words', [('fix', 'Fix pull request #6'), ('implement', 'Implement what pull request #6')])
def test_fix_and_implement_run_gemini_with_the_token_in_its_environment(job, action, words):
    job.token()
    job.commit_pr()
    job.stub('gemini', rc=3)
    proc = job.run('6', action)
    assert proc.returncode == 3  # gemini's status is the job's
    (argv, env), = job.calls_of('gemini')
    assert argv[0] == '--prompt' and words in argv[1]
    # the flags of gemini-cli 0.56.0 (docs/image.md): headless, auto-approved, text, this worktree trusted
    assert argv[2:] == ['--approval-mode', 'yolo', '--output-format', 'text', '--skip-trust']
    assert env['GH_TOKEN'] == TOKEN
    assert_token_nowhere(job, proc)


KEY = 'AIzaSyTESTkey-0123456789_abcdefghijklm'


def test_the_api_key_goes_to_gemini_alone_never_to_the_build(job):
    key_file = job.tmp / 'secrets' / 'gemini_api_key'
    key_file.parent.mkdir(exist_ok=True)
    key_file.write_text(KEY + '\n')
    job.commit_pr(makefile='test:\n\t@echo "BUILD-SAW-KEY=$$GEMINI_API_KEY-$$OFFLOAD_GEMINI_API_KEY_FILE"\n')
    job.stub('gemini', body='echo REVIEWED')
    proc = job.run('4', 'review', env={'OFFLOAD_GEMINI_API_KEY_FILE': str(key_file)})
    assert proc.returncode == 0, proc.log
    (argv, env), = job.calls_of('gemini')
    assert env['GEMINI_API_KEY'] == KEY
    assert argv[2:] == ['--approval-mode', 'default', '--output-format', 'text', '--skip-trust']
    assert '[build] BUILD-SAW-KEY=-' in proc.stdout and KEY not in proc.log
    # the build part alone (its own container in a job): no key either, even with the file named
    build = job.run('4', 'review', 'build', env={'OFFLOAD_GEMINI_API_KEY_FILE': str(key_file)})
    assert 'BUILD-SAW-KEY=-' in build.stdout and KEY not in build.log


def test_a_bad_api_key_file_stops_the_agent(job):
    key_file = job.tmp / 'gemini_api_key'
    key_file.write_text('not a key; rm -rf /\n')
    job.commit_pr()
    job.stub('gemini')
    proc = job.run('4', 'fix', env={'OFFLOAD_GEMINI_API_KEY_FILE': str(key_file)})
    assert proc.returncode == 65 and 'is not an API key' in proc.stderr
    assert job.calls_of('gemini') == [] and 'rm -rf' not in proc.log


@pytest.mark.parametrize('action, kind', [('fix', 'agent'), ('implement', 'agent'), ('review', 'review')])
def test_the_profile_is_copied_to_a_scratch_home_and_the_action_s_policy_given(job, action, kind):
    profile = job.home / '.gemini'
    write(str(profile / 'settings.json'), '{"model": {"name": "gemini-2.5-pro"}}\n')
    for name in ('review', 'agent'):
        write(str(profile / 'offload' / (name + '.toml')), '# %s\n' % name)
    job.commit_pr()
    job.stub('gemini', body='cat "$GEMINI_CLI_HOME/.gemini/settings.json"; echo x >"$GEMINI_CLI_HOME/.gemini/state"')
    proc = job.run('4', action, *(['ai_review'] if action == 'review' else []))
    assert proc.returncode == 0, proc.log
    (argv, env), = job.calls_of('gemini')
    assert argv[-2:] == ['--admin-policy', str(profile / 'offload' / (kind + '.toml'))]
    assert env['GEMINI_CLI_HOME'] not in ('', str(job.home)) and 'gemini-2.5-pro' in proc.stdout
    assert not (profile / 'state').exists()  # the CLI writes to its copy, never the profile


def test_entrypoint_is_executable():
    assert os.stat(ENTRYPOINT).st_mode & stat.S_IXUSR


@pytest.mark.skipif(shutil.which('shellcheck') is None, reason='needs shellcheck (tests/setup/apt-deps)')
def test_shellcheck_clean():
    proc = subprocess.run(['shellcheck', '--shell=sh', ENTRYPOINT], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout
