#!/usr/bin/python
# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: git_worktree
short_description: A pull request's git worktree on an offload worker
version_added: 0.1.0
description:
  - Makes, releases or removes the worktree C(<data_root>/worktrees/offload-<pr>-<action>) with git running inside
    the maintainer container (the worker host needs no git).
  - C(present) keeps C(<data_root>/main) a clone of O(repo_url) without a checkout (its git directory only, HEAD
    at origin's default branch; with an C(upstream) remote for O(upstream_url)), fetches C(refs/pull/<pr>/head) and
    checks it out detached in the job's worktree; a clean worktree already at that head is reused. Fetches, ref
    updates and prunes are serialised with a lock on the worker; checkouts of different jobs run in parallel.
  - After a prepare that finds it due (more than 8 packs or 200 loose objects in main, or pull refs to prune), main
    is packed in the background (C(git repack --geometric=2 -d), C(git pack-refs)); nothing a running job reads
    is deleted. C(refs/offload/pull/<n>) is deleted when no worktree of PR <n> exists and it is not one of the
    O(keep_pull_refs) last used within O(pull_ref_days) days (the next job of that PR fetches it again).
  - While a job uses it, the worktree is held (C(git worktree lock)). C(present) refuses a worktree whose job
    container runs, or that another run holds for less than O(lock_grace) seconds; an older hold is taken over.
  - C(released) ends a job but keeps its worktree for inspection; C(absent) removes it and prunes.
options:
  repo_url:
    description: The repository (the fork when O(upstream_url) is set). Required with O(state=present).
    type: str
  upstream_url:
    description: The upstream repository holding the pull request refs.
    type: str
  state:
    description: The worktree's state.
    type: str
    default: present
    choices: [present, absent, released]
  lock_grace:
    description: Seconds during which another run's hold on the worktree is respected.
    type: int
    default: 120
  start_head:
    description: The head the job started from; with O(state=released) or O(state=absent) the result says whether
      the job moved it.
    type: str
  token_file:
    description:
      - The worker's GitHub token file (C(<offload_secrets_dir>/gh_token)). With O(state=present), the clone and
        fetches of a private repository use it, through a credential helper reading it (never a URL, argv or a file
        on disk), when every https repository URL is on the GitHub of O(github_api); a missing file fetches without.
    type: str
    default: ''
  base_branch:
    description:
      - Start from this branch of the repository (the upstream when O(upstream_url) is set) instead of the pull
        request's head (C(action=implement), from an issue; O(pr) is then the issue's number, naming the job).
    type: str
    default: ''
  issue_text:
    description: With O(base_branch), the issue's text, written into the worktree as C(.offload-issue.md) (ignored by
      git) for the agent.
    type: str
    default: ''
  github_api:
    description: The GitHub the token belongs to (C(https://api.github.com), or an Enterprise Server's API URL).
    type: str
    default: https://api.github.com
  history:
    description:
      - C(full) keeps every blob of the history in main, fetched once by the maintainer container (a blobless main is
        completed on the next prepare); C(git log -p), C(git blame) and diffs against any base work in every job,
        whatever the origin, and read only main's read-only store.
      - C(blobless) keeps main a C(--filter=blob:none) clone (less disk and a faster first clone); a job that needs
        an old blob must fetch it itself into its own object directory, which works only when the job can reach the
        origin without credentials, and is thrown away with the job.
    type: str
    default: full
    choices: [full, blobless]
  keep_pull_refs:
    description: How many of the last used pull refs (C(refs/offload/pull/<n>)) housekeeping keeps at most.
    type: int
    default: 50
  pull_ref_days:
    description: Housekeeping deletes a pull ref unused for that many days (a PR with a worktree keeps its ref).
    type: int
    default: 30
extends_documentation_fragment:
  - gcli.offload.job
  - gcli.offload.job.maintainer
  - ansible.builtin.action_common_attributes
  - gcli.offload.worker
  - gcli.offload.worker.attributes
author:
  - gcli.offload maintainers (@gcli-offload)
'''

EXAMPLES = r'''
- name: Prepare the worktree of PR 123
  gcli.offload.git_worktree:
    pr: 123
    action: review
    data_root: /mnt/disks/offload
    repo_url: https://github.com/me/gemini-cli.git
    upstream_url: https://github.com/google-gemini/gemini-cli.git
  register: offload_worktree

- name: Remove it
  gcli.offload.git_worktree:
    pr: 123
    action: review
    data_root: /mnt/disks/offload
    state: absent
'''

RETURN = r'''
worktree:
  description: The worktree's path on the worker.
  returned: always
  type: str
  sample: /mnt/disks/offload/worktrees/offload-123-review
job:
  description: The job's name.
  returned: success
  type: str
  sample: offload-123-review
head:
  description: The commit the worktree is at.
  returned: when the worktree exists
  type: str
  sample: 4b825dc642cb6eb9a060e54bf8d69288fbee4904
base:
  description: The main clone's HEAD (origin's default branch).
  returned: when O(state=present)
  type: str
existed:
  description: Whether the worktree existed (O(state=absent) or O(state=released)).
  returned: when O(state) is not C(present)
  type: bool
dirty:
  description: Whether the worktree had uncommitted changes.
  returned: when it existed and O(state) is not C(present)
  type: bool
modified:
  description: Whether the job left changes or moved HEAD away from O(start_head).
  returned: when it existed and O(state) is not C(present)
  type: bool
tampered:
  description:
    - Whether the job rewrote the files that tell git where its repository is (the worktree's C(.git) file,
      the admin dir's C(commondir) or C(gitdir), or HEAD or the index as something else than a plain file).
    - Such a worktree is removed instead of kept, with a warning.
  returned: when O(state=released)
  type: bool
'''
