"""Docker Swarm as a deploy target: the stack rendered, planned as data, updated by swarm.

`commands` holds every command run on the manager as argv; `state` reads what the
manager reports; `plan` turns config, release and state into typed steps (what
`--dry-run` prints); `executor` carries them out over SSH; `run` is what the tasks
call.
"""
