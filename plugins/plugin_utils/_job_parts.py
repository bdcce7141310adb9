# Copyright (c) 2026, gcli.offload contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The parts of a job, each run as a container of its own.

Only the parts that need GitHub get the token file mounted: `gh pr checks`, the AI
review and the agent (fix, implement). The pull request's own build and tests (a
review's build, ready's clean install and preflight) run in containers that have no
token file at all, so nothing they run (same uid, /proc of the other processes) can
read it. The model's API key goes to the agent's parts alone (AGENT_PARTS), never to
`gh pr checks` or a build. A custom command (offload_job_command) is one part,
`command`, which gets the token only when offload_job_command_token asks, and never
the API key.
"""

from __future__ import annotations

# The parts that run the gemini CLI: only they get the model's API key file.
AGENT_PARTS = ('ai_review', 'fix', 'implement')

# action -> its parts, in order (the first part's failure is the job's exit code), and
# whether each needs the GitHub token.
PARTS = {
    'review': [('build', False), ('checks', True), ('ai_review', True)],
    'ready': [('ready', False)],
    'fix': [('fix', True)],
    'implement': [('implement', True)],
}


def job_parts(spec, custom, token, command_token=False):
    """[(part, container name, argv after the image, needs the token)] for a job.

    A job of one part runs in a container named as the job; with several parts each
    container is `<job>-<part>`. `gh pr checks` needs a token: without one it is not run.
    """
    if custom:
        return [('command', spec['name'], spec['command'], bool(token and command_token))]
    parts = [(part, needs) for part, needs in PARTS[spec['action']] if part != 'checks' or token]
    entry = ['offload-entrypoint', str(spec['pr']), spec['action']]
    if len(parts) == 1:
        part, needs = parts[0]
        return [(part, spec['name'], entry + [part], needs)]
    return [(part, '%s-%s' % (spec['name'], part), entry + [part], needs) for part, needs in parts]


def stale_containers(spec):
    """Every container name a run of this job could have left: the job's own (a job of one
    part) and one a part of its action (the supervisor removes them before the parts start)."""
    return [spec['name']] + ['%s-%s' % (spec['name'], part) for part, _needs in PARTS.get(spec['action'], [])]


def part_results(state, now=None):
    """The parts of a run as reported: {part: {state, rc, started, duration}} (state:
    running, ok, failed, lost; pending for `gh pr checks` still waiting, exit 8). A part
    still running has run for now - started (None: unknown)."""
    out = {}
    for name in state['order']:
        part = state['parts'][name]
        if part['rc'] is None:
            how = 'lost' if state.get('lost') else 'running'
        elif part['rc'] == 0:
            how = 'ok'
        elif name == 'checks' and part['rc'] == 8:
            how = 'pending'
        else:
            how = 'failed'
        end = part['ended'] if part['ended'] is not None else (None if state.get('lost') else now)
        out[name] = {'state': how, 'rc': part['rc'], 'started': part['started'],
                     'duration': end - part['started'] if end is not None else None}
    return out
