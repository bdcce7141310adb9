# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Names and paths on a worker, one source for each: the collection's labels, the
maintainer container's name, and the layout of the data root.

The data root (offload_data_root on the worker; DEV in the maintainer container,
which mounts it whole) holds:

  main/                          the clone (no checkout, its whole history), the job user's
  main/.git/worktrees/<job>      git's admin dir of a job's worktree (HEAD, index, objects/)
  worktrees/<job>                a job's worktree, the job user's
  logs/<job>/<time>.log, .exit   a job's logs, the worker's user's only (see plugin_utils/_log_dir.py)
  gemini/                        the agent's configuration, read-only in a job

The worker's scripts (plugin_utils/scripts/) get these names as @MAIN@,
@WORKTREES@ and @LOGS@ (SCRIPT_LAYOUT).
"""

from __future__ import annotations

LABEL_PREFIX = 'gcli.offload.'
MANAGED_LABEL = LABEL_PREFIX + 'managed'
# The hash of the options a long-lived container (the maintainer, the egress proxy) was
# made with: another hash, and it is made again.
SPEC_LABEL = LABEL_PREFIX + 'spec'

# The long-lived container that holds git for the jobs (maintainer_container, cloud-init).
MAINTAINER_NAME = 'maintainer-worker'

MAIN = 'main'
WORKTREES = 'worktrees'
LOGS = 'logs'
GEMINI = 'gemini'
# git's admin dirs of the worktrees, in the main clone
GIT_ADMIN_DIRS = MAIN + '/.git/worktrees'
# The data directories the job user owns (not logs/: the worker's user makes it).
JOB_USER_DIRS = (MAIN, WORKTREES, GEMINI)

SCRIPT_LAYOUT = {'MAIN': MAIN, 'WORKTREES': WORKTREES, 'LOGS': LOGS}


def data_dir(root, name):
    """A directory of the data root: data_dir(root, LOGS) -> <root>/logs."""
    return '%s/%s' % (root, name)


def job_paths(root, job):
    """A job's paths under the data root `root` (the worker's path, or DEV as the
    maintainer container sees it): main_dir, worktree_dir, gitdir (git's admin dir
    of its worktree) and log_dir."""
    return {
        'main_dir': data_dir(root, MAIN),
        'worktree_dir': '%s/%s/%s' % (root, WORKTREES, job),
        'gitdir': '%s/%s/%s' % (root, GIT_ADMIN_DIRS, job),
        'log_dir': '%s/%s/%s' % (root, LOGS, job),
    }
