# /// script
# dependencies = ["nox>=2025.2.9", "shipline"]
# ///
"""The checks, one nox session each (rendered by `invoke init`).

`nox -l` lists them; a bare `nox` runs the fast set (lint, type, smoke, unit);
`nox -t checks tests` runs everything. With no environment of your own,
`uvx nox` (or `pipx run nox`) installs shipline from the block above first
(nox's script mode; nox requires itself to be named there).
"""

import nox
import shipline.nox

nox.needs_version = ">=2025.2.9"
shipline.nox.register()
