"""The job runner's masking of the GitHub token (job_container.RUN_SCRIPT, run here with
sh and the system's awk) and the controller's check of a token (worker_secret)."""

from __future__ import annotations

import subprocess
import time

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.gcli.offload.plugins.action.job_container import RUN_SCRIPT
from ansible_collections.gcli.offload.plugins.action.worker_secret import github_token

TOKEN = 'github_pat_11UNIT0000000000_' + 'aB3' * 10


def run(tmp_path, job, secret='token'):
    """RUN_SCRIPT with `job` (a shell line) as the job's argv; returns (runner stdout, stored log)."""
    path = tmp_path / 'gh_token'
    path.write_text(TOKEN)
    log = tmp_path / 'logs' / 'job' / 'x.log'
    argv = ['sh', '-c', RUN_SCRIPT, 'offload-job', str(log), '30', '1', 'job', 'true',
            str(path) if secret == 'token' else secret, 'sh', '-c', job]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, log.read_text(errors='replace')


def test_every_occurrence_is_masked_and_the_exit_code_comes_through(tmp_path):
    out, log = run(tmp_path, 't=$(cat "%s"); echo "a $t b $t$t"; echo "$t" >&2; printf "last:%%s" "$t"; exit 3'
                   % (tmp_path / 'gh_token'))
    assert TOKEN not in log
    assert log == 'a *** b ******\n***\nlast:***'  # byte for byte, the last line without its newline too
    assert 'rc=3' in out.splitlines()
    assert (tmp_path / 'logs' / 'job' / 'x.exit').read_text() == '3\n'


@pytest.mark.parametrize('size', [10, 32767, 40000, 200000])
def test_long_lines_are_kept_whole(tmp_path, size):
    """mawk -W interactive duplicated parts of a last line of 32 KB and more without a newline."""
    _out, log = run(tmp_path, 'head -c %d /dev/zero | tr "\\0" y; echo; head -c %d /dev/zero | tr "\\0" z'
                    % (size, size))
    assert log == 'y' * size + '\n' + 'z' * size


def test_other_output_is_unchanged(tmp_path):
    out, log = run(tmp_path, 'printf "ghp_ github_pat_11UNIT *** \\\\ %% &\\n\\tx\\n"; head -c 100000 /dev/zero | tr "\\0" y')
    assert log.startswith('ghp_ github_pat_11UNIT *** \\ % &\n\tx\n')
    assert log.count('y') == 100000 and 'rc=0' in out.splitlines()


def test_the_log_follows_the_job_line_by_line(tmp_path):
    """logs.yml -e follow=true and the tests read the log while the job runs (mawk reads a pipe in blocks)."""
    log = tmp_path / 'logs' / 'job' / 'x.log'
    stop = tmp_path / 'stop'
    proc = subprocess.Popen(['sh', '-c', RUN_SCRIPT, 'offload-job', str(log), '30', '1', 'job', 'true', '',
                             'sh', '-c', 'echo STARTED; while [ ! -e "%s" ]; do sleep 0.02; done; echo DONE' % stop],
                            stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not (log.exists() and 'STARTED' in log.read_text()):
            assert time.monotonic() < deadline, 'the first line never reached the log while the job ran'
            time.sleep(0.02)
        assert proc.poll() is None
    finally:
        stop.touch()
        proc.communicate(timeout=30)
    assert log.read_text() == 'STARTED\nDONE\n'


@pytest.mark.parametrize('secret', ['', '/nonexistent/gh_token'])
def test_without_a_token_the_log_is_the_output(tmp_path, secret):
    out, log = run(tmp_path, 'echo plain; exit 0', secret=secret)
    assert log == 'plain\n' and 'rc=0' in out.splitlines()


def test_the_token_is_never_in_the_runners_arguments():
    """awk reads the file; the script passes only its path."""
    assert 'getline t < f' in RUN_SCRIPT and '-v f="$1"' in RUN_SCRIPT


@pytest.mark.parametrize('content, token', [
    (TOKEN, TOKEN), (TOKEN + '\n', TOKEN), (TOKEN + '\r\n', TOKEN), ('ghp_' + 'a' * 36, 'ghp_' + 'a' * 36),
    ('0123456789abcdef0123456789abcdef01234567', '0123456789abcdef0123456789abcdef01234567'),
])
def test_a_github_token_is_taken_with_one_trailing_newline_stripped(content, token):
    assert github_token(content) == token


@pytest.mark.parametrize('content, words', [
    (TOKEN + '\n\n', 'has characters'), (TOKEN + ' ', 'has characters'), ('ghp_x;touch /tmp/a' + 'b' * 20, 'has characters'),
    ('ghp_$(id)' + 'c' * 20, 'has characters'), ('ghp_\u0430' + 'd' * 20, 'has characters'), ('ghp_abc', 'has 7'),
    ('e' * (1 << 20), 'has 1048576'),
])
def test_anything_else_is_refused_without_showing_it(content, words):
    with pytest.raises(AnsibleActionFail) as err:
        github_token(content)
    assert words in str(err.value) and 'nothing was written to the worker' in str(err.value)
    for part in ('UNIT', 'touch', '$(id)', 'ddddd', 'eeeee', 'ghp_abc'):
        assert part not in str(err.value)
    assert len(str(err.value)) < 400
